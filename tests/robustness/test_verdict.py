"""Never a false PASS: each way a damaged course could pass ends not-PASS, with the reason.

Every input is generated here: a spine course written by the phantom generator
(``plancheck.phantoms.spine``; the untouched ``sib-pass`` course evaluates to exit 0,
see tests/test_sample_plans.py), damaged one way by a builder of
:mod:`tests.robustness.corpus`. Each test runs ``plancheck evaluate`` as a user
would and checks the exit status and that the reason is in the output (the
table a user reads, and the JSON document).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from plancheck.cli import main
from plancheck.report.evaluation_text import render_evaluation_table
from tests.robustness import corpus as c


def evaluate(folder: Path, *args: str) -> tuple[Result, dict[str, Any] | None, str]:
    """Run ``plancheck evaluate``: the JSON document and the table a user reads (rendered from it)."""
    out = folder.parent / f"{folder.name}.json"
    out.unlink(missing_ok=True)
    result = CliRunner().invoke(main, ["evaluate", str(folder), *args, "--format", "json", "-o", str(out)])
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert "Traceback" not in text and "internal error" not in text, text
    doc = json.loads(out.read_text()) if out.exists() else None
    if doc is not None:
        console = Console(record=True, width=250, file=io.StringIO())
        for item in render_evaluation_table(doc):
            console.print(item)
        text += console.export_text()
    return result, doc, text


def row(doc: dict[str, Any], structure: str, metric: str | None = None) -> dict[str, Any]:
    return next(
        r
        for r in doc["constraints"]
        if r["structure"] == structure and (metric is None or r["metric"] == metric)
    )


def test_the_untouched_course_passes(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    result, doc, _ = evaluate(case.directory)
    assert result.exit_code == 0 and doc is not None
    assert doc["summary"]["verdict"]["label"] in ("PASS", "WARN")


# --- 1. structures outside the dose grid -------------------------------------------------


def test_ptv_two_thirds_outside_the_grid_is_not_evaluated(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    # the PTV spans z -15 ... 15 mm; keep the frames above z = 5 mm: two thirds lie outside
    c.crop_dose_z(case.rtdoses[0], lambda z: z >= 5.0)
    result, doc, text = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    ptv = row(doc, "PTV", "V95%[%]")
    assert ptv["status"] == "not-evaluated" and ptv["value"] is None
    assert "outside the dose grid" in ptv["reason"] and "cannot be decided" in ptv["reason"]
    assert doc["summary"]["verdict"]["label"] == "INCOMPLETE"
    assert "PTV V95%[%] not evaluated" in text and "outside the dose grid" in text
    # the finding is made for every dose quantity read (the cord is read in physical dose here)
    codes = [f["code"] for f in doc["findings"]]
    assert "structure-outside-dose-grid" in codes


def test_cord_hot_part_outside_the_grid_is_not_evaluated(tmp_path: Path) -> None:
    # the failing plan's cord is hottest next to the vertebral body (z within +-12 mm)
    case = c.spine_set(tmp_path / "course", "sib-cord-fail")
    c.crop_dose_z(case.rtdoses[0], lambda z: z >= 14.0)
    result, doc, _ = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    cord = row(doc, "SpinalCord")
    assert cord["status"] == "not-evaluated"
    assert "'SpinalCord' lies outside the dose grid" in cord["reason"]


def test_eqd2_constraints_outside_the_grid_are_not_evaluated(tmp_path: Path) -> None:
    # the course protocol reads the cord in EQD2: the finding and the verdict hold for it too
    case = c.spine_set(tmp_path / "course", "sib-seq-course")
    for dose in case.rtdoses:
        c.crop_dose_z(dose, lambda z: z >= 14.0)
    result, doc, _ = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    cord = row(doc, "SpinalCord")
    assert cord["metric"] == "D0.03cc[EQD2Gy(a/b=2)]"
    assert cord["status"] == "not-evaluated" and "outside the dose grid" in cord["reason"]
    outside = [f["message"] for f in doc["findings"] if f["code"] == "structure-outside-dose-grid"]
    assert any("'SpinalCord'" in m for m in outside), outside


def test_a_limit_met_whatever_the_outside_part_receives_is_said_so(tmp_path: Path) -> None:
    # The grid cut at z = -30 mm leaves the lower part of both kidneys (z -70 ... 45 mm) outside.
    # Nothing inside the grid receives 15.6 Gy (the kidneys' maximum is 5.4 Gy, plancheck dvh on
    # the untouched course), so V15.6Gy[%] is at most the outside share, whatever that part
    # receives: below the 32 % limit it is met regardless; the mean has no upper bound at all.
    case = c.spine_set(tmp_path / "course")
    c.crop_dose_z(case.rtdoses[0], lambda z: z >= -30.0)
    result, doc, _ = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    kidneys = next(s for s in doc["structures"] if s["protocol_structure"] == "Kidneys")
    share = 100 * kidneys["volume_outside_grid_cc"] / kidneys["volume_cc"]
    assert 5 < share < 32
    v156 = row(doc, "Kidneys", "V15.6Gy[%]")
    assert v156["status"] == "pass" and v156["bound"] == "at-most"
    assert v156["value"] == pytest.approx(share, abs=1e-6)
    assert "regardless of the part outside the grid" in v156["reason"]
    mean = row(doc, "Kidneys", "Mean[Gy]")
    assert mean["status"] == "not-evaluated" and "no upper bound" in mean["reason"]


# --- 2. contours lost while reading ------------------------------------------------------


@pytest.mark.parametrize("damage", sorted(c.CONTOUR_DAMAGE))
def test_cord_that_lost_contours_is_not_evaluated(tmp_path: Path, damage: str) -> None:
    # the failing plan: its cord near-maximum (39.2 Gy) is between z = -10 and 12 mm; losing
    # those planes would leave a cord that "passes". The plan also misses PTV_boost D98% >= 95 %
    # (94.92 % by a dense independent resampling of the phantom), so the verdict is FAIL, and the
    # cord that could not be checked is named beside the failure.
    case = c.spine_set(tmp_path / "course", "sib-cord-fail")
    planes = c.damage_roi_contours(case.rtstruct, "SpinalCord", (-10.0, 12.0), c.CONTOUR_DAMAGE[damage])
    result, doc, text = evaluate(case.directory)
    assert result.exit_code == 1, text
    assert doc is not None
    verdict = doc["summary"]["verdict"]
    assert [f.split(" = ")[0] for f in verdict["failed"]] == ["PTV_boost D98%[%]"], verdict
    assert any(b.startswith("SpinalCord ") and "not evaluated" in b for b in verdict["blocking"]), verdict
    cord = row(doc, "SpinalCord")
    assert cord["status"] == "not-evaluated" and cord["value"] is None
    assert "lost contours while it was read" in cord["reason"]
    if damage in ("zero-area", "tilted"):  # these findings name the planes
        assert any(f"{z:g}" in cord["reason"] for z in {round(z, 2) for z in planes}), cord["reason"]
    if damage == "open-planar":
        assert "OPEN_PLANAR" in cord["reason"]
    # the PRV is derived from the cord: not evaluated either
    assert row(doc, "SpinalCord_PRV05")["status"] == "not-evaluated"
    assert doc["summary"]["verdict"]["label"] == "FAIL"


# --- 3. bad or extra input files -----------------------------------------------------------


def test_unreadable_rtdose_beside_the_good_one_blocks_pass(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    bad = c.unreadable_dose_beside(case)
    result, doc, text = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    verdict = doc["summary"]["verdict"]
    assert verdict["label"] == "NOT EVALUABLE"
    assert any(bad.name in b for b in verdict["blocking"]), verdict["blocking"]
    assert bad.name in text and "NOT EVALUABLE" in text


def test_duplicate_sop_uid_with_other_content_blocks_pass(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    copy = c.duplicate_uid_other_content(case)
    a, b = (pydicom.dcmread(p) for p in (case.rtdoses[0], copy))
    assert a.SOPInstanceUID == b.SOPInstanceUID and a.DoseGridScaling != b.DoseGridScaling
    result, doc, text = evaluate(case.directory)
    # which content is right cannot be told: refused outright, or evaluated as NOT EVALUABLE
    assert result.exit_code == 3
    assert copy.name in text
    if doc is not None:
        assert doc["summary"]["verdict"]["label"] == "NOT EVALUABLE"


# --- 4. fraction counts that do not fit the protocol ---------------------------------------


def test_twenty_fraction_plan_against_the_ten_fraction_protocol(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    c.set_fractions(case.rtplans[0], 20)
    # no shipped protocol is 40 Gy in 20 fractions: nothing is chosen (exit 2)
    auto, _, auto_text = evaluate(case.directory)
    assert auto.exit_code == 2 and "no protocol fits" in auto_text and "no protocol fits" in auto_text
    result, doc, text = evaluate(case.directory, "--protocol", "spine_sib_30Gy10_40Gy10")
    assert result.exit_code == 3 and doc is not None
    assert doc["summary"]["verdict"]["label"] == "NOT EVALUABLE"
    assert "20 fractions, the protocol 10" in text and "--accept-mismatch" in text
    _, adoc, atext = evaluate(
        case.directory, "--protocol", "spine_sib_30Gy10_40Gy10", "--accept-mismatch"
    )
    assert adoc is not None and adoc["provenance"]["settings"]["accept_mismatch"] is True
    assert adoc["summary"]["verdict"]["accepted_mismatches"]
    assert "accepted with --accept-mismatch" in atext
    assert adoc["summary"]["verdict"]["label"] != "PASS"  # an accepted mismatch is a warning


def test_plan_with_ten_and_thirty_fraction_groups(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    c.add_fraction_group(case.rtplans[0], 30)
    result, doc, text = evaluate(case.directory, "--protocol", "spine_sib_30Gy10_40Gy10")
    assert result.exit_code == 3 and doc is not None
    assert any(m["code"] == "fraction-groups-mismatch" for m in doc["protocol"]["mismatches"])
    assert "2 fraction groups (10 + 30 fractions)" in text
    auto, _, auto_text = evaluate(case.directory)
    assert auto.exit_code == 2 and "no protocol fits" in auto_text


# --- 5. automatic protocol choice ------------------------------------------------------------


def test_two_fraction_boost_plan_without_prescription_is_not_matched(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course", "sib-seq-course")
    # keep only the sequential boost plan (2 fractions) and its dose
    sib_plan = next(p for p in case.rtplans if "SIB" in p.name)
    sib_dose = next(p for p in case.rtdoses if "SIB" in p.name)
    sib_plan.unlink()
    sib_dose.unlink()
    boost_plan = next(p for p in case.rtplans if p.exists())
    c.drop_prescriptions(boost_plan)
    result, doc, text = evaluate(case.directory)
    assert result.exit_code == 2 and doc is None
    assert "states no target prescription" in text
    assert "spine_sbrt_24Gy2" in text  # the candidate its fraction count allows, listed
    assert "--protocol" in text


# --- 6. required organs ---------------------------------------------------------------------


def test_no_cord_no_cauda_no_thecal_sac_is_incomplete(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    c.remove_rois(case.rtstruct, "SpinalCord", "CaudaEquina")
    result, doc, text = evaluate(case.directory)
    assert result.exit_code == 3 and doc is not None
    assert doc["summary"]["verdict"]["label"] == "INCOMPLETE"
    assert doc["summary"]["missing_groups"]
    assert "none of SpinalCord, CaudaEquina, ThecalSac" in text


def test_thecal_sac_stands_in_for_cord_and_cauda(tmp_path: Path) -> None:
    # a lumbar-style structure set: the dural sac contoured as ThecalSac, no cord, no cauda
    case = c.spine_set(tmp_path / "course")
    c.remove_rois(case.rtstruct, "SpinalCord")
    c.rename_roi(case.rtstruct, "CaudaEquina", "ThecalSac")
    result, doc, text = evaluate(case.directory)
    assert doc is not None
    surrogate = [r for r in doc["constraints"] if r["structure"] == "ThecalSac"]
    assert {r["surrogate_for"] for r in surrogate} == {"SpinalCord", "CaudaEquina"}
    assert all(r["graded"] and "surrogate for" in r["reason"] for r in surrogate)
    assert all(r["status"] in ("pass", "warn", "fail") for r in surrogate)
    assert {"SpinalCord", "CaudaEquina"} <= set(doc["summary"]["absent_optional_structures"])
    assert "optional structures absent" in text
    assert result.exit_code in (0, 1)


def test_thecal_sac_beside_the_cord_is_reported_not_graded(tmp_path: Path) -> None:
    case = c.spine_set(tmp_path / "course")
    c.rename_roi(case.rtstruct, "SpinalCanal", "ThecalSac")
    result, doc, _ = evaluate(case.directory)
    assert result.exit_code == 0 and doc is not None
    for r in (r for r in doc["constraints"] if r["structure"] == "ThecalSac"):
        assert r["status"] == "reported" and r["goal"] is None and not r["graded"]
        assert "not graded" in r["reason"]


# --- 7. the dose scale against the planning system ------------------------------------------


def _store_dvhs(case: c.SpineCase, scale: float) -> None:
    """Store plancheck's own DVHs of five ROIs in the RTDOSE (0.1 Gy bins), then scale the grid."""
    from tests.dicom.builders import dvh_item

    base = CliRunner().invoke(main, ["dvh", str(case.directory), "--format", "json", "--dvh-curves"])
    assert base.exit_code == 0
    curves = {s["roi_number"]: s["curves"]["physical"] for s in json.loads(base.stdout)["structures"]}

    def edit(ds: pydicom.Dataset) -> None:
        items = []
        for number in (2, 3, 5, 6, 9):  # PTV_boost, PTV, SpinalCord, CaudaEquina, Bowel_Bag
            dose = np.asarray(curves[number]["dose_gy"])
            vol = np.asarray(curves[number]["volume_cc"])
            edges = np.arange(0.0, float(dose[-1]) + 0.1, 0.1)
            items.append(dvh_item(number, [0.1] * len(edges), list(np.interp(edges, dose, vol))))
        ds.DVHSequence = items
        if scale != 1.0:
            ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * scale:.8g}"

    c._edit(case.rtdoses[0], edit)


