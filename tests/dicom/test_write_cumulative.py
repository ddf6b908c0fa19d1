"""The cumulative EQD2 RT Dose: attributes per PS3.3 C.8.8.3 and a round trip through the reader."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from plancheck.dicom.rtdose import read_rtdose
from plancheck.dicom.write import DicomContext
from plancheck.dicom.write_cumulative import cumulative_eqd2_dataset, write_cumulative_eqd2
from plancheck.model import DoseGrid, PatientInfo
from tests.dicom.builders import uid

FRAME = uid("current frame")
CTX = DicomContext(PatientInfo("A^B", "PC-TEST-1", "19600101"), uid("study"), FRAME)


def eqd2_grid() -> DoseGrid:
    """EQD2 (α/β 2 Gy) of 30 Gy/10 fx and 24 Gy/2 fx fields, each a closed form of position."""
    x = np.arange(-30.0, 30.1, 2.5)
    y = np.arange(-20.0, 20.1, 2.0)
    z = np.arange(-10.0, 10.1, 3.0)
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    prior = 30.0 * np.exp(-(xx**2 + yy**2) / 800.0)
    current = 24.0 * np.exp(-((xx - 5.0) ** 2 + zz**2) / 200.0)
    eqd2 = prior * (prior / 10 + 2.0) / 4.0 + current * (current / 2 + 2.0) / 4.0
    return DoseGrid(eqd2, x, y, z, FRAME)


@pytest.mark.parametrize("orientation", ["HFS", "FFP"])
def test_round_trip_through_the_reader(tmp_path, orientation):
    grid = eqd2_grid()
    path = write_cumulative_eqd2(
        tmp_path / "cumulative_eqd2.dcm",
        CTX,
        grid,
        alpha_beta_gy=2.0,
        courses=["prior: SPINE_30 30 Gy in 10 fractions", "current: SBRT_24 24 Gy in 2 fractions"],
        referenced_plan_uids=[uid("prior plan"), uid("current plan")],
        sop_instance_uid=uid("eqd2"),
        series_instance_uid=uid("eqd2 series"),
        details="Prior dose mapped by the rigid registration RE.dcm.",
        orientation=orientation,
    )
    ds = pydicom.dcmread(path)
    assert ds.DoseType == "EFFECTIVE" and ds.DoseSummationType == "MULTI_PLAN"
    assert ds.DoseUnits == "GY" and ds.BitsAllocated == 32
    assert ds.DoseComment == "cumulative EQD2 (a/b 2 Gy) of 2 courses"
    assert [r.ReferencedSOPInstanceUID for r in ds.ReferencedRTPlanSequence] == [
        uid("prior plan"),
        uid("current plan"),
    ]
    assert "current: SBRT_24 24 Gy in 2 fractions" in ds.ImageComments
    assert "RE.dcm" in ds.ImageComments
    dose = read_rtdose(path)
    assert dose.dose_type == "EFFECTIVE" and dose.summation_type == "MULTI_PLAN"
    assert dose.grid.frame_of_reference_uid == FRAME
    assert np.allclose(dose.grid.x_mm, grid.x_mm) and np.allclose(dose.grid.z_mm, grid.z_mm)
    # 32-bit storage: the step is max / (2^32 - 1); the reader returns float32 (7 digits)
    peak = float(grid.dose_gy.max())
    assert np.max(np.abs(dose.grid.dose_gy - grid.dose_gy)) <= 2e-7 * peak
    codes = {f.code for f in dose.findings}
    assert "effective-dose" in codes


def test_one_plan_is_a_plan_dose():
    ds = cumulative_eqd2_dataset(
        CTX,
        eqd2_grid(),
        alpha_beta_gy=3.0,
        courses=["one course"],
        referenced_plan_uids=[uid("only plan")],
        sop_instance_uid=uid("one"),
        series_instance_uid=uid("one series"),
    )
    assert ds.DoseSummationType == "PLAN"
    assert ds.DoseComment == "cumulative EQD2 (a/b 3 Gy) of 1 course"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"referenced_plan_uids": []}, "references the plans"),
        ({"courses": []}, "name the courses"),
        ({"alpha_beta_gy": 0.0}, "must be > 0"),
    ],
)
def test_refusals(changes, message):
    args = {
        "alpha_beta_gy": 2.0,
        "courses": ["a", "b"],
        "referenced_plan_uids": [uid("a"), uid("b")],
        "sop_instance_uid": uid("x"),
        "series_instance_uid": uid("y"),
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        cumulative_eqd2_dataset(CTX, eqd2_grid(), **args)


def test_grid_of_another_frame_is_refused():
    g = eqd2_grid()
    other = DoseGrid(g.dose_gy, g.x_mm, g.y_mm, g.z_mm, uid("prior frame"))
    with pytest.raises(ValueError, match="frame of reference"):
        cumulative_eqd2_dataset(
            CTX,
            other,
            alpha_beta_gy=2.0,
            courses=["a"],
            referenced_plan_uids=[uid("a")],
            sop_instance_uid=uid("x"),
            series_instance_uid=uid("y"),
        )
