"""Importing Eclipse/Mayo CSV clinical templates: round trip, layouts, and errors with CSV lines.

The templates are written here in the column layouts of Varian's public
Eclipse scripting samples (TextDVHMetrics: "Structure ID, Structure Code,
Aliases, DVH Objective, Evaluator, Variation, Priority, Met, Achieved";
DVHEvaluator: "StructureName, StructureCode, Aliases, DVHObjective,
Evaluator, VariationAcceptable, Priority, Met, Achieved").
"""

from __future__ import annotations

import csv
import io

import pytest

from plancheck.errors import ProtocolError
from plancheck.protocol.csv_import import import_csv, import_csv_text
from plancheck.protocol.evaluate import MetricRequest, evaluate_protocol
from plancheck.protocol.load import load_protocol
from plancheck.protocol.outcome import Status

HEADER = [
    "Structure ID",
    "Structure Code",
    "Aliases",
    "DVH Objective",
    "Evaluator",
    "Variation",
    "Priority",
    "Met",
    "Achieved",
]
ROWS = [
    ["PTV_4000", "", "PGTV|PTV_High", "V95%[%]", ">=95%", ">=90", "1", "", ""],
    ["PTV_4000", "", "", "D0.03cc[Gy]", "<=42.8Gy", "<=44", "2", "", ""],
    ["SpinalCord", "7647", "Cord|SC", "D0.03cc[Gy]", "<=33.5", "<=35.8", "1", "", ""],
    ["Kidneys", "", "", "Mean[Gy]", "<=12.1", "", "2", "", ""],
    ["Body", "", "External", "Max[Gy]", "<=44", "", "3", "", ""],
]


