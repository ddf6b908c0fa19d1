"""Frames of dose grids and contours, and bringing structures into a dose grid's frame.

A *frame* is a 3 × 3 matrix whose columns are orthonormal unit vectors in
patient coordinates: the directions along which a grid's ``x_mm``, ``y_mm``
and ``z_mm`` ascend (:attr:`plancheck.model.DoseGrid.axes`), or the in-plane
axes and plane normal of a structure set's contours
(:attr:`plancheck.model.StructureSet.axes`). The identity is the usual axial
frame.

* :func:`grid_frame` turns an ImageOrientationPatient into a dose grid's
  frame: row, column and normal (row × column), each reversed where needed so
  that it points along the patient axis (x, y or z) it is closest to. The four
  axial orientations (head/feet first, supine/prone) give the identity; a grid
  tilted by a fraction of a degree keeps its tilt.
* :func:`contour_frame` gives a structure set's frame from its plane normal:
  the normal pointing along the patient axis it is closest to, the first
  in-plane axis the projection of the next patient axis (x for near-axial
  planes, y for sagittal, z for coronal).
* :func:`frame_mapping` maps contours from their frame into a dose grid's:
  polygons are rotated (and, where the frames differ by a reflection,
  mirrored) in-plane, and plane positions map to the grid's ``z``. This is
  exact when the contour planes are parallel to the grid's frames; they are
  accepted when every contour point lies within :data:`PARALLEL_TOLERANCE_MM`
  of the grid plane its contour is placed on, and refused otherwise, saying
  how far off they lie.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from plancheck.errors import UnsupportedDataError
from plancheck.model import ContourPlane, DoseGrid, Structure, StructureSet

__all__ = [
    "AXIS_SNAP_TOLERANCE",
    "ORTHONORMAL_TOLERANCE",
    "PARALLEL_TOLERANCE_MM",
    "FrameMapping",
    "contour_frame",
    "describe_frame",
    "frame_mapping",
    "grid_frame",
    "newell_normal",
    "structure_set_in_grid_frame",
]

FloatArray = npt.NDArray[np.float64]

# Direction cosines within this of 0 or ±1 are taken as exactly 0 or ±1, so that
# axial exports written with rounding noise read as exactly axial (1e-4 rad over
# a 300 mm grid is 0.03 mm).
AXIS_SNAP_TOLERANCE = 1e-4
# ImageOrientationPatient's two vectors must be unit length and orthogonal within this.
ORTHONORMAL_TOLERANCE = 1e-3
# Contour points may lie this far (mm) from the dose-grid plane their contour is
# placed on. Placing a contour 0.05 mm off its true position changes doses by at
# most 0.05 mm times the dose gradient (0.5 % of the dose in a 10 %/mm penumbra).
PARALLEL_TOLERANCE_MM = 0.05


def _dominant_sign(v: FloatArray) -> float:
    """+1 or -1: the sign of the component of largest magnitude (first of equals)."""
    k = int(np.argmax(np.abs(v)))
    return 1.0 if v[k] >= 0 else -1.0


def _snap(v: FloatArray) -> FloatArray:
    """Components within :data:`AXIS_SNAP_TOLERANCE` of 0 or ±1 set exactly; else unchanged."""
    rounded = np.round(v)
    if np.all(np.abs(v - rounded) <= AXIS_SNAP_TOLERANCE) and np.count_nonzero(rounded) == 1:
        return rounded.astype(np.float64)
    return v


def grid_frame(
    row_direction: Iterable[float], column_direction: Iterable[float]
) -> tuple[FloatArray, tuple[int, int, int]]:
    """A dose grid's frame from ImageOrientationPatient, and how its stored axes run in it.

    Parameters
    ----------
    row_direction, column_direction
        The first and last three values of ImageOrientationPatient: the
        direction of increasing column index along a row, and of increasing
        row index along a column.

    Returns
    -------
    axes : ndarray, shape (3, 3)
        Columns: the directions of the reoriented grid's x, y and z axes
        (stored row direction, column direction and frame normal, each
        reversed where it points away from the patient axis it is closest to).
    signs : (int, int, int)
        +1 where the stored columns, rows and frames run along the axes' x, y
        and z; -1 where they run against them (the array is flipped there).

    Raises
    ------
    ValueError
        When the two vectors are not unit length and orthogonal (within
        :data:`ORTHONORMAL_TOLERANCE`), or are not finite.
    """
    r = np.asarray(list(row_direction), dtype=np.float64)
    c = np.asarray(list(column_direction), dtype=np.float64)
    if (
        r.shape != (3,)
        or c.shape != (3,)
        or not (np.all(np.isfinite(r)) and np.all(np.isfinite(c)))
    ):
        raise ValueError("ImageOrientationPatient must hold six finite numbers")
    nr, nc = float(np.linalg.norm(r)), float(np.linalg.norm(c))
    if abs(nr - 1.0) > ORTHONORMAL_TOLERANCE or abs(nc - 1.0) > ORTHONORMAL_TOLERANCE:
        raise ValueError(
            f"its row and column directions must be unit vectors (lengths {nr:.6g} and {nc:.6g})"
        )
    if abs(float(np.dot(r, c))) > ORTHONORMAL_TOLERANCE:
        angle = math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(r, c)) / (nr * nc)))))
        raise ValueError(
            f"its row and column directions must be orthogonal (they are {angle:.4g}° apart)"
        )
    r = _snap(r / nr)
    c = c / nc
    c = _snap((c - np.dot(c, r) * r) / np.linalg.norm(c - np.dot(c, r) * r))
    n = _snap(np.cross(r, c))
    signs = (int(_dominant_sign(r)), int(_dominant_sign(c)), int(_dominant_sign(n)))
    axes = np.column_stack([r * signs[0], c * signs[1], n * signs[2]])
    return axes, signs


def contour_frame(normal: Iterable[float]) -> FloatArray:
    """A right-handed frame whose third axis is the plane normal ``normal`` (any length).

    The normal is turned to point along the patient axis it is closest to
    (positive); the first axis is the next patient axis (x after z, y after x,
    z after y) projected onto the plane; the second completes the frame. A
    normal within :data:`AXIS_SNAP_TOLERANCE` of ±z gives the identity.
    """
    n = np.asarray(list(normal), dtype=np.float64)
    length = float(np.linalg.norm(n))
    if not length > 0 or not math.isfinite(length):
        raise ValueError("a plane normal must be a non-zero finite vector")
    n = n / length
    n = _snap(n * _dominant_sign(n))
    k = int(np.argmax(np.abs(n)))
    e = np.zeros(3)
    e[(k + 1) % 3] = 1.0
    u = e - np.dot(e, n) * n
    u = _snap(u / np.linalg.norm(u))
    v = _snap(np.cross(n, u))
    return np.column_stack([u, v, n])


def newell_normal(points_mm: FloatArray) -> FloatArray:
    """Newell's normal of a closed polygon (n, 3): twice its vector area.

    Exact for planar polygons (its length is twice the area); for slightly
    non-planar ones, the area-weighted mean normal.
    """
    p = np.asarray(points_mm, dtype=np.float64)
    q = np.roll(p, -1, axis=0)
    return np.array(
        [
            float(np.sum((p[:, 1] - q[:, 1]) * (p[:, 2] + q[:, 2]))),
            float(np.sum((p[:, 2] - q[:, 2]) * (p[:, 0] + q[:, 0]))),
            float(np.sum((p[:, 0] - q[:, 0]) * (p[:, 1] + q[:, 1]))),
        ]
    )


def describe_frame(axes: npt.ArrayLike) -> str:
    """A short description: ``axial``, or how far the frame is tilted from it."""
    a = np.asarray(axes, dtype=np.float64)
    if np.allclose(a, np.eye(3), atol=1e-12):
        return "axial"
    normal = a[:, 2]
    tilt = math.degrees(math.acos(min(1.0, abs(float(normal[2])))))
    in_plane = ", ".join(f"{v + 0.0:.6g}" for v in np.concatenate([a[:, 0], a[:, 1]]))  # no -0
    return f"tilted {tilt:.3g}° from axial (in-plane axes [{in_plane}])"


@dataclass(frozen=True, eq=False)
class FrameMapping:
    """Contours in one frame mapped into a dose grid's frame.

    A contour point ``(u, v)`` on the plane at ``w`` goes to
    ``(x, y) = rotation[:2, :2] @ (u, v) + rotation[:2, 2] * w`` on the plane
    ``z = rotation[2, 2] * w + z_offset_mm``, with ``rotation = grid_axes.T @
    contour_axes``. ``max_off_plane_mm`` is the largest distance of a contour
    point from the plane it is placed on (0 for parallel frames).
    """

    rotation: FloatArray
    z_offset_mm: float
    max_off_plane_mm: float
    tilt_deg: float
    grid_axes: FloatArray

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.rotation, np.eye(3))) and self.z_offset_mm == 0.0

    def apply(self, structure: Structure) -> Structure:
        """``structure`` with its contours in the grid's frame (itself when the frames agree)."""
        if self.is_identity or not structure.planes:
            return structure
        r = self.rotation
        rot2 = r[:2, :2]
        mapped: list[ContourPlane] = []
        for plane in structure.planes:
            w = plane.z_mm
            shift = r[:2, 2] * w
            polys = tuple(
                np.ascontiguousarray(p @ rot2.T + shift, dtype=np.float64) for p in plane.polygons
            )
            mapped.append(ContourPlane(float(r[2, 2] * w + self.z_offset_mm), polys))
        mapped.sort(key=lambda p: p.z_mm)
        return replace(structure, planes=tuple(mapped))


