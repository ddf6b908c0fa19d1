"""The Eclipse breast-boost plan: Eclipse's own DVHs, and plancheck's for the same ROIs.

Eclipse stored a cumulative DVH per ROI in the RTDOSE (DVHSequence); the data
set exports them to ``reference_dvh_from_rtdose_DVHSequence/`` as CSV
(``dose_lower_edge_GY``, ``cumulative_volume_CM3``) with the stored
DVHMinimum/Maximum/MeanDose in ``dvh_summary.csv``.

What the numbers say about units (checked here against the dose grid): the
curve's dose axis is in Gy (bins of 0.01 Gy; the Heart curve ends at 3.10 Gy,
the grid's maximum in the heart is 3.1 Gy), while DVHMinimumDose,
DVHMaximumDose and DVHMeanDose are percent of the 14 Gy prescription although
DoseUnits says GY (BODY maximum 104.86 = 14.68 Gy, the grid maximum).

The Eclipse metrics are read off Eclipse's curve by linear interpolation here,
independently of plancheck's code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# RTPLAN DoseReferenceSequence, TARGET "Breast": 14 Gy (data set MANIFEST.md).
PRESCRIPTION_GY = 14.0
REFERENCE_DIR = "reference_dvh_from_rtdose_DVHSequence"

# Metric label -> (plancheck metric string, relative tolerance, absolute floor in Gy) from the issue.
TOLERANCES: dict[str, tuple[str, float, float]] = {
    "Volume": ("Volume[cc]", 0.02, 0.0),
    "Mean": ("Mean[Gy]", 0.01, 0.05),
    "D95%": ("D95%[Gy]", 0.02, 0.05),
    "D50%": ("D50%[Gy]", 0.02, 0.05),
    "D2%": ("D2%[Gy]", 0.02, 0.05),
    "D0.03cc": ("D0.03cc[Gy]", 0.03, 0.05),
}


@dataclass(frozen=True)
class EclipseDvh:
    roi_number: int
    name: str
    dose_gy: np.ndarray  # curve points (lower bin edges), Gy
    volume_cc: np.ndarray  # volume receiving at least dose_gy
    mean_gy: float  # DVHMeanDose converted from percent of the prescription

    @property
    def total_cc(self) -> float:
        return float(self.volume_cc[0])


def read_eclipse_dvhs(eclipse_dir: Path) -> dict[int, EclipseDvh]:
    ref = eclipse_dir / REFERENCE_DIR
    with (ref / "dvh_summary.csv").open(newline="") as fh:
        summary = {int(r["roi_number"]): r for r in csv.DictReader(fh)}
    out = {}
    for roi, row in summary.items():
        path = next(ref.glob(f"dvh_roi{roi:02d}_*.csv"))
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        out[roi] = EclipseDvh(
            roi_number=roi,
            name=row["roi_name"],
            dose_gy=data[:, 0],
            volume_cc=np.clip(data[:, 1], 0.0, None),
            mean_gy=float(row["dvh_mean_dose"]) * PRESCRIPTION_GY / 100.0,
        )
    return out


def eclipse_dose_at_volume_gy(dvh: EclipseDvh, volume_cc: float) -> float:
    """Dose where Eclipse's cumulative curve falls to ``volume_cc`` (linear between points)."""
    v, d = dvh.volume_cc, dvh.dose_gy
    if not 0.0 < volume_cc <= v[0]:
        raise ValueError(f"{volume_cc} cc is outside the curve (0, {v[0]}]")
    k = int(np.flatnonzero(v < volume_cc)[0])  # first point below the volume; k >= 1
    frac = (v[k - 1] - volume_cc) / (v[k - 1] - v[k])
    return float(d[k - 1] + frac * (d[k] - d[k - 1]))


def eclipse_metrics(dvh: EclipseDvh) -> dict[str, float]:
    total = dvh.total_cc
    out = {"Volume": total, "Mean": dvh.mean_gy}
    for label, fraction in (("D95%", 0.95), ("D50%", 0.50), ("D2%", 0.02)):
        out[label] = eclipse_dose_at_volume_gy(dvh, fraction * total)
    out["D0.03cc"] = eclipse_dose_at_volume_gy(dvh, 0.03) if total > 0.03 else float("nan")
    return out


def within_tolerance(label: str, ours: float, theirs: float) -> bool:
    _, rel, floor = TOLERANCES[label]
    return abs(ours - theirs) <= max(rel * abs(theirs), floor)


def plancheck_metrics(structure: object, grid: object, end_caps: object) -> dict[str, float]:
    """plancheck's value of each metric of :data:`TOLERANCES` (cc and Gy)."""
    from plancheck.dvh.engine import DvhSettings, compute_dvh
    from plancheck.dvh.metric import parse_metric
    from plancheck.dvh.values import metric_value
    from plancheck.errors import MetricUndefinedError
    from plancheck.model import DoseGrid, EndCaps, Structure

    assert isinstance(structure, Structure) and isinstance(grid, DoseGrid)
    assert isinstance(end_caps, EndCaps)
    dvh = compute_dvh(structure, grid, DvhSettings(end_caps=end_caps))
    out = {}
    for label, (query, _, _) in TOLERANCES.items():
        try:
            out[label] = metric_value(parse_metric(query), dvh)
        except MetricUndefinedError:
            out[label] = float("nan")
    return out


def inside_grid_points(structure: object, grid: object) -> bool:
    """True when every contour point lies within the span of the dose grid's outer points.

    A structure reaching the border of the grid (BODY here) gets dose
    extrapolated by each system's own convention there; it is tabulated, not
    asserted.
    """
    from plancheck.model import DoseGrid, Structure

    assert isinstance(structure, Structure) and isinstance(grid, DoseGrid)
    if not structure.planes:
        return False
    pts = np.concatenate([p for plane in structure.planes for p in plane.polygons])
    zs = np.array([plane.z_mm for plane in structure.planes])
    return bool(
        grid.x_mm[0] <= pts[:, 0].min()
        and pts[:, 0].max() <= grid.x_mm[-1]
        and grid.y_mm[0] <= pts[:, 1].min()
        and pts[:, 1].max() <= grid.y_mm[-1]
        and grid.z_mm[0] < zs.min()
        and zs.max() < grid.z_mm[-1]
    )
