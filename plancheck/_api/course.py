"""Loading folders into courses: :func:`load`, :class:`Folder`, :class:`Course`.

A thin layer over :func:`plancheck.pipeline.load_courses_from` (what every
command reads a folder with) and :func:`plancheck.dvh_report.compute_dvh_report`
(what ``plancheck dvh`` computes with).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plancheck._api.display import html_table
from plancheck.dvh_report import DEFAULT_METRICS
from plancheck.model import Finding

if TYPE_CHECKING:
    from plancheck._api.dvh import Dvh, MetricTable
    from plancheck._api.evaluation import Evaluation
    from plancheck.dvh.engine import DvhSettings
    from plancheck.model import Course as ModelCourse
    from plancheck.model import PlanDose
    from plancheck.pipeline import CourseSelection

__all__ = ["Course", "Folder", "PlanInfo", "StructureInfo", "StructureSetInfo", "load"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class PlanInfo:
    """One plan of a course, as its RTPLAN and RTDOSE headers state it.

    Attributes
    ----------
    label : str
        RTPlanLabel (``"(no plan)"`` for a dose without its RTPLAN).
    n_fractions : int or None
        Planned fractions (all fraction groups).
    prescription_gy : float or None
        Highest target prescription dose stated in the plan, in Gy.
    approval_status : str or None
        ApprovalStatus of the RTPLAN.
    dose_from : str
        Which RTDOSE files make the plan's dose, e.g. ``"PLAN dose"``.
    sop_instance_uid : str or None
        SOP Instance UID of the RTPLAN.
    path : pathlib.Path or None
        The RTPLAN file.
    """

    label: str
    n_fractions: int | None
    prescription_gy: float | None
    approval_status: str | None
    dose_from: str
    sop_instance_uid: str | None
    path: Path | None

    @classmethod
    def _from_plan_dose(cls, p: PlanDose) -> PlanInfo:
        plan = p.plan
        return cls(
            label=p.label,
            n_fractions=p.n_fractions,
            prescription_gy=plan.prescription_gy if plan is not None else None,
            approval_status=plan.approval_status if plan is not None else None,
            dose_from=p.how,
            sop_instance_uid=plan.sop_instance_uid if plan is not None else None,
            path=plan.path if plan is not None else None,
        )


@dataclass(frozen=True)
class StructureInfo:
    """One ROI of a structure set.

    Attributes
    ----------
    name : str
        ROIName.
    roi_number : int
        ROINumber.
    roi_type : str or None
        RTROIInterpretedType (``"PTV"``, ``"ORGAN"``, ``"EXTERNAL"``, ...).
    has_volume : bool
        False when the ROI has no closed planar contours (a point, or empty).
    """

    name: str
    roi_number: int
    roi_type: str | None
    has_volume: bool


@dataclass(frozen=True)
class StructureSetInfo:
    """The structure set a course is planned on.

    Attributes
    ----------
    label : str
        StructureSetLabel.
    path : pathlib.Path
        The RTSTRUCT file.
    sop_instance_uid : str
        Its SOP Instance UID.
    frame_of_reference_uid : str or None
        The frame of reference of its contours.
    structures : tuple of StructureInfo
        Its ROIs, in file order.
    """

    label: str
    path: Path
    sop_instance_uid: str
    frame_of_reference_uid: str | None
    structures: tuple[StructureInfo, ...]


class Course:
    """Plans that share one structure set and frame of reference, with their dose.

    Get courses with :func:`plancheck.load`. A course of several plans (a
    SIB plan and a sequential boost) is evaluated on the voxel-wise sum of
    its plans, each converted with its own fraction count for EQD2/BED.

    Attributes
    ----------
    path : str
        The folder the course was loaded from, as the command line names it
        (``str(pathlib.Path(path))`` of the path given to :func:`plancheck.load`).
    plans : tuple of PlanInfo
        Its plans.
    structure_set : StructureSetInfo
        Its structure set.
    findings : tuple of Finding
        What was noticed while reading the course and its folder.
    """

    path: str
    plans: tuple[PlanInfo, ...]
    structure_set: StructureSetInfo
    findings: tuple[Finding, ...]

    def __init__(
        self, course: ModelCourse, source: str, settings: DvhSettings, *, strict: bool = False
    ) -> None:
        self._course = course
        self._settings = settings
        self._strict = strict  # how it was read: evaluate() applies it as `evaluate --strict` does
        self.path = source
        self.plans = tuple(PlanInfo._from_plan_dose(p) for p in course.plans)
        ss = course.structure_set
        self.structure_set = StructureSetInfo(
            label=ss.label,
            path=ss.path,
            sop_instance_uid=ss.sop_instance_uid,
            frame_of_reference_uid=ss.frame_of_reference_uid,
            structures=tuple(
                StructureInfo(s.name, s.roi_number, s.roi_type, s.has_volume) for s in ss.structures
            ),
        )
        self.findings = tuple(course.findings)

    @property
    def structure_names(self) -> tuple[str, ...]:
        """Names of the ROIs of the structure set, in file order."""
        return tuple(s.name for s in self.structure_set.structures)

    def metrics(
        self,
        metrics: Sequence[str] = DEFAULT_METRICS,
        structures: Sequence[str] | None = None,
        *,
        plan: str | None = None,
        prescription_gy: float | None = None,
    ) -> MetricTable:
        """DVH metrics of the course's structures, as ``plancheck dvh`` computes them.

        Parameters
        ----------
        metrics : sequence of str
            TG-263 metrics, e.g. ``["D95%[Gy]", "V20Gy[cc]", "D0.03cc[EQD2Gy(a/b=2)]"]``.
            By default those of ``plancheck dvh``: Volume, Min, Mean, Max,
            D0.03cc, D2%, D50%, D95%, D98% in Gy.
        structures : sequence of str, optional
            ROI names (exact, or differing only in case); every ROI by default.
        plan : str, optional
            Evaluate this plan's dose alone (its label) instead of the course's sum.
        prescription_gy : float, optional
            Dose in Gy that relative metrics (``V95%[%]``, ``D2%[%]``) refer to.
            By default the sum of the plans' stated prescriptions, when every plan
            states one.

        Returns
        -------
        MetricTable

        Raises
        ------
        MetricSyntaxError
            When a metric is not valid TG-263 (before anything is computed).
        CourseError
            When a structure or plan does not exist.
        """
        from plancheck._api.dvh import metric_table
        from plancheck.dvh_report import compute_dvh_report

        if isinstance(metrics, str):
            metrics = [metrics]
        if isinstance(structures, str):
            structures = [structures]
        report = compute_dvh_report(
            self._course,
            list(metrics),
            structure_names=list(structures) if structures else None,
            plan_label=plan,
            prescription_gy=prescription_gy,
            settings=self._settings,
        )
        return metric_table(report, self.path)

    def dvh(
        self,
        structure: str,
        *,
        unit: str = "Gy",
        plan: str | None = None,
        prescription_gy: float | None = None,
    ) -> Dvh:
        """The cumulative DVH of one structure.

        Parameters
        ----------
        structure : str
            ROI name (exact, or differing only in case).
        unit : str
            The dose on the dose axis: ``"Gy"`` (physical dose, the default),
            ``"EQD2Gy(a/b=2)"`` or ``"BED(a/b=3)"`` (each plan converted with
            its own fraction count, voxel by voxel, then summed).
        plan : str, optional
            This plan's dose alone (its label) instead of the course's sum.
        prescription_gy : float, optional
            Dose in Gy that relative metrics read with :meth:`Dvh.metric` refer to.

        Returns
        -------
        Dvh

        Raises
        ------
        CourseError
            When the structure or plan does not exist.
        MetricUndefinedError
            When the biological dose cannot be computed (no fraction count).
        ValueError
            When ``unit`` is not a dose quantity.
        """
        from plancheck._api.dvh import structure_dvh
        from plancheck.dvh.metric import parse_metric
        from plancheck.dvh_report import compute_dvh_report
        from plancheck.errors import MetricSyntaxError, MetricUndefinedError

        probe = f"Mean[{unit}]"
        try:
            parsed = parse_metric(probe)
        except MetricSyntaxError as exc:
            raise ValueError(
                f"unit must be 'Gy', 'EQD2Gy(a/b=X)' or 'BED(a/b=X)', not {unit!r}"
            ) from exc
        if parsed.output_unit.value in ("cGy", "%"):
            raise ValueError(f"unit must be 'Gy', 'EQD2Gy(a/b=X)' or 'BED(a/b=X)', not {unit!r}")
        report = compute_dvh_report(
            self._course,
            [probe],
            structure_names=[structure],
            plan_label=plan,
            prescription_gy=prescription_gy,
            settings=self._settings,
        )
        (result,) = report.structures
        if parsed.dose_quantity not in result.dvhs:
            reason = result.metrics[0].reason or f"no {parsed.dose_quantity} was computed"
            raise MetricUndefinedError(f"the {parsed.dose_quantity} DVH of {structure!r}", reason)
        return structure_dvh(report, parsed.dose_quantity)

    def evaluate(
        self,
        protocol: PathLike | None = None,
        *,
        aliases: PathLike | None = None,
        plan: str | None = None,
        accept_mismatch: bool = False,
    ) -> Evaluation:
        """This course evaluated against a protocol: ``plancheck.evaluate(course, ...)``.

        See :func:`plancheck.evaluate` for the parameters.
        """
        from plancheck._api.evaluation import evaluate

        return evaluate(self, protocol, aliases=aliases, plan=plan, accept_mismatch=accept_mismatch)

    def _repr_html_(self) -> str:
        plans = html_table(
            ["plan", "fractions", "prescription [Gy]", "dose", "approval"],
            [
                (p.label, p.n_fractions, p.prescription_gy, p.dose_from, p.approval_status or "")
                for p in self.plans
            ],
            caption=f"plancheck course: structure set {self.structure_set.label!r} in {self.path}",
        )
        rois = html_table(
            ["ROI", "name", "type", "contoured"],
            [
                (s.roi_number, s.name, s.roi_type or "", "yes" if s.has_volume else "no")
                for s in self.structure_set.structures
            ],
        )
        return plans + rois + _findings_html(self.findings)

    def __repr__(self) -> str:
        plans = ", ".join(p.label for p in self.plans)
        return (
            f"<Course {self.structure_set.label!r}: plans [{plans}], "
            f"{len(self.structure_set.structures)} ROIs, {len(self.findings)} findings>"
        )


def _findings_html(findings: Sequence[Finding]) -> str:
    if not findings:
        return ""
    return html_table(
        ["severity", "code", "message"],
        [(f.severity.value, f.code, f.message) for f in findings],
        caption="findings",
    )


class Folder(Sequence[Course]):
    """The courses found in a folder: a sequence of :class:`Course`.

    Attributes
    ----------
    path : str
        The folder, as given to :func:`plancheck.load`.
    courses : tuple of Course
        Every course found (one plan or several on one structure set).
    findings : tuple of Finding
        What was noticed about the folder's files (also attached to each course).
    """

    path: str
    courses: tuple[Course, ...]
    findings: tuple[Finding, ...]

    def __init__(
        self,
        path: str,
        courses: tuple[Course, ...],
        findings: tuple[Finding, ...],
        folder: Path,
    ) -> None:
        self.path = path
        self.courses = courses
        self.findings = findings
        self._folder = folder

    @property
    def course(self) -> Course:
        """The folder's only course.

        Raises
        ------
        CourseError
            When the folder holds no course or several (the message lists them),
            as ``plancheck evaluate`` does.
        """
        from plancheck.pipeline import single_course

        # the command line's rule and error, naming the courses found
        chosen = single_course([c._course for c in self.courses], self._folder)
        return next(c for c in self.courses if c._course is chosen)

    def __len__(self) -> int:
        return len(self.courses)

    def __iter__(self) -> Iterator[Course]:
        return iter(self.courses)

    def __getitem__(self, index: Any) -> Any:
        return self.courses[index]

    def _repr_html_(self) -> str:
        rows = [
            (
                c.structure_set.label,
                ", ".join(p.label for p in c.plans),
                sum(p.n_fractions or 0 for p in c.plans) or None,
                len(c.structure_set.structures),
            )
            for c in self.courses
        ]
        table = html_table(
            ["structure set", "plans", "fractions", "ROIs"],
            rows,
            caption=f"plancheck: {len(self.courses)} course(s) in {self.path}",
        )
        return table + _findings_html(self.findings)

    def __repr__(self) -> str:
        return f"<Folder {self.path!r}: {len(self.courses)} course(s), {len(self.findings)} findings>"


def dvh_settings(end_caps: str) -> DvhSettings:
    """The DVH settings of an ``end_caps`` option, built as the command line builds them.

    Raises
    ------
    ValueError
        When ``end_caps`` is not one of the conventions.
    """
    from plancheck.dvh.engine import DvhSettings
    from plancheck.model import EndCaps

    choices = [c.value for c in EndCaps]
    if end_caps not in choices:
        raise ValueError(f"end_caps must be one of {choices}, not {end_caps!r}")
    # as `--end-caps` does: DvhSettings' own default (half) is not the command line's (auto)
    return DvhSettings(end_caps=EndCaps(end_caps))


def course_selection(plans: Sequence[str] | str, course: str, fractions: int | None) -> CourseSelection:
    """The plan selection of ``--plan``/``--course``, with the checks click makes on the command line.

    Raises
    ------
    ValueError
        When ``course`` is not ``"auto"`` or ``"all"``, or ``fractions`` is below 1.
    """
    from plancheck.pipeline import CourseSelection

    if course not in ("auto", "all"):
        raise ValueError(f"course must be 'auto' or 'all', not {course!r}")
    if fractions is not None and (isinstance(fractions, bool) or fractions < 1):
        raise ValueError(f"fractions must be a whole number of at least 1, not {fractions!r}")
    chosen = (plans,) if isinstance(plans, str) else tuple(plans)
    return CourseSelection("all" if course == "all" else "auto", chosen)


def load(
    path: PathLike,
    *,
    end_caps: str = "auto",
    strict: bool = False,
    lenient: bool = False,
    plans: Sequence[str] = (),
    course: str = "auto",
    fractions: int | None = None,
) -> Folder:
    """Read a folder of DICOM-RT files into its courses, as ``plancheck dvh`` reads it.

    The folder is searched recursively; file names do not matter and nothing
    is written into it. Each file is parsed once. Plans on one structure set
    form one course only when they complement each other (a sequential boost
    that names its SIB plan as predecessor, for example) or when the user
    says so (``plans``, ``course="all"``); alternative plans (an IMRT and a
    VMAT plan of one case) are separate courses, never summed.

    Parameters
    ----------
    path : str or os.PathLike
        The folder.
    end_caps : {"auto", "half", "none"}
        Structure extent beyond its first and last contour planes for the
        DVHs, as ``--end-caps``: ``"auto"`` (the default) the convention of
        the planning system that wrote the structure set (none for Eclipse
        and RayStation, half a slice elsewhere); ``"half"`` half a contour
        spacing; ``"none"`` the end planes bound the structure.
    strict : bool
        Refuse input with any warning or error finding instead of recording it
        (``--strict``).
    lenient : bool
        Also read safe deviations the default ignores, each recorded as a
        finding (``--lenient``).
    plans : sequence of str
        Only these plans (label, SOP Instance UID or file name), summed when
        several (``--plan``, repeated).
    course : {"auto", "all"}
        ``"all"`` sums every plan of each structure set (``--course all``).
    fractions : int, optional
        The fraction count of doses without their plan (``--fractions``):
        needed for EQD2/BED, and for a single-session (``*_SESSION``) dose.

    Returns
    -------
    Folder
        A sequence of :class:`Course`; ``.course`` is the only one, or an
        error naming them.

    Raises
    ------
    CourseError
        When the folder holds no course (a dose with its structure set), or
        courses of several patients (as on the command line: a folder mixing
        patients is refused; load each patient's folder, or use
        ``plancheck batch``), or ``plans`` names a plan it does not hold.
    InputError
        When the folder cannot be read, or with ``strict`` when the input has
        a warning or an error.
    ValueError
        When an option is not one of its values.
    """
    from plancheck.errors import ProtocolError
    from plancheck.pipeline import folder_courses, load_courses_from

    if strict and lenient:
        raise ProtocolError("strict and lenient exclude each other")
    settings = dvh_settings(end_caps)
    selection = course_selection(plans, course, fractions)
    folder = Path(os.fspath(path))
    source = str(folder)  # as the command line names it in its documents
    # the command line's steps (plancheck.pipeline.load_folder_courses), keeping the folder's findings
    courses, findings = load_courses_from(
        folder, lenient, selection=selection, fractions=fractions
    )
    loaded = folder_courses(courses, findings, folder, strict=strict, selection=selection)
    wrapped = tuple(Course(c, source, settings, strict=strict) for c in loaded)
    return Folder(source, wrapped, tuple(findings), folder)
