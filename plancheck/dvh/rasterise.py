"""Even-odd scanline rasterisation of planar contours on a regular 2-D lattice.

:func:`coverage_even_odd` gives the fraction of each pixel inside the
contours: exact along x (the inside length of ``SUB_ROWS`` scanlines through
the pixel), sampled along y. :func:`rasterise_even_odd` gives the plain
centre-inside mask.

Pure numpy, no loop over pixels or rows: every edge of every contour on the
plane produces its crossings with the pixel-centre rows at once, and a parity
count along each row says which pixel centres are inside. Because the parity
of all edges of all contours together is used, contours on one plane combine
by the even-odd rule: a contour inside another is a hole, two disjoint
contours are two parts.

Pixel (row ``i``, column ``j``) has its centre at
``(x0_mm + (j + 0.5) * dx_mm, y0_mm + (i + 0.5) * dy_mm)``. Edges are
half-open in y, so a centre exactly on a shared vertex is counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from plancheck.dvh.clip import shifted

__all__ = ["SUB_ROWS", "PartialMoments", "coverage_even_odd", "coverage_with_moments", "rasterise_even_odd"]

SUB_ROWS = 4
_Array = TypeVar("_Array", bound=npt.NDArray[np.generic])


def _clamp(values: _Array, low: float, high: float) -> _Array:
    """``np.clip(values, low, high)`` as two ufunc calls (the same values, less call overhead)."""
    return np.minimum(np.maximum(values, low), high)


def rasterise_even_odd(
    polygons: Sequence[npt.NDArray[np.floating]],
    x0_mm: float,
    y0_mm: float,
    dx_mm: float,
    dy_mm: float,
    shape: tuple[int, int],
) -> npt.NDArray[np.bool_]:
    """Pixels whose centre lies inside the contours (even-odd rule).

    Parameters
    ----------
    polygons : sequence of ndarray, shape (n, 2)
        Closed contours as (x, y) vertices in mm; the closing edge is implied.
    x0_mm, y0_mm : float
        Patient coordinates of the lattice's lower corner (not a pixel centre).
    dx_mm, dy_mm : float
        Pixel size in mm.
    shape : (rows, columns)
        Size of the lattice; rows run along y, columns along x.

    Returns
    -------
    ndarray of bool, shape (rows, columns)
    """
    n_rows, n_cols = shape
    if n_rows <= 0 or n_cols <= 0 or len(polygons) == 0:
        return np.zeros((max(n_rows, 0), max(n_cols, 0)), dtype=bool)
    starts = []
    ends = []
    for poly in polygons:
        p = np.asarray(poly, dtype=np.float64)
        if p.shape[0] < 3:
            continue
        starts.append(p)
        ends.append(shifted(p))
    if not starts:
        return np.zeros((n_rows, n_cols), dtype=bool)
    a = np.concatenate(starts)
    b = np.concatenate(ends)
    # lattice coordinates in which pixel centres sit at integers
    u1 = (a[:, 0] - x0_mm) / dx_mm - 0.5
    v1 = (a[:, 1] - y0_mm) / dy_mm - 0.5
    u2 = (b[:, 0] - x0_mm) / dx_mm - 0.5
    v2 = (b[:, 1] - y0_mm) / dy_mm - 0.5
    keep = v1 != v2
    u1, v1, u2, v2 = u1[keep], v1[keep], u2[keep], v2[keep]
    vmin = np.minimum(v1, v2)
    vmax = np.maximum(v1, v2)
    # rows i with vmin <= i < vmax, restricted to the lattice
    first = _clamp(np.ceil(vmin), 0, n_rows).astype(np.int64)
    stop = _clamp(np.ceil(vmax), 0, n_rows).astype(np.int64)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros((n_rows, n_cols), dtype=bool)
    edge = np.repeat(np.arange(counts.size), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = first[edge] + offsets
    t = (rows - v1[edge]) / (v2[edge] - v1[edge])
    u = u1[edge] + t * (u2[edge] - u1[edge])
    # a crossing at u toggles every pixel centre j >= u
    cols = _clamp(np.ceil(u), 0, n_cols).astype(np.int64)
    toggles = np.bincount(rows * (n_cols + 1) + cols, minlength=n_rows * (n_cols + 1))
    parity = np.cumsum(toggles.reshape(n_rows, n_cols + 1)[:, :n_cols], axis=1) & 1
    return parity.astype(bool)


def _crossings(
    polygons: Sequence[npt.NDArray[np.floating]],
    x0_mm: float,
    y0_mm: float,
    dx_mm: float,
    dy_mm: float,
    n_rows: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(row, u) of every crossing of an edge with a row of centres; u in pixel units from x0."""
    starts = [np.asarray(p, dtype=np.float64) for p in polygons if len(p) >= 3]
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0)
    a = np.concatenate(starts)
    b = np.concatenate([shifted(p) for p in starts])
    u1 = (a[:, 0] - x0_mm) / dx_mm
    u2 = (b[:, 0] - x0_mm) / dx_mm
    v1 = (a[:, 1] - y0_mm) / dy_mm - 0.5
    v2 = (b[:, 1] - y0_mm) / dy_mm - 0.5
    keep = v1 != v2
    u1, v1, u2, v2 = u1[keep], v1[keep], u2[keep], v2[keep]
    first = _clamp(np.ceil(np.minimum(v1, v2)), 0, n_rows).astype(np.int64)
    stop = _clamp(np.ceil(np.maximum(v1, v2)), 0, n_rows).astype(np.int64)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    edge = np.repeat(np.arange(counts.size), counts)
    rows = first[edge] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    t = (rows - v1[edge]) / (v2[edge] - v1[edge])
    return rows, u1[edge] + t * (u2[edge] - u1[edge])


