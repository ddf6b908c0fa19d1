"""Which RTDOSEs make a plan's dose, and how (DoseSummationType, DICOM PS3.3 C.8.8.3).

What a grid holds, by its DoseSummationType:

* PLAN: all fraction groups of the plan, as stored;
* FRACTION: the whole delivery of one fraction group (every fraction of it), as
  stored. It is *not* one session: Pinnacle labels whole-course doses
  FRACTION;
* BEAM, BRACHY: the whole delivery of some beams or brachytherapy application
  setups, as stored; summed over the beams of their fraction group, never
  added to a PLAN dose;
* FRACTION_SESSION, BEAM_SESSION, BRACHY_SESSION: one session; multiplied by
  the fraction count of their group;
* MULTI_PLAN: several plans together; not used (plancheck sums plans from
  their own doses, each with its own fraction count);
* CONTROL_POINT, RECORD: not planned doses; refused.

:func:`choose_doses` picks, for one plan, a PLAN dose when there is one;
otherwise, for each fraction group, its FRACTION dose, else its
FRACTION_SESSION dose × its fractions, else the sum of its BEAM doses, else
of its BEAM_SESSION doses × its fractions (and the same for BRACHY doses),
and adds the groups. Doses left over are reported, never added. A plan with
several fraction groups carries each group's dose as a part (its own fraction
count, for EQD2/BED) when every group's dose is known; with one PLAN dose for
all groups, the groups are taken from the remaining doses where they cover
every group, else the parts are unknown and say why.

Headers only: nothing here reads pixel data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from plancheck.dicom.discover import IndexedFile
from plancheck.dicom.rtdose import DoseHeader
from plancheck.dicom.rtplan import FractionGroup
from plancheck.model import Finding, Severity

__all__ = [
    "AS_STORED",
    "NOT_PLANNED",
    "SESSION",
    "DoseChoice",
    "DoseLink",
    "DoseTerm",
    "GroupDose",
    "choose_doses",
]

AS_STORED = ("PLAN", "MULTI_PLAN", "FRACTION", "BEAM", "BRACHY")
SESSION = ("FRACTION_SESSION", "BEAM_SESSION", "BRACHY_SESSION")
NOT_PLANNED = ("CONTROL_POINT", "RECORD")
# per fraction group, the first kind present makes the group's dose
_GROUP_ORDER = ("FRACTION", "FRACTION_SESSION", "BEAM", "BEAM_SESSION", "BRACHY", "BRACHY_SESSION")
_SUMMED_KINDS = ("BEAM", "BEAM_SESSION", "BRACHY", "BRACHY_SESSION")


@dataclass(frozen=True, eq=False)
class DoseLink:
    """An RTDOSE linked to a plan, and how (``"reference"`` or ``"frame of reference"``)."""

    file: IndexedFile
    header: DoseHeader
    how: str


@dataclass(frozen=True, eq=False)
class DoseTerm:
    """One RTDOSE of a sum, and the number it is multiplied by (a session's fractions, else 1)."""

    link: DoseLink
    multiplier: int


@dataclass(frozen=True, eq=False)
class GroupDose:
    """The dose of one fraction group: ``Σ multiplier · dose`` over ``terms``, in ``n_fractions``."""

    number: int | None
    n_fractions: int
    terms: tuple[DoseTerm, ...]
    how: str


@dataclass(frozen=True, eq=False)
class DoseChoice:
    """The RTDOSEs that make a plan's whole dose: ``Σ multiplier · dose`` over ``terms``.

    ``groups`` holds the dose of each fraction group when the plan has several
    and each is known (for EQD2/BED per group); ``parts_unknown_reason`` says
    why not, when the plan has several groups and they are unknown.
    """

    kind: str  # the summation type that makes the dose (PLAN, FRACTION, BEAM, ...)
    terms: tuple[DoseTerm, ...]
    how: str  # "PLAN dose", "sum of 2 BEAM doses", "FRACTION_SESSION dose × 7 fractions"
    unused: tuple[DoseLink, ...] = ()
    groups: tuple[GroupDose, ...] = ()
    parts_unknown_reason: str | None = None

    @property
    def doses(self) -> tuple[DoseLink, ...]:
        return tuple(t.link for t in self.terms)

    @property
    def multipliers(self) -> tuple[int, ...]:
        return tuple(t.multiplier for t in self.terms)


@dataclass(frozen=True)
class _Owner:
    label: str  # "plan 'X' (file)" or "the doses ..." for messages
    file: IndexedFile
    groups: tuple[FractionGroup, ...]
    plan_beams: tuple[int, ...]
    has_plan: bool


def _note(severity: Severity, code: str, message: str, f: IndexedFile) -> Finding:
    return Finding(severity, code, message, str(f.path))


def _names(links: Sequence[DoseLink]) -> str:
    return ", ".join(d.file.name for d in links)


def _fx(n: int) -> str:
    return f"{n} fraction{'s' if n != 1 else ''}"


def choose_doses(
    label: str,
    where: IndexedFile,
    groups: Sequence[FractionGroup],
    plan_beams: Sequence[int],
    doses: Sequence[DoseLink],
    findings: list[Finding],
    *,
    has_plan: bool = True,
    fractions: int | None = None,
) -> DoseChoice | None:
    """Which of a plan's RTDOSEs make its whole dose (None when they cannot; findings say why).

    Parameters
    ----------
    label : str
        How messages name the plan ("plan 'SIB' (RP.dcm)").
    where : IndexedFile
        The file findings about the plan as a whole are attached to.
    groups : sequence of FractionGroup
        The plan's fraction groups (a plan-less dose set passes one group
        without number, with ``fractions`` as its count).
    plan_beams : sequence of int
        The plan's treatment beams (for checking that BEAM doses cover them).
    doses : sequence of DoseLink
        The RTDOSEs linked to the plan.
    has_plan : bool
        False for doses without their plan (messages say so).
    fractions : int or None
        The user's fraction count (``--fractions``), used where the plan states none.
    """
    owner = _Owner(label, where, _with_counts(groups, fractions), tuple(plan_beams), has_plan)
    by_kind: dict[str, list[DoseLink]] = defaultdict(list)
    for d in doses:
        by_kind[d.header.summation_type].append(d)
    usable: dict[str, list[DoseLink]] = {}
    refused: list[tuple[str, list[DoseLink]]] = []
    for kind, links in by_kind.items():
        if (kind in AS_STORED and kind != "MULTI_PLAN") or kind in SESSION:
            usable[kind] = links
        else:
            refused.append((kind, links))
    choice = _choose(owner, usable, findings)
    for kind, links in refused:
        findings.append(_refusal(owner, kind, links, chosen=choice is not None))
    return choice


def _with_counts(
    groups: Sequence[FractionGroup], fractions: int | None
) -> tuple[FractionGroup, ...]:
    """The groups, with the user's fraction count where the plan states none (one group only)."""
    if fractions is None or len(groups) != 1 or groups[0].n_fractions is not None:
        return tuple(groups)
    return (replace(groups[0], n_fractions=fractions),)


def _refusal(owner: _Owner, kind: str, links: list[DoseLink], *, chosen: bool) -> Finding:
    it = "it is" if len(links) == 1 else "they are"
    what = f"{_names(links)} {'is a' if len(links) == 1 else 'are'} {kind or 'unlabelled'} dose{'s' if len(links) > 1 else ''}"
    if kind in NOT_PLANNED:
        why = (
            "a dose of single control points"
            if kind == "CONTROL_POINT"
            else "the dose of a treatment record"
        )
        return _note(
            Severity.WARNING if chosen else Severity.ERROR,
            "dose-not-planned",
            f"{owner.label}: {what} ({why}), not a planned dose; {it} refused. "
            "Export the plan's PLAN dose.",
            links[0].file,
        )
    if kind == "MULTI_PLAN":
        return _note(
            Severity.WARNING,
            "dose-multi-plan-not-used",
            f"{owner.label}: {what}, the sum of several plans; {it} not used (plancheck sums the "
            "plans of a course from their own doses, each with its own fraction count)",
            links[0].file,
        )
    return _note(
        Severity.WARNING,
        "dose-summation-unsupported",
        f"{owner.label}: {what}; the kind of dose is unknown (DoseSummationType {kind or 'missing'}), so {it} "
        "not used. Export the dose with its DoseSummationType (PLAN, FRACTION, BEAM, ...).",
        links[0].file,
    )


def _choose(
    owner: _Owner, usable: dict[str, list[DoseLink]], findings: list[Finding]
) -> DoseChoice | None:
    plan_doses = usable.pop("PLAN", [])
    rest = [d for links in usable.values() for d in links]
    if plan_doses:
        if len(plan_doses) > 1:
            findings.append(
                _note(
                    Severity.ERROR,
                    "several-plan-doses",
                    f"{owner.label} has {len(plan_doses)} PLAN doses ({_names(plan_doses)}); plancheck does "
                    "not choose. Keep one in the folder.",
                    owner.file,
                )
            )
            return None
        term = DoseTerm(plan_doses[0], 1)
        if len(owner.groups) > 1:
            return _plan_dose_with_groups(owner, term, usable, rest, findings)
        unused = _unused(owner, rest, f"PLAN dose {plan_doses[0].file.name}", findings)
        return DoseChoice("PLAN", (term,), "PLAN dose", unused)
    if not rest:
        return None
    per_group = _group_doses(owner, usable, findings, loud=True)
    if per_group is None:
        return None
    group_doses, used = per_group
    terms = tuple(t for g in group_doses for t in g.terms)
    if not _same_grid(owner, [t.link for t in terms], findings):
        return None
    unused = _unused(
        owner, [d for d in rest if d not in used], "dose of each fraction group", findings
    )
    kinds = sorted({t.link.header.summation_type for t in terms})
    if len(group_doses) == 1:
        return DoseChoice(kinds[0], terms, group_doses[0].how, unused)
    how = (
        f"sum of {len(group_doses)} fraction groups ("
        + "; ".join(f"group {g.number}: {g.how}" for g in group_doses)
        + ")"
    )
    return DoseChoice("+".join(kinds), terms, how, unused, group_doses)


def _plan_dose_with_groups(
    owner: _Owner,
    term: DoseTerm,
    usable: dict[str, list[DoseLink]],
    rest: list[DoseLink],
    findings: list[Finding],
) -> DoseChoice:
    """A PLAN dose of a plan with several fraction groups: the groups' doses from the rest, if known."""
    counts = " + ".join(str(g.n_fractions) for g in owner.groups)
    reason = None
    group_doses: tuple[GroupDose, ...] = ()
    used: set[DoseLink] = set()
    quiet: list[Finding] = []
    per_group = _group_doses(owner, usable, quiet, loud=False) if rest else None
    if per_group is not None:
        found, used_links = per_group
        links = [term.link] + [t.link for g in found for t in g.terms]
        if _same_grid(owner, links, quiet):
            group_doses, used = found, set(used_links)
        else:
            reason = (
                f"its fraction groups ({counts} fractions) have doses of their own, but not on the PLAN "
                "dose's grid"
            )
    if not group_doses and reason is None:
        reason = (
            f"it has {len(owner.groups)} fraction groups ({counts} fractions) and one PLAN dose for all "
            "of them; the dose of each group is not known. Export one dose per fraction group (FRACTION "
            "doses, or BEAM doses of each group)"
        )
    unused = _unused(
        owner, [d for d in rest if d not in used], f"PLAN dose {term.link.file.name}", findings
    )
    how = "PLAN dose"
    if group_doses:
        how += (
            " (fraction groups from "
            + "; ".join(f"group {g.number}: {g.how}" for g in group_doses)
            + ")"
        )
    return DoseChoice("PLAN", (term,), how, unused, group_doses, reason)


def _unused(
    owner: _Owner, rest: list[DoseLink], chosen: str, findings: list[Finding]
) -> tuple[DoseLink, ...]:
    if rest:
        kinds = " and ".join(sorted({d.header.summation_type for d in rest}))
        findings.append(
            _note(
                Severity.INFO,
                "doses-not-used",
                f"{owner.label}: the {chosen} is used; the {kinds} dose{'s' if len(rest) > 1 else ''} "
                f"{_names(rest)} {'are' if len(rest) > 1 else 'is'} not added to it",
                rest[0].file,
            )
        )
    return tuple(rest)


def _group_of(owner: _Owner, d: DoseLink) -> tuple[bool, int | None]:
    """(known, group number) of a dose: stated, the plan's only group, or the group of its beams."""
    if len(owner.groups) == 1:
        return True, owner.groups[0].number
    number = d.header.referenced_fraction_group
    if number is not None:
        return True, number
    beams = set(d.header.referenced_beam_numbers)
    if beams and d.header.summation_type.startswith("BEAM"):
        holders = [g.number for g in owner.groups if beams <= set(g.beam_numbers)]
        if len(holders) == 1:
            return True, holders[0]
    return False, None


def _group_doses(
    owner: _Owner, usable: dict[str, list[DoseLink]], findings: list[Finding], *, loud: bool
) -> tuple[tuple[GroupDose, ...], list[DoseLink]] | None:
    """Each fraction group's dose from ``usable`` (no PLAN doses), or None (findings say why when ``loud``)."""
    groups = {g.number: g for g in owner.groups}
    by_group: dict[int | None, dict[str, list[DoseLink]]] = defaultdict(lambda: defaultdict(list))
    unknown: list[DoseLink] = []
    foreign: list[tuple[int | None, DoseLink]] = []
    for kind, links in usable.items():
        for d in links:
            known, number = _group_of(owner, d)
            if not known:
                unknown.append(d)
            elif number not in groups:
                foreign.append((number, d))
            else:
                by_group[number][kind].append(d)
    if unknown:
        if loud:
            findings.append(
                _note(
                    Severity.ERROR,
                    "fraction-group-unknown",
                    f"{owner.label}: {_names(unknown)} name{'s' if len(unknown) == 1 else ''} no fraction "
                    f"group and the plan has {len(owner.groups)}; which group's dose "
                    f"{'it is' if len(unknown) == 1 else 'they are'} is unknown",
                    unknown[0].file,
                )
            )
        return None
    if foreign:
        if loud:
            number, d = foreign[0]
            findings.append(
                _note(
                    Severity.ERROR,
                    "fraction-group-unknown",
                    f"{owner.label}: {d.file.name} is the dose of fraction group {number}, which the plan does "
                    f"not have (its groups: {sorted(groups, key=_key)})",
                    d.file,
                )
            )
        return None
    missing = [n for n in groups if n not in by_group]
    if missing:
        if loud:
            have = sorted(by_group, key=_key)
            findings.append(
                _note(
                    Severity.ERROR,
                    "fraction-doses-incomplete",
                    f"{owner.label} has fraction groups {sorted(groups, key=_key)} but doses for "
                    f"{have} only ({_names([d for k in by_group.values() for v in k.values() for d in v])}); "
                    "the plan's whole dose is unknown. Export a PLAN dose, or a dose for every fraction group.",
                    owner.file,
                )
            )
        return None
    out: list[GroupDose] = []
    used: list[DoseLink] = []
    for number, group in groups.items():
        made = _one_group(owner, group, by_group[number], findings if loud else [])
        if made is None:
            return None
        out.append(made)
        used.extend(t.link for t in made.terms)
    return tuple(out), used


def _key(v: int | None) -> int:
    return -1 if v is None else v


def _one_group(
    owner: _Owner, group: FractionGroup, kinds: dict[str, list[DoseLink]], findings: list[Finding]
) -> GroupDose | None:
    kind = next(k for k in _GROUP_ORDER if kinds.get(k))
    links = kinds[kind]
    session = kind in SESSION
    n = group.n_fractions
    where = "" if len(owner.groups) == 1 else f" of fraction group {group.number}"
    if session and n is None:
        fix = (
            "Give the fraction count with --fractions N."
            if not owner.has_plan
            else "Export a plan with its fraction count, or give it with --fractions N."
        )
        stated = (
            "its plan is not in the folder"
            if not owner.has_plan
            else "the plan states no NumberOfFractionsPlanned"
        )
        findings.append(
            _note(
                Severity.ERROR,
                "fraction-count-missing",
                f"{owner.label}: {_names(links)}{where} {'is a' if len(links) == 1 else 'are'} {kind} dose "
                f"(one session) and {stated}, so the whole dose is unknown. {fix}",
                links[0].file,
            )
        )
        return None
    if kind not in _SUMMED_KINDS and len(links) > 1:
        findings.append(
            _note(
                Severity.ERROR,
                "several-fraction-doses",
                f"{owner.label} has {len(links)} {kind} doses{where} ({_names(links)}); plancheck does not choose",
                owner.file,
            )
        )
        return None
    if kind in _SUMMED_KINDS and kind.startswith("BEAM"):
        beams = group.beam_numbers or owner.plan_beams
        if not _beams_cover(owner, links, beams, kind, where, findings):
            return None
    elif kind in _SUMMED_KINDS and len(links) > 1:
        findings.append(
            _note(
                Severity.WARNING,
                "brachy-doses-unverified",
                f"{owner.label}: the {len(links)} {kind} doses{where} ({_names(links)}) are summed; plancheck "
                "cannot check that they cover every application setup",
                owner.file,
            )
        )
    multiplier = n if session and n is not None else 1
    rest = [d for k, v in kinds.items() if k != kind for d in v]
    if rest:
        _unused(owner, rest, f"{kind} dose{where}", findings)
    how = f"{kind} dose" if len(links) == 1 else f"sum of {len(links)} {kind} doses"
    if session:
        how += f" × {_fx(multiplier)}"
    elif len(owner.groups) > 1 and n is not None:
        how += f" ({_fx(n)})"
    terms = tuple(DoseTerm(d, multiplier) for d in links)
    return GroupDose(group.number, n if n is not None else 0, terms, how)


def _beams_cover(
    owner: _Owner,
    links: list[DoseLink],
    beams: Sequence[int],
    kind: str,
    where: str,
    findings: list[Finding],
) -> bool:
    stated = [d.header.referenced_beam_numbers for d in links]
    if not (all(stated) and beams):
        findings.append(
            _note(
                Severity.WARNING,
                "beam-doses-unverified",
                f"{owner.label}: not every {kind} dose names its beam, so plancheck cannot check that the "
                f"{len(links)} {kind} doses{where} ({_names(links)}) cover all the beams; their sum is used",
                owner.file,
            )
        )
        return True
    covered = [b for s in stated for b in s]
    twice = sorted({b for b in covered if covered.count(b) > 1})
    missing = sorted(set(beams) - set(covered))
    foreign = sorted(set(covered) - set(beams))
    if twice:
        findings.append(
            _note(
                Severity.ERROR,
                "beam-dose-duplicated",
                f"{owner.label}: beams {twice} have more than one {kind} dose ({_names(links)}); their sum would "
                "count them twice",
                owner.file,
            )
        )
        return False
    if missing:
        findings.append(
            _note(
                Severity.ERROR,
                "beam-doses-incomplete",
                f"{owner.label}: the {kind} doses{where} ({_names(links)}) cover beams {sorted(covered)} but the "
                f"plan has beams {sorted(beams)}; without beams {missing} the sum would be too low. "
                "Export the missing beam doses or a PLAN dose.",
                owner.file,
            )
        )
        return False
    if foreign:
        findings.append(
            _note(
                Severity.WARNING,
                "beam-doses-unknown-beams",
                f"{owner.label}: {kind} doses name beams {foreign}, which the plan does not list; they are summed",
                owner.file,
            )
        )
    return True


def _same_grid(owner: _Owner, links: list[DoseLink], findings: list[Finding]) -> bool:
    """Whether the doses to be summed lie on one grid and are of one DoseType (else a finding)."""
    if len(links) < 2:
        return True
    first = links[0].header
    odd = [d for d in links[1:] if not first.same_grid(d.header)]
    kinds = {d.header.summation_type.split("_")[0] for d in links}
    code_kind = kinds.pop().lower() if len(kinds) == 1 else "summed"
    if odd:

        def grid(h: DoseHeader) -> str:
            dz, dy, dx = h.spacing_mm
            return (
                f"{h.columns}x{h.rows}x{h.frames} at {dx:g}x{dy:g}x{dz:g} mm from "
                f"({h.x_mm[0]:g}, {h.y_mm[0]:g}, {h.z_mm[0]:g})"
            )

        parts = "; ".join(f"{d.file.name}: {grid(d.header)}" for d in links)
        findings.append(
            _note(
                Severity.ERROR,
                f"{code_kind}-doses-on-different-grids",
                f"{owner.label}: the doses to be summed lie on different grids ({parts}); plancheck does not "
                "resample the parts of one plan. Export a PLAN dose, or the doses on one grid.",
                owner.file,
            )
        )
        return False
    types = sorted({d.header.dose_type for d in links})
    if len(types) > 1:
        findings.append(
            _note(
                Severity.ERROR,
                f"{code_kind}-doses-of-different-types",
                f"{owner.label}: the doses to be summed are of different DoseTypes ({', '.join(types)}) and "
                "cannot be added",
                owner.file,
            )
        )
        return False
    return True
