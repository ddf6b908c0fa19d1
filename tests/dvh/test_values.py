"""Reading metrics off a DVH: interpolation and the undefined cases.

The DVH here is written by hand: 10 cc, uniform between 10 and 20 Gy
(V(d) = 10 cc * (20 - d) / 10), so every value has a one-line closed form.
"""

import numpy as np
import pytest

from plancheck.dvh.metric import parse_metric
from plancheck.dvh.values import metric_value
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

W = 0.001


def uniform_dvh(lo=10.0, hi=20.0, volume=10.0, outside=0.0) -> Dvh:
    edges = np.arange(0, round(hi / W) + 2) * W
    cum = np.clip(volume * (hi - edges) / (hi - lo), 0.0, volume)
    return Dvh(W, cum, volume + outside, outside, lo, (lo + hi) / 2, hi)


def v(text, dvh, rx=None):
    return metric_value(parse_metric(text), dvh, rx)


def test_dose_metrics_interpolate():
    d = uniform_dvh()
    assert v("D95%[Gy]", d) == pytest.approx(10.5, abs=1e-6)
    assert v("D50%[Gy]", d) == pytest.approx(15.0, abs=1e-6)
    assert v("D0.03cc[Gy]", d) == pytest.approx(20 - 0.03, abs=1e-6)
    assert v("D2cc[cGy]", d) == pytest.approx(1800.0, abs=1e-4)
    assert v("DC2cc[Gy]", d) == pytest.approx(12.0, abs=1e-6)
    assert v("D100%[Gy]", d) == pytest.approx(10.0)
    assert v("Max[Gy]", d) == 20.0 and v("Min[Gy]", d) == 10.0 and v("Mean[Gy]", d) == 15.0


def test_volume_metrics_interpolate():
    d = uniform_dvh()
    assert v("V12.5Gy[cc]", d) == pytest.approx(7.5, abs=1e-9)
    assert v("V12.5Gy[%]", d) == pytest.approx(75.0, abs=1e-7)
    assert v("V1250cGy[cc]", d) == pytest.approx(7.5, abs=1e-9)
    assert v("CV12.5Gy[cc]", d) == pytest.approx(2.5, abs=1e-9)
    assert v("V25Gy[cc]", d) == 0.0
    assert v("V0Gy[cc]", d) == 10.0


def test_relative_to_prescription():
    d = uniform_dvh()
    assert v("V95%[%]", d, rx=15.0) == pytest.approx(100 * (20 - 14.25) / 10, abs=1e-6)
    assert v("D50%[%]", d, rx=15.0) == pytest.approx(100.0, abs=1e-5)
    with pytest.raises(MetricUndefinedError, match="prescription"):
        v("V95%[%]", d)
    with pytest.raises(MetricUndefinedError, match="prescription"):
        v("D2%[%]", d)


def test_volume_larger_than_structure_is_undefined_not_zero():
    d = uniform_dvh(volume=1.0)
    with pytest.raises(MetricUndefinedError, match="needs 2 cc"):
        v("D2cc[Gy]", d)
    with pytest.raises(MetricUndefinedError):
        v("DC2cc[Gy]", d)


def test_empty_structure_is_undefined():
    empty = Dvh(W, np.zeros(1), 0.0, 0.0, None, None, None)
    for m in ("D95%[Gy]", "Mean[Gy]", "V20Gy[cc]", "Volume[cc]"):
        with pytest.raises(MetricUndefinedError):
            v(m, empty)


def test_relative_volumes_refer_to_the_part_inside_the_grid():
    d = uniform_dvh(outside=5.0)
    assert v("Volume[cc]", d) == 15.0
    assert v("V15Gy[%]", d) == pytest.approx(50.0, abs=1e-6)


def _accumulated_dvh(seed: int = 3) -> Dvh:
    """A curve made the way the engine makes it: spread samples accumulated to a 60 Gy top.

    Its edges beyond the samples' range carry the rounding residue of the cumulative sums.
    """
    from plancheck.dvh.histogram import DoseAxis, DvhAccumulator

    rng = np.random.default_rng(seed)
    acc = DvhAccumulator(DoseAxis())
    dose = rng.uniform(10.0, 20.0, 5000)
    spread = rng.uniform(0.0, 0.5, dose.size)
    acc.add(dose, spread, rng.uniform(0.001, 0.02, dose.size))
    low, high = float((dose - spread / 2).min()), float((dose + spread / 2).max())
    cum = acc.cumulative_cc(low, high)
    volume = acc.volume_cc
    return Dvh(W, cum, volume, 0.0, low, acc.dose_volume_gy_cc / volume, high, acc.edges_gy[: cum.size])


def test_no_volume_above_the_maximum_is_exactly_zero():
    # every sample's spread ends at or below max_gy: nothing receives more (definition of Max)
    d = _accumulated_dvh()
    above = np.ceil(d.max_gy * 1e6) / 1e6 + 1e-6  # written with 6 decimals, above Max
    for dose in (above, d.max_gy + 0.5, 30.0, 59.0):
        assert v(f"V{dose:.6f}Gy[cc]", d) == 0.0
        assert v(f"V{dose:.6f}Gy[%]", d) == 0.0
        assert v(f"CV{dose:.6f}Gy[cc]", d) == d.volume_in_grid_cc


def test_whole_volume_at_or_below_the_minimum_is_exact():
    # every sample's spread starts at or above min_gy: the whole volume receives at least Min
    d = _accumulated_dvh()
    total = d.volume_in_grid_cc
    at_min = np.floor(d.min_gy * 1e6) / 1e6  # written with 6 decimals, not above Min
    for dose in (at_min, at_min - 1e-6, 5.0):
        assert v(f"V{dose:.6f}Gy[cc]", d) == total
        assert v(f"V{dose:.6f}Gy[%]", d) == 100.0
        assert v(f"CV{dose:.6f}Gy[cc]", d) == 0.0


def test_uniform_dose_field_is_received_by_the_whole_volume():
    # all 10 cc at exactly 12.3456 Gy (a point spread): V(12.3456 Gy) is the whole volume
    from plancheck.dvh.histogram import DoseAxis, DvhAccumulator

    acc = DvhAccumulator(DoseAxis())
    acc.add(np.full(100, 12.3456), np.zeros(100), np.full(100, 0.1))
    cum = acc.cumulative_cc(12.3456, 12.3456)
    d = Dvh(W, cum, acc.volume_cc, 0.0, 12.3456, 12.3456, 12.3456, acc.edges_gy[: cum.size])
    assert v("V12.3456Gy[cc]", d) == pytest.approx(10.0, abs=1e-12)
    assert v("V12.3457Gy[cc]", d) == 0.0


def test_residue_below_resolution_is_zero_but_small_real_volumes_are_kept():
    # a 1e-6 cc hot tail is real volume (1e-7 of the structure): kept; 1e-13 cc is residue
    edges = np.arange(0, 20002) * W
    cum = np.where(edges <= 10.0, 10.0, 0.0)
    cum[(edges > 10.0) & (edges <= 15.0)] = 1e-6
    cum[edges > 15.0] = 1e-13
    d = Dvh(W, cum, 10.0, 0.0, 10.0, 10.0, 20.0)
    assert v("V12Gy[cc]", d) == pytest.approx(1e-6, rel=1e-9)
    assert v("V17Gy[cc]", d) == 0.0
