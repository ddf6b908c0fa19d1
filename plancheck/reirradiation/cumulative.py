"""The cumulative EQD2 of a current course and its prior courses, on the current dose grid.

:func:`cumulative_eqd2_grid` evaluates, at every point of the current
course's first dose grid, the same field the metrics read
(:class:`~plancheck.dose.field.DoseField`: each plan part converted with its
own fraction count, the prior ones through their registration and weighted by
the recovery discount if one is set) and writes it with
:func:`plancheck.dicom.write_cumulative.write_cumulative_eqd2` (DoseType
EFFECTIVE, a comment saying what it is). This grid is for review in a
planning system; plancheck's metrics never read it.

Where a prior course's grid does not reach, that course adds nothing: the
grid holds a lower bound there, and the comment and the result say how much
of the grid that concerns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from plancheck.dicom.write import DicomContext
from plancheck.dicom.write_cumulative import write_cumulative_eqd2
from plancheck.dose.course_sum import course_contributions
from plancheck.dose.field import Contribution, DoseField
from plancheck.dose.trilinear import sample_grid
from plancheck.dvh.metric import DoseKind, DoseQuantity
from plancheck.errors import CourseError
from plancheck.model import Course, DoseGrid
from plancheck.reirradiation.load import Reirradiation, recovery_note

__all__ = ["CumulativeGrid", "cumulative_eqd2_grid", "write_cumulative"]


@dataclass(frozen=True, eq=False)
class CumulativeGrid:
    """The cumulative EQD2 on the current grid, and how much of it lacks a contribution."""

    grid: DoseGrid
    alpha_beta_gy: float
    uncovered_percent: dict[str, float]
    contributions: tuple[str, ...]


def _field(current: Course, reirradiation: Reirradiation, quantity: DoseQuantity) -> DoseField:
    parts: list[Contribution] = list(course_contributions(current.plans, quantity))
    weight = reirradiation.request.prior_weight
    for prior in reirradiation.priors:
        for c in course_contributions(prior.plans, quantity, prior.field_mapping):
            parts.append(dataclasses.replace(c, weight=weight) if weight != 1.0 else c)
    return DoseField(tuple(parts), quantity)


def cumulative_eqd2_grid(current: Course, reirradiation: Reirradiation, alpha_beta_gy: float) -> CumulativeGrid:
    """The cumulative EQD2 (Gy, α/β ``alpha_beta_gy``) at the current course's dose grid points.

    Raises
    ------
    CourseError
        When a plan's fraction parts are unknown (no EQD2 without them).
    """
    grid = current.plans[0].dose
    fld = _field(current, reirradiation, DoseQuantity(DoseKind.EQD2, alpha_beta_gy))
    nz, ny, nx = grid.shape
    z, y, x = np.meshgrid(grid.z_mm, grid.y_mm, grid.x_mm, indexing="ij")
    points = grid.to_patient_mm(np.column_stack([x.ravel(), y.ravel(), z.ravel()]))
    total = np.zeros(points.shape[0])
    uncovered: dict[str, float] = {}
    for c, conv in zip(fld.contributions, fld.conversions, strict=True):
        q = c.dose.to_grid_mm(points if c.mapping is None else c.mapping.apply(points))
        d, _, _, _, covered, _ = sample_grid(c.dose, q[:, 2], q[:, 1], q[:, 0])
        total += np.where(covered, c.weight * conv(d), 0.0)
        if not covered.all():
            uncovered[c.label] = 100.0 * float(np.count_nonzero(~covered)) / covered.size
    out = grid.with_dose(total.reshape(nz, ny, nx).astype(np.float32))
    return CumulativeGrid(out, alpha_beta_gy, uncovered, fld.labels)


def _study_uid(current: Course) -> str:
    files = current.plans[0].dose_files
    if files:
        ds = pydicom.dcmread(files[0].path, stop_before_pixels=True, specific_tags=["StudyInstanceUID"])
        uid = getattr(ds, "StudyInstanceUID", None)
        if uid:
            return str(uid)
    return str(generate_uid())


def write_cumulative(
    path: Path,
    current: Course,
    reirradiation: Reirradiation,
    cumulative: CumulativeGrid,
) -> Path:
    """Write ``cumulative`` as an EFFECTIVE RT Dose in the current course's frame of reference.

    Raises
    ------
    CourseError
        When the current dose grid is not axial (the writer writes axial grids only).
    """
    grid = cumulative.grid
    if not grid.is_axial:
        raise CourseError(
            "the current course's dose grid is not axial; the cumulative RT Dose is written on axial grids only"
        )
    ctx = DicomContext(
        patient=current.structure_set.patient,
        study_instance_uid=_study_uid(current),
        frame_of_reference_uid=str(grid.frame_of_reference_uid),
        study_description="plancheck cumulative EQD2",
    )
    courses = [
        "current: " + ", ".join(f"{p.label} ({p.n_fractions} fx)" for p in current.plans),
        *(
            f"prior {prior.number}: " + ", ".join(f"{p.label} ({p.n_fractions} fx)" for p in prior.course.plans)
            for prior in reirradiation.priors
        ),
    ]
    details = [recovery_note(reirradiation.request.recovery_percent)]
    details += [f"prior {prior.number}: {prior.registration.note}" for prior in reirradiation.priors]
    details += [
        f"the grid of {label!r} does not reach {share:.1f} % of this grid: it adds nothing there "
        "(a lower bound of the cumulative dose)"
        for label, share in cumulative.uncovered_percent.items()
    ]
    plan_uids = [p.plan.sop_instance_uid for p in current.plans if p.plan is not None]
    plan_uids += [p.plan.sop_instance_uid for prior in reirradiation.priors for p in prior.plans if p.plan is not None]
    return write_cumulative_eqd2(
        path,
        ctx,
        grid,
        alpha_beta_gy=cumulative.alpha_beta_gy,
        courses=courses,
        referenced_plan_uids=plan_uids,
        sop_instance_uid=str(generate_uid()),
        series_instance_uid=str(generate_uid()),
        details="\n".join(details),
    )
