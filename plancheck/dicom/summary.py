"""What a folder holds and how it links, as a JSON-ready document (``plancheck info``).

:func:`describe_folder` turns a :class:`~plancheck.dicom.course.LoadedFolder`
into plain data: files by kind, every plan (label, fractions, prescription,
approval, its structure set and dose, and how each was linked), every
structure set (ROIs), every RTDOSE (summation type, grid, spacing, how it was
used), the courses formed, and every finding, including those of single ROIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plancheck.dicom.course import LoadedFolder
from plancheck.dicom.discover import IndexedFile
from plancheck.dicom.link import FolderLinks, PlanLink
from plancheck.dicom.rtdose import DoseHeader
from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.errors import PlancheckError
from plancheck.model import Finding, Severity, StructureSet

__all__ = ["SCHEMA_VERSION", "describe_folder"]

SCHEMA_VERSION = 1


def describe_folder(loaded: LoadedFolder) -> dict[str, Any]:
    """The document of ``plancheck info --format json`` (see the module docstring)."""
    links = loaded.links
    if links is None:
        raise ValueError("describe_folder needs a LoadedFolder made by load_folder/load_courses")
    index = links.index
    root = index.root

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    findings: list[Finding] = list(loaded.all_findings)
    sets = _structure_sets(loaded, findings)
    plan_of_dose: dict[str, tuple[PlanLink, str]] = {}
    for pl in links.plans:
        for d in pl.doses:
            plan_of_dose[d.file.sop_instance_uid] = (pl, d.how)

    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "folder": str(root),
        "files": {
            "counts": index.counts(),
            "non_dicom": [{"file": rel(s.path), "reason": s.reason} for s in index.non_dicom],
            "unreadable": [{"file": rel(s.path), "reason": s.reason} for s in index.unreadable],
            "duplicates": [
                {"file": rel(f.path), "sop_instance_uid": f.sop_instance_uid}
                for f in index.duplicates
            ],
        },
        "plans": [_plan(pl, rel) for pl in links.plans]
        + [
            _broken_plan(f, rel)
            for f in index.plans
            if f.sop_instance_uid not in {pl.file.sop_instance_uid for pl in links.plans}
        ],
        "structure_sets": [
            _structure_set(f, sets.get(f.sop_instance_uid), links, rel)
            for f in index.structure_sets
        ],
        "doses": [
            _dose(
                f,
                links.dose_headers.get(f.sop_instance_uid),
                plan_of_dose.get(f.sop_instance_uid),
                rel,
            )
            for f in index.doses
        ],
        "courses": [
            {
                "structure_set": {
                    "label": c.structure_set.label,
                    "file": rel(c.structure_set.path),
                },
                "frame_of_reference_uid": c.structure_set.frame_of_reference_uid,
                "plans": [
                    {
                        "label": p.label,
                        "n_fractions": p.n_fractions,
                        "prescription_gy": p.plan.prescription_gy if p.plan is not None else None,
                        "dose": p.how,
                        "dose_uids": list(p.dose_uids),
                        "tps_dvhs": len(p.tps_dvhs),
                    }
                    for p in c.plans
                ],
            }
            for c in loaded.courses
        ],
        "findings": [_finding(f, rel) for f in dict.fromkeys(findings)],
    }
    return doc


def _structure_sets(loaded: LoadedFolder, findings: list[Finding]) -> dict[str, StructureSet]:
    """Every structure set of the folder: those of courses as loaded, the others read now."""
    assert loaded.links is not None
    out = {c.structure_set.sop_instance_uid: c.structure_set for c in loaded.courses}
    for f in loaded.links.index.structure_sets:
        if f.sop_instance_uid in out or f.dataset is None:
            continue
        try:
            ss = structure_set_from_dataset(f.dataset, path=f.path)
        except PlancheckError as exc:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "structure-set-unusable",
                    f"{f.name}: {exc.message}",
                    str(f.path),
                )
            )
            continue
        findings.extend(ss.findings)
        out[f.sop_instance_uid] = ss
    for ss in out.values():
        for s in ss.structures:
            findings.extend(s.findings)
    return out


def _plan(pl: PlanLink, rel: Any) -> dict[str, Any]:
    p = pl.plan
    return {
        "file": rel(pl.file.path),
        "sop_instance_uid": p.sop_instance_uid,
        "label": p.label,
        "name": p.name,
        "kind": "RT Ion Plan" if p.is_ion else "RT Plan",
        "n_fractions": p.n_fractions,
        "fraction_groups": [
            {"number": g.number, "n_fractions": g.n_fractions, "beams": list(g.beam_numbers)}
            for g in pl.fraction_groups
        ],
        "prescription_gy": p.prescription_gy,
        "dose_references": [
            {
                "description": r.description,
                "type": r.dose_reference_type,
                "target_prescription_dose_gy": r.target_prescription_dose_gy,
            }
            for r in p.dose_references
        ],
        "approval_status": p.approval_status,
        "beams": list(p.beam_numbers),
        "patient_id": p.patient.patient_id,
        "frame_of_reference_uid": p.frame_of_reference_uid,
        "structure_set": None
        if pl.structure_set is None
        else {"file": rel(pl.structure_set.path), "linked_by": pl.structure_set_how},
        "doses": [
            {
                "file": rel(d.file.path),
                "summation_type": d.header.summation_type,
                "linked_by": d.how,
            }
            for d in pl.doses
        ],
        "dose": None
        if pl.choice is None
        else {
            "how": pl.choice.how,
            "files": [rel(d.file.path) for d in pl.choice.doses],
            "multipliers": list(pl.choice.multipliers),
            "not_used": [rel(d.file.path) for d in pl.choice.unused],
        },
        "usable": pl.usable,
    }


def _broken_plan(f: IndexedFile, rel: Any) -> dict[str, Any]:
    return {"file": rel(f.path), "sop_instance_uid": f.sop_instance_uid, "usable": False}


def _structure_set(
    f: IndexedFile, ss: StructureSet | None, links: FolderLinks, rel: Any
) -> dict[str, Any]:
    used_by = [pl.plan.label for pl in links.plans if pl.structure_set is f]
    out: dict[str, Any] = {
        "file": rel(f.path),
        "sop_instance_uid": f.sop_instance_uid,
        "frame_of_reference_uid": f.frame_of_reference_uid,
        "patient_id": f.patient.patient_id,
        "used_by_plans": used_by,
    }
    if ss is None:
        out["usable"] = False
        return out
    out.update(
        {
            "label": ss.label,
            "rois": len(ss.structures),
            "rois_with_volume": sum(1 for s in ss.structures if s.has_volume),
            "roi_names": [s.name for s in ss.structures],
            "usable": True,
        }
    )
    return out


def _dose(
    f: IndexedFile, h: DoseHeader | None, plan: tuple[PlanLink, str] | None, rel: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"file": rel(f.path), "sop_instance_uid": f.sop_instance_uid}
    if h is None:
        out["status"] = "refused"
        return out
    dz, dy, dx = h.spacing_mm
    out.update(
        {
            "summation_type": h.summation_type,
            "dose_type": h.dose_type,
            "units": h.units,
            "grid": [h.columns, h.rows, h.frames],
            "spacing_mm": [dx, dy, dz],
            "origin_mm": [float(h.x_mm[0]), float(h.y_mm[0]), float(h.z_mm[0])],
            "bits": h.bits_allocated,
            "orientation": h.orientation,
            "frame_offsets": h.frame_offsets,
            "referenced_plan_uid": h.referenced_plan_uid,
            "referenced_beams": list(h.referenced_beam_numbers),
            "frame_of_reference_uid": h.frame_of_reference_uid,
            "patient_id": h.patient.patient_id,
        }
    )
    if plan is None:
        out["plan"] = None
        out["status"] = "not linked"
        return out
    pl, how = plan
    out["plan"] = {"label": pl.plan.label, "file": rel(pl.file.path), "linked_by": how}
    chosen = pl.choice is not None and any(d.file is f for d in pl.choice.doses)
    out["status"] = "used" if chosen and pl.usable else "not used"
    return out


def _finding(f: Finding, rel: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(f.to_dict())
    if f.path is not None:
        d["file"] = rel(Path(f.path))
    return d
