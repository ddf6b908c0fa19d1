"""RT Structure Set: ROIs as stacks of closed planar contours.

Each ROI of the StructureSetROISequence gets its name, its type (from the
RTROIObservationsSequence), its colour and its contours (ROIContourSequence,
matched by ROI number). Only CLOSED_PLANAR contours (and CLOSED_PLANAR_XOR,
which combine the same way) enclose volume; POINT and OPEN_PLANAR contours are
listed as having none.

**Planes and the structure set's frame.** Contours are drawn on the slices of
an image series, usually axial. The structure set's plane orientation is the
one most of its contours share (:func:`_set_frame`): axial when they all lie at
one z each (within :data:`PLANE_TOLERANCE_MM`), otherwise the mean normal of
the contours of the most common orientation, for structure sets drawn on a
tilted or oblique series (MR-based plans are tilted by fractions of a degree).
The contours are stored in that frame (:attr:`StructureSet.axes`, see
:func:`plancheck.geometry.frames.contour_frame`): in-plane coordinates and a
plane position along the normal. A contour whose points do not all lie on one
plane of that orientation (within :data:`PLANE_TOLERANCE_MM` for axial sets,
:data:`TILTED_PLANE_TOLERANCE_MM` for tilted ones, whose three coordinates each
carry rounding) is skipped and reported: ``contour-tilted`` when it is planar
but its plane is not parallel to the others, ``contour-not-planar`` when its
points lie on no plane.

Contours whose plane positions differ by less than the tolerance lie on one
plane, whose position is their mean. A closing point that repeats the first
point is dropped. Contours with fewer than three distinct points, no area or
non-finite coordinates are skipped and reported, never repaired. How the
contours of a plane combine (even-odd) and how thick each plane's slab is are
decided by the DVH engine, not here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.kinds import RT_STRUCTURE_SET_STORAGE
from plancheck.errors import DicomReadError
from plancheck.geometry.frames import contour_frame, describe_frame, newell_normal
from plancheck.geometry.lattice import skipped_planes, structure_set_lattice
from plancheck.model import ContourPlane, Finding, Severity, Structure, StructureSet

__all__ = [
    "PLANE_TOLERANCE_MM",
    "TILTED_PLANE_TOLERANCE_MM",
    "read_rtstruct",
    "structure_set_from_dataset",
]

# axial contours: points this close in z lie on one plane (their z is written once per slice)
PLANE_TOLERANCE_MM = 0.01
# contours on tilted planes: every coordinate carries its own rounding, so their
# points may lie this far from a common plane (0.01 mm rounding spreads them by <0.02 mm)
TILTED_PLANE_TOLERANCE_MM = 0.05
# contours whose normals are within this angle are grouped when finding the set's orientation
_ORIENTATION_GROUP_DEG = 1.0
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
    return replace(ss, findings=tuple(notes))


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
    read = [_read_contours(roi, f, frame, name, path, lenient) for roi in rois.values()]
    axes, tolerance = _set_frame([c for r in read for c in r.contours])
    if not np.array_equal(axes, np.eye(3)):
        notes.append(
            _note(
                Severity.INFO,
                "structure-set-tilted",
                f"{name}: the contours lie on planes {describe_frame(axes)}; they are kept in that "
                "frame and brought into each dose grid's frame before DVHs are computed",
                path,
            )
        )
    structures = tuple(_structure(r, axes, tolerance, name, path) for r in read)
    structures = _note_skipped_planes(structures, axes, name, path, notes)
    return StructureSet(
        path=path if path is not None else Path(""),
        sop_instance_uid=f.required_text("SOPInstanceUID"),
        label=label,
        frame_of_reference_uid=frame,
        structures=structures,
        patient=f.patient(),
        axes=axes,
        manufacturer=f.text("Manufacturer"),
        manufacturer_model=f.text("ManufacturerModelName"),
    )


def _note_skipped_planes(
    structures: tuple[Structure, ...],
    axes: npt.NDArray[np.float64],
    set_name: str,
    path: Path | None,
    notes: list[Finding],
) -> tuple[Structure, ...]:
    """A finding on each ROI that skips planes of the structure set's lattice."""
    positions = [p.z_mm for s in structures for p in s.planes]
    lattice = structure_set_lattice(structures)
    where = "z = " if np.array_equal(axes, np.eye(3)) else ""
    unit = " mm" if where else " mm along the contour normal"
    if lattice is None:
        if len({round(z, 2) for z in positions}) > 2:
            steps = np.diff(np.unique(np.round(positions, 2)))
            notes.append(
                _note(
                    Severity.WARNING,
                    "structure-set-irregular-planes",
                    f"{set_name}: the ROIs' contour planes do not share one slice spacing (steps "
                    f"from {steps.min():g} to {steps.max():g} mm), so which slices an ROI skips is "
                    "unknown; each ROI's slabs follow its own planes",
                    path,
                )
            )
        return structures
    spacing = lattice.spacing_mm
    out = []
    for s in structures:
        skips = skipped_planes([p.z_mm for p in s.planes], lattice)
        if not skips:
            out.append(s)
            continue
        n = sum(k.n_planes for k in skips)
        listed = "; ".join(
            f"{k.n_planes} between {where}{k.below_mm:g} and {k.above_mm:g}{unit}" for k in skips[:4]
        )
        more = f"; and {len(skips) - 4} more gaps" if len(skips) > 4 else ""
        finding = _note(
            Severity.WARNING,
            "roi-skips-planes",
            f"{set_name}: ROI {s.roi_number} {s.name!r} is not contoured on {n} of the structure "
            f"set's planes between its first and last ({listed}{more}); it is computed as "
            f"{len(skips) + 1} separate parts, each contour a slab of its slice "
            f"({spacing:g} mm spacing), with the end caps at each part's ends",
            path,
        )
        out.append(replace(s, findings=(*s.findings, finding)))
    return tuple(out)


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
    "contour-tilted": "skipped: tilted against the structure set's contour planes",
    "contour-not-planar": "skipped: its points do not lie on one plane",
    "contour-without-area": "skipped: no area (all points on a line)",
    "contour-malformed": "skipped: ContourData is not a list of finite x, y, z triplets",
    "contour-without-type": "read as CLOSED_PLANAR: ContourGeometricType is missing",
    "contour-closed-leniently": "read as closed (--lenient): OPEN_PLANAR contours closed by their last edge",
}


