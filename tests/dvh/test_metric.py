"""The TG-263 metric grammar: what parses, into what, and where bad strings fail."""

import pytest

from plancheck.dvh.metric import DoseKind, OutputUnit, Query, parse_metric
from plancheck.errors import MetricSyntaxError


@pytest.mark.parametrize(
    ("text", "query", "parameter", "parameter_unit", "unit"),
    [
        ("Max[Gy]", Query.MAX, None, None, OutputUnit.GY),
        ("Min[cGy]", Query.MIN, None, None, OutputUnit.CGY),
        ("Mean[Gy]", Query.MEAN, None, None, OutputUnit.GY),
        ("Volume[cc]", Query.VOLUME, None, None, OutputUnit.CC),
        ("D95%[Gy]", Query.DOSE_AT_VOLUME, 95.0, "%", OutputUnit.GY),
        ("D0.03cc[Gy]", Query.DOSE_AT_VOLUME, 0.03, "cc", OutputUnit.GY),
        ("D2%[%]", Query.DOSE_AT_VOLUME, 2.0, "%", OutputUnit.PERCENT),
        ("V20Gy[%]", Query.VOLUME_AT_DOSE, 20.0, "Gy", OutputUnit.PERCENT),
        ("V3000cGy[cc]", Query.VOLUME_AT_DOSE, 3000.0, "cGy", OutputUnit.CC),
        ("V95%[%]", Query.VOLUME_AT_DOSE, 95.0, "%", OutputUnit.PERCENT),
        ("CV20Gy[cc]", Query.COLD_VOLUME_AT_DOSE, 20.0, "Gy", OutputUnit.CC),
        ("DC2cc[Gy]", Query.DOSE_TO_COLDEST_VOLUME, 2.0, "cc", OutputUnit.GY),
        (" mean[gy] ", Query.MEAN, None, None, OutputUnit.GY),
    ],
)
def test_valid_metrics(text, query, parameter, parameter_unit, unit):
    m = parse_metric(text)
    assert (m.query, m.parameter, m.parameter_unit, m.output_unit) == (query, parameter, parameter_unit, unit)
    assert m.text == text


def test_biological_units():
    m = parse_metric("D0.03cc[EQD2Gy(a/b=2)]")
    assert m.dose_quantity.kind is DoseKind.EQD2
    assert m.dose_quantity.alpha_beta_gy == 2.0
    b = parse_metric("Mean[BED(a/b=3)]")
    assert b.dose_quantity.kind is DoseKind.BED and b.alpha_beta_gy == 3.0
    assert parse_metric("D2cc[Gy]").dose_quantity.kind is DoseKind.PHYSICAL


def test_relative_metrics_need_a_prescription():
    assert parse_metric("V95%[%]").needs_prescription
    assert parse_metric("D2%[%]").needs_prescription
    assert not parse_metric("D2%[Gy]").needs_prescription
    assert not parse_metric("V20Gy[%]").needs_prescription


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("D95[Gy]", 0),  # D without a volume unit: no query matches at the start
        ("X95%[Gy]", 0),
        ("D95%Gy", 4),
        ("D95%[Gray]", 4),
        ("D95%[Gy]x", 8),
        ("D95%[cc]", 5),
        ("V20Gy[Gy]", 6),
        ("Volume[%]", 7),
        ("D120%[Gy]", 1),
        ("D2cc[EQD2Gy(a/b=0)]", 16),
    ],
)
def test_invalid_metrics_point_at_the_problem(text, position):
    with pytest.raises(MetricSyntaxError) as info:
        parse_metric(text)
    assert info.value.position == position
    assert text in str(info.value)
    assert info.value.exit_code == 2
