"""Small builders of RT Dose, RT Structure Set and RT Plan datasets for the reader tests.

Every dataset is made here with plain pydicom, independently of plancheck's
readers, from explicit inputs and fixed UIDs (:func:`uid` derives them from a
name), so every number a test checks has a known origin. Geometry follows
DICOM PS3.3 C.7.6.2.1.1 and C.8.8.3.2 literally: the stored pixel
(frame f, row i, column j) lies at ``IPP + j·Δx·row_dir + i·Δy·col_dir +
o_f·(row_dir × col_dir)`` for relative offsets, and at z = ``o_f`` for
absolute ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"
RT_STRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
RT_ION_PLAN = "1.2.840.10008.5.1.4.1.1.481.8"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

PATIENT_ID = "PC-TEST-1"

# ImageOrientationPatient of the four axial patient positions (as scanners write them)
ORIENTATIONS: dict[str, tuple[int, int, int, int, int, int]] = {
    "HFS": (1, 0, 0, 0, 1, 0),
    "FFS": (-1, 0, 0, 0, 1, 0),
    "HFP": (-1, 0, 0, 0, -1, 0),
    "FFP": (1, 0, 0, 0, -1, 0),
}


def uid(name: str) -> str:
    """A fixed UID for ``name`` (2.25 root, derived from a hash of the name)."""
    return "2.25." + str(int(hashlib.sha256(name.encode()).hexdigest()[:30], 16))


FRAME = uid("frame of reference A")


def _base(sop_class: str, sop_uid: str, modality: str, patient_id: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    ds.PatientName = "Test^Patient"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid(f"series-{sop_uid}")
    return ds


def _ds(value: float) -> str:
    return f"{value:.10g}"


# --------------------------------------------------------------------------- RT Dose


@dataclass
class DoseSpec:
    """An RTDOSE: stored values (Gy, in storage order) and the header that places them."""

    stored_gy: npt.NDArray[np.float64]  # (frame, row, column) in storage order
    image_position: tuple[float, float, float] = (-10.0, -20.0, 30.0)
    orientation: tuple[float, ...] = ORIENTATIONS["HFS"]
    pixel_spacing: tuple[float, float] = (2.0, 1.5)  # (row spacing Δy, column spacing Δx)
    offsets: Sequence[float] | None = None  # GridFrameOffsetVector; None: 0, 3, 6, ...
    bits: int = 32
    signed: bool = False
    units: str = "GY"
    summation: str = "PLAN"
    dose_type: str = "PHYSICAL"
    scaling: float | None = None  # None: chosen so the maximum uses the integer range
    plan_uid: str | None = None
    fraction_group: int | None = None
    beams: Sequence[int] = ()
    sop_uid: str = field(default_factory=lambda: uid("dose"))
    frame_of_reference: str = FRAME
    patient_id: str = PATIENT_ID


def dose_scaling(spec: DoseSpec) -> float:
    if spec.scaling is not None:
        return spec.scaling
    top = 2 ** (spec.bits - (1 if spec.signed else 0)) - 1
    peak = float(np.abs(spec.stored_gy).max()) or 1.0
    return peak / (0.999 * top)  # a little headroom: the DS text rounds the scaling


def rtdose(spec: DoseSpec) -> Dataset:
    """An RT Dose dataset holding ``spec.stored_gy`` as integers times DoseGridScaling."""
    frames, rows, columns = spec.stored_gy.shape
    ds = _base(RT_DOSE, spec.sop_uid, "RTDOSE", spec.patient_id)
    ds.FrameOfReferenceUID = spec.frame_of_reference
    ds.ImagePositionPatient = [_ds(v) for v in spec.image_position]
    ds.ImageOrientationPatient = [_ds(v) for v in spec.orientation]
    ds.PixelSpacing = [_ds(v) for v in spec.pixel_spacing]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x3004000C
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = spec.bits
    ds.BitsStored = spec.bits
    ds.HighBit = spec.bits - 1
    ds.PixelRepresentation = 1 if spec.signed else 0
    ds.DoseUnits = spec.units
    ds.DoseType = spec.dose_type
    ds.DoseSummationType = spec.summation
    offsets = spec.offsets if spec.offsets is not None else [3.0 * k for k in range(frames)]
    ds.GridFrameOffsetVector = [_ds(v) for v in offsets]
    scaling = dose_scaling(spec)
    ds.DoseGridScaling = _ds(scaling)
    kind = "i" if spec.signed else "u"
    stored = np.rint(spec.stored_gy / float(ds.DoseGridScaling)).astype(f"<{kind}{spec.bits // 8}")
    ds.add_new(0x7FE00010, "OW", stored.tobytes())
    if spec.plan_uid is not None:
        ref = Dataset()
        ref.ReferencedSOPClassUID = RT_PLAN
        ref.ReferencedSOPInstanceUID = spec.plan_uid
        if spec.fraction_group is not None or spec.beams:
            fg = Dataset()
            fg.ReferencedFractionGroupNumber = spec.fraction_group or 1
            if spec.beams:
                items = []
                for b in spec.beams:
                    item = Dataset()
                    item.ReferencedBeamNumber = b
                    items.append(item)
                fg.ReferencedBeamSequence = DicomSequence(items)
            ref.ReferencedFractionGroupSequence = DicomSequence([fg])
        ds.ReferencedRTPlanSequence = DicomSequence([ref])
    return ds


def stored_positions(
    shape: tuple[int, int, int],
    image_position: tuple[float, float, float],
    orientation: Sequence[float],
    pixel_spacing: tuple[float, float],
    offsets: Sequence[float],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Patient (x, y, z) of every stored pixel, each (frame, row, column), by the DICOM formula."""
    frames, rows, columns = shape
    row_dir = np.asarray(orientation[:3], dtype=np.float64)
    col_dir = np.asarray(orientation[3:], dtype=np.float64)
    normal = np.cross(row_dir, col_dir)
    dy, dx = pixel_spacing
    f, i, j = np.meshgrid(np.arange(frames), np.arange(rows), np.arange(columns), indexing="ij")
    o = np.asarray(offsets, dtype=np.float64)
    p = (
        np.asarray(image_position)[:, None, None, None]
        + row_dir[:, None, None, None] * (j * dx)
        + col_dir[:, None, None, None] * (i * dy)
    )
    if o[0] == 0.0:  # relative: along the normal
        p = p + normal[:, None, None, None] * o[f]
    else:  # absolute: the frames' z
        p[2] = o[f]
    return p[0], p[1], p[2]


