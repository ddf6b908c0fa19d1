"""A dense, independent DVH of a contour stack in a trilinear dose: the truth for large structures.

Nothing here uses plancheck's sampling, rasterisation, interpolation or
histogram code. The structure is the stack of right prisms its contours
define (each plane's contours, even-odd, extruded over the plane's slab; the
slab bounds are given by the caller, who takes them from the geometry
convention under test). The dose is the trilinear interpolant of the grid
points (scipy's ``RegularGridInterpolator``), with the edge value up to half a
spacing beyond the outer grid points and no dose beyond that.

* :func:`dense_samples`: the dose at one random point in each cube of a
  lattice of ``step_mm`` inside the stack (stratified sampling;
  point-in-polygon by matplotlib, even-odd by XOR of the contours), each
  point standing for its cube; the cubes that may hold the hottest few cc
  (or the hottest few percent) are sampled ``refine`` times finer (or half
  that), so near-maximum doses (D0.03cc) rest on thousands of points. Any
  dose function can stand in for the grid (:class:`FieldTruth`: a sum of
  plan parts on their own grids, converted per point).
* :func:`exact_max_gy`: the largest interpolated dose inside the stack. In one
  dose cell the trilinear field is linear along z, so over a slab its maximum
  lies on a slab bound or a dose frame; on such a plane it is bilinear per
  cell, without a strict interior maximum, so the maximum over a plane's
  region lies at a grid point inside the contours or on the contours. Grid
  points are evaluated exactly, and the contours every ``edge_step_mm`` and
  where they cross grid lines (kinks of the dose along them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.path import Path as MplPath
from scipy.interpolate import RegularGridInterpolator

from plancheck.model import DoseGrid, Structure


@dataclass(frozen=True)
class DenseDvh:
    """Doses and volumes (mm³) of dense sample points inside the stack (and in the grid)."""

    dose_gy: np.ndarray
    volume_mm3: np.ndarray
    stack_volume_cc: float  # the exact prism-stack volume (shoelace area x slab thickness)

    @property
    def volume_in_grid_cc(self) -> float:
        return float(self.volume_mm3.sum()) / 1000.0

    def dose_at_volume_gy(self, volume_cc: float) -> float:
        """Dose received by at least ``volume_cc`` (linear between sorted samples)."""
        order = np.argsort(self.dose_gy)[::-1]
        d = self.dose_gy[order]
        v = np.cumsum(self.volume_mm3[order]) / 1000.0
        return float(np.interp(volume_cc, v, d))

    def dose_at_percent_gy(self, percent: float) -> float:
        return self.dose_at_volume_gy(self.volume_in_grid_cc * percent / 100.0)

    @property
    def mean_gy(self) -> float:
        return float(np.dot(self.dose_gy, self.volume_mm3) / self.volume_mm3.sum())


def _inside(polygons, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd inclusion of points (x, y) in a plane's contours."""
    pts = np.column_stack([x, y])
    inside = np.zeros(x.size, dtype=bool)
    for p in polygons:
        if len(p) >= 3:
            inside ^= MplPath(np.asarray(p, dtype=np.float64)).contains_points(pts)
    return inside


def _area_mm2(polygons) -> float:
    """Even-odd area, for contours that are nested or disjoint (signed shoelace, alternating)."""
    total = 0.0
    for p in polygons:
        x, y = p[:, 0], p[:, 1]
        area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        depth = sum(
            1
            for q in polygons
            if q is not p and MplPath(np.asarray(q)).contains_point((float(x[0]), float(y[0])))
        )
        total += area if depth % 2 == 0 else -area
    return total


