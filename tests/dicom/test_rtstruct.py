"""The RT Structure Set reader: ROIs, planes, even-odd input, and contours it must not use.

Structure sets are built by :mod:`tests.dicom.builders` from explicit squares;
the expected planes and polygons follow from those inputs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom.rtstruct import read_rtstruct, structure_set_from_dataset
from plancheck.errors import DicomReadError
from plancheck.model import StructureSet
from tests.dicom import builders as b
from tests.validation.refdata import data_set

CLOSED = "CLOSED_PLANAR"


def _read(*rois: b.Roi, **kwargs: object) -> StructureSet:
    return structure_set_from_dataset(b.rtstruct(rois, **kwargs))  # type: ignore[arg-type]


def _codes(s: StructureSet, roi: int | None = None) -> set[str]:
    if roi is None:
        return {f.code for f in s.findings}
    return {f.code for f in next(x for x in s.structures if x.roi_number == roi).findings}


def test_names_types_colours_and_frame() -> None:
    ss = _read(
        b.Roi(3, "PTV", [(CLOSED, b.square(10, 0.0))], roi_type="PTV", color=(0, 128, 255)),
        b.Roi(7, "Cord", [(CLOSED, b.square(2, 0.0))], roi_type="ORGAN", color=None),
        label="SPINE",
    )
    assert ss.label == "SPINE" and ss.frame_of_reference_uid == b.FRAME
    ptv, cord = ss.structures
    assert (ptv.roi_number, ptv.name, ptv.roi_type, ptv.color_rgb) == (
        3,
        "PTV",
        "PTV",
        (0, 128, 255),
    )
    assert (cord.roi_number, cord.name, cord.color_rgb) == (7, "Cord", None)
    assert ss.by_name("Cord") is cord
    assert ss.patient.patient_id == b.PATIENT_ID


def test_contours_are_grouped_by_plane_in_file_order() -> None:
    outer, hole, other = b.square(10, 2.5), b.square(4, 2.5), b.square(10, 5.0)
    # the second contour of a plane is written 0.004 mm off (rounding in the exporting system)
    hole[:, 2] += 0.004
    ss = _read(b.Roi(1, "Ring", [(CLOSED, other), (CLOSED, outer), (CLOSED, hole)]))
    (ring,) = ss.structures
    assert [p.z_mm for p in ring.planes] == pytest.approx([2.502, 5.0])
    first = ring.planes[0]
    assert len(first.polygons) == 2  # outer and hole, combined later by the even-odd rule
    np.testing.assert_array_equal(first.polygons[0], outer[:, :2])
    np.testing.assert_array_equal(first.polygons[1], hole[:, :2])
    assert all(p.dtype == np.float64 and p.shape[1] == 2 for p in first.polygons)


def test_a_repeated_closing_point_is_dropped() -> None:
    ss = _read(b.Roi(1, "Box", [(CLOSED, b.square(5, 0.0, close=True))]))
    assert ss.structures[0].planes[0].polygons[0].shape == (4, 2)


def test_contours_that_enclose_nothing_are_skipped_and_reported() -> None:
    two_points = b.square(5, 1.0)[:2]
    line = np.array([[0, 0, 2.0], [1, 1, 2.0], [2, 2, 2.0]])
    tilted = b.square(5, 3.0)
    tilted[2:, 2] += 1.0
    ss = _read(
        b.Roi(
            1,
            "Messy",
            [(CLOSED, two_points), (CLOSED, line), (CLOSED, tilted), (CLOSED, b.square(5, 4.0))],
        )
    )
    (messy,) = ss.structures
    assert [p.z_mm for p in messy.planes] == [4.0]
    assert {"contour-too-few-points", "contour-without-area", "contour-tilted"} <= _codes(ss, 1)


def test_malformed_contour_data_is_reported_not_raised() -> None:
    ds = b.rtstruct([b.Roi(1, "Bad", [(CLOSED, b.square(5, 0.0)), (CLOSED, b.square(5, 1.0))])])
    contours = ds.ROIContourSequence[0].ContourSequence
    contours[0].ContourData = ["1", "2", "3", "4"]  # not triplets
    with warnings.catch_warnings():  # pydicom warns that nan is not a valid DS value
        warnings.simplefilter("ignore")
        contours[1].ContourData = ["1", "2", "nan", "4", "5", "nan", "6", "7", "nan"]
    ss = structure_set_from_dataset(ds)
    assert not ss.structures[0].has_volume
    assert "contour-malformed" in _codes(ss, 1)


def test_point_and_open_contours_have_no_volume() -> None:
    ss = _read(
        b.Roi(1, "Iso", [("POINT", np.array([[0.0, 0.0, 0.0]]))], roi_type="ISOCENTER"),
        b.Roi(2, "Wire", [("OPEN_PLANAR", b.square(3, 0.0))]),
        b.Roi(3, "Empty", []),
    )
    assert [s.has_volume for s in ss.structures] == [False, False, False]
    assert "roi-non-closed-contours" in _codes(ss, 1) and "roi-non-closed-contours" in _codes(ss, 2)
    assert "roi-without-volume" in _codes(ss, 3)


def test_roi_contoured_in_another_frame_of_reference_has_no_volume() -> None:
    ss = _read(
        b.Roi(1, "CT", [(CLOSED, b.square(5, 0.0))]),
        b.Roi(2, "MR", [(CLOSED, b.square(5, 0.0))], frame_of_reference=b.uid("MR frame")),
    )
    assert [s.has_volume for s in ss.structures] == [True, False]
    assert "roi-in-other-frame-of-reference" in _codes(ss, 2)


def test_roi_without_frame_of_reference_takes_the_sets_with_a_finding() -> None:
    ss = _read(b.Roi(1, "A", [(CLOSED, b.square(5, 0.0))], frame_of_reference=None))
    assert ss.structures[0].has_volume
    assert "roi-without-frame-of-reference" in _codes(ss, 1)


def test_structure_set_without_frame_of_reference_is_reported() -> None:
    ss = _read(
        b.Roi(1, "A", [(CLOSED, b.square(5, 0.0))], frame_of_reference=None),
        frame_of_reference=None,
    )
    assert ss.frame_of_reference_uid is None
    assert "structure-set-without-frame-of-reference" in _codes(ss)


def test_duplicate_names_and_unknown_roi_references_are_reported() -> None:
    ds = b.rtstruct(
        [
            b.Roi(1, "Lung", [(CLOSED, b.square(5, 0.0))]),
            b.Roi(2, "Lung", [(CLOSED, b.square(5, 0.0))]),
        ]
    )
    ds.ROIContourSequence[1].ReferencedROINumber = 9
    ss = structure_set_from_dataset(ds)
    assert {"roi-duplicate-name", "contours-of-unknown-roi"} <= _codes(ss)
    assert [s.has_volume for s in ss.structures] == [True, False]


def test_file_without_preamble_is_read(tmp_path: Path) -> None:
    path = b.write(
        b.rtstruct([b.Roi(1, "A", [(CLOSED, b.square(5, 0.0))])]), tmp_path / "rs", preamble=False
    )
    assert path.read_bytes()[128:132] != b"DICM"
    assert read_rtstruct(path).structures[0].has_volume


def test_truncated_structure_set_is_an_error(tmp_path: Path) -> None:
    rois = [
        b.Roi(k, f"R{k}", [(CLOSED, b.square(5, float(z))) for z in range(20)]) for k in range(1, 4)
    ]
    path = b.write(b.rtstruct(rois), tmp_path / "rs.dcm", implicit=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DicomReadError, match="truncated"):
        read_rtstruct(path)


@pytest.mark.slow
def test_eclipse_structure_set() -> None:
    """MANIFEST.md of the data set: 10 ROIs, ROI 2 'Areola' without contours."""
    ss = read_rtstruct(data_set("eclipse_breast_boost") / "rtss.dcm")
    assert [s.roi_number for s in ss.structures] == list(range(1, 11))
    assert ss.by_name("Heart").roi_type == "ORGAN"
    assert [s.name for s in ss.structures if not s.has_volume] == ["Areola"]
    for s in ss.structures:
        zs = [p.z_mm for p in s.planes]
        assert zs == sorted(zs)
