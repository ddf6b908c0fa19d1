"""Evaluating a course against a protocol: the job behind ``plancheck evaluate``.

:func:`evaluate_course` wires the protocol layer to the dose engine. The
protocol layer asks for metric values (:class:`MetricRequest`); this module
answers them:

* the structure is the matched ROI, or built from ROIs for a derived one;
* the dose is the sum of the plans that deliver the request's dose level
  (``plans: [1]`` in the protocol, paired with the plans found), or of every
  plan of the course for constraints without a dose level, or the one plan
  chosen with ``plan_label``, evaluated point by point where the DVH is
  sampled (:func:`~plancheck.dose.course_sum.course_field`); biological units
  convert each plan part with its own fraction count before the sum;
* relative metrics refer to the dose level's dose.

Each structure is sampled once on the course grid (the first plan's) and
each dose field built once; DVHs are cached per (structure, plans, quantity).

What the input cannot support is never a number: a structure that lost
contours while it was read (open, tilted, zero-area contours, too few points)
is not evaluated, with the planes lost; a structure partly outside the dose
grid, or outside the grid of one of the summed plans, is answered with the
range its metrics can take (:mod:`plancheck.dvh.bounds`), so that only goals
met or missed whatever that part receives are decided. The planning system's
stored DVHs are compared with plancheck's physical DVHs of the structures the
protocol reads (:mod:`plancheck.dvh.crosscheck`), and the verdict
(:mod:`plancheck.verdict`) weighs the constraints' outcomes, the input's
findings, the plans' fit to the protocol and the cross-check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from plancheck.dose.course_sum import course_field
from plancheck.dose.field import DoseField
from plancheck.dvh.bounds import UNKNOWN_VOLUME_CC, metric_range
from plancheck.dvh.crosscheck import (
    CrossCheckRow,
    ScaleEstimate,
    compare_with_tps,
    consistent_scale,
)
from plancheck.dvh.end_caps import EndCapsChoice, end_caps_for_structure_set, end_caps_of_tps_dvh
from plancheck.dvh.engine import (
    DvhSettings,
    StructureSampling,
    dvh_from_sampling,
    field_dvh,
    sample_structure,
)
from plancheck.dvh.metric import PHYSICAL, DoseQuantity
from plancheck.errors import CourseError, MetricUndefinedError
from plancheck.geometry.placement import place_structure_set
from plancheck.model import Course, Dvh, EndCaps, Finding, PlanDose, Severity, Structure
from plancheck.protocol.derive import build_structure
from plancheck.protocol.evaluate import MetricRequest, ProtocolResult, ValueRange, evaluate_protocol
from plancheck.protocol.expressions import operand_names
from plancheck.protocol.load import LoadedAliases, LoadedProtocol
from plancheck.protocol.matching import StructureMatch
from plancheck.protocol.outcome import ConstraintOutcome
from plancheck.protocol.selection import (
    FoundPlan,
    Mismatch,
    pair_plans,
    plan_mismatches,
    select_protocol,
)
from plancheck.verdict import Verdict, decide_verdict

if TYPE_CHECKING:
    from plancheck.reirradiation.load import Reirradiation

__all__ = ["CourseEvaluation", "CrossCheck", "UsedDvh", "evaluate_course", "lost_contour_findings"]

# fewer dose voxels than this inside a structure: its DVH depends on the grid
_SMALL_STRUCTURE_VOXELS = 30.0

# structure findings that mean contours were dropped while the ROI was read
LOST_CONTOUR_CODES = frozenset(
    {
        "contour-too-few-points",
        "contour-tilted",
        "contour-without-area",
        "contour-malformed",
        "contour-open-planar",
        "roi-non-closed-contours",
    }
)
# contour findings that say how a contour was read, not that it was lost
_READ_CONTOUR_CODES = frozenset({"contour-without-type", "contour-closed-leniently"})


def lost_contour_findings(structure: Structure) -> tuple[Finding, ...]:
    """The findings of ``structure`` that say contours were dropped while it was read.

    The reader's codes for skipped contours, any other warning about a contour
    (``contour-*``) except those that say how a contour was read, and any
    finding about open (non-closed) contours of the ROI.
    """
    return tuple(
        f
        for f in structure.findings
        if f.code in LOST_CONTOUR_CODES
        or (
            f.code not in _READ_CONTOUR_CODES
            and (f.code.startswith("contour-") or "open" in f.code or "non-closed" in f.code)
            and f.severity in (Severity.WARNING, Severity.ERROR)
        )
    )


@dataclass(frozen=True, eq=False)
class UsedDvh:
    """A DVH the evaluation computed, kept for plots and cross-checks."""

    structure: str  # protocol structure name
    roi: str  # ROI name or derived expression
    roi_number: int
    quantity: DoseQuantity
    plans: tuple[str, ...]
    dvh: Dvh


@dataclass(frozen=True)
class CrossCheck:
    """plancheck's physical DVH of one ROI against the one the planning system stored for a plan."""

    roi: str
    roi_number: int
    plan: str
    rows: tuple[CrossCheckRow, ...]

    @property
    def disagreements(self) -> tuple[CrossCheckRow, ...]:
        return tuple(r for r in self.rows if r.within is False)


