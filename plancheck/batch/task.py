"""One course of a batch: evaluate it, write its reports, return its summary row.

:func:`run_plan` runs in a worker process (or a Dask worker): it writes the
course's outputs itself, so rendering runs in parallel too and only a small
row travels back. It never raises: a course's error becomes its row, so one
bad course never stops a batch. The evaluation outcome and the writing of the
reports are recorded separately: a report that cannot be written (a PDF
without WeasyPrint) is ``report_error`` in the row, and the row keeps the
evaluation's status, so a failing cord is never hidden behind a report error.
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
from plancheck.report.anonymize import Identity, Pseudonymizer, Scrubber, anonymize_document
from plancheck.report.document import check_evaluation_document
from plancheck.report.summary import error_row, row_from_document

__all__ = ["BatchSettings", "PlanJob", "PlanResult", "input_bytes", "output_stem", "run_plan", "warm_up"]

EvaluateFunction = Callable[..., dict[str, Any]]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
PLANS_SUBDIR = "plans"


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs, picklable (``evaluate`` must be a module-level function).

    ``evaluate`` defaults to :func:`plancheck.pipeline.evaluate_plan`; it is
    called as ``evaluate(folder, protocol, aliases=, end_caps=, files=)``.
    """

    root: Path
    output_dir: Path
    protocol: str | None = None
    aliases: Path | None = None
    end_caps: str = EndCaps.AUTO.value
    anonymize_key: bytes | None = None
    anonymize_keep_labels: bool = False
    pdf: bool = False
    figure: bool = True
    evaluate: EvaluateFunction | None = None
    # re-irradiation: plan folder (relative to root, POSIX) -> its prior courses (--priors MAPPING)
    priors: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PlanJob:
    """A course to evaluate: its key, folder, files (relative to the root) and output file stem.

    ``known`` holds the file stamps known so far; ``identifying`` the
    identifying header values of its files (for anonymised error messages).
    """

    key: str
    path: Path
    files: tuple[str, ...]
    stem: str
    known: Mapping[str, FileStamp] = field(default_factory=dict)
    identifying: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class PlanResult:
    key: str
    row: dict[str, Any]
    stamps: dict[str, FileStamp]
    outputs: tuple[str, ...]
    seconds: float


def output_stem(key: str, pseudonymizer: Pseudonymizer | None = None) -> str:
    """A file-name stem for a course's outputs: readable, collision-free, or a pseudonym."""
    if pseudonymizer is not None:
        return pseudonymizer.text("plan", key)
    import hashlib

    readable = _UNSAFE.sub("_", key.replace("/", "__")).strip("._")[:80] or "root"
    return f"{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"


def output_files(stem: str, pdf: bool) -> tuple[str, ...]:
    """The outputs a course's reports are written to, relative to the output folder."""
    base = f"{PLANS_SUBDIR}/{stem}"
    return (f"{base}.json", f"{base}.html", *((f"{base}.pdf",) if pdf else ()))


def _evaluate_function(settings: BatchSettings) -> EvaluateFunction:
    if settings.evaluate is not None:
        return settings.evaluate
    from plancheck.pipeline import evaluate_plan

    fn: EvaluateFunction = evaluate_plan
    return fn


def _public_message(text: str, job: PlanJob, settings: BatchSettings, plan_name: str) -> str:
    """An error message with input paths shortened, and every identifying value replaced when anonymising."""
    if settings.anonymize_key is not None:
        identity = Identity.from_attributes(
            job.identifying, paths=[str(settings.root / f) for f in job.files]
        )
        identity.add_path(str(job.path), folder=True)
        identity.add_path(str(settings.root), folder=True)
        return Scrubber(identity, Pseudonymizer(settings.anonymize_key)).text(text)
    return text.replace(str(job.path), plan_name).replace(str(settings.root), "<root>")


def _write_outputs(doc: dict[str, Any], job: PlanJob, settings: BatchSettings) -> tuple[tuple[str, ...], str | None]:
    """Write the document, the HTML and (if asked for) the PDF; never raises.

    Returns the files written and, when one could not be written, why.
    """
    json_file, html_file, *pdf_file = output_files(job.stem, settings.pdf)
    written: list[str] = []
    try:
        compact = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"  # curves make it large
        write_atomic(settings.output_dir / json_file, compact)
        written.append(json_file)
        from plancheck.report.html import render_html

        html = render_html(doc, figure=settings.figure)
        write_atomic(settings.output_dir / html_file, html)
        written.append(html_file)
        if pdf_file:
            from plancheck.report.pdf import render_pdf

            write_atomic(settings.output_dir / pdf_file[0], render_pdf(html))
            written.append(pdf_file[0])
    except PlancheckError as exc:
        return tuple(written), f"the report was not written: {exc}"
    except OSError as exc:
        return tuple(written), f"the report was not written: {exc.filename or ''}: {exc.strerror or exc}"
    except Exception as exc:  # a bug in rendering: the evaluation outcome still stands
        return tuple(written), f"the report was not written (internal error {type(exc).__name__}: {exc})"
    return tuple(written), None


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
    """Evaluate one course and write its outputs; never raises."""
    started = time.perf_counter()
    pseudo = Pseudonymizer(settings.anonymize_key) if settings.anonymize_key is not None else None
    plan_name = job.stem if pseudo is not None else job.key
    stamps: dict[str, FileStamp] = {}
    outputs: tuple[str, ...] = ()
    try:
        stamps = stamp_files(settings.root, job.files, job.known)
        extra: dict[str, Any] = {}
        if settings.priors:
            from plancheck.reirradiation.batch_map import prior_request_for

            request = prior_request_for(settings.priors, job.path, settings.root)
            if request is not None:
                extra["priors"] = request
        doc = _evaluate_function(settings)(
            job.path,
            settings.protocol,
            aliases=settings.aliases,
            end_caps=EndCaps(settings.end_caps),
            files=[settings.root / f for f in job.files],
            **extra,
        )
        doc = check_evaluation_document(doc, plan_name)
        if settings.anonymize_key is not None:
            doc = anonymize_document(doc, settings.anonymize_key, keep_labels=settings.anonymize_keep_labels)
    except PlancheckError as exc:
        message = _public_message(str(exc), job, settings, plan_name)
        row = error_row(plan_name, exc.exit_code, message, type(exc).__name__)
    except OSError as exc:
        message = f"{exc.filename or job.path}: {exc.strerror or exc}"
        row = error_row(plan_name, EXIT_INPUT, _public_message(message, job, settings, plan_name), "OSError")
    except Exception as exc:  # the batch's last line of defence: record, never stop the batch
        message = f"internal error ({type(exc).__name__}: {exc}); please report it"
        row = error_row(plan_name, EXIT_INPUT, _public_message(message, job, settings, plan_name), "internal")
    else:
        outputs, report_error = _write_outputs(doc, job, settings)
        html_file = output_files(job.stem, settings.pdf)[1]
        row = row_from_document(plan_name, doc, html_file if html_file in outputs else None)
        if report_error is not None:
            row["report_error"] = _public_message(report_error, job, settings, plan_name)
    return PlanResult(job.key, row, stamps, outputs, time.perf_counter() - started)
