"""Writing Spatial Registration and Deformable Spatial Registration objects (REG).

Used by the re-irradiation phantoms and the tests. The object's frame of
reference (the Registered RCS) is the context's ``frame_of_reference_uid``;
items are written from the records :func:`plancheck.dicom.registration.read_registration`
returns, so what is written reads back as the same records. Modules written
(PS3.3 A.39): Patient, General Study, General Series and Spatial Registration
Series (Modality REG), Frame of Reference, General and Enhanced General
Equipment, Spatial Registration (C.20.2) or Deformable Spatial Registration
(C.20.3), SOP Common. Items name frames of reference only (no image
references), so the Common Instance Reference module is empty.

Nothing is checked here: a test can write a malformed matrix on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.kinds import (
    DEFORMABLE_SPATIAL_REGISTRATION_STORAGE,
    SPATIAL_REGISTRATION_STORAGE,
)
from plancheck.dicom.write import DicomContext, _base, format_ds
from plancheck.registration.matrix import MatrixType
from plancheck.registration.records import DeformableItem, RegistrationItem

__all__ = ["deformable_registration_dataset", "spatial_registration_dataset"]


def spatial_registration_dataset(
    ctx: DicomContext,
    items: Sequence[RegistrationItem],
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    content_label: str = "REGISTRATION",
    description: str = "",
    series_number: int = 20,
) -> Dataset:
    """A Spatial Registration: each item's matrices map its frame into ``ctx``'s frame."""
    ds = _header(
        ctx,
        SPATIAL_REGISTRATION_STORAGE,
        sop_instance_uid,
        series_instance_uid,
        content_label,
        description,
        series_number,
    )
    seq = []
    for item in items:
        entry = Dataset()
        entry.FrameOfReferenceUID = item.frame_of_reference_uid
        reg = Dataset()
        if item.comment:
            reg.FrameOfReferenceTransformationComment = item.comment[:64]
        reg.RegistrationTypeCodeSequence = DicomSequence([])
        reg.MatrixSequence = DicomSequence(
            [_matrix_item(m, t) for m, t in zip(item.matrices, item.matrix_types, strict=True)]
        )
        entry.MatrixRegistrationSequence = DicomSequence([reg])
        seq.append(entry)
    ds.RegistrationSequence = DicomSequence(seq)
    return ds


def deformable_registration_dataset(
    ctx: DicomContext,
    items: Sequence[DeformableItem],
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    content_label: str = "DEFORMABLE",
    description: str = "",
    series_number: int = 21,
) -> Dataset:
    """A Deformable Spatial Registration: each item maps points of ``ctx``'s frame into its source."""
    ds = _header(
        ctx,
        DEFORMABLE_SPATIAL_REGISTRATION_STORAGE,
        sop_instance_uid,
        series_instance_uid,
        content_label,
        description,
        series_number,
    )
    ds.DeviceSerialNumber = "0"  # Enhanced General Equipment (Type 1)
    seq = []
    for item in items:
        entry = Dataset()
        entry.SourceFrameOfReferenceUID = item.source_frame_uid
        if item.comment:
            entry.FrameOfReferenceTransformationComment = item.comment[:64]
        entry.RegistrationTypeCodeSequence = DicomSequence([])
        if item.pre_type is not None:
            entry.PreDeformationMatrixRegistrationSequence = DicomSequence(
                [_matrix_item(item.pre_matrix, item.pre_type)]
            )
        if item.post_type is not None:
            entry.PostDeformationMatrixRegistrationSequence = DicomSequence(
                [_matrix_item(item.post_matrix, item.post_type)]
            )
        if item.grid is not None:
            g = item.grid
            grid = Dataset()
            grid.ImagePositionPatient = [format_ds(v) for v in g.origin_mm]
            grid.ImageOrientationPatient = [format_ds(v) for v in (*g.axes[:, 0], *g.axes[:, 1])]
            grid.GridDimensions = list(g.dimensions)
            grid.GridResolution = [float(v) for v in g.spacing_mm]
            grid.VectorGridData = np.ascontiguousarray(g.vectors_mm, dtype="<f4").tobytes()
            entry.DeformableRegistrationGridSequence = DicomSequence([grid])
        seq.append(entry)
    ds.DeformableRegistrationSequence = DicomSequence(seq)
    return ds


def _header(
    ctx: DicomContext,
    sop_class: str,
    sop_instance_uid: str,
    series_instance_uid: str,
    content_label: str,
    description: str,
    series_number: int,
) -> Dataset:
    ds = _base(
        ctx,
        sop_class,
        sop_instance_uid,
        series_instance_uid,
        "REG",
        series_number,
        description or "registration",
    )
    ds.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.ContentDate = ctx.date
    ds.ContentTime = ctx.time
    ds.ContentLabel = content_label.upper().replace(" ", "_")[:16]
    ds.ContentDescription = description[:64]
    ds.ContentCreatorName = ""
    return ds


def _matrix_item(matrix: npt.ArrayLike, matrix_type: MatrixType | str) -> Dataset:
    m = Dataset()
    m.FrameOfReferenceTransformationMatrix = [
        format_ds(v) for v in np.asarray(matrix, dtype=np.float64).ravel()
    ]
    m.FrameOfReferenceTransformationMatrixType = (
        matrix_type.value if isinstance(matrix_type, MatrixType) else matrix_type
    )
    return m
