"""Spatial Registration and Deformable Spatial Registration objects (modality REG).

* Spatial Registration Storage (1.2.840.10008.5.1.4.1.1.66.1, PS3.3 A.39.1,
  C.20.2): each item of the RegistrationSequence gives the frame of reference
  of its data (FrameOfReferenceUID) and one MatrixRegistrationSequence item
  whose MatrixSequence holds 4×4 matrices (16 values, row-major) with their
  FrameOfReferenceTransformationMatrixType. Their product, first item first,
  transforms the item's patient coordinates into the REG object's own frame
  of reference (the Registered RCS).
* Deformable Spatial Registration Storage (1.2.840.10008.5.1.4.1.1.66.3,
  PS3.3 A.39.2, C.20.3): each item of the DeformableRegistrationSequence names
  a SourceFrameOfReferenceUID and optionally a pre-deformation matrix, a
  deformation vector grid (DeformableRegistrationGridSequence:
  ImagePositionPatient, ImageOrientationPatient, GridDimensions,
  GridResolution, VectorGridData as 32-bit floats) and a post-deformation
  matrix. Applied to a point of the Registered RCS they give the point to
  sample in the source frame.

Everything that would make a registration mean something else than it seems
is refused with :class:`~plancheck.registration.records.RegistrationError`,
naming the file, the item and the matrix: matrices that are not 16 finite
values, whose last row is not ``[0, 0, 0, 1]``, that mirror, that cannot be
inverted, or that do not fit their stated type (a RIGID matrix must be a
rotation within :data:`~plancheck.registration.matrix.ORTHONORMAL_TOLERANCE`);
unknown matrix types; several items where PS3.3 allows one; an item that maps
the object's own frame onto itself other than by the identity; two items of
one frame with different matrices; vector grids whose size does not match
their dimensions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.kinds import (
    DEFORMABLE_SPATIAL_REGISTRATION_STORAGE,
    SPATIAL_REGISTRATION_STORAGE,
    sop_class_name,
)
from plancheck.model import Finding, Severity
from plancheck.registration.matrix import MatrixType, matrix_problem
from plancheck.registration.records import (
    DeformableItem,
    DeformableRegistration,
    Registration,
    RegistrationError,
    RegistrationItem,
    SpatialRegistration,
    VectorGrid,
)

__all__ = [
    "MAX_VECTOR_GRID_BYTES",
    "REGISTRATION_SOP_CLASSES",
    "read_registration",
    "registration_from_dataset",
]

REGISTRATION_SOP_CLASSES = (SPATIAL_REGISTRATION_STORAGE, DEFORMABLE_SPATIAL_REGISTRATION_STORAGE)
MAX_VECTOR_GRID_BYTES = 1024**3  # larger vector grids are refused before they are read
DIRECTION_TOLERANCE = 1e-4  # ImageOrientationPatient: unit length and orthogonality
IDENTITY_TOLERANCE = 1e-6  # an item of the object's own frame must be the identity within this

_HINT = "Export the registration again from the planning or registration system."


def read_registration(path: Path) -> Registration:
    """Read a Spatial Registration or Deformable Spatial Registration file.

    Raises
    ------
    DicomReadError
        When the file is not readable DICOM.
    RegistrationError
        When it is not a registration object, or its content cannot be used
        as it stands (see the module docstring).
    """
    path = Path(path)
    return registration_from_dataset(read_dataset(path), path=path)


def registration_from_dataset(ds: Dataset, *, path: Path | None = None) -> Registration:
    """The :class:`SpatialRegistration` or :class:`DeformableRegistration` of a dataset."""
    path = dataset_path(ds, path)
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        f = Fields(ds, path, "Spatial Registration")
        sop_class = f.text("SOPClassUID")
        if sop_class not in REGISTRATION_SOP_CLASSES:
            raise RegistrationError(
                f"is not a registration object: its SOP Class is "
                f"{sop_class_name(sop_class) if sop_class else 'missing'} ({sop_class}), not "
                "Spatial Registration or Deformable Spatial Registration",
                path=path,
                hint="Give the REG file exported with the registration.",
            )
        modality = f.upper("Modality")
        if modality != "REG":
            notes.append(
                _note(
                    Severity.WARNING,
                    "registration-modality",
                    f"{_name(path)}: Modality is {modality or 'missing'}, not REG; read as a "
                    "registration because of its SOP Class",
                    path,
                )
            )
        if sop_class == SPATIAL_REGISTRATION_STORAGE:
            reg: Registration = _spatial(f, path)
        else:
            f.what = "Deformable Spatial Registration"
            reg = _deformable(f, path)
    return replace(reg, findings=(*reg.findings, *notes))


# -- rigid -----------------------------------------------------------------------------


def _own_frame(f: Fields, path: Path | None) -> str:
    uid = f.text("FrameOfReferenceUID")
    if uid is None:
        raise RegistrationError(
            f"{f.what}: FrameOfReferenceUID is missing, so the frame of reference it registers "
            "into (the Registered RCS) is unknown",
            path=path,
            hint=_HINT,
        )
    return uid


def _spatial(f: Fields, path: Path | None) -> SpatialRegistration:
    own = _own_frame(f, path)
    items_ds = f.sequence("RegistrationSequence")
    if not items_ds:
        raise RegistrationError(
            "the Spatial Registration holds no RegistrationSequence items, so it registers nothing",
            path=path,
            hint=_HINT,
        )
    items: list[RegistrationItem] = []
    unresolved: list[str] = []
    notes: list[Finding] = []
    for k, item_ds in enumerate(items_ds, start=1):
        it = f.item(item_ds, f"Spatial Registration item {k}")
        frame = it.text("FrameOfReferenceUID")
        if frame is None:
            images = it.sequence("ReferencedImageSequence")
            if not images:
                raise RegistrationError(
                    f"Spatial Registration item {k} names neither a FrameOfReferenceUID nor "
                    "images (PS3.3 C.20.2 requires one of them)",
                    path=path,
                    hint=_HINT,
                )
            unresolved.append(
                f"item {k} names {len(images)} image(s) but no FrameOfReferenceUID; plancheck "
                "does not read the images to find their frame of reference"
            )
            continue
        where = f"Spatial Registration item {k} (frame of reference {frame})"
        registrations = it.sequence("MatrixRegistrationSequence")
        if len(registrations) != 1:
            raise RegistrationError(
                f"{where}: MatrixRegistrationSequence has {len(registrations)} items; PS3.3 "
                "C.20.2 requires exactly one",
                path=path,
                hint=_HINT,
            )
        mr = it.item(registrations[0], f"{where} MatrixRegistrationSequence item 1")
        matrices, types = _matrix_sequence(mr, "MatrixSequence", where, path)
        item = RegistrationItem(
            k, frame, matrices, types, mr.text("FrameOfReferenceTransformationComment") or ""
        )
        if _is_new(item, own, items, path, notes):
            items.append(item)
    return SpatialRegistration(
        path=path,
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        frame_of_reference_uid=own,
        items=tuple(items),
        content_date=f.text("ContentDate") or "",
        description=f.text("ContentDescription") or f.text("SeriesDescription") or "",
        unresolved=tuple(unresolved),
        findings=tuple(notes),
    )


def _is_new(
    item: RegistrationItem,
    own: str,
    earlier: list[RegistrationItem],
    path: Path | None,
    notes: list[Finding],
) -> bool:
    """Check an item against the object's own frame and earlier items; False for a repeat."""
    where = (
        f"Spatial Registration item {item.index} (frame of reference {item.frame_of_reference_uid})"
    )
    if item.frame_of_reference_uid == own and not np.allclose(
        item.matrix, np.eye(4), rtol=0.0, atol=IDENTITY_TOLERANCE
    ):
        raise RegistrationError(
            f"{where} maps the registration's own frame of reference onto itself, but its matrix "
            f"is not the identity (translation {_fmt(item.matrix[:3, 3])} mm): the registration "
            "contradicts itself",
            path=path,
            hint=_HINT,
        )
    for other in earlier:
        if other.frame_of_reference_uid != item.frame_of_reference_uid:
            continue
        if np.allclose(other.matrix, item.matrix, rtol=0.0, atol=IDENTITY_TOLERANCE):
            notes.append(
                _note(
                    Severity.INFO,
                    "registration-item-repeated",
                    f"{_name(path)}: items {other.index} and {item.index} register frame of "
                    f"reference {item.frame_of_reference_uid} with the same matrix",
                    path,
                )
            )
            return False
        raise RegistrationError(
            f"items {other.index} and {item.index} of the Spatial Registration both register "
            f"frame of reference {item.frame_of_reference_uid}, with different matrices: which "
            "one holds is unknown",
            path=path,
            hint=_HINT,
        )
    return True


