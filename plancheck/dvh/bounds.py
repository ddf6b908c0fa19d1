"""What a metric can be when part of a structure's dose is unknown.

A structure partly outside the dose grid has a known DVH for the part inside
and no dose at all for the rest; in a course whose plans' grids differ, part
of the structure may also miss one plan's dose, so its curve can only be too
low there. :func:`metric_range` gives the lowest and the highest value a
metric can take whatever dose those parts really receive (anything from 0 Gy
to an unbounded dose: the grid's own maximum is no bound, since a grid cropped
away from the hot region has a low maximum).

With ``V`` the whole volume, ``C(d)`` the curve (volume inside the grid
receiving at least ``d``), ``M`` the volume outside the grid and ``U`` the
volume inside it whose dose may be higher than the curve says, the true
cumulative DVH lies between

* ``C_low(d) = C(d)`` for ``d > 0`` (the missing part at 0 Gy), and
* ``C_high(d) = min(V_in, C(d) + U) + M`` (the missing and uncertain parts
  at an unbounded dose).

Every metric is monotone in the curve, so its value on these two curves
bounds it: ``D(v)`` lies in ``[D_low(v), D_high(v)]`` with
``D_high(v) = D_curve(v - U - M)`` (unbounded when ``v <= U + M``), ``V(d)``
in ``[C(d), C(d) + U + M]``, the mean in ``[mean_in V_in / V, ∞)`` when any
dose is unknown, ``Max`` in ``[max_in, ∞)``, ``Min`` in ``[0, min_in]``.
Volumes relative to the structure (``D95%``, ``V20Gy[%]``) refer to the whole
volume ``V``.

Pure numpy; the caller decides what a range means for a goal.
"""

from __future__ import annotations

import math

from plancheck.dvh.metric import Metric, OutputUnit, Query
from plancheck.dvh.values import dose_at_volume_gy, metric_value, volume_at_dose_cc
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

__all__ = ["UNKNOWN_VOLUME_CC", "metric_range", "unknown_volume_cc"]

# volumes below this (cc) are rounding noise of the sampling, not unknown dose
UNKNOWN_VOLUME_CC = 1e-6
_SLACK = 1e-9


def unknown_volume_cc(dvh: Dvh, uncertain_cc: float = 0.0) -> float:
    """Volume of the structure whose dose is not fully known (outside the grid or uncertain)."""
    outside = dvh.volume_outside_grid_cc if dvh.volume_outside_grid_cc > UNKNOWN_VOLUME_CC else 0.0
    uncertain = min(max(uncertain_cc, 0.0), dvh.volume_in_grid_cc)
    return outside + (uncertain if uncertain > UNKNOWN_VOLUME_CC else 0.0)


def _dose_out(metric: Metric, dose_gy: float, prescription_gy: float | None) -> float:
    if math.isinf(dose_gy):
        return dose_gy
    unit = metric.output_unit
    if unit is OutputUnit.CGY:
        return dose_gy * 100.0
    if unit is OutputUnit.PERCENT:
        assert prescription_gy is not None
        return 100.0 * dose_gy / prescription_gy
    return dose_gy


def _curve_dose(dvh: Dvh, volume_cc: float) -> float:
    """Dose at ``volume_cc`` on the in-grid curve (volume within [0, V_in])."""
    total = dvh.volume_in_grid_cc
    return dose_at_volume_gy(dvh, min(max(volume_cc, 0.0), total))


def _dose_range(dvh: Dvh, volume_cc: float, hot_cc: float) -> tuple[float, float]:
    """Range of D(volume_cc) over the whole structure."""
    inside = dvh.volume_in_grid_cc
    has_curve = inside > 0 and dvh.max_gy is not None
    # beyond the part inside the grid, only the missing part (at 0 Gy) makes up that volume
    low = _curve_dose(dvh, volume_cc) if volume_cc <= inside * (1 + _SLACK) and has_curve else 0.0
    if volume_cc <= hot_cc * (1 + _SLACK) or not has_curve:
        high = math.inf
    else:
        high = _curve_dose(dvh, volume_cc - hot_cc)
    return low, max(low, high)


