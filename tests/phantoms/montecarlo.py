"""Independent Monte-Carlo estimates of a contour stack's DVH, for checking the truth.

Points are drawn uniformly (fixed seed) in the stack's bounding box; a point
is inside when its z lies in a plane's slab and its (x, y) is inside that
plane's rings by the even-odd rule (ray casting written here, not shapely).
Slab bounds come from :func:`plancheck.phantoms.truth.slab_bounds`, which
has its own hand-computed test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plancheck.model import EndCaps, Structure
from plancheck.phantoms.fields import LinearField
from plancheck.phantoms.truth import slab_bounds


def inside_even_odd(x: np.ndarray, y: np.ndarray, rings) -> np.ndarray:
    """Crossing-number test of points against closed rings (n, 2), even-odd rule."""
    inside = np.zeros(x.shape, dtype=bool)
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        straddle = (y0[None, :] > y[:, None]) != (y1[None, :] > y[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0[None, :] + (y[:, None] - y0[None, :]) * (x1 - x0)[None, :] / (y1 - y0)[None, :]
        crossings = np.count_nonzero(straddle & (x[:, None] < xc), axis=1)
        inside ^= (crossings % 2) == 1
    return inside


@dataclass
class MonteCarlo:
    box_volume_cc: float
    n: int
    inside_dose_gy: np.ndarray  # dose at the points inside

    @property
    def fraction(self) -> float:
        return self.inside_dose_gy.size / self.n

    @property
    def volume_cc(self) -> float:
        return self.box_volume_cc * self.fraction

    def volume_sigma_cc(self, p: float | None = None) -> float:
        p = self.fraction if p is None else p
        return self.box_volume_cc * float(np.sqrt(p * (1 - p) / self.n))

    def volume_at_dose_cc(self, dose_gy: float) -> float:
        return self.box_volume_cc * np.count_nonzero(self.inside_dose_gy >= dose_gy) / self.n

    @property
    def mean_gy(self) -> float:
        return float(self.inside_dose_gy.mean())

    @property
    def mean_sigma_gy(self) -> float:
        return float(self.inside_dose_gy.std() / np.sqrt(self.inside_dose_gy.size))


def sample(
    structure: Structure,
    field: LinearField,
    end_caps: EndCaps,
    n: int,
    seed: int = 12345,
    nominal_spacing_mm: float | None = None,
    box=None,
) -> MonteCarlo:
    """Sample ``n`` points in the stack's bounding box; with ``box`` ((x0, x1), (y0, y1),
    (z0, z1)) only points inside it count as inside."""
    z_planes = np.array([p.z_mm for p in structure.planes])
    lower, upper = slab_bounds(z_planes, end_caps, nominal_spacing_mm)
    pts = np.concatenate([r for p in structure.planes for r in p.polygons])
    lo = np.array([pts[:, 0].min(), pts[:, 1].min(), lower.min()])
    hi = np.array([pts[:, 0].max(), pts[:, 1].max(), upper.max()])
    rng = np.random.default_rng(seed)
    p = lo + (hi - lo) * rng.random((n, 3))
    doses = []
    for k, plane in enumerate(structure.planes):
        sel = (p[:, 2] >= lower[k]) & (p[:, 2] < upper[k])
        q = p[sel]
        if q.size == 0:
            continue
        ins = inside_even_odd(q[:, 0], q[:, 1], plane.polygons)
        q = q[ins]
        if box is not None:
            keep = np.ones(len(q), dtype=bool)
            for axis, (b0, b1) in enumerate(box):
                keep &= (q[:, axis] >= b0) & (q[:, axis] <= b1)
            q = q[keep]
        doses.append(field.dose_gy(q[:, 0], q[:, 1], q[:, 2]))
    box_cc = float(np.prod(hi - lo)) / 1000.0
    return MonteCarlo(box_cc, n, np.concatenate(doses) if doses else np.zeros(0))
