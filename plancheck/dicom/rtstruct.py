"""RT Structure Set: ROIs as stacks of closed planar contours.

Each ROI of the StructureSetROISequence gets its name, its type (from the
RTROIObservationsSequence), its colour and its contours (ROIContourSequence,
matched by ROI number). Only CLOSED_PLANAR contours (and CLOSED_PLANAR_XOR,
which combine the same way) enclose volume; POINT and OPEN_PLANAR contours are
listed as having none.

Contours are grouped into axial planes: contours whose z differ by less than
:data:`PLANE_TOLERANCE_MM` lie on one plane, whose z is their mean. A closing
point that repeats the first point is dropped. Contours with fewer than three
distinct points, no area, non-finite coordinates or a z that varies by more
than :data:`PLANE_TOLERANCE_MM` (tilted) are skipped and reported, never
repaired. How the contours of a plane combine (even-odd) and how thick each
plane's slab is are decided by the DVH engine, not here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.identity import source_from_dataset
from plancheck.dicom.kinds import RT_STRUCTURE_SET_STORAGE
from plancheck.errors import DicomReadError
from plancheck.model import ContourPlane, Finding, Severity, Structure, StructureSet

__all__ = ["PLANE_TOLERANCE_MM", "read_rtstruct", "structure_set_from_dataset"]

PLANE_TOLERANCE_MM = (
    0.01  # contours closer than this in z share a plane; a larger z spread is a tilt
)
_MIN_AREA_MM2 = 1e-6
_CLOSED = ("CLOSED_PLANAR", "CLOSED_PLANAR_XOR")
_CONTOUR_DATA = 0x30060050


def read_rtstruct(path: Path) -> StructureSet:
    """Read an RT Structure Set file.

    Raises
    ------
    DicomReadError
        When the file is not a readable RT Structure Set.
    """
    path = Path(path)
    return structure_set_from_dataset(read_dataset(path), path=path)


def structure_set_from_dataset(
    ds: Dataset, *, path: Path | None = None, lenient: bool = False
) -> StructureSet:
    """The :class:`~plancheck.model.StructureSet` of an RT Structure Set dataset.

    With ``lenient``, OPEN_PLANAR contours of three or more points are read as
    closed (by their last edge), each recorded as a ``contour-closed-leniently``
    finding; by default they enclose no volume.
    """
    path = dataset_path(ds, path)
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        ss = _structure_set(ds, path, notes, lenient)
    return replace(ss, findings=tuple(notes), source=source_from_dataset(ds))


# --------------------------------------------------------------------------- the set


@dataclass
class _Roi:
    number: int
    name: str
    frame_of_reference_uid: str | None
    roi_type: str | None = None
    color: tuple[int, int, int] | None = None
    contours: list[Dataset] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)


def _structure_set(
    ds: Dataset, path: Path | None, notes: list[Finding], lenient: bool = False
) -> StructureSet:
    f = Fields(ds, path, "RTSTRUCT")
    sop_class = f.text("SOPClassUID")
    if sop_class not in (RT_STRUCTURE_SET_STORAGE, None):
        raise DicomReadError(f"is not an RT Structure Set (SOP Class UID {sop_class})", path=path)
    name = path.name if path is not None else "the structure set"
    label = f.text("StructureSetLabel") or f.text("StructureSetName") or name

    rois: dict[int, _Roi] = {}
    for k, item in enumerate(f.sequence("StructureSetROISequence")):
        r = f.item(item, f"RTSTRUCT StructureSetROISequence item {k + 1}")
        number = r.integer("ROINumber")
        if number is None:
            notes.append(
                _note(
                    Severity.WARNING,
                    "roi-without-number",
                    f"{name}: ROI item {k + 1} ({r.text('ROIName')!r}) has no ROINumber; ignored",
                    path,
                )
            )
            continue
        if number in rois:
            notes.append(
                _note(
                    Severity.WARNING,
                    "roi-duplicate-number",
                    f"{name}: ROI number {number} is used twice ({rois[number].name!r}, {r.text('ROIName')!r}); the second is ignored",
                    path,
                )
            )
            continue
        roi_name = r.text("ROIName")
        if roi_name is None:
            roi_name = f"ROI {number}"
            notes.append(
                _note(
                    Severity.WARNING,
                    "roi-without-name",
                    f"{name}: ROI {number} has no ROIName; it is called {roi_name!r}",
                    path,
                )
            )
        rois[number] = _Roi(number, roi_name, r.text("ReferencedFrameOfReferenceUID"))

    names: dict[str, list[int]] = defaultdict(list)
    for roi in rois.values():
        names[roi.name].append(roi.number)
    for roi_name, numbers in names.items():
        if len(numbers) > 1:
            notes.append(
                _note(
                    Severity.WARNING,
                    "roi-duplicate-name",
                    f"{name}: {len(numbers)} ROIs are named {roi_name!r} (numbers {numbers}); choose by number",
                    path,
                )
            )

    for k, item in enumerate(f.sequence("RTROIObservationsSequence")):
        o = f.item(item, f"RTSTRUCT RTROIObservationsSequence item {k + 1}")
        number = o.integer("ReferencedROINumber")
        if number in rois and rois[number].roi_type is None:
            rois[number].roi_type = o.upper("RTROIInterpretedType")

    for k, item in enumerate(f.sequence("ROIContourSequence")):
        c = f.item(item, f"RTSTRUCT ROIContourSequence item {k + 1}")
        number = c.integer("ReferencedROINumber")
        if number is None or number not in rois:
            notes.append(
                _note(
                    Severity.WARNING,
                    "contours-of-unknown-roi",
                    f"{name}: ROIContourSequence item {k + 1} refers to ROI {number}, which the StructureSetROISequence does not define; its contours are ignored",
                    path,
                )
            )
            continue
        roi = rois[number]
        roi.color = roi.color or _color(c)
        roi.contours.extend(c.sequence("ContourSequence"))

    frame = _frame_of_reference(f, rois, name, path, notes)
    structures = tuple(_structure(roi, f, frame, name, path, lenient) for roi in rois.values())
    return StructureSet(
        path=path if path is not None else Path(""),
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        label=label,
        frame_of_reference_uid=frame,
        structures=structures,
        patient=f.patient(),
    )


def _frame_of_reference(
    f: Fields, rois: dict[int, _Roi], name: str, path: Path | None, notes: list[Finding]
) -> str | None:
    listed = []
    for k, item in enumerate(f.sequence("ReferencedFrameOfReferenceSequence")):
        uid = f.item(item, f"RTSTRUCT ReferencedFrameOfReferenceSequence item {k + 1}").text(
            "FrameOfReferenceUID"
        )
        if uid is not None and uid not in listed:
            listed.append(uid)
    used = [r.frame_of_reference_uid for r in rois.values() if r.frame_of_reference_uid is not None]
    if listed:
        frame = max(listed, key=lambda uid: (used.count(uid), -listed.index(uid)))
        if len(listed) > 1:
            notes.append(
                _note(
                    Severity.WARNING,
                    "structure-set-with-several-frames-of-reference",
                    f"{name} references {len(listed)} frames of reference; the one of most ROIs ({frame}) is used and ROIs in the others have no volume",
                    path,
                )
            )
        return frame
    if used and len(set(used)) == 1:
        notes.append(
            _note(
                Severity.INFO,
                "structure-set-frame-from-rois",
                f"{name} has no ReferencedFrameOfReferenceSequence; its ROIs name the frame of reference {used[0]}",
                path,
            )
        )
        return used[0]
    notes.append(
        _note(
            Severity.WARNING,
            "structure-set-without-frame-of-reference",
            f"{name} names no frame of reference, so it can be linked to a plan only by an explicit "
            "reference and its position relative to the dose cannot be checked",
            path,
        )
    )
    return None


def _color(c: Fields) -> tuple[int, int, int] | None:
    try:
        values = c.numbers("ROIDisplayColor")
    except DicomReadError:
        return None
    if values is None or len(values) != 3 or not all(np.isfinite(values)):
        return None
    r, g, b = (int(min(max(v, 0), 255)) for v in values)
    return (r, g, b)


# --------------------------------------------------------------------------- one ROI


# finding code -> what happened to the contours
_SKIPS = {
    "contour-too-few-points": "skipped: fewer than 3 distinct points",
    "contour-tilted": f"skipped: tilted (z varies by more than {PLANE_TOLERANCE_MM} mm along the contour)",
    "contour-without-area": "skipped: no area (all points on a line)",
    "contour-malformed": "skipped: ContourData is not a list of finite x, y, z triplets",
    "contour-without-type": "read as CLOSED_PLANAR: ContourGeometricType is missing",
    "contour-closed-leniently": "read as closed (--lenient): OPEN_PLANAR contours closed by their last edge",
}


@dataclass
class _Skipped:
    by_code: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))

    def add(self, code: str, z: float | None) -> None:
        self.by_code[code].append(z)


def _structure(
    roi: _Roi, f: Fields, frame: str | None, set_name: str, path: Path | None, lenient: bool = False
) -> Structure:
    label = f"ROI {roi.number} {roi.name!r}"
    notes = roi.notes
    if roi.frame_of_reference_uid is None and roi.contours:
        notes.append(
            _note(
                Severity.INFO,
                "roi-without-frame-of-reference",
                f"{set_name}: {label} names no ReferencedFrameOfReferenceUID; the structure set's "
                f"frame of reference ({frame or 'none'}) is assumed",
                path,
            )
        )
    if (
        roi.frame_of_reference_uid is not None
        and frame is not None
        and roi.frame_of_reference_uid != frame
    ):
        notes.append(
            _note(
                Severity.WARNING,
                "roi-in-other-frame-of-reference",
                f"{set_name}: {label} is contoured in another frame of reference "
                f"({roi.frame_of_reference_uid}) than the structure set ({frame}); it has no volume here",
                path,
            )
        )
        return Structure(roi.number, roi.name, roi.roi_type, (), roi.color, tuple(notes))

    closed: list[tuple[float, npt.NDArray[np.float64]]] = []
    other_types: dict[str, int] = defaultdict(int)
    skipped = _Skipped()
    for k, item in enumerate(roi.contours):
        c = f.item(item, f"RTSTRUCT {label} contour {k + 1}")
        kind = c.upper("ContourGeometricType")
        read_open = lenient and kind == "OPEN_PLANAR"
        if kind is not None and kind not in _CLOSED and not read_open:
            other_types[kind] += 1
            continue
        points = _points(c, skipped)
        if points is None:
            continue
        if kind is None:
            skipped.add("contour-without-type", float(points[0, 2]))
        if read_open:
            skipped.add("contour-closed-leniently", float(points[0, 2]))
        contour = _closed_contour(points, skipped)
        if contour is not None:
            closed.append(contour)

    for code, zs in skipped.by_code.items():
        severity = Severity.INFO if code == "contour-without-type" else Severity.WARNING
        n = f"{len(zs)} contour{'s' if len(zs) != 1 else ''}"
        notes.append(
            _note(
                severity, code, f"{set_name}: {label}: {n} {_SKIPS[code]}{_planes_text(zs)}", path
            )
        )
    planes = _planes(closed)
    if other_types:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(other_types.items()))
        notes.append(
            _note(
                Severity.INFO,
                "roi-non-closed-contours",
                f"{set_name}: {label} has {kinds} contour{'s' if sum(other_types.values()) != 1 else ''}, "
                f"which enclose{'s' if sum(other_types.values()) == 1 else ''} no volume"
                + ("" if planes else "; it has no volume"),
                path,
            )
        )
    elif not planes:
        what = "no contours" if not roi.contours else "no usable closed contour"
        notes.append(
            _note(
                Severity.INFO,
                "roi-without-volume",
                f"{set_name}: {label} has {what}; it has no volume",
                path,
            )
        )
    return Structure(roi.number, roi.name, roi.roi_type, planes, roi.color, tuple(notes))


def _points(c: Fields, skipped: _Skipped) -> npt.NDArray[np.float64] | None:
    """ContourData as an (n, 3) array of finite coordinates, or None (recorded in ``skipped``)."""
    try:
        values = c.float_array("ContourData", _CONTOUR_DATA)
    except DicomReadError:
        skipped.add("contour-malformed", None)
        return None
    if values is None or values.size == 0:
        skipped.add("contour-too-few-points", None)
        return None
    if values.size % 3 or not np.all(np.isfinite(values)):
        skipped.add("contour-malformed", None)
        return None
    return values.reshape(-1, 3)


def _closed_contour(
    points: npt.NDArray[np.float64], skipped: _Skipped
) -> tuple[float, npt.NDArray[np.float64]] | None:
    z = points[:, 2]
    z_mean = float(np.mean(z))
    if float(np.ptp(z)) > PLANE_TOLERANCE_MM:
        skipped.add("contour-tilted", z_mean)
        return None
    xy = np.ascontiguousarray(points[:, :2], dtype=np.float64)
    if len(xy) > 1 and np.allclose(xy[0], xy[-1], rtol=0.0, atol=1e-6):
        xy = xy[:-1]
    if len(xy) < 3:
        skipped.add("contour-too-few-points", z_mean)
        return None
    x, y = xy[:, 0], xy[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))
    if area < _MIN_AREA_MM2:
        skipped.add("contour-without-area", z_mean)
        return None
    return z_mean, xy


def _planes(contours: list[tuple[float, npt.NDArray[np.float64]]]) -> tuple[ContourPlane, ...]:
    """Contours grouped into planes of equal z (within the tolerance), sorted by z."""
    if not contours:
        return ()
    z = np.array([c[0] for c in contours])
    order = np.argsort(z, kind="stable")
    breaks = np.flatnonzero(np.diff(z[order]) > PLANE_TOLERANCE_MM) + 1
    planes = []
    for group in np.split(order, breaks):
        members = sorted(int(i) for i in group)  # file order within a plane
        planes.append(
            ContourPlane(float(np.mean(z[members])), tuple(contours[i][1] for i in members))
        )
    return tuple(planes)


def _planes_text(zs: list[float | None]) -> str:
    known = sorted({round(z, 2) for z in zs if z is not None})
    if not known:
        return ""
    shown = ", ".join(f"{z:g}" for z in known[:6])
    more = f" and {len(known) - 6} more" if len(known) > 6 else ""
    return f" (z = {shown}{more} mm)"


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
