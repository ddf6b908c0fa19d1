"""Slab bounds: end-cap conventions, uneven spacing and gaps."""

import numpy as np
import pytest

from plancheck.dvh.slabs import compute_slabs
from plancheck.model import EndCaps


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
