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

A plan's dose is chosen from the doses linked to it (:func:`choose_doses`):
its PLAN dose; else the sum of its BEAM doses, which must lie on one grid and
cover the plan's beams; else its FRACTION dose(s) times the fraction count of
their fraction group. A PLAN dose is never added to BEAM or FRACTION doses;
those left unused are reported. Plans that have a dose and a structure set
form courses: one per structure set (plans linked to one structure set share
its frame of reference).

Everything here reads headers only; :mod:`plancheck.dicom.course` then reads
contours and pixel data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from plancheck.dicom.discover import FolderIndex, IndexedFile
from plancheck.dicom.rtdose import DoseHeader, dose_header_from_dataset
from plancheck.dicom.rtplan import FractionGroup, fraction_groups_from_dataset, plan_from_dataset
from plancheck.errors import PlancheckError
from plancheck.model import Finding, Plan, Severity

__all__ = [
    "BY_FRAME_OF_REFERENCE",
    "BY_REFERENCE",
    "CourseLink",
    "DoseChoice",
    "DoseLink",
    "FolderLinks",
    "PlanLink",
    "choose_doses",
    "link_folder",
]

BY_REFERENCE = "reference"
BY_FRAME_OF_REFERENCE = "frame of reference"
SUPPORTED_SUMMATIONS = ("PLAN", "BEAM", "FRACTION")


@dataclass(frozen=True, eq=False)
class DoseLink:
    """An RTDOSE linked to a plan, and how (:data:`BY_REFERENCE` or :data:`BY_FRAME_OF_REFERENCE`)."""

    file: IndexedFile
    header: DoseHeader
    how: str


@dataclass(frozen=True, eq=False)
class DoseChoice:
    """The RTDOSEs that make a plan's total dose: ``dose = Σ multiplier_i · dose_i``."""

    kind: str  # PLAN, BEAM or FRACTION
    doses: tuple[DoseLink, ...]
    multipliers: tuple[int, ...]
    how: str  # "PLAN dose", "sum of 2 BEAM doses", "FRACTION dose × 7 fractions"
    unused: tuple[DoseLink, ...] = ()


@dataclass(frozen=True, eq=False)
class PlanLink:
    """One RT (Ion) Plan with what links to it."""

    file: IndexedFile
    plan: Plan
    fraction_groups: tuple[FractionGroup, ...]
    doses: tuple[DoseLink, ...]
    structure_set: IndexedFile | None
    structure_set_how: str | None
    choice: DoseChoice | None

    @property
    def usable(self) -> bool:
        return self.structure_set is not None and self.choice is not None


@dataclass(frozen=True, eq=False)
class CourseLink:
    """Usable plans sharing one structure set (and so its frame of reference)."""

    structure_set: IndexedFile
    plans: tuple[PlanLink, ...]


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