@dataclass(frozen=True, eq=False)
class CourseEvaluation:
    course: Course
    plans: tuple[PlanDose, ...]
    protocol: LoadedProtocol
    selection: str
    result: ProtocolResult
    dvhs: tuple[UsedDvh, ...]
    findings: tuple[Finding, ...]
    settings: DvhSettings
    plan_label: str | None = None
    pairing: dict[int, str] = field(default_factory=dict)
    mismatches: tuple[Mismatch, ...] = ()
    accept_mismatch: bool = False
    crosschecks: tuple[CrossCheck, ...] = ()
    scale: ScaleEstimate | None = None
    verdict: Verdict | None = None
    # the end-cap convention of the evaluation (settings.end_caps) and why; the
    # physical DVHs compared with the planning system's, in that system's convention
    end_caps: EndCapsChoice | None = None
    crosscheck_dvhs: tuple[UsedDvh, ...] = ()
    crosscheck_end_caps: EndCapsChoice | None = None
    # re-irradiation (--prior): a plancheck.reirradiation.evaluate.ReirradiationSummary
    reirradiation: Any = None

    @property
    def return_code(self) -> int:
        return self.verdict.exit_code if self.verdict is not None else self.result.return_code

    @property
    def crosscheck_warnings(self) -> tuple[str, ...]:
        """What the cross-check with the planning system's DVHs says in the verdict line."""
        return _crosscheck_warnings(self.crosschecks, self.scale)


def _group_fractions(p: PlanDose) -> tuple[int | None, ...]:
    parts = p.parts
    if parts is not None and len(parts) > 1:
        return tuple(part.n_fractions for part in parts)
    return ()


def _found_plans(plans: Sequence[PlanDose]) -> list[FoundPlan]:
    found = []
    for p in plans:
        if p.plan is not None:
            found.append(FoundPlan.from_plan(p.plan, _group_fractions(p)))
        else:
            found.append(FoundPlan(p.label, p.n_fractions, ()))  # a dose without its plan: --fractions
    return found


