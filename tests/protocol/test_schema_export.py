"""The JSON Schema for editors accepts the shipped protocols and rejects what plancheck rejects."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from plancheck.protocol.schema_export import aliases_json_schema, protocol_json_schema

CONSTRAINTS_DIR = Path(__file__).resolve().parents[2] / "constraints"
SHIPPED = sorted(CONSTRAINTS_DIR.glob("*.yaml"))


def validator(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = protocol_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator(schema)
    validator(aliases_json_schema())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_protocols_validate_against_the_schema(path):
    errors = list(
        validator(protocol_json_schema()).iter_errors(
            yaml.safe_load(path.read_text(encoding="utf-8"))
        )
    )
    assert errors == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["constraints"][0].update(goall="<= 1"), "goall"),  # unknown key
        (lambda d: d["constraints"][0].update(goal="== 45"), "goal"),  # comparison pattern
        (lambda d: d["dose_levels"][0].update(dose_gy=-1), "dose_gy"),
        (lambda d: d["indices"][0].update(index="paddick"), "index"),
        (lambda d: d.pop("structures"), "structures"),
    ],
)
def test_schema_rejects_bad_documents(edit, where):
    doc = yaml.safe_load(
        (CONSTRAINTS_DIR / "spine_sib_30Gy10_40Gy10.yaml").read_text(encoding="utf-8")
    )
    edit(doc)
    errors = list(validator(protocol_json_schema()).iter_errors(doc))
    assert errors
    assert any(where in str(e.message) or where in list(e.absolute_path) for e in errors)


def test_aliases_schema():
    v = validator(aliases_json_schema())
    assert not list(
        v.iter_errors({"aliases": {"SpinalCord": ["Myelon"]}, "rois": {"PTV": "PTV 30"}})
    )
    assert list(v.iter_errors({"alias": {}}))
