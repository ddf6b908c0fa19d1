"""Which protocol fits the plans of a course, and where plans and protocol disagree.

A protocol describes its course as plans (``plans:`` section, or implied by
the dose levels): each with a fraction count and the dose it gives each dose
level. The plans found in the RTPLANs have a fraction count (one fraction
group, or several) and the target prescriptions they state
(DoseReferenceSequence; possibly none). A found plan fits a protocol plan
when it has one fraction group with the protocol plan's fraction count, and
it states prescriptions of which at least one is one of that plan's
dose-level doses and none exceeds the highest (within
:data:`PRESCRIPTION_TOLERANCE`, relative, at least 0.01 Gy). The course fits
when its plans pair off one to one with the protocol's.

``select_protocol`` chooses automatically only from stated prescriptions, and
only among protocols that grade their targets (a protocol whose targets are
only reported is never chosen for the user). Plans that state no
prescription stop the choice with the candidates their fraction counts
allow; none or several fitting protocols stop it too
(:class:`ProtocolError`, exit 2). ``plan_mismatches`` lists every
disagreement between an explicitly chosen protocol and the plans; the
blocking ones (plan count, fraction counts, fraction groups, a prescription
the protocol does not have) make the verdict not evaluable unless the user
accepts them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from plancheck.errors import ProtocolError
from plancheck.model import Finding, Plan, Severity
from plancheck.protocol.checks import course_plans
from plancheck.protocol.load import LoadedProtocol
from plancheck.protocol.matching import MatchStatus, match_structures
from plancheck.protocol.outcome import format_value
from plancheck.protocol.schema import Protocol

__all__ = [
    "PRESCRIPTION_TOLERANCE",
    "CoursePlan",
    "FoundPlan",
    "Mismatch",
    "PlanPairing",
    "Selection",
    "compare_plans",
    "expected_plans",
    "grades_its_targets",
    "pair_plans",
    "plan_mismatches",
    "select_protocol",
]

PRESCRIPTION_TOLERANCE = 0.005
_MAX_PLANS = 6


# the reader's finding states the groups' counts as "[10, 30]" or "(10 + 30 = 40 fractions)"
_GROUPS_RE = re.compile(r"\[([0-9, None]+)\]|\(((?:\d+|None)(?:\s*\+\s*(?:\d+|None))+)\s*=")


@dataclass(frozen=True)
class FoundPlan:
    """What the RTPLAN of one plan says: label, fractions, stated target prescriptions (Gy).

    ``fraction_groups`` holds the fraction count of each fraction group when the
    plan has several (empty for one group); ``fractions`` is then their total.
    """

    label: str
    fractions: int | None
    prescriptions_gy: tuple[float, ...] = ()
    fraction_groups: tuple[int | None, ...] = ()

    @classmethod
    def from_plan(cls, plan: Plan, group_fractions: tuple[int | None, ...] = ()) -> FoundPlan:
        doses = tuple(
            r.target_prescription_dose_gy
            for r in plan.dose_references
            if r.target_prescription_dose_gy is not None
            and r.dose_reference_type.upper() == "TARGET"
        )
        groups = group_fractions if len(group_fractions) > 1 else _groups_from_findings(plan)
        return cls(plan.label, plan.n_fractions, doses, groups)

    @property
    def several_groups(self) -> bool:
        return len(self.fraction_groups) > 1

    def describe(self) -> str:
        if self.several_groups:
            counts = " + ".join("?" if n is None else str(n) for n in self.fraction_groups)
            fx = f"{len(self.fraction_groups)} fraction groups ({counts} fx)"
        else:
            fx = f"{self.fractions} fx" if self.fractions is not None else "fractions not stated"
        rx = (
            ", ".join(f"{format_value(d)} Gy" for d in self.prescriptions_gy)
            if self.prescriptions_gy
            else "no prescription stated"
        )
        return f"{self.label!r} ({fx}; {rx})"


def _groups_from_findings(plan: Plan) -> tuple[int | None, ...]:
    """Fraction counts of a plan's groups, from the reader's several-groups finding."""
    for f in plan.findings:
        if f.code == "plan-with-several-fraction-groups":
            m = _GROUPS_RE.search(f.message)
            if m is not None:
                listed = m.group(1) if m.group(1) is not None else m.group(2).replace("+", ",")
                counts = tuple(
                    None if t.strip() == "None" else int(t) for t in listed.split(",") if t.strip()
                )
                if len(counts) > 1:
                    return counts
            return (None, None)
    return ()


@dataclass(frozen=True)
class CoursePlan:
    """One plan as a protocol expects it."""

    number: int
    fractions: int
    doses_gy: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        doses = ", ".join(f"{level} {format_value(d)} Gy" for level, d in self.doses_gy)
        return f"plan {self.number}: {self.fractions} fx ({doses})"


def expected_plans(protocol: Protocol) -> tuple[CoursePlan, ...]:
    """The plans of the protocol's course, by number."""
    return tuple(
        CoursePlan(number, fractions, tuple(doses.items()))
        for number, (fractions, doses) in sorted(course_plans(protocol).items())
    )


