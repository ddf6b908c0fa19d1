"""RT Plan and RT Ion Plan: the header facts plancheck needs.

Label and name, fraction count (``NumberOfFractionsPlanned`` of the
FractionGroupSequence), prescriptions (``TargetPrescriptionDose`` of the
DoseReferenceSequence, Gy), approval status, the referenced structure set,
the frame of reference and the treatment beams (:func:`plan_from_dataset`).

:func:`plan_details_from_dataset` adds what linking and the plausibility
check use: each fraction group's beams and the dose they state
(``BeamDose``, ``BrachyApplicationSetupDose``: Gy per fraction), the
maximum doses of the DoseReferenceSequence, whether the plan is
brachytherapy, its intent, and its relationships to other plans
(``ReferencedRTPlanSequence`` with ``RTPlanRelationship``, PS3.3 C.8.8.9:
PRIOR, ALTERNATIVE, PREDECESSOR, VERIFIED_PLAN, CONCURRENT). Nothing about
the delivery (control points, MLC) is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.kinds import RT_ION_PLAN_STORAGE, RT_PLAN_STORAGE
from plancheck.errors import DicomReadError
from plancheck.model import DoseReference, Finding, Plan, Severity

__all__ = [
    "FractionGroup",
    "PlanDetails",
    "PlanRelation",
    "fraction_groups_from_dataset",
    "plan_details_from_dataset",
    "plan_from_dataset",
    "read_rtplan",
]

# DoseReferenceSequence attributes that state the most a plan allows somewhere (Gy)
_MAXIMUM_DOSES = ("DeliveryMaximumDose", "TargetMaximumDose", "OrganAtRiskMaximumDose")


@dataclass(frozen=True)
class FractionGroup:
    """One item of the FractionGroupSequence.

    ``beam_dose_gy`` is the sum of the ``BeamDose`` values of its beams and
    ``brachy_dose_gy`` the sum of its ``BrachyApplicationSetupDose`` values
    (Gy per fraction at their dose specification points); None when none is
    stated.
    """

    number: int | None
    n_fractions: int | None
    beam_numbers: tuple[int, ...]
    beam_dose_gy: float | None = None
    brachy_setup_numbers: tuple[int, ...] = ()
    brachy_dose_gy: float | None = None


@dataclass(frozen=True)
class PlanRelation:
    """An item of the RTPLAN's ReferencedRTPlanSequence: another plan and how it relates.

    ``relationship`` is the RTPlanRelationship as written (upper case; empty
    when absent): PRIOR, ALTERNATIVE, PREDECESSOR, VERIFIED_PLAN or
    CONCURRENT.
    """

    uid: str
    relationship: str


@dataclass(frozen=True)
class PlanDetails:
    """Header facts of a plan beyond :class:`~plancheck.model.Plan`."""

    groups: tuple[FractionGroup, ...]
    relations: tuple[PlanRelation, ...]
    intent: str | None
    is_brachy: bool
    maximum_doses_gy: tuple[float, ...]

    @property
    def stated_dose_gy(self) -> float | None:
        """Σ over fraction groups of fractions × (BeamDose or brachy setup dose), Gy; None if not stated."""
        total = 0.0
        stated = False
        for g in self.groups:
            per_fraction = g.brachy_dose_gy if self.is_brachy else g.beam_dose_gy
            if per_fraction is None or g.n_fractions is None:
                continue
            stated = True
            total += per_fraction * g.n_fractions
        return total if stated and total > 0 else None


def read_rtplan(path: Path) -> Plan:
    """Read an RT Plan or RT Ion Plan file.

    Raises
    ------
    DicomReadError
        When the file is not a readable RT (Ion) Plan.
    """
    path = Path(path)
    return plan_from_dataset(read_dataset(path), path=path)


def plan_from_dataset(ds: Dataset, *, path: Path | None = None) -> Plan:
    """The :class:`~plancheck.model.Plan` of an RT (Ion) Plan dataset."""
    path = dataset_path(ds, path)
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        plan = _plan(ds, path, notes)
    return replace(plan, findings=tuple(notes))


def fraction_groups_from_dataset(
    ds: Dataset, *, path: Path | None = None
) -> tuple[FractionGroup, ...]:
    """The plan's fraction groups: number, fraction count and the beams they deliver."""
    f = Fields(ds, dataset_path(ds, path), "RTPLAN")
    groups = []
    for k, item in enumerate(f.sequence("FractionGroupSequence")):
        g = f.item(item, f"RTPLAN FractionGroupSequence item {k + 1}")
        beams, beam_doses = _numbered(
            g, "ReferencedBeamSequence", "ReferencedBeamNumber", "BeamDose", f"{k + 1} beam"
        )
        setups, setup_doses = _numbered(
            g,
            "ReferencedBrachyApplicationSetupSequence",
            "ReferencedBrachyApplicationSetupNumber",
            "BrachyApplicationSetupDose",
            f"{k + 1} application setup",
        )
        n = g.integer("NumberOfFractionsPlanned")
        groups.append(
            FractionGroup(
                g.integer("FractionGroupNumber"),
                n if n is not None and n > 0 else None,
                beams,
                _dose_sum(beam_doses),
                setups,
                _dose_sum(setup_doses),
            )
        )
    return tuple(groups)


