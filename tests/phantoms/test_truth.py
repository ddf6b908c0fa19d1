"""The closed-form truth against independent estimates.

* Monte-Carlo sampling of the contour stack (ray-casting point-in-polygon
  written in the test, fixed seed): volume, mean and V(d) within 4 standard
  errors of the estimate (the standard error is computed, not chosen).
* Closed forms for the ideal solids when the contour spacing is small
  (spherical caps, circular segments, cone frusta), within the size of the
  contour stack's own deviation from the solid (stated per test).
* An exact closed form for the stack of a sphere contoured at slab mid-points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plancheck.model import EndCaps, Structure
from plancheck.phantoms.build import build_phantom, standard_spec
from plancheck.phantoms.fields import LinearField
from plancheck.phantoms.shapes import (
    Cone,
    Cylinder,
    PlaneLattice,
    Ring,
    Sphere,
    TwoPart,
    contour_shape,
)
from plancheck.phantoms.truth import compute_truth, slab_bounds
from tests.phantoms.montecarlo import sample

N_MC = 300_000
K_SIGMA = 4.0
# Vertices are rounded to 1e-6 mm (as written to DICOM): each moves by at most 5e-7 mm, which
# changes a polygon's area by at most perimeter x 5e-7 mm, 1e-7 of the area for radii >= 10 mm.
ROUNDING_REL = 1e-7


def contoured(shape, spacing, origin=None, n_vertices=None, name="S"):
    lo, hi = shape.z_extent_mm()
    if origin is None:
        origin = lo + spacing[0] / 2
    z = PlaneLattice(tuple(spacing), origin).positions_mm(lo, hi)
    return contour_shape(shape, z, roi_number=1, name=name, n_vertices=n_vertices)


# -- slab convention, by hand ---------------------------------------------------------
def test_slab_bounds_by_hand():
    # planes 1 mm apart with one missing plane (2 mm: bridged) and a gap (15 mm > 2.5 x 1 mm)
    z = [0.0, 1.0, 3.0, 4.0, 5.0, 20.0, 21.0]
    lo, hi = slab_bounds(z, EndCaps.HALF)
    np.testing.assert_allclose(lo, [-0.5, 0.5, 2.0, 3.5, 4.5, 19.5, 20.5])
    np.testing.assert_allclose(hi, [0.5, 2.0, 3.5, 4.5, 5.5, 20.5, 21.5])
    lo, hi = slab_bounds(z, EndCaps.NONE)
    np.testing.assert_allclose(lo, [0.0, 0.5, 2.0, 3.5, 4.5, 20.0, 20.5])
    np.testing.assert_allclose(hi, [0.5, 2.0, 3.5, 4.5, 5.0, 20.5, 21.0])


def test_isolated_plane_keeps_half_caps():
    lo, hi = slab_bounds([0.0, 1.0, 2.0, 10.0], EndCaps.NONE)
    assert (lo[-1], hi[-1]) == (9.5, 10.5)
    lo, hi = slab_bounds([3.0], EndCaps.NONE, nominal_spacing_mm=2.0)
    assert (lo[0], hi[0]) == (2.0, 4.0)
    with pytest.raises(ValueError, match="nominal"):
        slab_bounds([3.0], EndCaps.HALF)


# -- exact closed form of a stack -----------------------------------------------------
@pytest.mark.parametrize("spacing", [0.5, 1.0, 2.5])
def test_sphere_stack_volume_exact(spacing):
    """Planes at slab mid-points filling [-R, R]: midpoint rule of pi (R² - z²), exact up to
    its O(h²) term, times the area ratio of a regular n-gon to its circle."""
    r, n = 10.0, 200
    s = contoured(Sphere(r, (3.0, -2.0, 7.0)), [spacing], n_vertices=n)
    field = LinearField(10.0, (0.0, 0.0, 0.0))
    t = compute_truth(s, field, EndCaps.HALF)
    ngon = n / (2 * math.pi) * math.sin(2 * math.pi / n)
    expected = ngon * (4 / 3 * math.pi * r**3 + math.pi * r * spacing**2 / 6) / 1000
    assert t.volume_cc == pytest.approx(expected, rel=ROUNDING_REL)


# -- ideal solids in the limit of fine contours ----------------------------------------
def sphere_cap_mm3(r, h):
    h = np.clip(h, -r, r)
    return np.pi * (r - h) ** 2 * (2 * r + h) / 3


def test_sphere_fine_contours_match_spherical_caps():
    """0.2 mm planes, 512 vertices: the stack differs from the sphere by s²/(8R²) + (2π/n)²/6
    ≈ 4.5e-5 of its volume, so V(d) agrees with the cap formula within 1e-4 of the volume."""
    r = 15.0
    g = np.array([0.3, 0.4, -0.5])
    field = LinearField(20.0, tuple(g), (1.0, 2.0, 3.0))
    s = contoured(Sphere(r, (1.0, 2.0, 3.0)), [0.2], n_vertices=512)
    t = compute_truth(s, field, EndCaps.HALF)
    ideal = 4 / 3 * np.pi * r**3 / 1000
    assert t.volume_cc == pytest.approx(ideal, rel=1e-4)
    assert t.mean_gy == pytest.approx(20.0, abs=1e-9)  # symmetric stack: dose at the centre
    gn = float(np.linalg.norm(g))
    for d in np.linspace(20 - 0.99 * gn * r, 20 + 0.99 * gn * r, 9):
        expected = sphere_cap_mm3(r, (d - 20) / gn) / 1000
        assert t.volume_at_dose_cc(d) == pytest.approx(expected, abs=1e-4 * ideal)


def circle_segment_area(r, s):
    """Area of the part of a disc of radius r with u >= s."""
    s = np.clip(s, -r, r)
    return r * r * np.arccos(s / r) - s * np.sqrt(r * r - s * s)


def test_cylinder_along_z_matches_integrated_circle_segments():
    """A z-axis cylinder contoured at mid-points is exactly the prism of its polygon, so the
    truth equals ∫ segment area dz of the ideal cylinder up to the polygon's area defect
    (2π/n)²/6 = 2.5e-5 for n = 512; the integral is a 20 001-point midpoint sum here."""
    r, length = 12.0, 30.0
    g = (0.2, -0.35, 0.15)
    field = LinearField(25.0, g, (0.0, 0.0, 0.0))
    s = contoured(Cylinder(r, length, (0.0, 0.0, 0.0)), [1.0], n_vertices=512)
    t = compute_truth(s, field, EndCaps.HALF)
    gxy = math.hypot(g[0], g[1])
    zs = np.linspace(-length / 2, length / 2, 20_001)
    zs = 0.5 * (zs[1:] + zs[:-1])
    dz = length / zs.size
    vol = math.pi * r * r * length / 1000
    for d in (18.0, 22.0, 25.0, 28.0, 31.0):
        ideal = float(np.sum(circle_segment_area(r, (d - 25.0 - g[2] * zs) / gxy)) * dz) / 1000
        assert t.volume_at_dose_cc(d) == pytest.approx(ideal, abs=5e-5 * vol)


def test_cone_in_z_gradient_matches_cone_frusta():
    """Apex up, dose rising with z: V(d) is the cone above the height h where the dose is d,
    π R² (H - h)³ / (3 H²). 0.25 mm planes: the stack's deviation is O(s²/H²) ≈ 1e-4."""
    r, h_cone = 10.0, 20.0
    field = LinearField(10.0, (0.0, 0.0, 1.0), (0.0, 0.0, 0.0))
    s = contoured(Cone(r, h_cone, (0.0, 0.0, 0.0), "superior"), [0.25], n_vertices=512)
    t = compute_truth(s, field, EndCaps.HALF)
    vol = math.pi * r * r * h_cone / 3 / 1000
    assert t.volume_cc == pytest.approx(vol, rel=2e-4)
    for h in (0.0, 2.0, 5.0, 10.0, 15.0):
        expected = math.pi * r * r * (h_cone - h) ** 3 / (3 * h_cone**2) / 1000
        assert t.volume_at_dose_cc(10.0 + h) == pytest.approx(expected, abs=2e-4 * vol)


