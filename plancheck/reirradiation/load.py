"""Prior courses: each folder loaded as a course of its own, registered to the current course.

:func:`load_priors` reads every prior folder with the same rules as the
current one (:func:`plancheck.pipeline.load_courses_from`,
:func:`~plancheck.pipeline.folder_courses`, :func:`~plancheck.pipeline.single_course`):
unusable inputs are refused, and the findings of a prior course are findings
of the evaluation (an error in a prior file blocks a PASS like one in the
current course).

The mapping from the current course's frame of reference to each prior's
comes from :func:`plancheck.registration.find_registration` over the
registration objects given with ``--registration`` and those found in the
current and prior folders. The same frame of reference needs none (and the
evaluation says so); no registration linking the frames is a refusal
(:class:`~plancheck.registration.RegistrationError`), never the identity.
A registration file that cannot be read is a refusal too, when a
registration is needed.

The dates of each course (RT Plans, RT treatment records, ``--prior-date``)
give the interval between the last prior course and the current one
(:func:`plancheck.treatment_dates.interval_between`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from plancheck.dicom.dates import DATED_SOP_CLASSES, read_treatment_dates
from plancheck.dicom.discover import index_folder
from plancheck.dicom.registration import REGISTRATION_SOP_CLASSES, read_registration
from plancheck.dose.field import PointMapping as FieldMapping
from plancheck.errors import CourseError, PlancheckError
from plancheck.model import Course, Finding, PlanDose, Severity
from plancheck.registration import PointMapping, Registration, RegistrationError, find_registration
from plancheck.reirradiation.field_mapping import field_mapping
from plancheck.reirradiation.request import PriorRequest
from plancheck.treatment_dates import (
    CourseDates,
    CourseInterval,
    TreatmentDate,
    course_dates,
    interval_between,
    stated_date,
)

__all__ = ["PriorCourse", "Reirradiation", "course_frame", "folder_dates", "load_priors"]


@dataclass(frozen=True, eq=False)
class PriorCourse:
    """One prior course, ready to be sampled at the current course's points.

    ``plans`` are the course's plans relabelled ``"prior N: LABEL"`` so that
    they are told apart from the current plans in every report; ``mapping``
    takes current patient coordinates to this course's (``registration``
    says how it was found), ``field_mapping`` is the same for the dose field
    (None for the identity).
    """

    number: int
    directory: Path
    course: Course
    plans: tuple[PlanDose, ...]
    registration: PointMapping
    field_mapping: FieldMapping | None
    dates: CourseDates

    @property
    def frame_of_reference_uid(self) -> str:
        return course_frame(self.course)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "directory": str(self.directory),
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "plans": [
                {"label": p.label, "fractions": p.n_fractions, "dose": p.how} for p in self.plans
            ],
            "structure_set": self.course.structure_set.label,
            "registration": self.registration.to_dict(),
            "dates": self.dates.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class Reirradiation:
    """The prior courses of an evaluation, the interval, and what was assumed."""

    request: PriorRequest
    current_frame_uid: str
    priors: tuple[PriorCourse, ...]
    current_dates: CourseDates
    interval: CourseInterval | None
    interval_problem: str
    findings: tuple[Finding, ...]

    @property
    def prior_plans(self) -> tuple[PlanDose, ...]:
        return tuple(p for prior in self.priors for p in prior.plans)

    def prior_of(self, plan: PlanDose) -> PriorCourse | None:
        for prior in self.priors:
            if any(plan is p for p in prior.plans):
                return prior
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "current_frame_of_reference_uid": self.current_frame_uid,
            "priors": [p.to_dict() for p in self.priors],
            "current_dates": self.current_dates.to_dict(),
            "interval": None if self.interval is None else self.interval.to_dict(),
            "interval_problem": self.interval_problem or None,
            "recovery_percent": self.request.recovery_percent,
            "recovery_note": recovery_note(self.request.recovery_percent),
            "registrations_given": [str(p) for p in self.request.registrations],
        }


def recovery_note(percent: float) -> str:
    """What the cumulative dose assumes about recovery, in words."""
    if percent == 0:
        return (
            "no recovery assumed: the prior courses' EQD2 is added in full to the current course's "
            "(no --prior-recovery given)"
        )
    return (
        f"recovery discount set by the user (--prior-recovery {percent:g}): the prior courses' EQD2 "
        f"is counted at {100 - percent:g} % in the cumulative dose"
    )


def course_frame(course: Course) -> str:
    """The frame of reference of a course: that of its structure set and first dose grid.

    Raises
    ------
    CourseError
        When the dose grid and the structure set state different frames.
    """
    dose_frame = course.plans[0].dose.frame_of_reference_uid
    ss_frame = getattr(course.structure_set, "frame_of_reference_uid", None)
    if ss_frame and dose_frame and ss_frame != dose_frame:
        raise CourseError(
            f"the dose grid (frame of reference {dose_frame}) and the structure set {course.structure_set.label!r} "
            f"(frame of reference {ss_frame}) of a course are on different frames of reference",
            hint="Export the course's dose and structure set from the same planning CT.",
        )
    return str(dose_frame or ss_frame)


def folder_dates(folder: Path, extra: Sequence[TreatmentDate] = ()) -> tuple[CourseDates, tuple[Finding, ...]]:
    """The dates of the RT Plans and treatment records in ``folder``, with ``extra`` dates."""
    dates: list[TreatmentDate] = list(extra)
    findings: list[Finding] = []
    for f in index_folder(Path(folder)).files:
        if f.sop_class_uid in DATED_SOP_CLASSES:
            read = read_treatment_dates(f.path)
            dates.extend(read.dates)
            findings.extend(read.findings)
    return course_dates(dates), tuple(findings)


def _registrations(folders: Sequence[Path], given: Sequence[Path]) -> tuple[list[Registration], list[str]]:
    """Registration objects given and found; the files that could not be read, with why."""
    found: list[Registration] = []
    unreadable: list[str] = []
    paths: list[Path] = list(given)
    for folder in folders:
        paths.extend(f.path for f in index_folder(Path(folder)).files if f.sop_class_uid in REGISTRATION_SOP_CLASSES)
    for path in dict.fromkeys(paths):
        try:
            found.append(read_registration(path))
        except PlancheckError as exc:
            if Path(path) in given:
                raise
            unreadable.append(f"{path}: {exc.message}")
    return found, unreadable


def _patient_findings(current: Course, prior: Course, label: str) -> tuple[Finding, ...]:
    """An error when the prior course is another patient's (by Patient ID)."""
    a, b = current.structure_set.patient, prior.structure_set.patient
    if a.patient_id == b.patient_id:
        return ()
    return (
        Finding(
            Severity.ERROR,
            "prior-patient-mismatch",
            f"the {label} belongs to Patient ID {b.patient_id!r}, the current course to "
            f"{a.patient_id!r}: a cumulative dose of two patients means nothing",
        ),
    )


