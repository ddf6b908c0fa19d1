"""Reading a saved evaluation document, and the outcome vocabulary shared by reports and batch.

The evaluation document is the JSON that ``plancheck evaluate --format json``
writes (``kind: plancheck-evaluation``). Reports render it as it is; they never
recompute a number. This module only checks that a file is such a document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plancheck.errors import InputError

__all__ = [
    "EVALUATION_KIND",
    "OUTCOMES",
    "STATUS_LABELS",
    "check_evaluation_document",
    "read_evaluation_document",
]

EVALUATION_KIND = "plancheck-evaluation"
SUPPORTED_MAJOR = "1"
# a saved document larger than this is not an evaluation document plancheck wrote
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024

# constraint statuses and plan outcomes, most severe first
OUTCOMES: tuple[str, ...] = ("not-evaluated", "fail", "warn", "pass")
STATUS_LABELS: dict[str, str] = {
    "pass": "PASS",
    "warn": "WARN",
    "fail": "FAIL",
    "not-evaluated": "NOT EVALUATED",
    "reported": "REPORTED",
}


def check_evaluation_document(doc: Any, source: str = "document") -> dict[str, Any]:
    """Return ``doc`` when it looks like an evaluation document, else raise.

    Raises
    ------
    InputError
        When ``doc`` is not a JSON object of kind ``plancheck-evaluation`` with
        a supported major schema version.
    """
    if not isinstance(doc, dict):
        raise InputError("not a plancheck evaluation document (expected a JSON object)", path=source)
    kind = doc.get("kind")
    if kind != EVALUATION_KIND:
        raise InputError(
            f"not a plancheck evaluation document (kind is {kind!r}, expected {EVALUATION_KIND!r})",
            path=source,
            hint="Write one with 'plancheck evaluate PLAN_DIR --format json -o FILE'.",
        )
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise InputError(
            f"evaluation document schema version {version!r} is not supported "
            f"(this plancheck reads {SUPPORTED_MAJOR}.x)",
            path=source,
            hint="Re-run 'plancheck evaluate' with this version of plancheck.",
        )
    for key, typ in (("constraints", list), ("structures", list), ("findings", list)):
        if key in doc and not isinstance(doc[key], typ):
            raise InputError(f"evaluation document: {key!r} must be a list", path=source)
    for key in ("patient", "provenance", "protocol", "course", "summary"):
        if key in doc and not isinstance(doc[key], Mapping):
            raise InputError(f"evaluation document: {key!r} must be an object", path=source)
    return doc


def read_evaluation_document(path: Path) -> dict[str, Any]:
    """Load and check a saved evaluation document (UTF-8 JSON)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise InputError(f"file of {size} bytes is too large for an evaluation document", path=path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError("no such file", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=path) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", path=path
        ) from exc
    return check_evaluation_document(doc, str(path))
