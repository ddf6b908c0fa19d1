"""``plancheck dvh`` results as JSON, CSV and a terminal table. Formats only; computes nothing."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np

from plancheck.dvh.metric import PHYSICAL, DoseQuantity
from plancheck.dvh.values import volumes_at_doses_cc
from plancheck.dvh_report import DvhReport, StructureResult
from plancheck.model import Dvh
from plancheck.report.provenance import (
    RBE_UNIT,
    course_summary,
    dose_unit_of,
    plan_summary,
    provenance,
    rbe_metric_name,
    rbe_unit,
)

__all__ = ["DVH_SCHEMA_VERSION", "curve_points", "quantity_key", "render_csv", "render_json", "render_table", "to_document"]

DVH_SCHEMA_VERSION = "1.0"
CURVE_STEP_GY = 0.01


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def quantity_key(q: DoseQuantity) -> str:
    """How a dose quantity names its curve in every output: physical, EQD2(a/b=2), ..."""
    return "physical" if q == PHYSICAL else f"{q.kind.value}(a/b={q.alpha_beta_gy:g})"


def curve_points(dvh: Dvh, step_gy: float = CURVE_STEP_GY) -> tuple[list[float], list[float]]:
    """The cumulative curve at ``step_gy`` spacing (coarser beyond 20,000 points): (dose_gy, volume_cc)."""
    if dvh.volume_in_grid_cc <= 0:
        return [], []
    top = float(dvh.dose_edges_gy[-1])
    step_gy = max(step_gy, top / 20_000)
    dose = np.arange(int(np.floor(top / step_gy)) + 2) * step_gy
    cum = volumes_at_doses_cc(dvh, dose)
    return [round(float(d), 4) for d in dose], [round(float(v), 5) for v in cum]


def _structure_doc(s: StructureResult, curves: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": s.name,
        "roi_number": s.roi_number,
        "roi_type": s.roi_type,
        "volume_cc": _round(s.volume_cc),
        "volume_outside_grid_cc": _round(s.volume_outside_grid_cc),
        "metrics": {m.metric: _round(m.value) for m in s.metrics},
        "units": {m.metric: m.unit for m in s.metrics},
        "undefined": {m.metric: m.reason for m in s.metrics if m.value is None},
    }
    if curves:
        doc["curves"] = {}
        for q, dvh in s.dvhs.items():
            dose, vol = curve_points(dvh)
            key = quantity_key(q)
            doc["curves"][key] = {"dose_gy": dose, "volume_cc": vol}
    return doc


def _with_comparison(report: DvhReport, s: StructureResult, doc: dict[str, Any]) -> dict[str, Any]:
    other = report.comparison.get(s.roi_number)
    if report.comparison_engine is not None and other is not None:
        doc["comparison"] = {
            "engine": report.comparison_engine,
            "metrics": {m.metric: _round(m.value) for m in other},
            "undefined": {m.metric: m.reason for m in other if m.value is None},
        }
    return doc


def to_document(report: DvhReport, *, curves: bool = False, source: str | None = None) -> dict[str, Any]:
    """The JSON document (see ``plancheck/schemas/dvh.schema.json``).

    Doses of EFFECTIVE (RBE-weighted) plans carry the unit Gy(RBE).
    """
    structures = [_with_comparison(report, s, _structure_doc(s, curves)) for s in report.structures]
    if dose_unit_of(report.plans) == RBE_UNIT:
        for s in structures:
            s["units"] = {k: rbe_unit(u) for k, u in s["units"].items()}
    return {
        "schema_version": DVH_SCHEMA_VERSION,
        "kind": "plancheck-dvh",
        "provenance": provenance(),
        "input": {"folder": source, **course_summary(report.course)},
        "evaluated_plans": [plan_summary(p) for p in report.plans],
        "prescription_gy": report.prescription_gy,
        "settings": {
            "end_caps": report.settings.end_caps.value,
            **(
                {}
                if report.end_caps is None
                else {
                    "end_caps_requested": report.end_caps.requested.value,
                    "end_caps_reason": report.end_caps.reason,
                }
            ),
            "bin_width_gy": report.settings.bin_width_gy,
            "dose_interpolation": "trilinear",
            "partial_volume": "fractional pixel coverage on a lattice finer than the dose grid",
        },
        "comparison_engine": report.comparison_engine,
        "structures": structures,
        "findings": [f.to_dict() for f in report.findings],
    }


def render_json(report: DvhReport, *, curves: bool = False, source: str | None = None) -> str:
    return json.dumps(to_document(report, curves=curves, source=source), indent=2, ensure_ascii=False) + "\n"


def render_csv(report: DvhReport, *, curves: bool = False) -> str:
    """One row per structure; with ``curves``, long format: one row per curve point."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if curves:
        w.writerow(["structure", "roi_number", "dose_quantity", "dose_gy", "volume_cc"])
        for s in report.structures:
            for q, dvh in s.dvhs.items():
                key = quantity_key(q)
                for d, v in zip(*curve_points(dvh), strict=True):
                    w.writerow([s.name, s.roi_number, key, d, v])
        return buf.getvalue()
    metric_names = [m.metric for m in report.structures[0].metrics] if report.structures else []
    w.writerow(["structure", "roi_number", "volume_outside_grid_cc", *metric_names])
    for s in report.structures:
        values = ["" if m.value is None else f"{m.value:.4f}" for m in s.metrics]
        w.writerow([s.name, s.roi_number, f"{s.volume_outside_grid_cc:.4f}", *values])
        other = report.comparison.get(s.roi_number)
        if other is not None:
            values = ["" if m.value is None else f"{m.value:.4f}" for m in other]
            w.writerow([f"{s.name} [{report.comparison_engine}]", s.roi_number, "", *values])
    return buf.getvalue()


def render_table(report: DvhReport) -> Any:
    """A rich renderable: one row per structure, undefined values shown as '—'."""
    from rich.table import Table
    from rich.text import Text

    metric_names = [m.metric for m in report.structures[0].metrics] if report.structures else []
    plans = ", ".join(
        f"{p.label} ({p.n_fractions} fx)" if p.n_fractions else p.label for p in report.plans
    )
    # Text, not str: names from DICOM files and metric brackets are never read as markup
    from plancheck.report.terminal import terminal_safe

    caption = None
    if report.end_caps is not None:
        caption = Text(
            terminal_safe(f"End caps: {report.end_caps.end_caps.value} — {report.end_caps.reason}")
        )
    unit = dose_unit_of(report.plans)
    title = f"DVH metrics — {plans}" + ("" if unit == "Gy" else f" — doses in {unit} (EFFECTIVE dose)")
    table = Table(title=Text(terminal_safe(title)), caption=caption, header_style="bold")
    table.add_column("Structure")
    table.add_column("ROI", justify="right")
    for name in metric_names:
        table.add_column(Text(rbe_metric_name(name) if unit == RBE_UNIT else name), justify="right")
    table.add_column("outside grid [cc]", justify="right")
    for s in report.structures:
        cells = ["—" if m.value is None else f"{m.value:.2f}" for m in s.metrics]
        outside = f"{s.volume_outside_grid_cc:.2f}" if s.volume_outside_grid_cc > 0 else "0"
        table.add_row(Text(terminal_safe(s.name)), str(s.roi_number), *cells, outside)
        other = report.comparison.get(s.roi_number)
        if other is not None:
            cells = ["—" if m.value is None else f"{m.value:.2f}" for m in other]
            table.add_row(Text(f"  {report.comparison_engine}", style="dim"), "", *cells, "", style="dim")
    return table
