"""What a DICOM file is and what it references, from a few header attributes (for batch discovery).

:func:`read_references` reads only the attributes that tell which course a
file belongs to: SOP class and instance, patient, frame of reference, the
plans and structure sets it references, and the labels that name it, plus
the identifying values of its top level (for anonymised messages about it).
Contours, control points and pixel data are skipped unread, so a folder of
a thousand courses is sorted into courses in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from plancheck.dicom._integrity import truncation
from plancheck.dicom._read import DECODE_ERRORS, capture_warnings, sniff
from plancheck.dicom.identity import IDENTIFYING_KEYWORDS, identifying_values
from plancheck.dicom.kinds import FileKind, kind_of_sop_class
from plancheck.errors import DicomReadError
from plancheck.model import Finding

__all__ = ["FileReferences", "read_references"]

_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "Modality",
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "StudyInstanceUID",
    "FrameOfReferenceUID",
    "ReferencedFrameOfReferenceSequence",
    "ReferencedRTPlanSequence",
    "ReferencedStructureSetSequence",
    "RTPlanLabel",
    "StructureSetLabel",
    "ReviewerName",
    "OperatorsName",
    "ReferringPhysicianName",
    "PhysiciansOfRecord",
    "StudyDate",
    "SeriesDate",
    "ContentDate",
    "RTPlanDate",
    "StructureSetDate",
    *sorted(IDENTIFYING_KEYWORDS),
)
_TAGS = sorted({t for t in (tag_for_keyword(k) for k in _KEYWORDS) if t is not None})


@dataclass(frozen=True)
class FileReferences:
    """One DICOM file's identity and references.

    ``label`` is the RTPlanLabel or StructureSetLabel (None for other
    objects); ``identifying`` the identifying values of its top level as
    (keyword, VR, value).
    """

    path: Path
    kind: FileKind
    sop_instance_uid: str
    patient_id: str
    frame_of_reference_uid: str | None
    referenced_plan_uids: tuple[str, ...] = ()
    referenced_structure_set_uids: tuple[str, ...] = ()
    label: str | None = None
    identifying: tuple[tuple[str, str, str], ...] = ()


def _text(ds: Dataset, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except DECODE_ERRORS:
        return None
    text = str(value).strip() if value is not None else ""
    return text or None


def _referenced(ds: Dataset, sequence: str) -> tuple[str, ...]:
    uids = []
    try:
        for item in ds.get(sequence) or ():
            uid = _text(item, "ReferencedSOPInstanceUID")
            if uid is not None:
                uids.append(uid)
    except DECODE_ERRORS:
        return ()
    return tuple(uids)


def _frame_of_reference(ds: Dataset) -> str | None:
    uid = _text(ds, "FrameOfReferenceUID")
    if uid is not None:
        return uid
    try:
        for item in ds.get("ReferencedFrameOfReferenceSequence") or ():
            uid = _text(item, "FrameOfReferenceUID")
            if uid is not None:
                return uid
    except DECODE_ERRORS:
        return None
    return None


def read_references(path: Path) -> FileReferences:
    """The identity and references of one DICOM file (a few header attributes only).

    Raises
    ------
    DicomReadError
        When the file is not DICOM or its header cannot be read.
    """
    path = Path(path)
    looks = sniff(path)
    if isinstance(looks, str):
        raise DicomReadError(f"is not a DICOM file: {looks}", path=path)
    ignored: list[Finding] = []  # the evaluation reads the file again and reports these
    try:
        with capture_warnings(path, ignored):
            ds = pydicom.dcmread(
                path, stop_before_pixels=True, specific_tags=_TAGS, force=not looks, defer_size=4096
            )
        sop_class = _text(ds, "SOPClassUID")
        if sop_class is None:
            meta = getattr(ds, "file_meta", None)
            sop_class = _text(meta, "MediaStorageSOPClassUID") if meta is not None else None
        uid = _text(ds, "SOPInstanceUID")
        if uid is None:
            meta = getattr(ds, "file_meta", None)
            uid = _text(meta, "MediaStorageSOPInstanceUID") if meta is not None else None
        meta = getattr(ds, "file_meta", None)
        syntax = _text(meta, "TransferSyntaxUID") if meta is not None else None
        cut = truncation(path, syntax, looks)
    except DECODE_ERRORS as exc:
        raise DicomReadError(f"the header cannot be read ({type(exc).__name__}: {exc})", path=path) from exc
    if cut is not None:  # a cut file reads as one with fewer attributes: its references are not known
        raise DicomReadError(f"the file is truncated: {cut}", path=path)
    if sop_class is None or uid is None:
        raise DicomReadError("the header has no SOP Class UID or SOP Instance UID", path=path)
    kind = kind_of_sop_class(sop_class)
    return FileReferences(
        path=path,
        kind=kind,
        sop_instance_uid=uid,
        patient_id=_text(ds, "PatientID") or "",
        frame_of_reference_uid=_frame_of_reference(ds),
        referenced_plan_uids=_referenced(ds, "ReferencedRTPlanSequence"),
        referenced_structure_set_uids=_referenced(ds, "ReferencedStructureSetSequence"),
        label=_text(ds, "RTPlanLabel") or _text(ds, "StructureSetLabel"),
        identifying=identifying_values(ds),
    )
