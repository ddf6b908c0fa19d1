"""Linking the RT objects of a folder into plans and courses, from headers only.

Links, in order of trust:

1. RTDOSE → RT (Ion) Plan by ReferencedRTPlanSequence;
2. RT (Ion) Plan → RT Structure Set by ReferencedStructureSetSequence;
3. where a dose names no plan, or a plan no structure set (or one that is not
   in the folder), the single candidate of the same patient that shares the
   FrameOfReferenceUID, with a ``link-by-frame-of-reference`` finding. Two
   candidates are a conflict: reported, never guessed. A dose whose
   referenced plan is absent is not linked to another plan (its fraction
   count and prescription would be another plan's).

A plan's dose is chosen from the doses linked to it
(:func:`~plancheck.dicom.dose_choice.choose_doses`, which explains the
DoseSummationTypes). Doses whose plan is not in the folder are paired with a
structure set (the one they reference, else the only one of their patient in
their frame of reference) and evaluated without a plan: physical metrics
only, unless the user gives the fraction count. A dose that cannot be paired
with any structure set is an error. Plans (and plan-less doses) that have a
dose and a structure set are then grouped into courses
(:mod:`plancheck.dicom.grouping`): plans on one structure set are summed only
when they complement each other, or when the user says so.

Everything here reads headers only; :mod:`plancheck.dicom.course` then reads
contours and pixel data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from plancheck.dicom.discover import FolderIndex, IndexedFile
from plancheck.dicom.dose_choice import DoseChoice, DoseLink, choose_doses
from plancheck.dicom.grouping import CourseSelection, group_plans, select_members
from plancheck.dicom.rtdose import DoseHeader, dose_header_from_dataset
from plancheck.dicom.rtplan import (
    FractionGroup,
    PlanDetails,
    plan_details_from_dataset,
    plan_from_dataset,
)
from plancheck.errors import PlancheckError
from plancheck.model import Finding, Plan, Severity

__all__ = [
    "BY_FRAME_OF_REFERENCE",
    "BY_REFERENCE",
    "CourseLink",
    "CourseSelection",
    "DoseChoice",
    "DoseLink",
    "FolderLinks",
    "PlanLink",
    "link_folder",
]

BY_REFERENCE = "reference"
BY_FRAME_OF_REFERENCE = "frame of reference"


@dataclass(frozen=True, eq=False)
class PlanLink:
    """One RT (Ion) Plan with what links to it, or doses without their plan (``plan`` None).

    ``fractions_from_user`` is the user's fraction count where the plan
    states none (or there is no plan).
    """

    file: IndexedFile | None
    plan: Plan | None
    details: PlanDetails | None
    doses: tuple[DoseLink, ...]
    structure_set: IndexedFile | None
    structure_set_how: str | None
    choice: DoseChoice | None
    fractions_from_user: int | None = None

    @property
    def fraction_groups(self) -> tuple[FractionGroup, ...]:
        return self.details.groups if self.details is not None else ()

    @property
    def usable(self) -> bool:
        return self.structure_set is not None and self.choice is not None

    @property
    def label(self) -> str:
        return self.plan.label if self.plan is not None else "(no plan)"

    @property
    def selectors(self) -> tuple[str, ...]:
        """The names the user can choose this plan by (--plan): label, SOP Instance UID, file name."""
        if self.plan is not None and self.file is not None:
            return (self.plan.label, self.plan.sop_instance_uid, self.file.name)
        return tuple(n for d in self.doses for n in (d.file.name, d.file.sop_instance_uid))

    @property
    def finding_path(self) -> str | None:
        """The file findings about the plan as a whole are attached to."""
        if self.file is not None:
            return str(self.file.path)
        return str(self.doses[0].file.path) if self.doses else None

    @property
    def describe(self) -> str:
        """How messages name it: "plan 'SIB' (RP.dcm)" or "the dose RD.dcm (no plan)"."""
        if self.plan is not None and self.file is not None:
            return f"plan {self.plan.label!r} ({self.file.name})"
        return f"the dose {', '.join(d.file.name for d in self.doses)} (no plan)"


@dataclass(frozen=True, eq=False)
class CourseLink:
    """Usable plans sharing one structure set (and so its frame of reference), to be summed.

    ``findings`` say how the course was formed (plans summed, plans left
    separate, related plans missing).
    """

    structure_set: IndexedFile
    plans: tuple[PlanLink, ...]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, eq=False)
class FolderLinks:
    """How the RT objects of a folder link up.

    ``dose_headers`` holds the checked header of every RTDOSE (None where it
    was refused; the reason is in ``findings``). ``findings`` are every
    finding of linking (and of reading the plan and dose headers), each with
    the path of the file it concerns.
    """

    index: FolderIndex
    plans: tuple[PlanLink, ...]
    courses: tuple[CourseLink, ...]
    dose_headers: dict[str, DoseHeader | None]
    unlinked_doses: tuple[IndexedFile, ...]
    unused_structure_sets: tuple[IndexedFile, ...]
    findings: tuple[Finding, ...]


def _note(severity: Severity, code: str, message: str, f: IndexedFile | None) -> Finding:
    return Finding(severity, code, message, None if f is None else str(f.path))


def _names(links: list[DoseLink] | tuple[DoseLink, ...]) -> str:
    return ", ".join(d.file.name for d in links)


def link_folder(
    index: FolderIndex,
    *,
    selection: CourseSelection | None = None,
    fractions: int | None = None,
) -> FolderLinks:
    """Link the RT objects of ``index`` (headers only; never raises for bad data).

    Parameters
    ----------
    index : FolderIndex
        The indexed folder.
    selection : CourseSelection or None
        Which plans to evaluate and whether to sum them (default: ``auto``).
    fractions : int or None
        The user's fraction count, for doses without their plan and plans that
        state none.

    Raises
    ------
    CourseError
        Only when ``selection`` names a plan that is not in the folder.
    """
    selection = selection or CourseSelection()
    findings: list[Finding] = []

    headers: dict[str, DoseHeader | None] = {}
    for d in index.doses:
        try:
            h = dose_header_from_dataset(d.dataset, path=d.path) if d.dataset is not None else None
        except PlancheckError as exc:
            findings.append(_note(Severity.ERROR, "dose-unusable", f"{d.name}: {_text(exc)}", d))
            h = None
        headers[d.sop_instance_uid] = h
        if h is not None:
            findings.extend(h.findings)

    plans: dict[str, tuple[IndexedFile, Plan, PlanDetails]] = {}
    broken_plans: dict[str, str] = {}
    for p in index.plans:
        try:
            if p.dataset is None:
                raise PlancheckError("the dataset was not kept", path=p.path)
            plan = plan_from_dataset(p.dataset, path=p.path)
            details = plan_details_from_dataset(p.dataset, path=p.path)
        except PlancheckError as exc:
            findings.append(_note(Severity.ERROR, "plan-unusable", f"{p.name}: {_text(exc)}", p))
            broken_plans[p.sop_instance_uid] = p.name
            continue
        findings.extend(plan.findings)
        plans[p.sop_instance_uid] = (p, plan, details)
    for f in index.conflicts:
        if f.kind.is_plan:
            broken_plans[f.sop_instance_uid] = f"{f.name} (its copies in the folder differ)"
    conflicting_sets = {f.sop_instance_uid for f in index.conflicts}
    structure_sets = {s.sop_instance_uid: s for s in index.structure_sets}

    def plan_frame(uid: str) -> str | None:
        _, plan, _ = plans[uid]
        if plan.frame_of_reference_uid is not None:
            return plan.frame_of_reference_uid
        ss = structure_sets.get(plan.referenced_structure_set_uid or "")
        return ss.frame_of_reference_uid if ss is not None else None

    # RTDOSE -> plan
    doses_of: dict[str, list[DoseLink]] = defaultdict(list)
    unlinked: list[IndexedFile] = []
    orphans: list[tuple[IndexedFile, DoseHeader]] = []

    # doses that name their plan first, so a dose that names none is never added to a plan
    # that has doses of its own (that would make two PLAN doses of one plan, or worse)
    def names_no_plan(d: IndexedFile) -> bool:
        h = headers[d.sop_instance_uid]
        return h is None or h.referenced_plan_uid is None

    for d in sorted(index.doses, key=names_no_plan):
        h = headers[d.sop_instance_uid]
        if h is None:
            unlinked.append(d)
            continue
        taken = {
            uid for uid, links in doses_of.items() if any(x.how == BY_REFERENCE for x in links)
        }
        target = _plan_of_dose(d, h, plans, broken_plans, plan_frame, taken, findings)
        if target is None:
            unlinked.append(d)
        elif target == _ORPHAN:
            orphans.append((d, h))
        else:
            uid, how = target
            doses_of[uid].append(DoseLink(d, h, how))

    for uid, linked in doses_of.items():
        _check_dose_patients(plans[uid][0], plans[uid][1], linked, findings)

    # plan -> structure set, and the dose of each plan
    links: list[PlanLink] = []
    used_sets: set[str] = set()
    for uid, (p, plan, details) in plans.items():
        doses = tuple(doses_of.get(uid, ()))
        frames = {plan.frame_of_reference_uid} | {d.header.frame_of_reference_uid for d in doses}
        frames.discard(None)
        ss, ss_how = _structure_set_of_plan(
            p, plan, frames, structure_sets, findings, conflicting_sets
        )
        if ss is not None:
            used_sets.add(ss.sop_instance_uid)
        user_fx = fractions if plan.n_fractions is None else None
        if fractions is not None and plan.n_fractions is not None and plan.n_fractions != fractions:
            findings.append(
                _note(
                    Severity.WARNING,
                    "fractions-option-ignored",
                    f"plan {plan.label!r} ({p.name}) states {plan.n_fractions} fractions; its count is "
                    f"used, not --fractions {fractions}",
                    p,
                )
            )
        if user_fx is not None and doses:
            findings.append(
                _note(
                    Severity.WARNING,
                    "fractions-from-user",
                    f"plan {plan.label!r} ({p.name}) states no fraction count; --fractions {user_fx} is used",
                    p,
                )
            )
            plan = replace(plan, n_fractions=user_fx)
        choice = (
            choose_doses(
                f"plan {plan.label!r} ({p.name})",
                p,
                details.groups,
                plan.beam_numbers,
                doses,
                findings,
                fractions=user_fx,
            )
            if doses
            else None
        )
        if not doses:
            refused = [
                d.name
                for d in index.doses
                if headers[d.sop_instance_uid] is None and uid in d.referenced_plan_uids
            ]
            why = (
                f"its RTDOSE {', '.join(refused)} cannot be used (see that finding)"
                if refused
                else "it has no RTDOSE in the folder; export its dose with it"
            )
            findings.append(
                _note(
                    Severity.WARNING,
                    "plan-without-dose",
                    f"plan {plan.label!r} ({p.name}) is not evaluated: {why}",
                    p,
                )
            )
        links.append(PlanLink(p, plan, details, doses, ss, ss_how, choice, user_fx))

    # doses whose plan is not in the folder: paired with a structure set, evaluated without a plan
    with_plan_doses = {
        link.structure_set.sop_instance_uid
        for link in links
        if link.usable and link.structure_set is not None
    }
    for orphan in _orphan_sets(orphans):
        link = _link_orphans(orphan, structure_sets, with_plan_doses, fractions, findings)
        if link is None:
            unlinked.extend(d.file for d in orphan)
            continue
        if link.structure_set is not None:
            used_sets.add(link.structure_set.sop_instance_uid)
        links.append(link)

    unused_sets = tuple(s for s in index.structure_sets if s.sop_instance_uid not in used_sets)
    for s in unused_sets:
        findings.append(
            _note(
                Severity.INFO if plans else Severity.WARNING,
                "structure-set-without-plan",
                f"structure set {s.name} is not used by any plan in the folder",
                s,
            )
        )

    by_set: dict[str, list[PlanLink]] = defaultdict(list)
    for link in links:
        if link.usable and link.structure_set is not None:
            by_set[link.structure_set.sop_instance_uid].append(link)
    left_out: dict[str, list[PlanLink]] = {}
    if selection.plans:
        everyone = [link for group in by_set.values() for link in group]
        chosen = set(map(id, select_members(everyone, selection.plans)))
        left_out = {
            uid: [link for link in group if id(link) not in chosen] for uid, group in by_set.items()
        }
        by_set = {
            uid: kept
            for uid, group in by_set.items()
            if (kept := [link for link in group if id(link) in chosen])
        }
    all_uids = frozenset(p.sop_instance_uid for p in index.plans)
    courses: list[CourseLink] = []
    for uid, group in sorted(by_set.items(), key=lambda kv: str(structure_sets[kv[0]].path)):
        ordered = sorted(group, key=_plan_order)
        others = left_out.get(uid, [])
        note = _left_out_note(ordered, others, structure_sets[uid].name, all_uids)
        for grouped in group_plans(ordered, selection, all_uids):
            members = tuple(m for m in ordered if any(m is g for g in grouped.members))
            courses.append(CourseLink(structure_sets[uid], members, (*grouped.findings, *note)))
    return FolderLinks(
        index, tuple(links), tuple(courses), headers, tuple(unlinked), unused_sets, tuple(findings)
    )


def _plan_order(link: PlanLink) -> tuple[int, str, str]:
    """Plans of a course: most fractions first (the main plan), then by label."""
    if link.plan is None:
        return (1, "", link.doses[0].file.name if link.doses else "")
    return (-(link.plan.n_fractions or 0), link.plan.label, link.plan.sop_instance_uid)


def _text(exc: PlancheckError) -> str:
    return exc.message.rstrip(".") + (f". {exc.hint}" if exc.hint else "")


# --------------------------------------------------------------------------- dose -> plan

_ORPHAN = ("", "")  # a dose whose plan is not in the folder: paired with a structure set later


def _plan_of_dose(
    d: IndexedFile,
    h: DoseHeader,
    plans: dict[str, tuple[IndexedFile, Plan, PlanDetails]],
    broken: dict[str, str],
    plan_frame: Callable[[str], str | None],
    taken: set[str],
    findings: list[Finding],
) -> tuple[str, str] | None:
    """(plan UID, how) of a dose's plan; :data:`_ORPHAN` when its plan is not in the folder; None when not usable."""
    ref = h.referenced_plan_uid
    if ref is not None:
        if ref in broken:
            findings.append(
                _note(
                    Severity.ERROR,
                    "dose-without-plan",
                    f"{d.name} is the dose of plan {broken[ref]}, which cannot be read; the dose is not evaluated",
                    d,
                )
            )
            return None
        if ref not in plans:
            return _ORPHAN
        p, plan, _ = plans[ref]
        if (
            plan.frame_of_reference_uid is not None
            and plan.frame_of_reference_uid != h.frame_of_reference_uid
        ):
            findings.append(
                _note(
                    Severity.ERROR,
                    "frame-of-reference-mismatch",
                    f"{d.name} references plan {plan.label!r} ({p.name}) but lies in another frame of reference "
                    f"({h.frame_of_reference_uid}, the plan's is {plan.frame_of_reference_uid}); not used",
                    d,
                )
            )
            return None
        return ref, BY_REFERENCE
    candidates = [uid for uid in plans if plan_frame(uid) == h.frame_of_reference_uid]
    same_patient = [
        uid
        for uid in candidates
        if plans[uid][1].patient.patient_id == h.patient.patient_id and uid not in taken
    ]
    if len(same_patient) == 1:
        p, plan, _ = plans[same_patient[0]]
        findings.append(
            _note(
                Severity.WARNING,
                "link-by-frame-of-reference",
                f"{d.name} names no plan; it is linked to plan {plan.label!r} ({p.name}), the only plan "
                "of its patient in its frame of reference",
                d,
            )
        )
        return same_patient[0], BY_FRAME_OF_REFERENCE
    if len(same_patient) > 1:
        names = ", ".join(f"{plans[u][1].label!r} ({plans[u][0].name})" for u in same_patient)
        findings.append(
            _note(
                Severity.ERROR,
                "dose-plan-ambiguous",
                f"{d.name} names no plan and {len(same_patient)} plans share its frame of reference ({names}); "
                "it is not used. Export the dose with its plan reference, or keep one plan per folder.",
                d,
            )
        )
        return None
    if any(uid in taken for uid in candidates):
        findings.append(
            _note(
                Severity.ERROR,
                "dose-without-plan",
                f"{d.name} names no plan, and the plans in its frame of reference have doses of their own; "
                "it is not used. Remove it, or export it with its plan.",
                d,
            )
        )
        return None
    return _ORPHAN


