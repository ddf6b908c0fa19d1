"""Evaluating a course against a protocol: the job behind ``plancheck evaluate``.

:func:`evaluate_course` wires the protocol layer to the dose engine. The
protocol layer asks for metric values (:class:`MetricRequest`); this module
answers them:

* the structure is the matched ROI, or built from ROIs for a derived one;
* the dose is the voxel-wise sum of the plans that deliver the request's
  dose level (``plans: [1]`` in the protocol, paired with the plans found),
  or of every plan of the course for constraints without a dose level, or
  the one plan chosen with ``plan_label``; biological units convert each plan
  with its own fraction count before the sum;
* relative metrics refer to the dose level's dose.

Each structure is rasterised once on the course grid and each dose
distribution summed once; DVHs are cached per (structure, plans, quantity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from plancheck.dose.course_sum import sum_course
from plancheck.dvh.end_caps import EndCapsChoice, end_caps_for_structure_set, end_caps_of_tps_dvh
from plancheck.dvh.engine import DvhSettings, StructureSampling, dvh_from_sampling, sample_structure
from plancheck.dvh.metric import PHYSICAL, DoseQuantity
from plancheck.dvh.values import metric_value
from plancheck.errors import CourseError, MetricUndefinedError
from plancheck.geometry.placement import place_structure_set
from plancheck.model import Course, DoseGrid, Dvh, EndCaps, Finding, PlanDose, Severity, Structure
from plancheck.protocol.derive import build_structure
from plancheck.protocol.evaluate import MetricRequest, ProtocolResult, evaluate_protocol
from plancheck.protocol.load import LoadedAliases, LoadedProtocol
from plancheck.protocol.matching import StructureMatch
from plancheck.protocol.selection import FoundPlan, compare_plans, pair_plans, select_protocol

__all__ = ["CourseEvaluation", "UsedDvh", "evaluate_course"]

# fewer dose voxels than this inside a structure: its DVH depends on the grid
_SMALL_STRUCTURE_VOXELS = 30.0


@dataclass(frozen=True, eq=False)
class UsedDvh:
    """A DVH the evaluation computed, kept for plots and cross-checks."""

    structure: str  # protocol structure name
    roi: str  # ROI name or derived expression
    roi_number: int
    quantity: DoseQuantity
    plans: tuple[str, ...]
    dvh: Dvh


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
    # the end-cap convention of the evaluation (settings.end_caps) and why; the
    # physical DVHs compared with the planning system's, in that system's convention
    end_caps: EndCapsChoice | None = None
    crosscheck_dvhs: tuple[UsedDvh, ...] = ()
    crosscheck_end_caps: EndCapsChoice | None = None

    @property
    def return_code(self) -> int:
        return self.result.return_code


def _found_plans(plans: Sequence[PlanDose]) -> list[FoundPlan]:
    found = []
    for p in plans:
        if p.plan is not None:
            found.append(FoundPlan.from_plan(p.plan))
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
        single_plan: bool,
    ) -> None:
        self.course = course
        self.plans = plans
        self.pairing = pairing
        self.settings = settings
        self.single_plan = single_plan
        self.grid = plans[0].dose
        self.rois = {s.name: s for s in course.structure_set.structures}
        # contours in the grid's frame, slabs on the structure set's plane lattice
        self.placement = place_structure_set(course.structure_set, self.grid)
        self._structures: dict[str, Structure] = {}
        self._samplings: dict[str, StructureSampling | None] = {}
        self._doses: dict[tuple[tuple[str, ...], DoseQuantity], DoseGrid] = {}
        self._dvhs: dict[tuple[str, tuple[str, ...], DoseQuantity], UsedDvh] = {}
        self.findings: list[Finding] = []
        self._noted: set[str] = set()

    def plans_for(self, request: MetricRequest) -> tuple[PlanDose, ...]:
        if self.single_plan or request.dose_level is None or not request.dose_level.plans:
            return self.plans
        labels = [self.pairing.get(n) for n in request.dose_level.plans]
        chosen = tuple(p for p in self.plans if p.label in labels)
        return chosen or self.plans

    def structure(self, match: StructureMatch) -> Structure:
        if match.key not in self._structures:
            built = build_structure(
                match, self.rois, self.settings.end_caps, self.placement.contour_lattice
            )
            self._structures[match.key] = self.placement.place(built)
        return self._structures[match.key]

    def dose(self, plans: tuple[PlanDose, ...], quantity: DoseQuantity) -> DoseGrid:
        key = (tuple(p.label for p in plans), quantity)
        if key not in self._doses:
            grid, notes = sum_course(plans, quantity, onto=self.grid)
            self._doses[key] = grid
            for f in notes:
                self._add(f)
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
            grid = self.dose(plans, quantity)
        except CourseError as exc:
            raise MetricUndefinedError(str(quantity), exc.message) from exc
        dvh = dvh_from_sampling(self._samplings[match.key], grid, self.settings)
        if quantity == PHYSICAL:
            self._note_outside(match, dvh)
        self._dvhs[key] = UsedDvh(
            match.structure, match.roi_label or match.structure, structure.roi_number, quantity, labels, dvh
        )
        return dvh

    def _note_geometry(self, match: StructureMatch, structure: Structure) -> None:
        for f in structure.findings:
            self._add(f)

    def _note_outside(self, match: StructureMatch, dvh: Dvh) -> None:
        label = match.roi_label or match.structure
        if dvh.volume_cc > 0 and dvh.volume_outside_grid_cc > 1e-3 * dvh.volume_cc:
            share = 100 * dvh.volume_outside_grid_cc / dvh.volume_cc
            self._add(
                Finding(
                    Severity.WARNING,
                    "structure-outside-dose-grid",
                    f"{dvh.volume_outside_grid_cc:.2f} cc ({share:.1f} %) of {label!r} lies outside "
                    "the dose grid; its metrics describe the part inside the grid only",
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

    def __call__(self, request: MetricRequest) -> float:
        plans = self.plans_for(request)
        dvh = self.dvh(request.structure, plans, request.metric.dose_quantity)
        return metric_value(request.metric, dvh, request.prescription_gy)

    def used(self) -> tuple[UsedDvh, ...]:
        return tuple(self._dvhs.values())

    def physical_dvhs_with(self, end_caps: EndCaps, roi_numbers: set[int]) -> tuple[UsedDvh, ...]:
        """The physical DVHs of the evaluated ROIs in ``roi_numbers``, with other end caps."""
        if end_caps is self.settings.end_caps:
            picked = [u for u in self.used() if u.quantity == PHYSICAL and u.roi_number in roi_numbers]
            return tuple({u.roi_number: u for u in reversed(picked)}.values())
        settings = replace(self.settings, end_caps=end_caps)
        rois = {s.roi_number: s for s in self.course.structure_set.structures}
        out: dict[int, UsedDvh] = {}
        for used in self.used():
            n = used.roi_number
            if used.quantity != PHYSICAL or n in out or n not in roi_numbers or n not in rois:
                continue
            sampling = sample_structure(
                self.placement.place(rois[n]),
                self.grid,
                settings,
                self.placement.nominal_spacing_mm,
                self.placement.lattice,
            )
            grid = self.dose(tuple(p for p in self.plans if p.label in used.plans), PHYSICAL)
            out[n] = replace(used, dvh=dvh_from_sampling(sampling, grid, settings))
        return tuple(out.values())


def evaluate_course(
    course: Course,
    protocol: LoadedProtocol | None = None,
    *,
    aliases: LoadedAliases | None = None,
    plan_label: str | None = None,
    settings: DvhSettings | None = None,
) -> CourseEvaluation:
    """Evaluate ``course`` (or its plan ``plan_label``) against ``protocol``.

    Without ``protocol`` the shipped protocol whose plans fit the course is
    chosen; none or several raise :class:`~plancheck.errors.ProtocolError`.
    """
    from plancheck.dvh_report import select_plans

    settings = settings or DvhSettings(end_caps=EndCaps.AUTO)
    caps = end_caps_for_structure_set(settings.end_caps, course.structure_set)
    settings = replace(settings, end_caps=caps.end_caps)
    plans = select_plans(course, plan_label)
    found = _found_plans(plans)
    roi_names = [s.name for s in course.structure_set.structures]
    findings: list[Finding] = [*course.findings, caps.finding()]
    if protocol is None:
        selection = select_protocol(found, roi_names=roi_names)
        protocol = selection.protocol
        reason = selection.reason
        pairings = selection.pairings
    else:
        reason = f"protocol {protocol.name!r} chosen by the user ({protocol.source})"
        pairings = pair_plans(protocol.protocol, found)
        findings.extend(compare_plans(protocol.protocol, found))
    pairing = {p.expected.number: p.found.label for p in pairings}
    engine = _DoseEngine(course, plans, pairing, settings, single_plan=plan_label is not None)
    result = evaluate_protocol(protocol, roi_names, engine, aliases=aliases)
    findings.extend(result.findings)
    findings.extend(engine.findings)
    crosscheck_dvhs, crosscheck_caps = _crosscheck_dvhs(engine, plans, caps)
    if crosscheck_caps is not None and crosscheck_caps.end_caps is not caps.end_caps:
        findings.append(crosscheck_caps.finding("the cross-check with the planning system's DVHs"))
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
        end_caps=caps,
        crosscheck_dvhs=crosscheck_dvhs,
        crosscheck_end_caps=crosscheck_caps,
    )


def _crosscheck_dvhs(
    engine: _DoseEngine, plans: tuple[PlanDose, ...], caps: EndCapsChoice
) -> tuple[tuple[UsedDvh, ...], EndCapsChoice | None]:
    """DVHs to compare with the planning system's stored ones, in that system's convention.

    One-plan courses only (the stored DVHs are of that plan's dose).
    """
    if len(plans) != 1 or not plans[0].tps_dvhs:
        return (), None
    tps = plans[0].tps_dvhs
    theirs = end_caps_of_tps_dvh(tps[0])
    numbers = {d.roi_number for d in tps}
    return engine.physical_dvhs_with(theirs.end_caps, numbers), theirs


def input_files(course: Course) -> list[dict[str, str]]:
    """Paths and SOP Instance UIDs of every input file (for provenance)."""
    ss = course.structure_set
    files = [{"path": str(ss.path), "sop_instance_uid": ss.sop_instance_uid, "modality": "RTSTRUCT"}]
    for p in course.plans:
        if p.plan is not None:
            files.append({"path": str(p.plan.path), "sop_instance_uid": p.plan.sop_instance_uid, "modality": "RTPLAN"})
        for uid in p.dose_uids:
            files.append({"path": "", "sop_instance_uid": uid, "modality": "RTDOSE"})
    return files