def link_folder(index: FolderIndex) -> FolderLinks:
    """Link the RT objects of ``index`` (headers only; never raises for bad data)."""
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

    plans: dict[str, tuple[IndexedFile, Plan, tuple[FractionGroup, ...]]] = {}
    broken_plans: dict[str, str] = {}
    for p in index.plans:
        try:
            if p.dataset is None:
                raise PlancheckError("the dataset was not kept", path=p.path)
            plan = plan_from_dataset(p.dataset, path=p.path)
            groups = fraction_groups_from_dataset(p.dataset, path=p.path)
        except PlancheckError as exc:
            findings.append(_note(Severity.ERROR, "plan-unusable", f"{p.name}: {_text(exc)}", p))
            broken_plans[p.sop_instance_uid] = p.name
            continue
        findings.extend(plan.findings)
        plans[p.sop_instance_uid] = (p, plan, groups)
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

    # doses that name their plan first, so a dose that names none is never added to a plan
    # that has doses of its own (that would make two PLAN doses of one plan, or worse)
    def names_no_plan(d: IndexedFile) -> bool:
        h = headers[d.sop_instance_uid]
        return h is None or h.referenced_plan_uid is None

    ordered = sorted(index.doses, key=names_no_plan)
    for d in ordered:
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
            continue
        uid, how = target
        doses_of[uid].append(DoseLink(d, h, how))

    for uid, linked in doses_of.items():
        _check_dose_patients(plans[uid][0], plans[uid][1], linked, findings)

    # plan -> structure set, and the dose of each plan
    links: list[PlanLink] = []
    used_sets: set[str] = set()
    for uid, (p, plan, groups) in plans.items():
        doses = tuple(doses_of.get(uid, ()))
        frames = {plan.frame_of_reference_uid} | {d.header.frame_of_reference_uid for d in doses}
        frames.discard(None)
        ss, ss_how = _structure_set_of_plan(p, plan, frames, structure_sets, findings)
        if ss is not None:
            used_sets.add(ss.sop_instance_uid)
        choice = choose_doses(p, plan, groups, doses, findings) if doses else None
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
        links.append(PlanLink(p, plan, groups, doses, ss, ss_how, choice))

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
    courses = tuple(
        CourseLink(structure_sets[uid], tuple(sorted(group, key=_plan_order)))
        for uid, group in sorted(by_set.items(), key=lambda kv: str(structure_sets[kv[0]].path))
    )
    return FolderLinks(
        index, tuple(links), courses, headers, tuple(unlinked), unused_sets, tuple(findings)
    )


def _plan_order(link: PlanLink) -> tuple[int, str, str]:
    """Plans of a course: most fractions first (the main plan), then by label."""
    return (-(link.plan.n_fractions or 0), link.plan.label, link.plan.sop_instance_uid)


def _text(exc: PlancheckError) -> str:
    return exc.message.rstrip(".") + (f". {exc.hint}" if exc.hint else "")


# --------------------------------------------------------------------------- dose -> plan


def _plan_of_dose(
    d: IndexedFile,
    h: DoseHeader,
    plans: dict[str, tuple[IndexedFile, Plan, tuple[FractionGroup, ...]]],
    broken: dict[str, str],
    plan_frame: Callable[[str], str | None],
    taken: set[str],
    findings: list[Finding],
) -> tuple[str, str] | None:
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
            findings.append(
                _note(
                    Severity.ERROR,
                    "dose-without-plan",
                    f"{d.name} is the dose of plan {ref}, which is not in the folder; {_without_plan(h)}. "
                    "Put the RTPLAN in the folder.",
                    d,
                )
            )
            return None
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
    why = "names no plan"
    if any(uid in taken for uid in candidates):
        why += " and the plans in its frame of reference have doses of their own"
    elif candidates:
        why += " and the plans in its frame of reference belong to another patient"
    findings.append(
        _note(
            Severity.ERROR,
            "dose-without-plan",
            f"{d.name} {why}; {_without_plan(h)}. Put the RTPLAN in the folder.",
            d,
        )
    )
    return None


def _without_plan(h: DoseHeader) -> str:
    if h.summation_type == "FRACTION":
        return (
            "it is a FRACTION dose (one fraction) and without its plan the fraction count, and so the "
            "total dose, is unknown; it is not evaluated"
        )
    return (
        "without its plan the fraction count and prescription are unknown, so it is not evaluated"
    )


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
) -> tuple[IndexedFile | None, str | None]:
    label = f"plan {plan.label!r} ({p.name})"
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


# --------------------------------------------------------------------------- the plan's dose