def template(header=HEADER, rows=ROWS, delimiter=",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def test_round_trip_every_row_becomes_a_constraint(tmp_path):
    csv_path = tmp_path / "spine_template.csv"
    csv_path.write_text(template(), encoding="utf-8-sig")  # Excel writes a byte-order mark
    result = import_csv(csv_path, fractions=10)
    yaml_path = tmp_path / "spine_template.yaml"
    yaml_path.write_text(result.yaml_text, encoding="utf-8")
    loaded = load_protocol(yaml_path)  # the YAML written validates on its own
    p = loaded.protocol
    assert p.name == "spine_template"
    assert len(p.constraints) == len(ROWS)
    for row, c in zip(ROWS, p.constraints, strict=True):
        assert c.structure == row[0]
        assert c.metric == row[3]
        assert f"line {ROWS.index(row) + 2}" in c.source  # the header is line 1
        assert c.priority == int(row[6])
    assert [c.goal for c in p.constraints] == [">= 95", "<= 42.8", "<= 33.5", "<= 12.1", "<= 44"]
    assert [c.variation for c in p.constraints] == [">= 90", "<= 44", "<= 35.8", None, None]
    assert p.structure("PTV_4000").aliases == ("PGTV", "PTV_High")
    assert p.structure("SpinalCord").aliases == ("Cord", "SC")
    assert p.structure("SpinalCord").code == "7647"
    level = p.dose_level("PTV_4000")
    assert (level.target, level.dose_gy, level.fractions) == ("PTV_4000", 40.0, 10)
    assert p.constraints[0].dose_level == "PTV_4000"
    assert any("4000 cGy" in n for n in result.notes)


def test_imported_protocol_evaluates():
    result = import_csv_text(template(), source="t.csv", fractions=10)
    values = {
        ("PGTV", "V95%[%]"): 96.0,  # pass
        ("PGTV", "D0.03cc[Gy]"): 43.5,  # warn
        ("Cord", "D0.03cc[Gy]"): 36.0,  # fail
        ("Kidneys", "Mean[Gy]"): 5.0,  # pass
        ("External", "Max[Gy]"): 43.9,  # pass
    }

    def source(request: MetricRequest) -> float:
        assert request.structure.roi_name is not None
        return values[(request.structure.roi_name, request.metric.text)]

    outcome = evaluate_protocol(result.protocol, ["PGTV", "Cord", "Kidneys", "External"], source)
    assert [o.status for o in outcome.outcomes] == [
        Status.PASS,
        Status.WARN,
        Status.FAIL,
        Status.PASS,
        Status.PASS,
    ]


def test_dvh_evaluator_layout_with_cgy_and_semicolons():
    header = [
        "StructureName",
        "StructureCode",
        "Aliases",
        "DVHObjective",
        "Evaluator",
        "VariationAcceptable",
        "Priority",
        "Met",
        "Achieved",
    ]
    rows = [
        ["PTV_7020", "", "", "D95%[cGy]", ">=6669", "", "", "", ""],
        ["Rectum", "", "", "V50Gy[%]", "<=50", "", "", "", ""],
        ["Body", "", "", "Max[cGy]", "<=7511", "", "", "", ""],
        ["SpinalCord", "", "", "Max[Gy]", "<=4500cGy", "50", "", "", ""],
    ]
    result = import_csv_text(template(header, rows, ";"), source="prostate.csv")
    p = result.protocol.protocol
    assert [c.goal for c in p.constraints] == [">= 6669", "<= 50", "<= 7511", "<= 45"]
    assert p.constraints[3].variation == "<= 50"  # a bare number takes the goal's operator
    assert any("converted to 45 Gy" in n for n in result.notes)
    assert any("no operator" in n for n in result.notes)
    assert not p.dose_levels  # absolute metrics only: no fraction count needed, none invented
    assert any("no dose levels were written" in n for n in result.notes)


def test_unknown_columns_are_noted_not_fatal():
    header = [
        "Structure ID",
        "Structure Code",
        "Aliases",
        "Volume",
        "DVH Objective",
        "Evaluator",
        "Variation",
        "Priority",
    ]
    rows = [["Lens_L", "", "", "0.2", "D0.03cc[Gy]", "<=10", "<=12", "1"]]
    result = import_csv_text(template(header, rows), source="eye.csv")
    assert any("'Volume'" in n and "ignored" in n for n in result.notes)
    assert result.protocol.protocol.constraints[0].variation == "<= 12"


def test_a_variation_tighter_than_its_goal_is_refused_not_swapped():
    rows = [["Lens_L", "", "", "D0.03cc[Gy]", "<=10", "<=7", "1", "", ""]]
    with pytest.raises(ProtocolError, match=r"line 2: .*looser bound"):
        import_csv_text(template(HEADER, rows), source="eye.csv")


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        (
            [["Cord", "", "", "D0.03xx[Gy]", "<=45", "", "1", "", ""]],
            ["t.csv line 2", "DVH Objective", "invalid DVH metric"],
        ),
        (
            [["Cord", "", "", "D0.03cc[Gy]", "==45", "", "1", "", ""]],
            ["t.csv line 2", "Evaluator", "not a comparison"],
        ),
        ([["Cord", "", "", "D0.03cc[Gy]", "<=45%", "", "1", "", ""]], ["t.csv line 2", "is in %"]),
        (
            [["Cord", "", "", "D0.03cc[Gy]", "<=45", "", "high", "", ""]],
            ["t.csv line 2", "Priority"],
        ),
        (
            [
                ["PTV_4000", "", "", "D0.03cc[Gy]", "<=44", "", "1", "", ""],
                ["Cord", "", "", "D0.03cc[Gy]", "<=45", "", "1", "", ""],
                ["SC", "", "cord", "Max[Gy]", "<=45", "", "1", "", ""],
            ],
            ["line 4", "match two structures"],  # 'cord' would name Cord and SC
        ),
        (
            [["Liver", "", "", "V50%[%]", "<=30", "", "1", "", ""]],
            ["t.csv line 2", "relative to a prescription"],
        ),
        ([["PTV_4000", "", "", "V95%[%]", ">=95", "", "1", "", ""]], ["--fractions"]),
        (
            [["", "", "", "Max[Gy]", "<=1", "", "", "", ""]],
            ["t.csv line 2", "Structure ID is empty"],
        ),
    ],
)
def test_import_errors_name_the_csv_line(rows, words):
    with pytest.raises(ProtocolError) as err:
        import_csv_text(template(HEADER, rows), source="t.csv")
    message = str(err.value)
    for word in words:
        assert word in message, (word, message)
    assert err.value.exit_code == 2


def test_header_without_the_needed_columns():
    with pytest.raises(ProtocolError, match="no objective, evaluator column"):
        import_csv_text("Structure ID,Comment\nCord,x\n", source="t.csv")
