"""The DVH engine: partial-volume sampling of a structure in a dose field.

Conventions (documented for users in the README, "How plancheck computes a DVH"):

* Contours on one plane combine by the even-odd rule; each plane is a slab
  bounded halfway to its neighbours, with end caps per :class:`EndCaps`
  (half a contour spacing by default) — see :mod:`plancheck.dvh.slabs`.
* The structure is sampled on the grid it is given with (the *reference*
  grid): boxes that each lie inside one cell between grid points, whole
  cells in the bulk of the structure and finer pixels where the contours
  cross a cell (:mod:`plancheck.dvh.sampling`). Boxes partly inside the
  contours count with the fraction inside.
* The dose is a field (:mod:`plancheck.dose.field`): the trilinear
  interpolation of each plan part's grid, at the box centres, converted
  per point (EQD2/BED) and summed. The grids cover their voxel cells (half a
  spacing beyond the outer grid points, with the edge value). Structure
  volume where the field is unknown is *outside the dose grid*: it counts in
  ``Dvh.volume_cc`` and ``Dvh.volume_outside_grid_cc`` (and per grid in
  ``Dvh.outside_grid_by_source_cc``) and nowhere else.
* Each box contributes its volume spread uniformly over the dose range of a
  linear field over it (:mod:`plancheck.dvh.histogram`). The sampling follows
  the dose where it matters (:mod:`plancheck.dvh.evaluate`): the boxes that
  reach the top or the bottom ``tail_cc`` of the curve, where a few boxes
  make the near-maximum and near-minimum metrics, are halved along the axes
  (other than the steepest) over which the dose changes by more than
  :attr:`DvhSettings.split_gy` (or ``split_relative`` of the dose); a
  converted dose summed over several parts is halved along the steepest axis
  where the conversion bends over a box; a box across the edge of another
  plan's grid is halved across it.
* Max and Min are the largest and smallest field values inside the
  contours, found exactly for a single grid: inside one cell the trilinear
  dose is largest at a corner of a box wholly inside the contours, or on the
  contours themselves (:mod:`plancheck.dvh.extremes`). No value of the curve
  lies above Max or below Min.
* A plan's EQD2 or BED (one plan part) is increasing in its physical dose, so
  its DVH is the physical DVH with the dose axis converted: exact, and
  computed once per structure and plan part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plancheck.dose.biology import LqConversion
from plancheck.dose.field import Contribution, DoseField, physical_field
from plancheck.dvh.evaluate import Pass
from plancheck.dvh.histogram import DoseAxis
from plancheck.dvh.sampling import (
    Lattice,
    PlaneSamples,
    ZCells,
    choose_lattice,
    clipped_planes,
    plane_masks,
)
from plancheck.dvh.slabs import compute_slabs
from plancheck.geometry.lattice import PlaneLattice
from plancheck.model import DoseGrid, Dvh, EndCaps, Structure

__all__ = [
    "DvhSettings",
    "StructureSampling",
    "compute_dvh",
    "dvh_from_sampling",
    "field_dvh",
    "sample_structure",
]

FloatArray = npt.NDArray[np.floating]


@dataclass(frozen=True)
class DvhSettings:
    """How DVHs are computed. The defaults are the accurate ones.

    Attributes
    ----------
    end_caps : EndCaps
        Extent beyond the first and last contour planes.
    bin_width_gy : float
        Spacing of the curve's edges at low doses (1 mGy).
    relative_resolution : float
        Relative spacing of the edges above ``bin_width_gy / relative_resolution``
        (1e-4: 0.01 %, from 10 Gy up). A metric read off the curve is within
        ``max(bin_width_gy, relative_resolution × dose)`` of the sampled distribution.
    max_samples : int
        Upper bound on pixel samples per structure; larger structures get a
        coarser in-plane lattice (never coarser than the dose grid).
    tail_cc, tail_fraction : float
        The top and the bottom ``min(tail_cc, tail_fraction × volume)`` of the
        curve (1 cc, or a tenth of a smaller structure), where a few boxes make
        the near-maximum and near-minimum metrics, are sampled more finely.
    split_gy, split_relative : float
        There, a box is halved along an axis (other than the steepest) while the
        dose changes along it by more than ``max(split_gy, split_relative × dose)``;
        and anywhere, a box over which a converted dose summed over several
        parts bends by more than that is halved along its steepest axis.
    max_splits : int
        How many times a box may be halved.
    tail_boxes : int
        A box no bigger than the tail's volume over ``tail_boxes`` is not halved.
    """

    end_caps: EndCaps = EndCaps.HALF
    bin_width_gy: float = 0.001
    relative_resolution: float = 1e-4
    max_samples: int = 6_000_000
    split_gy: float = 0.01
    split_relative: float = 0.002
    max_splits: int = 4
    tail_cc: float = 1.0
    tail_fraction: float = 0.1
    tail_boxes: int = 512

    @property
    def axis(self) -> DoseAxis:
        return DoseAxis(self.bin_width_gy, self.relative_resolution)


@dataclass(frozen=True, eq=False)
class StructureSampling:
    """A structure sampled on one reference grid; reusable for every dose field on it.

    ``clipped``: the contours were cut to the grid's in-plane coverage (the
    part cut away has no dose from this grid). Fields that do not use the grid
    itself are evaluated on an uncut sampling (:meth:`uncut`).
    """

    structure: Structure
    grid: DoseGrid
    lattice: Lattice
    planes: tuple[PlaneSamples, ...]
    zcells: ZCells
    nominal_spacing_mm: float | None = None
    plane_lattice: PlaneLattice | None = None
    clipped: bool = True
    # physical DVHs (with their second moments) per single contribution, for EQD2/BED
    _physical: dict[tuple[int, int], _PhysicalResult] = field(default_factory=dict, repr=False)
    _uncut: list[StructureSampling] = field(default_factory=list, repr=False)

    def uncut(self, settings: DvhSettings) -> StructureSampling:
        """The same structure sampled without cutting its contours to the grid."""
        if not self.clipped:
            return self
        if not self._uncut:
            again = _sample(
                self.structure,
                self.grid,
                settings,
                self.nominal_spacing_mm,
                self.plane_lattice,
                clip=False,
            )
            assert again is not None
            self._uncut.append(again)
        return self._uncut[0]


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
    return _sample(
        structure, grid, settings or DvhSettings(), nominal_spacing_mm, plane_lattice, clip=True
    )


def _sample(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings,
    nominal_spacing_mm: float | None,
    plane_lattice: PlaneLattice | None,
    clip: bool,
) -> StructureSampling | None:
    if not structure.has_volume:
        return None
    z = np.array([p.z_mm for p in structure.planes], dtype=np.float64)
    slabs = compute_slabs(z, settings.end_caps, nominal_spacing_mm, plane_lattice)
    cut = clipped_planes(structure, grid if clip else None)
    lattice = choose_lattice(structure, slabs, grid, settings.max_samples, [c[0] for c in cut])
    planes = tuple(plane_masks(structure, slabs, lattice, grid, cut))
    zcells = ZCells.of(grid, float(slabs.lower_mm.min()), float(slabs.upper_mm.max()))
    return StructureSampling(
        structure, grid, lattice, planes, zcells, nominal_spacing_mm, plane_lattice, clip
    )


def compute_dvh(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    nominal_spacing_mm: float | None = None,
    plane_lattice: PlaneLattice | None = None,
) -> Dvh:
    """Cumulative DVH of ``structure`` in the (physical) dose of ``grid``.

    Parameters
    ----------
    structure : Structure
        Closed planar contours, sorted by z, in the grid's frame.
    grid : DoseGrid
        Dose in Gy.
    settings : DvhSettings, optional
    nominal_spacing_mm : float, optional
        Slab thickness for a structure contoured on a single plane.
    plane_lattice : PlaneLattice, optional
        The structure set's plane lattice (default: the structure's own planes).
    """
    settings = settings or DvhSettings()
    sampling = sample_structure(structure, grid, settings, nominal_spacing_mm, plane_lattice)
    return dvh_from_sampling(sampling, grid, settings)


def dvh_from_sampling(
    sampling: StructureSampling | None,
    dose: DoseGrid | DoseField,
    settings: DvhSettings | None = None,
) -> Dvh:
    """The DVH of a sampled structure in ``dose``: a grid's physical dose, or a field."""
    fld = dose if isinstance(dose, DoseField) else physical_field(Contribution(dose, None, "dose"))
    return field_dvh(sampling, fld, settings)


