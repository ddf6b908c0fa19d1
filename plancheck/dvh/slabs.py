"""How thick each contour plane's slab is.

A structure is the stack of right prisms its contours define: the contour of
plane ``k`` is extruded over the slab ``[lower_k, upper_k]``.

* Between two planes the boundary lies halfway between them, so uneven
  spacing needs no special case.
* A *gap* is a distance between neighbouring planes of more than
  ``GAP_FACTOR`` (2.5) times the structure's median plane spacing: a
  structure in two parts along z, or several planes left out. Across a gap
  each side ends as if it were an end plane. A single missing plane (twice
  the spacing) or a change of CT slice thickness (2.5 -> 5 mm) is uneven
  spacing, not a gap, and is bridged.
* End planes (the first, the last, and those beside a gap) extend half the
  median spacing outwards with :attr:`EndCaps.HALF`, and not at all with
  :attr:`EndCaps.NONE`. A plane that is an end on both sides (a single
  plane, or one isolated by gaps) always gets half caps, else it would have
  no volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.model import EndCaps

__all__ = ["GAP_FACTOR", "Slabs", "compute_slabs"]

GAP_FACTOR = 2.5


@dataclass(frozen=True, eq=False)
class Slabs:
    """Slab bounds of each plane, in mm, same order as the planes (ascending z)."""

    z_mm: npt.NDArray[np.float64]
    lower_mm: npt.NDArray[np.float64]
    upper_mm: npt.NDArray[np.float64]
    spacing_mm: float
    n_gaps: int

    @property
    def thickness_mm(self) -> npt.NDArray[np.float64]:
        return self.upper_mm - self.lower_mm


def compute_slabs(
    z_mm: npt.ArrayLike, end_caps: EndCaps, nominal_spacing_mm: float | None = None
) -> Slabs:
    """Slab bounds for planes at ascending ``z_mm``.

    Parameters
    ----------
    z_mm : array_like, shape (planes,)
        Plane positions, strictly ascending.
    end_caps : EndCaps
        Convention at the ends of the structure.
    nominal_spacing_mm : float, optional
        Spacing to use when the structure has a single plane (typically the
        structure set's median contour spacing). Ignored otherwise.
    """
    z = np.asarray(z_mm, dtype=np.float64)
    n = z.size
    if n == 0:
        empty = np.zeros(0)
        return Slabs(empty, empty, empty, 0.0, 0)
    if n > 1 and np.any(np.diff(z) <= 0):
        raise ValueError("contour planes must be strictly ascending in z")
    diffs = np.diff(z)
    if n > 1:
        spacing = float(np.median(diffs))
    elif nominal_spacing_mm is not None and nominal_spacing_mm > 0:
        spacing = float(nominal_spacing_mm)
    else:
        raise ValueError(
            "a structure with a single contour plane needs a nominal contour spacing"
        )
    gap = diffs > GAP_FACTOR * spacing
    half = 0.5 * spacing
    lower = np.empty(n)
    upper = np.empty(n)
    lower[1:] = z[1:] - 0.5 * diffs
    upper[:-1] = z[:-1] + 0.5 * diffs
    # ends: first, last, and both sides of every gap
    is_lower_end = np.zeros(n, dtype=bool)
    is_upper_end = np.zeros(n, dtype=bool)
    is_lower_end[0] = True
    is_upper_end[-1] = True
    is_upper_end[:-1] |= gap
    is_lower_end[1:] |= gap
    isolated = is_lower_end & is_upper_end
    cap = half if end_caps is EndCaps.HALF else 0.0
    lower_cap = np.where(isolated, half, cap)
    lower = np.where(is_lower_end, z - lower_cap, lower)
    upper = np.where(is_upper_end, z + lower_cap, upper)
    return Slabs(z, lower, upper, spacing, int(gap.sum()))
