"""How thick each contour plane's slab is.

A structure is the stack of right prisms its contours define: the contour of
plane ``k`` is extruded over the slab ``[lower_k, upper_k]``. The slabs follow
the structure set's *plane lattice* (its image slices, as all ROIs' planes
show them: :mod:`plancheck.geometry.lattice`), or, without one, the
structure's own planes.

* A *run* is a sequence of the structure's planes on consecutive lattice
  planes. Within a run the boundary between two planes lies halfway between
  them, so uneven spacing needs no special case.
* A structure that skips lattice planes (contoured on some slices only), or
  that spans a hole of the lattice, is several runs: separate parts.
* The ends of every run extend outwards by half the step to the neighbouring
  lattice plane with :attr:`EndCaps.HALF` (half a slice: each plane a full
  slab of its slice), and not at all with :attr:`EndCaps.NONE`. Where there is
  no neighbouring plane on that side (the lattice's end, a hole) the step on
  the run's other side is used. A run of one plane always gets half caps on
  both sides, else it would have no volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.geometry.lattice import (
    GAP_FACTOR,
    PlaneLattice,
    lattice_from_positions,
    regular_lattice,
)
from plancheck.model import EndCaps

__all__ = ["GAP_FACTOR", "Slabs", "compute_slabs"]


@dataclass(frozen=True, eq=False)
class Slabs:
    """Slab bounds of each plane, in mm, same order as the planes (ascending z).

    ``n_gaps`` is the number of breaks between runs (the structure is
    ``n_gaps + 1`` separate parts along z); ``spacing_mm`` the lattice's median
    spacing.
    """

    z_mm: npt.NDArray[np.float64]
    lower_mm: npt.NDArray[np.float64]
    upper_mm: npt.NDArray[np.float64]
    spacing_mm: float
    n_gaps: int

    @property
    def thickness_mm(self) -> npt.NDArray[np.float64]:
        return self.upper_mm - self.lower_mm


def compute_slabs(
    z_mm: npt.ArrayLike,
    end_caps: EndCaps,
    nominal_spacing_mm: float | None = None,
    lattice: PlaneLattice | None = None,
) -> Slabs:
    """Slab bounds for planes at ascending ``z_mm``.

    Parameters
    ----------
    z_mm : array_like, shape (planes,)
        Plane positions, strictly ascending.
    end_caps : EndCaps
        Convention at the ends of each run (``HALF`` or ``NONE``).
    nominal_spacing_mm : float, optional
        Slab thickness of a plane that has no lattice neighbour at all (a
        structure set of one plane). Ignored otherwise.
    lattice : PlaneLattice, optional
        The structure set's lattice. Without one (or when the planes do not
        lie on it) the structure's own planes are its lattice.

    Raises
    ------
    ValueError
        When the planes do not ascend, ``end_caps`` is not resolved, or a
        plane has no neighbour and no nominal spacing is given.
    """
    if end_caps not in (EndCaps.HALF, EndCaps.NONE):
        raise ValueError(f"end caps must be resolved to 'half' or 'none', not {end_caps.value!r}")
    z = np.asarray(z_mm, dtype=np.float64)
    n = z.size
    if n == 0:
        empty = np.zeros(0)
        return Slabs(empty, empty, empty, 0.0, 0)
    if n > 1 and np.any(np.diff(z) <= 0):
        raise ValueError("contour planes must be strictly ascending in z")
    idx = lattice.indices(z) if lattice is not None else None
    if lattice is not None and idx is None:
        # planes off the lattice (a derived structure's, beyond the set's planes): join them
        lattice = regular_lattice(np.concatenate([lattice.z_mm, z]))
        idx = lattice.indices(z) if lattice is not None else None
    if lattice is None or idx is None:
        lattice = lattice_from_positions(z)
        assert lattice is not None
        idx = np.arange(n, dtype=np.intp)
    spacing = lattice.spacing_mm
    if spacing is None:
        if nominal_spacing_mm is None or not nominal_spacing_mm > 0:
            raise ValueError(
                "a structure with a single contour plane needs a nominal contour spacing"
            )
        spacing = float(nominal_spacing_mm)

    # neighbours within the structure: planes k and k+1 on adjacent lattice planes
    joined = (np.diff(idx) == 1) & np.array(
        [lattice.adjacent(int(i)) for i in idx[:-1]], dtype=bool
    )
    lower = np.empty(n)
    upper = np.empty(n)
    half_caps = end_caps is EndCaps.HALF
    for k in range(n):
        i = int(idx[k])
        below = lattice.step_below_mm(i)
        above = lattice.step_above_mm(i)
        local_below = below if below is not None else (above if above is not None else spacing)
        local_above = above if above is not None else (below if below is not None else spacing)
        start = k == 0 or not joined[k - 1]
        end = k == n - 1 or not joined[k]
        cap = half_caps or (start and end)  # a lone plane always keeps half caps
        lower[k] = z[k] - (0.5 * local_below if cap else 0.0) if start else 0.5 * (z[k - 1] + z[k])
        upper[k] = z[k] + (0.5 * local_above if cap else 0.0) if end else 0.5 * (z[k] + z[k + 1])
    return Slabs(z, lower, upper, float(spacing), int(np.count_nonzero(~joined)))
