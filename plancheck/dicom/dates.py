"""Dates that place a course in time: RT Plans and RT treatment records.

What is read (PS3.3; see :mod:`plancheck.treatment_dates` for what each means):

* RT Plan and RT Ion Plan (C.8.8.9 RT General Plan, C.8.8.16 Approval):
  ``RTPlanDate``/``RTPlanTime``; ``ReviewDate``/``ReviewTime`` with the
  ``ApprovalStatus``.
* RT Treatment Summary Record (A.31, C.8.8.17 and C.8.8.23):
  ``FirstTreatmentDate``, ``MostRecentTreatmentDate``, the general record's
  ``TreatmentDate``/``TreatmentTime`` (the last fraction, for a summary), and
  each fraction's ``TreatmentDate`` in FractionGroupSummarySequence >
  FractionStatusSummarySequence; ``CurrentTreatmentStatus`` and the fractions
  delivered go into the detail. The plan is ReferencedRTPlanSequence's.
* RT Beams, Ion Beams and Brachy Treatment Records: the session's
  ``TreatmentDate``, and the summary module's dates where present.

A date that is present but not a date (DA is ``YYYYMMDD``; the retired
``YYYY.MM.DD`` form is accepted) is a warning finding (``date-unreadable``),
not an error: the other dates of the file still count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydicom.dataset import Dataset

from plancheck.dicom._read import Fields, capture_warnings, dataset_path, read_dataset
from plancheck.dicom.kinds import (
    RT_BEAMS_TREATMENT_RECORD_STORAGE,
    RT_BRACHY_TREATMENT_RECORD_STORAGE,
    RT_ION_BEAMS_TREATMENT_RECORD_STORAGE,
    RT_ION_PLAN_STORAGE,
    RT_PLAN_STORAGE,
    RT_TREATMENT_SUMMARY_RECORD_STORAGE,
    sop_class_name,
)
from plancheck.errors import DicomReadError
from plancheck.model import Finding, Severity
from plancheck.treatment_dates import DateKind, FileDates, TreatmentDate

__all__ = ["DATED_SOP_CLASSES", "read_treatment_dates", "treatment_dates_from_dataset"]

_SOURCES = {
    RT_PLAN_STORAGE: "RT Plan",
    RT_ION_PLAN_STORAGE: "RT Ion Plan",
    RT_TREATMENT_SUMMARY_RECORD_STORAGE: "RT Treatment Summary Record",
    RT_BEAMS_TREATMENT_RECORD_STORAGE: "RT Beams Treatment Record",
    RT_ION_BEAMS_TREATMENT_RECORD_STORAGE: "RT Ion Beams Treatment Record",
    RT_BRACHY_TREATMENT_RECORD_STORAGE: "RT Brachy Treatment Record",
}
DATED_SOP_CLASSES = tuple(_SOURCES)


def read_treatment_dates(path: Path) -> FileDates:
    """The dates of an RT Plan or RT treatment record file.

    Raises
    ------
    DicomReadError
        When the file is not readable DICOM, or is neither an RT (Ion) Plan
        nor an RT treatment record.
    """
    path = Path(path)
    return treatment_dates_from_dataset(read_dataset(path), path=path)


def treatment_dates_from_dataset(ds: Dataset, *, path: Path | None = None) -> FileDates:
    """The dates of an RT Plan or RT treatment record dataset."""
    path = dataset_path(ds, path)
    notes: list[Finding] = []
    with capture_warnings(path, notes):
        found = _dates(ds, path)
    return FileDates(
        found.path, found.sop_instance_uid, found.source, found.dates, (*found.findings, *notes)
    )


def _dates(ds: Dataset, path: Path | None) -> FileDates:
    f = Fields(ds, path, "dated object")
    sop_class = f.text("SOPClassUID") or ""
    source = _SOURCES.get(sop_class)
    if source is None:
        raise DicomReadError(
            f"holds no treatment dates plancheck reads: it is "
            f"{sop_class_name(sop_class) if sop_class else 'of unknown SOP Class'}, not an RT Plan "
            "or an RT treatment record",
            path=path,
        )
    f.what = source
    reader = _Dates(f, source, path)
    if sop_class in (RT_PLAN_STORAGE, RT_ION_PLAN_STORAGE):
        plan_uid = f.text("SOPInstanceUID")
        reader.add("RTPlanDate", "RTPlanTime", DateKind.PLANNED, f, plan_uid)
        approval = f.upper("ApprovalStatus") or "no ApprovalStatus"
        reader.add(
            "ReviewDate", "ReviewTime", DateKind.REVIEWED, f, plan_uid, f"ApprovalStatus {approval}"
        )
    else:
        refs = f.referenced_uids("ReferencedRTPlanSequence")
        plan_uid = refs[0] if refs else None
        status = f.upper("CurrentTreatmentStatus")
        detail = _summary_detail(f, status)
        is_summary = sop_class == RT_TREATMENT_SUMMARY_RECORD_STORAGE
        reader.add(
            "TreatmentDate",
            "TreatmentTime",
            DateKind.LAST_TREATMENT if is_summary else DateKind.FRACTION,
            f,
            plan_uid,
            detail if is_summary else "treatment session",
        )
        reader.add("FirstTreatmentDate", None, DateKind.FIRST_TREATMENT, f, plan_uid, detail)
        reader.add("MostRecentTreatmentDate", None, DateKind.LAST_TREATMENT, f, plan_uid, detail)
        for g_index, group in enumerate(f.sequence("FractionGroupSummarySequence"), start=1):
            g = f.item(group, f"{source} fraction group summary {g_index}")
            for s_index, status_item in enumerate(
                g.sequence("FractionStatusSummarySequence"), start=1
            ):
                s = g.item(status_item, f"{source} fraction status {s_index}")
                number = s.integer("ReferencedFractionNumber")
                reader.add(
                    "TreatmentDate",
                    "TreatmentTime",
                    DateKind.FRACTION,
                    s,
                    plan_uid,
                    f"fraction {number if number is not None else s_index}"
                    + (
                        f" of fraction group {g.integer('ReferencedFractionGroupNumber')}"
                        if g.has("ReferencedFractionGroupNumber")
                        else ""
                    ),
                )
    return FileDates(
        None if path is None else str(path),
        f.text("SOPInstanceUID") or "",
        source,
        tuple(reader.dates),
        tuple(reader.findings),
    )


def _summary_detail(f: Fields, status: str | None) -> str:
    parts = []
    if status is not None:
        parts.append(f"treatment status {status}")
    for k, group in enumerate(f.sequence("FractionGroupSummarySequence"), start=1):
        g = f.item(group, f"fraction group summary {k}")
        delivered = g.integer("NumberOfFractionsDelivered")
        planned = g.integer("NumberOfFractionsPlanned")
        if delivered is not None:
            parts.append(
                f"{delivered}{'' if planned is None else f' of {planned}'} fractions delivered"
            )
    return ", ".join(parts)


class _Dates:
    def __init__(self, f: Fields, source: str, path: Path | None) -> None:
        self.source = source
        self.path = None if path is None else str(path)
        self.sop_instance_uid = f.text("SOPInstanceUID")
        self.dates: list[TreatmentDate] = []
        self.findings: list[Finding] = []

    def add(
        self,
        date_keyword: str,
        time_keyword: str | None,
        kind: DateKind,
        f: Fields,
        plan_uid: str | None,
        detail: str = "",
    ) -> None:
        text = f.text(date_keyword)
        if text is None:
            return
        date = parse_da(text)
        if date is None:
            self._problem(f"{f.what}: {date_keyword} {text!r} is not a date (YYYYMMDD); ignored")
            return
        time = None
        time_text = f.text(time_keyword) if time_keyword is not None else None
        if time_text is not None:
            time = parse_tm(time_text)
            if time is None:
                self._problem(f"{f.what}: {time_keyword} {time_text!r} is not a time; ignored")
        self.dates.append(
            TreatmentDate(
                date,
                kind,
                date_keyword,
                self.source,
                self.path,
                self.sop_instance_uid,
                plan_uid,
                time,
                detail,
            )
        )

    def _problem(self, message: str) -> None:
        name = self.path.rsplit("/", 1)[-1] + ": " if self.path else ""
        self.findings.append(
            Finding(Severity.WARNING, "date-unreadable", name + message, self.path)
        )


def parse_da(text: str) -> dt.date | None:
    """A DICOM DA value (``YYYYMMDD``, or the retired ``YYYY.MM.DD``) as a date; None if it is not one."""
    t = text.strip()
    for fmt in ("%Y%m%d", "%Y.%m.%d"):
        try:
            if len(t) == (8 if fmt == "%Y%m%d" else 10):
                return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None


def parse_tm(text: str) -> dt.time | None:
    """A DICOM TM value (``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.FFFFFF``, or with colons)."""
    t = text.strip().replace(":", "")
    main, _, fraction = t.partition(".")
    if not main.isdigit() or len(main) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return None
    try:
        hour = int(main[0:2])
        minute = int(main[2:4]) if len(main) >= 4 else 0
        second = min(int(main[4:6]), 59) if len(main) == 6 else 0  # 60: leap second
        micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
        return dt.time(hour, minute, second, micro)
    except ValueError:
        return None
