"""``plancheck protocol``: exit codes, messages on stderr, and JSON Schema output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from plancheck.cli import main
from tests.protocol.builders import MINIMAL, line_of

CONSTRAINTS_DIR = Path(__file__).resolve().parents[2] / "constraints"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_shipped_files_exit_0():
    files = sorted(str(p) for p in CONSTRAINTS_DIR.glob("*.yaml"))
    result = run("protocol", "validate", *files)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("valid protocol") == len(files)


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ("metric: V95%[%]", "metric: V95[%]", "metric: V95[%]", "invalid DVH metric"),
        ('goal: ">= 95"', 'goal: "=> 95"', 'goal: "=> 95"', "invalid comparison"),
        (
            "    priority: 1\n",
            "    priority: 1\n    colour: red\n",
            "colour: red",
            "unknown key 'colour'",
        ),
        (
            "  - structure: SpinalCord\n",
            "  - structure: Cordd\n",
            "structure: Cordd",
            "unknown structure 'Cordd'",
        ),
        (
            "aliases: [External]",
            "aliases: [External, SC]",
            "aliases: [Cord, SC]",
            "match two structures",
        ),
    ],
)
def test_validate_errors_exit_2_with_file_line_and_key(tmp_path, old, new, needle, words):
    text = MINIMAL.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = run("protocol", "validate", str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert f"line {line_of(text, needle)}" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_validate_alias_bomb_exit_2(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)
    ]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("protocol", "validate", str(path))
    assert result.exit_code == 2
    assert "alias bomb" in result.stderr


def test_validate_with_aliases_file(tmp_path):
    protocol = tmp_path / "p.yaml"
    protocol.write_text(MINIMAL, encoding="utf-8")
    good = tmp_path / "site.yaml"
    good.write_text("aliases:\n  SpinalCord: [Myelon]\n", encoding="utf-8")
    assert run("protocol", "validate", str(protocol), "--aliases", str(good)).exit_code == 0
    bad = tmp_path / "bad_site.yaml"
    bad.write_text("aliases:\n  SpinalCord: [SpinalCanal]\n", encoding="utf-8")
    result = run("protocol", "validate", str(protocol), "--aliases", str(bad))
    assert result.exit_code == 2
    assert "bad_site.yaml: line 2" in result.stderr


def test_list_and_show():
    result = run("protocol", "list", "--format", "json")
    assert result.exit_code == 0
    names = {row["name"] for row in json.loads(result.stdout)}
    assert "spine_sib_seq_48Gy12" in names
    table = run("protocol", "list")
    assert "PTV_boost 48 Gy/12 fx" in table.stdout
    shown = run("protocol", "show", "spine_sib_seq_48Gy12")
    assert shown.exit_code == 0
    assert "SpinalCord D0.03cc[EQD2Gy(a/b=2)]: <= 45, variation <= 50" in shown.stdout
    as_yaml = run("protocol", "show", "spine_sib_seq_48Gy12", "--format", "yaml")
    assert yaml.safe_load(as_yaml.stdout)["name"] == "spine_sib_seq_48Gy12"


def test_show_unknown_name_exit_2():
    result = run("protocol", "show", "spine_sib")
    assert result.exit_code == 2
    assert "no shipped protocol is named 'spine_sib'" in result.stderr
    assert "spine_sib_30Gy10_40Gy10" in result.stderr


def test_schema_output_validates_the_shipped_protocols(tmp_path):
    result = run("protocol", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    for path in sorted(CONSTRAINTS_DIR.glob("*.yaml")):
        assert not list(v.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))), path.name
    out = tmp_path / "protocol.schema.json"
    assert run("protocol", "schema", "--output", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema


def test_import_writes_a_valid_protocol(tmp_path):
    csv_path = tmp_path / "template.csv"
    csv_path.write_text(
        "Structure ID,Structure Code,Aliases,DVH Objective,Evaluator,Variation,Priority,Met,Achieved\n"
        "PTV_4000,,PGTV,V95%[%],>=95,>=90,1,,\n"
        "SpinalCord,,Cord|SC,D0.03cc[Gy],<=33.5,<=35.8,1,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "template.yaml"
    result = run("protocol", "import", str(csv_path), "--fractions", "10", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert "note:" in result.stderr  # the dose read from PTV_4000 is noted
    assert run("protocol", "validate", str(out)).exit_code == 0
    missing = run("protocol", "import", str(csv_path))
    assert missing.exit_code == 2
    assert "--fractions" in missing.stderr


def test_validate_refuses_an_unknown_reference_key(tmp_path: Path) -> None:
    shipped = (CONSTRAINTS_DIR / "spine_sbrt_24Gy2.yaml").read_text(encoding="utf-8")
    path = tmp_path / "typo.yaml"
    path.write_text(shipped.replace("refs: [RTOG0631]", "refs: [RTOG631]"), encoding="utf-8")
    result = CliRunner().invoke(main, ["protocol", "validate", str(path)])
    assert result.exit_code == 2
    assert "unknown reference 'RTOG631'" in result.stderr and "did you mean 'RTOG0631'" in result.stderr


def test_references_lists_full_citations() -> None:
    result = CliRunner().invoke(main, ["protocol", "references", "spine_sib_30Gy10_40Gy10", "--format", "json"])
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    keys = [e["key"] for e in entries]
    assert "Pieters2006" in keys and "Xiao2025" in keys
    assert all(len(e["citation"]) > 40 for e in entries)
