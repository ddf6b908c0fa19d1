"""Real exports whose meaning depends on the DICOM semantics (``../shared/data/real_exports``).

* ``pinnacle_hn_anon27156_fxdose``: a 70 Gy / 35 fx course whose RTDOSE is
  labelled FRACTION. PS3.3 C.8.8.3: FRACTION is the whole delivery of one
  fraction group, so the grid is the course dose as stored (max 75.6 Gy, not
  35 times that). Its control, ``pinnacle_hn_anon62480``, is the same patient
  and plan with a PLAN dose; the two RTDOSEs are separate calculations
  (BeamMeterset 442 / 417.7 MU against 442.4 / 418 MU, grid origins offset by
  a non-integer number of 4 mm voxels), so their doses differ where the dose
  is low: a dense trilinear sampling of EYE_L independent of plancheck gives
  means of 2.243 and 2.372 Gy. The control is therefore compared on the dose
  scale (mean doses, against the same independent sampling of both grids),
  and the label itself by relabelling a copy PLAN.
* The RayStation IMRT and VMAT plans of one SRS case put in one folder are
  alternatives: reported as two plans, never summed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from matplotlib.path import Path as MplPath

from plancheck.cli import main
from plancheck.dvh_report import DEFAULT_METRICS, compute_dvh_report
from plancheck.model import Course, DoseGrid
from plancheck.pipeline import load_single_course
from tests.validation.refdata import data_set

pytestmark = pytest.mark.slow

FX = "real_exports/pinnacle_hn_anon27156_fxdose"
PLAN = "real_exports/pinnacle_hn_anon62480"


def _metrics(course: Course) -> dict[str, dict[str, float | None]]:
    report = compute_dvh_report(course, DEFAULT_METRICS)
    return {s.name: {m.metric: m.value for m in s.metrics} for s in report.structures}


def _trilinear(grid: DoseGrid, points: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of an axial grid at (n, 3) points (written here, independently)."""
    idx = []
    for axis, v in (
        (grid.x_mm, points[:, 0]),
        (grid.y_mm, points[:, 1]),
        (grid.z_mm, points[:, 2]),
    ):
        f = (v - axis[0]) / (axis[1] - axis[0])
        i = np.clip(np.floor(f).astype(int), 0, axis.size - 2)
        idx.append((i, f - i))
    (ix, fx), (iy, fy), (iz, fz) = idx
    out = np.zeros(len(points))
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                w = (fz if dz else 1 - fz) * (fy if dy else 1 - fy) * (fx if dx else 1 - fx)
                out += w * grid.dose_gy[iz + dz, iy + dy, ix + dx]
    return out


def _stored_grid(folder: Path) -> DoseGrid:
    """The folder's RTDOSE as stored (pixel values × DoseGridScaling), read with pydicom alone."""
    (path,) = [
        f
        for f in folder.glob("*.dcm")
        if pydicom.dcmread(f, stop_before_pixels=True).Modality == "RTDOSE"
    ]
    ds = pydicom.dcmread(path)
    assert [float(v) for v in ds.ImageOrientationPatient] == [
        1,
        0,
        0,
        0,
        1,
        0,
    ]  # MANIFEST: HFS axes
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    offsets = np.array([float(v) for v in ds.GridFrameOffsetVector])
    dose = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    x = x0 + dx * np.arange(ds.Columns)
    y = y0 + dy * np.arange(ds.Rows)
    return DoseGrid(dose, x, y, z0 + offsets, str(ds.FrameOfReferenceUID))


