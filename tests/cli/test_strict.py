"""--strict refuses inputs that the default mode reads with a warning finding."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.phantoms.build import standard_spec, write_phantom


def test_strict_refuses_what_default_records(tmp_path: Path) -> None:
    case = write_phantom(standard_spec("sphere", radius_mm=10.0), tmp_path / "set")
    ds = pydicom.dcmread(case.rtplan_path)
    ds.PatientID = "SOMEONE-ELSE"  # a plan that names another patient: a warning by default
    ds.save_as(case.rtplan_path)
    runner = CliRunner()
    out = tmp_path / "dvh.json"
    default = runner.invoke(main, ["dvh", str(case.directory), "--format", "json", "-o", str(out)])
    assert default.exit_code == 0, default.output
    codes = {f["code"] for f in json.loads(out.read_text())["findings"]}
    assert any("patient" in c for c in codes), codes
    strict = runner.invoke(main, ["dvh", "--strict", str(case.directory)])
    assert strict.exit_code == 3
    assert "--strict" in strict.output and "Traceback" not in strict.output


def test_lenient_reads_open_planar_contours_and_records_it(tmp_path: Path) -> None:
    case = write_phantom(standard_spec("cylinder", radius_mm=10.0), tmp_path / "set")
    ds = pydicom.dcmread(case.rtstruct_path)
    for roi in ds.ROIContourSequence:
        for c in roi.ContourSequence:
            c.ContourGeometricType = "OPEN_PLANAR"  # an export that forgot to close its contours
    ds.save_as(case.rtstruct_path)
    truth = case.truth("Cylinder").volume_cc
    runner = CliRunner()
    out = tmp_path / "default.json"
    runner.invoke(main, ["dvh", str(case.directory), "--format", "json", "-o", str(out)])
    default = json.loads(out.read_text())["structures"][0]
    assert default["metrics"]["Volume[cc]"] is None  # open contours enclose nothing by default
    out = tmp_path / "lenient.json"
    result = runner.invoke(main, ["dvh", "--lenient", str(case.directory), "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["structures"][0]["metrics"]["Volume[cc]"] == pytest.approx(truth, rel=1e-2)
    assert "contour-closed-leniently" in {f["code"] for f in doc["findings"]}
    both = runner.invoke(main, ["dvh", "--strict", "--lenient", str(case.directory)])
    assert both.exit_code == 2