def coverage_even_odd(
    polygons: Sequence[npt.NDArray[np.floating]],
    x0_mm: float,
    y0_mm: float,
    dx_mm: float,
    dy_mm: float,
    shape: tuple[int, int],
    sub_rows: int = SUB_ROWS,
) -> npt.NDArray[np.float32]:
    """Fraction of each pixel inside the contours (even-odd rule), in [0, 1].

    Each pixel row is crossed by ``sub_rows`` evenly spaced scanlines; along
    each, the length inside the contours is exact. The fraction is their mean.
    Same lattice convention as :func:`rasterise_even_odd`.

    Returns
    -------
    ndarray of float32, shape (rows, columns)
    """
    n_rows, n_cols = shape
    out = np.zeros((max(n_rows, 0), max(n_cols, 0)), dtype=np.float32)
    if n_rows <= 0 or n_cols <= 0 or len(polygons) == 0:
        return out
    k = int(sub_rows)
    rows, u = _crossings(polygons, x0_mm, y0_mm, dx_mm, dy_mm / k, n_rows * k)
    if rows.size == 0:
        return out
    order = np.lexsort((u, rows))
    rows, u = rows[order], u[order]
    # every scanline crosses closed contours an even number of times: pair them up
    a = _clamp(u[0::2], 0.0, float(n_cols))
    b = _clamp(u[1::2], 0.0, float(n_cols))
    pix_row = rows[0::2] // k  # the k scanlines of a pixel row add into it
    ia = np.ceil(a).astype(np.int64)
    ib = np.floor(b).astype(np.int64)
    # whole pixels ia .. ib-1 of each span: +1/-1 difference array, summed along the row
    full = ia < ib
    width = n_cols + 1
    diff = np.bincount(
        np.concatenate([pix_row[full] * width + ia[full], pix_row[full] * width + ib[full]]),
        weights=np.concatenate([np.ones(int(full.sum())), -np.ones(int(full.sum()))]),
        minlength=n_rows * width,
    )
    counts = np.cumsum(diff.reshape(n_rows, width), axis=1)[:, :n_cols]
    # partial pixels at the span ends (or one pixel holding the whole span)
    same = ia > ib
    left = ~same & (ia > a)
    right = ~same & (b > ib) & (ib < n_cols)
    pix = np.concatenate([ia[left] - 1, ib[right], ib[same]])
    part = np.concatenate([ia[left] - a[left], b[right] - ib[right], b[same] - a[same]])
    prow = np.concatenate([pix_row[left], pix_row[right], pix_row[same]])
    partial = np.bincount(prow * n_cols + pix, weights=part, minlength=n_rows * n_cols)
    frac = (counts + partial.reshape(n_rows, n_cols)) / k
    np.clip(frac, 0.0, 1.0, out=frac)
    return frac.astype(np.float32)


@dataclass(frozen=True, eq=False)
class PartialMoments:
    """Where the inside part of each partly covered pixel lies (pixel units, from its centre).

    For pixels ``(rows[n], cols[n])`` with ``0 < fraction < 1``: the centroid
    offset ``(dx, dy)`` of the part inside the contours from the pixel centre,
    and that part's covariance ``(sxx, syy, sxy)``, all in units of the pixel
    size (exact along x, from the ``sub_rows`` scanlines along y).
    """

    rows: npt.NDArray[np.intp]
    cols: npt.NDArray[np.intp]
    dx: npt.NDArray[np.float64]
    dy: npt.NDArray[np.float64]
    sxx: npt.NDArray[np.float64]
    syy: npt.NDArray[np.float64]
    sxy: npt.NDArray[np.float64]