def _relabelled(plans: Sequence[PlanDose], number: int) -> tuple[PlanDose, ...]:
    out = []
    for p in plans:
        if p.plan is None:
            raise CourseError(
                f"prior course {number}: its dose has no RT Plan, so its fraction count is unknown",
                hint="Put the prior course's RT Plan in its folder: the EQD2 of a prior course "
                "needs its own fraction count.",
            )
        out.append(dataclasses.replace(p, plan=dataclasses.replace(p.plan, label=f"prior {number}: {p.plan.label}")))
    return tuple(out)


def _prefixed(findings: Sequence[Finding], number: int, folder: Path) -> tuple[Finding, ...]:
    return tuple(
        dataclasses.replace(f, message=f"prior course {number} ({folder}): {f.message}") for f in findings
    )


def load_priors(
    request: PriorRequest,
    current: Course,
    current_dir: Path,
    *,
    strict: bool = False,
    lenient: bool = False,
) -> Reirradiation:
    """Load the prior courses of ``request`` and register them to ``current``.

    Raises
    ------
    RegistrationError
        When a prior course is on another frame of reference and no
        registration links it to the current one (or the registrations that
        do are unreadable, disagree, or are a deformation in the wrong direction).
    CourseError, InputError
        When a prior folder holds no usable course, several, or (with
        ``strict``) a course with warnings.
    """
    from plancheck.pipeline import folder_courses, load_courses_from, single_course

    current_frame = course_frame(current)
    findings: list[Finding] = []
    priors: list[PriorCourse] = []
    registrations: list[Registration] | None = None
    unreadable: list[str] = []
    for number, folder in enumerate(request.prior_dirs, start=1):
        folder = Path(folder)
        courses, folder_findings = load_courses_from(folder, lenient)
        course = single_course(folder_courses(courses, folder_findings, folder, strict=strict), folder)
        prior_frame = course_frame(course)
        label = f"prior course {number} ({folder})"
        if prior_frame != current_frame and registrations is None:
            registrations, unreadable = _registrations([Path(current_dir), *request.prior_dirs], request.registrations)
        try:
            mapping = find_registration(
                registrations or [],
                current_frame,
                prior_frame,
                from_label="current course",
                to_label=label,
                region_mm=_grid_corners(current),
            )
        except RegistrationError as exc:
            if unreadable:
                raise RegistrationError(
                    f"{exc.message}. Registration files that could not be read: {'; '.join(unreadable)}",
                    hint=exc.hint,
                ) from exc
            raise
        findings.extend(_prefixed(course.findings, number, folder))
        findings.extend(_patient_findings(current, course, label))
        findings.append(Finding(Severity.INFO, "prior-course-registration", mapping.note))
        stated: tuple[TreatmentDate, ...] = ()
        if request.prior_dates:
            stated = (stated_date(request.prior_dates[number - 1], what=label),)
        dates, date_findings = folder_dates(folder, stated)
        findings.extend(_prefixed(date_findings, number, folder))
        priors.append(
            PriorCourse(
                number,
                folder,
                course,
                _relabelled(course.plans, number),
                mapping,
                field_mapping(mapping),
                dates,
            )
        )
    current_dates, current_findings = folder_dates(Path(current_dir))
    findings.extend(current_findings)
    interval: CourseInterval | None = None
    problem = ""
    last = max(priors, key=lambda p: p.dates.end.date if p.dates.end is not None else _FAR_PAST)
    try:
        interval = interval_between(last.dates, current_dates)
    except ValueError as exc:
        problem = str(exc)
    if request.recovery_percent:
        findings.append(Finding(Severity.WARNING, "prior-recovery-assumed", recovery_note(request.recovery_percent)))
    return Reirradiation(
        request, current_frame, tuple(priors), current_dates, interval, problem, tuple(findings)
    )


def _grid_corners(course: Course) -> npt.NDArray[np.float64]:
    """The corners of the current dose grid (patient coordinates): where registrations must agree."""
    g = course.plans[0].dose
    corners = np.array(
        np.meshgrid([g.x_mm[0], g.x_mm[-1]], [g.y_mm[0], g.y_mm[-1]], [g.z_mm[0], g.z_mm[-1]], indexing="ij")
    )
    return np.asarray(g.to_patient_mm(corners.reshape(3, -1).T), dtype=np.float64)


_FAR_PAST = dt.date.min
