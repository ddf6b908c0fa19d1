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


class DeformationFieldMapping:
    """A deformable registration's mapping, for a dose-field contribution.

    The dose field asks for the mapped points and then for the Jacobian at the
    same points; the mapped points of the last call are kept so that the
    Jacobian (forward differences) costs three more mappings, not six.
    """

    def __init__(self, mapping: DeformableMapping):
        self.mapping = mapping
        self._last: tuple[FloatArray, FloatArray] | None = None

    def _map(self, p: FloatArray) -> FloatArray:
        return np.asarray(self.mapping.map_points(p), dtype=np.float64)

    def apply(self, points_mm: FloatArray) -> FloatArray:
        p = np.asarray(points_mm, dtype=np.float64)
        q = self._map(p)
        self._last = (p, q)
        bad = ~np.all(np.isfinite(q), axis=-1)
        if np.any(bad):
            q = q.copy()
            q[bad] = _NOWHERE_MM
        return q

    def jacobian(self, points_mm: FloatArray) -> FloatArray:
        p = np.asarray(points_mm, dtype=np.float64)
        last = self._last
        base = last[1] if last is not None and last[0].shape == p.shape and np.array_equal(last[0], p) else self._map(p)
        out = np.empty((p.shape[0], 3, 3))
        h = _JACOBIAN_STEP_MM
        for axis in range(3):
            step = np.zeros(3)
            step[axis] = h
            d = (self._map(p + step) - base) / h
            out[:, :, axis] = np.where(np.isfinite(d), d, 0.0)
        return out


def field_mapping(mapping: RegistrationMapping) -> FieldMapping | None:
    """The contribution mapping of a registration mapping (current → prior); None for the identity."""
    if isinstance(mapping, MatrixMapping):
        if mapping.is_identity:
            return None
        return RigidMapping(mapping.matrix, mapping.note)
    return DeformationFieldMapping(mapping)
