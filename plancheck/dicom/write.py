"""Writing RT Structure Set, RT Plan and RT Dose files from model-level inputs.

Used by the phantom generator. Output is reproducible byte for byte: UIDs are
derived from seed strings (:func:`derived_uid`, the ``2.25`` root with a
name-based UUID), dates and times are fixed by the caller, and the file meta
information names plancheck, not the pydicom version.

Geometry written (DICOM PS3.3 C.7.6.2, C.8.8.3.2):

* RTDOSE ``ImageOrientationPatient`` per patient position, as scanners write
  axial images: HFS ``[1,0,0,0,1,0]``, FFS ``[-1,0,0,0,1,0]``, HFP
  ``[-1,0,0,0,-1,0]``, FFP ``[1,0,0,0,-1,0]``. Pixel ``(frame f, row i,
  column j)`` lies at ``IPP + j·Δx·row_dir + i·Δy·col_dir + o_f·normal``
  with ``normal = row_dir × col_dir`` (``+z`` for HFS/HFP, ``-z`` for
  FFS/FFP).
* ``GridFrameOffsetVector`` relative (option a: starts at 0, offsets along the
  normal, so FFS/FFP frames run towards the feet) or absolute (option b: the
  frames' patient z; the standard allows it only for HFS, it is written for the
  other orientations too for reader tests, and refused where its first value
  would be 0 and so read as relative).
* ``PixelSpacing`` is ``[row spacing (Δy), column spacing (Δx)]``.
* A grid or structure set whose frame (``DoseGrid.axes``, ``axes`` of
  :func:`rtstruct_dataset`) is not the identity is written in that frame:
  the orientation's row and column directions are the frame's x and y axes
  (reversed as the patient position says), positions are ``axes @ (x, y, z)``,
  and contour points ``axes @ (u, v, w)``. Tilted and oblique phantoms are
  written this way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian

from plancheck.model import DoseGrid, DoseReference, PatientInfo, Structure

__all__ = [
    "ORIENTATIONS",
    "RT_DOSE_STORAGE",
    "RT_PLAN_STORAGE",
    "RT_STRUCTURE_SET_STORAGE",
    "DicomContext",
    "Orientation",
    "WrittenSummation",
    "derived_uid",
    "format_ds",
    "rtdose_dataset",
    "rtplan_dataset",
    "rtstruct_dataset",
    "write_dataset",
]

RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
RT_PLAN_STORAGE = "1.2.840.10008.5.1.4.1.1.481.5"

Orientation = Literal["HFS", "FFS", "HFP", "FFP"]
# DoseSummationTypes the writer produces (PS3.3 C.8.8.3): PLAN and FRACTION hold the whole plan
# (FRACTION: the whole of its one fraction group), FRACTION_SESSION one session of it
WrittenSummation = Literal["PLAN", "FRACTION", "FRACTION_SESSION"]
ORIENTATIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "HFS": (1, 0, 0, 0, 1, 0),
    "FFS": (-1, 0, 0, 0, 1, 0),
    "HFP": (-1, 0, 0, 0, -1, 0),
    "FFP": (1, 0, 0, 0, -1, 0),
}

_UID_NAMESPACE = uuid.UUID("6f1b0c52-3d0e-5a4b-9e55-706c616e6368")  # fixed, arbitrary
IMPLEMENTATION_VERSION_NAME = "PLANCHECK"
_MAX_DS_BYTES = 0xFFFE


def derived_uid(*parts: str) -> str:
    """A UID under the ``2.25`` root, derived from ``parts`` (same parts, same UID)."""
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, chr(31).join(parts)).int}"


IMPLEMENTATION_CLASS_UID = derived_uid("plancheck", "implementation")


def format_ds(value: float) -> str:
    """A Decimal String of at most 16 characters with 10 significant digits."""
    v = float(value)
    if v == 0.0:
        return "0"
    text = f"{v:.10g}"
    if len(text) > 16:
        text = f"{v:.9g}"
    return text


@dataclass(frozen=True)
class DicomContext:
    """What the objects of one set share: patient, study, frame of reference, dates."""

    patient: PatientInfo
    study_instance_uid: str
    frame_of_reference_uid: str
    patient_sex: str = "O"
    study_id: str = "1"
    study_description: str = ""
    date: str = "20240101"
    time: str = "120000"
    manufacturer: str = "plancheck"
    station_name: str = ""


def _base(
    ctx: DicomContext,
    sop_class_uid: str,
    sop_instance_uid: str,
    series_instance_uid: str,
    modality: str,
    series_number: int,
    series_description: str,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstanceCreationDate = ctx.date
    ds.InstanceCreationTime = ctx.time
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid
    ds.StudyDate = ctx.date
    ds.StudyTime = ctx.time
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.Manufacturer = ctx.manufacturer
    ds.ReferringPhysicianName = ""
    ds.StationName = ctx.station_name
    ds.StudyDescription = ctx.study_description
    ds.SeriesDescription = series_description
    ds.OperatorsName = ""
    ds.ManufacturerModelName = "plancheck phantom"
    ds.PatientName = ctx.patient.name
    ds.PatientID = ctx.patient.patient_id
    ds.PatientBirthDate = ctx.patient.birth_date
    ds.PatientSex = ctx.patient_sex
    ds.SoftwareVersions = "plancheck"
    ds.StudyInstanceUID = ctx.study_instance_uid
    ds.SeriesInstanceUID = series_instance_uid
    ds.StudyID = ctx.study_id
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    return ds


def _raw_ds(tag: int, values: npt.NDArray[np.float64]) -> RawDataElement:
    """A DS element from preformatted text (fast for long contour data)."""
    text = "\\".join(format_ds(v) for v in values.tolist())
    data = text.encode("ascii")
    if len(data) % 2:
        data += b" "
    if len(data) > _MAX_DS_BYTES:
        raise ValueError(
            f"contour of {values.size // 3} points is too long for one DS element; use fewer vertices"
        )
    return RawDataElement(Tag(tag), "DS", len(data), data, 0, False, True)


def rtstruct_dataset(
    ctx: DicomContext,
    structures: Sequence[Structure],
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    label: str,
    series_number: int = 1,
    axes: npt.ArrayLike | None = None,
) -> Dataset:
    """An RT Structure Set holding ``structures`` as CLOSED_PLANAR contours.

    Rings of a plane are written as separate contours in the order given
    (holes are not re-oriented: readers combine them by the even-odd rule).
    With ``axes`` (3 × 3, columns the in-plane axes and the plane normal in
    patient coordinates), the planes' coordinates are in that frame and each
    point is written at ``axes @ (u, v, w)``.
    """
    frame = None if axes is None else np.asarray(axes, dtype=np.float64)
    if frame is not None and np.array_equal(frame, np.eye(3)):
        frame = None
    ds = _base(
        ctx,
        RT_STRUCTURE_SET_STORAGE,
        sop_instance_uid,
        series_instance_uid,
        "RTSTRUCT",
        series_number,
        label,
    )
    ds.StructureSetLabel = label[:16]
    ds.StructureSetName = label[:64]
    ds.StructureSetDate = ctx.date
    ds.StructureSetTime = ctx.time
    ref_for = Dataset()
    ref_for.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([ref_for])
    rois, contours, observations = [], [], []
    for k, s in enumerate(structures, start=1):
        roi = Dataset()
        roi.ROINumber = s.roi_number
        roi.ReferencedFrameOfReferenceUID = ctx.frame_of_reference_uid
        roi.ROIName = s.name
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        rois.append(roi)
        rc = Dataset()
        rc.ROIDisplayColor = list(s.color_rgb or (255, 0, 0))
        items = []
        number = 0
        for plane in s.planes:
            for ring in plane.polygons:
                number += 1
                item = Dataset()
                item.ContourNumber = number
                item.ContourGeometricType = "CLOSED_PLANAR"
                item.NumberOfContourPoints = len(ring)
                xyz = np.column_stack([ring[:, 0], ring[:, 1], np.full(len(ring), plane.z_mm)])
                if frame is not None:
                    xyz = xyz @ frame.T
                item[Tag(0x30060050)] = _raw_ds(0x30060050, xyz.ravel())
                items.append(item)
        rc.ContourSequence = DicomSequence(items)
        rc.ReferencedROINumber = s.roi_number
        contours.append(rc)
        obs = Dataset()
        obs.ObservationNumber = k
        obs.ReferencedROINumber = s.roi_number
        obs.RTROIInterpretedType = s.roi_type or ""
        obs.ROIInterpreter = ""
        observations.append(obs)
    ds.StructureSetROISequence = DicomSequence(rois)
    ds.ROIContourSequence = DicomSequence(contours)
    ds.RTROIObservationsSequence = DicomSequence(observations)
    return ds


def rtplan_dataset(
    ctx: DicomContext,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    label: str,
    n_fractions: int,
    dose_references: Sequence[DoseReference],
    referenced_structure_set_uid: str,
    name: str = "",
    description: str = "",
    approval_status: str = "APPROVED",
    patient_position: Orientation = "HFS",
    series_number: int = 2,
    related_plans: Sequence[tuple[str, str]] = (),
) -> Dataset:
    """An RT Plan: label, one fraction group, prescriptions, approval, setup.

    The plan has no beams (``NumberOfBeams`` 0): its dose comes as a PLAN,
    FRACTION or FRACTION_SESSION RTDOSE. ``TargetPrescriptionDose`` is the
    dose of the whole plan (all fractions), in Gy. ``related_plans`` are
    (SOP Instance UID, RTPlanRelationship) pairs written to the
    ReferencedRTPlanSequence (PS3.3 C.8.8.9), e.g. a sequential boost naming
    the main plan as its PREDECESSOR.
    """
    ds = _base(
        ctx, RT_PLAN_STORAGE, sop_instance_uid, series_instance_uid, "RTPLAN", series_number, label
    )
    ds.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.RTPlanLabel = label[:16]
    ds.RTPlanName = (name or label)[:64]
    ds.RTPlanDescription = description
    ds.RTPlanDate = ctx.date
    ds.RTPlanTime = ctx.time
    ds.RTPlanGeometry = "PATIENT"
    ref_ss = Dataset()
    ref_ss.ReferencedSOPClassUID = RT_STRUCTURE_SET_STORAGE
    ref_ss.ReferencedSOPInstanceUID = referenced_structure_set_uid
    ds.ReferencedStructureSetSequence = DicomSequence([ref_ss])
    if related_plans:
        items = []
        for uid, relationship in related_plans:
            item = Dataset()
            item.ReferencedSOPClassUID = RT_PLAN_STORAGE
            item.ReferencedSOPInstanceUID = uid
            item.RTPlanRelationship = relationship
            items.append(item)
        ds.ReferencedRTPlanSequence = DicomSequence(items)
    refs: list[Dataset] = []
    for r in dose_references:
        item = Dataset()
        item.DoseReferenceNumber = r.number if r.number is not None else len(refs) + 1
        item.DoseReferenceUID = derived_uid(sop_instance_uid, "dose-reference", str(len(refs)))
        if r.roi_number is not None:
            item.DoseReferenceStructureType = "VOLUME"
            item.ReferencedROINumber = r.roi_number
        else:
            item.DoseReferenceStructureType = "SITE"
        item.DoseReferenceDescription = r.description
        item.DoseReferenceType = r.dose_reference_type
        if r.target_prescription_dose_gy is not None:
            item.TargetPrescriptionDose = format_ds(r.target_prescription_dose_gy)
        refs.append(item)
    if refs:
        ds.DoseReferenceSequence = DicomSequence(refs)
    setup = Dataset()
    setup.PatientSetupNumber = 1
    setup.PatientPosition = patient_position
    ds.PatientSetupSequence = DicomSequence([setup])
    fg = Dataset()
    fg.FractionGroupNumber = 1
    fg.NumberOfFractionsPlanned = int(n_fractions)
    fg.NumberOfBeams = 0
    fg.NumberOfBrachyApplicationSetups = 0
    ds.FractionGroupSequence = DicomSequence([fg])
    ds.ApprovalStatus = approval_status
    if approval_status in ("APPROVED", "REJECTED"):
        ds.ReviewDate = ctx.date
        ds.ReviewTime = ctx.time
        ds.ReviewerName = "PHYSICIST^PHANTOM"
    return ds


def _dose_scaling(max_dose_gy: float, max_stored: int) -> float:
    """Smallest DS-representable scaling (10 digits) that keeps the maximum in range."""
    if max_dose_gy <= 0:
        return 1.0
    s = max_dose_gy / max_stored * (1.0 + 1e-9)
    return float(f"{s:.9e}")


def rtdose_dataset(
    ctx: DicomContext,
    grid: DoseGrid,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    referenced_plan_uid: str | None,
    orientation: Orientation = "HFS",
    bits: Literal[16, 32] = 32,
    frame_offsets: Literal["relative", "absolute"] = "relative",
    summation_type: WrittenSummation = "PLAN",
    referenced_fraction_group: int = 1,
    comment: str = "",
    series_number: int = 3,
) -> Dataset:
    """An RT Dose holding ``grid.dose_gy`` (Gy, as given: one session for FRACTION_SESSION).

    ``summation_type`` only labels the grid (PS3.3 C.8.8.3): PLAN and
    FRACTION hold the whole plan (FRACTION: the whole of its one fraction
    group), FRACTION_SESSION one session of it; the caller passes the dose
    that label means.

    ``grid`` has ascending axes and dose indexed (z, y, x); it is flipped into
    the storage order of ``orientation`` (in the grid's own frame when its
    ``axes`` are not the identity: rows along ±axes[:, 0], columns along
    ±axes[:, 1]). The stored integers are
    ``round(dose / DoseGridScaling)``, with the scaling chosen so the maximum
    uses the full ``bits`` range.

    Raises
    ------
    ValueError
        For negative doses, an uneven x/y spacing, or an absolute frame offset
        vector that would start at 0 outside HFS (ambiguous with relative).
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {sorted(ORIENTATIONS)}, got {orientation!r}")
    if bits not in (16, 32):
        raise ValueError(f"bits must be 16 or 32, got {bits}")
    dose = np.asarray(grid.dose_gy, dtype=np.float64)
    if dose.size and float(dose.min()) < 0:
        raise ValueError(f"negative dose {float(dose.min()):.4g} Gy cannot be stored as unsigned")
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (grid.x_mm, grid.y_mm, grid.z_mm))
    for name, a in (("x", x), ("y", y)):
        if a.size > 1 and not np.allclose(np.diff(a), a[1] - a[0], rtol=0, atol=1e-6):
            raise ValueError(f"the {name} axis of an RTDOSE grid must be evenly spaced")
    iop = ORIENTATIONS[orientation]
    row_x, col_y = iop[0], iop[4]
    axes = np.asarray(grid.axes, dtype=np.float64)
    axial = bool(np.array_equal(axes, np.eye(3)))
    # stored frames advance along row x column; +1 where that is the grid's +z
    normal_z = row_x * col_y * (1 if axial else int(np.sign(np.linalg.det(axes))))
    if row_x < 0:
        x, dose = x[::-1], dose[:, :, ::-1]
    if col_y < 0:
        y, dose = y[::-1], dose[:, ::-1, :]
    if normal_z < 0:
        z, dose = z[::-1], dose[::-1, :, :]
    if frame_offsets == "relative":
        offsets = (z - z[0]) * normal_z
    elif frame_offsets == "absolute":
        if z[0] == 0.0 and orientation != "HFS":
            raise ValueError(
                "an absolute GridFrameOffsetVector starting at z = 0 reads as relative; "
                "shift the grid or use relative offsets"
            )
        # the frames' patient z (the grid's z itself for axial grids)
        offsets = z if axial else np.array([float((axes @ [x[0], y[0], zk])[2]) for zk in z])
    else:
        raise ValueError(f"frame_offsets must be 'relative' or 'absolute', got {frame_offsets!r}")
    if axial:
        position = [x[0], y[0], z[0]]
        orientation_values = [str(v) for v in iop]
    else:
        position = [float(v) for v in axes @ np.array([x[0], y[0], z[0]])]
        row_dir, col_dir = row_x * axes[:, 0], col_y * axes[:, 1]
        orientation_values = [format_ds(float(v)) for v in np.concatenate([row_dir, col_dir])]
    dx = float(abs(x[1] - x[0])) if x.size > 1 else 1.0
    dy = float(abs(y[1] - y[0])) if y.size > 1 else 1.0
    dz = np.abs(np.diff(z))
    max_stored = 2**bits - 1
    scaling = _dose_scaling(float(dose.max()) if dose.size else 0.0, max_stored)
    stored = np.clip(np.rint(dose / scaling), 0, max_stored).astype("<u2" if bits == 16 else "<u4")

    ds = _base(
        ctx,
        RT_DOSE_STORAGE,
        sop_instance_uid,
        series_instance_uid,
        "RTDOSE",
        series_number,
        comment or "dose",
    )
    ds.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = orientation
    ds.ContentDate = ctx.date
    ds.ContentTime = ctx.time
    ds.ImagePositionPatient = [format_ds(v) for v in position]
    ds.ImageOrientationPatient = orientation_values
    ds.PixelSpacing = [format_ds(dy), format_ds(dx)]
    ds.SliceThickness = format_ds(float(dz[0])) if dz.size and np.allclose(dz, dz[0]) else ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = int(z.size)
    ds.FrameIncrementPointer = Tag(0x3004, 0x000C)
    ds.Rows = int(y.size)
    ds.Columns = int(x.size)
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = summation_type
    if comment:
        ds.DoseComment = comment[:64]
    ds.GridFrameOffsetVector = [format_ds(o) for o in offsets]
    ds.DoseGridScaling = format_ds(scaling)
    if referenced_plan_uid is not None:
        ref = Dataset()
        ref.ReferencedSOPClassUID = RT_PLAN_STORAGE
        ref.ReferencedSOPInstanceUID = referenced_plan_uid
        if summation_type in ("FRACTION", "FRACTION_SESSION"):
            fg = Dataset()
            fg.ReferencedFractionGroupNumber = referenced_fraction_group
            ref.ReferencedFractionGroupSequence = DicomSequence([fg])
        ds.ReferencedRTPlanSequence = DicomSequence([ref])
    ds.add_new(0x7FE00010, "OW", stored.tobytes())
    return ds


def write_dataset(ds: Dataset, path: Path) -> Path:
    """Write ``ds`` as a DICOM Part 10 file (explicit VR little endian) at ``path``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    fds = FileDataset(
        str(path),
        ds,
        file_meta=meta,
        preamble=b"\0" * 128,
        is_implicit_VR=False,
        is_little_endian=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if int(pydicom.__version__.split(".")[0]) >= 3:
        pydicom.dcmwrite(path, fds, enforce_file_format=True)
    else:  # pydicom 2.4
        pydicom.dcmwrite(path, fds, write_like_original=False)
    return path
