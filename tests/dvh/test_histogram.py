"""The accumulator against a direct sum, its edges, and its numerics.

Truth: a sample of volume v spread uniformly on [lo, hi] puts
``v * clip((hi - e) / (hi - lo), 0, 1)`` at or above dose ``e`` (all of it when
it has no width and lies at or above ``e``); the curve at an edge is the sum
of that over the samples, computed here directly.
"""

import numpy as np
import pytest

from plancheck.dvh.histogram import DoseAxis, DvhAccumulator


def _direct(lo, hi, v, edges):
    width = hi - lo
    safe = np.where(width > 0, width, 1.0)
    above = np.where(
        width[None, :] > 0,
        np.clip((hi[None, :] - edges[:, None]) / safe[None, :], 0.0, 1.0),
        (lo[None, :] >= edges[:, None]).astype(float),
    )
    return above @ v


def test_curve_is_exact_at_its_edges():
    rng = np.random.default_rng(11)
    n = 3000
    d = rng.uniform(0.0, 30.0, n)
    spread = rng.uniform(0.0, 3.0, n)
    spread[::4] = 0.0
    spread[1::7] = 2e-4  # narrower than an edge spacing
    v = rng.uniform(0.0, 0.01, n)
    acc = DvhAccumulator(DoseAxis())
    acc.add(d, spread, v)
    low = float((d - spread / 2).clip(0).min())
    high = float((d + spread / 2).max())
    cum = acc.cumulative_cc(low, high)
    edges = acc.edges_gy[: cum.size]
    lo = np.maximum(d - spread / 2, 0.0)
    hi = d + spread / 2
    pick = np.r_[0 : cum.size : 97, cum.size - 3 : cum.size]
    expected = _direct(lo, hi, v, edges[pick])
    expected[edges[pick] <= low] = v.sum()
    assert np.allclose(cum[pick], expected, rtol=1e-9, atol=1e-12)


def test_many_points_below_do_not_disturb_the_top_of_the_curve():
    # a million samples of no width at 2 Gy (a flat, low dose) and one 1 cc ramp at
    # 59-61 Gy: the curve at 60 Gy is half of that cc, up to the rounding of sums of
    # 18 litres (1e-12 relative). Spreads this narrow entering a running slope as v / w
    # once moved the top of such a curve by 0.1 cc.
    acc = DvhAccumulator(DoseAxis())
    for _ in range(10):
        acc.add(np.full(100_000, 2.0), np.zeros(100_000), np.full(100_000, 0.018))
    acc.add(np.array([60.0]), np.array([2.0]), np.array([1.0]))
    cum = acc.cumulative_cc(2.0, 61.0)
    edges = acc.edges_gy[: cum.size]
    k = int(np.searchsorted(edges, 60.0))
    expected = 1.0 * (61.0 - edges[k]) / 2.0
    assert cum[k] == pytest.approx(expected, abs=1e-6)
    assert cum[0] == pytest.approx(18_000.0 + 1.0, rel=1e-12)


def test_removing_samples_cancels_them():
    rng = np.random.default_rng(5)
    d, s, v = rng.uniform(0, 70, 5000), rng.uniform(0, 1, 5000), rng.uniform(0, 0.01, 5000)
    a = DvhAccumulator(DoseAxis())
    a.add(d, s, v)
    b = DvhAccumulator(DoseAxis())
    b.add(d, s, v)
    b.add(d[:100], s[:100], -v[:100])
    b.add(d[:100], s[:100], v[:100])
    high = float((d + s / 2).max())
    assert np.allclose(a.cumulative_cc(0.0, high), b.cumulative_cc(0.0, high), atol=1e-12)


def test_edges_are_one_mgy_then_relative_and_grow_with_the_logarithm_of_the_maximum():
    axis = DoseAxis()
    e = axis.edges(30_000)
    assert np.allclose(np.diff(e[:10_001]), 1e-3)
    assert np.allclose(np.diff(e[10_000:]) / e[10_000:-1], 1e-4)
    assert axis.position(e)[5] == pytest.approx(5.0) and axis.position(e)[25_000] == pytest.approx(25_000.0)
    # 70 Gy, a 400 Gy brachytherapy grid, a cGy grid read as 7000 Gy
    n70, n400, n7000 = (axis.n_edges(top) for top in (70.0, 400.0, 7000.0))
    assert 29_000 < n70 < 30_000 and 46_000 < n400 < 48_000 and 75_000 < n7000 < 77_000
