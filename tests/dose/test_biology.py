"""LQ conversions against hand-computed values and the course sum against its formula.

Reference numbers: PHYSICS.md's table, e.g. 45 Gy EQD2 (α/β 2) = 33.6 Gy in
10 fractions: 33.6 * (3.36 + 2) / 4 = 45.02 Gy.
"""

import numpy as np
import pytest

from plancheck.dose.biology import bed_gy, eqd2_gy
from plancheck.dose.course_sum import sum_course
from plancheck.dvh.metric import DoseKind, DoseQuantity
from plancheck.model import DoseGrid, PlanDose


def test_eqd2_and_bed_reference_values():
    assert float(eqd2_gy(np.array(33.6), 10, 2.0)) == pytest.approx(45.02, abs=0.01)
    assert float(eqd2_gy(np.array(36.0), 12, 2.0)) == pytest.approx(45.0, abs=0.01)
    assert float(eqd2_gy(np.array(2.0 * 25), 25, 3.0)) == pytest.approx(50.0)
    assert float(bed_gy(np.array(30.0), 10, 10.0)) == pytest.approx(39.0)
    with pytest.raises(ValueError):
        eqd2_gy(np.array(1.0), 0, 2.0)


def _grid(dose, offset=0.0):
    ax = np.arange(dose.shape[0], dtype=float) * 2.0 + offset
    return DoseGrid(dose.astype(np.float32), ax, ax, ax, "1.2")


def test_course_eqd2_is_voxelwise_sum_not_sum_of_maxima():
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 35, (6, 6, 6))
    b = rng.uniform(0, 9, (6, 6, 6))
    plans = (PlanDose(None, _grid(a), "PLAN", ()), PlanDose(None, _grid(b), "PLAN", ()))
    q = DoseQuantity(DoseKind.EQD2, 2.0)

    class P:
        def __init__(self, dose, n):
            self.dose, self.n_fractions, self.label = dose, n, f"{n} fx"

    total, _ = sum_course([P(_grid(a), 10), P(_grid(b), 2)], q)  # type: ignore[list-item]
    expected = a * (a / 10 + 2) / 4 + b * (b / 2 + 2) / 4
    assert np.allclose(total.dose_gy, expected, rtol=1e-6)
    physical, _ = sum_course(plans)
    assert np.allclose(physical.dose_gy, a + b, rtol=1e-6)


def test_resampled_plan_on_offset_grid():
    a = np.full((8, 8, 8), 10.0)
    b = np.full((8, 8, 8), 2.0)

    class P:
        def __init__(self, dose, n):
            self.dose, self.n_fractions, self.label = dose, n, f"{n} fx"

    total, findings = sum_course([P(_grid(a), 10), P(_grid(b, offset=5.0), 2)])  # type: ignore[list-item]
    assert total.dose_gy[-1, -1, -1] == pytest.approx(12.0)
    assert total.dose_gy[0, 0, 0] == pytest.approx(10.0)  # outside plan 2's grid: adds nothing
    assert any(f.code == "plan-grid-does-not-cover-course-grid" for f in findings)