def _matrix_sequence(
    f: Fields, keyword: str, where: str, path: Path | None
) -> tuple[tuple[npt.NDArray[np.float64], ...], tuple[MatrixType, ...]]:
    """The matrices and types of the items of a MatrixSequence, in order."""
    entries = f.sequence(keyword)
    if not entries:
        raise RegistrationError(f"{where}: {keyword} holds no matrix", path=path, hint=_HINT)
    pairs = [
        _matrix(f.item(entry, f"{where}, matrix {j} of {keyword}"), path)
        for j, entry in enumerate(entries, start=1)
    ]
    return tuple(m for m, _ in pairs), tuple(t for _, t in pairs)


def _matrix(m: Fields, path: Path | None) -> tuple[npt.NDArray[np.float64], MatrixType]:
    """FrameOfReferenceTransformationMatrix and its type from one item, checked."""
    label = m.what
    values = m.numbers("FrameOfReferenceTransformationMatrix")
    if values is None:
        raise RegistrationError(
            f"{label}: FrameOfReferenceTransformationMatrix is missing", path=path, hint=_HINT
        )
    text = m.upper("FrameOfReferenceTransformationMatrixType")
    if text is None:
        raise RegistrationError(
            f"{label}: FrameOfReferenceTransformationMatrixType is missing, so what the "
            "matrix may contain (RIGID, RIGID_SCALE or AFFINE) is unknown",
            path=path,
            hint=_HINT,
        )
    try:
        matrix_type = MatrixType(text)
    except ValueError:
        raise RegistrationError(
            f"{label}: FrameOfReferenceTransformationMatrixType is {text!r}; PS3.3 C.20.2.1.2 "
            "allows RIGID, RIGID_SCALE and AFFINE",
            path=path,
            hint=_HINT,
        ) from None
    problem = matrix_problem(values, matrix_type)
    if problem is not None:
        raise RegistrationError(
            f"{label} cannot be used: {problem}. Values: {_fmt(values)}",
            path=path,
            hint=_HINT,
        )
    return np.asarray(values, dtype=np.float64).reshape(4, 4), matrix_type


