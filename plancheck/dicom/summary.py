"""What a folder holds and how it links, as a JSON-ready document (``plancheck info``).

:func:`describe_folder` turns the links of a folder
(:func:`~plancheck.dicom.link.link_folder`) into plain data: files by kind,
every plan (label, fractions, prescription, approval, relationships, its
structure set and dose, and how each was linked), every structure set
(ROIs), every RTDOSE (summation type, grid, spacing, how it was used), the
courses formed (which plans are summed, which are reported separately, and
why), and every finding, including those of single ROIs.

It reads headers and contours only, never pixel data: the plausibility of a
dose against its plan is checked when the dose is read (``dvh``,
``evaluate``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plancheck.dicom.discover import IndexedFile
from plancheck.dicom.link import FolderLinks, PlanLink
from plancheck.dicom.rtdose import DoseHeader
from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.errors import PlancheckError
from plancheck.model import Finding, Severity, StructureSet

__all__ = ["SCHEMA_VERSION", "describe_folder", "usable_courses"]

SCHEMA_VERSION = 1


def usable_courses(doc: dict[str, Any]) -> int:
    """How many courses of a :func:`describe_folder` document can be evaluated."""
    return sum(1 for c in doc["courses"] if c["structure_set"].get("usable", True))


def describe_folder(links: FolderLinks, *, lenient: bool = False) -> dict[str, Any]:
    """The document of ``plancheck info --format json`` (see the module docstring)."""
    index = links.index
    root = index.root

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(root))
        except ValueError:
            return str(path)

    findings: list[Finding] = [*index.findings, *links.findings]
    for c in links.courses:
        findings.extend(c.findings)
    sets = _structure_sets(links, findings, lenient)
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
            "conflicts": [
                {"file": rel(f.path), "sop_instance_uid": f.sop_instance_uid}
                for f in index.conflicts
            ],
        },
        "plans": [_plan(pl, rel) for pl in links.plans if pl.plan is not None]
        + [
            _broken_plan(f, rel)
            for f in index.plans
            if f.sop_instance_uid
            not in {pl.file.sop_instance_uid for pl in links.plans if pl.file is not None}
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
                    "label": _set_label(sets.get(c.structure_set.sop_instance_uid)),
                    "file": rel(c.structure_set.path),
                    "usable": sets.get(c.structure_set.sop_instance_uid) is not None,
                },
                "frame_of_reference_uid": c.structure_set.frame_of_reference_uid,
                "summed": len(c.plans) > 1,
                "plans": [
                    {
                        "label": p.label,
                        "file": None if p.file is None else rel(p.file.path),
                        "n_fractions": p.plan.n_fractions if p.plan is not None else p.fractions_from_user,
                        "prescription_gy": p.plan.prescription_gy if p.plan is not None else None,
                        "dose": None if p.choice is None else p.choice.how,
                        "dose_files": [rel(d.file.path) for d in p.doses],
                    }
                    for p in c.plans
                ],
                "notes": [f.message for f in c.findings],
            }
            for c in links.courses
        ],
        "findings": [_finding(f, rel) for f in dict.fromkeys(findings)],
    }
    return doc


def _set_label(ss: StructureSet | None) -> str:
    return ss.label if ss is not None else "(unreadable)"


def _structure_sets(
    links: FolderLinks, findings: list[Finding], lenient: bool
) -> dict[str, StructureSet]:
    """Every structure set of the folder, read (contours only)."""
    out: dict[str, StructureSet] = {}
    for f in links.index.structure_sets:
        if f.dataset is None:
            continue
        try:
            ss = structure_set_from_dataset(f.dataset, path=f.path, lenient=lenient)
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
        for s in ss.structures:
            findings.extend(s.findings)
        out[f.sop_instance_uid] = ss
    return out


def _plan(pl: PlanLink, rel: Any) -> dict[str, Any]:
    p = pl.plan
    assert p is not None and pl.file is not None
    details = pl.details
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
        "intent": details.intent if details is not None else None,
        "brachytherapy": details.is_brachy if details is not None else False,
        "related_plans": [
            {"sop_instance_uid": r.uid, "relationship": r.relationship or None}
            for r in (details.relations if details is not None else ())
        ],
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
            "fraction_groups_known": bool(pl.choice.groups) or len(pl.fraction_groups) <= 1,
        },
        "usable": pl.usable,
    }


def _broken_plan(f: IndexedFile, rel: Any) -> dict[str, Any]:
    return {"file": rel(f.path), "sop_instance_uid": f.sop_instance_uid, "usable": False}


def _structure_set(
    f: IndexedFile, ss: StructureSet | None, links: FolderLinks, rel: Any
) -> dict[str, Any]:
    used_by = [pl.label for pl in links.plans if pl.structure_set is f]
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
    out["plan"] = {
        "label": pl.label,
        "file": None if pl.file is None else rel(pl.file.path),
        "linked_by": how,
    }
    used = (
        [d for d in pl.choice.doses] + [t.link for g in pl.choice.groups for t in g.terms]
        if pl.choice is not None
        else []
    )
    chosen = any(d.file is f for d in used)
    out["status"] = "used" if chosen and pl.usable else "not used"
    return out


def _finding(f: Finding, rel: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(f.to_dict())
    if f.path is not None:
        d["file"] = rel(Path(f.path))
    return d
