"""find_registration: the mapping between two frames, or a refusal that says why.

Registrations are built in memory from explicit matrices; every expected point
is computed here from the definitions (PS3.3 C.20.2.1.1 and C.20.3.1.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plancheck.registration import (
    DeformableItem,
    DeformableMapping,
    DeformableRegistration,
    MatrixMapping,
    MatrixType,
    RegistrationError,
    RegistrationItem,
    SpatialRegistration,
    VectorGrid,
    find_registration,
    rigid_matrix,
)
from tests.dicom.builders import uid

A, B, C, R = "1.2.826.0.1.1", "1.2.826.0.1.2", "1.2.826.0.1.3", "1.2.826.0.1.9"
B_TO_A = rigid_matrix((3.0, 1.0, -2.0), (5.0, -12.0, 30.0))
POINTS = np.array([[0.0, 0.0, 0.0], [100.0, -50.0, 25.0], [-30.0, 80.0, -120.0]])
RIGID = (MatrixType.RIGID,)


def transform(m, p):
    return p @ m[:3, :3].T + m[:3, 3]


def rigid(own, items, name="reg"):
    return SpatialRegistration(
        Path(f"{name}.dcm"),
        uid(name),
        own,
        tuple(RegistrationItem(k, f, (m,), RIGID) for k, (f, m) in enumerate(items, start=1)),
    )


def test_same_frame_is_the_identity_and_says_so():
    mapping = find_registration([], A, A, from_label="current course", to_label="prior course")
    assert isinstance(mapping, MatrixMapping)
    assert mapping.is_identity and mapping.matrix_type is None and mapping.steps == ()
    assert (
        "share frame of reference" in mapping.note and "no registration is needed" in mapping.note
    )
    assert "current course" in mapping.note and "prior course" in mapping.note


def test_no_registration_at_all_is_refused():
    with pytest.raises(RegistrationError) as info:
        find_registration([], A, B, from_label="current course", to_label="prior course")
    text = str(info.value)
    assert A in text and B in text and "No registration object was found" in text
    assert "--registration" in text and "never assumes" in text


def test_registration_of_other_frames_is_refused_with_what_it_links():
    reg = rigid(A, [(C, B_TO_A)], "unrelated")
    with pytest.raises(RegistrationError) as info:
        find_registration([reg], A, B, from_label="current course", to_label="prior course")
    text = str(info.value)
    assert "unrelated.dcm" in text and C in text and "does not include the prior course" in text


def test_chains_through_two_objects_are_not_followed():
    with pytest.raises(RegistrationError, match="Chains through several registration objects"):
        find_registration([rigid(A, [(B, B_TO_A)], "ab"), rigid(B, [(C, B_TO_A)], "bc")], A, C)


def test_two_objects_that_agree_give_one_mapping_with_a_note():
    forward = rigid(A, [(B, B_TO_A)], "forward")
    # the same registration exported the other way round: A registered into B's frame
    backward = rigid(B, [(A, np.linalg.inv(B_TO_A))], "backward")
    mapping = find_registration([forward, backward], A, B)
    assert isinstance(mapping, MatrixMapping)
    assert np.allclose(mapping.map_points(transform(B_TO_A, POINTS)), POINTS, atol=1e-9)
    assert "agree within" in mapping.note and "backward.dcm" in mapping.note


def test_two_objects_that_disagree_are_refused():
    shifted = B_TO_A.copy()
    shifted[0, 3] += 1.0  # 1 mm apart
    with pytest.raises(RegistrationError, match=r"disagree by up to 1 mm"):
        find_registration([rigid(A, [(B, B_TO_A)], "one"), rigid(A, [(B, shifted)], "two")], A, B)


def test_same_sop_instance_uid_with_different_content_is_refused():
    one = rigid(A, [(B, B_TO_A)], "same")
    other = SpatialRegistration(
        Path("copy.dcm"),
        one.sop_instance_uid,
        A,
        (RegistrationItem(1, B, (rigid_matrix((0, 0, 1)),), RIGID),),
    )
    with pytest.raises(RegistrationError, match="share the SOP Instance UID"):
        find_registration([one, other], A, B)
    # an identical copy is one registration
    assert isinstance(find_registration([one, one], A, B), MatrixMapping)


def test_mapping_provenance_for_reports():
    mapping = find_registration([rigid(A, [(B, B_TO_A)], "prov")], A, B)
    doc = mapping.to_dict()
    assert doc["from_frame_of_reference_uid"] == A and doc["to_frame_of_reference_uid"] == B
    assert doc["matrix_type"] == "RIGID"
    assert doc["rotation_deg"] == pytest.approx(mapping.rotation_deg)
    step = doc["registrations"][0]
    assert step["path"] == "prov.dcm" and step["inverted"] and step["item"] == 1
    assert np.allclose(step["matrix"], B_TO_A)


# -- deformable ------------------------------------------------------------------------


def linear_grid(shape=(4, 5, 6), spacing=(10.0, 10.0, 10.0), origin=(-20.0, -20.0, -20.0)):
    """A vector grid holding the field D(r) = G r + c, which trilinear interpolation reproduces."""
    g = np.array([[0.01, 0.0, 0.02], [0.0, -0.01, 0.0], [0.005, 0.0, 0.01]])
    c = np.array([1.0, -2.0, 0.5])
    z, y, x = np.meshgrid(
        *(o + s * np.arange(n) for o, s, n in zip(origin[::-1], spacing[::-1], shape, strict=True)),
        indexing="ij",
    )
    pts = np.stack([x, y, z], axis=-1)
    vectors = (pts @ g.T + c).astype(np.float32)
    grid = VectorGrid(np.array(origin), np.eye(3), np.array(spacing), vectors)
    return grid, g, c


def deformable(items, own=A, name="dir"):
    return DeformableRegistration(Path(f"{name}.dcm"), uid(name), own, tuple(items))


def test_deformable_maps_registered_points_into_the_source():
    grid, g, c = linear_grid()
    pre = rigid_matrix((0, 0, 2), (1, 0, 0))
    post = rigid_matrix((1, 0, 0), (0, 3, 0))
    reg = deformable([DeformableItem(1, B, pre, MatrixType.RIGID, post, MatrixType.RIGID, grid)])
    mapping = find_registration([reg], A, B)
    assert isinstance(mapping, DeformableMapping)
    r = np.array([[0.0, 0.0, 0.0], [5.0, 7.0, -3.0], [-20.0, 20.0, 10.0]])
    expected = transform(post, transform(pre, r) + (r @ g.T + c))  # s = Mpost (Mpre r + D(r))
    assert np.allclose(mapping.map_points(r), expected, atol=1e-5)
    # off the grid: not mapped
    assert np.isnan(mapping.map_points([500.0, 0.0, 0.0])).all()


def test_deformation_is_not_inverted():
    grid, _, _ = linear_grid()
    reg = deformable([DeformableItem(1, B, grid=grid)])
    with pytest.raises(RegistrationError) as info:
        find_registration([reg], B, A, from_label="current course", to_label="prior course")
    assert "inverse of the deformation" in str(info.value)


def test_deformable_item_without_grid_is_a_matrix_both_ways():
    pre = rigid_matrix((0, 2, 0), (4, 4, 4))
    reg = deformable([DeformableItem(1, B, pre, MatrixType.RIGID)])
    forward = find_registration([reg], A, B)
    backward = find_registration([reg], B, A)
    assert isinstance(forward, MatrixMapping) and isinstance(backward, MatrixMapping)
    assert np.allclose(forward.map_points(POINTS), transform(pre, POINTS))
    assert np.allclose(backward.map_points(transform(pre, POINTS)), POINTS, atol=1e-9)


def test_deformable_through_a_matrix_item_into_the_registered_frame():
    # C -> R by an invertible item, then R -> B through the grid
    grid, g, c = linear_grid()
    r_to_c = rigid_matrix((0, 0, 5), (2, 0, 0))
    reg = deformable(
        [DeformableItem(1, C, r_to_c, MatrixType.RIGID), DeformableItem(2, B, grid=grid)], own=R
    )
    mapping = find_registration([reg], C, B)
    p_c = np.array([[1.0, 2.0, 3.0]])
    r = transform(np.linalg.inv(r_to_c), p_c)
    assert np.allclose(mapping.map_points(p_c), r + (r @ g.T + c), atol=1e-5)


def test_rigid_and_deformable_linking_the_same_frames_is_a_choice_for_the_user():
    grid, _, _ = linear_grid()
    with pytest.raises(RegistrationError, match="not all of them matrices"):
        find_registration(
            [rigid(A, [(B, B_TO_A)], "rigid"), deformable([DeformableItem(1, B, grid=grid)])], A, B
        )


def test_vector_grid_interpolation_edges_and_undefined_vectors():
    grid, g, c = linear_grid()
    # exact for a linear field anywhere on the grid, including its last voxel centres
    corner = np.array([-20.0 + 50.0, -20.0 + 40.0, -20.0 + 30.0])
    inside = np.array([[-20.0, -20.0, -20.0], corner, [3.3, 4.4, 5.5]])
    assert np.allclose(grid.displacement_mm(inside), inside @ g.T + c, atol=1e-5)
    assert np.isnan(grid.displacement_mm(corner + np.array([0.1, 0, 0]))).all()
    assert np.isnan(grid.displacement_mm([-20.1, 0.0, 0.0])).all()
    # an undefined vector spoils only the points it contributes to
    vectors = grid.vectors_mm.copy()
    vectors[1, 1, 1] = np.nan
    holed = VectorGrid(grid.origin_mm, grid.axes, grid.spacing_mm, vectors)
    assert np.isnan(
        holed.displacement_mm([-5.0, -5.0, -5.0])
    ).all()  # between nodes (1,1,1) and (0,0,0)
    node = np.array(
        [-20.0 + 20.0, -20.0 + 20.0, -20.0 + 20.0]
    )  # node (2, 2, 2): weight 0 for (1,1,1)
    assert np.allclose(holed.displacement_mm(node), node @ g.T + c, atol=1e-5)
    # shape is kept
    assert grid.displacement_mm(np.zeros((2, 3, 3))).shape == (2, 3, 3)


def test_vector_grid_with_oblique_axes_and_one_plane():
    # a single-plane grid whose rows run along +y and columns along -x
    axes = np.column_stack([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    vectors = np.zeros((1, 3, 4, 3), dtype=np.float32)
    vectors[0, :, :, 0] = np.arange(4)[None, :]  # x offset = column index
    vectors[0, :, :, 1] = np.arange(3)[:, None] * 10.0  # y offset = 10 * row index
    grid = VectorGrid(np.array([0.0, 0.0, 5.0]), axes, np.array([2.0, 3.0, 1.0]), vectors)
    # point (x, y, z): column index = y / 2, row index = -x / 3
    p = np.array([[-1.5, 3.0, 5.0]])
    assert np.allclose(grid.displacement_mm(p), [[1.5, 5.0, 0.0]], atol=1e-6)
    assert np.isnan(grid.displacement_mm([[-1.5, 3.0, 5.5]])).all()  # off the single plane
