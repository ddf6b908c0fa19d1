"""The evaluation document: everything ``plancheck evaluate`` found, as plain JSON data.

Every other format (table, CSV, HTML, PDF, the batch summary) is rendered
from this document, so they all say the same thing. Its schema is
``plancheck/schemas/evaluation.schema.json``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from plancheck.dvh.metric import parse_metric
from plancheck.errors import MetricSyntaxError
from plancheck.evaluation import CourseEvaluation
from plancheck.inputs import describe_inputs
from plancheck.protocol.bibliography import resolve_references
from plancheck.report.dvh_output import curve_points, quantity_key
from plancheck.report.provenance import (
    apply_dose_unit,
    course_summary,
    dose_unit_of,
    identifying_attributes,
    plan_summary,
    provenance,
)

__all__ = ["EVALUATION_SCHEMA_VERSION", "evaluation_document", "quantity_key"]

EVALUATION_SCHEMA_VERSION = "1.0"


def _dose_quantity(metric: str) -> str:
    try:
        # a re-irradiation metric names its dose after it: "D0.03cc[EQD2Gy(a/b=2)] (cumulative)"
        return quantity_key(parse_metric(metric.split(" (")[0]).dose_quantity)
    except MetricSyntaxError:
        return "physical"  # plan-quality indices are not DVH metrics


def _refs_of(ev: CourseEvaluation, k: int) -> tuple[str, ...]:
    """Bibliography keys of the k-th outcome (constraints first, then indices, as evaluated)."""
    p = ev.protocol.protocol
    refs: list[tuple[str, ...]] = [c.refs for c in p.constraints] + [ix.refs for ix in p.indices]
    if p.interval is not None:
        refs.append(p.interval.refs)
    return refs[k] if k < len(refs) else ()


def _dose_of(ev: CourseEvaluation, k: int) -> str | None:
    """The re-irradiation dose (``cumulative``, ``current/cumulative``) of the k-th outcome, if any."""
    p = ev.protocol.protocol
    return p.constraints[k].dose if k < len(p.constraints) else None


def _verdict(ev: CourseEvaluation) -> dict[str, Any]:
    if ev.verdict is not None:
        return ev.verdict.to_dict()
    from plancheck.verdict import decide_verdict

    return decide_verdict(ev.result, ev.findings, ev.mismatches).to_dict()


def evaluation_document(
    ev: CourseEvaluation, *, source: str | None = None, curves: bool = True
) -> dict[str, Any]:
    """The JSON-ready document of one evaluation."""
    summary = course_summary(ev.course)
    counts = Counter(o.status.value for o in ev.result.outcomes)
    levels = []
    for level in ev.protocol.protocol.dose_levels:
        levels.append(
            {
                "id": level.id,
                "structure": level.target,
                "dose_gy": level.dose_gy,
                "fractions": level.fractions,
                "plans": [ev.pairing.get(n) for n in level.plans],
            }
        )
    constraints = []
    for k, o in enumerate(ev.result.outcomes):
        d = o.to_dict()
        constraints.append(
            {
                "id": f"{k + 1}",
                "kind": d["kind"],
                "structure": d["structure"],
                "matched_roi": d["roi"],
                "match": d["matched_by"],
                "metric": d["metric"],
                "value": d["value"],
                "unit": d["unit"],
                "goal": d["goal"],
                "variation": d["variation"],
                "status": d["status"],
                "reason": d["reason"],
                "priority": d["priority"],
                "source": d["source"],
                "refs": list(_refs_of(ev, k)),
                "dose_level": d["dose_level"],
                "prescription_gy": d["prescription_gy"],
                "dose_quantity": _dose_quantity(d["metric"]),
                "dose": _dose_of(ev, k),
                "required": d["required"],
                "graded": o.counts_for_exit,
                "bound": d["bound"],
                "plans": d["plans"],
                "surrogate_for": d["surrogate_for"],
                "note": d["note"],
                "protocol_line": d["protocol_line"],
            }
        )
    structures: dict[str, dict[str, Any]] = {}
    for used in ev.dvhs:
        entry = structures.setdefault(
            used.roi,
            {
                "name": used.roi,
                "roi_number": used.roi_number,
                "protocol_structure": used.structure,
                "volume_cc": used.dvh.volume_cc,
                "volume_outside_grid_cc": used.dvh.volume_outside_grid_cc,
                "curves": {},
            },
        )
        if curves:
            key = quantity_key(used.quantity)
            if len(used.plans) != len(ev.plans):
                key += " [" + " + ".join(used.plans) + "]"
            dose, vol = curve_points(used.dvh)
            entry["curves"][key] = {"dose_gy": dose, "volume_cc": vol, "plans": list(used.plans)}
    verdict = _verdict(ev)
    code = int(verdict["exit_code"])
    doc_crosschecks = _crosschecks(ev)
    out = {
        "schema_version": EVALUATION_SCHEMA_VERSION,
        "kind": "plancheck-evaluation",
        "provenance": {
            **provenance(),
            "source_folder": source,
            "protocol_file": ev.protocol.source,
            "protocol_sha256": ev.protocol.sha256,
            "input_files": describe_inputs(ev.course),
            "identifying_attributes": identifying_attributes(ev.course),
            "settings": {
                "end_caps": ev.settings.end_caps.value,
                **_end_caps_settings(ev),
                "bin_width_gy": ev.settings.bin_width_gy,
                "plan": ev.plan_label,
                "accept_mismatch": ev.accept_mismatch,
            },
        },
        "patient": summary["patient"],
        "protocol": {
            "name": ev.protocol.name,
            "title": ev.protocol.protocol.title,
            "description": ev.protocol.protocol.description,
            "selected": ev.selection,
            "references": resolve_references(ev.protocol.protocol),
            "mismatches": [
                {"code": m.code, "message": m.message, "blocking": m.blocking} for m in ev.mismatches
            ],
        },
        "course": {
            "structure_set": summary["structure_set"],
            "plans": [plan_summary(p) for p in ev.plans],
            "dose_unit": dose_unit_of(ev.plans),
            "dose_levels": levels,
        },
        "constraints": constraints,
        "summary": {
            "pass": counts.get("pass", 0),
            "warn": counts.get("warn", 0),
            "fail": counts.get("fail", 0),
            "not_evaluated": counts.get("not-evaluated", 0),
            "reported": counts.get("reported", 0),
            "missing_structures": list(ev.result.missing_structures),
            "missing_groups": list(ev.result.missing_groups),
            "absent_optional_structures": list(ev.result.absent_optional_structures),
            "outcome": verdict["outcome"],
            "exit_code": code,
            "verdict": verdict,
        },
        "structures": list(structures.values()),
        "findings": [f.to_dict() for f in ev.findings],
    }
    if ev.reirradiation is not None:
        out["reirradiation"] = ev.reirradiation.to_dict(curves=curves)
    if doc_crosschecks:
        out["crosschecks"] = doc_crosschecks
    if ev.scale is not None:
        out["crosscheck_scale"] = {
            "factor": ev.scale.factor,
            "values": ev.scale.n_values,
            "structures": ev.scale.n_structures,
            "spread": ev.scale.spread,
            "message": ev.scale.describe(),
        }
    return apply_dose_unit(out)


def _end_caps_settings(ev: CourseEvaluation) -> dict[str, Any]:
    """Which end-cap convention was used and why, for the evaluation and for the cross-check."""
    out: dict[str, Any] = {}
    if ev.end_caps is not None:
        out["end_caps_requested"] = ev.end_caps.requested.value
        out["end_caps_reason"] = ev.end_caps.reason
    if ev.crosscheck_end_caps is not None:
        out["crosscheck_end_caps"] = ev.crosscheck_end_caps.end_caps.value
        out["crosscheck_end_caps_reason"] = ev.crosscheck_end_caps.reason
    return out


def _crosschecks(ev: CourseEvaluation) -> list[dict[str, Any]]:
    """plancheck's DVH against the planning system's stored DVH, per structure and plan."""
    rows: list[dict[str, Any]] = []
    for check in ev.crosschecks:
        for r in check.rows:
            rows.append(
                {
                    "roi": check.roi,
                    "plan": check.plan,
                    "metric": r.metric,
                    "plancheck": r.plancheck,
                    "planning_system": r.tps,
                    "difference": r.difference,
                    "tolerance": r.tolerance,
                    "within": "yes" if r.within else ("—" if r.within is None else "NO"),
                }
            )
    return rows