def test_stored_dvhs_agree_until_the_grid_is_scaled(tmp_path: Path) -> None:
    same = c.spine_set(tmp_path / "same")
    _store_dvhs(same, 1.0)
    _, doc, _ = evaluate(same.directory)
    assert doc is not None and doc.get("crosschecks")
    assert all(r["within"] in ("yes", "—") for r in doc["crosschecks"])
    assert not any("planning system" in w for w in doc["summary"]["verdict"]["warnings"])

    scaled = c.spine_set(tmp_path / "scaled")
    _store_dvhs(scaled, 0.85)
    _, doc, text = evaluate(scaled.directory)
    assert doc is not None
    warnings = doc["summary"]["verdict"]["warnings"]
    assert any("0.85 × the planning system's" in w for w in warnings), warnings
    assert doc["crosscheck_scale"]["factor"] == pytest.approx(0.85, abs=0.005)
    assert "0.85 × the planning system's" in text
    strict = CliRunner().invoke(main, ["evaluate", str(scaled.directory), "--strict"])
    assert strict.exit_code == 3


ECLIPSE_PROTOCOL = """\
schema_version: 1
name: breast_boost_check
description: Loose limits the shared Eclipse breast-boost plan meets, to test the cross-check.
dose_levels:
  - {id: boost, target: TumorBed, dose_gy: 14, fractions: 7, plans: [1]}
structures:
  - {name: TumorBed, aliases: [Tumor Bed]}
  - {name: Heart}
  - {name: Lung_L, aliases: [Lt Lung]}
constraints:
  - {structure: TumorBed, metric: "D95%[%]", dose_level: boost, goal: ">= 80", source: test}
  # graded only in EQD2: cross-checked on its physical DVH
  - {structure: Heart, metric: "D0.03cc[EQD2Gy(a/b=3)]", goal: "<= 30", source: test}
  - {structure: Lung_L, metric: "Mean[Gy]", goal: "<= 10", source: test}
"""


