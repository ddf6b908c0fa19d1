"""Re-irradiation phantoms: a prior and a current spine course on two frames of reference.

A patient treated for a spinal metastasis with 30 Gy in 10 fractions comes back
for SBRT at the same level, 24 Gy in 2 fractions, planned on a new CT. The two
CTs have their own frames of reference, related by a known rigid transform,
and the current course's folder holds the DICOM Spatial Registration (REG)
that links them. Every dose is a closed-form function of anatomical position,
so the truth at any physical point is the two fields evaluated there.

Frames (patient coordinates in mm, HFS; x to the patient's left, y posterior,
z superior). *Anatomical* coordinates are those of the current CT. The same
anatomical point lies at ``p_prior = T · p_current`` in the prior CT, with
``T = current_to_prior`` a rigid 4×4 matrix (variants below). The REG object
(written in the current folder, its own frame the current one, PS3.3 C.20.2)
has an identity item for the current frame and an item for the prior frame
holding ``T⁻¹`` (prior → current).

ROIs (anatomical coordinates; every ROI is an elliptic cylinder along the
anatomical z axis, contoured on the axial planes of each CT, 2.5 mm apart
through z = ±1.25 mm; in the prior CT the sections are those of the
rotated cylinders, exact up to the vertex count):

=============  ============================================================
ROI            shape
=============  ============================================================
Body           centre (0, -30), semi-axes 120 × 90, z -50 … 50
PTV            current (SBRT): the vertebral body, centre (0, 0), semi-axes
               21 × 15, z -12 … 12; prior: vertebra and canal, centre
               (0, 10), semi-axes 28 × 26, z -20 … 20
ThecalSac      centre (0, 26), semi-axes 8.5 × 6.5, z -40 … 40
SpinalCord     centre (0, 25.5), radius 4.5, z -10 … 40
CaudaEquina    the thecal sac's section below the cord, z -40 … -10
=============  ============================================================

Doses (anatomical coordinates ``(x, y, z)``, Gy, whole course), with
``σ(u) = 1 / (1 + e^{-u})`` and ``S(d, λ) = σ(3.476 - d / λ)`` (0.97 at ``d = 0``):

* prior, 30 Gy in 10 fractions (conventional, the canal inside the field)::

    D_prior = 30 · σ((x + 40)/2.5) σ((40 - x)/2.5) · σ((y + 28)/2.5) σ((54 - y)/2.5)
                 · σ((z + 32)/2.5) σ((32 - z)/2.5) · (1 + 0.05 exp(-|p - (0, 30, 10)|² / 200))

* current, 24 Gy in 2 fractions (SBRT to the vertebral body, sparing the canal)::

    ρ = sqrt((x / 21)² + (y / b)²),  b = 15 mm (y ≤ 0) or 15 mm + e (y > 0)
    D_current = 26 · S((ρ - 1) · b, 1.25 mm) · S(|z| - 12, 2 mm)
                   · (1 + 0.05 exp(-|p|² / 128))

  (26 Gy, so that 24 Gy covers the PTV; about 27.3 Gy at its centre)

  ``e = 0`` when the canal is spared; the failing variant's PTV reaches
  ``e = 1.5 mm`` into the epidural space.

Cumulative EQD2 per point (PHYSICS.md): ``Σ_i D_i (D_i / n_i + α/β) / (2 + α/β)``,
each course with its own fraction count (10 and 2).

Variants (folder ``<name>/prior`` and ``<name>/current``):

* ``identity``: both courses on one frame of reference (``T`` the identity),
  no REG;
* ``translation``: ``T`` translates by (12, -9, 24) mm — multiples of the prior
  grid's 3 mm, so the prior grid's points fall on the same anatomical lattice
  as in ``identity`` and its interpolated dose is identical;
* ``rotation``: ``T`` rotates by (2°, -3°, 4°) about x, y, z (then translates by
  (12.3, -8.7, 25.4) mm): 5.4° about an oblique axis;
* ``rotation-fail``: as ``rotation``, with the SBRT PTV reaching into the
  epidural space: the cumulative thecal sac near-maximum is above 70 Gy EQD2
  (α/β 2);
* ``deformable``: as ``rotation``, but the registration is a Deformable
  Spatial Registration (PS3.3 C.20.3) whose vector grid holds the same motion,
  ``D(r) = T·r - r`` at its nodes (10 mm apart, covering the body); trilinear
  interpolation reproduces a linear field, so it maps points as ``T`` does,
  within the float32 precision of the vectors.

Near-maxima (D0.03cc of the current contour stacks, α/β 2 Gy, from 400 000
random points per ROI and the closed forms; the same in every variant but
``rotation-fail``):

=================  ==============  ================  =====================
ROI                prior           current           cumulative EQD2
=================  ==============  ================  =====================
ThecalSac          31.5 Gy (40.5)  10.4 Gy (18.6)    57.2 Gy (sum of the
                                                     maxima: 59.1)
SpinalCord         31.5 Gy (40.4)  4.0 Gy (4.0)      43.0 Gy
ThecalSac, fail    31.5 Gy (40.5)  17.8 Gy (48.3)    86.8 Gy (> 70)
=================  ==============  ================  =====================

(prior and current in Gy, their EQD2 in brackets.)

The prior course's folder also holds an RT Treatment Summary Record (10
fractions from 2023-01-16 to 2023-01-27); the prior plan is dated 2023-01-05
and the current plan 2024-03-04. UIDs are derived from fixed seeds, so the
files are reproducible byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

from plancheck.dicom.write import (
    DicomContext,
    derived_uid,
    rtdose_dataset,
    rtplan_dataset,
    rtstruct_dataset,
    write_dataset,
)
from plancheck.dicom.write_registration import (
    deformable_registration_dataset,
    spatial_registration_dataset,
)
from plancheck.dicom.write_treatment_record import treatment_summary_dataset
from plancheck.model import ContourPlane, DoseGrid, DoseReference, PatientInfo, Structure
from plancheck.phantoms.fields import grid_axis
from plancheck.phantoms.shapes import PlaneLattice
from plancheck.registration.matrix import MatrixType, apply_matrix, rigid_matrix
from plancheck.registration.records import DeformableItem, RegistrationItem, VectorGrid

__all__ = [
    "VARIANTS",
    "CourseSpec",
    "ReirradiationPaths",
    "ReirradiationPhantom",
    "build_reirradiation",
    "current_field_gy",
    "eqd2_gy",
    "prior_field_gy",
    "vector_grid",
    "write_all_reirradiation",
    "write_reirradiation",
]

FloatArray = npt.NDArray[np.float64]

VARIANTS: dict[str, str] = {
    "identity": "reirr_identity",
    "translation": "reirr_translation",
    "rotation": "reirr_rotation",
    "rotation-fail": "reirr_rotation_fail",
    "deformable": "reirr_deformable",
}
# current -> prior (anatomical point in the current CT -> the same point in the prior CT)
TRANSFORMS: dict[str, FloatArray] = {
    "identity": np.eye(4),
    "translation": rigid_matrix((0.0, 0.0, 0.0), (12.0, -9.0, 24.0)),
    "rotation": rigid_matrix((2.0, -3.0, 4.0), (12.3, -8.7, 25.4)),
    "rotation-fail": rigid_matrix((2.0, -3.0, 4.0), (12.3, -8.7, 25.4)),
    "deformable": rigid_matrix((2.0, -3.0, 4.0), (12.3, -8.7, 25.4)),
}
VECTOR_GRID_MM = 10.0  # spacing of the deformable variant's vector grid

PRIOR_FRACTIONS = 10
PRIOR_PRESCRIPTION_GY = 30.0
CURRENT_FRACTIONS = 2
CURRENT_PRESCRIPTION_GY = 24.0
CURRENT_FIELD_GY = 26.0  # the PTV edge at 0.97 · 26 Gy: the prescription covers the PTV
PRIOR_GRID_MM = 3.0
CURRENT_GRID_MM = 2.5
PLANE_SPACING_MM = 2.5
PLANE_ORIGIN_MM = 1.25
CONTOUR_DECIMALS = 2
PRIOR_PLAN_DATE = "20230105"
PRIOR_FRACTION_DATES = (
    "20230116",
    "20230117",
    "20230118",
    "20230119",
    "20230120",
    "20230123",
    "20230124",
    "20230125",
    "20230126",
    "20230127",
)
CURRENT_PLAN_DATE = "20240304"

_EDGE = math.log(1.0 / 0.03 - 1.0)  # 3.476: S(0) = 0.97


# -- anatomy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cylinder:
    """An elliptic cylinder along the anatomical z axis."""

    name: str
    roi_type: str
    color: tuple[int, int, int]
    centre: tuple[float, float]
    semi_axes: tuple[float, float]
    z_range: tuple[float, float]
    vertices: int


BODY = _Cylinder("Body", "EXTERNAL", (0, 255, 0), (0.0, -30.0), (120.0, 90.0), (-50.0, 50.0), 96)
THECAL_SAC = _Cylinder(
    "ThecalSac", "ORGAN", (0, 128, 255), (0.0, 26.0), (8.5, 6.5), (-40.0, 40.0), 64
)
CORD = _Cylinder("SpinalCord", "ORGAN", (255, 255, 0), (0.0, 25.5), (4.5, 4.5), (-10.0, 40.0), 64)
CAUDA = _Cylinder(
    "CaudaEquina", "ORGAN", (255, 0, 255), (0.0, 26.0), (8.5, 6.5), (-40.0, -10.0), 64
)
PTV_CURRENT = _Cylinder("PTV", "PTV", (255, 0, 0), (0.0, 0.0), (21.0, 15.0), (-12.0, 12.0), 64)
PTV_PRIOR = _Cylinder("PTV", "PTV", (255, 128, 0), (0.0, 10.0), (28.0, 26.0), (-20.0, 20.0), 64)


def _section(cyl: _Cylinder, to_frame: FloatArray, z0: float) -> Polygon | None:
    """The cylinder's section with the plane z = z0 of a frame (anatomy → frame: ``to_frame``)."""
    t = np.linspace(0.0, 2.0 * np.pi, cyl.vertices, endpoint=False)
    xa = cyl.centre[0] + cyl.semi_axes[0] * np.cos(t)
    ya = cyl.centre[1] + cyl.semi_axes[1] * np.sin(t)
    m = to_frame
    za = (z0 - m[2, 3] - m[2, 0] * xa - m[2, 1] * ya) / m[2, 2]
    pts = apply_matrix(m, np.column_stack([xa, ya, za]))
    ring = Polygon(pts[:, :2])
    # keep the part with anatomical z in the cylinder's range: a strip in the plane
    inv = np.linalg.inv(m)
    a, b, c = inv[2, 0], inv[2, 1], inv[2, 2] * z0 + inv[2, 3]  # z_a = a x + b y + c
    lo, hi = cyl.z_range
    za_ring = a * pts[:, 0] + b * pts[:, 1] + c
    if za_ring.max() < lo or za_ring.min() > hi:
        return None
    if za_ring.min() >= lo and za_ring.max() <= hi:
        return ring
    x0, y0, x1, y1 = ring.bounds
    half = box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    strip = _half_plane(half, a, b, c - lo, keep_positive=True).intersection(
        _half_plane(half, a, b, c - hi, keep_positive=False)
    )
    clipped = ring.intersection(strip)
    if clipped.is_empty or not isinstance(clipped, Polygon) or clipped.area < 1e-3:
        return None
    return clipped


