"""Checking a saved evaluation document's statuses against its own numbers.

``plancheck report`` renders a document that may have been edited since
``plancheck evaluate`` wrote it. Before rendering, every status is recomputed
from the row's value, goal and acceptable variation (the rules of
:mod:`plancheck.protocol.outcome`), the summary's counts from the statuses,
and the verdict's exit status from the graded rows. A document whose stored
statuses disagree is refused: a report must never show a PASS its numbers do
not support.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from plancheck.protocol.outcome import ComparisonError, Status, decide_status, parse_comparison

__all__ = ["recheck_document"]

_COUNT_KEYS = {
    "pass": "pass",
    "warn": "warn",
    "fail": "fail",
    "not-evaluated": "not_evaluated",
    "reported": "reported",
}


def _expected_status(row: Mapping[str, Any]) -> str:
    value = row.get("value")
    if value is not None and not isinstance(value, (int, float)):
        raise ValueError(f"value {value!r} is not a number")
    number = None if value is None else float(value)
    if number is not None and not math.isfinite(number):
        number = None
    goal = parse_comparison(row["goal"]) if row.get("goal") is not None else None
    variation = parse_comparison(row["variation"]) if row.get("variation") is not None else None
    return decide_status(number, goal, variation).value


def _label(row: Mapping[str, Any], k: int) -> str:
    return f"constraint {row.get('id', k + 1)} ({row.get('structure')} {row.get('metric')})"


def recheck_document(doc: Mapping[str, Any]) -> list[str]:
    """Every disagreement between the document's statuses and its values, goals and variations."""
    problems: list[str] = []
    rows = [r for r in doc.get("constraints", []) if isinstance(r, Mapping)]
    statuses: list[str] = []
    for k, row in enumerate(rows):
        stored = row.get("status")
        try:
            expected = _expected_status(row)
        except (ComparisonError, ValueError) as exc:
            problems.append(f"{_label(row, k)}: {exc}")
            continue
        statuses.append(str(stored))
        if stored != expected:
            shown = "no value" if row.get("value") is None else f"value {row.get('value')}"
            problems.append(
                f"{_label(row, k)}: status {stored!r}, but {shown} against goal {row.get('goal')!r}"
                f" and variation {row.get('variation')!r} gives {expected!r}"
            )
    summary = doc.get("summary")
    if not isinstance(summary, Mapping):
        return problems
    counts = Counter(statuses)
    for status, key in _COUNT_KEYS.items():
        if key in summary and summary[key] != counts.get(status, 0):
            problems.append(
                f"summary: {key} is {summary[key]!r}, but {counts.get(status, 0)} constraint(s) have "
                f"status {status!r}"
            )
    for k, r in enumerate(rows):
        # a row with a goal, on a structure that is present, is graded: only the document's own
        # rule (no goal, an absent optional structure) takes it out of the verdict
        if "graded" in r and not r["graded"] and r.get("goal") is not None and r.get("required", True):
            problems.append(f"{_label(r, k)}: has a goal and a present structure but is marked not graded")
    graded = [r for r in rows if r.get("goal") is not None and r.get("required", True)]
    graded_statuses = {str(r.get("status")) for r in graded}
    exit_code = summary.get("exit_code")
    outcome = summary.get("outcome")
    verdict = summary.get("verdict") if isinstance(summary.get("verdict"), Mapping) else {}
    blocking = list(verdict.get("blocking") or []) if isinstance(verdict, Mapping) else []
    if Status.FAIL.value in graded_statuses and exit_code == 0:
        problems.append("summary: exit code 0, but a graded constraint failed")
    if Status.FAIL.value in graded_statuses and outcome in ("pass", "warn"):
        problems.append(f"summary: outcome {outcome!r}, but a graded constraint failed")
    if exit_code == 0 or outcome in ("pass", "warn"):
        if Status.NOT_EVALUATED.value in graded_statuses:
            problems.append(
                f"summary: outcome {outcome!r} (exit {exit_code}), but a graded constraint was not "
                "evaluated"
            )
        if summary.get("missing_structures") or summary.get("missing_groups") or blocking:
            problems.append(
                f"summary: outcome {outcome!r} (exit {exit_code}), but the document lists missing "
                "structures or blocking reasons"
            )
    if outcome == "pass" and Status.WARN.value in graded_statuses:
        problems.append("summary: outcome 'pass', but a graded constraint is within its variation only")
    if outcome in ("pass", "warn") and exit_code not in (0, None):
        problems.append(f"summary: outcome {outcome!r} with exit code {exit_code!r}")
    if isinstance(verdict, Mapping) and verdict:
        if verdict.get("exit_code") != exit_code or verdict.get("outcome") != outcome:
            problems.append(
                "summary: the verdict's outcome and exit code differ from the summary's "
                f"({verdict.get('outcome')!r}/{verdict.get('exit_code')!r} against "
                f"{outcome!r}/{exit_code!r})"
            )
        if verdict.get("label") == "PASS" and (
            outcome != "pass" or verdict.get("warnings") or blocking
        ):
            problems.append("summary: verdict PASS with warnings, blocking reasons or another outcome")
    return problems
