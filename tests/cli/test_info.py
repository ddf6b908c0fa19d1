"""``plancheck info``: what was found, how it links, every finding; exit 3 when nothing is usable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from tests.dicom import builders as b
from tests.validation.refdata import data_set


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def _plan_set(root: Path) -> None:
    """A plan with PLAN and BEAM doses (the PLAN dose is used) and its structure set."""
    ss = b.rtstruct(
        [
            b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(3, z)) for z in (0.0, 3.0)]),
            b.Roi(2, "Iso", [("POINT", np.zeros((1, 3)))]),
        ]
    )
    plan = b.rtplan(
        label="MAIN",
        fractions=(10,),
        prescription_gy=30.0,
        structure_set_uid=ss.SOPInstanceUID,
        beams=(1,),
    )
    b.write(ss, root / "RS.dcm")
    b.write(plan, root / "RP.dcm")
    b.write(
        b.rtdose(
            b.DoseSpec(
                stored_gy=np.full((3, 4, 5), 3.0),
                plan_uid=plan.SOPInstanceUID,
                sop_uid=b.uid("plan dose"),
            )
        ),
        root / "RD_plan.dcm",
    )
    beam = b.DoseSpec(
        stored_gy=np.full((3, 4, 5), 3.0),
        plan_uid=plan.SOPInstanceUID,
        summation="BEAM",
        beams=(1,),
        sop_uid=b.uid("beam dose"),
    )
    b.write(b.rtdose(beam), root / "RD_beam.dcm")
    (root / "notes.txt").write_text("not DICOM\n")


def test_json_describes_plans_links_and_findings(tmp_path: Path) -> None:
    _plan_set(tmp_path)
    result = run("info", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert doc["files"]["counts"]["RTDOSE"] == 2 and doc["files"]["counts"]["NON_DICOM"] == 1
    (plan,) = doc["plans"]
    assert (
        plan["label"],
        plan["n_fractions"],
        plan["prescription_gy"],
        plan["approval_status"],
    ) == ("MAIN", 10, 30.0, "APPROVED")
    assert plan["structure_set"] == {"file": "RS.dcm", "linked_by": "reference"}
    assert plan["dose"]["how"] == "PLAN dose" and plan["dose"]["not_used"] == ["RD_beam.dcm"]
    (ss,) = doc["structure_sets"]
    assert (ss["rois"], ss["rois_with_volume"], ss["used_by_plans"]) == (2, 1, ["MAIN"])
    doses = {d["file"]: d for d in doc["doses"]}
    assert doses["RD_plan.dcm"]["status"] == "used" and doses["RD_beam.dcm"]["status"] == "not used"
    assert doses["RD_plan.dcm"]["grid"] == [5, 4, 3] and doses["RD_plan.dcm"]["spacing_mm"] == [
        1.5,
        2.0,
        3.0,
    ]
    assert len(doc["courses"]) == 1
    codes = {f["code"] for f in doc["findings"]}
    assert {"doses-not-used", "not-dicom", "roi-non-closed-contours"} <= codes


def test_table_lists_every_section(tmp_path: Path) -> None:
    _plan_set(tmp_path)
    result = run("info", str(tmp_path))
    assert result.exit_code == 0, result.output
    for heading in ("Files:", "Plans:", "Structure sets:", "Doses:", "Courses:", "Findings ("):
        assert heading in result.stdout
    assert "RS.dcm (by reference)" in result.stdout


def test_frame_of_reference_links_are_shown(tmp_path: Path) -> None:
    b.write(
        b.rtstruct([b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(3, 0.0))])]), tmp_path / "rs.dcm"
    )
    b.write(b.rtplan(), tmp_path / "rp.dcm")
    b.write(b.rtdose(b.DoseSpec(stored_gy=np.ones((2, 2, 2)))), tmp_path / "rd.dcm")
    doc = json.loads(run("info", str(tmp_path), "--format", "json").stdout)
    assert doc["plans"][0]["structure_set"]["linked_by"] == "frame of reference"
    assert doc["doses"][0]["plan"]["linked_by"] == "frame of reference"
    assert "link-by-frame-of-reference" in {f["code"] for f in doc["findings"]}


def test_no_usable_plan_exits_3_with_one_line(tmp_path: Path) -> None:
    """A truncated file, a non-DICOM file and an RTDOSE without its plan."""
    cut = b.write(b.rtstruct([]), tmp_path / "rs.dcm")
    cut.write_bytes(cut.read_bytes()[:200])
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    b.write(
        b.rtdose(b.DoseSpec(stored_gy=np.ones((2, 2, 2)), plan_uid=b.uid("absent plan"))),
        tmp_path / "rd.dcm",
    )
    result = run("info", str(tmp_path))
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plancheck: error:")
    assert "dose-without-structure-set" in result.stdout and "truncated" in result.stdout


def test_json_is_printed_before_the_exit_3(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    result = run("info", str(tmp_path), "--format", "json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["courses"] == []


def test_non_utf8_names_do_not_break_the_table(tmp_path: Path) -> None:
    _plan_set(tmp_path)
    os.rename(tmp_path / "RP.dcm", tmp_path / os.fsdecode(b"RP-\xe9.dcm"))
    result = run("info", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "RP-\ufffd.dcm" in result.stdout


# --------------------------------------------------------------------------- real exports


@pytest.mark.slow
def test_eclipse() -> None:
    """MANIFEST.md: plan B1, 7 fractions, 14 Gy; 10 ROIs (Areola empty); PLAN dose 194x129x98 at 2.5x2.5x3 mm."""
    result = run("info", str(data_set("eclipse_breast_boost")), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (plan,) = doc["plans"]
    assert (plan["label"], plan["n_fractions"], plan["prescription_gy"]) == ("B1", 7, 14.0)
    assert plan["structure_set"]["linked_by"] == "reference"
    assert (doc["structure_sets"][0]["rois"], doc["structure_sets"][0]["rois_with_volume"]) == (
        10,
        9,
    )
    (dose,) = doc["doses"]
    assert (dose["summation_type"], dose["grid"], dose["spacing_mm"]) == (
        "PLAN",
        [194, 129, 98],
        [2.5, 2.5, 3.0],
    )
    assert dose["plan"]["linked_by"] == "reference"
    # the stored DVHs' percent quirk is found against the grid maximum: info reads no pixel data
    assert "tps-dvh-percent-of-prescription" not in {f["code"] for f in doc["findings"]}


@pytest.mark.slow
def test_raystation() -> None:
    doc = json.loads(run("info", str(data_set("raystation_proton_box")), "--format", "json").stdout)
    (plan,) = doc["plans"]
    assert plan["kind"] == "RT Ion Plan" and plan["dose"]["how"] == "PLAN dose"
    assert sorted(d["status"] for d in doc["doses"]) == ["not used", "not used", "used"]
    assert "patient-mismatch" in {f["code"] for f in doc["findings"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "words"), [("pydicom_rt_testfiles", "different content"), ("nelms_analytic", "different content")]
)
def test_folders_without_a_usable_plan(name: str, words: str) -> None:
    result = run("info", str(data_set(name)))
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    assert "Traceback" not in result.output
