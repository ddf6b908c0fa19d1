"""Where a structure is sampled: boxes that each lie inside one dose cell.

Everything here is in the frame of the *reference grid* (the grid the
structure is sampled on): x along its columns, y along its rows, z along its
frames. A *cell* is the box between neighbouring grid points; inside a cell
the trilinear dose is a multilinear function, so its value and gradient at
a box's centre describe the box well, and its largest value lies at a corner.
Beyond the outer grid points the lattice of cells continues with the edge
spacing (*virtual* cells: the grid covers their inner half, with the edge
value, see :mod:`plancheck.dose.trilinear`).

In-plane, each cell is split into ``factor_x × factor_y`` pixels (the
:class:`Lattice`, aligned with the grid points). The pixel size follows the
structure: about ``PIXELS_ACROSS`` pixels across its typical in-plane width,
never coarser than the dose grid, never finer than ``MIN_PIXEL_MM``, and
coarse enough to keep the sample count under ``max_samples``. The contours
are first cut to the part of the plane the grid covers (half a spacing beyond
its outer points, :mod:`plancheck.dvh.clip`); the area cut away is outside the
grid. Each contour plane is then rasterised once
(:func:`plancheck.dvh.rasterise.coverage_with_moments`): the fraction of each
pixel inside its contours, and where that part lies.

Along z, each contour plane's slab (:mod:`plancheck.dvh.slabs`) is cut where
it crosses a cell boundary (a dose frame, or the edge of the grid's
coverage), so every piece lies in one z-cell, where the dose is linear along
z for each point of the plane.

Cells whose pixels are all inside the contours of every slab crossing a
z-cell are *full cells*: one box per cell (the bulk of a large structure).
Everything else is sampled per pixel and piece (the structure's surface),
each pixel box counting with the fraction of it inside the contours. The
engine (:mod:`plancheck.dvh.engine`) evaluates the boxes and splits those
over which the dose varies too much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.dose.trilinear import grid_axes
from plancheck.dvh.clip import clip_to_rectangle, shifted
from plancheck.dvh.rasterise import coverage_with_moments
from plancheck.dvh.slabs import Slabs
from plancheck.model import DoseGrid, Structure

__all__ = [
    "MIN_PIXEL_MM",
    "PIXELS_ACROSS",
    "Lattice",
    "PlaneSamples",
    "ZCells",
    "choose_lattice",
    "clipped_planes",
    "coverage_box_mm",
    "plane_masks",
]

PIXELS_ACROSS = 20
MIN_PIXEL_MM = 0.1
# lattice pixels rasterised at once (planes stacked), to keep arrays in cache
_RASTER_PIXELS = 1 << 17
_EPS_MM = 1e-6

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.floating]


@dataclass(frozen=True)
class Lattice:
    """The fine in-plane lattice of one structure on one grid (grid frame, mm).

    Pixel (row ``r``, column ``c``) spans ``x0_mm + c * dx_mm`` to ``+ dx_mm``
    (likewise y). Column ``c`` lies in cell column ``cell_col0 + c // factor_x``
    (cell ``j`` spans grid points ``j`` and ``j + 1``; negative or beyond the
    last point for virtual cells), row ``r`` in cell row ``cell_row0 + r // factor_y``.
    """

    x0_mm: float
    y0_mm: float
    dx_mm: float
    dy_mm: float
    n_rows: int
    n_cols: int
    factor_x: int
    factor_y: int
    cell_col0: int
    cell_row0: int

    @property
    def x_centres_mm(self) -> FloatArray:
        return self.x0_mm + (np.arange(self.n_cols) + 0.5) * self.dx_mm

    @property
    def y_centres_mm(self) -> FloatArray:
        return self.y0_mm + (np.arange(self.n_rows) + 0.5) * self.dy_mm

    @property
    def n_cell_cols(self) -> int:
        return self.n_cols // self.factor_x

    @property
    def n_cell_rows(self) -> int:
        return self.n_rows // self.factor_y


@dataclass(frozen=True, eq=False)
class PlaneSamples:
    """One contour plane on the lattice: its slab, full cells and the other pixels.

    ``full_cells[a, b]`` is True when every pixel of cell row ``cell_row0 + a``,
    column ``cell_col0 + b`` is wholly inside the contours (real cells only).
    The contours are those cut to the grid's coverage (``polygons``);
    ``outside_mm2`` is the area cut away.
    ``rows``/``cols``/``fraction`` list the other pixels the contours touch
    (0 < fraction <= 1); ``centroid`` (dx, dy) and ``covariance`` (sxx, syy,
    sxy) describe the part of each inside the contours, in pixel units from
    the pixel centre (0, 0 and 1/12, 1/12, 0 for a whole pixel).
    """

    z_mm: float
    lower_mm: float
    upper_mm: float
    full_cells: npt.NDArray[np.bool_]
    rows: IntArray
    cols: IntArray
    fraction: npt.NDArray[np.float32]
    centroid: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
    covariance: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]
    polygons: tuple[npt.NDArray[np.floating], ...]  # the contours as rasterised (cut to the grid)
    outside_mm2: float  # area of the contours beyond the grid's coverage, cut away


@dataclass(frozen=True, eq=False)
class ZCells:
    """Cell boundaries along z: the grid's frames, its coverage edges, and virtual frames beyond.

    ``bounds_mm`` ascending; interval ``m`` (``bounds[m]`` to ``bounds[m + 1]``) is the
    real z-cell ``kind[m] == 0`` with index ``cell[m]`` (frames ``cell[m]`` and ``cell[m] + 1``),
    or beyond the outer frames (``kind[m] == 1``: covered half cell, ``2``: not covered).
    """

    bounds_mm: FloatArray
    cell: npt.NDArray[np.intp]
    kind: npt.NDArray[np.int8]

    @classmethod
    def of(cls, grid: DoseGrid, lo_mm: float, hi_mm: float) -> ZCells:
        az = grid_axes(grid)[0]
        z = az.coords_mm
        n = z.size
        step_lo = float(z[1] - z[0]) if n > 1 else az.upper_mm - az.lower_mm
        step_hi = float(z[-1] - z[-2]) if n > 1 else az.upper_mm - az.lower_mm
        below = []
        b = az.lower_mm
        while b > lo_mm - _EPS_MM:
            b -= step_lo
            below.append(b)
        above = []
        b = az.upper_mm
        while b < hi_mm + _EPS_MM:
            b += step_hi
            above.append(b)
        bounds = np.concatenate([np.array(below[::-1]), [az.lower_mm], z, [az.upper_mm], np.array(above)])
        m = bounds.size - 1
        cell = np.full(m, -1, dtype=np.intp)
        kind = np.full(m, 2, dtype=np.int8)
        nb = len(below)
        # interval nb: lower half cell; nb+1 .. nb+n-1: real cells 0 .. n-2; nb+n: upper half cell
        kind[nb] = 1
        cell[nb] = -1
        if n > 1:
            kind[nb + 1 : nb + n] = 0
            cell[nb + 1 : nb + n] = np.arange(n - 1)
        kind[nb + n] = 1
        cell[nb + n] = n - 1
        return cls(bounds, cell, kind)

    def pieces(self, lo_mm: float, hi_mm: float) -> list[tuple[int, float, float]]:
        """(interval, start, end) of the parts of ``[lo, hi]`` in each interval."""
        b = self.bounds_mm
        first = max(int(np.searchsorted(b, lo_mm, side="right")) - 1, 0)
        out = []
        m = first
        while m < b.size - 1 and b[m] < hi_mm - _EPS_MM:
            a = max(lo_mm, float(b[m]))
            e = min(hi_mm, float(b[m + 1]))
            if e - a > _EPS_MM:
                out.append((m, a, e))
            m += 1
        return out


def coverage_box_mm(grid: DoseGrid) -> tuple[float, float, float, float]:
    """In-plane extent the grid covers: (x_lo, x_hi, y_lo, y_hi)."""
    _, ay, ax = grid_axes(grid)
    return ax.lower_mm, ax.upper_mm, ay.lower_mm, ay.upper_mm


def clipped_planes(structure: Structure, grid: DoseGrid | None) -> list[tuple[tuple[npt.NDArray[np.floating], ...], float]]:
    """Each plane's contours cut to the grid's in-plane coverage (all of them without a grid)."""
    if grid is None:
        return [(tuple(p.polygons), 0.0) for p in structure.planes]
    box = coverage_box_mm(grid)
    return [clip_to_rectangle(p.polygons, *box) for p in structure.planes]


def choose_lattice(
    structure: Structure,
    slabs: Slabs,
    grid: DoseGrid,
    max_samples: int,
    polygons: list[tuple[npt.NDArray[np.floating], ...]] | None = None,
) -> Lattice:
    """Pick the pixel size and extent of the structure's lattice on ``grid``.

    ``polygons`` are the contours per plane as they will be rasterised (by
    default the structure's own); planes without any are skipped.
    """
    dz, dy, dx = grid.spacing_mm
    _, ay, ax = grid_axes(grid)
    dx = dx if dx > 0 else ax.upper_mm - ax.lower_mm
    dy = dy if dy > 0 else ay.upper_mm - ay.lower_mm
    dz = dz if dz > 0 else max(dx, dy)
    rings = polygons if polygons is not None else [tuple(p.polygons) for p in structure.planes]
    pts = [r for plane in rings for r in plane]
    if not pts:
        pts = [p for plane in structure.planes for p in plane.polygons]
    all_pts = np.concatenate(pts)
    xmin, ymin = (float(v) for v in all_pts.min(axis=0))
    xmax, ymax = (float(v) for v in all_pts.max(axis=0))
    areas = np.array([_plane_area_mm2(plane.polygons) for plane in structure.planes])
    typical_width = math.sqrt(max(float(np.median(areas)), 1e-6))
    target = max(typical_width / PIXELS_ACROSS, MIN_PIXEL_MM)
    fx = max(1, math.ceil(dx / target))
    fy = max(1, math.ceil(dy / target))
    while fx * fy > 1:
        # every plane's pixels, in a piece or two of a z-cell each
        if 2.0 * float(areas.sum()) / ((dx / fx) * (dy / fy)) <= max_samples:
            break
        fx = max(1, fx - max(1, fx // 4))
        fy = max(1, fy - max(1, fy // 4))
    x_first = float(ax.coords_mm[0])
    y_first = float(ay.coords_mm[0])
    j0 = math.floor((xmin - x_first) / dx) - 1
    j1 = math.floor((xmax - x_first) / dx) + 1
    i0 = math.floor((ymin - y_first) / dy) - 1
    i1 = math.floor((ymax - y_first) / dy) + 1
    return Lattice(
        x0_mm=x_first + j0 * dx,
        y0_mm=y_first + i0 * dy,
        dx_mm=dx / fx,
        dy_mm=dy / fy,
        n_rows=(i1 - i0 + 1) * fy,
        n_cols=(j1 - j0 + 1) * fx,
        factor_x=fx,
        factor_y=fy,
        cell_col0=j0,
        cell_row0=i0,
    )


def _plane_area_mm2(polygons: tuple[npt.NDArray[np.floating], ...]) -> float:
    """Sum of the contours' absolute shoelace areas (close enough to choose a pixel size)."""
    total = 0.0
    for p in polygons:
        x = p[:, 0]
        y = p[:, 1]
        total += 0.5 * abs(float(np.sum(x * shifted(y) - y * shifted(x))))
    return total


def plane_masks(
    structure: Structure,
    slabs: Slabs,
    lattice: Lattice,
    grid: DoseGrid,
    polygons: list[tuple[tuple[npt.NDArray[np.floating], ...], float]] | None = None,
) -> list[PlaneSamples]:
    """Rasterise every contour plane of ``structure`` on ``lattice``.

    ``polygons`` are each plane's contours as cut by :func:`clipped_planes`
    with the area cut away (by default the structure's own contours, uncut).
    """
    cut = polygons if polygons is not None else clipped_planes(structure, None)
    fx, fy = lattice.factor_x, lattice.factor_y
    nr, nc = lattice.n_cell_rows, lattice.n_cell_cols
    # real cells: cell index between 0 and (points - 2) along both axes
    ny, nx = grid.shape[1], grid.shape[2]
    cell_rows = lattice.cell_row0 + np.arange(nr)
    cell_cols = lattice.cell_col0 + np.arange(nc)
    real = ((cell_rows >= 0) & (cell_rows <= ny - 2))[:, None] & ((cell_cols >= 0) & (cell_cols <= nx - 2))[None, :]
    out: list[PlaneSamples] = []
    height_mm = lattice.n_rows * lattice.dy_mm
    per_chunk = max(1, _RASTER_PIXELS // max(lattice.n_rows * lattice.n_cols, 1))
    width = lattice.n_cols + 1
    for first in range(0, len(cut), per_chunk):
        chunk = cut[first : first + per_chunk]
        m = len(chunk)
        # the planes of a chunk stacked along y, each in its own band of the lattice
        shifted = []
        for j, (rings, _) in enumerate(chunk):
            for r in rings:
                r2 = np.array(r, dtype=np.float64)
                r2[:, 1] += j * height_mm
                shifted.append(r2)
        frac, moments = coverage_with_moments(
            shifted,
            lattice.x0_mm,
            lattice.y0_mm,
            lattice.dx_mm,
            lattice.dy_mm,
            (m * lattice.n_rows, lattice.n_cols),
        )
        inside = frac >= 1.0
        if fx == 1 and fy == 1:
            full = inside.reshape(m, nr, nc) & real
        else:
            full = inside.reshape(m, nr, fy, nc, fx).all(axis=(2, 4)) & real
        rest = frac > 0.0
        if full.any():
            rest &= ~np.repeat(np.repeat(full, fy, axis=1), fx, axis=2).reshape(rest.shape)
        rows, cols = np.nonzero(rest)
        # moments of the partial pixels, in the order of (rows, cols): both are row-major
        n = rows.size
        cdx = np.zeros(n, dtype=np.float32)
        cdy = np.zeros(n, dtype=np.float32)
        sxx = np.full(n, 1.0 / 12.0, dtype=np.float32)
        syy = np.full(n, 1.0 / 12.0, dtype=np.float32)
        sxy = np.zeros(n, dtype=np.float32)
        if moments.rows.size and n:
            key = rows * width + cols
            mkey = moments.rows * width + moments.cols
            at = np.searchsorted(key, mkey)
            found = (at < n) & (key[np.minimum(at, n - 1)] == mkey)
            at = at[found]
            cdx[at] = moments.dx[found]
            cdy[at] = moments.dy[found]
            sxx[at] = moments.sxx[found]
            syy[at] = moments.syy[found]
            sxy[at] = moments.sxy[found]
        fraction = frac[rows, cols]
        bounds = np.searchsorted(rows, np.arange(m + 1) * lattice.n_rows)
        for j, (rings, outside_mm2) in enumerate(chunk):
            k = first + j
            sl = slice(int(bounds[j]), int(bounds[j + 1]))
            out.append(
                PlaneSamples(
                    z_mm=float(slabs.z_mm[k]),
                    lower_mm=float(slabs.lower_mm[k]),
                    upper_mm=float(slabs.upper_mm[k]),
                    full_cells=full[j],
                    rows=rows[sl] - j * lattice.n_rows,
                    cols=cols[sl],
                    fraction=fraction[sl],
                    centroid=(cdx[sl], cdy[sl]),
                    covariance=(sxx[sl], syy[sl], sxy[sl]),
                    polygons=rings,
                    outside_mm2=outside_mm2,
                )
            )
    return out
