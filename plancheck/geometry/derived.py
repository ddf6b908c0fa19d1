"""Structures derived from others: ``A - B``, ``A + B``, ``A & B`` and margins.

Protocols need the low-dose PTV without the boost (``PTV - PTV_boost``) and
planning organ-at-risk volumes (``SpinalCord + 5 mm``). Both are computed on
the contours, plane by plane, with shapely, and give an ordinary
:class:`~plancheck.model.Structure` that the DVH engine samples like any other
(on the dose grid's lattice, with partial volumes), so derived structures
inherit the engine's accuracy.

* A structure's section at height ``z`` is the contour set of the plane whose
  slab contains ``z`` (the prism model of :mod:`plancheck.dvh.slabs`, on the
  structure set's plane lattice when one is given); the contours of one plane
  combine by the even-odd rule.
* ``A - B`` and ``A & B`` are subsets of ``A``: they keep ``A``'s planes (and
  so its slabs), each cut by ``B``'s section at that height. ``A + B`` has a
  plane at every plane of either operand.
* A margin ``m`` (mm) is a 3-D expansion by a sphere of radius ``m``: the
  section at ``z`` is the union, over the operand's planes ``z_k`` within
  ``m``, of plane ``k`` buffered by ``sqrt(m² - (z - z_k)²)``; planes are
  added beyond the ends at the operand's spacing (on the lattice's planes
  where it reaches). Negative margins (a
  contraction) erode each plane and drop the end planes within ``|m|``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from plancheck.dvh.slabs import compute_slabs
from plancheck.geometry.lattice import PlaneLattice
from plancheck.model import ContourPlane, EndCaps, Finding, Severity, Structure

__all__ = ["difference", "expand", "intersection", "plane_geometry", "union"]

FloatArray = npt.NDArray[np.floating]
_BUFFER_QUAD_SEGS = 16


def plane_geometry(polygons: Sequence[FloatArray]) -> BaseGeometry:
    """The even-odd region of one plane's contours as a valid shapely geometry."""
    region: BaseGeometry = shapely.Polygon()
    for p in polygons:
        if len(p) < 3:
            continue
        poly = shapely.make_valid(shapely.Polygon(np.asarray(p, dtype=np.float64)))
        region = shapely.symmetric_difference(region, poly)
    return region


def _rings(geom: BaseGeometry) -> tuple[FloatArray, ...]:
    """All exterior and interior rings: under even-odd they rebuild the region."""
    rings: list[FloatArray] = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
            if hasattr(poly, "geoms"):
                rings.extend(_rings(poly))
            continue
        if poly.geom_type == "MultiPolygon":
            rings.extend(_rings(poly))
            continue
        rings.append(np.asarray(poly.exterior.coords, dtype=np.float64)[:-1])
        rings.extend(np.asarray(r.coords, dtype=np.float64)[:-1] for r in poly.interiors)
    return tuple(r for r in rings if len(r) >= 3)


def _sections(
    s: Structure, end_caps: EndCaps, lattice: PlaneLattice | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, list[BaseGeometry]]:
    z = np.array([p.z_mm for p in s.planes], dtype=np.float64)
    slabs = compute_slabs(z, end_caps, nominal_spacing_mm=1.0, lattice=lattice)
    return z, slabs.lower_mm, slabs.upper_mm, [plane_geometry(p.polygons) for p in s.planes]


def _section_at(
    z: float, lower: FloatArray, upper: FloatArray, geoms: list[BaseGeometry]
) -> BaseGeometry:
    hit = np.flatnonzero((lower <= z + 1e-6) & (z + 1e-6 < upper))  # half-open [lower, upper)
    if hit.size == 0:
        return shapely.Polygon()
    return geoms[int(hit[0])]


def _boolean(
    a: Structure,
    b: Structure,
    op: Callable[[BaseGeometry, BaseGeometry], BaseGeometry],
    name: str,
    roi_number: int,
    end_caps: EndCaps,
    planes_of_a_only: bool,
    lattice: PlaneLattice | None = None,
) -> Structure:
    if not a.has_volume and not b.has_volume:
        return Structure(roi_number, name, None, ())
    empty: tuple[FloatArray, FloatArray, FloatArray, list[BaseGeometry]] = (
        np.zeros(0),
        np.zeros(0),
        np.zeros(0),
        [],
    )
    za, la, ua, ga = _sections(a, end_caps, lattice) if a.has_volume else empty
    zb, lb, ub, gb = _sections(b, end_caps, lattice) if b.has_volume else empty
    planes = []
    heights = za if planes_of_a_only else np.unique(np.round(np.concatenate([za, zb]), 4))
    for z in heights:
        ga_z = _section_at(float(z), la, ua, ga) if len(ga) else shapely.Polygon()
        gb_z = _section_at(float(z), lb, ub, gb) if len(gb) else shapely.Polygon()
        rings = _rings(op(ga_z, gb_z))
        if rings:
            planes.append(ContourPlane(float(z), rings))
    return Structure(roi_number, name, None, tuple(planes), findings=_derived_finding(name))


