"""Choosing the shipped protocol from the plans found, and reporting plan/protocol mismatches."""

from __future__ import annotations

from pathlib import Path

import pytest

from plancheck.errors import ProtocolError
from plancheck.model import DoseReference, PatientInfo, Plan
from plancheck.protocol.registry import load_shipped
from plancheck.protocol.selection import FoundPlan, compare_plans, select_protocol


def plan(label: str, fractions: int | None, *doses: float) -> FoundPlan:
    return FoundPlan(label, fractions, tuple(doses))


@pytest.mark.parametrize(
    ("plans", "expected"),
    [
        ([plan("SIB", 10, 30, 40)], "spine_sib_30Gy10_40Gy10"),
        ([plan("SIB", 10, 40)], "spine_sib_30Gy10_40Gy10"),
        ([plan("SIB", 10, 30.0, 40.0), plan("Boost", 2, 8)], "spine_sib_seq_48Gy12"),
        (
            [plan("Boost", 2, 8), plan("SIB", 10, 40)],
            "spine_sib_seq_48Gy12",
        ),  # order does not matter
        ([plan("SBRT", 2, 24)], "spine_sbrt_24Gy2"),
        ([plan("Palliative", 10, 30.0)], None),  # conventional and SIB both give 30 Gy in 10 fx
    ],
)
def test_auto_selection(plans, expected):
    if expected is None:
        with pytest.raises(ProtocolError) as err:
            select_protocol(plans)
        message = str(err.value)
        assert "several protocols fit" in message
        assert "spine_conventional_30Gy10" in message and "spine_sib_30Gy10_40Gy10" in message
        assert err.value.exit_code == 2
        return
    selection = select_protocol(plans)
    assert selection.protocol.name == expected
    assert expected in selection.reason
    assert {p.found.label for p in selection.pairings} == {p.label for p in plans}


def test_structures_break_a_tie_when_a_target_is_absent():
    rois = ["PTV", "Body", "SpinalCord"]  # no boost volume
    selection = select_protocol([plan("Palliative", 10, 30)], roi_names=rois)
    assert selection.protocol.name == "spine_conventional_30Gy10"
    assert "set aside spine_sib_30Gy10_40Gy10" in selection.reason


def test_structures_do_not_break_a_real_tie():
    with pytest.raises(ProtocolError, match="several protocols fit"):
        select_protocol(
            [plan("Palliative", 10, 30)], roi_names=["PTV", "PTV_boost", "Body", "Cord"]
        )


@pytest.mark.parametrize(
    "plans",
    [
        [plan("X", 5, 20)],
        [plan("X", 10, 35)],  # 35 Gy is no dose level of a 10-fraction protocol
        [plan("A", 10, 40), plan("B", 3, 8)],
        [plan("A", None, 40)],  # fractions unknown: cannot be matched
        [],
    ],
)
def test_no_protocol_fits(plans):
    with pytest.raises(ProtocolError) as err:
        select_protocol(plans)
    message = str(err.value)
    assert "no protocol fits" in message
    for name in ("spine_sib_30Gy10_40Gy10", "spine_sbrt_24Gy2"):
        assert name in message  # candidates are listed with their courses
    assert "--protocol" in message


def test_prescription_tolerance_is_half_a_percent():
    assert select_protocol([plan("S", 2, 24.1)]).protocol.name == "spine_sbrt_24Gy2"  # 0.42 %
    with pytest.raises(ProtocolError):
        select_protocol([plan("S", 2, 24.2)])  # 0.83 %


def test_compare_plans_reports_every_mismatch():
    protocol = load_shipped("spine_sib_seq_48Gy12").protocol
    findings = compare_plans(protocol, [plan("SIB", 10, 40), plan("Boost", 3, 9)])
    codes = [f.code for f in findings]
    assert codes == ["fraction-mismatch", "prescription-mismatch"]
    assert "'Boost'" in findings[0].message and "3 fractions" in findings[0].message
    assert "9 Gy" in findings[1].message


def test_compare_plans_counts_plans_and_notes_missing_prescriptions():
    protocol = load_shipped("spine_sib_seq_48Gy12").protocol
    findings = compare_plans(protocol, [plan("SIB", 10)])
    codes = [f.code for f in findings]
    assert "plan-count-mismatch" in codes
    assert "prescription-not-stated" in codes
    assert compare_plans(protocol, [plan("SIB", 10, 30, 40), plan("B", 2, 8)]) == ()


def test_found_plan_from_rtplan_record():
    patient = PatientInfo("Test^Patient", "ID1", "")
    refs = (
        DoseReference(1, "PTV", "TARGET", 30.0, 1),
        DoseReference(2, "boost", "TARGET", 40.0, 2),
        DoseReference(3, "cord", "ORGAN_AT_RISK", None, 3),
    )
    rtplan = Plan(
        Path("p.dcm"), "1.2.3", "SIB", "SIB", 10, refs, "APPROVED", None, None, False, (1,), patient
    )
    found = FoundPlan.from_plan(rtplan)
    assert found == FoundPlan("SIB", 10, (30.0, 40.0))


