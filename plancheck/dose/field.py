"""Dose fields: a sum of plan parts, evaluated point by point where the DVH engine samples.

A :class:`DoseField` is what a metric reads: physical dose, EQD2 or BED of
one plan, of a course, or (re-irradiation) of a course and prior courses on
other frames of reference. It is a sum of :class:`Contribution` s. Each
contribution is the physical dose grid of one plan part (a plan, or one
fraction group of it, with its fraction count), and at a point ``p`` it gives

    ``weight · f(D(mapping(p)))``

* ``mapping`` takes patient coordinates of the reference frame (the frame
  of the grid the structures are sampled on) to patient coordinates of the
  contribution's grid: the identity by default, a rigid 4×4 matrix
  (:class:`RigidMapping`, e.g. from a DICOM Spatial Registration), or any
  object with ``apply``/``jacobian`` (a deformable vector field);
* ``D`` is the contribution grid's trilinear interpolation in its own frame
  (``DoseGrid.axes``, :mod:`plancheck.dose.trilinear`);
* ``f`` converts the part's physical dose to the field's quantity with the
  part's own fraction count (:func:`plancheck.dose.biology.conversion_for`);
* ``weight`` scales the converted dose (1; a stated recovery discount of a
  prior course would be below 1).

The field's gradient at ``p`` follows by the chain rule,
``Σ weight_i f_i'(D_i) J_iᵀ ∇D_i`` with ``J_i`` the Jacobian of the map from
the reference grid's frame to the contribution grid's frame. Where a
contribution's grid does not reach, the field is unknown (never 0): the DVH
engine leaves such points out of the curve and counts their volume, per
contribution.

The conversion is made at each point and then summed: never on a grid that
is then interpolated (the LQ conversions are convex, so converting grid
values first would overstate near-maximum doses).

:func:`plancheck.dose.course_sum.sum_course` still makes a summed *grid*, for
writing an RTDOSE; metrics never use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from plancheck.dose.biology import LqConversion, conversion_for
from plancheck.dose.trilinear import (
    CellCorners,
    box_bounds,
    gather_corners,
    grid_axes,
    interpolate,
    locate,
)
from plancheck.dvh.metric import PHYSICAL, DoseKind, DoseQuantity
from plancheck.model import DoseGrid

__all__ = [
    "Contribution",
    "DoseField",
    "FieldSamples",
    "PointMapping",
    "RigidMapping",
    "physical_field",
]

FloatArray = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class PointMapping(Protocol):
    """Maps patient coordinates of the reference frame to those of a contribution's grid."""

    def apply(self, points_mm: FloatArray) -> FloatArray:
        """``(n, 3)`` points (x, y, z) in mm to ``(n, 3)`` points."""
        ...

    def jacobian(self, points_mm: FloatArray) -> FloatArray:
        """``(3, 3)`` (one for all points) or ``(n, 3, 3)``: d(mapped)/d(point)."""
        ...


@dataclass(frozen=True, eq=False)
class RigidMapping:
    """``q = R p + t`` from a 4×4 homogeneous matrix (patient coordinates, mm).

    ``description`` says where it came from (a registration file, "identity").
    """

    matrix: FloatArray
    description: str = ""

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError("a rigid mapping needs a finite 4x4 matrix")
        if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
            raise ValueError("the last row of a 4x4 mapping must be (0, 0, 0, 1)")
        object.__setattr__(self, "matrix", m)

    def apply(self, points_mm: FloatArray) -> FloatArray:
        p = np.asarray(points_mm, dtype=np.float64)
        return _affine(p, self.matrix[:3, :3], self.matrix[:3, 3])

    def jacobian(self, points_mm: FloatArray) -> FloatArray:
        return np.asarray(self.matrix[:3, :3])


@dataclass(frozen=True, eq=False)
class Contribution:
    """One plan part's physical dose in a field (see the module docstring).

    Parameters
    ----------
    dose : DoseGrid
        Physical dose in Gy of the part over all its fractions.
    n_fractions : int or None
        Fraction count of the part (needed for EQD2/BED only).
    label : str
        Which plan (and part) this is, for reports ("SIB 30/40", "prior: PLAN1").
    mapping : PointMapping, optional
        Reference-frame patient coordinates to this grid's; identity when None.
    weight : float
        Factor on the converted dose (1).
    """

    dose: DoseGrid
    n_fractions: int | None
    label: str
    mapping: PointMapping | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (self.weight > 0 and np.isfinite(self.weight)):
            raise ValueError(f"contribution weight must be positive, got {self.weight}")


