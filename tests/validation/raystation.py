"""The RayStation proton box: file lookup and an independent PLAN-dose mean (pydicom and numpy only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

CUBE = "Cube101010"


def rtstruct_path(box_dir: Path) -> Path:
    return next(box_dir.glob("RS*.dcm"))


def plan_dose_path(box_dir: Path) -> Path:
    paths = [
        p
        for p in box_dir.glob("RD*.dcm")
        if pydicom.dcmread(p, stop_before_pixels=True).DoseSummationType == "PLAN"
    ]
    assert len(paths) == 1
    return paths[0]


def independent_cube_mean_gy(box_dir: Path) -> float:
    """Mean PLAN dose over the grid points inside the cube, with pydicom and numpy only."""
    rs = pydicom.dcmread(rtstruct_path(box_dir))
    roi = next(int(r.ROINumber) for r in rs.StructureSetROISequence if r.ROIName == CUBE)
    item = next(r for r in rs.ROIContourSequence if int(r.ReferencedROINumber) == roi)
    pts = np.concatenate(
        [np.asarray(c.ContourData, dtype=float).reshape(-1, 3) for c in item.ContourSequence]
    )
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    ds = pydicom.dcmread(plan_dose_path(box_dir))
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    dose = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    offsets = np.asarray([float(v) for v in ds.GridFrameOffsetVector])
    z = z0 + offsets if offsets[0] == 0.0 else offsets
    y = y0 + dy * np.arange(dose.shape[1])
    x = x0 + dx * np.arange(dose.shape[2])
    inside_z = (z >= lo[2]) & (z <= hi[2])
    inside_y = (y >= lo[1]) & (y <= hi[1])
    inside_x = (x >= lo[0]) & (x <= hi[0])
    return float(dose[np.ix_(inside_z, inside_y, inside_x)].mean())
