"""Safe YAML reading: size limit, alias bombs, recursive aliases, duplicate keys, line numbers."""

from __future__ import annotations

import pytest

from plancheck.protocol.load import load_protocol
from plancheck.protocol.yamldoc import (
    MAX_FILE_BYTES,
    MAX_NODES,
    ProtocolFileError,
    parse_yaml,
    read_limited,
)
from tests.protocol.builders import MINIMAL, line_of, write

# The classic "billion laughs": 9 levels of 9 aliases expand to 9**9 strings.
BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_alias_bomb_is_refused_with_its_line():
    assert MAX_NODES < 9**9  # the document would expand beyond the limit
    with pytest.raises(ProtocolFileError) as err:
        parse_yaml(BILLION_LAUGHS, "bomb.yaml")
    text = str(err.value)
    assert text.startswith("bomb.yaml: line ")
    assert "alias bomb" in text
    assert f"more than {MAX_NODES} values" in text


def test_alias_bomb_in_a_protocol_file(tmp_path):
    path = write(tmp_path, BILLION_LAUGHS)
    with pytest.raises(ProtocolFileError, match="alias bomb") as err:
        load_protocol(path)
    assert str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_modest_aliases_are_allowed():
    doc = parse_yaml("x: &v [1, 2]\ny: *v\n", "ok.yaml")
    assert doc.data == {"x": [1, 2], "y": [1, 2]}


def test_recursive_alias_is_refused():
    with pytest.raises(ProtocolFileError, match="refers to a node that contains it"):
        parse_yaml("a: &a [1, *a]\n", "loop.yaml")


def test_oversize_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ProtocolFileError) as err:
        read_limited(path)
    assert f"{MAX_FILE_BYTES + 1} bytes" in str(err.value)
    assert f"limit is {MAX_FILE_BYTES} bytes" in str(err.value)
    with pytest.raises(ProtocolFileError, match="limit is"):
        load_protocol(path)


def test_missing_file_is_a_protocol_error(tmp_path):
    with pytest.raises(Exception, match="no such protocol file") as err:
        load_protocol(tmp_path / "nope.yaml")
    assert err.value.exit_code == 2  # type: ignore[attr-defined]


def test_duplicate_key_names_both_lines():
    text = "name: a\ndescription: x\nname: b\n"
    with pytest.raises(ProtocolFileError) as err:
        parse_yaml(text, "dup.yaml")
    assert "line 3" in str(err.value)
    assert "first on line 1" in str(err.value)


def test_merge_keys_are_refused():
    with pytest.raises(ProtocolFileError, match="merge keys"):
        parse_yaml("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n", "merge.yaml")


def test_syntax_error_has_line_and_column():
    text = "name: a\ndescription: [unclosed\nother: 1\n"
    with pytest.raises(ProtocolFileError) as err:
        parse_yaml(text, "syntax.yaml")
    assert "YAML syntax error" in str(err.value)
    assert "column" in str(err.value)
    assert err.value.problems[0].line is not None


def test_python_tags_are_refused():
    with pytest.raises(ProtocolFileError, match="cannot read this value"):
        parse_yaml("x: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_non_utf8_is_refused():
    with pytest.raises(ProtocolFileError, match="not UTF-8"):
        parse_yaml(b"name: caf\xe9\n", "latin1.yaml")


def test_every_key_and_item_has_its_line():
    doc = parse_yaml(MINIMAL, "mini.yaml")
    assert doc.line_of(("constraints", 1, "goal")) == line_of(MINIMAL, 'goal: ">= 95"')
    assert doc.line_of(("structures", 2)) == line_of(MINIMAL, "name: SpinalCord")
    # an unknown path falls back to its nearest ancestor
    assert doc.line_of(("constraints", 1, "nonexistent")) == line_of(MINIMAL, "- structure: PTV")
