"""A course's start and end from its dates, and the interval between two courses."""

from __future__ import annotations

import datetime as dt

import pytest

from plancheck.treatment_dates import (
    DAYS_PER_MONTH,
    DateKind,
    TreatmentDate,
    course_dates,
    interval_between,
    stated_date,
)


def date(text: str, kind: DateKind, attribute: str = "X") -> TreatmentDate:
    return TreatmentDate(dt.date.fromisoformat(text), kind, attribute, "RT Plan")


PRIOR_TREATED = [
    date("2023-01-05", DateKind.PLANNED, "RTPlanDate"),
    date("2023-01-09", DateKind.REVIEWED, "ReviewDate"),
    date("2023-01-16", DateKind.FIRST_TREATMENT, "FirstTreatmentDate"),
    date("2023-01-27", DateKind.LAST_TREATMENT, "MostRecentTreatmentDate"),
    *(date(f"2023-01-{d:02d}", DateKind.FRACTION, "TreatmentDate") for d in (16, 17, 27)),
]
CURRENT_PLANNED = [
    date("2024-03-01", DateKind.PLANNED, "RTPlanDate"),
    date("2024-03-04", DateKind.REVIEWED, "ReviewDate"),
]


def test_prior_course_ends_at_its_last_treatment():
    prior = course_dates(PRIOR_TREATED)
    assert prior.start is not None and prior.start.attribute == "FirstTreatmentDate"
    assert prior.end is not None and prior.end.date == dt.date(2023, 1, 27)
    assert prior.end.attribute == "MostRecentTreatmentDate"
    assert "treatment date" in prior.end_note


def test_interval_from_treatment_to_approval_is_conservative():
    interval = interval_between(course_dates(PRIOR_TREATED), course_dates(CURRENT_PLANNED))
    # 2023-01-27 to 2024-03-04: 4 + 28 + 31 + ... by the calendar
    assert interval.days == (dt.date(2024, 3, 4) - dt.date(2023, 1, 27)).days == 402
    assert interval.months == pytest.approx(402 / 30.4375)
    assert DAYS_PER_MONTH == 30.4375
    assert interval.conservative
    assert "approximated by its plan's ReviewDate" in interval.note
    assert interval.to_dict()["prior_end"]["attribute"] == "MostRecentTreatmentDate"


def test_prior_known_only_from_its_plan_is_not_conservative():
    prior = course_dates(PRIOR_TREATED[:2])
    interval = interval_between(prior, course_dates(CURRENT_PLANNED))
    assert interval.prior_end.attribute == "ReviewDate"
    assert not interval.conservative
    assert "may be longer than the true one" in interval.note


def test_prior_end_from_fraction_records_is_not_conservative():
    prior = course_dates([d for d in PRIOR_TREATED if d.kind is DateKind.FRACTION])
    interval = interval_between(prior, course_dates(CURRENT_PLANNED))
    assert interval.prior_end.date == dt.date(2023, 1, 27) and not interval.conservative


def test_stated_prior_date_wins():
    stated = stated_date("2023-02-10")
    prior = course_dates([*PRIOR_TREATED, stated])
    assert prior.end is stated and stated.kind is DateKind.STATED
    interval = interval_between(prior, course_dates(CURRENT_PLANNED))
    assert (
        interval.conservative and interval.days == (dt.date(2024, 3, 4) - dt.date(2023, 2, 10)).days
    )
    assert stated_date("20230210").date == dt.date(2023, 2, 10)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        stated_date("10/02/2023")


def test_missing_or_reversed_dates_are_refused():
    with pytest.raises(ValueError, match="--prior-date"):
        interval_between(course_dates([]), course_dates(CURRENT_PLANNED))
    with pytest.raises(ValueError, match="before the prior course ended"):
        interval_between(course_dates(CURRENT_PLANNED), course_dates(PRIOR_TREATED))
