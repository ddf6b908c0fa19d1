"""DVHs stored by the planning system in the RTDOSE (DVHSequence).

Each item becomes a cumulative :class:`~plancheck.model.TpsDvh` in Gy and cc:
``DVHData`` holds (bin width, volume) pairs; bin widths times
``DVHDoseScaling`` are in ``DoseUnits`` (GY or CGY); a DIFFERENTIAL histogram
(volume per bin) is summed from the top into a cumulative one; CM3 volumes are
cc, PERCENT volumes are converted when the ROI's volume is known. The curve's
points are the bins' lower edges, with the volume receiving at least that
dose; where the last bin still holds volume a final point at its upper edge
with volume 0 closes the curve.

Units are checked, not trusted. Eclipse writes DoseUnits GY but the DVH's
minimum, maximum and mean dose (and, in some versions, the curve) in percent
of the prescription. The checks:

* the curve's dose axis is Gy when its highest dose does not exceed the dose
  grid's maximum (5 % and one bin allowed); otherwise, read as percent of
  the prescription, it must end between 80 % of the grid maximum and the
  grid maximum. Curves that fit neither but stay within twice the grid
  maximum are kept in Gy, as DoseUnits states, with a finding: the dose grid
  or the stored DVHs are scaled wrongly, and the cross-check shows by how
  much; beyond that their unit is unknown and they are not used;
* the stated maxima and means are Gy when each maximum lies in the last
  occupied bin of its own curve (half a bin and 0.2 % allowed) and each mean
  is the curve's mean (one bin and 10 % allowed: planning systems integrate
  their curves differently); otherwise the factor that makes them so is
  looked for: the prescription passed in, else the one implied by the dose
  grid's maximum (the largest stated maximum taken as the grid maximum),
  which must then fit every curve too.

A unit that cannot be established leaves the values out (None, or the DVH
skipped) with a finding; nothing is guessed. ``TpsDvh.dose_axis`` is
``"percent-of-prescription"`` when any stored dose of the DVH (curve or
statistics) was converted from percent; the finding says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields
from plancheck.errors import DicomReadError
from plancheck.model import Finding, Severity, TpsDvh

__all__ = ["has_percent_volumes", "scaled_tps_dvh", "tps_dvhs_from_dataset"]

GY = "Gy"
PERCENT = "percent-of-prescription"
_DVH_DATA = 0x30040058
_UNIT_TO_GY = {"GY": 1.0, "CGY": 0.01}
_GRID_MARGIN = 1.05  # a DVH may exceed the grid maximum by 5 % (interpolated dose) and one bin
# read as percent of the prescription, the curves must reach at least this share of the grid's
# maximum: percent curves of a plan end near its hot spot; curves a few percent above a grid
# that was scaled down (a dose-scale error) are nowhere near it as percent
_PERCENT_REACH = 0.8
# curves up to this multiple of the grid's maximum are kept in Gy (a dose-scale error between
# grid and DVHs, shown by the cross-check); beyond it the unit is taken as unknown
_SCALE_REACH = 2.0


@dataclass(frozen=True)
class _Item:
    roi_number: int
    edges: npt.NDArray[np.float64]  # lower bin edges in the stated unit (Gy if GY), ascending
    widths: npt.NDArray[np.float64]
    cumulative_cc: npt.NDArray[np.float64]
    min_dose: float | None  # stated, in the stated unit
    max_dose: float | None
    mean_dose: float | None

    @property
    def curve_mean(self) -> float | None:
        """Mean dose from the curve (stated unit): the integral of V(D) over V(0), left sums."""
        if self.cumulative_cc.size == 0 or self.cumulative_cc[0] <= 0:
            return None
        return float(np.dot(self.cumulative_cc, self.widths) / self.cumulative_cc[0])

    @property
    def last_bin(self) -> tuple[float, float] | None:
        """[lower, upper] edge of the highest bin that holds volume (None: empty curve)."""
        occupied = np.flatnonzero(self.cumulative_cc > 0)
        if occupied.size == 0:
            return None
        k = int(occupied[-1])
        return float(self.edges[k]), float(self.edges[k] + self.widths[k])


def scaled_tps_dvh(dvh: TpsDvh, factor: float) -> TpsDvh:
    """The DVH of ``factor`` times the dose (a FRACTION dose's DVH for all its fractions)."""

    def times(v: float | None) -> float | None:
        return None if v is None else v * factor

    return replace(
        dvh,
        dose_gy=dvh.dose_gy * factor,
        min_gy=times(dvh.min_gy),
        max_gy=times(dvh.max_gy),
        mean_gy=times(dvh.mean_gy),
    )


def has_percent_volumes(ds: Dataset) -> bool:
    """Whether any stored DVH gives its volumes in PERCENT (so the ROI volumes are needed)."""
    f = Fields(ds, None, "RTDOSE")
    try:
        return any(
            f.item(i, "DVH").upper("DVHVolumeUnits") == "PERCENT" for i in f.sequence("DVHSequence")
        )
    except DicomReadError:
        return False


def tps_dvhs_from_dataset(
    ds: Dataset,
    *,
    path: Path | None,
    grid_max_gy: float | None,
    prescription_gy: float | None = None,
    roi_volumes_cc: Mapping[int, float] | None = None,
) -> tuple[tuple[TpsDvh, ...], tuple[Finding, ...]]:
    """The DVHs of an RTDOSE's DVHSequence, in Gy and cc, and what was noticed about them.

    Parameters
    ----------
    ds : Dataset
        The RTDOSE dataset.
    path : Path or None
        Its file, for messages.
    grid_max_gy : float or None
        The maximum of the dose grid in Gy, to check the DVHs' dose unit.
    prescription_gy : float or None
        The plan's prescription (of the dose this RTDOSE holds), for DVHs in
        percent of it.
    roi_volumes_cc : mapping or None
        ROI number -> volume, for DVHs whose volumes are PERCENT.
    """
    f = Fields(ds, path, "RTDOSE")
    name = path.name if path is not None else "the RTDOSE"
    notes: list[Finding] = []
    items: list[_Item] = []
    seen: set[int] = set()
    for k, raw in enumerate(f.sequence("DVHSequence")):
        what = f"{name}: stored DVH {k + 1}"
        try:
            item = _item(
                f.item(raw, f"RTDOSE DVHSequence item {k + 1}"), what, roi_volumes_cc, path, notes
            )
        except DicomReadError as exc:
            notes.append(
                _note(
                    Severity.WARNING,
                    "tps-dvh-unreadable",
                    f"{what} cannot be read ({exc.message}); skipped",
                    path,
                )
            )
            continue
        if item is None:
            continue
        if item.roi_number in seen:
            notes.append(
                _note(
                    Severity.WARNING,
                    "tps-dvh-duplicate-roi",
                    f"{what} is a second DVH of ROI {item.roi_number}; skipped",
                    path,
                )
            )
            continue
        seen.add(item.roi_number)
        items.append(item)
    if not items:
        return (), tuple(notes)

    curve_factor = _curve_factor(items, grid_max_gy, prescription_gy, name, path, notes)
    if curve_factor is None:
        return (), tuple(notes)
    stats_factor = _stats_factor(
        items, curve_factor, grid_max_gy, prescription_gy, name, path, notes
    )
    converted = curve_factor != 1.0 or (stats_factor is not None and stats_factor != 1.0)
    axis = PERCENT if converted else GY

    def scaled(v: float | None) -> float | None:
        return None if v is None or stats_factor is None else float(v * stats_factor)

    dvhs = []
    for item in items:
        dvhs.append(
            TpsDvh(
                roi_number=item.roi_number,
                dose_gy=item.edges * curve_factor,
                cumulative_cc=item.cumulative_cc,
                min_gy=scaled(item.min_dose),
                max_gy=scaled(item.max_dose),
                mean_gy=scaled(item.mean_dose),
                dose_axis=axis,
                manufacturer=f.text("Manufacturer"),
                manufacturer_model=f.text("ManufacturerModelName"),
                dose_sop_instance_uid=f.text("SOPInstanceUID"),
            )
        )
    return tuple(dvhs), tuple(notes)


# --------------------------------------------------------------------------- one item


def _item(
    d: Fields,
    what: str,
    roi_volumes_cc: Mapping[int, float] | None,
    path: Path | None,
    notes: list[Finding],
) -> _Item | None:
    def skip(code: str, why: str) -> None:
        notes.append(_note(Severity.WARNING, code, f"{what}: {why}; skipped", path))

    refs = d.sequence("DVHReferencedROISequence")
    roi = (
        d.item(refs[0], "DVHReferencedROISequence item 1").integer("ReferencedROINumber")
        if refs
        else None
    )
    if roi is None:
        skip("tps-dvh-without-roi", "it names no ROI")
        return None
    what = f"{what} (ROI {roi})"
    dvh_type = d.upper("DVHType")
    if dvh_type not in ("CUMULATIVE", "DIFFERENTIAL"):
        skip("tps-dvh-unsupported", f"DVHType {dvh_type} is not CUMULATIVE or DIFFERENTIAL")
        return None
    units = d.upper("DoseUnits")
    if units not in _UNIT_TO_GY:
        skip("tps-dvh-unsupported", f"DoseUnits {units} is not GY or CGY")
        return None
    scaling = d.number("DVHDoseScaling")
    scaling = 1.0 if scaling is None else scaling
    if not (np.isfinite(scaling) and scaling > 0):
        skip("tps-dvh-unsupported", f"DVHDoseScaling {scaling} is not positive")
        return None
    data = d.float_array("DVHData", _DVH_DATA)
    if data is None or data.size < 2 or data.size % 2 or not np.all(np.isfinite(data)):
        skip("tps-dvh-malformed", "DVHData is not a list of finite (bin width, volume) pairs")
        return None
    n_bins = d.integer("DVHNumberOfBins")
    if n_bins is not None and n_bins != data.size // 2:
        notes.append(
            _note(
                Severity.INFO,
                "tps-dvh-bin-count",
                f"{what}: DVHNumberOfBins is {n_bins} but DVHData holds {data.size // 2} bins; the data are used",
                path,
            )
        )
    unit = _UNIT_TO_GY[units]
    widths = data[0::2] * scaling * unit
    volumes = data[1::2].astype(np.float64)
    if np.any(widths < 0) or float(widths.sum()) <= 0:
        skip("tps-dvh-malformed", "its bin widths are negative or all zero")
        return None
    noise = 1e-6 * max(float(np.abs(volumes).max()), 1e-12)
    if float(volumes.min()) < -noise:
        skip("tps-dvh-malformed", f"it holds negative volumes (down to {float(volumes.min()):.4g})")
        return None
    volumes = np.clip(volumes, 0.0, None)
    if dvh_type == "DIFFERENTIAL":
        cumulative = np.cumsum(volumes[::-1])[::-1]
        notes.append(
            _note(
                Severity.INFO,
                "tps-dvh-differential",
                f"{what} is differential; converted to cumulative",
                path,
            )
        )
    else:
        cumulative = volumes
        if np.any(np.diff(cumulative) > noise + 1e-9 * float(cumulative.max())):
            notes.append(
                _note(
                    Severity.WARNING,
                    "tps-dvh-not-cumulative",
                    f"{what} is labelled CUMULATIVE but its volume increases with dose; used as stored",
                    path,
                )
            )
    edges = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    if cumulative[-1] > 0:  # close the curve at the last bin's upper edge
        edges = np.append(edges, edges[-1] + widths[-1])
        cumulative = np.append(cumulative, 0.0)
        widths = np.append(widths, 0.0)
    volume_units = d.upper("DVHVolumeUnits")
    if volume_units == "PERCENT":
        total = None if roi_volumes_cc is None else roi_volumes_cc.get(roi)
        if total is None or not total > 0:
            skip(
                "tps-dvh-percent-volume",
                "its volumes are percent of the ROI volume, which is not known",
            )
            return None
        cumulative = cumulative * (total / 100.0)
        notes.append(
            _note(
                Severity.INFO,
                "tps-dvh-percent-volume",
                f"{what}: percent volumes converted with the ROI volume {total:.4g} cc",
                path,
            )
        )
    elif volume_units != "CM3":
        skip("tps-dvh-unsupported", f"DVHVolumeUnits {volume_units} is not CM3 or PERCENT")
        return None

    def stated(keyword: str) -> float | None:
        v = d.number(keyword)
        return None if v is None or not np.isfinite(v) else v * unit

    return _Item(
        roi,
        edges,
        widths,
        cumulative,
        stated("DVHMinimumDose"),
        stated("DVHMaximumDose"),
        stated("DVHMeanDose"),
    )


# --------------------------------------------------------------------------- units


def _curve_factor(
    items: list[_Item],
    grid_max: float | None,
    rx: float | None,
    name: str,
    path: Path | None,
    notes: list[Finding],
) -> float | None:
    """Gy per unit of the curves' dose axis: 1, rx/100, or None (unknown: all skipped)."""
    ends = [(b[1], b[1] - b[0]) for b in (i.last_bin for i in items) if b is not None]
    if grid_max is None or grid_max <= 0 or not ends:
        return 1.0
    top, width = max(ends)
    if top <= _GRID_MARGIN * grid_max + width:
        return 1.0
    if (
        rx is not None
        and rx > 0
        and _PERCENT_REACH * grid_max
        <= top * rx / 100.0
        <= _GRID_MARGIN * grid_max + width * rx / 100.0
    ):
        notes.append(
            _note(
                Severity.WARNING,
                "tps-dvh-percent-of-prescription",
                f"{name}: the stored DVH curves reach {top:.5g} although the dose grid's maximum is "
                f"{grid_max:.5g} Gy; their dose axis is percent of the prescription ({rx:.6g} Gy) although "
                "DoseUnits is GY. Converted to Gy",
                path,
            )
        )
        return rx / 100.0
    if top > _SCALE_REACH * grid_max + width:
        notes.append(
            _note(
                Severity.WARNING,
                "tps-dvh-dose-unit-unknown",
                f"{name}: the stored DVH curves reach {top:.5g}, {top / grid_max:.3g} × the dose "
                f"grid's maximum of {grid_max:.5g} Gy, and no prescription explains it; the stored "
                "DVHs are not used",
                path,
            )
        )
        return None
    notes.append(
        _note(
            Severity.WARNING,
            "tps-dvh-exceeds-dose-grid",
            f"{name}: the stored DVH curves reach {top:.5g} Gy, {top / grid_max:.3g} × the dose grid's "
            f"maximum of {grid_max:.5g} Gy, and percent of the prescription does not explain it: the "
            "dose grid's scaling (DoseGridScaling, DoseUnits) or the stored DVHs are wrong. The curves "
            "are kept in Gy, as DoseUnits states, for the cross-check",
            path,
        )
    )
    return 1.0


def _stats_factor(
    items: list[_Item],
    curve_factor: float,
    grid_max: float | None,
    rx: float | None,
    name: str,
    path: Path | None,
    notes: list[Finding],
) -> float | None:
    """Gy per unit of DVHMinimum/Maximum/MeanDose: 1, a percent factor, or None (unknown)."""
    checks = [
        (i.max_dose, i.last_bin) for i in items if i.max_dose is not None and i.last_bin is not None
    ]
    means = [
        (i.mean_dose, i.curve_mean, float(i.widths.max()))
        for i in items
        if i.mean_dose is not None and i.curve_mean is not None
    ]
    stated_max = max((i.max_dose for i in items if i.max_dose is not None), default=None)
    if stated_max is None:
        return 1.0

    def fits(factor: float) -> bool:
        if not checks:  # no curve to compare with: only the grid maximum bounds the values
            return grid_max is None or factor * stated_max <= _GRID_MARGIN * grid_max
        for m, (lo, hi) in checks:
            lo, hi = lo * curve_factor, hi * curve_factor
            slack = 0.5 * (hi - lo) + 0.002 * hi
            if not lo - slack <= factor * m <= hi + slack:
                return False
        for stated, from_curve, width in means:
            from_curve, width = from_curve * curve_factor, width * curve_factor
            if abs(factor * stated - from_curve) > width + 0.1 * from_curve:
                return False
        return True

    if fits(1.0):
        return 1.0
    candidates: list[tuple[float, str]] = []
    if rx is not None and rx > 0:
        candidates.append((rx / 100.0, f"the prescription, {rx:.6g} Gy"))
    if grid_max is not None and grid_max > 0 and stated_max > 0:
        implied = grid_max / stated_max * 100.0
        candidates.append(
            (
                implied / 100.0,
                f"the prescription implied by the dose grid's maximum ({grid_max:.6g} Gy = {stated_max:.6g} %), "
                f"{implied:.6g} Gy",
            )
        )
    example = next(((m, b) for m, b in checks), None)
    shown = ""
    if example is not None:
        m, (_, hi) = example
        shown = f" (a stated maximum of {m:.5g} while its curve ends at {hi * curve_factor:.4g} Gy)"
    for factor, how in candidates:
        if fits(factor):
            notes.append(
                _note(
                    Severity.WARNING,
                    "tps-dvh-percent-of-prescription",
                    f"{name}: the stored DVHs' minimum, maximum and mean doses are percent of the "
                    f"prescription although DoseUnits is GY{shown}; converted to Gy with {how}",
                    path,
                )
            )
            return factor
    notes.append(
        _note(
            Severity.WARNING,
            "tps-dvh-statistics-unit-unknown",
            f"{name}: the stored DVHs' minimum, maximum and mean doses fit neither Gy nor percent of a "
            f"prescription{shown}; they are left out",
            path,
        )
    )
    return None


def _note(severity: Severity, code: str, message: str, path: Path | None) -> Finding:
    return Finding(severity, code, message, None if path is None else str(path))