def choose_doses(
    p: IndexedFile,
    plan: Plan,
    groups: tuple[FractionGroup, ...],
    doses: tuple[DoseLink, ...],
    findings: list[Finding],
) -> DoseChoice | None:
    """Which of a plan's RTDOSEs make its total dose (None when they cannot; findings say why)."""
    label = f"plan {plan.label!r} ({p.name})"
    by_kind: dict[str, list[DoseLink]] = defaultdict(list)
    for d in doses:
        by_kind[d.header.summation_type].append(d)
    for kind, links in by_kind.items():
        if kind not in SUPPORTED_SUMMATIONS:
            findings.append(
                _note(
                    Severity.WARNING,
                    "dose-summation-unsupported",
                    f"{label}: {_names(links)} {'is a' if len(links) == 1 else 'are'} {kind or 'unlabelled'} "
                    "dose; plancheck uses PLAN, BEAM and FRACTION doses, so it is not used",
                    links[0].file,
                )
            )
    plan_doses, beams, fractions = (
        by_kind.get("PLAN", []),
        by_kind.get("BEAM", []),
        by_kind.get("FRACTION", []),
    )

    def unused(rest: list[DoseLink], chosen: str) -> tuple[DoseLink, ...]:
        if rest:
            kinds = " and ".join(sorted({d.header.summation_type for d in rest}))
            findings.append(
                _note(
                    Severity.INFO,
                    "doses-not-used",
                    f"{label}: the {chosen} is used; the {kinds} dose{'s' if len(rest) > 1 else ''} "
                    f"{_names(rest)} {'are' if len(rest) > 1 else 'is'} not added to it",
                    rest[0].file,
                )
            )
        return tuple(rest)

    if plan_doses:
        if len(plan_doses) > 1:
            findings.append(
                _note(
                    Severity.ERROR,
                    "several-plan-doses",
                    f"{label} has {len(plan_doses)} PLAN doses ({_names(plan_doses)}); plancheck does not "
                    "choose. Keep one in the folder.",
                    p,
                )
            )
            return None
        rest = unused(beams + fractions, f"PLAN dose {plan_doses[0].file.name}")
        return DoseChoice("PLAN", (plan_doses[0],), (1,), "PLAN dose", rest)
    if fractions:
        choice = _fraction_choice(p, plan, groups, fractions, findings)
        if choice is not None:
            choice = DoseChoice(
                choice.kind,
                choice.doses,
                choice.multipliers,
                choice.how,
                unused(beams, "FRACTION dose"),
            )
        return choice
    if beams:
        return _beam_choice(p, plan, beams, findings)
    return None


def _same_grid(
    label: str, p: IndexedFile, links: list[DoseLink], kind: str, findings: list[Finding]
) -> bool:
    first = links[0].header
    odd = [d for d in links[1:] if not first.same_grid(d.header)]
    if odd:

        def grid(h: DoseHeader) -> str:
            dz, dy, dx = h.spacing_mm
            return f"{h.columns}x{h.rows}x{h.frames} at {dx:g}x{dy:g}x{dz:g} mm from ({h.x_mm[0]:g}, {h.y_mm[0]:g}, {h.z_mm[0]:g})"

        parts = "; ".join(f"{d.file.name}: {grid(d.header)}" for d in links)
        findings.append(
            _note(
                Severity.ERROR,
                f"{kind.lower()}-doses-on-different-grids",
                f"{label}: its {kind} doses lie on different grids ({parts}); plancheck does not resample "
                f"{kind} doses. Export a PLAN dose, or the {kind} doses on one grid.",
                p,
            )
        )
        return False
    types = sorted({d.header.dose_type for d in links})
    if len(types) > 1:
        findings.append(
            _note(
                Severity.ERROR,
                f"{kind.lower()}-doses-of-different-types",
                f"{label}: its {kind} doses are of different DoseTypes ({', '.join(types)}) and cannot be summed",
                p,
            )
        )
        return False
    return True


