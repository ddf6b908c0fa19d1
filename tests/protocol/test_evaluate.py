"""Evaluating a protocol from a metric source: outcomes, reasons, indices, ambiguity, exit codes.

The metric sources here are tables written by the tests, so every value an
outcome reports is known before the evaluation runs.
"""

from __future__ import annotations

import pytest

from plancheck.dvh.indices import IndexKind
from plancheck.errors import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    AmbiguousMatchError,
    MetricUndefinedError,
)
from plancheck.protocol.evaluate import IndexRequest, MetricRequest, evaluate_protocol
from plancheck.protocol.load import parse_protocol
from plancheck.protocol.matching import UserAliases
from plancheck.protocol.outcome import Status
from tests.protocol.builders import MINIMAL, line_of

LOADED = parse_protocol(MINIMAL, "mini.yaml")
ROIS = ["PTV_4000", "External", "Cord", "Kidney_L"]


class Table:
    """A metric source answering from {(structure key, metric text): value}; records the requests."""

    def __init__(self, values: dict[tuple[str, str], float | str]):
        self.values = values
        self.requests: list[MetricRequest] = []

    def __call__(self, request: MetricRequest) -> float:
        self.requests.append(request)
        value = self.values[(request.structure.key, request.metric.text)]
        if isinstance(value, str):
            raise MetricUndefinedError(request.metric.text, value)
        return value


GOOD = {
    ("roi:Cord", "D0.03cc[EQD2Gy(a/b=2)]"): 44.2,
    ("roi:PTV_4000", "V95%[%]"): 97.5,
    ("derived:PTV_4000 - Cord", "D50%[Gy]"): 40.1,
    ("roi:Kidney_L", "Mean[Gy]"): 6.0,
    # Paddick CI at 40 Gy: TV = 50 cc, TV_PIV = 45 cc, PIV = 60 cc
    ("roi:PTV_4000", "V0Gy[cc]"): 50.0,
    ("roi:PTV_4000", "V40Gy[cc]"): 45.0,
    ("roi:External", "V40Gy[cc]"): 60.0,
}


def by_metric(result, structure, metric):
    return next(
        o for o in result.outcomes if o.structure == structure and o.metric.startswith(metric)
    )


def test_all_pass():
    source = Table(GOOD)
    result = evaluate_protocol(LOADED, ROIS, source)
    cord = by_metric(result, "SpinalCord", "D0.03cc")
    assert cord.status is Status.PASS
    assert cord.value == 44.2
    assert cord.unit == "Gy EQD2(a/b=2)"
    assert cord.goal == "<= 45" and cord.variation == "<= 50"
    assert cord.roi == "Cord"
    assert "alias 'Cord'" in (cord.matched_by or "")
    assert cord.reason == "44.2 Gy EQD2(a/b=2) meets the goal <= 45"
    assert cord.source == "test cord"
    assert cord.protocol_line == line_of(MINIMAL, "- structure: SpinalCord")
    assert result.return_code == EXIT_OK
    # a paddick CI from the DVH metrics: 45^2 / (50 * 60)
    ci = next(o for o in result.outcomes if o.kind == "index")
    assert ci.value == pytest.approx(45.0**2 / (50.0 * 60.0))
    assert ci.status is Status.REPORTED
    assert ci.metric == "CI (Paddick) at 40 Gy"


def test_relative_metrics_get_their_level_dose():
    source = Table(GOOD)
    evaluate_protocol(LOADED, ROIS, source)
    v95 = next(r for r in source.requests if r.metric.text == "V95%[%]")
    assert v95.prescription_gy == 40.0
    assert v95.dose_level is not None and v95.dose_level.id == "rx"
    cord = next(r for r in source.requests if r.structure.structure == "SpinalCord")
    assert cord.prescription_gy is None


def test_derived_structure_request_carries_the_expression_in_roi_names():
    source = Table(GOOD)
    evaluate_protocol(LOADED, ROIS, source)
    low = next(r for r in source.requests if r.structure.structure == "PTV_Low!")
    assert low.structure.derived is not None
    assert low.structure.derived.text == "PTV_4000 - Cord"


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [(47.0, Status.WARN, EXIT_OK), (50.0, Status.WARN, EXIT_OK), (51.0, Status.FAIL, EXIT_FAIL)],
)
def test_warn_and_fail(value, status, code):
    values = dict(GOOD)
    values[("roi:Cord", "D0.03cc[EQD2Gy(a/b=2)]")] = value
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    cord = by_metric(result, "SpinalCord", "D0.03cc")
    assert cord.status is status
    assert "<= 45" in cord.reason and "<= 50" in cord.reason
    assert result.return_code == code


def test_undefined_metric_is_not_evaluated_with_its_reason_never_zero():
    values = dict(GOOD)
    values[("roi:PTV_4000", "V95%[%]")] = "the structure lies entirely outside the dose grid"
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    ptv = by_metric(result, "PTV", "V95%")
    assert ptv.status is Status.NOT_EVALUATED
    assert ptv.value is None
    assert ptv.reason == "the structure lies entirely outside the dose grid"
    assert result.return_code == EXIT_INPUT


def test_non_finite_value_is_not_evaluated():
    values = dict(GOOD)
    values[("roi:PTV_4000", "V95%[%]")] = float("nan")
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    assert by_metric(result, "PTV", "V95%").status is Status.NOT_EVALUATED


def test_missing_required_structure():
    result = evaluate_protocol(LOADED, ["PTV_4000", "External", "Kidney_L"], Table(GOOD))
    cord = by_metric(result, "SpinalCord", "D0.03cc")
    assert cord.status is Status.NOT_EVALUATED
    assert "structure 'SpinalCord' is missing" in cord.reason
    low = by_metric(result, "PTV_Low!", "D50%")
    assert low.status is Status.NOT_EVALUATED  # derived from the missing cord
    assert result.missing_structures == ("SpinalCord", "PTV_Low!")
    assert result.return_code == EXIT_INPUT


