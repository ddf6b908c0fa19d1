"""Registrations between frames of reference, and the point mappings they give.

* :mod:`~plancheck.registration.matrix`: 4×4 matrices, their types (RIGID,
  RIGID_SCALE, AFFINE) and checks.
* :mod:`~plancheck.registration.records`: Spatial Registration and Deformable
  Spatial Registration objects as read
  (:func:`plancheck.dicom.registration.read_registration`).
* :mod:`~plancheck.registration.mapping`: mappings of patient coordinates
  from one frame of reference to another, with their provenance.
* :mod:`~plancheck.registration.find`: :func:`find_registration`, the mapping
  between two frames, or a clear refusal.
"""

from plancheck.registration.find import AGREEMENT_MM, find_registration
from plancheck.registration.mapping import (
    DeformableMapping,
    MatrixMapping,
    PointMapping,
    RegistrationStep,
)
from plancheck.registration.matrix import MatrixType, matrix_problem, rigid_matrix
from plancheck.registration.records import (
    DeformableItem,
    DeformableRegistration,
    Registration,
    RegistrationError,
    RegistrationItem,
    SpatialRegistration,
    VectorGrid,
)

__all__ = [
    "AGREEMENT_MM",
    "DeformableItem",
    "DeformableMapping",
    "DeformableRegistration",
    "MatrixMapping",
    "MatrixType",
    "PointMapping",
    "Registration",
    "RegistrationError",
    "RegistrationItem",
    "RegistrationStep",
    "SpatialRegistration",
    "VectorGrid",
    "find_registration",
    "matrix_problem",
    "rigid_matrix",
]
