"""The phantom's DICOM files, read back with plain pydicom.

Voxel positions are computed here from the written headers by the rules of
DICOM PS3.3 C.7.6.2 (ImagePositionPatient, ImageOrientationPatient,
PixelSpacing = [row spacing, column spacing]) and C.8.8.3.2
(GridFrameOffsetVector: relative offsets along row × column when it starts
at 0, patient z otherwise), so an orientation error in the writer shows up as
a dose that differs from the field at the same patient point.
"""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

from plancheck.model import EndCaps
from plancheck.phantoms.build import SHAPE_NAMES, standard_spec, write_phantom

RT_STRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"

# PS3.3 C.7.6.2.1.1 and common scanner practice for axial images
EXPECTED_IOP = {
    "HFS": [1, 0, 0, 0, 1, 0],
    "FFS": [-1, 0, 0, 0, 1, 0],
    "HFP": [-1, 0, 0, 0, -1, 0],
    "FFP": [1, 0, 0, 0, -1, 0],
}


def dose_and_positions(ds):
    """Dose (Gy) per stored voxel and its patient position, shapes (f, r, c) and (f, r, c, 3)."""
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    dr, dc = (float(v) for v in ds.PixelSpacing)
    offsets = np.array([float(v) for v in ds.GridFrameOffsetVector])
    if offsets[0] == 0.0:
        frame_origin = ipp[None, :] + offsets[:, None] * normal[None, :]
    else:
        assert offsets[0] == pytest.approx(ipp[2])
        frame_origin = np.column_stack(
            [np.full(offsets.size, ipp[0]), np.full(offsets.size, ipp[1]), offsets]
        )
    j = np.arange(int(ds.Columns))
    i = np.arange(int(ds.Rows))
    pos = (
        frame_origin[:, None, None, :]
        + (i[None, :, None, None] * dr) * col_dir[None, None, None, :]
        + (j[None, None, :, None] * dc) * row_dir[None, None, None, :]
    )
    pixels = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    return pixels.astype(np.float64) * float(ds.DoseGridScaling), pos


@pytest.fixture(scope="module")
def sphere_case(tmp_path_factory):
    spec = standard_spec(
        "sphere",
        radius_mm=12.0,
        dose_grid_mm=(2.0, 2.5, 3.0),
        contour_spacing_mm=2.0,
        gradient="oblique",
        gradient_gy_per_mm=0.4,
        dose_at_centre_gy=25.0,
        centre_mm=(5.0, -3.0, 11.0),
    )
    return write_phantom(spec, tmp_path_factory.mktemp("sphere"))


def test_files_are_part10_with_fixed_meta(sphere_case):
    for path in (sphere_case.rtstruct_path, sphere_case.rtplan_path, sphere_case.rtdose_path):
        raw = path.read_bytes()
        assert raw[128:132] == b"DICM"
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert ds.file_meta.ImplementationVersionName == "PLANCHECK"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_links_and_shared_frame_of_reference(sphere_case):
    rs = pydicom.dcmread(sphere_case.rtstruct_path)
    rp = pydicom.dcmread(sphere_case.rtplan_path)
    rd = pydicom.dcmread(sphere_case.rtdose_path)
    assert (rs.SOPClassUID, rp.SOPClassUID, rd.SOPClassUID) == (RT_STRUCT, RT_PLAN, RT_DOSE)
    assert (rs.Modality, rp.Modality, rd.Modality) == ("RTSTRUCT", "RTPLAN", "RTDOSE")
    for_uid = rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    assert rd.FrameOfReferenceUID == for_uid == rp.FrameOfReferenceUID
    assert rs.StructureSetROISequence[0].ReferencedFrameOfReferenceUID == for_uid
    assert rp.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID == rs.SOPInstanceUID
    assert rp.ReferencedStructureSetSequence[0].ReferencedSOPClassUID == RT_STRUCT
    assert rd.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == rp.SOPInstanceUID
    assert rd.ReferencedRTPlanSequence[0].ReferencedSOPClassUID == RT_PLAN
    assert len({rs.StudyInstanceUID, rp.StudyInstanceUID, rd.StudyInstanceUID}) == 1
    assert len({rs.PatientID, rp.PatientID, rd.PatientID}) == 1
    assert len({rs.SeriesInstanceUID, rp.SeriesInstanceUID, rd.SeriesInstanceUID}) == 3


