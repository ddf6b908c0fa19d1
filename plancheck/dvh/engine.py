"""The DVH engine: partial-volume sampling of a structure in a trilinear dose.

Conventions (documented for users in the README, "How plancheck computes a DVH"):

* Contours on one plane combine by the even-odd rule; each plane is a slab
  bounded halfway to its neighbours, with end caps per :class:`EndCaps`
  (half a contour spacing by default) — see :mod:`plancheck.dvh.slabs`.
* The structure is sampled on a lattice finer than the dose grid (see
  :mod:`plancheck.dvh.sampling`), so boundary voxels count with the fraction
  of them that lies inside; each slab is cut into layers so dose varies
  across it, also in the end slabs.
* Dose is interpolated trilinearly between the grid points, with no shift.
  The dose grid covers its voxel cells: half a spacing beyond the outer grid
  points, where the edge value is used. Structure volume beyond that is
  *outside the dose grid*: it counts in ``Dvh.volume_cc`` and
  ``Dvh.volume_outside_grid_cc`` and nowhere else.
* Each sample contributes its volume spread over the dose range its box
  covers (:mod:`plancheck.dvh.histogram`); the curve is exact at 1 mGy edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.dvh.histogram import DvhAccumulator
from plancheck.dvh.sampling import Lattice, PlaneSamples, choose_lattice, plane_masks
from plancheck.dvh.slabs import compute_slabs
from plancheck.geometry.lattice import PlaneLattice
from plancheck.model import DoseGrid, Dvh, EndCaps, Structure

__all__ = ["DvhSettings", "StructureSampling", "compute_dvh", "dvh_from_sampling", "sample_structure"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DvhSettings:
    """How DVHs are computed. The defaults are the accurate ones.

    Attributes
    ----------
    end_caps : EndCaps
        Extent beyond the first and last contour planes.
    bin_width_gy : float
        Spacing of the stored cumulative curve (1 mGy).
    max_samples : int
        Upper bound on samples per structure; larger structures get a coarser
        lattice (never coarser than the dose grid).
    """

    end_caps: EndCaps = EndCaps.HALF
    bin_width_gy: float = 0.001
    max_samples: int = 6_000_000


@dataclass(frozen=True, eq=False)
class StructureSampling:
    """A structure rasterised for one dose grid geometry; reusable for every dose on it."""

    structure: Structure
    lattice: Lattice
    planes: tuple[PlaneSamples, ...]


def sample_structure(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    nominal_spacing_mm: float | None = None,
    plane_lattice: PlaneLattice | None = None,
) -> StructureSampling | None:
    """Rasterise ``structure`` on a lattice aligned with ``grid``; None if it has no contours.

    ``structure`` is in ``grid``'s frame; ``plane_lattice`` is its structure
    set's plane lattice there (slabs follow it, see :mod:`plancheck.dvh.slabs`).
    """
    settings = settings or DvhSettings()
    if not structure.has_volume:
        return None
    z = np.array([p.z_mm for p in structure.planes], dtype=np.float64)
    slabs = compute_slabs(z, settings.end_caps, nominal_spacing_mm, plane_lattice)
    lattice = choose_lattice(structure, slabs, grid, settings.max_samples)
    return StructureSampling(structure, lattice, tuple(plane_masks(structure, slabs, lattice)))


def compute_dvh(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    nominal_spacing_mm: float | None = None,
    plane_lattice: PlaneLattice | None = None,
) -> Dvh:
    """Cumulative DVH of ``structure`` in the dose of ``grid``.

    Parameters
    ----------
    structure : Structure
        Closed planar contours, sorted by z.
    grid : DoseGrid
        Dose in Gy (or EQD2/BED in Gy) on an axis-aligned grid.
    settings : DvhSettings, optional
    nominal_spacing_mm : float, optional
        Slab thickness for a structure contoured on a single plane.
    plane_lattice : PlaneLattice, optional
        The structure set's plane lattice (default: the structure's own planes).
    """
    settings = settings or DvhSettings()
    sampling = sample_structure(structure, grid, settings, nominal_spacing_mm, plane_lattice)
    return dvh_from_sampling(sampling, grid, settings)


def _axis_interp(
    centres: npt.NDArray[np.floating], coords: npt.NDArray[np.floating]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.intp], FloatArray, float]:
    """Per lattice centre: covered?, lower/upper grid index, weight of upper, grid step."""
    n = coords.size
    step = float(coords[1] - coords[0]) if n > 1 else 1.0
    lo = float(coords[0]) - step / 2.0
    hi = float(coords[-1]) + step / 2.0
    eps = 1e-9 * max(1.0, abs(step))
    covered = (centres >= lo - eps) & (centres <= hi + eps)
    pos = (centres - float(coords[0])) / step
    i0 = np.clip(np.floor(pos), 0, max(n - 2, 0)).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    t = np.clip(pos - i0, 0.0, 1.0) if n > 1 else np.zeros_like(pos)
    return covered, i0, i1, t, step


def dvh_from_sampling(
    sampling: StructureSampling | None, grid: DoseGrid, settings: DvhSettings | None = None
) -> Dvh:
    """The DVH of a rasterised structure in the dose of ``grid`` (same geometry it was sampled on)."""
    settings = settings or DvhSettings()
    if sampling is None:
        return Dvh(settings.bin_width_gy, np.zeros(1), 0.0, 0.0, None, None, None)
    lat = sampling.lattice
    dose = grid.dose_gy
    nz, ny, nx = dose.shape
    top = float(np.nanmax(dose)) if dose.size else 0.0
    if not math.isfinite(top):
        raise ValueError("dose grid contains no finite value")
    acc = DvhAccumulator(max(top, 0.0), settings.bin_width_gy)

    cov_x, ix0, ix1, tx, step_x = _axis_interp(lat.x_centres_mm, grid.x_mm)
    cov_y, iy0, iy1, ty, step_y = _axis_interp(lat.y_centres_mm, grid.y_mm)
    zc = np.asarray(grid.z_mm, dtype=np.float64)
    if nz > 1:
        z_lo = zc[0] - (zc[1] - zc[0]) / 2.0
        z_hi = zc[-1] + (zc[-1] - zc[-2]) / 2.0
    else:
        half = max(step_x, step_y) / 2.0
        z_lo, z_hi = zc[0] - half, zc[0] + half
    covered_2d = cov_y[:, None] & cov_x[None, :]
    flat_dose = dose.reshape(nz, ny * nx)
    outside_cc = 0.0
    pixel_mm2 = lat.dx_mm * lat.dy_mm

    for plane in sampling.planes:
        if plane.rows.size == 0:
            continue
        thickness = plane.upper_mm - plane.lower_mm
        n_layers = max(1, math.ceil(thickness / lat.layer_mm - 1e-9))
        layer_mm = thickness / n_layers
        layer_cc = pixel_mm2 * layer_mm / 1000.0
        inside = covered_2d[plane.rows, plane.cols]
        rows, cols = plane.rows[inside], plane.cols[inside]
        weight_cc = plane.fraction[inside].astype(np.float64) * layer_cc
        outside_cc += float(plane.fraction[~inside].sum()) * layer_cc * n_layers
        n_in = rows.size
        if n_in == 0:
            continue
        a0 = iy0[rows] * nx + ix0[cols]
        a1 = iy0[rows] * nx + ix1[cols]
        b0 = iy1[rows] * nx + ix0[cols]
        b1 = iy1[rows] * nx + ix1[cols]
        wy = ty[rows]
        wx = tx[cols]
        for layer in range(n_layers):
            z = plane.lower_mm + (layer + 0.5) * layer_mm
            if z < z_lo - 1e-6 or z > z_hi + 1e-6:
                outside_cc += float(weight_cc.sum())
                continue
            if nz > 1:
                k = int(np.clip(np.searchsorted(zc, z, side="right") - 1, 0, nz - 2))
                dzk = float(zc[k + 1] - zc[k])
                tz = min(max((z - zc[k]) / dzk, 0.0), 1.0)
                f0 = flat_dose[k]
                f1 = flat_dose[k + 1]
            else:
                dzk, tz = 1.0, 0.0
                f0 = f1 = flat_dose[0]
            # dD/dz exists between the outer frames; beyond them the edge frame is used as is
            z_slope = 1.0 / dzk if _inside(z, zc) else 0.0
            corners = []
            grads_z = []
            for idx in (a0, a1, b0, b1):
                v0 = f0[idx].astype(np.float64)
                v1 = f1[idx].astype(np.float64)
                corners.append(v0 + tz * (v1 - v0))
                grads_z.append((v1 - v0) * z_slope)
            c00, c01, c10, c11 = corners
            lower = c00 + wx * (c01 - c00)
            upper = c10 + wx * (c11 - c10)
            d = lower + wy * (upper - lower)
            gx = ((1.0 - wy) * (c01 - c00) + wy * (c11 - c10)) / step_x
            gy = (upper - lower) / step_y
            g00, g01, g10, g11 = grads_z
            gl = g00 + wx * (g01 - g00)
            gu = g10 + wx * (g11 - g10)
            gz = gl + wy * (gu - gl)
            spread = np.sqrt((gx * lat.dx_mm) ** 2 + (gy * lat.dy_mm) ** 2 + (gz * layer_mm) ** 2)
            acc.add(d, spread, weight_cc)

    in_cc = acc.volume_cc
    if in_cc <= 0.0:
        return Dvh(settings.bin_width_gy, np.zeros(1), outside_cc, outside_cc, None, None, None)
    return Dvh(
        bin_width_gy=settings.bin_width_gy,
        cumulative_cc=acc.cumulative_cc(),
        volume_cc=in_cc + outside_cc,
        volume_outside_grid_cc=outside_cc,
        min_gy=acc.min_gy,
        mean_gy=acc.dose_volume_gy_cc / in_cc,
        max_gy=acc.max_gy,
    )


def _inside(z: float, zc: FloatArray) -> bool:
    """True when z lies within the span of the grid's frames (where dD/dz is defined)."""
    return bool(zc.size > 1 and zc[0] <= z <= zc[-1])
