"""evaluate_course on an in-memory two-plan spine-like course.

Geometry: prisms along z. Dose of each plan is uniform inside regions far
from their edges (the interpolation zone lies outside the structures), so
each value has a hand formula:

* plan 1 (10 fx): 40 Gy in PTV_boost, 30 Gy in the PTV ring, 20 Gy at the cord;
* plan 2 (2 fx): 8 Gy in PTV_boost, 3 Gy at the cord.

Cord EQD2 (α/β 2), voxel by voxel: 20 (2 + 2) / 4 + 3 (1.5 + 2) / 4 = 22.625 Gy.
PTV_boost physical course dose: 48 Gy; its level is 48 Gy in 12 fx.
"""

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from plancheck.evaluation import evaluate_course
from plancheck.model import (
    ContourPlane,
    Course,
    DoseGrid,
    DoseReference,
    PatientInfo,
    Plan,
    PlanDose,
    Structure,
    StructureSet,
)
from plancheck.protocol.registry import load_shipped
from plancheck.report.evaluation_doc import evaluation_document
from tests.dvh.shapes import circle

SCHEMA = json.loads((Path(__file__).parents[1] / "plancheck/schemas/evaluation.schema.json").read_text())
PATIENT = PatientInfo("Phantom^Spine", "PC-SPINE", "")
Z = np.arange(-30.0, 30.1, 2.0)


def prism(n, name, polys, z=Z):
    return Structure(n, name, None, tuple(ContourPlane(float(k), tuple(polys)) for k in z))


def grid(boost, ptv, cord, spacing=2.0):
    x = np.arange(-100, 100.1, spacing)
    y = x.copy()
    z = np.arange(-50, 50.1, spacing)
    _, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    r = np.hypot(xx, yy)
    dose = np.where(r < 18, boost, np.where(r < 32, ptv, 0.0))
    dose = np.where(np.hypot(xx, yy - 60) < 12, cord, dose)
    return DoseGrid(dose.astype(np.float32), x, y, z, "1.2.3")


def plan(label, n, rx, uid):
    return Plan(Path(f"{label}.dcm"), uid, label, label, n, (DoseReference(1, "PTV_boost", "TARGET", rx, None),), "APPROVED", "1.2.9", "1.2.3", False, (1,), PATIENT)


STRUCTURES = (
    prism(1, "BODY", [circle(0, 0, 95)]),
    prism(2, "PTV", [circle(0, 0, 30)]),
    prism(3, "PGTV", [circle(0, 0, 15)]),
    prism(4, "Cord", [circle(0, 60, 5)]),
)
SS = StructureSet(Path("rs.dcm"), "1.2.9", "RS", "1.2.3", STRUCTURES, PATIENT)
SIB = PlanDose(plan("SIB", 10, 40.0, "1.2.5.1"), grid(40.0, 30.0, 20.0), "PLAN dose", ("1.2.6.1",))
SEQ = PlanDose(plan("SEQ", 2, 8.0, "1.2.5.2"), grid(8.0, 0.0, 3.0), "PLAN dose", ("1.2.6.2",))


def by(doc, structure, metric):
    return next(c for c in doc["constraints"] if c["structure"] == structure and c["metric"] == metric)


def test_course_eqd2_and_targets():
    ev = evaluate_course(Course(SS, (SIB, SEQ)))
    assert ev.protocol.name == "spine_sib_seq_48Gy12"
    doc = evaluation_document(ev)
    jsonschema.validate(doc, SCHEMA)
    cord = by(doc, "SpinalCord", "D0.03cc[EQD2Gy(a/b=2)]")
    assert cord["matched_roi"] == "Cord"
    assert cord["value"] == pytest.approx(20 * 4 / 4 + 3 * 3.5 / 4, rel=1e-3)
    assert cord["status"] == "pass"
    boost = by(doc, "PTV_boost", "D50%[%]")
    assert boost["matched_roi"] == "PGTV"
    assert boost["value"] == pytest.approx(100.0, abs=0.1)  # 48 Gy of the 48 Gy level
    ptv_low = by(doc, "PTV_Low!", "D50%[%]")
    assert ptv_low["value"] == pytest.approx(100.0, abs=0.5)  # plan 1 alone: 30 Gy of 30 Gy
    assert ptv_low["plans"] == ["SIB"] and cord["plans"] == ["SIB", "SEQ"]
    # the full citation of every key the protocol cites
    refs = {r["key"]: r["citation"] for r in doc["protocol"]["references"]}
    assert "Xiao2025" in refs and "Technol Cancer Res Treat" in refs["Xiao2025"]
    assert {"Schultheiss2008", "QUANTEC_cord", "Pieters2006", "HyTEC_cord"} <= set(refs)


