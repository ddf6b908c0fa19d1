"""Frozen records that flow between plancheck's layers.

Conventions (they hold for every object here):

* Patient coordinates are DICOM patient coordinates (x, y, z) in mm.
* Dose arrays are indexed (frame, row, column) == (z, y, x) **after** the
  RTDOSE reader has reoriented them so that ``x_mm``, ``y_mm`` and ``z_mm``
  all ascend. The four axial orientations (head/feet first, supine/prone)
  therefore look the same to every computation; only the reader knows them.
* Doses are in Gy, volumes in cc (cm³), lengths in mm. cGy and relative
  doses are converted or refused at the DICOM boundary.

Records holding arrays use ``eq=False``: identity, not element-wise equality.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating]


class Severity(str, enum.Enum):
    """How much a data-quality finding matters to the user."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """Something noticed about the input that the user should see.

    ``code`` is a stable kebab-case identifier scripts can filter on
    (``"link-by-frame-of-reference"``, ``"structure-outside-dose-grid"``, ...).
    """

    severity: Severity
    code: str
    message: str
    path: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "path": self.path,
        }


class EndCaps(str, enum.Enum):
    """How far a structure extends beyond its first and last contour planes.

    ``HALF``: half the contour spacing beyond each end plane, so every plane is
    a full slab (Nelms et al. 2015's analytical volumes, and most TPS).
    ``NONE``: the end planes bound the structure (a box contoured on 21 planes
    5 mm apart is 100 mm tall, not 105 mm).
    ``AUTO``: the convention of the planning system that wrote the structure
    set (:mod:`plancheck.dvh.end_caps`), resolved per structure set.
    """

    HALF = "half"
    NONE = "none"
    AUTO = "auto"


@dataclass(frozen=True)
class PatientInfo:
    name: str
    patient_id: str
    birth_date: str


@dataclass(frozen=True)
class SourceInfo:
    """Where a DICOM object came from, as its header says (for the report's provenance).

    ``manufacturer``, ``model_name`` and ``software_versions`` name the system
    that wrote the object (General Equipment module); ``date`` and ``time``
    the object's own date (RTPlanDate, StructureSetDate, ContentDate, else
    InstanceCreationDate), as stored (DA ``YYYYMMDD``, TM ``HHMMSS``).
    ``approval_status``, ``review_date``, ``review_time`` and ``reviewer_name``
    come from the Approval module (RT Plan, RT Structure Set). ``identifying``
    holds every value of an identifying attribute of the header (DICOM PS3.15
    Annex E, plus every person name, date and UID) as (keyword, VR, value),
    so that anonymised outputs can replace them wherever they are quoted.
    Every field is empty when the header does not say.
    """

    manufacturer: str | None = None
    model_name: str | None = None
    software_versions: str | None = None
    institution_name: str | None = None
    station_name: str | None = None
    date: str | None = None
    time: str | None = None
    approval_status: str | None = None
    review_date: str | None = None
    review_time: str | None = None
    reviewer_name: str | None = None
    identifying: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, eq=False)
class DoseGrid:
    """A dose distribution on an axis-aligned rectilinear grid.

    Parameters
    ----------
    dose_gy : ndarray, shape (frame, row, column), float32 or float64
        Dose in Gy at the grid points. Axes ordered (z, y, x).
    x_mm, y_mm, z_mm : ndarray, shape (column,), (row,), (frame,)
        Ascending patient coordinates of the grid points. ``z_mm`` may be
        unevenly spaced; ``x_mm`` and ``y_mm`` are evenly spaced.
    frame_of_reference_uid : str
        The DICOM frame of reference the coordinates belong to.
    axes : ndarray, shape (3, 3), optional
        The grid's own frame: column 0, 1 and 2 are the unit vectors, in patient
        coordinates, of the directions along which ``x_mm``, ``y_mm`` and
        ``z_mm`` ascend (column, row and frame directions of the reoriented
        grid). The identity (the default) for the usual axial grids; a tilted
        or oblique grid has other axes. Grid point (k, i, j) lies at the
        patient position ``axes @ (x_mm[j], y_mm[i], z_mm[k])``. Structures
        are brought into this frame before they are sampled on the grid.
    """

    dose_gy: FloatArray
    x_mm: FloatArray
    y_mm: FloatArray
    z_mm: FloatArray
    frame_of_reference_uid: str
    axes: FloatArray = field(default_factory=lambda: np.eye(3))

    @property
    def is_axial(self) -> bool:
        """True when the grid axes are the patient axes x, y, z (within 1e-9)."""
        return bool(np.allclose(self.axes, np.eye(3), atol=1e-9))

    def to_patient_mm(self, points_grid_mm: npt.ArrayLike) -> FloatArray:
        """Grid-frame coordinates (…, 3) as (x', y', z') to patient coordinates (…, 3)."""
        return np.asarray(points_grid_mm, dtype=np.float64) @ self.axes.T

    def to_grid_mm(self, points_patient_mm: npt.ArrayLike) -> FloatArray:
        """Patient coordinates (…, 3) to grid-frame coordinates (x', y', z') (…, 3)."""
        return np.asarray(points_patient_mm, dtype=np.float64) @ self.axes

    @property
    def shape(self) -> tuple[int, int, int]:
        s = self.dose_gy.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Grid spacing (dz, dy, dx) in mm; dz is the median frame spacing."""
        dz = float(np.median(np.diff(self.z_mm))) if self.z_mm.size > 1 else 0.0
        dy = float(self.y_mm[1] - self.y_mm[0]) if self.y_mm.size > 1 else 0.0
        dx = float(self.x_mm[1] - self.x_mm[0]) if self.x_mm.size > 1 else 0.0
        return (dz, dy, dx)

    def same_points_as(self, other: DoseGrid, tol_mm: float = 1e-3) -> bool:
        """True when both grids have the same grid points (within ``tol_mm``)."""
        return (
            self.shape == other.shape
            and bool(np.allclose(self.axes, other.axes, atol=1e-9))
            and bool(np.allclose(self.x_mm, other.x_mm, atol=tol_mm))
            and bool(np.allclose(self.y_mm, other.y_mm, atol=tol_mm))
            and bool(np.allclose(self.z_mm, other.z_mm, atol=tol_mm))
        )

    def with_dose(self, dose_gy: FloatArray) -> DoseGrid:
        """The same grid carrying another dose array (for sums and EQD2)."""
        if dose_gy.shape != self.dose_gy.shape:
            raise ValueError(f"dose shape {dose_gy.shape} != grid shape {self.dose_gy.shape}")
        return DoseGrid(
            dose_gy, self.x_mm, self.y_mm, self.z_mm, self.frame_of_reference_uid, self.axes
        )


@dataclass(frozen=True, eq=False)
class TpsDvh:
    """A DVH stored by the planning system in the RTDOSE DVHSequence.

    ``dose_gy`` are bin edges converted to Gy (from percent of the
    prescription where the reader detected that quirk, see ``dose_axis``),
    ``cumulative_cc`` the volume receiving at least each edge.
    """

    roi_number: int
    dose_gy: FloatArray
    cumulative_cc: FloatArray
    min_gy: float | None
    max_gy: float | None
    mean_gy: float | None
    dose_axis: str  # "Gy" as stored, or "percent-of-prescription" when detected
    # the RTDOSE's writer (whose end-cap convention the DVH follows)
    manufacturer: str | None = None
    manufacturer_model: str | None = None
    dose_sop_instance_uid: str | None = None


@dataclass(frozen=True, eq=False)
class RtDose:
    """One RTDOSE file: its grid (in Gy, as stored, not yet scaled by fractions)."""

    path: Path
    sop_instance_uid: str
    grid: DoseGrid
    summation_type: str  # PLAN, BEAM, FRACTION, MULTI_PLAN, ...
    dose_type: str  # PHYSICAL, EFFECTIVE, ERROR
    referenced_plan_uid: str | None
    referenced_beam_numbers: tuple[int, ...]
    referenced_fraction_group: int | None
    patient: PatientInfo
    tps_dvhs: tuple[TpsDvh, ...] = ()
    findings: tuple[Finding, ...] = ()
    source: SourceInfo = field(default_factory=SourceInfo)


@dataclass(frozen=True)
class DoseFile:
    """One RTDOSE file that made a plan's dose: path, identity, dose type and origin."""

    path: Path
    sop_instance_uid: str
    dose_type: str  # PHYSICAL, EFFECTIVE
    summation_type: str
    source: SourceInfo = field(default_factory=SourceInfo)


@dataclass(frozen=True, eq=False)
class ContourPlane:
    """All closed contours of one ROI on one axial plane.

    ``polygons`` are (n, 2) arrays of (x, y) in mm. They combine by the
    even-odd rule: a contour inside another is a hole.
    """

    z_mm: float
    polygons: tuple[FloatArray, ...]


@dataclass(frozen=True, eq=False)
class Structure:
    """One ROI of a structure set, as closed planar contours sorted by z."""

    roi_number: int
    name: str
    roi_type: str | None
    planes: tuple[ContourPlane, ...]
    color_rgb: tuple[int, int, int] | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def has_volume(self) -> bool:
        return len(self.planes) > 0


@dataclass(frozen=True, eq=False)
class StructureSet:
    """The ROIs of one RT Structure Set.

    ``axes`` is the frame the contours are stored in: columns 0, 1 and 2 are
    the unit vectors (patient coordinates) of the in-plane axes and of the
    plane normal. Each :class:`ContourPlane`'s ``z_mm`` is the coordinate
    along column 2 and its polygons are coordinates along columns 0 and 1.
    The identity (the default) for axial contours; a structure set drawn on
    a tilted image series has the tilted frame.
    """

    path: Path
    sop_instance_uid: str
    label: str
    frame_of_reference_uid: str | None
    structures: tuple[Structure, ...]
    patient: PatientInfo
    findings: tuple[Finding, ...] = ()
    axes: FloatArray = field(default_factory=lambda: np.eye(3))
    source: SourceInfo = field(default_factory=SourceInfo)

    def by_name(self, name: str) -> Structure:
        for s in self.structures:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class DoseReference:
    """An item of the RTPLAN DoseReferenceSequence."""

    number: int | None
    description: str
    dose_reference_type: str  # TARGET or ORGAN_AT_RISK
    target_prescription_dose_gy: float | None
    roi_number: int | None


@dataclass(frozen=True)
class Plan:
    """An RT Plan or RT Ion Plan, header facts only."""

    path: Path
    sop_instance_uid: str
    label: str
    name: str
    n_fractions: int | None
    dose_references: tuple[DoseReference, ...]
    approval_status: str | None
    referenced_structure_set_uid: str | None
    frame_of_reference_uid: str | None
    is_ion: bool
    beam_numbers: tuple[int, ...]
    patient: PatientInfo
    findings: tuple[Finding, ...] = ()
    source: SourceInfo = field(default_factory=SourceInfo)

    @property
    def prescription_gy(self) -> float | None:
        """Highest TARGET prescription dose in the plan, if any is stated."""
        doses = [
            r.target_prescription_dose_gy
            for r in self.dose_references
            if r.target_prescription_dose_gy is not None
        ]
        return max(doses) if doses else None


@dataclass(frozen=True, eq=False)
class DosePart:
    """A share of a plan's dose delivered in ``n_fractions`` equal fractions.

    A plan with one fraction group is one part (its whole dose). A plan with
    several fraction groups is one part per group, when the dose of each
    group is known (per-group RTDOSEs or BEAM doses); the linear-quadratic
    conversions are then made per part and added.
    """

    dose: DoseGrid
    n_fractions: int


@dataclass(frozen=True, eq=False)
class PlanDose:
    """One plan with the total dose it delivers over all its fractions.

    ``how`` says which RTDOSE files made the dose ("PLAN dose", "sum of 2 BEAM
    doses", "FRACTION_SESSION dose × 7 fractions"); ``dose_uids`` are their SOP
    Instance UIDs.
    """

    plan: Plan | None
    dose: DoseGrid
    how: str
    dose_uids: tuple[str, ...]
    tps_dvhs: tuple[TpsDvh, ...] = ()
    parts: tuple[DosePart, ...] | None = None
    parts_unknown_reason: str | None = None
    dose_files: tuple[DoseFile, ...] = ()

    @property
    def dose_type(self) -> str | None:
        """PHYSICAL or EFFECTIVE when every RTDOSE of the plan says the same, else None."""
        types = {f.dose_type for f in self.dose_files}
        return types.pop() if len(types) == 1 else None

    @property
    def label(self) -> str:
        return self.plan.label if self.plan is not None else "(no plan)"

    @property
    def n_fractions(self) -> int | None:
        """The plan's fraction count; without a plan, that of its one part (``--fractions``)."""
        if self.plan is not None:
            return self.plan.n_fractions
        if self.parts is not None and len(self.parts) == 1:
            return self.parts[0].n_fractions
        return None

    def fraction_parts(self) -> tuple[DosePart, ...]:
        """The dose as parts of equal fractions, for biological (EQD2/BED) conversions.

        ``parts`` when the loader set them; otherwise the whole dose in
        ``n_fractions`` fractions. Empty when that is not known (no fraction
        count, or several fraction groups whose separate doses are not
        available); ``parts_unknown_reason`` then says why.
        """
        if self.parts is not None:
            return self.parts
        if self.parts_unknown_reason is not None or self.n_fractions is None:
            return ()
        return (DosePart(self.dose, self.n_fractions),)


@dataclass(frozen=True, eq=False)
class Course:
    """Plans that share one structure set and frame of reference."""

    structure_set: StructureSet
    plans: tuple[PlanDose, ...]
    findings: tuple[Finding, ...] = field(default=())


@dataclass(frozen=True, eq=False)
class Dvh:
    """A cumulative dose-volume histogram of one structure.

    ``cumulative_cc[k]`` is the volume receiving at least the dose
    ``dose_edges_gy[k]`` (a piecewise-linear curve between these points;
    metrics interpolate). The edges are ``edges_gy`` when given (the engine's
    curves: 1 mGy apart at low doses, 0.01 % apart above 10 Gy), else
    ``k * bin_width_gy``. ``volume_cc`` is the whole structure volume;
    ``volume_outside_grid_cc`` the part of it where the dose is unknown (outside
    a dose grid), which the curve does not include; ``outside_grid_by_source_cc``
    names, for a dose summed from several grids, each grid that did not cover
    part of the structure and how much (label, cc). ``min_gy``/``mean_gy``/``max_gy``
    describe the part with a known dose and are ``None`` when that part is empty.
    """

    bin_width_gy: float
    cumulative_cc: FloatArray
    volume_cc: float
    volume_outside_grid_cc: float
    min_gy: float | None
    mean_gy: float | None
    max_gy: float | None
    edges_gy: FloatArray | None = None
    outside_grid_by_source_cc: tuple[tuple[str, float], ...] = ()

    @property
    def volume_in_grid_cc(self) -> float:
        return float(self.cumulative_cc[0]) if self.cumulative_cc.size else 0.0

    @property
    def dose_edges_gy(self) -> FloatArray:
        if self.edges_gy is not None:
            return self.edges_gy[: self.cumulative_cc.size]
        return np.arange(self.cumulative_cc.size, dtype=np.float64) * self.bin_width_gy
