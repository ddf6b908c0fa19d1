"""Stable pseudonyms for every identifying value of an evaluation document.

``--anonymize`` applies :func:`anonymize_document` to the whole document
before anything is rendered, so every output made from it (JSON, CSV, table,
HTML, PDF, batch summary, resume state) carries the same pseudonyms. The rule
is: replace *values taken from identifying fields*, wherever they are quoted;
never rewrite clinical text.

What is replaced
    * The identifying values of the input headers, which the document keeps
      under ``provenance.identifying_attributes`` (DICOM PS3.15 Annex E: patient
      name, ID, birth date, other IDs, institution, physicians, operators,
      stations, study and series descriptions, plan and structure set labels;
      every person name, date, time and UID), plus the patient block, the plan
      and structure-set labels, the reviewer and the planning system's
      institution and station shown in the document. Each becomes ``ANON-``
      and 12 hex digits of HMAC-SHA256(key, kind + value): the same value gets
      the same pseudonym in every report made with the same key, and nobody
      without the key can recover it by trying candidate values.
    * Quoted in messages and reasons, those values are found in any spelling
      that keeps their characters: any case, any separators between their
      words (``DOE^JOHN``, ``Doe_John``, ``John Doe``), dates in any common
      format (``19510203``, ``1951-02-03``, ``03.02.1951``, ``3 Feb 1951``).
    * Every UID (also the ``2.25.<decimal>`` form and UIDs inside file names
      and messages) becomes a UID under ``2.25`` from 128 bits of the same
      HMAC; UIDs defined by the DICOM standard (``1.2.840.10008.…``) are kept.
    * Every input file and folder name is replaced as a whole (``ANON-….dcm``),
      so a folder named ``Doe_Johnathan_19510203`` leaks none of its parts; the
      input folder quoted in a message becomes ``<input folder>``.
    * The dates and times of plans, approvals and structure sets are withheld
      (``null``), as the Basic Profile removes them.

What is kept
    Clinical text is never rewritten: the protocol (name, title, description,
    references), every constraint's structure, metric, goal, variation,
    priority and source, ROI names, dose levels and numbers. A patient named
    ``BODY^MAX`` leaves ``Max[Gy]`` and the ROI ``BODY`` as they are: a name is
    matched only as a whole name of at least two words. With
    ``keep_labels=True`` (``--anonymize-keep-labels``) plan and structure-set
    labels stay readable (any patient name, ID or date inside them is still
    replaced). The planning system's manufacturer, model and version are kept.

The key is a secret of the department, not of the report: by default a
random key is created once in the user's configuration folder (see
:func:`default_key_path`) and never written next to the outputs.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from plancheck.report.pseudonyms import (
    ANON_PREFIX,
    KEY_ENV,
    UID_ROOT,
    Pseudonymizer,
    default_key_path,
    load_or_create_key,
)
from plancheck.report.scrub import INPUT_FOLDER, Identity, Scrubber

__all__ = [
    "ANON_PREFIX",
    "KEY_ENV",
    "UID_ROOT",
    "Identity",
    "Pseudonymizer",
    "Scrubber",
    "anonymize_document",
    "clinical_terms",
    "default_key_path",
    "identity_of_document",
    "load_or_create_key",
]

_PATH_KEYS = frozenset({"path", "folder", "plan_dir"})
_CONFIG_PATH_KEYS = frozenset({"protocol_file", "aliases_file"})


# --------------------------------------------------------------------------- documents

# what a field of the evaluation document holds, by its position: "*" matches any key or index
_Kind = str
_FIELD_KINDS: tuple[tuple[tuple[str, ...], _Kind], ...] = (
    (("patient", "name"), "person"),
    (("patient", "id"), "id"),
    (("patient", "birth_date"), "birth_date"),
    (("patient", "*"), "withheld"),
    (("course", "structure_set", "label"), "label"),
    (("course", "structure_set", "date"), "withheld"),
    (("course", "structure_set", "time"), "withheld"),
    (("course", "plans", "*", "label"), "label"),
    (("course", "plans", "*", "name"), "label"),
    (("course", "plans", "*", "plan_date"), "withheld"),
    (("course", "plans", "*", "plan_time"), "withheld"),
    (("course", "plans", "*", "review_date"), "withheld"),
    (("course", "plans", "*", "review_time"), "withheld"),
    (("course", "plans", "*", "reviewer_name"), "person"),
    (("course", "*", "planning_system", "institution"), "id"),
    (("course", "*", "planning_system", "station"), "id"),
    (("course", "plans", "*", "planning_system", "institution"), "id"),
    (("course", "plans", "*", "planning_system", "station"), "id"),
    (("course", "plans", "*", "planning_system", "*"), "keep"),
    (("course", "*", "planning_system", "*"), "keep"),
    (("course", "dose_levels", "*", "plans", "*"), "label"),
    (("course", "dose_levels", "*", "id"), "keep"),
    (("course", "dose_levels", "*", "structure"), "keep"),
    (("structures", "*", "curves", "*", "plans", "*"), "label"),
    (("structures", "*", "name"), "keep"),
    (("structures", "*", "protocol_structure"), "keep"),
    (("structures", "*", "expression"), "keep"),
    (("provenance", "settings", "plan"), "label"),
    (("provenance", "input_files", "*", "used_by"), "label"),
    (("provenance", "source_folder"), "folder"),
    (("provenance", "plancheck_version"), "keep"),
    (("provenance", "python"), "keep"),
    (("provenance", "created"), "keep"),
    (("provenance", "protocol_sha256"), "keep"),
    (("provenance", "input_files", "*", "sha256"), "keep"),
    (("protocol", "selected"), "text"),
    (("protocol", "reason"), "text"),
    (("protocol", "**"), "keep"),
    (("summary", "missing_structures"), "keep"),
    (("summary", "missing_structures", "*"), "keep"),
    (("crosschecks", "*", "roi"), "keep"),
    (("crosschecks", "*", "metric"), "keep"),
    (("findings", "*", "code"), "keep"),
    (("findings", "*", "severity"), "keep"),
    # re-irradiation: dates identify the patient (withheld, as the plans' dates are); the
    # interval between the courses, the registration matrices and the curves are kept
    (("reirradiation", "current_dates", "**"), "withheld"),
    (("reirradiation", "priors", "*", "dates", "**"), "withheld"),
    (("reirradiation", "interval", "prior_end", "**"), "withheld"),
    (("reirradiation", "interval", "current_start", "**"), "withheld"),
    (("reirradiation", "interval", "note"), "withheld"),
    (("reirradiation", "priors", "*", "directory"), "folder"),
    (("reirradiation", "priors", "*", "plans", "*", "label"), "label"),
    (("reirradiation", "priors", "*", "structure_set"), "label"),
    (("reirradiation", "registrations_given", "*"), "path"),
    (("reirradiation", "dvhs", "*", "structure"), "keep"),
    (("reirradiation", "dvhs", "*", "quantity"), "keep"),
    (("reirradiation", "dvhs", "*", "doses", "*", "outside_grid_by_source_cc", "*", "*"), "label"),
)
# constraint fields that are clinical text (every other constraint field is scrubbed)
_CLINICAL_CONSTRAINT_KEYS = frozenset(
    [
        "id",
        "kind",
        "structure",
        "matched_roi",
        "match",
        "metric",
        "unit",
        "goal",
        "variation",
        "status",
        "priority",
        "source",
        "dose_level",
        "dose_quantity",
        "protocol_line",
        "required",
    ]
)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(path) > len(head) and all(
            a in ("*", b) for a, b in zip(head, path, strict=False)
        )
    return len(pattern) == len(path) and all(
        a in ("*", b) for a, b in zip(pattern, path, strict=True)
    )


def _kind(path: tuple[str, ...]) -> _Kind:
    """What the document field at ``path`` holds (``"*"`` stands for list indices)."""
    if len(path) >= 3 and path[0] == "constraints" and path[2] in _CLINICAL_CONSTRAINT_KEYS:
        return "keep"
    for pattern, kind in _FIELD_KINDS:
        if _matches(pattern, path):
            return kind
    last = path[-1] if path else ""
    if last.endswith(("uid", "uids")) or (
        len(path) >= 2 and last == "*" and path[-2].endswith("uids")
    ):
        return "uid"
    if last in _PATH_KEYS:
        return "path"
    if last in _CONFIG_PATH_KEYS:
        return "config_path"
    return "text"


def identity_of_document(doc: dict[str, Any]) -> Identity:
    """Every identifying value an evaluation document holds or quotes (see module docstring)."""
    prov = doc.get("provenance") if isinstance(doc.get("provenance"), dict) else {}
    assert isinstance(prov, dict)
    identity = Identity.from_attributes(prov.get("identifying_attributes") or [])
    patient = doc.get("patient") if isinstance(doc.get("patient"), dict) else {}
    assert isinstance(patient, dict)
    if patient.get("name"):
        identity.persons.add(str(patient["name"]))
    if patient.get("id"):
        identity.texts.add(str(patient["id"]))
    if patient.get("birth_date"):
        identity.add_attribute("PatientBirthDate", "DA", str(patient["birth_date"]))

    def visit(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, (*path, str(k)))
        elif isinstance(node, list):
            for v in node:
                visit(v, (*path, "*"))
        elif isinstance(node, str) and node:
            kind = _kind(path)
            if kind == "label":
                identity.labels.add(node)
            elif kind == "person":
                identity.persons.add(node)
            elif kind == "id":
                identity.texts.add(node)
            elif kind == "uid":
                identity.uids.add(node)
            elif kind == "path":
                identity.add_path(node)
            elif kind == "folder":
                identity.add_path(node, folder=True)

    visit(doc, ())
    return identity


def clinical_terms(doc: dict[str, Any]) -> set[str]:
    """Metrics, structure and ROI names, dose-level names of a document: kept wherever quoted."""
    terms: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and value.strip():
            terms.add(value)

    for c in doc.get("constraints") or []:
        if isinstance(c, dict):
            for key in ("metric", "structure", "matched_roi", "dose_level"):
                add(c.get(key))
    for s in doc.get("structures") or []:
        if isinstance(s, dict):
            add(s.get("name"))
            add(s.get("protocol_structure"))
    course = doc.get("course") if isinstance(doc.get("course"), dict) else {}
    for level in (course or {}).get("dose_levels") or []:
        if isinstance(level, dict):
            add(level.get("id"))
            add(level.get("structure"))
    protocol = doc.get("protocol") if isinstance(doc.get("protocol"), dict) else {}
    add((protocol or {}).get("name"))
    return terms


def anonymize_document(
    doc: dict[str, Any], key: bytes | None = None, *, keep_labels: bool = False
) -> dict[str, Any]:
    """A deep copy of an evaluation document with every identifying value pseudonymised.

    ``key`` defaults to the key file of :func:`load_or_create_key`. Records
    what was done under ``provenance.anonymized`` (method, what was kept and
    the key fingerprint, never the key), and drops
    ``provenance.identifying_attributes``.
    """
    p = Pseudonymizer(load_or_create_key() if key is None else key)
    scrub = Scrubber(
        identity_of_document(doc), p, keep_labels=keep_labels, clinical_terms=clinical_terms(doc)
    )
    out = _map(copy.deepcopy(doc), (), scrub)
    provenance = out.get("provenance")
    if isinstance(provenance, dict):
        provenance.pop("identifying_attributes", None)
        provenance["anonymized"] = {
            "method": "HMAC-SHA256 pseudonyms of every identifying value (DICOM PS3.15 Annex E); "
            "UIDs under 2.25; file and folder names replaced; dates withheld",
            "kept": ["clinical text", *(["plan and structure-set labels"] if keep_labels else [])],
            "key_fingerprint": p.fingerprint,
        }
    return out


def _map(node: Any, path: tuple[str, ...], scrub: Scrubber) -> Any:
    if isinstance(node, dict):
        curves = len(path) == 3 and path[0] == "structures" and path[2] == "curves"
        return {
            (scrub.text(str(k)) if curves else k): _map(v, (*path, str(k)), scrub)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_map(v, (*path, "*"), scrub) for v in node]
    if not isinstance(node, str):
        if node is not None and _kind(path) == "withheld":
            return None
        return node
    kind = _kind(path)
    p = scrub.p
    if kind == "keep":
        return node
    if kind == "withheld":
        return None
    if kind == "person":
        return p.text("name", node)
    if kind == "id":
        return p.text("id", node)
    if kind == "birth_date":
        return p.text("date", re.sub(r"\D", "", node)[:8] or node)
    if kind == "label":
        return scrub.label(node)
    if kind == "uid":
        return p.uid(node)
    if kind == "path":
        return scrub.path(node)
    if kind == "config_path":
        return scrub.config_path(node)
    if kind == "folder":
        return INPUT_FOLDER
    return scrub.text(node)
