"""Contours cut to a rectangle: the part of a plane a dose grid covers.

Each closed contour is clipped to the rectangle on its own
(Sutherland–Hodgman, exact for a convex window), so the even-odd rule still
combines the clipped contours correctly inside the rectangle. The area cut
away is the even-odd area of the originals minus that of the clipped
contours; the nesting depth of each contour (a hole inside an outline has
depth 1) gives the sign of its share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["clip_to_rectangle", "ring_area_mm2", "shifted"]

FloatArray = npt.NDArray[np.floating]
_Array = TypeVar("_Array", bound=npt.NDArray[np.generic])


def shifted(values: _Array) -> _Array:
    """``values`` moved up by one along the first axis, the first at the end (``np.roll(v, -1, 0)``).

    The same values as :func:`numpy.roll`, several times cheaper for the
    short arrays of contour vertices, which are rolled once per contour.
    """
    if len(values) == 0:
        return values.copy()
    return np.concatenate((values[1:], values[:1]))  # type: ignore[return-value]


def ring_area_mm2(ring: FloatArray) -> float:
    """Unsigned shoelace area of one closed contour."""
    if len(ring) < 3:
        return 0.0
    x = ring[:, 0]
    y = ring[:, 1]
    return 0.5 * abs(float(np.sum(x * shifted(y) - y * shifted(x))))


def _clip_half(ring: FloatArray, axis: int, bound: float, keep_below: bool) -> FloatArray:
    """Sutherland–Hodgman against one half-plane ``p[axis] <= bound`` (or ``>=``)."""
    if len(ring) == 0:
        return ring
    nxt = shifted(ring)
    a = ring[:, axis] - bound
    b = nxt[:, axis] - bound
    if not keep_below:
        a, b = -a, -b
    inside_a = a <= 0.0
    inside_b = b <= 0.0
    crossing = inside_a != inside_b
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crossing, a / (a - b), 0.0)
    hit = ring + t[:, None] * (nxt - ring)
    # per edge: the start point if inside, then the crossing point if the edge crosses
    out = np.empty((2 * len(ring), 2))
    keep = np.zeros(2 * len(ring), dtype=bool)
    out[0::2] = ring
    keep[0::2] = inside_a
    out[1::2] = hit
    keep[1::2] = crossing
    return np.asarray(out[keep])


def clip_to_rectangle(
    polygons: Sequence[FloatArray], x_lo: float, x_hi: float, y_lo: float, y_hi: float
) -> tuple[tuple[FloatArray, ...], float]:
    """Contours clipped to ``[x_lo, x_hi] × [y_lo, y_hi]``, and the even-odd area cut away (mm²)."""
    rings = [np.asarray(p, dtype=np.float64) for p in polygons if len(p) >= 3]
    if not rings:
        return (), 0.0
    inside_all = all(
        r[:, 0].min() >= x_lo and r[:, 0].max() <= x_hi and r[:, 1].min() >= y_lo and r[:, 1].max() <= y_hi
        for r in rings
    )
    if inside_all:
        return tuple(rings), 0.0
    clipped = []
    lost = []
    for r in rings:
        c = _clip_half(r, 0, x_lo, keep_below=False)
        c = _clip_half(c, 0, x_hi, keep_below=True)
        c = _clip_half(c, 1, y_lo, keep_below=False)
        c = _clip_half(c, 1, y_hi, keep_below=True)
        lost.append(ring_area_mm2(r) - ring_area_mm2(c))
        if len(c) >= 3 and ring_area_mm2(c) > 0.0:
            clipped.append(c)
    if len(rings) == 1:
        return tuple(clipped), max(lost[0], 0.0)
    depth = [_depth(i, rings) for i in range(len(rings))]
    area = sum(share if d % 2 == 0 else -share for share, d in zip(lost, depth, strict=True))
    return tuple(clipped), max(float(area), 0.0)


def _depth(i: int, rings: Sequence[FloatArray]) -> int:
    """How many other contours enclose contour ``i`` (tested at its first vertex)."""
    x, y = float(rings[i][0, 0]), float(rings[i][0, 1])
    n = 0
    for j, r in enumerate(rings):
        if j != i and _contains(r, x, y):
            n += 1
    return n


def _contains(ring: FloatArray, x: float, y: float) -> bool:
    """Even-odd point-in-polygon (ray towards +x)."""
    x1, y1 = ring[:, 0], ring[:, 1]
    x2, y2 = shifted(x1), shifted(y1)
    straddle = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return bool(np.count_nonzero(straddle & (xc > x)) % 2)