def _numbered(
    g: Fields, sequence: str, number_key: str, dose_key: str, what: str
) -> tuple[tuple[int, ...], list[float]]:
    """The item numbers of ``sequence`` and the finite doses its items state."""
    numbers: list[int] = []
    doses: list[float] = []
    for j, item in enumerate(g.sequence(sequence)):
        r = g.item(item, f"RTPLAN fraction group {what} {j + 1}")
        number = r.integer(number_key)
        if number is not None:
            numbers.append(number)
        dose = r.number(dose_key)
        if dose is not None and math.isfinite(dose):
            doses.append(dose)
    return tuple(numbers), doses


def _dose_sum(doses: list[float]) -> float | None:
    return float(sum(doses)) if doses else None


def plan_details_from_dataset(ds: Dataset, *, path: Path | None = None) -> PlanDetails:
    """Fraction groups, relationships, intent, brachytherapy and stated maximum doses of a plan."""
    path = dataset_path(ds, path)
    f = Fields(ds, path, "RTPLAN")
    relations = []
    for k, item in enumerate(f.sequence("ReferencedRTPlanSequence")):
        r = f.item(item, f"RTPLAN ReferencedRTPlanSequence item {k + 1}")
        uid = r.text("ReferencedSOPInstanceUID")
        if uid is not None:
            relations.append(PlanRelation(uid, r.upper("RTPlanRelationship") or ""))
    maxima = []
    for k, item in enumerate(f.sequence("DoseReferenceSequence")):
        r = f.item(item, f"RTPLAN DoseReferenceSequence item {k + 1}")
        for key in _MAXIMUM_DOSES:
            value = r.number(key)
            if value is not None and math.isfinite(value) and value > 0:
                maxima.append(value)
    groups = fraction_groups_from_dataset(ds, path=path)
    is_brachy = (
        f.has("BrachyTreatmentType")
        or bool(f.sequence("ApplicationSetupSequence"))
        or any(g.brachy_setup_numbers for g in groups)
    ) and not (f.sequence("BeamSequence") or f.sequence("IonBeamSequence"))
    return PlanDetails(
        groups=groups,
        relations=tuple(relations),
        intent=f.upper("PlanIntent"),
        is_brachy=is_brachy,
        maximum_doses_gy=tuple(maxima),
    )