def field_dose(
    field: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    orientation_name: str,
    *,
    shape: tuple[int, int, int] = (6, 4, 5),
    image_position: tuple[float, float, float] = (-10.0, -20.0, 30.0),
    pixel_spacing: tuple[float, float] = (2.0, 1.5),
    frame_step_mm: float = 3.0,
    offsets: str = "relative",
    **kwargs: object,
) -> DoseSpec:
    """A DoseSpec whose stored pixels hold ``field(x, y, z)`` at their patient positions."""
    iop = ORIENTATIONS[orientation_name]
    normal_z = iop[0] * iop[4]
    frames = shape[0]
    if offsets == "relative":
        o = [frame_step_mm * k for k in range(frames)]
    else:
        o = [image_position[2] + normal_z * frame_step_mm * k for k in range(frames)]
    x, y, z = stored_positions(shape, image_position, iop, pixel_spacing, o)
    return DoseSpec(
        stored_gy=field(x, y, z),
        image_position=image_position,
        orientation=iop,
        pixel_spacing=pixel_spacing,
        offsets=o,
        **kwargs,  # type: ignore[arg-type]
    )


def dvh_item(
    roi: int,
    widths: Sequence[float],
    volumes: Sequence[float],
    *,
    dvh_type: str = "CUMULATIVE",
    units: str = "GY",
    volume_units: str = "CM3",
    scaling: float = 1.0,
    stats: tuple[float, float, float] | None = None,
) -> Dataset:
    """One DVHSequence item; ``stats`` are (min, max, mean) as stored."""
    item = Dataset()
    ref = Dataset()
    ref.ReferencedROINumber = roi
    ref.DVHROIContributionType = "INCLUDED"
    item.DVHReferencedROISequence = DicomSequence([ref])
    item.DVHType = dvh_type
    item.DoseUnits = units
    item.DoseType = "PHYSICAL"
    item.DVHDoseScaling = _ds(scaling)
    item.DVHVolumeUnits = volume_units
    item.DVHNumberOfBins = len(widths)
    item.DVHData = [_ds(v) for pair in zip(widths, volumes, strict=True) for v in pair]
    if stats is not None:
        item.DVHMinimumDose, item.DVHMaximumDose, item.DVHMeanDose = (_ds(v) for v in stats)
    return item