def _points(course: Course, name: str, step_mm: float = 2.0) -> np.ndarray:
    """Points filling the ROI: a 2 mm lattice on each contour plane, four layers through its slab."""
    planes = course.structure_set.by_name(name).planes
    z = np.array([p.z_mm for p in planes])
    out = []
    for k, plane in enumerate(planes):
        below = (z[k] - z[k - 1]) / 2 if k > 0 else (z[1] - z[0]) / 2
        above = (z[k + 1] - z[k]) / 2 if k < len(z) - 1 else (z[-1] - z[-2]) / 2
        ring = np.concatenate(plane.polygons)
        (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
        xs, ys = np.meshgrid(
            np.arange(x0, x1, step_mm) + step_mm / 2, np.arange(y0, y1, step_mm) + step_mm / 2
        )
        xy = np.column_stack([xs.ravel(), ys.ravel()])
        inside = np.zeros(len(xy), dtype=bool)
        for polygon in plane.polygons:
            inside ^= MplPath(polygon).contains_points(xy)
        for t in (np.arange(4) + 0.5) / 4:
            zz = z[k] - below + t * (below + above)
            out.append(np.column_stack([xy[inside], np.full(inside.sum(), zz)]))
    return np.concatenate(out)


def test_a_fraction_labelled_course_dose_is_read_as_stored(tmp_path: Path) -> None:
    """The FRACTION label and a PLAN label give the same numbers: the grid is taken as stored."""
    source = data_set(FX)
    relabelled = tmp_path / "as_plan"
    shutil.copytree(source, relabelled)
    for f in relabelled.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        if ds.Modality == "RTDOSE":
            assert ds.DoseSummationType == "FRACTION"
            ds.DoseSummationType = "PLAN"
            ds.save_as(f)
    fraction = load_single_course(source)
    assert fraction.plans[0].how == "FRACTION dose"
    assert float(fraction.plans[0].dose.dose_gy.max()) == pytest.approx(
        75.606, abs=0.01
    )  # MANIFEST
    assert _metrics(fraction) == _metrics(load_single_course(relabelled))


def test_the_fraction_labelled_course_has_the_dose_scale_of_its_plan_labelled_control() -> None:
    """Every ROI of 1 cc or more inside both grids (and on two planes or more): plancheck's
    mean-dose ratio FRACTION/PLAN equals the ratio of an independent dense sampling of the two
    grids as stored (pydicom, trilinear) within 0.5 %. A FRACTION grid multiplied by the fraction
    count would give 35 times the ratio."""
    fx, plan = load_single_course(data_set(FX)), load_single_course(data_set(PLAN))
    stored_fx, stored_plan = _stored_grid(data_set(FX)), _stored_grid(data_set(PLAN))
    a, b = _metrics(fx), _metrics(plan)
    report_a = {s.name: s for s in compute_dvh_report(fx, ["Volume[cc]"]).structures}
    report_b = {s.name: s for s in compute_dvh_report(plan, ["Volume[cc]"]).structures}
    compared = 0
    for name in sorted(set(a) & set(b)):
        ra, rb = report_a[name], report_b[name]
        if ra.volume_cc < 1.0 or ra.volume_outside_grid_cc > 0 or rb.volume_outside_grid_cc > 0:
            continue
        if len(fx.structure_set.by_name(name).planes) < 2:
            continue  # a single plane has no slab of its own for the independent sampling
        mean_a, mean_b = a[name]["Mean[Gy]"], b[name]["Mean[Gy]"]
        assert mean_a is not None and mean_b is not None
        points = _points(fx, name)
        want = _trilinear(stored_fx, points).mean() / _trilinear(stored_plan, points).mean()
        assert mean_a / mean_b == pytest.approx(want, rel=5e-3), name
        compared += 1
    assert compared >= 30  # the MANIFEST lists 56 ROIs; most are 1 cc or more and inside both grids


def test_alternative_plans_in_one_folder_are_reported_separately(tmp_path: Path) -> None:
    """MANIFEST.md: the IMRT (max 62.0 Gy) and VMAT (max 52.5 Gy) plans of one SRS case, one structure set."""
    for name in ("raystation_brain_srs_imrt", "raystation_brain_srs_vmat"):
        for f in data_set(f"real_exports/{name}").glob("*.dcm"):
            if not (tmp_path / f.name).exists():
                os.symlink(f, tmp_path / f.name)
    runner = CliRunner()
    out = tmp_path.parent / f"{tmp_path.name}-dvh.json"
    result = runner.invoke(main, ["dvh", str(tmp_path), "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    reports = {r["evaluated_plans"][0]["label"]: r for r in doc["reports"]}
    assert sorted(reports) == ["VMAT", "imrt 4"]
    gtv = {
        label: next(s for s in r["structures"] if s["name"] == "GTV_ALL")
        for label, r in reports.items()
    }
    for label, max_gy in (("imrt 4", 61.97), ("VMAT", 52.50)):
        assert (
            gtv[label]["metrics"]["Max[Gy]"] <= max_gy + 0.01
        )  # each its own plan's dose, never a sum
    evaluate = runner.invoke(main, ["evaluate", str(tmp_path)])
    assert evaluate.exit_code == 3
    assert "'VMAT' (5 fx)" in evaluate.stderr and "'imrt 4' (5 fx)" in evaluate.stderr
    assert "--plan" in evaluate.stderr and "--course all" in evaluate.stderr
    summed = runner.invoke(
        main, ["dvh", str(tmp_path), "--course", "all", "--format", "json", "-o", str(out)]
    )
    assert summed.exit_code == 0, summed.output
    doc = json.loads(out.read_text())
    assert len(doc["evaluated_plans"]) == 2
    assert any(f["code"] == "plans-summed" and f["severity"] == "warning" for f in doc["findings"])
