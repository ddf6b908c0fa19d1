"""The RT Dose reader: geometry of the four axial orientations, frame offsets, pixel formats, refusals.

The doses are built by :mod:`tests.dicom.builders`, which places every stored
pixel at its patient position with the DICOM formula and stores an analytic
field there. The reader must return, at every grid point of its reoriented
(ascending) axes, the field's value at that point: the only error allowed is
the integer quantisation of the stored value (half a DoseGridScaling step)
and float32 rounding.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom.rtdose import dose_header_from_dataset, read_rtdose, rtdose_from_dataset
from plancheck.errors import DicomReadError, UnsupportedDataError
from tests.dicom import builders as b


def linear(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A field without symmetry in any axis: a flip of any axis changes it (Gy, mm)."""
    return 20.0 + 0.11 * x - 0.23 * y + 0.37 * z


def field_error_gy(
    grid_x: np.ndarray, grid_y: np.ndarray, grid_z: np.ndarray, dose: np.ndarray
) -> float:
    expected = linear(grid_x[None, None, :], grid_y[None, :, None], grid_z[:, None, None])
    return float(np.abs(dose - expected).max())


def tolerance_gy(spec: b.DoseSpec) -> float:
    # half a stored integer step, plus float32 rounding of doses near 30 Gy
    return 0.5 * b.dose_scaling(spec) + 1e-5


@pytest.mark.parametrize("orientation", sorted(b.ORIENTATIONS))
@pytest.mark.parametrize("offsets", ["relative", "absolute"])
@pytest.mark.parametrize("bits", [16, 32])
def test_each_orientation_gives_the_field_at_the_same_patient_point(
    orientation: str, offsets: str, bits: int
) -> None:
    spec = b.field_dose(linear, orientation, offsets=offsets, bits=bits)
    rtdose = rtdose_from_dataset(b.rtdose(spec))
    g = rtdose.grid
    for axis in (g.x_mm, g.y_mm, g.z_mm):
        assert np.all(np.diff(axis) > 0)
    assert g.dose_gy.shape == (g.z_mm.size, g.y_mm.size, g.x_mm.size) == spec.stored_gy.shape
    assert field_error_gy(g.x_mm, g.y_mm, g.z_mm, g.dose_gy) <= tolerance_gy(spec)


@pytest.mark.parametrize("orientation", sorted(b.ORIENTATIONS))
def test_the_four_orientations_cover_the_same_points(orientation: str) -> None:
    """The grid of each orientation spans the patient positions the DICOM formula gives its pixels."""
    spec = b.field_dose(linear, orientation)
    assert spec.offsets is not None
    x, y, z = b.stored_positions(
        spec.stored_gy.shape,
        spec.image_position,
        spec.orientation,
        spec.pixel_spacing,
        spec.offsets,
    )
    g = rtdose_from_dataset(b.rtdose(spec)).grid
    np.testing.assert_allclose(g.x_mm, np.unique(x.round(6)))
    np.testing.assert_allclose(g.y_mm, np.unique(y.round(6)))
    np.testing.assert_allclose(g.z_mm, np.unique(z.round(6)))


def test_feet_first_relative_offsets_run_towards_the_feet() -> None:
    """FFS: normal = row × col = (-x) × (+y) = -z, so relative offsets 0, 3, 6 mm go down from IPP z."""
    spec = b.field_dose(linear, "FFS", shape=(3, 2, 2), image_position=(0.0, 0.0, 100.0))
    header = dose_header_from_dataset(b.rtdose(spec))
    np.testing.assert_allclose(header.z_mm, [94.0, 97.0, 100.0])
    assert header.flip_frames and header.frame_offsets == "relative"


def test_absolute_offsets_are_the_frames_z() -> None:
    spec = b.DoseSpec(
        stored_gy=np.ones((3, 2, 2)),
        image_position=(0.0, 0.0, -40.0),
        offsets=[-40.0, -37.5, -35.0],
    )
    header = dose_header_from_dataset(b.rtdose(spec))
    assert header.frame_offsets == "absolute"
    np.testing.assert_allclose(header.z_mm, [-40.0, -37.5, -35.0])


