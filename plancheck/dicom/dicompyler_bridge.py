"""dicompyler-core's DVHs of the same files, for a side-by-side comparison.

``plancheck dvh --engine dicompyler`` asks dicompyler-core 0.5.6 (the most
used open-source calculator; optional extra ``plancheck[dicompyler]``) for the
DVH of each ROI at its defaults, and converts its cumulative curve (cc at
0.01 Gy bin edges) into a :class:`~plancheck.model.Dvh`, so both engines'
metrics are read off their curves the same way. dicompyler-core takes one
RTSTRUCT and one RTDOSE file, so only plans whose dose is a single PLAN RTDOSE
can be compared. Its defaults test voxel centres for inclusion (no partial
volumes) and take each slab's dose at its contour plane (PHYSICS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom

from plancheck.errors import MissingDependencyError
from plancheck.model import Dvh

__all__ = ["DICOMPYLER_BIN_GY", "dicompyler_dvhs", "dvh_from_cumulative"]

DICOMPYLER_BIN_GY = 0.01
_BIN_GY = 0.001


def dvh_from_cumulative(
    edges_gy: Sequence[float], volume_cc: Sequence[float], min_gy: float, mean_gy: float, max_gy: float
) -> Dvh:
    """A :class:`Dvh` from a cumulative curve given at ``edges_gy`` (linear in between)."""
    e = np.asarray(edges_gy, dtype=np.float64)
    v = np.asarray(volume_cc, dtype=np.float64)
    if v.size == 0 or v[0] <= 0:
        return Dvh(_BIN_GY, np.zeros(1), 0.0, 0.0, None, None, None)
    top = float(e[-1]) + DICOMPYLER_BIN_GY
    grid = np.arange(0.0, top + _BIN_GY, _BIN_GY)
    cum = np.interp(grid, np.append(e, top), np.append(v, 0.0))
    return Dvh(_BIN_GY, cum, float(v[0]), 0.0, float(min_gy), float(mean_gy), float(max_gy))


def dicompyler_dvhs(rtstruct: Path, rtdose: Path, roi_numbers: Sequence[int]) -> dict[int, Dvh]:
    """dicompyler-core's DVH of each ROI, at its default settings.

    Raises
    ------
    MissingDependencyError
        When dicompyler-core is not installed (or does not import with this pydicom).
    """
    try:
        from dicompylercore import dvhcalc
    except ImportError as exc:
        raise MissingDependencyError(
            f"--engine dicompyler needs dicompyler-core, which cannot be imported ({exc})",
            hint="Install it with: pip install 'plancheck[dicompyler]' "
            "(dicompyler-core 0.5.6 needs pydicom < 3).",
        ) from exc
    rtss = pydicom.dcmread(str(rtstruct))
    dose = pydicom.dcmread(str(rtdose))
    out = {}
    for roi in roi_numbers:
        dvh = dvhcalc.get_dvh(rtss, dose, roi)
        if float(dvh.volume) <= 0:
            out[roi] = Dvh(_BIN_GY, np.zeros(1), 0.0, 0.0, None, None, None)
            continue
        out[roi] = dvh_from_cumulative(
            [float(b) for b in dvh.bins[:-1]],
            [float(c) for c in dvh.counts],
            float(dvh.min),
            float(dvh.mean),
            float(dvh.max),
        )
    return out
