"""Trilinear resampling of a dose grid onto another grid's points.

Used only to sum plans whose dose grids differ. Points of the target grid
outside the source grid's voxel cells get no dose from it (0 Gy) and are
counted, so the caller can report how much of the target the source missed.
Within half a voxel of the outer grid points the edge value is used, the same
convention the DVH engine uses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from plancheck.model import DoseGrid

__all__ = ["resample_trilinear", "same_geometry"]


def same_geometry(a: DoseGrid, b: DoseGrid, tol_mm: float = 1e-3) -> bool:
    """True when both grids have the same points (within ``tol_mm``)."""
    return a.same_points_as(b, tol_mm)


def _weights(
    target: npt.NDArray[np.floating], source: npt.NDArray[np.floating]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    n = source.size
    if n == 1:
        zero = np.zeros(target.size, dtype=np.intp)
        return zero, zero, np.zeros(target.size), np.abs(target - source[0]) < 1e-6
    steps = np.diff(source)
    lo = source[0] - steps[0] / 2
    hi = source[-1] + steps[-1] / 2
    covered = (target >= lo - 1e-6) & (target <= hi + 1e-6)
    i0 = np.clip(np.searchsorted(source, target, side="right") - 1, 0, n - 2)
    t = np.clip((target - source[i0]) / (source[i0 + 1] - source[i0]), 0.0, 1.0)
    return i0.astype(np.intp), (i0 + 1).astype(np.intp), t, covered


def resample_trilinear(source: DoseGrid, target: DoseGrid) -> tuple[DoseGrid, int]:
    """``source``'s dose at ``target``'s grid points; also the number of uncovered points.

    Separable: interpolate along x, then y, then z, never looping over voxels.
    """
    x0, x1, tx, cx = _weights(target.x_mm, source.x_mm)
    y0, y1, ty, cy = _weights(target.y_mm, source.y_mm)
    z0, z1, tz, cz = _weights(target.z_mm, source.z_mm)
    d = np.asarray(source.dose_gy, dtype=np.float64)
    d = d[:, :, x0] * (1 - tx) + d[:, :, x1] * tx
    d = d[:, y0, :] * (1 - ty)[None, :, None] + d[:, y1, :] * ty[None, :, None]
    d = d[z0] * (1 - tz)[:, None, None] + d[z1] * tz[:, None, None]
    covered = cz[:, None, None] & cy[None, :, None] & cx[None, None, :]
    d[~covered] = 0.0
    uncovered = int(covered.size - np.count_nonzero(covered))
    return target.with_dose(d.astype(np.float32)), uncovered
