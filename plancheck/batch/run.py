"""A whole batch: discover the plans under a root, evaluate the new ones, write the summary.

Outputs (all inside the output folder, each written atomically)::

    summary.csv, summary.jsonl     one row per plan folder, by severity then key
    index.html                     the overview, linking to each plan's report
    plans/<stem>.json|.html|.pdf   each plan's evaluation document and report
    .plancheck-batch-state.json    what --resume needs (see plancheck.batch.resume)

Nothing is written anywhere else; the root is only read.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plancheck import __version__
from plancheck.batch.discover import discover_plans
from plancheck.batch.files import write_atomic
from plancheck.batch.resume import (
    STATE_FILE,
    BatchState,
    digest_inputs,
    hash_file,
    read_state,
    stamp_files,
)
from plancheck.batch.runner import run_jobs
from plancheck.batch.task import (
    BatchSettings,
    PlanJob,
    PlanResult,
    input_bytes,
    output_stem,
    run_plan,
    warm_up,
)
from plancheck.errors import EXIT_INPUT, EXIT_USAGE, InputError, PlancheckError
from plancheck.report.anonymize import Pseudonymizer
from plancheck.report.summary import (
    batch_exit_code,
    error_row,
    render_csv,
    render_jsonl,
    render_overview_html,
    skipped_row,
    sort_rows,
)

__all__ = ["BatchOutcome", "OutputFolderError", "protocol_fingerprint", "run_batch", "run_fingerprint"]

SUMMARY_CSV = "summary.csv"
SUMMARY_JSONL = "summary.jsonl"
OVERVIEW_HTML = "index.html"
STATE_SAVE_INTERVAL_S = 10.0


class OutputFolderError(PlancheckError):
    """The output folder cannot be made or written (a usage error, exit 2)."""

    exit_code = EXIT_USAGE


def _check_output_folder(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write to the output folder: {exc.strerror}",
            path=output_dir,
            hint="Give --output a folder you can write to.",
        ) from exc


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch did: the summary rows (sorted) and its exit status."""

    rows: tuple[dict[str, Any], ...]
    exit_code: int
    evaluated: int
    reused: int
    output_dir: Path
    seconds: float


def protocol_fingerprint(protocol: str | None) -> str:
    """SHA-256 naming the protocol(s) a batch may use.

    A given protocol (file or shipped name) is loaded and validated here, so an
    invalid protocol stops the batch before any plan runs; without one, every
    shipped protocol can be selected, so all of them count.
    """
    from plancheck.protocol.registry import find_protocol, load_all_shipped

    if protocol is not None:
        return find_protocol(protocol).sha256
    h = hashlib.sha256()
    for loaded in sorted(load_all_shipped(), key=lambda p: p.name):
        h.update(f"{loaded.name}\0{loaded.sha256}\n".encode())
    return h.hexdigest()


