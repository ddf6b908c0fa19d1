"""Which plans on one structure set form a course (are summed), and which stand alone.

Several plans on one structure set are either the parts of one course (a
sequential boost after the main plan, plans delivered in parallel) or
alternatives (an IMRT and a VMAT plan of the same case, a revision). Summing
alternatives doubles the dose; so plans are summed only on evidence
(:func:`group_plans`, the ``auto`` mode):

1. **Stated relationships** (RTPLAN ReferencedRTPlanSequence, RTPlanRelationship,
   PS3.3 C.8.8.9). CONCURRENT plans are summed. PREDECESSOR and PRIOR plans
   are summed unless the two plans look alike (below), which makes the later
   one a revision of the earlier, not a complement. ALTERNATIVE and
   VERIFIED_PLAN are never summed.
2. **Nothing stated.** Plans that look alike (the same fraction count and the
   same target prescriptions, or none) are alternatives. Plans with different
   fraction counts that are all APPROVED are summed (a sequential course, for
   example 10 + 2 fractions), with a finding that says the sum was inferred.
   Anything else is not summed.
3. A REJECTED plan, or one whose intent is VERIFICATION, MACHINE_QA or
   SERVICE, is never summed.

Plans joined by these links form a course unless two of its plans are stated
or seen to be alternatives; then none is summed. The user decides otherwise
with a :class:`CourseSelection`: ``all`` sums every plan of each structure
set, ``plans`` names the plans to evaluate (summed when they share a
structure set). Every sum is a WARNING finding that names the plans and why
they were summed; plans left separate get an INFO finding saying why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from plancheck.dicom.rtplan import PlanDetails
from plancheck.errors import CourseError
from plancheck.model import Finding, Plan, Severity

__all__ = ["CourseSelection", "Grouped", "Member", "group_plans", "select_members"]

_COMPLEMENTS = ("CONCURRENT", "PREDECESSOR", "PRIOR")
_SEPARATE = ("ALTERNATIVE", "VERIFIED_PLAN")
_NOT_A_TREATMENT = ("VERIFICATION", "MACHINE_QA", "SERVICE")


@dataclass(frozen=True)
class CourseSelection:
    """What the user asked to evaluate.

    ``mode``: ``"auto"`` (plans summed only on evidence, see the module
    docstring) or ``"all"`` (every plan of a structure set summed). ``plans``:
    labels, SOP Instance UIDs or file names of the plans to evaluate (only
    those; summed when they share a structure set).
    """

    mode: Literal["auto", "all"] = "auto"
    plans: tuple[str, ...] = ()

    @property
    def explicit(self) -> bool:
        """True when the user chose the course (``--course all`` or ``--plan``)."""
        return self.mode == "all" or bool(self.plans)


class Member(Protocol):
    """What grouping needs of a linked plan (a :class:`~plancheck.dicom.link.PlanLink`)."""

    @property
    def plan(self) -> Plan | None: ...

    @property
    def details(self) -> PlanDetails | None: ...

    @property
    def label(self) -> str: ...

    @property
    def selectors(self) -> tuple[str, ...]: ...

    @property
    def finding_path(self) -> str | None: ...


@dataclass(frozen=True, eq=False)
class Grouped:
    """One course: its members, and the findings about how it was formed."""

    members: tuple[Member, ...]
    findings: tuple[Finding, ...]


def group_plans(
    members: Sequence[Member], selection: CourseSelection, all_uids: frozenset[str] = frozenset()
) -> list[Grouped]:
    """Split the usable plans of one structure set into courses.

    ``all_uids`` are the SOP Instance UIDs of every plan file in the folder
    (to tell a related plan that is absent from one that is present but not
    usable). The user's choice of plans is applied before, with
    :func:`select_members`.
    """
    members = list(members)
    if len(members) < 2 and not _has_relations(members):
        return [Grouped(tuple(members), ())]
    if selection.mode == "all" or selection.plans:
        why = (
            "--course all was given" if selection.mode == "all" else "they were chosen with --plan"
        )
        return [Grouped(tuple(members), _summed(members, why))]
    return _auto(members, all_uids)


def select_members(members: Sequence[Member], wanted: Sequence[str]) -> list[Member]:
    """The members named by ``wanted`` (label, SOP Instance UID or file name), in folder order.

    Raises
    ------
    CourseError
        When a name matches no plan, or a label matches several.
    """
    chosen: list[Member] = []
    for name in wanted:
        hits = [m for m in members if name in m.selectors]
        if not hits:
            raise CourseError(
                f"no plan is called {name!r}",
                hint="Plans found: " + (", ".join(_describe(m) for m in members) or "none") + ".",
            )
        if len({id(m) for m in hits}) > 1:
            raise CourseError(
                f"{len(hits)} plans are called {name!r}",
                hint="Name the plan by its file name or SOP Instance UID instead: "
                + ", ".join(_describe(m) for m in hits)
                + ".",
            )
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return [m for m in members if m in chosen]


def _has_relations(members: Sequence[Member]) -> bool:
    return any(m.details is not None and m.details.relations for m in members)


def _describe(m: Member) -> str:
    n = m.plan.n_fractions if m.plan is not None else None
    fx = f", {n} fx" if n is not None else ""
    return f"{m.label!r} ({m.finding_path and m.finding_path.rsplit('/', 1)[-1]}{fx})"


def _fx(m: Member) -> str:
    n = m.plan.n_fractions if m.plan is not None else None
    return f"{m.label!r} ({n} fx)" if n is not None else repr(m.label)


def _names(members: Sequence[Member]) -> str:
    texts = [_fx(m) for m in members]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def _summed(members: Sequence[Member], why: str) -> tuple[Finding, ...]:
    if len(members) < 2:
        return ()
    return (
        Finding(
            Severity.WARNING,
            "plans-summed",
            f"plans {_names(members)} are summed voxel by voxel as one course, because {why}. "
            "Check that they are meant to be delivered together; evaluate one alone with --plan LABEL.",
            members[0].finding_path,
        ),
    )


def _targets(plan: Plan | None) -> tuple[float, ...]:
    if plan is None:
        return ()
    return tuple(
        sorted(
            round(r.target_prescription_dose_gy, 2)
            for r in plan.dose_references
            if r.target_prescription_dose_gy is not None and r.dose_reference_type == "TARGET"
        )
    )


def _alike(a: Member, b: Member) -> bool:
    """Same fraction count and the same target prescriptions (or none): indistinguishable plans."""
    na = a.plan.n_fractions if a.plan is not None else None
    nb = b.plan.n_fractions if b.plan is not None else None
    return na == nb and _targets(a.plan) == _targets(b.plan)


def _alike_text(a: Member, b: Member) -> str:
    n = a.plan.n_fractions if a.plan is not None else None
    fx = f"{n} fractions each" if n is not None else "no fraction count stated"
    rx = _targets(a.plan)
    what = (
        f"target prescriptions {', '.join(f'{v:g}' for v in rx)} Gy each"
        if rx
        else "no prescription stated"
    )
    return f"{fx}, {what}"


def _never_summed(m: Member) -> str | None:
    if m.plan is not None and m.plan.approval_status == "REJECTED":
        return "it is REJECTED"
    intent = m.details.intent if m.details is not None else None
    if intent in _NOT_A_TREATMENT:
        return f"its intent is {intent}"
    return None


@dataclass
class _Edges:
    complement: dict[tuple[int, int], str]
    separate: dict[tuple[int, int], str]


def _pair(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def _auto(members: list[Member], all_uids: frozenset[str]) -> list[Grouped]:
    by_uid = {m.plan.sop_instance_uid: k for k, m in enumerate(members) if m.plan is not None}
    notes: list[Finding] = []
    edges = _Edges({}, {})
    blocked = {k: why for k, m in enumerate(members) if (why := _never_summed(m)) is not None}
    # 1. stated relationships
    for i, m in enumerate(members):
        for rel in m.details.relations if m.details is not None else ():
            j = by_uid.get(rel.uid)
            if j is None or j == i:
                if rel.relationship in _COMPLEMENTS:
                    where = (
                        "is in the folder but cannot be evaluated"
                        if rel.uid in all_uids
                        else "is not in the folder"
                    )
                    notes.append(
                        Finding(
                            Severity.WARNING,
                            "related-plan-missing",
                            f"plan {m.label!r} names plan {rel.uid} as its {rel.relationship}, which {where}; "
                            f"{m.label!r} is evaluated without it",
                            m.finding_path,
                        )
                    )
                continue
            other = members[j]
            key = _pair(i, j)
            if rel.relationship in _SEPARATE:
                edges.separate[key] = f"{m.label!r} names {other.label!r} as its {rel.relationship}"
            elif rel.relationship == "CONCURRENT":
                edges.complement[key] = f"{m.label!r} names {other.label!r} as CONCURRENT"
            elif rel.relationship in _COMPLEMENTS:
                if _alike(m, other):
                    edges.separate[key] = (
                        f"{m.label!r} names {other.label!r} as its {rel.relationship} but both have "
                        f"{_alike_text(m, other)}: a revision, not a second part of the course"
                    )
                else:
                    edges.complement[key] = (
                        f"{m.label!r} names {other.label!r} as its {rel.relationship}"
                    )
    # 2. nothing stated: by the plans' own facts
    unknown: dict[tuple[int, int], str] = {}
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            key = (i, j)
            if key in edges.complement or key in edges.separate:
                continue
            a, b = members[i], members[j]
            if _alike(a, b):
                edges.separate[key] = (
                    f"{a.label!r} and {b.label!r} look like alternatives ({_alike_text(a, b)}, no "
                    "relationship stated)"
                )
            elif _approved(a) and _approved(b) and _fractions(a) != _fractions(b):
                edges.complement[key] = (
                    f"{a.label!r} and {b.label!r} are both APPROVED with different fraction counts "
                    "(no relationship stated; summed as a sequential course)"
                )
            else:
                unknown[key] = (
                    f"{a.label!r} and {b.label!r} state no relationship and are not both APPROVED with "
                    "different fraction counts"
                )
    # 3. components of complements, unless they hold a separate pair or a plan never summed
    parent = list(range(len(members)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in edges.complement:
        if i in blocked or j in blocked:
            continue
        parent[find(i)] = find(j)
    components: dict[int, list[int]] = defaultdict(list)
    for k in range(len(members)):
        components[find(k)].append(k)
    out: list[Grouped] = []
    for ks in components.values():
        inner = [_pair(a, b) for a in ks for b in ks if a < b]
        conflict = [edges.separate[p] for p in inner if p in edges.separate] + [
            unknown[p] for p in inner if p in unknown
        ]
        if len(ks) > 1 and conflict:
            notes.append(
                Finding(
                    Severity.WARNING,
                    "plans-not-summed",
                    f"plans {_names([members[k] for k in ks])} are linked as one course, but "
                    f"{'; '.join(conflict)}; none is summed. Choose with --plan LABEL, or sum them with "
                    "--course all.",
                    members[ks[0]].finding_path,
                )
            )
            out.extend(Grouped((members[k],), ()) for k in ks)
            continue
        group = [members[k] for k in ks]
        why = "; ".join(edges.complement[p] for p in inner if p in edges.complement)
        out.append(Grouped(tuple(group), _summed(group, why)))
    if len(out) > 1:
        reasons = sorted(
            {
                text
                for (i, j), text in {**unknown, **edges.separate}.items()
                if find(i) != find(j) or len(components[find(i)]) == 1
            }
            | {f"{members[k].label!r} is never summed: {why}" for k, why in blocked.items()}
        )
        if reasons:
            notes.append(
                Finding(
                    Severity.INFO,
                    "plans-not-summed",
                    f"plans {_names(members)} share a structure set but are reported separately: "
                    f"{'; '.join(reasons)}. Sum them with --course all, or choose with --plan LABEL.",
                    members[0].finding_path,
                )
            )
    return _attach(out, notes, lambda g: g.members)


def _approved(m: Member) -> bool:
    return m.plan is not None and m.plan.approval_status == "APPROVED"


def _fractions(m: Member) -> int | None:
    return m.plan.n_fractions if m.plan is not None else None


def _attach(
    groups: list[Grouped], notes: list[Finding], members_of: Callable[[Grouped], tuple[Member, ...]]
) -> list[Grouped]:
    """Give each course the notes about its own plans (every course gets the ones about several)."""
    out = []
    for g in groups:
        paths = {m.finding_path for m in members_of(g)}
        own = [f for f in notes if f.path in paths or f.code == "plans-not-summed"]
        out.append(Grouped(g.members, (*g.findings, *own)))
    return out
