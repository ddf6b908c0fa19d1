"""Summing the plans of a course on one grid, physically or biologically.

The common grid is the grid of the course's first plan (the one the others
are added to, usually the largest); the other plans are resampled onto it
trilinearly when their grids differ (:mod:`plancheck.dose.resample`). Where
another plan's grid does not reach, it adds nothing, and a finding says how
much of the common grid that concerns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from plancheck.dose.biology import to_quantity
from plancheck.dose.resample import resample_trilinear, same_geometry
from plancheck.dvh.metric import PHYSICAL, DoseQuantity
from plancheck.errors import CourseError
from plancheck.model import DoseGrid, Finding, PlanDose, Severity

__all__ = ["sum_course"]


def sum_course(
    plans: Sequence[PlanDose], quantity: DoseQuantity = PHYSICAL, onto: DoseGrid | None = None
) -> tuple[DoseGrid, tuple[Finding, ...]]:
    """Voxel-wise sum of the plans' doses in ``quantity`` (physical, EQD2 or BED).

    Each plan is converted with its own fraction count before summing. The
    sum lies on ``onto``'s grid when given (the course grid, when only some
    of the course's plans are summed), else on the first plan's grid.

    Raises
    ------
    CourseError
        When a biological sum is asked for and a plan has no fraction count.
    """
    if not plans:
        raise CourseError("no plan to sum")
    common = plans[0].dose if onto is None else onto
    if len(plans) == 1 and quantity.kind.value == "physical" and same_geometry(plans[0].dose, common):
        return plans[0].dose, ()
    findings: list[Finding] = []
    total = np.zeros(common.shape, dtype=np.float64)
    for plan in plans:
        grid = plan.dose
        if not same_geometry(grid, common):
            grid, uncovered = resample_trilinear(grid, common)
            if uncovered:
                share = 100.0 * uncovered / max(total.size, 1)
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "plan-grid-does-not-cover-course-grid",
                        f"the dose grid of plan {plan.label!r} does not reach {share:.1f} % of the "
                        "course grid; it adds no dose there",
                    )
                )
        if quantity.kind.value != "physical":
            if plan.n_fractions is None:
                raise CourseError(
                    f"plan {plan.label!r} has no fraction count, so its dose cannot be converted "
                    f"to {quantity}",
                    hint="Check NumberOfFractionsPlanned in the RTPLAN's FractionGroupSequence.",
                )
            total += to_quantity(grid.dose_gy, plan.n_fractions, quantity)
        else:
            total += grid.dose_gy
    if len(plans) > 1:
        findings.append(
            Finding(
                Severity.INFO,
                "course-sum",
                f"{len(plans)} plans summed voxel by voxel as {quantity} on the course grid",
            )
        )
    return common.with_dose(total.astype(np.float32)), tuple(findings)
