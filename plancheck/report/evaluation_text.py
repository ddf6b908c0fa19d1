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
VERDICT_STYLE = {
    "PASS": "bold green",
    "WARN": "bold yellow",
    "FAIL": "bold red",
    "INCOMPLETE": "bold magenta",
    "NOT EVALUABLE": "bold magenta",
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
    "plans",
    "graded",
    "bound",
    "source",
)


def _value(c: dict[str, Any]) -> str:
    v = c.get("value")
    if v is None:
        return "—"
    bound = {"at-most": "≤ ", "at-least": "≥ "}.get(str(c.get("bound")), "")
    return f"{bound}{v:.2f}"


def verdict_lines(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The verdict and what the reader must know about it, as (text, style) lines."""
    s = doc["summary"]
    verdict = s.get("verdict") or {}
    label = verdict.get("label") or STATUS_STYLE.get(s["outcome"], (s["outcome"], ""))[0]
    style = VERDICT_STYLE.get(label, "")
    absent = s.get("absent_optional_structures") or []
    optional = sum(
        1
        for c in doc["constraints"]
        if c["status"] == "not-evaluated" and c["structure"] in absent and not c.get("graded")
    )
    not_evaluated = f"{s['not_evaluated']} not evaluated" + (
        f" ({optional} of absent optional structures)" if optional else ""
    )
    out = [
        (
            f"{label}: {s['pass']} pass, {s['warn']} warn, {s['fail']} fail, {not_evaluated}",
            style,
        )
    ]
    for text in verdict.get("failed", []):
        out.append((f"  failed: {text}", "red"))
    for text in verdict.get("blocking", []):
        out.append((f"  not evaluable/incomplete: {text}", "magenta"))
    for text in verdict.get("warnings", []):
        out.append((f"  warning: {text}", "yellow"))
    for text in verdict.get("accepted_mismatches", []):
        out.append((f"  accepted with --accept-mismatch: {text}", "yellow"))
    if absent:
        out.append(
            (f"  optional structures absent from the structure set (not graded): {', '.join(absent)}", "")
        )
    return out


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
    several_plans = len(doc["course"]["plans"]) > 1
    for structure, items in by_structure.items():
        for k, c in enumerate(items):
            label, style = STATUS_STYLE.get(c["status"], (c["status"], ""))
            unit = f" {c['unit']}" if c["unit"] else ""
            used_plans = c.get("plans") or []
            level_gy = c.get("prescription_gy")
            metric = c["metric"] + (
                f" of {level_gy:g} Gy" if level_gy is not None and c.get("dose_level") else ""
            )
            metric += f" · {' + '.join(used_plans)}" if several_plans and used_plans else ""
            table.add_row(
                Text(structure if k == 0 else ""),
                Text((c["matched_roi"] or "—") if k == 0 else ""),
                Text(metric),
                Text(_value(c) + (unit if c.get("value") is not None else "")),
                Text(c["goal"] or ""),
                Text(c["variation"] or ""),
                Text(label, style=style),
                Text(c["reason"] or "", style="dim"),
            )
        table.add_section()
    out.append(table)
    from plancheck.report.reirradiation import reirradiation_lines

    for line in reirradiation_lines(doc):
        out.append(Text(line, style="cyan"))
    for f in doc["findings"]:
        style = {"error": "red", "warning": "yellow"}.get(f["severity"], "dim")
        out.append(Text(f"[{f['severity']}] {f['message']}", style=style))
    for text, style in verdict_lines(doc):
        out.append(Text(text, style=style))
    return out


def render_evaluation_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    absent = set(doc["summary"].get("absent_optional_structures") or [])
    for c in doc["constraints"]:
        row = []
        for k in CSV_COLUMNS:
            v = c.get(k)
            if k == "plans":
                v = " + ".join(v or [])
            elif k == "graded":
                if c["structure"] in absent and not v:
                    v = "no: optional structure absent"
                else:
                    v = "yes" if v else "no"
            row.append("" if v is None else v)
        w.writerow(row)
    return buf.getvalue()