class _DoseEngine:
    """Answers metric requests for one course, with caches."""

    def __init__(
        self,
        course: Course,
        plans: tuple[PlanDose, ...],
        pairing: dict[int, str],
        settings: DvhSettings,
    ) -> None:
        self.course = course
        self.plans = plans
        self.pairing = pairing
        self.settings = settings
        self.grid = plans[0].dose
        self.rois = {s.name: s for s in course.structure_set.structures}
        # contours in the grid's frame, slabs on the structure set's plane lattice
        self.placement = place_structure_set(course.structure_set, self.grid)
        self._structures: dict[str, Structure] = {}
        self._samplings: dict[str, StructureSampling | None] = {}
        self._doses: dict[tuple[tuple[str, ...], DoseQuantity], DoseField] = {}
        self._dvhs: dict[tuple[str, tuple[str, ...], DoseQuantity], UsedDvh] = {}
        self.findings: list[Finding] = []
        self._noted: set[str] = set()

    def plans_for(self, request: MetricRequest) -> tuple[PlanDose, ...]:
        """The plans whose dose a request reads: its dose level's plans, or all.

        Raises
        ------
        MetricUndefinedError
            When a plan of the dose level was paired with no plan of the course, or
            the request reads a prior or cumulative dose (no prior course here).
        """
        if request.dose not in (None, "current"):
            raise MetricUndefinedError(
                request.metric.text,
                f"the constraint reads the {request.dose} dose and no prior course was given "
                "(plancheck evaluate CURRENT_DIR --prior PRIOR_DIR)",
            )
        if request.dose_level is None or not request.dose_level.plans:
            return self.plans
        level = request.dose_level
        labels = [self.pairing.get(n) for n in level.plans]
        unpaired = [n for n, label in zip(level.plans, labels, strict=True) if label is None]
        if unpaired:
            listed = ", ".join(str(n) for n in unpaired)
            raise MetricUndefinedError(
                request.metric.text,
                f"dose level {level.id!r} is delivered by protocol plan(s) {listed}, which no plan of "
                "the course was paired with",
            )
        chosen = tuple(p for p in self.plans if p.label in labels)
        if not chosen:
            raise MetricUndefinedError(
                request.metric.text, f"no plan of the course delivers dose level {level.id!r}"
            )
        return chosen

    def structure(self, match: StructureMatch) -> Structure:
        if match.key not in self._structures:
            built = build_structure(
                match, self.rois, self.settings.end_caps, self.placement.contour_lattice
            )
            self._structures[match.key] = self.placement.place(built)
        return self._structures[match.key]

    def dose(self, plans: tuple[PlanDose, ...], quantity: DoseQuantity) -> DoseField:
        key = (tuple(p.label for p in plans), quantity)
        if key not in self._doses:
            self._doses[key] = course_field(plans, quantity)
        return self._doses[key]

    def dvh(self, match: StructureMatch, plans: tuple[PlanDose, ...], quantity: DoseQuantity) -> Dvh:
        labels = tuple(p.label for p in plans)
        key = (match.key, labels, quantity)
        if key in self._dvhs:
            return self._dvhs[key].dvh
        structure = self.structure(match)
        if match.key not in self._samplings:
            self._samplings[match.key] = sample_structure(
                structure,
                self.grid,
                self.settings,
                self.placement.nominal_spacing_mm,
                self.placement.lattice,
            )
            self._note_geometry(match, structure)
        try:
            fld = self.dose(plans, quantity)
        except CourseError as exc:
            raise MetricUndefinedError(str(quantity), exc.message) from exc
        dvh = field_dvh(self._samplings[match.key], fld, self.settings)
        self._note_outside(match, dvh)
        self._dvhs[key] = UsedDvh(
            match.structure, match.roi_label or match.structure, structure.roi_number, quantity, labels, dvh
        )
        return dvh

    def _note_geometry(self, match: StructureMatch, structure: Structure) -> None:
        for f in structure.findings:
            self._add(f)

    def _note_outside(self, match: StructureMatch, dvh: Dvh) -> None:
        """Findings for every dose quantity: volume with no known dose, and a small structure."""
        label = match.roi_label or match.structure
        if dvh.volume_cc > 0 and dvh.volume_outside_grid_cc > 1e-3 * dvh.volume_cc:
            share = 100 * dvh.volume_outside_grid_cc / dvh.volume_cc
            named = ""
            if len(dvh.outside_grid_by_source_cc) > 1:
                named = " (" + "; ".join(
                    f"{cc:.2f} cc beyond the grid of {name!r}" for name, cc in dvh.outside_grid_by_source_cc
                ) + ")"
            self._add(
                Finding(
                    Severity.WARNING,
                    "structure-outside-dose-grid",
                    f"{dvh.volume_outside_grid_cc:.2f} cc ({share:.1f} %) of {label!r} lies outside "
                    f"the dose grid{named}, where its dose is unknown: a goal on it is decided only when it "
                    "holds (or fails) whatever that part receives",
                )
            )
        dz, dy, dx = self.grid.spacing_mm
        voxel_cc = max(dx * dy * max(dz, 1e-9), 1e-9) / 1000.0
        if 0 < dvh.volume_in_grid_cc < _SMALL_STRUCTURE_VOXELS * voxel_cc:
            n = dvh.volume_in_grid_cc / voxel_cc
            self._add(
                Finding(
                    Severity.INFO,
                    "small-structure-coarse-grid",
                    f"{label!r} ({dvh.volume_in_grid_cc:.2f} cc) spans only {n:.0f} dose voxels of "
                    f"{dx:g} x {dy:g} x {dz:g} mm; its near-point metrics depend on the grid",
                )
            )

    def _add(self, f: Finding) -> None:
        if f.message not in self._noted:
            self._noted.add(f.message)
            self.findings.append(f)

    def lost_contours(self, match: StructureMatch) -> tuple[str, tuple[Finding, ...]] | None:
        """The ROI (of ``match`` or one it is derived from) that lost contours in reading, if any."""
        if match.roi_name is not None:
            names: tuple[str, ...] = (match.roi_name,)
        elif match.derived is not None:
            names = operand_names(match.derived.expression)
        else:
            return None
        for name in names:
            roi = self.rois.get(name)
            if roi is None:
                continue
            lost = lost_contour_findings(roi)
            if lost:
                return name, lost
        return None

    def __call__(self, request: MetricRequest) -> float | ValueRange:
        match = request.structure
        lost = self.lost_contours(match)
        if lost is not None:
            name, findings = lost
            what = "; ".join(f.message for f in findings)
            derived = "" if match.roi_name == name else f" (it is derived from ROI {name!r})"
            raise MetricUndefinedError(
                request.metric.text,
                f"ROI {name!r} lost contours while it was read{derived}, so its volume is not the "
                f"one contoured: {what}. Fix the contours and export again (or read open contours "
                "as closed with --lenient)",
            )
        plans = self.plans_for(request)
        dvh = self.dvh(match, plans, request.metric.dose_quantity)
        low, high = metric_range(request.metric, dvh, request.prescription_gy)
        if low == high:
            return low
        label = match.roi_label or match.structure
        why = []
        if dvh.volume_outside_grid_cc > UNKNOWN_VOLUME_CC:
            share = 100 * dvh.volume_outside_grid_cc / dvh.volume_cc if dvh.volume_cc > 0 else 100.0
            where = "the dose grid"
            if len(plans) > 1 and dvh.outside_grid_by_source_cc:
                # name the plans whose grid fell short: the sum lacks their dose there
                where = "; ".join(
                    f"the dose grid of plan {name!r} ({cc:.2f} cc)" for name, cc in dvh.outside_grid_by_source_cc
                )
            why.append(f"{dvh.volume_outside_grid_cc:.2f} cc ({share:.1f} %) of {label!r} lies outside {where}")
        return ValueRange(low, high, "; ".join(why) or f"part of {label!r} has no known dose")

    def used(self) -> tuple[UsedDvh, ...]:
        return tuple(self._dvhs.values())

    def physical_dvh_with(
        self, match: StructureMatch, plans: tuple[PlanDose, ...], end_caps: EndCaps
    ) -> Dvh:
        """The physical DVH of a matched ROI with another end-cap convention (for the cross-check)."""
        if end_caps is self.settings.end_caps:
            return self.dvh(match, plans, PHYSICAL)
        assert match.roi_name is not None
        settings = replace(self.settings, end_caps=end_caps)
        sampling = sample_structure(
            self.placement.place(self.rois[match.roi_name]),
            self.grid,
            settings,
            self.placement.nominal_spacing_mm,
            self.placement.lattice,
        )
        return dvh_from_sampling(sampling, self.dose(plans, PHYSICAL), settings)


