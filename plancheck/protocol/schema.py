"""The protocol file format: pydantic models of the YAML.

A protocol names its dose levels (a target, a dose, a fraction count, the
plans of the course that deliver it), the structures it reads (TG-263 name,
aliases, or a ``derived:`` definition), the α/β values it assumes, its
constraints (structure, TG-263 metric, goal, acceptable variation, priority,
source) and the plan-quality indices it reports. Example::

    name: spine_sib_30Gy10_40Gy10
    description: ...
    body: Body
    dose_levels:
      - {id: boost, target: PTV_boost, dose_gy: 40, fractions: 10, plans: [1]}
    structures:
      - {name: SpinalCord, aliases: [Cord, SC]}
      - {name: PTV_Low!, derived: PTV - PTV_boost}
    constraints:
      - structure: SpinalCord
        metric: D0.03cc[EQD2Gy(a/b=2)]
        goal: <= 45
        variation: <= 50
        priority: 1
        source: Schultheiss 2008; QUANTEC (Kirkpatrick 2010)
    indices:
      - {index: ci_paddick, dose_level: boost, report_only: true, source: Paddick 2000}

These models check the shape of the file and the syntax of each value
(metric grammar, comparisons, derived expressions). Whether the parts refer
to each other correctly (a constraint's structure exists, a goal's unit fits
its metric, ...) is checked by :mod:`plancheck.protocol.checks`, which knows
the YAML paths so every message can name its line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from plancheck.dvh.indices import IndexKind
from plancheck.dvh.metric import Metric, parse_metric
from plancheck.errors import MetricSyntaxError
from plancheck.protocol.expressions import DerivedSyntaxError, Expr, parse_derived
from plancheck.protocol.outcome import (
    COMPARISON_PATTERN,
    Comparison,
    ComparisonError,
    parse_comparison,
)

__all__ = [
    "DOSE_SOURCES",
    "AlphaBeta",
    "Constraint",
    "DoseLevel",
    "IndexDef",
    "IntervalDef",
    "PlanDef",
    "Protocol",
    "RequiredGroup",
    "StructureDef",
]

_IDENTIFIER = r"^[A-Za-z][A-Za-z0-9_]*$"
_PROTOCOL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Text = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
RefKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
_REFS_DESCRIPTION = (
    "Bibliography keys of the sources (the shipped bibliography or this file's 'references'), "
    "e.g. [QUANTEC_cord, Schultheiss2008]."
)
GoalText = Annotated[
    str,
    Field(
        description="A comparison and a threshold in the metric's output unit: '<= 45', '>= 95', '< 2', "
        "optionally with the unit ('<= 45 Gy').",
        json_schema_extra={"pattern": COMPARISON_PATTERN},
        examples=["<= 45", ">= 95", "< 2"],
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_comparison(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_comparison(value)
    except ComparisonError as exc:
        raise PydanticCustomError(
            "comparison", "{why}", {"why": f"{exc.message} {exc.hint}"}
        ) from None
    return value


class StructureDef(_Model):
    """A structure the protocol reads: matched to an ROI by name and aliases, or derived."""

    name: Name = Field(description="TG-263 name, e.g. 'SpinalCord', 'PTV_boost'.")
    aliases: tuple[Name, ...] = Field(
        default=(),
        description="Other names clinics use. Compared after normalising case, spaces and separators.",
    )
    code: str | None = Field(default=None, description="Structure code (e.g. the TG-263 FMA ID).")
    derived: str | None = Field(
        default=None,
        description="Definition from other structures: 'PTV - PTV_boost', 'SpinalCord + 5mm', "
        "'Kidney_L + Kidney_R', 'PTV & Body', 'Body - (PTV + 10mm)'.",
    )
    required: bool = Field(
        default=True,
        description="A required structure that is missing makes the evaluation incomplete (exit 3); "
        "an optional one (organs outside the treated region, e.g. lungs in a lumbar plan) is listed "
        "as absent and its constraints as not evaluated without changing the exit status.",
    )
    prefer_roi: bool = Field(
        default=False,
        description="For a derived structure: use a matching ROI (by name or alias) when the "
        "structure set has one, derive it otherwise. Without it the structure is always derived.",
    )
    description: str | None = None
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)

    @field_validator("derived")
    @classmethod
    def _derived_syntax(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_derived(value)
        except DerivedSyntaxError as exc:
            raise PydanticCustomError("derived", "{why}", {"why": exc.message}) from None
        return value

    @property
    def expression(self) -> Expr | None:
        return None if self.derived is None else parse_derived(self.derived)


class AlphaBeta(_Model):
    """The α/β a protocol assumes for some structures, with its source."""

    structures: tuple[Name, ...] = Field(min_length=1)
    alpha_beta_gy: float = Field(gt=0, le=30, description="α/β in Gy.")
    source: Text
    note: str | None = None
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)


class PlanDef(_Model):
    """One plan of the course: its fraction count and the dose it gives each dose level."""

    number: int = Field(ge=1, le=20, description="Position of the plan in the course: 1, 2, ...")
    fractions: int = Field(ge=1, le=100)
    dose_gy: dict[
        Annotated[str, Field(pattern=_IDENTIFIER)], Annotated[float, Field(gt=0, le=200)]
    ] = Field(
        min_length=1,
        description="Dose (Gy) this plan delivers to each dose level, keyed by the level id.",
    )
    label: str | None = None
    description: str | None = None


class DoseLevel(_Model):
    """A prescription: target structure, total dose, fractions and the plans delivering it."""

    id: Annotated[str, Field(pattern=_IDENTIFIER, max_length=32)]
    target: Name
    dose_gy: float = Field(
        gt=0, le=200, description="Total prescribed dose over the level's plans, Gy."
    )
    fractions: int = Field(ge=1, le=100, description="Total fractions over the level's plans.")
    plans: tuple[Annotated[int, Field(ge=1, le=20)], ...] = Field(
        default=(1,),
        min_length=1,
        description="Plans of the course that deliver this level: [1] or [1, 2].",
    )
    description: str | None = None
    source: str | None = None
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)


class RequiredGroup(_Model):
    """Structures of which at least one must be in the structure set (else the evaluation is incomplete)."""

    structures: tuple[Name, ...] = Field(
        min_length=2,
        description="Protocol structures, each optional on its own: e.g. [SpinalCord, CaudaEquina, ThecalSac].",
    )
    reason: Text = Field(description="Why one of them is needed, said to the user when none is found.")
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)


class _GoalMixin:
    """Goal handling shared by constraints and indices (fields are declared in each)."""

    goal: str | None
    variation: str | None
    report_only: bool
    priority: int | None
    source: str

    @property
    def goal_comparison(self) -> Comparison | None:
        return None if self.goal is None else parse_comparison(self.goal)

    @property
    def variation_comparison(self) -> Comparison | None:
        return None if self.variation is None else parse_comparison(self.variation)


_VARIATION_DESCRIPTION = "Acceptable variation: a looser bound on the same side as the goal."
_REPORT_DESCRIPTION = "Report the value without a goal (then goal and variation are absent)."
_SOURCE_DESCRIPTION = "Where the numbers come from (citation; [LQ] for converted values)."


DOSE_SOURCES = (
    "current",
    "prior",
    "cumulative",
    "current/cumulative",
    "prior/cumulative",
    "current/prior",
)
DoseSource = Literal[
    "current",
    "prior",
    "cumulative",
    "current/cumulative",
    "prior/cumulative",
    "current/prior",
]


class Constraint(_Model, _GoalMixin):
    """A DVH metric of one structure with its goal."""

    structure: Name
    metric: Text = Field(
        description="TG-263 metric: 'D95%[Gy]', 'V20Gy[%]', 'Mean[Gy]', 'D0.03cc[EQD2Gy(a/b=2)]'.",
        examples=["D0.03cc[EQD2Gy(a/b=2)]", "V95%[%]", "Mean[Gy]"],
    )
    dose_level: Annotated[str, Field(pattern=_IDENTIFIER)] | None = Field(
        default=None,
        description="Dose level whose dose is the prescription of a relative metric (V95%, D2%[%]).",
    )
    goal: GoalText | None = None
    variation: GoalText | None = Field(default=None, description=_VARIATION_DESCRIPTION)
    report_only: bool = Field(default=False, description=_REPORT_DESCRIPTION)
    priority: int | None = Field(default=None, ge=1, le=9, description="1 = most important.")
    source: Text = Field(description=_SOURCE_DESCRIPTION)
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)
    note: str | None = None
    surrogate_for: Name | None = Field(
        default=None,
        description="This constraint grades its structure as a surrogate for another protocol "
        "structure (e.g. ThecalSac for SpinalCord): graded only when that structure is absent, "
        "reported otherwise.",
    )
    dose: DoseSource | None = Field(
        default=None,
        description="Re-irradiation: which dose the metric reads. 'current' (the course evaluated; "
        "the default), 'prior' (the prior courses given with --prior, mapped onto the current "
        "structures), 'cumulative' (prior and current summed point by point), or a ratio of the "
        "metric between two of them ('current/cumulative'): a number without unit. Without a "
        "prior course, constraints on 'prior' or 'cumulative' dose are not evaluated.",
    )

    @field_validator("goal", "variation")
    @classmethod
    def _comparison_syntax(cls, value: str | None) -> str | None:
        return _check_comparison(value)

    @property
    def is_ratio(self) -> bool:
        """True when the constraint grades a ratio of its metric between two doses."""
        return self.dose is not None and "/" in self.dose

    @field_validator("metric")
    @classmethod
    def _metric_syntax(cls, value: str) -> str:
        try:
            parse_metric(value)
        except MetricSyntaxError as exc:
            raise PydanticCustomError(
                "metric", "{why}", {"why": f"{exc.message}\n    {exc.hint}"}
            ) from None
        return value

    @property
    def parsed_metric(self) -> Metric:
        return parse_metric(self.metric)


class IndexDef(_Model, _GoalMixin):
    """A plan-quality index of one dose level (ICRU 83 HI, RTOG or Paddick CI, gradient index)."""

    index: IndexKind = Field(
        description="hi_icru83: (D2% - D98%)/D50%; ci_rtog: PIV/TV; ci_paddick: TV_PIV²/(TV·PIV); "
        "gi: PIV_50%/PIV_100%."
    )
    dose_level: Annotated[str, Field(pattern=_IDENTIFIER)]
    structure: Name | None = Field(
        default=None,
        description="Target to use instead of the dose level's target (e.g. 'PTV_Low!').",
    )
    goal: GoalText | None = None
    variation: GoalText | None = Field(default=None, description=_VARIATION_DESCRIPTION)
    report_only: bool = Field(default=False, description=_REPORT_DESCRIPTION)
    priority: int | None = Field(default=None, ge=1, le=9, description="1 = most important.")
    source: Text = Field(description=_SOURCE_DESCRIPTION)
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)
    note: str | None = None

    @field_validator("goal", "variation")
    @classmethod
    def _comparison_syntax(cls, value: str | None) -> str | None:
        return _check_comparison(value)


class IntervalDef(_Model, _GoalMixin):
    """Re-irradiation: the time from the end of the prior course to the start of the current one."""

    goal: GoalText | None = Field(
        default=None, description="In months (mean Gregorian months of 30.4375 days): '>= 5'."
    )
    variation: GoalText | None = Field(default=None, description=_VARIATION_DESCRIPTION)
    report_only: bool = Field(default=False, description=_REPORT_DESCRIPTION)
    priority: int | None = Field(default=None, ge=1, le=9, description="1 = most important.")
    source: Text = Field(description=_SOURCE_DESCRIPTION)
    refs: tuple[RefKey, ...] = Field(default=(), description=_REFS_DESCRIPTION)
    note: str | None = None

    @field_validator("goal", "variation")
    @classmethod
    def _comparison_syntax(cls, value: str | None) -> str | None:
        return _check_comparison(value)


class Protocol(_Model):
    """A treatment protocol: dose levels, structures, α/β values, constraints, indices."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="plancheck protocol",
        json_schema_extra={"description": "A plancheck treatment protocol (YAML)."},
    )

    schema_version: Literal[1] = 1
    name: Annotated[str, Field(pattern=_PROTOCOL_NAME, max_length=80)]
    title: str | None = None
    description: Text
    site: str | None = None
    references: dict[Name, Text] = Field(
        default_factory=dict,
        description="Full citations of sources that are not in the shipped bibliography, keyed by "
        "the names used in 'refs'.",
    )
    refs: tuple[RefKey, ...] = Field(
        default=(), description="Bibliography keys of the protocol as a whole (e.g. the study it follows)."
    )
    body: Name | None = Field(
        default=None, description="The structure that is the patient outline (needed by CI and GI)."
    )
    plans: tuple[PlanDef, ...] = Field(
        default=(),
        description="The plans of the course, needed when a dose level spans several plans.",
    )
    dose_levels: tuple[DoseLevel, ...] = ()
    alpha_beta: tuple[AlphaBeta, ...] = ()
    structures: tuple[StructureDef, ...] = Field(min_length=1)
    required_any: tuple[RequiredGroup, ...] = Field(
        default=(),
        description="Groups of optional structures of which at least one must be present, e.g. the "
        "spinal cord, the cauda equina or the thecal sac; none present makes the evaluation incomplete.",
    )
    constraints: tuple[Constraint, ...] = ()
    indices: tuple[IndexDef, ...] = ()
    interval: IntervalDef | None = Field(
        default=None,
        description="Re-irradiation: a goal on the time since the prior course, in months.",
    )

    @property
    def is_reirradiation(self) -> bool:
        """True when the protocol grades a prior or cumulative dose, or the interval between courses."""
        return self.interval is not None or any(
            c.dose not in (None, "current") for c in self.constraints
        )

    def structure(self, name: str) -> StructureDef:
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(name)

    def dose_level(self, level_id: str) -> DoseLevel:
        for level in self.dose_levels:
            if level.id == level_id:
                return level
        raise KeyError(level_id)

    def alpha_beta_of(self, structure: str) -> AlphaBeta | None:
        for entry in self.alpha_beta:
            if structure in entry.structures:
                return entry
        return None

    def used_refs(self) -> tuple[str, ...]:
        """Every bibliography key the protocol cites, in first-use order."""
        keys: list[str] = list(self.refs)
        for group in (self.dose_levels, self.alpha_beta, self.structures, self.required_any):
            for item in group:
                keys.extend(item.refs)
        for c in self.constraints:
            keys.extend(c.refs)
        for ix in self.indices:
            keys.extend(ix.refs)
        if self.interval is not None:
            keys.extend(self.interval.refs)
        return tuple(dict.fromkeys(keys))
