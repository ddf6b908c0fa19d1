"""``plancheck sum``: the cumulative EQD2 written as an EFFECTIVE RT Dose on the current grid.

Expected voxel values: at each current grid point, the current grid's value
converted with 2 fractions plus the prior grid interpolated trilinearly (in
the test) at the point mapped by the phantom's known transform, converted
with 10 fractions (α/β 2 Gy).
"""

from __future__ import annotations

import numpy as np
import pydicom
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.dicom.rtdose import read_rtdose
from plancheck.phantoms.reirradiation import build_reirradiation, eqd2_gy, write_reirradiation
from tests.phantoms.test_spine import trilinear


def test_sum_writes_the_cumulative_eqd2_of_both_courses(tmp_path):
    paths = write_reirradiation("rotation", tmp_path / "course")
    out = tmp_path / "cumulative_eqd2.dcm"
    result = CliRunner().invoke(
        main, ["sum", str(paths.current_dir), "--prior", str(paths.prior_dir), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    ds = pydicom.dcmread(out)
    assert ds.DoseType == "EFFECTIVE" and ds.DoseSummationType == "MULTI_PLAN"
    assert ds.DoseComment.startswith("cumulative EQD2 (a/b 2 Gy)")
    assert "no recovery assumed" in ds.ImageComments and "RE.REGISTRATION.dcm" in ds.ImageComments
    ph = build_reirradiation("rotation")
    # the doses as written (16-bit), read back
    grid = read_rtdose(next(paths.current_dir.glob("RD.*"))).grid
    prior = read_rtdose(next(paths.prior_dir.glob("RD.*"))).grid
    assert ds.FrameOfReferenceUID == ph.current.frame_of_reference_uid
    written = ds.pixel_array * float(ds.DoseGridScaling)
    assert written.shape == grid.dose_gy.shape
    rng = np.random.default_rng(2)
    idx = tuple(rng.integers(0, n, 4000) for n in grid.shape)
    p = np.column_stack([grid.x_mm[idx[2]], grid.y_mm[idx[1]], grid.z_mm[idx[0]]])
    q = p @ ph.current_to_prior[:3, :3].T + ph.current_to_prior[:3, 3]
    inside = np.all([(q[:, k] >= a[0]) & (q[:, k] <= a[-1]) for k, a in enumerate(
        (prior.x_mm, prior.y_mm, prior.z_mm))], axis=0)
    expected = eqd2_gy(grid.dose_gy[idx], 2, 2.0) + eqd2_gy(trilinear(prior, q), 10, 2.0)
    # float32 sums stored in 32 bits with the full-range scaling: 1e-6 of the maximum
    tol = 1e-6 * float(written.max())
    assert np.max(np.abs(written[idx][inside] - expected[inside])) < tol


def test_sum_refuses_to_write_into_a_course_folder(tmp_path):
    paths = write_reirradiation("identity", tmp_path / "course")
    result = CliRunner().invoke(
        main,
        ["sum", str(paths.current_dir), "--prior", str(paths.prior_dir), "-o", str(paths.current_dir / "sum.dcm")],
    )
    assert result.exit_code == 2 and "inside the course folder" in result.output
    assert not (paths.current_dir / "sum.dcm").exists()