def test_uneven_frame_spacing_keeps_the_actual_positions() -> None:
    offsets = [0.0, 2.0, 5.0, 9.0, 14.0]
    spec = b.DoseSpec(
        stored_gy=np.ones((5, 3, 3)), image_position=(0.0, 0.0, 10.0), offsets=offsets
    )
    rtdose = rtdose_from_dataset(b.rtdose(spec))
    np.testing.assert_allclose(rtdose.grid.z_mm, [10.0, 12.0, 15.0, 19.0, 24.0])
    assert "uneven-frame-spacing" in {f.code for f in rtdose.findings}


def test_16_and_32_bit_agree_within_their_quantisation() -> None:
    d16 = rtdose_from_dataset(b.rtdose(b.field_dose(linear, "HFS", bits=16))).grid.dose_gy
    d32 = rtdose_from_dataset(b.rtdose(b.field_dose(linear, "HFS", bits=32))).grid.dose_gy
    spec16 = b.field_dose(linear, "HFS", bits=16)
    assert float(np.abs(d16 - d32).max()) <= tolerance_gy(spec16) + 1e-5


def test_signed_pixels_are_read_as_signed() -> None:
    stored = np.array([[[-1.0, 0.0], [1.0, 2.0]]])
    spec = b.DoseSpec(stored_gy=stored, bits=16, signed=True, scaling=0.5, offsets=[0.0])
    rtdose = rtdose_from_dataset(b.rtdose(spec))
    np.testing.assert_allclose(rtdose.grid.dose_gy, stored)
    assert "negative-dose" in {f.code for f in rtdose.findings}


def test_bits_stored_below_bits_allocated_ignore_the_high_bits() -> None:
    spec = b.DoseSpec(
        stored_gy=np.array([[[1.0, 2.0], [3.0, 4000.0]]]), bits=16, scaling=1.0, offsets=[0.0]
    )
    ds = b.rtdose(spec)
    ds.BitsStored, ds.HighBit = 12, 11
    raw = np.frombuffer(ds.PixelData, dtype="<u2") | np.uint16(0xF000)  # garbage above bit 11
    ds.PixelData = raw.tobytes()
    np.testing.assert_allclose(
        rtdose_from_dataset(ds).grid.dose_gy.ravel(), [1.0, 2.0, 3.0, 4000.0]
    )


def test_cgy_is_converted_to_gy() -> None:
    spec = b.DoseSpec(stored_gy=np.full((2, 2, 2), 150.0), units="CGY", scaling=1.0)
    rtdose = rtdose_from_dataset(b.rtdose(spec))
    np.testing.assert_allclose(rtdose.grid.dose_gy, 1.5)
    assert "dose-in-cgy" in {f.code for f in rtdose.findings}


def test_compressed_pixel_data_is_decoded(tmp_path: Path) -> None:
    from pydicom.uid import RLELossless

    spec = b.field_dose(linear, "HFP", bits=16)
    ds = b.rtdose(spec)
    path = b.write(ds, tmp_path / "plain.dcm")
    import pydicom

    compressed = pydicom.dcmread(path)
    try:
        compressed.compress(RLELossless)
    except (RuntimeError, NotImplementedError, ValueError) as exc:  # no RLE encoder in this pydicom
        pytest.skip(f"pydicom cannot RLE-encode here: {exc}")
    compressed.save_as(tmp_path / "rle.dcm")
    g = read_rtdose(tmp_path / "rle.dcm").grid
    assert field_error_gy(g.x_mm, g.y_mm, g.z_mm, g.dose_gy) <= tolerance_gy(spec)


# --------------------------------------------------------------------------- refusals


def _dose(**changes: object) -> b.DoseSpec:
    spec = b.DoseSpec(stored_gy=np.ones((3, 2, 2)))
    for k, v in changes.items():
        setattr(spec, k, v)
    return spec


def test_relative_dose_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedDataError, match="RELATIVE"):
        rtdose_from_dataset(b.rtdose(_dose(units="RELATIVE")))


@pytest.mark.parametrize("scaling", ["0", "-1e-5", "nan", "inf"])
def test_dose_grid_scaling_must_be_a_positive_number(scaling: str) -> None:
    ds = b.rtdose(_dose(scaling=1e-3))
    with warnings.catch_warnings():  # pydicom warns that nan/inf are not valid DS values
        warnings.simplefilter("ignore")
        ds.DoseGridScaling = scaling
    with pytest.raises(DicomReadError, match="DoseGridScaling"):
        rtdose_from_dataset(ds)


