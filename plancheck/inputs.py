"""The input files of a course, for the record: path, kind, SOP Instance UID and SHA-256.

A report a physicist signs says exactly which files its numbers came from:
every structure set, plan and RTDOSE that the evaluation used, each with the
SHA-256 of its content, so that anyone can check later that the files they
hold are the ones that were evaluated. Files are read in 1 MiB chunks; a file
that cannot be read any more (moved, deleted) is listed with ``sha256: None``
and the reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from plancheck.model import Course

__all__ = ["describe_inputs", "sha256_of_file"]

_CHUNK = 1 << 20


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file's content, as 64 hex digits.

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _record(path: Path, modality: str, uid: str, used_by: str | None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "path": str(path),
        "modality": modality,
        "sop_instance_uid": uid,
        "used_by": used_by,
        **extra,
    }
    try:
        record["sha256"] = sha256_of_file(path)
    except OSError as exc:
        record["sha256"] = None
        record["sha256_error"] = f"cannot be read again: {exc.strerror or exc}"
    return record


def describe_inputs(course: Course) -> list[dict[str, Any]]:
    """One record per input file of ``course``: structure set, then each plan and its RTDOSEs.

    Each record has ``path``, ``modality`` (RTSTRUCT, RTPLAN, RTIONPLAN,
    RTDOSE), ``sop_instance_uid``, ``used_by`` (the plan label, for plans and
    doses) and ``sha256``; RTDOSE records add ``dose_type`` and
    ``summation_type``.
    """
    ss = course.structure_set
    records = [_record(ss.path, "RTSTRUCT", ss.sop_instance_uid, None)]
    seen = {ss.sop_instance_uid}
    for plan_dose in course.plans:
        plan = plan_dose.plan
        if plan is not None and plan.sop_instance_uid not in seen:
            seen.add(plan.sop_instance_uid)
            kind = "RTIONPLAN" if plan.is_ion else "RTPLAN"
            records.append(_record(plan.path, kind, plan.sop_instance_uid, plan.label))
        for dose in plan_dose.dose_files:
            if dose.sop_instance_uid in seen:
                continue
            seen.add(dose.sop_instance_uid)
            records.append(
                _record(
                    dose.path,
                    "RTDOSE",
                    dose.sop_instance_uid,
                    plan_dose.label,
                    dose_type=dose.dose_type,
                    summation_type=dose.summation_type,
                )
            )
        for uid in plan_dose.dose_uids:  # a dose whose file the loader did not record
            if uid not in seen:
                seen.add(uid)
                records.append(
                    {
                        "path": None,
                        "modality": "RTDOSE",
                        "sop_instance_uid": uid,
                        "used_by": plan_dose.label,
                        "sha256": None,
                        "sha256_error": "the file of this RTDOSE was not recorded while loading",
                    }
                )
    return records