def test_tilted_cylinder_volume_converges_and_vertices_lie_on_the_surface():
    cyl = Cylinder(8.0, 20.0, (1.0, -1.0, 2.0), tilt_deg=35.0, azimuth_deg=60.0)
    s = contoured(cyl, [0.2], n_vertices=512)
    t = compute_truth(s, LinearField(1.0, (0.0, 0.0, 0.0)), EndCaps.HALF)
    assert t.volume_cc == pytest.approx(cyl.ideal_volume_mm3() / 1000, rel=2e-4)
    th, ph = math.radians(35.0), math.radians(60.0)
    axis = np.array([math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th)])
    for plane in s.planes[:: max(1, len(s.planes) // 25)]:
        ring = plane.polygons[0]
        q = np.column_stack([ring, np.full(len(ring), plane.z_mm)]) - np.array(cyl.centre)
        along = q @ axis
        radial = np.linalg.norm(q - along[:, None] * axis, axis=1)
        on_side = np.abs(radial - 8.0) < 1e-5
        on_end = np.abs(np.abs(along) - 10.0) < 1e-5
        assert np.all(on_side | on_end)
        assert np.all(radial <= 8.0 + 1e-5) and np.all(np.abs(along) <= 10.0 + 1e-5)


# -- Monte-Carlo against every shape ----------------------------------------------------
def _check_against_mc(structure, field, caps, nominal=None):
    t = compute_truth(structure, field, caps, nominal_spacing_mm=nominal)
    mc = sample(structure, field, caps, N_MC, nominal_spacing_mm=nominal)
    assert abs(mc.volume_cc - t.volume_cc) <= K_SIGMA * mc.volume_sigma_cc()
    assert abs(mc.mean_gy - t.mean_gy) <= K_SIGMA * mc.mean_sigma_gy
    assert mc.inside_dose_gy.min() >= t.min_gy - 1e-9
    assert mc.inside_dose_gy.max() <= t.max_gy + 1e-9
    for pct in (98.0, 95.0, 50.0, 5.0, 2.0):
        d = t.dose_at_percent_gy(pct)
        # the root finder's own consistency
        assert t.volume_at_dose_cc(d) == pytest.approx(t.volume_cc * pct / 100, rel=1e-9)
        p = t.volume_cc * pct / 100 / mc.box_volume_cc
        assert abs(
            mc.volume_at_dose_cc(d) - t.volume_cc * pct / 100
        ) <= K_SIGMA * mc.volume_sigma_cc(p)
    return t


OBLIQUE = (0.35, -0.5, 0.6)


@pytest.mark.parametrize("caps", [EndCaps.HALF, EndCaps.NONE])
@pytest.mark.parametrize(
    "shape",
    [
        Sphere(9.0, (2.0, 1.0, -3.0)),
        Cylinder(7.0, 16.0, (0.0, 3.0, 1.0)),
        Cylinder(6.0, 18.0, (0.0, 0.0, 0.0), tilt_deg=40.0, azimuth_deg=-20.0),
        Cone(8.0, 15.0, (1.0, 0.0, -5.0), "inferior"),
        Ring(10.0, 4.0, 12.0, (0.0, 0.0, 0.0), hole_offset_mm=(2.0, -1.5)),
        TwoPart(Sphere(5.0, (-8.0, 0.0, -2.0)), Cylinder(4.0, 10.0, (8.0, 1.0, 3.0))),
        TwoPart(Sphere(4.0, (0.0, 0.0, -9.0)), Sphere(4.0, (3.0, 0.0, 9.0))),
    ],
    ids=["sphere", "cylinder", "tilted", "cone", "ring", "two-part", "two-part-gap"],
)
def test_truth_matches_monte_carlo(shape, caps):
    field = LinearField(30.0, OBLIQUE, shape.centre_mm())
    s = contoured(shape, [2.0], n_vertices=128)
    _check_against_mc(s, field, caps)


@pytest.mark.parametrize("gradient", [(0.0, 0.0, 0.8), (0.0, 0.9, 0.0), (1e-9, 0.0, 0.7)])
def test_truth_matches_monte_carlo_axis_gradients(gradient):
    shape = Sphere(8.0)
    s = contoured(shape, [1.5], n_vertices=128)
    _check_against_mc(s, LinearField(20.0, gradient), EndCaps.HALF)


def test_uneven_contour_spacing_matches_monte_carlo():
    shape = Sphere(10.0, (0.0, 0.0, 0.0))
    s = contoured(shape, [1.0, 2.0, 1.5], origin=-9.3, n_vertices=160)
    assert (
        len(
            {
                round(b - a, 6)
                for a, b in zip(
                    [p.z_mm for p in s.planes][:-1], [p.z_mm for p in s.planes][1:], strict=True
                )
            }
        )
        == 3
    )
    for caps in (EndCaps.HALF, EndCaps.NONE):
        _check_against_mc(s, LinearField(25.0, OBLIQUE), caps)


def test_ring_hole_is_even_odd_not_orientation():
    """Both rings are written counter-clockwise; the hole still counts as a hole."""
    ring = Ring(10.0, 5.0, 10.0)
    s = contoured(ring, [1.0], n_vertices=256)
    for plane in s.planes:
        areas = [
            0.5 * np.sum(r[:, 0] * np.roll(r[:, 1], -1) - np.roll(r[:, 0], -1) * r[:, 1])
            for r in plane.polygons
        ]
        assert all(a > 0 for a in areas)
    t = compute_truth(s, LinearField(1.0, (0.0, 0.0, 0.0)), EndCaps.HALF)
    ngon = 256 / (2 * math.pi) * math.sin(2 * math.pi / 256)
    assert t.volume_cc == pytest.approx(ngon * math.pi * (100 - 25) * 10 / 1000, rel=ROUNDING_REL)


def test_dose_at_volume_is_the_highest_dose_across_a_dose_gap():
    """Two parts one above the other in a pure z gradient: V(d) is flat between their dose
    ranges, and D<upper part's volume> is the upper part's minimum dose."""
    shape = TwoPart(Sphere(4.0, (0.0, 0.0, -10.0)), Sphere(4.0, (0.0, 0.0, 10.0)))
    s = contoured(shape, [1.0], n_vertices=128)
    t = compute_truth(s, LinearField(20.0, (0.0, 0.0, 1.0)), EndCaps.HALF)
    upper = Structure(1, "U", None, tuple(p for p in s.planes if p.z_mm > 0))
    t_up = compute_truth(upper, LinearField(20.0, (0.0, 0.0, 1.0)), EndCaps.HALF)
    assert t.dose_at_volume_gy(t_up.volume_cc) == pytest.approx(t_up.min_gy, abs=1e-8)
    assert t_up.min_gy == pytest.approx(20.0 + 6.0, abs=1e-12)  # lowest plane 6.5, half slab 0.5


def test_constant_field():
    s = contoured(Sphere(5.0), [1.0])
    t = compute_truth(s, LinearField(12.5, (0.0, 0.0, 0.0)), EndCaps.HALF)
    assert (t.min_gy, t.mean_gy, t.max_gy) == pytest.approx((12.5, 12.5, 12.5))
    assert t.volume_at_dose_cc(12.5) == pytest.approx(t.volume_cc)
    assert t.volume_at_dose_cc(12.5 + 1e-9) == 0.0
    assert t.dose_at_percent_gy(95) == 12.5


def test_undefined_volumes_raise():
    s = contoured(Sphere(3.0), [1.0])
    t = compute_truth(s, LinearField(10.0, (0.1, 0.0, 0.0)), EndCaps.HALF)
    with pytest.raises(ValueError, match="within"):
        t.dose_at_volume_gy(t.volume_cc * 1.01)
    empty = compute_truth(Structure(2, "E", None, ()), LinearField(1.0, (0, 0, 0)), EndCaps.HALF)
    assert empty.volume_cc == 0.0 and empty.mean_gy is None
    with pytest.raises(ValueError, match="no volume"):
        empty.dose_at_percent_gy(50)


# -- part of a structure inside a box (dose grid cells) ---------------------------------
def test_part_inside_box_of_a_cylinder_is_a_circle_minus_a_segment():
    r, length = 10.0, 20.0
    s = contoured(Cylinder(r, length), [1.0], n_vertices=512)
    field = LinearField(5.0, (0.0, 0.0, 0.0))
    full = compute_truth(s, field, EndCaps.HALF)
    cut = compute_truth(s, field, EndCaps.HALF, box_mm=((-50, 6.0), (-50, 50), (-5.0, 50)))
    ngon = 512 / (2 * math.pi) * math.sin(2 * math.pi / 512)
    inside_area = math.pi * r * r - circle_segment_area(r, 6.0)
    # the polygon's defect is at most (2π/n)²/6 of the area in either part
    assert cut.volume_cc == pytest.approx(inside_area * 15.0 / 1000, rel=3e-5)
    assert full.volume_cc == pytest.approx(ngon * math.pi * r * r * length / 1000, rel=ROUNDING_REL)


def test_phantom_out_of_grid_truth_matches_monte_carlo():
    spec = standard_spec(
        "sphere",
        radius_mm=12.0,
        dose_grid_mm=2.0,
        grid_margin_mm=-4.0,
        gradient="x",
        gradient_gy_per_mm=0.5,
    )
    build = build_phantom(spec)
    (x0, x1), _, (z0, z1) = build.grid_cells_box_mm
    assert x0 > -12 and x1 < 12 and z0 > -12 and z1 < 12  # the grid cuts the sphere
    s = build.structure("Sphere")
    for caps in (EndCaps.HALF, EndCaps.NONE):
        full = build.truths[("Sphere", caps)]
        part = build.in_grid_truths[("Sphere", caps)]
        mc = sample(s, spec.field, caps, N_MC, box=build.grid_cells_box_mm)
        assert part.volume_cc < 0.95 * full.volume_cc
        assert abs(mc.volume_cc - part.volume_cc) <= K_SIGMA * mc.volume_sigma_cc()
        assert abs(mc.mean_gy - part.mean_gy) <= K_SIGMA * mc.mean_sigma_gy