# -- deformable ------------------------------------------------------------------------


def _deformable(f: Fields, path: Path | None) -> DeformableRegistration:
    own = _own_frame(f, path)
    items_ds = f.sequence("DeformableRegistrationSequence")
    if not items_ds:
        raise RegistrationError(
            "the Deformable Spatial Registration holds no DeformableRegistrationSequence items",
            path=path,
            hint=_HINT,
        )
    big_endian = _big_endian(f.ds)
    items: list[DeformableItem] = []
    for k, item_ds in enumerate(items_ds, start=1):
        it = f.item(item_ds, f"Deformable Spatial Registration item {k}")
        source = it.text("SourceFrameOfReferenceUID")
        if source is None:
            raise RegistrationError(
                f"Deformable Spatial Registration item {k}: SourceFrameOfReferenceUID is missing, "
                "so the frame it registers is unknown",
                path=path,
                hint=_HINT,
            )
        where = f"Deformable Spatial Registration item {k} (source frame of reference {source})"
        pre, pre_type = _single_matrix(it, "PreDeformationMatrixRegistrationSequence", where, path)
        post, post_type = _single_matrix(
            it, "PostDeformationMatrixRegistrationSequence", where, path
        )
        grids = it.sequence("DeformableRegistrationGridSequence")
        if len(grids) > 1:
            raise RegistrationError(
                f"{where}: DeformableRegistrationGridSequence has {len(grids)} items; PS3.3 C.20.3 "
                "allows one",
                path=path,
                hint=_HINT,
            )
        grid = _grid(it.item(grids[0], f"{where} grid"), where, path, big_endian) if grids else None
        if any(i.source_frame_uid == source for i in items):
            raise RegistrationError(
                f"two items of the Deformable Spatial Registration register source frame of "
                f"reference {source}: which one holds is unknown",
                path=path,
                hint=_HINT,
            )
        items.append(
            DeformableItem(
                k,
                source,
                pre,
                pre_type,
                post,
                post_type,
                grid,
                it.text("FrameOfReferenceTransformationComment") or "",
            )
        )
    return DeformableRegistration(
        path=path,
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        frame_of_reference_uid=own,
        items=tuple(items),
        content_date=f.text("ContentDate") or "",
        description=f.text("ContentDescription") or f.text("SeriesDescription") or "",
    )


