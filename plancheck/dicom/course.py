"""Loading the courses of a folder: structure sets, plans and their total doses.

:func:`load_courses` takes a :class:`~plancheck.dicom.discover.FolderIndex`,
links its files (:mod:`plancheck.dicom.link`, headers only), then reads what
the usable plans need: each structure set's contours once, and the pixel data
of the chosen RTDOSEs. The datasets read while indexing are reused, so no file
is parsed twice.

A :class:`~plancheck.model.PlanDose` holds the plan's total dose over all its
fractions, in Gy, on its grid reoriented so x, y and z ascend: the PLAN dose
as stored; the sum of the BEAM doses; or the FRACTION dose times the fraction
count. The planning system's stored DVHs come with PLAN doses (and with
FRACTION doses, scaled the same way); summed beam doses have none.

Problems that stop one plan (a dose that cannot be read, a missing structure
set) are findings, and the other plans are still loaded. Each finding is
attached to the course whose files it concerns, or to the folder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plancheck.dicom.discover import FolderIndex
from plancheck.dicom.link import CourseLink, FolderLinks, PlanLink, link_folder
from plancheck.dicom.roi_volume import roi_volumes_cc
from plancheck.dicom.rtdose import rtdose_from_dataset
from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.dicom.tps_dvh import has_percent_volumes, scaled_tps_dvh
from plancheck.errors import CourseError, PlancheckError
from plancheck.model import (
    Course,
    DoseFile,
    DoseGrid,
    EndCaps,
    Finding,
    PlanDose,
    Severity,
    TpsDvh,
)

__all__ = ["LoadedFolder", "load_courses", "load_folder", "no_course_reason"]


@dataclass(frozen=True, eq=False)
class LoadedFolder:
    """The courses found in a folder.

    ``findings`` are those not attached to a course (files outside every
    course, the folder itself); each course carries its own. ``links`` says
    how the files were linked (for ``plancheck info``).
    """

    courses: tuple[Course, ...]
    findings: tuple[Finding, ...]
    links: FolderLinks | None = None

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Every finding: the folder's, then each course's."""
        out = list(self.findings)
        for c in self.courses:
            out.extend(c.findings)
        return tuple(out)


def load_courses(
    index: FolderIndex, *, end_caps: EndCaps = EndCaps.HALF, lenient: bool = False
) -> LoadedFolder:
    """Link and read the courses of ``index``.

    Parameters
    ----------
    index : FolderIndex
        The indexed folder.
    end_caps : EndCaps
        Used only to convert stored DVHs whose volumes are PERCENT into cc
        (the ROI volume is computed from the contours with these end caps).
    lenient : bool
        Read safe vendor deviations (open planar contours) instead of
        ignoring them; each is recorded as a finding.

    Raises
    ------
    CourseError
        When no course can be formed; the message says what was found and
        what is missing.
    """
    loaded = load_folder(index, end_caps=end_caps, lenient=lenient)
    if not loaded.courses:
        raise CourseError(
            no_course_reason(index, loaded),
            path=index.root,
            hint=f"Run 'plancheck info {index.root}' for every finding.",
        )
    return loaded


def load_folder(
    index: FolderIndex, *, end_caps: EndCaps = EndCaps.HALF, lenient: bool = False
) -> LoadedFolder:
    """Like :func:`load_courses`, but a folder without any course is returned, not raised."""
    links = link_folder(index)
    notes: list[Finding] = [*index.findings, *links.findings]
    loaded: list[tuple[Course, set[str]]] = []
    for course_link in links.courses:
        result = _load_course(course_link, end_caps, notes, lenient)
        if result is not None:
            loaded.append(result)
    notes = list(dict.fromkeys(notes))  # the same finding once, first occurrence kept
    courses = []
    claimed: set[Finding] = set()
    for course, paths in loaded:
        own = tuple(f for f in notes if f.path is not None and f.path in paths)
        claimed.update(own)
        courses.append(Course(course.structure_set, course.plans, own))
    folder = tuple(f for f in notes if f not in claimed)
    return LoadedFolder(tuple(courses), folder, links)


