"""The metric source of a re-irradiation evaluation: current, prior and cumulative doses.

:class:`ReirradiationEngine` answers the protocol's metric requests like the
course engine (:class:`plancheck.evaluation._DoseEngine`), on the current
course's structures and sampling points, with the request's ``dose``:

* ``current`` (or none): the current course, as without prior courses;
* ``prior``: every prior course's plans, each interpolated at the current
  sampling points mapped into its own frame of reference
  (:class:`~plancheck.dose.field.Contribution` with the registration's mapping),
  converted with its own fraction counts;
* ``cumulative``: the current and prior contributions summed point by point,
  the prior ones weighted by ``1 - recovery`` when the user set a recovery
  discount;
* ``a/b`` (``current/cumulative``): the ratio of the metric between two of
  them; a metric known only as a range (part of the structure outside a
  grid) gives the range of the ratio.

Where a prior grid does not reach, the dose is unknown (never zero): the DVH
engine counts that volume per contribution, and the metric becomes a range
(:mod:`plancheck.dvh.bounds`) that decides a goal only when it holds, or
fails, whatever that part receives.
"""

from __future__ import annotations

import dataclasses

from plancheck.dose.course_sum import course_contributions
from plancheck.dose.field import Contribution, DoseField
from plancheck.dvh.metric import DoseQuantity
from plancheck.errors import MetricUndefinedError
from plancheck.evaluation import _DoseEngine
from plancheck.model import Dvh, Finding, PlanDose, Severity
from plancheck.protocol.evaluate import MetricRequest, ValueRange, ratio_range
from plancheck.protocol.matching import StructureMatch
from plancheck.reirradiation.load import Reirradiation

__all__ = ["ReirradiationEngine"]


class ReirradiationEngine(_DoseEngine):
    """The course engine with prior courses (see the module docstring)."""

    reirradiation: Reirradiation

    def bind_priors(self, reirradiation: Reirradiation) -> ReirradiationEngine:
        self.reirradiation = reirradiation
        return self

    def plans_for(self, request: MetricRequest) -> tuple[PlanDose, ...]:
        dose = request.dose or "current"
        current = super().plans_for(dataclasses.replace(request, dose=None))
        if dose == "current":
            return current
        if dose == "prior":
            return self.reirradiation.prior_plans
        if dose == "cumulative":
            return current + self.reirradiation.prior_plans
        raise MetricUndefinedError(request.metric.text, f"unknown dose {dose!r}")

    def dose(self, plans: tuple[PlanDose, ...], quantity: DoseQuantity) -> DoseField:
        key = (tuple(p.label for p in plans), quantity)
        if key not in self._doses:
            cumulative = any(self.reirradiation.prior_of(p) is None for p in plans)
            weight = self.reirradiation.request.prior_weight if cumulative else 1.0
            parts: list[Contribution] = []
            for plan in plans:
                prior = self.reirradiation.prior_of(plan)
                if prior is None:
                    parts.extend(course_contributions((plan,), quantity))
                    continue
                for c in course_contributions((plan,), quantity, prior.field_mapping):
                    parts.append(dataclasses.replace(c, weight=weight) if weight != 1.0 else c)
            self._doses[key] = DoseField(tuple(parts), quantity)
        return self._doses[key]

    def dvh(self, match: StructureMatch, plans: tuple[PlanDose, ...], quantity: DoseQuantity) -> Dvh:
        """The course engine's DVH, with a finding naming each prior plan whose grid falls short."""
        dvh = super().dvh(match, plans, quantity)
        prior_labels = [p.label for p in self.reirradiation.prior_plans]
        sources = dict(dvh.outside_grid_by_source_cc)
        if not sources and len(plans) == 1 and dvh.volume_outside_grid_cc > 0:
            sources = {plans[0].label: dvh.volume_outside_grid_cc}
        label = match.roi_label or match.structure
        for name, cc in sources.items():
            if cc > 1e-3 * max(dvh.volume_cc, 1e-9) and any(name.startswith(p) for p in prior_labels):
                self._add(
                    Finding(
                        Severity.WARNING,
                        "structure-outside-prior-dose-grid",
                        f"{cc:.2f} cc of {label!r} lies outside the dose grid of the prior plan {name!r} "
                        "(mapped through the registration): its prior dose there is unknown, so prior and "
                        "cumulative goals on it are decided only when they hold (or fail) whatever it is",
                    )
                )
        return dvh

    def __call__(self, request: MetricRequest) -> float | ValueRange:
        dose = request.dose or "current"
        if "/" not in dose:
            return super().__call__(request)
        top, bottom = dose.split("/", 1)
        a = _as_range(super().__call__(dataclasses.replace(request, dose=top)))
        b = _as_range(super().__call__(dataclasses.replace(request, dose=bottom)))
        if b[0] <= 0.0:
            raise MetricUndefinedError(
                request.metric.text,
                f"the ratio {dose} is undefined: the {bottom} value is {b[0]:.4g} (at most 0)",
            )
        low, high = ratio_range(a, b)
        if low == high:
            return low
        return ValueRange(low, high, f"the {top} or {bottom} value is known only as a range")


def _as_range(answer: float | ValueRange) -> tuple[float, float]:
    if isinstance(answer, ValueRange):
        return answer.low, answer.high
    return float(answer), float(answer)