def _half_plane(region: Polygon, a: float, b: float, c: float, *, keep_positive: bool) -> Polygon:
    """The part of ``region`` (a box) where ``a x + b y + c`` is >= 0 (or <= 0)."""
    coords = np.asarray(region.exterior.coords[:-1], dtype=np.float64)
    value = a * coords[:, 0] + b * coords[:, 1] + c
    sign = 1.0 if keep_positive else -1.0
    out: list[tuple[float, float]] = []
    n = len(coords)
    for i in range(n):
        p, q = coords[i], coords[(i + 1) % n]
        vp, vq = sign * value[i], sign * value[(i + 1) % n]
        if vp >= 0:
            out.append((float(p[0]), float(p[1])))
        if (vp >= 0) != (vq >= 0):
            f = vp / (vp - vq)
            r = p + f * (q - p)
            out.append((float(r[0]), float(r[1])))
    return Polygon(out) if len(out) >= 3 else Polygon()


def _z_extent(cyl: _Cylinder, to_frame: FloatArray) -> tuple[float, float]:
    t = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    xa = cyl.centre[0] + cyl.semi_axes[0] * np.cos(t)
    ya = cyl.centre[1] + cyl.semi_axes[1] * np.sin(t)
    z = np.concatenate(
        [
            apply_matrix(to_frame, np.column_stack([xa, ya, np.full_like(t, zc)]))[:, 2]
            for zc in cyl.z_range
        ]
    )
    return float(z.min()), float(z.max())


