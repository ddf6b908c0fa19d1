"""plancheck against the DVHs Varian Eclipse stored in the RTDOSE of a real plan.

Reference values: the cumulative DVHs of ``eclipse_breast_boost/rtdose.dcm``
(DVHSequence), as exported to ``reference_dvh_from_rtdose_DVHSequence/``; the
Eclipse metrics are read off those curves by linear interpolation in
``tests/validation/eclipse.py``, independently of plancheck.

Acceptance (issue "Done means"), for every ROI of 5 cc or more inside the dose
grid: volume within 2 %, mean within 1 %, D95%/D50%/D2% within 2 %, D0.03cc
within 3 % (dose metrics: or 0.05 Gy where that is larger). plancheck is run
with the end-cap convention of the system that made the plan: Eclipse's
volumes match no caps (the end planes bound the structure; see
docs/validation.md for both conventions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.validation.eclipse import (
    PRESCRIPTION_GY,
    TOLERANCES,
    eclipse_metrics,
    inside_grid_points,
    plancheck_metrics,
    read_eclipse_dvhs,
    within_tolerance,
)
from tests.validation.refdata import data_set

pytestmark = pytest.mark.slow

# ROIs of >= 5 cc in Eclipse's DVHs whose contours lie inside the dose grid (BODY reaches its border).
EXPECTED_ASSESSED = {"Breast", "Heart", "Lt Lung", "Tumor Bed", "Tumor Bed Block"}


@pytest.fixture(scope="module")
def eclipse_dir() -> Path:
    return data_set("eclipse_breast_boost")


def test_plancheck_agrees_with_eclipse_dvhs(eclipse_dir: Path) -> None:
    from plancheck.dicom.rtdose import read_rtdose
    from plancheck.dicom.rtstruct import read_rtstruct
    from plancheck.model import EndCaps

    structures = {s.roi_number: s for s in read_rtstruct(eclipse_dir / "rtss.dcm").structures}
    grid = read_rtdose(eclipse_dir / "rtdose.dcm").grid
    assessed = set()
    failures = {}
    for roi, eclipse in read_eclipse_dvhs(eclipse_dir).items():
        structure = structures[roi]
        if eclipse.total_cc < 5.0 or not inside_grid_points(structure, grid):
            continue
        assessed.add(structure.name)
        theirs = eclipse_metrics(eclipse)
        ours = plancheck_metrics(structure, grid, EndCaps.NONE)
        for label in TOLERANCES:
            if not within_tolerance(label, ours[label], theirs[label]):
                failures[(structure.name, label)] = (round(ours[label], 4), round(theirs[label], 4))
    assert assessed == EXPECTED_ASSESSED
    assert not failures, f"(plancheck, Eclipse) beyond tolerance: {failures}"


def test_eclipse_dvhs_read_from_rtdose(eclipse_dir: Path) -> None:
    """The course loader returns Eclipse's stored DVHs in Gy, with the percent quirk detected.

    Only DVHMinimum/Maximum/MeanDose are percent of the prescription; the
    curves are in Gy already (see tests/validation/eclipse.py).
    """
    from plancheck.dicom.course import load_courses
    from plancheck.dicom.discover import index_folder

    loaded = load_courses(index_folder(eclipse_dir))
    (course,) = loaded.courses
    (plan_dose,) = course.plans
    codes = {f.code for f in (*loaded.findings, *course.findings)}
    assert "tps-dvh-percent-of-prescription" in codes
    reference = read_eclipse_dvhs(eclipse_dir)
    tps = {d.roi_number: d for d in plan_dose.tps_dvhs}
    assert set(tps) == set(reference)
    for roi, ref in reference.items():
        ours = tps[roi]
        # the curve: bins of 0.01 Gy, ending where the structure's dose ends
        assert float(np.max(ours.dose_gy)) == pytest.approx(float(ref.dose_gy[-1]), abs=0.011)
        assert float(ours.cumulative_cc[0]) == pytest.approx(ref.total_cc, rel=1e-4)
        # DVHMeanDose is percent of the prescription: reported in Gy
        assert ours.mean_gy is not None
        assert ours.mean_gy == pytest.approx(ref.mean_gy, rel=1e-4)
    body_max = tps[1].max_gy
    assert body_max is not None
    assert body_max == pytest.approx(1.04862666 * PRESCRIPTION_GY, rel=1e-5)
    assert float(plan_dose.dose.dose_gy.max()) == pytest.approx(body_max, rel=1e-3)
