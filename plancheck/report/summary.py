"""The batch summary: one row per plan, as CSV, JSON Lines and an HTML overview.

Rows come from evaluation documents (or from the error that stopped a plan);
nothing is recomputed. Plans are ordered by severity (errors, not evaluated,
fail, warn, pass, then folders that held no plan) and then by their key, so
the summary does not depend on the order in which plans finished.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from plancheck import __version__
from plancheck.errors import EXIT_INPUT, EXIT_OK
from plancheck.report.html import fmt_number

__all__ = [
    "ROW_STATUSES",
    "SUMMARY_FIELDS",
    "batch_exit_code",
    "error_row",
    "render_csv",
    "render_jsonl",
    "render_overview_html",
    "row_from_document",
    "skipped_row",
    "sort_rows",
]

# most severe first
ROW_STATUSES: tuple[str, ...] = ("error", "not-evaluated", "fail", "warn", "pass", "skipped")
SUMMARY_FIELDS: tuple[str, ...] = (
    "plan",
    "status",
    "exit_code",
    "patient_id",
    "patient_name",
    "structure_set",
    "plans",
    "protocol",
    "protocol_sha256",
    "pass",
    "warn",
    "fail",
    "not_evaluated",
    "failed_constraints",
    "not_evaluated_constraints",
    "findings_error",
    "findings_warning",
    "error",
    "error_kind",
    "report",
    "report_error",
    "reused",
)
_LIST_FIELDS = ("failed_constraints", "not_evaluated_constraints")


def _constraint_text(c: Mapping[str, Any]) -> str:
    value = c.get("value")
    unit = c.get("unit")
    shown = fmt_number(value) + (f" {unit}" if value is not None and unit else "")
    text = f"{c.get('id', '?')}: {c.get('metric', '?')} = {shown} (goal {c.get('goal', '?')})"
    if c.get("reason"):
        text += f" — {c.get('reason')}"
    return text


def _empty_row(plan: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
    row.update(plan=plan, reused=False)
    for key in _LIST_FIELDS:
        row[key] = []
    return row


def row_from_document(plan: str, doc: Mapping[str, Any], report: str | None) -> dict[str, Any]:
    """The summary row of one evaluated plan (``doc`` already anonymised if it is to be)."""
    row = _empty_row(plan)
    patient = doc.get("patient") or {}
    course = doc.get("course") or {}
    summary = doc.get("summary") or {}
    protocol = doc.get("protocol") or {}
    provenance = doc.get("provenance") or {}
    constraints = [c for c in doc.get("constraints") or [] if isinstance(c, Mapping)]
    findings = [f for f in doc.get("findings") or [] if isinstance(f, Mapping)]
    outcome = str(summary.get("outcome") or "not-evaluated")
    row.update(
        status=outcome if outcome in ROW_STATUSES else "not-evaluated",
        exit_code=int(summary["exit_code"]) if isinstance(summary.get("exit_code"), int) else EXIT_INPUT,
        patient_id=patient.get("id"),
        patient_name=patient.get("name"),
        structure_set=(course.get("structure_set") or {}).get("label"),
        plans=", ".join(str(p.get("label")) for p in course.get("plans") or [] if isinstance(p, Mapping)),
        protocol=protocol.get("name"),
        protocol_sha256=provenance.get("protocol_sha256"),
        failed_constraints=[_constraint_text(c) for c in constraints if c.get("status") == "fail"],
        not_evaluated_constraints=[
            _constraint_text(c) for c in constraints if c.get("status") == "not-evaluated"
        ],
        findings_error=sum(f.get("severity") == "error" for f in findings),
        findings_warning=sum(f.get("severity") == "warning" for f in findings),
        report=report,
    )
    for key in ("pass", "warn", "fail", "not_evaluated"):
        value = summary.get(key)
        row[key] = value if isinstance(value, int) else None
    return row


def error_row(plan: str, exit_code: int, message: str, kind: str | None = None) -> dict[str, Any]:
    """The row of a plan that could not be evaluated; ``kind`` names the error (``"internal"`` for a bug)."""
    row = _empty_row(plan)
    row.update(status="error", exit_code=exit_code, error=message, error_kind=kind)
    return row


def skipped_row(plan: str, reason: str) -> dict[str, Any]:
    """The row of a folder that holds no plan (no DICOM file): listed, never an error."""
    row = _empty_row(plan)
    row.update(status="skipped", exit_code=EXIT_OK, error=reason)
    return row


def _rank(row: Mapping[str, Any]) -> int:
    status = row.get("status")
    return ROW_STATUSES.index(status) if status in ROW_STATUSES else 0


def sort_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows by severity, then plan key."""
    return sorted((dict(r) for r in rows), key=lambda r: (_rank(r), str(r.get("plan"))))


def batch_exit_code(rows: Iterable[Mapping[str, Any]]) -> int:
    """The most severe exit status of the plans: 3 (input error, not evaluated) > 2 > 1 (fail) > 0.

    A report that could not be written also gives 3 (its row keeps the
    evaluation's own status and exit code).
    """
    rows = list(rows)
    codes = [int(r["exit_code"]) for r in rows if isinstance(r.get("exit_code"), int)]
    if any(r.get("report_error") for r in rows):
        codes.append(EXIT_INPUT)
    return max(codes, default=EXIT_OK)


