"""A second opinion: plancheck's DVH against the one the planning system stored.

Where an RTDOSE carries the TPS's own DVHs (DVHSequence), each structure's
volume, mean, D95%, D50%, D2% and D0.03cc are compared. The tolerances are the
ones plancheck is validated to on a real Eclipse plan (docs/validation.md):
volume 2 %, mean 1 %, D95/D50/D2 2 %, D0.03cc 3 % — each dose tolerance with a
floor of 0.05 Gy, so near-zero doses are not flagged for noise. Differences
beyond them are flagged for the reviewer; they are not errors of either system
by themselves (end-cap conventions, grid coverage and small volumes explain
most, see the validation document).

One pattern is named as such: when plancheck's doses are the planning
system's times one factor across structures (a dose grid scaled wrongly,
DoseGridScaling or units), :func:`consistent_scale` finds it: the median
ratio of the dose values, provided at least three of them from two or more
structures agree with it within 1 % and it lies beyond the dose tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plancheck.dvh.values import dose_at_volume_gy
from plancheck.model import Dvh, TpsDvh

__all__ = [
    "TOLERANCES",
    "CrossCheckRow",
    "ScaleEstimate",
    "compare_with_tps",
    "consistent_scale",
    "tps_dose_at_volume_gy",
]

_DOSE_METRICS = ("Mean[Gy]", "D95%[Gy]", "D50%[Gy]", "D2%[Gy]", "D0.03cc[Gy]")
_SCALE_AGREEMENT = 0.01  # ratios within 1 % of the median count as one factor
_SCALE_SHARE = 0.75  # ... for at least this share of the dose values
_SCALE_MIN_DOSE_SHARE = 0.1  # dose values below 10 % of the largest are too noisy to use

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


@dataclass(frozen=True)
class ScaleEstimate:
    """plancheck's doses as a multiple of the planning system's, over several structures."""

    factor: float
    n_values: int
    n_structures: int
    spread: float  # largest relative distance from the factor among the values that agree

    def describe(self) -> str:
        return (
            f"plancheck's doses are {self.factor:.3g} × the planning system's "
            f"({self.n_values} dose values of {self.n_structures} structures agree within "
            f"{100 * self.spread:.1f} %): check the dose grid's scaling (DoseGridScaling, DoseUnits) "
            "against the planning system"
        )


def consistent_scale(rows: dict[str, tuple[CrossCheckRow, ...]]) -> ScaleEstimate | None:
    """The factor between plancheck's and the planning system's doses, if one explains them.

    ``rows`` are the cross-check rows per structure. Returns None when the
    dose values do not share one factor, or when it is within the dose
    tolerance (2 %) of 1.
    """
    values: list[tuple[str, float, float]] = [
        (name, r.plancheck, r.tps)
        for name, structure_rows in rows.items()
        for r in structure_rows
        if r.metric in _DOSE_METRICS and r.plancheck is not None and r.tps is not None
    ]
    if not values:
        return None
    top = max(t for _, _, t in values)
    usable = [(n, p, t) for n, p, t in values if t > _SCALE_MIN_DOSE_SHARE * top and p > 0]
    if len(usable) < 3:
        return None
    ratios = np.array([p / t for _, p, t in usable])
    factor = float(np.median(ratios))
    close = np.abs(ratios / factor - 1.0) <= _SCALE_AGREEMENT
    names = {usable[k][0] for k in np.flatnonzero(close)}
    if close.sum() < max(3, _SCALE_SHARE * ratios.size) or len(names) < 2:
        return None
    if abs(factor - 1.0) <= TOLERANCES["D50%[Gy]"][0]:
        return None
    spread = float(np.max(np.abs(ratios[close] / factor - 1.0)))
    return ScaleEstimate(factor, int(close.sum()), len(names), spread)
