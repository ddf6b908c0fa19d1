"""Treatment dates of a course, where each came from, and the interval between two courses.

Re-irradiation limits depend on the time since the prior course (HyTEC:
at least 5 months). DICOM carries dates of several kinds, which say
different things (read by :mod:`plancheck.dicom.dates`):

* RT Plan: ``RTPlanDate`` (when the plan was made) and ``ReviewDate`` (when it
  was approved or rejected, PS3.3 C.8.8.16) — both *before* treatment.
* RT Treatment Summary Record (PS3.3 C.8.8.23): ``FirstTreatmentDate`` and
  ``MostRecentTreatmentDate``, and the ``TreatmentDate`` of each fraction in
  its FractionStatusSummarySequence; its RT General Treatment Record's
  ``TreatmentDate`` is the date of the last fraction (PS3.3 C.8.8.17).
* RT Beams / Ion Beams / Brachy Treatment Records: the ``TreatmentDate`` of
  one session.
* a date the user states (``--prior-date``).

:func:`course_dates` picks the start and end of a course from them, and
:func:`interval_between` the time from the end of a prior course to the
start of the current one, saying on what each rests. A prior course whose
end is known only from its plan is an approximation that can make the
interval look *longer* than it was (by the time from planning to the last
fraction): :attr:`CourseInterval.conservative` is False then.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plancheck.model import Finding

__all__ = [
    "DAYS_PER_MONTH",
    "CourseDates",
    "CourseInterval",
    "DateKind",
    "FileDates",
    "TreatmentDate",
    "course_dates",
    "interval_between",
    "stated_date",
]

DAYS_PER_MONTH = 365.25 / 12  # 30.4375: months are mean Gregorian months


class DateKind(str, enum.Enum):
    """What a date says about a course."""

    PLANNED = "planned"  # RTPlanDate
    REVIEWED = "reviewed"  # ReviewDate of an approved (or rejected) plan
    FIRST_TREATMENT = "first-treatment"  # FirstTreatmentDate of a treatment summary
    LAST_TREATMENT = "last-treatment"  # MostRecentTreatmentDate, or a summary's TreatmentDate
    FRACTION = "fraction"  # the TreatmentDate of one delivered fraction or session
    STATED = "stated"  # given by the user

    @property
    def is_treatment(self) -> bool:
        """True for dates of delivered treatment (not of planning, not stated)."""
        return self in (DateKind.FIRST_TREATMENT, DateKind.LAST_TREATMENT, DateKind.FRACTION)


@dataclass(frozen=True)
class TreatmentDate:
    """One date and where it was read.

    ``attribute`` is the DICOM keyword (``"RTPlanDate"``, ``"MostRecentTreatmentDate"``)
    or ``"--prior-date"``; ``source`` what kind of object held it (``"RT Plan"``,
    ``"RT Treatment Summary Record"``, ``"user"``); ``plan_uid`` the plan the date
    belongs to (the plan itself, or the plan a record references), if known;
    ``detail`` context such as the approval or treatment status.
    """

    date: dt.date
    kind: DateKind
    attribute: str
    source: str
    path: str | None = None
    sop_instance_uid: str | None = None
    plan_uid: str | None = None
    time: dt.time | None = None
    detail: str = ""

    def describe(self) -> str:
        where = f" in {self.path}" if self.path else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.date.isoformat()}: {self.attribute} of the {self.source}{where}{extra}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "time": None if self.time is None else self.time.isoformat(),
            "kind": self.kind.value,
            "attribute": self.attribute,
            "source": self.source,
            "path": self.path,
            "sop_instance_uid": self.sop_instance_uid,
            "plan_uid": self.plan_uid,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class FileDates:
    """The dates read from one file, and findings about those that could not be read."""

    path: str | None
    sop_instance_uid: str
    source: str
    dates: tuple[TreatmentDate, ...]
    findings: tuple[Finding, ...] = ()


def stated_date(date: dt.date | str, *, what: str = "prior course") -> TreatmentDate:
    """A date the user gives (ISO ``YYYY-MM-DD`` or DICOM ``YYYYMMDD``), e.g. with --prior-date.

    Raises
    ------
    ValueError
        When the text is not a date.
    """
    if isinstance(date, str):
        text = date.strip()
        try:
            value = (
                dt.date.fromisoformat(text)
                if "-" in text
                else dt.datetime.strptime(text, "%Y%m%d").date()
            )
        except ValueError:
            raise ValueError(
                f"{date!r} is not a date; give it as YYYY-MM-DD (for example 2023-01-31)"
            ) from None
    else:
        value = date
    return TreatmentDate(value, DateKind.STATED, "--prior-date", "user", detail=what)


# The order in which dates stand for a course's start and end: the first kind
# present wins; within a kind, the earliest (start) or latest (end) date.
_START_ORDER = (
    DateKind.STATED,
    DateKind.FIRST_TREATMENT,
    DateKind.FRACTION,
    DateKind.LAST_TREATMENT,
    DateKind.REVIEWED,
    DateKind.PLANNED,
)
_END_ORDER = (
    DateKind.STATED,
    DateKind.LAST_TREATMENT,
    DateKind.FRACTION,
    DateKind.FIRST_TREATMENT,
    DateKind.REVIEWED,
    DateKind.PLANNED,
)


@dataclass(frozen=True)
class CourseDates:
    """A course's start and end as far as its dates tell, with every date found.

    ``start``/``end`` are None when no date was found. ``start_note`` and
    ``end_note`` say which kind of date stands for them.
    """

    start: TreatmentDate | None
    end: TreatmentDate | None
    dates: tuple[TreatmentDate, ...]
    start_note: str
    end_note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": None if self.start is None else self.start.to_dict(),
            "end": None if self.end is None else self.end.to_dict(),
            "start_note": self.start_note,
            "end_note": self.end_note,
            "dates": [d.to_dict() for d in self.dates],
        }


def course_dates(dates: Sequence[TreatmentDate]) -> CourseDates:
    """The start and end of one course from its dates (see the module docstring)."""
    ordered = tuple(sorted(dates, key=lambda d: (d.date, d.time or dt.time())))
    start = _pick(ordered, _START_ORDER, last=False)
    end = _pick(ordered, _END_ORDER, last=True)
    return CourseDates(
        start, end, ordered, _note(start, "start", first=True), _note(end, "end", first=False)
    )


def _pick(
    dates: Sequence[TreatmentDate], order: Sequence[DateKind], *, last: bool
) -> TreatmentDate | None:
    for kind in order:
        of_kind = [d for d in dates if d.kind is kind]
        if of_kind:
            return of_kind[-1] if last else of_kind[0]
    return None


def _note(chosen: TreatmentDate | None, what: str, *, first: bool) -> str:
    if chosen is None:
        return f"no date found for the course's {what}"
    if chosen.kind is DateKind.STATED:
        return f"the course's {what} is the date given by the user"
    if chosen.kind.is_treatment:
        if (chosen.kind is DateKind.FIRST_TREATMENT and not first) or (
            chosen.kind is DateKind.LAST_TREATMENT and first
        ):
            return (
                f"the course's {what} is taken from {chosen.attribute}, the only treatment date "
                "found"
            )
        return f"the course's {what} is a treatment date ({chosen.attribute})"
    return (
        f"no treatment date was found: the course's {what} is approximated by its plan's "
        f"{chosen.attribute}, a date before treatment began"
    )


@dataclass(frozen=True)
class CourseInterval:
    """Time from the end of a prior course to the start of the current one.

    ``conservative`` is True when the interval cannot be longer than the true
    one, as far as the dates go: the prior course's end is its last treatment
    date (MostRecentTreatmentDate or a summary's TreatmentDate) or stated by
    the user, and the current course's start is its first treatment date, a
    planning date (treatment begins after it) or stated. A prior end taken
    from its plan, its first treatment or from fraction records (some may be
    missing), or a current start taken from fraction records or a last
    treatment date, may make the interval look longer than it was.
    """

    days: int
    prior_end: TreatmentDate
    current_start: TreatmentDate
    conservative: bool
    note: str

    @property
    def months(self) -> float:
        """``days`` in mean Gregorian months (30.4375 days)."""
        return self.days / DAYS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "months": self.months,
            "prior_end": self.prior_end.to_dict(),
            "current_start": self.current_start.to_dict(),
            "conservative": self.conservative,
            "note": self.note,
        }


def interval_between(prior: CourseDates, current: CourseDates) -> CourseInterval:
    """The interval from ``prior``'s end to ``current``'s start.

    Raises
    ------
    ValueError
        When either date is unknown, or the current course starts before
        the prior one ended (the dates or the course order are wrong).
    """
    if prior.end is None:
        raise ValueError(
            "the prior course's dates are unknown (no RT Plan or treatment record date); "
            "give the date of its last fraction with --prior-date"
        )
    if current.start is None:
        raise ValueError("the current course's dates are unknown (no RT Plan date)")
    days = (current.start.date - prior.end.date).days
    if days < 0:
        raise ValueError(
            f"the current course starts ({current.start.describe()}) before the prior course "
            f"ended ({prior.end.describe()}); check which course is the prior one"
        )
    prior_safe = prior.end.kind in (DateKind.STATED, DateKind.LAST_TREATMENT)
    current_safe = current.start.kind in (
        DateKind.STATED,
        DateKind.FIRST_TREATMENT,
        DateKind.REVIEWED,
        DateKind.PLANNED,
    )
    notes = [prior.end_note.replace("the course's", "the prior course's")]
    notes.append(current.start_note.replace("the course's", "the current course's"))
    if not prior_safe:
        notes.append(
            "the interval may be longer than the true one: the prior course's last fraction "
            "may have come after the date used"
        )
    if not current_safe:
        notes.append(
            "the interval may be longer than the true one: the current course may have begun "
            "before the date used"
        )
    return CourseInterval(
        days, prior.end, current.start, prior_safe and current_safe, "; ".join(notes)
    )