def test_missing_dose_grid_scaling_is_an_error() -> None:
    ds = b.rtdose(_dose())
    del ds.DoseGridScaling
    with pytest.raises(DicomReadError, match="DoseGridScaling"):
        rtdose_from_dataset(ds)


@pytest.mark.parametrize(
    ("offsets", "match"),
    [
        ([0.0, 3.0], "2 values for 3 frames"),
        ([0.0, 6.0, 3.0], "not monotonic"),
        ([0.0, 3.0, 3.0], "repeats a value"),
        ([5.0, 8.0, 11.0], "neither 0"),
    ],
)
def test_bad_frame_offset_vectors_are_errors(offsets: list[float], match: str) -> None:
    with pytest.raises(DicomReadError, match=match):
        rtdose_from_dataset(b.rtdose(_dose(offsets=offsets)))


def test_a_huge_header_is_refused_before_allocation() -> None:
    ds = b.rtdose(_dose())
    ds.Rows, ds.Columns, ds.NumberOfFrames = 2000, 2000, 2000
    ds.GridFrameOffsetVector = [str(v) for v in range(2000)]
    with pytest.raises(UnsupportedDataError, match="8,000,000,000 voxels"):
        rtdose_from_dataset(ds)


def test_pixel_data_shorter_than_the_header_promises_is_an_error() -> None:
    ds = b.rtdose(_dose())
    ds.Rows = 20
    with pytest.raises(DicomReadError, match="PixelData holds 48 bytes"):
        rtdose_from_dataset(ds)


def test_missing_pixel_data_is_an_error() -> None:
    ds = b.rtdose(_dose())
    del ds.PixelData
    with pytest.raises(DicomReadError, match="no PixelData"):
        rtdose_from_dataset(ds)


def test_truncated_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = b.write(b.rtdose(b.field_dose(linear, "HFS")), tmp_path / "dose.dcm")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 50])
    with pytest.raises(DicomReadError, match="truncated") as info:
        read_rtdose(path)
    assert str(path) in str(info.value)


def test_non_dicom_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a dose\n" * 20)
    with pytest.raises(DicomReadError, match="not a DICOM file"):
        read_rtdose(path)


def test_file_and_dataset_readers_agree(tmp_path: Path) -> None:
    spec = b.field_dose(linear, "FFP", offsets="absolute", bits=16)
    path = b.write(b.rtdose(spec), tmp_path / "dose.dcm", implicit=True)
    from_file = read_rtdose(path)
    from_dataset = rtdose_from_dataset(b.rtdose(spec))
    np.testing.assert_array_equal(from_file.grid.dose_gy, from_dataset.grid.dose_gy)
    assert from_file.path == path


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["Linear_AntPost_2mm_Aligned.dcm", "Linear_SupInf_3mm_Aligned.dcm"]
)
def test_nelms_grids_read_as_pydicom_decodes_them(name: str) -> None:
    """Pinnacle FRACTION doses, identity orientation: the grid is pixel_array x DoseGridScaling.

    pydicom's own decoder is the independent reference; the axes follow from
    ImagePositionPatient, PixelSpacing and the relative GridFrameOffsetVector.
    """
    import pydicom

    from tests.validation.refdata import data_set

    path = data_set("nelms_analytic") / "dose_grids" / name
    ds = pydicom.dcmread(path)
    rtdose = read_rtdose(path)
    expected = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    np.testing.assert_allclose(rtdose.grid.dose_gy, expected, rtol=1e-6, atol=1e-6)
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    np.testing.assert_allclose(rtdose.grid.x_mm, x0 + dx * np.arange(int(ds.Columns)))
    np.testing.assert_allclose(rtdose.grid.y_mm, y0 + dy * np.arange(int(ds.Rows)))
    np.testing.assert_allclose(
        rtdose.grid.z_mm, z0 + np.array([float(v) for v in ds.GridFrameOffsetVector])
    )
    assert rtdose.summation_type == "FRACTION" and rtdose.referenced_fraction_group == 1
