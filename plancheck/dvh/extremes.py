"""The largest and smallest dose inside a structure's contours.

Max and Min are values of the field at points inside the contours, never
the edge of a sample's spread, so no reported dose exceeds the largest
dose the structure receives. For a single trilinear grid they are exact:

* inside one cell the trilinear dose restricted to a box is multilinear, so
  over a box wholly inside the contours it is largest and smallest at the
  box's corners;
* over the part of a pixel box inside the contours it is linear along z, so
  extreme on the box's z bounds; on such a plane it is bilinear, with no
  strict interior extremum, so extreme on the part's outline: at pixel
  corners inside the contours or on the contours, where along each stretch
  of contour inside one pixel it is quadratic (the extremum of the parabola
  through its ends and midpoint);

which the tracker evaluates. To keep this cheap it only does so for *hot*
boxes: boxes whose cell's grid values could hold a dose above the largest
dose already seen at a point inside the contours (the centre of a box wholly
inside), and likewise for the minimum; the most promising first, up to
``_SEARCH_BOXES`` of them (the values found are always doses at points
inside the contours, so Max can only fall short of the true maximum, and
Min exceed the true minimum, when the search stops early). For fields summed from several grids
the same points are used; the values are still doses at points inside the
contours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from plancheck.dvh.boxes import Boxes, pixel_groups
from plancheck.dvh.rasterise import rasterise_even_odd

if TYPE_CHECKING:
    from plancheck.dose.field import BoundField
    from plancheck.dvh.engine import StructureSampling

__all__ = ["ExtremeTracker"]

FloatArray = npt.NDArray[np.floating]

_PRUNE_AT = 200_000
# boxes searched for an extreme, most promising first: bounds of boxes partly inside the
# contours are loose, so a search could otherwise visit a structure's whole surface
_SEARCH_BOXES = 256


def _tol(v: float) -> float:
    return 1e-7 * abs(v) + 1e-9


class ExtremeTracker:
    """Keeps the boxes that may hold the maximum or the minimum; :meth:`result` finds them."""

    def __init__(self, sampling: StructureSampling, bound: BoundField):
        self.sampling = sampling
        self.bound = bound
        self.seen_max = -np.inf  # largest dose at a point known to be inside
        self.seen_min = np.inf
        self._hot_max: list[tuple[Boxes, FloatArray]] = []
        self._hot_min: list[tuple[Boxes, FloatArray]] = []
        self._n_hot = 0
        # doses from grids other than the reference peak anywhere in a box: look inside too
        self.dense = any(not bound.on_reference(i) for i in range(bound.n_contributions))

    def see(self, largest_gy: float, smallest_gy: float) -> None:
        """Doses found at points known to be inside the contours."""
        self.seen_max = max(self.seen_max, largest_gy)
        self.seen_min = min(self.seen_min, smallest_gy)

    def hot_max(self, upper_gy: FloatArray) -> npt.NDArray[np.bool_]:
        """Boxes whose upper bound exceeds the largest dose seen inside."""
        if not np.isfinite(self.seen_max):
            return np.ones(upper_gy.shape, dtype=bool)
        return np.asarray(upper_gy > self.seen_max + _tol(self.seen_max))

    def hot_min(self, lower_gy: FloatArray) -> npt.NDArray[np.bool_]:
        """Boxes whose lower bound is below the smallest dose seen inside."""
        if not np.isfinite(self.seen_min):
            return np.ones(lower_gy.shape, dtype=bool)
        return np.asarray(lower_gy < self.seen_min - _tol(self.seen_min))

    def offer(
        self,
        boxes: Boxes,
        upper_gy: FloatArray,
        lower_gy: FloatArray,
        hot_max: npt.NDArray[np.bool_],
        hot_min: npt.NDArray[np.bool_],
    ) -> None:
        """Keep the boxes that may hold the maximum (``hot_max``) or the minimum (``hot_min``)."""
        if hot_max.any():
            self._hot_max.append((boxes.take(hot_max), upper_gy[hot_max]))
            self._n_hot += int(hot_max.sum())
        if hot_min.any():
            self._hot_min.append((boxes.take(hot_min), lower_gy[hot_min]))
            self._n_hot += int(hot_min.sum())
        if self._n_hot > _PRUNE_AT:
            self._prune()

    def _prune(self) -> None:
        if np.isfinite(self.seen_max):
            self._hot_max = _keep(self._hot_max, lambda b: b > self.seen_max + _tol(self.seen_max))
        if np.isfinite(self.seen_min):
            self._hot_min = _keep(self._hot_min, lambda b: b < self.seen_min - _tol(self.seen_min))
        self._n_hot = sum(b.size for b, _ in self._hot_max) + sum(b.size for b, _ in self._hot_min)

    def result(self) -> tuple[float, float]:
        """(minimum, maximum) dose inside the contours."""
        self._prune()
        hi = self._search(self._hot_max, self.seen_max, +1.0)
        lo = self._search(self._hot_min, self.seen_min, -1.0)
        if not np.isfinite(hi) or not np.isfinite(lo):
            raise ValueError("no dose found inside the structure")
        return lo, hi

    def _search(self, hot: list[tuple[Boxes, FloatArray]], best: float, sign: float) -> float:
        """Most promising boxes first; stop when no box left can beat the best value found."""
        if not hot:
            return best
        boxes = Boxes.concat([b for b, _ in hot])
        bound = np.concatenate([v for _, v in hot]) * sign
        order = np.argsort(-bound, kind="stable")
        boxes, bound = boxes.take(order), bound[order]
        start = 0
        chunk = 16
        signed_best = best * sign
        while start < min(bound.size, _SEARCH_BOXES):
            if np.isfinite(signed_best) and bound[start] <= signed_best + _tol(signed_best):
                break
            stop = min(start + chunk, bound.size)
            vals = self._candidates(boxes.head(start, stop)) * sign
            if vals.size:
                signed_best = max(signed_best, float(vals.max()))
            start = stop
            chunk *= 2
        return signed_best * sign

    def _candidates(self, boxes: Boxes) -> FloatArray:
        """Field values at the points where, per box, the extremes can lie.

        For each box and each of its two z bounds: the box's in-plane corners
        that lie inside the contours of the plane there, and the stretches of
        contour crossing the box (their ends, midpoints and the extremum of
        the parabola through them). Whether a corner is inside is tested on
        the contours themselves, never taken from the rasteriser.
        """
        planes = self.sampling.planes
        lower = np.array([p.lower_mm for p in planes])
        upper = np.array([p.upper_mm for p in planes])
        pz, py, px, hy, hx, plane = [], [], [], [], [], []
        levels = (-1.0, -0.5, 0.0, 0.5, 1.0) if self.dense else (-1.0, 1.0)
        for oz in levels:
            z = boxes.pz + oz * boxes.hz
            # the plane whose slab holds this z bound (both, on a shared bound)
            first = np.searchsorted(upper, z - 1e-9, side="left")
            for k in (first, first + 1):
                kk = np.minimum(k, len(planes) - 1)
                ok = (k < len(planes)) & (lower[kk] <= z + 1e-9) & (upper[kk] >= z - 1e-9)
                own = boxes.plane >= 0
                ok &= ~own | (kk == boxes.plane) | (k == first)
                kk = np.where(own & (k == first), boxes.plane, kk)
                if ok.any():
                    pz.append(z[ok])
                    py.append(boxes.py[ok])
                    px.append(boxes.px[ok])
                    hy.append(boxes.hy[ok])
                    hx.append(boxes.hx[ok])
                    plane.append(kk[ok])
        if not pz:
            return np.zeros(0)
        return self._plane_values(
            np.concatenate(pz), np.concatenate(py), np.concatenate(px),
            np.concatenate(hy), np.concatenate(hx), np.concatenate(plane),
        )  # fmt: skip

    def _values(self, pz: FloatArray, py: FloatArray, px: FloatArray) -> FloatArray:
        fs = self.bound.at(pz, py, px)
        return np.asarray(fs.dose_gy[fs.covered])

    def _plane_values(
        self, z: FloatArray, cy: FloatArray, cx: FloatArray, hy: FloatArray, hx: FloatArray, plane: npt.NDArray[np.intp]
    ) -> FloatArray:
        """Values at the candidate points of in-plane boxes (footprint around (cx, cy)) at height z."""
        lat = self.sampling.lattice
        pts_z: list[FloatArray] = []
        pts_y: list[FloatArray] = []
        pts_x: list[FloatArray] = []
        seg_z: list[FloatArray] = []
        seg: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray]] = []
        for idx in pixel_groups(plane, hx, hy):
            polygons = self.sampling.planes[int(plane[idx[0]])].polygons
            sx, sy = 2.0 * float(hx[idx[0]]), 2.0 * float(hy[idx[0]])
            # boxes of this size sit on a lattice of their own size from the lattice origin
            col = np.floor((cx[idx] - lat.x0_mm) / sx).astype(np.int64)
            row = np.floor((cy[idx] - lat.y0_mm) / sy).astype(np.int64)
            # keys of (row, col) pairs; points outside the boxes' span of columns never match
            c_lo, c_hi = int(col.min()), int(col.max())
            key = _keys(row, col, c_lo, c_hi)
            zz = z[idx]
            ccx, ccy, cr, cc = _inside_corners(polygons, lat.x0_mm, lat.y0_mm, sx, sy, row, col)
            box, at = _join(key, _keys(cr, cc, c_lo, c_hi))
            pts_z.append(zz[box])
            pts_y.append(ccy[at])
            pts_x.append(ccx[at])
            if self.dense:
                # other grids' doses peak anywhere in a box: a 4 x 4 lattice of points inside
                sub = 4
                srow = (row[:, None] * sub + np.arange(sub)[None, :]).repeat(sub, axis=1).ravel()
                scol = np.tile(col[:, None] * sub + np.arange(sub)[None, :], (1, sub)).ravel()
                fx_, fy_, fr, fc = _inside_corners(polygons, lat.x0_mm, lat.y0_mm, sx / sub, sy / sub, srow, scol)
                owner = np.repeat(np.arange(idx.size), sub * sub)
                fwidth = (c_hi + 2) * sub
                fkey = srow * fwidth + scol
                box, at = _join(fkey, np.where((fc >= 0) & (fc < fwidth), fr * fwidth + fc, -1))
                pts_z.append(zz[owner[box]])
                pts_y.append(fy_[at])
                pts_x.append(fx_[at])
            cut = _segments(polygons, lat.x0_mm, lat.y0_mm, sx, sy, row, col)
            if cut is None:
                continue
            ax, ay, bx, by, sr, sc = cut
            box, at = _join(key, _keys(sr, sc, c_lo, c_hi))
            seg_z.append(zz[box])
            seg.append((ax[at], ay[at], bx[at], by[at]))
        out = []
        if pts_z:
            out.append(self._values(np.concatenate(pts_z), np.concatenate(pts_y), np.concatenate(pts_x)))
        if seg_z:
            zs = np.concatenate(seg_z)
            x0 = np.concatenate([q[0] for q in seg])
            y0 = np.concatenate([q[1] for q in seg])
            x1 = np.concatenate([q[2] for q in seg])
            y1 = np.concatenate([q[3] for q in seg])
            n = zs.size
            f = self.bound.at(
                np.concatenate([zs, zs, zs]),
                np.concatenate([y0, y1, 0.5 * (y0 + y1)]),
                np.concatenate([x0, x1, 0.5 * (x0 + x1)]),
            )
            out.append(f.dose_gy[f.covered])
            d0, d1, dm = f.dose_gy[:n], f.dose_gy[n : 2 * n], f.dose_gy[2 * n :]
            c = 2.0 * (d1 + d0 - 2.0 * dm)
            slope = d1 - d0 - c
            with np.errstate(divide="ignore", invalid="ignore"):
                t = -slope / (2.0 * c)
            ok = (c != 0.0) & (t > 0.0) & (t < 1.0)
            if ok.any():
                tt = t[ok]
                out.append(self._values(zs[ok], y0[ok] + tt * (y1[ok] - y0[ok]), x0[ok] + tt * (x1[ok] - x0[ok])))
        return np.concatenate(out) if out else np.zeros(0)


_EDGES: dict[int, tuple[object, FloatArray, FloatArray]] = {}


def _edges(polygons: tuple[FloatArray, ...]) -> tuple[FloatArray, FloatArray]:
    """Start and end points of every edge of a plane's contours (kept for the plane's contours)."""
    known = _EDGES.get(id(polygons))
    if known is not None and known[0] is polygons:
        return known[1], known[2]
    starts = [np.asarray(p, dtype=np.float64) for p in polygons if len(p) >= 3]
    if not starts:
        a = b = np.zeros((0, 2))
    else:
        a = np.concatenate(starts)
        b = np.concatenate([np.concatenate([p[1:], p[:1]]) for p in starts])
    if len(_EDGES) > 4096:
        _EDGES.clear()
    _EDGES[id(polygons)] = (polygons, a, b)
    return a, b


def _keys(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], c_lo: int, c_hi: int
) -> npt.NDArray[np.int64]:
    """One integer per (row, column) with the column in ``[c_lo, c_hi]``; -1 outside (never matches)."""
    width = c_hi - c_lo + 1
    return np.where((cols >= c_lo) & (cols <= c_hi), rows * width + (cols - c_lo), -1)


def _join(box_keys: npt.NDArray[np.int64], point_keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """All (box, point) pairs with equal keys: index arrays into both."""
    order = np.argsort(point_keys, kind="stable")
    sorted_keys = point_keys[order]
    start = np.searchsorted(sorted_keys, box_keys, side="left")
    stop = np.searchsorted(sorted_keys, box_keys, side="right")
    counts = stop - start
    total = int(counts.sum())
    box = np.repeat(np.arange(box_keys.size), counts)
    pos = np.repeat(start, counts) + (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
    return box, order[pos]


def _keep(items: list[tuple[Boxes, FloatArray]], rule) -> list[tuple[Boxes, FloatArray]]:  # type: ignore[no-untyped-def]
    out = []
    for boxes, bound in items:
        sel = rule(bound)
        if sel.any():
            out.append((boxes.take(sel), bound[sel]))
    return out


def _segments(
    polygons: tuple[FloatArray, ...],
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Contour edges cut at the lattice lines, near the given pixels: (ax, ay, bx, by, row, col)."""
    a, b = _edges(polygons)
    if a.size == 0:
        return None
    u1, u2 = (a[:, 0] - x0) / dx, (b[:, 0] - x0) / dx
    v1, v2 = (a[:, 1] - y0) / dy, (b[:, 1] - y0) / dy
    # only edges whose pixel range meets the pixels asked for
    keep = (
        (np.maximum(u1, u2) >= cols.min() - 1)
        & (np.minimum(u1, u2) <= cols.max() + 2)
        & (np.maximum(v1, v2) >= rows.min() - 1)
        & (np.minimum(v1, v2) <= rows.max() + 2)
    )
    u1, u2, v1, v2 = u1[keep], u2[keep], v1[keep], v2[keep]
    if u1.size == 0:
        return None
    edge_t = [np.zeros(u1.size), np.ones(u1.size)]
    edge_i = [np.arange(u1.size), np.arange(u1.size)]
    for p1, p2 in ((u1, u2), (v1, v2)):
        first = np.ceil(np.minimum(p1, p2)).astype(np.int64)
        last = np.floor(np.maximum(p1, p2)).astype(np.int64)
        counts = np.maximum(last - first + 1, 0)
        counts[p1 == p2] = 0
        total = int(counts.sum())
        if total:
            e = np.repeat(np.arange(u1.size), counts)
            m = first[e] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            edge_t.append((m - p1[e]) / (p2[e] - p1[e]))
            edge_i.append(e)
    t = np.minimum(np.maximum(np.concatenate(edge_t), 0.0), 1.0)
    ei = np.concatenate(edge_i)
    order = np.lexsort((t, ei))
    t, ei = t[order], ei[order]
    same = ei[1:] == ei[:-1]
    ta, tb, e = t[:-1][same], t[1:][same], ei[:-1][same]
    nonzero = tb > ta
    ta, tb, e = ta[nonzero], tb[nonzero], e[nonzero]
    ua = u1[e] + ta * (u2[e] - u1[e])
    va = v1[e] + ta * (v2[e] - v1[e])
    ub = u1[e] + tb * (u2[e] - u1[e])
    vb = v1[e] + tb * (v2[e] - v1[e])
    mc = np.floor(0.5 * (ua + ub)).astype(np.int64)
    mr = np.floor(0.5 * (va + vb)).astype(np.int64)
    return x0 + ua * dx, y0 + va * dy, x0 + ub * dx, y0 + vb * dy, mr, mc


def _inside_corners(polygons, x0, y0, dx, dy, rows, cols):  # type: ignore[no-untyped-def]
    """Corners of the given pixels that lie inside the contours: (x, y, row, col)."""
    r0, r1 = int(rows.min()), int(rows.max())
    c0, c1 = int(cols.min()), int(cols.max())
    # a lattice whose pixel centres are the corners of pixels r0..r1+1, c0..c1+1
    inside = rasterise_even_odd(
        polygons, x0 + (c0 - 0.5) * dx, y0 + (r0 - 0.5) * dy, dx, dy, (r1 - r0 + 2, c1 - c0 + 2)
    )
    xs, ys, rr, cc = [], [], [], []
    for dr in (0, 1):
        for dc in (0, 1):
            ok = inside[rows - r0 + dr, cols - c0 + dc]
            xs.append(x0 + (cols[ok] + dc) * dx)
            ys.append(y0 + (rows[ok] + dr) * dy)
            rr.append(rows[ok])
            cc.append(cols[ok])
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(rr), np.concatenate(cc)
