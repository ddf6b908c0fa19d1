"""A corpus of bad inputs derived from a good phantom RT set.

Every builder receives a freshly written, valid phantom set (RTSTRUCT, RTPLAN,
RTDOSE, written by :func:`plancheck.phantoms.build.write_phantom`) in a folder
and damages it in one way. The tests run ``plancheck`` on the result and check
the expected outcome: an input error (exit 3) with one clear message, or a
result (exit 0) that records a finding.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset

from plancheck.dicom.discover import MAX_DEPTH
from plancheck.phantoms.build import PhantomCase, PhantomSpec, standard_spec, write_phantom

# a ROI name written as a placeholder, then replaced byte for byte by latin-1 text
LATIN1_PLACEHOLDER = b"SphXre"
LATIN1_NAME = "Sph\xe8re".encode("latin-1")  # 'Sphère' in latin-1: invalid UTF-8
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
UNKNOWN_UID = "1.2.826.0.1.3680043.10.543.999999.1"
NESTING_DEPTH = 50


def small_spec(name: str = "sphere", **kwargs: Any) -> PhantomSpec:
    """A small sphere phantom with a coarse dose grid: a few kB per file."""
    return standard_spec(
        "sphere",
        radius_mm=10.0,
        dose_grid_mm=4.0,
        contour_spacing_mm=3.0,
        n_vertices=16,
        name=name,
        **kwargs,
    )


def good_set(out_dir: Path, spec: PhantomSpec | None = None) -> PhantomCase:
    """Write the good phantom set every bad input starts from."""
    return write_phantom(spec if spec is not None else small_spec(), out_dir)


# --------------------------------------------------------------------------- helpers


def _edit(path: Path, change: Callable[[Dataset], None]) -> None:
    """Read ``path``, apply ``change`` to the dataset and write it back in place."""
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)


def _truncate(fraction: float) -> Callable[[PhantomCase], None]:
    def build(case: PhantomCase) -> None:
        data = case.rtdose_path.read_bytes()
        case.rtdose_path.write_bytes(data[: int(len(data) * fraction)])

    return build


def _scaling(text: str) -> Callable[[PhantomCase], None]:
    """Store ``text`` as DoseGridScaling, patching the element's bytes (pydicom will not write NaN)."""

    def build(case: PhantomCase) -> None:
        data = case.rtdose_path.read_bytes()
        # explicit VR little endian: tag (3004,000E), 'DS', 2-byte length, value
        head = b"\x04\x30\x0e\x00DS"
        at = data.index(head)
        length = int.from_bytes(data[at + 6 : at + 8], "little")
        raw = text.encode("ascii")
        if len(raw) % 2:
            raw += b" "
        patched = head + len(raw).to_bytes(2, "little") + raw
        case.rtdose_path.write_bytes(data[:at] + patched + data[at + 8 + length :])

    return build


def _offsets(change: Callable[[list[float]], list[float]]) -> Callable[[PhantomCase], None]:
    def build(case: PhantomCase) -> None:
        def edit(ds: Dataset) -> None:
            ds.GridFrameOffsetVector = change([float(v) for v in ds.GridFrameOffsetVector])

        _edit(case.rtdose_path, edit)

    return build


def _wrong_length(offsets: list[float]) -> list[float]:
    return offsets[:-1]


def _not_monotonic(offsets: list[float]) -> list[float]:
    out = list(offsets)
    out[1], out[2] = out[2], out[1]
    return out


def _repeated(offsets: list[float]) -> list[float]:
    out = list(offsets)
    out[2] = out[1]
    return out


