"""Reading Spatial Registration objects: semantics per PS3.3 C.20.2, and every refusal.

REG datasets are built here with plain pydicom (independently of plancheck's
writer) from explicit matrices; the writer is checked by a round trip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.registration import read_registration
from plancheck.dicom.write import DicomContext, write_dataset
from plancheck.dicom.write_registration import spatial_registration_dataset
from plancheck.errors import DicomReadError
from plancheck.model import PatientInfo
from plancheck.registration import (
    MatrixType,
    RegistrationError,
    RegistrationItem,
    SpatialRegistration,
    find_registration,
    rigid_matrix,
)
from tests.dicom.builders import uid, write

SPATIAL_REGISTRATION = "1.2.840.10008.5.1.4.1.1.66.1"
CURRENT = uid("current frame of reference")
PRIOR = uid("prior frame of reference")
OTHER = uid("another frame of reference")

# prior -> current: a rotation of a few degrees about an oblique axis and a translation
PRIOR_TO_CURRENT = rigid_matrix((2.0, -3.0, 4.0), (12.5, -30.0, 41.0))


def matrix_item(values, matrix_type="RIGID") -> Dataset:
    m = Dataset()
    m.FrameOfReferenceTransformationMatrix = [f"{float(v):.10g}" for v in np.ravel(values)]
    if matrix_type is not None:
        m.FrameOfReferenceTransformationMatrixType = matrix_type
    return m


def reg_item(frame: str | None, *matrices: Dataset) -> Dataset:
    item = Dataset()
    if frame is not None:
        item.FrameOfReferenceUID = frame
    mr = Dataset()
    mr.RegistrationTypeCodeSequence = DicomSequence([])
    mr.MatrixSequence = DicomSequence(list(matrices))
    item.MatrixRegistrationSequence = DicomSequence([mr])
    return item


def reg_dataset(own: str | None, items: list[Dataset], name: str = "reg") -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SPATIAL_REGISTRATION
    ds.SOPInstanceUID = uid(name)
    ds.Modality = "REG"
    ds.PatientID = "PC-TEST-1"
    if own is not None:
        ds.FrameOfReferenceUID = own
    ds.ContentDate = "20240305"
    ds.RegistrationSequence = DicomSequence(items)
    return ds


def standard(name: str = "reg") -> Dataset:
    """The usual export: the current image set is fixed (the REG's own frame, identity item)."""
    return reg_dataset(
        CURRENT,
        [reg_item(CURRENT, matrix_item(np.eye(4))), reg_item(PRIOR, matrix_item(PRIOR_TO_CURRENT))],
        name,
    )


def read(ds: Dataset, tmp_path: Path, name: str = "RE.dcm") -> SpatialRegistration:
    reg = read_registration(write(ds, tmp_path / name))
    assert isinstance(reg, SpatialRegistration)
    return reg


def refused(ds: Dataset, tmp_path: Path, *fragments: str) -> str:
    path = write(ds, tmp_path / "RE.bad.dcm")
    with pytest.raises(RegistrationError) as info:
        read_registration(path)
    text = str(info.value)
    assert str(path) in text
    for fragment in fragments:
        assert fragment in text, text
    assert "Export the registration again" in text
    return text


# -- what a registration means -----------------------------------------------------------


def test_item_matrix_maps_its_frame_into_the_registered_frame(tmp_path):
    reg = read(standard(), tmp_path)
    assert reg.frame_of_reference_uid == CURRENT
    assert reg.frames == {CURRENT, PRIOR}
    item = reg.item_for(PRIOR)
    assert item is not None and item.matrix_type is MatrixType.RIGID
    assert np.allclose(item.matrix, PRIOR_TO_CURRENT, atol=1e-11)
    # current -> prior is the inverse: a physical point found at p in the prior
    # frame is at PRIOR_TO_CURRENT · p in the current frame
    p_prior = np.array([[10.0, 20.0, -30.0], [0.0, 0.0, 0.0], [-80.0, 45.0, 120.0]])
    p_current = p_prior @ PRIOR_TO_CURRENT[:3, :3].T + PRIOR_TO_CURRENT[:3, 3]
    mapping = find_registration([reg], CURRENT, PRIOR)
    assert np.allclose(mapping.map_points(p_current), p_prior, atol=1e-8)
    back = find_registration([reg], PRIOR, CURRENT)
    assert np.allclose(back.map_points(p_prior), p_current, atol=1e-8)
    assert mapping.steps[-1].inverted and not back.steps[0].inverted


def test_several_matrices_of_one_item_apply_in_item_order(tmp_path):
    # MatrixSequence [translate, rotate]: PS3.3 Eq. C.20.2-2, M = M2 · M1
    translate = rigid_matrix((0, 0, 0), (10.0, 0.0, 0.0))
    rotate = rigid_matrix((0, 0, 90))
    ds = reg_dataset(CURRENT, [reg_item(PRIOR, matrix_item(translate), matrix_item(rotate))])
    reg = read(ds, tmp_path)
    mapping = find_registration([reg], PRIOR, CURRENT)
    # the prior origin is translated to (10, 0, 0), then rotated 90° about z to (0, 10, 0)
    assert mapping.map_points([0.0, 0.0, 0.0]) == pytest.approx([0.0, 10.0, 0.0], abs=1e-9)


def test_neither_frame_is_the_registered_one(tmp_path):
    # a REG in its own frame (an atlas, a third image set): A -> B = (B -> R)^-1 (A -> R)
    to_r_from_prior = rigid_matrix((1, 2, 3), (4, 5, 6))
    to_r_from_current = rigid_matrix((-2, 0, 1), (-7, 8, 0))
    ds = reg_dataset(
        OTHER,
        [
            reg_item(PRIOR, matrix_item(to_r_from_prior)),
            reg_item(CURRENT, matrix_item(to_r_from_current)),
        ],
    )
    mapping = find_registration([read(ds, tmp_path)], CURRENT, PRIOR)
    p_current = np.array([[1.0, 2.0, 3.0], [-50.0, 60.0, 70.0]])
    p_r = p_current @ to_r_from_current[:3, :3].T + to_r_from_current[:3, 3]
    p_prior = np.linalg.solve(to_r_from_prior[:3, :3], (p_r - to_r_from_prior[:3, 3]).T).T
    assert np.allclose(mapping.map_points(p_current), p_prior, atol=1e-8)
    assert "through its own frame of reference" in mapping.note
    assert [s.inverted for s in mapping.steps] == [False, True]


def test_scaling_and_affine_types_are_read_as_such(tmp_path):
    affine = np.eye(4)
    affine[0, 1] = 0.05
    ds = reg_dataset(CURRENT, [reg_item(PRIOR, matrix_item(affine, "AFFINE"))])
    mapping = find_registration([read(ds, tmp_path)], PRIOR, CURRENT)
    assert mapping.matrix_type is MatrixType.AFFINE
    assert mapping.to_dict()["matrix_type"] == "AFFINE"


def test_writer_round_trip(tmp_path):
    ctx = DicomContext(PatientInfo("A^B", "PC-TEST-1", "19600101"), uid("study"), CURRENT)
    items = [
        RegistrationItem(1, CURRENT, (np.eye(4),), (MatrixType.RIGID,)),
        RegistrationItem(
            2, PRIOR, (PRIOR_TO_CURRENT,), (MatrixType.RIGID,), "prior CT to planning CT"
        ),
    ]
    ds = spatial_registration_dataset(
        ctx, items, sop_instance_uid=uid("written"), series_instance_uid=uid("written series")
    )
    path = write_dataset(ds, tmp_path / "RE.written.dcm")
    reg = read_registration(path)
    assert isinstance(reg, SpatialRegistration)
    assert reg.sop_instance_uid == uid("written") and reg.findings == ()
    assert [i.frame_of_reference_uid for i in reg.items] == [CURRENT, PRIOR]
    item = reg.item_for(PRIOR)
    assert item is not None and item.comment == "prior CT to planning CT"
    # written with 10 significant digits (DS): 1e-9 relative
    assert np.allclose(item.matrix, PRIOR_TO_CURRENT, rtol=0, atol=1e-7)


def test_repeated_item_with_the_same_matrix_is_one_item(tmp_path):
    ds = reg_dataset(
        CURRENT,
        [
            reg_item(PRIOR, matrix_item(PRIOR_TO_CURRENT)),
            reg_item(PRIOR, matrix_item(PRIOR_TO_CURRENT)),
        ],
    )
    reg = read(ds, tmp_path)
    assert len(reg.items) == 1
    assert [f.code for f in reg.findings] == ["registration-item-repeated"]


def test_modality_other_than_reg_is_a_finding(tmp_path):
    ds = standard()
    ds.Modality = "OT"
    reg = read(ds, tmp_path)
    assert [f.code for f in reg.findings] == ["registration-modality"]


def test_item_with_images_only_is_unresolved_and_named_when_no_link(tmp_path):
    images_only = reg_item(None, matrix_item(PRIOR_TO_CURRENT))
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = uid("a CT slice")
    images_only.ReferencedImageSequence = DicomSequence([ref])
    reg = read(
        reg_dataset(CURRENT, [reg_item(CURRENT, matrix_item(np.eye(4))), images_only]), tmp_path
    )
    assert len(reg.items) == 1 and "item 2" in reg.unresolved[0]
    with pytest.raises(RegistrationError, match="does not read the images"):
        find_registration([reg], CURRENT, PRIOR)


# -- refusals ------------------------------------------------------------------------------


def test_not_a_registration(tmp_path):
    ds = standard()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.2"
    with pytest.raises(RegistrationError) as info:
        read_registration(write(ds, tmp_path / "RD.dcm"))
    assert "RT Dose Storage" in str(info.value)


def test_not_dicom(tmp_path):
    path = tmp_path / "RE.txt"
    path.write_text("not a registration")
    with pytest.raises(DicomReadError):
        read_registration(path)


def test_missing_own_frame_of_reference(tmp_path):
    ds = standard()
    del ds.FrameOfReferenceUID
    refused(ds, tmp_path, "FrameOfReferenceUID is missing", "Registered RCS")


def test_empty_registration_sequence(tmp_path):
    refused(reg_dataset(CURRENT, []), tmp_path, "registers nothing")


def test_item_without_frame_or_images(tmp_path):
    refused(
        reg_dataset(CURRENT, [reg_item(None, matrix_item(np.eye(4)))]),
        tmp_path,
        "item 1",
        "neither",
    )


def test_two_matrix_registrations_in_one_item(tmp_path):
    item = reg_item(PRIOR, matrix_item(PRIOR_TO_CURRENT))
    item.MatrixRegistrationSequence.append(item.MatrixRegistrationSequence[0])
    refused(reg_dataset(CURRENT, [item]), tmp_path, "item 1", "has 2 items", "exactly one")


def test_empty_matrix_sequence(tmp_path):
    refused(reg_dataset(CURRENT, [reg_item(PRIOR)]), tmp_path, "item 1", "holds no matrix")


@pytest.mark.parametrize(
    ("values", "matrix_type", "fragments"),
    [
        (np.eye(4).ravel()[:12], "RIGID", ("has 12 values",)),
        (np.eye(4), None, ("FrameOfReferenceTransformationMatrixType is missing",)),
        (np.eye(4), "PERSPECTIVE", ("'PERSPECTIVE'", "RIGID, RIGID_SCALE and AFFINE")),
        (np.diag([1.03, 1.03, 1.03, 1.0]), "RIGID", ("labelled RIGID", "RIGID_SCALE or AFFINE")),
        (np.diag([-1.0, 1.0, 1.0, 1.0]), "RIGID", ("mirrors",)),
        (PRIOR_TO_CURRENT.T, "RIGID", ("last row", "transposed")),
        (np.diag([1.0, 1.0, 0.0, 1.0]), "AFFINE", ("singular",)),
    ],
)
def test_malformed_matrices(tmp_path, values, matrix_type, fragments):
    ds = reg_dataset(
        CURRENT,
        [
            reg_item(CURRENT, matrix_item(np.eye(4))),
            reg_item(PRIOR, matrix_item(values, matrix_type)),
        ],
    )
    refused(ds, tmp_path, "item 2", PRIOR, "matrix 1 of MatrixSequence", *fragments)


def test_non_numeric_matrix_value(tmp_path):
    ds = standard()
    raw = list(
        ds.RegistrationSequence[1]
        .MatrixRegistrationSequence[0]
        .MatrixSequence[0]
        .FrameOfReferenceTransformationMatrix
    )
    raw[3] = "nan"
    with pytest.warns(UserWarning, match="Invalid value for VR DS"):
        ds.RegistrationSequence[1].MatrixRegistrationSequence[0].MatrixSequence[
            0
        ].FrameOfReferenceTransformationMatrix = raw
    refused(ds, tmp_path, "item 2", "not a finite number")


def test_own_frame_mapped_onto_itself_by_a_motion(tmp_path):
    ds = reg_dataset(
        CURRENT,
        [
            reg_item(CURRENT, matrix_item(rigid_matrix((0, 0, 0), (0, 0, 5)))),
            reg_item(PRIOR, matrix_item(np.eye(4))),
        ],
    )
    refused(ds, tmp_path, "item 1", "onto itself", "contradicts itself")


def test_one_frame_registered_twice_differently(tmp_path):
    ds = reg_dataset(
        CURRENT,
        [
            reg_item(PRIOR, matrix_item(PRIOR_TO_CURRENT)),
            reg_item(PRIOR, matrix_item(rigid_matrix((0, 0, 1)))),
        ],
    )
    refused(ds, tmp_path, "items 1 and 2", PRIOR, "different matrices")
