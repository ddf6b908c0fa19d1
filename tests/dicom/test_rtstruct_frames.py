"""The RT Structure Set reader on contours drawn on tilted and oblique planes.

Each structure set is built from circles in a known frame ``R`` (a rotation):
circle points ``(u, v)`` on the plane ``w`` lie at ``R @ (u, v, w)`` in patient
coordinates. The reader must find that plane orientation, store the contours
in a frame with the same normal, and give back the same circles (area, centre,
plane spacing); contours that leave those planes are skipped and reported.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.model import StructureSet
from tests.dicom import builders as b
from tests.dicom.test_rtdose_orientation import oblique, rotation

CLOSED = "CLOSED_PLANAR"
FloatArray = npt.NDArray[np.float64]


def circle(
    r_mm: float,
    w_mm: float,
    frame: FloatArray,
    centre: tuple[float, float] = (0.0, 0.0),
    n: int = 64,
) -> FloatArray:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    local = np.column_stack(
        [centre[0] + r_mm * np.cos(t), centre[1] + r_mm * np.sin(t), np.full(n, w_mm)]
    )
    return local @ frame.T


def _read(*rois: b.Roi) -> StructureSet:
    return structure_set_from_dataset(b.rtstruct(rois))


def _codes(ss: StructureSet, roi: int) -> dict[str, str]:
    s = next(x for x in ss.structures if x.roi_number == roi)
    return {f.code: f.message for f in s.findings}


def _area(poly: FloatArray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


@pytest.mark.parametrize(
    "frame",
    [rotation("x", 0.1), rotation("y", 1.0), rotation("x", 5.0), oblique()],
    ids=["0.1deg-x", "1deg-y", "5deg-x", "oblique"],
)
def test_contours_on_tilted_planes_are_kept_in_their_frame(frame: FloatArray) -> None:
    ws = [-6.0, -3.0, 0.0, 3.0, 6.0]
    ss = _read(
        b.Roi(1, "Big", [(CLOSED, circle(40.0, w, frame)) for w in ws]),
        b.Roi(2, "Small", [(CLOSED, circle(5.0, w, frame, centre=(10.0, -4.0))) for w in ws[1:4]]),
    )
    normal = ss.axes[:, 2]
    assert abs(abs(float(normal @ frame[:, 2])) - 1.0) < 1e-9
    np.testing.assert_allclose(ss.axes.T @ ss.axes, np.eye(3), atol=1e-12)
    assert "structure-set-tilted" in {f.code for f in ss.findings}
    big, small = ss.structures
    spacing = np.diff([p.z_mm for p in big.planes])
    np.testing.assert_allclose(spacing, 3.0, atol=1e-7)
    expected_area = 0.5 * 64 * 40.0**2 * math.sin(2 * math.pi / 64)  # the 64-gon's area
    for plane in big.planes:
        (poly,) = plane.polygons
        assert _area(poly) == pytest.approx(expected_area, rel=1e-9)  # 10-digit DS values
    # the small circle keeps its place relative to the big one (in-plane distance 10.77 mm)
    offset = small.planes[0].polygons[0].mean(axis=0) - big.planes[1].polygons[0].mean(axis=0)
    assert float(np.hypot(*offset)) == pytest.approx(math.hypot(10.0, -4.0), abs=1e-7)
    assert not {"contour-tilted", "contour-not-planar"} & set(_codes(ss, 1))


def test_a_tenth_of_a_degree_with_coordinates_rounded_to_0_01_mm_is_read() -> None:
    """Exports round each coordinate; the points then lie up to ~0.01 mm off a common plane."""
    frame = rotation("x", 0.1)
    contours = [(CLOSED, np.round(circle(60.0, w, frame), 2)) for w in (0.0, 2.5, 5.0)]
    ss = _read(b.Roi(1, "Body", contours))
    assert len(ss.structures[0].planes) == 3
    assert math.degrees(math.acos(float(ss.axes[2, 2]))) == pytest.approx(0.1, abs=0.01)


def test_a_contour_tilted_against_the_others_is_skipped_with_its_angle() -> None:
    frame = rotation("x", 1.0)
    odd = circle(20.0, 3.0, rotation("x", 6.0))
    ss = _read(
        b.Roi(1, "A", [(CLOSED, circle(20.0, w, frame)) for w in (0.0, 3.0, 6.0)] + [(CLOSED, odd)])
    )
    codes = _codes(ss, 1)
    assert "contour-tilted" in codes and "5°" in codes["contour-tilted"]
    assert len(ss.structures[0].planes) == 3


def test_a_contour_whose_points_lie_on_no_plane_is_skipped() -> None:
    frame = rotation("y", 2.0)
    bent = circle(20.0, 9.0, frame)
    bent[::2] += 0.5 * frame[:, 2]  # every other point half a millimetre off the plane
    ss = _read(
        b.Roi(
            1, "A", [(CLOSED, circle(20.0, w, frame)) for w in (0.0, 3.0, 6.0)] + [(CLOSED, bent)]
        )
    )
    assert "contour-not-planar" in _codes(ss, 1)
    assert len(ss.structures[0].planes) == 3


def test_the_orientation_most_contours_share_wins() -> None:
    """Three axial ROIs and one drawn on sagittal planes: the set is axial, the sagittal ROI is refused."""
    axial = np.eye(3)
    sagittal = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float)  # normal along x
    rois = [
        b.Roi(k, f"Axial{k}", [(CLOSED, circle(10.0, w, axial)) for w in (0.0, 2.0)])
        for k in (1, 2, 3)
    ]
    rois.append(
        b.Roi(4, "Sagittal", [(CLOSED, circle(10.0, w, sagittal)) for w in (0.0, 2.0, 4.0)])
    )
    ss = _read(*rois)
    assert np.array_equal(ss.axes, np.eye(3))
    codes = _codes(ss, 4)
    assert "contour-tilted" in codes and "90°" in codes["contour-tilted"]
    assert not ss.structures[3].planes


def test_axial_contours_keep_the_identity_frame_and_their_coordinates() -> None:
    ss = _read(b.Roi(1, "Box", [(CLOSED, b.square(5, z)) for z in (0.0, 2.0)]))
    assert np.array_equal(ss.axes, np.eye(3))
    np.testing.assert_array_equal(ss.structures[0].planes[1].polygons[0], b.square(5, 2.0)[:, :2])
    assert "structure-set-tilted" not in {f.code for f in ss.findings}