def evaluate_course(
    course: Course,
    protocol: LoadedProtocol | None = None,
    *,
    aliases: LoadedAliases | None = None,
    plan_label: str | None = None,
    settings: DvhSettings | None = None,
    accept_mismatch: bool = False,
    priors: Reirradiation | None = None,
) -> CourseEvaluation:
    """Evaluate ``course`` (or its plan ``plan_label``) against ``protocol``.

    Without ``protocol`` the shipped protocol whose plans fit the course is
    chosen from the prescriptions the plans state; plans without one, or none
    or several fitting protocols, raise :class:`~plancheck.errors.ProtocolError`.
    With ``accept_mismatch`` the user accepts plans that do not fit the chosen
    protocol (recorded in the verdict); otherwise such a course is not evaluable.
    ``priors`` (re-irradiation) are prior courses registered to this one
    (:func:`plancheck.reirradiation.load.load_priors`): constraints on the
    prior and cumulative dose, and the interval, are graded with them
    (:mod:`plancheck.reirradiation.evaluate`).
    """
    from plancheck.dvh_report import select_plans
    from plancheck.reirradiation import evaluate as reirr

    settings = settings or DvhSettings(end_caps=EndCaps.AUTO)
    caps = end_caps_for_structure_set(settings.end_caps, course.structure_set)
    settings = replace(settings, end_caps=caps.end_caps)
    plans = select_plans(course, plan_label)
    found = _found_plans(plans)
    roi_names = [s.name for s in course.structure_set.structures]
    findings: list[Finding] = [*course.findings, caps.finding()]
    if priors is not None:
        findings.extend(priors.findings)
    if protocol is None:
        selection = select_protocol(
            found, reirr.candidate_protocols(priors is not None), roi_names=roi_names
        )
        protocol = selection.protocol
        reason = selection.reason
        pairings = selection.pairings
    else:
        reason = f"protocol {protocol.name!r} chosen by the user ({protocol.source})"
        pairings = pair_plans(protocol.protocol, found)
    mismatches = plan_mismatches(protocol.protocol, found)
    findings.extend(m.finding() for m in mismatches)
    pairing = {p.expected.number: p.found.label for p in pairings}
    engine: _DoseEngine
    if priors is None:
        engine = _DoseEngine(course, plans, pairing, settings)
    else:
        engine = reirr.make_engine(course, plans, pairing, settings, priors)
    result = evaluate_protocol(protocol, roi_names, engine, aliases=aliases)
    result = reirr.with_interval(result, reirr.interval_outcomes(protocol, priors))
    summary = (
        reirr.reirradiation_summary(engine, result, protocol)
        if isinstance(engine, reirr.ReirradiationEngine)
        else None
    )
    result = dataclasses.replace(
        result, outcomes=tuple(_with_plans(o, protocol, pairing, plans, plan_label) for o in result.outcomes)
    )
    result = reirr.with_prior_plans(result, protocol, priors)
    crosschecks, crosscheck_dvhs, crosscheck_caps = _crosscheck(engine, result, plans)
    scale = _scale(crosschecks)
    findings.extend(result.findings)
    findings.extend(engine.findings)
    if crosscheck_caps is not None and crosscheck_caps.end_caps is not caps.end_caps:
        findings.append(crosscheck_caps.finding("the cross-check with the planning system's DVHs"))
    warnings = _crosscheck_warnings(crosschecks, scale)
    if warnings:
        findings.extend(Finding(Severity.WARNING, "tps-dvh-disagreement", w) for w in warnings)
    if plan_label is not None and len(course.plans) > 1:
        others = ", ".join(repr(p.label) for p in course.plans if p.label != plan_label)
        part = (
            f"only plan {plan_label!r} of the course was evaluated (--plan): the dose of {others} "
            "to the organs at risk is not included"
        )
        findings.append(Finding(Severity.WARNING, "course-part-evaluated", part))
        warnings = (*warnings, part)
    if priors is not None and not protocol.protocol.is_reirradiation:
        # the user gave prior courses, but the protocol grades no cumulative dose: never a plain PASS
        ignored = (
            f"prior courses were given (--prior) but protocol {protocol.name!r} grades no prior or "
            "cumulative dose: the prior courses' dose to the organs is not checked (choose a "
            "re-irradiation protocol)"
        )
        findings.append(Finding(Severity.WARNING, "prior-dose-not-graded", ignored))
        warnings = (*warnings, ignored)
    # plans of the course left out with --plan: the verdict says so (never a plain PASS)
    left_out = [f.message for f in findings if f.code == "course-part-evaluated" and f.message not in warnings]
    warnings = (*warnings, *left_out)
    verdict = decide_verdict(
        result, findings, mismatches, accept_mismatch=accept_mismatch, warnings=warnings
    )
    return CourseEvaluation(
        course=course,
        plans=plans,
        protocol=protocol,
        selection=reason,
        result=result,
        dvhs=engine.used(),
        findings=tuple(findings),
        settings=settings,
        plan_label=plan_label,
        pairing=pairing,
        mismatches=mismatches,
        accept_mismatch=accept_mismatch,
        crosschecks=crosschecks,
        scale=scale,
        verdict=verdict,
        end_caps=caps,
        crosscheck_dvhs=crosscheck_dvhs,
        crosscheck_end_caps=crosscheck_caps,
        reirradiation=summary,
    )


