"""The friendly entry points: from a folder to loaded courses.

``load_folder_courses`` indexes a folder (headers only), links and reads its
files once, and returns its courses: each a plan, or plans summed because
they complement each other or the user asked for it (``selection``).
``load_single_course`` returns the one course a folder holds, and refuses a
folder that holds several (alternative plans, several patients), saying
which and how to choose. ``evaluate_folder`` evaluates that course
(``evaluate_loaded_course``, its second half, evaluates a course already
loaded: the Python API), and ``evaluate_plan`` turns it into the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plancheck.dicom.grouping import CourseSelection
from plancheck.errors import CourseError, InputError
from plancheck.model import Course, EndCaps, Finding, Severity

if TYPE_CHECKING:
    from plancheck.evaluation import CourseEvaluation
    from plancheck.protocol.load import LoadedAliases, LoadedProtocol
    from plancheck.reirradiation.load import Reirradiation
    from plancheck.reirradiation.request import PriorRequest

__all__ = [
    "CourseSelection",
    "evaluate_folder",
    "evaluate_loaded_course",
    "evaluate_plan",
    "folder_courses",
    "load_courses_from",
    "load_folder_courses",
    "load_single_course",
    "single_course",
]


def load_courses_from(
    plan_dir: Path,
    lenient: bool = False,
    *,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
    files: Sequence[Path] | None = None,
) -> tuple[tuple[Course, ...], tuple[Finding, ...]]:
    """All courses in ``plan_dir`` (or in its ``files`` only) and the folder-level findings."""
    from plancheck.dicom.course import load_courses
    from plancheck.dicom.discover import index_folder

    index = index_folder(Path(plan_dir), files)
    loaded = load_courses(
        index, lenient=lenient, selection=selection, fractions=fractions
    )
    return loaded.courses, loaded.findings


def load_folder_courses(
    plan_dir: Path,
    *,
    strict: bool = False,
    lenient: bool = False,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
    files: Sequence[Path] | None = None,
) -> tuple[Course, ...]:
    """Every course in ``plan_dir``, each with the folder's findings attached.

    With ``strict``, any warning or error noticed while reading (a contour
    skipped, a link made by frame of reference, a mismatched patient ID,
    plans summed without the user's say, ...) refuses the input instead of
    being recorded as a finding. With ``lenient``, safe deviations the
    default ignores (open planar contours) are read, each recorded as a
    finding. ``selection`` chooses the plans and whether to sum them;
    ``fractions`` is the fraction count for doses without their plan.

    Raises
    ------
    CourseError
        When the folder holds no course, courses of several patients, or
        ``selection`` names a plan it does not hold.
    InputError
        With ``strict``, when the input has a warning or an error.
    """
    selection = selection or CourseSelection()
    courses, findings = load_courses_from(
        plan_dir, lenient, selection=selection, fractions=fractions, files=files
    )
    return folder_courses(courses, findings, plan_dir, strict=strict, selection=selection)


def folder_courses(
    courses: tuple[Course, ...],
    findings: tuple[Finding, ...],
    plan_dir: Path,
    *,
    strict: bool = False,
    selection: CourseSelection | None = None,
) -> tuple[Course, ...]:
    """The courses of a loaded folder, each with the folder's ``findings`` attached.

    The second half of :func:`load_folder_courses`, for callers that loaded
    the folder with :func:`load_courses_from` already (the Python API).

    Raises
    ------
    CourseError
        When ``courses`` is empty or belongs to several patients.
    InputError
        With ``strict``, when a course or the folder has a warning or error finding.
    """
    selection = selection or CourseSelection()
    if not courses:
        problems = "; ".join(f.message for f in findings[:5])
        raise CourseError(
            "no plan with a dose and a structure set was found",
            path=plan_dir,
            hint=f"Findings: {problems}" if problems else "The folder holds no RT files.",
        )
    patients = {c.structure_set.patient.patient_id for c in courses}
    if len(patients) > 1:
        raise CourseError(
            f"the folder holds {len(courses)} courses of {len(patients)} patients: {describe_courses(courses)}",
            path=plan_dir,
            hint="Point plancheck at one patient's folder, or use 'plancheck batch'.",
        )
    out = []
    for course in courses:
        extra = tuple(f for f in findings if f not in course.findings)
        all_findings = tuple(course.findings) + extra
        if strict:
            _refuse_if_strict(plan_dir, all_findings, selection)
        out.append(Course(course.structure_set, course.plans, all_findings))
    return tuple(out)


def _refuse_if_strict(plan_dir: Path, findings: Sequence[Finding], selection: CourseSelection) -> None:
    serious = [
        f
        for f in findings
        if f.severity in (Severity.WARNING, Severity.ERROR)
        and not (f.code == "plans-summed" and selection.explicit)  # the user asked for the sum
    ]
    if serious:
        listed = "; ".join(f"{f.code}: {f.message}" for f in serious[:5])
        more = f" (and {len(serious) - 5} more)" if len(serious) > 5 else ""
        raise InputError(
            f"--strict: {len(serious)} problem(s) in the input: {listed}{more}",
            path=plan_dir,
            hint="Fix the export, or run without --strict to evaluate with them recorded as findings.",
        )


def describe_courses(courses: Sequence[Course]) -> str:
    """One phrase per course: its plans, with their fraction counts."""
    parts = []
    for c in courses:
        plans = " + ".join(
            f"{p.label!r} ({p.n_fractions} fx)" if p.n_fractions is not None else repr(p.label)
            for p in c.plans
        )
        parts.append(f"{plans} on structure set {c.structure_set.label!r}")
    return "; ".join(parts)


def load_single_course(
    plan_dir: Path,
    *,
    strict: bool = False,
    lenient: bool = False,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
    files: Sequence[Path] | None = None,
) -> Course:
    """The one course in ``plan_dir``, with the folder's findings attached.

    See :func:`load_folder_courses` for the options.

    Raises
    ------
    CourseError
        When the folder holds no course or more than one (alternative plans,
        plans whose relationship is unknown, several structure sets): the
        message lists them and says how to choose.
    """
    courses = load_folder_courses(
        plan_dir,
        strict=strict,
        lenient=lenient,
        selection=selection,
        fractions=fractions,
        files=files,
    )
    return single_course(courses, plan_dir)


def single_course(courses: Sequence[Course], plan_dir: Path) -> Course:
    """The one course of ``courses`` (from :func:`folder_courses`).

    Raises
    ------
    CourseError
        When there are several: alternative plans, plans whose relationship is
        unknown, several structure sets. The message lists them and says how
        to choose.
    """
    if len(courses) > 1:
        why = sorted(
            {f.message for c in courses for f in c.findings if f.code == "plans-not-summed"}
        )
        raise CourseError(
            f"the folder holds {len(courses)} courses, evaluated separately: {describe_courses(courses)}"
            + (f" ({why[0]})" if why else ""),
            path=plan_dir,
            hint="Choose one with --plan LABEL (repeatable: the plans chosen are summed), sum every plan "
            "of a structure set with --course all, or point plancheck at one course's folder.",
        )
    return courses[0]


def evaluate_folder(
    plan_dir: Path,
    protocol: str | None = None,
    *,
    aliases: Path | None = None,
    plan_label: str | None = None,
    plans: Sequence[str] = (),
    course: str = "auto",
    fractions: int | None = None,
    end_caps: str | EndCaps = EndCaps.AUTO,
    strict: bool = False,
    lenient: bool = False,
    files: Sequence[Path] | None = None,
    accept_mismatch: bool = False,
    priors: PriorRequest | None = None,
) -> CourseEvaluation:
    """Evaluate the course in ``plan_dir`` against ``protocol`` (a name, a file, or None to choose).

    ``plans`` (or ``plan_label``, one plan) chooses the plans to evaluate,
    ``course="all"`` sums every plan of the structure set; ``fractions`` is
    the fraction count of doses without their plan. ``files``, when given,
    are the only files read (batch mode: one course's files, found by their
    UIDs and references). With ``strict``, a course whose doses disagree with
    the planning system's stored DVHs is refused (:class:`InputError`) like
    any input with warnings. ``accept_mismatch`` accepts plans that do not fit
    the protocol (recorded). ``priors`` (re-irradiation) names prior course
    folders, each loaded with the same rules and registered to this course
    (:func:`plancheck.reirradiation.load.load_priors`).
    """
    from plancheck.protocol.load import load_aliases
    from plancheck.protocol.registry import find_protocol

    chosen = tuple(plans) + ((plan_label,) if plan_label is not None else ())
    selection = CourseSelection("all" if course == "all" else "auto", chosen)
    # the protocol and aliases first: a bad protocol file is reported before any DICOM is read
    loaded_protocol = find_protocol(protocol) if protocol is not None else None
    loaded_aliases = load_aliases(aliases) if aliases is not None else None
    loaded = load_single_course(
        Path(plan_dir),
        strict=strict,
        lenient=lenient,
        selection=selection,
        fractions=fractions,
        files=files,
    )
    single = loaded.plans[0].label if len(chosen) == 1 and len(loaded.plans) == 1 else None
    registered = None
    if priors is not None:
        from plancheck.reirradiation.load import load_priors

        registered = load_priors(priors, loaded, Path(plan_dir), strict=strict, lenient=lenient)
    return evaluate_loaded_course(
        loaded,
        Path(plan_dir),
        loaded_protocol,
        aliases=loaded_aliases,
        plan_label=single,
        end_caps=end_caps,
        strict=strict,
        accept_mismatch=accept_mismatch,
        priors=registered,
    )


def evaluate_loaded_course(
    course: Course,
    plan_dir: Path,
    protocol: LoadedProtocol | None = None,
    *,
    aliases: LoadedAliases | None = None,
    plan_label: str | None = None,
    end_caps: str | EndCaps = EndCaps.AUTO,
    strict: bool = False,
    accept_mismatch: bool = False,
    priors: Reirradiation | None = None,
) -> CourseEvaluation:
    """Evaluate a course already loaded from ``plan_dir``: the second half of :func:`evaluate_folder`.

    For callers that loaded the course themselves (the Python API). ``strict``
    is the strictness the course was read with: it also refuses a course
    whose doses disagree with the planning system's stored DVHs.
    """
    from plancheck.dvh.engine import DvhSettings
    from plancheck.evaluation import evaluate_course

    evaluation = evaluate_course(
        course,
        protocol,
        aliases=aliases,
        plan_label=plan_label,
        settings=DvhSettings(end_caps=EndCaps(end_caps)),
        accept_mismatch=accept_mismatch,
        priors=priors,
    )
    if strict and evaluation.crosscheck_warnings:
        raise InputError(
            "--strict: " + "; ".join(evaluation.crosscheck_warnings),
            path=plan_dir,
            hint="Find out which dose is right before evaluating, or run without --strict to see "
            "the evaluation with this warning.",
        )
    return evaluation


def evaluate_plan(
    plan_dir: Path,
    protocol: str | None = None,
    *,
    curves: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """The evaluation document of :func:`evaluate_folder` (see :mod:`plancheck.report.evaluation_doc`).

    ``options`` are those of :func:`evaluate_folder`. Importable at top level
    so batch workers (processes, Dask) can call it.
    """
    from plancheck.report.evaluation_doc import evaluation_document

    evaluation = evaluate_folder(plan_dir, protocol, **options)
    return evaluation_document(evaluation, source=str(plan_dir), curves=curves)


def dicompyler_comparison(plan_dir: Path, report: Any, metrics: list[str]) -> dict[int, Any]:
    """dicompyler-core's metrics for the ROIs of ``report`` (a :class:`DvhReport`), by ROI number.

    Raises
    ------
    CourseError
        When the evaluated dose is not one PLAN RTDOSE file (dicompyler-core reads one file).
    MissingDependencyError
        When dicompyler-core is not installed.
    """
    from plancheck.dicom.dicompyler_bridge import dicompyler_dvhs
    from plancheck.dicom.discover import index_folder
    from plancheck.dvh.metric import PHYSICAL, parse_metric
    from plancheck.dvh_report import metric_results

    plans = report.plans
    if len(plans) != 1 or plans[0].how != "PLAN dose" or len(plans[0].dose_uids) != 1:
        raise CourseError(
            "dicompyler-core compares one plan whose dose is a single PLAN RTDOSE",
            path=plan_dir,
            hint="Choose one plan with --plan LABEL; BEAM and FRACTION doses cannot be compared.",
        )
    uid = plans[0].dose_uids[0]
    # dicompyler-core reads the files itself: find the RTDOSE file of that UID
    dose_path = next(
        (f.path for f in index_folder(plan_dir).files if f.sop_instance_uid == uid), None
    )
    if dose_path is None:
        raise CourseError(f"the RTDOSE {uid} was not found again in the folder", path=plan_dir)
    rois = [s.roi_number for s in report.structures]
    dvhs = dicompyler_dvhs(report.course.structure_set.path, dose_path, rois)
    parsed = [parse_metric(m) for m in metrics]
    return {
        roi: metric_results(parsed, {PHYSICAL: dvh}, report.prescription_gy) for roi, dvh in dvhs.items()
    }