def field_dvh(sampling: StructureSampling | None, fld: DoseField, settings: DvhSettings | None = None) -> Dvh:
    """The DVH of a sampled structure in the dose field ``fld``.

    A field of one contribution is computed as that contribution's physical
    DVH with its dose axis converted (exact; the physical DVH is computed
    once per sampling and contribution). Any other field is evaluated and
    converted point by point.
    """
    settings = settings or DvhSettings()
    if sampling is None:
        return Dvh(settings.bin_width_gy, np.zeros(1), 0.0, 0.0, None, None, None)
    if len(fld.contributions) == 1:
        c = fld.contributions[0]
        key = (id(c.dose), id(c.mapping))
        phys = sampling._physical.get(key)
        if phys is None or phys.settings != settings:
            phys = _evaluate(sampling, physical_field(c), settings)
            sampling._physical[key] = phys
        conv = fld.conversions[0]
        if conv.is_identity and c.weight == 1.0:
            return phys.dvh
        return _convert(phys, conv, c.weight)
    return _evaluate(sampling, fld, settings).dvh


@dataclass(frozen=True, eq=False)
class _PhysicalResult:
    dvh: Dvh
    settings: DvhSettings
    mean_square_gy2: float | None  # volume mean of D², including each box's spread


def _convert(phys: _PhysicalResult, conv: LqConversion, weight: float) -> Dvh:
    """The DVH of ``weight · f(D)`` from the DVH of D, for an increasing ``f``."""
    d = phys.dvh
    if d.mean_gy is None or d.min_gy is None or d.max_gy is None or phys.mean_square_gy2 is None:
        return Dvh(
            d.bin_width_gy, d.cumulative_cc, d.volume_cc, d.volume_outside_grid_cc, None, None, None,
            d.edges_gy, d.outside_grid_by_source_cc,
        )  # fmt: skip
    edges = weight * conv(d.dose_edges_gy)
    # f is quadratic: the mean of f(D) is a mean of D plus b times the mean of D²
    mean = weight * (conv.linear * d.mean_gy + conv.quadratic * phys.mean_square_gy2)
    return Dvh(
        d.bin_width_gy,
        d.cumulative_cc,
        d.volume_cc,
        d.volume_outside_grid_cc,
        float(weight * conv(np.array(d.min_gy))),
        float(mean),
        float(weight * conv(np.array(d.max_gy))),
        np.asarray(edges, dtype=np.float64),
        d.outside_grid_by_source_cc,
    )