def test_rtplan_content(sphere_case):
    rp = pydicom.dcmread(sphere_case.rtplan_path)
    assert rp.RTPlanLabel == "sphere"
    assert rp.RTPlanGeometry == "PATIENT"
    assert rp.ApprovalStatus == "APPROVED" and rp.ReviewerName
    assert rp.FractionGroupSequence[0].NumberOfFractionsPlanned == 1
    ref = rp.DoseReferenceSequence[0]
    assert ref.DoseReferenceType == "TARGET"
    assert ref.ReferencedROINumber == 1
    # the default prescription is the dose at the shape's centre, 25 Gy
    assert float(ref.TargetPrescriptionDose) == pytest.approx(25.0)
    assert rp.PatientSetupSequence[0].PatientPosition == "HFS"


def test_rtstruct_contours_are_the_model_contours(sphere_case):
    rs = pydicom.dcmread(sphere_case.rtstruct_path)
    structure = sphere_case.build.structure("Sphere")
    assert rs.StructureSetROISequence[0].ROIName == "Sphere"
    assert rs.RTROIObservationsSequence[0].RTROIInterpretedType == "PTV"
    contours = rs.ROIContourSequence[0].ContourSequence
    assert len(contours) == len(structure.planes)
    for item, plane in zip(contours, structure.planes, strict=True):
        assert item.ContourGeometricType == "CLOSED_PLANAR"
        xyz = np.array([float(v) for v in item.ContourData]).reshape(-1, 3)
        assert item.NumberOfContourPoints == len(xyz) >= 128
        np.testing.assert_array_equal(xyz[:, :2], plane.polygons[0])  # written exactly
        assert np.all(xyz[:, 2] == plane.z_mm)
        # vertices on the true sphere (to the 1e-6 mm rounding)
        r = np.linalg.norm(xyz - np.array([5.0, -3.0, 11.0]), axis=1)
        assert np.all(np.abs(r - 12.0) < 2e-6)


def test_ring_writes_two_contours_per_plane(tmp_path):
    case = write_phantom(standard_spec("ring", radius_mm=10.0, dose_grid_mm=3.0), tmp_path)
    rs = pydicom.dcmread(case.rtstruct_path)
    contours = rs.ROIContourSequence[0].ContourSequence
    zs = [float(c.ContourData[2]) for c in contours]
    assert len(zs) == 2 * len(set(zs))


