"""Loading the courses of a folder: structure sets, plans and their whole doses.

:func:`load_courses` takes a :class:`~plancheck.dicom.discover.FolderIndex`,
links its files (:mod:`plancheck.dicom.link`, headers only; it also decides
which plans form a course), then reads what the usable plans need: each
structure set's contours once, and the pixel data of the chosen RTDOSEs. The
datasets read while indexing are reused, so no file is parsed twice.

A :class:`~plancheck.model.PlanDose` holds the plan's whole dose over all its
fractions, in Gy, on its grid reoriented so x, y and z ascend: the sum of its
chosen RTDOSEs, each as stored or, for a single session (``*_SESSION``),
times its fraction count (:mod:`plancheck.dicom.dose_choice`). A plan with
several fraction groups carries each group's dose as a part when each is
known (for EQD2/BED), else the reason it is not. The planning system's
stored DVHs come with a single RTDOSE (scaled like it). Each plan's dose is
then checked against what its plan states
(:mod:`plancheck.dicom.plausibility`); an implausible dose is an error and
the plan is not evaluated.

Problems that stop one plan (a dose that cannot be read or is implausible, a
missing structure set) are findings, and the other plans are still loaded;
a course of several plans that loses one is not evaluated. Each finding is
attached to every course whose files it concerns or could concern (the
course's own files, files that reference its plans or structure set, files
of its frame of reference that belong to no other course, and files that
could not be read at all), else to the folder.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plancheck.dicom.discover import FolderIndex
from plancheck.dicom.dose_choice import DoseLink, DoseTerm
from plancheck.dicom.grouping import CourseSelection
from plancheck.dicom.link import CourseLink, FolderLinks, PlanLink, link_folder
from plancheck.dicom.plausibility import PlanExpectation, check_dose
from plancheck.dicom.roi_volume import roi_volumes_cc
from plancheck.dicom.rtdose import rtdose_from_dataset
from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.dicom.tps_dvh import has_percent_volumes, scaled_tps_dvh
from plancheck.errors import CourseError, PlancheckError
from plancheck.model import (
    Course,
    DoseGrid,
    DosePart,
    EndCaps,
    Finding,
    PlanDose,
    RtDose,
    Severity,
    StructureSet,
    TpsDvh,
)

__all__ = ["LoadedFolder", "load_courses", "load_folder", "no_course_reason"]

# the doses of a plan's fraction groups must add up to its PLAN dose within this share of its maximum
_PARTS_TOLERANCE = 0.02


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
        """Every finding once: the folder's, then each course's."""
        out = list(self.findings)
        for c in self.courses:
            out.extend(c.findings)
        return tuple(dict.fromkeys(out))


def load_courses(
    index: FolderIndex,
    *,
    end_caps: EndCaps = EndCaps.HALF,
    lenient: bool = False,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
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
    selection : CourseSelection or None
        Which plans to evaluate, and whether to sum them (default: plans are
        summed only when they complement each other).
    fractions : int or None
        The fraction count for doses without their plan and plans that state
        none (``--fractions``).

    Raises
    ------
    CourseError
        When no course can be formed (the message says what was found and
        what is missing), or ``selection`` names a plan that is not there.
    """
    loaded = load_folder(
        index, end_caps=end_caps, lenient=lenient, selection=selection, fractions=fractions
    )
    if not loaded.courses:
        raise CourseError(
            no_course_reason(index, loaded.findings),
            path=index.root,
            hint=f"Run 'plancheck info {index.root}' for every finding.",
        )
    return loaded


def load_folder(
    index: FolderIndex,
    *,
    end_caps: EndCaps = EndCaps.HALF,
    lenient: bool = False,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
) -> LoadedFolder:
    """Like :func:`load_courses`, but a folder without any course is returned, not raised."""
    links = link_folder(index, selection=selection, fractions=fractions)
    notes: list[Finding] = [*index.findings, *links.findings]
    sets: dict[str, StructureSet | None] = {}
    loaded: list[tuple[Course, CourseLink]] = []
    for course_link in links.courses:
        course = _load_course(course_link, end_caps, notes, sets, lenient)
        if course is not None:
            loaded.append((course, course_link))
    notes = list(dict.fromkeys(notes))  # the same finding once, first occurrence kept
    related = _related_courses(links, [cl for _, cl in loaded])
    courses = []
    claimed: set[Finding] = set()
    for k, (course, course_link) in enumerate(loaded):
        own = [f for f in notes if f.path is not None and k in related.get(f.path, ())]
        claimed.update(own)
        courses.append(
            Course(
                course.structure_set,
                course.plans,
                tuple(dict.fromkeys([*course_link.findings, *own])),
            )
        )
    folder = tuple(f for f in notes if f not in claimed)
    return LoadedFolder(tuple(courses), folder, links)