def coverage_with_moments(
    polygons: Sequence[npt.NDArray[np.floating]],
    x0_mm: float,
    y0_mm: float,
    dx_mm: float,
    dy_mm: float,
    shape: tuple[int, int],
    sub_rows: int = SUB_ROWS,
) -> tuple[npt.NDArray[np.float32], PartialMoments]:
    """:func:`coverage_even_odd`, and the centroid and covariance of each partly covered pixel's inside part."""
    n_rows, n_cols = shape
    empty = PartialMoments(*(np.zeros(0, dtype=np.intp),) * 2, *(np.zeros(0),) * 5)
    out = np.zeros((max(n_rows, 0), max(n_cols, 0)), dtype=np.float32)
    if n_rows <= 0 or n_cols <= 0 or len(polygons) == 0:
        return out, empty
    k = int(sub_rows)
    rows, u = _crossings(polygons, x0_mm, y0_mm, dx_mm, dy_mm / k, n_rows * k)
    if rows.size == 0:
        return out, empty
    order = np.lexsort((u, rows))
    rows, u = rows[order], u[order]
    a = _clamp(u[0::2], 0.0, float(n_cols))
    b = _clamp(u[1::2], 0.0, float(n_cols))
    scan = rows[0::2]
    pix_row = scan // k
    ia = np.ceil(a).astype(np.int64)
    ib = np.floor(b).astype(np.int64)
    full = ia < ib
    width = n_cols + 1
    # whole pixels of each span: +1 at its first, -1 after its last, summed along the row
    # (small integers: at most k scanlines cover a pixel)
    starts = np.bincount(pix_row[full] * width + ia[full], minlength=n_rows * width)
    ends = np.bincount(pix_row[full] * width + ib[full], minlength=n_rows * width)
    diff = (starts - ends).astype(np.int8)
    counts = np.cumsum(diff.reshape(n_rows, width), axis=1, dtype=np.int8)[:, :n_cols]
    same = ia > ib
    left = ~same & (ia > a)
    right = ~same & (b > ib) & (ib < n_cols)
    # pieces of spans inside one pixel: pixel column, scanline, start and end (lattice x units)
    pcol = np.concatenate([ia[left] - 1, ib[right], ib[same]])
    pscan = np.concatenate([scan[left], scan[right], scan[same]])
    pa = np.concatenate([a[left], ib[right].astype(np.float64), a[same]])
    pb = np.concatenate([ia[left].astype(np.float64), b[right], b[same]])
    prow = pscan // k
    partial = np.bincount(prow * n_cols + pcol, weights=pb - pa, minlength=n_rows * n_cols)
    frac32 = partial.astype(np.float32).reshape(n_rows, n_cols)
    frac32 += counts
    frac32 *= np.float32(1.0 / k)
    np.maximum(frac32, 0.0, out=frac32)
    np.minimum(frac32, 1.0, out=frac32)
    pr, pc = np.nonzero((frac32 > 0.0) & (frac32 < 1.0))
    if pr.size == 0:
        return frac32, empty
    n_p = pr.size
    keys = pr * width + pc  # sorted (row-major nonzero)
    # the part of each partial pixel on each of its scanlines that the pixel wholly covers
    span_key = scan * (width + 1) + a  # spans are sorted by scanline, then start
    sub = np.arange(k)
    q_scan = (pr[:, None] * k + sub[None, :]).ravel()
    q_col = np.repeat(pc, k)
    pos = np.searchsorted(span_key, q_scan * (width + 1) + q_col + 0.5, side="right") - 1
    posc = _clamp(pos, 0, scan.size - 1)
    whole = (pos >= 0) & (scan[posc] == q_scan) & (a[posc] <= q_col) & (b[posc] >= q_col + 1)
    idx_full = np.repeat(np.arange(n_p), k)[whole]
    scan_full = q_scan[whole]
    col_full = q_col[whole].astype(np.float64)
    # every piece of coverage of the partial pixels: (pixel index, scanline, start, end)
    piece_idx = np.searchsorted(keys, prow * width + pcol)
    ok = (piece_idx < n_p) & (keys[np.minimum(piece_idx, n_p - 1)] == prow * width + pcol)
    idx = np.concatenate([piece_idx[ok], idx_full])
    sc = np.concatenate([pscan[ok], scan_full])
    lo = np.concatenate([pa[ok], col_full]) - pc[idx]
    hi = np.concatenate([pb[ok], col_full + 1.0]) - pc[idx]
    y = (sc - pr[idx] * k + 0.5) / k  # scanline height inside its pixel, 0..1
    length = hi - lo
    m1x = (hi * hi - lo * lo) / 2.0
    m2x = (hi**3 - lo**3) / 3.0

    def total(w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.bincount(idx, weights=w, minlength=n_p).astype(np.float64)

    w0 = np.maximum(total(length), 1e-300)
    mx = total(m1x) / w0
    my = total(length * y) / w0
    sxx = np.maximum(total(m2x) / w0 - mx * mx, 0.0)
    syy = np.maximum(total(length * y * y) / w0 - my * my, 0.0)
    sxy = total(m1x * y) / w0 - mx * my
    return frac32, PartialMoments(pr, pc, mx - 0.5, my - 0.5, sxx, syy, sxy)
