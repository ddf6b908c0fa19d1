"""What prior courses add to an evaluation: the engine, the interval, the summary for reports.

:func:`plancheck.evaluation.evaluate_course` calls these when it is given a
:class:`~plancheck.reirradiation.load.Reirradiation` (``--prior``):

* :func:`candidate_protocols`: protocols chosen automatically are the
  re-irradiation ones with prior courses, the others without;
* :func:`make_engine`: the metric source with the prior courses;
* :func:`interval_outcomes`: the protocol's interval goal, graded from the
  courses' dates (not evaluated without a prior course or its dates; a range
  when the dates may make the interval look longer than it was);
* :func:`reirradiation_summary`: the registration used, the interval, the
  recovery assumption, and the prior, current and cumulative DVHs of the
  cord, cauda equina and thecal sac, for the reports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from plancheck.dvh.engine import DvhSettings
from plancheck.dvh.metric import DoseKind, DoseQuantity, Metric, parse_metric
from plancheck.errors import MetricUndefinedError
from plancheck.model import Course, Dvh, PlanDose
from plancheck.protocol.evaluate import (
    MetricRequest,
    ProtocolResult,
    ValueRange,
    interval_outcome,
)
from plancheck.protocol.load import LoadedProtocol
from plancheck.protocol.outcome import ConstraintOutcome
from plancheck.reirradiation.engine import ReirradiationEngine
from plancheck.reirradiation.load import Reirradiation

__all__ = [
    "PLOTTED_STRUCTURES",
    "ReirradiationDvh",
    "ReirradiationSummary",
    "candidate_protocols",
    "interval_outcomes",
    "make_engine",
    "reirradiation_summary",
    "with_interval",
    "with_prior_plans",
]

# the structures whose prior, current and cumulative DVHs are drawn together
PLOTTED_STRUCTURES = ("SpinalCord", "CaudaEquina", "ThecalSac")
DEFAULT_ALPHA_BETA_GY = 2.0  # the cord's, when the protocol states none for the structure
DOSES = ("prior", "current", "cumulative")


def candidate_protocols(reirradiation: bool) -> list[LoadedProtocol]:
    """The shipped protocols that may be chosen automatically: re-irradiation ones or the others."""
    from plancheck.protocol.registry import load_all_shipped

    return [p for p in load_all_shipped() if p.protocol.is_reirradiation == reirradiation]


def make_engine(
    course: Course,
    plans: tuple[PlanDose, ...],
    pairing: dict[int, str],
    settings: DvhSettings,
    reirradiation: Reirradiation,
) -> ReirradiationEngine:
    """The metric source of a course with prior courses."""
    return ReirradiationEngine(course, plans, pairing, settings).bind_priors(reirradiation)


def interval_outcomes(
    protocol: LoadedProtocol, reirradiation: Reirradiation | None
) -> tuple[ConstraintOutcome, ...]:
    """The protocol's interval goal as an outcome (none when the protocol has no interval goal)."""
    item = protocol.protocol.interval
    if item is None:
        return ()
    line = protocol.line_of(("interval",))
    if reirradiation is None:
        return (
            interval_outcome(
                item, None, "no prior course was given (--prior PRIOR_DIR): the interval is unknown", line
            ),
        )
    interval = reirradiation.interval
    if interval is None:
        return (interval_outcome(item, None, reirradiation.interval_problem, line),)
    if interval.conservative:
        return (interval_outcome(item, interval.months, "", line),)
    # the dates may make the interval look longer than it was: only its upper end is known
    why = f"{interval.days} days at most, from dates that bound it on one side only ({interval.note})"
    return (interval_outcome(item, ValueRange(0.0, interval.months, why), "", line),)


