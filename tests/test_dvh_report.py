"""The DVH report of a course built in memory: metric keys, undefined values, biology.

Plan doses are uniform, so every number has a hand formula: a 10-fraction plan
of 30 Gy and a 2-fraction plan of 8 Gy to the same sphere give an EQD2 (α/β 2)
of 30 (3 + 2) / 4 + 8 (4 + 2) / 4 = 37.5 + 12 = 49.5 Gy, while EQD2 of the
physical sum in 12 fractions would be 38 (38/12 + 2) / 4 = 49.08 Gy.
"""

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from plancheck.dvh_report import DEFAULT_METRICS, compute_dvh_report
from plancheck.errors import CourseError, MetricSyntaxError
from plancheck.model import Course, DoseReference, PatientInfo, Plan, PlanDose, StructureSet
from plancheck.report.dvh_output import render_csv, render_json, render_table
from tests.dvh.shapes import linear_grid, sphere

SCHEMA = json.loads((Path(__file__).parents[1] / "plancheck/schemas/dvh.schema.json").read_text())
PATIENT = PatientInfo("Phantom^Sphere", "PC-0001", "")


def _plan(label: str, n: int, rx: float | None) -> Plan:
    refs = (DoseReference(1, "PTV", "TARGET", rx, None),) if rx is not None else ()
    return Plan(Path("rp.dcm"), f"1.2.3.{n}", label, label, n, refs, "APPROVED", "1.2.9", "1.2.3", False, (1,), PATIENT)


def _course(*plans: tuple[str, int, float, float | None]) -> Course:
    ss = StructureSet(
        Path("rs.dcm"),
        "1.2.9",
        "RS",
        "1.2.3",
        (sphere(10.0, 1.0), sphere(1.0, 0.5, centre=(20.0, 0, 0), roi_number=2)),
        PATIENT,
    )
    doses = tuple(
        PlanDose(_plan(label, n, rx), linear_grid(2.0, (0, 0, 0), offset_gy=dose), "PLAN dose", (f"1.2.4.{n}",))
        for label, n, dose, rx in plans
    )
    return Course(ss, doses)


def test_default_metrics_and_json_schema():
    report = compute_dvh_report(_course(("SIB", 10, 30.0, 30.0)), [*DEFAULT_METRICS, "V95%[%]", "D2cc[Gy]"])
    doc = json.loads(render_json(report))
    jsonschema.validate(doc, SCHEMA)
    big, small = doc["structures"]
    assert set(DEFAULT_METRICS) <= set(big["metrics"])
    assert big["metrics"]["D95%[Gy]"] == pytest.approx(30.0, abs=2e-3)
    assert big["metrics"]["V95%[%]"] == pytest.approx(100.0)
    # the small sphere is 0.004 cc: D2cc is undefined, not 0
    assert small["metrics"]["D2cc[Gy]"] is None
    assert "needs 2 cc" in small["undefined"]["D2cc[Gy]"]
    assert render_csv(report).splitlines()[0].startswith("structure,roi_number,volume_outside_grid_cc,Volume[cc]")


def test_course_eqd2_is_summed_per_plan_fraction_size():
    course = _course(("SIB", 10, 30.0, 30.0), ("Boost", 2, 8.0, 8.0))
    report = compute_dvh_report(course, ["Mean[Gy]", "Mean[EQD2Gy(a/b=2)]", "V95%[%]"])
    s = report.structures[0]
    assert s.metric("Mean[Gy]").value == pytest.approx(38.0, abs=1e-3)
    assert s.metric("Mean[EQD2Gy(a/b=2)]").value == pytest.approx(49.5, rel=1e-4)
    assert report.prescription_gy == pytest.approx(38.0)
    one = compute_dvh_report(course, ["Mean[Gy]"], plan_label="Boost")
    assert one.structures[0].metric("Mean[Gy]").value == pytest.approx(8.0, abs=1e-3)


def test_relative_metric_without_prescription_is_undefined():
    report = compute_dvh_report(_course(("SIB", 10, 30.0, None)), ["V95%[%]"])
    m = report.structures[0].metric("V95%[%]")
    assert m.value is None and "prescription" in (m.reason or "")


def test_bad_inputs_raise_typed_errors():
    course = _course(("SIB", 10, 30.0, 30.0))
    with pytest.raises(MetricSyntaxError):
        compute_dvh_report(course, ["D95[Gy]"])
    with pytest.raises(CourseError, match="no ROI named"):
        compute_dvh_report(course, structure_names=["Liver"])
    with pytest.raises(CourseError, match="no plan labelled"):
        compute_dvh_report(course, plan_label="nope")


def test_curves_are_monotone_and_start_at_volume():
    report = compute_dvh_report(_course(("SIB", 10, 30.0, 30.0)), ["Volume[cc]"])
    doc = json.loads(render_json(report, curves=True))
    curve = doc["structures"][0]["curves"]["physical"]
    v = np.array(curve["volume_cc"])
    assert np.all(np.diff(v) <= 1e-9)
    assert v[0] == pytest.approx(doc["structures"][0]["volume_cc"], rel=1e-4)


def test_every_output_says_which_end_caps_and_why():
    """A structure set of an unknown writer: half caps, the default, said in JSON, table and findings."""
    report = compute_dvh_report(_course(("SIB", 10, 30.0, 30.0)))
    doc = json.loads(render_json(report))
    jsonschema.validate(doc, SCHEMA)
    settings = doc["settings"]
    assert settings["end_caps"] == "half" and settings["end_caps_requested"] == "auto"
    assert "not in plancheck's table" in settings["end_caps_reason"]
    assert any(f["code"] == "end-caps" for f in doc["findings"])
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(render_table(report))
    assert "End caps: half" in console.export_text()
