"""Reading Deformable Spatial Registration objects (PS3.3 C.20.3), and their refusals.

The written object is checked against PS3.3 C.20.3.1.1 computed here:
``s = M_post · (M_pre · r + D(r))`` with ``D`` the vector grid, placed in the
Registered RCS by its ImagePositionPatient and ImageOrientationPatient.
"""

from __future__ import annotations

import numpy as np
import pytest

from plancheck.dicom.registration import read_registration
from plancheck.dicom.write import DicomContext, write_dataset
from plancheck.dicom.write_registration import deformable_registration_dataset
from plancheck.model import PatientInfo
from plancheck.registration import (
    DeformableItem,
    DeformableMapping,
    DeformableRegistration,
    MatrixType,
    RegistrationError,
    VectorGrid,
    find_registration,
    rigid_matrix,
)
from tests.dicom.builders import uid

CURRENT = uid("current frame of reference")
PRIOR = uid("prior frame of reference")
PRE = rigid_matrix((0.0, 0.0, 3.0), (2.0, -1.0, 0.5))
POST = rigid_matrix((1.0, 0.0, 0.0), (0.0, 0.0, 4.0))


def sample_grid() -> VectorGrid:
    """A 7 x 6 x 5 grid with 4 mm voxels, columns along -x (a rotated grid), random vectors."""
    rng = np.random.default_rng(3)
    axes = np.column_stack([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]])
    vectors = rng.normal(0.0, 1.5, size=(5, 6, 7, 3)).astype(np.float32)
    return VectorGrid(np.array([10.0, -12.0, 8.0]), axes, np.array([4.0, 4.0, 4.0]), vectors)


def written(tmp_path, items, name="RE.dir.dcm"):
    ctx = DicomContext(PatientInfo("A^B", "PC-TEST-1", "19600101"), uid("study"), CURRENT)
    ds = deformable_registration_dataset(
        ctx, items, sop_instance_uid=uid(name), series_instance_uid=uid(name + " series")
    )
    return ds, tmp_path / name


def read_back(tmp_path, items) -> DeformableRegistration:
    ds, path = written(tmp_path, items)
    reg = read_registration(write_dataset(ds, path))
    assert isinstance(reg, DeformableRegistration)
    return reg


def refused(ds, path, *fragments):
    write_dataset(ds, path)
    with pytest.raises(RegistrationError) as info:
        read_registration(path)
    text = str(info.value)
    assert str(path) in text
    for fragment in fragments:
        assert fragment in text, text


def test_round_trip_and_mapping_by_the_standard_equation(tmp_path):
    grid = sample_grid()
    reg = read_back(
        tmp_path,
        [
            DeformableItem(1, CURRENT, comment="registered set"),
            DeformableItem(2, PRIOR, PRE, MatrixType.RIGID, POST, MatrixType.RIGID, grid, "DIR"),
        ],
    )
    assert reg.frame_of_reference_uid == CURRENT and reg.frames == {CURRENT, PRIOR}
    item = reg.item_for(PRIOR)
    assert item is not None and item.grid is not None and item.comment == "DIR"
    assert np.array_equal(item.grid.vectors_mm, grid.vectors_mm)
    assert np.allclose(item.grid.axes, grid.axes) and item.grid.dimensions == (7, 6, 5)
    mapping = find_registration([reg], CURRENT, PRIOR)
    assert isinstance(mapping, DeformableMapping)
    # grid node (column 2, row 3, frame 1) lies at IPP + 2·4·(-x) + 3·4·(+y) + 1·4·(-z)
    r = np.array([10.0 - 8.0, -12.0 + 12.0, 8.0 - 4.0])
    d = grid.vectors_mm[1, 3, 2].astype(np.float64)
    expected = POST[:3, :3] @ (PRE[:3, :3] @ r + PRE[:3, 3] + d) + POST[:3, 3]
    assert np.allclose(mapping.map_points(r), expected, atol=1e-6)
    # halfway between two nodes along the rows: the mean of their vectors
    r2 = r + np.array([0.0, 2.0, 0.0])
    d2 = 0.5 * (grid.vectors_mm[1, 3, 2] + grid.vectors_mm[1, 4, 2]).astype(np.float64)
    expected2 = POST[:3, :3] @ (PRE[:3, :3] @ r2 + PRE[:3, 3] + d2) + POST[:3, 3]
    assert np.allclose(mapping.map_points(r2), expected2, atol=1e-6)
    # the registered frame's own item is not needed to map it
    assert mapping.steps[-1].has_vector_grid and not mapping.steps[-1].inverted


def test_refused_the_other_way(tmp_path):
    reg = read_back(tmp_path, [DeformableItem(1, PRIOR, grid=sample_grid())])
    with pytest.raises(RegistrationError, match="does not compute"):
        find_registration(
            [reg], PRIOR, CURRENT, from_label="current course", to_label="prior course"
        )


def _grid_item(ds):
    return ds.DeformableRegistrationSequence[0].DeformableRegistrationGridSequence[0]


def test_vector_grid_data_of_the_wrong_size(tmp_path):
    ds, path = written(tmp_path, [DeformableItem(1, PRIOR, grid=sample_grid())])
    _grid_item(ds).VectorGridData = _grid_item(ds).VectorGridData[:-12]
    refused(ds, path, "item 1", "VectorGridData holds 2508 bytes", "need 2520")


def test_grid_dimensions_not_positive(tmp_path):
    ds, path = written(tmp_path, [DeformableItem(1, PRIOR, grid=sample_grid())])
    _grid_item(ds).GridDimensions = [7, 0, 5]
    refused(ds, path, "GridDimensions", "positive integers")


def test_grid_orientation_not_orthogonal(tmp_path):
    ds, path = written(tmp_path, [DeformableItem(1, PRIOR, grid=sample_grid())])
    _grid_item(ds).ImageOrientationPatient = [1, 0, 0, 0.5, 0.5, 0]
    refused(ds, path, "ImageOrientationPatient", "orthogonal unit vectors")


def test_missing_source_frame(tmp_path):
    ds, path = written(tmp_path, [DeformableItem(1, PRIOR, grid=sample_grid())])
    del ds.DeformableRegistrationSequence[0].SourceFrameOfReferenceUID
    refused(ds, path, "item 1", "SourceFrameOfReferenceUID is missing")


def test_bad_pre_deformation_matrix(tmp_path):
    scaled = PRE.copy()
    scaled[:3, :3] *= 1.05
    ds, path = written(
        tmp_path, [DeformableItem(1, PRIOR, scaled, MatrixType.RIGID, grid=sample_grid())]
    )
    refused(ds, path, "PreDeformationMatrixRegistrationSequence", "labelled RIGID")


def test_two_post_deformation_matrices(tmp_path):
    ds, path = written(
        tmp_path, [DeformableItem(1, PRIOR, post_matrix=POST, post_type=MatrixType.RIGID)]
    )
    seq = ds.DeformableRegistrationSequence[0].PostDeformationMatrixRegistrationSequence
    seq.append(seq[0])
    refused(ds, path, "PostDeformationMatrixRegistrationSequence has 2 items")


def test_one_source_frame_twice(tmp_path):
    ds, path = written(
        tmp_path, [DeformableItem(1, PRIOR), DeformableItem(2, PRIOR, grid=sample_grid())]
    )
    refused(ds, path, "two items", PRIOR)
