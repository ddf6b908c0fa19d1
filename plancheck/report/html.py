"""The peer-review plan report as one self-contained HTML page.

Rendered from an evaluation document (see :mod:`plancheck.report.document`)
with Jinja2 and autoescaping: every string is escaped, so a ROI named
``<script>alert(1)</script>`` reads as text. Styles and the DVH figure are
embedded (the figure as an SVG ``data:`` image); the page fetches nothing.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from typing import Any

from plancheck import __version__
from plancheck.report.document import STATUS_LABELS
from plancheck.report.plot import DvhFigure, render_dvh_figure
from plancheck.report.template import REPORT_TEMPLATE, STYLES

__all__ = ["fmt_number", "render_html", "report_view"]

DASH = "—"
_SYMBOLS = {"pass": "✓", "warn": "▲", "fail": "✗", "not-evaluated": "–", "reported": "◆"}
_SEVERITY_LABELS = {"error": "ERROR", "warning": "WARNING", "info": "info"}


def fmt_number(value: Any, digits: int | None = None) -> str:
    """A number for display: ``—`` when absent or not finite; integers as they are.

    Without ``digits``: 2 decimals, 3 below 1, 1 from 1000 on.
    """
    if value is None or isinstance(value, bool):
        return DASH
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return DASH
    if digits is None:
        magnitude = abs(value)
        digits = 3 if magnitude < 1 else (1 if magnitude >= 1000 else 2)
    return f"{value:.{digits}f}"


def _text(value: Any) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _status(value: Any) -> str:
    s = str(value) if value is not None else "not-evaluated"
    return s if s in STATUS_LABELS else "unknown"


def _constraint_row(c: Mapping[str, Any]) -> dict[str, Any]:
    status = _status(c.get("status"))
    return {
        "status_class": status,
        "status_label": STATUS_LABELS.get(status, str(c.get("status")).upper()),
        "symbol": _SYMBOLS.get(status, "?"),
        "id": _text(c.get("id")),
        "structure": _text(c.get("structure")),
        "matched_roi": _text(c.get("matched_roi")),
        "match": "" if c.get("match") is None else str(c.get("match")),
        "metric": _text(c.get("metric")),
        "value": fmt_number(c.get("value")),
        "unit": "" if c.get("value") is None or c.get("unit") is None else str(c.get("unit")),
        "goal": _text(c.get("goal")),
        "variation": _text(c.get("variation")),
        "priority": _text(c.get("priority")),
        "reason": "" if c.get("reason") is None else str(c.get("reason")),
        "source": "" if c.get("source") is None else str(c.get("source")),
    }


def _extra_tables(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Optional list-of-records sections (cross-checks against the planning system's DVHs)."""
    blocks = []
    for key, title in (("crosschecks", "Cross-check against the planning system's DVHs"),):
        rows = [r for r in _list(doc.get(key)) if isinstance(r, Mapping)]
        if not rows:
            continue
        columns: list[str] = []
        for r in rows:
            columns.extend(k for k in r if k not in columns)
        body = [[fmt_number(r.get(k)) if isinstance(r.get(k), float) else _text(r.get(k)) for k in columns] for r in rows]
        blocks.append({"id": key, "title": title, "columns": columns, "rows": body})
    return blocks


