"""Hand-made evaluation documents (the shape of docs/EVALUATION document contract) for report tests.

Curves are error-function fall-offs, ``V(d) = V0 · erfc((d - d50) / (√2 σ)) / 2``,
so the volume at any dose is known in closed form (:func:`curve_volume_cc`).
"""

from __future__ import annotations

import copy
import math
from typing import Any

SCRIPT_NAME = "<script>document.title='pwned'</script>"
PATIENT = {"name": "Doe^Jane", "id": "PC-TEST-0042", "birth_date": "19610203"}
SS_UID = "1.2.826.0.1.3680043.8.498.100"
FOR_UID = "1.2.826.0.1.3680043.8.498.101"
PLAN_UID = "1.2.826.0.1.3680043.8.498.102"
DOSE_UID = "1.2.826.0.1.3680043.8.498.103"
STEP_GY = 0.05
PLANNING_SYSTEM = {"manufacturer": "Varian Medical Systems", "model": "ARIA RadOnc", "software_versions": "16.1.2",
                   "institution": "St Test Hospital", "station": "TPS-7"}
REFERENCES = [
    {"key": "QUANTEC_cord", "citation": "Kirkpatrick JP, van der Kogel AJ, Schultheiss TE. Radiation dose-volume "
                                        "effects in the spinal cord. Int J Radiat Oncol Biol Phys 2010;76(3 Suppl):S42-S49."},
    {"key": "ICRU83", "citation": "ICRU Report 83. J ICRU 2010;10(1)."},
]


def curve_volume_cc(volume_cc: float, d50_gy: float, sigma_gy: float, dose_gy: float) -> float:
    """The closed-form cumulative volume of a test curve at ``dose_gy``."""
    return volume_cc * 0.5 * math.erfc((dose_gy - d50_gy) / (math.sqrt(2.0) * sigma_gy))


def _curve(volume_cc: float, d50_gy: float, sigma_gy: float, max_gy: float = 50.0) -> dict[str, list[float]]:
    n = round(max_gy / STEP_GY) + 1
    dose = [round(k * STEP_GY, 4) for k in range(n)]
    return {"dose_gy": dose, "volume_cc": [curve_volume_cc(volume_cc, d50_gy, sigma_gy, d) for d in dose]}


# (name, roi number, volume cc, {quantity: (d50, sigma)})
STRUCTURES: list[tuple[str, int, float, dict[str, tuple[float, float]]]] = [
    ("PTV_boost", 1, 30.0, {"physical": (40.0, 1.0)}),
    ("Cord", 5, 12.0, {"physical": (20.0, 6.0), "EQD2(a/b=2)": (25.0, 9.0)}),
    (SCRIPT_NAME, 7, 50.0, {"physical": (5.0, 2.0)}),
]


def _constraint(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "c",
        "structure": "S",
        "matched_roi": None,
        "match": None,
        "roi_number": None,
        "metric": "Mean[Gy]",
        "value": None,
        "unit": "Gy",
        "goal": "<= 1",
        "variation": None,
        "status": "not-evaluated",
        "reason": None,
        "priority": 1,
        "source": "test",
        "dose_level": None,
        "dose_quantity": "physical",
    }
    base.update(kw)
    return base


CONSTRAINTS: list[dict[str, Any]] = [
    _constraint(id="ptv-d95", structure="PTV_High", matched_roi="PTV_boost", match="alias 'PTV_boost'",
                roi_number=1, metric="D95%[Gy]", value=38.36, unit="Gy", goal=">= 38", status="pass",
                dose_level="boost"),
    _constraint(id="ptv-d2", structure="PTV_High", matched_roi="PTV_boost", roi_number=1,
                metric="D2%[%]", value=105.1, unit="%", goal="<= 107", status="pass", dose_level="boost"),
    _constraint(id="cord-dmax", structure="SpinalCord", matched_roi="Cord", match="alias 'Cord'",
                roi_number=5, metric="D0.03cc[EQD2Gy(a/b=2)]", value=46.1, unit="Gy EQD2(a/b=2)",
                goal="<= 45", variation="<= 50", status="warn", dose_quantity="EQD2(a/b=2)",
                source="QUANTEC_cord (Dmax 45 Gy EQD2: 0.03 % myelopathy)"),
    _constraint(id="cord-v30", structure="SpinalCord", matched_roi="Cord", roi_number=5,
                metric="V30Gy[cc]", value=0.76, unit="cc", goal="<= 0.5", status="fail"),
    _constraint(id="script-mean", structure="Bowel", matched_roi=SCRIPT_NAME, roi_number=7,
                metric="Mean[Gy]", value=5.0, unit="Gy", goal="<= 10", status="pass",
                source=SCRIPT_NAME),
    _constraint(id="kidney-mean", structure="Kidney_L", metric="Mean[Gy]", status="not-evaluated",
                reason="no ROI matches 'Kidney_L' (tried: Kidney_L, L_Kidney)"),
    _constraint(id="ptv-volume", structure="PTV_High", matched_roi="PTV_boost", roi_number=1,
                metric="Volume[cc]", value=30.0, unit="cc", goal=">= 1", status="pass"),
]


