"""A stand-in for ``evaluate_plan`` driven by the course's files, and small real DICOM courses.

:func:`write_course` writes a structure set, a plan and a dose that reference
each other by UID (real DICOM headers, no pixel data, so discovery groups
them as any export), with a text payload in the plan's RTPlanDescription that
tells :func:`stub_evaluate` what to do: ``STATUS=pass``, ``STATUS=fail``...,
``CORRUPT`` (raise a read error, as a truncated RTDOSE does), ``BUG`` (raise
an unexpected exception), ``DIE`` (kill the worker), ``SLEEP=<s> PIDS=<dir>``
(write the worker's pid into ``dir``, then sleep).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from plancheck.errors import DicomReadError
from tests.dicom.builders import RT_DOSE, RT_PLAN, RT_STRUCT, uid, write
from tests.report.documents import make_document, summary_for

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def _base(sop_class: str, sop_uid: str, name: str, frame: str, patient_id: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = f"Doe^{name}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19510203"
    ds.StudyInstanceUID = uid(f"study {name}")
    ds.FrameOfReferenceUID = frame
    return ds


def _ref(sop_class: str, sop_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_uid
    return item


def course_uids(name: str) -> dict[str, str]:
    """The UIDs of the course ``name`` writes (the same name gives the same UIDs)."""
    return {k: uid(f"{name} {k}") for k in ("rs", "rp", "rd", "frame")}


def write_course(
    folder: Path,
    payload: str,
    *,
    name: str | None = None,
    patient_id: str | None = None,
    files: tuple[str, str, str] = ("rs.dcm", "rp.dcm", "rd.dcm"),
    dose_payload: str | None = None,
) -> dict[str, Path]:
    """Write RS, RP and RD of course ``name`` (default: the folder's name) into ``folder``."""
    name = name or folder.name
    u = course_uids(name)
    pid = patient_id or f"ID-{name}"
    rs = _base(RT_STRUCT, u["rs"], name, u["frame"], pid)
    rs.StructureSetLabel = f"RS-{name}"[:16]
    rp = _base(RT_PLAN, u["rp"], name, u["frame"], pid)
    rp.RTPlanLabel = f"P-{name}"[:16]
    rp.RTPlanDescription = payload
    rp.ReferencedStructureSetSequence = DicomSequence([_ref(RT_STRUCT, u["rs"])])
    rd = _base(RT_DOSE, u["rd"], name, u["frame"], pid)
    rd.ReferencedRTPlanSequence = DicomSequence([_ref(RT_PLAN, u["rp"])])
    if dose_payload is not None:
        rd.DoseComment = dose_payload
    paths = {}
    for key, ds, file in zip(("rs", "rp", "rd"), (rs, rp, rd), files, strict=True):
        paths[key] = write(ds, folder / file)
    return paths


def write_image(path: Path, name: str) -> Path:
    """A CT image header in the frame of reference of course ``name``."""
    u = course_uids(name)
    ds = _base(CT_IMAGE, uid(f"{name} ct {path.name}"), name, u["frame"], f"ID-{name}")
    return write(ds, path)


def write_fake_dicom(path: Path, payload: str) -> Path:
    """A file with the DICOM marker and a text payload (unreadable as DICOM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 128 + b"DICM" + payload.encode("utf-8"))
    return path


def _payloads(files: list[Path]) -> list[str]:
    texts = []
    for path in sorted(files):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a fake file: pydicom guesses and warns
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            if "SOPClassUID" not in ds:
                raise ValueError("not an object")
        except Exception:  # a file that is not readable DICOM: its text, as a reader error would
            data = path.read_bytes()
            texts.append(data[132:].decode("utf-8", "replace") if data[128:132] == b"DICM" else "")
            continue
        for keyword in ("RTPlanDescription", "DoseComment"):
            if keyword in ds:
                texts.append(str(ds.get(keyword)))
    return texts


def stub_evaluate(plan_dir: Path, protocol: str | None, *, files: list[Path] | None = None, **_options: Any) -> dict[str, Any]:
    paths = list(files) if files is not None else [p for p in Path(plan_dir).rglob("*") if p.is_file()]
    text = "\n".join(_payloads(paths))
    if "CORRUPT" in text:
        raise DicomReadError("pixel data is shorter than Rows x Columns x Frames", path=Path(plan_dir) / "rd.dcm")
    if "BUG" in text:
        raise ZeroDivisionError("division by zero")
    if "DIE" in text:
        os._exit(13)
    for word in text.split():
        if word.startswith("PIDS="):
            Path(word[5:], str(os.getpid())).write_text("")
    for word in text.split():
        if word.startswith("SLEEP="):
            time.sleep(float(word[6:]))
    statuses = [w.split("=", 1)[1].strip() for w in text.split() if w.startswith("STATUS=")]
    name = Path(plan_dir).name
    patient = {"name": f"Doe^{name}", "id": f"ID-{name}", "birth_date": "19510203"}
    doc = make_document(summary=summary_for(statuses or ["pass"]), patient=patient)
    doc["provenance"]["source_folder"] = str(plan_dir)
    doc["findings"] = doc["findings"][:1]  # the fixture's second finding quotes another patient
    doc["provenance"]["input_files"] = [
        {"path": str(p), "modality": "RTDOSE", "sop_instance_uid": "1.2.3.4", "sha256": None} for p in paths
    ]
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
