"""LQ conversions against hand-computed values, and the grid-level course sum against its formula.

Reference numbers: PHYSICS.md's table, e.g. 45 Gy EQD2 (α/β 2) = 33.6 Gy in
10 fractions: 33.6 * (3.36 + 2) / 4 = 45.02 Gy.
"""

import numpy as np
import pytest

from plancheck.dose.biology import bed_gy, conversion_for, eqd2_gy
from plancheck.dose.course_sum import course_field, sum_course
from plancheck.dvh.metric import DoseKind, DoseQuantity
from plancheck.errors import CourseError
from plancheck.model import DoseGrid, DosePart, PlanDose

EQD2_2 = DoseQuantity(DoseKind.EQD2, 2.0)


def test_eqd2_and_bed_reference_values():
    assert float(eqd2_gy(np.array(33.6), 10, 2.0)) == pytest.approx(45.02, abs=0.01)
    assert float(eqd2_gy(np.array(36.0), 12, 2.0)) == pytest.approx(45.0, abs=0.01)
    assert float(eqd2_gy(np.array(2.0 * 25), 25, 3.0)) == pytest.approx(50.0)
    assert float(bed_gy(np.array(30.0), 10, 10.0)) == pytest.approx(39.0)
    with pytest.raises(ValueError):
        eqd2_gy(np.array(1.0), 0, 2.0)


def test_point_conversion_matches_the_formulas_and_their_slope():
    d = np.array([0.0, 3.0, 24.385, 70.0])
    for q, n in ((EQD2_2, 10), (DoseQuantity(DoseKind.BED, 3.0), 5)):
        conv = conversion_for(q, n)
        expected = eqd2_gy(d, n, 2.0) if q.kind is DoseKind.EQD2 else bed_gy(d, n, 3.0)
        assert np.allclose(conv(d), expected, rtol=1e-12)
        # derivative by central differences
        h = 1e-6
        assert np.allclose(conv.slope(d[1:]), (conv(d[1:] + h) - conv(d[1:] - h)) / (2 * h), rtol=1e-6)
    assert conversion_for(DoseQuantity(), None).is_identity
    with pytest.raises(ValueError):
        conversion_for(EQD2_2, None)


def _grid(dose, offset=0.0):
    ax = np.arange(dose.shape[0], dtype=float) * 2.0 + offset
    return DoseGrid(dose.astype(np.float32), ax, ax, ax, "1.2")


def _plan(grid, n):
    return PlanDose(None, grid, "PLAN", (), parts=(DosePart(grid, n),))


def test_grid_sum_is_voxelwise_not_sum_of_maxima():
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 35, (6, 6, 6))
    b = rng.uniform(0, 9, (6, 6, 6))
    total, _ = sum_course([_plan(_grid(a), 10), _plan(_grid(b), 2)], EQD2_2)
    expected = a * (a / 10 + 2) / 4 + b * (b / 2 + 2) / 4
    assert np.allclose(total.dose_gy, expected, rtol=1e-6)
    physical, _ = sum_course([_plan(_grid(a), 10), _plan(_grid(b), 2)])
    assert np.allclose(physical.dose_gy, a + b, rtol=1e-6)


def test_grid_sum_of_a_plan_on_an_offset_grid():
    a = np.full((8, 8, 8), 10.0)
    b = np.full((8, 8, 8), 2.0)
    total, findings = sum_course([_plan(_grid(a), 10), _plan(_grid(b, offset=5.0), 2)])
    assert total.dose_gy[-1, -1, -1] == pytest.approx(12.0)
    assert total.dose_gy[0, 0, 0] == pytest.approx(10.0)  # outside plan 2's grid: adds nothing
    assert any(f.code == "plan-grid-does-not-cover-course-grid" for f in findings)


def test_biological_field_needs_the_fraction_parts():
    grid = _grid(np.full((4, 4, 4), 5.0))
    unknown = PlanDose(None, grid, "PLAN", (), parts_unknown_reason="three fraction groups share one PLAN dose")
    with pytest.raises(CourseError, match="three fraction groups"):
        course_field([unknown], EQD2_2)
    no_count = PlanDose(None, grid, "PLAN", ())
    with pytest.raises(CourseError, match="fraction count"):
        course_field([no_count], EQD2_2)
    # physical dose needs no fraction count
    assert len(course_field([no_count]).contributions) == 1