def _plan(ds: Dataset, path: Path | None, notes: list[Finding]) -> Plan:
    f = Fields(ds, path, "RTPLAN")
    sop_class = f.text("SOPClassUID")
    if sop_class not in (RT_PLAN_STORAGE, RT_ION_PLAN_STORAGE, None):
        raise DicomReadError(
            f"is not an RT Plan or RT Ion Plan (SOP Class UID {sop_class})", path=path
        )
    is_ion = sop_class == RT_ION_PLAN_STORAGE or f.has("IonBeamSequence")
    f.what = "RT Ion Plan" if is_ion else "RT Plan"
    name = path.name if path is not None else "the plan"
    label = f.text("RTPlanLabel")
    if label is None:
        label = f.text("RTPlanName") or f.required_text("SOPInstanceUID")
        notes.append(
            _note(
                Severity.WARNING,
                "plan-without-label",
                f"{name} has no RTPlanLabel; it is called {label!r}",
                path,
            )
        )

    groups = fraction_groups_from_dataset(ds, path=path)
    counts = [g.n_fractions for g in groups]
    n_fractions: int | None
    if not groups or any(c is None for c in counts):
        n_fractions = None
        notes.append(
            _note(
                Severity.WARNING,
                "plan-without-fraction-count",
                f"plan {label!r} ({name}) states no NumberOfFractionsPlanned; per-fraction doses and "
                "EQD2/BED cannot be derived from it",
                path,
            )
        )
    else:
        n_fractions = sum(c for c in counts if c is not None)
        if len(groups) > 1:
            notes.append(
                _note(
                    Severity.WARNING,
                    "plan-with-several-fraction-groups",
                    f"plan {label!r} ({name}) has {len(groups)} fraction groups "
                    f"({' + '.join(str(c) for c in counts)} = {n_fractions} fractions); EQD2/BED "
                    "are computed only where the dose of each group is known",
                    path,
                )
            )

    references = tuple(
        _dose_reference(f, item, k, label, name, path, notes)
        for k, item in enumerate(f.sequence("DoseReferenceSequence"))
    )
    ss_refs = f.referenced_uids("ReferencedStructureSetSequence")
    beams_seq = "IonBeamSequence" if is_ion else "BeamSequence"
    beam_numbers = []
    for k, item in enumerate(f.sequence(beams_seq)):
        b = f.item(item, f"{f.what} {beams_seq} item {k + 1}")
        if b.upper("TreatmentDeliveryType") == "SETUP":
            continue
        number = b.integer("BeamNumber")
        if number is not None:
            beam_numbers.append(number)
    return Plan(
        path=path if path is not None else Path(""),
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        label=label,
        name=f.text("RTPlanName") or "",
        n_fractions=n_fractions,
        dose_references=references,
        approval_status=f.upper("ApprovalStatus"),
        referenced_structure_set_uid=ss_refs[0] if ss_refs else None,
        frame_of_reference_uid=f.text("FrameOfReferenceUID"),
        is_ion=is_ion,
        beam_numbers=tuple(beam_numbers),
        patient=f.patient(),
        findings=tuple(notes),
    )


def _dose_reference(
    f: Fields, item: Dataset, k: int, label: str, name: str, path: Path | None, notes: list[Finding]
) -> DoseReference:
    r = f.item(item, f"{f.what} DoseReferenceSequence item {k + 1}")
    dose = r.number("TargetPrescriptionDose")
    description = r.text("DoseReferenceDescription") or ""
    if dose is not None and not (math.isfinite(dose) and dose > 0):
        notes.append(
            _note(
                Severity.WARNING,
                "prescription-invalid",
                f"plan {label!r} ({name}): TargetPrescriptionDose {dose} of dose reference "
                f"{description or k + 1!r} is not a positive dose; ignored",
                path,
            )
        )
        dose = None
    return DoseReference(
        number=r.integer("DoseReferenceNumber"),
        description=description,
        dose_reference_type=r.upper("DoseReferenceType") or "",
        target_prescription_dose_gy=dose,
        roi_number=r.integer("ReferencedROINumber"),
    )


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