@dataclass(frozen=True, eq=False)
class DoseField:
    """A dose quantity as a sum of contributions, each converted per point."""

    contributions: tuple[Contribution, ...]
    quantity: DoseQuantity = PHYSICAL
    _conversions: tuple[LqConversion, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.contributions:
            raise ValueError("a dose field needs at least one contribution")
        conv = tuple(conversion_for(self.quantity, c.n_fractions) for c in self.contributions)
        object.__setattr__(self, "_conversions", conv)

    @property
    def conversions(self) -> tuple[LqConversion, ...]:
        return self._conversions

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.contributions)

    @property
    def is_physical(self) -> bool:
        return self.quantity.kind is DoseKind.PHYSICAL

    def evaluate(self, points_mm: npt.ArrayLike) -> FieldSamples:
        """The field at ``(n, 3)`` patient points (x, y, z), gradient in patient axes.

        For scripts and tests; the DVH engine evaluates in a grid's frame
        through :meth:`bind`.
        """
        p = np.atleast_2d(np.asarray(points_mm, dtype=np.float64))
        bound = self.bind(np.eye(3))
        return bound.at(p[:, 2], p[:, 1], p[:, 0])

    def bind(self, reference_axes: FloatArray, reference: DoseGrid | None = None) -> BoundField:
        """The field evaluated at points given in a reference grid's frame (``axes``).

        Contributions whose grid is ``reference`` itself (same points and
        axes, no mapping) can take the engine's cell indices directly.
        """
        return BoundField(self, np.asarray(reference_axes, dtype=np.float64), reference)


def physical_field(contribution: Contribution) -> DoseField:
    """The physical dose of one contribution, as a field."""
    return DoseField((contribution,), PHYSICAL)


@dataclass(frozen=True, eq=False)
class FieldSamples:
    """A field at sample points.

    ``dose_gy`` and the gradient (``grad_z``, ``grad_y``, ``grad_x``, Gy/mm,
    along the axes of the frame the points were given in) are valid where
    ``covered``; ``uncovered[i]`` marks the points contribution ``i`` does not
    reach. ``upper_gy``/``lower_gy`` bound the field over each point's
    reference cell (from the grid values around it, used to find the
    maximum; exact bounds for contributions on the reference grid).
    ``curvature`` lists, for each converted contribution, ``weight · b`` (the
    quadratic coefficient of its conversion) and its physical dose gradient
    (z, y, x): over a box, such a contribution's mean exceeds its value at the
    centre by ``weight · b`` times the variance of its physical dose there.
    """

    dose_gy: FloatArray
    grad_z: FloatArray
    grad_y: FloatArray
    grad_x: FloatArray
    covered: BoolArray
    uncovered: tuple[BoolArray, ...]
    upper_gy: FloatArray
    lower_gy: FloatArray
    curvature: tuple[tuple[float, FloatArray, FloatArray, FloatArray], ...] = ()


@dataclass(frozen=True, eq=False)
class ReferenceCells:
    """Where sample points lie in the reference grid: cell indices, local coordinates, slopes."""

    k: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
    i: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
    j: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
    tz: FloatArray
    ty: FloatArray
    tx: FloatArray
    sz: FloatArray | float
    sy: FloatArray | float
    sx: FloatArray | float
    covered: BoolArray


