"""Protocol-level rules behind the verdict: ranges, surrogates, required groups, references.

The metric sources are tables written by the tests, so every value is known
before the evaluation runs; ranges stand for structures partly outside the
dose grid (plancheck.dvh.bounds computes them from DVHs, see tests/dvh/test_bounds.py).
"""

from __future__ import annotations

import math

import pytest

from plancheck.errors import EXIT_INPUT, EXIT_OK
from plancheck.protocol.evaluate import MetricRequest, ValueRange, evaluate_protocol
from plancheck.protocol.load import parse_protocol
from plancheck.protocol.outcome import Status
from plancheck.protocol.yamldoc import ProtocolFileError

PROTOCOL = """\
name: rules
description: surrogates, groups and ranges
dose_levels:
  - {id: rx, target: PTV, dose_gy: 40, fractions: 10}
structures:
  - {name: PTV}
  - {name: SpinalCord, aliases: [Cord], required: false}
  - {name: CaudaEquina, required: false}
  - {name: ThecalSac, required: false}
required_any:
  - structures: [SpinalCord, CaudaEquina, ThecalSac]
    reason: the cord, the cauda or the thecal sac
constraints:
  - {structure: PTV, metric: "V95%[%]", dose_level: rx, goal: ">= 95", source: cover}
  - {structure: SpinalCord, metric: "D0.03cc[Gy]", goal: "<= 33.5", variation: "<= 35.8", source: cord}
  - {structure: CaudaEquina, metric: "D0.03cc[Gy]", goal: "<= 39.5", source: cauda}
  - {structure: ThecalSac, metric: "D0.03cc[Gy]", surrogate_for: SpinalCord, goal: "<= 33.5", source: sac as cord}
  - {structure: ThecalSac, metric: "D0.03cc[Gy]", surrogate_for: CaudaEquina, goal: "<= 39.5", source: sac as cauda}
"""
LOADED = parse_protocol(PROTOCOL, "rules.yaml")


class Table:
    def __init__(self, values: dict[tuple[str, str], float | ValueRange]):
        self.values = values

    def __call__(self, request: MetricRequest) -> float | ValueRange:
        return self.values[(request.structure.key, request.metric.text)]


def rows(result, structure):
    return [o for o in result.outcomes if o.structure == structure]


def test_ranges_are_decided_only_when_both_ends_agree():
    why = "2.00 cc (10 %) of 'PTV' lies outside the dose grid"
    table = Table(
        {
            ("roi:PTV", "V95%[%]"): ValueRange(96.0, 100.0, why),  # met even if the rest is cold
            ("roi:Cord", "D0.03cc[Gy]"): ValueRange(30.0, math.inf, why),  # could be anything above
            ("roi:CaudaEquina", "D0.03cc[Gy]"): ValueRange(41.0, math.inf, why),  # fails anyway
        }
    )
    result = evaluate_protocol(LOADED, ["PTV", "Cord", "CaudaEquina"], table)
    (ptv,) = rows(result, "PTV")
    assert ptv.status is Status.PASS and ptv.bound == "at-least" and ptv.value == 96.0
    assert "regardless of the part outside the grid" in ptv.reason
    (cord,) = rows(result, "SpinalCord")
    assert cord.status is Status.NOT_EVALUATED and cord.value is None
    assert why in cord.reason and "no upper bound" in cord.reason
    (cauda,) = rows(result, "CaudaEquina")
    assert cauda.status is Status.FAIL and cauda.bound == "at-least" and cauda.value == 41.0
    assert "fails the goal" in cauda.reason


def test_a_range_within_the_variation_only_is_a_warning():
    why = "part outside"
    table = Table({("roi:PTV", "V95%[%]"): 97.0, ("roi:Cord", "D0.03cc[Gy]"): ValueRange(34.0, 35.0, why)})
    result = evaluate_protocol(LOADED, ["PTV", "Cord"], table)
    (cord,) = rows(result, "SpinalCord")
    assert cord.status is Status.WARN and cord.value == 35.0 and cord.bound == "at-most"