def _related_courses(links: FolderLinks, courses: list[CourseLink]) -> dict[str, set[int]]:
    """For each file path, the courses (indices) its findings are attached to."""
    out: dict[str, set[int]] = defaultdict(set)
    owner: dict[str, int] = {}
    plan_uids: dict[str, set[int]] = defaultdict(set)
    set_uids: dict[str, set[int]] = defaultdict(set)
    frames: dict[str | None, set[int]] = defaultdict(set)
    for k, cl in enumerate(courses):
        files = [cl.structure_set] + [
            f
            for pl in cl.plans
            for f in ([pl.file] if pl.file is not None else []) + [d.file for d in pl.doses]
        ]
        for f in files:
            owner[str(f.path)] = k
            out[str(f.path)].add(k)
        for pl in cl.plans:
            if pl.plan is not None:
                plan_uids[pl.plan.sop_instance_uid].add(k)
        set_uids[cl.structure_set.sop_instance_uid].add(k)
        frames[cl.structure_set.frame_of_reference_uid].add(k)
    everyone = set(range(len(courses)))
    index = links.index
    for f in index.files:
        path = str(f.path)
        if path in owner or not f.kind.is_rt:
            continue
        hits: set[int] = set()
        for uid in f.referenced_plan_uids:
            hits |= plan_uids.get(uid, set())
        for uid in f.referenced_structure_set_uids:
            hits |= set_uids.get(uid, set())
        if f.sop_instance_uid in set_uids:
            hits |= set_uids[f.sop_instance_uid]
        if not hits:
            hits = set(frames.get(f.frame_of_reference_uid, set()))
        out[path] |= hits
    for dup in (*index.duplicates, *index.conflicts):
        out[str(dup.path)] |= everyone
    for skipped in index.unreadable:
        out[str(skipped.path)] |= everyone  # what it was cannot be known: it could be any course's
    return out


def no_course_reason(index: FolderIndex, findings: Sequence[Finding]) -> str:
    """One sentence: what the folder holds and why no course could be formed."""
    counts = index.counts()
    conflicting = {f.kind.value for f in index.conflicts}
    found = ", ".join(
        f"{n} {what}"
        for what, n in (
            ("RTPLAN", counts["RTPLAN"] + counts["RTIONPLAN"]),
            ("RTDOSE", counts["RTDOSE"]),
            ("RTSTRUCT", counts["RTSTRUCT"]),
            ("files with conflicting copies", counts["CONFLICT"]),
            ("unreadable DICOM files", counts["UNREADABLE"]),
            ("non-DICOM files", counts["NON_DICOM"]),
        )
        if n or what in ("RTPLAN", "RTDOSE", "RTSTRUCT")
    )
    errors = [f.message for f in findings if f.severity == Severity.ERROR]
    missing = []
    # a dose needs a structure set; its plan is optional (physical doses only without it)
    if counts["RTDOSE"] == 0 and "RTDOSE" not in conflicting:
        missing.append("an RT Dose")
    if counts["RTSTRUCT"] == 0 and "RTSTRUCT" not in conflicting:
        missing.append("an RT Structure Set")
    text = f"no plan with its dose and structure set could be formed (found {found})"
    if missing:
        text += f"; missing: {', '.join(missing)}"
    if errors:
        text += f". First problem: {errors[0]}"
    return text


# --------------------------------------------------------------------------- one course