def no_course_reason(index: FolderIndex, loaded: LoadedFolder) -> str:
    """One sentence: what the folder holds and why no course could be formed."""
    counts = index.counts()
    found = ", ".join(
        f"{n} {what}"
        for what, n in (
            ("RTPLAN", counts["RTPLAN"] + counts["RTIONPLAN"]),
            ("RTDOSE", counts["RTDOSE"]),
            ("RTSTRUCT", counts["RTSTRUCT"]),
            ("unreadable DICOM files", counts["UNREADABLE"]),
            ("non-DICOM files", counts["NON_DICOM"]),
        )
        if n or what in ("RTPLAN", "RTDOSE", "RTSTRUCT")
    )
    errors = [f.message for f in loaded.findings if f.severity == Severity.ERROR]
    missing = []
    if counts["RTPLAN"] + counts["RTIONPLAN"] == 0:
        missing.append("an RT Plan")
    if counts["RTDOSE"] == 0:
        missing.append("an RT Dose")
    if counts["RTSTRUCT"] == 0:
        missing.append("an RT Structure Set")
    text = f"no plan with its dose and structure set could be formed (found {found})"
    if missing:
        text += f"; missing: {', '.join(missing)}"
    if errors:
        text += f". First problem: {errors[0]}"
    return text


# --------------------------------------------------------------------------- one course


def _load_course(
    link: CourseLink, end_caps: EndCaps, notes: list[Finding], lenient: bool = False
) -> tuple[Course, set[str]] | None:
    ss_file = link.structure_set
    paths = {str(ss_file.path)}
    for pl in link.plans:
        paths.add(str(pl.file.path))
        paths.update(str(d.file.path) for d in pl.doses)
    try:
        if ss_file.dataset is None:
            raise CourseError("the structure set's dataset was not kept", path=ss_file.path)
        ss = structure_set_from_dataset(ss_file.dataset, path=ss_file.path, lenient=lenient)
    except PlancheckError as exc:
        notes.append(
            _note(
                Severity.ERROR,
                "structure-set-unusable",
                f"{ss_file.name}: {_text(exc, 'its plans are not evaluated')}",
                ss_file.path,
            )
        )
        return None
    notes.extend(ss.findings)
    volumes = functools.cache(functools.partial(roi_volumes_cc, ss, end_caps))
    plans = []
    for pl in link.plans:
        plan_dose = _plan_dose(pl, volumes, notes)
        if plan_dose is not None:
            plans.append(plan_dose)
    if not plans:
        return None
    return Course(ss, tuple(plans)), paths


def _plan_dose(
    pl: PlanLink, roi_volumes: Callable[[], dict[int, float]], notes: list[Finding]
) -> PlanDose | None:
    choice = pl.choice
    assert choice is not None
    rx = pl.plan.prescription_gy
    total: np.ndarray | None = None
    first: DoseGrid | None = None
    dvhs: tuple[TpsDvh, ...] = ()
    files: list[DoseFile] = []
    for link, n in zip(choice.doses, choice.multipliers, strict=True):
        if (
            link.file.dataset is None
        ):  # the index keeps every RT dataset; this is a programming error
            raise CourseError("the dose's dataset was not kept by the index", path=link.file.path)
        dose_rx = None  # the prescription of what this RTDOSE holds: the plan's, or one fraction's
        if rx is not None and choice.kind == "PLAN":
            dose_rx = rx
        elif rx is not None and choice.kind == "FRACTION":
            dose_rx = rx / n
        volumes = roi_volumes() if has_percent_volumes(link.file.dataset) else None
        try:
            dose = rtdose_from_dataset(
                link.file.dataset,
                path=link.file.path,
                prescription_gy=dose_rx,
                header=link.header,
                roi_volumes_cc=volumes,
            )
        except PlancheckError as exc:
            notes.append(
                _note(
                    Severity.ERROR,
                    "dose-unreadable",
                    f"{link.file.name}: {_text(exc, f'plan {pl.plan.label!r} is not evaluated')}",
                    link.file.path,
                )
            )
            return None
        notes.extend(dose.findings)
        files.append(
            DoseFile(dose.path, dose.sop_instance_uid, dose.dose_type, dose.summation_type, dose.source)
        )
        if len(choice.doses) == 1:
            grid = dose.grid
            if n != 1:
                grid = grid.with_dose(grid.dose_gy * np.float32(n))
                dvhs = tuple(scaled_tps_dvh(d, n) for d in dose.tps_dvhs)
            else:
                dvhs = dose.tps_dvhs
            return PlanDose(
                pl.plan, grid, choice.how, (dose.sop_instance_uid,), dvhs, dose_files=tuple(files)
            )
        if total is None:
            total = np.zeros(dose.grid.shape, dtype=np.float64)
            first = dose.grid
        total += dose.grid.dose_gy.astype(np.float64) * n
    assert total is not None and first is not None
    uids = tuple(d.header.sop_instance_uid for d in choice.doses)
    return PlanDose(
        pl.plan, first.with_dose(total.astype(np.float32)), choice.how, uids, (), dose_files=tuple(files)
    )


def _text(exc: PlancheckError, consequence: str) -> str:
    return f"{exc.message.rstrip('.')}; {consequence}." + (f" {exc.hint}" if exc.hint else "")


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
