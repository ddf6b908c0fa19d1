"""ROI volumes from contours, for stored DVHs whose volumes are percent of the ROI.

This is not the DVH engine's volume (which handles partial slabs and the dose
grid); it is the plain contour-stack volume the planning system's percent DVH
refers to: the even-odd area of each plane times its slab
(:mod:`plancheck.dvh.slabs`: on the structure set's plane lattice, with the
end caps of the planning system that wrote the structure set unless chosen).
"""

from __future__ import annotations

import functools

import numpy as np

from plancheck.geometry.lattice import PlaneLattice, structure_set_lattice
from plancheck.model import EndCaps, Structure, StructureSet

__all__ = ["roi_volumes_cc", "structure_volume_cc"]


def roi_volumes_cc(ss: StructureSet, end_caps: EndCaps) -> dict[int, float]:
    """ROI number -> volume (cc) of every ROI with contours (``AUTO`` end caps: by the writer)."""
    from plancheck.dvh.end_caps import end_caps_for_structure_set

    caps = end_caps_for_structure_set(end_caps, ss).end_caps
    lattice = structure_set_lattice(ss.structures)
    out: dict[int, float] = {}
    for s in ss.structures:
        v = structure_volume_cc(s, caps, lattice)
        if v is not None:
            out[s.roi_number] = v
    return out


def structure_volume_cc(
    s: Structure, end_caps: EndCaps, lattice: PlaneLattice | None = None
) -> float | None:
    """Contour-stack volume of ``s`` in cc; None when its slab thickness is unknown.

    ``lattice`` is the structure set's plane lattice; without one, the ROI's
    own planes, and a single plane has no known thickness.
    """
    import shapely

    from plancheck.dvh.slabs import compute_slabs  # pure numpy: the same slabs as the engine

    if not s.planes or (lattice is None and len(s.planes) < 2):
        return None
    z = np.array([p.z_mm for p in s.planes])
    try:
        slabs = compute_slabs(z, end_caps, lattice=lattice)
    except ValueError:  # a lone plane with no neighbouring slice anywhere
        return None
    areas = []
    for plane in s.planes:
        shapes = [shapely.make_valid(shapely.Polygon(xy)) for xy in plane.polygons]
        combined = functools.reduce(shapely.symmetric_difference, shapes)  # even-odd rule
        areas.append(float(shapely.area(combined)))
    return float(np.dot(areas, slabs.thickness_mm)) / 1000.0