def render_jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    """One JSON object per line, in the order given."""
    return "".join(json.dumps({k: r.get(k) for k in SUMMARY_FIELDS}, ensure_ascii=False) + "\n" for r in rows)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value)
    # a cell starting like a formula is not run by spreadsheets (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """A CSV with a header line; lists are joined with ``"; "``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SUMMARY_FIELDS)
    for r in rows:
        writer.writerow([_csv_cell(r.get(k)) for k in SUMMARY_FIELDS])
    return buf.getvalue()


_OVERVIEW_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>plancheck batch{% if state != "complete" %} ({{ state }}){% endif %}: {{ counts_text }}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 13px; margin: 24px; color: #1f2328; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #f6f8fa; white-space: nowrap; }
td.num { text-align: right; }
.s { font-weight: 700; white-space: nowrap; }
.s-pass { color: #1a7f37; background: #dafbe1; } .s-warn { color: #9a4d00; background: #fff1d6; }
.s-fail { color: #cf222e; background: #ffebe9; } .s-error { color: #fff; background: #cf222e; }
.s-not-evaluated, .s-skipped { color: #57606a; background: #eaeef2; }
.banner { font-size: 15px; font-weight: 700; padding: 8px 12px; border: 2px solid; border-radius: 6px; }
.banner-in-progress { color: #9a4d00; background: #fff1d6; }
.banner-interrupted { color: #fff; background: #cf222e; }
</style></head>
<body>
<h1>plancheck batch summary</h1>
{% if state != "complete" %}<p id="run-state" class="banner banner-{{ state }}">{{ state_text }}</p>{% endif %}
<p id="run-summary">{{ counts_text }}{% if state == "complete" %} · exit status <b>{{ exit_code }}</b>{% endif %} · plancheck {{ version }}{% if started %} · started {{ started }}{% endif %}{% if root %} · root <code>{{ root }}</code>{% endif %}</p>
<table id="summary-table">
<tr><th>Status</th><th>Plan</th><th>Patient ID</th><th>Plans</th><th>Protocol</th><th>Pass</th><th>Warn</th><th>Fail</th><th>Not evaluated</th><th>Failed constraints / error</th><th>Report</th></tr>
{% for r in rows %}<tr data-status="{{ r.status }}"><td class="s s-{{ r.status }}">{{ r.status_label }}</td><td>{{ r.plan }}</td><td>{{ r.patient_id }}</td><td>{{ r.plans }}</td><td>{{ r.protocol }}</td>
<td class="num">{{ r.pass }}</td><td class="num">{{ r.warn }}</td><td class="num">{{ r.fail }}</td><td class="num">{{ r.not_evaluated }}</td>
<td>{% for line in r.details %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td>{% if r.href %}<a href="{{ r.href }}">report</a>{% endif %}</td></tr>
{% endfor %}</table>
</body></html>
"""


STATE_TEXTS = {
    "in-progress": "RUN IN PROGRESS: this page lists the plans finished so far and is replaced "
    "when the run completes. If no plancheck batch is running any more, the run was interrupted "
    "and its results are incomplete.",
    "interrupted": "RUN INTERRUPTED: the run was stopped before every plan was evaluated; the "
    "results below are incomplete. Run the batch again (--resume reuses what was finished).",
}


def render_overview_html(
    rows: Sequence[Mapping[str, Any]],
    *,
    root: str | None = None,
    state: str = "complete",
    started: str | None = None,
    total: int | None = None,
) -> str:
    """The HTML overview: rows as given (sort them first), each linking to its report.

    ``state`` is ``"complete"``, ``"in-progress"`` or ``"interrupted"``; the
    last two say so at the top of the page, with ``len(rows)`` of ``total``.
    """
    import jinja2

    view = []
    for r in rows:
        report = r.get("report")
        details = [*(r.get("failed_constraints") or []), *(r.get("not_evaluated_constraints") or [])]
        if r.get("error"):
            details.append(str(r["error"]))
        if r.get("report_error"):
            details.append(str(r["report_error"]))
        view.append(
            {
                "status": r.get("status") if r.get("status") in ROW_STATUSES else "error",
                "status_label": str(r.get("status", "error")).upper(),
                "plan": r.get("plan") or "—",
                "patient_id": r.get("patient_id") or "—",
                "plans": r.get("plans") or "—",
                "protocol": r.get("protocol") or "—",
                **{k: fmt_number(r.get(k)) for k in ("pass", "warn", "fail", "not_evaluated")},
                "details": details,
                # our own relative file names, percent-encoded: never a scheme such as javascript:
                "href": quote(str(report)) if report else None,
            }
        )
    counts = {s: sum(r.get("status") == s for r in rows) for s in ROW_STATUSES}
    counts_text = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no plan"
    if state != "complete" and total is not None:
        counts_text = f"{len(rows)} of {total} done: {counts_text}"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_OVERVIEW_TEMPLATE).render(
        rows=view,
        counts_text=counts_text,
        exit_code=batch_exit_code(rows),
        version=__version__,
        root=root,
        state=state,
        state_text=STATE_TEXTS.get(state, ""),
        started=started,
    )
