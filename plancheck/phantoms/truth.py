"""Closed-form DVH truth of a structure *as contoured*, in a linear dose field.

The structure is the stack of right prisms its contours define (the
convention of the DVH engine, implemented again here from its description so
the truth does not depend on the code it checks):

* rings on one plane combine by the even-odd rule (an inner ring is a hole);
* the structure set's plane lattice is the sorted positions of all its ROIs'
  planes (or of the structure's own planes); a lattice step longer than
  :data:`GAP_FACTOR` times the shorter of its neighbouring steps is a hole;
* each plane's polygon is extruded over its slab, bounded halfway to the
  neighbouring plane where that plane is the structure's and the next lattice
  plane (not across a hole); elsewhere the plane ends a run;
* run ends extend outwards by half the step to the neighbouring lattice plane
  (the step on the other side where there is none, or a hole) with
  :attr:`EndCaps.HALF`, and not at all with :attr:`EndCaps.NONE`; a run of one
  plane always gets half caps.

In the field ``D = a + gxy · (x, y) + gz z`` write ``G = |gxy|`` and
``u = gxy · (x, y) / G``. For one polygon the area above the cut ``u >= s`` is,
by Green's theorem over the oriented boundary (outer rings counter-clockwise,
holes clockwise),

    A(s) = Σ_edges ∫ (u - s)+ dv,

which for a straight edge is ``Δv · r · (p + q) / 2`` with ``p = (u1 - s)+``,
``q = (u0 - s)+`` and ``r`` the fraction of the edge's u-range above ``s``.
Its antiderivative ``F(s) = -Σ Δv · r · (p² + pq + q²) / 6`` is exact as well,
so the volume of a slab ``[l, h]`` receiving at least ``d`` is

    V(d) = ∫_l^h A((d - a - gz z) / G) dz = (G / gz) [F(s(l)) - F(s(h))]

(``(h - l) A(s)`` when ``gz = 0``; ``area × length`` when ``G = 0``). Everything
is therefore **closed form and exact** for the polygons (to floating-point
rounding, about 1e-12 relative): volume, mean dose (the dose at the centroid),
minimum and maximum (at vertices on the slab faces), the cumulative DVH
``V(d)``. Where a slab spans a dose range so narrow that the difference of
``F`` would lose digits (``|Δs|`` below 1e-4 of the polygon's extent), a
3-point Gauss-Legendre rule on ``A`` is used instead; ``A`` is a quadratic
spline, so its error there is below 1e-8 relative. ``D_x`` values are found
by bracketed root finding on ``V`` (Illinois regula falsi) to 1e-11 of the
dose scale; where ``V`` is flat at the target (a dose gap between the parts
of a structure) ``D_x`` is the highest dose with ``V(d) >= x``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

from plancheck.model import EndCaps, Structure
from plancheck.phantoms.fields import LinearField

__all__ = ["GAP_FACTOR", "Box", "PhantomTruth", "compute_truth", "slab_bounds"]

FloatArray = npt.NDArray[np.float64]
Box = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]

GAP_FACTOR = 2.5
# Fraction of a polygon's u-extent below which a slab's s-range uses quadrature.
_QUADRATURE_BELOW = 1e-4
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(3)
# Elements per chunk of the (doses × edges) arrays.
_CHUNK = 1_000_000

PERCENT_METRICS = (99.0, 98.0, 95.0, 50.0, 5.0, 2.0, 1.0)
CC_METRICS = (0.03, 0.1, 1.0, 2.0)


def slab_bounds(
    z_mm: Sequence[float] | FloatArray,
    end_caps: EndCaps,
    nominal_spacing_mm: float | None = None,
    lattice_mm: Sequence[float] | FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper slab bound of each plane (ascending ``z_mm``), in mm.

    ``lattice_mm`` are the plane positions of the whole structure set (the
    structure's own planes when None); ``nominal_spacing_mm`` is needed only
    when the lattice has a single position.
    """
    z = np.asarray(z_mm, dtype=np.float64)
    n = z.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    if n > 1 and np.any(np.diff(z) <= 0):
        raise ValueError("contour planes must be strictly ascending in z")
    lat: list[float] = []
    for v in sorted(
        float(x) for x in (z if lattice_mm is None else np.concatenate([lattice_mm, z]))
    ):
        if not lat or v - lat[-1] > 0.05:
            lat.append(v)
    steps = [b - a for a, b in itertools.pairwise(lat)]
    hole = [
        len(steps) > 1
        and steps[k]
        > GAP_FACTOR
        * min(steps[k - 1] if k > 0 else math.inf, steps[k + 1] if k + 1 < len(steps) else math.inf)
        for k in range(len(steps))
    ]
    if not steps:
        if nominal_spacing_mm is None or not nominal_spacing_mm > 0:
            raise ValueError("a structure with one contour plane needs a nominal contour spacing")
        fallback = float(nominal_spacing_mm)
    else:
        fallback = float(np.median([s for s, h in zip(steps, hole, strict=True) if not h]))
    lat_arr = np.asarray(lat)
    where = [int(np.argmin(np.abs(lat_arr - v))) for v in z]

    def step(j: int, direction: int) -> float | None:
        k = j - 1 if direction < 0 else j
        if k < 0 or k >= len(steps) or hole[k]:
            return None
        return steps[k]

    lower = np.empty(n)
    upper = np.empty(n)
    for k in range(n):
        j = where[k]
        linked_down = k > 0 and where[k - 1] == j - 1 and step(j, -1) is not None
        linked_up = k < n - 1 and where[k + 1] == j + 1 and step(j, +1) is not None
        down, up = step(j, -1), step(j, +1)
        cap_down = down if down is not None else (up if up is not None else fallback)
        cap_up = up if up is not None else (down if down is not None else fallback)
        lone = not linked_down and not linked_up
        capped = end_caps is EndCaps.HALF or lone
        lower[k] = (
            0.5 * (z[k - 1] + z[k]) if linked_down else z[k] - (0.5 * cap_down if capped else 0.0)
        )
        upper[k] = (
            0.5 * (z[k] + z[k + 1]) if linked_up else z[k] + (0.5 * cap_up if capped else 0.0)
        )
    return lower, upper