def report_view(doc: Mapping[str, Any], figure: DvhFigure | None) -> dict[str, Any]:
    """The values the template shows, every one a plain string or list (no logic in the template)."""
    provenance = _map(doc.get("provenance"))
    patient = _map(doc.get("patient"))
    protocol = _map(doc.get("protocol"))
    course = _map(doc.get("course"))
    summary = _map(doc.get("summary"))
    structure_set = _map(course.get("structure_set"))
    plans = [p for p in _list(course.get("plans")) if isinstance(p, Mapping)]
    outcome = _status(summary.get("outcome"))
    constraints = [_constraint_row(c) for c in _list(doc.get("constraints")) if isinstance(c, Mapping)]
    settings = _map(provenance.get("settings"))
    anonymized = _map(provenance.get("anonymized"))
    protocol_name = _text(protocol.get("name"))
    plan_labels = ", ".join(str(p.get("label", "?")) for p in plans) or DASH
    return {
        "title": f"Plan evaluation: {plan_labels} — {protocol_name}",
        "plancheck_version": _text(provenance.get("plancheck_version")),
        "renderer_version": __version__,
        "schema_version": _text(doc.get("schema_version")),
        "python": _text(provenance.get("python")),
        "created": _text(provenance.get("created")),
        "anonymized": (
            f"{anonymized.get('method', 'pseudonyms')} (key fingerprint {anonymized.get('key_fingerprint', '?')})"
            if anonymized
            else ""
        ),
        "patient": {k: _text(patient.get(k)) for k in ("name", "id", "birth_date")},
        "structure_set": {
            k: _text(structure_set.get(k)) for k in ("label", "sop_instance_uid", "frame_of_reference_uid")
        },
        "plan_labels": plan_labels,
        "plans": [
            {
                "label": _text(p.get("label")),
                "n_fractions": fmt_number(p.get("n_fractions")),
                "prescription_gy": fmt_number(p.get("prescription_gy")),
                "approval_status": _text(p.get("approval_status")),
                "dose_from": _text(p.get("dose_from")),
                "sop_instance_uid": _text(p.get("sop_instance_uid")),
                "rtdose_uids": [str(u) for u in _list(p.get("rtdose_sop_instance_uids"))] or [DASH],
            }
            for p in plans
        ],
        "dose_levels": [
            {
                "id": _text(d.get("id")),
                "structure": _text(d.get("structure")),
                "dose_gy": fmt_number(d.get("dose_gy")),
                "fractions": fmt_number(d.get("fractions")),
                "status": _text(d.get("status")),
                "status_class": {"match": "pass", "mismatch": "fail"}.get(str(d.get("status")), "unknown"),
                "message": _text(d.get("message")),
            }
            for d in _list(course.get("dose_levels"))
            if isinstance(d, Mapping)
        ],
        "protocol": {
            "name": protocol_name,
            "title": _text(protocol.get("title")),
            "description": _text(protocol.get("description")),
            "selected": _text(protocol.get("selected")),
            "reason": "" if protocol.get("reason") is None else str(protocol.get("reason")),
            "file": _text(provenance.get("protocol_file")),
            "source_folder": _text(provenance.get("source_folder")),
            "sha256": _text(provenance.get("protocol_sha256")),
        },
        "outcome": outcome,
        "outcome_label": STATUS_LABELS.get(outcome, "UNKNOWN"),
        "outcome_symbol": _SYMBOLS.get(outcome, "?"),
        "counts": [
            ("pass", fmt_number(summary.get("pass"))),
            ("warn", fmt_number(summary.get("warn"))),
            ("fail", fmt_number(summary.get("fail"))),
            ("not evaluated", fmt_number(summary.get("not_evaluated"))),
            *([("reported", fmt_number(summary.get("reported")))] if summary.get("reported") else []),
        ],
        "missing_structures": [str(m) for m in _list(summary.get("missing_structures"))],
        "absent_optional": [str(m) for m in _list(summary.get("absent_optional_structures"))],
        "verdict_label": _text(_map(summary.get("verdict")).get("label")),
        "verdict_reasons": [
            (kind, str(text))
            for kind, key in (
                ("failed", "failed"),
                ("not evaluable or incomplete", "blocking"),
                ("warning", "warnings"),
                ("accepted with --accept-mismatch", "accepted_mismatches"),
            )
            for text in _list(_map(summary.get("verdict")).get(key))
        ],
        "failed": [c for c in constraints if c["status_class"] == "fail"],
        "constraints": constraints,
        "figure": figure,
        "structures": [
            {
                "name": _text(s.get("name")),
                "roi_number": _text(s.get("roi_number")),
                "protocol_structure": _text(s.get("protocol_structure")),
                "volume_cc": fmt_number(s.get("volume_cc")),
                "outside_cc": fmt_number(s.get("volume_outside_grid_cc")),
            }
            for s in _list(doc.get("structures"))
            if isinstance(s, Mapping)
        ],
        "findings": [
            {
                "severity": _SEVERITY_LABELS.get(str(f.get("severity")), _text(f.get("severity"))),
                "severity_class": str(f.get("severity")) if f.get("severity") in _SEVERITY_LABELS else "info",
                "code": _text(f.get("code")),
                "message": _text(f.get("message")),
                "path": _text(f.get("path")),
            }
            for f in _list(doc.get("findings"))
            if isinstance(f, Mapping)
        ],
        "extra_tables": _extra_tables(doc),
        "settings": [(str(k), _text(v)) for k, v in sorted(settings.items())],
        "input_files": [
            {k: _text(f.get(k)) for k in ("path", "modality", "sop_instance_uid", "sha256")}
            for f in _list(provenance.get("input_files"))
            if isinstance(f, Mapping)
        ],
    }


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(REPORT_TEMPLATE)


def render_html(doc: Mapping[str, Any], *, figure: bool = True) -> str:
    """The HTML report of an evaluation document (a checked ``dict``, see ``read_evaluation_document``).

    Parameters
    ----------
    doc : mapping
        The evaluation document, already anonymised if it is to be.
    figure : bool
        Draw the DVH figure (about 0.2 s with matplotlib); off, the section says so.
    """
    from markupsafe import Markup

    fig = render_dvh_figure(doc) if figure else None
    return str(_template().render(v=report_view(doc, fig), styles=Markup(STYLES)))
