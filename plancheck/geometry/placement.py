"""Placing a structure set on a dose grid: its contours in the grid's frame, and its slab lattice.

Every place that samples structures on a dose grid starts here:

>>> placement = place_structure_set(course.structure_set, grid)   # doctest: +SKIP
>>> sample_structure(placement.place(roi), grid, settings,
...                  placement.nominal_spacing_mm, placement.lattice)  # doctest: +SKIP

:func:`place_structure_set` checks once that the contour planes are parallel
to the grid's frames (:func:`plancheck.geometry.frames.frame_mapping`, refused
otherwise) and finds the structure set's plane lattice
(:mod:`plancheck.geometry.lattice`), both in the contours' own frame
(``contour_lattice``, for building derived structures there) and in the
grid's (``lattice``, for the slabs). :meth:`StructurePlacement.place` maps any
structure of that set, or one derived from it, into the grid's frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plancheck.errors import UnsupportedDataError
from plancheck.geometry.frames import FrameMapping, frame_mapping
from plancheck.geometry.lattice import (
    PlaneLattice,
    lattice_from_positions,
    structure_set_lattice,
)
from plancheck.model import DoseGrid, Structure, StructureSet

__all__ = ["StructurePlacement", "place_structure_set"]


@dataclass(frozen=True, eq=False)
class StructurePlacement:
    """How the structures of one structure set are placed on one dose grid."""

    mapping: FrameMapping
    contour_lattice: PlaneLattice | None
    lattice: PlaneLattice | None
    nominal_spacing_mm: float | None

    def place(self, structure: Structure) -> Structure:
        """``structure`` (in the structure set's frame) in the grid's frame."""
        return self.mapping.apply(structure)


def place_structure_set(ss: StructureSet, grid: DoseGrid) -> StructurePlacement:
    """The placement of ``ss`` on ``grid``.

    Raises
    ------
    UnsupportedDataError
        When the contour planes are not parallel to the grid's frames, or all
        contours lie on one plane (no slice thickness is known).
    """
    mapping = frame_mapping(
        ss.axes, ss.structures, grid, label=f"structure set {ss.label!r}", path=ss.path
    )
    contour_lattice = structure_set_lattice(ss.structures)
    if mapping.is_identity or contour_lattice is None:
        lattice = contour_lattice
    else:
        mapped = mapping.rotation[2, 2] * contour_lattice.z_mm + mapping.z_offset_mm
        lattice = lattice_from_positions(mapped)
    nominal = _median_plane_gap(ss)
    if lattice is not None and lattice.spacing_mm is not None:
        nominal = lattice.spacing_mm
    if nominal is None and any(s.planes for s in ss.structures):
        raise UnsupportedDataError(
            f"every contour of structure set {ss.label!r} lies on one plane, so the thickness "
            "of its slice (and so any volume) is unknown",
            path=ss.path,
            hint="Export the structure set with the contours of all slices.",
        )
    return StructurePlacement(mapping, contour_lattice, lattice, nominal)


def _median_plane_gap(ss: StructureSet) -> float | None:
    """Median distance between neighbouring planes of the ROIs (for sets without a lattice)."""
    gaps = [np.diff([p.z_mm for p in s.planes]) for s in ss.structures if len(s.planes) > 1]
    joined = np.concatenate(gaps) if gaps else np.zeros(0)
    joined = joined[joined > 0]
    return float(np.median(joined)) if joined.size else None