def _identity_mapping(grid_axes: FloatArray) -> FrameMapping:
    return FrameMapping(np.eye(3), 0.0, 0.0, 0.0, grid_axes)


def frame_mapping(
    contour_axes: npt.ArrayLike,
    structures: Iterable[Structure],
    grid: DoseGrid,
    *,
    label: str = "the structure set",
    path: Path | str | None = None,
) -> FrameMapping:
    """The mapping of contours in ``contour_axes`` into ``grid``'s frame, checked.

    Parameters
    ----------
    contour_axes : ndarray, shape (3, 3)
        The frame the contours are stored in (:attr:`StructureSet.axes`).
    structures
        The contours to be mapped: every point of theirs must lie within
        :data:`PARALLEL_TOLERANCE_MM` of the grid plane it is placed on.
    grid : DoseGrid
        The dose grid whose frame the contours are mapped into.
    label : str
        How to name the contours in an error message.
    path : Path or str, optional
        The file the contours come from, for the error message.

    Raises
    ------
    UnsupportedDataError
        When the contour planes are not parallel to the grid's frames: some
        contour point would lie more than :data:`PARALLEL_TOLERANCE_MM` off
        the grid plane its contour is placed on.
    """
    a_s = np.asarray(contour_axes, dtype=np.float64)
    a_d = np.asarray(grid.axes, dtype=np.float64)
    structures = tuple(structures)
    if np.array_equal(a_s, a_d):
        return _identity_mapping(a_d)
    r = a_d.T @ a_s
    if np.allclose(r, np.eye(3), rtol=0.0, atol=1e-12):
        return _identity_mapping(a_d)
    tilt = math.degrees(math.acos(min(1.0, abs(float(r[2, 2])))))
    lo, hi = math.inf, -math.inf
    for s in structures:
        for plane in s.planes:
            for p in plane.polygons:
                e = p @ r[2, :2]
                lo = min(lo, float(e.min()))
                hi = max(hi, float(e.max()))
    if lo > hi:  # no contour points: nothing can lie off the planes
        return FrameMapping(r, 0.0, 0.0, tilt, a_d)
    offset = 0.5 * (lo + hi)
    off_plane = 0.5 * (hi - lo)
    if off_plane > PARALLEL_TOLERANCE_MM:
        widest = _widest(structures, r)
        raise UnsupportedDataError(
            f"the contour planes of {label} are tilted by {tilt:.3g}° against the dose grid's "
            f"frames ({describe_frame(a_s)} against {describe_frame(a_d)}): contour points lie up "
            f"to {off_plane:.3g} mm off the grid planes they would be placed on"
            f"{f' (ROI {widest!r})' if widest else ''}, more than the {PARALLEL_TOLERANCE_MM:g} mm "
            "plancheck accepts. DVHs are computed only for contours on planes parallel to the "
            "dose grid's frames",
            path=path,
            hint="Export the dose on the grid of the image series the contours were drawn on "
            "(or the contours on the dose grid's image series).",
        )
    return FrameMapping(r, offset, off_plane, tilt, a_d)


def _widest(structures: Iterable[Structure], r: FloatArray) -> str | None:
    """The ROI whose points spread furthest off the grid planes."""
    best, name = -1.0, None
    for s in structures:
        for plane in s.planes:
            for p in plane.polygons:
                e = p @ r[2, :2]
                spread = float(e.max() - e.min())
                if spread > best:
                    best, name = spread, s.name
    return name


def structure_set_in_grid_frame(ss: StructureSet, grid: DoseGrid) -> StructureSet:
    """``ss`` with every contour in ``grid``'s frame (``ss`` itself when the frames agree).

    Raises
    ------
    UnsupportedDataError
        When the contour planes are not parallel to the grid's frames (see
        :func:`frame_mapping`).
    """
    mapping = frame_mapping(
        ss.axes, ss.structures, grid, label=f"structure set {ss.label!r}", path=ss.path
    )
    if mapping.is_identity:
        return ss
    return replace(
        ss,
        structures=tuple(mapping.apply(s) for s in ss.structures),
        axes=np.array(grid.axes, dtype=np.float64),
    )