# --------------------------------------------------------------------------- RT Structure Set


@dataclass
class Roi:
    number: int
    name: str
    contours: Sequence[tuple[str, npt.NDArray[np.float64]]] = ()  # (geometric type, (n, 3) points)
    roi_type: str | None = "ORGAN"
    color: tuple[int, int, int] | None = (255, 0, 0)
    frame_of_reference: str | None = FRAME


def square(
    half_mm: float, z_mm: float, centre: tuple[float, float] = (0.0, 0.0), close: bool = False
) -> npt.NDArray[np.float64]:
    """An axial square contour (n, 3), optionally with the first point repeated at the end."""
    cx, cy = centre
    pts = [
        (cx - half_mm, cy - half_mm),
        (cx + half_mm, cy - half_mm),
        (cx + half_mm, cy + half_mm),
        (cx - half_mm, cy + half_mm),
    ]
    if close:
        pts.append(pts[0])
    return np.array([(x, y, z_mm) for x, y in pts], dtype=np.float64)


def rtstruct(
    rois: Sequence[Roi],
    *,
    sop_uid: str | None = None,
    label: str = "TEST",
    frame_of_reference: str | None = FRAME,
    patient_id: str = PATIENT_ID,
) -> Dataset:
    ds = _base(RT_STRUCT, sop_uid or uid("structure set"), "RTSTRUCT", patient_id)
    ds.StructureSetLabel = label
    if frame_of_reference is not None:
        ref = Dataset()
        ref.FrameOfReferenceUID = frame_of_reference
        ds.ReferencedFrameOfReferenceSequence = DicomSequence([ref])
    roi_items, contour_items, observations = [], [], []
    for roi in rois:
        item = Dataset()
        item.ROINumber = roi.number
        item.ROIName = roi.name
        if roi.frame_of_reference is not None:
            item.ReferencedFrameOfReferenceUID = roi.frame_of_reference
        roi_items.append(item)
        rc = Dataset()
        rc.ReferencedROINumber = roi.number
        if roi.color is not None:
            rc.ROIDisplayColor = list(roi.color)
        contours = []
        for k, (kind, points) in enumerate(roi.contours, start=1):
            c = Dataset()
            c.ContourNumber = k
            c.ContourGeometricType = kind
            c.NumberOfContourPoints = len(points)
            c.ContourData = [_ds(v) for v in np.asarray(points, dtype=np.float64).ravel()]
            contours.append(c)
        if contours:
            rc.ContourSequence = DicomSequence(contours)
        contour_items.append(rc)
        if roi.roi_type is not None:
            obs = Dataset()
            obs.ObservationNumber = roi.number
            obs.ReferencedROINumber = roi.number
            obs.RTROIInterpretedType = roi.roi_type
            observations.append(obs)
    ds.StructureSetROISequence = DicomSequence(roi_items)
    ds.ROIContourSequence = DicomSequence(contour_items)
    ds.RTROIObservationsSequence = DicomSequence(observations)
    return ds


# --------------------------------------------------------------------------- RT Plan


