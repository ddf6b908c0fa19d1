"""Dose fields evaluated where the DVH engine samples: conversions, courses, frames.

Truths used here:

* the LQ conversions are increasing, so for one plan the volume receiving at
  least EQD2(d) is the volume receiving at least d: a dose-at-volume metric in
  EQD2/BED is the conversion of the physical one (PHYSICS.md's formulas,
  written out in :func:`_eqd2` and :func:`_bed`);
* a linear dose field is reproduced exactly by trilinear interpolation on any
  grid, rotated or not, so sums of linear fields on rotated grids (or mapped
  rigidly) are linear, and a sphere in a linear field has the closed-form DVH
  of ``tests/dvh/shapes.py`` (spherical caps);
* a course of plans with different fraction counts is checked against a dense
  per-point sum computed independently (``tests/dvh/dense.py``: scipy's
  trilinear interpolation of each plan on its own grid at a dense lattice of
  points inside the contours, converted per point and summed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plancheck.dose.course_sum import course_field
from plancheck.dose.field import Contribution, DoseField, RigidMapping
from plancheck.dvh.engine import field_dvh, sample_structure
from plancheck.dvh.metric import PHYSICAL, DoseKind, DoseQuantity, parse_metric
from plancheck.dvh.slabs import compute_slabs
from plancheck.dvh.values import metric_value
from plancheck.model import ContourPlane, DoseGrid, DosePart, EndCaps, PlanDose, Structure
from tests.dvh.dense import FieldTruth, dense_samples
from tests.dvh.shapes import circle, sphere, sphere_dose_at_volume_gy

EQD2_2 = DoseQuantity(DoseKind.EQD2, 2.0)
BED_3 = DoseQuantity(DoseKind.BED, 3.0)


def _eqd2(d, n, ab):
    return d * (d / n + ab) / (2.0 + ab)


def _bed(d, n, ab):
    return d * (1.0 + d / (n * ab))


def value(metric: str, dvh) -> float:
    return metric_value(parse_metric(metric), dvh)


def _resolution(v: float) -> float:
    """The curve's resolution at a dose (DvhSettings defaults: 1 mGy, 0.01 % above 10 Gy)."""
    return max(1e-3, 1e-4 * abs(v))


