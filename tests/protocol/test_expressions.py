"""The derived-structure grammar: what parses to what, and what is refused."""

from __future__ import annotations

import pytest

from plancheck.protocol.expressions import (
    BooleanOp,
    Combine,
    DerivedSyntaxError,
    Margin,
    RoiName,
    format_expr,
    operand_names,
    parse_derived,
    substitute,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PTV - PTV_boost", Combine(BooleanOp.DIFFERENCE, RoiName("PTV"), RoiName("PTV_boost"))),
        ("PTV-PTV_boost", Combine(BooleanOp.DIFFERENCE, RoiName("PTV"), RoiName("PTV_boost"))),
        ("Kidney_L + Kidney_R", Combine(BooleanOp.UNION, RoiName("Kidney_L"), RoiName("Kidney_R"))),
        ("PTV & Body", Combine(BooleanOp.INTERSECTION, RoiName("PTV"), RoiName("Body"))),
        ("SpinalCord + 5mm", Margin(RoiName("SpinalCord"), 5.0)),
        ("SpinalCord + 2.5 mm", Margin(RoiName("SpinalCord"), 2.5)),
        ("PTV - 3mm", Margin(RoiName("PTV"), -3.0)),
        (
            "Body - (PTV + 10mm)",
            Combine(BooleanOp.DIFFERENCE, RoiName("Body"), Margin(RoiName("PTV"), 10.0)),
        ),
        (
            "(PTV - PTV_boost) + 5mm",
            Margin(Combine(BooleanOp.DIFFERENCE, RoiName("PTV"), RoiName("PTV_boost")), 5.0),
        ),
        (
            "A + B + C",
            Combine(
                BooleanOp.UNION, Combine(BooleanOp.UNION, RoiName("A"), RoiName("B")), RoiName("C")
            ),
        ),
        ('"PTV-High" - Cord', Combine(BooleanOp.DIFFERENCE, RoiName("PTV-High"), RoiName("Cord"))),
        ("PTV_Low!", RoiName("PTV_Low!")),
    ],
)
def test_parse(text, expected):
    expr = parse_derived(text)
    assert expr == expected
    assert parse_derived(format_expr(expr)) == expected  # the canonical text reads back the same


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("PTV - - Cord", 6, "structure name"),
        ("PTV - PTV_boost + Cord", 16, "mixing '-' and '+'"),
        ("PTV - PTV_boost + 5mm", 16, "margin after a compound"),
        ("Cord + 0mm", 7, "greater than 0"),
        ("Cord + 80mm", 7, "at most 50 mm"),
        ("(PTV - Cord", 11, "closing parenthesis"),
        ("PTV Cord", 4, "operator"),
        ("5mm + Cord", 0, "a margin follows"),
        ("", 0, "expression"),
    ],
)
def test_refused(text, position, words):
    with pytest.raises(DerivedSyntaxError) as err:
        parse_derived(text)
    assert err.value.position == position
    assert words in str(err.value)
    assert err.value.exit_code == 2


def test_operands_and_substitution():
    expr = parse_derived("Body - (PTV + 10mm)")
    assert operand_names(expr) == ("Body", "PTV")
    renamed = substitute(expr, lambda n: RoiName({"Body": "External", "PTV": "PTV_30"}[n]))
    assert format_expr(renamed) == "External - (PTV_30 + 10mm)"
