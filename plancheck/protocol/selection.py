"""Which protocol fits the plans of a course, and where plans and protocol disagree.

A protocol describes its course as plans (``plans:`` section, or implied by
the dose levels): each with a fraction count and the dose it gives each dose
level. The plans found in the RTPLANs have a fraction count and the target
prescriptions they state (DoseReferenceSequence; possibly none). A found
plan fits a protocol plan when the fraction counts are equal and every
prescription it states is one of that plan's dose-level doses, within
:data:`PRESCRIPTION_TOLERANCE` (relative, at least 0.01 Gy). The course fits
when its plans pair off one to one with the protocol's.

``select_protocol`` picks the one shipped (or given) protocol that fits and
says why; when none or several fit it raises :class:`ProtocolError` listing
the candidates. ``compare_plans`` turns every disagreement between an
explicitly chosen protocol and the plans into a finding.
"""

from __future__ import annotations

import itertools
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
    "PlanPairing",
    "Selection",
    "compare_plans",
    "expected_plans",
    "pair_plans",
    "select_protocol",
]

PRESCRIPTION_TOLERANCE = 0.005
_MAX_PLANS = 6


@dataclass(frozen=True)
class FoundPlan:
    """What the RTPLAN of one plan says: label, fractions, stated target prescriptions (Gy)."""

    label: str
    fractions: int | None
    prescriptions_gy: tuple[float, ...] = ()

    @classmethod
    def from_plan(cls, plan: Plan) -> FoundPlan:
        doses = tuple(
            r.target_prescription_dose_gy
            for r in plan.dose_references
            if r.target_prescription_dose_gy is not None
            and r.dose_reference_type.upper() == "TARGET"
        )
        return cls(plan.label, plan.n_fractions, doses)

    def describe(self) -> str:
        fx = f"{self.fractions} fx" if self.fractions is not None else "fractions not stated"
        rx = (
            ", ".join(f"{format_value(d)} Gy" for d in self.prescriptions_gy)
            if self.prescriptions_gy
            else "no prescription stated"
        )
        return f"{self.label!r} ({fx}; {rx})"


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
        return self.found.fractions == self.expected.fractions

    @property
    def unmatched_prescriptions(self) -> tuple[float, ...]:
        doses = [d for _, d in self.expected.doses_gy]
        return tuple(rx for rx in self.found.prescriptions_gy if not _rx_fits(rx, doses))

    @property
    def fits(self) -> bool:
        return self.fractions_match and not self.unmatched_prescriptions

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
    n = min(len(expected), len(found))
    for chosen in itertools.permutations(range(len(found)), n):
        pairs = tuple(PlanPairing(expected[k], found[j]) for k, j in enumerate(chosen))
        score = sum(2 * p.fractions_match + (not p.unmatched_prescriptions) for p in pairs)
        if score > best_score:
            best, best_score = pairs, score
    return best


def _fits(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[PlanPairing, ...] | None:
    if len(found) != len(expected_plans(protocol)):
        return None
    pairs = pair_plans(protocol, found)
    return pairs if pairs and all(p.fits for p in pairs) else None


def compare_plans(protocol: Protocol, found: Sequence[FoundPlan]) -> tuple[Finding, ...]:
    """Every disagreement between the protocol's course and the plans found."""
    expected = expected_plans(protocol)
    findings: list[Finding] = []
    if not expected:
        return ()
    if len(found) != len(expected):
        findings.append(
            Finding(
                Severity.WARNING,
                "plan-count-mismatch",
                f"protocol {protocol.name!r} expects {len(expected)} plan(s) "
                f"({'; '.join(e.describe() for e in expected)}), found {len(found)}: "
                f"{', '.join(f.describe() for f in found) or 'none'}",
            )
        )
    for p in pair_plans(protocol, found):
        where = f"plan {p.found.label!r} (protocol {p.expected.describe()})"
        if p.found.fractions is None:
            findings.append(
                Finding(
                    Severity.WARNING, "fractions-not-stated", f"{where} states no fraction count"
                )
            )
        elif not p.fractions_match:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "fraction-mismatch",
                    f"{where} has {p.found.fractions} fractions, the protocol {p.expected.fractions}",
                )
            )
        for rx in p.unmatched_prescriptions:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "prescription-mismatch",
                    f"{where} states a prescription of {format_value(rx)} Gy, which is none of the "
                    "protocol's doses for this plan",
                )
            )
        if not p.found.prescriptions_gy:
            findings.append(
                Finding(
                    Severity.INFO,
                    "prescription-not-stated",
                    f"{where} states no target prescription; the protocol's dose levels are used",
                )
            )
    return tuple(findings)


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

    ``candidates`` defaults to the shipped protocols. With ``roi_names``,
    protocols whose dose-level targets match no ROI are set aside when
    several fit the plans.

    Raises
    ------
    ProtocolError
        When no candidate fits, or several do; the message lists them.
    """
    if candidates is None:
        from plancheck.protocol.registry import load_all_shipped

        candidates = load_all_shipped()
    plans_text = ", ".join(f.describe() for f in found) or "no plans"
    fitting = [(c, pairs) for c in candidates if (pairs := _fits(c.protocol, found)) is not None]
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
    listed = "\n".join(f"  {c.name}: {_course_text(c.protocol)}" for c in candidates)
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
