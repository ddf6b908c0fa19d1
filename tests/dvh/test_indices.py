"""Plan-quality indices on hand-built DVHs with closed forms.

Target: 10 cc uniform between 38 and 42 Gy. Body: 1000 cc, of which 15 cc
receives >= 40 Gy and 60 cc >= 20 Gy (a step curve built below).
"""

import numpy as np
import pytest

from plancheck.dvh.indices import (
    IndexKind,
    compute_index,
    gradient_index,
    homogeneity_index,
    paddick_ci,
    rtog_ci,
)
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

W = 0.001


def _curve(points):
    """Piecewise-linear cumulative curve through (dose, volume) points."""
    d = np.arange(0, 60.0 / W) * W
    dose, vol = zip(*points, strict=True)
    return np.interp(d, dose, vol)


TARGET = Dvh(W, _curve([(0, 10), (38, 10), (42, 0), (60, 0)]), 10.0, 0.0, 38.0, 40.0, 42.0)
BODY = Dvh(W, _curve([(0, 1000), (19.999, 60), (20, 60), (39.999, 15), (40, 15), (42, 0), (60, 0)]), 1000.0, 0.0, 0.0, 5.0, 42.0)


def test_homogeneity_index():
    # D2 = 42 - 0.08 = 41.92, D98 = 38.08, D50 = 40
    assert homogeneity_index(TARGET) == pytest.approx((41.92 - 38.08) / 40, abs=1e-4)


def test_conformity_and_gradient():
    assert rtog_ci(TARGET, BODY, 40.0) == pytest.approx(1.5, abs=1e-3)
    assert paddick_ci(TARGET, BODY, 40.0) == pytest.approx(5.0 * 5.0 / (10 * 15), abs=1e-3)
    assert gradient_index(BODY, 40.0) == pytest.approx(60 / 15, abs=1e-2)
    assert compute_index(IndexKind.GRADIENT, TARGET, BODY, 40.0) == pytest.approx(4.0, abs=1e-2)


def test_undefined_indices_raise():
    empty = Dvh(W, np.zeros(1), 0.0, 0.0, None, None, None)
    with pytest.raises(MetricUndefinedError):
        homogeneity_index(empty)
    with pytest.raises(MetricUndefinedError, match="receives the prescription"):
        paddick_ci(TARGET, BODY, 59.0)
    with pytest.raises(MetricUndefinedError, match="body"):
        compute_index(IndexKind.CONFORMITY_RTOG, TARGET, None, 40.0)
