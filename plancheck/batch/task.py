"""One plan of a batch: evaluate it, write its reports, return its summary row.

:func:`run_plan` runs in a worker process (or a Dask worker): it writes the
plan's outputs itself, so rendering runs in parallel too and only a small
row travels back. It never raises: a plan's error becomes its row, so one bad
plan never stops a batch.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plancheck.batch.files import write_atomic
from plancheck.batch.resume import FileStamp, stamp_files
from plancheck.errors import EXIT_INPUT, PlancheckError
from plancheck.model import EndCaps
from plancheck.report.anonymize import Pseudonymizer, anonymize_document
from plancheck.report.document import check_evaluation_document
from plancheck.report.summary import error_row, row_from_document

__all__ = ["BatchSettings", "PlanJob", "PlanResult", "input_bytes", "output_stem", "run_plan", "warm_up"]

EvaluateFunction = Callable[..., dict[str, Any]]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
PLANS_SUBDIR = "plans"


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs, picklable (``evaluate`` must be a module-level function).

    ``evaluate`` defaults to :func:`plancheck.pipeline.evaluate_plan`.
    """

    root: Path
    output_dir: Path
    protocol: str | None = None
    aliases: Path | None = None
    end_caps: str = EndCaps.HALF.value
    anonymize_key: bytes | None = None
    pdf: bool = False
    figure: bool = True
    evaluate: EvaluateFunction | None = None


@dataclass(frozen=True)
class PlanJob:
    """A plan folder to evaluate, with the output file stem and the file stamps known so far."""

    key: str
    path: Path
    files: tuple[str, ...]
    stem: str
    known: Mapping[str, FileStamp] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanResult:
    key: str
    row: dict[str, Any]
    stamps: dict[str, FileStamp]
    outputs: tuple[str, ...]
    seconds: float


def output_stem(key: str, pseudonymizer: Pseudonymizer | None = None) -> str:
    """A file-name stem for a plan's outputs: readable, collision-free, or a pseudonym."""
    if pseudonymizer is not None:
        return pseudonymizer.text("plan", key)
    import hashlib

    readable = _UNSAFE.sub("_", key.replace("/", "__")).strip("._")[:80] or "root"
    return f"{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"


def _evaluate_function(settings: BatchSettings) -> EvaluateFunction:
    if settings.evaluate is not None:
        return settings.evaluate
    from plancheck.pipeline import evaluate_plan

    fn: EvaluateFunction = evaluate_plan
    return fn


def _public_message(text: str, job: PlanJob, settings: BatchSettings, plan_name: str) -> str:
    """An error message with absolute input paths shortened, and UIDs pseudonymised when anonymising."""
    text = text.replace(str(job.path), plan_name).replace(str(settings.root), "<root>")
    if settings.anonymize_key is not None:
        text = Pseudonymizer(settings.anonymize_key).scrub_uids(text)
    return text


def _write_outputs(doc: dict[str, Any], job: PlanJob, settings: BatchSettings) -> tuple[str, ...]:
    from plancheck.report.html import render_html

    base = f"{PLANS_SUBDIR}/{job.stem}"
    outputs = [f"{base}.json", f"{base}.html"]
    compact = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"  # curves make it large
    write_atomic(settings.output_dir / outputs[0], compact)
    html = render_html(doc, figure=settings.figure)
    write_atomic(settings.output_dir / outputs[1], html)
    if settings.pdf:
        from plancheck.report.pdf import render_pdf

        outputs.append(f"{base}.pdf")
        write_atomic(settings.output_dir / outputs[2], render_pdf(html))
    return tuple(outputs)


def input_bytes(job: PlanJob) -> int:
    """Total size of a plan's input files: an estimate of how long the plan takes."""
    total = 0
    for name in job.files:
        with contextlib.suppress(OSError):  # a file gone since discovery: the plan will say so
            total += (job.path / name).stat().st_size
    return total


def warm_up(figure: bool = True) -> None:
    """Import what evaluating and reporting a plan needs (a worker's initializer).

    Each worker process pays its imports once, as it starts, rather than on its first plan.
    """
    import plancheck.dicom.course
    import plancheck.evaluation
    import plancheck.pipeline
    import plancheck.report.html  # noqa: F401

    if figure:
        import matplotlib.figure  # noqa: F401


def run_plan(job: PlanJob, settings: BatchSettings) -> PlanResult:
    """Evaluate one plan folder and write its outputs; never raises."""
    started = time.perf_counter()
    pseudo = Pseudonymizer(settings.anonymize_key) if settings.anonymize_key is not None else None
    plan_name = job.stem if pseudo is not None else job.key
    stamps: dict[str, FileStamp] = {}
    outputs: tuple[str, ...] = ()
    try:
        stamps = stamp_files(job.path, job.files, job.known)
        doc = _evaluate_function(settings)(
            job.path,
            settings.protocol,
            aliases=settings.aliases,
            end_caps=EndCaps(settings.end_caps),
        )
        doc = check_evaluation_document(doc, plan_name)
        if settings.anonymize_key is not None:
            doc = anonymize_document(doc, settings.anonymize_key)
        outputs = _write_outputs(doc, job, settings)
        row = row_from_document(plan_name, doc, outputs[1])
    except PlancheckError as exc:
        message = _public_message(str(exc), job, settings, plan_name)
        row = error_row(plan_name, exc.exit_code, message, type(exc).__name__)
    except OSError as exc:
        message = f"{exc.filename or job.path}: {exc.strerror or exc}"
        row = error_row(plan_name, EXIT_INPUT, _public_message(message, job, settings, plan_name), "OSError")
    except Exception as exc:  # the batch's last line of defence: record, never stop the batch
        message = f"internal error ({type(exc).__name__}: {exc}); please report it"
        row = error_row(plan_name, EXIT_INPUT, _public_message(message, job, settings, plan_name), "internal")
    return PlanResult(job.key, row, stamps, outputs, time.perf_counter() - started)
