"""Reading metric values off a cumulative DVH, by interpolation, never nearest bin.

Definitions (volumes relative to the part of the structure inside the dose
grid; the part outside has no known dose and is reported separately):

* ``V(d)``: volume receiving at least ``d`` — linear between curve points.
* ``D(v)``: the highest dose that a volume ``v`` receives at least, i.e. the
  dose where ``V`` falls to ``v``; ``D(0) = Max`` and ``D(V_total) = Min``.
* ``DC x cc``: the dose to the coldest ``x`` cc, ``D(V_total - x)``.
* ``CV x Gy``: volume receiving less than ``x``, ``V_total - V(x)``.

Undefined values raise :class:`MetricUndefinedError`: an empty structure, a
volume larger than the structure, a relative dose without a prescription.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from plancheck.dvh.metric import Metric, OutputUnit, Query
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

__all__ = ["dose_at_volume_gy", "metric_value", "volume_at_dose_cc", "volumes_at_doses_cc"]

# A volume request may exceed the structure by this much (float rounding) and still be met.
_VOLUME_SLACK = 1e-9
# Share of the structure volume below which a volume read off the curve is rounding residue
# (the curve is a difference of cumulative sums; its residue is ~1e-14 of the volume).
_VOLUME_RESOLUTION = 1e-9


def volume_at_dose_cc(dvh: Dvh, dose_gy: float) -> float:
    """Volume (cc, inside the grid) receiving at least ``dose_gy``: linear between curve edges.

    Exact at the ends of the structure's dose range: the whole volume at or
    below ``min_gy``, exactly 0 above ``max_gy``, and values within the curve's
    resolution of 0 or of the whole volume are those exact values, never a
    rounding residue such as 1e-13 cc.
    """
    cum = dvh.cumulative_cc
    total = float(cum[0])
    if dose_gy <= 0.0 or (dvh.min_gy is not None and dose_gy <= dvh.min_gy):
        return total
    if dvh.max_gy is not None and dose_gy > dvh.max_gy:
        return 0.0
    edges = dvh.dose_edges_gy
    k = int(np.searchsorted(edges, dose_gy, side="right")) - 1
    if k >= cum.size - 1:
        return 0.0
    t = (dose_gy - float(edges[k])) / (float(edges[k + 1]) - float(edges[k]))
    volume = float(cum[k] + t * (cum[k + 1] - cum[k]))
    if volume <= _VOLUME_RESOLUTION * total:
        return 0.0
    if volume >= total * (1.0 - _VOLUME_RESOLUTION):
        return total
    return volume


def volumes_at_doses_cc(dvh: Dvh, doses_gy: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """:func:`volume_at_dose_cc` at many doses at once (for curves in reports)."""
    d = np.asarray(doses_gy, dtype=np.float64)
    cum = dvh.cumulative_cc
    if cum.size < 2:
        return np.where(d <= 0.0, float(cum[0]) if cum.size else 0.0, 0.0)
    return np.asarray(np.interp(d, dvh.dose_edges_gy, cum, left=float(cum[0]), right=0.0))


def dose_at_volume_gy(dvh: Dvh, volume_cc: float) -> float:
    """The dose ``d`` where the curve falls to ``volume_cc``: at least ``volume_cc`` receives ``d``."""
    cum = dvh.cumulative_cc
    total = float(cum[0])
    if volume_cc > total * (1 + _VOLUME_SLACK):
        raise ValueError("volume larger than the structure")
    if dvh.max_gy is None or dvh.min_gy is None:
        raise ValueError("empty structure")
    if volume_cc <= 0.0:
        return dvh.max_gy
    if volume_cc >= total:
        return dvh.min_gy
    # first edge where the curve is below the requested volume (the curve is non-increasing)
    k = int(np.searchsorted(-cum, -volume_cc, side="right"))
    if k >= cum.size:
        return dvh.max_gy
    edges = dvh.dose_edges_gy
    hi_v, lo_v = float(cum[k - 1]), float(cum[k])
    frac = (hi_v - volume_cc) / (hi_v - lo_v)
    dose = float(edges[k - 1]) + frac * (float(edges[k]) - float(edges[k - 1]))
    return float(min(max(dose, dvh.min_gy), dvh.max_gy))


def _dose_output(metric: Metric, dose_gy: float, prescription_gy: float | None) -> float:
    unit = metric.output_unit
    if unit is OutputUnit.CGY:
        return dose_gy * 100.0
    if unit is OutputUnit.PERCENT:
        assert prescription_gy is not None
        return 100.0 * dose_gy / prescription_gy
    return dose_gy


def metric_value(metric: Metric, dvh: Dvh, prescription_gy: float | None = None) -> float:
    """Value of ``metric`` on ``dvh`` in the metric's output unit.

    The caller passes the DVH of the metric's dose quantity (physical, or the
    EQD2/BED distribution for biological units).

    Raises
    ------
    MetricUndefinedError
        With the reason, whenever no honest number exists.
    """
    text = metric.text
    if metric.query is Query.VOLUME:
        if dvh.volume_cc <= 0.0:
            raise MetricUndefinedError(text, "the structure has no volume (no closed contours)")
        return dvh.volume_cc
    if metric.needs_prescription and (prescription_gy is None or prescription_gy <= 0):
        raise MetricUndefinedError(
            text, "it is relative to a prescription dose and none is known for this structure"
        )
    total = dvh.volume_in_grid_cc
    if total <= 0.0 or dvh.max_gy is None or dvh.min_gy is None or dvh.mean_gy is None:
        reason = (
            "the structure lies entirely outside the dose grid"
            if dvh.volume_cc > 0
            else "the structure has no volume (no closed contours)"
        )
        raise MetricUndefinedError(text, reason)

    q = metric.query
    if q is Query.MAX:
        return _dose_output(metric, dvh.max_gy, prescription_gy)
    if q is Query.MIN:
        return _dose_output(metric, dvh.min_gy, prescription_gy)
    if q is Query.MEAN:
        return _dose_output(metric, dvh.mean_gy, prescription_gy)

    assert metric.parameter is not None
    if q in (Query.DOSE_AT_VOLUME, Query.DOSE_TO_COLDEST_VOLUME):
        if metric.parameter_unit == "%":
            volume = total * metric.parameter / 100.0
        else:
            volume = metric.parameter
            if volume > total * (1 + _VOLUME_SLACK):
                raise MetricUndefinedError(
                    text,
                    f"it needs {volume:g} cc but the structure has only {total:.3f} cc inside the dose grid",
                )
        if q is Query.DOSE_TO_COLDEST_VOLUME:
            volume = total - volume
        return _dose_output(metric, dose_at_volume_gy(dvh, volume), prescription_gy)

    # V / CV: the parameter is a dose
    if metric.parameter_unit == "%":
        assert prescription_gy is not None
        dose = prescription_gy * metric.parameter / 100.0
    elif metric.parameter_unit == "cGy":
        dose = metric.parameter / 100.0
    else:
        dose = metric.parameter
    volume = volume_at_dose_cc(dvh, dose)
    if q is Query.COLD_VOLUME_AT_DOSE:
        volume = total - volume
    if metric.output_unit is OutputUnit.PERCENT:
        return 100.0 * volume / total
    return volume
