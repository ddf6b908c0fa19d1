"""The dose of a course: a field for metrics, and a summed grid for writing an RTDOSE.

* :func:`course_field` is what every DVH metric reads: each plan (physical
  dose) or each plan part (EQD2/BED, with the part's own fraction count) is a
  contribution of a :class:`~plancheck.dose.field.DoseField`, interpolated on
  its own grid at the DVH engine's sample points, converted there and summed.
  A plan whose fraction parts are unknown (no fraction count, or several
  fraction groups without the dose of each) makes a biological field
  undefined, with the plan's reason: it is never converted with a guessed
  fraction count.
* :func:`sum_course` makes a summed *grid* (physical, EQD2 or BED) on one
  plan's grid points, for writing an RTDOSE that a planning system can show.
  It is a grid-level product: converting grid values and interpolating them
  later overstates near-maximum doses (the LQ conversions are convex), so
  no metric is computed from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from plancheck.dose.field import Contribution, DoseField, PointMapping
from plancheck.dose.trilinear import sample_grid
from plancheck.dvh.metric import PHYSICAL, DoseKind, DoseQuantity
from plancheck.errors import CourseError
from plancheck.model import DoseGrid, DosePart, Finding, PlanDose, Severity

__all__ = ["course_contributions", "course_field", "part_label", "sum_course"]


def part_label(plan: PlanDose, index: int, parts: Sequence[DosePart]) -> str:
    """How a plan part is named in reports: the plan label, and the part when there are several."""
    if len(parts) == 1:
        return plan.label
    return f"{plan.label} (part {index + 1} of {len(parts)}, {parts[index].n_fractions} fx)"


def course_contributions(
    plans: Sequence[PlanDose],
    quantity: DoseQuantity = PHYSICAL,
    mapping: PointMapping | None = None,
    label_prefix: str = "",
) -> tuple[Contribution, ...]:
    """The contributions of ``plans`` to a field of ``quantity``.

    Physical dose: one contribution per plan (its total dose). EQD2/BED: one
    per fraction part of each plan (:meth:`~plancheck.model.PlanDose.fraction_parts`).
    ``mapping`` (reference frame to the plans' frame) applies to all of them:
    a prior course on another frame of reference takes its registration here.

    Raises
    ------
    CourseError
        When a biological quantity is asked for and a plan's fraction parts
        are unknown; the message gives the plan's reason.
    """
    if not plans:
        raise CourseError("no plan to take a dose from")
    out: list[Contribution] = []
    for plan in plans:
        if quantity.kind is DoseKind.PHYSICAL:
            out.append(Contribution(plan.dose, plan.n_fractions, label_prefix + plan.label, mapping))
            continue
        parts = plan.fraction_parts()
        if not parts:
            why = plan.parts_unknown_reason or "its fraction count is not known"
            raise CourseError(
                f"{quantity} of plan {plan.label!r} is undefined: {why}",
                hint="Biological doses need each plan part's own fraction count; "
                "they are never computed with a guessed one.",
            )
        for i, part in enumerate(parts):
            out.append(
                Contribution(part.dose, part.n_fractions, label_prefix + part_label(plan, i, parts), mapping)
            )
    return tuple(out)


def course_field(
    plans: Sequence[PlanDose], quantity: DoseQuantity = PHYSICAL, mapping: PointMapping | None = None
) -> DoseField:
    """The field of ``quantity`` summed over ``plans`` (see :func:`course_contributions`).

    Raises
    ------
    CourseError
        When a biological quantity is asked for and a plan's fraction parts are unknown.
    """
    return DoseField(course_contributions(plans, quantity, mapping), quantity)


def sum_course(
    plans: Sequence[PlanDose], quantity: DoseQuantity = PHYSICAL, onto: DoseGrid | None = None
) -> tuple[DoseGrid, tuple[Finding, ...]]:
    """Grid-level sum of the plans' doses in ``quantity``, for writing an RTDOSE (not for metrics).

    Each plan part is interpolated trilinearly at the grid points of ``onto``
    (by default the first plan's grid), converted with its own fraction count
    and added. Where a plan's grid does not reach, it adds nothing: the sum is
    incomplete there, and a finding names the plan and says how much of the
    grid that concerns.

    Raises
    ------
    CourseError
        When a biological sum is asked for and a plan's fraction parts are unknown.
    """
    if not plans:
        raise CourseError("no plan to sum")
    common = plans[0].dose if onto is None else onto
    fld = course_field(plans, quantity)
    nz, ny, nx = common.shape
    z, y, x = np.meshgrid(common.z_mm, common.y_mm, common.x_mm, indexing="ij")
    points = common.to_patient_mm(np.column_stack([x.ravel(), y.ravel(), z.ravel()]))
    total = np.zeros(nz * ny * nx)
    findings: list[Finding] = []
    for c, conv in zip(fld.contributions, fld.conversions, strict=True):
        q = c.dose.to_grid_mm(points if c.mapping is None else c.mapping.apply(points))
        d, _, _, _, covered, _ = sample_grid(c.dose, q[:, 2], q[:, 1], q[:, 0])
        total += np.where(covered, c.weight * conv(d), 0.0)
        if not covered.all():
            share = 100.0 * float(np.count_nonzero(~covered)) / total.size
            findings.append(
                Finding(
                    Severity.WARNING,
                    "plan-grid-does-not-cover-course-grid",
                    f"the dose grid of {c.label!r} does not reach {share:.1f} % of the summed grid; "
                    "it adds no dose there, so the sum is incomplete there",
                )
            )
    if len(plans) > 1:
        findings.append(
            Finding(
                Severity.INFO,
                "course-sum",
                f"{len(plans)} plans summed point by point as {quantity} on the grid of the first",
            )
        )
    return common.with_dose(total.reshape(nz, ny, nx).astype(np.float32)), tuple(findings)
