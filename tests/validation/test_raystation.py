"""The RayStation proton box: end-cap conventions, and the PLAN dose chosen over PLAN + BEAMs.

Reference values (``raystation_proton_box/MANIFEST.md``): ``Cube101010`` is a
100 x 100 mm square contoured on 21 planes 5 mm apart, z = -50 ... +50 mm, so it
is 1000 cc when the end planes bound it (RayStation's box) and 1050 cc when
every plane is a full 5 mm slab (half-slice end caps). The folder holds one
PLAN RTDOSE and the two BEAM RTDOSEs that sum to it.

Tolerance on the volumes: 0.5 %. The square's edges are straight and
axis-aligned, so the only error left is the in-plane sampling of the edges;
0.5 % is half the project's general 1 % volume accuracy and ten times smaller
than the 5 % that separates the two conventions, so neither can pass for the
other.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.validation.raystation import (
    CUBE,
    independent_cube_mean_gy,
    plan_dose_path,
    rtstruct_path,
)
from tests.validation.refdata import data_set

pytestmark = pytest.mark.slow

VOLUME_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def box_dir() -> Path:
    return data_set("raystation_proton_box")


@pytest.mark.parametrize(("caps", "expected_cc"), [("half", 1050.0), ("none", 1000.0)])
def test_cube_volume_per_end_cap_convention(box_dir: Path, caps: str, expected_cc: float) -> None:
    from plancheck.dicom.rtdose import read_rtdose
    from plancheck.dicom.rtstruct import read_rtstruct
    from plancheck.dvh.engine import DvhSettings, compute_dvh
    from plancheck.model import EndCaps

    cube = read_rtstruct(rtstruct_path(box_dir)).by_name(CUBE)
    grid = read_rtdose(plan_dose_path(box_dir)).grid
    dvh = compute_dvh(cube, grid, DvhSettings(end_caps=EndCaps(caps)))
    assert dvh.volume_outside_grid_cc == 0.0
    assert dvh.volume_cc == pytest.approx(expected_cc, rel=VOLUME_TOLERANCE)


def test_course_uses_plan_dose_not_plan_plus_beams(box_dir: Path) -> None:
    from plancheck.dicom.course import load_courses
    from plancheck.dicom.discover import index_folder
    from plancheck.dvh.engine import DvhSettings, compute_dvh
    from plancheck.model import EndCaps

    loaded = load_courses(index_folder(box_dir))
    assert len(loaded.courses) == 1
    course = loaded.courses[0]
    assert len(course.plans) == 1
    plan_dose = course.plans[0]
    plan_uid = str(pydicom.dcmread(plan_dose_path(box_dir), stop_before_pixels=True).SOPInstanceUID)
    assert plan_dose.dose_uids == (plan_uid,)

    cube = course.structure_set.by_name(CUBE)
    dvh = compute_dvh(cube, plan_dose.dose, DvhSettings(end_caps=EndCaps.NONE))
    assert dvh.mean_gy is not None
    independent = independent_cube_mean_gy(box_dir)
    # not ~2x: PLAN + BEAM1 + BEAM2 would double the dose
    assert 0.9 < dvh.mean_gy / independent < 1.1
    # the same quantity by two methods: grid-point mean vs partial-volume trilinear mean
    assert dvh.mean_gy == pytest.approx(independent, rel=0.01)