def _structure(roi_number: int, cyl: _Cylinder, to_frame: FloatArray) -> Structure:
    lattice = PlaneLattice((PLANE_SPACING_MM,), PLANE_ORIGIN_MM)
    planes = []
    for z0 in lattice.positions_mm(*_z_extent(cyl, to_frame)):
        section = _section(cyl, to_frame, float(z0))
        if section is None:
            continue
        ring = orient(section, 1.0).exterior.coords[:-1]
        xy = np.round(np.asarray(ring, dtype=np.float64), CONTOUR_DECIMALS)
        planes.append(ContourPlane(float(z0), (xy,)))
    return Structure(roi_number, cyl.name, cyl.roi_type, tuple(planes), cyl.color)


def _structures(ptv: _Cylinder, to_frame: FloatArray) -> tuple[Structure, ...]:
    rois = (BODY, ptv, CORD, THECAL_SAC, CAUDA)
    return tuple(_structure(k, c, to_frame) for k, c in enumerate(rois, start=1))


# -- doses -----------------------------------------------------------------------------


def _sigma(u: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(u, -60.0, 60.0))), dtype=np.float64)


def _window(u: FloatArray, lo: float, hi: float, falloff_mm: float) -> FloatArray:
    return _sigma((u - lo) / falloff_mm) * _sigma((hi - u) / falloff_mm)


