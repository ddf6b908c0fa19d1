"""Ranges of metrics when part of a structure has no known dose (plancheck.dvh.bounds).

The DVHs are written by hand: a structure of 10 cc inside the grid at a uniform
dose (its cumulative curve is V_in up to that dose, 0 beyond), plus a part of
known volume outside the grid. Every range follows from the definitions: the
outside part may receive anything from 0 Gy to an unbounded dose.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plancheck.dvh.bounds import metric_range
from plancheck.dvh.metric import parse_metric
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

BIN = 0.001


def uniform(dose_gy: float, inside_cc: float, outside_cc: float) -> Dvh:
    """``inside_cc`` at exactly ``dose_gy``; ``outside_cc`` beyond the grid."""
    n = round(dose_gy / BIN) + 1
    cum = np.full(n + 1, inside_cc)
    cum[-1] = 0.0  # receives at least dose_gy, nothing above
    return Dvh(BIN, cum, inside_cc + outside_cc, outside_cc, dose_gy, dose_gy, dose_gy)


def rng(metric: str, dvh: Dvh, rx: float | None = None, uncertain_cc: float = 0.0):
    return metric_range(parse_metric(metric), dvh, rx, uncertain_cc=uncertain_cc)


def test_no_unknown_volume_gives_the_value_twice():
    low, high = rng("Mean[Gy]", uniform(20.0, 10.0, 0.0))
    assert low == high == pytest.approx(20.0)


def test_volume_at_dose_in_cc_and_percent():
    d = uniform(20.0, 10.0, 5.0)  # 15 cc in all, 5 cc outside
    assert rng("V15Gy[cc]", d) == pytest.approx((10.0, 15.0))  # the 5 cc at 0 Gy or above 15 Gy
    assert rng("V25Gy[cc]", d) == pytest.approx((0.0, 5.0))
    assert rng("V25Gy[%]", d) == pytest.approx((0.0, 100 * 5 / 15))
    assert rng("CV25Gy[cc]", d) == pytest.approx((10.0, 15.0))
    assert rng("V0Gy[cc]", d) == pytest.approx((15.0, 15.0))  # everything receives at least 0 Gy


def test_maximum_and_mean_have_no_upper_bound():
    d = uniform(20.0, 10.0, 5.0)
    low, high = rng("Max[Gy]", d)
    assert low == pytest.approx(20.0) and math.isinf(high)
    low, high = rng("Mean[Gy]", d)
    assert low == pytest.approx(20.0 * 10 / 15) and math.isinf(high)  # the outside part at 0 Gy
    assert rng("Min[Gy]", d) == pytest.approx((0.0, 20.0))


def test_dose_at_volume():
    d = uniform(20.0, 10.0, 5.0)
    # at most 5 cc unknown: D0.03cc is at least 20 Gy and unbounded above
    low, high = rng("D0.03cc[Gy]", d)
    assert low == pytest.approx(20.0) and math.isinf(high)
    # D8cc: the hottest 8 cc include at most 5 cc outside, so at least 3 cc at 20 Gy remain
    assert rng("D8cc[Gy]", d) == pytest.approx((20.0, 20.0), abs=2 * BIN)
    # D12cc needs 2 cc of the outside part: it is between 0 Gy (outside at 0) and 20 Gy
    assert rng("D12cc[Gy]", d) == pytest.approx((0.0, 20.0), abs=2 * BIN)
    # D95% of 15 cc = 14.25 cc: between 0 and 20 Gy
    assert rng("D95%[Gy]", d) == pytest.approx((0.0, 20.0), abs=2 * BIN)
    # relative output
    low, high = rng("D0.03cc[%]", d, rx=40.0)
    assert low == pytest.approx(50.0) and math.isinf(high)
    with pytest.raises(MetricUndefinedError, match="needs 20 cc"):
        rng("D20cc[Gy]", d)


def test_uncertain_volume_inside_the_grid_only_raises_the_upper_bound():
    d = uniform(20.0, 10.0, 0.0)  # nothing outside; 4 cc may be hotter than the curve says
    low, high = rng("V25Gy[cc]", d, uncertain_cc=4.0)
    assert (low, high) == pytest.approx((0.0, 4.0))
    low, high = rng("Mean[Gy]", d, uncertain_cc=4.0)
    assert low == pytest.approx(20.0) and math.isinf(high)
    assert rng("D8cc[Gy]", d, uncertain_cc=4.0)[0] == pytest.approx(20.0, abs=2 * BIN)


def test_entirely_outside():
    d = Dvh(BIN, np.zeros(1), 5.0, 5.0, None, None, None)
    assert rng("V10Gy[cc]", d) == pytest.approx((0.0, 5.0))
    low, high = rng("D50%[Gy]", d)
    assert low == 0.0 and math.isinf(high)