def _load_course(
    link: CourseLink,
    end_caps: EndCaps,
    notes: list[Finding],
    sets: dict[str, StructureSet | None],
    lenient: bool = False,
) -> Course | None:
    ss = _structure_set(link, notes, sets, lenient)
    if ss is None:
        return None
    volumes = functools.cache(functools.partial(roi_volumes_cc, ss, end_caps))
    plans = []
    lost = []
    for pl in link.plans:
        plan_dose = _plan_dose(pl, volumes, notes)
        if plan_dose is None:
            lost.append(pl)
        else:
            plans.append(plan_dose)
    if lost and len(link.plans) > 1:
        names = ", ".join(repr(p.label) for p in link.plans)
        missing = ", ".join(repr(p.label) for p in lost)
        notes.append(
            _note(
                Severity.ERROR,
                "course-incomplete",
                f"plans {names} form one course, but {missing} cannot be evaluated (see "
                f"{'its' if len(lost) == 1 else 'their'} finding); the course is not evaluated, "
                "because its sum would lack that dose. Evaluate the other plans alone with --plan LABEL.",
                Path(lost[0].finding_path) if lost[0].finding_path else None,
            )
        )
        return None
    if not plans:
        return None
    return Course(ss, tuple(plans))


def _structure_set(
    link: CourseLink, notes: list[Finding], sets: dict[str, StructureSet | None], lenient: bool
) -> StructureSet | None:
    """The course's structure set, read once per folder (None, with a finding, when it cannot be)."""
    ss_file = link.structure_set
    uid = ss_file.sop_instance_uid
    if uid in sets:
        return sets[uid]
    try:
        if ss_file.dataset is None:
            raise CourseError("the structure set's dataset was not kept", path=ss_file.path)
        ss: StructureSet | None = structure_set_from_dataset(
            ss_file.dataset, path=ss_file.path, lenient=lenient
        )
    except PlancheckError as exc:
        notes.append(
            _note(
                Severity.ERROR,
                "structure-set-unusable",
                f"{ss_file.name}: {_text(exc, 'its plans are not evaluated')}",
                ss_file.path,
            )
        )
        ss = None
    if ss is not None:
        notes.extend(ss.findings)
    sets[uid] = ss
    return ss


def _dose_prescription(pl: PlanLink, term: DoseTerm, single: bool) -> float | None:
    """The prescription of what one RTDOSE holds (for stored DVHs in percent of it), if known."""
    rx = pl.plan.prescription_gy if pl.plan is not None else None
    if rx is None or not single:
        return None
    kind = term.link.header.summation_type
    if term.multiplier > 1:
        return rx / term.multiplier  # one session
    if kind == "PLAN" or (kind in ("FRACTION", "BRACHY", "BEAM") and len(pl.fraction_groups) <= 1):
        return rx if kind != "BEAM" else None
    return None


def _read_doses(
    pl: PlanLink, roi_volumes: Callable[[], dict[int, float]], notes: list[Finding]
) -> dict[str, RtDose] | None:
    """Every RTDOSE the plan's dose (and its fraction groups) needs, read once each."""
    choice = pl.choice
    assert choice is not None
    terms = list(choice.terms) + [t for g in choice.groups for t in g.terms]
    single = len(choice.terms) == 1 and not choice.groups
    out: dict[str, RtDose] = {}
    for term in terms:
        link: DoseLink = term.link
        uid = link.file.sop_instance_uid
        if uid in out:
            continue
        if link.file.dataset is None:  # the index keeps every RT dataset: a programming error
            raise CourseError("the dose's dataset was not kept by the index", path=link.file.path)
        volumes = roi_volumes() if has_percent_volumes(link.file.dataset) else None
        try:
            out[uid] = rtdose_from_dataset(
                link.file.dataset,
                path=link.file.path,
                prescription_gy=_dose_prescription(pl, term, single),
                header=link.header,
                roi_volumes_cc=volumes,
            )
        except PlancheckError as exc:
            notes.append(
                _note(
                    Severity.ERROR,
                    "dose-unreadable",
                    f"{link.file.name}: {_text(exc, f'{pl.describe} is not evaluated')}",
                    link.file.path,
                )
            )
            return None
        notes.extend(out[uid].findings)
    return out


def _sum(terms: tuple[DoseTerm, ...], doses: dict[str, RtDose]) -> DoseGrid:
    """Σ multiplier · dose over ``terms`` (all on one grid), as float32."""
    first = doses[terms[0].link.file.sop_instance_uid].grid
    if len(terms) == 1 and terms[0].multiplier == 1:
        return first
    total = np.zeros(first.shape, dtype=np.float64)
    for t in terms:
        total += doses[t.link.file.sop_instance_uid].grid.dose_gy.astype(np.float64) * t.multiplier
    return first.with_dose(total.astype(np.float32))