def _derived_finding(name: str) -> tuple[Finding, ...]:
    return (
        Finding(
            Severity.INFO, "derived-structure", f"{name!r} was derived from contours by plancheck"
        ),
    )


def difference(
    a: Structure,
    b: Structure,
    name: str,
    roi_number: int = -1,
    end_caps: EndCaps = EndCaps.HALF,
    lattice: PlaneLattice | None = None,
) -> Structure:
    """``a`` without ``b`` (e.g. ``PTV - PTV_boost``)."""
    return _boolean(a, b, shapely.difference, name, roi_number, end_caps, True, lattice)


def union(
    a: Structure,
    b: Structure,
    name: str,
    roi_number: int = -1,
    end_caps: EndCaps = EndCaps.HALF,
    lattice: PlaneLattice | None = None,
) -> Structure:
    """``a`` or ``b``."""
    return _boolean(a, b, shapely.union, name, roi_number, end_caps, False, lattice)


def intersection(
    a: Structure,
    b: Structure,
    name: str,
    roi_number: int = -1,
    end_caps: EndCaps = EndCaps.HALF,
    lattice: PlaneLattice | None = None,
) -> Structure:
    """``a`` and ``b``."""
    return _boolean(a, b, shapely.intersection, name, roi_number, end_caps, True, lattice)


def _on_lattice(z: FloatArray, lattice: PlaneLattice | None) -> FloatArray:
    """``z`` with each position moved to the lattice plane within half a step of it, if any."""
    if lattice is None or lattice.size < 2 or z.size == 0:
        return z
    k = np.clip(np.searchsorted(lattice.z_mm, z), 1, lattice.size - 1)
    near = np.where(np.abs(lattice.z_mm[k - 1] - z) <= np.abs(lattice.z_mm[k] - z), k - 1, k)
    step = float(lattice.spacing_mm or 0.0)
    snapped = np.where(np.abs(lattice.z_mm[near] - z) <= 0.5 * step, lattice.z_mm[near], z)
    return np.unique(snapped)


def expand(
    s: Structure,
    margin_mm: float,
    name: str,
    roi_number: int = -1,
    end_caps: EndCaps = EndCaps.HALF,
    lattice: PlaneLattice | None = None,
) -> Structure:
    """``s`` grown (or, for a negative margin, shrunk) by ``margin_mm`` in 3-D."""
    if not s.has_volume or margin_mm == 0:
        return Structure(roi_number, name, s.roi_type, s.planes, findings=_derived_finding(name))
    z, lower, upper, geoms = _sections(s, end_caps, lattice)
    spacing = float(np.median(np.diff(z))) if z.size > 1 else abs(margin_mm)
    if lattice is not None and lattice.spacing_mm is not None:
        spacing = lattice.spacing_mm
    m = abs(margin_mm)
    planes = []
    if margin_mm > 0:
        n_extra = round(m / spacing)
        below = _on_lattice(z[0] - spacing * np.arange(n_extra, 0, -1), lattice)
        above = _on_lattice(z[-1] + spacing * np.arange(1, n_extra + 1), lattice)
        out_z = np.concatenate([below[below < z[0]], z, above[above > z[-1]]])
        for zz in out_z:
            # distance to each plane; the end caps belong to the end planes
            gap = np.abs(z - zz)
            if zz < z[0]:
                gap[0] = max(lower[0] - zz, 0.0)
            if zz > z[-1]:
                gap[-1] = max(zz - upper[-1], 0.0)
            near = np.flatnonzero(gap <= m + 1e-9)
            parts = [
                shapely.buffer(
                    geoms[k], math.sqrt(max(m * m - gap[k] ** 2, 0.0)), quad_segs=_BUFFER_QUAD_SEGS
                )
                for k in near
            ]
            rings = _rings(shapely.union_all(parts)) if parts else ()
            if rings:
                planes.append(ContourPlane(float(zz), rings))
    else:
        for zz in z:
            # a point stays if the ball of radius m around it lies inside: erode by the
            # worst case over the planes within m (a plane missing within m removes it)
            near = np.flatnonzero(np.abs(z - zz) <= m + 1e-9)
            if zz - m < z[0] - 1e-9 or zz + m > z[-1] + 1e-9:
                continue
            parts = [
                shapely.buffer(
                    geoms[j],
                    -math.sqrt(max(m * m - (zz - z[j]) ** 2, 0.0)),
                    quad_segs=_BUFFER_QUAD_SEGS,
                )
                for j in near
            ]
            region = parts[0]
            for p in parts[1:]:
                region = shapely.intersection(region, p)
            rings = _rings(region)
            if rings:
                planes.append(ContourPlane(float(zz), rings))
    return Structure(roi_number, name, s.roi_type, tuple(planes), findings=_derived_finding(name))
