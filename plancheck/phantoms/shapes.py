"""Solid shapes for phantoms and their contours on axial planes.

Each shape knows its extent along z, the closed contours of its cross-section
with any axial plane, and the volume of the ideal (smooth) solid. Contour
vertices lie **on** the true boundary (rounded to 1e-6 mm, the precision they
are written to DICOM with), so a contour is the inscribed polygon of the true
cross-section. Curved boundaries get enough vertices that the polygon's area
is within about 1e-4 of the true area (at least :data:`MIN_VERTICES`, more for
large radii, see :func:`vertex_count`).

Conventions: patient coordinates in mm; rings are ``(n, 2)`` arrays of
``(x, y)`` without a repeated closing vertex, counter-clockwise. Rings of one
plane combine by the even-odd rule, so the inner ring of :class:`Ring` is a
hole although it is also written counter-clockwise (readers must not rely on
orientation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from plancheck.model import ContourPlane, Structure

__all__ = [
    "MIN_VERTICES",
    "Cone",
    "Cylinder",
    "Ellipsoid",
    "EllipticCylinder",
    "PlaneLattice",
    "Ring",
    "Shape",
    "Sphere",
    "TwoPart",
    "contour_shape",
    "vertex_count",
]

FloatArray = npt.NDArray[np.float64]
Point3 = tuple[float, float, float]

MIN_VERTICES = 128
MAX_VERTICES = 1024
# Adaptive vertex count: the chord sagitta r (1 - cos(pi/n)) stays below this.
SAGITTA_MM = 0.002
# Contour coordinates are rounded to this many decimals (as written to DICOM).
ROUND_DECIMALS = 6
# Cross-sections narrower than this (mm) are not contoured.
DEGENERATE_MM = 1e-3


def vertex_count(radius_mm: float, fixed: int | None = None) -> int:
    """Number of vertices for a closed curve of (largest) radius ``radius_mm``.

    ``fixed`` overrides the adaptive choice. The adaptive count keeps the chord
    sagitta below :data:`SAGITTA_MM`, is at least :data:`MIN_VERTICES`, at most
    :data:`MAX_VERTICES`, and a multiple of 4 (vertices on both axes).
    """
    if fixed is not None:
        if fixed < 3:
            raise ValueError(f"a contour needs at least 3 vertices, got {fixed}")
        return int(fixed)
    n = math.ceil(math.pi / math.sqrt(2.0 * SAGITTA_MM / max(radius_mm, 1e-9)))
    n = min(max(n, MIN_VERTICES), MAX_VERTICES)
    return int(4 * math.ceil(n / 4))


def _ellipse_ring(
    cx: float, cy: float, a: float, b: float, n: int, azimuth_rad: float = 0.0
) -> FloatArray:
    """``n`` points of an ellipse (semi-axis ``a`` along ``azimuth``), counter-clockwise."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    w = a * np.cos(t)
    v = b * np.sin(t)
    c, s = math.cos(azimuth_rad), math.sin(azimuth_rad)
    return np.column_stack([cx + w * c - v * s, cy + w * s + v * c])


@runtime_checkable
class Shape(Protocol):
    """What the contouring and the truth need from a solid."""

    def z_extent_mm(self) -> tuple[float, float]:
        """Lowest and highest z of the ideal solid."""
        ...

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        """Closed contours of the cross-section at ``z_mm`` (empty when there is none)."""
        ...

    def ideal_volume_mm3(self) -> float:
        """Volume of the ideal solid in mm³."""
        ...

    def centre_mm(self) -> Point3:
        """Centroid of the ideal solid."""
        ...


@dataclass(frozen=True)
class Sphere:
    """A sphere of ``radius_mm`` around ``centre``."""

    radius_mm: float
    centre: Point3 = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not self.radius_mm > 0:
            raise ValueError(f"sphere radius must be positive, got {self.radius_mm}")

    def z_extent_mm(self) -> tuple[float, float]:
        return (self.centre[2] - self.radius_mm, self.centre[2] + self.radius_mm)

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        dz = z_mm - self.centre[2]
        r2 = self.radius_mm**2 - dz**2
        if r2 <= DEGENERATE_MM**2:
            return ()
        r = math.sqrt(r2)
        n = vertex_count(r, n_vertices)
        return (_ellipse_ring(self.centre[0], self.centre[1], r, r, n),)

    def ideal_volume_mm3(self) -> float:
        return 4.0 / 3.0 * math.pi * self.radius_mm**3

    def centre_mm(self) -> Point3:
        return self.centre


