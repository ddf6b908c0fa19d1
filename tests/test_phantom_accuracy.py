"""Issue acceptance: the engine, fed through the DICOM files the phantom generator writes,
against the closed-form truth of each contour stack (plancheck.phantoms.truth).

Volume, mean, D95%, D5% and D0.03cc within 1 % for structures of 1 cc and more,
on 1-3 mm dose grids and contour spacings, in all four patient orientations,
16- and 32-bit, relative and absolute frame offsets. The truth is computed from
the contours, not by the engine, so a reader or engine error shows here.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.model import EndCaps
from plancheck.phantoms.build import standard_spec, write_phantom

CASES = [
    # shape, radius, grid, contour spacing, orientation, bits, offsets, gradient
    ("sphere", 8.0, 1.0, 1.0, "HFS", 32, "relative", "y"),
    ("sphere", 12.0, 3.0, 3.0, "FFS", 16, "relative", "z"),
    ("cylinder", 10.0, 2.0, 2.0, "HFP", 16, "absolute", "oblique"),
    ("cone", 12.0, 2.0, 3.0, "FFP", 32, "relative", "z"),
    ("ring", 12.0, 3.0, 2.0, "HFS", 16, "relative", "x"),
    ("two-part", 14.0, 2.0, 1.0, "FFS", 32, "absolute", "oblique"),
    ("tilted-cylinder", 10.0, 1.0, 2.0, "HFP", 16, "relative", "y"),
    ("two-part-gap", 16.0, 3.0, 2.0, "FFP", 32, "relative", "oblique"),
]
METRICS = ("Volume[cc]", "Mean[Gy]", "D95%[Gy]", "D5%[Gy]", "D0.03cc[Gy]")


@pytest.mark.parametrize(("shape", "r", "grid", "spacing", "orientation", "bits", "offsets", "gradient"), CASES)
def test_engine_matches_contour_stack_truth(tmp_path, shape, r, grid, spacing, orientation, bits, offsets, gradient):
    spec = standard_spec(
        shape,
        radius_mm=r,
        centre_mm=(3.3, -7.1, 12.4),
        gradient=gradient,
        gradient_gy_per_mm=0.8,
        dose_at_centre_gy=30.0,
        contour_spacing_mm=spacing,
        dose_grid_mm=grid,
        orientation=orientation,
        bits=bits,
        frame_offsets=offsets,
    )
    case = write_phantom(spec, tmp_path / "case")
    out = tmp_path / "dvh.json"
    args = ["dvh", str(case.directory), "--format", "json", "-o", str(out), "-m", "D5%[Gy]"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    for structure in doc["structures"]:
        truth = case.truth(structure["name"], EndCaps.HALF)
        if truth.volume_cc < 1.0:
            continue
        m = structure["metrics"]
        expected = {
            "Volume[cc]": truth.volume_cc,
            "Mean[Gy]": truth.mean_gy,
            "D95%[Gy]": float(truth.doses_at_volumes_gy(0.95 * truth.volume_cc)),
            "D5%[Gy]": float(truth.doses_at_volumes_gy(0.05 * truth.volume_cc)),
            "D0.03cc[Gy]": float(truth.doses_at_volumes_gy(0.03)),
        }
        for metric in METRICS:
            assert m[metric] == pytest.approx(expected[metric], rel=0.01), (structure["name"], metric)