@pytest.mark.parametrize("orientation", ["HFS", "FFS", "HFP", "FFP"])
@pytest.mark.parametrize("bits", [16, 32])
@pytest.mark.parametrize("offsets", ["relative", "absolute"])
def test_dose_is_the_field_at_every_voxel_in_every_orientation(
    tmp_path, orientation, bits, offsets
):
    spec = standard_spec(
        "cylinder",
        radius_mm=8.0,
        dose_grid_mm=(2.0, 2.5, 3.0),
        gradient=(0.3, -0.45, 0.6),
        dose_at_centre_gy=30.0,
        centre_mm=(4.0, -6.0, 9.0),
        orientation=orientation,
        bits=bits,
        frame_offsets=offsets,
    )
    case = write_phantom(spec, tmp_path)
    rd = pydicom.dcmread(case.rtdose_path)
    assert [int(float(v)) for v in rd.ImageOrientationPatient] == EXPECTED_IOP[orientation]
    assert rd.PatientPosition == orientation
    assert (rd.BitsAllocated, rd.BitsStored, rd.HighBit, rd.PixelRepresentation) == (
        bits,
        bits,
        bits - 1,
        0,
    )
    assert [float(v) for v in rd.PixelSpacing] == [
        2.5,
        2.0,
    ]  # [row spacing = dy, column spacing = dx]
    assert rd.DoseUnits == "GY" and rd.DoseType == "PHYSICAL" and rd.DoseSummationType == "PLAN"
    assert rd.FrameIncrementPointer == 0x3004000C
    gfov = [float(v) for v in rd.GridFrameOffsetVector]
    if offsets == "relative":
        assert gfov[0] == 0.0 and np.all(np.diff(gfov) > 0)
    else:
        assert gfov[0] == float(rd.ImagePositionPatient[2]) != 0.0
    dose, pos = dose_and_positions(rd)
    expected = spec.field.dose_gy(pos[..., 0], pos[..., 1], pos[..., 2])
    step = float(rd.DoseGridScaling)
    assert np.max(np.abs(dose - expected)) <= 0.5 * step + 1e-9 * float(expected.max())
    assert len(str(rd.DoseGridScaling)) <= 16
    # the grid covers the cylinder's contour stack with margin
    lo = pos.reshape(-1, 3).min(axis=0)
    hi = pos.reshape(-1, 3).max(axis=0)
    assert np.all(lo < np.array([4 - 8, -6 - 8, 9 - 8])) and np.all(
        hi > np.array([4 + 8, -6 + 8, 9 + 8])
    )


def test_same_patient_point_same_dose_in_all_orientations(tmp_path):
    """The grid point at (4, -6, 9) mm (a grid point: multiples of the spacing from 0)."""
    values = {}
    for orientation in EXPECTED_IOP:
        spec = standard_spec(
            "sphere",
            radius_mm=8.0,
            dose_grid_mm=(2.0, 2.0, 3.0),
            gradient=(0.3, -0.45, 0.6),
            dose_at_centre_gy=30.0,
            centre_mm=(4.0, -6.0, 9.0),
            orientation=orientation,
        )
        rd = pydicom.dcmread(write_phantom(spec, tmp_path / orientation).rtdose_path)
        dose, pos = dose_and_positions(rd)
        hit = np.all(np.abs(pos - np.array([4.0, -6.0, 9.0])) < 1e-6, axis=-1)
        assert np.count_nonzero(hit) == 1
        values[orientation] = float(dose[hit][0])
    assert max(values.values()) - min(values.values()) < 1e-6
    assert values["HFS"] == pytest.approx(30.0, abs=1e-6)


@pytest.mark.parametrize(("summation", "stored_share"), [("FRACTION", 1.0), ("FRACTION_SESSION", 0.2)])
def test_fraction_doses_and_fraction_count(tmp_path, summation, stored_share):
    """PS3.3 C.8.8.3: a FRACTION dose holds its whole fraction group, a FRACTION_SESSION dose one session."""
    spec = standard_spec(
        "sphere",
        radius_mm=8.0,
        dose_grid_mm=2.0,
        summation_type=summation,
        n_fractions=5,
        dose_at_centre_gy=40.0,
        gradient="z",
    )
    case = write_phantom(spec, tmp_path)
    rd = pydicom.dcmread(case.rtdose_path)
    rp = pydicom.dcmread(case.rtplan_path)
    assert rd.DoseSummationType == summation
    assert (
        rd.ReferencedRTPlanSequence[0]
        .ReferencedFractionGroupSequence[0]
        .ReferencedFractionGroupNumber
        == 1
    )
    assert rp.FractionGroupSequence[0].NumberOfFractionsPlanned == 5
    dose, pos = dose_and_positions(rd)
    expected = spec.field.dose_gy(pos[..., 0], pos[..., 1], pos[..., 2]) * stored_share
    assert np.max(np.abs(dose - expected)) <= 0.5 * float(rd.DoseGridScaling) + 1e-12
    doc = json.loads(case.truth_path.read_text())
    # the truth is for the plan's total dose
    assert doc["rois"][0]["half"]["mean_gy"] == pytest.approx(40.0, abs=1e-9)