def _even_odd(rings: Sequence[npt.NDArray[np.floating]]) -> shapely.Geometry:
    geom: shapely.Geometry = Polygon()
    for ring in rings:
        geom = geom.symmetric_difference(Polygon(ring))
    return geom


def _oriented_rings(geom: shapely.Geometry) -> list[FloatArray]:
    """Closed coordinate arrays: exteriors counter-clockwise, holes clockwise."""
    polys = getattr(geom, "geoms", [geom])
    out: list[FloatArray] = []
    for p in polys:
        if not isinstance(p, Polygon) or p.is_empty:
            continue
        p = orient(p, 1.0)
        out.append(np.asarray(p.exterior.coords, dtype=np.float64))
        out.extend(np.asarray(i.coords, dtype=np.float64) for i in p.interiors)
    return out


@dataclass(frozen=True, eq=False)
class _Stack:
    """Prism slabs in the frame of the field: ``u`` along the in-plane gradient.

    Coordinates are relative to ``origin`` (x, y, z) to keep numbers small.
    """

    origin: tuple[float, float, float]
    dose0_gy: float  # dose at origin
    g_xy: float  # |in-plane gradient| (Gy/mm)
    g_z: float
    lower: FloatArray  # (P,) slab bounds relative to origin z
    upper: FloatArray
    area: FloatArray  # (P,) mm²
    cu: FloatArray  # (P,) centroid along u
    cz: FloatArray  # (P,) slab mid z
    umin: FloatArray
    umax: FloatArray
    u0: FloatArray  # (E,)
    u1: FloatArray
    dv: FloatArray
    edge_plane: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]  # (P,) first edge of each plane

    @property
    def n_planes(self) -> int:
        return int(self.area.size)

    @property
    def volume_mm3(self) -> float:
        return float(np.sum(self.area * (self.upper - self.lower)))

    # -- A(s) and its antiderivative, per plane ------------------------------------
    def _edge_terms(self, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``r``, ``p``, ``q`` per (dose, edge) for cut positions ``s`` of shape (m, P)."""
        se = s[:, self.edge_plane]
        u0, u1 = self.u0[None, :], self.u1[None, :]
        p = np.maximum(u1 - se, 0.0)
        q = np.maximum(u0 - se, 0.0)
        lo = np.minimum(u0, u1)
        hi = np.maximum(u0, u1)
        span = hi - lo
        r = np.where(
            se <= lo, 1.0, np.where(se >= hi, 0.0, (hi - se) / np.where(span > 0, span, 1.0))
        )
        return r, p, q

    def area_above(self, s: FloatArray) -> FloatArray:
        """Area of each plane's polygon with ``u >= s``; ``s`` and result (m, P)."""
        r, p, q = self._edge_terms(s)
        terms = 0.5 * self.dv[None, :] * r * (p + q)
        a = np.add.reduceat(terms, self.starts, axis=1)
        return np.where(s <= self.umin, self.area, np.where(s >= self.umax, 0.0, a))

    def antiderivative(self, s: FloatArray) -> FloatArray:
        """``F`` with ``dF/ds = A(s)``, extended linearly below ``umin``; (m, P)."""
        sc = np.clip(s, self.umin, self.umax)
        r, p, q = self._edge_terms(sc)
        terms = self.dv[None, :] * r * (p * p + p * q + q * q)
        f = -np.add.reduceat(terms, self.starts, axis=1) / 6.0
        return f + self.area * np.minimum(s - self.umin, 0.0)

    # -- V(d) -------------------------------------------------------------------
    def volume_at(self, dose_gy: FloatArray) -> FloatArray:
        """Volume (mm³) receiving at least each dose; ``dose_gy`` shape (m,)."""
        d = np.asarray(dose_gy, dtype=np.float64).ravel()
        if self.n_planes == 0:
            return np.zeros(d.size)
        out = np.empty(d.size)
        step = max(1, _CHUNK // max(self.u0.size, 1))
        for i in range(0, d.size, step):
            out[i : i + step] = self._volume_chunk(d[i : i + step])
        return out

    def _volume_chunk(self, d: FloatArray) -> FloatArray:
        a, gxy, gz = self.dose0_gy, self.g_xy, self.g_z
        lower, upper = self.lower[None, :], self.upper[None, :]
        thick = upper - lower
        dd = d[:, None] - a
        if gxy == 0.0:
            if gz == 0.0:
                v = np.where(dd <= 0.0, self.area * thick, 0.0)
            else:
                zc = dd / gz
                if gz > 0:
                    length = np.clip(upper - np.maximum(lower, zc), 0.0, thick)
                else:
                    length = np.clip(np.minimum(upper, zc) - lower, 0.0, thick)
                v = self.area * length
            return np.asarray(v.sum(axis=1), dtype=np.float64)
        s_l = (dd - gz * lower) / gxy
        if gz == 0.0:
            v = thick * self.area_above(np.broadcast_to(s_l, (d.size, self.n_planes)).copy())
            return np.asarray(v.sum(axis=1), dtype=np.float64)
        s_h = (dd - gz * upper) / gxy
        v = (gxy / gz) * (self.antiderivative(s_l) - self.antiderivative(s_h))
        narrow = np.abs(s_l - s_h) < _QUADRATURE_BELOW * (self.umax - self.umin)[None, :]
        if np.any(narrow):
            quad = np.zeros_like(v)
            mid = 0.5 * (lower + upper)
            for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
                z = mid + 0.5 * thick * node
                quad += 0.5 * weight * self.area_above((dd - gz * z) / gxy)
            v = np.where(narrow, thick * quad, v)
        return np.asarray(v.sum(axis=1), dtype=np.float64)

    # -- summary values ----------------------------------------------------------
    def mean_gy(self) -> float:
        w = self.area * (self.upper - self.lower)
        dose = self.dose0_gy + self.g_xy * self.cu + self.g_z * self.cz
        return float(np.sum(w * dose) / np.sum(w))

    def min_max_gy(self) -> tuple[float, float]:
        zl, zh = self.g_z * self.lower, self.g_z * self.upper
        lo = self.g_xy * self.umin + np.minimum(zl, zh)
        hi = self.g_xy * self.umax + np.maximum(zl, zh)
        return self.dose0_gy + float(lo.min()), self.dose0_gy + float(hi.max())


def _build_stack(
    structure: Structure,
    field_: LinearField,
    end_caps: EndCaps,
    nominal_spacing_mm: float | None,
    box_mm: Box | None,
    lattice_mm: Sequence[float] | FloatArray | None = None,
) -> _Stack:
    planes = structure.planes
    z = np.array([p.z_mm for p in planes], dtype=np.float64)
    lower, upper = slab_bounds(z, end_caps, nominal_spacing_mm, lattice_mm)
    geoms = [_even_odd(p.polygons) for p in planes]
    if box_mm is not None:
        (x0, x1), (y0, y1), (z0, z1) = box_mm
        clip = box(x0, y0, x1, y1)
        geoms = [g.intersection(clip) for g in geoms]
        lower = np.maximum(lower, z0)
        upper = np.minimum(upper, z1)
    keep = [k for k, g in enumerate(geoms) if upper[k] > lower[k] and not g.is_empty and g.area > 0]
    rings_per_plane = [_oriented_rings(geoms[k]) for k in keep]
    lower, upper = lower[keep], upper[keep]
    # origin: bounding-box centre, for conditioning
    if keep:
        all_xy = np.concatenate([r for rings in rings_per_plane for r in rings])
        ox = 0.5 * float(all_xy[:, 0].min() + all_xy[:, 0].max())
        oy = 0.5 * float(all_xy[:, 1].min() + all_xy[:, 1].max())
        oz = 0.5 * float(lower.min() + upper.max())
    else:
        ox = oy = oz = 0.0
    gx, gy, gz = (float(g) for g in field_.gradient_gy_per_mm)
    gxy = math.hypot(gx, gy)
    ex, ey = (gx / gxy, gy / gxy) if gxy > 0 else (1.0, 0.0)
    u_parts, v_parts, plane_idx = [], [], []
    area, cu, umin, umax, starts = [], [], [], [], []
    n_edges = 0
    for k, rings in enumerate(rings_per_plane):
        starts.append(n_edges)
        plane_area = 0.0
        plane_mu = 0.0
        lo_u, hi_u = math.inf, -math.inf
        for ring in rings:
            x = ring[:, 0] - ox
            y = ring[:, 1] - oy
            u = ex * x + ey * y
            v = -ey * x + ex * y
            u_parts.append(u)
            v_parts.append(v)
            plane_idx.append(np.full(u.size - 1, k, dtype=np.intp))
            n_edges += u.size - 1
            cross = u[:-1] * v[1:] - u[1:] * v[:-1]
            plane_area += 0.5 * float(cross.sum())
            plane_mu += float(np.sum((u[:-1] + u[1:]) * cross)) / 6.0
            lo_u = min(lo_u, float(u.min()))
            hi_u = max(hi_u, float(u.max()))
        area.append(plane_area)
        cu.append(plane_mu / plane_area)
        umin.append(lo_u)
        umax.append(hi_u)
    u0 = np.concatenate([u[:-1] for u in u_parts]) if u_parts else np.zeros(0)
    u1 = np.concatenate([u[1:] for u in u_parts]) if u_parts else np.zeros(0)
    dv = np.concatenate([np.diff(v) for v in v_parts]) if v_parts else np.zeros(0)
    return _Stack(
        origin=(ox, oy, oz),
        dose0_gy=field_.dose_at((ox, oy, oz)),
        g_xy=gxy,
        g_z=gz,
        lower=lower - oz,
        upper=upper - oz,
        area=np.asarray(area, dtype=np.float64),
        cu=np.asarray(cu, dtype=np.float64),
        cz=0.5 * (lower + upper) - oz,
        umin=np.asarray(umin, dtype=np.float64),
        umax=np.asarray(umax, dtype=np.float64),
        u0=u0,
        u1=u1,
        dv=dv,
        edge_plane=np.concatenate(plane_idx) if plane_idx else np.zeros(0, dtype=np.intp),
        starts=np.asarray(starts, dtype=np.intp),
    )


@dataclass(frozen=True, eq=False)
class PhantomTruth:
    """The exact DVH of one structure as contoured, in a linear field.

    Doses in Gy, volumes in cc. ``mean_gy``/``min_gy``/``max_gy`` are ``None``
    for a structure without volume. ``ideal_volume_cc`` is the volume of the
    smooth solid the contours were drawn from (``None`` when unknown), so a
    test can say how far the contour stack is from the ideal shape.
    """

    name: str
    roi_number: int
    end_caps: EndCaps
    volume_cc: float
    ideal_volume_cc: float | None
    mean_gy: float | None
    min_gy: float | None
    max_gy: float | None
    _stack: _Stack = field(repr=False)

    def volume_at_dose_cc(self, dose_gy: npt.ArrayLike) -> FloatArray:
        """Cumulative DVH: the volume (cc) receiving at least each dose (any shape)."""
        d = np.asarray(dose_gy, dtype=np.float64)
        return (self._stack.volume_at(d.ravel()) / 1000.0).reshape(d.shape)

    def doses_at_volumes_gy(
        self,
        volume_cc: npt.ArrayLike,
        _bracket: tuple[FloatArray, FloatArray] | None = None,
    ) -> FloatArray:
        """``D_v``: for each volume, the highest dose ``d`` with ``V(d) >= v``.

        Raises
        ------
        ValueError
            When a volume is negative or larger than the structure.
        """
        v = np.asarray(volume_cc, dtype=np.float64)
        flat = v.ravel()
        if self.min_gy is None or self.max_gy is None:
            raise ValueError(f"{self.name}: the structure has no volume")
        if np.any(flat < 0) or np.any(flat > self.volume_cc * (1 + 1e-12)):
            raise ValueError(
                f"{self.name}: volumes must lie within [0, {self.volume_cc:.6g}] cc, got {flat}"
            )
        return _solve(self._stack, flat * 1000.0, self.min_gy, self.max_gy, _bracket).reshape(
            v.shape
        )

    def dose_at_volume_gy(self, volume_cc: float) -> float:
        """``D<volume>cc`` in Gy (see :meth:`doses_at_volumes_gy`)."""
        return float(self.doses_at_volumes_gy(np.array([volume_cc]))[0])

    def dose_at_percent_gy(self, percent: float) -> float:
        """``D<percent>%`` in Gy."""
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"percent must lie within [0, 100], got {percent}")
        return self.dose_at_volume_gy(self.volume_cc * percent / 100.0)

    def to_dict(self, n_curve: int = 101) -> dict[str, Any]:
        """Values for ``truth.json``: volume, mean, min, max, D-metrics, sampled curve."""
        out: dict[str, Any] = {
            "name": self.name,
            "roi_number": self.roi_number,
            "end_caps": self.end_caps.value,
            "volume_cc": self.volume_cc,
            "ideal_volume_cc": self.ideal_volume_cc,
            "mean_gy": self.mean_gy,
            "min_gy": self.min_gy,
            "max_gy": self.max_gy,
        }
        if self.min_gy is None or self.max_gy is None:
            out["metrics_gy"] = {}
            out["curve"] = None
            return out
        grid = np.linspace(self.min_gy, self.max_gy, n_curve)
        curve_mm3 = self._stack.volume_at(grid)
        pct = np.array(PERCENT_METRICS) * self.volume_cc / 100.0
        ccs = np.array([c for c in CC_METRICS if c <= self.volume_cc])
        doses = self.doses_at_volumes_gy(np.concatenate([pct, ccs]), (grid, curve_mm3))
        keys = [f"D{p:g}%" for p in PERCENT_METRICS] + [f"D{c:g}cc" for c in ccs]
        out["metrics_gy"] = {k: float(d) for k, d in zip(keys, doses, strict=True)}
        out["curve"] = {"dose_gy": grid.tolist(), "volume_cc": (curve_mm3 / 1000.0).tolist()}
        return out


def _solve(
    stack: _Stack,
    targets_mm3: FloatArray,
    d_min: float,
    d_max: float,
    bracket: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Highest doses with ``V(d) >= target``, by bracketed Illinois regula falsi.

    ``bracket`` is an ascending dose grid from ``d_min`` to ``d_max`` with its
    volumes (mm³), to start from; by default 33 points are computed.
    """
    k = targets_mm3.size
    out = np.full(k, d_max)
    todo = targets_mm3 > 0
    if not np.any(todo):
        return out
    t = targets_mm3[todo]
    # bracket on a coarse dose grid (V non-increasing)
    if bracket is None:
        grid = np.linspace(d_min, d_max, 33)
        vg = stack.volume_at(grid)
    else:
        grid, vg = bracket
    j = np.clip(np.searchsorted(-vg, -t, side="right") - 1, 0, grid.size - 2)
    lo, hi = grid[j], grid[j + 1]
    f_lo = vg[j] - t
    f_hi = vg[j + 1] - t
    # ends: V(d_min) is the full volume (>= t); V(d_max) may equal t only for t ~ 0
    hi_ok = f_hi < 0
    lo = np.where(hi_ok, lo, hi)
    f_lo = np.where(hi_ok, f_lo, f_hi)
    tol = 1e-11 * max(abs(d_min), abs(d_max), 1.0)
    side = np.zeros(t.size, dtype=np.int8)
    for it in range(200):
        active = hi_ok & (hi - lo > tol)
        if not np.any(active):
            break
        denom = f_lo - f_hi
        guess = lo + f_lo * (hi - lo) / np.where(denom > 0, denom, 1.0)
        bisect = (it % 4 == 3) | ~((guess > lo) & (guess < hi))
        d = np.where(bisect, 0.5 * (lo + hi), guess)
        f = stack.volume_at(d) - t
        up = active & (f >= 0)
        down = active & (f < 0)
        # Illinois: halve the stale end's value when the same side moves twice
        f_hi = np.where(up & (side == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(down & (side == -1), 0.5 * f_lo, f_lo)
        lo = np.where(up, d, lo)
        f_lo = np.where(up, f, f_lo)
        hi = np.where(down, d, hi)
        f_hi = np.where(down, f, f_hi)
        side = np.where(up, 1, np.where(down, -1, side)).astype(np.int8)
    out[todo] = np.where(hi_ok, 0.5 * (lo + hi), lo)
    return out


def compute_truth(
    structure: Structure,
    field_: LinearField,
    end_caps: EndCaps = EndCaps.HALF,
    *,
    ideal_volume_cc: float | None = None,
    nominal_spacing_mm: float | None = None,
    box_mm: Box | None = None,
    lattice_mm: Sequence[float] | FloatArray | None = None,
) -> PhantomTruth:
    """Exact DVH truth of ``structure`` (as contoured) in ``field_``.

    Parameters
    ----------
    structure : Structure
        Closed planar contours; rings on a plane combine by the even-odd rule.
    field_ : LinearField
        The dose field (Gy).
    end_caps : EndCaps
        Extent beyond the end planes.
    ideal_volume_cc : float, optional
        Volume of the smooth solid, carried along for reporting.
    nominal_spacing_mm : float, optional
        Slab thickness of a structure with a single plane.
    box_mm : ((x0, x1), (y0, y1), (z0, z1)), optional
        Keep only the part of the structure inside this box (for the part of a
        structure inside a dose grid's cells).
    lattice_mm : sequence of float, optional
        The plane positions of the whole structure set (default: the
        structure's own).
    """
    stack = _build_stack(structure, field_, end_caps, nominal_spacing_mm, box_mm, lattice_mm)
    volume_cc = stack.volume_mm3 / 1000.0
    if stack.n_planes == 0 or volume_cc <= 0:
        return PhantomTruth(
            structure.name,
            structure.roi_number,
            end_caps,
            0.0,
            ideal_volume_cc,
            None,
            None,
            None,
            stack,
        )
    d_min, d_max = stack.min_max_gy()
    return PhantomTruth(
        name=structure.name,
        roi_number=structure.roi_number,
        end_caps=end_caps,
        volume_cc=volume_cc,
        ideal_volume_cc=ideal_volume_cc,
        mean_gy=stack.mean_gy(),
        min_gy=d_min,
        max_gy=d_max,
        _stack=stack,
    )
