"""Spine-metastasis sample plans: a thoracolumbar vertebra treated with a SIB.

Geometry (patient coordinates, HFS, mm; x to the patient's left, y posterior,
z superior; origin at the centre of the treated vertebral body). Contours on
axial planes every 2.5 mm through z = ±1.25 mm, like CT slices.

=============  =========================================================================
ROI            shape
=============  =========================================================================
Body           elliptic cylinder, centre (0, -40), semi-axes 160 × 110, z -72 … 72
PTV_boost      the vertebral body: elliptic cylinder, centre (0, 0), semi-axes 21 × 15,
               z -12 … 12 (24.7 cc with half end caps)
PTV            vertebral body and posterior elements (pedicles, laminae, transverse and
               spinous processes) expanded by 3 mm, z -15 … 15, minus the spinal canal
               (83 cc)
SpinalCanal    elliptic cylinder, centre (0, 26), semi-axes 10 × 8, z -72 … 72
SpinalCord     circle of radius 4.5 at (0, 25.5) from z = -2 up, tapering (conus
               medullaris) to radius 1.5 at its end, z = -10
CaudaEquina    the thecal sac below the conus: ellipse, centre (0, 26), semi-axes
               8.5 × 6.5, z -72 … -10
Kidney_L       ellipsoid, centre (80, 30, -5), semi-axes 25 × 22 × 50
Kidney_R       ellipsoid, centre (-80, 32, -15), semi-axes 25 × 22 × 50
Bowel_Bag      the anterior abdomen: ellipse, centre (0, -85), semi-axes 115 × 58,
               anterior of y = -22 and inside the body, z -72 … 20
=============  =========================================================================

The anterior wall of the canal is 3 mm behind the vertebral body; the cord's
surface is 3 mm from the canal wall in front, 4 mm behind and 5.5 mm at the sides.

Dose (an analytic field sampled on the grid, 0 outside the body). With
``S(d) = 1 / (1 + exp(d / λ - 3.476))`` of an approximate signed distance
``d`` (mm, negative inside; ``S(0) = 0.97``; exact for the ellipses, extruded
along z with rounded edges)::

    D = max(40 Gy · S_boost · (1 + 3 % hot spot), 30 Gy · S_ptv) + bath · (1 - S_ptv)

The 30 Gy level covers the PTV and falls off *into the canal* from its wall,
the 40 Gy level covers the vertebral body, both with ``λ = 1.5 mm`` (about
3 Gy/mm, 10 %/mm of 30 Gy, at the cord surface); the bath is
``8 Gy · exp(-d_ptv / 40 mm)`` outside the PTV.

Variants (each a folder with one structure set, its plan(s) and dose(s)):

* ``spine_sib_pass``: SIB 30 Gy / 40 Gy in 10 fractions; SpinalCord D0.03cc
  about 24.4 Gy (EQD2 with α/β = 2 about 27 Gy, below the 45 Gy limit);
  PTV_boost D95% about 38.8 Gy, PTV D95% about 29.3 Gy.
* ``spine_sib_cord_fail``: the same prescription, but the optimiser did not
  spare the canal: the 30 Gy level fills the canal and the 40 Gy level reaches
  8 mm behind the vertebral body (through the front of the cord); SpinalCord
  D0.03cc about 39.2 Gy (EQD2 about 58 Gy). Its PTV_boost D98% is about
  94.9 % of 40 Gy, just below the protocol's 95 % (a dense independent
  resampling gives 94.92 %), so the boost coverage fails too.
* ``spine_sib_seq_course``: the passing SIB plan plus a sequential boost plan,
  8 Gy in 2 fractions to PTV_boost alone (40 Gy level of the boost replaced by
  8 Gy, no 30 Gy level), on a 2.5 mm grid instead of 3 mm; 48 Gy / 12 fractions
  to the boost in total (PTV_boost D95% of the physical sum about 46.5 Gy),
  SpinalCord D0.03cc of the voxel-wise EQD2 (α/β = 2) course sum about 30 Gy.

(Values from plancheck's DVH engine at its default settings, half end caps.)

RTSTRUCT, RTPLAN (label, fractions, TARGET prescriptions for PTV_boost and PTV,
APPROVED; the sequential boost plan names the SIB plan as its PREDECESSOR in
its ReferencedRTPlanSequence, so the two are summed as one course) and RTDOSE
(PLAN dose, 16 bit) share one study and frame of reference per folder; UIDs are derived from fixed seeds, so the files are
reproducible byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point, Polygon, box
from shapely.geometry.polygon import orient

from plancheck.model import ContourPlane, DoseGrid, DoseReference, PatientInfo, Structure
from plancheck.phantoms.fields import grid_axis
from plancheck.phantoms.rtset import PlanDoseSpec, RtSetPaths, set_uids, write_rt_set
from plancheck.phantoms.shapes import (
    Ellipsoid,
    EllipticCylinder,
    PlaneLattice,
    contour_shape,
)

__all__ = ["VARIANTS", "SpinePhantom", "build_spine", "write_sample_plans", "write_spine"]

FloatArray = npt.NDArray[np.float64]
VARIANTS: dict[str, str] = {
    "sib-pass": "spine_sib_pass",
    "sib-cord-fail": "spine_sib_cord_fail",
    "sib-seq-course": "spine_sib_seq_course",
}

CONTOUR_DECIMALS = 2
PLANE_SPACING_MM = 2.5
PLANE_ORIGIN_MM = 1.25
Z_RANGE_MM = (-72.0, 72.0)
VB_CENTRE = (0.0, 0.0)
VB_SEMI_AXES = (21.0, 15.0)
VB_HALF_HEIGHT_MM = 12.0
PTV_MARGIN_MM = 3.0
CANAL_CENTRE = (0.0, 26.0)
CANAL_SEMI_AXES = (10.0, 8.0)
CORD_CENTRE = (0.0, 25.5)
CORD_RADIUS_MM = 4.5
CONUS_START_MM = -2.0
CORD_END_MM = -10.0
BODY_CENTRE = (0.0, -40.0)
BODY_SEMI_AXES = (160.0, 110.0)

# S(0) = 0.97: the dose level covers 97 % at the edge of its region
_EDGE = math.log(1.0 / 0.03 - 1.0)  # 3.476


# -- contours --------------------------------------------------------------------------
def _ellipse(cx: float, cy: float, a: float, b: float, n: int = 128) -> Polygon:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return Polygon(np.column_stack([cx + a * np.cos(t), cy + b * np.sin(t)]))


def _posterior_elements() -> shapely.Geometry:
    """Pedicles and laminae (a ring around the canal), transverse and spinous processes."""
    ring = _ellipse(CANAL_CENTRE[0], CANAL_CENTRE[1], 17.0, 13.0).difference(
        _ellipse(*CANAL_CENTRE, *CANAL_SEMI_AXES)
    )
    ring = ring.intersection(box(-40.0, VB_SEMI_AXES[1] - 1.0, 40.0, 60.0))
    transverse = box(-36.0, 22.0, 36.0, 30.0)
    spinous = box(-4.0, 36.0, 4.0, 58.0)
    return shapely.union_all([ring, transverse, spinous])


def _rings(geom: shapely.Geometry) -> tuple[FloatArray, ...]:
    out: list[FloatArray] = []
    for p in getattr(geom, "geoms", [geom]):
        if not isinstance(p, Polygon) or p.is_empty:
            continue
        p = orient(p, 1.0)
        out.append(np.asarray(np.round(p.exterior.coords[:-1], 6), dtype=np.float64))
        out.extend(np.asarray(np.round(i.coords[:-1], 6), dtype=np.float64) for i in p.interiors)
    return tuple(out)


def _planar_structure(
    roi_number: int,
    name: str,
    roi_type: str,
    color: tuple[int, int, int],
    planes_mm: FloatArray,
    section: Callable[[float], shapely.Geometry | None],
) -> Structure:
    planes = []
    for z in planes_mm:
        geom = section(float(z))
        if geom is None or geom.is_empty:
            continue
        rings = _rings(geom)
        if rings:
            planes.append(ContourPlane(float(z), rings))
    return Structure(roi_number, name, roi_type, tuple(planes), color)


def _rounded(s: Structure) -> Structure:
    """Vertices rounded to 0.01 mm, as planning systems export them (smaller files)."""
    planes = tuple(
        ContourPlane(p.z_mm, tuple(np.round(r, CONTOUR_DECIMALS) for r in p.polygons))
        for p in s.planes
    )
    return Structure(s.roi_number, s.name, s.roi_type, planes, s.color_rgb)


def spine_structures() -> tuple[Structure, ...]:
    """The ROIs of the spine phantom (see the module docstring)."""
    lattice = PlaneLattice((PLANE_SPACING_MM,), PLANE_ORIGIN_MM)

    def planes(lo: float, hi: float) -> FloatArray:
        return lattice.positions_mm(lo, hi)

    z0, z1 = Z_RANGE_MM
    length = z1 - z0
    mid = 0.5 * (z0 + z1)
    body = EllipticCylinder(BODY_SEMI_AXES, length, (*BODY_CENTRE, mid))
    vb = EllipticCylinder(VB_SEMI_AXES, 2 * VB_HALF_HEIGHT_MM, (*VB_CENTRE, 0.0))
    canal = EllipticCylinder(CANAL_SEMI_AXES, length, (*CANAL_CENTRE, mid))
    kidney_l = Ellipsoid((25.0, 22.0, 50.0), (80.0, 30.0, -5.0))
    kidney_r = Ellipsoid((25.0, 22.0, 50.0), (-80.0, 32.0, -15.0))

    canal_poly = _ellipse(*CANAL_CENTRE, *CANAL_SEMI_AXES)
    vb_poly = _ellipse(*VB_CENTRE, *VB_SEMI_AXES)
    ptv_poly = shapely.union_all(
        [
            vb_poly.buffer(PTV_MARGIN_MM, quad_segs=16),
            _posterior_elements().buffer(PTV_MARGIN_MM, quad_segs=16),
        ]
    ).difference(canal_poly)
    ptv_half = VB_HALF_HEIGHT_MM + PTV_MARGIN_MM

    def ptv(z: float) -> shapely.Geometry | None:
        return ptv_poly if abs(z) <= ptv_half else None

    def cord(z: float) -> shapely.Geometry | None:
        if z < CORD_END_MM or z > z1:
            return None
        r = CORD_RADIUS_MM
        if z < CONUS_START_MM:  # conus medullaris: linear taper to 1.5 mm
            f = (z - CORD_END_MM) / (CONUS_START_MM - CORD_END_MM)
            r = 1.5 + (CORD_RADIUS_MM - 1.5) * f
        return Point(*CORD_CENTRE).buffer(r, quad_segs=32)

    def cauda(z: float) -> shapely.Geometry | None:
        if z >= CORD_END_MM or z < z0:
            return None
        return _ellipse(*CANAL_CENTRE, 8.5, 6.5)

    body_poly = _ellipse(*BODY_CENTRE, *BODY_SEMI_AXES, n=160)
    bowel_poly = (
        _ellipse(0.0, -85.0, 115.0, 58.0, n=128)
        .intersection(box(-200.0, -200.0, 200.0, -22.0))
        .intersection(body_poly)
    )

    def bowel(z: float) -> shapely.Geometry | None:
        return bowel_poly if z0 <= z <= 20.0 else None

    rois = (
        contour_shape(
            body,
            planes(*body.z_extent_mm()),
            roi_number=1,
            name="Body",
            roi_type="EXTERNAL",
            color_rgb=(0, 255, 0),
            n_vertices=160,
        ),
        contour_shape(
            vb,
            planes(*vb.z_extent_mm()),
            roi_number=2,
            name="PTV_boost",
            roi_type="PTV",
            color_rgb=(255, 0, 0),
            n_vertices=128,
        ),
        _planar_structure(3, "PTV", "PTV", (255, 128, 0), planes(-ptv_half, ptv_half), ptv),
        contour_shape(
            canal,
            planes(*canal.z_extent_mm()),
            roi_number=4,
            name="SpinalCanal",
            roi_type="ORGAN",
            color_rgb=(0, 128, 255),
            n_vertices=128,
        ),
        _planar_structure(5, "SpinalCord", "ORGAN", (255, 255, 0), planes(CORD_END_MM, z1), cord),
        _planar_structure(6, "CaudaEquina", "ORGAN", (255, 0, 255), planes(z0, CORD_END_MM), cauda),
        contour_shape(
            kidney_l,
            planes(*kidney_l.z_extent_mm()),
            roi_number=7,
            name="Kidney_L",
            roi_type="ORGAN",
            color_rgb=(160, 82, 45),
            n_vertices=128,
        ),
        contour_shape(
            kidney_r,
            planes(*kidney_r.z_extent_mm()),
            roi_number=8,
            name="Kidney_R",
            roi_type="ORGAN",
            color_rgb=(139, 69, 19),
            n_vertices=128,
        ),
        _planar_structure(9, "Bowel_Bag", "ORGAN", (255, 192, 203), planes(z0, 20.0), bowel),
    )
    return tuple(_rounded(s) for s in rois)


# -- dose ------------------------------------------------------------------------------
def _ellipse_sdf(
    x: FloatArray, y: FloatArray, cx: float, cy: float, a: float, b: float
) -> FloatArray:
    """Signed distance (mm, < 0 inside) to an axis-aligned ellipse.

    The nearest point is found by four fixed-point iterations on the ellipse
    parameter (the "evolute" iteration), accurate to about 1e-3 mm here.
    """
    px, py = np.abs(x - cx), np.abs(y - cy)
    if a == b:
        return np.asarray(np.hypot(px, py) - a, dtype=np.float64)
    tx = np.full(np.shape(px), math.sqrt(0.5))
    ty = tx.copy()
    for _ in range(4):
        ex = (a * a - b * b) * tx**3 / a
        ey = (b * b - a * a) * ty**3 / b
        r = np.hypot(a * tx - ex, b * ty - ey)
        qx, qy = px - ex, py - ey
        q = np.maximum(np.hypot(qx, qy), 1e-12)
        tx = np.clip((qx * r / q + ex) / a, 0.0, 1.0)
        ty = np.clip((qy * r / q + ey) / b, 0.0, 1.0)
        t = np.maximum(np.hypot(tx, ty), 1e-12)
        tx, ty = tx / t, ty / t
    d = np.hypot(px - a * tx, py - b * ty)
    inside = (px / a) ** 2 + (py / b) ** 2 < 1.0
    return np.asarray(np.where(inside, -d, d), dtype=np.float64)


def _box_sdf(
    x: FloatArray, y: FloatArray, x0: float, y0: float, x1: float, y1: float
) -> FloatArray:
    qx = np.abs(x - 0.5 * (x0 + x1)) - 0.5 * (x1 - x0)
    qy = np.abs(y - 0.5 * (y0 + y1)) - 0.5 * (y1 - y0)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return np.asarray(outside + np.minimum(np.maximum(qx, qy), 0.0), dtype=np.float64)


def _extrude(d2: FloatArray, z: FloatArray, half_height: float) -> FloatArray:
    dz = np.abs(z) - half_height
    outside = np.hypot(np.maximum(d2, 0.0), np.maximum(dz, 0.0))
    return np.asarray(outside + np.minimum(np.maximum(d2, dz), 0.0), dtype=np.float64)


def _level(d: FloatArray, falloff_mm: float) -> FloatArray:
    return np.asarray(
        1.0 / (1.0 + np.exp(np.clip(d / falloff_mm - _EDGE, -60, 60))), dtype=np.float64
    )


@dataclass(frozen=True)
class SibDoseModel:
    """Parameters of the analytic plan dose (see the module docstring)."""

    boost_gy: float = 40.0
    ptv_gy: float | None = 30.0
    falloff_mm: float = 1.5
    boost_falloff_mm: float = 1.5
    spare_canal: bool = True
    boost_posterior_extension_mm: float = 0.0
    bath_gy: float = 8.0
    bath_length_mm: float = 40.0
    hot_spot: float = 0.03


def sib_dose(model: SibDoseModel, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
    """The plan dose (Gy) at points (broadcast ``x``, ``y``, ``z``); 0 outside the body."""
    x, y, z = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (x, y, z)))
    ext = model.boost_posterior_extension_mm
    a, b = VB_SEMI_AXES
    vb2 = _ellipse_sdf(x, y, VB_CENTRE[0], VB_CENTRE[1] + ext / 2, a, b + ext / 2)
    d_boost = _extrude(vb2, z, VB_HALF_HEIGHT_MM)
    pe2 = np.minimum.reduce(
        [
            np.maximum(
                _ellipse_sdf(x, y, *CANAL_CENTRE, 17.0, 13.0),
                VB_SEMI_AXES[1] - 1.0 - y,
            ),
            _box_sdf(x, y, -36.0, 22.0, 36.0, 30.0),
            _box_sdf(x, y, -4.0, 36.0, 4.0, 58.0),
        ]
    )
    vb_geom = _ellipse_sdf(x, y, *VB_CENTRE, a, b)
    target2 = np.minimum(vb_geom, pe2) - PTV_MARGIN_MM
    if model.spare_canal:
        target2 = np.maximum(target2, -_ellipse_sdf(x, y, *CANAL_CENTRE, *CANAL_SEMI_AXES))
    d_ptv = _extrude(target2, z, VB_HALF_HEIGHT_MM + PTV_MARGIN_MM)
    hot = 1.0 + model.hot_spot * np.exp(-(x**2 + (y + 2.0) ** 2 + z**2) / (2 * 8.0**2))
    boost = model.boost_gy * _level(d_boost, model.boost_falloff_mm) * hot
    s_ptv = _level(d_ptv, model.falloff_mm)
    low = model.ptv_gy * s_ptv if model.ptv_gy is not None else np.zeros_like(boost)
    ref = s_ptv if model.ptv_gy is not None else _level(d_boost, model.boost_falloff_mm)
    bath = model.bath_gy * np.exp(
        -np.maximum(d_ptv if model.ptv_gy is not None else d_boost, 0.0) / model.bath_length_mm
    )
    dose = np.maximum(boost, low) + bath * (1.0 - ref)
    (bx, by), (ba, bb) = BODY_CENTRE, BODY_SEMI_AXES
    inside_body = ((x - bx) / ba) ** 2 + ((y - by) / bb) ** 2 <= 1.0
    return np.asarray(np.where(inside_body, dose, 0.0), dtype=np.float64)


def _grid(
    model: SibDoseModel,
    spacing_mm: float,
    anchor_mm: float,
    for_uid: str,
    cover: DoseGrid | None = None,
) -> DoseGrid:
    """The plan dose on a grid over the body (or over all points of ``cover``)."""
    if cover is None:
        (bx, by), (ax_, ay_) = BODY_CENTRE, BODY_SEMI_AXES
        ranges = [
            (bx - ax_ - 1.0, bx + ax_ + 1.0),
            (by - ay_ - 1.0, by + ay_ + 1.0),
            (Z_RANGE_MM[0] - 1.0, Z_RANGE_MM[1] + 1.0),
        ]
    else:
        ranges = [(float(a[0]), float(a[-1])) for a in (cover.x_mm, cover.y_mm, cover.z_mm)]
    x, y, z = (grid_axis(lo, hi, spacing_mm, anchor_mm) for lo, hi in ranges)
    dose = sib_dose(model, x[None, None, :], y[None, :, None], z[:, None, None])
    return DoseGrid(dose, x, y, z, for_uid)


# -- plans -----------------------------------------------------------------------------
PASS_MODEL = SibDoseModel()
FAIL_MODEL = SibDoseModel(spare_canal=False, boost_posterior_extension_mm=8.0)
SEQ_BOOST_MODEL = SibDoseModel(boost_gy=8.0, ptv_gy=None, bath_gy=1.0, hot_spot=0.03)


def _sib_refs() -> tuple[DoseReference, ...]:
    return (
        DoseReference(1, "PTV_boost 40 Gy", "TARGET", 40.0, 2),
        DoseReference(2, "PTV 30 Gy", "TARGET", 30.0, 3),
    )


@dataclass(frozen=True, eq=False)
class SpinePhantom:
    """One spine variant in memory: ROIs and plans (with their total doses)."""

    variant: str
    folder_name: str
    seed: str
    patient: PatientInfo
    structures: tuple[Structure, ...]
    plans: tuple[PlanDoseSpec, ...]


def build_spine(variant: str) -> SpinePhantom:
    """ROIs, plans and doses of a spine variant (``sib-pass``, ``sib-cord-fail``, ``sib-seq-course``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown spine variant {variant!r}; use one of {', '.join(VARIANTS)}")
    folder = VARIANTS[variant]
    seed = f"plancheck-sample/{folder}/1"
    for_uid = set_uids(seed, 1).frame_of_reference
    number = list(VARIANTS).index(variant) + 1
    patient = PatientInfo(f"SPINE^SAMPLE{number}", f"PC-SPINE-{number:02d}", "19600101")
    sib_model = FAIL_MODEL if variant == "sib-cord-fail" else PASS_MODEL
    sib_dose_grid = _grid(sib_model, 3.0, 0.0, for_uid)
    plans = [
        PlanDoseSpec(
            label="SIB_30_40",
            name="Spine SIB 30/40 Gy",
            description="PTV 30 Gy, PTV_boost 40 Gy in 10 fractions (simultaneous integrated boost)",
            n_fractions=10,
            dose_references=_sib_refs(),
            dose=sib_dose_grid,
            bits=16,
        )
    ]
    if variant == "sib-seq-course":
        plans.append(
            PlanDoseSpec(
                label="SEQ_BOOST_8",
                name="Spine sequential boost 8 Gy",
                description="PTV_boost 8 Gy in 2 fractions after the SIB plan",
                n_fractions=2,
                dose_references=(DoseReference(1, "PTV_boost 8 Gy", "TARGET", 8.0, 2),),
                # a 2.5 mm grid, shifted, reaching every point of the SIB grid
                dose=_grid(SEQ_BOOST_MODEL, 2.5, 1.25, for_uid, cover=sib_dose_grid),
                bits=16,
                # the boost plan follows the SIB plan: RTPlanRelationship PREDECESSOR (PS3.3 C.8.8.9)
                relations=((0, "PREDECESSOR"),),
            )
        )
    return SpinePhantom(variant, folder, seed, patient, spine_structures(), tuple(plans))


def write_spine(variant: str, out_dir: Path | str) -> RtSetPaths:
    """Write one spine variant into ``out_dir`` (the folder itself, not a subfolder)."""
    ph = build_spine(variant)
    return write_rt_set(
        Path(out_dir),
        seed=ph.seed,
        patient=ph.patient,
        structures=ph.structures,
        structure_set_label="SPINE",
        plans=ph.plans,
        orientation="HFS",
        study_description=f"plancheck sample {ph.folder_name}",
    )


def write_sample_plans(out_dir: Path | str) -> dict[str, RtSetPaths]:
    """Write the three spine folders (``spine_sib_pass/`` ...) into ``out_dir``."""
    root = Path(out_dir)
    return {name: write_spine(v, root / name) for v, name in VARIANTS.items()}
