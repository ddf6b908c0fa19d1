"""Accumulating dose samples into an exact cumulative DVH.

Each sample stands for a small box of the structure (volume ``v``) over which
the trilinear dose varies. Its dose is therefore not one value but a spread:
the sample adds ``v`` spread uniformly over ``[d - w/2, d + w/2]``, with ``w``
chosen so that the spread has the variance of the linear dose over the box
(``w = sqrt(sum_i (g_i h_i)^2)`` for gradient ``g`` and box sides ``h``). In a
linear field along one axis this is exact, and the DVH of a coarse lattice of
samples becomes a smooth, correct curve instead of a staircase.

The accumulated curve is exact at the bin edges ``k * bin_width_gy``: the
volume below an edge is a sum of ramps ``v/w * max(edge - a, 0)`` (minus the
same at ``b``), and ramps add up exactly through two cumulative sums, so no
sample is rounded to a bin. Metrics interpolate linearly between edges; at the
default 1 mGy width that adds at most 1 mGy of error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["DvhAccumulator"]

FloatArray = npt.NDArray[np.float64]

_POINT_WIDTH_GY = 1e-9


class DvhAccumulator:
    """Collects weighted dose spreads; :meth:`cumulative_cc` gives the curve.

    Parameters
    ----------
    top_gy : float
        Highest dose any sample can reach (the grid maximum). Spreads are
        clipped to ``[0, top_gy]``, which the trilinear field never leaves.
    bin_width_gy : float
        Distance between the edges at which the curve is stored.
    """

    def __init__(self, top_gy: float, bin_width_gy: float):
        if not np.isfinite(top_gy) or top_gy < 0:
            raise ValueError(f"top dose must be finite and >= 0, got {top_gy}")
        self.bin_width_gy = float(bin_width_gy)
        self.top_gy = float(top_gy)
        self.n_edges = int(np.ceil(top_gy / bin_width_gy)) + 2
        n = self.n_edges + 1
        self._slope = np.zeros(n)  # sum of v/w for ramps starting at edge index j
        self._slope_offset = np.zeros(n)  # sum of v/w * p for the same ramps
        self._steps = np.zeros(n)  # point samples: volume below edge j and above
        self.volume_cc = 0.0
        self.dose_volume_gy_cc = 0.0
        self.min_gy = np.inf
        self.max_gy = -np.inf

    def add(self, dose_gy: FloatArray, spread_gy: FloatArray, volume_cc: FloatArray) -> None:
        """Add samples: centre dose, full spread width and volume, all shape (n,)."""
        if dose_gy.size == 0:
            return
        d = np.clip(dose_gy.astype(np.float64, copy=False), 0.0, self.top_gy)
        half = 0.5 * np.abs(spread_gy.astype(np.float64, copy=False))
        v = np.broadcast_to(np.asarray(volume_cc, dtype=np.float64), d.shape)
        lo = np.clip(d - half, 0.0, self.top_gy)
        hi = np.clip(d + half, 0.0, self.top_gy)
        self.volume_cc += float(v.sum())
        self.dose_volume_gy_cc += float(np.dot(v, d))
        self.min_gy = min(self.min_gy, float(lo.min()))
        self.max_gy = max(self.max_gy, float(hi.max()))
        width = hi - lo
        point = width <= _POINT_WIDTH_GY
        n = self.n_edges + 1
        if np.any(point):
            # volume strictly below edge k once k > d / bin_width
            idx = np.floor(d[point] / self.bin_width_gy).astype(np.int64) + 1
            self._steps += np.bincount(np.minimum(idx, n - 1), weights=v[point], minlength=n)
        ramp = ~point
        if np.any(ramp):
            w = width[ramp]
            c = v[ramp] / w * self.bin_width_gy  # cc per unit of edge index
            for bound, sign in ((lo[ramp], 1.0), (hi[ramp], -1.0)):
                p = bound / self.bin_width_gy
                j = np.minimum(np.ceil(p).astype(np.int64), n - 1)
                self._slope += sign * np.bincount(j, weights=c, minlength=n)
                self._slope_offset += sign * np.bincount(j, weights=c * p, minlength=n)

    def cumulative_cc(self) -> FloatArray:
        """Volume receiving at least each edge dose ``k * bin_width_gy``, k = 0..n_edges-1."""
        k = np.arange(self.n_edges, dtype=np.float64)
        slope = np.cumsum(self._slope)[: self.n_edges]
        offset = np.cumsum(self._slope_offset)[: self.n_edges]
        below = k * slope - offset + np.cumsum(self._steps)[: self.n_edges]
        cumulative = self.volume_cc - below
        # rounding can leave -1e-16 or a tiny rise; the curve is non-increasing by construction
        cumulative = np.minimum.accumulate(np.clip(cumulative, 0.0, self.volume_cc))
        # trim trailing zeros beyond the maximum, keeping one zero edge
        nonzero = np.flatnonzero(cumulative > 0)
        last = int(nonzero[-1]) + 2 if nonzero.size else 1
        return cumulative[: min(last, self.n_edges)]