class Trilinear:
    """The grid's trilinear interpolant with the engine's coverage convention."""

    def __init__(self, grid: DoseGrid):
        self.grid = grid
        axes = (grid.z_mm, grid.y_mm, grid.x_mm)
        self._f = RegularGridInterpolator(axes, np.asarray(grid.dose_gy, dtype=np.float64))
        self._lo = []
        self._hi = []
        for a in axes:
            step_lo = a[1] - a[0] if a.size > 1 else 0.0
            step_hi = a[-1] - a[-2] if a.size > 1 else 0.0
            self._lo.append(a[0] - step_lo / 2)
            self._hi.append(a[-1] + step_hi / 2)
        self._axes = axes

    def covered(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        ok = np.ones(x.shape, dtype=bool)
        for v, lo, hi in zip((z, y, x), self._lo, self._hi, strict=True):
            ok &= (v >= lo - 1e-9) & (v <= hi + 1e-9)
        return ok

    def __call__(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        pts = [np.clip(v, a[0], a[-1]) for v, a in zip((z, y, x), self._axes, strict=True)]
        return self._f(np.column_stack(pts))


def dense_samples(
    structure: Structure,
    slabs: list[tuple[float, float]],
    grid: DoseGrid | None = None,
    step_mm: float = 1.0,
    refine: int = 8,
    refine_cc: float = 3.0,
    refine_share: float = 0.03,
    dose_fn=None,  # type: ignore[no-untyped-def]
    bound_fn=None,  # type: ignore[no-untyped-def]
    seed: int = 0,
) -> DenseDvh:
    """Dense samples of ``structure`` (slab bounds per plane) in a dose.

    The dose is ``grid``'s trilinear interpolant, or ``dose_fn(x, y, z)``
    (returning the dose and a covered mask) with ``bound_fn(x, y, z, half_xy,
    half_z)`` an upper bound of it over a box. Every cube of the coarse
    lattice whose bound reaches the hottest ``refine_cc`` is sampled
    ``refine`` times finer along each axis, and one reaching the hottest
    ``refine_share`` of the volume half as finely, whether its centre is
    inside the contours or not (its inside part then counts, so refining
    never biases the volume). Each point lies at a random place in its cube
    (stratified sampling, seeded): a lattice of cube centres would count a
    circle's area with an error of up to 1 % at 20 points across it (the
    Gauss circle problem), a random point per cube has no such bias.
    """
    rng = np.random.default_rng(seed)

    def jitter(v, half):  # type: ignore[no-untyped-def]
        return v + rng.uniform(-half, half, v.shape)

    if dose_fn is None:
        assert grid is not None
        f = Trilinear(grid)

        def dose_fn(x, y, z):  # type: ignore[no-untyped-def]
            ok = f.covered(x, y, z)
            out = np.full(x.shape, np.nan)
            out[ok] = f(x[ok], y[ok], z[ok])
            return out, ok

        bound_fn = _CellBound(grid)
    stack_mm3 = 0.0
    layers = []  # (plane, x, y, inside, z, dz) per layer of each plane: the whole bounding lattice
    for plane, (lo, hi) in zip(structure.planes, slabs, strict=True):
        stack_mm3 += _area_mm2(plane.polygons) * (hi - lo)
        allp = np.concatenate(plane.polygons)
        x0, y0 = np.floor(allp.min(axis=0) / step_mm) * step_mm - step_mm
        x1, y1 = np.ceil(allp.max(axis=0) / step_mm) * step_mm + step_mm
        xs = np.arange(x0 + step_mm / 2, x1, step_mm)
        ys = np.arange(y0 + step_mm / 2, y1, step_mm)
        gx, gy = np.meshgrid(xs, ys)
        gx, gy = gx.ravel(), gy.ravel()
        inside = _inside(plane.polygons, gx, gy)
        nz = max(1, int(np.ceil((hi - lo) / step_mm - 1e-9)))
        dz = (hi - lo) / nz
        for k in range(nz):
            layers.append((plane, gx, gy, inside, lo + (k + 0.5) * dz, dz))
    doses, vols = [], []
    jittered = []
    for plane, x, y, _, z, dz in layers:
        jx, jy, jz = jitter(x, step_mm / 2), jitter(y, step_mm / 2), jitter(np.full(x.shape, z), dz / 2)
        inside = _inside(plane.polygons, jx, jy)
        jittered.append((jx, jy, jz, inside))
        d, ok = dose_fn(jx[inside], jy[inside], jz[inside])
        doses.append(d[ok])
        vols.append(np.full(int(ok.sum()), step_mm * step_mm * dz))
    dose = np.concatenate(doses)
    vol = np.concatenate(vols)
    order = np.argsort(dose)[::-1]
    cum = np.cumsum(vol[order]) / 1000.0

    def threshold(volume_cc: float) -> float:
        n = int(np.searchsorted(cum, volume_cc)) + 1
        return float(dose[order[min(n, dose.size - 1)]])

    fine_at = threshold(refine_cc)
    half_at = min(fine_at, threshold(refine_share * cum[-1]))
    keep_d, keep_v = [], []
    for (plane, x, y, _, z, dz), (jx, jy, jz, inside) in zip(layers, jittered, strict=True):
        zz = np.full(x.shape, z)
        bound = bound_fn(x, y, zz, step_mm / 2, dz / 2)
        level = np.where(bound >= fine_at, refine, np.where(bound >= half_at, max(refine // 2, 1), 1))
        plain = inside & (level == 1)
        d, ok = dose_fn(jx[plain], jy[plain], jz[plain])
        keep_d.append(d[ok])
        keep_v.append(np.full(int(ok.sum()), step_mm * step_mm * dz))
        for r in np.unique(level[level > 1]):
            hot = level == r
            sub = (np.arange(r) + 0.5) / r - 0.5
            ox, oy, oz = np.meshgrid(sub * step_mm, sub * step_mm, sub * dz, indexing="ij")
            px = jitter((x[hot][:, None] + ox.ravel()[None, :]).ravel(), step_mm / (2 * r))
            py = jitter((y[hot][:, None] + oy.ravel()[None, :]).ravel(), step_mm / (2 * r))
            pz = jitter((zz[hot][:, None] + oz.ravel()[None, :]).ravel(), dz / (2 * r))
            ins = _inside(plane.polygons, px, py)
            d, ok = dose_fn(px[ins], py[ins], pz[ins])
            keep_d.append(d[ok])
            keep_v.append(np.full(int(ok.sum()), step_mm * step_mm * dz / r**3))
    return DenseDvh(np.concatenate(keep_d), np.concatenate(keep_v), stack_mm3 / 1000.0)


class _CellBound:
    """Upper bound of the trilinear dose over a box: the largest grid value of the cells it meets."""

    def __init__(self, grid: DoseGrid):
        d = np.asarray(grid.dose_gy, dtype=np.float64)
        for axis in range(3):
            if d.shape[axis] > 1:
                lo = np.take(d, range(d.shape[axis] - 1), axis=axis)
                hi = np.take(d, range(1, d.shape[axis]), axis=axis)
                d = np.maximum(lo, hi)
        self.cell_max = d  # (frames-1, rows-1, cols-1): max over each cell's corners
        self.axes = (grid.z_mm, grid.y_mm, grid.x_mm)

    def _range(self, v: np.ndarray, half: float, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = max(a.size - 1, 1)
        lo = np.clip(np.searchsorted(a, v - half, side="right") - 1, 0, n - 1)
        hi = np.clip(np.searchsorted(a, v + half, side="left") - 1, 0, n - 1)
        return lo, hi

    def __call__(self, x, y, z, half_xy: float, half_z: float) -> np.ndarray:
        (z0, z1), (y0, y1), (x0, x1) = (
            self._range(z, half_z, self.axes[0]),
            self._range(y, half_xy, self.axes[1]),
            self._range(x, half_xy, self.axes[2]),
        )
        out = np.full(x.shape, -np.inf)
        for kz in (z0, z1):
            for ky in (y0, y1):
                for kx in (x0, x1):
                    out = np.maximum(out, self.cell_max[kz, ky, kx])
        return out


def exact_max_gy(
    structure: Structure, slabs: list[tuple[float, float]], grid: DoseGrid, edge_step_mm: float = 0.02
) -> float:
    """The largest trilinear dose inside the stack (see the module docstring)."""
    f = Trilinear(grid)
    best = -np.inf
    gx, gy = np.meshgrid(grid.x_mm, grid.y_mm)
    gx, gy = gx.ravel(), gy.ravel()
    for plane, (lo, hi) in zip(structure.planes, slabs, strict=True):
        levels = [lo, hi, *[float(z) for z in grid.z_mm if lo < z < hi]]
        inside = _inside(plane.polygons, gx, gy)
        bx, by = [], []
        for p in plane.polygons:
            q = np.vstack([p, p[:1]])
            seg = np.diff(q, axis=0)
            n = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / edge_step_mm)).astype(int)
            for (ax, ay), (sx, sy), m in zip(q[:-1], seg, n, strict=True):
                t = np.arange(m + 1) / m
                # and exactly where the edge crosses grid lines (the dose has a kink there)
                with np.errstate(divide="ignore", invalid="ignore"):
                    tx = (grid.x_mm - ax) / sx
                    ty = (grid.y_mm - ay) / sy
                t = np.concatenate([t, tx[(tx > 0) & (tx < 1)], ty[(ty > 0) & (ty < 1)]])
                bx.append(ax + t * sx)
                by.append(ay + t * sy)
        px = np.concatenate([gx[inside], *bx])
        py = np.concatenate([gy[inside], *by])
        for z in levels:
            pz = np.full(px.shape, z)
            ok = f.covered(px, py, pz)
            if ok.any():
                best = max(best, float(f(px[ok], py[ok], pz[ok]).max()))
    return best


class FieldTruth:
    """A dose summed point by point over plan parts on their own (possibly rotated) grids.

    ``parts`` are (grid, conversion) pairs, ``conversion`` a function of the
    physical dose (identity, or an LQ formula written in the test). A point
    is covered only where every part's grid covers it. Used as ``dose_fn`` and
    ``bound_fn`` of :func:`dense_samples`.
    """

    def __init__(self, parts):  # type: ignore[no-untyped-def]
        self.parts = [(g, conv, Trilinear(g), _CellBound(g)) for g, conv in parts]

    def _frame(self, g: DoseGrid, x, y, z):  # type: ignore[no-untyped-def]
        q = np.column_stack([x, y, z]) @ np.asarray(g.axes)
        return q[:, 0], q[:, 1], q[:, 2]

    def __call__(self, x, y, z):  # type: ignore[no-untyped-def]
        total = np.zeros(x.shape)
        ok = np.ones(x.shape, dtype=bool)
        for g, conv, f, _ in self.parts:
            qx, qy, qz = self._frame(g, x, y, z)
            cov = f.covered(qx, qy, qz)
            d = np.zeros(x.shape)
            d[cov] = f(qx[cov], qy[cov], qz[cov])
            total += conv(d)
            ok &= cov
        return total, ok

    def bound(self, x, y, z, half_xy: float, half_z: float):  # type: ignore[no-untyped-def]
        # a box of these half sizes, seen in a rotated frame, fits in one sqrt(3) times larger
        grow = 1.8
        total = np.zeros(x.shape)
        for g, conv, _, b in self.parts:
            qx, qy, qz = self._frame(g, x, y, z)
            total += conv(np.maximum(b(qx, qy, qz, grow * max(half_xy, half_z), grow * max(half_xy, half_z)), 0.0))
        return total
