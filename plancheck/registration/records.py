"""Frozen records of DICOM Spatial Registration objects (REG), as read.

Two IODs (PS3.3 A.39), with different directions:

* **Spatial Registration** (rigid, PS3.3 C.20.2): each item of the
  RegistrationSequence names a frame of reference (the *source*) and a matrix
  that transforms the source's patient coordinates **into** the REG object's
  own frame of reference (the *Registered RCS*, its FrameOfReferenceUID).
  :attr:`RegistrationItem.matrix` is that source → registered matrix.
* **Deformable Spatial Registration** (PS3.3 C.20.3.1.1): each item is applied
  to coordinates **of the Registered RCS** and gives the point to sample in
  its source frame: ``s = M_post · (M_pre · r + D(r))``, where ``D`` is the
  deformation vector grid interpolated at ``r`` (the grid is placed in the
  Registered RCS by its ImagePositionPatient and ImageOrientationPatient).
  :class:`DeformableItem` keeps ``M_pre``, ``M_post`` and the grid.

Records are what the reader found, already checked (matrix types, grid
sizes); they compute nothing beyond what their own fields give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from plancheck.errors import InputError
from plancheck.model import Finding
from plancheck.registration.matrix import MatrixType, compose, least_constrained

__all__ = [
    "DeformableItem",
    "DeformableRegistration",
    "Registration",
    "RegistrationError",
    "RegistrationItem",
    "SpatialRegistration",
    "VectorGrid",
]

FloatArray = npt.NDArray[np.float64]

# A grid index this far outside [0, n - 1] still counts as on the grid (rounding).
GRID_EDGE_TOLERANCE = 1e-6


class RegistrationError(InputError):
    """A registration is malformed, or none links the frames of reference that must be linked."""


@dataclass(frozen=True, eq=False)
class RegistrationItem:
    """One item of a rigid Spatial Registration: source frame → registered frame.

    Parameters
    ----------
    index : int
        1-based position in the RegistrationSequence (for messages).
    frame_of_reference_uid : str
        The source frame of reference (the item's FrameOfReferenceUID).
    matrices : tuple of ndarray, each (4, 4)
        The items of its MatrixSequence, in order.
    matrix_types : tuple of MatrixType
        Their FrameOfReferenceTransformationMatrixType.
    comment : str
        FrameOfReferenceTransformationComment, if any.
    """

    index: int
    frame_of_reference_uid: str
    matrices: tuple[FloatArray, ...]
    matrix_types: tuple[MatrixType, ...]
    comment: str = ""

    @property
    def matrix(self) -> FloatArray:
        """The source → registered matrix (the MatrixSequence composed, first item first)."""
        return compose(self.matrices)

    @property
    def matrix_type(self) -> MatrixType:
        return least_constrained(self.matrix_types)


@dataclass(frozen=True, eq=False)
class SpatialRegistration:
    """A Spatial Registration object (SOP Class 1.2.840.10008.5.1.4.1.1.66.1).

    ``frame_of_reference_uid`` is the Registered RCS: every item's matrix maps
    its own frame into it. ``unresolved`` lists items that could not be used
    (an item naming images only, no frame of reference), with the reason.
    """

    path: Path | None
    sop_instance_uid: str
    frame_of_reference_uid: str
    items: tuple[RegistrationItem, ...]
    content_date: str = ""
    description: str = ""
    unresolved: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def kind(self) -> str:
        return "rigid"

    @property
    def frames(self) -> frozenset[str]:
        """Every frame of reference this object links (its own included)."""
        return frozenset(
            {self.frame_of_reference_uid, *(i.frame_of_reference_uid for i in self.items)}
        )

    def item_for(self, frame_uid: str) -> RegistrationItem | None:
        """The item whose source is ``frame_uid`` (None when there is none)."""
        return next((i for i in self.items if i.frame_of_reference_uid == frame_uid), None)


@dataclass(frozen=True, eq=False)
class VectorGrid:
    """A deformation vector grid (PS3.3 C.20.3.1.2, C.20.3.1.3).

    Parameters
    ----------
    origin_mm : ndarray, shape (3,)
        ImagePositionPatient: the centre of the first grid voxel, in the
        Registered RCS.
    axes : ndarray, shape (3, 3)
        Columns: the row direction, the column direction (ImageOrientationPatient)
        and their cross product, as unit vectors in patient coordinates.
    spacing_mm : ndarray, shape (3,)
        GridResolution along the three axes.
    vectors_mm : ndarray, shape (frame, row, column, 3), float32
        VectorGridData: the deformation (x, y, z offsets in mm) at each voxel
        centre; (NaN, NaN, NaN) where it is undefined.
    """

    origin_mm: FloatArray
    axes: FloatArray
    spacing_mm: FloatArray
    vectors_mm: npt.NDArray[np.floating]

    @property
    def dimensions(self) -> tuple[int, int, int]:
        """GridDimensions (columns, rows, frames)."""
        f, r, c = self.vectors_mm.shape[:3]
        return (int(c), int(r), int(f))

    def displacement_mm(self, points_mm: npt.ArrayLike) -> FloatArray:
        """The deformation at points (…, 3) of the Registered RCS, trilinear; NaN off the grid.

        A point is on the grid when it lies between the first and last voxel
        centres along every axis (a grid one voxel thick along an axis takes
        only points in that voxel's plane). A result is NaN when the point is
        off the grid or when a vector that contributes to it (non-zero weight)
        is undefined.
        """
        p = np.asarray(points_mm, dtype=np.float64)
        flat = p.reshape(-1, 3)
        # continuous grid index (column, row, frame) of every point
        u = (flat - self.origin_mm) @ self.axes / self.spacing_mm
        n = np.array(self.dimensions, dtype=np.float64)
        on_grid = np.all((u >= -GRID_EDGE_TOLERANCE) & (u <= n - 1 + GRID_EDGE_TOLERANCE), axis=1)
        u = np.clip(u, 0.0, n - 1)
        lo = np.minimum(np.floor(u), np.maximum(n - 2, 0)).astype(np.intp)
        frac = np.where(n > 1, u - lo, 0.0)
        hi = np.minimum(lo + 1, (n - 1).astype(np.intp))
        out = np.zeros((flat.shape[0], 3))
        undefined = ~on_grid
        v = self.vectors_mm
        for dz in (0, 1):
            wz = frac[:, 2] if dz else 1.0 - frac[:, 2]
            iz = hi[:, 2] if dz else lo[:, 2]
            for dy in (0, 1):
                wy = frac[:, 1] if dy else 1.0 - frac[:, 1]
                iy = hi[:, 1] if dy else lo[:, 1]
                for dx in (0, 1):
                    wx = frac[:, 0] if dx else 1.0 - frac[:, 0]
                    ix = hi[:, 0] if dx else lo[:, 0]
                    w = wz * wy * wx
                    corner = np.asarray(v[iz, iy, ix], dtype=np.float64)
                    bad = np.isnan(corner).any(axis=1) & (w > 0)
                    undefined |= bad
                    out += np.where(w[:, None] > 0, np.nan_to_num(corner) * w[:, None], 0.0)
        out[undefined] = np.nan
        return out.reshape(p.shape)


@dataclass(frozen=True, eq=False)
class DeformableItem:
    """One item of a Deformable Spatial Registration: registered frame → source frame.

    ``s = post_matrix · (pre_matrix · r + D(r))`` for a point ``r`` of the
    Registered RCS (PS3.3 C.20.3.1.1); ``D`` is 0 when the item has no grid.
    Missing pre/post matrices are the identity (``pre_type``/``post_type``
    None).
    """

    index: int
    source_frame_uid: str
    pre_matrix: FloatArray = field(default_factory=lambda: np.eye(4))
    pre_type: MatrixType | None = None
    post_matrix: FloatArray = field(default_factory=lambda: np.eye(4))
    post_type: MatrixType | None = None
    grid: VectorGrid | None = None
    comment: str = ""

    @property
    def is_matrix_only(self) -> bool:
        """True when the item has no vector grid (a plain matrix, invertible)."""
        return self.grid is None

    @property
    def matrix(self) -> FloatArray:
        """``M_post · M_pre``: the whole item when it has no grid (registered → source)."""
        return np.asarray(self.post_matrix @ self.pre_matrix, dtype=np.float64)

    @property
    def matrix_type(self) -> MatrixType:
        return least_constrained(t for t in (self.pre_type, self.post_type) if t is not None)


@dataclass(frozen=True, eq=False)
class DeformableRegistration:
    """A Deformable Spatial Registration object (SOP Class 1.2.840.10008.5.1.4.1.1.66.3).

    ``frame_of_reference_uid`` is the Registered RCS; each item tells where a
    point of it lies in the item's source frame.
    """

    path: Path | None
    sop_instance_uid: str
    frame_of_reference_uid: str
    items: tuple[DeformableItem, ...]
    content_date: str = ""
    description: str = ""
    findings: tuple[Finding, ...] = ()

    @property
    def kind(self) -> str:
        return "deformable"

    @property
    def frames(self) -> frozenset[str]:
        return frozenset({self.frame_of_reference_uid, *(i.source_frame_uid for i in self.items)})

    def item_for(self, frame_uid: str) -> DeformableItem | None:
        return next((i for i in self.items if i.source_frame_uid == frame_uid), None)


Registration = SpatialRegistration | DeformableRegistration
