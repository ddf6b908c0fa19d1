"""Nelms et al.'s analytical DVH set: cases, plancheck's values, and the contour stack's own values.

Reference: Nelms B, Stambaugh C, Hunt D, Tonner B, Zhang G, Feygelman V.
"Methods, software and datasets to verify DVH calculations against analytical
values: Twenty years of progress." Med Phys 42(8):4435-4448, 2015.
The analytical values (``reference/analytical_dvh_points.csv``, doses in cGy)
are theirs; they include half-slice end caps.

Three sets of numbers are produced for each case (structure/dose pair as the
CSV lists it, never by UIDs):

* the analytical values of the paper;
* plancheck's values (``plancheck_values``): the RTSTRUCT and RTDOSE read by
  plancheck's readers, the DVH by its engine at the given settings; the dose
  is the grid as stored (DoseSummationType FRACTION, taken as stored), which is
  what the analytical values refer to;
* the exact values of the *contour stack* (``stack_values``): every plane's
  contours extruded into a right prism reaching halfway to the neighbouring
  planes and half a contour spacing beyond the end planes, in the linear dose
  the RTDOSE holds. This is the best a "plain right-prism" calculator with
  half caps can do, and it measures how far the contours themselves are from
  the analytical shape. It is computed here independently of plancheck:
  pydicom reads the files, shapely clips the polygons, and the DVH of a linear
  dose over prisms is evaluated in closed form (no sampling).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
import shapely

if TYPE_CHECKING:
    from plancheck.dvh.engine import DvhSettings
    from plancheck.model import RtDose, StructureSet

# Metric name -> plancheck metric string. Analytical columns in the CSV follow.
METRICS: dict[str, str] = {
    "Volume": "Volume[cc]",
    "Dmean": "Mean[Gy]",
    "D99": "D99%[Gy]",
    "D95": "D95%[Gy]",
    "D5": "D5%[Gy]",
    "D1": "D1%[Gy]",
    "D0.03cc": "D0.03cc[Gy]",
}
_CSV_COLUMNS: dict[str, str] = {
    "Volume": "volume_cc",
    "Dmean": "dmean_cGy",
    "D99": "d99_cGy",
    "D95": "d95_cGy",
    "D5": "d5_cGy",
    "D1": "d1_cGy",
    "D0.03cc": "d0_03cc_cGy",
}
STRUCTURE_ROI = 2  # ROI 1 of every structure file is an empty marker


@dataclass(frozen=True)
class NelmsCase:
    """One row of ``analytical_dvh_points.csv``; ``analytical`` in cc and Gy."""

    label: str
    structure_file: Path
    dose_file: Path
    contour_spacing_mm: float
    dose_voxel_mm: float
    gradient: str  # "AP" or "SI"
    analytical: dict[str, float]

    @property
    def test(self) -> int:
        """Nelms' test 1 (0.2 mm contours) or test 2 (1-3 mm contours)."""
        return 1 if self.contour_spacing_mm < 0.5 else 2

    @property
    def name(self) -> str:
        return f"{self.label} {self.gradient} {self.dose_voxel_mm:g}mm"


def load_cases(nelms_dir: Path) -> list[NelmsCase]:
    """The 60 cases in CSV order; doses converted from cGy to Gy."""
    cases = []
    with (nelms_dir / "reference" / "analytical_dvh_points.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            analytical = {
                m: float(row[c]) / (1.0 if m == "Volume" else 100.0)
                for m, c in _CSV_COLUMNS.items()
            }
            cases.append(
                NelmsCase(
                    label=row["structure_label"],
                    structure_file=nelms_dir / row["structure_file"],
                    dose_file=nelms_dir / row["dose_file"],
                    contour_spacing_mm=float(row["ct_slice_spacing"].removesuffix("mm")),
                    dose_voxel_mm=float(row["dose_voxel_mm"]),
                    gradient="AP" if "AP" in row["gradient"] else "SI",
                    analytical=analytical,
                )
            )
    return cases


