"""Linear dose fields and the dose grids they are sampled on.

A phantom's dose is ``D(p) = dose_at_reference_gy + g · (p - reference)``
with a constant gradient ``g`` in Gy/mm: along x, y, z or any oblique
direction. Sampled on a grid, a trilinear interpolation reproduces it
exactly, so any DVH difference from the truth comes from the geometry, not
from the dose interpolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.model import DoseGrid

__all__ = ["GRADIENT_DIRECTIONS", "LinearField", "grid_axis", "sample_field", "uneven_axis"]

FloatArray = npt.NDArray[np.float64]
Point3 = tuple[float, float, float]

# Unit directions for named gradients ("oblique" is (1, 2, -2) / 3: all three
# components non-zero and of different sizes, and exactly unit length).
GRADIENT_DIRECTIONS: dict[str, Point3] = {
    "x": (1.0, 0.0, 0.0),
    "y": (0.0, 1.0, 0.0),
    "z": (0.0, 0.0, 1.0),
    "oblique": (1.0 / 3.0, 2.0 / 3.0, -2.0 / 3.0),
}

# Grid coordinates are rounded to this many decimals (so that they are written
# to DICOM and read back without change).
GRID_DECIMALS = 6


@dataclass(frozen=True)
class LinearField:
    """``D(x, y, z) = dose_at_reference_gy + g · ((x, y, z) - reference_mm)`` in Gy."""

    dose_at_reference_gy: float
    gradient_gy_per_mm: Point3
    reference_mm: Point3 = (0.0, 0.0, 0.0)

    def dose_gy(self, x_mm: npt.ArrayLike, y_mm: npt.ArrayLike, z_mm: npt.ArrayLike) -> FloatArray:
        """Dose at points (broadcasting ``x``, ``y``, ``z``), in Gy."""
        gx, gy, gz = self.gradient_gy_per_mm
        rx, ry, rz = self.reference_mm
        x = np.asarray(x_mm, dtype=np.float64)
        y = np.asarray(y_mm, dtype=np.float64)
        z = np.asarray(z_mm, dtype=np.float64)
        return np.asarray(
            self.dose_at_reference_gy + gx * (x - rx) + gy * (y - ry) + gz * (z - rz),
            dtype=np.float64,
        )

    def dose_at(self, point_mm: Point3) -> float:
        return float(self.dose_gy(*point_mm))

    @classmethod
    def named(
        cls, direction: str, gy_per_mm: float, dose_at_reference_gy: float, reference_mm: Point3
    ) -> LinearField:
        """A field along a named direction (:data:`GRADIENT_DIRECTIONS`)."""
        try:
            u = GRADIENT_DIRECTIONS[direction]
        except KeyError:
            raise ValueError(
                f"unknown gradient direction {direction!r}; use one of {sorted(GRADIENT_DIRECTIONS)}"
            ) from None
        g = (gy_per_mm * u[0], gy_per_mm * u[1], gy_per_mm * u[2])
        return cls(dose_at_reference_gy, g, reference_mm)


def grid_axis(lo_mm: float, hi_mm: float, spacing_mm: float, anchor_mm: float = 0.0) -> FloatArray:
    """Points ``anchor + k * spacing`` from the last one <= ``lo`` to the first one >= ``hi``.

    Rounded to 1e-6 mm. ``hi < lo`` is an error.
    """
    if not spacing_mm > 0:
        raise ValueError(f"grid spacing must be positive, got {spacing_mm}")
    if hi_mm < lo_mm:
        raise ValueError(f"empty grid range [{lo_mm}, {hi_mm}]")
    k0 = math.floor((lo_mm - anchor_mm) / spacing_mm + 1e-9)
    k1 = math.ceil((hi_mm - anchor_mm) / spacing_mm - 1e-9)
    k = np.arange(k0, k1 + 1, dtype=np.float64)
    return np.round(anchor_mm + k * spacing_mm, GRID_DECIMALS)


def uneven_axis(
    lo_mm: float, hi_mm: float, gaps_mm: tuple[float, ...], anchor_mm: float = 0.0
) -> FloatArray:
    """Points through ``anchor`` with the repeating gaps ``gaps_mm``, covering ``[lo, hi]``.

    From the last point <= ``lo`` to the first point >= ``hi``; rounded to 1e-6 mm.
    """
    if not gaps_mm or min(gaps_mm) <= 0:
        raise ValueError(f"grid gaps must be positive, got {gaps_mm}")
    if hi_mm < lo_mm:
        raise ValueError(f"empty grid range [{lo_mm}, {hi_mm}]")
    period = float(sum(gaps_mm))
    k0 = math.floor((lo_mm - anchor_mm) / period) - 1
    k1 = math.ceil((hi_mm - anchor_mm) / period) + 1
    starts = anchor_mm + period * np.arange(k0, k1 + 1, dtype=np.float64)
    within = np.concatenate([[0.0], np.cumsum(gaps_mm)[:-1]])
    pts = np.round((starts[:, None] + within[None, :]).ravel(), GRID_DECIMALS)
    i0 = int(np.nonzero(pts <= lo_mm + 1e-9)[0].max())
    i1 = int(np.nonzero(pts >= hi_mm - 1e-9)[0].min())
    return np.asarray(pts[i0 : i1 + 1], dtype=np.float64)


def sample_field(
    field: LinearField,
    x_mm: FloatArray,
    y_mm: FloatArray,
    z_mm: FloatArray,
    frame_of_reference_uid: str,
) -> DoseGrid:
    """The field at the points of a rectilinear grid (axes ascending), as a ``DoseGrid``."""
    dose = field.dose_gy(x_mm[None, None, :], y_mm[None, :, None], z_mm[:, None, None])
    return DoseGrid(
        np.ascontiguousarray(dose, dtype=np.float64),
        np.asarray(x_mm, dtype=np.float64),
        np.asarray(y_mm, dtype=np.float64),
        np.asarray(z_mm, dtype=np.float64),
        frame_of_reference_uid,
    )
