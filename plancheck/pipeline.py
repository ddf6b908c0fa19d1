"""The friendly entry points: from a folder to a loaded course.

``load_single_course`` indexes a folder (headers only), links and reads its
files once, and returns the one course it holds. Folders with several
courses are an error that lists them (batch mode handles those).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plancheck.errors import CourseError, InputError
from plancheck.model import Course, EndCaps, Finding, Severity

__all__ = ["load_courses_from", "load_single_course", "single_course"]


def load_courses_from(
    plan_dir: Path, end_caps: EndCaps = EndCaps.HALF, lenient: bool = False
) -> tuple[tuple[Course, ...], tuple[Finding, ...]]:
    """All courses in ``plan_dir`` and the folder-level findings."""
    from plancheck.dicom.course import load_courses
    from plancheck.dicom.discover import index_folder

    index = index_folder(Path(plan_dir))
    loaded = load_courses(index, end_caps=end_caps, lenient=lenient)
    return loaded.courses, loaded.findings


def load_single_course(
    plan_dir: Path, end_caps: EndCaps = EndCaps.HALF, *, strict: bool = False, lenient: bool = False
) -> Course:
    """The one course in ``plan_dir``, with the folder's findings attached.

    With ``strict``, any warning or error noticed while reading (a contour
    skipped, a link made by frame of reference, a mismatched patient ID, ...)
    refuses the input instead of being recorded as a finding. With
    ``lenient``, safe deviations the default ignores (open planar contours)
    are read, each recorded as a finding.

    Raises
    ------
    CourseError
        When the folder holds no course or more than one.
    """
    courses, findings = load_courses_from(plan_dir, end_caps, lenient)
    return single_course(courses, findings, plan_dir, strict=strict)


def single_course(
    courses: tuple[Course, ...],
    findings: tuple[Finding, ...],
    plan_dir: Path,
    *,
    strict: bool = False,
) -> Course:
    """The one course of a loaded folder, with the folder's ``findings`` attached.

    The second half of :func:`load_single_course`, for callers that loaded
    the folder with :func:`load_courses_from` already (the Python API).

    Raises
    ------
    CourseError
        When ``courses`` is empty or holds more than one course.
    InputError
        With ``strict``, when the course or the folder has a warning or error finding.
    """
    if not courses:
        problems = "; ".join(f.message for f in findings[:5])
        raise CourseError(
            "no plan with a dose and a structure set was found",
            path=plan_dir,
            hint=f"Findings: {problems}" if problems else "The folder holds no RT files.",
        )
    if len(courses) > 1:
        names = ", ".join(
            f"{c.structure_set.label!r} ({', '.join(p.label for p in c.plans)})" for c in courses
        )
        raise CourseError(
            f"the folder holds {len(courses)} courses: {names}",
            path=plan_dir,
            hint="Point plancheck at one course's folder, or use 'plancheck batch'.",
        )
    course = courses[0]
    extra = tuple(f for f in findings if f not in course.findings)
    all_findings = tuple(course.findings) + extra
    if strict:
        serious = [f for f in all_findings if f.severity in (Severity.WARNING, Severity.ERROR)]
        if serious:
            listed = "; ".join(f"{f.code}: {f.message}" for f in serious[:5])
            more = f" (and {len(serious) - 5} more)" if len(serious) > 5 else ""
            raise InputError(
                f"--strict: {len(serious)} problem(s) in the input: {listed}{more}",
                path=plan_dir,
                hint="Fix the export, or run without --strict to evaluate with them recorded as findings.",
            )
    return Course(course.structure_set, course.plans, all_findings)


def evaluate_plan(
    plan_dir: Path,
    protocol: str | None = None,
    *,
    aliases: Path | None = None,
    plan_label: str | None = None,
    end_caps: str | EndCaps = EndCaps.HALF,
    curves: bool = True,
    strict: bool = False,
    lenient: bool = False,
) -> dict[str, Any]:
    """Evaluate the course in ``plan_dir`` against ``protocol`` (a name, a file, or None to choose).

    Returns the evaluation document (see :mod:`plancheck.report.evaluation_doc`).
    Importable at top level so batch workers (processes, Dask) can call it.
    """
    from plancheck.dvh.engine import DvhSettings
    from plancheck.evaluation import evaluate_course
    from plancheck.protocol.load import load_aliases
    from plancheck.protocol.registry import find_protocol
    from plancheck.report.evaluation_doc import evaluation_document

    caps = EndCaps(end_caps)
    loaded_protocol = find_protocol(protocol) if protocol is not None else None
    loaded_aliases = load_aliases(aliases) if aliases is not None else None
    course = load_single_course(Path(plan_dir), caps, strict=strict, lenient=lenient)
    evaluation = evaluate_course(
        course,
        loaded_protocol,
        aliases=loaded_aliases,
        plan_label=plan_label,
        settings=DvhSettings(end_caps=caps),
    )
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