def _rx_fits(found: float, expected: Sequence[float]) -> bool:
    return any(abs(found - e) <= max(0.01, PRESCRIPTION_TOLERANCE * e) for e in expected)


@dataclass(frozen=True)
class PlanPairing:
    """A found plan paired with the protocol plan it delivers."""

    expected: CoursePlan
    found: FoundPlan

    @property
    def fractions_match(self) -> bool:
        return not self.found.several_groups and self.found.fractions == self.expected.fractions

    @property
    def unmatched_prescriptions(self) -> tuple[float, ...]:
        doses = [d for _, d in self.expected.doses_gy]
        return tuple(rx for rx in self.found.prescriptions_gy if not _rx_fits(rx, doses))

    @property
    def prescription_conflict(self) -> str | None:
        """Why the stated prescriptions rule this protocol plan out (None when they fit or none is stated)."""
        stated = self.found.prescriptions_gy
        if not stated:
            return None
        doses = [d for _, d in self.expected.doses_gy]
        if not any(_rx_fits(rx, doses) for rx in stated):
            return "none of the prescriptions it states is a dose of the protocol's plan"
        top = max(doses)
        above = [rx for rx in stated if rx > top and not _rx_fits(rx, [top])]
        if above:
            return (
                f"it states {format_value(max(above))} Gy, above the protocol's highest dose for this "
                f"plan ({format_value(top)} Gy)"
            )
        return None

    @property
    def fits(self) -> bool:
        """Fractions fit and at least one stated prescription fits (none above the protocol's)."""
        return (
            self.fractions_match
            and bool(self.found.prescriptions_gy)
            and self.prescription_conflict is None
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "protocol_plan": self.expected.number,
            "plan_label": self.found.label,
            "fractions": self.found.fractions,
            "expected_fractions": self.expected.fractions,
            "prescriptions_gy": list(self.found.prescriptions_gy),
            "expected_doses_gy": dict(self.expected.doses_gy),
        }