def test_same_spec_same_bytes_and_other_spec_other_uids(tmp_path):
    spec = standard_spec("two-part", radius_mm=10.0, dose_grid_mm=2.5)
    a = write_phantom(spec, tmp_path / "a")
    b = write_phantom(spec, tmp_path / "b")
    for pa, pb in zip(a.paths, b.paths, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    c = write_phantom(standard_spec("two-part", radius_mm=10.0, dose_grid_mm=3.0), tmp_path / "c")
    uids_a = {pydicom.dcmread(p).SOPInstanceUID for p in a.paths[:3]}
    uids_c = {pydicom.dcmread(p).SOPInstanceUID for p in c.paths[:3]}
    assert not uids_a & uids_c
    for uid in uids_a:
        assert uid.startswith("2.25.") and len(uid) <= 64


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_truth_json_of_every_shape(tmp_path, shape):
    case = write_phantom(standard_spec(shape, radius_mm=10.0, dose_grid_mm=3.0), tmp_path)
    doc = json.loads(case.truth_path.read_text())
    assert doc["schema"] == "plancheck-phantom-truth/1"
    assert doc["files"]["rtdose"] == case.rtdose_path.name
    (roi,) = doc["rois"]
    for caps in (EndCaps.HALF, EndCaps.NONE):
        entry = roi[caps.value]
        t = case.truth(roi["name"], caps)
        assert entry["volume_cc"] == t.volume_cc
        assert entry["volume_outside_grid_cc"] == 0.0
        assert entry["min_gy"] <= entry["metrics_gy"]["D99%"] <= entry["metrics_gy"]["D95%"]
        assert (
            entry["metrics_gy"]["D95%"] <= entry["metrics_gy"]["D50%"] <= entry["metrics_gy"]["D5%"]
        )
        curve = entry["curve"]
        assert curve["volume_cc"][0] == pytest.approx(t.volume_cc)
        assert np.all(np.diff(curve["volume_cc"]) <= 1e-12)
    assert roi["half"]["volume_cc"] > roi["none"]["volume_cc"]


def test_negative_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match="dose field reaches"):
        write_phantom(standard_spec("sphere", radius_mm=10.0, dose_at_centre_gy=1.0), tmp_path)


def test_absolute_offsets_starting_at_zero_are_refused_outside_hfs(tmp_path):
    spec = standard_spec(
        "sphere",
        radius_mm=10.0,
        frame_offsets="absolute",
        orientation="FFS",
        grid_box_mm=((-12, 12), (-12, 12), (-12.0, 0.0)),
    )
    with pytest.raises(ValueError, match="reads as relative"):
        write_phantom(spec, tmp_path)


@pytest.mark.parametrize("orientation", ["HFS", "FFP"])
def test_uneven_dose_frames(tmp_path, orientation):
    spec = standard_spec(
        "sphere",
        radius_mm=8.0,
        dose_grid_mm=2.0,
        dose_frame_gaps_mm=(2.0, 3.0, 1.5),
        gradient="oblique",
        orientation=orientation,
    )
    case = write_phantom(spec, tmp_path)
    rd = pydicom.dcmread(case.rtdose_path)
    assert "SliceThickness" in rd and rd.SliceThickness in ("", None)  # type 2: present, empty
    gaps = np.round(np.abs(np.diff([float(v) for v in rd.GridFrameOffsetVector])), 6)
    assert set(gaps.tolist()) == {2.0, 3.0, 1.5}
    dose, pos = dose_and_positions(rd)
    expected = spec.field.dose_gy(pos[..., 0], pos[..., 1], pos[..., 2])
    assert np.max(np.abs(dose - expected)) <= 0.5 * float(rd.DoseGridScaling) + 1e-9 * 60
    z = np.sort(pos[:, 0, 0, 2])
    lo, hi = case.build.grid_cells_box_mm[2]
    assert lo == pytest.approx(z[0] - (z[1] - z[0]) / 2)
    assert hi == pytest.approx(z[-1] + (z[-1] - z[-2]) / 2)
