"""Evaluating a protocol against the ROIs of a plan or course.

The evaluation does not compute doses: the caller passes a *metric source*,
a function that returns the value of one metric for one structure (in the
metric's output unit) or raises :class:`MetricUndefinedError` with the
reason. How it computes DVHs (one plan, a course sum, an EQD2 grid, a
derived structure) is its business; this module matches structures, asks for
values, and turns them into outcomes.

A metric source may also return a :class:`ValueRange` when part of the
structure's dose is unknown (outside the dose grid): the lowest and highest
value the metric can take whatever that part receives. A goal met (or
missed) at both ends is decided "regardless of the part outside the grid",
with the worst case as the value; otherwise the constraint is not evaluated,
with the range and the unknown volume in the reason.

Constraints with ``surrogate_for`` grade their structure in place of another
(the thecal sac for the cord, HyTEC practice) only when that other structure
is absent; they are reported otherwise. ``required_any`` groups name
structures of which at least one must be present.

Plan-quality indices are computed from the same metric source (the DVH
definitions of :mod:`plancheck.dvh.indices`), unless the caller passes an
*index source* of its own:

* HI (ICRU 83) = (D2% - D98%) / D50% of the target, from ``D2%[Gy]``,
  ``D98%[Gy]``, ``D50%[Gy]``;
* RTOG CI = PIV / TV, Paddick CI = TV_PIV² / (TV · PIV), GI = PIV_50% / PIV,
  with TV = the target volume inside the dose grid (``V0Gy[cc]``), TV_PIV =
  the target's ``V<Rx>Gy[cc]``, PIV = the body's ``V<Rx>Gy[cc]`` and PIV_50%
  the body's ``V<Rx/2>Gy[cc]``, where Rx is the dose level's dose.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from plancheck.dvh.indices import IndexKind
from plancheck.dvh.metric import Metric, parse_metric
from plancheck.errors import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    AmbiguousMatchError,
    MetricUndefinedError,
    ProtocolError,
)
from plancheck.model import Finding
from plancheck.protocol.load import LoadedAliases, LoadedProtocol
from plancheck.protocol.matching import (
    MatchStatus,
    StructureMatch,
    StructureMatches,
    UserAliases,
    check_user_aliases,
    match_structures,
)
from plancheck.protocol.outcome import ConstraintOutcome, Status, decide_status, format_value
from plancheck.protocol.schema import Constraint, DoseLevel, IndexDef, IntervalDef, Protocol

__all__ = [
    "INDEX_LABELS",
    "IndexRequest",
    "IndexSource",
    "MetricRequest",
    "MetricSource",
    "ProtocolResult",
    "ValueRange",
    "evaluate_protocol",
    "interval_outcome",
    "ratio_range",
]

INDEX_LABELS = {
    IndexKind.HOMOGENEITY_ICRU83: "HI (ICRU 83)",
    IndexKind.CONFORMITY_RTOG: "CI (RTOG)",
    IndexKind.CONFORMITY_PADDICK: "CI (Paddick)",
    IndexKind.GRADIENT: "GI",
}


@dataclass(frozen=True)
class MetricRequest:
    """One value the evaluation needs.

    ``structure`` is matched (``structure.roi_name``) or derived
    (``structure.derived``: an expression over ROI names). ``prescription_gy``
    is the dose of ``dose_level`` (``None`` without one): the prescription of
    relative metrics such as ``V95%[%]`` or ``D2%[%]``. Biological metrics
    carry their α/β in ``metric``; the source converts each plan with its own
    fraction count. ``dose`` is the constraint's ``dose`` (re-irradiation:
    ``"prior"``, ``"cumulative"``, a ratio such as ``"current/cumulative"``);
    ``None`` or ``"current"`` is the course evaluated.
    """

    structure: StructureMatch
    metric: Metric
    prescription_gy: float | None
    dose_level: DoseLevel | None
    dose: str | None = None


@dataclass(frozen=True)
class IndexRequest:
    """One plan-quality index of one dose level (``body`` is ``None`` for HI)."""

    kind: IndexKind
    target: StructureMatch
    body: StructureMatch | None
    prescription_gy: float
    dose_level: DoseLevel


@dataclass(frozen=True)
class ValueRange:
    """A metric whose structure's dose is partly unknown: the values it can take.

    ``low`` and ``high`` are in the metric's output unit (``high`` may be
    ``math.inf``); ``why`` says what is unknown ("3.2 cc (12 %) of 'PTV' lies
    outside the dose grid").
    """

    low: float
    high: float
    why: str

    @property
    def exact(self) -> bool:
        return self.low == self.high


MetricSource = Callable[[MetricRequest], "float | ValueRange"]
IndexSource = Callable[[IndexRequest], float]


@dataclass(frozen=True)
class ProtocolResult:
    """Every outcome of one protocol on one plan or course."""

    protocol: str
    outcomes: tuple[ConstraintOutcome, ...]
    matches: tuple[StructureMatch, ...]
    findings: tuple[Finding, ...] = ()
    missing_groups: tuple[str, ...] = ()

    @property
    def missing_structures(self) -> tuple[str, ...]:
        """Required structures some constraint or index needed that could not be resolved."""
        needed = {o.structure for o in self.outcomes if o.required}
        return tuple(m.structure for m in self.matches if m.structure in needed and not m.usable)

    @property
    def absent_optional_structures(self) -> tuple[str, ...]:
        """Optional structures that the structure set does not have."""
        absent = {o.structure for o in self.outcomes if not o.required}
        return tuple(m.structure for m in self.matches if m.structure in absent)

    @property
    def complete(self) -> bool:
        """True when every required structure and structure group was found."""
        return not self.missing_structures and not self.missing_groups

    def counts(self) -> dict[str, int]:
        c = Counter(o.status for o in self.outcomes)
        return {s.value: c.get(s, 0) for s in Status}

    @property
    def return_code(self) -> int:
        """1 if a goal fails, else 3 if a graded constraint was not evaluated or a required
        structure group is missing, else 0.

        Warnings (variation met) and report-only items do not change it.
        """
        graded = [o for o in self.outcomes if o.counts_for_exit]
        if any(o.status is Status.FAIL for o in graded):
            return EXIT_FAIL
        if any(o.status is Status.NOT_EVALUATED for o in graded) or self.missing_groups:
            return EXIT_INPUT
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "counts": self.counts(),
            "outcomes": [o.to_dict() for o in self.outcomes],
            "structures": [m.to_dict() for m in self.matches],
            "missing_structures": list(self.missing_structures),
            "missing_groups": list(self.missing_groups),
            "absent_optional_structures": list(self.absent_optional_structures),
            "findings": [f.to_dict() for f in self.findings],
        }


def _level(protocol: Protocol, level_id: str | None) -> DoseLevel | None:
    return None if level_id is None else protocol.dose_level(level_id)


def _ask(source: MetricSource, request: MetricRequest) -> tuple[float | ValueRange | None, str]:
    """The value (or its range), or ``None`` and the reason it is undefined."""
    try:
        answer = source(request)
    except MetricUndefinedError as exc:
        return None, exc.reason
    if isinstance(answer, ValueRange):
        if math.isnan(answer.low) or math.isnan(answer.high) or math.isinf(answer.low):
            return None, f"the dose computation returned [{answer.low}, {answer.high}] for {request.metric.text}"
        if answer.exact:
            return answer.low, ""
        return answer, ""
    value = float(answer)
    if not math.isfinite(value):
        return None, f"the dose computation returned {value} for {request.metric.text}"
    return value, ""


def _status_of(value: float, item: Constraint | IndexDef | IntervalDef) -> Status:
    goal, variation = item.goal_comparison, item.variation_comparison
    assert goal is not None
    if goal.holds(value):
        return Status.PASS
    if variation is not None and variation.holds(value):
        return Status.WARN
    return Status.FAIL


def _decide_range(
    answer: ValueRange, unit: str, item: Constraint | IndexDef | IntervalDef, graded: bool = True
) -> tuple[Status, float | None, str, Literal["at-most", "at-least"] | None]:
    """Status, value, reason and bound of a metric known only as a range."""

    def shown(v: float) -> str:
        return "no upper bound" if math.isinf(v) else f"{format_value(v)} {unit}".strip()

    span = f"between {shown(answer.low)} and {shown(answer.high)}"
    goal = item.goal_comparison if graded else None
    if goal is None:
        return Status.NOT_EVALUATED, None, f"{answer.why}: the value lies {span}", None
    low_status, high_status = _status_of(answer.low, item), _status_of(answer.high, item)
    if low_status is not high_status:
        return (
            Status.NOT_EVALUATED,
            None,
            f"{answer.why}; whatever that part receives, the value lies {span}, so the goal "
            f"{item.goal} cannot be decided",
            None,
        )
    status = low_status
    # the end of the range that decides: the worst case of a goal that holds, the best case of one that fails
    upper = goal.is_upper_bound
    use_high = upper == (status is not Status.FAIL)
    value = answer.high if use_high else answer.low
    bound: Literal["at-most", "at-least"] = "at-most" if use_high else "at-least"
    words = {Status.PASS: "meets the goal", Status.WARN: "is within the acceptable variation", Status.FAIL: "fails the goal"}
    target = item.variation if status is Status.WARN else item.goal
    reason = (
        f"{bound.replace('-', ' ')} {shown(value)}: {words[status]} {target} regardless of the part "
        f"outside the grid ({answer.why}; {span})"
    )
    return status, value, reason, bound


def _reason(
    status: Status, value: float | None, unit: str, item: Constraint | IndexDef | IntervalDef
) -> str:
    if value is None:
        return ""
    shown = f"{format_value(value)} {unit}".strip()
    if status is Status.REPORTED:
        return f"{shown}: reported, no goal"
    if status is Status.PASS:
        return f"{shown} meets the goal {item.goal}"
    if status is Status.WARN:
        return f"{shown} misses the goal {item.goal} but is within the acceptable variation {item.variation}"
    if item.variation is not None:
        return f"{shown} misses the goal {item.goal} and the acceptable variation {item.variation}"
    return f"{shown} misses the goal {item.goal}"


def _outcome(
    kind: Literal["dvh", "index", "interval"],
    item: Constraint | IndexDef | IntervalDef,
    structure: str,
    metric: str,
    unit: str,
    match: StructureMatch | None,
    answer: float | ValueRange | None,
    why_not: str,
    level: DoseLevel | None,
    line: int | None,
    required: bool,
    surrogate_for: str | None = None,
    graded: bool = True,
    note: str = "",
) -> ConstraintOutcome:
    bound: Literal["at-most", "at-least"] | None = None
    goal = item.goal if graded else None
    variation = item.variation if graded else None
    if isinstance(answer, ValueRange):
        status, value, reason, bound = _decide_range(answer, unit, item, graded)
    else:
        value = answer
        status = decide_status(
            value,
            item.goal_comparison if graded else None,
            item.variation_comparison if graded else None,
        )
        if status is Status.NOT_EVALUATED:
            value = None
            reason = why_not or "no value"
        else:
            reason = _reason(status, value, unit, item)
    if note:
        reason = f"{reason}; {note}" if reason else note
    return ConstraintOutcome(
        kind=kind,
        structure=structure,
        metric=metric,
        status=status,
        value=value,
        unit=unit,
        goal=goal,
        variation=variation,
        reason=reason,
        roi=match.roi_label if match is not None else None,
        matched_by=match.matched_by if match is not None and match.usable else None,
        dose_level=level.id if level is not None else None,
        prescription_gy=level.dose_gy if level is not None else None,
        priority=item.priority,
        source=item.source,
        protocol_line=line,
        required=required,
        bound=bound,
        surrogate_for=surrogate_for,
        note=item.note,
    )


def _unusable(match: StructureMatch) -> str:
    if match.status is MatchStatus.AMBIGUOUS:
        return f"structure {match.structure!r} is ambiguous: {match.reason}"
    return f"structure {match.structure!r} is missing: {match.reason}"


def _required(protocol: Protocol, *matches: StructureMatch | None) -> bool:
    """False when an optional structure is missing (its outcome then does not grade the plan)."""
    for m in matches:
        if (
            m is not None
            and m.status is MatchStatus.MISSING
            and not protocol.structure(m.structure).required
        ):
            return False
    return True


def _evaluate_constraint(
    protocol: Protocol,
    item: Constraint,
    match: StructureMatch,
    source: MetricSource,
    line: int | None,
    matches: StructureMatches | None = None,
) -> ConstraintOutcome:
    metric = item.parsed_metric
    level = _level(protocol, item.dose_level)
    answer: float | ValueRange | None = None
    why_not = ""
    if match.usable:
        request = MetricRequest(
            match, metric, level.dose_gy if level is not None else None, level, item.dose
        )
        answer, why_not = _ask(source, request)
    else:
        why_not = _unusable(match)
    if not _required(protocol, match):
        why_not = f"optional structure {match.structure!r} is absent: {match.reason}"
    graded, note = True, ""
    if item.surrogate_for is not None and matches is not None and match.usable:
        stood_for = matches[item.surrogate_for]
        if stood_for.usable:
            graded = False
            note = (
                f"not graded: {item.structure} stands in for {item.surrogate_for} only when that is "
                f"absent, and {item.surrogate_for} is in the structure set (limit {item.goal} as a "
                "surrogate)"
            )
        else:
            note = (
                f"graded as a surrogate for {item.surrogate_for}, which the structure set does not have"
            )
    label = metric.text if item.dose in (None, "current") else f"{metric.text} ({item.dose})"
    return _outcome(
        "dvh",
        item,
        item.structure,
        label,
        "" if item.is_ratio else metric.unit_label,
        match,
        answer,
        why_not,
        level,
        line,
        _required(protocol, match),
        surrogate_for=item.surrogate_for,
        graded=graded,
        note=note,
    )


def ratio_range(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Range of a / b for a in [a0, a1] and b in [b0, b1] with b0 > 0 (b1 may be inf)."""
    (a0, a1), (b0, b1) = a, b
    low = a0 / b1 if a0 >= 0 else a0 / b0
    high = a1 / b0 if a1 >= 0 else a1 / b1
    return low, high


def _dvh_index(source: MetricSource, request: IndexRequest) -> float | ValueRange:
    """An index from DVH metrics (definitions of :mod:`plancheck.dvh.indices`).

    When a metric it needs is only known as a range (part of a structure
    outside the dose grid), the index is returned as the range those bounds
    allow.
    """
    level = request.dose_level
    rx = request.prescription_gy
    unknown: list[str] = []

    def value(match: StructureMatch, text: str) -> tuple[float, float]:
        answer = source(MetricRequest(match, parse_metric(text), rx, level))
        if isinstance(answer, ValueRange):
            if not answer.exact and answer.why not in unknown:
                unknown.append(answer.why)
            return answer.low, answer.high
        v = float(answer)
        return v, v

    def result(low: float, high: float) -> float | ValueRange:
        if low == high or not unknown:
            return low
        return ValueRange(low, high, "; ".join(unknown))

    label = INDEX_LABELS[request.kind]
    if request.kind is IndexKind.HOMOGENEITY_ICRU83:
        d2 = value(request.target, "D2%[Gy]")
        d98 = value(request.target, "D98%[Gy]")
        d50 = value(request.target, "D50%[Gy]")
        if d50[0] <= 0:
            raise MetricUndefinedError(label, "the target's median dose D50% is 0")
        return result(*ratio_range((d2[0] - d98[1], d2[1] - d98[0]), d50))
    if request.body is None:
        raise MetricUndefinedError(label, "it needs the body outline")
    piv = value(request.body, f"V{rx:.10g}Gy[cc]")
    if request.kind is IndexKind.GRADIENT:
        if piv[0] <= 0:
            raise MetricUndefinedError(
                label, f"no volume of the body receives the prescription {rx:g} Gy"
            )
        return result(*ratio_range(value(request.body, f"V{rx / 2:.10g}Gy[cc]"), piv))
    tv = value(request.target, "V0Gy[cc]")
    if tv[0] <= 0:
        raise MetricUndefinedError(label, "the target has no volume inside the dose grid")
    if request.kind is IndexKind.CONFORMITY_RTOG:
        return result(*ratio_range(piv, tv))
    if piv[0] <= 0:
        raise MetricUndefinedError(
            label, f"no volume of the body receives the prescription {rx:g} Gy"
        )
    tv_piv = value(request.target, f"V{rx:.10g}Gy[cc]")
    squared = (tv_piv[0] * tv_piv[0], tv_piv[1] * tv_piv[1])
    return result(*ratio_range(squared, (tv[0] * piv[0], tv[1] * piv[1])))


def _evaluate_index(
    protocol: Protocol,
    item: IndexDef,
    matches: StructureMatches,
    metric_source: MetricSource,
    index_source: IndexSource | None,
    line: int | None,
) -> ConstraintOutcome:
    level = protocol.dose_level(item.dose_level)
    structure = item.structure if item.structure is not None else level.target
    target = matches[structure]
    body = matches[protocol.body] if protocol.body is not None else None
    needs_body = item.index is not IndexKind.HOMOGENEITY_ICRU83
    metric = f"{INDEX_LABELS[item.index]} at {level.dose_gy:g} Gy"
    value: float | ValueRange | None = None
    why_not = ""
    if not target.usable:
        why_not = _unusable(target)
    elif needs_body and (body is None or not body.usable):
        why_not = _unusable(body) if body is not None else "the protocol names no body outline"
    else:
        request = IndexRequest(
            item.index, target, body if needs_body else None, level.dose_gy, level
        )
        try:
            value = (
                float(index_source(request))
                if index_source is not None
                else _dvh_index(metric_source, request)
            )
        except MetricUndefinedError as exc:
            value, why_not = None, exc.reason
        if isinstance(value, float) and not math.isfinite(value):
            value, why_not = None, f"the index computation returned {value}"
        elif isinstance(value, ValueRange) and (
            math.isnan(value.low) or math.isnan(value.high) or math.isinf(value.low)
        ):
            why_not = f"the index computation returned [{value.low}, {value.high}]"
            value = None
    return _outcome(
        "index",
        item,
        structure,
        metric,
        "",
        target,
        value,
        why_not,
        level,
        line,
        _required(protocol, target, body if needs_body else None),
    )


def evaluate_protocol(
    protocol: LoadedProtocol | Protocol,
    roi_names: Sequence[str],
    metric_source: MetricSource,
    *,
    aliases: LoadedAliases | UserAliases | None = None,
    index_source: IndexSource | None = None,
    on_ambiguous: Literal["error", "not-evaluated"] = "error",
) -> ProtocolResult:
    """Evaluate every constraint and index of ``protocol``.

    Parameters
    ----------
    protocol
        A loaded (or constructed and checked) protocol.
    roi_names
        Names of the ROIs of the structure set, as written (duplicates count).
    metric_source
        ``metric_source(MetricRequest) -> float`` in the metric's output unit;
        raises :class:`MetricUndefinedError` when no value exists.
    aliases
        A site's aliases file, merged with the protocol's aliases.
    index_source
        Optional ``index_source(IndexRequest) -> float``; by default indices
        are computed from ``metric_source``.
    on_ambiguous
        ``"error"`` raises :class:`AmbiguousMatchError` listing every
        structure that two ROIs match; ``"not-evaluated"`` reports their
        constraints as not evaluated instead.

    Raises
    ------
    AmbiguousMatchError
        When ROIs match ambiguously and ``on_ambiguous == "error"``.
    ProtocolFileError
        When ``aliases`` conflict with the protocol.
    """
    loaded = protocol if isinstance(protocol, LoadedProtocol) else None
    model = protocol.protocol if isinstance(protocol, LoadedProtocol) else protocol
    user: UserAliases | None
    if isinstance(aliases, LoadedAliases):
        aliases.check_against(model)
        user, source_name = aliases.aliases, aliases.source
    else:
        if aliases is not None and check_user_aliases(model, aliases):
            problems = "; ".join(m for _, m in check_user_aliases(model, aliases))
            raise ProtocolError(f"the aliases conflict with protocol {model.name!r}: {problems}")
        user, source_name = aliases, "the aliases file"
    matches = match_structures(model, roi_names, user, source_name)

    if on_ambiguous == "error" and matches.ambiguous:
        listed = "; ".join(m.reason for m in matches.ambiguous)
        raise AmbiguousMatchError(
            f"{len(matches.ambiguous)} protocol structure(s) match several ROIs: {listed}",
            path=loaded.source if loaded is not None else None,
        )

    def line(path: tuple[str | int, ...]) -> int | None:
        return loaded.line_of(path) if loaded is not None else None

    outcomes = [
        _evaluate_constraint(
            model, c, matches[c.structure], metric_source, line(("constraints", i)), matches
        )
        for i, c in enumerate(model.constraints)
    ]
    outcomes += [
        _evaluate_index(model, ix, matches, metric_source, index_source, line(("indices", i)))
        for i, ix in enumerate(model.indices)
    ]
    missing_groups = tuple(
        f"none of {', '.join(g.structures)} is in the structure set: {g.reason}"
        for g in model.required_any
        if not any(matches[name].usable for name in g.structures)
    )
    return ProtocolResult(
        model.name, tuple(outcomes), matches.matches, matches.findings, missing_groups
    )


INTERVAL_METRIC = "time since the prior course"


def interval_outcome(
    item: IntervalDef, months: float | ValueRange | None, why_not: str, line: int | None = None
) -> ConstraintOutcome:
    """The outcome of a protocol's ``interval`` goal (re-irradiation), in months.

    ``months`` is ``None`` when the interval is unknown (``why_not`` says
    why), or a :class:`ValueRange` when the dates bound it only on one side.
    """
    return _outcome(
        "interval", item, "Interval", INTERVAL_METRIC, "months", None, months, why_not, None, line, True
    )
