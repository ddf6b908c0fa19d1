"""Finding protocols by shipped name or by path."""

from __future__ import annotations

import pytest

from plancheck.errors import ProtocolError
from plancheck.protocol.registry import find_protocol, load_shipped
from tests.protocol.builders import MINIMAL, write


def test_shipped_names_are_case_insensitive_and_take_the_suffix():
    assert load_shipped("SPINE_SBRT_24GY2").name == "spine_sbrt_24Gy2"
    assert find_protocol("spine_sbrt_24Gy2.yaml").name == "spine_sbrt_24Gy2"


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    path = write(tmp_path, MINIMAL, "spine_sbrt_24Gy2.yaml")
    assert find_protocol(path).name == "mini"
    monkeypatch.chdir(tmp_path)
    assert find_protocol("spine_sbrt_24Gy2.yaml").name == "mini"


def test_a_path_that_does_not_exist_is_reported_as_a_file(tmp_path):
    with pytest.raises(ProtocolError, match="no such protocol file"):
        find_protocol(tmp_path / "mine.yaml")


def test_unknown_name_lists_the_shipped_protocols():
    with pytest.raises(ProtocolError) as err:
        find_protocol("spine_sib_30Gy10")
    assert "did you mean 'spine_sib_30Gy10_40Gy10'?" in str(err.value)
    assert "spine_sbrt_24Gy2" in str(err.value)