def _orphan_sets(orphans: list[tuple[IndexedFile, DoseHeader]]) -> list[list[DoseLink]]:
    """Doses without their plan, grouped: those that reference the same absent plan together."""
    sets: dict[str, list[DoseLink]] = {}
    for d, h in orphans:
        key = h.referenced_plan_uid or f"dose:{d.sop_instance_uid}"
        sets.setdefault(key, []).append(DoseLink(d, h, BY_REFERENCE))
    return list(sets.values())


def _link_orphans(
    doses: list[DoseLink],
    structure_sets: dict[str, IndexedFile],
    with_plan_doses: set[str],
    fractions: int | None,
    findings: list[Finding],
) -> PlanLink | None:
    """Doses without their plan, paired with a structure set (None, with a finding, when none fits)."""
    first = doses[0]
    h = first.header
    names = _names(doses)
    whose = (
        f"reference{'s' if len(doses) == 1 else ''} plan {h.referenced_plan_uid}, which is not in the folder"
        if h.referenced_plan_uid is not None
        else "names no plan"
    )
    subject = f"{names} {whose}"
    ss: IndexedFile | None = None
    how = BY_REFERENCE
    ref = h.referenced_structure_set_uid
    if ref is not None and ref in structure_sets:
        ss = structure_sets[ref]
        if ss.frame_of_reference_uid not in (None, h.frame_of_reference_uid):
            findings.append(
                _note(
                    Severity.ERROR,
                    "frame-of-reference-mismatch",
                    f"{subject}; it references structure set {ss.name}, which lies in another frame of "
                    "reference; not evaluated",
                    first.file,
                )
            )
            return None
    else:
        candidates = [
            s
            for s in structure_sets.values()
            if s.frame_of_reference_uid == h.frame_of_reference_uid
            and s.patient.patient_id == h.patient.patient_id
        ]
        if len(candidates) > 1:
            findings.append(
                _note(
                    Severity.ERROR,
                    "dose-structure-set-ambiguous",
                    f"{subject}, and {len(candidates)} structure sets of its patient share its frame of "
                    f"reference ({', '.join(s.name for s in candidates)}); plancheck does not guess, so it is "
                    "not evaluated. Keep the dose with its own structure set (and plan) in a folder.",
                    first.file,
                )
            )
            return None
        if not candidates:
            findings.append(
                _note(
                    Severity.ERROR,
                    "dose-without-structure-set",
                    f"{subject}, and no structure set of its patient in the folder shares its frame of "
                    "reference; it is not evaluated. Put its RTSTRUCT (and its RTPLAN) in the folder.",
                    first.file,
                )
            )
            return None
        ss, how = candidates[0], BY_FRAME_OF_REFERENCE
    if ss.sop_instance_uid in with_plan_doses:
        findings.append(
            _note(
                Severity.ERROR,
                "dose-without-plan",
                f"{subject}; its structure set {ss.name} belongs to plans with doses of their own, so it "
                "is not used. Put its RTPLAN in the folder, or remove it.",
                first.file,
            )
        )
        return None
    if how == BY_FRAME_OF_REFERENCE:
        findings.append(
            _note(
                Severity.WARNING,
                "link-by-frame-of-reference",
                f"{names} names no structure set; it is paired with {ss.name}, the only structure set of "
                "its patient in its frame of reference",
                first.file,
            )
        )
    label = f"the dose {names} (no plan)"
    fx = (
        f"--fractions {fractions} is used for EQD2/BED"
        if fractions is not None
        else "EQD2/BED need the fraction count (--fractions N)"
    )
    findings.append(
        _note(
            Severity.WARNING,
            "plan-missing",
            f"{subject}: its physical dose is evaluated as stored with structure set {ss.name}; the "
            f"prescription and the plan's checks are unknown, and {fx}. Put the RTPLAN in the folder for a "
            "full check.",
            first.file,
        )
    )
    choice = choose_doses(
        label,
        first.file,
        (FractionGroup(None, fractions, ()),),
        (),
        doses,
        findings,
        has_plan=False,
        fractions=fractions,
    )
    return PlanLink(None, None, None, tuple(doses), ss, how, choice, fractions)