def test_plans_without_prescription_list_candidates_and_stop():
    # a 2-fraction boost plan that states no prescription is never matched to the SBRT protocol
    with pytest.raises(ProtocolError) as err:
        select_protocol([plan("Boost", 2)])
    message = str(err.value)
    assert err.value.exit_code == 2
    assert "states no target prescription" in message and "spine_sbrt_24Gy2" in message
    with pytest.raises(ProtocolError, match="spine_sib_seq_48Gy12"):
        select_protocol([plan("Boost", 2), plan("SIB", 10)])


def test_a_protocol_whose_targets_are_only_reported_is_never_chosen():
    from plancheck.protocol.selection import grades_its_targets

    sbrt = load_shipped("spine_sbrt_24Gy2")
    text = sbrt.document.text.replace('    goal: ">= 90"\n    variation: ">= 80"\n', "    report_only: true\n")
    from plancheck.protocol.load import parse_protocol

    reported = parse_protocol(text, "reported.yaml")
    assert not grades_its_targets(reported.protocol)
    with pytest.raises(ProtocolError, match="targets only reported"):
        select_protocol([plan("SBRT", 2, 24)], candidates=[reported])
    assert select_protocol([plan("SBRT", 2, 24)], candidates=[sbrt]).protocol.name == "spine_sbrt_24Gy2"


def test_several_fraction_groups_never_fit_a_one_group_plan():
    from plancheck.protocol.selection import plan_mismatches

    groups = FoundPlan("SIB", 40, (40.0, 30.0), (10, 30))
    with pytest.raises(ProtocolError, match="no protocol fits"):
        select_protocol([groups])
    found = plan_mismatches(load_shipped("spine_sib_30Gy10_40Gy10").protocol, [groups])
    assert [(m.code, m.blocking) for m in found] == [("fraction-groups-mismatch", True)]
    assert "10 + 30 fractions" in found[0].message


def test_prescription_mismatches_block_only_when_the_protocol_cannot_be_the_plans():
    from plancheck.protocol.selection import plan_mismatches

    sib = load_shipped("spine_sib_30Gy10_40Gy10").protocol
    # a reference point below the highest level (Eclipse's CALC POINT): recorded, not blocking
    point = plan_mismatches(sib, [plan("SIB", 10, 40, 30, 11.3)])
    assert [(m.code, m.blocking) for m in point] == [("prescription-not-in-protocol", False)]
    # a dose above the protocol's highest: blocking
    above = plan_mismatches(sib, [plan("SIB", 10, 45)])
    assert [(m.code, m.blocking) for m in above] == [("prescription-mismatch", True)]
    # fractions: blocking; no prescription stated: recorded only
    assert [(m.code, m.blocking) for m in plan_mismatches(sib, [plan("SIB", 20, 40)])] == [
        ("fraction-mismatch", True)
    ]
    assert [(m.code, m.blocking) for m in plan_mismatches(sib, [plan("SIB", 10)])] == [
        ("prescription-not-stated", False)
    ]


@pytest.mark.parametrize(
    "message",
    [
        "plan 'SIB' (SIB) has 2 fraction groups ([10, 30] fractions); its fraction count is taken as their sum, 40",
        "plan 'SIB' (SIB) has 2 fraction groups (10 + 30 = 40 fractions); EQD2/BED are computed only where",
    ],
)
def test_found_plan_reads_the_fraction_groups_from_the_readers_finding(message):
    from plancheck.model import Finding, Severity

    patient = PatientInfo("Test^Patient", "ID1", "")
    rtplan = Plan(
        Path("p.dcm"), "1.2.3", "SIB", "SIB", 40, (), "APPROVED", None, None, False, (1,), patient,
        (Finding(Severity.INFO, "plan-with-several-fraction-groups", message),),
    )
    found = FoundPlan.from_plan(rtplan)
    assert found.fraction_groups == (10, 30) and found.several_groups
    assert "2 fraction groups (10 + 30 fx)" in found.describe()


def test_a_plan_alone_pairs_with_the_protocol_plan_it_fits() -> None:
    # the sequential protocol's plan 1 is 10 fx (30/40 Gy), plan 2 is 2 fx (8 Gy): a lone 2-fraction
    # boost plan is plan 2, whatever the order of the protocol's plans
    from plancheck.protocol.selection import pair_plans

    protocol = load_shipped("spine_sib_seq_48Gy12").protocol
    (pairing,) = pair_plans(protocol, [plan("Boost", 2, 8)])
    assert (pairing.expected.number, pairing.found.label, pairing.fractions_match) == (2, "Boost", True)
    (pairing,) = pair_plans(protocol, [plan("SIB", 10, 30, 40)])
    assert pairing.expected.number == 1