def _single_matrix(
    it: Fields, keyword: str, where: str, path: Path | None
) -> tuple[npt.NDArray[np.float64], MatrixType | None]:
    """The matrix of a pre/post deformation sequence (one item); the identity when absent."""
    entries = it.sequence(keyword)
    if not entries:
        return np.eye(4), None
    if len(entries) > 1:
        raise RegistrationError(
            f"{where}: {keyword} has {len(entries)} items; PS3.3 C.20.3 allows one",
            path=path,
            hint=_HINT,
        )
    return _matrix(it.item(entries[0], f"{where}, {keyword} item 1"), path)


def _grid(g: Fields, where: str, path: Path | None, big_endian: bool) -> VectorGrid:
    iop = g.required_numbers("ImageOrientationPatient", 6, hint=_HINT)
    ipp = g.required_numbers("ImagePositionPatient", 3, hint=_HINT)
    row, col = np.asarray(iop[:3]), np.asarray(iop[3:])
    if (
        abs(float(np.linalg.norm(row)) - 1.0) > DIRECTION_TOLERANCE
        or abs(float(np.linalg.norm(col)) - 1.0) > DIRECTION_TOLERANCE
        or abs(float(row @ col)) > DIRECTION_TOLERANCE
    ):
        raise RegistrationError(
            f"{where}: the grid's ImageOrientationPatient {_fmt(iop)} is not two orthogonal unit "
            "vectors",
            path=path,
            hint=_HINT,
        )
    dims = g.required_numbers("GridDimensions", 3, hint=_HINT)
    if not all(d >= 1 and d == int(d) for d in dims):
        raise RegistrationError(
            f"{where}: GridDimensions {dims} are not three positive integers", path=path, hint=_HINT
        )
    nx, ny, nz = (int(d) for d in dims)
    spacing = g.required_numbers("GridResolution", 3, hint=_HINT)
    if not all(s > 0 for s in spacing):
        raise RegistrationError(
            f"{where}: GridResolution {spacing} is not positive", path=path, hint=_HINT
        )
    n_bytes = 12 * nx * ny * nz
    if n_bytes > MAX_VECTOR_GRID_BYTES:
        raise RegistrationError(
            f"{where}: a vector grid of {nx} x {ny} x {nz} vectors ({n_bytes / 1024**3:.1f} GiB) is "
            f"larger than plancheck reads ({MAX_VECTOR_GRID_BYTES / 1024**3:.0f} GiB)",
            path=path,
            hint="Export the deformation on a coarser grid.",
        )
    data = g.value("VectorGridData")
    if not isinstance(data, (bytes, bytearray)):
        raise RegistrationError(f"{where}: VectorGridData is missing", path=path, hint=_HINT)
    if len(data) != n_bytes:
        raise RegistrationError(
            f"{where}: VectorGridData holds {len(data)} bytes, but GridDimensions {nx} x {ny} x {nz} "
            f"need {n_bytes} (three 32-bit floats per vector)",
            path=path,
            hint=_HINT,
        )
    vectors = np.frombuffer(bytes(data), dtype=">f4" if big_endian else "<f4").reshape(
        nz, ny, nx, 3
    )
    if np.isinf(vectors).any():
        raise RegistrationError(
            f"{where}: VectorGridData holds infinite values", path=path, hint=_HINT
        )
    axes = np.column_stack([row, col, np.cross(row, col)])
    return VectorGrid(
        np.asarray(ipp, dtype=np.float64),
        axes,
        np.asarray(spacing, dtype=np.float64),
        vectors.astype(np.float32),
    )


def _big_endian(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        return False
    from pydicom.uid import UID

    uid = UID(str(meta.TransferSyntaxUID))
    return bool(uid.is_transfer_syntax and not uid.is_little_endian)


def _fmt(values: npt.ArrayLike) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in np.asarray(values).ravel()) + "]"


def _name(path: Path | None) -> str:
    return path.name if path is not None else "the registration"


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
