"""A registration's point mapping as the mapping of a dose-field contribution.

:func:`field_mapping` turns the mapping *current → prior* that
:func:`plancheck.registration.find_registration` returns into what
:class:`plancheck.dose.field.Contribution` takes:

* a matrix (rigid, rigid with scaling, affine, or the identity between a
  frame and itself) is a :class:`~plancheck.dose.field.RigidMapping` of the
  same 4×4 matrix (``q = M p``; the name says how it is applied, the matrix
  may be any invertible affine);
* a deformation (vector grid, trilinear) is a :class:`DeformationFieldMapping`:
  its points where the vector grid does not reach are sent far outside any
  dose grid, so that the DVH engine counts them as volume of unknown prior
  dose, never as zero dose. Its Jacobian is taken by central differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.dose.field import PointMapping as FieldMapping
from plancheck.dose.field import RigidMapping
from plancheck.registration import DeformableMapping, MatrixMapping
from plancheck.registration import PointMapping as RegistrationMapping

__all__ = ["DeformationFieldMapping", "field_mapping"]

FloatArray = npt.NDArray[np.floating]

# where points with no defined deformation are sent: beyond any dose grid
_NOWHERE_MM = 1.0e9
# step of the central differences of a deformation's Jacobian
_JACOBIAN_STEP_MM = 0.5


@dataclass(frozen=True, eq=False)
class DeformationFieldMapping:
    """A deformable registration's mapping, for a dose-field contribution."""

    mapping: DeformableMapping

    def apply(self, points_mm: FloatArray) -> FloatArray:
        q = np.asarray(self.mapping.map_points(np.asarray(points_mm, dtype=np.float64)), dtype=np.float64)
        bad = ~np.all(np.isfinite(q), axis=-1)
        if np.any(bad):
            q = q.copy()
            q[bad] = _NOWHERE_MM
        return q

    def jacobian(self, points_mm: FloatArray) -> FloatArray:
        p = np.asarray(points_mm, dtype=np.float64)
        out = np.empty((p.shape[0], 3, 3))
        h = _JACOBIAN_STEP_MM
        for axis in range(3):
            step = np.zeros(3)
            step[axis] = h
            d = (self.mapping.map_points(p + step) - self.mapping.map_points(p - step)) / (2.0 * h)
            out[:, :, axis] = np.where(np.isfinite(d), d, 0.0)
        return out


def field_mapping(mapping: RegistrationMapping) -> FieldMapping | None:
    """The contribution mapping of a registration mapping (current → prior); None for the identity."""
    if isinstance(mapping, MatrixMapping):
        if mapping.is_identity:
            return None
        return RigidMapping(mapping.matrix, mapping.note)
    return DeformationFieldMapping(mapping)
