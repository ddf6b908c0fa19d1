"""Pinnacle H&N anon33345: ROI volumes from the structure set's slice spacing, sparse ROIs included.

Reference (``real_exports/pinnacle_hn_anon33345/MANIFEST.md``): many helper
ROIs are contoured on sparse, non-adjacent planes of a 3 mm structure set
(``5425 (VMAT)_1``: 4 contours with plane gaps of 3, 39 and 72 mm). Each
contour is a slab of its slice; an ROI that skips slices is separate parts,
each ending half a slice beyond its end planes (half caps, Pinnacle's
convention in plancheck's table). On an even lattice every plane's slab is
then exactly one slice thick, so an ROI's volume is the sum of its planes'
contour areas times the slice spacing.

That expectation is computed here from the file with pydicom and shapely
alone: each plane's area by the even-odd rule over its CLOSED_PLANAR contours
(degenerate ones have no area), the spacing as the median step between all
ROIs' distinct plane positions. plancheck's volumes must be within 5 % of it
(the issue's criterion; its partial-volume sampling of contours a few
millimetres across is what is left), and every ROI that skips slices must
carry a ``roi-skips-planes`` finding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import shapely

from plancheck.dvh.engine import DvhSettings
from plancheck.dvh_report import compute_dvh_report
from plancheck.model import EndCaps
from plancheck.pipeline import load_single_course
from tests.validation.refdata import data_set

pytestmark = pytest.mark.slow


def _independent(folder: Path) -> tuple[dict[int, float], dict[int, bool], float]:
    """Per ROI number: sum of plane areas (mm²) and whether it skips slices; the spacing (mm)."""
    rs = next(
        ds
        for ds in (pydicom.dcmread(f) for f in sorted(folder.glob("*.dcm")))
        if ds.Modality == "RTSTRUCT"
    )
    planes: dict[int, dict[float, shapely.Geometry]] = {}
    positions: set[float] = set()
    for rc in rs.ROIContourSequence:
        roi = int(rc.ReferencedROINumber)
        areas: dict[float, shapely.Geometry] = {}
        for c in getattr(rc, "ContourSequence", []):
            if c.ContourGeometricType != "CLOSED_PLANAR":
                continue
            p = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
            z = round(float(p[0, 2]), 2)
            positions.add(z)
            if len(p) < 3:
                continue
            poly = shapely.make_valid(shapely.Polygon(p[:, :2]))
            areas[z] = shapely.symmetric_difference(areas.get(z, shapely.Polygon()), poly)
        planes[roi] = areas
    lattice = np.array(sorted(positions))
    spacing = float(np.median(np.diff(lattice)))
    area = {roi: sum(float(a.area) for a in p.values()) for roi, p in planes.items()}
    skips = {}
    for roi, p in planes.items():
        idx = np.searchsorted(lattice, sorted(p))
        skips[roi] = bool(idx.size > 1 and np.any(np.diff(idx) > 1))
    return area, skips, spacing


def test_every_roi_volume_is_its_contour_area_times_the_structure_set_spacing() -> None:
    folder = data_set("real_exports/pinnacle_hn_anon33345")
    area, _, spacing = _independent(folder)
    assert spacing == pytest.approx(3.0)
    course = load_single_course(folder)
    report = compute_dvh_report(course, ["Volume[cc]"], settings=DvhSettings(end_caps=EndCaps.HALF))
    checked = 0
    for s in report.structures:
        expected_cc = area.get(s.roi_number, 0.0) * spacing / 1000.0
        if expected_cc <= 0:
            continue
        assert s.volume_cc == pytest.approx(expected_cc, rel=0.05), (
            s.name,
            s.volume_cc,
            expected_cc,
        )
        checked += 1
    assert checked >= 30  # 38 of the 52 ROIs have contour area
    # the MANIFEST's example: 4 contours, 0.39 cc by area x 3 mm (5.35 cc with its own gaps)
    helper = next(s for s in report.structures if s.name == "5425 (VMAT)_1")
    assert helper.volume_cc == pytest.approx(0.39, abs=0.01)


def test_every_roi_that_skips_slices_has_a_finding() -> None:
    folder = data_set("real_exports/pinnacle_hn_anon33345")
    _, skips, _ = _independent(folder)
    course = load_single_course(folder)
    flagged = {
        s.roi_number
        for s in course.structure_set.structures
        if any(f.code == "roi-skips-planes" for f in s.findings)
    }
    expected = {roi for roi, skipped in skips.items() if skipped}
    assert expected and flagged == expected
