"""Trilinear interpolation of a dose grid, with its gradient, at arbitrary points.

Conventions (the same everywhere in plancheck):

* Points are in the grid's own frame (mm along ``DoseGrid.axes``; patient
  coordinates for the usual axial grids).
* Between grid points the dose is trilinear, with no shift. The grid covers
  its voxel cells: up to half a spacing beyond the outer grid points, where
  the edge value is used (the dose is constant along that axis there, so its
  derivative along it is 0). Beyond that the dose is unknown: such points are
  not *covered*.
* A grid with a single point along an axis covers half the largest in-plane
  spacing either side of it along that axis (a single frame is a slab as thick
  as the in-plane spacing).

:func:`locate` finds each point's cell and local coordinates,
:func:`gather_corners` reads the cell's eight grid values and
:func:`interpolate` gives the value and gradient from them. The DVH engine
calls the last two directly when it already knows the cell.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.model import DoseGrid

__all__ = ["CellCorners", "GridAxis", "box_bounds", "gather_corners", "interpolate", "locate", "sample_grid"]

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class GridAxis:
    """One axis of a grid: its points, and how far beyond them the grid reaches."""

    coords_mm: FloatArray
    lower_mm: float  # edge of coverage below the first point
    upper_mm: float  # edge of coverage above the last point
    uniform: bool = True  # evenly spaced points (a cell is found by division, not search)

    @classmethod
    def of(cls, coords_mm: npt.ArrayLike, single_point_half_mm: float) -> GridAxis:
        c = np.asarray(coords_mm, dtype=np.float64)
        if c.size > 1:
            d = np.diff(c)
            even = bool(np.allclose(d, d[0], rtol=0, atol=1e-6 * max(abs(float(d[0])), 1.0)))
            return cls(c, float(c[0] - (c[1] - c[0]) / 2.0), float(c[-1] + (c[-1] - c[-2]) / 2.0), even)
        return cls(c, float(c[0] - single_point_half_mm), float(c[0] + single_point_half_mm))

    @property
    def size(self) -> int:
        return int(self.coords_mm.size)


_AXES: weakref.WeakKeyDictionary[DoseGrid, tuple[GridAxis, GridAxis, GridAxis]] = weakref.WeakKeyDictionary()


def grid_axes(grid: DoseGrid) -> tuple[GridAxis, GridAxis, GridAxis]:
    """The (z, y, x) axes of a grid, with their coverage (computed once per grid)."""
    known = _AXES.get(grid)
    if known is None:
        known = _AXES[grid] = _grid_axes(grid)
    return known


def _grid_axes(grid: DoseGrid) -> tuple[GridAxis, GridAxis, GridAxis]:
    _, dy, dx = grid.spacing_mm
    half_in_plane = max(dx, dy, 1e-6) / 2.0
    return (
        GridAxis.of(grid.z_mm, half_in_plane),
        GridAxis.of(grid.y_mm, half_in_plane),
        GridAxis.of(grid.x_mm, half_in_plane),
    )


def locate(
    axis: GridAxis, q_mm: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Per point: lower and upper grid index, weight of the upper, d(weight)/d(mm), covered."""
    c = axis.coords_mm
    n = c.size
    covered = (q_mm >= axis.lower_mm - 1e-9) & (q_mm <= axis.upper_mm + 1e-9)
    if n == 1:
        zero = np.zeros(q_mm.shape, dtype=np.intp)
        return zero, zero, np.zeros(q_mm.shape), np.zeros(q_mm.shape), covered
    if axis.uniform:
        step = float(c[1] - c[0])
        i0 = np.minimum(np.maximum(np.floor((q_mm - c[0]) / step), 0), n - 2).astype(np.intp)
    else:
        i0 = np.minimum(np.maximum(np.searchsorted(c, q_mm, side="right") - 1, 0), n - 2).astype(np.intp)
    lo = c[i0]
    width = c[i0 + 1] - lo
    raw = (q_mm - lo) / width
    t = np.minimum(np.maximum(raw, 0.0), 1.0)  # np.clip, with less call overhead
    # beyond the outer points the edge value holds: no change along this axis
    slope = np.where((raw >= 0.0) & (raw <= 1.0), 1.0 / width, 0.0)
    return i0, i0 + 1, t, slope, covered


@dataclass(frozen=True, eq=False)
class CellCorners:
    """The eight grid values around each point: ``v[a][b][c]`` at (z + a, y + b, x + c)."""

    v000: FloatArray
    v001: FloatArray
    v010: FloatArray
    v011: FloatArray
    v100: FloatArray
    v101: FloatArray
    v110: FloatArray
    v111: FloatArray

    def max(self) -> FloatArray:
        out = np.maximum(self.v000, self.v001)
        for v in (self.v010, self.v011, self.v100, self.v101, self.v110, self.v111):
            np.maximum(out, v, out=out)
        return out

    def min(self) -> FloatArray:
        out = np.minimum(self.v000, self.v001)
        for v in (self.v010, self.v011, self.v100, self.v101, self.v110, self.v111):
            np.minimum(out, v, out=out)
        return out


