"""Even-odd rasterisation: areas against geometry, holes, parts, edge conventions."""

import numpy as np
import pytest

from plancheck.dvh.rasterise import rasterise_even_odd
from tests.dvh.shapes import circle


def _area(mask: np.ndarray, px: float) -> float:
    return float(mask.sum()) * px * px


def test_aligned_square_is_exact():
    # square [0, 10] x [0, 5] on a 1 mm lattice from 0: pixel centres 0.5..9.5 x 0.5..4.5
    sq = np.array([[0, 0], [10, 0], [10, 5], [0, 5]], float)
    mask = rasterise_even_odd([sq], 0.0, 0.0, 1.0, 1.0, (8, 12))
    assert mask.sum() == 50
    assert mask[:5, :10].all()


def test_circle_area_converges():
    r = 10.0
    px = 0.1
    mask = rasterise_even_odd([circle(0, 0, r)], -12.0, -12.0, px, px, (240, 240))
    assert _area(mask, px) == pytest.approx(np.pi * r * r, rel=2e-3)


def test_inner_contour_is_a_hole():
    ring = [circle(0, 0, 10.0), circle(0, 0, 4.0)]
    px = 0.1
    mask = rasterise_even_odd(ring, -12.0, -12.0, px, px, (240, 240))
    assert _area(mask, px) == pytest.approx(np.pi * (100 - 16), rel=3e-3)
    assert not mask[120, 120]  # centre (0.05, 0.05) is in the hole


def test_island_inside_hole_counts_again():
    shapes = [circle(0, 0, 10.0), circle(0, 0, 6.0), circle(0, 0, 3.0)]
    px = 0.1
    mask = rasterise_even_odd(shapes, -12.0, -12.0, px, px, (240, 240))
    assert _area(mask, px) == pytest.approx(np.pi * (100 - 36 + 9), rel=3e-3)


def test_two_disjoint_parts_add():
    parts = [circle(-6, 0, 3.0), circle(6, 0, 3.0)]
    px = 0.05
    mask = rasterise_even_odd(parts, -12.0, -6.0, px, px, (240, 480))
    assert _area(mask, px) == pytest.approx(2 * np.pi * 9, rel=3e-3)


def test_orientation_of_vertices_does_not_matter():
    c = circle(0, 0, 5.0)
    a = rasterise_even_odd([c], -6.0, -6.0, 0.1, 0.1, (120, 120))
    b = rasterise_even_odd([c[::-1]], -6.0, -6.0, 0.1, 0.1, (120, 120))
    assert np.array_equal(a, b)


def test_polygon_outside_lattice_and_degenerate_input():
    far = circle(100, 100, 2.0)
    assert not rasterise_even_odd([far], 0.0, 0.0, 1.0, 1.0, (10, 10)).any()
    assert not rasterise_even_odd([np.array([[0.0, 0.0], [1.0, 1.0]])], 0.0, 0.0, 1.0, 1.0, (4, 4)).any()
    assert rasterise_even_odd([], 0.0, 0.0, 1.0, 1.0, (3, 3)).shape == (3, 3)


def test_partly_clipped_polygon_counts_only_lattice_pixels():
    sq = np.array([[-5, -5], [5, -5], [5, 5], [-5, 5]], float)
    mask = rasterise_even_odd([sq], 0.0, 0.0, 1.0, 1.0, (10, 10))
    assert mask.sum() == 25


@pytest.mark.parametrize("px", [0.4, 1.0, 2.0])
def test_coverage_fraction_gives_area_even_on_coarse_lattices(px):
    from plancheck.dvh.rasterise import coverage_even_odd

    n = int(26 / px) + 1
    ring = [circle(0.3, -0.2, 10.0), circle(0.3, -0.2, 5.0)]
    frac = coverage_even_odd(ring, -13.0, -13.0, px, px, (n, n))
    assert frac.min() >= 0.0 and frac.max() <= 1.0
    # sub-row sampling along y leaves an error of order px^2 / r^2; 2e-3 at 2 mm for r = 5
    assert float(frac.sum()) * px * px == pytest.approx(np.pi * 75, rel=2e-3)


def test_coverage_of_lattice_aligned_square_is_exact():
    from plancheck.dvh.rasterise import coverage_even_odd

    sq = np.array([[0.25, 0.0], [2.75, 0.0], [2.75, 2.0], [0.25, 2.0]])
    frac = coverage_even_odd([sq], 0.0, 0.0, 1.0, 1.0, (3, 4))
    assert frac[0].tolist() == pytest.approx([0.75, 1.0, 0.75, 0.0])
    assert frac[2].sum() == 0.0
