"""The RT Dose reader on grids of any orientation: tilted, oblique, coronal, sagittal, permuted.

Every dose is built by :mod:`tests.dicom.builders`, which places each stored
pixel at its patient position with the DICOM formula (PS3.3 C.7.6.2.1.1,
C.8.8.3.2) and stores an analytic field there. Whatever the orientation, the
reader must give, at every point of its reoriented grid, the field at that
point's patient position ``axes @ (x, y, z)``; the only error allowed is the
integer quantisation of the stored values.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from plancheck.dicom.rtdose import dose_header_from_dataset, rtdose_from_dataset
from plancheck.errors import DicomReadError
from tests.dicom import builders as b

FloatArray = npt.NDArray[np.float64]


def linear(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """No symmetry in any axis: a wrong flip or rotation changes it (Gy, mm)."""
    return 20.0 + 0.11 * x - 0.23 * y + 0.37 * z


def rotation(axis: str, degrees: float) -> FloatArray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def oblique() -> FloatArray:
    return rotation("z", 30.0) @ rotation("y", 40.0) @ rotation("x", 50.0)


def spec_for(
    iop: tuple[float, ...],
    *,
    offsets: list[float] | None = None,
    shape: tuple[int, int, int] = (5, 4, 6),
) -> b.DoseSpec:
    frames = shape[0]
    o = offsets if offsets is not None else [2.5 * k for k in range(frames)]
    ipp = (-10.0, -20.0, 30.0)
    x, y, z = b.stored_positions(shape, ipp, iop, (2.0, 1.5), o)
    return b.DoseSpec(
        stored_gy=linear(x, y, z),
        image_position=ipp,
        orientation=iop,
        pixel_spacing=(2.0, 1.5),
        offsets=o,
    )


def iop_of(
    m: FloatArray, row: int = 0, col: int = 1, signs: tuple[int, int] = (1, 1)
) -> tuple[float, ...]:
    """ImageOrientationPatient whose rows run along column ``row`` of ``m``, columns along ``col``."""
    r = signs[0] * m[:, row]
    c = signs[1] * m[:, col]
    return tuple(float(v) for v in np.concatenate([r, c]))


def check_field(spec: b.DoseSpec) -> None:
    g = rtdose_from_dataset(b.rtdose(spec)).grid
    for axis in (g.x_mm, g.y_mm, g.z_mm):
        assert np.all(np.diff(axis) > 0)
    np.testing.assert_allclose(g.axes.T @ g.axes, np.eye(3), atol=1e-9)
    zz, yy, xx = np.meshgrid(g.z_mm, g.y_mm, g.x_mm, indexing="ij")
    q = np.stack([xx, yy, zz], axis=-1)
    p = g.to_patient_mm(q)
    expected = linear(p[..., 0], p[..., 1], p[..., 2])
    tol = 0.5 * b.dose_scaling(spec) + 1e-5
    assert float(np.abs(g.dose_gy - expected).max()) <= tol


@pytest.mark.parametrize("name", sorted(b.ORIENTATIONS))
def test_the_four_axial_orientations_give_the_identity_frame(name: str) -> None:
    spec = b.field_dose(linear, name)
    h = dose_header_from_dataset(b.rtdose(spec))
    assert np.array_equal(h.axes, np.eye(3))
    assert rtdose_from_dataset(b.rtdose(spec)).grid.is_axial


@pytest.mark.parametrize(
    "m",
    [
        rotation("x", 0.1),
        rotation("y", -0.1),
        rotation("x", 1.0),
        rotation("y", 5.0),
        rotation("z", 10.0),
        oblique(),
    ],
    ids=["0.1deg-x", "0.1deg-y", "1deg-x", "5deg-y", "10deg-z", "oblique"],
)
@pytest.mark.parametrize(
    "signs", [(1, 1), (-1, 1), (-1, -1), (1, -1)], ids=["HFS", "FFS", "HFP", "FFP"]
)
def test_tilted_and_oblique_grids_keep_their_frame(m: FloatArray, signs: tuple[int, int]) -> None:
    spec = spec_for(iop_of(m, signs=signs))
    check_field(spec)
    h = dose_header_from_dataset(b.rtdose(spec))
    # the frame's axes are the rotation's, turned towards +x, +y, +z where it is nearly axial
    for k in range(3):
        assert abs(abs(float(np.dot(h.axes[:, k], m[:, k]))) - 1.0) < 1e-9


def test_a_grid_tilted_by_a_tenth_of_a_degree_reads_as_that_tilt() -> None:
    """ImageOrientationPatient [1, 0, 0, 0, 0.999998, -0.001745]: rows along x, columns tilted 0.1° about x."""
    a = math.radians(0.1)
    iop = (1.0, 0.0, 0.0, 0.0, math.cos(a), -math.sin(a))
    h = dose_header_from_dataset(b.rtdose(spec_for(iop)))
    normal = h.axes[:, 2]
    assert math.degrees(math.acos(normal[2])) == pytest.approx(0.1, abs=1e-6)
    assert "tilted 0.1°" in h.orientation
    check_field(spec_for(iop))


@pytest.mark.parametrize(
    "iop",
    [
        (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),  # coronal
        (0.0, 1.0, 0.0, 0.0, 0.0, -1.0),  # sagittal
        (0.0, 1.0, 0.0, 1.0, 0.0, 0.0),  # axial, rows along y (a left-handed reoriented frame)
    ],
    ids=["coronal", "sagittal", "axial-rows-along-y"],
)
def test_coronal_sagittal_and_permuted_grids_are_read(iop: tuple[float, ...]) -> None:
    check_field(spec_for(iop))


def test_absolute_offsets_of_a_tilted_grid_are_its_frames_z() -> None:
    """Absolute offsets give each frame's patient z; the frame lies (z - z0) / n_z along the normal."""
    m = rotation("x", 2.0)
    iop = iop_of(m)
    normal = np.cross(m[:, 0], m[:, 1])
    relative = [2.5 * k for k in range(5)]
    absolute = [30.0 + o * float(normal[2]) for o in relative]
    rel = rtdose_from_dataset(b.rtdose(spec_for(iop, offsets=relative))).grid
    ab = dose_header_from_dataset(b.rtdose(spec_for(iop, offsets=absolute)))
    assert ab.frame_offsets == "absolute"
    np.testing.assert_allclose(ab.z_mm, rel.z_mm, atol=1e-6)


def test_absolute_offsets_of_a_grid_whose_frames_do_not_advance_along_z_are_refused() -> None:
    iop = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # sagittal: frames advance along x
    spec = b.DoseSpec(
        stored_gy=np.ones((3, 2, 2)),
        image_position=(0.0, 0.0, 7.0),
        orientation=iop,
        offsets=[7.0, 9.0, 11.0],
    )
    with pytest.raises(DicomReadError, match="do not advance"):
        dose_header_from_dataset(b.rtdose(spec))


@pytest.mark.parametrize(
    ("iop", "why"),
    [
        ((1.0, 0.0, 0.0, 0.0, 0.9, 0.0), "unit"),
        ((1.0, 0.0, 0.0, 0.1, 0.995, 0.0), "orthogonal"),
        ((0.0, 0.0, 0.0, 0.0, 1.0, 0.0), "unit"),
    ],
)
def test_an_orientation_that_is_not_two_orthonormal_vectors_is_refused(
    iop: tuple[float, ...], why: str
) -> None:
    spec = b.DoseSpec(stored_gy=np.ones((2, 2, 2)), orientation=iop)
    with pytest.raises(DicomReadError, match=why):
        dose_header_from_dataset(b.rtdose(spec))
