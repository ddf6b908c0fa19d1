"""The batch summary: rows from documents, order by severity, CSV/JSONL/HTML."""

from __future__ import annotations

import csv
import io
import json

from plancheck.report.summary import (
    SUMMARY_FIELDS,
    batch_exit_code,
    error_row,
    render_csv,
    render_jsonl,
    render_overview_html,
    row_from_document,
    skipped_row,
    sort_rows,
)
from tests.report.documents import PATIENT, SCRIPT_NAME, make_document, summary_for


def _doc(statuses: list[str]) -> dict:
    return make_document(summary=summary_for(statuses))


def test_row_counts_and_failed_constraints() -> None:
    row = row_from_document("a/b", make_document(), "plans/a.html")
    assert row["status"] == "not-evaluated" and row["exit_code"] == 3
    assert (row["pass"], row["warn"], row["fail"], row["not_evaluated"]) == (4, 1, 1, 1)
    assert row["patient_id"] == PATIENT["id"]
    assert row["failed_constraints"] == ["cord-v30: V30Gy[cc] = 0.760 cc (goal <= 0.5)"]
    assert row["not_evaluated_constraints"][0].startswith("kidney-mean: Mean[Gy] = —")
    assert row["findings_warning"] == 1 and row["findings_error"] == 0


def test_rows_sort_by_severity_then_key_and_exit_code_is_the_worst() -> None:
    rows = [
        row_from_document("p-pass", _doc(["pass"]), None),
        skipped_row("docs", "no DICOM file"),
        row_from_document("p-fail", _doc(["fail"]), None),
        error_row("p-err", 3, "truncated"),
        row_from_document("p-warn", _doc(["warn"]), None),
        row_from_document("a-fail", _doc(["fail", "pass"]), None),
    ]
    ordered = [r["plan"] for r in sort_rows(rows)]
    assert ordered == ["p-err", "a-fail", "p-fail", "p-warn", "p-pass", "docs"]
    assert batch_exit_code(rows) == 3
    assert batch_exit_code([r for r in rows if r["status"] != "error"]) == 1
    assert batch_exit_code([r for r in rows if r["status"] in ("pass", "warn", "skipped")]) == 0
    assert batch_exit_code([]) == 0


def test_csv_and_jsonl_have_one_row_per_plan() -> None:
    rows = sort_rows([row_from_document("x", make_document(), "plans/x.html"), error_row("y", 3, "=cmd|' /C calc'!A0")])
    table = list(csv.DictReader(io.StringIO(render_csv(rows))))
    assert [r["plan"] for r in table] == ["y", "x"]
    assert list(table[0]) == list(SUMMARY_FIELDS)
    assert table[0]["error"].startswith("'=")  # not a formula for spreadsheets
    assert table[1]["failed_constraints"] == "cord-v30: V30Gy[cc] = 0.760 cc (goal <= 0.5)"
    lines = [json.loads(line) for line in render_jsonl(rows).splitlines()]
    assert [r["plan"] for r in lines] == ["y", "x"]
    assert lines[1]["fail"] == 1 and lines[1]["report"] == "plans/x.html"


def test_overview_links_reports_and_escapes() -> None:
    doc = make_document()
    doc["course"]["plans"][0]["label"] = SCRIPT_NAME
    rows = sort_rows([row_from_document("x", doc, "plans/x y.html"), skipped_row("docs", "no DICOM file")])
    html = render_overview_html(rows, root="/data")
    assert '<a href="plans/x%20y.html">report</a>' in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert html.index('data-status="not-evaluated"') < html.index('data-status="skipped"')
