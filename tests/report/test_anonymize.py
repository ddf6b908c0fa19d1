"""Anonymisation: stable keyed pseudonyms, every identifying value replaced, clinical text kept."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from plancheck.errors import InputError
from plancheck.report.anonymize import (
    Identity,
    Pseudonymizer,
    Scrubber,
    anonymize_document,
    load_or_create_key,
)
from tests.report.documents import DOSE_UID, FOR_UID, PATIENT, PLAN_UID, SS_UID, make_document

KEY = b"k" * 32
UIDS = (SS_UID, FOR_UID, PLAN_UID, DOSE_UID)
# a 2.25 UID has three parts: the old pattern (four or more parts) kept it verbatim
UUID_UID = "2.25.302558012998771651436186591447451097101"


def test_no_identifier_is_left_anywhere() -> None:
    anon = anonymize_document(make_document(), KEY)
    text = json.dumps(anon, ensure_ascii=False)
    for value in (*PATIENT.values(), *UIDS, "Doe", "Jane", "/exports"):
        assert value not in text, value
    assert anon["patient"]["name"].startswith("ANON-")
    assert anon["patient"]["id"].startswith("ANON-")
    assert anon["patient"]["birth_date"].startswith("ANON-")
    # a message quoting the patient's name and ID loses both, with the same pseudonyms
    message = anon["findings"][1]["message"]
    assert anon["patient"]["name"] in message and anon["patient"]["id"] in message
    assert anon["provenance"]["anonymized"]["key_fingerprint"] == Pseudonymizer(KEY).fingerprint


def test_uids_become_consistent_2_25_uids_in_every_form() -> None:
    doc = make_document()
    doc["course"]["plans"][0]["rtdose_sop_instance_uids"].append(UUID_UID)
    doc["findings"].append(
        {"severity": "info", "code": "x", "path": f"/exports/Doe_Jane/RD.{UUID_UID}.dcm",
         "message": f"RTDOSE {UUID_UID} references plan {PLAN_UID}; see RD{UUID_UID}.dcm"}
    )
    anon = anonymize_document(doc, KEY)
    text = json.dumps(anon)
    for uid in (*UIDS, UUID_UID):
        assert uid not in text, uid
    ss_uid = anon["course"]["structure_set"]["sop_instance_uid"]
    assert re.fullmatch(r"2\.25\.[1-9]\d*", ss_uid) and len(ss_uid) <= 64
    # the same UID gets the same pseudonym in fields, references and messages
    assert anon["provenance"]["input_files"][1]["sop_instance_uid"] == ss_uid
    new_uuid = Pseudonymizer(KEY).uid(UUID_UID)
    assert anon["course"]["plans"][0]["rtdose_sop_instance_uids"][1] == new_uuid
    assert new_uuid in anon["findings"][-1]["message"]
    assert anon["course"]["plans"][0]["sop_instance_uid"] in anon["findings"][-1]["message"]
    assert anon["course"]["plans"][0]["rtdose_sop_instance_uids"][0] in anon["findings"][0]["message"]


def test_file_and_folder_names_are_replaced_whole() -> None:
    folder = "/data/exports/Doe_Johnathan_19510203"
    doc = make_document(patient={"name": "DOE^JOHNATHAN", "id": "PC-0042", "birth_date": "19510203"})
    del doc["findings"][1]  # it quotes another patient's name
    doc["provenance"]["source_folder"] = folder
    doc["provenance"]["input_files"][1]["path"] = f"{folder}/plan/RS.Doe.dcm"
    doc["findings"].append(
        {"severity": "info", "code": "not-dicom", "path": f"{folder}/notes/Doe_J_0203.txt",
         "message": "notes/Doe_J_0203.txt is not DICOM; ignored"}
    )
    doc["findings"].append(
        {"severity": "error", "code": "dicom-unreadable", "path": None,
         "message": f"the folder {folder}/plan cannot be listed; plan/RS.Doe.dcm and JDOE-0203.dcm skipped"}
    )
    anon = anonymize_document(doc, KEY)
    text = json.dumps({k: v for k, v in anon.items() if k != "structures"})  # curves hold many digits
    for leak in ("Doe", "DOE", "Johnathan", "19510203", "0203", "/data", "exports"):
        assert leak not in text, leak
    assert anon["provenance"]["source_folder"] == "<input folder>"
    assert re.fullmatch(r"ANON-[0-9a-f]{12}\.dcm", anon["provenance"]["input_files"][1]["path"])
    # the file quoted in a message gets the pseudonym of its path field
    assert anon["findings"][-2]["path"].removesuffix(".txt") in anon["findings"][-2]["message"]
    assert anon["provenance"]["input_files"][1]["path"] in anon["findings"][-1]["message"]


@pytest.mark.parametrize(
    "spelling",
    ["DOE^JOHNATHAN", "Doe^Johnathan", "doe johnathan", "Johnathan Doe", "DOE, JOHNATHAN", "Doe_Johnathan"],
)
def test_patient_name_in_any_spelling_is_replaced_in_messages(spelling: str) -> None:
    doc = make_document(patient={"name": "DOE^JOHNATHAN", "id": "PC-0042", "birth_date": "19510203"})
    doc["findings"].append({"severity": "info", "code": "x", "path": None, "message": f"patient {spelling} seen"})
    anon = anonymize_document(doc, KEY)
    assert anon["findings"][-1]["message"] == f"patient {anon['patient']['name']} seen"


@pytest.mark.parametrize(
    "spelling", ["19510203", "1951-02-03", "1951/2/3", "03.02.1951", "3.2.1951", "02/03/1951", "3 Feb 1951",
                 "February 3, 1951", "03-Feb-1951", "03021951"]
)
def test_birth_date_in_any_format_is_replaced_in_messages(spelling: str) -> None:
    doc = make_document(patient={"name": "DOE^JOHNATHAN", "id": "PC-0042", "birth_date": "19510203"})
    doc["findings"].append({"severity": "info", "code": "x", "path": None, "message": f"born {spelling}."})
    anon = anonymize_document(doc, KEY)
    message = anon["findings"][-1]["message"]
    assert re.fullmatch(r"born ANON-[0-9a-f]{12}\.", message), message


def test_clinical_text_is_never_rewritten() -> None:
    """A patient named BODY^MAX: the metric Max[Gy], the ROI BODY and the protocol text stay."""
    doc = make_document(patient={"name": "BODY^MAX", "id": "MAX", "birth_date": "19510203"})
    doc["protocol"]["description"] = "Max dose to BODY below 110 % (ICRU 83), PTV max 107 %"
    doc["protocol"]["references"] = [{"key": "ICRU83", "citation": "ICRU Report 83, Max and BODY, 2010"}]
    doc["constraints"].append(
        dict(doc["constraints"][0], id="body-max", structure="BODY", matched_roi="BODY", metric="Max[Gy]",
             source="Max[Gy] of BODY: Smith et al. 2019", reason="Max[Gy] = 44.1 Gy meets the goal <= 47")
    )
    doc["structures"].append(dict(doc["structures"][0], name="BODY"))
    anon = anonymize_document(doc, KEY)
    assert anon["protocol"] == doc["protocol"]
    for before, after in zip(doc["constraints"], anon["constraints"], strict=True):
        for key in ("structure", "matched_roi", "metric", "goal", "variation", "source", "unit", "priority"):
            assert after[key] == before[key], key
    assert anon["constraints"][-1]["reason"] == "Max[Gy] = 44.1 Gy meets the goal <= 47"
    assert anon["structures"][-1]["name"] == "BODY"
    assert anon["patient"]["name"] != "BODY^MAX"


def test_identifying_attributes_are_replaced_where_quoted_and_dropped() -> None:
    doc = make_document()
    doc["provenance"]["identifying_attributes"] = [
        ["InstitutionName", "LO", "St Quentin Hospital"],
        ["OperatorsName", "PN", "SMITH^ANNA"],
        ["StudyDescription", "LO", "Spine re-plan QZX"],
        ["StudyDate", "DA", "20230405"],
        ["PatientSex", "CS", "F"],
        ["SeriesDescription", "LO", "PLAN"],
    ]
    doc["findings"].append(
        {"severity": "info", "code": "x", "path": None,
         "message": "exported at ST QUENTIN HOSPITAL by Anna Smith on 05.04.2023 (Spine re-plan QZX); F"}
    )
    anon = anonymize_document(doc, KEY)
    message = anon["findings"][-1]["message"]
    for leak in ("QUENTIN", "Anna", "Smith", "2023", "QZX"):
        assert leak.lower() not in message.lower(), leak
    assert message.endswith("; F")  # a one-letter value is not searched for
    assert "identifying_attributes" not in anon["provenance"]


def test_labels_are_replaced_unless_kept() -> None:
    doc = make_document()
    doc["course"]["plans"][0]["label"] = "DOE_SIB"
    doc["course"]["dose_levels"][0]["plans"] = ["DOE_SIB"]
    doc["structures"][0]["curves"] = {"physical [DOE_SIB]": doc["structures"][0]["curves"]["physical"]}
    doc["findings"].append({"severity": "info", "code": "x", "path": None, "message": "plan 'DOE_SIB' is approved"})
    anon = anonymize_document(doc, KEY)
    label = anon["course"]["plans"][0]["label"]
    assert label.startswith("ANON-") and "DOE_SIB" not in json.dumps(anon)
    assert anon["course"]["dose_levels"][0]["plans"] == [label]
    assert list(anon["structures"][0]["curves"]) == [f"physical [{label}]"]
    assert anon["findings"][-1]["message"] == f"plan '{label}' is approved"
    kept = anonymize_document(doc, KEY, keep_labels=True)
    assert kept["course"]["plans"][0]["label"] == "DOE_SIB"
    assert kept["provenance"]["anonymized"]["kept"] == ["clinical text", "plan and structure-set labels"]
    # a kept label still loses a patient name inside it
    doc["course"]["plans"][0]["label"] = "Doe_Jane_boost"
    assert anonymize_document(doc, KEY, keep_labels=True)["course"]["plans"][0]["label"].endswith("_boost")
    assert "Jane" not in anonymize_document(doc, KEY, keep_labels=True)["course"]["plans"][0]["label"]


def test_dates_of_plans_and_approvals_are_withheld() -> None:
    doc = make_document()
    doc["course"]["plans"][0].update(plan_date="20240101", plan_time="120000", review_date="20240102",
                                     reviewer_name="PHYSICIST^ALICE")
    anon = anonymize_document(doc, KEY)
    plan = anon["course"]["plans"][0]
    assert plan["plan_date"] is None and plan["plan_time"] is None and plan["review_date"] is None
    assert plan["reviewer_name"].startswith("ANON-")


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


def test_pseudonyms_are_stable_per_key_and_differ_between_keys() -> None:
    a = anonymize_document(make_document(), KEY)
    b = anonymize_document(make_document(), KEY)
    c = anonymize_document(make_document(), b"x" * 32)
    assert a == b
    assert a["patient"]["id"] != c["patient"]["id"]
    assert a["course"]["structure_set"]["sop_instance_uid"] != c["course"]["structure_set"]["sop_instance_uid"]


def test_original_document_is_not_changed() -> None:
    doc = make_document()
    before: dict[str, Any] = copy.deepcopy(doc)
    anonymize_document(doc, KEY)
    assert doc == before


def test_scrubber_for_messages_without_a_document() -> None:
    """Batch error messages: the identity comes from the headers and the file list."""
    identity = Identity.from_attributes(
        [("PatientName", "PN", "DOE^JANE"), ("PatientID", "LO", "PC-0042")],
        paths=["/in/Doe_Jane/RD.Doe.dcm"],
    )
    scrub = Scrubber(identity, Pseudonymizer(KEY))
    text = scrub.text("/in/Doe_Jane/RD.Doe.dcm: truncated (patient Jane Doe, PC-0042)")
    assert "Doe" not in text and "Jane" not in text and "0042" not in text


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


def test_quoted_paths_are_replaced_only_where_they_stand_alone() -> None:
    identity = Identity.from_attributes([], paths=["/in/p1/notes.txt"])
    identity.add_path("/in/p1", folder=True)
    scrub = Scrubber(identity, Pseudonymizer(KEY))
    name = Pseudonymizer(KEY).file_name("notes.txt")
    assert scrub.text("notes.txt and p1/notes.txt are not DICOM") == f"{name} and {name} are not DICOM"
    assert scrub.text("Xnotes.txt and notes.txt2") == "Xnotes.txt and notes.txt2"
    assert scrub.text("/in/p1 and /in/p10") == "<input folder> and <input folder>/p10"
