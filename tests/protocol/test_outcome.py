"""Goals, variations and statuses: parsing, boundaries, and the undefined case."""

from __future__ import annotations

import math

import pytest

from plancheck.dvh.metric import parse_metric
from plancheck.protocol.outcome import (
    Comparison,
    ComparisonError,
    Status,
    allowed_units,
    decide_status,
    parse_comparison,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<= 45", Comparison("<=", 45.0)),
        ("<=45", Comparison("<=", 45.0)),
        (">= 95", Comparison(">=", 95.0)),
        ("< 2", Comparison("<", 2.0)),
        ("> 0.5", Comparison(">", 0.5)),
        ("≤ 45 Gy", Comparison("<=", 45.0, "Gy")),
        ("≥ 95 %", Comparison(">=", 95.0, "%")),
        ("<= 195cc", Comparison("<=", 195.0, "cc")),
        ("  <=  3350 cGy ", Comparison("<=", 3350.0, "cGy")),
    ],
)
def test_parse_comparison(text, expected):
    assert parse_comparison(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("== 45", "'=='"),
        ("= 45", "'='"),
        ("45", "operator is missing"),
        ("<= ", "expected one of"),
        ("<= 45 mGy", "expected one of"),
        ("40 - 45", "ranges are not supported"),
        ("<> 4", "expected one of"),
        (45, "in quotes"),
    ],
)
def test_bad_comparisons_say_why(text, words):
    with pytest.raises(ComparisonError) as err:
        parse_comparison(text)
    assert words in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("goal", "value", "expected"),
    [
        ("<= 45", 45.0, True),  # the boundary meets <=
        ("< 45", 45.0, False),  # ... and misses <
        ("<= 45", math.nextafter(45.0, 50.0), False),  # no tolerance is added
        (">= 95", 95.0, True),
        ("> 95", 95.0, False),
        (">= 95", math.nextafter(95.0, 0.0), False),
    ],
)
def test_boundaries_are_exact(goal, value, expected):
    assert parse_comparison(goal).holds(value) is expected


G45, V50 = parse_comparison("<= 45"), parse_comparison("<= 50")


@pytest.mark.parametrize(
    ("value", "goal", "variation", "status"),
    [
        (44.0, G45, V50, Status.PASS),
        (45.0, G45, V50, Status.PASS),
        (47.0, G45, V50, Status.WARN),
        (50.0, G45, V50, Status.WARN),
        (50.01, G45, V50, Status.FAIL),
        (47.0, G45, None, Status.FAIL),  # no variation: missing the goal fails
        (None, G45, V50, Status.NOT_EVALUATED),
        (float("nan"), G45, V50, Status.NOT_EVALUATED),  # never a number standing in for none
        (0.0, G45, V50, Status.PASS),  # 0 is a value like any other when it is defined
        (12.0, None, None, Status.REPORTED),
        (None, None, None, Status.NOT_EVALUATED),
        (96.0, parse_comparison(">= 95"), parse_comparison(">= 90"), Status.PASS),
        (92.0, parse_comparison(">= 95"), parse_comparison(">= 90"), Status.WARN),
        (89.0, parse_comparison(">= 95"), parse_comparison(">= 90"), Status.FAIL),
    ],
)
def test_status(value, goal, variation, status):
    assert decide_status(value, goal, variation) is status


def test_looser_or_equal():
    assert V50.looser_or_equal(G45)
    assert not G45.looser_or_equal(V50)
    assert parse_comparison("<= 45").looser_or_equal(parse_comparison("< 45"))
    assert not parse_comparison("< 45").looser_or_equal(parse_comparison("<= 45"))
    assert not parse_comparison(">= 50").looser_or_equal(G45)


@pytest.mark.parametrize(
    ("metric", "units"),
    [
        ("D95%[Gy]", ("Gy",)),
        ("D0.03cc[EQD2Gy(a/b=2)]", ("Gy",)),
        ("Mean[BED(a/b=3)]", ("Gy",)),
        ("D95%[cGy]", ("cGy",)),
        ("V20Gy[%]", ("%",)),
        ("V20Gy[cc]", ("cc",)),
    ],
)
def test_allowed_units(metric, units):
    assert allowed_units(parse_metric(metric)) == units
    assert allowed_units(None) == ()
