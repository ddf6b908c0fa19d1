"""Accumulating dose samples into an exact cumulative DVH.

Each sample stands for a small box of the structure (volume ``v``) over which
the dose varies. Its dose is therefore not one value but a spread: the sample
adds ``v`` spread uniformly over ``[lo, hi]`` (see :mod:`plancheck.dvh.engine`
for how the spread is chosen). The accumulated curve is exact at its edges:
the volume below an edge ``e`` is a sum of ramps ``v / w * clip(e - lo, 0, w)``
(``w = hi - lo``), and ramps add up exactly through cumulative sums, so no
sample is rounded to a bin.

The edges (:class:`DoseAxis`) are 1 mGy apart up to 10 Gy and 0.01 % apart
(geometric) above, so their number grows with the logarithm of the highest
dose: about 30,000 edges for a 70 Gy grid, 47,000 for a 400 Gy brachytherapy
grid, 76,000 for a 7,000 "Gy" grid that was really in cGy. Time and memory
are therefore about the same whatever the maximum dose. Metrics interpolate
linearly between edges, so a value read off the curve is within
``max(1 mGy, 1e-4 × dose)`` of the sampled distribution's exact value.

Samples are buffered and added in chunks (:data:`CHUNK_SAMPLES`), so the
per-edge arrays are touched once per chunk, not once per plane.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["CHUNK_SAMPLES", "DoseAxis", "DvhAccumulator"]

FloatArray = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.int64]

CHUNK_SAMPLES = 1 << 15

# the longest edge array computed so far per (step, relative): each edge depends on its index only
_EDGES: dict[tuple[float, float], FloatArray] = {}


class DoseAxis:
    """The dose edges of a curve: ``k * step_gy`` up to ``step_gy / relative``, geometric above.

    Parameters
    ----------
    step_gy : float
        Edge spacing at low doses (1 mGy).
    relative : float
        Relative edge spacing at high doses (1e-4). The two meet at
        ``step_gy / relative`` (10 Gy), where the spacings are equal.
    """

    def __init__(self, step_gy: float = 0.001, relative: float = 1e-4):
        if not (step_gy > 0 and relative > 0):
            raise ValueError("the edge spacing must be positive")
        self.step_gy = float(step_gy)
        self.relative = float(relative)
        self.break_index = round(1.0 / self.relative)
        self.break_gy = self.break_index * self.step_gy
        self._log_ratio = math.log1p(self.relative)

    def position(self, dose_gy: FloatArray) -> FloatArray:
        """Fractional edge index of each dose (edge ``k`` sits at position ``k``)."""
        d = np.atleast_1d(np.asarray(dose_gy, dtype=np.float64))
        if d.size and float(d.max()) <= self.break_gy:
            return d * (1.0 / self.step_gy)
        geometric = np.log(np.maximum(d, self.break_gy) * (1.0 / self.break_gy))
        geometric *= 1.0 / self._log_ratio
        geometric += self.break_index
        return np.where(d > self.break_gy, geometric, d * (1.0 / self.step_gy))

    def edges(self, n: int) -> FloatArray:
        """The first ``n`` edges, in Gy (read-only; every axis with the same spacings shares them)."""
        key = (self.step_gy, self.relative)
        known = _EDGES.get(key)
        if known is None or known.size < n:
            k = np.arange(n, dtype=np.float64)
            linear = k * self.step_gy
            geometric = self.break_gy * np.exp((k - self.break_index) * self._log_ratio)
            known = np.where(k <= self.break_index, linear, geometric)
            known.setflags(write=False)
            _EDGES[key] = known
        return known[:n]

    def n_edges(self, top_gy: float) -> int:
        """Number of edges reaching past ``top_gy`` by at least one edge."""
        return int(math.ceil(float(self.position(np.array(max(top_gy, 0.0)))[0])) + 2)

    def resolution_gy(self, dose_gy: float) -> float:
        """Edge spacing at ``dose_gy``: the resolution of the curve there."""
        return max(self.step_gy, self.relative * dose_gy)


class DvhAccumulator:
    """Collects weighted dose spreads; :meth:`cumulative_cc` gives the curve.

    The edges grow with the highest dose added, so the range need not be
    known in advance. :meth:`cumulative_cc` takes the structure's exact
    minimum and maximum dose: the curve is the whole volume at and below the
    minimum and empty above the maximum (a spread reaching past the maximum
    is cut there: no dose above the maximum is claimed).
    """

    def __init__(self, axis: DoseAxis):
        self.axis = axis
        self.n_edges = 0
        self.edges_gy: FloatArray = np.zeros(0)
        self._slope = np.zeros(1)  # sum of v/w of ramps starting (+) or ending (-) at edge j
        self._jump = np.zeros(1)  # volume added below edge j by ramps starting or ending before it
        self.volume_cc = 0.0
        self.dose_volume_gy_cc = 0.0
        self._buffer: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        self._buffered = 0

    def add(self, dose_gy: FloatArray, spread_gy: FloatArray, volume_cc: FloatArray) -> None:
        """Add samples: centre dose, full spread width and volume, all shape (n,).

        The sample's volume lies uniformly on ``[dose - spread/2, dose + spread/2]``
        (never below 0 Gy); its dose counts in the mean at ``dose``.
        """
        if dose_gy.size == 0:
            return
        d = np.asarray(dose_gy, dtype=np.float64)
        v = np.broadcast_to(np.asarray(volume_cc, dtype=np.float64), d.shape)
        self.volume_cc += float(v.sum())
        self.dose_volume_gy_cc += float(np.sum(v * d))
        half = 0.5 * np.abs(np.asarray(spread_gy, dtype=np.float64))
        lo = d - half
        np.maximum(lo, 0.0, out=lo)
        hi = d + half
        np.maximum(hi, 0.0, out=hi)
        self._buffer.append((lo, hi, np.ascontiguousarray(v)))
        self._buffered += d.size
        if self._buffered >= CHUNK_SAMPLES:
            self._flush()

    def _grow(self, top_gy: float) -> None:
        n = self.axis.n_edges(top_gy)
        if n <= self.n_edges:
            return
        n = max(n, int(self.n_edges * 1.25))
        extra = n + 1 - self._slope.size
        self._slope = np.concatenate([self._slope, np.zeros(extra)])
        self._jump = np.concatenate([self._jump, np.zeros(extra)])
        self.n_edges = n
        self.edges_gy = self.axis.edges(n)

    def _flush(self) -> None:
        if not self._buffer:
            return
        if len(self._buffer) == 1:
            lo, hi, v = self._buffer[0]
        else:
            lo = np.concatenate([b[0] for b in self._buffer])
            hi = np.concatenate([b[1] for b in self._buffer])
            v = np.concatenate([b[2] for b in self._buffer])
        self._buffer.clear()
        self._buffered = 0
        self._grow(float(hi.max()))
        n = self.n_edges + 1
        e = self.edges_gy
        # first edge at or above each end of a spread (an end within 1e-9 of an edge
        # spacing above it counts as on it: the ramp is then off by that much there)
        jl = np.ceil(self.axis.position(lo) - 1e-9).astype(np.intp)
        jh = np.ceil(self.axis.position(hi) - 1e-9).astype(np.intp)
        for j in (jl, jh):  # np.clip(j, 0, n - 2), in place
            np.maximum(j, 0, out=j)
            np.minimum(j, n - 2, out=j)
        span = jh - jl
        # no edge inside (lo, hi]: the whole volume is below edge jh; a point exactly on
        # an edge receives that edge's dose
        at = span == 0
        # one edge inside: below it the part c (e_jl - lo), the rest from the next edge on.
        # Either way the volume enters as jumps: a narrow spread's huge v / w never enters
        # the running slope, whose rounding would otherwise carry to every edge above.
        one = span == 1
        ramp = span >= 2
        if at.any():
            j = jh[at]
            hp = hi[at]
            j = j + ((lo[at] == hp) & (e[j] == hp))
            self._jump += np.bincount(j, weights=v[at], minlength=n)
        if one.any():
            j, lo1, hi1, v1 = jl[one], lo[one], hi[one], v[one]
            below = v1 * (e[j] - lo1) / (hi1 - lo1)
            self._jump += np.bincount(
                np.concatenate([j, j + 1]), weights=np.concatenate([below, v1 - below]), minlength=n
            )
        if ramp.any():
            lo_r, hi_r, jl_r, jh_r = lo[ramp], hi[ramp], jl[ramp], jh[ramp]
            c = v[ramp] / (hi_r - lo_r)
            # below edge k a ramp holds c * (e_k - lo) for lo <= e_k < hi, and v from hi on:
            # it enters at jl with c (e_jl - lo), grows by c per Gy, and at jh gives back
            # c (e_jh - hi) of the growth past hi
            j2 = np.concatenate([jl_r, jh_r])
            self._slope += np.bincount(j2, weights=np.concatenate([c, -c]), minlength=n)
            self._jump += np.bincount(
                j2, weights=np.concatenate([c * (e[jl_r] - lo_r), c * (hi_r - e[jh_r])]), minlength=n
            )

    def cumulative_cc(self, low_gy: float, high_gy: float) -> FloatArray:
        """Volume receiving at least each edge dose, from 0 Gy to just past ``high_gy``.

        ``low_gy`` and ``high_gy`` are the structure's exact minimum and maximum.
        """
        self._flush()
        self._grow(high_gy)
        m = self.axis.n_edges(high_gy)
        e = self.edges_gy[:m]
        slope = np.cumsum(self._slope[:m])  # ramps active between edge k and k + 1
        growth = np.zeros(m)
        growth[1:] = slope[:-1] * np.diff(e)
        below = np.cumsum(growth + self._jump[:m])
        cumulative = self.volume_cc - below
        # rounding can leave -1e-16 or a tiny rise; the curve is non-increasing by construction
        cumulative = np.minimum.accumulate(np.clip(cumulative, 0.0, self.volume_cc))
        # exact where the range says so: everything at or below the minimum, nothing above the maximum
        cumulative[e <= low_gy] = self.volume_cc
        cumulative[e > high_gy] = 0.0
        # trim trailing zeros beyond the maximum, keeping one zero edge
        nonzero = np.flatnonzero(cumulative > 0)
        last = int(nonzero[-1]) + 2 if nonzero.size else 1
        return cumulative[: min(last, m)]

    def tail_doses_gy(self, volume_cc: float) -> tuple[float, float]:
        """Doses below which the curve so far holds its top ``volume_cc`` and above which its bottom.

        Each is rounded outwards to an edge (for thresholds that must not be too tight).
        """
        self._flush()
        if self.n_edges == 0 or self.volume_cc <= 0.0:
            return 0.0, 0.0
        m = self.n_edges
        e = self.edges_gy
        slope = np.cumsum(self._slope[:m])
        growth = np.zeros(m)
        growth[1:] = slope[:-1] * np.diff(e)
        below = np.cumsum(growth + self._jump[:m])
        k_top = int(np.searchsorted(below, self.volume_cc - volume_cc, side="left"))
        k_bottom = int(np.searchsorted(below, volume_cc, side="left"))
        return float(e[min(max(k_top - 1, 0), m - 1)]), float(e[min(k_bottom + 1, m - 1)])
