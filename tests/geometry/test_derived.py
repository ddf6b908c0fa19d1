"""Derived structures against geometry: shells, margins, differences.

Truths: a sphere of radius R expanded by m is a sphere of radius R + m; a
cylinder minus a coaxial cylinder is an annulus of area pi (R^2 - r^2).
"""

import numpy as np
import pytest

from plancheck.dvh.engine import compute_dvh
from plancheck.geometry.derived import difference, expand, intersection, union
from tests.dvh.shapes import circle, linear_grid, prism, sphere

GRID = linear_grid(2.0, (0, 0, 0), offset_gy=1.0, half_width_mm=40)


def vol(s):
    return compute_dvh(s, GRID).volume_cc


def test_difference_makes_a_ring():
    z = np.arange(-10, 10.1, 2.0)
    outer = prism([circle(0, 0, 15.0)], z, "PTV")
    inner = prism([circle(0, 0, 6.0)], z, "PTV_boost")
    ring = difference(outer, inner, "PTV-PTV_boost")
    assert vol(ring) == pytest.approx(np.pi * (225 - 36) * 22 / 1000, rel=3e-3)
    assert vol(union(outer, inner, "u")) == pytest.approx(vol(outer), rel=1e-6)
    assert vol(intersection(outer, inner, "i")) == pytest.approx(vol(inner), rel=1e-3)


def test_difference_with_non_coplanar_subtrahend_uses_its_slabs():
    outer = prism([circle(0, 0, 15.0)], np.arange(-10, 10.1, 2.0), "PTV")
    inner = prism([circle(0, 0, 6.0)], np.arange(-4.5, 4.6, 3.0), "Boost")  # slabs -6..6
    ring = difference(outer, inner, "ring")
    expected = np.pi * 225 * 22 - np.pi * 36 * 12  # boost removed over its 12 mm extent
    assert vol(ring) * 1000 == pytest.approx(expected, rel=5e-3)


@pytest.mark.parametrize("margin", [3.0, 5.0])
def test_sphere_margin_grows_radius(margin):
    s = sphere(10.0, 1.0)
    grown = expand(s, margin, "PRV")
    r = 10.0 + margin
    assert vol(grown) == pytest.approx(4 / 3 * np.pi * r**3 / 1000, rel=1e-2)


def test_contraction_shrinks_radius():
    s = sphere(12.0, 1.0)
    shrunk = expand(s, -3.0, "inner")
    assert vol(shrunk) == pytest.approx(4 / 3 * np.pi * 9.0**3 / 1000, rel=2e-2)
