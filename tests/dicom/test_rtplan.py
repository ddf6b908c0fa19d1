"""The RT (Ion) Plan reader: label, fractions, prescription, approval, references, beams."""

from __future__ import annotations

import pytest

from plancheck.dicom.rtplan import fraction_groups_from_dataset, plan_from_dataset, read_rtplan
from tests.dicom import builders as b
from tests.validation.refdata import data_set


def test_plan_header_facts() -> None:
    ds = b.rtplan(
        label="SIB",
        fractions=(10,),
        prescription_gy=40.0,
        structure_set_uid=b.uid("ss"),
        beams=(1, 2, 3),
    )
    plan = plan_from_dataset(ds)
    assert (plan.label, plan.name, plan.n_fractions, plan.prescription_gy) == (
        "SIB",
        "SIB name",
        10,
        40.0,
    )
    assert plan.approval_status == "APPROVED" and not plan.is_ion
    assert plan.referenced_structure_set_uid == b.uid("ss")
    assert plan.frame_of_reference_uid == b.FRAME
    assert plan.beam_numbers == (1, 2, 3)
    assert plan.patient.patient_id == b.PATIENT_ID
    assert not plan.findings


def test_ion_plan_beams() -> None:
    plan = plan_from_dataset(b.rtplan(ion=True, beams=(4, 5), prescription_gy=None))
    assert plan.is_ion and plan.beam_numbers == (4, 5) and plan.prescription_gy is None


def test_missing_fraction_count_is_none_with_a_finding() -> None:
    plan = plan_from_dataset(b.rtplan(fractions=(None,)))
    assert plan.n_fractions is None
    assert "plan-without-fraction-count" in {f.code for f in plan.findings}


def test_several_fraction_groups() -> None:
    ds = b.rtplan(fractions=(10, 2))
    plan = plan_from_dataset(ds)
    assert plan.n_fractions == 12
    assert "plan-with-several-fraction-groups" in {f.code for f in plan.findings}
    groups = fraction_groups_from_dataset(ds)
    assert [(g.number, g.n_fractions, g.beam_numbers) for g in groups] == [
        (1, 10, (1, 2)),
        (2, 2, (1, 2)),
    ]


def test_invalid_prescription_is_ignored_with_a_finding() -> None:
    plan = plan_from_dataset(b.rtplan(prescription_gy=-5.0))
    assert plan.prescription_gy is None
    assert "prescription-invalid" in {f.code for f in plan.findings}


@pytest.mark.slow
def test_real_plans() -> None:
    """MANIFEST.md of the data sets: Eclipse 'B1', 7 fractions, 14 Gy; RayStation ion plan, 1 fraction, 2 beams."""
    eclipse = read_rtplan(data_set("eclipse_breast_boost") / "rtplan.dcm")
    assert (eclipse.label, eclipse.n_fractions, eclipse.prescription_gy, eclipse.beam_numbers) == (
        "B1",
        7,
        14.0,
        (1, 2, 3, 4),
    )
    ion = read_rtplan(data_set("raystation_proton_box") / "ramped_2Gy_ver2_full.dcm")
    assert ion.is_ion and ion.n_fractions == 1 and ion.beam_numbers == (1, 2)
    assert ion.approval_status == "APPROVED" and ion.prescription_gy is None