def rtplan(
    *,
    sop_uid: str | None = None,
    label: str = "PLAN1",
    fractions: Sequence[int | None] = (10,),
    prescription_gy: float | None = 30.0,
    structure_set_uid: str | None = None,
    frame_of_reference: str | None = FRAME,
    beams: Sequence[int] = (1, 2),
    ion: bool = False,
    approval: str = "APPROVED",
    patient_id: str = PATIENT_ID,
    related: Sequence[tuple[str, str]] = (),
    beam_dose_gy: float | None = None,
    intent: str | None = None,
    group_beams: Sequence[Sequence[int]] | None = None,
) -> Dataset:
    """An RT (Ion) Plan: fraction groups with their counts (None: count omitted), one TARGET prescription.

    ``related`` are (SOP Instance UID, RTPlanRelationship) items of the
    ReferencedRTPlanSequence; ``beam_dose_gy`` is the BeamDose (Gy per
    fraction) written for every beam of every fraction group; ``group_beams``
    the beams of each fraction group (default: every beam in every group).
    """
    ds = _base(
        RT_ION_PLAN if ion else RT_PLAN, sop_uid or uid(f"plan {label}"), "RTPLAN", patient_id
    )
    ds.RTPlanLabel = label
    ds.RTPlanName = f"{label} name"
    ds.ApprovalStatus = approval
    if intent is not None:
        ds.PlanIntent = intent
    if related:
        items = []
        for other, relationship in related:
            item = Dataset()
            item.ReferencedSOPClassUID = RT_PLAN
            item.ReferencedSOPInstanceUID = other
            item.RTPlanRelationship = relationship
            items.append(item)
        ds.ReferencedRTPlanSequence = DicomSequence(items)
    if frame_of_reference is not None:
        ds.FrameOfReferenceUID = frame_of_reference
    if structure_set_uid is not None:
        ref = Dataset()
        ref.ReferencedSOPClassUID = RT_STRUCT
        ref.ReferencedSOPInstanceUID = structure_set_uid
        ds.ReferencedStructureSetSequence = DicomSequence([ref])
    if prescription_gy is not None:
        dr = Dataset()
        dr.DoseReferenceNumber = 1
        dr.DoseReferenceStructureType = "VOLUME"
        dr.DoseReferenceDescription = "PTV"
        dr.DoseReferenceType = "TARGET"
        dr.TargetPrescriptionDose = _ds(prescription_gy)
        ds.DoseReferenceSequence = DicomSequence([dr])
    groups = []
    for number, n in enumerate(fractions, start=1):
        fg = Dataset()
        fg.FractionGroupNumber = number
        if n is not None:
            fg.NumberOfFractionsPlanned = n
        its_beams = beams if group_beams is None else group_beams[number - 1]
        fg.NumberOfBeams = len(its_beams)
        refs = []
        for b in its_beams:
            rb = Dataset()
            rb.ReferencedBeamNumber = b
            if beam_dose_gy is not None:
                rb.BeamDose = _ds(beam_dose_gy)
            refs.append(rb)
        fg.ReferencedBeamSequence = DicomSequence(refs)
        groups.append(fg)
    ds.FractionGroupSequence = DicomSequence(groups)
    beam_items = []
    for b in beams:
        item = Dataset()
        item.BeamNumber = b
        item.BeamName = f"B{b}"
        item.TreatmentDeliveryType = "TREATMENT"
        beam_items.append(item)
    if ion:
        ds.IonBeamSequence = DicomSequence(beam_items)
    else:
        ds.BeamSequence = DicomSequence(beam_items)
    return ds


def ct_image(sop_uid: str | None = None) -> Dataset:
    ds = _base(CT_IMAGE, sop_uid or uid("ct"), "CT", PATIENT_ID)
    ds.Rows = 2
    ds.Columns = 2
    ds.BitsAllocated = 16
    ds.add_new(0x7FE00010, "OW", b"\0" * 8)
    return ds


# --------------------------------------------------------------------------- files


def write(ds: Dataset, path: Path, *, implicit: bool = False, preamble: bool = True) -> Path:
    """Write ``ds`` as a DICOM file (explicit or implicit VR little endian); return ``path``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(uid("plancheck tests"))
    fds = FileDataset(
        str(path),
        ds,
        file_meta=meta,
        preamble=b"\0" * 128,
        is_implicit_VR=implicit,
        is_little_endian=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not preamble:
        fds.preamble = None
        fds.file_meta = FileMetaDataset()
        if int(pydicom.__version__.split(".")[0]) >= 3:
            pydicom.dcmwrite(path, fds, implicit_vr=True, little_endian=True)
        else:  # pydicom 2.4
            fds.is_implicit_VR, fds.is_little_endian = True, True
            pydicom.dcmwrite(path, fds, write_like_original=True)
        return path
    if int(pydicom.__version__.split(".")[0]) >= 3:
        pydicom.dcmwrite(path, fds, enforce_file_format=True)
    else:  # pydicom 2.4
        pydicom.dcmwrite(path, fds, write_like_original=False)
    return path
