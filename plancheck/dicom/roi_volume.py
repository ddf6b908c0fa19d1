"""ROI volumes from contours, for stored DVHs whose volumes are percent of the ROI.

This is not the DVH engine's volume (which handles gaps, partial slabs and
the dose grid); it is the plain contour-stack volume the planning system's
percent DVH refers to: the even-odd area of each plane times a slab reaching
halfway to the neighbouring planes, plus the chosen end caps.
"""

from __future__ import annotations

import functools

import numpy as np

from plancheck.model import EndCaps, Structure, StructureSet

__all__ = ["roi_volumes_cc", "structure_volume_cc"]


def roi_volumes_cc(ss: StructureSet, end_caps: EndCaps) -> dict[int, float]:
    """ROI number -> volume (cc) of every ROI with at least two contour planes."""
    out: dict[int, float] = {}
    for s in ss.structures:
        v = structure_volume_cc(s, end_caps)
        if v is not None:
            out[s.roi_number] = v
    return out


def structure_volume_cc(s: Structure, end_caps: EndCaps) -> float | None:
    """Contour-stack volume of ``s`` in cc; None with fewer than two planes (no slab thickness)."""
    import shapely

    if len(s.planes) < 2:
        return None
    z = np.array([p.z_mm for p in s.planes])
    areas = []
    for plane in s.planes:
        shapes = [shapely.make_valid(shapely.Polygon(xy)) for xy in plane.polygons]
        combined = functools.reduce(shapely.symmetric_difference, shapes)  # even-odd rule
        areas.append(float(shapely.area(combined)))
    mid = (z[1:] + z[:-1]) / 2.0
    half = end_caps == EndCaps.HALF
    lower = np.concatenate([[z[0] - ((z[1] - z[0]) / 2.0 if half else 0.0)], mid])
    upper = np.concatenate([mid, [z[-1] + ((z[-1] - z[-2]) / 2.0 if half else 0.0)]])
    return float(np.dot(areas, upper - lower)) / 1000.0
