"""An evaluation document as a terminal table or CSV. Formats only; computes nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

from plancheck.report.terminal import terminal_safe

__all__ = ["STATUS_STYLE", "render_evaluation_csv", "render_evaluation_table"]

STATUS_STYLE = {
    "pass": ("PASS", "green"),
    "warn": ("WARN", "yellow"),
    "fail": ("FAIL", "bold red"),
    "not-evaluated": ("NOT EVALUATED", "magenta"),
    "reported": ("reported", "cyan"),
}

CSV_COLUMNS = (
    "structure",
    "matched_roi",
    "match",
    "metric",
    "value",
    "unit",
    "goal",
    "variation",
    "status",
    "reason",
    "priority",
    "dose_level",
    "dose_quantity",
    "source",
)


def _value(c: dict[str, Any]) -> str:
    v = c.get("value")
    return "—" if v is None else f"{v:.2f}"


def render_evaluation_table(doc: dict[str, Any]) -> list[Any]:
    """Rich renderables: a header, the constraints grouped by structure, findings, the verdict.

    Every string is made terminal-safe (:func:`~plancheck.report.terminal.terminal_safe`):
    names from DICOM files never send escape sequences to the terminal.
    """
    from rich.table import Table
    from rich.text import Text as RichText

    def Text(value: str, style: str = "") -> Any:  # noqa: N802 - stands in for rich's Text
        return RichText(terminal_safe(str(value)), style=style)

    out: list[Any] = []
    unit = str(doc["course"].get("dose_unit") or "Gy")

    def rx(p: dict[str, Any]) -> str:
        dose = p.get("prescription_gy")
        return "Rx —" if dose is None else f"Rx {dose:g} {unit}"

    plans = ", ".join(f"{p['label']} ({p['n_fractions']} fx, {rx(p)})" for p in doc["course"]["plans"])
    out.append(Text(f"Patient {doc['patient']['name']} ({doc['patient']['id']}) — {plans}"))
    out.append(Text(doc["protocol"]["selected"], style="dim"))
    table = Table(header_style="bold", show_lines=False)
    for col in ("Structure", "ROI", "Metric", "Value", "Goal", "Variation", "Status", "Reason"):
        table.add_column(col, overflow="fold")
    by_structure: dict[str, list[dict[str, Any]]] = {}
    for c in doc["constraints"]:
        by_structure.setdefault(c["structure"], []).append(c)
    for structure, items in by_structure.items():
        for k, c in enumerate(items):
            label, style = STATUS_STYLE.get(c["status"], (c["status"], ""))
            unit = f" {c['unit']}" if c["unit"] else ""
            table.add_row(
                Text(structure if k == 0 else ""),
                Text((c["matched_roi"] or "—") if k == 0 else ""),
                Text(c["metric"]),
                Text(_value(c) + (unit if c.get("value") is not None else "")),
                Text(c["goal"] or ""),
                Text(c["variation"] or ""),
                Text(label, style=style),
                Text(c["reason"] or "", style="dim"),
            )
        table.add_section()
    out.append(table)
    for f in doc["findings"]:
        style = {"error": "red", "warning": "yellow"}.get(f["severity"], "dim")
        out.append(Text(f"[{f['severity']}] {f['message']}", style=style))
    s = doc["summary"]
    label, style = STATUS_STYLE.get(s["outcome"], (s["outcome"], ""))
    out.append(
        Text(
            f"{label}: {s['pass']} pass, {s['warn']} warn, {s['fail']} fail, "
            f"{s['not_evaluated']} not evaluated",
            style=style,
        )
    )
    return out


def render_evaluation_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for c in doc["constraints"]:
        w.writerow(["" if c.get(k) is None else c.get(k) for k in CSV_COLUMNS])
    return buf.getvalue()
