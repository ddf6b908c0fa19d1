"""DVHs and metric values of every structure of a course: the data behind ``plancheck dvh``.

:func:`compute_dvh_report` takes a loaded :class:`~plancheck.model.Course`
and returns a :class:`DvhReport`: per structure its volume, the volume
outside the dose grid, the requested metrics (a value, or ``None`` with the
reason it is undefined), and the curves. Which dose is used:

* one plan: its total dose;
* a course: the sum of its plans, point by point where the DVH is sampled
  (physical, or EQD2/BED for biological units, each plan part converted with
  its own fraction count before the sum, :func:`~plancheck.dose.course_sum.course_field`),
  or one plan alone with ``plan_label``.

Structure volume where a dose is unknown (outside a plan's grid) is reported
for every dose quantity, and a finding names the plans whose grid fell short.

Relative metrics (``V95%``, ``[%]`` doses) refer to ``prescription_gy``;
without one, the sum of the plans' prescriptions when every plan states one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from plancheck.dose.course_sum import course_field
from plancheck.dose.field import DoseField
from plancheck.dvh.end_caps import EndCapsChoice, end_caps_for_structure_set
from plancheck.dvh.engine import DvhSettings, field_dvh, sample_structure
from plancheck.dvh.metric import PHYSICAL, DoseQuantity, Metric, parse_metric
from plancheck.dvh.values import metric_value
from plancheck.errors import CourseError, MetricUndefinedError
from plancheck.geometry.placement import place_structure_set
from plancheck.model import Course, Dvh, EndCaps, Finding, PlanDose, Severity, Structure

__all__ = [
    "DEFAULT_METRICS",
    "DvhReport",
    "MetricResult",
    "StructureResult",
    "compute_dvh_report",
    "metric_results",
    "nominal_spacing_mm",
    "outside_findings",
    "select_plans",
]

DEFAULT_METRICS: tuple[str, ...] = (
    "Volume[cc]",
    "Min[Gy]",
    "Mean[Gy]",
    "Max[Gy]",
    "D0.03cc[Gy]",
    "D2%[Gy]",
    "D50%[Gy]",
    "D95%[Gy]",
    "D98%[Gy]",
)

# a structure counts as partly outside the grid above this share of its volume
_OUTSIDE_SHARE = 1e-3


@dataclass(frozen=True)
class MetricResult:
    """One metric of one structure: a value, or None and the reason."""

    metric: str
    value: float | None
    unit: str
    reason: str | None = None


@dataclass(frozen=True, eq=False)
class StructureResult:
    roi_number: int
    name: str
    roi_type: str | None
    volume_cc: float
    volume_outside_grid_cc: float
    metrics: tuple[MetricResult, ...]
    dvhs: dict[DoseQuantity, Dvh] = field(default_factory=dict)

    def metric(self, text: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == text:
                return m
        raise KeyError(text)


@dataclass(frozen=True, eq=False)
class DvhReport:
    course: Course
    plans: tuple[PlanDose, ...]
    prescription_gy: float | None
    settings: DvhSettings
    structures: tuple[StructureResult, ...]
    findings: tuple[Finding, ...]
    # another engine's metrics per ROI number (plancheck dvh --engine dicompyler)
    comparison_engine: str | None = None
    comparison: dict[int, tuple[MetricResult, ...]] = field(default_factory=dict)
    # the end-cap convention used (settings.end_caps) and why
    end_caps: EndCapsChoice | None = None


def nominal_spacing_mm(course: Course) -> float | None:
    """Median distance between contour planes over the whole structure set."""
    diffs = [
        np.diff([p.z_mm for p in s.planes])
        for s in course.structure_set.structures
        if len(s.planes) > 1
    ]
    joined = np.concatenate(diffs) if diffs else np.zeros(0)
    joined = np.sort(joined[joined > 0])
    if joined.size == 0:
        return None
    mid = joined.size // 2
    return float(joined[mid]) if joined.size % 2 else float(0.5 * (joined[mid - 1] + joined[mid]))


def select_plans(course: Course, plan_label: str | None) -> tuple[PlanDose, ...]:
    """The plans whose dose is evaluated: all, or the one labelled ``plan_label``."""
    if plan_label is None:
        return course.plans
    chosen = tuple(p for p in course.plans if p.label == plan_label)
    if not chosen:
        labels = ", ".join(repr(p.label) for p in course.plans)
        raise CourseError(
            f"no plan labelled {plan_label!r} in this course",
            hint=f"Plans found: {labels}.",
        )
    return chosen


def _course_prescription(plans: Sequence[PlanDose]) -> float | None:
    doses = [p.plan.prescription_gy if p.plan is not None else None for p in plans]
    if not doses or any(d is None for d in doses):
        return None
    return float(sum(d for d in doses if d is not None))


def compute_dvh_report(
    course: Course,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    structure_names: Sequence[str] | None = None,
    plan_label: str | None = None,
    prescription_gy: float | None = None,
    settings: DvhSettings | None = None,
) -> DvhReport:
    """Compute DVHs and metrics for the structures of ``course``.

    Raises
    ------
    MetricSyntaxError
        When a metric string is not valid TG-263 (before any computation).
    CourseError
        When a named structure or plan does not exist.
    """
    settings = settings or DvhSettings(end_caps=EndCaps.AUTO)
    caps = end_caps_for_structure_set(settings.end_caps, course.structure_set)
    settings = replace(settings, end_caps=caps.end_caps)
    parsed: list[Metric] = [parse_metric(m) for m in metrics]
    plans = select_plans(course, plan_label)
    if prescription_gy is None:
        prescription_gy = _course_prescription(plans)
    structures = _select_structures(course, structure_names)
    findings: list[Finding] = [caps.finding()]
    fields: dict[DoseQuantity, DoseField] = {}
    field_errors: dict[DoseQuantity, str] = {}
    quantities = [PHYSICAL] + [m.dose_quantity for m in parsed if m.dose_quantity != PHYSICAL]
    for q in dict.fromkeys(quantities):
        try:
            fields[q] = course_field(plans, q)
        except CourseError as exc:
            field_errors[q] = exc.message
    results = []
    geometry = plans[0].dose
    # contours in the grid's frame, slabs on the structure set's plane lattice
    placement = place_structure_set(course.structure_set, geometry)
    for structure in structures:
        sampling = sample_structure(
            placement.place(structure),
            geometry,
            settings,
            placement.nominal_spacing_mm,
            placement.lattice,
        )
        dvhs = {q: field_dvh(sampling, f, settings) for q, f in fields.items()}
        physical = dvhs[PHYSICAL]
        values = metric_results(parsed, dvhs, prescription_gy, field_errors)
        outside = physical.volume_outside_grid_cc
        findings.extend(outside_findings(f"ROI {structure.name!r}", dvhs))
        if not structure.has_volume:
            findings.append(
                Finding(
                    Severity.INFO,
                    "structure-without-volume",
                    f"ROI {structure.name!r} (#{structure.roi_number}) has no closed planar "
                    "contours: it has no volume",
                )
            )
        findings.extend(structure.findings)
        results.append(
            StructureResult(
                roi_number=structure.roi_number,
                name=structure.name,
                roi_type=structure.roi_type,
                volume_cc=physical.volume_cc,
                volume_outside_grid_cc=outside,
                metrics=tuple(values),
                dvhs=dvhs,
            )
        )
    return DvhReport(
        course=course,
        plans=plans,
        prescription_gy=prescription_gy,
        settings=settings,
        structures=tuple(results),
        findings=tuple(course.findings) + tuple(findings),
        end_caps=caps,
    )


def outside_findings(label: str, dvhs: dict[DoseQuantity, Dvh]) -> list[Finding]:
    """A finding when part of a structure has no known dose, in any quantity, naming the grids.

    ``label`` names the structure ("ROI 'PTV'"). One finding per structure:
    the largest unknown volume over the quantities, with the plans (or plan
    parts) whose grid did not reach it.
    """
    worst = max(dvhs.values(), key=lambda d: d.volume_outside_grid_cc, default=None)
    if worst is None or worst.volume_cc <= 0 or worst.volume_outside_grid_cc <= _OUTSIDE_SHARE * worst.volume_cc:
        return []
    outside = worst.volume_outside_grid_cc
    share = 100 * outside / worst.volume_cc
    sources: dict[str, float] = {}
    for d in dvhs.values():
        for name, cc in d.outside_grid_by_source_cc:
            sources[name] = max(sources.get(name, 0.0), cc)
    named = ""
    if len(sources) > 1:
        named = " (" + "; ".join(f"{cc:.2f} cc beyond the grid of {name!r}" for name, cc in sources.items()) + ")"
    return [
        Finding(
            Severity.WARNING,
            "structure-outside-dose-grid",
            f"{outside:.2f} cc ({share:.1f} %) of {label} lies outside the dose grid{named}; its dose "
            "metrics describe the part inside the grid only",
        )
    ]


def metric_results(
    metrics: Sequence[Metric],
    dvhs: dict[DoseQuantity, Dvh],
    prescription_gy: float | None,
    missing: dict[DoseQuantity, str] | None = None,
) -> tuple[MetricResult, ...]:
    """Every metric read off the DVH of its dose quantity; undefined ones with their reason."""
    values = []
    for m in metrics:
        q = m.dose_quantity
        if q not in dvhs:
            why = (missing or {}).get(q, f"no {q} DVH was computed")
            values.append(MetricResult(m.text, None, m.unit_label, why))
            continue
        try:
            values.append(MetricResult(m.text, metric_value(m, dvhs[q], prescription_gy), m.unit_label))
        except MetricUndefinedError as exc:
            values.append(MetricResult(m.text, None, m.unit_label, exc.reason))
    return tuple(values)


def _select_structures(course: Course, names: Sequence[str] | None) -> list[Structure]:
    all_structures = list(course.structure_set.structures)
    if not names:
        return all_structures
    by_name = {s.name: s for s in all_structures}
    folded = {s.name.casefold(): s for s in all_structures}
    chosen = []
    for name in names:
        s = by_name.get(name) or folded.get(name.casefold())
        if s is None:
            available = ", ".join(repr(x.name) for x in all_structures)
            raise CourseError(
                f"no ROI named {name!r} in structure set {course.structure_set.label!r}",
                path=course.structure_set.path,
                hint=f"ROIs: {available}.",
            )
        chosen.append(s)
    return chosen