def pair_plans(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[PlanPairing, ...]:
    """The pairing of found and expected plans with the fewest disagreements.

    Plans beyond the shorter list stay unpaired. Ties keep the found order.
    """
    expected = expected_plans(protocol)
    if not expected or not found:
        return ()
    if len(found) > _MAX_PLANS or len(expected) > _MAX_PLANS:
        return tuple(PlanPairing(e, f) for e, f in zip(expected, found, strict=False))
    best: tuple[PlanPairing, ...] = ()
    best_score = -1
    if len(found) >= len(expected):
        # every expected plan gets one of the found plans
        candidates = (
            tuple(PlanPairing(expected[k], found[j]) for k, j in enumerate(chosen))
            for chosen in itertools.permutations(range(len(found)), len(expected))
        )
    else:
        # every found plan goes to one of the expected plans (a 2-fraction boost plan alone
        # pairs with the protocol's 2-fraction plan, not with its first)
        candidates = (
            tuple(
                sorted(
                    (PlanPairing(expected[k], found[j]) for j, k in enumerate(chosen)),
                    key=lambda p: p.expected.number,
                )
            )
            for chosen in itertools.permutations(range(len(expected)), len(found))
        )
    for pairs in candidates:
        score = sum(2 * p.fractions_match + (not p.unmatched_prescriptions) for p in pairs)
        if score > best_score:
            best, best_score = pairs, score
    return best


def _fits(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[PlanPairing, ...] | None:
    if len(found) != len(expected_plans(protocol)):
        return None
    pairs = pair_plans(protocol, found)
    return pairs if pairs and all(p.fits for p in pairs) else None


def _fits_fractions(protocol: Protocol, found: Sequence[FoundPlan]) -> bool:
    """Plan count and fraction counts fit (prescriptions not looked at)."""
    if len(found) != len(expected_plans(protocol)):
        return False
    pairs = pair_plans(protocol, found)
    return bool(pairs) and all(p.fractions_match for p in pairs)


def grades_its_targets(protocol: Protocol) -> bool:
    """True when every dose level's target has at least one DVH constraint with a goal.

    Plan-quality indices (a conformity index) do not count: they do not say
    whether the target received its dose.
    """
    graded = {c.structure for c in protocol.constraints if c.goal is not None}
    return bool(protocol.dose_levels) and all(
        level.target in graded for level in protocol.dose_levels
    )


@dataclass(frozen=True)
class Mismatch:
    """A disagreement between the plans and a protocol; ``blocking`` ones stop a verdict."""

    code: str
    message: str
    blocking: bool

    def finding(self) -> Finding:
        severity = Severity.WARNING if self.blocking or self.code != "prescription-not-stated" else Severity.INFO
        return Finding(severity, self.code, self.message)


def plan_mismatches(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[Mismatch, ...]:
    """Every disagreement between the protocol's course and the plans found.

    Blocking: a different number of plans, a plan with several fraction
    groups, a fraction count that is missing or differs, stated prescriptions
    none of which is a dose of the protocol's plan or one above its highest
    dose. Not blocking: a further stated prescription below the highest dose
    (a reference point), no prescription stated (the protocol's levels are used).
    """
    expected = expected_plans(protocol)
    out: list[Mismatch] = []
    if not expected:
        return ()
    if len(found) != len(expected):
        out.append(
            Mismatch(
                "plan-count-mismatch",
                f"protocol {protocol.name!r} expects {len(expected)} plan(s) "
                f"({'; '.join(e.describe() for e in expected)}), found {len(found)}: "
                f"{', '.join(f.describe() for f in found) or 'none'}",
                True,
            )
        )
    for p in pair_plans(protocol, found):
        where = f"plan {p.found.label!r} (protocol {p.expected.describe()})"
        if p.found.several_groups:
            counts = " + ".join("?" if n is None else str(n) for n in p.found.fraction_groups)
            out.append(
                Mismatch(
                    "fraction-groups-mismatch",
                    f"{where} has {len(p.found.fraction_groups)} fraction groups ({counts} "
                    f"fractions); the protocol's plan is one group of {p.expected.fractions} fractions",
                    True,
                )
            )
        elif p.found.fractions is None:
            out.append(Mismatch("fractions-not-stated", f"{where} states no fraction count", True))
        elif not p.fractions_match:
            out.append(
                Mismatch(
                    "fraction-mismatch",
                    f"{where} has {p.found.fractions} fractions, the protocol {p.expected.fractions}",
                    True,
                )
            )
        conflict = p.prescription_conflict
        if conflict is not None:
            stated = ", ".join(f"{format_value(rx)} Gy" for rx in p.found.prescriptions_gy)
            out.append(
                Mismatch(
                    "prescription-mismatch",
                    f"{where} states {stated}: {conflict}",
                    True,
                )
            )
        else:
            for rx in p.unmatched_prescriptions:
                out.append(
                    Mismatch(
                        "prescription-not-in-protocol",
                        f"{where} also states {format_value(rx)} Gy, which is none of the protocol's "
                        "doses for this plan (below its highest: taken as a reference point or a level "
                        "the protocol does not grade)",
                        False,
                    )
                )
        if not p.found.prescriptions_gy:
            out.append(
                Mismatch(
                    "prescription-not-stated",
                    f"{where} states no target prescription; the protocol's dose levels are used",
                    False,
                )
            )
    return tuple(out)


def compare_plans(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[Finding, ...]:
    """Every disagreement between the protocol's course and the plans found, as findings."""
    return tuple(m.finding() for m in plan_mismatches(protocol, found))


@dataclass(frozen=True)
class Selection:
    """The protocol chosen for a course, how its plans pair up, and why it was chosen."""

    protocol: LoadedProtocol
    pairings: tuple[PlanPairing, ...]
    reason: str


def _course_text(protocol: Protocol) -> str:
    return "; ".join(p.describe() for p in expected_plans(protocol)) or "no dose levels"


def select_protocol(
    found: Sequence[FoundPlan],
    candidates: Sequence[LoadedProtocol] | None = None,
    roi_names: Sequence[str] | None = None,
) -> Selection:
    """The one candidate protocol whose course fits ``found``.

    ``candidates`` defaults to the shipped protocols but the re-irradiation
    ones (which need prior courses); those whose targets are only reported
    are never chosen. The choice rests on the prescriptions the
    plans state: a plan that states none stops it, with the candidates its
    fraction count allows. With ``roi_names``, protocols whose dose-level
    targets match no ROI are set aside when several fit the plans.

    Raises
    ------
    ProtocolError
        When a plan states no prescription, or no candidate fits, or several
        do; the message lists the candidates (exit 2).
    """
    if candidates is None:
        from plancheck.protocol.registry import load_all_shipped

        # re-irradiation protocols are chosen only for a course evaluated with its prior courses
        candidates = [c for c in load_all_shipped() if not c.protocol.is_reirradiation]
    plans_text = ", ".join(f.describe() for f in found) or "no plans"
    gradable = [c for c in candidates if grades_its_targets(c.protocol)]
    silent = [f for f in found if not f.prescriptions_gy]
    if found and silent:
        by_fractions = [c for c in gradable if _fits_fractions(c.protocol, found)]
        listed = (
            "; ".join(f"{c.name} ({_course_text(c.protocol)})" for c in by_fractions)
            or "none of the shipped protocols"
        )
        who = ", ".join(repr(f.label) for f in silent)
        verb = "states" if len(silent) == 1 else "state"
        raise ProtocolError(
            f"plan{'s' if len(silent) > 1 else ''} {who} {verb} no target prescription, so plancheck "
            f"does not choose a protocol (plans found: {plans_text}); choosing by fraction count "
            f"alone could pick the wrong one. Protocols whose fraction counts fit: {listed}.",
            hint="Choose one with --protocol NAME or --protocol FILE.",
        )
    fitting = [(c, pairs) for c in gradable if (pairs := _fits(c.protocol, found)) is not None]
    note = ""
    if len(fitting) > 1 and roi_names is not None:
        with_targets = [
            (c, pairs) for c, pairs in fitting if _targets_present(c.protocol, roi_names)
        ]
        if with_targets and len(with_targets) < len(fitting):
            dropped = sorted({c.name for c, _ in fitting} - {c.name for c, _ in with_targets})
            note = f"; set aside {', '.join(dropped)} (target structures not in the structure set)"
            fitting = with_targets
    if len(fitting) == 1:
        chosen, pairs = fitting[0]
        reason = (
            f"protocol {chosen.name!r} chosen: its course ({_course_text(chosen.protocol)}) fits the "
            f"plans found ({plans_text}){note}"
        )
        return Selection(chosen, pairs, reason)
    listed = "\n".join(
        f"  {c.name}: {_course_text(c.protocol)}"
        + ("" if grades_its_targets(c.protocol) else " (targets only reported: never chosen automatically)")
        for c in candidates
    )
    if not fitting:
        raise ProtocolError(
            f"no protocol fits the plans found ({plans_text}). Protocols:\n{listed}",
            hint="Choose one with --protocol NAME or --protocol FILE.",
        )
    names = ", ".join(c.name for c, _ in fitting)
    raise ProtocolError(
        f"several protocols fit the plans found ({plans_text}): {names}.",
        hint="Choose one with --protocol NAME (a plan that states its target prescriptions "
        "in the RTPLAN narrows the choice).",
    )


def _targets_present(protocol: Protocol, roi_names: Sequence[str]) -> bool:
    matches = match_structures(protocol, roi_names)
    return all(
        matches[level.target].status is MatchStatus.MATCHED for level in protocol.dose_levels
    )
