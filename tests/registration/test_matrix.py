"""4×4 matrices: order of composition (PS3.3 C.20.2.1.1) and the checks per matrix type."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plancheck.registration.matrix import (
    ORTHONORMAL_TOLERANCE,
    MatrixType,
    apply_matrix,
    compose,
    least_constrained,
    matrix_problem,
    rigid_matrix,
    rotation_angle_deg,
)


def test_rigid_matrix_single_axis_rotations_by_hand():
    # 90° about z takes +x to +y (right-handed); about x takes +y to +z; about y takes +z to +x
    assert apply_matrix(rigid_matrix((0, 0, 90)), [1, 0, 0]) == pytest.approx([0, 1, 0], abs=1e-12)
    assert apply_matrix(rigid_matrix((90, 0, 0)), [0, 1, 0]) == pytest.approx([0, 0, 1], abs=1e-12)
    assert apply_matrix(rigid_matrix((0, 90, 0)), [0, 0, 1]) == pytest.approx([1, 0, 0], abs=1e-12)
    m = rigid_matrix((0, 0, 0), (1.5, -2.0, 3.0))
    assert np.allclose(apply_matrix(m, [[0, 0, 0], [1, 1, 1]]), [[1.5, -2, 3], [2.5, -1, 4]])


def test_rigid_matrix_is_a_rotation_of_the_stated_angle():
    m = rigid_matrix((3.0, -2.0, 4.0), (10, 20, 30))
    r = m[:3, :3]
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-14)
    assert np.linalg.det(r) == pytest.approx(1.0, abs=1e-14)
    assert matrix_problem(m, MatrixType.RIGID) is None
    assert rotation_angle_deg(rigid_matrix((0, 0, 7.5))) == pytest.approx(7.5, abs=1e-9)
    assert rotation_angle_deg(rigid_matrix((0, 0, 0), (5, 5, 5))) == 0.0


def test_compose_applies_the_first_item_first():
    # PS3.3 Equation C.20.2-2: M = M3 · M2 · M1 — a translation then a rotation
    translate = rigid_matrix((0, 0, 0), (10.0, 0.0, 0.0))
    rotate = rigid_matrix((0, 0, 90))
    m = compose([translate, rotate])
    # (0, 0, 0) -> translated to (10, 0, 0) -> rotated by 90° about z to (0, 10, 0)
    assert apply_matrix(m, [0.0, 0.0, 0.0]) == pytest.approx([0.0, 10.0, 0.0], abs=1e-12)
    assert np.allclose(compose([]), np.eye(4))


def test_least_constrained_type():
    assert least_constrained([]) is MatrixType.RIGID
    assert least_constrained([MatrixType.RIGID, MatrixType.AFFINE]) is MatrixType.AFFINE
    assert least_constrained([MatrixType.RIGID_SCALE, MatrixType.RIGID]) is MatrixType.RIGID_SCALE


def _scaled(sx: float, sy: float, sz: float) -> np.ndarray:
    m = rigid_matrix((0, 0, 30), (1, 2, 3))
    m[:3, :3] = m[:3, :3] @ np.diag([sx, sy, sz])
    return m


@pytest.mark.parametrize(
    ("matrix", "matrix_type", "expected"),
    [
        (np.eye(4).ravel()[:15], MatrixType.RIGID, "15 values"),
        (np.where(np.eye(4) == 1, np.nan, 0.0), MatrixType.AFFINE, "not a finite number"),
        (rigid_matrix((0, 0, 0), (5, 6, 7)).T, MatrixType.RIGID, "transposed"),
        (np.diag([1.0, -1.0, 1.0, 1.0]), MatrixType.RIGID, "mirrors"),
        (np.diag([-1.0, 1.0, 1.0, 1.0]), MatrixType.AFFINE, "mirrors"),
        (np.diag([1.0, 1.0, 0.0, 1.0]), MatrixType.AFFINE, "singular"),
        (_scaled(1.02, 1.0, 1.0), MatrixType.RIGID, "labelled RIGID"),
        (_scaled(1 + 3 * ORTHONORMAL_TOLERANCE, 1, 1), MatrixType.RIGID, "labelled RIGID"),
    ],
)
def test_problems_are_named(matrix, matrix_type, expected):
    problem = matrix_problem(matrix, matrix_type)
    assert problem is not None and expected in problem


def test_scaling_needs_rigid_scale_and_shear_needs_affine():
    scaled = _scaled(1.02, 0.97, 1.1)
    assert matrix_problem(scaled, MatrixType.RIGID_SCALE) is None
    assert matrix_problem(scaled, MatrixType.AFFINE) is None
    shear = np.eye(4)
    shear[0, 1] = 0.2
    problem = matrix_problem(shear, MatrixType.RIGID_SCALE)
    assert problem is not None and "AFFINE" in problem
    assert matrix_problem(shear, MatrixType.AFFINE) is None


def test_rounding_of_written_matrices_is_tolerated():
    # a rotation written with 6 significant digits, as some systems export it
    m = rigid_matrix((1.0, 2.0, 3.0), (100.0, -50.0, 25.0))
    rounded = np.array([float(f"{v:.6g}") for v in m.ravel()]).reshape(4, 4)
    assert matrix_problem(rounded, MatrixType.RIGID) is None
    # ... while a scale error ten times the tolerance is not
    angle = math.radians(5)
    bad = np.eye(4)
    bad[:2, :2] = (1 + 10 * ORTHONORMAL_TOLERANCE) * np.array(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    )
    assert matrix_problem(bad, MatrixType.RIGID) is not None
