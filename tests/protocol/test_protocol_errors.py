"""Every kind of protocol error names the file, the line, the key and what is allowed.

Each case edits the valid MINIMAL protocol in one place; the expected line is
found in the edited text by ``line_of``.
"""

from __future__ import annotations

import pytest

from plancheck.errors import ProtocolError
from plancheck.protocol.load import load_protocol, parse_protocol
from plancheck.protocol.yamldoc import ProtocolFileError
from tests.protocol.builders import MINIMAL, line_of, write


def edited(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def problem_text(tmp_path, text: str) -> tuple[str, ProtocolFileError]:
    path = write(tmp_path, text)
    with pytest.raises(ProtocolFileError) as err:
        load_protocol(path)
    assert err.value.exit_code == 2
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    return message, err.value


def test_minimal_protocol_is_valid(tmp_path):
    loaded = load_protocol(write(tmp_path, MINIMAL))
    assert loaded.name == "mini"
    assert len(loaded.sha256) == 64


CASES = [
    # (id, old, new, needle for the line, words the message must contain)
    (
        "unknown-metric",
        "metric: V95%[%]",
        "metric: V95[%]",
        "metric: V95[%]",
        ["constraints[1].metric", "invalid DVH metric 'V95[%]'", "expected"],
    ),
    (
        "bad-comparison-equals",
        'goal: ">= 95"',
        'goal: "== 95"',
        'goal: "== 95"',
        ["constraints[1].goal", "'=='", "use <=, <, >= or >"],
    ),
    (
        "bad-comparison-no-operator",
        'goal: ">= 95"',
        'goal: "95"',
        'goal: "95"',
        ["constraints[1].goal", "operator is missing"],
    ),
    (
        "bad-comparison-range",
        'goal: "<= 45"',
        'goal: "40 - 45"',
        'goal: "40 - 45"',
        ["constraints[0].goal", "ranges are not supported"],
    ),
    (
        "goal-not-text",
        'goal: "<= 45"',
        "goal: 45",
        "goal: 45",
        ["constraints[0].goal", "expected text"],
    ),
    (
        "unknown-key",
        "    priority: 1\n",
        "    priority: 1\n    goall: x\n",
        "goall: x",
        [
            "constraints[0].goall",
            "unknown key 'goall'",
            "allowed keys here:",
            "metric",
            "variation",
        ],
    ),
    (
        "unknown-top-level-key",
        "body: Body\n",
        "body: Body\ndoselevels: []\n",
        "doselevels: []",
        ["unknown key 'doselevels'", "did you mean 'dose_levels'?"],
    ),
    (
        "missing-required-key",
        "    source: test coverage\n",
        "",
        "- structure: PTV",
        ["constraints[1].source", "missing required key 'source'"],
    ),
    (
        "wrong-index-kind",
        "index: ci_paddick",
        "index: paddick",
        "index: paddick",
        ["indices[0].index", "'ci_paddick'"],
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "needle", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_schema_errors_name_line_and_key(tmp_path, case, old, new, needle, words):
    text = edited(old, new)
    message, _err = problem_text(tmp_path, text)
    assert f"line {line_of(text, needle)}" in message
    for word in words:
        assert word in message, (word, message)


SEMANTIC = [
    (
        "missing-structure-reference",
        "  - structure: SpinalCord\n",
        "  - structure: SpinalCrd\n",
        "structure: SpinalCrd",
        [
            "constraints[0].structure",
            "unknown structure 'SpinalCrd'",
            "did you mean 'SpinalCord'?",
            "defined structures:",
        ],
    ),
    (
        "ambiguous-aliases",
        "aliases: [External]",
        "aliases: [External, cord]",
        "aliases: [Cord, SC]",  # reported at the second of the two structures
        [
            "structures[2].aliases[0]",
            "'cord' of 'Body'",
            "'Cord' of 'SpinalCord'",
            "match two structures",
        ],
    ),
    (
        "spinal-canal-is-not-the-cord",
        "aliases: [Cord, SC]",
        "aliases: [Cord, SC, Spinal Canal]",
        "aliases: [Cord, SC, Spinal Canal]",
        ["structures[2].aliases[2]", "'Spinal Canal' cannot name 'SpinalCord'"],
    ),
    (
        "relative-metric-without-level",
        "    dose_level: rx\n",
        "",
        "metric: V95%[%]",
        ["constraints[1].metric", "relative to a prescription", "dose_level", "rx"],
    ),
    (
        "unknown-dose-level",
        "    dose_level: rx\n",
        "    dose_level: boost\n",
        "dose_level: boost",
        ["constraints[1].dose_level", "unknown dose level 'boost'"],
    ),
    (
        "variation-tighter-than-goal",
        'variation: "<= 50"',
        'variation: "<= 40"',
        'variation: "<= 40"',
        ["constraints[0].variation", "looser bound on the same side"],
    ),
    (
        "variation-other-side",
        'variation: "<= 50"',
        'variation: ">= 50"',
        'variation: ">= 50"',
        ["constraints[0].variation", "looser bound on the same side"],
    ),
    (
        "goal-unit-does-not-fit",
        'goal: ">= 95"',
        'goal: ">= 95 Gy"',
        'goal: ">= 95 Gy"',
        ["constraints[1].goal", "unit 'Gy' does not fit", "'%' or no unit"],
    ),
    (
        "goal-missing-without-report-only",
        'goal: "<= 12"',
        "note: no goal",
        "- structure: Kidney_L",
        ["constraints[3]", "missing key 'goal'", "report_only"],
    ),
    (
        "derived-unknown-operand",
        "derived: PTV - SpinalCord",
        "derived: PTV - PTV_boost",
        "derived: PTV - PTV_boost",
        ["structures[4].derived", "unknown structure 'PTV_boost'"],
    ),
    (
        "derived-with-unused-aliases",
        "derived: PTV - SpinalCord",
        "derived: PTV - SpinalCord\n    aliases: [PTV_Low]",
        "aliases: [PTV_Low]",
        ["structures[4].aliases", "prefer_roi"],
    ),
    (
        "dose-level-target-unknown",
        "target: PTV\n",
        "target: PTV_High\n",
        "target: PTV_High",
        ["dose_levels[0].target", "unknown structure 'PTV_High'"],
    ),
    (
        "several-plans-need-plans-section",
        "fractions: 10\n",
        "fractions: 10\n    plans: [1, 2]\n",
        "plans: [1, 2]",
        ["dose_levels[0].plans", "plans:"],
    ),
    (
        "body-unknown",
        "body: Body",
        "body: Bodyy",
        "body: Bodyy",
        ["body", "unknown structure 'Bodyy'"],
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "needle", "words"), SEMANTIC, ids=[c[0] for c in SEMANTIC]
)
def test_cross_reference_errors_name_line_and_key(tmp_path, case, old, new, needle, words):
    text = edited(old, new)
    message, _ = problem_text(tmp_path, text)
    assert f"line {line_of(text, needle)}" in message
    for word in words:
        assert word in message, (word, message)


def test_derived_syntax_error_points_at_the_character(tmp_path):
    text = edited("derived: PTV - SpinalCord", "derived: PTV - - SpinalCord")
    message, _ = problem_text(tmp_path, text)
    assert f"line {line_of(text, 'derived: PTV - - SpinalCord')}" in message
    assert "structures[4].derived" in message
    assert "at character 7" in message


def test_alpha_beta_must_match_the_metric(tmp_path):
    text = edited(
        "structures:\n",
        "alpha_beta:\n  - structures: [SpinalCord]\n    alpha_beta_gy: 3\n    source: test\nstructures:\n",
    )
    message, _ = problem_text(tmp_path, text)
    assert f"line {line_of(text, 'metric: D0.03cc[EQD2Gy(a/b=2)]')}" in message
    assert "α/β = 2 Gy" in message and "α/β = 3 Gy" in message


def test_plans_and_levels_must_add_up(tmp_path):
    text = edited(
        "dose_levels:\n",
        "plans:\n  - {number: 1, fractions: 10, dose_gy: {rx: 30}}\n"
        "  - {number: 2, fractions: 2, dose_gy: {rx: 8}}\ndose_levels:\n",
    )
    text = edited("fractions: 10\n", "fractions: 10\n    plans: [1, 2]\n", text)
    message, err = problem_text(tmp_path, text)
    assert "dose_levels[0].dose_gy" in message and "deliver 38 Gy" in message
    assert "dose_levels[0].fractions" in message and "12 fractions" in message
    assert len(err.problems) == 2


def test_several_problems_are_all_listed(tmp_path):
    text = edited("metric: V95%[%]", "metric: V95[%]")
    text = edited('goal: "<= 45"', 'goal: "= 45"', text)
    message, err = problem_text(tmp_path, text)
    assert len(err.problems) == 2
    assert "2 problems" in message


@pytest.mark.parametrize(
    ("text", "words"), [("", "the file is empty"), ("- a\n- b\n", "expected a mapping")]
)
def test_not_a_mapping(text, words):
    with pytest.raises(ProtocolFileError, match=words):
        parse_protocol(text, "x.yaml")


def test_errors_are_protocol_errors_with_exit_2():
    with pytest.raises(ProtocolError) as err:
        parse_protocol(edited("metric: V95%[%]", "metric: nonsense"), "x.yaml")
    assert err.value.exit_code == 2