def test_missing_optional_structure_does_not_change_the_exit_status():
    result = evaluate_protocol(LOADED, ["PTV_4000", "External", "Cord"], Table(GOOD))
    kidney = by_metric(result, "Kidney_L", "Mean")
    assert kidney.status is Status.NOT_EVALUATED
    assert kidney.required is False
    assert "optional structure 'Kidney_L' is absent" in kidney.reason
    assert result.absent_optional_structures == ("Kidney_L",)
    assert result.missing_structures == ()
    assert result.return_code == EXIT_OK


def test_fail_outranks_not_evaluated():
    values = dict(GOOD)
    values[("roi:Cord", "D0.03cc[EQD2Gy(a/b=2)]")] = 60.0
    values[("roi:PTV_4000", "V95%[%]")] = "undefined here"
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    assert result.return_code == EXIT_FAIL


def test_report_only_items_do_not_grade():
    values = dict(GOOD)
    values[("derived:PTV_4000 - Cord", "D50%[Gy]")] = "no volume"
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    assert by_metric(result, "PTV_Low!", "D50%").status is Status.NOT_EVALUATED
    assert result.return_code == EXIT_OK


def test_ambiguity_is_an_error_by_default():
    with pytest.raises(AmbiguousMatchError) as err:
        evaluate_protocol(LOADED, [*ROIS, "SpinalCord"], Table(GOOD))
    assert "'SpinalCord'" in str(err.value) and "'Cord'" in str(err.value)
    assert err.value.exit_code == 2


def test_ambiguity_can_be_reported_as_not_evaluated():
    result = evaluate_protocol(
        LOADED, [*ROIS, "SpinalCord"], Table(GOOD), on_ambiguous="not-evaluated"
    )
    cord = by_metric(result, "SpinalCord", "D0.03cc")
    assert cord.status is Status.NOT_EVALUATED
    assert "ambiguous" in cord.reason
    assert result.return_code == EXIT_INPUT


def test_aliases_resolve_an_ambiguity():
    result = evaluate_protocol(
        LOADED, [*ROIS, "SpinalCord"], Table(GOOD), aliases=UserAliases(rois={"SpinalCord": "Cord"})
    )
    assert by_metric(result, "SpinalCord", "D0.03cc").status is Status.PASS


def test_index_source_is_used_when_given():
    seen: list[IndexRequest] = []

    def index_source(request: IndexRequest) -> float:
        seen.append(request)
        return 0.8

    result = evaluate_protocol(LOADED, ROIS, Table(GOOD), index_source=index_source)
    ci = next(o for o in result.outcomes if o.kind == "index")
    assert ci.value == 0.8
    assert seen[0].kind is IndexKind.CONFORMITY_PADDICK
    assert seen[0].prescription_gy == 40.0
    assert seen[0].target.roi_name == "PTV_4000"
    assert seen[0].body is not None and seen[0].body.roi_name == "External"


INDEX_PROTOCOL = MINIMAL.replace(
    "  - {index: ci_paddick, dose_level: rx, report_only: true, source: test index}\n",
    "  - {index: hi_icru83, dose_level: rx, goal: '<= 0.1', source: t}\n"
    "  - {index: ci_rtog, dose_level: rx, goal: '<= 2', variation: '<= 2.5', source: t}\n"
    "  - {index: gi, dose_level: rx, report_only: true, source: t}\n",
)


def test_indices_from_dvh_metrics_match_their_definitions():
    values = dict(GOOD)
    values.update(
        {
            ("roi:PTV_4000", "D2%[Gy]"): 42.0,
            ("roi:PTV_4000", "D98%[Gy]"): 38.0,
            ("roi:PTV_4000", "D50%[Gy]"): 40.0,
            ("roi:External", "V20Gy[cc]"): 240.0,
        }
    )
    result = evaluate_protocol(parse_protocol(INDEX_PROTOCOL, "ix.yaml"), ROIS, Table(values))
    hi, rtog, gi = (o for o in result.outcomes if o.kind == "index")
    assert hi.value == pytest.approx((42.0 - 38.0) / 40.0)  # ICRU 83: (D2 - D98) / D50
    assert hi.status is Status.PASS
    assert rtog.value == pytest.approx(60.0 / 50.0)  # RTOG: PIV / TV
    assert rtog.status is Status.PASS
    assert gi.value == pytest.approx(240.0 / 60.0)  # GI: PIV_50% / PIV
    assert gi.status is Status.REPORTED


def test_index_undefined_when_nothing_receives_the_prescription():
    values = dict(GOOD)
    values[("roi:External", "V40Gy[cc]")] = 0.0
    result = evaluate_protocol(LOADED, ROIS, Table(values))
    ci = next(o for o in result.outcomes if o.kind == "index")
    assert ci.status is Status.NOT_EVALUATED
    assert "no volume of the body receives the prescription 40 Gy" in ci.reason


def test_result_to_dict_lists_every_outcome():
    result = evaluate_protocol(LOADED, ROIS, Table(GOOD))
    d = result.to_dict()
    assert d["protocol"] == "mini"
    assert len(d["outcomes"]) == len(LOADED.protocol.constraints) + len(LOADED.protocol.indices)
    assert d["counts"]["pass"] == 3 and d["counts"]["reported"] == 2
    first = d["outcomes"][0]
    for key in (
        "structure",
        "roi",
        "matched_by",
        "metric",
        "value",
        "unit",
        "goal",
        "variation",
        "status",
        "reason",
    ):
        assert key in first
