"""Placing a structure set on a dose grid: contours mapped into the grid's frame, or refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from plancheck.errors import UnsupportedDataError
from plancheck.geometry.placement import place_structure_set
from plancheck.model import ContourPlane, DoseGrid, PatientInfo, Structure, StructureSet

SQUARE = np.array([[10.0, 0.0], [30.0, 0.0], [30.0, 5.0], [10.0, 5.0]])


def _set(half_width_mm: float = 0.0, z: tuple[float, ...] = (0.0, 2.0, 4.0)) -> StructureSet:
    poly = (
        SQUARE
        if half_width_mm == 0
        else np.array(
            [
                [-half_width_mm, -1.0],
                [half_width_mm, -1.0],
                [half_width_mm, 1.0],
                [-half_width_mm, 1.0],
            ]
        )
    )
    s = Structure(1, "A", None, tuple(ContourPlane(v, (poly,)) for v in z))
    return StructureSet(Path("rs.dcm"), "1.2", "RS", "1.2.3", (s,), PatientInfo("a", "b", ""))


def _grid(axes: np.ndarray) -> DoseGrid:
    a = np.arange(-50.0, 50.1, 2.0)
    return DoseGrid(np.zeros((a.size, a.size, a.size), np.float32), a, a, a, "1.2.3", axes)


def test_the_same_frame_leaves_every_structure_untouched() -> None:
    ss = _set()
    p = place_structure_set(ss, _grid(np.eye(3)))
    assert p.mapping.is_identity and p.place(ss.structures[0]) is ss.structures[0]
    assert p.lattice is not None and p.lattice.spacing_mm == pytest.approx(2.0)


def test_a_grid_turned_in_plane_gets_the_contours_turned_back() -> None:
    a = math.radians(30.0)
    turned = np.array(
        [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0, 0, 1]]
    )
    ss = _set()
    placed = place_structure_set(ss, _grid(turned)).place(ss.structures[0])
    expected = SQUARE @ turned[:2, :2]  # grid coordinates: turned.T @ (x, y)
    np.testing.assert_allclose(placed.planes[0].polygons[0], expected, atol=1e-12)
    assert [p.z_mm for p in placed.planes] == pytest.approx([0.0, 2.0, 4.0])


def test_a_grid_with_rows_along_y_mirrors_the_contours() -> None:
    """ImageOrientationPatient [0,1,0,1,0,0] reads as a left-handed frame: x' = y, y' = x."""
    swapped = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    ss = _set()
    placed = place_structure_set(ss, _grid(swapped)).place(ss.structures[0])
    np.testing.assert_allclose(placed.planes[1].polygons[0], SQUARE[:, ::-1])


def test_contours_tilted_against_the_grid_are_refused_by_how_far_they_lie_off() -> None:
    a = math.radians(1.0)
    tilted = np.array(
        [[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]]
    )
    # a contour 2 mm across in y lies 0.017 mm off the tilted planes: accepted
    assert not place_structure_set(_set(half_width_mm=30.0), _grid(tilted)).mapping.is_identity
    # 100 mm across in y: 0.87 mm off, refused
    wide = np.array([[-5.0, -50.0], [5.0, -50.0], [5.0, 50.0], [-5.0, 50.0]])
    s = Structure(1, "Wide", None, (ContourPlane(0.0, (wide,)), ContourPlane(2.0, (wide,))))
    ss = StructureSet(Path("rs.dcm"), "1.2", "RS", "1.2.3", (s,), PatientInfo("a", "b", ""))
    with pytest.raises(UnsupportedDataError, match=r"tilted by 1°.*up to 0\.873 mm off.*'Wide'"):
        place_structure_set(ss, _grid(tilted))


def test_a_structure_set_on_a_single_plane_has_no_slice_thickness() -> None:
    with pytest.raises(UnsupportedDataError, match="lies on one plane"):
        place_structure_set(_set(z=(3.0,)), _grid(np.eye(3)))


def test_a_whole_structure_set_is_brought_into_the_grid_frame() -> None:
    from plancheck.geometry.frames import structure_set_in_grid_frame

    a = math.radians(90.0)
    quarter = np.array(
        [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0, 0, 1]]
    )
    ss = _set()
    assert structure_set_in_grid_frame(ss, _grid(np.eye(3))) is ss
    moved = structure_set_in_grid_frame(ss, _grid(quarter))
    np.testing.assert_array_equal(moved.axes, quarter)
    # (x, y) -> grid (x', y') = (y, -x)
    np.testing.assert_allclose(
        moved.structures[0].planes[0].polygons[0],
        np.column_stack([SQUARE[:, 1], -SQUARE[:, 0]]),
        atol=1e-12,
    )