def test_eclipse_plan_with_dose_grid_scaled_by_085(tmp_path: Path) -> None:
    """The shared Eclipse plan passes these loose limits at 0.85 of its dose: the cross-check warns."""
    from tests.validation.refdata import data_set

    source = data_set("eclipse_breast_boost")
    protocol = tmp_path / "breast.yaml"
    protocol.write_text(ECLIPSE_PROTOCOL)
    folder = tmp_path / "eclipse"
    folder.mkdir()
    for name in ("rtss.dcm", "rtplan.dcm", "rtdose.dcm"):
        (folder / name).write_bytes((source / name).read_bytes())
    # untouched, with Eclipse's own end-cap convention: no disagreement
    result, doc, _ = evaluate(folder, "--protocol", str(protocol), "--end-caps", "none")
    assert result.exit_code == 0 and doc is not None
    assert not any("planning system" in w for w in doc["summary"]["verdict"]["warnings"])
    heart = [r for r in doc["crosschecks"] if r["roi"] == "Heart"]
    assert heart and all(r["within"] in ("yes", "—") for r in heart)

    def scale(ds: pydicom.Dataset) -> None:
        ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * 0.85:.10g}"

    c._edit(folder / "rtdose.dcm", scale)
    result, doc, text = evaluate(folder, "--protocol", str(protocol), "--end-caps", "none")
    assert doc is not None
    assert all(r["status"] == "pass" for r in doc["constraints"])  # it would pass
    verdict = doc["summary"]["verdict"]
    assert verdict["label"] == "WARN" and result.exit_code == 0
    assert any("0.85 × the planning system's" in w for w in verdict["warnings"]), verdict
    assert "0.85 × the planning system's" in text
    # the Heart, graded only in EQD2, is cross-checked on its physical DVH
    assert any(r["roi"] == "Heart" and r["within"] == "NO" for r in doc["crosschecks"])
    # never read as the percent-of-prescription quirk
    codes = {f["code"] for f in doc["findings"]}
    assert "tps-dvh-exceeds-dose-grid" in codes
    strict = CliRunner().invoke(
        main, ["evaluate", str(folder), "--protocol", str(protocol), "--end-caps", "none", "--strict"]
    )
    assert strict.exit_code == 3
