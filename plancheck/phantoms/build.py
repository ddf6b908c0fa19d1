"""Phantom cases: shapes contoured on planes, a linear dose on a grid, DICOM files, truth.

>>> spec = standard_spec("sphere", radius_mm=15, dose_grid_mm=2.0, orientation="FFP")
>>> case = write_phantom(spec, tmp_path)                        # doctest: +SKIP
>>> case.truth("Sphere").dose_at_percent_gy(95)                 # doctest: +SKIP

A case is one folder holding ``RS.*.dcm`` (the ROIs), ``RP.*.dcm`` (one plan
with its fraction count and prescription), ``RD.*.dcm`` (the dose: PLAN or
FRACTION, the whole plan; or FRACTION_SESSION, one session) and ``truth.json``: the exact volume, mean, minimum, maximum,
D-metrics and a sampled cumulative DVH of every ROI as contoured (see
:mod:`plancheck.phantoms.truth`), for half and for no end caps, and the part of
each ROI inside the dose grid's voxel cells.

The dose grid covers the contour stacks (with half end caps) plus
``grid_margin_mm`` by default; a negative margin or an explicit
``grid_box_mm`` leaves part of the ROIs outside it, for out-of-grid tests.
Grid points sit at ``grid_anchor_mm + k * spacing``.

**Tilted and oblique phantoms.** Everything above (shapes, contour planes,
dose field, truth) is defined in the *contour frame*; ``contour_frame`` places
that frame in the patient (its columns are the frame's axes, a rotation:
:func:`frame_about` builds one), so contours are written at ``F @ (u, v, w)``
and the dose grid's rows, columns and frames run along ``F``'s axes. With
``dose_in_plane_deg`` the grid is also turned about the contour normal
(contours and grid frames still parallel). A rotation carries the prism stack
and the linear field along unchanged, so the truth computed in the contour
frame is the truth of the written files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from plancheck.dicom.write import ORIENTATIONS, Orientation, WrittenSummation
from plancheck.model import DoseGrid, DoseReference, EndCaps, PatientInfo, Structure
from plancheck.phantoms.fields import (
    GRADIENT_DIRECTIONS,
    LinearField,
    grid_axis,
    sample_field,
    uneven_axis,
)
from plancheck.phantoms.rtset import PlanDoseSpec, RtSetPaths, set_uids, write_rt_set
from plancheck.phantoms.shapes import (
    Cone,
    Cylinder,
    PlaneLattice,
    Ring,
    Shape,
    Sphere,
    TwoPart,
    contour_shape,
)
from plancheck.phantoms.truth import Box, PhantomTruth, compute_truth, slab_bounds

__all__ = [
    "SHAPE_NAMES",
    "Frame",
    "PhantomBuild",
    "PhantomCase",
    "PhantomSpec",
    "RoiSpec",
    "build_phantom",
    "frame_about",
    "standard_spec",
    "write_phantom",
]

TRUTH_SCHEMA = "plancheck-phantom-truth/1"
Frame = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
SHAPE_NAMES = ("sphere", "cylinder", "tilted-cylinder", "cone", "ring", "two-part", "two-part-gap")


@dataclass(frozen=True)
class RoiSpec:
    """One ROI of a phantom: a name, a solid, an interpreted type, a colour."""

    name: str
    shape: Shape
    roi_type: str = "PTV"
    color_rgb: tuple[int, int, int] = (255, 0, 0)


@dataclass(frozen=True)
class PhantomSpec:
    """Everything that defines a phantom case (and, hashed, its UIDs).

    Attributes
    ----------
    rois : tuple of RoiSpec
        The ROIs, numbered 1, 2, ... in this order.
    field : LinearField
        The plan's total dose (Gy) over all fractions.
    contour_spacing_mm : tuple of float
        Gap between contour planes; several values repeat as an uneven pattern.
    contour_origin_mm : float, optional
        A plane position; by default half a spacing above the lowest point of
        the first ROI, so its planes sit at slab mid-points.
    n_vertices : int, optional
        Vertices per closed curve; by default adaptive (at least 128).
    dose_grid_mm : (dx, dy, dz)
        Dose grid spacing.
    grid_anchor_mm : (x, y, z)
        A grid point; the grid is ``anchor + k * spacing``.
    grid_margin_mm : float
        Grid extent beyond the ROIs' contour stacks (negative: cut them).
    grid_box_mm : ((x0, x1), (y0, y1), (z0, z1)), optional
        Explicit grid extent, overriding the margin.
    dose_frame_gaps_mm : tuple of float, optional
        Uneven dose frames: a repeating pattern of gaps between frames
        (through the anchor's z), replacing ``dz``.
    orientation, bits, frame_offsets, summation_type
        How the RTDOSE is written (see :mod:`plancheck.dicom.write`).
    contour_frame : 3 x 3 nested tuple, optional
        A rotation: its columns are the contour frame's axes in patient
        coordinates (default: axial, the identity).
    dose_in_plane_deg : float
        The dose grid's frame turned about the contour normal by this angle
        (its frames stay parallel to the contour planes).
    n_fractions : int
        Fraction count of the plan (FRACTION_SESSION doses store total / n;
        PLAN and FRACTION doses the whole plan).
    prescription_gy : float, optional
        Target prescription of the plan (whole plan); default: the dose at
        the first ROI's centre.
    """

    rois: tuple[RoiSpec, ...]
    field: LinearField
    contour_spacing_mm: tuple[float, ...] = (2.0,)
    contour_origin_mm: float | None = None
    n_vertices: int | None = None
    dose_grid_mm: tuple[float, float, float] = (2.0, 2.0, 2.0)
    grid_anchor_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    grid_margin_mm: float = 6.0
    grid_box_mm: Box | None = None
    dose_frame_gaps_mm: tuple[float, ...] | None = None
    orientation: Orientation = "HFS"
    bits: Literal[16, 32] = 32
    frame_offsets: Literal["relative", "absolute"] = "relative"
    summation_type: WrittenSummation = "PLAN"
    n_fractions: int = 1
    prescription_gy: float | None = None
    plan_label: str = ""
    approval_status: str = "APPROVED"
    name: str = "phantom"
    contour_frame: Frame | None = None
    dose_in_plane_deg: float = 0.0

    def __post_init__(self) -> None:
        if not self.rois:
            raise ValueError("a phantom needs at least one ROI")
        if len({r.name for r in self.rois}) != len(self.rois):
            raise ValueError("ROI names must be unique")
        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {sorted(ORIENTATIONS)}")
        if min(self.dose_grid_mm) <= 0:
            raise ValueError(f"dose grid spacing must be positive, got {self.dose_grid_mm}")
        if self.n_fractions < 1:
            raise ValueError(f"the fraction count must be at least 1, got {self.n_fractions}")
        if self.contour_frame is not None:
            f = np.asarray(self.contour_frame, dtype=np.float64)
            if f.shape != (3, 3) or not np.allclose(f.T @ f, np.eye(3), atol=1e-12):
                raise ValueError("contour_frame must be a 3 x 3 rotation (orthonormal columns)")
            if np.linalg.det(f) < 0:
                raise ValueError("contour_frame must be a rotation, not a reflection")
        if self.dose_in_plane_deg != 0.0 and self.grid_box_mm is not None:
            raise ValueError("a grid turned in-plane is sized by its margin, not grid_box_mm")

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (also the seed of the case's UIDs)."""
        return _describe(self)

    def digest(self) -> str:
        text = json.dumps(self.describe(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {"type": type(obj).__name__}
        for f in fields(obj):
            out[f.name] = _describe(getattr(obj, f.name))
        return out
    if isinstance(obj, (tuple, list)):
        return [_describe(v) for v in obj]
    return obj


@dataclass(frozen=True, eq=False)
class PhantomBuild:
    """A phantom in memory: contoured ROIs, the dose grid (total Gy) and the truth.

    ``truths[(name, end_caps)]`` is the truth of the whole ROI;
    ``in_grid_truths[(name, end_caps)]`` that of its part inside the dose
    grid's voxel cells (the same object when the grid covers the ROI).
    """

    spec: PhantomSpec
    structures: tuple[Structure, ...]
    dose: DoseGrid
    grid_cells_box_mm: Box
    truths: dict[tuple[str, EndCaps], PhantomTruth]
    in_grid_truths: dict[tuple[str, EndCaps], PhantomTruth]

    def truth(self, name: str, end_caps: EndCaps = EndCaps.HALF) -> PhantomTruth:
        return self.truths[(name, end_caps)]

    def structure(self, name: str) -> Structure:
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class PhantomCase:
    """A phantom written to a folder: the file paths and the in-memory build."""

    directory: Path
    rtstruct_path: Path
    rtplan_path: Path
    rtdose_path: Path
    truth_path: Path
    build: PhantomBuild

    def truth(self, name: str, end_caps: EndCaps = EndCaps.HALF) -> PhantomTruth:
        return self.build.truth(name, end_caps)

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.rtstruct_path, self.rtplan_path, self.rtdose_path, self.truth_path)


def frame_about(*turns: tuple[str, float]) -> Frame:
    """A rotation from turns about the patient axes, applied in order: ``("x", 0.1), ("y", 2)``.

    Its columns are where the x, y and z axes go; ``frame_about(("x", a))``
    tilts axial planes by ``a`` degrees about x.
    """
    m = np.eye(3)
    for axis, degrees in turns:
        a = np.radians(degrees)
        c, s_ = float(np.cos(a)), float(np.sin(a))
        k = "xyz".index(axis)
        r = np.eye(3)
        i, j = [n for n in range(3) if n != k]
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s_, s_, c
        if axis == "y":  # right-handed about y: z -> x
            r[i, j], r[j, i] = s_, -s_
        m = r @ m
    rows = tuple(tuple(float(v) for v in row) for row in m)
    return rows  # type: ignore[return-value]


def _in_plane(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s_ = float(np.cos(a)), float(np.sin(a))
    return np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])


def _default_shape(kind: str, r: float, centre: tuple[float, float, float]) -> Shape:
    cx, cy, cz = centre
    if kind == "sphere":
        return Sphere(r, centre)
    if kind == "cylinder":
        return Cylinder(r, 2.0 * r, centre)
    if kind == "tilted-cylinder":
        return Cylinder(r, 2.0 * r, centre, tilt_deg=30.0, azimuth_deg=30.0)
    if kind == "cone":
        return Cone(r, 2.0 * r, (cx, cy, cz - r), "superior")
    if kind == "ring":
        return Ring(r, 0.5 * r, 2.0 * r, centre, hole_offset_mm=(0.15 * r, 0.0))
    if kind == "two-part":
        # side by side in x; overlapping in z, so some planes hold both parts
        return TwoPart(
            Sphere(0.6 * r, (cx - 0.9 * r, cy, cz - 0.3 * r)),
            Cylinder(0.5 * r, 1.4 * r, (cx + 0.9 * r, cy, cz + 0.4 * r)),
        )
    if kind == "two-part-gap":
        # one above the other with a gap of 0.8 r between them
        return TwoPart(
            Sphere(0.5 * r, (cx, cy, cz - 0.9 * r)),
            Sphere(0.5 * r, (cx + 0.3 * r, cy, cz + 0.9 * r)),
        )
    raise ValueError(f"unknown shape {kind!r}; use one of {', '.join(SHAPE_NAMES)}")


def standard_spec(
    shape: str = "sphere",
    *,
    radius_mm: float = 20.0,
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
    gradient: str | tuple[float, float, float] = "oblique",
    gradient_gy_per_mm: float = 0.5,
    dose_at_centre_gy: float = 30.0,
    contour_spacing_mm: float | tuple[float, ...] = 2.0,
    dose_grid_mm: float | tuple[float, float, float] = 2.0,
    **kwargs: Any,
) -> PhantomSpec:
    """A one-ROI phantom of a named shape of size ``radius_mm`` (see :data:`SHAPE_NAMES`).

    ``gradient`` is a named direction (``x``, ``y``, ``z``, ``oblique``) of
    magnitude ``gradient_gy_per_mm``, or an explicit ``(gx, gy, gz)`` in Gy/mm.
    The dose at the shape's centre is ``dose_at_centre_gy``. Other keyword
    arguments go to :class:`PhantomSpec`.
    """
    solid = _default_shape(shape, float(radius_mm), centre_mm)
    ref = solid.centre_mm()
    if isinstance(gradient, str):
        if gradient not in GRADIENT_DIRECTIONS:
            raise ValueError(
                f"unknown gradient {gradient!r}; use one of {', '.join(GRADIENT_DIRECTIONS)} or gx,gy,gz"
            )
        field = LinearField.named(gradient, gradient_gy_per_mm, dose_at_centre_gy, ref)
    else:
        field = LinearField(dose_at_centre_gy, tuple(float(g) for g in gradient), ref)  # type: ignore[arg-type]
    name = kwargs.pop("name", shape)
    roi_name = "".join(p.capitalize() for p in shape.split("-"))
    spacing = (
        (contour_spacing_mm,)
        if isinstance(contour_spacing_mm, (int, float))
        else tuple(contour_spacing_mm)
    )
    grid = (
        (float(dose_grid_mm),) * 3
        if isinstance(dose_grid_mm, (int, float))
        else tuple(dose_grid_mm)
    )
    return PhantomSpec(
        rois=(RoiSpec(roi_name, solid),),
        field=field,
        contour_spacing_mm=tuple(float(s) for s in spacing),
        dose_grid_mm=grid,  # type: ignore[arg-type]
        name=name,
        **kwargs,
    )


def _stack_bounds(structures: tuple[Structure, ...], nominal_mm: float) -> Box:
    xs, ys, zs = [], [], []
    for s in structures:
        if not s.planes:
            continue
        lo, hi = slab_bounds([p.z_mm for p in s.planes], EndCaps.HALF, nominal_mm)
        zs += [float(lo.min()), float(hi.max())]
        pts = np.concatenate([r for p in s.planes for r in p.polygons])
        xs += [float(pts[:, 0].min()), float(pts[:, 0].max())]
        ys += [float(pts[:, 1].min()), float(pts[:, 1].max())]
    if not zs:
        raise ValueError("no ROI of the phantom has a contour: check the shapes and spacing")
    return ((min(xs), max(xs)), (min(ys), max(ys)), (min(zs), max(zs)))


def _cells(axis: np.ndarray) -> tuple[float, float]:
    """Extent of the voxel cells: half the end spacing beyond the outer points."""
    if axis.size < 2:
        return (float(axis[0]), float(axis[0]))
    return (
        float(axis[0] - (axis[1] - axis[0]) / 2),
        float(axis[-1] + (axis[-1] - axis[-2]) / 2),
    )


def build_phantom(spec: PhantomSpec) -> PhantomBuild:
    """Contour the ROIs, sample the dose and compute the truth (no files).

    Raises
    ------
    ValueError
        For an invalid spec, or a field that is negative somewhere on the grid.
    """
    first = spec.rois[0].shape
    spacing = spec.contour_spacing_mm
    origin = spec.contour_origin_mm
    if origin is None:
        origin = first.z_extent_mm()[0] + spacing[0] / 2.0
    lattice = PlaneLattice(spacing, origin)
    structures = tuple(
        contour_shape(
            roi.shape,
            lattice.positions_mm(*roi.shape.z_extent_mm()),
            roi_number=k,
            name=roi.name,
            roi_type=roi.roi_type,
            color_rgb=roi.color_rgb,
            n_vertices=spec.n_vertices,
        )
        for k, roi in enumerate(spec.rois, start=1)
    )
    bounds = _stack_bounds(structures, spacing[0])
    if spec.grid_box_mm is not None:
        extent = spec.grid_box_mm
    else:
        m = spec.grid_margin_mm
        extent = tuple((lo - m, hi + m) for lo, hi in bounds)  # type: ignore[assignment]
    dx, dy, dz = spec.dose_grid_mm
    ax, ay, az = spec.grid_anchor_mm
    # the grid's frame relative to the contour frame: turned about the normal
    turn = _in_plane(spec.dose_in_plane_deg)
    field_on_grid = spec.field
    if spec.dose_in_plane_deg != 0.0:
        corners = np.array(
            [[xx, yy, zz] for xx in extent[0] for yy in extent[1] for zz in extent[2]]
        )
        on_grid = corners @ turn  # contour-frame points in grid-frame coordinates
        extent = tuple((float(on_grid[:, k].min()), float(on_grid[:, k].max())) for k in range(3))  # type: ignore[assignment]
        g = np.asarray(spec.field.gradient_gy_per_mm) @ turn
        r = np.asarray(spec.field.reference_mm) @ turn
        field_on_grid = LinearField(
            spec.field.dose_at_reference_gy,
            (float(g[0]), float(g[1]), float(g[2])),
            (float(r[0]), float(r[1]), float(r[2])),
        )
    x = grid_axis(extent[0][0], extent[0][1], dx, ax)
    y = grid_axis(extent[1][0], extent[1][1], dy, ay)
    if spec.dose_frame_gaps_mm is None:
        z = grid_axis(extent[2][0], extent[2][1], dz, az)
    else:
        z = uneven_axis(extent[2][0], extent[2][1], spec.dose_frame_gaps_mm, az)
    corner_doses = field_on_grid.dose_gy(
        np.array([x[0], x[-1]])[:, None, None],
        np.array([y[0], y[-1]])[None, :, None],
        np.array([z[0], z[-1]])[None, None, :],
    )
    if float(corner_doses.min()) < 0:
        raise ValueError(
            f"the dose field reaches {float(corner_doses.min()):.3g} Gy on the grid; raise the dose at the "
            "centre or lower the gradient so that it stays >= 0"
        )
    dose = sample_field(field_on_grid, x, y, z, set_uids(_seed(spec), 1).frame_of_reference)
    frame = np.eye(3) if spec.contour_frame is None else np.asarray(spec.contour_frame)
    if spec.contour_frame is not None or spec.dose_in_plane_deg != 0.0:
        dose = replace(dose, axes=frame @ turn)
    cells: Box = (
        _cells(x),
        _cells(y),
        _cells(z),
    )
    covered = spec.dose_in_plane_deg != 0.0 or all(
        c[0] <= b[0] and b[1] <= c[1] for c, b in zip(cells, bounds, strict=True)
    )
    truths: dict[tuple[str, EndCaps], PhantomTruth] = {}
    in_grid: dict[tuple[str, EndCaps], PhantomTruth] = {}
    set_planes = [p.z_mm for s in structures for p in s.planes]  # the structure set's planes
    for roi, s in zip(spec.rois, structures, strict=True):
        ideal = roi.shape.ideal_volume_mm3() / 1000.0
        for caps in (EndCaps.HALF, EndCaps.NONE):
            t = compute_truth(
                s,
                spec.field,
                caps,
                ideal_volume_cc=ideal,
                nominal_spacing_mm=spacing[0],
                lattice_mm=set_planes,
            )
            truths[(roi.name, caps)] = t
            in_grid[(roi.name, caps)] = (
                t
                if covered
                else compute_truth(
                    s,
                    spec.field,
                    caps,
                    ideal_volume_cc=None,
                    nominal_spacing_mm=spacing[0],
                    box_mm=cells,
                    lattice_mm=set_planes,
                )
            )
    return PhantomBuild(spec, structures, dose, cells, truths, in_grid)


def _seed(spec: PhantomSpec) -> str:
    return f"plancheck-phantom/{spec.name}/{spec.digest()}"


def _truth_document(build: PhantomBuild, paths: RtSetPaths) -> dict[str, Any]:
    spec = build.spec
    g = build.dose
    rois = []
    for roi, s in zip(spec.rois, build.structures, strict=True):
        entry: dict[str, Any] = {
            "name": roi.name,
            "roi_number": s.roi_number,
            "ideal_volume_cc": roi.shape.ideal_volume_mm3() / 1000.0,
            "n_planes": len(s.planes),
        }
        for caps in (EndCaps.HALF, EndCaps.NONE):
            t = build.truths[(roi.name, caps)]
            inside = build.in_grid_truths[(roi.name, caps)]
            d = t.to_dict()
            d["volume_in_grid_cc"] = inside.volume_cc
            d["volume_outside_grid_cc"] = t.volume_cc - inside.volume_cc
            if inside is not t:
                d["in_grid"] = inside.to_dict()
            entry[caps.value] = d
        rois.append(entry)

    def axis(a: np.ndarray) -> dict[str, Any]:
        steps = np.diff(a)
        even = bool(steps.size == 0 or np.allclose(steps, steps[0], atol=1e-9))
        return {
            "first_mm": float(a[0]),
            "last_mm": float(a[-1]),
            "spacing_mm": float(steps[0]) if steps.size and even else None,
            "n": int(a.size),
            "values_mm": a.tolist(),
        }

    return {
        "schema": TRUTH_SCHEMA,
        "conventions": (
            "Truth of each ROI as contoured: the stack of right prisms its contours define "
            "(even-odd rule per plane, slabs bounded halfway to neighbouring planes, gaps over "
            "2.5 median spacings split, end caps half the median spacing ('half') or none "
            "('none')), in the linear dose field below; exact closed form. Volumes in cc, "
            "doses in Gy for the whole plan. D<x> is the highest dose d with V(d) >= x. "
            "'volume_in_grid_cc' is the part inside the dose grid's voxel cells (half a "
            "spacing beyond the outer grid points)."
        ),
        "spec": spec.describe(),
        "files": {
            "rtstruct": paths.rtstruct.name,
            "rtplan": paths.rtplans[0].name,
            "rtdose": paths.rtdoses[0].name,
        },
        "uids": {
            "study": paths.uids.study,
            "frame_of_reference": paths.uids.frame_of_reference,
            "rtstruct": paths.uids.rtstruct,
            "rtplan": paths.uids.plans[0],
            "rtdose": paths.uids.doses[0],
        },
        "dose_field": {
            "dose_at_reference_gy": spec.field.dose_at_reference_gy,
            "gradient_gy_per_mm": list(spec.field.gradient_gy_per_mm),
            "reference_mm": list(spec.field.reference_mm),
        },
        "dose_grid": {
            "x": axis(g.x_mm),
            "y": axis(g.y_mm),
            "z": axis(g.z_mm),
            "cells_box_mm": [list(b) for b in build.grid_cells_box_mm],
            "axes": np.asarray(g.axes).tolist(),
            "orientation": spec.orientation,
            "bits": spec.bits,
            "frame_offsets": spec.frame_offsets,
            "summation_type": spec.summation_type,
            "n_fractions": spec.n_fractions,
        },
        "rois": rois,
    }


def write_phantom(spec: PhantomSpec, out_dir: Path | str) -> PhantomCase:
    """Build the phantom and write its DICOM files and ``truth.json`` into ``out_dir``."""
    out = Path(out_dir)
    build = build_phantom(spec)
    first = spec.rois[0]
    prescription = spec.prescription_gy
    if prescription is None:
        prescription = spec.field.dose_at(first.shape.centre_mm())
    refs = (DoseReference(1, first.name, "TARGET", float(prescription), 1),)
    digest = spec.digest()
    patient = PatientInfo(
        name=f"PHANTOM^{spec.name.upper()[:40]}",
        patient_id=f"PC{digest[:10].upper()}",
        birth_date="",
    )
    plan = PlanDoseSpec(
        label=(spec.plan_label or spec.name)[:16],
        n_fractions=spec.n_fractions,
        dose_references=refs,
        dose=build.dose,
        name=f"{spec.name} phantom",
        approval_status=spec.approval_status,
        summation_type=spec.summation_type,
        bits=spec.bits,
        frame_offsets=spec.frame_offsets,
    )
    paths = write_rt_set(
        out,
        seed=_seed(spec),
        patient=patient,
        structures=build.structures,
        structure_set_label=f"{spec.name}"[:16],
        plans=(plan,),
        orientation=spec.orientation,
        study_description=f"plancheck phantom {spec.name}",
        structure_axes=spec.contour_frame,
    )
    truth_path = out / "truth.json"
    doc = _truth_document(build, paths)
    truth_path.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return PhantomCase(out, paths.rtstruct, paths.rtplans[0], paths.rtdoses[0], truth_path, build)