class BoundField:
    """A :class:`DoseField` ready to evaluate at points in a reference grid's frame."""

    def __init__(self, fld: DoseField, reference_axes: FloatArray, reference: DoseGrid | None):
        self.field = fld
        self.reference_axes = reference_axes
        self._parts: list[_BoundContribution] = []
        for c, conv in zip(fld.contributions, fld.conversions, strict=True):
            self._parts.append(_BoundContribution(c, conv, reference_axes, reference))

    @property
    def n_contributions(self) -> int:
        return len(self._parts)

    def on_reference(self, index: int) -> bool:
        return self._parts[index].on_reference

    def at(
        self,
        pz: FloatArray,
        py: FloatArray,
        px: FloatArray,
        cells: ReferenceCells | None = None,
        box_half_mm: tuple[FloatArray, FloatArray, FloatArray] | None = None,
    ) -> FieldSamples:
        """The field at points (z, y, x mm in the reference frame); ``cells`` when known.

        With ``box_half_mm`` (half sizes of a box around each point), a
        contribution on another grid than the reference gives its mean over the
        box, from its values at the centres of the box's eight octants: its
        interpolation changes slope across its own cells inside the box, so its
        value at the centre is not its mean there (a second-order error that
        the octants reduce fourfold).
        """
        n = pz.size
        total = np.zeros(n)
        gz = np.zeros(n)
        gy = np.zeros(n)
        gx = np.zeros(n)
        upper = np.zeros(n)
        lower = np.zeros(n)
        covered = np.ones(n, dtype=bool)
        uncovered = []
        curvature = []
        for part in self._parts:
            corners: CellCorners | _Range
            if box_half_mm is not None and not part.on_reference:
                d, dz, dy, dx, cov, corners = part.sample_box(pz, py, px, box_half_mm)
            else:
                d, dz, dy, dx, cov, corners = part.sample(pz, py, px, cells)
            conv = part.conversion
            w = part.contribution.weight
            if conv.is_identity and w == 1.0:
                total += d
                gz += dz
                gy += dy
                gx += dx
                upper += corners.max()
                lower += corners.min()
            else:
                slope = w * conv.slope(d)
                total += w * conv(d)
                gz += slope * dz
                gy += slope * dy
                gx += slope * dx
                upper += w * conv(np.maximum(corners.max(), 0.0))
                lower += w * conv(np.maximum(corners.min(), 0.0))
                if conv.quadratic != 0.0:
                    curvature.append((w * conv.quadratic, dz, dy, dx))
            covered &= cov
            uncovered.append(~cov)
        return FieldSamples(total, gz, gy, gx, covered, tuple(uncovered), upper, lower, tuple(curvature))

    def partly_covered(
        self, pz: FloatArray, py: FloatArray, px: FloatArray, half_mm: tuple[FloatArray, FloatArray, FloatArray]
    ) -> tuple[BoolArray, BoolArray, BoolArray]:
        """Per axis (z, y, x): boxes of these half sizes that some contribution covers only in part.

        Tested at the box's corners for contributions not on the reference grid
        (boxes never straddle the reference grid's own coverage edge). A box
        whose corners differ in coverage along an axis is flagged along it.
        """
        n = pz.size
        mixed = [np.zeros(n, dtype=bool) for _ in range(3)]
        hz, hy, hx = half_mm
        for part in self._parts:
            if part.on_reference:
                continue
            for axis, (dz, dy, dx) in enumerate(((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))):
                lo = part.covered(pz - dz * hz, py - dy * hy, px - dx * hx)
                hi = part.covered(pz + dz * hz, py + dy * hy, px + dx * hx)
                mixed[axis] |= lo != hi
        return mixed[0], mixed[1], mixed[2]

    def bounds(
        self,
        pz: FloatArray,
        py: FloatArray,
        px: FloatArray,
        cells: ReferenceCells,
        reach_mm: tuple[FloatArray, FloatArray, FloatArray],
    ) -> tuple[FloatArray, FloatArray]:
        """Upper and lower bounds of the field within ``reach_mm`` (z, y, x) of each point.

        Exact bounds of the trilinear dose over the box for contributions on the
        reference grid (the box lies in one of its cells); for others, the range
        of the grid values of the cells holding the box's centre and corners
        (the box may span several of their cells).
        """
        n = pz.size
        upper = np.zeros(n)
        lower = np.zeros(n)
        for part in self._parts:
            d, dz, dy, dx, _, corners = part.sample(pz, py, px, cells)
            if part.on_reference:
                up, lo = box_bounds(corners, d, (dz, dy, dx), (cells.sz, cells.sy, cells.sx), reach_mm)
            else:
                up, lo = corners.max(), corners.min()
                rz, ry, rx = reach_mm
                for oz in (-1.0, 1.0):
                    for oy in (-1.0, 1.0):
                        for ox in (-1.0, 1.0):
                            c = part.sample(pz + oz * rz, py + oy * ry, px + ox * rx, None)[5]
                            up = np.maximum(up, c.max())
                            lo = np.minimum(lo, c.min())
            conv = part.conversion
            w = part.contribution.weight
            if conv.is_identity and w == 1.0:
                upper += up
                lower += lo
            else:
                upper += w * conv(np.maximum(up, 0.0))
                lower += w * conv(np.maximum(lo, 0.0))
        return upper, lower


