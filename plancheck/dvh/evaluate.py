"""One pass of a dose field over a sampled structure: boxes in, curve, extremes and moments out.

The boxes of a structure (:mod:`plancheck.dvh.sampling`, :mod:`plancheck.dvh.boxes`):

* *whole cells*: cells of the reference grid inside the contours over the
  whole of a z-cell (the bulk of a structure);
* *rim cells*: cells inside the contours of one plane, over that plane's
  piece of a z-cell;
* *pixels*: the rest of each plane (its surface), per piece and layer.

For the common case, the physical dose of the reference grid itself, whole
cells are evaluated straight from two frames of the dose array: a cell's
centre value is the mean of its eight corners, its gradient their mean
differences, and its largest and smallest value its largest and smallest
corner, so a whole z-cell of them costs a few array operations. Every other
box, and every box of any other field, is evaluated at its centre through
:class:`~plancheck.dose.field.BoundField`.

Each box adds its volume spread uniformly over its dose range to the
accumulator. The boxes that reach the top or the bottom of the curve
(``tail_cc``) are then replaced by finer ones (:meth:`Pass.refine_tails`);
the extremes are found among the boxes that may hold them
(:class:`~plancheck.dvh.extremes.ExtremeTracker`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from plancheck.dose.field import BoundField, DoseField, FieldSamples
from plancheck.dose.trilinear import grid_axes
from plancheck.dvh.boxes import (
    Boxes,
    PixelPlanes,
    ZPiece,
    cell_boxes_many,
    pixel_boxes,
    split_in_plane,
    tables,
)
from plancheck.dvh.extremes import ExtremeTracker
from plancheck.dvh.histogram import DvhAccumulator

if TYPE_CHECKING:
    from plancheck.dvh.engine import DvhSettings, StructureSampling

__all__ = ["Pass"]

FloatArray = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]

# boxes evaluated together, and cells of whole-cell windows: small arrays stay in cache
_BATCH_BOXES = 1 << 15
_WINDOW_CELLS = 1 << 15


class _Jobs:
    """What to evaluate for one structure, grouped by z-interval of the reference grid."""

    def __init__(self, sampling: StructureSampling):
        self.sampling = sampling
        zc = sampling.zcells
        self.z_axis = grid_axes(sampling.grid)[0]
        by_interval: dict[int, list[tuple[int, float, float]]] = {}
        for s, plane in enumerate(sampling.planes):
            for m, lo, hi in zc.pieces(plane.lower_mm, plane.upper_mm):
                by_interval.setdefault(m, []).append((s, lo, hi))
        self.whole: list[tuple[ZPiece, BoolArray]] = []
        self.rim: list[tuple[ZPiece, int, BoolArray]] = []
        self.pixels: list[tuple[ZPiece, int, int]] = []
        for m in sorted(by_interval):
            pieces = sorted(by_interval[m], key=lambda p: p[1])
            lo_m, hi_m = float(zc.bounds_mm[m]), float(zc.bounds_mm[m + 1])
            full3d = None
            if zc.kind[m] == 0 and _spans(pieces, lo_m, hi_m):
                full3d = sampling.planes[pieces[0][0]].full_cells.copy()
                for s, _, _ in pieces[1:]:
                    full3d &= sampling.planes[s].full_cells
                if full3d.any():
                    self.whole.append((ZPiece.of(zc, self.z_axis, m, lo_m, hi_m), full3d))
                else:
                    full3d = None
            for s, lo, hi in pieces:
                plane = sampling.planes[s]
                piece = ZPiece.of(zc, self.z_axis, m, lo, hi)
                fc = plane.full_cells if full3d is None else plane.full_cells & ~full3d
                if fc.any():
                    self.rim.append((piece, s, fc))
                if plane.rows.size:
                    self.pixels.append((piece, s, 1))


def _spans(pieces: list[tuple[int, float, float]], lo: float, hi: float) -> bool:
    """True when the pieces (sorted) cover ``[lo, hi]`` without a hole."""
    eps = 1e-6
    if pieces[0][1] > lo + eps:
        return False
    reach = pieces[0][2]
    for _, a, b in pieces[1:]:
        if a > reach + eps:
            return False
        reach = max(reach, b)
    return reach >= hi - eps


class Pass:
    """One evaluation of a field over a structure's boxes."""

    def __init__(self, sampling: StructureSampling, fld: DoseField, settings: DvhSettings):
        self.sampling = sampling
        self.settings = settings
        self.field = fld
        self.bound: BoundField = fld.bind(sampling.grid.axes, sampling.grid)
        self.acc = DvhAccumulator(settings.axis)
        self.extremes = ExtremeTracker(sampling, self.bound)
        self.outside_cc = 0.0
        self.outside_by = np.zeros(self.bound.n_contributions)
        self.square_sum = 0.0
        # boxes that reach the top or bottom of the curve, with what they added
        self._tail: list[tuple[Boxes, FloatArray, FloatArray]] = []
        self.top_gy = -np.inf
        self.bottom_gy = np.inf
        self._since_update = 0
        self._bend: FloatArray | None = None
        # whole cells that may matter to the extremes or the tails, by index (see _whole_direct)
        self._pieces: list[ZPiece] = []
        self._lazy: list[tuple[npt.NDArray[np.generic], ...]] = []
        self.lattice = sampling.lattice
        self.polygons = [p.polygons for p in sampling.planes]
        lat = sampling.lattice
        az, ay, ax = grid_axes(sampling.grid)
        self.pix_rows, self.pix_cols, self.cell_rows, self.cell_cols = tables(lat, az, ay, ax, sampling.clipped)
        # the physical dose of the reference grid alone: whole cells straight from the array
        self.direct = (
            fld.is_physical
            and len(fld.contributions) == 1
            and self.bound.on_reference(0)
            and fld.contributions[0].weight == 1.0
        )
        self._reference = next((i for i in range(self.bound.n_contributions) if self.bound.on_reference(i)), None)
        self._other_grids = any(not self.bound.on_reference(i) for i in range(self.bound.n_contributions))

    # -- driving ----------------------------------------------------------------------------

    def run(self) -> None:
        jobs = _Jobs(self.sampling)
        self._count_cut_away()
        if self.direct:
            window: list[tuple[ZPiece, BoolArray]] = []
            size = 0
            for piece, mask in jobs.whole:
                window.append((piece, mask))
                size += mask.size
                if size >= _WINDOW_CELLS:
                    self._whole_direct(window)
                    self._update_tails()
                    window, size = [], 0
            if window:
                self._whole_direct(window)
        elif jobs.whole:
            self._in_batches(self._rim_boxes([(p, -1, m) for p, m in jobs.whole]))
        if jobs.rim:
            self._in_batches(self._rim_boxes(jobs.rim))
        pixels = PixelPlanes.of(self.sampling.planes)
        chunk: list[tuple[ZPiece, int, int]] = []
        size = 0
        for entry in jobs.pixels:
            chunk.append(entry)
            size += int(pixels.count[entry[1]]) * entry[2]
            if size >= _BATCH_BOXES:
                self._bulk(pixel_boxes(self.pix_rows, self.pix_cols, pixels, chunk))
                self._update_tails()
                chunk, size = [], 0
        if chunk:
            self._bulk(pixel_boxes(self.pix_rows, self.pix_cols, pixels, chunk))
        self._update_tails(force=True)
        self._settle_lazy()
        self.refine_tails()

    def _rim_boxes(self, rim: list[tuple[ZPiece, int, BoolArray]]) -> list[Boxes]:
        """Whole cells of single planes over their pieces, as boxes (all pieces at once)."""
        masks = np.stack([m for _, _, m in rim])
        e, a, b = np.nonzero(masks)
        out = []
        # pieces with the same z-cell kind share their cell description; build per piece
        # only the few scalars, then one batch of boxes
        starts = np.searchsorted(e, np.arange(len(rim) + 1))
        for first in range(0, len(rim), 256):
            sel = slice(int(starts[first]), int(starts[min(first + 256, len(rim))]))
            ee = e[sel]
            if ee.size == 0:
                continue
            pieces = [rim[int(i)][0] for i in range(first, min(first + 256, len(rim)))]
            lo = np.array([p.lower_mm for p in pieces])[ee - first]
            hi = np.array([p.upper_mm for p in pieces])[ee - first]
            k0 = np.array([p.k0 for p in pieces], dtype=np.intp)[ee - first]
            k1 = np.array([p.k1 for p in pieces], dtype=np.intp)[ee - first]
            tc = np.array([p.t_centre for p in pieces])[ee - first]
            sz = np.array([p.slope for p in pieces])[ee - first]
            cov = np.array([p.covered for p in pieces], dtype=bool)[ee - first]
            plane = np.array([rim[int(i)][1] for i in range(first, min(first + 256, len(rim)))], dtype=np.intp)[ee - first]
            out.append(cell_boxes_many(self.cell_rows, self.cell_cols, a[sel], b[sel], lo, hi, k0, k1, tc, sz, cov, plane))
        return out

    def _in_batches(self, parts: list[Boxes]) -> None:
        pending: list[Boxes] = []
        size = 0
        for b in parts:
            if b.size == 0:
                continue
            pending.append(b)
            size += b.size
            if size >= _BATCH_BOXES:
                self._bulk(Boxes.concat(pending))
                self._update_tails()
                pending, size = [], 0
        if pending:
            self._bulk(Boxes.concat(pending))
            self._update_tails()

    def _count_cut_away(self) -> None:
        """Volume of the contours beyond the reference grid's in-plane coverage (not sampled)."""
        cut = sum(p.outside_mm2 * (p.upper_mm - p.lower_mm) for p in self.sampling.planes) / 1000.0
        if cut > 0.0:
            self.outside_cc += cut
            if self._reference is not None:
                self.outside_by[self._reference] += cut

    # -- evaluation -------------------------------------------------------------------------

    def _whole_direct(self, jobs: list[tuple[ZPiece, BoolArray]]) -> None:
        """Whole cells of a few z-cells, from the dose array itself (see the module docstring)."""
        grid = self.sampling.grid
        lat = self.lattice
        masks = np.stack([m for _, m in jobs])
        rows_any = np.flatnonzero(masks.any(axis=(0, 2)))
        cols_any = np.flatnonzero(masks.any(axis=(0, 1)))
        a0, a1 = int(rows_any[0]), int(rows_any[-1])
        b0, b1 = int(cols_any[0]), int(cols_any[-1])
        m = masks[:, a0 : a1 + 1, b0 : b1 + 1]
        rows = slice(lat.cell_row0 + a0, lat.cell_row0 + a1 + 2)
        cols = slice(lat.cell_col0 + b0, lat.cell_col0 + b1 + 2)
        k0 = np.array([p.k0 for p, _ in jobs], dtype=np.intp)
        k1 = np.array([p.k1 for p, _ in jobs], dtype=np.intp)
        tz = np.array([p.t_centre for p, _ in jobs])[:, None, None]
        hz = np.array([0.5 * (p.upper_mm - p.lower_mm) for p, _ in jobs])
        scale_z = (2.0 * hz * np.array([p.slope for p, _ in jobs]))[:, None, None]
        # in the grid's own precision (float32 doses: half the memory traffic; the values
        # are exact to 1e-7 relative, far below the curve's resolution)
        work = np.float32 if grid.dose_gy.dtype == np.float32 else np.float64
        f0 = np.asarray(grid.dose_gy[k0, rows, cols], dtype=work)
        f1 = np.asarray(grid.dose_gy[k1, rows, cols], dtype=work)
        dzv = f1 - f0
        c = f0 + tz.astype(work) * dzv
        # a cell's centre value is the mean of its corners; its dose range along x, y and
        # z over the box, the mean corner differences times the box's size
        left = c[:, :-1, :-1] + c[:, 1:, :-1]
        right = c[:, :-1, 1:] + c[:, 1:, 1:]
        bottom = c[:, :-1, :-1] + c[:, :-1, 1:]
        top = c[:, 1:, :-1] + c[:, 1:, 1:]
        d = left + right
        d *= work(0.25)
        wx = right - left
        wx *= work(0.5)
        wy = top - bottom
        wy *= work(0.5)
        wz = dzv[:, :-1, :-1] + dzv[:, :-1, 1:]
        wz += dzv[:, 1:, :-1]
        wz += dzv[:, 1:, 1:]
        wz *= (0.25 * scale_z).astype(work)
        w2 = wx * wx
        w2 += wy * wy
        w2 += wz * wz
        d = d[m].astype(np.float64)
        spread = np.sqrt(w2[m].astype(np.float64))
        counts = m.reshape(len(jobs), -1).sum(axis=1)
        area = (2.0 * self.cell_cols.half_mm) * (2.0 * self.cell_rows.half_mm)
        vol = np.repeat(area * 2.0 * hz / 1000.0, counts)
        self._add(d, spread, vol)
        ext = self.extremes
        ext.see(float(d.max()), float(d.min()))
        # a cell can hold a new extreme only if a grid value of its frames can
        hot_max = hot_min = None
        if ext.hot_max(np.array([max(float(f0.max()), float(f1.max()))]))[0]:
            hi_bound = np.maximum(f0, f1)
            ub = np.maximum(
                np.maximum(hi_bound[:, :-1, :-1], hi_bound[:, :-1, 1:]),
                np.maximum(hi_bound[:, 1:, :-1], hi_bound[:, 1:, 1:]),
            )[m]
            hot_max = ext.hot_max(ub)
        if ext.hot_min(np.array([min(float(f0.min()), float(f1.min()))]))[0]:
            lo_bound = np.minimum(f0, f1)
            lb = np.minimum(
                np.minimum(lo_bound[:, :-1, :-1], lo_bound[:, :-1, 1:]),
                np.minimum(lo_bound[:, 1:, :-1], lo_bound[:, 1:, 1:]),
            )[m]
            hot_min = ext.hot_min(lb)
        half = 0.5 * spread
        tail = ((d + half) >= self.top_gy) | ((d - half) <= self.bottom_gy)
        if tail.any():
            t_idx = np.flatnonzero(tail)
            tail[t_idx] = _splittable(
                self.settings, d[t_idx], np.abs(wz[m][t_idx]), np.abs(wy[m][t_idx]), np.abs(wx[m][t_idx]), None
            )
        need = tail.copy()
        if hot_max is not None:
            need |= hot_max
        if hot_min is not None:
            need |= hot_min
        if not need.any():
            return
        # kept as indices; boxes are made at the end for those the final thresholds keep
        jj, aa, bb = np.nonzero(m)
        sel = np.flatnonzero(need)
        base = len(self._pieces)
        self._pieces.extend(p for p, _ in jobs)
        self._lazy.append(
            (
                base + jj[sel], aa[sel] + a0, bb[sel] + b0, d[sel], spread[sel],
                ub[sel] if hot_max is not None else np.full(sel.size, -np.inf),
                lb[sel] if hot_min is not None else np.full(sel.size, np.inf),
                tail[sel],
            )
        )  # fmt: skip

    def _settle_lazy(self) -> None:
        """Boxes for the whole cells kept by index that the final thresholds still want."""
        if not self._lazy:
            return
        job, a, b, d, spread, ub, lb, tail = (np.concatenate(x) for x in zip(*self._lazy, strict=True))
        self._lazy = []
        ext = self.extremes
        hot_max, hot_min = ext.hot_max(ub), ext.hot_min(lb)
        half = 0.5 * spread
        tail &= ((d + half) >= self.top_gy) | ((d - half) <= self.bottom_gy)
        keep = hot_max | hot_min | tail
        if not keep.any():
            return
        job, a, b, d, spread, ub, lb = job[keep], a[keep], b[keep], d[keep], spread[keep], ub[keep], lb[keep]
        hot_max, hot_min, tail = hot_max[keep], hot_min[keep], tail[keep]
        pieces = self._pieces
        boxes = cell_boxes_many(
            self.cell_rows, self.cell_cols, a, b,
            np.array([pieces[j].lower_mm for j in job]), np.array([pieces[j].upper_mm for j in job]),
            np.array([pieces[j].k0 for j in job], dtype=np.intp), np.array([pieces[j].k1 for j in job], dtype=np.intp),
            np.array([pieces[j].t_centre for j in job]), np.array([pieces[j].slope for j in job]),
            np.array([pieces[j].covered for j in job], dtype=bool), np.full(job.size, -1, dtype=np.intp),
        )  # fmt: skip
        if hot_max.any() or hot_min.any():
            ext.offer(boxes, ub, lb, hot_max, hot_min)
        if tail.any():
            self._tail.append((boxes.take(tail), d[tail], spread[tail]))

    def _measure(self, boxes: Boxes) -> tuple[FieldSamples, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Field at the boxes, and each box's dose range along z, y, x and its spread."""
        half = (boxes.hz, np.sqrt(3.0 * boxes.syy), np.sqrt(3.0 * boxes.sxx)) if self._other_grids else None
        fs = self.bound.at(boxes.pz, boxes.py, boxes.px, boxes.cells, half)
        gz, gy, gx = fs.grad_z, fs.grad_y, fs.grad_x
        # the dose range over the box along each axis (x, y: over the part inside the contours)
        wz = np.abs(gz) * (2.0 * boxes.hz)
        wy = np.abs(gy) * np.sqrt(12.0 * boxes.syy)
        wx = np.abs(gx) * np.sqrt(12.0 * boxes.sxx)
        # uniform spread with the variance of the linear dose over the inside part
        var = _variance(boxes, gz, gy, gx)
        spread = np.sqrt(12.0 * np.maximum(var, 0.0))
        if fs.curvature:
            # a converted (convex) dose averages above its value at the centre: the
            # box's mean is what it adds to the structure's mean and where its spread sits
            shift = np.zeros(boxes.size)
            for b, cz, cy, cx in fs.curvature:
                shift += b * _variance(boxes, cz, cy, cx)
            fs = _shifted(fs, shift)
            self._bend = shift
        else:
            self._bend = None
        return fs, wz, wy, wx, spread

    def _bulk(self, boxes: Boxes) -> None:
        if self._other_grids:
            # a box across the edge of another plan's grid: halve it across that edge
            mz, my, mx = self.bound.partly_covered(boxes.pz, boxes.py, boxes.px, (boxes.hz, boxes.hy, boxes.hx))
            can = boxes.depth < self.settings.max_splits
            mz &= can
            my &= can & boxes.whole
            mx &= can & boxes.whole
            mixed = mz | my | mx
            if mixed.any():
                code = mz.astype(np.int8) * 4 + my.astype(np.int8) * 2 + mx.astype(np.int8)
                for pattern in range(1, 8):
                    sel = code == pattern
                    if sel.any():
                        self._bulk(boxes.take(sel).split((bool(pattern & 4), bool(pattern & 2), bool(pattern & 1))))
                boxes = boxes.take(~mixed)
                if boxes.size == 0:
                    return
        fs, wz, wy, wx, spread = self._measure(boxes)
        if self._bend is not None:
            # a converted dose is curved over a box (its distribution is skewed, not the
            # uniform spread): halve boxes along their steepest axis until the curve is small
            s = self.settings
            bent = fs.covered & (boxes.depth < s.max_splits)
            bent &= self._bend > np.maximum(s.split_gy, s.split_relative * np.abs(fs.dose_gy))
            if bent.any():
                self._split_steepest(boxes.take(bent), wz[bent], wy[bent], wx[bent])
                keep = ~bent
                boxes = boxes.take(keep)
                fs = _select(fs, keep)
                spread, wz, wy, wx = spread[keep], wz[keep], wy[keep], wx[keep]
        vol = boxes.volume_cc
        cov = fs.covered
        if not cov.all():
            self.outside_cc += float(vol[~cov].sum())
            for i, unc in enumerate(fs.uncovered):
                if unc.any():
                    self.outside_by[i] += float(vol[unc].sum())
            boxes = boxes.take(cov)
            fs = _select(fs, cov)
            spread, wz, wy, wx = spread[cov], wz[cov], wy[cov], wx[cov]
            vol = boxes.volume_cc
        if boxes.size == 0:
            return
        d = fs.dose_gy
        self._add(d, spread, vol)
        ext = self.extremes
        whole = boxes.whole
        if whole.any():
            dw = d[whole]
            ext.see(float(dw.max()), float(dw.min()))
        # boxes whose cell could hold a new extreme: bound them over the box itself
        coarse_up, coarse_lo = fs.upper_gy, fs.lower_gy
        if self._other_grids:
            # another grid's cells around the centre need not hold the whole box: widen
            reach = 2.0 * np.sqrt(fs.grad_z**2 + fs.grad_y**2 + fs.grad_x**2) * np.sqrt(
                boxes.hz**2 + 4.0 * boxes.hy**2 + 4.0 * boxes.hx**2
            )
            coarse_up, coarse_lo = coarse_up + reach, coarse_lo - reach
        sel = ext.hot_max(coarse_up) | ext.hot_min(coarse_lo)
        if sel.any():
            hot = boxes.take(sel)
            # a partial pixel's inside part may lie anywhere in the pixel: reach a whole pixel
            grow = np.where(hot.whole, 1.0, 2.0)
            up, lo = self.bound.bounds(
                hot.pz, hot.py, hot.px, hot.cells, (hot.hz, hot.hy * grow, hot.hx * grow)
            )
            hot_max, hot_min = ext.hot_max(up), ext.hot_min(lo)
            if hot_max.any() or hot_min.any():
                ext.offer(hot, up, lo, hot_max, hot_min)
        half = 0.5 * spread
        tail = ((d + half) >= self.top_gy) | ((d - half) <= self.bottom_gy)
        # only boxes that refining would change: some range above the split tolerance
        tail &= _splittable(self.settings, d, wz, wy, wx, whole)
        if tail.any():
            self._tail.append((boxes.take(tail), d[tail], spread[tail]))

    def _split_steepest(self, boxes: Boxes, wz: FloatArray, wy: FloatArray, wx: FloatArray) -> None:
        """Halve each box along its steepest axis (a partial pixel: rasterised finer) and evaluate the halves."""
        steepest = np.argmax(np.stack([wz, wy, wx]), axis=0)
        along_z = (steepest == 0) | ~boxes.whole
        in_plane = ~along_z
        cut = ~boxes.whole & (steepest != 0)
        along_z &= ~cut
        if along_z.any():
            self._bulk(boxes.take(along_z).split((True, False, False)))
        for axis in (1, 2):
            sel = in_plane & (steepest == axis)
            if sel.any():
                self._bulk(boxes.take(sel).split((False, axis == 1, axis == 2)))
        if cut.any():
            self._bulk(split_in_plane(boxes.take(cut), self.lattice, self.polygons))

    def _add(self, d: FloatArray, spread: FloatArray, vol: FloatArray) -> None:
        self._since_update += d.size
        self.acc.add(d, spread, vol)
        self.square_sum += float(np.sum(vol * (d * d + spread * spread / 12.0)))

    # -- the tails of the curve -------------------------------------------------------------

    def _tail_cc(self) -> float:
        return min(self.settings.tail_cc, self.settings.tail_fraction * self.acc.volume_cc)

    def _update_tails(self, force: bool = False) -> None:
        """Raise the top threshold and lower the bottom one as volume accrues; drop boxes below.

        Thresholds from part of the volume are looser than the final ones (more
        volume only raises the curve), so no box the final tails need is dropped.
        """
        if self.acc.volume_cc <= 0.0:
            return
        stored = sum(b.size for b, _, _ in self._tail)
        if not force and (self._since_update < _BATCH_BOXES or stored < _BATCH_BOXES // 4):
            return
        self._since_update = 0
        v = self._tail_cc()
        top, bottom = self.acc.tail_doses_gy(v)
        self.top_gy, self.bottom_gy = top, bottom
        kept = []
        for boxes, d, spread in self._tail:
            half = 0.5 * spread
            sel = ((d + half) >= top) | ((d - half) <= bottom)
            if sel.all():
                kept.append((boxes, d, spread))
            elif sel.any():
                kept.append((boxes.take(sel), d[sel], spread[sel]))
        self._tail = kept

    def refine_tails(self) -> None:
        """Replace the boxes reaching the curve's top and bottom by finer ones where the dose varies.

        A box is halved along an axis other than its steepest while the dose
        changes along it by more than the split tolerance; a box partly inside
        the contours is instead rasterised again at half its pixel size
        wherever the dose varies across it. Boxes no bigger than
        ``tail / tail_boxes`` are not split: the tail already rests on many.
        """
        if not self._tail:
            return
        s = self.settings
        smallest = self._tail_cc() / s.tail_boxes
        todo: list[Boxes] = []
        for boxes, d, spread in self._tail:
            self._add(d, spread, -boxes.volume_cc)
            todo.append(boxes)
        while todo:
            boxes = Boxes.concat(todo)
            todo = []
            fs, wz, wy, wx, spread = self._measure(boxes)
            d = fs.dose_gy
            half = 0.5 * spread
            in_tail = ((d + half) >= self.top_gy) | ((d - half) <= self.bottom_gy)
            tol = np.maximum(s.split_gy, s.split_relative * np.abs(d))
            can = in_tail & (boxes.depth < s.max_splits) & (boxes.volume_cc > smallest)
            steepest = np.argmax(np.stack([wz, wy, wx]), axis=0)
            sz = can & (wz > tol) & (steepest != 0)
            sy = can & boxes.whole & (wy > tol) & (steepest != 1)
            sx = can & boxes.whole & (wx > tol) & (steepest != 2)
            # the inside part of a partial pixel is no box: rasterise it finer wherever it varies
            cut = can & ~boxes.whole & ((wy > tol) | (wx > tol))
            sz &= ~cut
            split = sz | sy | sx | cut
            final = ~split
            if final.any():
                self._add(d[final], spread[final], boxes.volume_cc[final])
            if cut.any():
                todo.append(split_in_plane(boxes.take(cut), self.lattice, self.polygons))
            if (sz | sy | sx).any():
                code = sz.astype(np.int8) * 4 + sy.astype(np.int8) * 2 + sx.astype(np.int8)
                for pattern in range(1, 8):
                    sel = code == pattern
                    if sel.any():
                        along = (bool(pattern & 4), bool(pattern & 2), bool(pattern & 1))
                        todo.append(boxes.take(sel).split(along))
            todo = [t for t in todo if t.size]


def _splittable(
    s: DvhSettings, d: FloatArray, wz: FloatArray, wy: FloatArray, wx: FloatArray, whole: BoolArray | None
) -> BoolArray:
    """Boxes the tail refinement would split: ranges above tolerance along two axes, or a partial pixel's."""
    tol = np.maximum(s.split_gy, s.split_relative * np.abs(d))
    over_y, over_x = wy > tol, wx > tol
    n_over = (wz > tol).astype(np.int8) + over_y + over_x
    if whole is None:
        return np.asarray(n_over >= 2)
    return np.asarray((n_over >= 2) | (~whole & (over_y | over_x)))


def _variance(boxes: Boxes, gz: FloatArray, gy: FloatArray, gx: FloatArray) -> FloatArray:
    """Variance over each box (the part inside the contours) of a dose with this gradient."""
    var = gz * gz * boxes.hz * boxes.hz / 3.0 + gy * gy * boxes.syy + gx * gx * boxes.sxx
    var += 2.0 * gx * gy * boxes.sxy
    return np.asarray(var)


def _shifted(fs: FieldSamples, shift: FloatArray) -> FieldSamples:
    return FieldSamples(
        fs.dose_gy + shift, fs.grad_z, fs.grad_y, fs.grad_x, fs.covered, fs.uncovered,
        fs.upper_gy, fs.lower_gy, fs.curvature,
    )  # fmt: skip


def _select(fs: FieldSamples, sel: BoolArray) -> FieldSamples:
    return FieldSamples(
        fs.dose_gy[sel], fs.grad_z[sel], fs.grad_y[sel], fs.grad_x[sel], fs.covered[sel],
        tuple(u[sel] for u in fs.uncovered), fs.upper_gy[sel], fs.lower_gy[sel],
        tuple((b, cz[sel], cy[sel], cx[sel]) for b, cz, cy, cx in fs.curvature),
    )  # fmt: skip