def run_fingerprint(settings: BatchSettings) -> str:
    """SHA-256 of everything besides the input files that a plan's results depend on."""
    evaluate = settings.evaluate
    data = {
        "plancheck": __version__,
        "protocol": protocol_fingerprint(settings.protocol),
        "aliases": None if settings.aliases is None else hash_file(settings.aliases),
        "end_caps": settings.end_caps,
        "anonymize": None
        if settings.anonymize_key is None
        else Pseudonymizer(settings.anonymize_key).fingerprint,
        "pdf": settings.pdf,
        "figure": settings.figure,
        "evaluate": None if evaluate is None else f"{evaluate.__module__}.{evaluate.__qualname__}",
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _lost(settings: BatchSettings, job: PlanJob, reason: str) -> PlanResult:
    name = job.stem if settings.anonymize_key is not None else job.key
    row = error_row(name, EXIT_INPUT, f"internal error: {reason}", "internal")
    return PlanResult(job.key, row, {}, (), 0.0)


def run_batch(
    settings: BatchSettings,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchOutcome:
    """Evaluate every plan folder under ``settings.root``.

    Parameters
    ----------
    settings : BatchSettings
        Root, output folder, protocol and report options.
    workers, scheduler
        Parallelism, see :func:`plancheck.batch.runner.run_jobs`.
    resume : bool
        Reuse the results of plans whose inputs and settings did not change.
    on_start : callable, optional
        Called with (plans to evaluate, plans reused) before the work starts.
    on_result : callable, optional
        Called with each evaluated plan's row as it finishes.

    Raises
    ------
    InputError
        When the root is not a folder.
    ProtocolError
        When the given protocol is invalid (before any plan runs).
    """
    started = time.perf_counter()
    root = Path(settings.root).resolve()
    if not root.is_dir():
        raise InputError("the batch root is not a folder", path=settings.root)
    output_dir = Path(settings.output_dir).resolve()
    settings = dataclasses.replace(settings, root=root, output_dir=output_dir)
    pseudo = None if settings.anonymize_key is None else Pseudonymizer(settings.anonymize_key)

    def name(text: str) -> str:
        return text if pseudo is None else pseudo.text("path", text)

    fingerprint = run_fingerprint(settings)
    _check_output_folder(output_dir)
    discovery = discover_plans(root, exclude=[output_dir])
    state = read_state(output_dir, name=name)
    new_state = BatchState(name=name)

    rows: list[dict[str, Any]] = [
        skipped_row(s.key if pseudo is None else name(s.key), s.reason) for s in discovery.skipped
    ]
    jobs: list[PlanJob] = []
    reused = 0
    for plan in discovery.plans:
        stem = output_stem(plan.key, pseudo)
        known = state.stamps_for(plan.key, plan.files)
        if resume:
            try:
                known = stamp_files(plan.path, plan.files, known)
            except OSError:
                known = {}
            row = state.reusable_row(plan.key, digest_inputs(known), fingerprint, output_dir) if known else None
            if row is not None:
                row["reused"] = True
                rows.append(row)
                new_state.record(plan.key, known, fingerprint, row, _outputs_of(row, stem, settings))
                reused += 1
                continue
        jobs.append(PlanJob(plan.key, plan.path, plan.files, stem, known))
    if on_start is not None:
        on_start(len(jobs), reused)

    last_save = time.monotonic()

    def collect(result: PlanResult) -> None:
        nonlocal last_save
        new_state.record(result.key, result.stamps, fingerprint, result.row, result.outputs)
        if on_result is not None:
            on_result(result.row)
        if time.monotonic() - last_save > STATE_SAVE_INTERVAL_S:
            write_atomic(output_dir / STATE_FILE, new_state.to_json())
            last_save = time.monotonic()

    # largest inputs first: the last plan to finish is a small one, so no worker idles long
    jobs.sort(key=input_bytes, reverse=True)
    results = run_jobs(
        jobs,
        functools.partial(run_plan, settings=settings),
        on_lost=functools.partial(_lost, settings),
        workers=workers,
        scheduler=scheduler,
        on_result=collect,
        initializer=functools.partial(warm_up, settings.figure),
    )
    rows.extend(r.row for r in results)
    rows = sort_rows(rows)
    write_atomic(output_dir / SUMMARY_CSV, render_csv(rows))
    write_atomic(output_dir / SUMMARY_JSONL, render_jsonl(rows))
    write_atomic(
        output_dir / OVERVIEW_HTML, render_overview_html(rows, root=None if pseudo else str(root))
    )
    write_atomic(output_dir / STATE_FILE, new_state.to_json())
    return BatchOutcome(
        rows=tuple(rows),
        exit_code=batch_exit_code(rows),
        evaluated=len(jobs),
        reused=reused,
        output_dir=output_dir,
        seconds=time.perf_counter() - started,
    )


def _outputs_of(row: dict[str, Any], stem: str, settings: BatchSettings) -> list[str]:
    if not row.get("report"):
        return []
    base = f"plans/{stem}"
    return [f"{base}.json", f"{base}.html", *([f"{base}.pdf"] if settings.pdf else [])]