def gather_corners(
    flat_dose: npt.NDArray[np.floating],
    shape: tuple[int, int, int],
    k: tuple[IntArray, IntArray],
    i: tuple[IntArray, IntArray],
    j: tuple[IntArray, IntArray],
) -> CellCorners:
    """Read the eight corner values from the raveled dose (indices (lower, upper) per axis)."""
    _, ny, nx = shape
    plane = ny * nx
    z0, z1 = k[0] * plane, k[1] * plane
    y0, y1 = i[0] * nx, i[1] * nx
    a00, a01, a10, a11 = z0 + y0, z0 + y1, z1 + y0, z1 + y1
    x0, x1 = j
    take = flat_dose.take
    return CellCorners(
        take(a00 + x0), take(a00 + x1), take(a01 + x0), take(a01 + x1),
        take(a10 + x0), take(a10 + x1), take(a11 + x0), take(a11 + x1),
    )  # fmt: skip


def interpolate(
    c: CellCorners,
    tz: FloatArray,
    ty: FloatArray,
    tx: FloatArray,
    sz: FloatArray | float,
    sy: FloatArray | float,
    sx: FloatArray | float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Value and gradient (d/dz, d/dy, d/dx in units per mm) at local coordinates ``t``.

    ``s`` is d(t)/d(mm) along each axis (1 / cell size, or 0 where the edge value holds).
    """
    # along x
    e00 = c.v000 + tx * (c.v001 - c.v000)
    e01 = c.v010 + tx * (c.v011 - c.v010)
    e10 = c.v100 + tx * (c.v101 - c.v100)
    e11 = c.v110 + tx * (c.v111 - c.v110)
    # along y
    f0 = e00 + ty * (e01 - e00)
    f1 = e10 + ty * (e11 - e10)
    value = f0 + tz * (f1 - f0)
    gz = (f1 - f0) * sz
    gy = ((e01 - e00) + tz * ((e11 - e10) - (e01 - e00))) * sy
    dx0 = (c.v001 - c.v000) + ty * ((c.v011 - c.v010) - (c.v001 - c.v000))
    dx1 = (c.v101 - c.v100) + ty * ((c.v111 - c.v110) - (c.v101 - c.v100))
    gx = (dx0 + tz * (dx1 - dx0)) * sx
    return value, gz, gy, gx


def sample_grid(
    grid: DoseGrid, qz: FloatArray, qy: FloatArray, qx: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], CellCorners]:
    """Dose, gradient (grid frame) and coverage at points given in the grid's own frame."""
    az, ay, ax = grid_axes(grid)
    kz0, kz1, tz, sz, cz = locate(az, qz)
    ky0, ky1, ty, sy, cy = locate(ay, qy)
    kx0, kx1, tx, sx, cx = locate(ax, qx)
    corners = gather_corners(
        np.ravel(grid.dose_gy), grid.shape, (kz0, kz1), (ky0, ky1), (kx0, kx1)
    )
    value, gz, gy, gx = interpolate(
        _as64(corners), tz, ty, tx, sz, sy, sx
    )
    return value, gz, gy, gx, cz & cy & cx, corners


def _as64(c: CellCorners) -> CellCorners:
    if c.v000.dtype == np.float64:
        return c
    return CellCorners(*(np.asarray(getattr(c, f), dtype=np.float64) for f in (
        "v000", "v001", "v010", "v011", "v100", "v101", "v110", "v111")))  # fmt: skip


def box_bounds(
    c: CellCorners,
    value: FloatArray,
    grad: tuple[FloatArray, FloatArray, FloatArray],
    slope: tuple[FloatArray | float, FloatArray | float, FloatArray | float],
    reach_mm: tuple[FloatArray, FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Upper and lower bounds of the trilinear dose within ``reach_mm`` (z, y, x) of each point.

    The points and the boxes around them lie inside one cell. About a point the
    trilinear dose is its value, a linear part (the gradient), products of two
    offsets whose coefficients are the cell's mixed differences (bounded by
    their largest value on the cell's faces) and the triple difference; each
    term is bounded over the box. Never looser than the cell's corner range.
    """
    gz, gy, gx = grad
    rz, ry, rx = reach_mm
    ez, ey, ex = (np.asarray(r) * s for r, s in zip(reach_mm, slope, strict=True))  # reach in cell units
    xy = np.maximum(np.abs(c.v000 - c.v001 - c.v010 + c.v011), np.abs(c.v100 - c.v101 - c.v110 + c.v111))
    xz = np.maximum(np.abs(c.v000 - c.v001 - c.v100 + c.v101), np.abs(c.v010 - c.v011 - c.v110 + c.v111))
    yz = np.maximum(np.abs(c.v000 - c.v010 - c.v100 + c.v110), np.abs(c.v001 - c.v011 - c.v101 + c.v111))
    triple = np.abs(c.v000 - c.v001 - c.v010 + c.v011 - c.v100 + c.v101 + c.v110 - c.v111)
    rise = np.abs(gz) * rz + np.abs(gy) * ry + np.abs(gx) * rx
    rise = rise + xy * ex * ey + xz * ex * ez + yz * ey * ez + triple * ex * ey * ez
    return np.minimum(value + rise, c.max()), np.maximum(value - rise, c.min())
