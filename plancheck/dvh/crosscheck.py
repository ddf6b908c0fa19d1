"""A second opinion: plancheck's DVH against the one the planning system stored.

Where an RTDOSE carries the TPS's own DVHs (DVHSequence), each structure's
volume, mean, D95%, D50%, D2% and D0.03cc are compared. The tolerances are the
ones plancheck is validated to on a real Eclipse plan (docs/validation.md):
volume 2 %, mean 1 %, D95/D50/D2 2 %, D0.03cc 3 % — each dose tolerance with a
floor of 0.05 Gy, so near-zero doses are not flagged for noise. Differences
beyond them are flagged for the reviewer; they are not errors of either system
by themselves (end-cap conventions, grid coverage and small volumes explain
most, see the validation document).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plancheck.dvh.values import dose_at_volume_gy
from plancheck.model import Dvh, TpsDvh

__all__ = ["TOLERANCES", "CrossCheckRow", "compare_with_tps", "tps_dose_at_volume_gy"]

# metric -> (relative tolerance, absolute floor in the metric's unit)
TOLERANCES: dict[str, tuple[float, float]] = {
    "Volume[cc]": (0.02, 0.0),
    "Mean[Gy]": (0.01, 0.05),
    "D95%[Gy]": (0.02, 0.05),
    "D50%[Gy]": (0.02, 0.05),
    "D2%[Gy]": (0.02, 0.05),
    "D0.03cc[Gy]": (0.03, 0.05),
}


@dataclass(frozen=True)
class CrossCheckRow:
    metric: str
    plancheck: float | None
    tps: float | None
    difference: float | None  # plancheck - tps
    tolerance: float | None
    within: bool | None  # None when either value is undefined


def tps_dose_at_volume_gy(tps: TpsDvh, volume_cc: float) -> float | None:
    """Dose at which the TPS's cumulative curve falls to ``volume_cc`` (linear interpolation)."""
    v = np.asarray(tps.cumulative_cc, dtype=np.float64)
    d = np.asarray(tps.dose_gy, dtype=np.float64)
    if v.size < 2 or volume_cc > v[0] or volume_cc < 0:
        return None
    below = np.flatnonzero(v < volume_cc)
    if below.size == 0:
        return float(d[-1])
    k = int(below[0])
    if k == 0:
        return float(d[0])
    frac = (v[k - 1] - volume_cc) / (v[k - 1] - v[k])
    return float(d[k - 1] + frac * (d[k] - d[k - 1]))


def _row(metric: str, ours: float | None, theirs: float | None) -> CrossCheckRow:
    rel, floor = TOLERANCES[metric]
    if ours is None or theirs is None:
        return CrossCheckRow(metric, ours, theirs, None, None, None)
    tol = max(rel * abs(theirs), floor)
    diff = ours - theirs
    return CrossCheckRow(metric, ours, theirs, diff, tol, abs(diff) <= tol)


def compare_with_tps(ours: Dvh, tps: TpsDvh) -> tuple[CrossCheckRow, ...]:
    """Compare plancheck's DVH of a structure with the TPS's stored DVH of the same ROI."""
    tps_volume = float(tps.cumulative_cc[0]) if len(tps.cumulative_cc) else None
    ours_volume = ours.volume_in_grid_cc
    rows = [_row("Volume[cc]", ours.volume_cc if ours.volume_cc > 0 else None, tps_volume)]
    rows.append(_row("Mean[Gy]", ours.mean_gy, tps.mean_gy))
    for name, frac in (("D95%[Gy]", 0.95), ("D50%[Gy]", 0.50), ("D2%[Gy]", 0.02)):
        mine = dose_at_volume_gy(ours, frac * ours_volume) if ours_volume > 0 else None
        theirs = tps_dose_at_volume_gy(tps, frac * tps_volume) if tps_volume else None
        rows.append(_row(name, mine, theirs))
    mine = dose_at_volume_gy(ours, 0.03) if ours_volume >= 0.03 else None
    theirs = tps_dose_at_volume_gy(tps, 0.03) if tps_volume is not None and tps_volume >= 0.03 else None
    rows.append(_row("D0.03cc[Gy]", mine, theirs))
    return tuple(rows)