def percent_difference(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference


# --------------------------------------------------------------------------- plancheck


@functools.cache
def _read_structure(path: Path) -> StructureSet:
    from plancheck.dicom.rtstruct import read_rtstruct

    return read_rtstruct(path)


@functools.cache
def _read_dose(path: Path) -> RtDose:
    from plancheck.dicom.rtdose import read_rtdose

    return read_rtdose(path)


def plancheck_values(case: NelmsCase, settings: DvhSettings | None = None) -> dict[str, float]:
    """plancheck's value of every metric of :data:`METRICS` for ``case`` (cc and Gy)."""
    from plancheck.dvh.engine import compute_dvh
    from plancheck.dvh.metric import parse_metric
    from plancheck.dvh.values import metric_value

    structure_set = _read_structure(case.structure_file)
    structure = next(s for s in structure_set.structures if s.roi_number == STRUCTURE_ROI)
    grid = _read_dose(case.dose_file).grid
    dvh = compute_dvh(structure, grid, settings)
    return {m: metric_value(parse_metric(q), dvh) for m, q in METRICS.items()}


# --------------------------------------------------------------------------- contour stack


@dataclass(frozen=True)
class LinearDose:
    """D(x, y, z) = offset + gradient . (x, y, z), in Gy and Gy/mm, fitted to an RTDOSE."""

    offset_gy: float
    gradient_gy_per_mm: tuple[float, float, float]
    max_residual_gy: float


@functools.cache
def fit_linear_dose(path: Path) -> LinearDose:
    """Least-squares plane through the RTDOSE grid points that carry dose (the rest is clipped at 0)."""
    ds = pydicom.dcmread(path)
    if [float(v) for v in ds.ImageOrientationPatient] != [1, 0, 0, 0, 1, 0]:
        raise ValueError(f"{path}: only the identity orientation is handled here")
    dose = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    offsets = np.array([float(v) for v in ds.GridFrameOffsetVector])
    z = (z0 + offsets) if offsets[0] == 0.0 else offsets
    y = y0 + dy * np.arange(dose.shape[1])
    x = x0 + dx * np.arange(dose.shape[2])
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    keep = dose > 0
    design = np.column_stack([np.ones(keep.sum()), xx[keep], yy[keep], zz[keep]])
    coef, *_ = np.linalg.lstsq(design, dose[keep], rcond=None)
    residual = float(np.abs(design @ coef - dose[keep]).max())
    return LinearDose(float(coef[0]), (float(coef[1]), float(coef[2]), float(coef[3])), residual)


@dataclass(frozen=True)
class Prisms:
    """The contour stack: one even-odd polygon per plane and its slab [lower, upper] in mm."""

    polygons: tuple[shapely.Geometry, ...]
    lower_mm: np.ndarray
    upper_mm: np.ndarray

    @property
    def areas_mm2(self) -> np.ndarray:
        return np.asarray(shapely.area(np.array(self.polygons, dtype=object)), dtype=np.float64)

    @property
    def thickness_mm(self) -> np.ndarray:
        return self.upper_mm - self.lower_mm


@functools.cache
def read_prisms(path: Path, roi_number: int = STRUCTURE_ROI, half_caps: bool = True) -> Prisms:
    """Right prisms of one ROI of an RTSTRUCT, read with pydicom (independent of plancheck)."""
    ds = pydicom.dcmread(path)
    item = next(r for r in ds.ROIContourSequence if int(r.ReferencedROINumber) == roi_number)
    by_plane: dict[float, shapely.Geometry] = {}
    for contour in item.ContourSequence:
        pts = np.asarray([float(v) for v in contour.ContourData]).reshape(-1, 3)
        z = round(float(pts[0, 2]), 4)
        poly = shapely.make_valid(shapely.Polygon(pts[:, :2]))
        by_plane[z] = shapely.symmetric_difference(by_plane[z], poly) if z in by_plane else poly
    zs = np.array(sorted(by_plane))
    mid = (zs[1:] + zs[:-1]) / 2.0
    cap_lo = (zs[1] - zs[0]) / 2.0 if half_caps else 0.0
    cap_hi = (zs[-1] - zs[-2]) / 2.0 if half_caps else 0.0
    lower = np.concatenate([[zs[0] - cap_lo], mid])
    upper = np.concatenate([mid, [zs[-1] + cap_hi]])
    return Prisms(tuple(by_plane[z] for z in zs), lower, upper)


def _volume_at_least(prisms: Prisms, dose: LinearDose, levels_gy: np.ndarray) -> np.ndarray:
    """Exact volume (cc) of the prisms receiving at least each of ``levels_gy``."""
    gx, gy, gz = dose.gradient_gy_per_mm
    levels = np.asarray(levels_gy, dtype=np.float64)
    scale = max(abs(gx), abs(gy), abs(gz))
    if abs(gx) < 1e-6 * scale and abs(gy) < 1e-6 * scale:
        # dose varies along z only: the part of each slab above z* = (d - offset) / gz
        zstar = (levels - dose.offset_gy) / gz
        lo, hi = prisms.lower_mm[:, None], prisms.upper_mm[:, None]
        if gz > 0:
            length = np.clip(hi - np.maximum(lo, zstar[None, :]), 0.0, None)
        else:
            length = np.clip(np.minimum(hi, zstar[None, :]) - lo, 0.0, None)
        return (prisms.areas_mm2[:, None] * length).sum(axis=0) / 1000.0
    if abs(gx) < 1e-6 * scale and abs(gz) < 1e-6 * scale:
        # dose varies along y only: each polygon clipped by the half-plane where D >= d
        ystar = (levels - dose.offset_gy) / gy
        polys = np.array(prisms.polygons, dtype=object)
        xmin, ymin, xmax, ymax = shapely.total_bounds(polys)
        big = 1.0 + (ymax - ymin)
        if gy > 0:
            boxes = shapely.box(xmin - 1, np.maximum(ystar, ymin - big), xmax + 1, ymax + big)
        else:
            boxes = shapely.box(xmin - 1, ymin - big, xmax + 1, np.minimum(ystar, ymax + big))
        areas = shapely.area(shapely.intersection(polys[:, None], boxes[None, :]))
        return (areas * prisms.thickness_mm[:, None]).sum(axis=0) / 1000.0
    raise ValueError("only a dose gradient along y or along z is handled here")


def stack_values(structure_file: Path, dose_file: Path, half_caps: bool = True) -> dict[str, float]:
    """Exact metrics of the contour stack (right prisms) in the fitted linear dose, cc and Gy."""
    prisms = read_prisms(structure_file, half_caps=half_caps)
    dose = fit_linear_dose(dose_file)
    gx, gy, gz = dose.gradient_gy_per_mm
    areas, thickness = prisms.areas_mm2, prisms.thickness_mm
    volume_cc = float((areas * thickness).sum() / 1000.0)
    centroids = shapely.centroid(np.array(prisms.polygons, dtype=object))
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    cz = (prisms.lower_mm + prisms.upper_mm) / 2.0
    slab_means = dose.offset_gy + gx * cx + gy * cy + gz * cz  # linear dose: mean at the centroid
    mean_gy = float((slab_means * areas * thickness).sum() / 1000.0 / volume_cc)
    lo, hi = _dose_range(prisms, dose)
    targets = {
        "D99": 0.99 * volume_cc,
        "D95": 0.95 * volume_cc,
        "D5": 0.05 * volume_cc,
        "D1": 0.01 * volume_cc,
        "D0.03cc": 0.03,
    }
    doses = _bisect_doses(prisms, dose, np.array(list(targets.values())), lo, hi)
    out = {"Volume": volume_cc, "Dmean": mean_gy}
    out.update({name: float(d) for name, d in zip(targets, doses, strict=True)})
    return out


def _dose_range(prisms: Prisms, dose: LinearDose) -> tuple[float, float]:
    """Lowest and highest dose over the prisms' bounding box (a bracket for the bisection)."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(prisms.polygons, dtype=object))
    corners = np.array(
        [
            [x, y, z]
            for x in (xmin, xmax)
            for y in (ymin, ymax)
            for z in (prisms.lower_mm[0], prisms.upper_mm[-1])
        ]
    )
    values = dose.offset_gy + corners @ np.array(dose.gradient_gy_per_mm)
    return float(values.min()), float(values.max())


def _bisect_doses(
    prisms: Prisms, dose: LinearDose, volumes_cc: np.ndarray, lo: float, hi: float
) -> np.ndarray:
    """Doses at which the exact cumulative DVH falls to each of ``volumes_cc`` (to 1e-7 Gy)."""
    a = np.full(volumes_cc.shape, lo)
    b = np.full(volumes_cc.shape, hi)
    while float((b - a).max()) > 1e-7:
        mid = (a + b) / 2.0
        above = _volume_at_least(prisms, dose, mid) >= volumes_cc
        a = np.where(above, mid, a)
        b = np.where(above, b, mid)
    return (a + b) / 2.0


def count_beyond(differences_percent: Iterable[float], limit_percent: float) -> int:
    return sum(1 for d in differences_percent if abs(d) > limit_percent)