def _beam_choice(
    p: IndexedFile, plan: Plan, beams: list[DoseLink], findings: list[Finding]
) -> DoseChoice | None:
    label = f"plan {plan.label!r} ({p.name})"
    if not _same_grid(label, p, beams, "BEAM", findings):
        return None
    stated = [d.header.referenced_beam_numbers for d in beams]
    if all(stated) and plan.beam_numbers:
        covered = [b for s in stated for b in s]
        twice = sorted({b for b in covered if covered.count(b) > 1})
        missing = sorted(set(plan.beam_numbers) - set(covered))
        foreign = sorted(set(covered) - set(plan.beam_numbers))
        if twice:
            findings.append(
                _note(
                    Severity.ERROR,
                    "beam-dose-duplicated",
                    f"{label}: beams {twice} have more than one BEAM dose ({_names(beams)}); their sum would count them twice",
                    p,
                )
            )
            return None
        if missing:
            findings.append(
                _note(
                    Severity.ERROR,
                    "beam-doses-incomplete",
                    f"{label}: the BEAM doses ({_names(beams)}) cover beams {sorted(covered)} but the plan has "
                    f"beams {sorted(plan.beam_numbers)}; without beams {missing} the sum would be too low. "
                    "Export the missing beam doses or a PLAN dose.",
                    p,
                )
            )
            return None
        if foreign:
            findings.append(
                _note(
                    Severity.WARNING,
                    "beam-doses-unknown-beams",
                    f"{label}: BEAM doses name beams {foreign}, which the plan does not list; they are summed",
                    p,
                )
            )
    else:
        findings.append(
            _note(
                Severity.WARNING,
                "beam-doses-unverified",
                f"{label}: not every BEAM dose names its beam, so plancheck cannot check that the "
                f"{len(beams)} BEAM doses ({_names(beams)}) cover all the plan's beams; their sum is used",
                p,
            )
        )
    how = "BEAM dose" if len(beams) == 1 else f"sum of {len(beams)} BEAM doses"
    return DoseChoice("BEAM", tuple(beams), (1,) * len(beams), how)


def _fraction_choice(
    p: IndexedFile,
    plan: Plan,
    groups: tuple[FractionGroup, ...],
    fractions: list[DoseLink],
    findings: list[Finding],
) -> DoseChoice | None:
    label = f"plan {plan.label!r} ({p.name})"
    counts = {g.number: g.n_fractions for g in groups}
    by_group: dict[int | None, list[DoseLink]] = defaultdict(list)
    for d in fractions:
        number = d.header.referenced_fraction_group
        if number is None and len(groups) == 1:
            number = groups[0].number
        by_group[number].append(d)
    if None in by_group and len(groups) != 1:
        findings.append(
            _note(
                Severity.ERROR,
                "fraction-group-unknown",
                f"{label}: the FRACTION dose {_names(by_group[None])} names no fraction group and the plan has "
                f"{len(groups)}; its fraction count is unknown",
                p,
            )
        )
        return None
    multipliers = []
    for number, links in by_group.items():
        if len(links) > 1:
            findings.append(
                _note(
                    Severity.ERROR,
                    "several-fraction-doses",
                    f"{label} has {len(links)} FRACTION doses for fraction group {number} ({_names(links)}); plancheck does not choose",
                    p,
                )
            )
            return None
        n = counts.get(number)
        if n is None:
            where = (
                "states no NumberOfFractionsPlanned"
                if number in counts
                else f"has no fraction group {number}"
            )
            findings.append(
                _note(
                    Severity.ERROR,
                    "fraction-count-missing",
                    f"{label}: {links[0].file.name} is a FRACTION dose (one fraction) and the plan {where}, "
                    "so the plan's total dose is unknown. Export a PLAN dose, or a plan with its fraction count.",
                    links[0].file,
                )
            )
            return None
        multipliers.append(n)
    missing = sorted(set(counts) - set(by_group), key=lambda v: -1 if v is None else v)
    if missing:
        findings.append(
            _note(
                Severity.ERROR,
                "fraction-doses-incomplete",
                f"{label} has fraction groups {sorted(counts, key=lambda v: -1 if v is None else v)} but FRACTION doses for "
                f"{sorted(by_group, key=lambda v: -1 if v is None else v)} only; the plan's total dose is unknown",
                p,
            )
        )
        return None
    chosen = [links[0] for links in by_group.values()]
    if not _same_grid(label, p, chosen, "FRACTION", findings):
        return None
    if len(chosen) == 1:
        how = f"FRACTION dose × {multipliers[0]} fraction{'s' if multipliers[0] != 1 else ''}"
    else:
        how = "sum of FRACTION doses × " + " + ".join(str(n) for n in multipliers) + " fractions"
    return DoseChoice("FRACTION", tuple(chosen), tuple(multipliers), how)
