"""A stand-in for ``evaluate_plan`` driven by the folder's content, and a fake DICOM writer.

The fake DICOM files carry the Part-10 marker (so discovery counts them) and a
text payload that tells :func:`stub_evaluate` what to do: ``STATUS=pass``,
``STATUS=fail``..., ``CORRUPT`` (raise a read error, as a truncated RTDOSE
does), ``BUG`` (raise an unexpected exception), ``DIE`` (kill the worker).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from plancheck.errors import DicomReadError
from tests.report.documents import make_document, summary_for


def write_fake_dicom(path: Path, payload: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 128 + b"DICM" + payload.encode("utf-8"))
    return path


def _payload(plan_dir: Path) -> str:
    texts = []
    for path in sorted(plan_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            texts.append(data[132:].decode("utf-8", "replace") if data[128:132] == b"DICM" else "")
    return "\n".join(texts)


def stub_evaluate(plan_dir: Path, protocol: str | None, **_options: Any) -> dict[str, Any]:
    text = _payload(Path(plan_dir))
    if "CORRUPT" in text:
        raise DicomReadError("pixel data is shorter than Rows x Columns x Frames", path=Path(plan_dir) / "rd.dcm")
    if "BUG" in text:
        raise ZeroDivisionError("division by zero")
    if "DIE" in text:
        os._exit(13)
    statuses = [line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith("STATUS=")]
    patient = {"name": f"Doe^{Path(plan_dir).name}", "id": f"ID-{Path(plan_dir).name}", "birth_date": ""}
    doc = make_document(summary=summary_for(statuses or ["pass"]), patient=patient)
    doc["provenance"]["source_folder"] = str(plan_dir)
    return doc


def stub_square(x: int) -> int:
    """A job function for runner tests; 7 raises, 13 kills its worker process."""
    if x == 7:
        raise ValueError("seven")
    if x == 13:
        os._exit(13)
    return x * x


_WARMED: list[int] = []


def stub_warm_up() -> None:
    """A worker initializer for runner tests: records that it ran in this process."""
    _WARMED.append(os.getpid())


def stub_warmed_pid(_: int) -> tuple[int, bool]:
    """This worker's pid, and whether :func:`stub_warm_up` ran in it before the job."""
    return os.getpid(), os.getpid() in _WARMED
