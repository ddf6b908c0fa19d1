"""Writing one structure set with its plans and doses as a folder of DICOM files.

Every UID is derived from ``seed``, so the same inputs give the same files,
byte for byte. All objects share one study and one frame of reference; each
RTPLAN references the structure set and each RTDOSE its plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from plancheck.dicom.write import (
    DicomContext,
    Orientation,
    WrittenSummation,
    derived_uid,
    rtdose_dataset,
    rtplan_dataset,
    rtstruct_dataset,
    write_dataset,
)
from plancheck.model import DoseGrid, DoseReference, PatientInfo, Structure

__all__ = ["PlanDoseSpec", "RtSetPaths", "RtSetUids", "set_uids", "write_rt_set"]


@dataclass(frozen=True, eq=False)
class PlanDoseSpec:
    """One plan of a set and the dose it delivers over all its fractions.

    ``dose`` is the whole plan's dose in Gy (ascending axes). PLAN and
    FRACTION RTDOSEs store it as it is (FRACTION: the whole of the plan's one
    fraction group, PS3.3 C.8.8.3); a FRACTION_SESSION RTDOSE stores one
    session, ``dose / n_fractions``. ``relations`` are (index of another plan
    of the set, RTPlanRelationship) pairs, written to the plan's
    ReferencedRTPlanSequence.
    """

    label: str
    n_fractions: int
    dose_references: tuple[DoseReference, ...]
    dose: DoseGrid
    name: str = ""
    description: str = ""
    approval_status: str = "APPROVED"
    summation_type: WrittenSummation = "PLAN"
    bits: Literal[16, 32] = 32
    frame_offsets: Literal["relative", "absolute"] = "relative"
    relations: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RtSetUids:
    study: str
    frame_of_reference: str
    rtstruct: str
    plans: tuple[str, ...]
    doses: tuple[str, ...]


@dataclass(frozen=True)
class RtSetPaths:
    directory: Path
    rtstruct: Path
    rtplans: tuple[Path, ...]
    rtdoses: tuple[Path, ...]
    uids: RtSetUids


def set_uids(seed: str, n_plans: int) -> RtSetUids:
    """The UIDs a set written with ``seed`` gets (study, frame of reference, objects)."""
    return RtSetUids(
        study=derived_uid(seed, "study"),
        frame_of_reference=derived_uid(seed, "frame-of-reference"),
        rtstruct=derived_uid(seed, "rtstruct"),
        plans=tuple(derived_uid(seed, "rtplan", str(k)) for k in range(n_plans)),
        doses=tuple(derived_uid(seed, "rtdose", str(k)) for k in range(n_plans)),
    )


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def write_rt_set(
    out_dir: Path,
    *,
    seed: str,
    patient: PatientInfo,
    structures: Sequence[Structure],
    structure_set_label: str,
    plans: Sequence[PlanDoseSpec],
    orientation: Orientation = "HFS",
    study_description: str = "",
    file_stem: str = "",
    structure_axes: npt.ArrayLike | None = None,
) -> RtSetPaths:
    """Write ``RS.<stem>.dcm`` and per plan ``RP.<stem><label>.dcm``/``RD.<stem><label>.dcm``.

    The dose grids' frame of reference is replaced by the set's own; their
    frames (``axes``) are kept. ``structure_axes`` is the frame the
    structures' coordinates are in (default: axial).
    """
    uids = set_uids(seed, len(plans))
    ctx = DicomContext(
        patient=patient,
        study_instance_uid=uids.study,
        frame_of_reference_uid=uids.frame_of_reference,
        study_description=study_description,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _safe(file_stem) + "." if file_stem else ""
    rs = rtstruct_dataset(
        ctx,
        structures,
        sop_instance_uid=uids.rtstruct,
        series_instance_uid=derived_uid(seed, "rtstruct-series"),
        label=structure_set_label,
        axes=structure_axes,
    )
    rs_path = write_dataset(rs, out_dir / f"RS.{stem}{_safe(structure_set_label)}.dcm")
    rp_paths: list[Path] = []
    rd_paths: list[Path] = []
    for k, p in enumerate(plans):
        rp = rtplan_dataset(
            ctx,
            sop_instance_uid=uids.plans[k],
            series_instance_uid=derived_uid(seed, "rtplan-series", str(k)),
            label=p.label,
            name=p.name,
            description=p.description,
            n_fractions=p.n_fractions,
            dose_references=p.dose_references,
            referenced_structure_set_uid=uids.rtstruct,
            approval_status=p.approval_status,
            patient_position=orientation,
            series_number=2 + 2 * k,
            related_plans=tuple((uids.plans[j], rel) for j, rel in p.relations),
        )
        total = p.dose
        session = p.summation_type == "FRACTION_SESSION"
        stored = total.dose_gy / p.n_fractions if session else total.dose_gy
        grid = DoseGrid(
            np.asarray(stored, dtype=np.float64),
            total.x_mm,
            total.y_mm,
            total.z_mm,
            uids.frame_of_reference,
            total.axes,
        )
        rd = rtdose_dataset(
            ctx,
            grid,
            sop_instance_uid=uids.doses[k],
            series_instance_uid=derived_uid(seed, "rtdose-series", str(k)),
            referenced_plan_uid=uids.plans[k],
            orientation=orientation,
            bits=p.bits,
            frame_offsets=p.frame_offsets,
            summation_type=p.summation_type,
            comment=f"{p.label} {p.summation_type.lower()} dose",
            series_number=3 + 2 * k,
        )
        rp_paths.append(write_dataset(rp, out_dir / f"RP.{stem}{_safe(p.label)}.dcm"))
        rd_paths.append(write_dataset(rd, out_dir / f"RD.{stem}{_safe(p.label)}.dcm"))
    return RtSetPaths(out_dir, rs_path, tuple(rp_paths), tuple(rd_paths), uids)
