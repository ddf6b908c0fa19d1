"""RT Dose: the dose grid in Gy, reoriented so that its axes ascend.

Geometry (DICOM PS3.3 C.7.6.2.1.1, C.8.8.3.2): the pixel at (frame f, row i,
column j) lies at::

    IPP + j·Δc·row_dir + i·Δr·col_dir + o_f·normal,   normal = row_dir × col_dir

with ``PixelSpacing = [Δr, Δc]`` and ``o_f`` the GridFrameOffsetVector. The
vector is *relative* when its first value is 0 (offsets along the normal from
the first frame, so the frames of a feet-first grid, whose normal is -z, run
towards the feet) and *absolute* when its first value equals the z of
ImagePositionPatient (the offsets are the frames' z; the standard allows this
only for ``[1,0,0,0,1,0]``, it is read for every orientation whose frames
advance along z).

Any orientation is read. The grid's own frame (:attr:`DoseGrid.axes`) is the
row direction, the column direction and the normal, each reversed where it
points away from the patient axis it is closest to
(:func:`plancheck.geometry.frames.grid_frame`); the array is flipped along
each reversed axis, so every :class:`~plancheck.model.DoseGrid` has ascending
``x_mm``, ``y_mm``, ``z_mm`` (coordinates along its own axes) and dose indexed
(z, y, x). The four axial orientations (head/feet first, supine/prone) give the
identity frame; a grid tilted by a fraction of a degree (MR-based plans) or
an oblique one keeps its frame, and structures are brought into it before
they are sampled. Direction cosines within 1e-4 of 0 or ±1 are read as exact.
Relative dose and headers that promise more pixel data than the file holds
are refused with the reason, before any array is allocated.

Reading is split in two: :func:`dose_header_from_dataset` checks the header
and computes the axes (no pixel data), :func:`rtdose_from_dataset` then reads
the pixels (uncompressed: straight from the bytes with ``numpy.frombuffer``;
compressed: through pydicom's decoders).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from plancheck.dicom._read import (
    DECODE_ERRORS,
    Fields,
    capture_warnings,
    dataset_path,
    raw_element,
    read_dataset,
)
from plancheck.dicom.kinds import RT_DOSE_STORAGE
from plancheck.dicom.tps_dvh import tps_dvhs_from_dataset
from plancheck.errors import DicomReadError, UnsupportedDataError
from plancheck.geometry.frames import AXIS_SNAP_TOLERANCE, describe_frame, grid_frame
from plancheck.model import DoseGrid, Finding, PatientInfo, RtDose, Severity

__all__ = [
    "MAX_VOXELS",
    "DoseHeader",
    "dose_header_from_dataset",
    "read_rtdose",
    "rtdose_from_dataset",
]

# larger dose grids are refused from their header, before any pixel is read, whatever the bit
# depth: 512 Mi voxels are 2 GiB as float32 (a 512 x 512 x 300 grid has 79 Mi)
MAX_VOXELS = 512 * 1024**2
DIRECTION_TOLERANCE = AXIS_SNAP_TOLERANCE  # direction cosines this close to 0 or ±1 are exact
POSITION_TOLERANCE_MM = 1e-3  # an absolute GridFrameOffsetVector starts at the IPP z within this

_PIXEL_DATA = 0x7FE00010
_UNDEFINED_LENGTH = 0xFFFFFFFF
_UNIT_TO_GY = {"GY": 1.0, "CGY": 0.01}
_DECODER_ERRORS: tuple[type[BaseException], ...] = (*DECODE_ERRORS, RuntimeError)
_EXPORT_HINT = "Export the dose again from the planning system (absolute dose in Gy)."


@dataclass(frozen=True, eq=False)
class DoseHeader:
    """What an RTDOSE header says, checked, before its pixel data is read.

    ``x_mm``, ``y_mm``, ``z_mm`` are the ascending axes of the reoriented
    grid, coordinates along the columns of ``axes`` (its frame, the identity
    for axial grids); ``row_direction``, ``column_direction`` and
    ``flip_frames`` say which stored axes had to be reversed to get them.
    ``to_gy`` converts stored integers to Gy (DoseGridScaling and cGy).
    """

    path: Path | None
    sop_instance_uid: str
    rows: int
    columns: int
    frames: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    big_endian: bool
    compressed: bool
    transfer_syntax_uid: str | None
    dose_grid_scaling: float
    units: str
    to_gy: float
    x_mm: npt.NDArray[np.float64]
    y_mm: npt.NDArray[np.float64]
    z_mm: npt.NDArray[np.float64]
    row_direction: int  # +1: stored columns run towards +x (of the grid's frame)
    column_direction: int  # +1: stored rows run towards +y (of the grid's frame)
    frame_offsets: str  # "relative", "absolute" or "single frame"
    flip_frames: bool
    summation_type: str
    dose_type: str
    referenced_plan_uid: str | None
    referenced_beam_numbers: tuple[int, ...]
    referenced_fraction_group: int | None
    referenced_structure_set_uid: str | None
    frame_of_reference_uid: str
    patient: PatientInfo
    findings: tuple[Finding, ...] = ()
    axes: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(3))

    @property
    def n_bytes(self) -> int:
        return self.rows * self.columns * self.frames * (self.bits_allocated // 8)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.frames, self.rows, self.columns)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """(dz, dy, dx) in mm; dz is the median frame spacing (0 for one frame)."""
        dz = float(np.median(np.diff(self.z_mm))) if self.z_mm.size > 1 else 0.0
        dy = float(self.y_mm[1] - self.y_mm[0]) if self.y_mm.size > 1 else 0.0
        dx = float(self.x_mm[1] - self.x_mm[0]) if self.x_mm.size > 1 else 0.0
        return (dz, dy, dx)

    @property
    def orientation(self) -> str:
        """The stored axes' directions, e.g. ``"columns +x, rows +y, frames -z"``.

        For a grid that is not axial, the directions refer to the grid's own
        frame (x', y', z'), which is described first.
        """
        frames_up = not self.flip_frames

        def sign(up: bool) -> str:
            return "+" if up else "-"

        axial = bool(np.array_equal(self.axes, np.eye(3)))
        p = "" if axial else "'"
        text = (
            f"columns {sign(self.row_direction > 0)}x{p}, rows {sign(self.column_direction > 0)}y{p}, "
            f"frames {sign(frames_up)}z{p}"
        )
        return text if axial else f"{describe_frame(self.axes)}; {text}"

    def same_grid(self, other: DoseHeader, tolerance_mm: float = 1e-3) -> bool:
        """Whether ``other`` has the same (reoriented) grid points and frame of reference."""
        return (
            self.shape == other.shape
            and self.frame_of_reference_uid == other.frame_of_reference_uid
            and bool(np.allclose(self.axes, other.axes, rtol=0.0, atol=1e-9))
            and all(
                np.allclose(a, b, rtol=0.0, atol=tolerance_mm)
                for a, b in (
                    (self.x_mm, other.x_mm),
                    (self.y_mm, other.y_mm),
                    (self.z_mm, other.z_mm),
                )
            )
        )


def read_rtdose(path: Path, *, prescription_gy: float | None = None) -> RtDose:
    """Read an RT Dose file: its grid in Gy, reoriented, and its stored DVHs.

    Parameters
    ----------
    path : Path
        The file.
    prescription_gy : float or None
        The plan's prescription, used to resolve DVHs stored in percent of it
        (see :mod:`plancheck.dicom.tps_dvh`).

    Raises
    ------
    DicomReadError
        When the file is not a readable, complete RT Dose.
    UnsupportedDataError
        For doses plancheck refuses (relative dose, DoseType ERROR, ...).
    """
    path = Path(path)
    return rtdose_from_dataset(read_dataset(path), path=path, prescription_gy=prescription_gy)


def rtdose_from_dataset(
    ds: Dataset,
    *,
    path: Path | None = None,
    prescription_gy: float | None = None,
    header: DoseHeader | None = None,
    roi_volumes_cc: Mapping[int, float] | None = None,
) -> RtDose:
    """The :class:`~plancheck.model.RtDose` of an RT Dose dataset (reads the pixel data).

    ``header`` is the dataset's :func:`dose_header_from_dataset`, when already
    computed; ``roi_volumes_cc`` (ROI number -> cc) converts stored DVHs
    whose volumes are PERCENT. The dose is as stored (not scaled by
    fractions), in Gy.
    """
    path = dataset_path(ds, path)
    h = header if header is not None else dose_header_from_dataset(ds, path=path)
    notes: list[Finding] = list(h.findings)
    with capture_warnings(path, notes):
        dose_gy = _dose_gy(ds, h)
        grid_max = float(dose_gy.max()) if dose_gy.size else 0.0
        grid_min = float(dose_gy.min()) if dose_gy.size else 0.0
        if grid_min < 0:
            notes.append(
                _note(
                    Severity.WARNING,
                    "negative-dose",
                    f"{_name(path)} holds negative doses (down to {grid_min:.4g} Gy); they are used as stored",
                    path,
                )
            )
        dvhs, dvh_notes = tps_dvhs_from_dataset(
            ds,
            path=path,
            grid_max_gy=grid_max,
            prescription_gy=prescription_gy,
            roi_volumes_cc=roi_volumes_cc,
        )
        notes.extend(dvh_notes)
    grid = DoseGrid(dose_gy, h.x_mm, h.y_mm, h.z_mm, h.frame_of_reference_uid, h.axes)
    return RtDose(
        path=path if path is not None else Path(""),
        sop_instance_uid=h.sop_instance_uid,
        grid=grid,
        summation_type=h.summation_type,
        dose_type=h.dose_type,
        referenced_plan_uid=h.referenced_plan_uid,
        referenced_beam_numbers=h.referenced_beam_numbers,
        referenced_fraction_group=h.referenced_fraction_group,
        patient=h.patient,
        tps_dvhs=dvhs,
        findings=tuple(notes),
    )


# --------------------------------------------------------------------------- header


def dose_header_from_dataset(ds: Dataset, *, path: Path | None = None) -> DoseHeader:
    """Check an RT Dose header and compute its reoriented axes (no pixel data is read).

    Raises
    ------
    DicomReadError
        When a required attribute is missing or inconsistent.
    UnsupportedDataError
        For relative dose, an unsupported pixel format, or a grid of more
        than :data:`MAX_VOXELS` voxels.
    """
    path = dataset_path(ds, path)
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        header = _header(ds, path, notes)
    return replace(header, findings=tuple(notes))


def _header(ds: Dataset, path: Path | None, notes: list[Finding]) -> DoseHeader:
    f = Fields(ds, path, "RTDOSE")
    name = _name(path)
    sop_class = f.text("SOPClassUID")
    if sop_class not in (RT_DOSE_STORAGE, None):
        raise DicomReadError(f"is not an RT Dose (SOP Class UID {sop_class})", path=path)

    units = f.upper("DoseUnits")
    if units == "RELATIVE":
        raise UnsupportedDataError(
            "the dose is RELATIVE (DoseUnits RELATIVE): plancheck evaluates absolute doses only",
            path=path,
            hint="Export the dose in Gy from the planning system.",
        )
    if units is None:
        raise DicomReadError(
            "DoseUnits is missing, so the unit of the dose is unknown", path=path, hint=_EXPORT_HINT
        )
    if units not in _UNIT_TO_GY:
        raise UnsupportedDataError(
            f"DoseUnits {units!r} is not GY or CGY", path=path, hint=_EXPORT_HINT
        )
    if units == "CGY":
        notes.append(
            _note(Severity.INFO, "dose-in-cgy", f"{name} stores cGy; converted to Gy", path)
        )

    dose_type = f.upper("DoseType") or ""
    if dose_type == "ERROR":
        raise UnsupportedDataError(
            "DoseType is ERROR (a dose difference), not a dose",
            path=path,
            hint="Export the PHYSICAL dose.",
        )
    if dose_type == "EFFECTIVE":
        notes.append(
            _note(
                Severity.INFO,
                "effective-dose",
                f"{name} holds EFFECTIVE dose (e.g. RBE-weighted, Gy(RBE)); it is evaluated as stored",
                path,
            )
        )
    elif dose_type != "PHYSICAL":
        notes.append(
            _note(
                Severity.WARNING,
                "dose-type-unknown",
                f"{name}: DoseType is {dose_type or 'missing'}; the dose is read as stored",
                path,
            )
        )
    summation = f.upper("DoseSummationType") or ""
    if not summation:
        notes.append(
            _note(
                Severity.WARNING,
                "dose-summation-missing",
                f"{name} has no DoseSummationType, so whether it is a plan, beam or fraction dose is unknown",
                path,
            )
        )

    # pixel format and size, before anything is allocated
    rows = f.required_integer("Rows")
    columns = f.required_integer("Columns")
    frames = f.integer("NumberOfFrames")
    frames = 1 if frames is None else frames
    if rows <= 0 or columns <= 0 or frames <= 0:
        raise DicomReadError(
            f"the grid has {columns} columns, {rows} rows and {frames} frames",
            path=path,
            hint=_EXPORT_HINT,
        )
    samples = f.integer("SamplesPerPixel")
    if samples not in (None, 1):
        raise UnsupportedDataError(
            f"SamplesPerPixel is {samples}; a dose has one value per pixel", path=path
        )
    bits = f.required_integer("BitsAllocated")
    if bits not in (16, 32):
        raise UnsupportedDataError(
            f"BitsAllocated is {bits}; RT Dose pixels are 16 or 32 bits",
            path=path,
            hint=_EXPORT_HINT,
        )
    bits_stored = f.integer("BitsStored") or bits
    high_bit = f.integer("HighBit")
    if not 0 < bits_stored <= bits or (high_bit is not None and high_bit != bits_stored - 1):
        raise UnsupportedDataError(
            f"BitsStored {bits_stored} / HighBit {high_bit} do not fit BitsAllocated {bits}",
            path=path,
        )
    representation = f.integer("PixelRepresentation") or 0
    if representation not in (0, 1):
        raise DicomReadError(f"PixelRepresentation is {representation}, not 0 or 1", path=path)
    n_voxels = rows * columns * frames
    n_bytes = n_voxels * (bits // 8)
    if n_voxels > MAX_VOXELS:
        raise UnsupportedDataError(
            f"the header promises a grid of {columns} x {rows} x {frames} = {n_voxels:,} voxels "
            f"({bits} bits), more than plancheck reads ({MAX_VOXELS:,} voxels)",
            path=path,
            hint="Check the header, or export the dose on a coarser grid.",
        )
    syntax, compressed, big_endian = _transfer_syntax(ds, path)
    _check_pixel_data(ds, path, n_bytes, compressed, columns, rows, frames, bits)

    scaling = f.required_number("DoseGridScaling", hint=_EXPORT_HINT)
    if not (math.isfinite(scaling) and scaling > 0):
        raise DicomReadError(
            f"DoseGridScaling is {scaling}; it must be a positive number",
            path=path,
            hint=_EXPORT_HINT,
        )

    # geometry
    iop = f.required_numbers("ImageOrientationPatient", 6, hint=_EXPORT_HINT)
    ipp = f.required_numbers("ImagePositionPatient", 3, hint=_EXPORT_HINT)
    spacing = f.required_numbers("PixelSpacing", 2, hint=_EXPORT_HINT)
    if not all(s > 0 for s in spacing):
        raise DicomReadError(
            f"PixelSpacing {spacing} is not positive", path=path, hint=_EXPORT_HINT
        )
    try:
        axes, (row_dir, col_dir, normal_dir) = grid_frame(iop[:3], iop[3:])
    except ValueError as exc:
        raise DicomReadError(
            f"ImageOrientationPatient {[round(v, 6) for v in iop]} is not a valid orientation: {exc}",
            path=path,
            hint=_EXPORT_HINT,
        ) from exc
    origin = axes.T @ np.asarray(ipp, dtype=np.float64)  # IPP in the grid's frame
    dy, dx = spacing
    x = origin[0] + row_dir * dx * np.arange(columns, dtype=np.float64)
    y = origin[1] + col_dir * dy * np.arange(rows, dtype=np.float64)
    stored_normal_z = float(axes[2, 2]) * normal_dir  # z component of row_dir x col_dir
    z, offsets_kind = _frame_z(
        f, ipp[2], float(origin[2]), normal_dir, stored_normal_z, frames, path, notes
    )
    flip_frames = bool(z.size > 1 and z[1] < z[0])

    frame = f.required_text(
        "FrameOfReferenceUID",
        hint="Without it the dose cannot be placed relative to the structures; export it again.",
    )
    plan_uid, fraction_group, beams = _plan_reference(f, name, path, notes)
    ss_refs = f.referenced_uids("ReferencedStructureSetSequence")
    return DoseHeader(
        path=path,
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        rows=rows,
        columns=columns,
        frames=frames,
        bits_allocated=bits,
        bits_stored=bits_stored,
        signed=representation == 1,
        big_endian=big_endian,
        compressed=compressed,
        transfer_syntax_uid=syntax,
        dose_grid_scaling=scaling,
        units=units,
        to_gy=scaling * _UNIT_TO_GY[units],
        x_mm=np.sort(x),
        y_mm=np.sort(y),
        z_mm=z[::-1].copy() if flip_frames else z,
        row_direction=row_dir,
        column_direction=col_dir,
        frame_offsets=offsets_kind,
        flip_frames=flip_frames,
        summation_type=summation,
        dose_type=dose_type,
        referenced_plan_uid=plan_uid,
        referenced_beam_numbers=beams,
        referenced_fraction_group=fraction_group,
        referenced_structure_set_uid=ss_refs[0] if ss_refs else None,
        frame_of_reference_uid=frame,
        patient=f.patient(),
        axes=axes,
    )


def _transfer_syntax(ds: Dataset, path: Path | None = None) -> tuple[str | None, bool, bool]:
    """(UID, compressed, big endian) of the dataset's transfer syntax (in-memory: uncompressed LE).

    Raises
    ------
    DicomReadError
        When the file meta names a UID that is not a transfer syntax.
    """
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        return None, False, False
    from pydicom.uid import UID

    uid = UID(str(meta.TransferSyntaxUID))
    if not uid.is_transfer_syntax:
        raise DicomReadError(
            f"the file meta's TransferSyntaxUID {uid} is not a transfer syntax, so the pixel "
            "data cannot be decoded",
            path=path,
            hint=_EXPORT_HINT,
        )
    return str(uid), bool(uid.is_compressed), not bool(uid.is_little_endian)


def _check_pixel_data(
    ds: Dataset,
    path: Path | None,
    n_bytes: int,
    compressed: bool,
    columns: int,
    rows: int,
    frames: int,
    bits: int,
) -> None:
    element = raw_element(ds, _PIXEL_DATA)
    if element is None:
        raise DicomReadError("the file holds no PixelData", path=path, hint=_EXPORT_HINT)
    length = getattr(element, "length", None)
    if length is None:  # a decoded element (datasets built in memory)
        value = getattr(element, "value", None)
        length = len(value) if isinstance(value, (bytes, bytearray)) else None
    if compressed or length is None or length == _UNDEFINED_LENGTH:
        return
    if length < n_bytes:
        raise DicomReadError(
            f"PixelData holds {length} bytes, but {columns} columns x {rows} rows x {frames} frames at "
            f"{bits} bits need {n_bytes}",
            path=path,
            hint="The file is truncated or its header is wrong; export it again.",
        )


def _frame_z(
    f: Fields,
    z0: float,
    origin_z: float,
    normal_dir: int,
    stored_normal_z: float,
    frames: int,
    path: Path | None,
    notes: list[Finding],
) -> tuple[npt.NDArray[np.float64], str]:
    """Each stored frame's coordinate along the grid's z axis, and how the offsets were read.

    ``z0`` is the patient z of ImagePositionPatient, ``origin_z`` its coordinate
    along the grid's z axis, ``normal_dir`` +1 when the stored frames' normal
    (row × column) points along that axis, ``stored_normal_z`` the normal's
    patient z component.
    """
    offsets = f.numbers("GridFrameOffsetVector")
    if offsets is None:
        if frames == 1:
            return np.array([origin_z]), "single frame"
        raise DicomReadError(
            f"the grid has {frames} frames but no GridFrameOffsetVector, so the frames' positions are unknown",
            path=path,
            hint=_EXPORT_HINT,
        )
    o = np.asarray(offsets, dtype=np.float64)
    if o.size != frames:
        raise DicomReadError(
            f"GridFrameOffsetVector has {o.size} values for {frames} frame{'s' if frames != 1 else ''}",
            path=path,
            hint=_EXPORT_HINT,
        )
    if not np.all(np.isfinite(o)):
        raise DicomReadError(
            "GridFrameOffsetVector holds a value that is not a finite number", path=path
        )
    if o[0] == 0.0:
        z, kind = origin_z + normal_dir * o, "relative"
    elif abs(o[0] - z0) <= POSITION_TOLERANCE_MM:
        if abs(stored_normal_z) < 0.5:
            raise DicomReadError(
                f"GridFrameOffsetVector starts at the z of ImagePositionPatient ({z0:g}), so it "
                "would give the frames' z positions, but the frames of this grid do not advance "
                "along z (their normal is more than 60° from it)",
                path=path,
                hint="Export the dose with relative frame offsets (starting at 0).",
            )
        # frame k lies (o_k - z0) / n_z along the stored normal from the first
        z, kind = origin_z + normal_dir * (o - z0) / stored_normal_z, "absolute"
        if stored_normal_z * normal_dir == 1.0:
            z = o.copy()  # axial frames: the stored positions are the coordinates
    else:
        raise DicomReadError(
            f"GridFrameOffsetVector starts at {o[0]:g}, which is neither 0 (relative offsets) nor the z "
            f"of ImagePositionPatient, {z0:g} (absolute positions)",
            path=path,
            hint=_EXPORT_HINT,
        )
    if z.size > 1:
        step = np.diff(z)
        if not (np.all(step > 0) or np.all(step < 0)):
            what = "repeats a value" if np.any(step == 0) else "is not monotonic"
            raise DicomReadError(
                f"GridFrameOffsetVector {what}: frames must lie on distinct planes in order",
                path=path,
                hint=_EXPORT_HINT,
            )
        gaps = np.abs(step)
        if float(gaps.max() - gaps.min()) > POSITION_TOLERANCE_MM:
            notes.append(
                _note(
                    Severity.INFO,
                    "uneven-frame-spacing",
                    f"{_name(path)}: the dose frames are unevenly spaced ({gaps.min():g} to {gaps.max():g} mm); "
                    "interpolation follows the actual positions",
                    path,
                )
            )
    return z, kind


def _plan_reference(
    f: Fields, name: str, path: Path | None, notes: list[Finding]
) -> tuple[str | None, int | None, tuple[int, ...]]:
    items = f.sequence("ReferencedRTPlanSequence")
    if not items:
        return None, None, ()
    if len(items) > 1:
        notes.append(
            _note(
                Severity.WARNING,
                "dose-references-several-plans",
                f"{name} references {len(items)} plans; only the first is used for linking",
                path,
            )
        )
    ref = f.item(items[0], "RTDOSE ReferencedRTPlanSequence item 1")
    groups = ref.sequence("ReferencedFractionGroupSequence")
    if not groups:
        return ref.text("ReferencedSOPInstanceUID"), None, ()
    g = ref.item(groups[0], "RTDOSE ReferencedFractionGroupSequence item 1")
    beams = []
    for k, b in enumerate(g.sequence("ReferencedBeamSequence")):
        number = g.item(b, f"RTDOSE ReferencedBeamSequence item {k + 1}").integer(
            "ReferencedBeamNumber"
        )
        if number is not None:
            beams.append(number)
    return (
        ref.text("ReferencedSOPInstanceUID"),
        g.integer("ReferencedFractionGroupNumber"),
        tuple(beams),
    )


# --------------------------------------------------------------------------- pixels


def _dose_gy(ds: Dataset, h: DoseHeader) -> npt.NDArray[np.float32]:
    """The stored values as Gy, (frame, row, column) with ascending z, y, x."""
    stored = _stored_values(ds, h)
    if h.bits_stored < h.bits_allocated:
        unused = h.bits_allocated - h.bits_stored
        # signed: sign-extend from the stored bits; unsigned: clear the unused high bits
        stored = (stored << unused) >> unused if h.signed else stored & ((1 << h.bits_stored) - 1)
    if h.flip_frames:
        stored = stored[::-1]
    if h.column_direction < 0:
        stored = stored[:, ::-1]
    if h.row_direction < 0:
        stored = stored[:, :, ::-1]
    dose = stored.astype(np.float32)
    dose *= np.float32(h.to_gy)
    return np.ascontiguousarray(dose)


def _stored_values(ds: Dataset, h: DoseHeader) -> npt.NDArray[np.integer]:
    shape = h.shape
    if h.compressed:
        try:
            array = np.asarray(ds.pixel_array)
        except _DECODER_ERRORS as exc:
            raise UnsupportedDataError(
                f"the pixel data is compressed (transfer syntax {h.transfer_syntax_uid}) and cannot be "
                f"decoded here ({type(exc).__name__}: {exc})",
                path=h.path,
                hint="Install a pydicom decoder plugin (pylibjpeg, gdcm) or export the dose uncompressed.",
            ) from exc
        if array.size != h.rows * h.columns * h.frames:
            raise DicomReadError(
                f"the decoded pixel data has {array.size} values, the header promises {h.rows * h.columns * h.frames}",
                path=h.path,
            )
        return array.reshape(shape)
    try:
        data = ds.PixelData
    except DECODE_ERRORS as exc:
        raise DicomReadError(
            f"the pixel data cannot be read ({type(exc).__name__}: {exc})",
            path=h.path,
            hint="The file may have been moved or changed since the folder was indexed.",
        ) from exc
    if not isinstance(data, (bytes, bytearray)) or len(data) < h.n_bytes:
        have = len(data) if isinstance(data, (bytes, bytearray)) else 0
        raise DicomReadError(
            f"PixelData holds {have} bytes, the header promises {h.n_bytes}",
            path=h.path,
            hint="The file is truncated or its header is wrong; export it again.",
        )
    kind = "i" if h.signed else "u"
    dtype = np.dtype(f"{'>' if h.big_endian else '<'}{kind}{h.bits_allocated // 8}")
    return np.frombuffer(data, dtype=dtype, count=h.rows * h.columns * h.frames).reshape(shape)


def _name(path: Path | None) -> str:
    return path.name if path is not None else "the RTDOSE"


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
