"""4×4 homogeneous transformation matrices between frames of reference.

DICOM PS3.3 C.20.2.1.1: a Frame of Reference Transformation Matrix ``ᴬM_B``
transforms a point ``(x, y, z)`` of RCS B into RCS A as
``(x_A, y_A, z_A, 1)ᵀ = ᴬM_B · (x_B, y_B, z_B, 1)ᵀ``; its 16 values are listed
row-major. When a registration is given as several matrices (items of the
Matrix Sequence), they apply in item order: the first item's matrix acts
first, ``M = M_n ··· M₂ · M₁`` (PS3.3 Equation C.20.2-2).

PS3.3 C.20.2.1.2 defines three types:

* ``RIGID``: rotation and translation only, the 3×3 part orthonormal;
* ``RIGID_SCALE``: rotation, translation and scaling, the 3×3 part
  orthogonal (columns mutually orthogonal);
* ``AFFINE``: anything whose last row is ``(0, 0, 0, 1)``.

:func:`matrix_problem` checks a matrix against its type, with the tolerances
stated below. plancheck also refuses matrices that mirror (determinant of the
3×3 part not positive: two images of one patient are never mirror images, so
such a matrix is an error, for example a flipped left-right axis) and
matrices that cannot be inverted.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "BOTTOM_ROW_TOLERANCE",
    "ORTHONORMAL_TOLERANCE",
    "MatrixType",
    "apply_matrix",
    "compose",
    "least_constrained",
    "matrix_problem",
    "rigid_matrix",
    "rotation_angle_deg",
]

FloatArray = npt.NDArray[np.float64]

# Largest |RᵀR − I| (RIGID) or relative off-diagonal of RᵀR (RIGID_SCALE), and
# largest |det R − 1| (RIGID), accepted. A scale error of 1e-4 moves a point
# 300 mm from the origin by 0.03 mm; matrices written with 6 significant digits
# (5e-7 per element) pass with a wide margin.
ORTHONORMAL_TOLERANCE = 1e-4
# Largest deviation of the last row from (0, 0, 0, 1) accepted.
BOTTOM_ROW_TOLERANCE = 1e-6
# Smallest |det R| accepted (a matrix nearer singular cannot be inverted reliably).
SINGULAR_DETERMINANT = 1e-6


class MatrixType(str, enum.Enum):
    """FrameOfReferenceTransformationMatrixType (PS3.3 C.20.2.1.2)."""

    RIGID = "RIGID"
    RIGID_SCALE = "RIGID_SCALE"
    AFFINE = "AFFINE"

    @property
    def freedom(self) -> int:
        """Degrees of freedom (6, 9 or 12): larger is less constrained."""
        return {"RIGID": 6, "RIGID_SCALE": 9, "AFFINE": 12}[self.value]


def least_constrained(types: Iterable[MatrixType]) -> MatrixType:
    """The type of a product of matrices of ``types`` (RIGID for none)."""
    return max(types, key=lambda t: t.freedom, default=MatrixType.RIGID)


def matrix_problem(matrix: npt.ArrayLike, matrix_type: MatrixType) -> str | None:
    """Why ``matrix`` is not a usable transform of ``matrix_type``; None when it is.

    Parameters
    ----------
    matrix : array_like, 16 values or shape (4, 4)
        The matrix, row-major.
    matrix_type : MatrixType
        Its stated type.

    Returns
    -------
    str or None
        A sentence naming what is wrong (values, deviation and tolerance).
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.size != 16:
        return f"it has {m.size} values; a 4×4 matrix has 16"
    m = m.reshape(4, 4)
    if not np.all(np.isfinite(m)):
        return "it holds a value that is not a finite number"
    bottom = m[3]
    if float(np.max(np.abs(bottom - (0.0, 0.0, 0.0, 1.0)))) > BOTTOM_ROW_TOLERANCE:
        return (
            f"its last row is {_fmt(bottom)}; a homogeneous transform's last row is "
            "[0, 0, 0, 1] (is the matrix transposed?)"
        )
    r = m[:3, :3]
    det = float(np.linalg.det(r))
    if abs(det) <= SINGULAR_DETERMINANT:
        return f"its 3×3 part is singular (determinant {det:.3g}): it cannot be inverted"
    if det < 0:
        return (
            f"its 3×3 part has a negative determinant ({det:.6g}): it mirrors space, which "
            "no registration of two images of one patient does (a flipped axis?)"
        )
    gram = r.T @ r
    if matrix_type is MatrixType.RIGID:
        deviation = float(np.max(np.abs(gram - np.eye(3))))
        if deviation > ORTHONORMAL_TOLERANCE or abs(det - 1.0) > ORTHONORMAL_TOLERANCE:
            return (
                f"it is labelled RIGID but its 3×3 part is not a rotation: max |RᵀR − I| = "
                f"{deviation:.3g} and det R = {det:.8g} (tolerance {ORTHONORMAL_TOLERANCE:g}); "
                "a scaling or shearing registration must be labelled RIGID_SCALE or AFFINE"
            )
    elif matrix_type is MatrixType.RIGID_SCALE:
        scale = np.sqrt(np.diag(gram))
        off = gram / np.outer(scale, scale) - np.eye(3)
        deviation = float(np.max(np.abs(off)))
        if deviation > ORTHONORMAL_TOLERANCE:
            return (
                f"it is labelled RIGID_SCALE but its columns are not orthogonal (largest "
                f"normalised off-diagonal of RᵀR {deviation:.3g}, tolerance "
                f"{ORTHONORMAL_TOLERANCE:g}); a shearing registration must be labelled AFFINE"
            )
    return None


def compose(matrices: Sequence[npt.ArrayLike]) -> FloatArray:
    """The product of matrices applied in order: first item first (``M_n ··· M₁``)."""
    out = np.eye(4)
    for m in matrices:
        out = np.asarray(m, dtype=np.float64).reshape(4, 4) @ out
    return out


def apply_matrix(matrix: npt.ArrayLike, points_mm: npt.ArrayLike) -> FloatArray:
    """Transform points (…, 3) by a 4×4 homogeneous matrix; returns (…, 3)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
    p = np.asarray(points_mm, dtype=np.float64)
    if p.shape[-1:] != (3,):
        raise ValueError(f"points must have shape (..., 3), got {p.shape}")
    out = p @ m[:3, :3].T + m[:3, 3]
    return np.asarray(out, dtype=np.float64)


def rigid_matrix(
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
    translation_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> FloatArray:
    """A rigid 4×4 matrix: rotations about x, then y, then z (degrees), then a translation.

    ``p' = Rz · Ry · Rx · p + t``, each rotation right-handed about a fixed
    patient axis.
    """
    ax, ay, az = (math.radians(a) for a in rotation_deg)
    cx, sx, cy, sy, cz, sz = (
        math.cos(ax),
        math.sin(ax),
        math.cos(ay),
        math.sin(ay),
        math.cos(az),
        math.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rz @ ry @ rx
    m[:3, 3] = translation_mm
    return m


def rotation_angle_deg(matrix: npt.ArrayLike) -> float:
    """The angle (degrees) of the rotation in a rigid matrix (0 for a pure translation)."""
    r = np.asarray(matrix, dtype=np.float64).reshape(4, 4)[:3, :3]
    c = (float(np.trace(r)) - 1.0) / 2.0
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


def _fmt(values: npt.ArrayLike) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in np.asarray(values).ravel()) + "]"
