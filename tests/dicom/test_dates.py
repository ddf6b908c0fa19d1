"""Treatment dates read from RT Plans and RT treatment records (PS3.3 C.8.8.9, C.8.8.17, C.8.8.23)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydicom.dataset import Dataset

from plancheck.dicom.dates import parse_da, parse_tm, read_treatment_dates
from plancheck.dicom.write import DicomContext, rtplan_dataset, write_dataset
from plancheck.dicom.write_treatment_record import treatment_summary_dataset
from plancheck.errors import DicomReadError
from plancheck.model import DoseReference, PatientInfo
from plancheck.treatment_dates import DateKind
from tests.dicom.builders import uid, write

PATIENT = PatientInfo("A^B", "PC-TEST-1", "19600101")


def context(date: str) -> DicomContext:
    return DicomContext(PATIENT, uid("study"), uid("frame"), date=date, time="143000")


def plan(date: str = "20230110", approval: str = "APPROVED") -> Dataset:
    return rtplan_dataset(
        context(date),
        sop_instance_uid=uid("plan"),
        series_instance_uid=uid("plan series"),
        label="SPINE_30",
        n_fractions=10,
        dose_references=(DoseReference(1, "PTV", "TARGET", 30.0, 1),),
        referenced_structure_set_uid=uid("rtstruct"),
        approval_status=approval,
    )


def summary(dates=("20230116", "20230117", "20230118")) -> Dataset:
    return treatment_summary_dataset(
        context("20230201"),
        sop_instance_uid=uid("summary"),
        series_instance_uid=uid("summary series"),
        plan_uid=uid("plan"),
        n_fractions_planned=10,
        fraction_dates=list(dates),
        status="ON_TREATMENT",
    )


def test_plan_dates(tmp_path):
    found = read_treatment_dates(write_dataset(plan(), tmp_path / "RP.dcm"))
    assert found.source == "RT Plan" and found.findings == ()
    by_kind = {d.kind: d for d in found.dates}
    planned, reviewed = by_kind[DateKind.PLANNED], by_kind[DateKind.REVIEWED]
    assert planned.date == dt.date(2023, 1, 10) and planned.attribute == "RTPlanDate"
    assert planned.time == dt.time(14, 30)
    assert reviewed.attribute == "ReviewDate" and reviewed.detail == "ApprovalStatus APPROVED"
    assert planned.plan_uid == uid("plan") and planned.path == str(tmp_path / "RP.dcm")


def test_unapproved_plan_has_no_review_date(tmp_path):
    found = read_treatment_dates(write_dataset(plan(approval="UNAPPROVED"), tmp_path / "RP.dcm"))
    assert [d.kind for d in found.dates] == [DateKind.PLANNED]


def test_treatment_summary_dates(tmp_path):
    found = read_treatment_dates(write_dataset(summary(), tmp_path / "RT.dcm"))
    assert found.source == "RT Treatment Summary Record"
    kinds = [(d.kind, d.attribute, d.date.isoformat()) for d in found.dates]
    assert (DateKind.FIRST_TREATMENT, "FirstTreatmentDate", "2023-01-16") in kinds
    assert (DateKind.LAST_TREATMENT, "MostRecentTreatmentDate", "2023-01-18") in kinds
    # the general treatment record's TreatmentDate is the last fraction's, for a summary
    assert (DateKind.LAST_TREATMENT, "TreatmentDate", "2023-01-18") in kinds
    fractions = [d for d in found.dates if d.kind is DateKind.FRACTION]
    assert [d.date.day for d in fractions] == [16, 17, 18]
    assert fractions[1].detail == "fraction 2 of fraction group 1"
    last = next(d for d in found.dates if d.attribute == "MostRecentTreatmentDate")
    assert last.plan_uid == uid("plan")
    assert last.detail == "treatment status ON_TREATMENT, 3 of 10 fractions delivered"


def test_beams_treatment_record_session(tmp_path):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.4"
    ds.SOPInstanceUID = uid("session")
    ds.Modality = "RTRECORD"
    ds.TreatmentDate = "20230120"
    ds.TreatmentTime = "101500.25"
    found = read_treatment_dates(write(ds, tmp_path / "RT.session.dcm"))
    (session,) = found.dates
    assert session.kind is DateKind.FRACTION and session.detail == "treatment session"
    assert session.time == dt.time(10, 15, 0, 250000) and session.plan_uid is None


def test_malformed_date_is_a_problem_not_an_error(tmp_path):
    ds = plan()
    with pytest.warns(UserWarning, match="Invalid value for VR DA"):
        ds.RTPlanDate = "20231345"
    found = read_treatment_dates(write_dataset(ds, tmp_path / "RP.dcm"))
    assert [d.attribute for d in found.dates] == ["ReviewDate"]
    problems = [f for f in found.findings if f.code == "date-unreadable"]
    assert [f.message for f in problems] == [
        "RP.dcm: RT Plan: RTPlanDate '20231345' is not a date (YYYYMMDD); ignored"
    ]


def test_other_objects_are_refused(tmp_path):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.2"
    ds.SOPInstanceUID = uid("dose")
    with pytest.raises(DicomReadError, match="RT Dose Storage, not an RT Plan"):
        read_treatment_dates(write(ds, tmp_path / "RD.dcm"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240229", dt.date(2024, 2, 29)),
        ("2024.02.29", dt.date(2024, 2, 29)),
        ("20230229", None),
        ("2024-02-29", None),
        ("202402", None),
    ],
)
def test_parse_da(text, expected):
    assert parse_da(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09", dt.time(9)),
        ("0930", dt.time(9, 30)),
        ("093015", dt.time(9, 30, 15)),
        ("093015.5", dt.time(9, 30, 15, 500000)),
        ("09:30:15", dt.time(9, 30, 15)),
        ("2561", None),
        ("ab", None),
    ],
)
def test_parse_tm(text, expected):
    assert parse_tm(text) == expected