def test_single_plan_sib_protocol_and_cord_failure():
    hot = PlanDose(plan("SIB", 10, 40.0, "1.2.5.3"), grid(40.0, 30.0, 38.0), "PLAN dose", ("1.2.6.3",))
    ev = evaluate_course(Course(SS, (hot,)))
    assert ev.protocol.name == "spine_sib_30Gy10_40Gy10"
    doc = evaluation_document(ev)
    jsonschema.validate(doc, SCHEMA)
    cord = next(c for c in doc["constraints"] if c["structure"] == "SpinalCord")
    # 38 Gy in 10 fx, uniform around the cord; the limit in 10 fx is 33.5 Gy (35.8 Gy the
    # variation: 45 and 50 Gy EQD2 at a/b 2): fail
    assert cord["value"] == pytest.approx(38.0, rel=1e-3)
    assert cord["status"] == "fail"
    assert doc["summary"]["exit_code"] == 1
    assert doc["summary"]["verdict"]["label"] == "FAIL"


def test_explicit_protocol_mismatch_blocks_the_verdict():
    # the SIB plan states 40 Gy, above the conventional protocol's only level (30 Gy)
    ev = evaluate_course(Course(SS, (SIB,)), load_shipped("spine_conventional_30Gy10"))
    codes = {f.code for f in ev.findings}
    assert "prescription-mismatch" in codes, codes
    assert ev.verdict is not None and ev.verdict.label == "NOT EVALUABLE"
    assert ev.return_code == 3
    assert any("40 Gy" in b and "--accept-mismatch" in b for b in ev.verdict.blocking)
    accepted = evaluate_course(
        Course(SS, (SIB,)), load_shipped("spine_conventional_30Gy10"), accept_mismatch=True
    )
    assert accepted.verdict is not None and accepted.verdict.accepted
    doc = evaluation_document(accepted)
    assert doc["provenance"]["settings"]["accept_mismatch"] is True
    assert doc["summary"]["verdict"]["accepted_mismatches"]
    assert doc["summary"]["exit_code"] != 3 or doc["summary"]["verdict"]["label"] == "INCOMPLETE"


def test_structure_outside_one_plans_grid_is_not_graded_on_the_sum():
    # plan 2's grid stops at y = 40 mm; the cord (y 55 ... 65 mm) lies outside it, so the
    # course sum lacks plan 2's dose there: only the SIB plan's 20 Gy (EQD2 20 Gy) is known,
    # and the cord's EQD2 near-maximum has no upper bound
    x = np.arange(-100, 100.1, 2.0)
    y = np.arange(-100, 40.1, 2.0)
    z = np.arange(-50, 50.1, 2.0)
    _, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    dose = np.where(np.hypot(xx, yy) < 18, 8.0, 0.0).astype(np.float32)
    short = PlanDose(
        plan("SEQ", 2, 8.0, "1.2.5.9"), DoseGrid(dose, x, y, z, "1.2.3"), "PLAN dose", ("1.2.6.9",)
    )
    ev = evaluate_course(Course(SS, (SIB, short)))
    doc = evaluation_document(ev)
    cord = by(doc, "SpinalCord", "D0.03cc[EQD2Gy(a/b=2)]")
    assert cord["status"] == "not-evaluated"
    assert "outside the dose grid of plan 'SEQ'" in cord["reason"]
    assert doc["summary"]["verdict"]["label"] == "INCOMPLETE"
    # the boost target lies inside both grids: still graded on the sum
    boost = next(
        c for c in doc["constraints"] if c["structure"] == "PTV_boost" and c["dose_level"] == "boost"
    )
    assert boost["status"] == "pass" and boost["plans"] == ["SIB", "SEQ"]


def test_one_plan_of_a_course_is_a_warning_never_a_plain_pass():
    ev = evaluate_course(Course(SS, (SIB, SEQ)), plan_label="SIB")
    assert ev.protocol.name == "spine_sib_30Gy10_40Gy10"
    assert ev.verdict is not None and ev.verdict.label == "WARN"
    assert any("only plan 'SIB' of the course" in w for w in ev.verdict.warnings)
