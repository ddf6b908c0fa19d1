"""Sample boxes: the units the DVH engine evaluates, splits and accumulates.

A box is an axis-aligned box of the reference grid's frame that lies inside
one cell of that grid (see :mod:`plancheck.dvh.sampling`), with the volume
of the structure it stands for (its size times the fraction of it inside the
contours) and where it lies in the reference grid (cell indices, local
coordinates), so a dose on that grid is read without searching.

:func:`cell_boxes_many` and :func:`pixel_boxes` make boxes from a structure's
sampling; :meth:`Boxes.split` halves boxes along chosen axes (a box only
partly inside the contours is only split along z, where the contours do not
change).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from plancheck.dose.field import ReferenceCells
from plancheck.dose.trilinear import GridAxis
from plancheck.dvh.rasterise import coverage_with_moments
from plancheck.dvh.sampling import Lattice, PlaneSamples, ZCells

__all__ = [
    "AxisTable",
    "Boxes",
    "PixelPlanes",
    "ZPiece",
    "cell_boxes_many",
    "pixel_boxes",
    "pixel_groups",
    "split_in_plane",
    "tables",
]

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class AxisTable:
    """Per lattice line (pixel row or column, or cell): where it lies on one grid axis."""

    lower: IntArray  # lower grid index of the cell (clamped for virtual cells)
    upper: IntArray
    t: FloatArray  # local coordinate of the centre in the cell (0 where the edge value holds)
    slope: FloatArray  # d t / d mm (0 where the edge value holds)
    covered: BoolArray
    centre_mm: FloatArray
    half_mm: float

    @classmethod
    def of(
        cls, axis: GridAxis, first_cell: int, n_cells: int, factor: int, cell_mm: float, clipped: bool = True
    ) -> AxisTable:
        """Pixel lines of ``n_cells`` cells from ``first_cell``, ``factor`` pixels per cell.

        With ``clipped`` (contours cut to the grid's coverage) every line with
        something inside the contours is covered.
        """
        n_points = axis.size
        origin = float(axis.coords_mm[0])
        line = np.arange(n_cells * factor)
        cell = first_cell + line // factor
        sub = (line % factor + 0.5) / factor
        centre = origin + (cell + sub) * cell_mm
        real = (cell >= 0) & (cell <= n_points - 2)
        lower = np.clip(cell, 0, n_points - 1)
        upper = np.where(real, cell + 1, lower)
        covered = (centre >= axis.lower_mm - 1e-9) & (centre <= axis.upper_mm + 1e-9)
        if clipped:
            covered[:] = True
        return cls(
            lower=lower.astype(np.intp),
            upper=upper.astype(np.intp),
            t=np.where(real, sub, 0.0),
            slope=np.where(real, 1.0 / cell_mm, 0.0),
            covered=covered,
            centre_mm=centre,
            half_mm=cell_mm / factor / 2.0,
        )


@dataclass(eq=False)
class Boxes:
    """A batch of boxes (all arrays of one length)."""

    pz: FloatArray
    py: FloatArray
    px: FloatArray
    hz: FloatArray  # half sizes, mm
    hy: FloatArray
    hx: FloatArray
    sxx: FloatArray  # in-plane covariance of the part inside the contours, mm²
    syy: FloatArray
    sxy: FloatArray
    volume_cc: FloatArray
    whole: BoolArray  # wholly inside the contours (may split in-plane)
    plane: IntArray  # contour plane the box belongs to (-1: several, a full cell over planes)
    depth: IntArray
    cells: ReferenceCells

    @property
    def size(self) -> int:
        return int(self.pz.size)

    @classmethod
    def concat(cls, parts: list[Boxes]) -> Boxes:
        """One batch of all the boxes of ``parts``."""
        if len(parts) == 1:
            return parts[0]

        def cat(values: list[Any], sizes: list[int]) -> Any:
            return np.concatenate(
                [v if isinstance(v, np.ndarray) else np.full(n, v) for v, n in zip(values, sizes, strict=True)]
            )

        sizes = [p.size for p in parts]
        cells = [p.cells for p in parts]
        ref: dict[str, Any] = {}
        for f in fields(ReferenceCells):
            first = getattr(cells[0], f.name)
            if isinstance(first, tuple):
                ref[f.name] = tuple(cat([getattr(c, f.name)[i] for c in cells], sizes) for i in range(2))
            else:
                ref[f.name] = cat([getattr(c, f.name) for c in cells], sizes)
        own: dict[str, Any] = {
            f.name: cat([getattr(p, f.name) for p in parts], sizes) for f in fields(cls) if f.name != "cells"
        }
        return cls(**own, cells=ReferenceCells(**ref))

    def head(self, start: int, stop: int) -> Boxes:
        """Boxes ``start`` to ``stop`` (views, no copy)."""
        return self.take(slice(start, stop))  # type: ignore[arg-type]

    def take(self, idx: npt.NDArray[np.intp] | BoolArray) -> Boxes:
        c = self.cells
        return Boxes(
            self.pz[idx], self.py[idx], self.px[idx], self.hz[idx], self.hy[idx], self.hx[idx],
            self.sxx[idx], self.syy[idx], self.sxy[idx], self.volume_cc[idx], self.whole[idx], self.plane[idx], self.depth[idx],
            ReferenceCells(
                (c.k[0][idx], c.k[1][idx]), (c.i[0][idx], c.i[1][idx]), (c.j[0][idx], c.j[1][idx]),
                c.tz[idx], c.ty[idx], c.tx[idx],
                _take(c.sz, idx), _take(c.sy, idx), _take(c.sx, idx), c.covered[idx],
            ),
        )  # fmt: skip

    def split(self, along: tuple[bool, bool, bool]) -> Boxes:
        """Every box halved along the axes flagged (z, y, x): 2, 4 or 8 children each."""
        offsets: list[tuple[float, ...]] = [(-0.5, 0.5) if flag else (0.0,) for flag in along]
        kids = len(offsets[0]) * len(offsets[1]) * len(offsets[2])
        grid = np.array(np.meshgrid(*offsets, indexing="ij")).reshape(3, -1)  # (3, kids)
        n = self.size
        rep = np.repeat(np.arange(n), kids)
        oz = np.tile(grid[0], n)
        oy = np.tile(grid[1], n)
        ox = np.tile(grid[2], n)
        c = self.cells
        hz = self.hz[rep] * (0.5 if along[0] else 1.0)
        hy = self.hy[rep] * (0.5 if along[1] else 1.0)
        hx = self.hx[rep] * (0.5 if along[2] else 1.0)
        dz = oz * self.hz[rep]
        dy = oy * self.hy[rep]
        dx = ox * self.hx[rep]
        sz, sy, sx = _take(c.sz, rep), _take(c.sy, rep), _take(c.sx, rep)
        return Boxes(
            self.pz[rep] + dz, self.py[rep] + dy, self.px[rep] + dx, hz, hy, hx,
            self.sxx[rep] * (0.25 if along[2] else 1.0), self.syy[rep] * (0.25 if along[1] else 1.0),
            self.sxy[rep] * ((0.5 if along[1] else 1.0) * (0.5 if along[2] else 1.0)),
            self.volume_cc[rep] / kids, self.whole[rep], self.plane[rep], self.depth[rep] + 1,
            ReferenceCells(
                (c.k[0][rep], c.k[1][rep]), (c.i[0][rep], c.i[1][rep]), (c.j[0][rep], c.j[1][rep]),
                c.tz[rep] + dz * sz, c.ty[rep] + dy * sy, c.tx[rep] + dx * sx,
                sz, sy, sx, c.covered[rep],
            ),
        )  # fmt: skip


def _take(v: FloatArray | float, idx: npt.NDArray[np.intp] | BoolArray) -> FloatArray:
    if isinstance(v, np.ndarray):
        return np.asarray(v[idx])
    if isinstance(idx, slice):
        raise TypeError("slicing boxes needs per-box arrays")
    n = int(np.count_nonzero(idx)) if np.asarray(idx).dtype == bool else int(np.asarray(idx).size)
    return np.full(n, v)


@dataclass(frozen=True)
class ZPiece:
    """A z-range inside one z-interval of the grid."""

    lower_mm: float
    upper_mm: float
    k0: int
    k1: int
    t_centre: float
    slope: float
    covered: bool

    @classmethod
    def of(cls, zc: ZCells, z_axis: GridAxis, interval: int, lo: float, hi: float) -> ZPiece:
        kind = int(zc.kind[interval])
        n = z_axis.size
        centre = 0.5 * (lo + hi)
        if kind == 0:
            k = int(zc.cell[interval])
            z0 = float(z_axis.coords_mm[k])
            width = float(z_axis.coords_mm[k + 1]) - z0
            return cls(lo, hi, k, k + 1, (centre - z0) / width, 1.0 / width, True)
        edge = int(np.clip(zc.cell[interval], 0, n - 1))
        return cls(lo, hi, edge, edge, 0.0, 0.0, kind == 1)


@dataclass(frozen=True, eq=False)
class PixelPlanes:
    """The pixel lists of all planes of a structure, end to end (see :class:`PlaneSamples`)."""

    offset: IntArray  # start of plane s in the arrays below
    count: IntArray
    rows: IntArray
    cols: IntArray
    fraction: FloatArray
    cdx: FloatArray
    cdy: FloatArray
    sxx: FloatArray
    syy: FloatArray
    sxy: FloatArray

    @classmethod
    def of(cls, planes: tuple[PlaneSamples, ...]) -> PixelPlanes:
        count = np.array([p.rows.size for p in planes], dtype=np.intp)
        offset = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.intp)

        def cat(get) -> Any:  # type: ignore[no-untyped-def]
            parts = [get(p) for p in planes]
            return np.concatenate(parts) if parts else np.zeros(0)

        return cls(
            offset, count,
            cat(lambda p: p.rows).astype(np.intp), cat(lambda p: p.cols).astype(np.intp),
            cat(lambda p: p.fraction).astype(np.float64),
            cat(lambda p: p.centroid[0]).astype(np.float64), cat(lambda p: p.centroid[1]).astype(np.float64),
            cat(lambda p: p.covariance[0]).astype(np.float64), cat(lambda p: p.covariance[1]).astype(np.float64),
            cat(lambda p: p.covariance[2]).astype(np.float64),
        )  # fmt: skip


def cell_boxes_many(
    cell_rows: AxisTable,
    cell_cols: AxisTable,
    a: IntArray,
    b: IntArray,
    lo_mm: FloatArray,
    hi_mm: FloatArray,
    k0: IntArray,
    k1: IntArray,
    t_centre: FloatArray,
    slope: FloatArray,
    covered: BoolArray,
    plane: IntArray,
) -> Boxes:
    """Whole cells ``(a, b)``, each over its own z-range (per-box piece values)."""
    n = a.size
    hz = 0.5 * (hi_mm - lo_mm)
    cells = ReferenceCells(
        (k0, k1), (cell_rows.lower[a], cell_rows.upper[a]), (cell_cols.lower[b], cell_cols.upper[b]),
        t_centre, cell_rows.t[a], cell_cols.t[b], slope, cell_rows.slope[a], cell_cols.slope[b],
        cell_rows.covered[a] & cell_cols.covered[b] & covered,
    )  # fmt: skip
    area = (2 * cell_rows.half_mm) * (2 * cell_cols.half_mm)
    return Boxes(
        0.5 * (hi_mm + lo_mm), cell_rows.centre_mm[a], cell_cols.centre_mm[b],
        hz, np.full(n, cell_rows.half_mm), np.full(n, cell_cols.half_mm),
        np.full(n, cell_cols.half_mm**2 / 3.0), np.full(n, cell_rows.half_mm**2 / 3.0), np.zeros(n),
        area * 2.0 * hz / 1000.0, np.ones(n, dtype=bool), plane, np.zeros(n, dtype=np.intp), cells,
    )  # fmt: skip


def pixel_boxes(
    rows: AxisTable,
    cols: AxisTable,
    pixels: PixelPlanes,
    entries: list[tuple[ZPiece, int, int]],
) -> Boxes:
    """The pixels of each entry's plane, in the entry's z-piece cut into its number of layers.

    ``entries`` are (piece, plane, layers). A pixel partly inside the contours
    is a box at the centroid of its inside part, whose in-plane covariance is
    that part's.
    """
    e_plane = np.array([s for _, s, _ in entries], dtype=np.intp)
    e_layers = np.array([n for _, _, n in entries], dtype=np.intp)
    e_lo = np.array([p.lower_mm for p, _, _ in entries])
    e_hi = np.array([p.upper_mm for p, _, _ in entries])
    e_k0 = np.array([p.k0 for p, _, _ in entries], dtype=np.intp)
    e_k1 = np.array([p.k1 for p, _, _ in entries], dtype=np.intp)
    e_t = np.array([p.t_centre for p, _, _ in entries])
    e_sz = np.array([p.slope for p, _, _ in entries])
    e_cov = np.array([p.covered for p, _, _ in entries], dtype=bool)
    n_pix = pixels.count[e_plane]
    counts = n_pix * e_layers
    total = int(counts.sum())
    entry = np.repeat(np.arange(len(entries)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    per = n_pix[entry]
    layer = within // per
    pix = pixels.offset[e_plane][entry] + within % per
    thick = (e_hi - e_lo) / e_layers
    th = thick[entry]
    zc = e_lo[entry] + (layer + 0.5) * th
    sz = e_sz[entry]
    tz = e_t[entry] + (zc - 0.5 * (e_lo + e_hi)[entry]) * sz
    rr = pixels.rows[pix]
    cc = pixels.cols[pix]
    pix_x, pix_y = 2 * cols.half_mm, 2 * rows.half_mm
    off_x = pixels.cdx[pix] * pix_x
    off_y = pixels.cdy[pix] * pix_y
    sx = cols.slope[cc]
    sy = rows.slope[rr]
    f = pixels.fraction[pix]
    cells = ReferenceCells(
        (e_k0[entry], e_k1[entry]),
        (rows.lower[rr], rows.upper[rr]),
        (cols.lower[cc], cols.upper[cc]),
        tz,
        rows.t[rr] + off_y * sy,
        cols.t[cc] + off_x * sx,
        sz,
        sy,
        sx,
        rows.covered[rr] & cols.covered[cc] & e_cov[entry],
    )
    return Boxes(
        zc, rows.centre_mm[rr] + off_y, cols.centre_mm[cc] + off_x,
        0.5 * th, np.full(total, rows.half_mm), np.full(total, cols.half_mm),
        pixels.sxx[pix] * pix_x * pix_x, pixels.syy[pix] * pix_y * pix_y, pixels.sxy[pix] * pix_x * pix_y,
        f * (pix_x * pix_y * th / 1000.0), f >= 1.0, e_plane[entry],
        np.zeros(total, dtype=np.intp), cells,
    )  # fmt: skip


def tables(
    lattice: Lattice, z_axis: GridAxis, y_axis: GridAxis, x_axis: GridAxis, clipped: bool
) -> tuple[AxisTable, ...]:
    """Pixel-row, pixel-column, cell-row and cell-column tables of a lattice."""
    dy = lattice.dy_mm * lattice.factor_y
    dx = lattice.dx_mm * lattice.factor_x
    return (
        AxisTable.of(y_axis, lattice.cell_row0, lattice.n_cell_rows, lattice.factor_y, dy, clipped),
        AxisTable.of(x_axis, lattice.cell_col0, lattice.n_cell_cols, lattice.factor_x, dx, clipped),
        AxisTable.of(y_axis, lattice.cell_row0, lattice.n_cell_rows, 1, dy, clipped),
        AxisTable.of(x_axis, lattice.cell_col0, lattice.n_cell_cols, 1, dx, clipped),
    )


def split_in_plane(boxes: Boxes, lattice: Lattice, polygons_of: list[tuple[FloatArray, ...]]) -> Boxes:
    """Boxes partly inside the contours, each cut into its 2 × 2 sub-pixels, rasterised anew.

    ``polygons_of[s]`` are the contours of plane ``s``. A box's pixel is found
    from its half sizes (sub-pixels stay aligned with the lattice); each
    sub-pixel touching the contours becomes a box at the centroid of its
    inside part. The finer raster redistributes the box's volume and keeps
    its total, so that refining part of a structure does not change its
    volume; a box whose sub-pixels hold nothing at the finer level (a sliver
    between scanlines) is kept as it is.
    """
    n = boxes.size
    # per box and sub-pixel (a, e) = (0, 0), (0, 1), (1, 0), (1, 1): fraction, centroid, covariance
    frac = np.zeros((n, 4))
    cx = np.zeros((n, 4))
    cy = np.zeros((n, 4))
    vxx = np.full((n, 4), 1.0 / 12.0)
    vyy = np.full((n, 4), 1.0 / 12.0)
    vxy = np.zeros((n, 4))
    px_size = 2.0 * boxes.hx
    py_size = 2.0 * boxes.hy
    col = np.floor((boxes.px - lattice.x0_mm) / px_size).astype(np.int64)
    row = np.floor((boxes.py - lattice.y0_mm) / py_size).astype(np.int64)
    for idx in pixel_groups(boxes.plane, boxes.hx, boxes.hy):
        s = int(boxes.plane[idx[0]])
        sx, sy = float(px_size[idx[0]]), float(py_size[idx[0]])
        c, r = col[idx], row[idx]
        c0, r0 = int(c.min()), int(r.min())
        shape = (2 * (int(r.max()) - r0 + 1), 2 * (int(c.max()) - c0 + 1))
        sub_frac, mom = coverage_with_moments(
            polygons_of[s], lattice.x0_mm + c0 * sx, lattice.y0_mm + r0 * sy, sx / 2.0, sy / 2.0, shape
        )
        mdx = np.zeros(shape)
        mdy = np.zeros(shape)
        mxx = np.full(shape, 1.0 / 12.0)
        myy = np.full(shape, 1.0 / 12.0)
        mxy = np.zeros(shape)
        mdx[mom.rows, mom.cols] = mom.dx
        mdy[mom.rows, mom.cols] = mom.dy
        mxx[mom.rows, mom.cols] = mom.sxx
        myy[mom.rows, mom.cols] = mom.syy
        mxy[mom.rows, mom.cols] = mom.sxy
        for q, (a, e) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            rr = 2 * (r - r0) + a
            cc = 2 * (c - c0) + e
            frac[idx, q] = sub_frac[rr, cc]
            cx[idx, q] = e + 0.5 + mdx[rr, cc]  # centroid within the box's pixel, in sub-pixel units
            cy[idx, q] = a + 0.5 + mdy[rr, cc]
            vxx[idx, q] = mxx[rr, cc]
            vyy[idx, q] = myy[rr, cc]
            vxy[idx, q] = mxy[rr, cc]
    found = frac.sum(axis=1) / 4.0
    lost = found <= 0.0
    parent = boxes.volume_cc * 1000.0 / (px_size * py_size * 2.0 * boxes.hz)
    scale = np.where(lost, 0.0, parent / np.where(lost, 1.0, found))
    keep = (frac > 0.0) & ~lost[:, None]
    bi, sub = np.nonzero(keep)
    k = boxes.take(bi)
    hx, hy = k.hx, k.hy  # a sub-pixel is hx by hy (half the pixel)
    x = lattice.x0_mm + col[bi] * (2.0 * hx) + cx[bi, sub] * hx
    y = lattice.y0_mm + row[bi] * (2.0 * hy) + cy[bi, sub] * hy
    f = frac[bi, sub]
    cells = k.cells
    kids = Boxes(
        k.pz, y, x, k.hz, hy / 2.0, hx / 2.0,
        vxx[bi, sub] * hx * hx, vyy[bi, sub] * hy * hy, vxy[bi, sub] * hx * hy,
        f * scale[bi] * (hx * hy * 2.0 * k.hz / 1000.0), f >= 1.0, k.plane, k.depth + 1,
        ReferenceCells(
            cells.k, cells.i, cells.j, cells.tz,
            cells.ty + (y - k.py) * _arr(cells.sy, k.size),
            cells.tx + (x - k.px) * _arr(cells.sx, k.size),
            cells.sz, cells.sy, cells.sx, cells.covered,
        ),
    )  # fmt: skip
    if not lost.any():
        return kids
    kept = boxes.take(lost)
    kept.depth[:] = np.iinfo(np.intp).max // 2
    return Boxes.concat([kids, kept])


def pixel_groups(plane: IntArray, hx: FloatArray, hy: FloatArray) -> list[IntArray]:
    """Indices of the boxes of each (plane, pixel size), in increasing order of the three.

    The groups :func:`numpy.unique` over the stacked keys (rounded to 1e-6
    mm) would give, found with one sort instead of its row-wise unique.
    """
    if plane.size == 0:
        return []
    keys = (np.round(hy * 1e6), np.round(hx * 1e6), plane)
    order = np.lexsort(keys)
    ordered = [k[order] for k in keys]
    change = np.zeros(order.size, dtype=bool)
    for k in ordered:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    return [np.sort(g) for g in np.split(order, starts)]


def _arr(v: FloatArray | float, n: int) -> FloatArray:
    return v if isinstance(v, np.ndarray) else np.full(n, v)