def prior_field_gy(points_mm: npt.ArrayLike) -> FloatArray:
    """The prior course's dose (Gy, 10 fractions) at anatomical points (…, 3)."""
    p = np.asarray(points_mm, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    hot = 1.0 + 0.05 * np.exp(-(x**2 + (y - 30.0) ** 2 + (z - 10.0) ** 2) / 200.0)
    dose = (
        PRIOR_PRESCRIPTION_GY
        * _window(x, -40.0, 40.0, 2.5)
        * _window(y, -28.0, 54.0, 2.5)
        * _window(z, -32.0, 32.0, 2.5)
        * hot
    )
    return np.asarray(dose, dtype=np.float64)


def current_field_gy(points_mm: npt.ArrayLike, epidural_extension_mm: float = 0.0) -> FloatArray:
    """The current SBRT course's dose (Gy, 2 fractions) at anatomical points (…, 3)."""
    p = np.asarray(points_mm, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    b = np.where(y > 0.0, 15.0 + epidural_extension_mm, 15.0)
    rho = np.sqrt((x / 21.0) ** 2 + (y / b) ** 2)
    lateral = _sigma(_EDGE - (rho - 1.0) * b / 1.25)
    axial = _sigma(_EDGE - (np.abs(z) - 12.0) / 2.0)
    hot = 1.0 + 0.05 * np.exp(-(x**2 + y**2 + z**2) / 128.0)
    return np.asarray(CURRENT_FIELD_GY * lateral * axial * hot, dtype=np.float64)


def eqd2_gy(dose_gy: npt.ArrayLike, n_fractions: int, alpha_beta_gy: float) -> FloatArray:
    """``D (D/n + α/β) / (2 + α/β)``: EQD2 of a total dose ``D`` in ``n`` fractions."""
    d = np.asarray(dose_gy, dtype=np.float64)
    return np.asarray(
        d * (d / n_fractions + alpha_beta_gy) / (2.0 + alpha_beta_gy), dtype=np.float64
    )


# -- courses ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CourseSpec:
    """One course of a re-irradiation phantom, in its own frame of reference.

    ``to_frame`` maps anatomical (current-CT) coordinates to this course's
    patient coordinates; ``field`` is its dose at anatomical points; ``dose``
    the same field sampled on its grid (in its own frame).
    """

    name: str
    plan_label: str
    plan_name: str
    n_fractions: int
    prescription_gy: float
    structure_set_label: str
    frame_of_reference_uid: str
    to_frame: FloatArray
    structures: tuple[Structure, ...]
    dose: DoseGrid
    field: Callable[[FloatArray], FloatArray]

    def dose_in_own_frame_gy(self, points_mm: npt.ArrayLike) -> FloatArray:
        """The course's dose at points (…, 3) given in its own patient coordinates."""
        anatomical = apply_matrix(np.linalg.inv(self.to_frame), points_mm)
        return self.field(anatomical)


@dataclass(frozen=True, eq=False)
class ReirradiationPhantom:
    """A prior and a current course with a known transform between their frames.

    ``current_to_prior`` maps current patient coordinates to prior ones. The
    truth functions take points in the **current** frame, as an evaluation
    of the current course samples them.
    """

    variant: str
    folder_name: str
    seed: str
    patient: PatientInfo
    current_to_prior: FloatArray
    prior: CourseSpec
    current: CourseSpec

    @property
    def same_frame(self) -> bool:
        return self.prior.frame_of_reference_uid == self.current.frame_of_reference_uid

    @property
    def prior_to_current(self) -> FloatArray:
        """The matrix of the REG's prior item (prior → current, PS3.3 C.20.2.1.1)."""
        return np.asarray(np.linalg.inv(self.current_to_prior), dtype=np.float64)

    def prior_dose_gy(self, points_current_mm: npt.ArrayLike) -> FloatArray:
        """Prior course dose (Gy, 10 fractions) at points of the current frame."""
        return self.prior.field(np.asarray(points_current_mm, dtype=np.float64))

    def current_dose_gy(self, points_current_mm: npt.ArrayLike) -> FloatArray:
        """Current course dose (Gy, 2 fractions) at points of the current frame."""
        return self.current.field(np.asarray(points_current_mm, dtype=np.float64))

    def cumulative_eqd2_gy(
        self, points_current_mm: npt.ArrayLike, alpha_beta_gy: float
    ) -> FloatArray:
        """Cumulative EQD2 (Gy) at points of the current frame, each course with its own fractions."""
        return eqd2_gy(
            self.prior_dose_gy(points_current_mm), self.prior.n_fractions, alpha_beta_gy
        ) + eqd2_gy(
            self.current_dose_gy(points_current_mm), self.current.n_fractions, alpha_beta_gy
        )


def _grid(
    field: Callable[[FloatArray], FloatArray],
    to_frame: FloatArray,
    spacing_mm: float,
    frame_uid: str,
) -> DoseGrid:
    """``field`` sampled on an axial grid of the frame, covering the body with 1.5 voxels to spare."""
    t = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    rim = [
        np.column_stack(
            [
                BODY.centre[0] + BODY.semi_axes[0] * np.cos(t),
                BODY.centre[1] + BODY.semi_axes[1] * np.sin(t),
                np.full_like(t, zc),
            ]
        )
        for zc in BODY.z_range
    ]
    corners = apply_matrix(to_frame, np.concatenate(rim))
    margin = 1.5 * spacing_mm
    axes = [
        grid_axis(
            float(corners[:, k].min()) - margin, float(corners[:, k].max()) + margin, spacing_mm
        )
        for k in range(3)
    ]
    x, y, z = axes
    pts = np.stack(np.meshgrid(z, y, x, indexing="ij")[::-1], axis=-1)  # (z, y, x, 3) as (x, y, z)
    anatomical = apply_matrix(np.linalg.inv(to_frame), pts)
    return DoseGrid(np.ascontiguousarray(field(anatomical)), x, y, z, frame_uid)


def build_reirradiation(
    variant: str, current_grid_mm: float = CURRENT_GRID_MM, prior_grid_mm: float = PRIOR_GRID_MM
) -> ReirradiationPhantom:
    """The courses, doses and transform of a variant (see :data:`VARIANTS`).

    ``current_grid_mm`` and ``prior_grid_mm`` are the dose grids' spacings (the
    sample's 2.5 and 3 mm by default): a finer current grid makes the written
    dose closer to the closed form where the SBRT dose falls off steeply (its
    1.25 mm sigmoid at the canal, which a 2.5 mm trilinear grid overstates in
    its tail).
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"unknown re-irradiation variant {variant!r}; use one of {', '.join(VARIANTS)}"
        )
    folder = VARIANTS[variant]
    seed = f"plancheck-reirradiation/{folder}/1"
    number = list(VARIANTS).index(variant) + 1
    patient = PatientInfo(f"REIRR^SAMPLE{number}", f"PC-REIRR-{number:02d}", "19550505")
    current_to_prior = TRANSFORMS[variant]
    current_frame = derived_uid(seed, "current", "frame-of-reference")
    prior_frame = (
        current_frame if variant == "identity" else derived_uid(seed, "prior", "frame-of-reference")
    )
    extension = 1.5 if variant == "rotation-fail" else 0.0

    def current_field(p: FloatArray) -> FloatArray:
        return current_field_gy(p, extension)

    prior = CourseSpec(
        name="prior",
        plan_label="SPINE_30",
        plan_name="Spine 30 Gy in 10 fractions",
        n_fractions=PRIOR_FRACTIONS,
        prescription_gy=PRIOR_PRESCRIPTION_GY,
        structure_set_label="PRIOR",
        frame_of_reference_uid=prior_frame,
        to_frame=current_to_prior,
        structures=_structures(PTV_PRIOR, current_to_prior),
        dose=_grid(prior_field_gy, current_to_prior, prior_grid_mm, prior_frame),
        field=prior_field_gy,
    )
    current = CourseSpec(
        name="current",
        plan_label="SBRT_24",
        plan_name="Spine SBRT 24 Gy in 2 fractions",
        n_fractions=CURRENT_FRACTIONS,
        prescription_gy=CURRENT_PRESCRIPTION_GY,
        structure_set_label="SBRT",
        frame_of_reference_uid=current_frame,
        to_frame=np.eye(4),
        structures=_structures(PTV_CURRENT, np.eye(4)),
        dose=_grid(current_field, np.eye(4), current_grid_mm, current_frame),
        field=current_field,
    )
    return ReirradiationPhantom(variant, folder, seed, patient, current_to_prior, prior, current)


# -- writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReirradiationPaths:
    """The files of a written variant."""

    prior_dir: Path
    current_dir: Path
    files: tuple[Path, ...]
    registration: Path | None


def _write_course(
    ph: ReirradiationPhantom, course: CourseSpec, out_dir: Path, date: str
) -> tuple[list[Path], str, DicomContext]:
    s = f"{ph.seed}/{course.name}"
    ctx = DicomContext(
        patient=ph.patient,
        study_instance_uid=derived_uid(s, "study"),
        frame_of_reference_uid=course.frame_of_reference_uid,
        study_description=f"plancheck re-irradiation sample {ph.folder_name} ({course.name})",
        date=date,
        time="100000",
    )
    ss_uid, plan_uid, dose_uid = (derived_uid(s, k) for k in ("rtstruct", "rtplan", "rtdose"))
    ptv = next(r for r in course.structures if r.name == "PTV")
    written = [
        write_dataset(
            rtstruct_dataset(
                ctx,
                course.structures,
                sop_instance_uid=ss_uid,
                series_instance_uid=derived_uid(s, "rtstruct-series"),
                label=course.structure_set_label,
            ),
            out_dir / f"RS.{course.structure_set_label}.dcm",
        ),
        write_dataset(
            rtplan_dataset(
                ctx,
                sop_instance_uid=plan_uid,
                series_instance_uid=derived_uid(s, "rtplan-series"),
                label=course.plan_label,
                name=course.plan_name,
                description=course.plan_name,
                n_fractions=course.n_fractions,
                dose_references=(
                    DoseReference(
                        1,
                        f"PTV {course.prescription_gy:g} Gy",
                        "TARGET",
                        course.prescription_gy,
                        ptv.roi_number,
                    ),
                ),
                referenced_structure_set_uid=ss_uid,
            ),
            out_dir / f"RP.{course.plan_label}.dcm",
        ),
        write_dataset(
            rtdose_dataset(
                ctx,
                course.dose,
                sop_instance_uid=dose_uid,
                series_instance_uid=derived_uid(s, "rtdose-series"),
                referenced_plan_uid=plan_uid,
                bits=16,
                comment=f"{course.plan_label} plan dose",
            ),
            out_dir / f"RD.{course.plan_label}.dcm",
        ),
    ]
    return written, plan_uid, ctx


def write_reirradiation(
    variant: str,
    out_dir: Path | str,
    *,
    current_grid_mm: float = CURRENT_GRID_MM,
    prior_grid_mm: float = PRIOR_GRID_MM,
) -> ReirradiationPaths:
    """Write a variant as ``out_dir/prior/`` and ``out_dir/current/``."""
    ph = build_reirradiation(variant, current_grid_mm, prior_grid_mm)
    root = Path(out_dir)
    prior_dir, current_dir = root / "prior", root / "current"
    files, prior_plan, prior_ctx = _write_course(ph, ph.prior, prior_dir, PRIOR_PLAN_DATE)
    files.append(
        write_dataset(
            treatment_summary_dataset(
                prior_ctx,
                sop_instance_uid=derived_uid(ph.seed, "prior", "treatment-summary"),
                series_instance_uid=derived_uid(ph.seed, "prior", "treatment-summary-series"),
                plan_uid=prior_plan,
                n_fractions_planned=ph.prior.n_fractions,
                fraction_dates=PRIOR_FRACTION_DATES,
            ),
            prior_dir / f"RT.{ph.prior.plan_label}.dcm",
        )
    )
    current_files, _, current_ctx = _write_course(ph, ph.current, current_dir, CURRENT_PLAN_DATE)
    files.extend(current_files)
    registration = None
    if ph.variant == "deformable":
        registration = write_dataset(
            deformable_registration_dataset(
                current_ctx,
                (DeformableItem(1, ph.prior.frame_of_reference_uid, grid=vector_grid(ph)),),
                sop_instance_uid=derived_uid(ph.seed, "registration"),
                series_instance_uid=derived_uid(ph.seed, "registration-series"),
                description="current CT deformed onto the prior CT",
            ),
            current_dir / "RE.DEFORMABLE.dcm",
        )
        files.append(registration)
    elif not ph.same_frame:
        items = (
            RegistrationItem(
                1, ph.current.frame_of_reference_uid, (np.eye(4),), (MatrixType.RIGID,)
            ),
            RegistrationItem(
                2,
                ph.prior.frame_of_reference_uid,
                (ph.prior_to_current,),
                (MatrixType.RIGID,),
                "prior planning CT to current planning CT",
            ),
        )
        registration = write_dataset(
            spatial_registration_dataset(
                current_ctx,
                items,
                sop_instance_uid=derived_uid(ph.seed, "registration"),
                series_instance_uid=derived_uid(ph.seed, "registration-series"),
                description="prior CT registered to the current CT (rigid)",
            ),
            current_dir / "RE.REGISTRATION.dcm",
        )
        files.append(registration)
    return ReirradiationPaths(prior_dir, current_dir, tuple(files), registration)


def vector_grid(ph: ReirradiationPhantom, spacing_mm: float = VECTOR_GRID_MM) -> VectorGrid:
    """A vector grid over the current body holding ``D(r) = T·r - r`` (current → prior)."""
    current = ph.current.dose
    axes = [
        grid_axis(float(a[0]) - spacing_mm, float(a[-1]) + spacing_mm, spacing_mm)
        for a in (current.x_mm, current.y_mm, current.z_mm)
    ]
    x, y, z = axes
    nodes = np.stack(np.meshgrid(z, y, x, indexing="ij")[::-1], axis=-1)  # (z, y, x, 3)
    vectors = apply_matrix(ph.current_to_prior, nodes) - nodes
    return VectorGrid(
        np.array([x[0], y[0], z[0]]),
        np.eye(3),
        np.full(3, spacing_mm),
        vectors.astype(np.float32),
    )


def write_all_reirradiation(out_dir: Path | str) -> dict[str, ReirradiationPaths]:
    """Write every variant into ``out_dir/<folder>/``."""
    root = Path(out_dir)
    return {name: write_reirradiation(v, root / name) for v, name in VARIANTS.items()}
