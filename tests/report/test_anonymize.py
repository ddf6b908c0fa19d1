"""Anonymisation: stable keyed pseudonyms, every UID replaced, nothing identifying left."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from plancheck.errors import InputError
from plancheck.report.anonymize import (
    Pseudonymizer,
    anonymize_document,
    load_or_create_key,
)
from tests.report.documents import DOSE_UID, FOR_UID, PATIENT, PLAN_UID, SS_UID, make_document

KEY = b"k" * 32
UIDS = (SS_UID, FOR_UID, PLAN_UID, DOSE_UID)


def test_no_identifier_is_left_anywhere() -> None:
    anon = anonymize_document(make_document(), KEY)
    text = json.dumps(anon, ensure_ascii=False)
    for value in (*PATIENT.values(), *UIDS, "Doe", "Jane", "/exports"):
        assert value not in text, value
    assert anon["patient"]["name"].startswith("ANON-")
    assert anon["patient"]["id"].startswith("ANON-")
    assert anon["patient"]["birth_date"].startswith("ANON-")
    # a message quoting the patient's name and ID loses both
    message = anon["findings"][1]["message"]
    assert anon["patient"]["name"] in message and anon["patient"]["id"] in message
    assert anon["provenance"]["anonymized"]["key_fingerprint"] == Pseudonymizer(KEY).fingerprint


def test_uids_become_consistent_2_25_uids() -> None:
    anon = anonymize_document(make_document(), KEY)
    ss_uid = anon["course"]["structure_set"]["sop_instance_uid"]
    assert re.fullmatch(r"2\.25\.[1-9]\d*", ss_uid) and len(ss_uid) <= 64
    # the same UID gets the same pseudonym wherever it appears (also inside a file name)
    assert anon["provenance"]["input_files"][1]["sop_instance_uid"] == ss_uid
    dose_uid = anon["course"]["plans"][0]["rtdose_sop_instance_uids"][0]
    assert anon["provenance"]["input_files"][0]["path"] == f"RD{dose_uid}.dcm"
    assert dose_uid in anon["findings"][0]["message"]


def test_pseudonyms_are_stable_per_key_and_differ_between_keys() -> None:
    a = anonymize_document(make_document(), KEY)
    b = anonymize_document(make_document(), KEY)
    c = anonymize_document(make_document(), b"x" * 32)
    assert a == b
    assert a["patient"]["id"] != c["patient"]["id"]
    assert a["course"]["structure_set"]["sop_instance_uid"] != c["course"]["structure_set"]["sop_instance_uid"]


def test_numbers_versions_and_standard_uids_are_kept() -> None:
    doc = make_document()
    doc["findings"].append(
        {"severity": "info", "code": "x", "message": "SOP class 1.2.840.10008.5.1.4.1.1.481.2", "path": None}
    )
    anon = anonymize_document(doc, KEY)
    assert anon["provenance"]["python"] == "3.11.7"
    assert anon["provenance"]["plancheck_version"] == "0.1.0"
    assert anon["constraints"] == doc["constraints"]
    assert anon["structures"] == doc["structures"]
    assert "1.2.840.10008.5.1.4.1.1.481.2" in anon["findings"][-1]["message"]


def test_original_document_is_not_changed() -> None:
    doc = make_document()
    anonymize_document(doc, KEY)
    assert doc == make_document()


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "anonymize.key"
    key = load_or_create_key(path)
    assert len(key) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_default_key_location_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANCHECK_ANONYMIZE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    key = load_or_create_key()
    assert (tmp_path / "plancheck" / "anonymize.key").read_bytes().strip() == key
    # without a key, anonymize_document uses that file: same pseudonyms as with it
    assert anonymize_document(make_document()) == anonymize_document(make_document(), key)


def test_short_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_text("secret\n")
    with pytest.raises(InputError, match="at least 16"):
        load_or_create_key(path)
