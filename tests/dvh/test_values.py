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
