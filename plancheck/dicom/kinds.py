"""The kinds of DICOM object plancheck tells apart, by SOP Class UID (PS3.4 B.5)."""

from __future__ import annotations

import enum

__all__ = [
    "CT_IMAGE_STORAGE",
    "DEFORMABLE_SPATIAL_REGISTRATION_STORAGE",
    "RT_BEAMS_TREATMENT_RECORD_STORAGE",
    "RT_BRACHY_TREATMENT_RECORD_STORAGE",
    "RT_DOSE_STORAGE",
    "RT_ION_BEAMS_TREATMENT_RECORD_STORAGE",
    "RT_ION_PLAN_STORAGE",
    "RT_PLAN_STORAGE",
    "RT_STRUCTURE_SET_STORAGE",
    "RT_TREATMENT_SUMMARY_RECORD_STORAGE",
    "SPATIAL_REGISTRATION_STORAGE",
    "FileKind",
    "kind_of_sop_class",
    "sop_class_name",
]

RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
RT_PLAN_STORAGE = "1.2.840.10008.5.1.4.1.1.481.5"
RT_ION_PLAN_STORAGE = "1.2.840.10008.5.1.4.1.1.481.8"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
SPATIAL_REGISTRATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.1"
DEFORMABLE_SPATIAL_REGISTRATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.3"
RT_BEAMS_TREATMENT_RECORD_STORAGE = "1.2.840.10008.5.1.4.1.1.481.4"
RT_BRACHY_TREATMENT_RECORD_STORAGE = "1.2.840.10008.5.1.4.1.1.481.6"
RT_TREATMENT_SUMMARY_RECORD_STORAGE = "1.2.840.10008.5.1.4.1.1.481.7"
RT_ION_BEAMS_TREATMENT_RECORD_STORAGE = "1.2.840.10008.5.1.4.1.1.481.9"


class FileKind(str, enum.Enum):
    """What a DICOM file is, as far as plancheck cares."""

    RTSTRUCT = "RTSTRUCT"
    RTDOSE = "RTDOSE"
    RTPLAN = "RTPLAN"
    RTIONPLAN = "RTIONPLAN"
    CT = "CT"
    IMAGE = "IMAGE"  # other image storage (MR, PET, RT Image, ...): not used
    OTHER = "OTHER"  # any other DICOM object (registrations, records, DICOMDIR, ...): not used

    @property
    def is_rt(self) -> bool:
        return self in (FileKind.RTSTRUCT, FileKind.RTDOSE, FileKind.RTPLAN, FileKind.RTIONPLAN)

    @property
    def is_plan(self) -> bool:
        return self in (FileKind.RTPLAN, FileKind.RTIONPLAN)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    FileKind.RTSTRUCT: "RT Structure Set",
    FileKind.RTDOSE: "RT Dose",
    FileKind.RTPLAN: "RT Plan",
    FileKind.RTIONPLAN: "RT Ion Plan",
    FileKind.CT: "CT image",
    FileKind.IMAGE: "other image",
    FileKind.OTHER: "other DICOM object",
}

_BY_UID = {
    RT_DOSE_STORAGE: FileKind.RTDOSE,
    RT_STRUCTURE_SET_STORAGE: FileKind.RTSTRUCT,
    RT_PLAN_STORAGE: FileKind.RTPLAN,
    RT_ION_PLAN_STORAGE: FileKind.RTIONPLAN,
    CT_IMAGE_STORAGE: FileKind.CT,
    ENHANCED_CT_IMAGE_STORAGE: FileKind.CT,
}


def sop_class_name(uid: str) -> str:
    """The registered name of a SOP Class UID (the UID itself when unknown)."""
    from pydicom.uid import UID

    name = UID(uid).name
    return name if name and name != uid else uid


def kind_of_sop_class(uid: str) -> FileKind:
    """The kind of object a SOP Class UID stands for."""
    kind = _BY_UID.get(uid)
    if kind is not None:
        return kind
    if "Image Storage" in sop_class_name(uid):
        return FileKind.IMAGE
    return FileKind.OTHER