def with_prior_plans(
    result: ProtocolResult, protocol: LoadedProtocol, reirradiation: Reirradiation | None
) -> ProtocolResult:
    """``result`` whose prior and cumulative outcomes name the prior plans they use."""
    if reirradiation is None:
        return result
    prior = tuple(p.label for p in reirradiation.prior_plans)
    doses = [c.dose for c in protocol.protocol.constraints]
    outcomes = []
    for k, o in enumerate(result.outcomes):
        dose = doses[k] if k < len(doses) and o.kind == "dvh" else None
        if dose is None or dose == "current":
            outcomes.append(o)
        elif dose == "prior":
            outcomes.append(dataclasses.replace(o, plans=prior))
        else:  # cumulative, or a ratio that involves the prior or cumulative dose
            outcomes.append(dataclasses.replace(o, plans=(*o.plans, *prior)))
    return dataclasses.replace(result, outcomes=tuple(outcomes))


def with_interval(result: ProtocolResult, outcomes: tuple[ConstraintOutcome, ...]) -> ProtocolResult:
    """``result`` with the interval outcomes added."""
    if not outcomes:
        return result
    return dataclasses.replace(result, outcomes=(*result.outcomes, *outcomes))


@dataclass(frozen=True, eq=False)
class ReirradiationDvh:
    """The prior, current and cumulative DVHs of one structure, in one quantity."""

    structure: str
    roi: str
    quantity: DoseQuantity
    curves: dict[str, Dvh]
    problems: dict[str, str]


@dataclass(frozen=True, eq=False)
class ReirradiationSummary:
    """What an evaluation with prior courses reports beside the outcomes."""

    reirradiation: Reirradiation
    dvhs: tuple[ReirradiationDvh, ...]

    def to_dict(self, curves: bool = True) -> dict[str, Any]:
        out = self.reirradiation.to_dict()
        out["dvhs"] = [_dvh_dict(d, curves) for d in self.dvhs]
        return out


def _dvh_dict(d: ReirradiationDvh, curves: bool) -> dict[str, Any]:
    from plancheck.report.dvh_output import curve_points

    entry: dict[str, Any] = {
        "structure": d.structure,
        "roi": d.roi,
        "quantity": str(d.quantity),
        "problems": d.problems,
        "doses": {},
    }
    for name, dvh in d.curves.items():
        item: dict[str, Any] = {
            "volume_cc": dvh.volume_cc,
            "volume_outside_grid_cc": dvh.volume_outside_grid_cc,
            "outside_grid_by_source_cc": [[s, cc] for s, cc in dvh.outside_grid_by_source_cc],
            "max_gy": dvh.max_gy,
        }
        if curves:
            dose, volume = curve_points(dvh)
            item["curve"] = {"dose_gy": dose, "volume_cc": volume}
        entry["doses"][name] = item
    return entry


def reirradiation_summary(
    engine: ReirradiationEngine, result: ProtocolResult, protocol: LoadedProtocol
) -> ReirradiationSummary:
    """The registration, interval and recovery, and the DVHs of :data:`PLOTTED_STRUCTURES`."""
    dvhs: list[ReirradiationDvh] = []
    for match in result.matches:
        if match.structure not in PLOTTED_STRUCTURES or not match.usable:
            continue
        entry = protocol.protocol.alpha_beta_of(match.structure)
        ab = entry.alpha_beta_gy if entry is not None else DEFAULT_ALPHA_BETA_GY
        quantity = DoseQuantity(DoseKind.EQD2, ab)
        curves: dict[str, Dvh] = {}
        problems: dict[str, str] = {}
        for dose in DOSES:
            request = MetricRequest(match, _probe(quantity), None, None, dose)
            try:
                curves[dose] = engine.dvh(match, engine.plans_for(request), quantity)
            except MetricUndefinedError as exc:
                problems[dose] = exc.reason
        dvhs.append(
            ReirradiationDvh(match.structure, match.roi_label or match.structure, quantity, curves, problems)
        )
    return ReirradiationSummary(engine.reirradiation, tuple(dvhs))


def _probe(quantity: DoseQuantity) -> Metric:
    return parse_metric(f"Max[EQD2Gy(a/b={quantity.alpha_beta_gy:g})]")