@dataclass
class _Skipped:
    by_code: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    tilts_deg: list[float] = field(default_factory=list)

    def add(self, code: str, z: float | None) -> None:
        self.by_code[code].append(z)


@dataclass
class _Read:
    """One ROI's contours as read: closed point lists (n, 3), before they are put on planes."""

    roi: _Roi
    contours: list[npt.NDArray[np.float64]]
    other_types: dict[str, int]
    skipped: _Skipped
    usable: bool  # False: the ROI is in another frame of reference


def _read_contours(
    roi: _Roi, f: Fields, frame: str | None, set_name: str, path: Path | None, lenient: bool = False
) -> _Read:
    label = f"ROI {roi.number} {roi.name!r}"
    notes = roi.notes
    skipped = _Skipped()
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
        return _Read(roi, [], {}, skipped, usable=False)

    closed: list[npt.NDArray[np.float64]] = []
    other_types: dict[str, int] = defaultdict(int)
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
        if len(points) > 1 and np.allclose(points[0], points[-1], rtol=0.0, atol=1e-6):
            points = points[:-1]
        if len(points) < 3:
            skipped.add("contour-too-few-points", float(np.mean(points[:, 2])))
            continue
        closed.append(points)
    return _Read(roi, closed, dict(other_types), skipped, usable=True)


def _set_frame(contours: list[npt.NDArray[np.float64]]) -> tuple[npt.NDArray[np.float64], float]:
    """The structure set's frame and plane tolerance, from the orientation most contours share."""
    identity = (np.eye(3), PLANE_TOLERANCE_MM)
    if all(float(np.ptp(c[:, 2])) <= PLANE_TOLERANCE_MM for c in contours):
        return identity
    normals = np.array([newell_normal(c) for c in contours])
    lengths = np.linalg.norm(normals, axis=1)
    valid = np.flatnonzero(lengths > 2e-6)  # contours with area
    if valid.size == 0:
        return identity
    unit = normals[valid] / lengths[valid, None]
    cos_tol = math.cos(math.radians(_ORIENTATION_GROUP_DEG))
    remaining = np.arange(valid.size)
    best: tuple[tuple[int, float, float], npt.NDArray[np.intp]] | None = None
    while remaining.size:
        seed = remaining[int(np.argmax(lengths[valid][remaining]))]
        dots = unit[remaining] @ unit[seed]
        members = remaining[np.abs(dots) >= cos_tol]
        remaining = remaining[np.abs(dots) < cos_tol]
        # most contours first; of equals, the orientation nearest to axial, then the larger
        score = (members.size, abs(float(unit[seed, 2])), float(lengths[valid][members].sum()))
        if best is None or score > best[0]:
            best = (score, members)
    assert best is not None
    members = valid[best[1]]
    if all(float(np.ptp(contours[int(k)][:, 2])) <= PLANE_TOLERANCE_MM for k in members):
        return identity
    reference = normals[members[0]]
    signs = np.where(normals[members] @ reference >= 0, 1.0, -1.0)
    normal = (normals[members] * signs[:, None]).sum(axis=0)
    return contour_frame(normal), TILTED_PLANE_TOLERANCE_MM


