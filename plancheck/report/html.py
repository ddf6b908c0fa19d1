"""The peer-review plan report as one self-contained HTML page.

Rendered from an evaluation document (see :mod:`plancheck.report.document`)
with Jinja2 and autoescaping: every string is escaped, so a ROI named
``<script>alert(1)</script>`` reads as text. Styles, the DVH figure (an SVG
``data:`` image) and the small script that reads DVH values under the
pointer are embedded; the page fetches nothing.

What a reviewer signs is all on the page: a summary of what failed, warned
or could not be evaluated (with values and reasons) at the top; the planning
system (manufacturer, model, version), plan date, approval status, date and
reviewer of every plan; the dose unit (Gy(RBE) for EFFECTIVE doses) wherever
doses are shown; every input file with its SHA-256; the protocol's
references; and a blank sign-off block.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from plancheck import __version__
from plancheck.report.document import STATUS_LABELS
from plancheck.report.plot import DvhFigure, render_dvh_figure
from plancheck.report.reirradiation import reirradiation_view
from plancheck.report.template import READOUT_SCRIPT, READOUT_SCRIPT_HASH, REPORT_TEMPLATE, STYLES

__all__ = ["fmt_number", "render_html", "report_view"]

DASH = "—"
_SYMBOLS = {"pass": "✓", "warn": "▲", "fail": "✗", "not-evaluated": "–", "reported": "◆", "incomplete": "–"}
# what the summary at the top lists, most serious first
_ATTENTION = ("fail", "not-evaluated", "warn")
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
    return s if s in STATUS_LABELS or s == "incomplete" else "unknown"


def _status_label(value: Any) -> str:
    s = str(value) if value is not None else "not-evaluated"
    return STATUS_LABELS.get(s, s.upper().replace("-", " "))


def _anchor(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _source_parts(source: str, keys: list[str]) -> list[tuple[str, str | None]]:
    """``source`` split into text and reference keys (linked to the bibliography)."""
    if not source or not keys:
        return [(source, None)] if source else []
    pattern = re.compile("(" + "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True)) + r")(?![A-Za-z0-9])")
    parts: list[tuple[str, str | None]] = []
    last = 0
    for m in pattern.finditer(source):
        if m.start() > last:
            parts.append((source[last : m.start()], None))
        parts.append((m.group(0), _anchor(m.group(0))))
        last = m.end()
    if last < len(source):
        parts.append((source[last:], None))
    return parts


def _constraint_row(c: Mapping[str, Any], keys: list[str] | None = None) -> dict[str, Any]:
    status = _status(c.get("status"))
    return {
        "status_class": status,
        "status_label": _status_label(c.get("status")),
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
        "source_parts": _source_parts("" if c.get("source") is None else str(c.get("source")), keys or []),
        "anchor": _anchor(str(c.get("id", ""))),
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
    references = [
        {"key": str(r.get("key")), "citation": _text(r.get("citation")), "anchor": _anchor(str(r.get("key")))}
        for r in _list(protocol.get("references"))
        if isinstance(r, Mapping) and r.get("key")
    ]
    keys = [r["key"] for r in references]
    constraints = [_constraint_row(c, keys) for c in _list(doc.get("constraints")) if isinstance(c, Mapping)]
    dose_unit = str(course.get("dose_unit") or "Gy")
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
        "patient": {**{k: _text(patient.get(k)) for k in ("name", "id")}, "birth_date": _date(patient.get("birth_date"))},
        "structure_set": {
            **{k: _text(structure_set.get(k)) for k in ("label", "sop_instance_uid", "frame_of_reference_uid")},
            "date": _date(structure_set.get("date"), withheld=bool(anonymized)),
            "system": _system(_map(structure_set.get("planning_system"))),
        },
        "dose_unit": dose_unit,
        "rbe": "RBE" in dose_unit,
        "plan_labels": plan_labels,
        "plans": [
            {
                "label": _text(p.get("label")),
                "n_fractions": fmt_number(p.get("n_fractions")),
                "prescription_gy": fmt_number(p.get("prescription_gy")),
                "approval_status": _text(p.get("approval_status")),
                "dose_from": _text(p.get("dose_from")),
                "system": _system(_map(p.get("planning_system"))),
                "version": _text(_map(p.get("planning_system")).get("software_versions")),
                "plan_date": _date(p.get("plan_date"), p.get("plan_time"), withheld=bool(anonymized)),
                "review_date": _date(p.get("review_date"), p.get("review_time"), withheld=bool(anonymized)),
                "reviewer": _text(p.get("reviewer_name")),
                "dose_type": _dose_type(p),
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
                "plans": ", ".join(str(x) for x in _list(d.get("plans")) if x is not None) or DASH,
                "status": _text(d.get("status")),
                "status_class": {"match": "pass", "mismatch": "fail"}.get(str(d.get("status")), "unknown"),
                "message": _text(d.get("message")),
            }
            for d in _list(course.get("dose_levels"))
            if isinstance(d, Mapping)
        ],
        "dose_levels_checked": any(
            isinstance(d, Mapping) and (d.get("status") or d.get("message"))
            for d in _list(course.get("dose_levels"))
        ),
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
        "outcome_label": _status_label(summary.get("outcome")) if summary.get("outcome") else "UNKNOWN",
        "warnings": [str(w) for w in _list(summary.get("warnings"))],
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
        "attention": sorted(
            (c for c in constraints if c["status_class"] in _ATTENTION),
            key=lambda c: _ATTENTION.index(c["status_class"]),
        ),
        "constraints": constraints,
        "figure": figure,
        "readout_json": _readout_json(figure),
        "references": references,
        "structures": [
            {
                "name": _text(s.get("name")),
                "roi": _roi_text(s),
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
        "reirradiation": reirradiation_view(doc, figure=figure is not None),
        "settings": [(str(k), _text(v)) for k, v in sorted(settings.items())],
        "input_files": [
            {
                **{k: _text(f.get(k)) for k in ("path", "modality", "sop_instance_uid", "used_by")},
                "sha256": _text(f.get("sha256") or f.get("sha256_error")),
            }
            for f in _list(provenance.get("input_files"))
            if isinstance(f, Mapping)
        ],
    }


def _date(date: Any, time: Any = None, *, withheld: bool = False) -> str:
    """A DICOM date (and time) as ``YYYY-MM-DD HH:MM``; ``—`` when absent, ``withheld`` when anonymised."""
    if withheld and not date:
        return "withheld (anonymised)"
    text = str(date or "").strip()
    if not re.fullmatch(r"\d{8}", text):
        return _text(date)
    out = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    t = str(time or "").strip()
    if re.match(r"\d{4}", t):
        out += f" {t[:2]}:{t[2:4]}"
    return out


def _system(system: Mapping[str, Any]) -> str:
    parts = [str(system.get(k)) for k in ("manufacturer", "model") if system.get(k)]
    return " ".join(parts) if parts else DASH


def _dose_type(plan: Mapping[str, Any]) -> str:
    kind = plan.get("dose_type")
    if not kind:
        return DASH
    unit = plan.get("dose_unit")
    return f"{kind} ({unit})" if unit else str(kind)


def _roi_text(structure: Mapping[str, Any]) -> str:
    number = structure.get("roi_number")
    if isinstance(number, int) and number < 0:
        return f"derived: {structure.get('name')}"
    return _text(number)


def _readout_json(figure: DvhFigure | None) -> Any:
    """The readout data as a JSON text safe inside a <script type="application/json"> block."""
    from markupsafe import Markup

    if figure is None:
        return ""
    text = json.dumps(figure.readout, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


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
    return str(
        _template().render(
            v=report_view(doc, fig),
            styles=Markup(STYLES),
            script=Markup(READOUT_SCRIPT),
            script_hash=READOUT_SCRIPT_HASH,
        )
    )