def test_the_thecal_sac_stands_in_only_for_absent_organs():
    table = Table(
        {
            ("roi:PTV", "V95%[%]"): 97.0,
            ("roi:Cord", "D0.03cc[Gy]"): 30.0,
            ("roi:ThecalSac", "D0.03cc[Gy]"): 36.0,
        }
    )
    result = evaluate_protocol(LOADED, ["PTV", "Cord", "ThecalSac"], table)
    as_cord, as_cauda = rows(result, "ThecalSac")
    # the cord is contoured: the sac's cord limit is reported, not graded
    assert as_cord.surrogate_for == "SpinalCord"
    assert as_cord.status is Status.REPORTED and as_cord.goal is None and not as_cord.counts_for_exit
    assert "not graded" in as_cord.reason and "<= 33.5" in as_cord.reason
    # the cauda is not: the sac is graded with the cauda's limit
    assert as_cauda.surrogate_for == "CaudaEquina" and as_cauda.counts_for_exit
    assert as_cauda.status is Status.PASS and "surrogate for CaudaEquina" in as_cauda.reason
    assert result.return_code == EXIT_OK


def test_thecal_sac_alone_is_graded_with_the_cord_limit():
    table = Table({("roi:PTV", "V95%[%]"): 97.0, ("roi:ThecalSac", "D0.03cc[Gy]"): 36.0})
    result = evaluate_protocol(LOADED, ["PTV", "ThecalSac"], table)
    statuses = {o.surrogate_for: o.status for o in rows(result, "ThecalSac")}
    assert statuses == {"SpinalCord": Status.FAIL, "CaudaEquina": Status.PASS}
    assert not result.missing_groups


def test_none_of_a_required_group_is_incomplete():
    result = evaluate_protocol(LOADED, ["PTV"], Table({("roi:PTV", "V95%[%]"): 97.0}))
    assert result.missing_groups and "the cord, the cauda or the thecal sac" in result.missing_groups[0]
    assert result.return_code == EXIT_INPUT
    assert set(result.absent_optional_structures) == {"SpinalCord", "CaudaEquina", "ThecalSac"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("  - {structure: PTV, metric: \"D2%[%]\", dose_level: rx, goal: \"<= 107\", source: x, refs: [Nobody2099]}\n",
         "unknown reference 'Nobody2099'"),
        ("  - {structure: PTV, metric: \"D2%[%]\", dose_level: rx, goal: \"<= 107\", source: x, surrogate_for: Nothing}\n",
         "unknown structure 'Nothing'"),
    ],
)
def test_protocol_file_errors(edit, message):
    with pytest.raises(ProtocolFileError, match=message):
        parse_protocol(PROTOCOL + edit, "bad.yaml")


def test_a_group_member_must_be_optional():
    text = PROTOCOL.replace("{name: CaudaEquina, required: false}", "{name: CaudaEquina}")
    with pytest.raises(ProtocolFileError, match="required on its own"):
        parse_protocol(text, "bad.yaml")


def test_local_references_resolve_and_may_not_contradict_the_shipped_ones():
    local = PROTOCOL.replace(
        "constraints:\n",
        "references:\n  Mine2024: A. Author, Our clinic's limits, 2024.\nconstraints:\n",
    ) + "  - {structure: PTV, metric: \"D2%[%]\", dose_level: rx, goal: \"<= 107\", source: x, refs: [Mine2024, ICRU83]}\n"
    from plancheck.protocol.bibliography import resolve_references

    loaded = parse_protocol(local, "local.yaml")
    keys = [r["key"] for r in resolve_references(loaded.protocol)]
    assert keys == ["Mine2024", "ICRU83"]
    clash = local.replace("Mine2024: A. Author", "ICRU83: Something else entirely, 1999.\n  Mine2024: A. Author")
    with pytest.raises(ProtocolFileError, match="already in the shipped bibliography"):
        parse_protocol(clash, "clash.yaml")