def _structure(
    read: _Read,
    axes: npt.NDArray[np.float64],
    tolerance: float,
    set_name: str,
    path: Path | None,
) -> Structure:
    roi = read.roi
    label = f"ROI {roi.number} {roi.name!r}"
    notes = roi.notes
    if not read.usable:
        return Structure(roi.number, roi.name, roi.roi_type, (), roi.color, tuple(notes))
    skipped = read.skipped
    axial = bool(np.array_equal(axes, np.eye(3)))
    closed: list[tuple[float, npt.NDArray[np.float64]]] = []
    for points in read.contours:
        contour = _on_plane(points, axes, axial, tolerance, skipped)
        if contour is not None:
            closed.append(contour)

    where = "z" if axial else "plane"
    for code, zs in skipped.by_code.items():
        severity = Severity.INFO if code == "contour-without-type" else Severity.WARNING
        n = f"{len(zs)} contour{'s' if len(zs) != 1 else ''}"
        extra = ""
        if code == "contour-tilted" and skipped.tilts_deg:
            extra = f" (by up to {max(skipped.tilts_deg):.3g}°)"
        notes.append(
            _note(
                severity,
                code,
                f"{set_name}: {label}: {n} {_SKIPS[code]}{extra}{_planes_text(zs, where)}",
                path,
            )
        )
    planes = _planes(closed, tolerance)
    other_types = read.other_types
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


def _on_plane(
    points: npt.NDArray[np.float64],
    axes: npt.NDArray[np.float64],
    axial: bool,
    tolerance: float,
    skipped: _Skipped,
) -> tuple[float, npt.NDArray[np.float64]] | None:
    """(plane position, in-plane polygon) of a contour in the set's frame, or None (recorded)."""
    q = points if axial else points @ axes
    w = q[:, 2]
    w_mean = float(np.mean(w))
    if not float(np.ptp(w)) <= tolerance:  # also catches coordinates that overflow to nan
        own = newell_normal(points)
        size = float(np.linalg.norm(own))
        if size > 2e-6:
            unit = own / size
            spread = (points - points.mean(axis=0)) @ unit
            if float(np.ptp(spread)) <= tolerance:
                cos = min(1.0, abs(float(unit @ axes[:, 2])))
                skipped.tilts_deg.append(math.degrees(math.acos(cos)))
                skipped.add("contour-tilted", w_mean)
                return None
        skipped.add("contour-not-planar", w_mean)
        return None
    uv = np.ascontiguousarray(q[:, :2], dtype=np.float64)
    x, y = uv[:, 0], uv[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))
    if not area >= _MIN_AREA_MM2:  # nan too
        skipped.add("contour-without-area", w_mean)
        return None
    return w_mean, uv


def _planes(
    contours: list[tuple[float, npt.NDArray[np.float64]]], tolerance: float = PLANE_TOLERANCE_MM
) -> tuple[ContourPlane, ...]:
    """Contours grouped into planes of equal position (within the tolerance), sorted."""
    if not contours:
        return ()
    z = np.array([c[0] for c in contours])
    order = np.argsort(z, kind="stable")
    breaks = np.flatnonzero(np.diff(z[order]) > tolerance) + 1
    planes = []
    for group in np.split(order, breaks):
        members = sorted(int(i) for i in group)  # file order within a plane
        planes.append(
            ContourPlane(float(np.mean(z[members])), tuple(contours[i][1] for i in members))
        )
    return tuple(planes)


def _planes_text(zs: list[float | None], where: str = "z") -> str:
    known = sorted({round(z, 2) for z in zs if z is not None})
    if not known:
        return ""
    shown = ", ".join(f"{z:g}" for z in known[:6])
    more = f" and {len(known) - 6} more" if len(known) > 6 else ""
    if where == "z":
        return f" (z = {shown}{more} mm)"
    return f" (planes at {shown}{more} mm along the contour normal)"


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