def _plan_dose(
    pl: PlanLink, roi_volumes: Callable[[], dict[int, float]], notes: list[Finding]
) -> PlanDose | None:
    choice = pl.choice
    assert choice is not None
    doses = _read_doses(pl, roi_volumes, notes)
    if doses is None:
        return None
    grid = _sum(choice.terms, doses)
    how = (
        choice.how
        if pl.plan is not None
        else f"{choice.how} of {', '.join(d.file.name for d in pl.doses)}, no plan"
    )
    dvhs: tuple[TpsDvh, ...] = ()
    if len(choice.terms) == 1:
        term = choice.terms[0]
        stored = doses[term.link.file.sop_instance_uid].tps_dvhs
        dvhs = (
            stored
            if term.multiplier == 1
            else tuple(scaled_tps_dvh(d, term.multiplier) for d in stored)
        )
    parts, reason = _parts(pl, grid, doses)
    finding = check_dose(
        _expectation(pl),
        grid.dose_gy,
        _voxel_cc(grid),
        path=str(choice.terms[0].link.file.path),
        how=how,
    )
    if finding is not None:
        notes.append(finding)
        return None
    uids = tuple(t.link.header.sop_instance_uid for t in choice.terms)
    return PlanDose(pl.plan, grid, how, uids, dvhs, parts, reason)


def _parts(
    pl: PlanLink, total: DoseGrid, doses: dict[str, RtDose]
) -> tuple[tuple[DosePart, ...] | None, str | None]:
    """The dose in parts of equal fractions (for EQD2/BED), or None and the reason they are unknown."""
    choice = pl.choice
    assert choice is not None
    if pl.plan is None:
        if pl.fractions_from_user is not None:
            return (DosePart(total, pl.fractions_from_user),), None
        return None, (
            f"{pl.describe}: without its plan the fraction count is unknown; give it with --fractions N"
        )
    if choice.groups:
        parts = tuple(DosePart(_sum(g.terms, doses), g.n_fractions) for g in choice.groups)
        if choice.kind == "PLAN":
            summed = np.zeros(total.shape, dtype=np.float64)
            for part in parts:
                summed += part.dose.dose_gy
            peak = float(np.max(total.dose_gy)) if total.dose_gy.size else 0.0
            off = float(np.max(np.abs(summed - total.dose_gy))) if total.dose_gy.size else 0.0
            if off > _PARTS_TOLERANCE * peak:
                return None, (
                    f"{pl.describe}: the doses of its fraction groups add up to its PLAN dose only within "
                    f"{off:.3g} Gy ({100 * off / max(peak, 1e-12):.1f} % of its maximum); the dose of each "
                    "group is uncertain, so EQD2/BED are not computed"
                )
        return parts, None
    if choice.parts_unknown_reason is not None:
        return None, f"{pl.describe}: {choice.parts_unknown_reason}"
    if pl.plan.n_fractions is None:
        return None, (
            f"{pl.describe} states no fraction count (NumberOfFractionsPlanned); give it with --fractions N"
        )
    return None, None


def _expectation(pl: PlanLink) -> PlanExpectation:
    choice = pl.choice
    assert choice is not None
    details = pl.details
    brachy = (details is not None and details.is_brachy) or any(
        t.link.header.summation_type.startswith("BRACHY") for t in choice.terms
    )
    stated = details.stated_dose_gy if details is not None else None
    rx = pl.plan.prescription_gy if pl.plan is not None else None
    if brachy and rx is None:
        rx = stated
    maxima = details.maximum_doses_gy if details is not None else ()
    return PlanExpectation(
        label=pl.describe,
        has_plan=pl.plan is not None,
        is_brachy=brachy,
        prescription_gy=rx,
        stated_maximum_gy=max(maxima) if maxima else None,
        beam_dose_gy=None if brachy else stated,
        n_fractions=pl.plan.n_fractions if pl.plan is not None else pl.fractions_from_user,
    )


def _voxel_cc(grid: DoseGrid) -> float:
    dz, dy, dx = grid.spacing_mm
    return max(dx, 1e-9) * max(dy, 1e-9) * max(dz, 1e-9) / 1000.0


def _text(exc: PlancheckError, consequence: str) -> str:
    return f"{exc.message.rstrip('.')}; {consequence}." + (f" {exc.hint}" if exc.hint else "")


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