def _check_dose_patients(
    p: IndexedFile, plan: Plan, doses: list[DoseLink], findings: list[Finding]
) -> None:
    """One finding per plan whose doses name another PatientID than the plan."""
    by_id: dict[str, list[DoseLink]] = defaultdict(list)
    for d in doses:
        if d.header.patient.patient_id != plan.patient.patient_id:
            by_id[d.header.patient.patient_id].append(d)
    for pid, links in by_id.items():
        findings.append(
            _note(
                Severity.WARNING,
                "patient-mismatch",
                f"plan {plan.label!r} ({p.name}) has PatientID {plan.patient.patient_id!r} but its "
                f"dose{'s' if len(links) > 1 else ''} {_names(links)} {'have' if len(links) > 1 else 'has'} "
                f"{pid!r}; check that they belong to the same patient",
                p,
            )
        )


def _check_patient(
    a: IndexedFile, a_id: str, b: IndexedFile, b_id: str, findings: list[Finding]
) -> None:
    if a_id != b_id:
        findings.append(
            _note(
                Severity.WARNING,
                "patient-mismatch",
                f"{a.name} has PatientID {a_id!r} but {b.name}, which it references, has {b_id!r}; "
                "check that they belong to the same patient",
                a,
            )
        )


# --------------------------------------------------------------------------- plan -> structure set


