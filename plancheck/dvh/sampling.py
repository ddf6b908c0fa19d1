"""Where a structure is sampled: in-plane masks on a fine lattice, and layers in z.

The lattice is aligned with the dose grid's voxel cells (each cell, centred on
a dose grid point, is split into ``factor × factor`` pixels), so every pixel is
either wholly inside or wholly outside the dose grid. Each contour plane's
slab (see :mod:`plancheck.dvh.slabs`) is cut into layers no thicker than
:attr:`SamplingPlan.layer_mm`. A sample is a pixel of the plane's mask in one
layer: a box ``pixel_x × pixel_y × layer`` of which the fraction inside
the contours counts (:func:`plancheck.dvh.rasterise.coverage_even_odd`).

The pixel size follows the structure: about ``PIXELS_ACROSS`` pixels across
its typical in-plane width, never coarser than the dose grid, never finer than
``MIN_PIXEL_MM``, and coarse enough to keep the sample count under
``max_samples``. Small structures are thus sampled finely and large ones no
finer than needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.dvh.rasterise import coverage_even_odd
from plancheck.dvh.slabs import Slabs
from plancheck.model import DoseGrid, Structure

__all__ = ["MIN_PIXEL_MM", "PIXELS_ACROSS", "Lattice", "PlaneSamples", "choose_lattice", "plane_masks"]

PIXELS_ACROSS = 40
MIN_PIXEL_MM = 0.1


@dataclass(frozen=True)
class Lattice:
    """The fine in-plane lattice of one structure on one dose grid.

    Pixel (i, j) has its centre at ``(x0_mm + (j + .5) dx_mm, y0_mm + (i + .5) dy_mm)``.
    """

    x0_mm: float
    y0_mm: float
    dx_mm: float
    dy_mm: float
    n_rows: int
    n_cols: int
    factor_x: int
    factor_y: int
    layer_mm: float

    @property
    def x_centres_mm(self) -> npt.NDArray[np.floating]:
        return self.x0_mm + (np.arange(self.n_cols) + 0.5) * self.dx_mm

    @property
    def y_centres_mm(self) -> npt.NDArray[np.floating]:
        return self.y0_mm + (np.arange(self.n_rows) + 0.5) * self.dy_mm


@dataclass(frozen=True, eq=False)
class PlaneSamples:
    """The pixels of one contour plane on the lattice, and its slab.

    ``rows``/``cols`` index the lattice pixels that the contours touch,
    ``fraction`` is the part of each inside them (0 < fraction <= 1).
    """

    z_mm: float
    lower_mm: float
    upper_mm: float
    rows: npt.NDArray[np.intp]
    cols: npt.NDArray[np.intp]
    fraction: npt.NDArray[np.float32]


def _grid_step(coords: npt.NDArray[np.floating]) -> float:
    return float(coords[1] - coords[0]) if coords.size > 1 else 1.0


def choose_lattice(
    structure: Structure, slabs: Slabs, grid: DoseGrid, max_samples: int
) -> Lattice:
    """Pick the pixel size and extent of the structure's lattice on ``grid``."""
    dx = _grid_step(grid.x_mm)
    dy = _grid_step(grid.y_mm)
    dz = float(np.median(np.diff(grid.z_mm))) if grid.z_mm.size > 1 else max(dx, dy)
    all_pts = np.concatenate([p for plane in structure.planes for p in plane.polygons])
    xmin, ymin = all_pts.min(axis=0)
    xmax, ymax = all_pts.max(axis=0)
    areas = np.array([_plane_area_mm2(plane.polygons) for plane in structure.planes])
    typical_width = math.sqrt(max(float(np.median(areas)), 1e-6))
    target = max(typical_width / PIXELS_ACROSS, MIN_PIXEL_MM)
    fx = max(1, math.ceil(dx / target))
    fy = max(1, math.ceil(dy / target))
    layer = max(min(dz / 2.0, 2.0 * max(dx / fx, dy / fy)), MIN_PIXEL_MM)
    volume_mm3 = float(np.dot(areas, slabs.thickness_mm))
    while fx * fy > 1:
        pixel_mm2 = (dx / fx) * (dy / fy)
        n_layers = float(np.sum(np.ceil(slabs.thickness_mm / layer)))
        est = volume_mm3 / pixel_mm2 * (n_layers * layer / max(float(slabs.thickness_mm.sum()), 1e-9))
        if est <= max_samples:
            break
        fx = max(1, fx - max(1, fx // 4))
        fy = max(1, fy - max(1, fy // 4))
        layer = max(min(dz / 2.0, 2.0 * max(dx / fx, dy / fy)), MIN_PIXEL_MM)
    hx, hy = dx / fx, dy / fy
    # lattice aligned with the dose cells: cell j spans x_mm[j] +- dx/2
    ox = float(grid.x_mm[0]) - dx / 2.0
    oy = float(grid.y_mm[0]) - dy / 2.0
    j0 = math.floor((xmin - ox) / hx) - 1
    j1 = math.ceil((xmax - ox) / hx) + 1
    i0 = math.floor((ymin - oy) / hy) - 1
    i1 = math.ceil((ymax - oy) / hy) + 1
    return Lattice(
        x0_mm=ox + j0 * hx,
        y0_mm=oy + i0 * hy,
        dx_mm=hx,
        dy_mm=hy,
        n_rows=i1 - i0,
        n_cols=j1 - j0,
        factor_x=fx,
        factor_y=fy,
        layer_mm=layer,
    )


def _plane_area_mm2(polygons: tuple[npt.NDArray[np.floating], ...]) -> float:
    """Even-odd area of a plane's contours (shoelace; holes nested once subtract)."""
    # the absolute shoelace areas of nested contours alternate in sign under even-odd;
    # for choosing a pixel size the sum of absolute areas is close enough
    total = 0.0
    for p in polygons:
        x = p[:, 0]
        y = p[:, 1]
        total += 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return total


def plane_masks(structure: Structure, slabs: Slabs, lattice: Lattice) -> list[PlaneSamples]:
    """Rasterise every contour plane of ``structure`` on ``lattice``."""
    out = []
    for k, plane in enumerate(structure.planes):
        frac = coverage_even_odd(
            plane.polygons,
            lattice.x0_mm,
            lattice.y0_mm,
            lattice.dx_mm,
            lattice.dy_mm,
            (lattice.n_rows, lattice.n_cols),
        )
        rows, cols = np.nonzero(frac > 0.0)
        out.append(
            PlaneSamples(
                z_mm=float(slabs.z_mm[k]),
                lower_mm=float(slabs.lower_mm[k]),
                upper_mm=float(slabs.upper_mm[k]),
                rows=rows,
                cols=cols,
                fraction=frac[rows, cols],
            )
        )
    return out
