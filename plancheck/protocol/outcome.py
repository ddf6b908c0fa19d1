"""Goals, acceptable variations and the outcome of one constraint.

A goal or a variation is a comparison and a threshold in the metric's output
unit, written as in clinical templates: ``"<= 45"``, ``">= 95"``, ``"< 2"``,
optionally with the unit (``"<= 45 Gy"``, ``">= 95 %"``). The outcome of a
constraint is

* ``pass``: the goal is met;
* ``warn``: the goal is missed, the acceptable variation is met;
* ``fail``: both are missed (or the goal is missed and there is no variation);
* ``not-evaluated``: no value exists (structure missing or ambiguous, metric
  undefined, data missing), never a number standing in for one;
* ``reported``: an item without a goal (ICRU 83 D50%, indices that no
  reference bounds), reported for information.

Comparisons are exact: a value equal to the threshold meets ``<=`` and
``>=`` and misses ``<`` and ``>``; no tolerance is added.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from plancheck.dvh.metric import Metric, OutputUnit
from plancheck.errors import ProtocolError

__all__ = [
    "COMPARISON_PATTERN",
    "Comparison",
    "ComparisonError",
    "ConstraintOutcome",
    "Status",
    "allowed_units",
    "decide_status",
    "format_value",
    "parse_comparison",
]


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_EVALUATED = "not-evaluated"
    REPORTED = "reported"


class ComparisonError(ProtocolError):
    """A goal or variation that is not a comparison plancheck understands."""


_OPS = {"<=": "<=", ">=": ">=", "<": "<", ">": ">", "≤": "<=", "≥": ">="}
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_UNITS = ("cGy", "Gy", "%", "cc")
# The grammar, also published in the JSON Schema so that editors flag bad goals.
COMPARISON_PATTERN = r"^\s*(<=|>=|<|>|≤|≥)\s*(" + _NUMBER + r")\s*(cGy|Gy|%|cc)?\s*$"
_COMPARISON_RE = re.compile(COMPARISON_PATTERN)

Op = Literal["<=", "<", ">=", ">"]


@dataclass(frozen=True)
class Comparison:
    """``value <op> threshold``; ``unit`` is the unit written after the number, if any."""

    op: Op
    threshold: float
    unit: str | None = None

    @property
    def is_upper_bound(self) -> bool:
        """True for ``<`` and ``<=`` (the value must stay below)."""
        return self.op in ("<", "<=")

    def holds(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.threshold
        if self.op == "<":
            return value < self.threshold
        if self.op == ">=":
            return value >= self.threshold
        return value > self.threshold

    def looser_or_equal(self, other: Comparison) -> bool:
        """True when every value meeting ``other`` also meets ``self``."""
        if self.is_upper_bound != other.is_upper_bound:
            return False
        if self.threshold == other.threshold:
            strict_self = self.op in ("<", ">")
            strict_other = other.op in ("<", ">")
            return not strict_self or strict_other
        if self.is_upper_bound:
            return self.threshold > other.threshold
        return self.threshold < other.threshold

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.op} {format_value(self.threshold)}{unit}"


def parse_comparison(text: object) -> Comparison:
    """Parse ``"<= 45"``, ``">= 95 %"``, ``"< 2"``, ``"≤ 45 Gy"``.

    Raises
    ------
    ComparisonError
        When ``text`` is not one comparison operator followed by a number.
    """
    if not isinstance(text, str):
        raise ComparisonError(
            f"expected a comparison in quotes such as '<= 45', got {text!r}.",
            hint="Write the operator and the threshold: '<= 45', '>= 95', '< 2'.",
        )
    m = _COMPARISON_RE.match(text)
    if m is None:
        stripped = text.strip()
        if stripped.startswith(("=", "!")):
            why = f"{stripped[:2].strip()!r} is not a comparison plancheck accepts: use <=, <, >= or >"
        elif re.fullmatch(_NUMBER, stripped):
            why = "the comparison operator is missing"
        elif " to " in stripped or re.search(r"\d\s*-\s*\d", stripped):
            why = "ranges are not supported: write the goal as one bound"
        else:
            why = "expected one of <=, <, >=, > followed by a number and an optional unit (Gy, cGy, %, cc)"
        raise ComparisonError(
            f"invalid comparison {text!r}: {why}.",
            hint="Examples: '<= 45', '>= 95', '< 2', '<= 45 Gy'.",
        )
    op = _OPS[m.group(1)]
    threshold = float(m.group(2))
    if not math.isfinite(threshold):
        raise ComparisonError(f"invalid comparison {text!r}: the threshold must be a finite number")
    return Comparison(op, threshold, m.group(3))  # type: ignore[arg-type]


def allowed_units(metric: Metric | None) -> tuple[str, ...]:
    """Units a goal on ``metric`` may name (none for a dimensionless index)."""
    if metric is None:
        return ()
    unit = metric.output_unit
    if unit in (OutputUnit.GY, OutputUnit.EQD2_GY, OutputUnit.BED_GY):
        return ("Gy",)
    return (unit.value,)


def decide_status(
    value: float | None, goal: Comparison | None, variation: Comparison | None
) -> Status:
    """The outcome of a value against a goal and an optional variation."""
    if value is None or not math.isfinite(value):
        return Status.NOT_EVALUATED
    if goal is None:
        return Status.REPORTED
    if goal.holds(value):
        return Status.PASS
    if variation is not None and variation.holds(value):
        return Status.WARN
    return Status.FAIL


def format_value(value: float) -> str:
    """A number as people read it: up to 4 decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class ConstraintOutcome:
    """The result of one constraint or plan-quality index.

    ``value`` is in ``unit`` (the metric's output unit; empty for indices) and
    is ``None`` exactly when ``status`` is not-evaluated. ``roi`` is the ROI of
    the structure set that was used (or the derived definition with ROI names),
    ``matched_by`` how it was found. ``reason`` always says why the status is
    what it is. ``required`` is false only for a constraint on an optional
    structure that the structure set does not have.
    """

    kind: Literal["dvh", "index", "interval"]
    structure: str
    metric: str
    status: Status
    value: float | None
    unit: str
    goal: str | None
    variation: str | None
    reason: str
    roi: str | None = None
    matched_by: str | None = None
    dose_level: str | None = None
    prescription_gy: float | None = None
    priority: int | None = None
    source: str | None = None
    protocol_line: int | None = None
    required: bool = True
    bound: Literal["at-most", "at-least"] | None = None
    plans: tuple[str, ...] = ()
    surrogate_for: str | None = None
    note: str | None = None

    @property
    def has_goal(self) -> bool:
        return self.goal is not None

    @property
    def counts_for_exit(self) -> bool:
        """Graded outcomes decide the exit status; optional structures that are absent do not."""
        return self.has_goal and self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "structure": self.structure,
            "roi": self.roi,
            "matched_by": self.matched_by,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "variation": self.variation,
            "status": self.status.value,
            "reason": self.reason,
            "dose_level": self.dose_level,
            "prescription_gy": self.prescription_gy,
            "priority": self.priority,
            "source": self.source,
            "protocol_line": self.protocol_line,
            "required": self.required,
            "bound": self.bound,
            "plans": list(self.plans),
            "surrogate_for": self.surrogate_for,
            "note": self.note,
        }
