"""Slab bounds: end-cap conventions, uneven spacing and gaps."""

import numpy as np
import pytest

from plancheck.dvh.slabs import compute_slabs
from plancheck.geometry.lattice import (
    PlaneLattice,
    lattice_from_positions,
    skipped_planes,
    structure_set_lattice,
)
from plancheck.model import ContourPlane, EndCaps, Structure


def test_raystation_box_convention():
    # 21 planes 5 mm apart from -50 to 50 (the RayStation box): 105 mm with half caps, 100 without
    z = np.arange(-50, 50.1, 5.0)
    assert compute_slabs(z, EndCaps.HALF).thickness_mm.sum() == pytest.approx(105.0)
    assert compute_slabs(z, EndCaps.NONE).thickness_mm.sum() == pytest.approx(100.0)


def test_uneven_spacing_uses_midpoints():
    z = np.array([0.0, 1.0, 3.0, 4.0])
    s = compute_slabs(z, EndCaps.NONE)
    assert s.lower_mm.tolist() == [0.0, 0.5, 2.0, 3.5]
    assert s.upper_mm.tolist() == [0.5, 2.0, 3.5, 4.0]


def test_gap_splits_structure_into_two_parts():
    z = np.array([0.0, 2.0, 4.0, 20.0, 22.0])  # 16 mm > 2.5 x 2 mm: a gap
    half = compute_slabs(z, EndCaps.HALF)
    assert half.n_gaps == 1
    assert half.upper_mm[2] == pytest.approx(5.0)
    assert half.lower_mm[3] == pytest.approx(19.0)
    assert half.thickness_mm.sum() == pytest.approx(10.0)
    none = compute_slabs(z, EndCaps.NONE)
    assert none.thickness_mm.sum() == pytest.approx(6.0)


def test_single_plane_needs_nominal_spacing_and_keeps_volume():
    with pytest.raises(ValueError):
        compute_slabs([3.0], EndCaps.HALF)
    s = compute_slabs([3.0], EndCaps.NONE, nominal_spacing_mm=2.0)
    assert (s.lower_mm[0], s.upper_mm[0]) == (2.0, 4.0)


def test_planes_must_ascend():
    with pytest.raises(ValueError):
        compute_slabs([1.0, 0.0], EndCaps.HALF)


# --------------------------------------------------------------------------- the structure set's lattice


def _lattice(*z: float) -> PlaneLattice:
    lat = lattice_from_positions(list(z))
    assert lat is not None
    return lat


def test_an_roi_on_scattered_planes_of_a_3mm_lattice_is_separate_3mm_slabs() -> None:
    """The anon33345 helper ROI: 4 contours with gaps of 3, 39 and 72 mm on a 3 mm structure set."""
    lattice = _lattice(*np.arange(0.0, 150.1, 3.0))
    z = [30.0, 33.0, 72.0, 144.0]
    s = compute_slabs(z, EndCaps.HALF, lattice=lattice)
    np.testing.assert_allclose(s.lower_mm, [28.5, 31.5, 70.5, 142.5])
    np.testing.assert_allclose(s.upper_mm, [31.5, 34.5, 73.5, 145.5])
    assert s.n_gaps == 2  # three parts: [30, 33], [72], [144]
    none = compute_slabs(z, EndCaps.NONE, lattice=lattice)
    # no caps at run ends, but a lone plane keeps its half caps
    np.testing.assert_allclose(none.lower_mm, [30.0, 31.5, 70.5, 142.5])
    np.testing.assert_allclose(none.upper_mm, [31.5, 33.0, 73.5, 145.5])
    # without the lattice the ROI's own spacing would make 20-36 mm slabs
    assert compute_slabs(z, EndCaps.HALF).thickness_mm.sum() > 100.0


def test_one_skipped_slice_splits_the_roi_on_the_lattice() -> None:
    lattice = _lattice(*np.arange(0.0, 30.1, 2.0))
    s = compute_slabs([4.0, 6.0, 10.0, 12.0], EndCaps.HALF, lattice=lattice)
    assert s.n_gaps == 1
    assert s.upper_mm[1] == pytest.approx(7.0) and s.lower_mm[2] == pytest.approx(9.0)


def test_an_uneven_lattice_2_5_then_5_mm_gives_slabs_of_each_slice() -> None:
    """CT with 2.5 mm slices then 5 mm slices: no hole at the change, caps of the local slice."""
    z = np.concatenate([np.arange(0.0, 20.1, 2.5), np.arange(25.0, 60.1, 5.0)])
    lattice = _lattice(*z)
    assert not lattice.hole_after.any()
    roi = z[4:13]  # 10 ... 40 mm, across the change
    s = compute_slabs(roi, EndCaps.HALF, lattice=lattice)
    assert s.n_gaps == 0
    assert s.lower_mm[0] == pytest.approx(10.0 - 1.25)
    assert s.upper_mm[-1] == pytest.approx(40.0 + 2.5)
    assert s.upper_mm[4] == pytest.approx(22.5)  # halfway between 20 and 25


def test_a_hole_in_the_lattice_splits_without_skipped_planes() -> None:
    """Planes every 2 mm, nothing between 4 and 20 mm: a hole; the caps use the 2 mm slices."""
    lattice = _lattice(0.0, 2.0, 4.0, 20.0, 22.0)
    assert lattice.hole_after.tolist() == [False, False, True, False]
    s = compute_slabs([0.0, 2.0, 4.0, 20.0, 22.0], EndCaps.HALF, lattice=lattice)
    assert s.n_gaps == 1
    assert s.thickness_mm.sum() == pytest.approx(10.0)
    assert skipped_planes([0.0, 2.0, 4.0, 20.0, 22.0], lattice) == ()


def test_planes_off_the_lattice_fall_back_to_the_roi_s_own_planes() -> None:
    lattice = _lattice(*np.arange(0.0, 30.1, 3.0))
    s = compute_slabs([1.0, 2.0, 3.0], EndCaps.HALF, lattice=lattice)
    assert s.thickness_mm.sum() == pytest.approx(3.0)  # own 1 mm spacing


def _roi(number: int, z: np.ndarray) -> Structure:
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    return Structure(
        number, f"R{number}", None, tuple(ContourPlane(float(v), (square,)) for v in z)
    )


def test_a_lattice_of_two_interleaved_spacings_is_not_used() -> None:
    """ROIs contoured on two image series (3 mm, offset by 1 mm) share no lattice."""
    a, b = np.arange(0.0, 30.0, 3.0), np.arange(1.0, 30.0, 3.0)
    assert structure_set_lattice([_roi(1, a), _roi(2, b)]) is None
    # the same uneven positions are a lattice when no ROI skips any of them
    assert structure_set_lattice([_roi(1, np.sort(np.concatenate([a, b])))]) is not None
    # and a lattice of one spacing is one even with skipping ROIs
    assert structure_set_lattice([_roi(1, a), _roi(2, a[::3])]) is not None


def test_skipped_planes_say_where_and_how_many() -> None:
    lattice = _lattice(*np.arange(0.0, 30.1, 3.0))
    skips = skipped_planes([0.0, 3.0, 15.0, 18.0, 30.0], lattice)
    assert [(k.below_mm, k.above_mm, k.n_planes) for k in skips] == [
        (3.0, 15.0, 3),
        (18.0, 30.0, 3),
    ]
