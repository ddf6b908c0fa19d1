"""What every output says about where its numbers came from."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Any

from plancheck import __version__
from plancheck.model import Course, PlanDose


def plan_summary(plan: PlanDose) -> dict[str, Any]:
    p = plan.plan
    return {
        "label": plan.label,
        "sop_instance_uid": p.sop_instance_uid if p is not None else None,
        "n_fractions": plan.n_fractions,
        "prescription_gy": p.prescription_gy if p is not None else None,
        "approval_status": p.approval_status if p is not None else None,
        "dose_from": plan.how,
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
        },
        "plans": [plan_summary(p) for p in course.plans],
    }


def provenance() -> dict[str, Any]:
    return {
        "plancheck_version": __version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