@dataclass(frozen=True)
class Ellipsoid:
    """An axis-aligned ellipsoid with semi-axes ``(a, b, c)`` along x, y, z."""

    semi_axes_mm: Point3
    centre: Point3 = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if min(self.semi_axes_mm) <= 0:
            raise ValueError(f"ellipsoid semi-axes must be positive, got {self.semi_axes_mm}")

    def z_extent_mm(self) -> tuple[float, float]:
        c = self.semi_axes_mm[2]
        return (self.centre[2] - c, self.centre[2] + c)

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        a, b, c = self.semi_axes_mm
        k2 = 1.0 - ((z_mm - self.centre[2]) / c) ** 2
        if k2 <= 0:
            return ()
        k = math.sqrt(k2)
        if min(a, b) * k <= DEGENERATE_MM:
            return ()
        n = vertex_count(max(a, b) * k, n_vertices)
        return (_ellipse_ring(self.centre[0], self.centre[1], a * k, b * k, n),)

    def ideal_volume_mm3(self) -> float:
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * math.pi * a * b * c

    def centre_mm(self) -> Point3:
        return self.centre


@dataclass(frozen=True)
class EllipticCylinder:
    """A cylinder along z with an elliptic cross-section (semi-axes along x and y)."""

    semi_axes_mm: tuple[float, float]
    length_mm: float
    centre: Point3 = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if min(self.semi_axes_mm) <= 0 or self.length_mm <= 0:
            raise ValueError("elliptic cylinder semi-axes and length must be positive")

    def z_extent_mm(self) -> tuple[float, float]:
        h = self.length_mm / 2
        return (self.centre[2] - h, self.centre[2] + h)

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        if abs(z_mm - self.centre[2]) > self.length_mm / 2:
            return ()
        a, b = self.semi_axes_mm
        n = vertex_count(max(a, b), n_vertices)
        return (_ellipse_ring(self.centre[0], self.centre[1], a, b, n),)

    def ideal_volume_mm3(self) -> float:
        return math.pi * self.semi_axes_mm[0] * self.semi_axes_mm[1] * self.length_mm

    def centre_mm(self) -> Point3:
        return self.centre


@dataclass(frozen=True)
class Cylinder:
    """A circular cylinder of ``radius_mm`` and ``length_mm`` with flat ends.

    Its axis runs through ``centre``, tilted by ``tilt_deg`` from the z axis
    towards the in-plane direction ``azimuth_deg`` (0 = +x, 90 = +y). The end
    faces are perpendicular to the axis, so for a tilt the axial cross-section
    is an ellipse (semi-axes r / cos(tilt) and r) clipped by the end faces:
    the contour follows the elliptic arcs and closes along the straight chords
    where an end face cuts the plane.
    """

    radius_mm: float
    length_mm: float
    centre: Point3 = (0.0, 0.0, 0.0)
    tilt_deg: float = 0.0
    azimuth_deg: float = 0.0

    def __post_init__(self) -> None:
        if not (self.radius_mm > 0 and self.length_mm > 0):
            raise ValueError("cylinder radius and length must be positive")
        if not 0.0 <= self.tilt_deg <= 60.0:
            raise ValueError(f"cylinder tilt must be within 0-60 degrees, got {self.tilt_deg}")

    def z_extent_mm(self) -> tuple[float, float]:
        th = math.radians(self.tilt_deg)
        h = self.length_mm / 2 * math.cos(th) + self.radius_mm * math.sin(th)
        return (self.centre[2] - h, self.centre[2] + h)

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        th = math.radians(self.tilt_deg)
        phi = math.radians(self.azimuth_deg)
        r, half = self.radius_mm, self.length_mm / 2
        dz = z_mm - self.centre[2]
        cx, cy = self.centre[0], self.centre[1]
        if self.tilt_deg == 0.0:
            if abs(dz) > half:
                return ()
            return (_ellipse_ring(cx, cy, r, r, vertex_count(r, n_vertices)),)
        a = r / math.cos(th)
        w0 = dz * math.tan(th)
        # end faces: |w sin(th) + dz cos(th)| <= L/2, an interval of w
        c1 = (-half - math.cos(th) * dz) / math.sin(th)
        c2 = (half - math.cos(th) * dz) / math.sin(th)
        lo = max(c1, w0 - a)
        hi = min(c2, w0 + a)
        if hi - lo <= DEGENERATE_MM:
            return ()
        n = vertex_count(a, n_vertices)
        cos_hi = (hi - w0) / a
        cos_lo = (lo - w0) / a
        if cos_hi >= 1.0 and cos_lo <= -1.0:  # not cut by an end face
            return (_ellipse_ring(cx + w0 * math.cos(phi), cy + w0 * math.sin(phi), a, r, n, phi),)
        t_hi = math.acos(min(max(cos_hi, -1.0), 1.0))  # angle where w = hi
        t_lo = math.acos(min(max(cos_lo, -1.0), 1.0))  # angle where w = lo (t_lo > t_hi)
        n_arc = max(4, math.ceil(n * (t_lo - t_hi) / (2.0 * math.pi)) + 1)
        upper = np.linspace(t_hi, t_lo, n_arc)
        lower = np.linspace(2.0 * np.pi - t_lo, 2.0 * np.pi - t_hi, n_arc)
        t = np.concatenate([upper, lower])
        w = w0 + a * np.cos(t)
        v = r * np.sin(t)
        c, s = math.cos(phi), math.sin(phi)
        ring = np.column_stack([cx + w * c - v * s, cy + w * s + v * c])
        return (ring,)

    def ideal_volume_mm3(self) -> float:
        return math.pi * self.radius_mm**2 * self.length_mm

    def centre_mm(self) -> Point3:
        return self.centre