class _BoundContribution:
    """One contribution with its map from the reference grid's frame to its own."""

    def __init__(
        self,
        c: Contribution,
        conversion: LqConversion,
        reference_axes: FloatArray,
        reference: DoseGrid | None,
    ):
        self.contribution = c
        self.conversion = conversion
        g = c.dose
        self.grid = g
        self.axes = grid_axes(g)
        self.flat = np.ascontiguousarray(g.dose_gy).ravel()
        self.on_reference = (
            c.mapping is None and reference is not None and (g is reference or g.same_points_as(reference))
        )
        self.mapping = c.mapping
        # reference grid frame -> patient -> (mapping) -> this grid's frame, when affine
        if c.mapping is None:
            self.linear: FloatArray | None = g.axes.T @ reference_axes
            self.offset: FloatArray | None = np.zeros(3)
        elif isinstance(c.mapping, RigidMapping):
            m = c.mapping.matrix
            self.linear = g.axes.T @ m[:3, :3] @ reference_axes
            self.offset = g.axes.T @ m[:3, 3]
        else:
            self.linear = None
            self.offset = None
        self.reference_axes = reference_axes
        self.identity = (
            self.linear is not None
            and self.offset is not None
            and bool(np.allclose(self.linear, np.eye(3), atol=1e-12))
            and bool(np.allclose(self.offset, 0.0, atol=1e-12))
        )

    def _to_grid(self, pz: FloatArray, py: FloatArray, px: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        if self.identity:
            return pz, py, px
        if self.linear is not None and self.offset is not None:
            lin, off = self.linear, self.offset
            return (
                lin[2, 0] * px + lin[2, 1] * py + lin[2, 2] * pz + off[2],
                lin[1, 0] * px + lin[1, 1] * py + lin[1, 2] * pz + off[1],
                lin[0, 0] * px + lin[0, 1] * py + lin[0, 2] * pz + off[0],
            )
        assert self.mapping is not None
        p = _affine(np.column_stack([px, py, pz]), self.reference_axes, np.zeros(3))
        q = _affine(np.asarray(self.mapping.apply(p), dtype=np.float64), self.grid.axes.T, np.zeros(3))
        return q[:, 2], q[:, 1], q[:, 0]

    def sample_box(
        self, pz: FloatArray, py: FloatArray, px: FloatArray, half_mm: tuple[FloatArray, FloatArray, FloatArray]
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, _Range]:
        """:meth:`sample` averaged over the centres of each box's eight octants (see ``BoundField.at``).

        Covered where the box's centre is; the corners returned bound the
        grid values of every cell the octant centres fall in.
        """
        hz, hy, hx = (0.5 * np.asarray(h) for h in half_mm)
        _, _, _, _, cov, corners = self.sample(pz, py, px, None)
        total = np.zeros(pz.shape)
        tz = np.zeros(pz.shape)
        ty = np.zeros(pz.shape)
        tx = np.zeros(pz.shape)
        up, lo = corners.max(), corners.min()
        for oz in (-1.0, 1.0):
            for oy in (-1.0, 1.0):
                for ox in (-1.0, 1.0):
                    v, vz, vy, vx, _, c = self.sample(pz + oz * hz, py + oy * hy, px + ox * hx, None)
                    total += v
                    tz += vz
                    ty += vy
                    tx += vx
                    up = np.maximum(up, c.max())
                    lo = np.minimum(lo, c.min())
        return total / 8.0, tz / 8.0, ty / 8.0, tx / 8.0, cov, _Range(up, lo)

    def covered(self, pz: FloatArray, py: FloatArray, px: FloatArray) -> BoolArray:
        """Whether this contribution's grid covers the points (reference frame)."""
        qz, qy, qx = self._to_grid(pz, py, px)
        ok = np.ones(pz.shape, dtype=bool)
        for axis, q in zip(self.axes, (qz, qy, qx), strict=True):
            ok &= (q >= axis.lower_mm - 1e-9) & (q <= axis.upper_mm + 1e-9)
        return ok

    def sample(
        self, pz: FloatArray, py: FloatArray, px: FloatArray, cells: ReferenceCells | None
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, CellCorners]:
        """Physical dose, its gradient in the reference frame, coverage and cell corners."""
        if self.on_reference and cells is not None:
            corners = gather_corners(self.flat, self.grid.shape, cells.k, cells.i, cells.j)
            d, gz, gy, gx = interpolate(corners, cells.tz, cells.ty, cells.tx, cells.sz, cells.sy, cells.sx)
            return d, gz, gy, gx, cells.covered, corners
        if self.identity:
            qz, qy, qx = pz, py, px
            jac: FloatArray | None = None
        elif self.linear is not None and self.offset is not None:
            lin, off = self.linear, self.offset
            qx = lin[0, 0] * px + lin[0, 1] * py + lin[0, 2] * pz + off[0]
            qy = lin[1, 0] * px + lin[1, 1] * py + lin[1, 2] * pz + off[1]
            qz = lin[2, 0] * px + lin[2, 1] * py + lin[2, 2] * pz + off[2]
            jac = self.linear
        else:
            assert self.mapping is not None
            p = _affine(np.column_stack([px, py, pz]), self.reference_axes, np.zeros(3))
            mapped = np.asarray(self.mapping.apply(p), dtype=np.float64)
            q = _affine(mapped, self.grid.axes.T, np.zeros(3))
            qx, qy, qz = q[:, 0], q[:, 1], q[:, 2]
            j = np.asarray(self.mapping.jacobian(p), dtype=np.float64)
            jac = self.grid.axes.T @ j @ self.reference_axes if j.ndim == 2 else np.einsum(
                "ab,nbc,cd->nad", self.grid.axes.T, j, self.reference_axes
            )
        az, ay, ax = self.axes
        kz0, kz1, tz, sz, cz = locate(az, qz)
        ky0, ky1, ty, sy, cy = locate(ay, qy)
        kx0, kx1, tx, sx, cx = locate(ax, qx)
        corners = gather_corners(self.flat, self.grid.shape, (kz0, kz1), (ky0, ky1), (kx0, kx1))
        d, gz, gy, gx = interpolate(corners, tz, ty, tx, sz, sy, sx)
        if jac is not None:
            # gradient in the reference frame: J^T grad_q (vectors ordered x, y, z)
            if jac.ndim == 2:
                rx = jac[0, 0] * gx + jac[1, 0] * gy + jac[2, 0] * gz
                ry = jac[0, 1] * gx + jac[1, 1] * gy + jac[2, 1] * gz
                rz = jac[0, 2] * gx + jac[1, 2] * gy + jac[2, 2] * gz
            else:
                rx = jac[:, 0, 0] * gx + jac[:, 1, 0] * gy + jac[:, 2, 0] * gz
                ry = jac[:, 0, 1] * gx + jac[:, 1, 1] * gy + jac[:, 2, 1] * gz
                rz = jac[:, 0, 2] * gx + jac[:, 1, 2] * gy + jac[:, 2, 2] * gz
            gx, gy, gz = rx, ry, rz
        return d, gz, gy, gx, cz & cy & cx, corners


class _Range:
    """Stands in for :class:`CellCorners` where only the largest and smallest value are kept."""

    def __init__(self, upper: FloatArray, lower: FloatArray):
        self._upper = upper
        self._lower = lower

    def max(self) -> FloatArray:
        return self._upper

    def min(self) -> FloatArray:
        return self._lower


def _affine(points: FloatArray, linear: FloatArray, offset: FloatArray) -> FloatArray:
    """``points @ linear.T + offset`` for (n, 3) points, written out (no BLAS call per batch)."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    return np.column_stack([linear[r, 0] * x + linear[r, 1] * y + linear[r, 2] * z + offset[r] for r in range(3)])
