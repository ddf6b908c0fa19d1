"""What every output says about where its numbers came from.

Besides the plans and the structure set, a report a physicist signs names the
planning system that made them (manufacturer, model, software version), the
plan's date, its approval (status, date, reviewer), and the dose type:
EFFECTIVE doses (RBE-weighted, e.g. proton plans) are shown in Gy(RBE)
everywhere a dose is shown (:func:`dose_unit_of`, :func:`apply_dose_unit`).
"""

from __future__ import annotations

import platform
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from plancheck import __version__
from plancheck.model import Course, PlanDose, SourceInfo

__all__ = [
    "RBE_UNIT",
    "apply_dose_unit",
    "course_summary",
    "dose_unit_of",
    "identifying_attributes",
    "plan_summary",
    "provenance",
    "rbe_metric_name",
    "rbe_text",
    "rbe_unit",
]

RBE_UNIT = "Gy(RBE)"
MIXED_UNIT = "Gy / Gy(RBE)"
# a dose in Gy or cGy written after a number ("59.84 Gy EQD2"), not yet qualified
_GY_AFTER_NUMBER = re.compile(r"(?<=\d )(c?Gy)\b(?!\()")
_GY_UNIT = re.compile(r"^(c?Gy)\b(?!\()")


def _system(source: SourceInfo) -> dict[str, Any]:
    return {
        "manufacturer": source.manufacturer,
        "model": source.model_name,
        "software_versions": source.software_versions,
        "institution": source.institution_name,
        "station": source.station_name,
    }


def plan_summary(plan: PlanDose) -> dict[str, Any]:
    p = plan.plan
    source = p.source if p is not None else SourceInfo()
    return {
        "label": plan.label,
        "name": p.name if p is not None else None,
        "sop_instance_uid": p.sop_instance_uid if p is not None else None,
        "n_fractions": plan.n_fractions,
        "prescription_gy": p.prescription_gy if p is not None else None,
        "approval_status": p.approval_status if p is not None else None,
        "plan_date": source.date,
        "plan_time": source.time,
        "review_date": source.review_date,
        "review_time": source.review_time,
        "reviewer_name": source.reviewer_name,
        "planning_system": _system(source),
        "dose_from": plan.how,
        "dose_type": plan.dose_type,
        "dose_unit": dose_unit_of([plan]),
        "rtdose_sop_instance_uids": list(plan.dose_uids),
    }


def course_summary(course: Course) -> dict[str, Any]:
    ss = course.structure_set
    return {
        "patient": {
            "name": ss.patient.name,
            "id": ss.patient.patient_id,
            "birth_date": ss.patient.birth_date,
        },
        "structure_set": {
            "label": ss.label,
            "sop_instance_uid": ss.sop_instance_uid,
            "frame_of_reference_uid": ss.frame_of_reference_uid,
            "date": ss.source.date,
            "time": ss.source.time,
            "planning_system": _system(ss.source),
        },
        "plans": [plan_summary(p) for p in course.plans],
    }


def dose_unit_of(plans: Iterable[PlanDose]) -> str:
    """``Gy(RBE)`` when every plan's dose is EFFECTIVE, ``Gy`` when none is, else both."""
    types = {p.dose_type for p in plans}
    if types == {"EFFECTIVE"}:
        return RBE_UNIT
    if "EFFECTIVE" in types:
        return MIXED_UNIT
    return "Gy"


def rbe_unit(unit: str) -> str:
    """A dose unit (``Gy``, ``cGy``, ``Gy EQD2(a/b=2)``) as the same unit of RBE-weighted dose."""
    return _GY_UNIT.sub(lambda m: m.group(1) + "(RBE)", unit)


def rbe_metric_name(metric: str) -> str:
    """A metric's name with its dose unit of RBE-weighted dose: ``D95%[Gy]`` -> ``D95%[Gy(RBE)]``."""
    return re.sub(r"\[(c?Gy)\]", lambda m: f"[{m.group(1)}(RBE)]", metric)


def rbe_text(text: str) -> str:
    """``text`` with every dose written after a number in Gy (or cGy) marked as Gy(RBE)."""
    return _GY_AFTER_NUMBER.sub(lambda m: m.group(1) + "(RBE)", text)


def apply_dose_unit(doc: dict[str, Any]) -> dict[str, Any]:
    """Mark doses as Gy(RBE) in the units and reasons of a document whose doses are EFFECTIVE.

    Changes ``doc`` in place (and returns it) when ``course.dose_unit`` is
    Gy(RBE); otherwise leaves it as it is.
    """
    course = doc.get("course") or {}
    if course.get("dose_unit") != RBE_UNIT:
        return doc
    for c in doc.get("constraints") or []:
        if isinstance(c.get("unit"), str):
            c["unit"] = rbe_unit(c["unit"])
        if isinstance(c.get("reason"), str):
            c["reason"] = rbe_text(c["reason"])
    for level in course.get("dose_levels") or []:
        if isinstance(level.get("message"), str):
            level["message"] = rbe_text(level["message"])
    return doc


def identifying_attributes(course: Course) -> list[list[str]]:
    """Every identifying value of the course's headers as [keyword, VR, value], each once.

    Kept in the evaluation document so that anonymisation, now or later from
    the saved document, can replace these values wherever they are quoted.
    """
    sources = [course.structure_set.source]
    for p in course.plans:
        if p.plan is not None:
            sources.append(p.plan.source)
        sources.extend(f.source for f in p.dose_files)
    seen: dict[tuple[str, str, str], None] = {}
    for source in sources:
        for item in source.identifying:
            seen.setdefault(item, None)
    return [list(item) for item in seen]


def provenance() -> dict[str, Any]:
    return {
        "plancheck_version": __version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
