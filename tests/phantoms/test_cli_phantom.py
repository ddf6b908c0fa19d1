"""``plancheck phantom``: files written, truth printed, usage errors exit 2."""

from __future__ import annotations

import json

import pydicom
from click.testing import CliRunner

from plancheck.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_shape_phantom_with_options(tmp_path):
    out = tmp_path / "ring"
    result = run(
        "phantom",
        str(out),
        "--shape",
        "ring",
        "--radius-mm",
        "10",
        "--orientation",
        "HFP",
        "--bits",
        "16",
        "--frame-offsets",
        "absolute",
        "--contour-spacing-mm",
        "1,2",
        "--dose-grid-mm",
        "1,2,3",
        "--gradient",
        "0.1,0.2,-0.3",
        "--summation",
        "FRACTION",
        "--fractions",
        "3",
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["RD.ring.dcm", "RP.ring.dcm", "RS.ring.dcm", "truth.json"]
    rd = pydicom.dcmread(out / "RD.ring.dcm")
    assert (
        rd.PatientPosition == "HFP"
        and rd.BitsAllocated == 16
        and rd.DoseSummationType == "FRACTION"
    )
    assert [float(v) for v in rd.PixelSpacing] == [2.0, 1.0]
    doc = json.loads((out / "truth.json").read_text())
    assert doc["dose_field"]["gradient_gy_per_mm"] == [0.1, 0.2, -0.3]
    assert doc["spec"]["contour_spacing_mm"] == [1.0, 2.0]
    volume = doc["rois"][0]["half"]["volume_cc"]
    assert f"{volume:.4f}" in result.output


def test_spine_all_writes_three_folders(tmp_path):
    result = run("phantom", str(tmp_path), "--spine", "all")
    assert result.exit_code == 0, result.output
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["spine_sib_cord_fail", "spine_sib_pass", "spine_sib_seq_course"]
    assert len(list((tmp_path / "spine_sib_seq_course").iterdir())) == 5


def test_usage_errors_exit_2(tmp_path):
    for args in (
        ["--spine", "sib-pass", "--radius-mm", "4"],
        ["--gradient", "1,x"],
        ["--dose-grid-mm", "1,2"],
        ["--dose-at-centre-gy", "1"],  # the oblique field goes negative on the grid
        ["--shape", "cube"],
    ):
        result = run("phantom", str(tmp_path / "x"), *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
