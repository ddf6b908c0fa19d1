"""--strict refuses inputs that the default mode reads with a warning finding."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
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