@dataclass(frozen=True)
class Cone:
    """A right circular cone with its axis along z.

    The base (radius ``radius_mm``) is centred on ``base_centre``; the apex is
    ``height_mm`` above it (``apex="superior"``) or below it (``"inferior"``).
    """

    radius_mm: float
    height_mm: float
    base_centre: Point3 = (0.0, 0.0, 0.0)
    apex: str = "superior"

    def __post_init__(self) -> None:
        if not (self.radius_mm > 0 and self.height_mm > 0):
            raise ValueError("cone radius and height must be positive")
        if self.apex not in ("superior", "inferior"):
            raise ValueError(f"cone apex must be 'superior' or 'inferior', got {self.apex!r}")

    @property
    def _sign(self) -> float:
        return 1.0 if self.apex == "superior" else -1.0

    def z_extent_mm(self) -> tuple[float, float]:
        zb, ze = self.base_centre[2], self.base_centre[2] + self._sign * self.height_mm
        return (min(zb, ze), max(zb, ze))

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        h = self._sign * (z_mm - self.base_centre[2])
        if h < 0 or h > self.height_mm:
            return ()
        r = self.radius_mm * (1.0 - h / self.height_mm)
        if r <= DEGENERATE_MM:
            return ()
        n = vertex_count(r, n_vertices)
        return (_ellipse_ring(self.base_centre[0], self.base_centre[1], r, r, n),)

    def ideal_volume_mm3(self) -> float:
        return math.pi * self.radius_mm**2 * self.height_mm / 3.0

    def centre_mm(self) -> Point3:
        bx, by, bz = self.base_centre
        return (bx, by, bz + self._sign * self.height_mm / 4.0)


@dataclass(frozen=True)
class Ring:
    """A hollow cylinder along z: an annulus on every plane.

    The hole (radius ``inner_radius_mm``) may sit off the axis by
    ``hole_offset_mm`` (x, y), which makes the mean dose in an in-plane
    gradient differ from the dose at ``centre``.
    """

    outer_radius_mm: float
    inner_radius_mm: float
    length_mm: float
    centre: Point3 = (0.0, 0.0, 0.0)
    hole_offset_mm: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        off = math.hypot(*self.hole_offset_mm)
        if not (self.inner_radius_mm > 0 and self.inner_radius_mm + off < self.outer_radius_mm):
            raise ValueError(
                "the hole must have a positive radius and lie strictly inside the outer circle"
            )
        if self.length_mm <= 0:
            raise ValueError(f"ring length must be positive, got {self.length_mm}")

    def z_extent_mm(self) -> tuple[float, float]:
        h = self.length_mm / 2
        return (self.centre[2] - h, self.centre[2] + h)

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        if abs(z_mm - self.centre[2]) > self.length_mm / 2:
            return ()
        cx, cy = self.centre[0], self.centre[1]
        ox, oy = self.hole_offset_mm
        ro, ri = self.outer_radius_mm, self.inner_radius_mm
        outer = _ellipse_ring(cx, cy, ro, ro, vertex_count(ro, n_vertices))
        inner = _ellipse_ring(cx + ox, cy + oy, ri, ri, vertex_count(ri, n_vertices))
        return (outer, inner)

    def ideal_volume_mm3(self) -> float:
        return math.pi * (self.outer_radius_mm**2 - self.inner_radius_mm**2) * self.length_mm

    def centre_mm(self) -> Point3:
        ro2, ri2 = self.outer_radius_mm**2, self.inner_radius_mm**2
        ox, oy = self.hole_offset_mm
        cx, cy, cz = self.centre
        return (cx - ox * ri2 / (ro2 - ri2), cy - oy * ri2 / (ro2 - ri2), cz)