def _with_plans(
    outcome: ConstraintOutcome,
    protocol: LoadedProtocol,
    pairing: dict[int, str],
    plans: tuple[PlanDose, ...],
    plan_label: str | None,
) -> ConstraintOutcome:
    """The outcome with the labels of the plans whose dose its value uses."""
    labels = tuple(p.label for p in plans)
    if plan_label is None and outcome.dose_level is not None:
        level = protocol.protocol.dose_level(outcome.dose_level)
        paired = tuple(pairing[n] for n in level.plans if n in pairing)
        if paired:
            labels = tuple(label for label in labels if label in paired)
    return dataclasses.replace(outcome, plans=labels)


def _crosscheck(
    engine: _DoseEngine, result: ProtocolResult, plans: tuple[PlanDose, ...]
) -> tuple[tuple[CrossCheck, ...], tuple[UsedDvh, ...], EndCapsChoice | None]:
    """plancheck's physical DVH of each ROI the protocol reads against the TPS's stored one.

    Every plan of the course that carries stored DVHs and lies on the course
    grid is compared on its own dose, with the end-cap convention of the
    system that stored the DVHs; structures graded only in EQD2/BED are
    compared on their physical DVH.
    """
    out: list[CrossCheck] = []
    dvhs: list[UsedDvh] = []
    theirs: EndCapsChoice | None = None
    used: dict[str, StructureMatch] = {}
    for m in result.matches:
        if m.usable and m.roi_name is not None:
            used.setdefault(m.roi_name, m)
    for plan in plans:
        if not plan.tps_dvhs or not plan.dose.same_points_as(engine.grid, 1e-3):
            continue
        caps = end_caps_of_tps_dvh(plan.tps_dvhs[0])
        theirs = theirs or caps
        stored = {d.roi_number: d for d in plan.tps_dvhs}
        for match in used.values():
            assert match.roi_name is not None
            roi = engine.rois.get(match.roi_name)
            if roi is None or roi.roi_number not in stored or engine.lost_contours(match) is not None:
                continue
            try:
                dvh = engine.physical_dvh_with(match, (plan,), caps.end_caps)
            except MetricUndefinedError:
                continue
            rows = compare_with_tps(dvh, stored[roi.roi_number])
            out.append(CrossCheck(match.roi_name, roi.roi_number, plan.label, rows))
            dvhs.append(UsedDvh(match.structure, match.roi_name, roi.roi_number, PHYSICAL, (plan.label,), dvh))
    return tuple(out), tuple(dvhs), theirs


def _scale(crosschecks: Sequence[CrossCheck]) -> ScaleEstimate | None:
    """A dose factor between plancheck and the planning system shared by the structures of a plan."""
    for plan in dict.fromkeys(c.plan for c in crosschecks):
        estimate = consistent_scale({c.roi: c.rows for c in crosschecks if c.plan == plan})
        if estimate is not None:
            return estimate
    return None


def _crosscheck_warnings(
    crosschecks: Sequence[CrossCheck], scale: ScaleEstimate | None
) -> tuple[str, ...]:
    off = [c for c in crosschecks if c.disagreements]
    if not off:
        return ()
    n_values = sum(len(c.disagreements) for c in off)
    n_all = sum(1 for c in crosschecks for r in c.rows if r.within is not None)
    listed = "; ".join(
        f"{c.roi} ({', '.join(r.metric for r in c.disagreements)})" for c in off[:6]
    ) + (f"; and {len(off) - 6} more" if len(off) > 6 else "")
    text = (
        f"plancheck's DVHs disagree with the planning system's stored DVHs beyond tolerance in "
        f"{n_values} of {n_all} values: {listed}"
    )
    return (text, scale.describe()) if scale is not None else (text,)
