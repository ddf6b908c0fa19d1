"""The plane lattice of a structure set: where its image slices are, as the contours show.

Contours are drawn on the slices of an image series, and a planning system
gives each contour a slab as thick as its slice. The positions of those slices
are the *lattice*: all ROIs' plane positions together (positions within
:data:`LATTICE_MERGE_MM` are one). An ROI that is not contoured on some slices
between its first and last plane *skips* them: it is then several separate
parts, each a run of consecutive lattice planes (see
:mod:`plancheck.dvh.slabs`).

* A lattice step more than :data:`GAP_FACTOR` times as long as the shorter of
  its neighbouring steps is a *hole*: no ROI is contoured there (two
  structures one above the other, with nothing between them). An ROI across a
  hole is in two parts; a step twice its neighbours (one slice no ROI has) or
  a change of slice thickness (2.5 mm -> 5 mm) is not a hole.
* A lattice whose steps do not look like image slices (a step shorter than
  :data:`MIN_STEP_FRACTION` of the median step, or steps that change length
  more often than a few times: ROIs contoured on the slices of different
  image series, or stray planes) cannot tell which slices an ROI skips. When
  some ROI would then skip lattice planes, :func:`structure_set_lattice`
  returns ``None`` and each ROI's slabs follow its own planes, as if it had no
  skipped slices.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.model import Structure

__all__ = [
    "GAP_FACTOR",
    "LATTICE_MERGE_MM",
    "MIN_STEP_FRACTION",
    "PlaneLattice",
    "Skip",
    "lattice_from_positions",
    "regular_lattice",
    "skipped_planes",
    "structure_set_lattice",
]

FloatArray = npt.NDArray[np.float64]

LATTICE_MERGE_MM = 0.05
GAP_FACTOR = 2.5
MIN_STEP_FRACTION = 0.4


@dataclass(frozen=True, eq=False)
class PlaneLattice:
    """Ascending plane positions ``z_mm`` and, per step, whether it is a hole.

    ``hole_after[k]`` is True when the step from ``z_mm[k]`` to ``z_mm[k + 1]``
    is a hole (no slices between).
    """

    z_mm: FloatArray
    hole_after: npt.NDArray[np.bool_]

    @property
    def size(self) -> int:
        return int(self.z_mm.size)

    @property
    def spacing_mm(self) -> float | None:
        """Median step that is not a hole; None for a single position."""
        steps = np.diff(self.z_mm)[~self.hole_after]
        return float(np.median(steps)) if steps.size else None

    def step_below_mm(self, k: int) -> float | None:
        """The step from position ``k`` down to its neighbour, unless there is none or it is a hole."""
        if k <= 0 or bool(self.hole_after[k - 1]):
            return None
        return float(self.z_mm[k] - self.z_mm[k - 1])

    def step_above_mm(self, k: int) -> float | None:
        """The step from position ``k`` up to its neighbour, unless there is none or it is a hole."""
        if k >= self.size - 1 or bool(self.hole_after[k]):
            return None
        return float(self.z_mm[k + 1] - self.z_mm[k])

    def adjacent(self, k: int) -> bool:
        """True when positions ``k`` and ``k + 1`` are neighbouring slices (no hole between)."""
        return not bool(self.hole_after[k])

    def indices(self, z_mm: npt.ArrayLike) -> npt.NDArray[np.intp] | None:
        """The lattice index of each of the ascending ``z_mm``; None if one is not on the lattice.

        Also None when two of them fall on one lattice position.
        """
        z = np.asarray(z_mm, dtype=np.float64)
        if z.size == 0:
            return np.zeros(0, dtype=np.intp)
        k = np.clip(np.searchsorted(self.z_mm, z), 0, self.size - 1)
        below = np.clip(k - 1, 0, self.size - 1)
        nearer = np.where(np.abs(self.z_mm[below] - z) < np.abs(self.z_mm[k] - z), below, k)
        if np.any(np.abs(self.z_mm[nearer] - z) > LATTICE_MERGE_MM):
            return None
        if nearer.size > 1 and np.any(np.diff(nearer) <= 0):
            return None
        return nearer.astype(np.intp)


def _merge(z: FloatArray) -> FloatArray:
    """Sorted positions, those within :data:`LATTICE_MERGE_MM` of the previous one merged (mean)."""
    z = np.sort(z[np.isfinite(z)])
    if z.size == 0:
        return z
    breaks = np.flatnonzero(np.diff(z) > LATTICE_MERGE_MM) + 1
    return np.array([float(g.mean()) for g in np.split(z, breaks)])


def lattice_from_positions(z_mm: npt.ArrayLike) -> PlaneLattice | None:
    """The lattice of these plane positions (any order, repeats merged); None when empty."""
    z = _merge(np.asarray(z_mm, dtype=np.float64).ravel())
    if z.size == 0:
        return None
    steps = np.diff(z)
    holes = np.zeros(steps.size, dtype=bool)
    if steps.size > 1:
        prev = np.concatenate([[np.inf], steps[:-1]])
        nxt = np.concatenate([steps[1:], [np.inf]])
        holes = steps > GAP_FACTOR * np.minimum(prev, nxt)
    return PlaneLattice(z, holes)


def _slice_like(lattice: PlaneLattice) -> bool:
    """True when the steps look like the slices of one image series (see the module notes)."""
    steps = np.diff(lattice.z_mm)
    if steps.size < 2:
        return True
    if steps.min() < MIN_STEP_FRACTION * float(np.median(steps)):
        return False
    changes = np.abs(np.diff(steps)) > LATTICE_MERGE_MM + 0.01 * steps[1:]
    return int(np.count_nonzero(changes)) <= 2 + steps.size // 10


def regular_lattice(z_mm: npt.ArrayLike) -> PlaneLattice | None:
    """The lattice of these positions; None when there are none or they do not look like slices."""
    lattice = lattice_from_positions(z_mm)
    if lattice is None or not _slice_like(lattice):
        return None
    return lattice


def structure_set_lattice(structures: Iterable[Structure]) -> PlaneLattice | None:
    """The lattice of all ROIs' planes; None when there are none or it cannot be trusted.

    A lattice whose steps do not look like slices is still used when no ROI
    skips any of its planes (it then changes nothing but the end caps' size).
    """
    structures = tuple(structures)
    lattice = lattice_from_positions([p.z_mm for s in structures for p in s.planes])
    if lattice is None or _slice_like(lattice):
        return lattice
    for s in structures:
        if skipped_planes([p.z_mm for p in s.planes], lattice):
            return None
    return lattice


@dataclass(frozen=True)
class Skip:
    """Lattice planes an ROI skips between two of its planes (``below_mm`` < ``above_mm``)."""

    below_mm: float
    above_mm: float
    n_planes: int


def skipped_planes(z_mm: Sequence[float] | FloatArray, lattice: PlaneLattice | None) -> tuple[Skip, ...]:
    """Where an ROI with ascending planes ``z_mm`` skips lattice planes.

    A hole of the lattice between two neighbouring lattice planes is not a
    skip: no slice is left out there.
    """
    if lattice is None or len(z_mm) < 2:
        return ()
    idx = lattice.indices(z_mm)
    if idx is None:
        return ()
    out = []
    for a, b in itertools.pairwise(idx.tolist()):
        if b - a > 1:
            out.append(Skip(float(lattice.z_mm[a]), float(lattice.z_mm[b]), int(b - a - 1)))
    return tuple(out)