def _edit_contour(
    case: PhantomCase, change: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
) -> None:
    """Replace the points of the middle contour of the first ROI by ``change(points)``."""

    def edit(ds: Dataset) -> None:
        items = ds.ROIContourSequence[0].ContourSequence
        c = items[len(items) // 2]
        pts = np.asarray([float(v) for v in c.ContourData]).reshape(-1, 3)
        new = change(pts)
        c.ContourData = [f"{v:.6g}" for v in new.ravel()]
        c.NumberOfContourPoints = len(new)

    _edit(case.rtstruct_path, edit)


def _contour_change(
    change: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> Callable[[PhantomCase], None]:
    def build(case: PhantomCase) -> None:
        _edit_contour(case, change)

    return build


def _two_points(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return pts[:2]


def _duplicated(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.repeat(pts, 2, axis=0)


def _bow_tie(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    z = pts[0, 2]
    return np.array([[-5.0, -5.0, z], [5.0, 5.0, z], [5.0, -5.0, z], [-5.0, 5.0, z]])


def _off_plane(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = pts.copy()
    out[:, 2] += 1.1  # between the 3 mm contour planes
    return out


def _tilted(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = pts.copy()
    out[:, 2] += 0.2 * (out[:, 0] - out[:, 0].mean())  # a plane tilted by ~11 degrees
    return out


# --------------------------------------------------------------------------- builders


def not_dicom_beside(case: PhantomCase) -> None:
    (case.directory / "notes.txt").write_text("exported by hand\n", encoding="utf-8")
    (case.directory / "garbage.dcm").write_bytes(b"\x00\x01not dicom at all" * 40)


def wrong_sop_class(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID(CT_IMAGE_STORAGE)

    _edit(case.rtdose_path, edit)


def missing_sop_class(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        del ds.SOPClassUID

    _edit(case.rtdose_path, edit)


def missing_sop_class_everywhere(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        del ds.SOPClassUID
        del ds.file_meta.MediaStorageSOPClassUID

    _edit(case.rtdose_path, edit)


def unknown_transfer_syntax(case: PhantomCase) -> None:
    """Replace the file meta's transfer syntax by a UID of the same length that is not one.

    pydicom refuses to write such a file, so the bytes are patched.
    """
    data = case.rtdose_path.read_bytes()
    explicit_le = b"1.2.840.10008.1.2.1\x00"
    assert data.count(explicit_le) == 1
    case.rtdose_path.write_bytes(data.replace(explicit_le, b"1.2.840.10008.1.2.9\x00"))


def missing_pixel_data(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        del ds.PixelData

    _edit(case.rtdose_path, edit)


def short_pixel_data(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        data = bytes(ds.PixelData)
        ds.PixelData = data[: (len(data) // 2) & ~3]

    _edit(case.rtdose_path, edit)


def rotated_in_plane(case: PhantomCase) -> None:
    """The dose grid turned 10° about z: still axial planes, read in its own frame."""
    a = math.radians(10.0)

    def edit(ds: Dataset) -> None:
        ds.ImageOrientationPatient = [
            f"{v:.8f}" for v in (math.cos(a), math.sin(a), 0.0, -math.sin(a), math.cos(a), 0.0)
        ]

    _edit(case.rtdose_path, edit)


def tilted_against_contours(case: PhantomCase) -> None:
    """The dose grid tilted 10° about x: its frames cut the axial contour planes."""
    a = math.radians(10.0)

    def edit(ds: Dataset) -> None:
        ds.ImageOrientationPatient = [
            f"{v:.8f}" for v in (1.0, 0.0, 0.0, 0.0, math.cos(a), math.sin(a))
        ]

    _edit(case.rtdose_path, edit)


def roi_without_frame(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        del ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID

    _edit(case.rtstruct_path, edit)


def roi_unknown_frame(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID = UNKNOWN_UID

    _edit(case.rtstruct_path, edit)


def two_structure_sets(case: PhantomCase) -> None:
    copy = case.directory / "RS.copy.dcm"

    def edit(ds: Dataset) -> None:
        ds.SOPInstanceUID = UNKNOWN_UID
        ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(UNKNOWN_UID)
        ds.StructureSetLabel = "second"

    shutil.copyfile(case.rtstruct_path, copy)
    _edit(copy, edit)


def dose_references_missing_plan(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID = UNKNOWN_UID

    _edit(case.rtdose_path, edit)


def plan_file_missing(case: PhantomCase) -> None:
    case.rtplan_path.unlink()


def dose_of_other_patient(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.PatientID = "OTHER-PATIENT"
        ds.PatientName = "OTHER^PATIENT"

    _edit(case.rtdose_path, edit)


def two_patients(case: PhantomCase) -> None:
    other = case.directory / "other"
    other.mkdir()
    write_phantom(small_spec(name="other", dose_at_centre_gy=20.0), other)


def huge_header(case: PhantomCase) -> None:
    n = 2000

    def edit(ds: Dataset) -> None:
        ds.Rows = n
        ds.Columns = n
        ds.NumberOfFrames = n
        ds.GridFrameOffsetVector = [f"{2.0 * k:g}" for k in range(n)]

    _edit(case.rtdose_path, edit)


def non_utf8_roi_name(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        if "SpecificCharacterSet" in ds:
            del ds.SpecificCharacterSet
        ds.StructureSetROISequence[0].ROIName = LATIN1_PLACEHOLDER.decode("ascii")
        for obs in ds.get("RTROIObservationsSequence", []):
            if "ROIObservationLabel" in obs:
                del obs.ROIObservationLabel

    _edit(case.rtstruct_path, edit)
    data = case.rtstruct_path.read_bytes()
    assert data.count(LATIN1_PLACEHOLDER) == 1
    case.rtstruct_path.write_bytes(data.replace(LATIN1_PLACEHOLDER, LATIN1_NAME))


def _nested(depth: int) -> Callable[[PhantomCase], None]:
    """Move the DICOM files ``depth`` folders down."""

    def build(case: PhantomCase) -> None:
        deep = case.directory
        for k in range(depth):
            deep = deep / f"d{k}"
        deep.mkdir(parents=True)
        for p in (case.rtstruct_path, case.rtplan_path, case.rtdose_path):
            shutil.move(str(p), deep / p.name)

    return build


def symlink_loop(case: PhantomCase) -> None:
    sub = case.directory / "sub"
    sub.mkdir()
    os.symlink("..", sub / "loop")


def duplicate_identical(case: PhantomCase) -> None:
    shutil.copyfile(case.rtdose_path, case.directory / "RD.copy.dcm")


def duplicate_differs(case: PhantomCase) -> None:
    """A second file with the dose's SOP Instance UID and 10 % more dose."""
    copy = case.directory / "RD.copy.dcm"
    shutil.copyfile(case.rtdose_path, copy)

    def edit(ds: Dataset) -> None:
        ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * 1.1:.10g}"

    _edit(copy, edit)


def unreadable_dose_beside(case: PhantomCase) -> None:
    """A second RTDOSE of the same plan (its own UID), cut short in transfer."""
    copy = case.directory / "RD.second.dcm"
    shutil.copyfile(case.rtdose_path, copy)

    def edit(ds: Dataset) -> None:
        ds.SOPInstanceUID = UNKNOWN_UID
        ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(UNKNOWN_UID)
        ds.DoseSummationType = "BEAM"

    _edit(copy, edit)
    data = copy.read_bytes()
    copy.write_bytes(data[: len(data) // 2])


def junk_after_preamble(case: PhantomCase) -> None:
    """A file that begins like DICOM (preamble and DICM) and then holds random bytes."""
    rng = np.random.default_rng(8)
    junk = b"\0" * 128 + b"DICM" + rng.integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    (case.directory / "junk.dcm").write_bytes(junk)


def dose_in_cgy_labelled_gy(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * 100:.10g}"

    _edit(case.rtdose_path, edit)


def whole_plan_labelled_one_session(case: PhantomCase) -> None:
    """A 10-fraction plan whose whole dose is labelled FRACTION_SESSION (so multiplied by 10)."""

    def plan(ds: Dataset) -> None:
        ds.FractionGroupSequence[0].NumberOfFractionsPlanned = 10

    def dose(ds: Dataset) -> None:
        ds.DoseSummationType = "FRACTION_SESSION"

    _edit(case.rtplan_path, plan)
    _edit(case.rtdose_path, dose)


def control_point_dose(case: PhantomCase) -> None:
    def edit(ds: Dataset) -> None:
        ds.DoseSummationType = "CONTROL_POINT"

    _edit(case.rtdose_path, edit)


@dataclass(frozen=True)
class BadInput:
    """One bad input: how it is made from a good set."""

    name: str
    build: Callable[[PhantomCase], None]


CORPUS: tuple[BadInput, ...] = (
    BadInput("truncated-10", _truncate(0.10)),
    BadInput("truncated-50", _truncate(0.50)),
    BadInput("truncated-99", _truncate(0.99)),
    BadInput("not-dicom-beside", not_dicom_beside),
    BadInput("wrong-sop-class", wrong_sop_class),
    BadInput("missing-sop-class", missing_sop_class),
    BadInput("missing-sop-class-everywhere", missing_sop_class_everywhere),
    BadInput("unknown-transfer-syntax", unknown_transfer_syntax),
    BadInput("missing-pixel-data", missing_pixel_data),
    BadInput("short-pixel-data", short_pixel_data),
    BadInput("scaling-nan", _scaling("NaN")),
    BadInput("scaling-inf", _scaling("inf")),
    BadInput("scaling-negative", _scaling("-1e-5")),
    BadInput("scaling-zero", _scaling("0")),
    BadInput("offsets-wrong-length", _offsets(_wrong_length)),
    BadInput("offsets-not-monotonic", _offsets(_not_monotonic)),
    BadInput("offsets-repeated", _offsets(_repeated)),
    BadInput("dose-rotated-in-plane", rotated_in_plane),
    BadInput("dose-tilted-against-contours", tilted_against_contours),
    BadInput("contour-two-points", _contour_change(_two_points)),
    BadInput("contour-duplicated-points", _contour_change(_duplicated)),
    BadInput("contour-bow-tie", _contour_change(_bow_tie)),
    BadInput("contour-off-plane", _contour_change(_off_plane)),
    BadInput("contour-tilted", _contour_change(_tilted)),
    BadInput("roi-without-frame", roi_without_frame),
    BadInput("roi-unknown-frame", roi_unknown_frame),
    BadInput("two-structure-sets", two_structure_sets),
    BadInput("dose-references-missing-plan", dose_references_missing_plan),
    BadInput("plan-file-missing", plan_file_missing),
    BadInput("dose-of-other-patient", dose_of_other_patient),
    BadInput("two-patients", two_patients),
    BadInput("huge-header", huge_header),
    BadInput("non-utf8-roi-name", non_utf8_roi_name),
    BadInput("deeply-nested", _nested(NESTING_DEPTH)),
    BadInput("nested-beyond-limit", _nested(MAX_DEPTH + 2)),
    BadInput("symlink-loop", symlink_loop),
    BadInput("duplicate-identical", duplicate_identical),
    BadInput("duplicate-differs", duplicate_differs),
    BadInput("unreadable-dose-beside", unreadable_dose_beside),
    BadInput("junk-after-preamble", junk_after_preamble),
    BadInput("dose-in-cgy-labelled-gy", dose_in_cgy_labelled_gy),
    BadInput("whole-plan-labelled-one-session", whole_plan_labelled_one_session),
    BadInput("control-point-dose", control_point_dose),
)


# --------------------------------------------------------------------------- verdict corpus
#
# Ways to a false PASS: each builder damages a spine course written by the phantom generator
# (plancheck.phantoms.spine) so that, evaluated naively, it would still pass. `plancheck
# evaluate` must end not-PASS with the reason in its output (tests/robustness/test_verdict.py).


@dataclass(frozen=True)
class SpineCase:
    """A spine course on disk: the folder and its files."""

    directory: Path
    rtstruct: Path
    rtplans: tuple[Path, ...]
    rtdoses: tuple[Path, ...]


def spine_set(out_dir: Path, variant: str = "sib-pass") -> SpineCase:
    """Write the spine phantom ``variant`` (sib-pass, sib-cord-fail, sib-seq-course)."""
    from plancheck.phantoms.spine import write_spine

    paths = write_spine(variant, out_dir)
    return SpineCase(paths.directory, paths.rtstruct, paths.rtplans, paths.rtdoses)


def crop_dose_z(path: Path, keep: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.bool_]]) -> None:
    """Keep only the RTDOSE frames whose patient z satisfies ``keep`` (a cropped dose grid)."""

    def edit(ds: Dataset) -> None:
        offsets = np.array([float(v) for v in ds.GridFrameOffsetVector])
        z0 = float(ds.ImagePositionPatient[2])
        z = z0 + offsets  # HFS sample sets: relative offsets along +z
        mask = keep(z)
        frames = np.flatnonzero(mask)
        assert frames.size >= 2, "crop leaves fewer than two frames"
        pixels = ds.pixel_array[frames]
        ds.NumberOfFrames = int(frames.size)
        ds.ImagePositionPatient = [
            ds.ImagePositionPatient[0],
            ds.ImagePositionPatient[1],
            f"{z[frames[0]]:.6g}",
        ]
        ds.GridFrameOffsetVector = [f"{v - offsets[frames[0]]:.6g}" for v in offsets[frames]]
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        if "DVHSequence" in ds:
            del ds.DVHSequence

    _edit(path, edit)


def _roi_number(ds: Dataset, name: str) -> int:
    for item in ds.StructureSetROISequence:
        if item.ROIName == name:
            return int(item.ROINumber)
    raise KeyError(name)


def _contours_of(ds: Dataset, name: str) -> Any:
    number = _roi_number(ds, name)
    return next(r for r in ds.ROIContourSequence if int(r.ReferencedROINumber) == number)


def damage_roi_contours(
    path: Path, roi: str, z_range: tuple[float, float], change: Callable[[Dataset], None]
) -> list[float]:
    """Apply ``change`` to every contour item of ``roi`` on planes within ``z_range``; their z."""
    touched: list[float] = []

    def edit(ds: Dataset) -> None:
        for c in _contours_of(ds, roi).ContourSequence:
            z = float(c.ContourData[2])
            if z_range[0] <= z <= z_range[1]:
                change(c)
                touched.append(z)

    _edit(path, edit)
    assert touched, f"no contour of {roi} in {z_range}"
    return touched


def _open_planar(c: Dataset) -> None:
    c.ContourGeometricType = "OPEN_PLANAR"


def _zero_area(c: Dataset) -> None:
    pts = np.asarray([float(v) for v in c.ContourData]).reshape(-1, 3)
    z = pts[0, 2]
    x0, y0 = pts[:, 0].mean(), pts[:, 1].mean()
    line = np.array([[x0 - 3, y0, z], [x0, y0, z], [x0 + 3, y0, z]])  # collinear: no area
    c.ContourData = [f"{v:.6g}" for v in line.ravel()]
    c.NumberOfContourPoints = 3


def _two_points_contour(c: Dataset) -> None:
    pts = np.asarray([float(v) for v in c.ContourData]).reshape(-1, 3)[:2]
    c.ContourData = [f"{v:.6g}" for v in pts.ravel()]
    c.NumberOfContourPoints = 2


def _tilted_contour(c: Dataset) -> None:
    pts = np.asarray([float(v) for v in c.ContourData]).reshape(-1, 3)
    pts[:, 2] += 0.3 * (pts[:, 0] - pts[:, 0].mean())
    c.ContourData = [f"{v:.6g}" for v in pts.ravel()]


CONTOUR_DAMAGE: dict[str, Callable[[Dataset], None]] = {
    "open-planar": _open_planar,
    "zero-area": _zero_area,
    "two-points": _two_points_contour,
    "tilted": _tilted_contour,
}


def remove_rois(path: Path, *names: str) -> None:
    """Delete ROIs (their definition, contours and observations) from a structure set."""

    def edit(ds: Dataset) -> None:
        numbers = {_roi_number(ds, n) for n in names}
        ds.StructureSetROISequence = [
            r for r in ds.StructureSetROISequence if int(r.ROINumber) not in numbers
        ]
        ds.ROIContourSequence = [
            r for r in ds.ROIContourSequence if int(r.ReferencedROINumber) not in numbers
        ]
        if "RTROIObservationsSequence" in ds:
            ds.RTROIObservationsSequence = [
                r
                for r in ds.RTROIObservationsSequence
                if int(r.ReferencedROINumber) not in numbers
            ]

    _edit(path, edit)


def rename_roi(path: Path, old: str, new: str) -> None:
    def edit(ds: Dataset) -> None:
        for item in ds.StructureSetROISequence:
            if item.ROIName == old:
                item.ROIName = new
        for obs in ds.get("RTROIObservationsSequence", []):
            if getattr(obs, "ROIObservationLabel", None) == old:
                obs.ROIObservationLabel = new

    _edit(path, edit)


def set_fractions(path: Path, n: int) -> None:
    def edit(ds: Dataset) -> None:
        ds.FractionGroupSequence[0].NumberOfFractionsPlanned = n

    _edit(path, edit)


def add_fraction_group(path: Path, n: int) -> None:
    """A second fraction group of ``n`` fractions delivering the same beams (10 + n)."""

    def edit(ds: Dataset) -> None:
        first = ds.FractionGroupSequence[0]
        second = copy.deepcopy(first)
        second.FractionGroupNumber = int(first.FractionGroupNumber) + 1
        second.NumberOfFractionsPlanned = n
        ds.FractionGroupSequence.append(second)

    _edit(path, edit)


def drop_prescriptions(path: Path) -> None:
    def edit(ds: Dataset) -> None:
        for item in ds.get("DoseReferenceSequence", []):
            if "TargetPrescriptionDose" in item:
                del item.TargetPrescriptionDose

    _edit(path, edit)


def unreadable_dose_beside(case: SpineCase) -> Path:
    """A truncated second RTDOSE of the same plan (its own SOP Instance UID) beside the good one."""
    copy_path = case.directory / "RD.second_export.dcm"

    def edit(ds: Dataset) -> None:
        ds.SOPInstanceUID = UNKNOWN_UID
        ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(UNKNOWN_UID)

    shutil.copyfile(case.rtdoses[0], copy_path)
    _edit(copy_path, edit)
    data = copy_path.read_bytes()
    copy_path.write_bytes(data[: len(data) // 2])
    return copy_path


def duplicate_uid_other_content(case: SpineCase) -> Path:
    """A copy of the RTDOSE with the same SOP Instance UID and a dose 20 % higher."""
    copy_path = case.directory / "RD.copy_same_uid.dcm"
    shutil.copyfile(case.rtdoses[0], copy_path)

    def edit(ds: Dataset) -> None:
        ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * 1.2:.8g}"

    _edit(copy_path, edit)
    return copy_path