def metric_range(
    metric: Metric, dvh: Dvh, prescription_gy: float | None = None, *, uncertain_cc: float = 0.0
) -> tuple[float, float]:
    """Lowest and highest value of ``metric`` whatever the unknown part of the dose is.

    Parameters
    ----------
    metric
        The metric (its dose quantity is that of ``dvh``).
    dvh
        The structure's DVH: the curve of the part inside the grid and
        ``volume_outside_grid_cc`` for the rest.
    prescription_gy
        The prescription of relative metrics.
    uncertain_cc
        Volume inside the grid whose dose may be higher than the curve says
        (a plan of a course whose grid does not reach it).

    Returns
    -------
    (low, high)
        In the metric's output unit; ``high`` may be ``math.inf``. Equal when
        the whole dose is known (then the value of
        :func:`~plancheck.dvh.values.metric_value`).

    Raises
    ------
    MetricUndefinedError
        When the metric has no value whatever the dose (no volume, a volume
        larger than the structure, no prescription for a relative metric).
    """
    text = metric.text
    missing = dvh.volume_outside_grid_cc if dvh.volume_outside_grid_cc > UNKNOWN_VOLUME_CC else 0.0
    uncertain = min(max(uncertain_cc, 0.0), dvh.volume_in_grid_cc)
    if uncertain <= UNKNOWN_VOLUME_CC:
        uncertain = 0.0
    if missing == 0.0 and uncertain == 0.0:
        value = metric_value(metric, dvh, prescription_gy)
        return value, value
    if metric.query is Query.VOLUME:
        value = metric_value(metric, dvh, prescription_gy)
        return value, value
    if metric.needs_prescription and (prescription_gy is None or prescription_gy <= 0):
        raise MetricUndefinedError(
            text, "it is relative to a prescription dose and none is known for this structure"
        )
    whole = dvh.volume_cc
    if whole <= 0.0:
        raise MetricUndefinedError(text, "the structure has no volume (no closed contours)")
    inside = dvh.volume_in_grid_cc
    hot = missing + uncertain

    q = metric.query
    if q is Query.MAX:
        low = dvh.max_gy if dvh.max_gy is not None else 0.0
        return _dose_out(metric, low, prescription_gy), math.inf
    if q is Query.MIN:
        low_gy, high_gy = _dose_range(dvh, whole, hot)
        return _dose_out(metric, low_gy, prescription_gy), _dose_out(metric, high_gy, prescription_gy)
    if q is Query.MEAN:
        low = (dvh.mean_gy or 0.0) * inside / whole
        return _dose_out(metric, low, prescription_gy), math.inf

    assert metric.parameter is not None
    if q in (Query.DOSE_AT_VOLUME, Query.DOSE_TO_COLDEST_VOLUME):
        if metric.parameter_unit == "%":
            volume = whole * metric.parameter / 100.0
        else:
            volume = metric.parameter
            if volume > whole * (1 + _SLACK):
                raise MetricUndefinedError(
                    text, f"it needs {volume:g} cc but the structure has only {whole:.3f} cc"
                )
        if q is Query.DOSE_TO_COLDEST_VOLUME:
            volume = whole - volume
        low_gy, high_gy = _dose_range(dvh, volume, hot)
        return _dose_out(metric, low_gy, prescription_gy), _dose_out(metric, high_gy, prescription_gy)

    # V / CV: the parameter is a dose
    if metric.parameter_unit == "%":
        assert prescription_gy is not None
        dose = prescription_gy * metric.parameter / 100.0
    elif metric.parameter_unit == "cGy":
        dose = metric.parameter / 100.0
    else:
        dose = metric.parameter
    if dose <= 0.0:
        low_v = high_v = whole
    else:
        curve = volume_at_dose_cc(dvh, dose) if inside > 0 else 0.0
        low_v = curve
        high_v = min(inside, curve + uncertain) + missing
    if q is Query.COLD_VOLUME_AT_DOSE:
        low_v, high_v = whole - high_v, whole - low_v
    if metric.output_unit is OutputUnit.PERCENT:
        return 100.0 * low_v / whole, 100.0 * high_v / whole
    return low_v, high_v
