"""Mappings of patient coordinates from one frame of reference to another.

A mapping answers one question: a point given in the patient coordinates of
``from_frame_uid``, where is it in the patient coordinates of
``to_frame_uid``? To sample a prior course's dose at the current course's
points, map the current points with the mapping *current → prior* and
interpolate the prior grid there.

* :class:`MatrixMapping`: a 4×4 matrix (the identity when both frames are the
  same; rigid, rigid with scaling or affine otherwise).
* :class:`DeformableMapping`: a matrix into a deformable registration's
  Registered RCS, then its item ``s = M_post · (M_pre · r + D(r))``; NaN
  where the vector grid does not reach or is undefined.

Both carry their provenance (:class:`RegistrationStep`: file, SOP Instance UID,
item, frames, matrix and type, and whether it was used inverted) and a note
saying how they were made, for reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from plancheck.registration.matrix import MatrixType, apply_matrix, rotation_angle_deg
from plancheck.registration.records import VectorGrid

__all__ = ["DeformableMapping", "MatrixMapping", "PointMapping", "RegistrationStep"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RegistrationStep:
    """One registration item used by a mapping, as stored in its file.

    ``matrix`` is the item's matrix as the file gives it: source → registered
    for a rigid Spatial Registration, registered → source (``M_post · M_pre``)
    for a Deformable Spatial Registration. ``inverted`` says the mapping used
    it in the other direction.
    """

    kind: str  # "rigid" or "deformable"
    path: str | None
    sop_instance_uid: str
    item_index: int
    source_frame_uid: str
    registered_frame_uid: str
    matrix: FloatArray
    matrix_type: MatrixType
    inverted: bool = False
    has_vector_grid: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "sop_instance_uid": self.sop_instance_uid,
            "item": self.item_index,
            "source_frame_of_reference_uid": self.source_frame_uid,
            "registered_frame_of_reference_uid": self.registered_frame_uid,
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "matrix_type": self.matrix_type.value,
            "inverted": self.inverted,
            "vector_grid": self.has_vector_grid,
        }


@dataclass(frozen=True, eq=False)
class MatrixMapping:
    """Points of ``from_frame_uid`` → points of ``to_frame_uid`` by one 4×4 matrix.

    ``matrix_type`` is None for the identity between a frame and itself (no
    registration used, ``steps`` empty).
    """

    from_frame_uid: str
    to_frame_uid: str
    matrix: FloatArray
    matrix_type: MatrixType | None
    steps: tuple[RegistrationStep, ...]
    note: str

    @property
    def kind(self) -> str:
        return "identity" if self.matrix_type is None else "matrix"

    @property
    def is_identity(self) -> bool:
        """True when the matrix is the identity within 1e-12."""
        return bool(np.allclose(self.matrix, np.eye(4), rtol=0.0, atol=1e-12))

    @property
    def translation_mm(self) -> FloatArray:
        return np.asarray(self.matrix[:3, 3], dtype=np.float64)

    @property
    def rotation_deg(self) -> float:
        """Angle of the rotation part (meaningful for RIGID matrices)."""
        return rotation_angle_deg(self.matrix)

    def map_points(self, points_mm: npt.ArrayLike) -> FloatArray:
        """Points (…, 3) of the from-frame → the same physical points in the to-frame."""
        return apply_matrix(self.matrix, points_mm)

    def inverse(self) -> MatrixMapping:
        """The mapping the other way (to → from)."""
        return MatrixMapping(
            self.to_frame_uid,
            self.from_frame_uid,
            np.asarray(np.linalg.inv(self.matrix), dtype=np.float64),
            self.matrix_type,
            self.steps,
            f"inverse of: {self.note}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "from_frame_of_reference_uid": self.from_frame_uid,
            "to_frame_of_reference_uid": self.to_frame_uid,
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "matrix_type": None if self.matrix_type is None else self.matrix_type.value,
            "rotation_deg": self.rotation_deg,
            "translation_mm": [float(v) for v in self.translation_mm],
            "note": self.note,
            "registrations": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, eq=False)
class DeformableMapping:
    """Points of ``from_frame_uid`` → ``to_frame_uid`` through a deformation vector grid.

    ``map_points(p) = post · (pre · r + D(r))`` with ``r = into_registered · p``
    (the identity when the from-frame is the registration's Registered RCS).
    Points where ``D`` is not defined (off the grid, or NaN vectors) map to NaN.
    """

    from_frame_uid: str
    to_frame_uid: str
    into_registered: FloatArray
    pre_matrix: FloatArray
    grid: VectorGrid | None
    post_matrix: FloatArray
    steps: tuple[RegistrationStep, ...]
    note: str

    @property
    def kind(self) -> str:
        return "deformable"

    def map_points(self, points_mm: npt.ArrayLike) -> FloatArray:
        """Points (…, 3) of the from-frame → the to-frame; NaN where the deformation is undefined."""
        r = apply_matrix(self.into_registered, points_mm)
        q = apply_matrix(self.pre_matrix, r)
        if self.grid is not None:
            q = q + self.grid.displacement_mm(r)
        return apply_matrix(self.post_matrix, q)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "from_frame_of_reference_uid": self.from_frame_uid,
            "to_frame_of_reference_uid": self.to_frame_uid,
            "into_registered_matrix": [[float(v) for v in row] for row in self.into_registered],
            "pre_deformation_matrix": [[float(v) for v in row] for row in self.pre_matrix],
            "post_deformation_matrix": [[float(v) for v in row] for row in self.post_matrix],
            "note": self.note,
            "registrations": [s.to_dict() for s in self.steps],
        }
        if self.grid is not None:
            out["vector_grid"] = {
                "dimensions": list(self.grid.dimensions),
                "resolution_mm": [float(v) for v in self.grid.spacing_mm],
                "origin_mm": [float(v) for v in self.grid.origin_mm],
            }
        return out


PointMapping = MatrixMapping | DeformableMapping
