"""RT Plan and RT Ion Plan: the header facts plancheck needs.

Label and name, fraction count (``NumberOfFractionsPlanned`` of the
FractionGroupSequence), prescriptions (``TargetPrescriptionDose`` of the
DoseReferenceSequence, Gy), approval status, the referenced structure set,
the frame of reference and the treatment beams. Nothing about the delivery
(control points, MLC) is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.identity import source_from_dataset
from plancheck.dicom.kinds import RT_ION_PLAN_STORAGE, RT_PLAN_STORAGE
from plancheck.errors import DicomReadError
from plancheck.model import DoseReference, Finding, Plan, Severity

__all__ = ["FractionGroup", "fraction_groups_from_dataset", "plan_from_dataset", "read_rtplan"]


@dataclass(frozen=True)
class FractionGroup:
    """One item of the FractionGroupSequence."""

    number: int | None
    n_fractions: int | None
    beam_numbers: tuple[int, ...]


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
    return replace(plan, findings=tuple(notes), source=source_from_dataset(ds))


def fraction_groups_from_dataset(
    ds: Dataset, *, path: Path | None = None
) -> tuple[FractionGroup, ...]:
    """The plan's fraction groups: number, fraction count and the beams they deliver."""
    f = Fields(ds, dataset_path(ds, path), "RTPLAN")
    groups = []
    for k, item in enumerate(f.sequence("FractionGroupSequence")):
        g = f.item(item, f"RTPLAN FractionGroupSequence item {k + 1}")
        beams = []
        for j, b in enumerate(g.sequence("ReferencedBeamSequence")):
            number = g.item(b, f"RTPLAN fraction group {k + 1} beam {j + 1}").integer(
                "ReferencedBeamNumber"
            )
            if number is not None:
                beams.append(number)
        n = g.integer("NumberOfFractionsPlanned")
        groups.append(
            FractionGroup(
                g.integer("FractionGroupNumber"),
                n if n is not None and n > 0 else None,
                tuple(beams),
            )
        )
    return tuple(groups)


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
                    f"plan {label!r} ({name}) has {len(groups)} fraction groups ({counts} fractions); its "
                    f"fraction count is taken as their sum, {n_fractions}",
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