def _structure_set_of_plan(
    p: IndexedFile,
    plan: Plan,
    frames: set[str | None],
    structure_sets: dict[str, IndexedFile],
    findings: list[Finding],
    conflicting: set[str] | frozenset[str] = frozenset(),
) -> tuple[IndexedFile | None, str | None]:
    label = f"plan {plan.label!r} ({p.name})"
    if plan.referenced_structure_set_uid in conflicting:
        findings.append(
            _note(
                Severity.ERROR,
                "plan-without-structure-set",
                f"{label} references structure set {plan.referenced_structure_set_uid}, whose copies in "
                "the folder differ; it is not evaluated. Keep the right copy only.",
                p,
            )
        )
        return None, None
    if len(frames) > 1:
        findings.append(
            _note(
                Severity.ERROR,
                "frame-of-reference-mismatch",
                f"{label}: the plan and its doses name {len(frames)} frames of reference; not evaluated",
                p,
            )
        )
        return None, None
    frame = next(iter(frames), None)
    ref = plan.referenced_structure_set_uid
    if ref is not None and ref in structure_sets:
        ss = structure_sets[ref]
        if (
            frame is not None
            and ss.frame_of_reference_uid is not None
            and ss.frame_of_reference_uid != frame
        ):
            findings.append(
                _note(
                    Severity.ERROR,
                    "frame-of-reference-mismatch",
                    f"{label} references structure set {ss.name}, which lies in another frame of reference "
                    f"({ss.frame_of_reference_uid}, the plan's is {frame}); the plan is not evaluated",
                    p,
                )
            )
            return None, None
        _check_patient(p, plan.patient.patient_id, ss, ss.patient.patient_id, findings)
        return ss, BY_REFERENCE
    why = (
        "references no structure set"
        if ref is None
        else f"references structure set {ref}, which is not in the folder"
    )
    candidates = [
        s
        for s in structure_sets.values()
        if frame is not None and s.frame_of_reference_uid == frame
    ]
    same_patient = [s for s in candidates if s.patient.patient_id == plan.patient.patient_id]
    if len(same_patient) == 1:
        ss = same_patient[0]
        findings.append(
            _note(
                Severity.WARNING,
                "link-by-frame-of-reference",
                f"{label} {why}; it is linked to structure set {ss.name}, the only one of its patient in "
                "its frame of reference",
                p,
            )
        )
        return ss, BY_FRAME_OF_REFERENCE
    if len(same_patient) > 1:
        names = ", ".join(s.name for s in same_patient)
        findings.append(
            _note(
                Severity.ERROR,
                "structure-set-conflict",
                f"{label} {why}, and {len(same_patient)} structure sets share its frame of reference ({names}); "
                "plancheck does not guess. Keep only the plan's structure set in the folder.",
                p,
            )
        )
        return None, None
    if candidates:
        why += ", and the structure sets in its frame of reference belong to another patient"
    elif frame is None:
        why += ", and it names no frame of reference to find one by"
    findings.append(
        _note(
            Severity.ERROR,
            "plan-without-structure-set",
            f"{label} {why}; it is not evaluated. Put its RTSTRUCT in the folder.",
            p,
        )
    )
    return None, None