def rotation(axis: str, degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def grid_of(fn, spacing_mm: float, half_width_mm: float = 40.0, axes=None, offset=(0.0, 0.0, 0.0)) -> DoseGrid:
    """A grid whose points are ``axes @ (x', y', z')``; dose ``fn(x, y, z)`` in patient coordinates."""
    a = np.eye(3) if axes is None else np.asarray(axes, dtype=np.float64)
    ticks = [np.arange(-half_width_mm, half_width_mm + 1e-9, spacing_mm) + o for o in offset]
    zz, yy, xx = np.meshgrid(ticks[2], ticks[1], ticks[0], indexing="ij")
    p = np.stack([xx, yy, zz], axis=-1) @ a.T
    dose = fn(p[..., 0], p[..., 1], p[..., 2])
    return DoseGrid(dose.astype(np.float64), ticks[0], ticks[1], ticks[2], "1.2.3", a)


def plan(grid: DoseGrid, n: int, label: str = "A") -> PlanDose:
    return PlanDose(None, grid, label, (), parts=(DosePart(grid, n),))


def cord(radius_mm: float = 5.0, length_mm: float = 50.0, spacing_mm: float = 2.5) -> Structure:
    z = np.arange(-length_mm / 2, length_mm / 2 + 1e-9, spacing_mm)
    return Structure(1, "Cord", None, tuple(ContourPlane(float(v), (circle(0, 0, radius_mm, 256),)) for v in z))


def edge_dose(x, y, z):
    """A steep dose edge (a target's penumbra) beside the cord, with a slow change along z and x."""
    return 30.0 / (1.0 + np.exp((y + 6.0) / 2.0)) * (1.0 + 0.002 * z) + 1.0 + 0.01 * x


def test_one_plan_biological_metrics_are_the_conversion_of_physical():
    g = grid_of(edge_dose, 2.5)
    s = sample_structure(cord(), g)
    p = plan(g, 10)
    physical = field_dvh(s, course_field([p]))
    checks = ((EQD2_2, lambda d: _eqd2(d, 10, 2.0)), (BED_3, lambda d: _bed(d, 10, 3.0)))
    for q, convert in checks:
        bio = field_dvh(s, course_field([p], q))
        unit = "EQD2Gy(a/b=2)" if q.kind is DoseKind.EQD2 else "BED(a/b=3)"
        for m in ("D0.03cc", "D2%", "Max"):
            expected = convert(value(f"{m}[Gy]", physical))
            assert value(f"{m}[{unit}]", bio) == pytest.approx(expected, abs=_resolution(expected)), (q, m)


def test_point_by_point_sum_reproduces_the_exact_conversion():
    # a plan given as two halves of 5 fractions each has the EQD2 of the whole in
    # 10 fractions (2 (D/2)((D/2)/5 + ab) = D (D/10 + ab)): the general, per-point
    # path must agree with the exact single-plan conversion. Its approximation (a
    # uniform spread per box with the converted dose's mean and variance, boxes
    # halved where the conversion bends by more than 10 mGy or 0.2 %) is within
    # 0.1 % on these metrics, the median of the steep region within 0.5 %.
    g = grid_of(edge_dose, 2.5)
    s = sample_structure(cord(), g)
    whole = field_dvh(s, course_field([plan(g, 10)], EQD2_2))
    half = g.with_dose(g.dose_gy / 2.0)
    split = PlanDose(None, g, "A", (), parts=(DosePart(half, 5), DosePart(half, 5)))
    parts = field_dvh(s, course_field([split], EQD2_2))
    for m in ("D0.03cc", "D2%", "Max", "Mean"):
        unit = f"{m}[EQD2Gy(a/b=2)]"
        assert value(unit, parts) == pytest.approx(value(unit, whole), rel=1e-3), m
    assert value("D50%[EQD2Gy(a/b=2)]", parts) == pytest.approx(value("D50%[EQD2Gy(a/b=2)]", whole), rel=5e-3)


def _slabs(structure: Structure) -> list[tuple[float, float]]:
    sl = compute_slabs([p.z_mm for p in structure.planes], EndCaps.HALF)
    return list(zip(sl.lower_mm.tolist(), sl.upper_mm.tolist(), strict=True))


@pytest.mark.slow
def test_two_plans_with_different_fraction_counts_against_a_dense_point_sum():
    # plan A: 10 fractions on an axial 2.5 mm grid, a steep edge beside the cord;
    # plan B: 2 fractions on a 2 mm grid rotated 5 degrees about z and shifted, a hot spot.
    a = grid_of(edge_dose, 2.5)

    def hot(x, y, z):
        return 8.0 * np.exp(-((x - 2.0) ** 2 + (y + 3.0) ** 2 + (z - 4.0) ** 2) / (2 * 6.0**2)) + 0.5

    b = grid_of(hot, 2.0, 30.0, rotation("z", 5.0), offset=(0.7, -0.3, 0.4))
    structure = cord()
    s = sample_structure(structure, a)
    course = [plan(a, 10, "A"), plan(b, 2, "B")]
    engine = field_dvh(s, course_field(course, EQD2_2))
    truth_fn = FieldTruth([(a, lambda d: _eqd2(d, 10, 2.0)), (b, lambda d: _eqd2(d, 2, 2.0))])
    dense = dense_samples(structure, _slabs(structure), step_mm=0.5, dose_fn=truth_fn, bound_fn=truth_fn.bound)
    assert value("Volume[cc]", engine) == pytest.approx(dense.stack_volume_cc, rel=1e-3)
    assert engine.volume_outside_grid_cc == 0.0
    assert value("Mean[EQD2Gy(a/b=2)]", engine) == pytest.approx(dense.mean_gy, rel=2e-3)
    for m, truth in (
        ("D0.03cc", dense.dose_at_volume_gy(0.03)),
        ("D2%", dense.dose_at_percent_gy(2)),
        ("D50%", dense.dose_at_percent_gy(50)),
    ):
        assert value(f"{m}[EQD2Gy(a/b=2)]", engine) == pytest.approx(truth, rel=5e-3), m
    top = float(dense.dose_gy.max())
    assert value("Max[EQD2Gy(a/b=2)]", engine) == pytest.approx(top, rel=5e-3)
    # the physical sum of the same course, likewise
    physical = field_dvh(s, course_field(course))
    phys_fn = FieldTruth([(a, lambda d: d), (b, lambda d: d)])
    dense_p = dense_samples(structure, _slabs(structure), step_mm=0.5, dose_fn=phys_fn, bound_fn=phys_fn.bound)
    assert value("D2%[Gy]", physical) == pytest.approx(dense_p.dose_at_percent_gy(2), rel=5e-3)
    assert value("Mean[Gy]", physical) == pytest.approx(dense_p.mean_gy, rel=2e-3)


R = 12.0
SPHERE = sphere(R, 0.25)


@pytest.mark.parametrize(
    ("axis", "degrees"), [("x", 1.0), ("x", 5.0), ("y", 1.0), ("y", 5.0), ("z", 5.0), ("oblique", 0.0)]
)
def test_contribution_on_a_rotated_grid_against_closed_form(axis, degrees):
    # plan A: linear along y on the axial reference grid; plan B: linear along (1, 2, -2)/3
    # on a rotated grid. Their sum is linear with the sum of the gradients.
    ga, gb = np.array([0.0, 0.6, 0.0]), np.array([1.0, 2.0, -2.0]) / 3.0 * 0.5
    axes = rotation("x", 20.0) @ rotation("y", -35.0) @ rotation("z", 10.0) if axis == "oblique" else rotation(axis, degrees)
    a = grid_of(lambda x, y, z: 10.0 + ga[0] * x + ga[1] * y + ga[2] * z, 2.0)
    b = grid_of(lambda x, y, z: 6.0 + gb[0] * x + gb[1] * y + gb[2] * z, 2.5, 45.0, axes, offset=(0.4, -0.9, 0.3))
    s = sample_structure(SPHERE, a)
    dvh = field_dvh(s, course_field([plan(a, 10, "A"), plan(b, 3, "B")]))
    g = float(np.linalg.norm(ga + gb))
    vol_mm3 = 4 / 3 * np.pi * R**3
    assert value("Volume[cc]", dvh) == pytest.approx(vol_mm3 / 1000, rel=2e-3)
    assert value("Mean[Gy]", dvh) == pytest.approx(16.0, rel=1e-3)
    for pct in (98, 50, 2):
        truth = sphere_dose_at_volume_gy(R, g, 16.0, vol_mm3 * pct / 100)
        assert value(f"D{pct}%[Gy]", dvh) == pytest.approx(truth, rel=5e-3), pct
    # the largest dose of a linear field over the contour stack: at a contour vertex on
    # a slab bound (the prisms reach a little beyond the sphere at their corners)
    grad = ga + gb
    top = max(
        float((plane.polygons[0] @ grad[:2]).max()) + grad[2] * z
        for plane, (lo, hi) in zip(SPHERE.planes, _slabs(SPHERE), strict=True)
        for z in (lo, hi)
    )
    assert value("Max[Gy]", dvh) == pytest.approx(16.0 + top, abs=1e-6)


def test_rigid_mapping_of_a_prior_course_against_closed_form():
    # a prior course planned on another frame: p_prior = M p. Its grid holds a linear field
    # in its own frame, c + g.q, which is c + g.(R p + t) in the reference frame.
    rot = rotation("z", 4.0) @ rotation("x", -3.0)
    t = np.array([3.0, -5.0, 2.0])
    m = np.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = t
    g_prior = np.array([0.2, -0.5, 0.3])
    prior_grid = grid_of(lambda x, y, z: 20.0 + g_prior[0] * x + g_prior[1] * y + g_prior[2] * z, 2.5, 45.0)
    current = grid_of(lambda x, y, z: 5.0 + 0.4 * y, 2.0)
    fld = DoseField(
        (
            Contribution(current, 2, "current"),
            Contribution(prior_grid, 10, "prior", RigidMapping(m, "test registration")),
        ),
        PHYSICAL,
    )
    dvh = field_dvh(sample_structure(SPHERE, current), fld)
    grad = np.array([0.0, 0.4, 0.0]) + rot.T @ g_prior
    centre = 5.0 + 20.0 + float(g_prior @ t)
    vol_mm3 = 4 / 3 * np.pi * R**3
    assert value("Mean[Gy]", dvh) == pytest.approx(centre, rel=1e-3)
    for pct in (95, 50, 5):
        truth = sphere_dose_at_volume_gy(R, float(np.linalg.norm(grad)), centre, vol_mm3 * pct / 100)
        assert value(f"D{pct}%[Gy]", dvh) == pytest.approx(truth, rel=5e-3), pct
    # evaluating the field directly at a point gives the same linear function and gradient
    p = np.array([[1.0, 2.0, -3.0]])
    at = fld.evaluate(p)
    assert float(at.dose_gy[0]) == pytest.approx(centre + float(grad @ p[0]), rel=1e-9)
    assert (float(at.grad_x[0]), float(at.grad_y[0]), float(at.grad_z[0])) == pytest.approx(tuple(grad), rel=1e-9)


def test_volume_a_plan_grid_does_not_reach_is_unknown_and_named():
    # plan B's grid covers x >= 1 mm only (its first points at x = 2 mm, half a spacing
    # beyond); the sphere's part at x < 1 mm has no known summed dose
    a = grid_of(lambda x, y, z: 10.0 + 0.0 * x, 2.0)
    b_ticks = np.arange(2.0, 40.0 + 1e-9, 2.0)
    full = np.arange(-40.0, 40.0 + 1e-9, 2.0)
    b = DoseGrid(np.full((full.size, full.size, b_ticks.size), 4.0), b_ticks, full, full, "1.2.3")
    s = sample_structure(SPHERE, a)
    dvh = field_dvh(s, DoseField((Contribution(a, 10, "A"), Contribution(b, 2, "B"))))
    # the spherical segment below x = 1 mm: the sphere minus the cap above height 1
    cap = np.pi * (R - 1.0) ** 2 * (2 * R + 1.0) / 3.0
    outside_cc = (4 / 3 * np.pi * R**3 - cap) / 1000
    assert dvh.volume_outside_grid_cc == pytest.approx(outside_cc, rel=5e-3)
    assert dict(dvh.outside_grid_by_source_cc) == pytest.approx({"B": outside_cc}, rel=5e-3)
    assert value("Min[Gy]", dvh) == pytest.approx(14.0) and value("Max[Gy]", dvh) == pytest.approx(14.0)
    # plan A alone covers the whole sphere
    alone = field_dvh(s, DoseField((Contribution(a, 10, "A"),)))
    assert alone.volume_outside_grid_cc == 0.0 and alone.outside_grid_by_source_cc == ()


def test_curve_resolution_does_not_depend_on_the_maximum_dose():
    # the same field scaled from 70 Gy to 7000 Gy (a cGy grid read as Gy): the curve's
    # edges are 0.01 % apart above 10 Gy, so its length grows with the logarithm of the
    # maximum only, and every metric scales: Max and Mean exactly, the others within the
    # curve resolution of each curve (1e-4 each) and the tail refinement's approximation
    # (which boxes are halved depends on where the curve's edges fall; 0.05 % here)
    base = grid_of(lambda x, y, z: 35.0 + 0.8 * y + 0.3 * z, 2.0)
    d70 = field_dvh(sample_structure(SPHERE, base), course_field([plan(base, 1)]))
    scaled = base.with_dose(base.dose_gy * 100.0)
    d7000 = field_dvh(sample_structure(SPHERE, scaled), course_field([plan(scaled, 1)]))
    assert d7000.cumulative_cc.size < 3 * d70.cumulative_cc.size
    for m in ("Mean[Gy]", "Max[Gy]", "Min[Gy]"):
        assert value(m, d7000) == pytest.approx(100.0 * value(m, d70), rel=1e-9), m
    for m in ("D0.03cc[Gy]", "D2%[Gy]", "D50%[Gy]", "D98%[Gy]"):
        assert value(m, d7000) == pytest.approx(100.0 * value(m, d70), rel=5e-4), m