def make_document(**overrides: Any) -> dict[str, Any]:
    """A complete evaluation document; top-level keys in ``overrides`` replace the defaults."""
    doc: dict[str, Any] = {
        "schema_version": "1.0",
        "kind": "plancheck-evaluation",
        "provenance": {
            "plancheck_version": "0.1.0",
            "python": "3.11.7",
            "created": "2026-11-26T18:00:00+00:00",
            "protocol_file": "/srv/protocols/spine_sib_30Gy10_40Gy10.yaml",
            "protocol_sha256": "ab" * 32,
            "input_files": [
                {"path": f"/exports/Doe_Jane/RD{DOSE_UID}.dcm", "sop_instance_uid": DOSE_UID,
                 "modality": "RTDOSE", "sha256": "cd" * 32},
                {"path": "/exports/Doe_Jane/rtstruct.dcm", "sop_instance_uid": SS_UID,
                 "modality": "RTSTRUCT", "sha256": "ef" * 32},
            ],
            "settings": {"end_caps": "half", "bin_width_gy": 0.001, "aliases_file": None, "plan": None},
        },
        "patient": dict(PATIENT),
        "protocol": {"name": "spine_sib_30Gy10_40Gy10", "description": "Spine SIB 30 Gy / 40 Gy in 10 fx",
                     "selected": "explicit", "reason": "given with --protocol",
                     "references": [dict(r) for r in REFERENCES]},
        "course": {
            "structure_set": {"label": "RS", "sop_instance_uid": SS_UID, "frame_of_reference_uid": FOR_UID,
                              "date": "20241104", "time": "160000", "planning_system": dict(PLANNING_SYSTEM)},
            "plans": [{"label": "SIB", "name": "SIB 30/40", "sop_instance_uid": PLAN_UID, "n_fractions": 10,
                       "prescription_gy": 40.0, "approval_status": "APPROVED", "dose_from": "PLAN dose",
                       "plan_date": "20241105", "plan_time": "101500", "review_date": "20241106",
                       "review_time": "093000", "reviewer_name": "PHYSICIST^ALICE",
                       "planning_system": dict(PLANNING_SYSTEM), "dose_type": "PHYSICAL", "dose_unit": "Gy",
                       "rtdose_sop_instance_uids": [DOSE_UID]}],
            "dose_unit": "Gy",
            "dose_levels": [{"id": "boost", "structure": "PTV_boost", "dose_gy": 40.0, "fractions": 10,
                             "status": "match", "message": "RTPLAN prescribes 40 Gy in 10 fractions"}],
        },
        "constraints": copy.deepcopy(CONSTRAINTS),
        "summary": summary_for([c["status"] for c in CONSTRAINTS]),
        "structures": [
            {"name": name, "roi_number": roi, "protocol_structure": None, "volume_cc": vol,
             "volume_outside_grid_cc": 0.0,
             "curves": {q: _curve(vol, d50, sigma) for q, (d50, sigma) in curves.items()}}
            for name, roi, vol, curves in STRUCTURES
        ],
        "findings": [
            {"severity": "info", "code": "link-by-frame-of-reference",
             "message": f"RTDOSE {DOSE_UID} linked to the structure set by its frame of reference {FOR_UID}",
             "path": f"/exports/Doe_Jane/RD{DOSE_UID}.dcm"},
            {"severity": "warning", "code": "structure-outside-dose-grid",
             "message": f"ROI {SCRIPT_NAME} of patient Doe^Jane (PC-TEST-0042) is 0.4 cc outside the grid",
             "path": None},
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def summary_for(statuses: list[str]) -> dict[str, Any]:
    """A ``summary`` block for a list of constraint statuses (the evaluation document's rules)."""
    counts = {s: statuses.count(s) for s in ("pass", "warn", "fail", "not-evaluated")}
    if counts["not-evaluated"]:
        outcome, code = "not-evaluated", 3
    elif counts["fail"]:
        outcome, code = "fail", 1
    elif counts["warn"]:
        outcome, code = "warn", 0
    else:
        outcome, code = "pass", 0
    return {"pass": counts["pass"], "warn": counts["warn"], "fail": counts["fail"],
            "not_evaluated": counts["not-evaluated"], "outcome": outcome, "exit_code": code}
