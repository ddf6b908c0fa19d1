"""``plancheck info``: what a folder holds, how its files link, and every problem noticed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from plancheck.cli.options import format_option, output_option, plan_dir_argument
from plancheck.cli.output import emit


@click.command("info")
@plan_dir_argument
@format_option("table", "json")
@output_option
def info(plan_dir: str, output_format: str, output: str | None) -> None:
    """Show the plans, structure sets and doses in PLAN_DIR, how they link, and every finding.

    Reads headers and contours only, never dose pixel data. Exits with status
    3 when the folder holds no plan that can be evaluated (a dose with its
    structure set).
    """
    from plancheck.dicom.course import no_course_reason
    from plancheck.dicom.discover import index_folder
    from plancheck.dicom.link import link_folder
    from plancheck.dicom.summary import describe_folder, usable_courses
    from plancheck.errors import CourseError
    from plancheck.model import Finding, Severity

    index = index_folder(Path(plan_dir))
    links = link_folder(index)
    doc = describe_folder(links)
    text = json.dumps(doc, indent=2) + "\n" if output_format == "json" else render_text(doc)
    # file names that are not valid UTF-8 reach Python as lone surrogates: show them replaced
    emit(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), output)
    if not usable_courses(doc):
        findings = [
            Finding(Severity(f["severity"]), f["code"], f["message"], f["path"])
            for f in doc["findings"]
        ]
        raise CourseError(no_course_reason(index, findings), path=plan_dir)


# --------------------------------------------------------------------------- text


def render_text(doc: dict[str, Any]) -> str:
    """The ``--format table`` view of a :func:`plancheck.dicom.summary.describe_folder` document."""
    out: list[str] = [f"Folder: {doc['folder']}", ""]
    out += _files(doc["files"])
    out += _section(
        "Plans",
        [
            "label",
            "kind",
            "fractions",
            "prescription",
            "approval",
            "beams",
            "structure set",
            "dose",
            "file",
        ],
        [_plan_row(p) for p in doc["plans"]],
    )
    out += _section(
        "Structure sets",
        ["label", "ROIs", "with volume", "used by", "file"],
        [_set_row(s) for s in doc["structure_sets"]],
    )
    out += _section(
        "Doses",
        [
            "file",
            "summation",
            "type",
            "grid",
            "spacing (mm)",
            "bits",
            "axes",
            "offsets",
            "plan",
            "status",
        ],
        [_dose_row(d) for d in doc["doses"]],
    )
    out += _courses(doc["courses"])
    out += _findings(doc["findings"])
    return "\n".join(out) + "\n"


def _files(files: dict[str, Any]) -> list[str]:
    c = files["counts"]
    names = [
        ("RTPLAN", "RT Plan"),
        ("RTIONPLAN", "RT Ion Plan"),
        ("RTSTRUCT", "RT Structure Set"),
        ("RTDOSE", "RT Dose"),
        ("CT", "CT image (not used)"),
        ("IMAGE", "other image (not used)"),
        ("OTHER", "other DICOM object (not used)"),
        ("DUPLICATE", "duplicate (not used)"),
        ("CONFLICT", "conflicting copy (not used)"),
        ("UNREADABLE", "unreadable DICOM file"),
        ("NON_DICOM", "non-DICOM file (ignored)"),
    ]
    parts = [f"{c[key]} {_plural(name, c[key])}" for key, name in names if c.get(key)]
    return [f"Files: {', '.join(parts) if parts else 'none'}", ""]


def _plural(name: str, n: int) -> str:
    """``name`` with its first word in the plural when ``n`` is not 1 ("CT image (not used)" -> "CT images ...")."""
    if n == 1:
        return name
    head, _, tail = name.partition(" (")
    return head + "s" + (f" ({tail}" if tail else "")


def _section(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return [f"{title}: none", ""]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    lines = [f"{title}:", "  " + line]
    for r in rows:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return [*lines, ""]


def _gy(value: float | None) -> str:
    return "-" if value is None else f"{value:g} Gy"


def _plan_row(p: dict[str, Any]) -> list[str]:
    if "label" not in p:
        return ["(unreadable)", "", "", "", "", "", "", "", p["file"]]
    ss = p["structure_set"]
    dose = p["dose"]
    return [
        p["label"],
        p["kind"],
        "-" if p["n_fractions"] is None else str(p["n_fractions"]),
        _gy(p["prescription_gy"]),
        p["approval_status"] or "-",
        str(len(p["beams"])),
        "-" if ss is None else f"{ss['file']} (by {ss['linked_by']})",
        "-" if dose is None else dose["how"],
        p["file"],
    ]


def _set_row(s: dict[str, Any]) -> list[str]:
    if not s.get("usable"):
        return ["(unreadable)", "", "", ", ".join(s["used_by_plans"]) or "-", s["file"]]
    return [
        s["label"],
        str(s["rois"]),
        str(s["rois_with_volume"]),
        ", ".join(s["used_by_plans"]) or "-",
        s["file"],
    ]


def _dose_row(d: dict[str, Any]) -> list[str]:
    if d["status"] == "refused":
        return [d["file"], "", "", "", "", "", "", "", "-", "refused (see findings)"]
    dx, dy, dz = d["spacing_mm"]
    plan = d["plan"]
    return [
        d["file"],
        d["summation_type"] or "?",
        d["dose_type"] or "?",
        "x".join(str(v) for v in d["grid"]),
        f"{dx:g} x {dy:g} x {dz:g}",
        str(d["bits"]),
        d["orientation"],
        d["frame_offsets"],
        "-" if plan is None else f"{plan['label']} (by {plan['linked_by']})",
        d["status"],
    ]


def _courses(courses: list[dict[str, Any]]) -> list[str]:
    if not courses:
        return ["Courses: none (no dose has both its plan or structure set)", ""]
    lines = ["Courses:", "  (each is evaluated on its own; the plans of one course are summed)"]
    for k, c in enumerate(courses, start=1):
        ss = c["structure_set"]
        what = "summed course" if c["summed"] else "plan"
        lines.append(f"  {k}. {what} on structure set {ss['label']!r} ({ss['file']})")
        for p in c["plans"]:
            n = p["n_fractions"]
            fx = "unknown fractions" if n is None else f"{n} fraction{'s' if n != 1 else ''}"
            lines.append(
                f"     plan {p['label']!r}: {fx}, prescription {_gy(p['prescription_gy'])}; dose: {p['dose']}"
            )
        for note in c["notes"]:
            lines.append(f"     note: {note}")
    return [*lines, ""]


def _findings(findings: list[dict[str, Any]]) -> list[str]:
    if not findings:
        return ["Findings: none"]
    order = {"error": 0, "warning": 1, "info": 2}
    lines = [f"Findings ({len(findings)}):"]
    for f in sorted(findings, key=lambda f: order.get(f["severity"], 3)):
        lines.append(f"  [{f['severity']}] {f['code']}: {f['message']}")
    return lines
