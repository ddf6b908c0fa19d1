"""Phantom files read back by plancheck's own DICOM readers (skipped until they exist).

The written dose must come back as the build's grid: axes ascending and equal,
values within half a DoseGridScaling step, in every orientation and with both
kinds of GridFrameOffsetVector.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from plancheck.phantoms.build import standard_spec, write_phantom

rtdose = pytest.importorskip(
    "plancheck.dicom.rtdose", reason="the RTDOSE reader is not written yet"
)
rtstruct = pytest.importorskip(
    "plancheck.dicom.rtstruct", reason="the RTSTRUCT reader is not written yet"
)
rtplan = pytest.importorskip(
    "plancheck.dicom.rtplan", reason="the RTPLAN reader is not written yet"
)


@pytest.mark.parametrize("orientation", ["HFS", "FFS", "HFP", "FFP"])
@pytest.mark.parametrize("offsets", ["relative", "absolute"])
@pytest.mark.parametrize("bits", [16, 32])
def test_rtdose_round_trip(tmp_path, orientation, offsets, bits):
    spec = standard_spec(
        "sphere",
        radius_mm=8.0,
        dose_grid_mm=(2.0, 2.5, 3.0),
        gradient=(0.3, -0.45, 0.6),
        orientation=orientation,
        frame_offsets=offsets,
        bits=bits,
    )
    case = write_phantom(spec, tmp_path)
    dose = rtdose.read_rtdose(case.rtdose_path)
    want = case.build.dose
    for got_axis, want_axis in (
        (dose.grid.x_mm, want.x_mm),
        (dose.grid.y_mm, want.y_mm),
        (dose.grid.z_mm, want.z_mm),
    ):
        np.testing.assert_allclose(got_axis, want_axis, atol=1e-6)
    step = float(pydicom.dcmread(case.rtdose_path, stop_before_pixels=True).DoseGridScaling)
    # quantisation (half a step) plus the reader's float32 rounding
    tol = 0.5 * step + float(np.finfo(np.float32).eps) * float(want.dose_gy.max())
    assert np.max(np.abs(dose.grid.dose_gy - want.dose_gy)) <= tol
    assert dose.grid.frame_of_reference_uid == want.frame_of_reference_uid
    assert dose.summation_type == "PLAN"


def test_rtstruct_and_rtplan_round_trip(tmp_path):
    spec = standard_spec("ring", radius_mm=10.0, n_fractions=5, summation_type="FRACTION")
    case = write_phantom(spec, tmp_path)
    ss = rtstruct.read_rtstruct(case.rtstruct_path)
    (got,) = ss.structures
    want = case.build.structure("Ring")
    assert got.name == "Ring" and len(got.planes) == len(want.planes)
    for gp, wp in zip(got.planes, want.planes, strict=True):
        assert gp.z_mm == wp.z_mm
        assert len(gp.polygons) == 2
        for g, w in zip(gp.polygons, wp.polygons, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)
    plan = rtplan.read_rtplan(case.rtplan_path)
    assert plan.n_fractions == 5
    assert plan.prescription_gy == pytest.approx(30.0)
    assert plan.referenced_structure_set_uid == ss.sop_instance_uid
    assert plan.approval_status == "APPROVED"


@pytest.mark.parametrize("orientation", ["HFS", "FFS"])
def test_uneven_session_dose_round_trip(tmp_path, orientation):
    spec = standard_spec(
        "cone",
        radius_mm=8.0,
        dose_grid_mm=2.0,
        dose_frame_gaps_mm=(2.0, 3.0),
        orientation=orientation,
        summation_type="FRACTION_SESSION",
        n_fractions=4,
    )
    case = write_phantom(spec, tmp_path)
    dose = rtdose.read_rtdose(case.rtdose_path)
    want = case.build.dose
    np.testing.assert_allclose(dose.grid.z_mm, want.z_mm, atol=1e-6)
    assert dose.summation_type == "FRACTION_SESSION"
    assert dose.referenced_fraction_group == 1
    tol = 0.5 * float(pydicom.dcmread(case.rtdose_path).DoseGridScaling) + float(
        np.finfo(np.float32).eps
    ) * float(want.dose_gy.max())
    assert np.max(np.abs(dose.grid.dose_gy * 4 - want.dose_gy)) <= 4 * tol


def test_spine_plans_round_trip(tmp_path):
    from plancheck.phantoms.spine import write_spine

    paths = write_spine("sib-seq-course", tmp_path)
    ss = rtstruct.read_rtstruct(paths.rtstruct)
    assert {s.name for s in ss.structures} >= {"PTV_boost", "PTV", "SpinalCord", "CaudaEquina"}
    plans = sorted((rtplan.read_rtplan(p) for p in paths.rtplans), key=lambda p: p.label)
    assert [(p.label, p.n_fractions, p.prescription_gy) for p in plans] == [
        ("SEQ_BOOST_8", 2, 8.0),
        ("SIB_30_40", 10, 40.0),
    ]
    assert all(p.referenced_structure_set_uid == ss.sop_instance_uid for p in plans)
    doses = [rtdose.read_rtdose(p) for p in paths.rtdoses]
    assert {d.referenced_plan_uid for d in doses} == {p.sop_instance_uid for p in plans}
