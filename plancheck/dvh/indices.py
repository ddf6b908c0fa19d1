"""Plan-quality indices from DVHs (PHYSICS.md, "Targets and plan-quality indices").

* ICRU 83 homogeneity index ``HI = (D2% - D98%) / D50%`` of the target.
* RTOG conformity index ``CI = PIV / TV``.
* Paddick conformity index ``CI = TV_PIV² / (TV · PIV)``.
* Gradient index ``GI = PIV_50% / PIV_100%``.

``PIV`` is the volume enclosed by the prescription isodose within the body
(the external ROI's DVH read at the prescription dose), ``TV`` the target
volume and ``TV_PIV`` the target volume receiving the prescription. Every
function raises :class:`MetricUndefinedError` when a volume it divides by is
zero, never returns 0 or infinity.
"""

from __future__ import annotations

import enum

from plancheck.dvh.values import dose_at_volume_gy, volume_at_dose_cc
from plancheck.errors import MetricUndefinedError
from plancheck.model import Dvh

__all__ = [
    "IndexKind",
    "compute_index",
    "gradient_index",
    "homogeneity_index",
    "paddick_ci",
    "rtog_ci",
]


class IndexKind(str, enum.Enum):
    HOMOGENEITY_ICRU83 = "hi_icru83"
    CONFORMITY_RTOG = "ci_rtog"
    CONFORMITY_PADDICK = "ci_paddick"
    GRADIENT = "gi"


def _need(dvh: Dvh, what: str, name: str) -> float:
    v = dvh.volume_in_grid_cc
    if v <= 0:
        raise MetricUndefinedError(name, f"the {what} has no volume inside the dose grid")
    return v


def homogeneity_index(target: Dvh) -> float:
    """ICRU 83 HI of a target."""
    name = "HI (ICRU 83)"
    tv = _need(target, "target", name)
    d2 = dose_at_volume_gy(target, 0.02 * tv)
    d98 = dose_at_volume_gy(target, 0.98 * tv)
    d50 = dose_at_volume_gy(target, 0.50 * tv)
    if d50 <= 0:
        raise MetricUndefinedError(name, "the target's median dose is 0")
    return (d2 - d98) / d50


def rtog_ci(target: Dvh, body: Dvh, prescription_gy: float) -> float:
    name = "CI (RTOG)"
    tv = _need(target, "target", name)
    _need(body, "body", name)
    return volume_at_dose_cc(body, prescription_gy) / tv


def paddick_ci(target: Dvh, body: Dvh, prescription_gy: float) -> float:
    name = "CI (Paddick)"
    tv = _need(target, "target", name)
    _need(body, "body", name)
    piv = volume_at_dose_cc(body, prescription_gy)
    if piv <= 0:
        raise MetricUndefinedError(name, "no volume receives the prescription dose")
    tv_piv = volume_at_dose_cc(target, prescription_gy)
    return tv_piv * tv_piv / (tv * piv)


def gradient_index(body: Dvh, prescription_gy: float) -> float:
    name = "GI"
    _need(body, "body", name)
    piv = volume_at_dose_cc(body, prescription_gy)
    if piv <= 0:
        raise MetricUndefinedError(name, "no volume receives the prescription dose")
    return volume_at_dose_cc(body, 0.5 * prescription_gy) / piv


def compute_index(kind: IndexKind, target: Dvh, body: Dvh | None, prescription_gy: float) -> float:
    """One index; ``body`` is required by all but HI."""
    if kind is IndexKind.HOMOGENEITY_ICRU83:
        return homogeneity_index(target)
    if body is None:
        raise MetricUndefinedError(kind.value, "it needs the body (EXTERNAL) ROI, and none was found")
    if kind is IndexKind.CONFORMITY_RTOG:
        return rtog_ci(target, body, prescription_gy)
    if kind is IndexKind.CONFORMITY_PADDICK:
        return paddick_ci(target, body, prescription_gy)
    return gradient_index(body, prescription_gy)
