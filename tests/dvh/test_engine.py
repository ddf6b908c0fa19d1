"""The engine against closed forms.

Truths used here:
* a sphere of radius R in a linear field D = D0 + g·y: the volume receiving at
  least D0 + g·h is the spherical cap above height h, pi (R-h)^2 (2R+h) / 3;
  the mean dose is the dose at the centre;
* a uniform field: every voxel has the same dose;
* a cylinder (prism of a circle) along z in a z gradient: V(d) is the area
  times the length above the plane where the dose equals d.
"""

import numpy as np
import pytest

from plancheck.dvh.engine import DvhSettings, compute_dvh
from plancheck.dvh.metric import parse_metric
from plancheck.dvh.values import metric_value
from plancheck.model import DoseGrid, EndCaps, Structure
from tests.dvh.shapes import circle, linear_grid, prism, sphere, sphere_dose_at_volume_gy


def value(metric: str, dvh, prescription_gy=None) -> float:
    return metric_value(parse_metric(metric), dvh, prescription_gy)


R = 12.0
SPHERE = sphere(R, 0.25)
SPHERE_CC = 4 / 3 * np.pi * R**3 / 1000


@pytest.mark.parametrize("grid_mm", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("gradient", [(0, 1, 0), (0, 0, 1), (1, 0, 0), (0.6, 0.8, 0)])
def test_sphere_in_linear_gradient_matches_cap_formula(grid_mm, gradient):
    g = float(np.linalg.norm(gradient))
    dvh = compute_dvh(SPHERE, linear_grid(grid_mm, gradient, offset_gy=16.0))
    assert value("Volume[cc]", dvh) == pytest.approx(SPHERE_CC, rel=2e-3)
    assert value("Mean[Gy]", dvh) == pytest.approx(16.0, rel=1e-3)
    vol_mm3 = SPHERE_CC * 1000
    for pct in (99, 95, 50, 5, 1):
        truth = sphere_dose_at_volume_gy(R, g, 16.0, vol_mm3 * pct / 100)
        assert value(f"D{pct}%[Gy]", dvh) == pytest.approx(truth, rel=1e-2), pct
    truth_003 = sphere_dose_at_volume_gy(R, g, 16.0, 30.0)
    assert value("D0.03cc[Gy]", dvh) == pytest.approx(truth_003, rel=1e-2)


def test_uniform_dose_gives_a_step():
    grid = linear_grid(2.5, (0, 0, 0), offset_gy=20.0)
    dvh = compute_dvh(SPHERE, grid)
    assert value("Min[Gy]", dvh) == pytest.approx(20.0, abs=2e-3)
    assert value("Max[Gy]", dvh) == pytest.approx(20.0, abs=2e-3)
    assert value("V19.9Gy[%]", dvh) == pytest.approx(100.0)
    assert value("V20.1Gy[cc]", dvh) == 0.0
    assert value("D50%[Gy]", dvh) == pytest.approx(20.0, abs=2e-3)


def test_cylinder_along_z_gradient_in_end_slabs():
    # r = 10 mm, planes every 3 mm from 0 to 30 (11 planes); half caps -> z from -1.5 to 31.5
    z = np.arange(0.0, 30.1, 3.0)
    cyl = prism([circle(0, 0, 10.0)], z)
    grid = linear_grid(2.0, (0, 0, 0.5), offset_gy=10.0, half_width_mm=50)
    dvh = compute_dvh(cyl, grid)
    area = np.pi * 100
    length = 33.0
    assert value("Volume[cc]", dvh) == pytest.approx(area * length / 1000, rel=2e-3)
    # dose = 10 + 0.5 z: V(d) = area * (31.5 - (d - 10) / 0.5)
    for v_frac in (0.98, 0.5, 0.02):
        z_at = 31.5 - v_frac * length
        assert value(f"D{v_frac * 100:g}%[Gy]", dvh) == pytest.approx(10 + 0.5 * z_at, rel=5e-3)
    assert value("Min[Gy]", dvh) == pytest.approx(10 + 0.5 * -1.5, abs=0.05)
    assert value("Max[Gy]", dvh) == pytest.approx(10 + 0.5 * 31.5, abs=0.05)
    none = compute_dvh(cyl, grid, DvhSettings(end_caps=EndCaps.NONE))
    assert value("Volume[cc]", none) == pytest.approx(area * 30 / 1000, rel=2e-3)


def test_ring_with_hole_volume_and_dose():
    z = np.arange(-10.0, 10.1, 1.0)
    ring = prism([circle(0, 0, 15.0), circle(0, 0, 5.0)], z, "Ring")
    grid = linear_grid(2.0, (0, 1, 0), offset_gy=30.0)
    dvh = compute_dvh(ring, grid)
    assert value("Volume[cc]", dvh) == pytest.approx(np.pi * (225 - 25) * 21 / 1000, rel=3e-3)
    assert value("Mean[Gy]", dvh) == pytest.approx(30.0, abs=0.02)


def test_part_outside_dose_grid_is_reported_not_dropped():
    # grid spans y in [-20, 20] (+- half a voxel); a sphere at y = 20 is half outside
    s = sphere(8.0, 0.5, centre=(0.0, 21.0, 0.0))
    grid = linear_grid(2.0, (0, 0, 0), offset_gy=5.0, half_width_mm=20)
    dvh = compute_dvh(s, grid)
    full = 4 / 3 * np.pi * 8.0**3 / 1000
    assert dvh.volume_cc == pytest.approx(full, rel=3e-3)
    assert 0.2 * full < dvh.volume_outside_grid_cc < 0.8 * full
    assert dvh.volume_in_grid_cc + dvh.volume_outside_grid_cc == pytest.approx(dvh.volume_cc)
    assert value("Mean[Gy]", dvh) == pytest.approx(5.0, abs=1e-3)


def test_structure_entirely_outside_grid_has_undefined_doses():
    from plancheck.errors import MetricUndefinedError

    s = sphere(5.0, 1.0, centre=(0.0, 0.0, 200.0))
    dvh = compute_dvh(s, linear_grid(2.0))
    assert dvh.volume_outside_grid_cc == pytest.approx(dvh.volume_cc)
    assert value("Volume[cc]", dvh) > 0
    with pytest.raises(MetricUndefinedError, match="outside the dose grid"):
        value("Mean[Gy]", dvh)


def test_structure_without_contours():
    from plancheck.errors import MetricUndefinedError

    empty = Structure(9, "Empty", None, ())
    dvh = compute_dvh(empty, linear_grid(2.0))
    assert dvh.volume_cc == 0.0
    for m in ("Volume[cc]", "D95%[Gy]", "Max[Gy]"):
        with pytest.raises(MetricUndefinedError, match="no volume"):
            value(m, dvh)


def test_uneven_dose_frames_interpolate_linearly():
    base = linear_grid(2.0, (0, 0, 1.0), offset_gy=20.0)
    keep = np.r_[0:20, 21:24, 26:41]  # drop two frames: uneven z spacing
    z = base.z_mm[keep]
    uneven = DoseGrid(base.dose_gy[keep], base.x_mm, base.y_mm, z, "1.2.3")
    a = compute_dvh(SPHERE, base)
    b = compute_dvh(SPHERE, uneven)
    for m in ("Mean[Gy]", "D95%[Gy]", "D5%[Gy]"):
        assert value(m, b) == pytest.approx(value(m, a), rel=1e-3)


def test_translation_of_dose_and_structure_together():
    shift = (7.3, -4.1, 2.6)
    s1 = sphere(6.0, 0.5)
    s2 = sphere(6.0, 0.5, centre=shift)
    g1 = linear_grid(2.5, (0.3, 0.2, 0.4), offset_gy=10.0)
    g2 = linear_grid(2.5, (0.3, 0.2, 0.4), offset_gy=10.0 - (0.3 * shift[0] + 0.2 * shift[1] + 0.4 * shift[2]), centre=shift)
    d1, d2 = compute_dvh(s1, g1), compute_dvh(s2, g2)
    for m in ("Volume[cc]", "Mean[Gy]", "D98%[Gy]", "D2%[Gy]"):
        assert value(m, d2) == pytest.approx(value(m, d1), rel=2e-3)