def _left_out_note(
    chosen: list[PlanLink], others: list[PlanLink], structure_set: str, all_uids: frozenset[str]
) -> tuple[Finding, ...]:
    """The finding for plans that ``--plan`` left out of a structure set's plans.

    A warning when automatic grouping would have summed a left-out plan with a
    chosen one (a course part: the organs' dose then lacks that plan's share,
    and a PASS must say so); otherwise information (an alternative plan).
    """
    if not others:
        return ()
    chosen_ids = set(map(id, chosen))
    every = sorted([*chosen, *others], key=_plan_order)
    together = [
        o
        for grouped in group_plans(every, CourseSelection(), all_uids)
        if any(id(m) in chosen_ids for m in grouped.members)
        for o in others
        if any(m is o for m in grouped.members)
    ]
    names = ", ".join(repr(o.label) for o in others)
    plural, verb = ("s", "are") if len(others) > 1 else ("", "is")
    if together:
        summed = ", ".join(repr(o.label) for o in together)
        return (
            Finding(
                Severity.WARNING,
                "course-part-evaluated",
                f"plan{plural} {names} on structure set {structure_set} {verb} not evaluated (--plan "
                f"chose the others), but {summed} would be summed with the chosen plan(s) as one "
                "course: the organs' dose lacks that share",
                others[0].finding_path,
            ),
        )
    return (
        Finding(
            Severity.INFO,
            "plans-not-evaluated",
            f"plan{plural} {names} on structure set {structure_set} {verb} not evaluated: --plan "
            "chose the others",
            others[0].finding_path,
        ),
    )