@dataclass(frozen=True)
class TwoPart:
    """One ROI made of two disjoint solids (their contours share the ROI's planes)."""

    first: Shape
    second: Shape

    def z_extent_mm(self) -> tuple[float, float]:
        a, b = self.first.z_extent_mm(), self.second.z_extent_mm()
        return (min(a[0], b[0]), max(a[1], b[1]))

    def rings_at(self, z_mm: float, n_vertices: int | None = None) -> tuple[FloatArray, ...]:
        return self.first.rings_at(z_mm, n_vertices) + self.second.rings_at(z_mm, n_vertices)

    def ideal_volume_mm3(self) -> float:
        return self.first.ideal_volume_mm3() + self.second.ideal_volume_mm3()

    def centre_mm(self) -> Point3:
        v1, v2 = self.first.ideal_volume_mm3(), self.second.ideal_volume_mm3()
        c1, c2 = self.first.centre_mm(), self.second.centre_mm()
        return (
            (v1 * c1[0] + v2 * c2[0]) / (v1 + v2),
            (v1 * c1[1] + v2 * c2[1]) / (v1 + v2),
            (v1 * c1[2] + v2 * c2[2]) / (v1 + v2),
        )


@dataclass(frozen=True)
class PlaneLattice:
    """Axial contour planes, like the slices of a CT.

    The planes pass through ``origin_mm`` and follow the gaps in
    ``spacing_mm``: one value gives evenly spaced planes, several a repeating
    pattern of uneven gaps (``(1.0, 2.0)``: 1, 2, 1, 2 ... mm), continued in
    both directions from the origin.
    """

    spacing_mm: tuple[float, ...]
    origin_mm: float = 0.0

    def __post_init__(self) -> None:
        if not self.spacing_mm or min(self.spacing_mm) <= 0:
            raise ValueError(f"contour spacing must be positive, got {self.spacing_mm}")

    def positions_mm(self, z_lo: float, z_hi: float) -> FloatArray:
        """Plane positions strictly inside ``(z_lo, z_hi)``, ascending, rounded to 1e-6 mm."""
        pattern = np.asarray(self.spacing_mm, dtype=np.float64)
        period = float(pattern.sum())
        k0 = math.floor((z_lo - self.origin_mm) / period) - 1
        k1 = math.ceil((z_hi - self.origin_mm) / period) + 1
        starts = self.origin_mm + period * np.arange(k0, k1 + 1, dtype=np.float64)
        within = np.concatenate([[0.0], np.cumsum(pattern)[:-1]])
        z = (starts[:, None] + within[None, :]).ravel()
        z = np.round(z, ROUND_DECIMALS)
        tol = 1e-9
        return np.asarray(z[(z > z_lo + tol) & (z < z_hi - tol)], dtype=np.float64)


def _clean_ring(ring: FloatArray) -> FloatArray | None:
    """Round to the written precision and drop repeated vertices; None if degenerate."""
    r = np.round(np.asarray(ring, dtype=np.float64), ROUND_DECIMALS)
    keep = np.ones(len(r), dtype=bool)
    keep[1:] = np.any(np.diff(r, axis=0) != 0.0, axis=1)
    r = r[keep]
    if len(r) > 1 and np.all(r[0] == r[-1]):
        r = r[:-1]
    if len(r) < 3:
        return None
    return np.asarray(r, dtype=np.float64)


def contour_shape(
    shape: Shape,
    planes_mm: Sequence[float] | FloatArray,
    *,
    roi_number: int,
    name: str,
    roi_type: str | None = None,
    color_rgb: tuple[int, int, int] | None = None,
    n_vertices: int | None = None,
) -> Structure:
    """Contour ``shape`` on the axial planes at ``planes_mm``.

    Planes where the shape has no cross-section are left out.

    Returns
    -------
    Structure
        One :class:`~plancheck.model.ContourPlane` per plane that cuts the shape.
    """
    out: list[ContourPlane] = []
    for z in np.asarray(planes_mm, dtype=np.float64):
        rings = [_clean_ring(r) for r in shape.rings_at(float(z), n_vertices)]
        kept = tuple(r for r in rings if r is not None)
        if kept:
            out.append(ContourPlane(float(np.round(z, ROUND_DECIMALS)), kept))
    return Structure(roi_number, name, roi_type, tuple(out), color_rgb)