def _evaluate(sampling: StructureSampling, fld: DoseField, settings: DvhSettings) -> _PhysicalResult:
    """Evaluate ``fld`` over the structure (see :mod:`plancheck.dvh.evaluate`)."""
    if sampling.clipped and not any(c.mapping is None and c.dose.same_points_as(sampling.grid) for c in fld.contributions):
        # contours were cut to the reference grid, which this field does not use: sample them whole
        sampling = sampling.uncut(settings)
    run = Pass(sampling, fld, settings)
    run.run()
    acc = run.acc
    in_cc = acc.volume_cc
    outside_cc = run.outside_cc
    total = in_cc + outside_cc
    by_source = tuple(
        (label, float(v)) for label, v in zip(fld.labels, run.outside_by, strict=True) if v > 0.0
    )
    if in_cc <= 1e-12 * max(total, 1e-300):
        empty = Dvh(settings.bin_width_gy, np.zeros(1), total, outside_cc, None, None, None, None, by_source)
        return _PhysicalResult(empty, settings, None)
    low, high = run.extremes.result()
    cumulative = acc.cumulative_cc(low, high)
    dvh = Dvh(
        bin_width_gy=settings.bin_width_gy,
        cumulative_cc=cumulative,
        volume_cc=total,
        volume_outside_grid_cc=outside_cc,
        min_gy=low,
        mean_gy=min(max(acc.dose_volume_gy_cc / in_cc, low), high),
        max_gy=high,
        edges_gy=acc.edges_gy,
        outside_grid_by_source_cc=by_source,
    )
    return _PhysicalResult(dvh, settings, run.square_sum / in_cc)
