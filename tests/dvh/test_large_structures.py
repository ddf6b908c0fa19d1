"""Large structures in steep dose gradients against a dense, independent truth.

A body of 7.9 litres (an elliptic cylinder 280 x 200 x 180 mm, contoured every
3 mm with ``plancheck.phantoms``) crossed by a narrow beam with a steep
penumbra (error-function edges, sigma 2.5 mm: 80-20 % in 4.2 mm), on a
2.5 x 2.5 x 3 mm dose grid offset from the contour planes. Two dose
distributions:

* the beam only: its highest dose inside the body lies on the skin where the
  beam enters (the grid's maximum, beyond the skin, is not inside);
* the beam with a hot spot centred on a grid point inside the body: the
  highest dose inside is that grid point's value.

Truth (``tests/dvh/dense.py``): the exact contour-stack volume (shoelace area
x slab thickness), the exact largest trilinear dose inside the stack, and
D0.03cc, D2 % and the mean from a dense stratified sampling of the trilinear
dose inside the contours (2 mm, eight times finer where the dose is highest).
Acceptance (issue "large structures"): no Max above the true maximum; Max,
D0.03cc and D2 % within 0.5 %; volume within 0.1 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from plancheck.dvh.engine import compute_dvh
from plancheck.dvh.metric import parse_metric
from plancheck.dvh.slabs import compute_slabs
from plancheck.dvh.values import metric_value
from plancheck.model import DoseGrid, EndCaps
from plancheck.phantoms.shapes import EllipticCylinder, PlaneLattice, contour_shape
from tests.dvh.dense import dense_samples, exact_max_gy

pytestmark = pytest.mark.slow


def _profile(u, a, b, sigma):
    s = np.sqrt(2.0) * sigma
    return 0.5 * (erf((u - a) / s) - erf((u - b) / s))


def _body():
    shape = EllipticCylinder((140.0, 100.0), 180.0, (0.0, 0.0, 0.0))
    planes = PlaneLattice((3.0,), 1.5).positions_mm(-90.0, 90.0)
    return contour_shape(shape, planes, roi_number=1, name="Body")


def _grid(hot_spot: bool) -> DoseGrid:
    x = np.arange(-150.0, 150.01, 2.5) + 0.3
    y = np.arange(-110.0, 110.01, 2.5) - 0.7
    z = np.arange(-99.0, 99.01, 3.0) + 0.4
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    beam = _profile(xx, -15.0, 15.0, 2.5) * _profile(zz, -15.0, 15.0, 2.5) * np.exp(-0.004 * (yy + 100.0))
    dose = 60.0 * beam + 2.0
    if hot_spot:
        cx, cy, cz = float(x[62]), float(y[40]), float(z[34])  # a grid point inside the body
        dose += 25.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2 + (zz - cz) ** 2) / (2 * 5.0**2))
    return DoseGrid(dose, x, y, z, "1.2.3")


def value(metric: str, dvh) -> float:
    return metric_value(parse_metric(metric), dvh)


@pytest.fixture(scope="module")
def body():
    s = _body()
    sl = compute_slabs([p.z_mm for p in s.planes], EndCaps.HALF)
    return s, list(zip(sl.lower_mm.tolist(), sl.upper_mm.tolist(), strict=True))


@pytest.mark.parametrize("hot_spot", [False, True], ids=["max-on-skin", "max-inside"])
def test_large_body_in_a_steep_gradient(body, hot_spot):
    structure, slabs = body
    grid = _grid(hot_spot)
    dvh = compute_dvh(structure, grid)
    dense = dense_samples(structure, slabs, grid, step_mm=2.0)
    true_max = exact_max_gy(structure, slabs, grid)
    if hot_spot:
        assert true_max == pytest.approx(float(grid.dose_gy.max()), abs=1e-9)
    else:
        assert true_max < float(grid.dose_gy.max()) - 1.0  # the grid's hottest points lie beyond the skin
    assert value("Volume[cc]", dvh) == pytest.approx(dense.stack_volume_cc, rel=1e-3)
    assert dvh.volume_outside_grid_cc == 0.0
    assert value("Max[Gy]", dvh) <= true_max + 1e-9 * true_max
    assert value("Max[Gy]", dvh) == pytest.approx(true_max, rel=5e-3)
    assert value("D0.03cc[Gy]", dvh) == pytest.approx(dense.dose_at_volume_gy(0.03), rel=5e-3)
    assert value("D2%[Gy]", dvh) == pytest.approx(dense.dose_at_percent_gy(2.0), rel=5e-3)
    assert value("Mean[Gy]", dvh) == pytest.approx(dense.mean_gy, rel=1e-3)
