"""A whole batch: discover the courses under a root, evaluate the new ones, write the summary.

Outputs (all inside the output folder, each written atomically, with the
umask's permissions)::

    run.json                       the run's state: in-progress, interrupted or complete
    summary.csv, summary.jsonl     one row per course, by severity then key (complete runs only)
    index.html                     the overview, linking to each course's report
    plans/<stem>.json|.html|.pdf   each course's evaluation document and report
    .plancheck-batch-state.json    what --resume needs (see plancheck.batch.resume)

A batch never shows a stale answer:

* at the start, ``run.json`` says *in-progress*, ``index.html`` says so in a
  banner (and lists the courses as they finish), and the previous
  ``summary.csv``/``summary.jsonl`` are removed: they describe the previous run;
* the reports of every course that is evaluated again, and of every course that
  has left the root, are removed before any work starts, so a report that is
  present was made from the files as they are (or reused from an unchanged
  course); a course that now errors has no report;
* at the end the summaries are written and ``run.json`` says *complete*; an
  interrupted run (Ctrl-C, SIGTERM) writes *interrupted* and an index saying
  its results are incomplete, after stopping every worker process. A run that
  was killed outright leaves *in-progress*, which the next run reports.

Nothing is written anywhere else; the root is only read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
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
from plancheck.batch.runner import interrupt_on_signals, run_jobs
from plancheck.batch.task import (
    PLANS_SUBDIR,
    BatchSettings,
    PlanJob,
    PlanResult,
    input_bytes,
    output_files,
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
RUN_STATUS = "run.json"
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
        "anonymize_keep_labels": settings.anonymize_keep_labels,
        "pdf": settings.pdf,
        "figure": settings.figure,
        "evaluate": None if evaluate is None else f"{evaluate.__module__}.{evaluate.__qualname__}",
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _lost(settings: BatchSettings, job: PlanJob, reason: str) -> PlanResult:
    name = job.stem if settings.anonymize_key is not None else job.key
    row = error_row(name, EXIT_INPUT, f"internal error: {reason}", "internal")
    return PlanResult(job.key, row, {}, (), 0.0)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Run:
    """The run's state in the output folder: run.json and the overview while it runs."""

    def __init__(self, output_dir: Path, root: str | None):
        self.output_dir = output_dir
        self.root = root
        self.started = _now()
        self.previous_state: str | None = None

    def _status(self, state: str, **extra: Any) -> None:
        data = {
            "kind": "plancheck-batch-run",
            "state": state,
            "started": self.started,
            "plancheck_version": __version__,
            "pid": os.getpid(),
            **extra,
        }
        write_atomic(self.output_dir / RUN_STATUS, json.dumps(data, indent=1) + "\n")

    def begin(self) -> None:
        try:
            old = json.loads((self.output_dir / RUN_STATUS).read_text(encoding="utf-8"))
            self.previous_state = str(old.get("state")) if isinstance(old, dict) else None
        except (OSError, ValueError):
            self.previous_state = None
        self._status("in-progress")
        for name in (SUMMARY_CSV, SUMMARY_JSONL):
            (self.output_dir / name).unlink(missing_ok=True)
        self.progress([], None)

    def progress(self, rows: list[dict[str, Any]], total: int | None, state: str = "in-progress") -> None:
        html = render_overview_html(
            sort_rows(rows), root=self.root, state=state, started=self.started, total=total
        )
        write_atomic(self.output_dir / OVERVIEW_HTML, html)

    def interrupted(self, rows: list[dict[str, Any]], total: int, state: str = "interrupted") -> None:
        self._status(state, finished=_now(), done=len(rows), total=total)
        self.progress(rows, total, state="interrupted")

    @contextlib.contextmanager
    def recording(self, rows: list[dict[str, Any]], total: Callable[[], int]) -> Iterator[None]:
        """Record the run as interrupted (Ctrl-C, SIGTERM) or failed (an error) if the block raises."""
        try:
            yield
        except BaseException as exc:
            self.interrupted(rows, total(), "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
            raise

    def complete(self, rows: list[dict[str, Any]], exit_code: int) -> None:
        write_atomic(self.output_dir / SUMMARY_CSV, render_csv(rows))
        write_atomic(self.output_dir / SUMMARY_JSONL, render_jsonl(rows))
        self.progress(rows, None, state="complete")
        counts: dict[str, int] = {}
        for r in rows:
            counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
        self._status("complete", finished=_now(), exit_code=exit_code, counts=counts)


def _remove_strays(output_dir: Path, stems: set[str]) -> None:
    """Remove reports in ``plans/`` that belong to no current course (left over by a killed run)."""
    folder = output_dir / PLANS_SUBDIR
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.suffix in (".json", ".html", ".pdf") and path.is_file() and path.stem not in stems:
            path.unlink(missing_ok=True)


def _remove_outputs(output_dir: Path, outputs: list[str]) -> None:
    """Remove report files (paths relative to the output folder, never outside it)."""
    for rel in outputs:
        path = (output_dir / rel).resolve()
        if output_dir in path.parents:
            path.unlink(missing_ok=True)


def run_batch(
    settings: BatchSettings,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchOutcome:
    """Evaluate every course under ``settings.root``.

    Parameters
    ----------
    settings : BatchSettings
        Root, output folder, protocol and report options.
    workers, scheduler
        Parallelism, see :func:`plancheck.batch.runner.run_jobs`.
    resume : bool
        Reuse the results of courses whose inputs and settings did not change.
    on_start : callable, optional
        Called with (courses to evaluate, courses reused) before the work starts.
    on_result : callable, optional
        Called with each evaluated course's row as it finishes.

    Raises
    ------
    InputError
        When the root is not a folder.
    ProtocolError
        When the given protocol is invalid (before any course runs).
    MissingDependencyError
        When PDF reports are asked for and WeasyPrint cannot be loaded (before any course runs).
    KeyboardInterrupt
        When interrupted (Ctrl-C, or :class:`~plancheck.batch.runner.Terminated` for SIGTERM),
        after stopping the workers and recording the run as interrupted.
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
    if settings.pdf:
        from plancheck.report.pdf import check_pdf_available

        check_pdf_available()  # before any work: never a batch of errors for a missing extra
    _check_output_folder(output_dir)
    run = _Run(output_dir, None if pseudo else str(root))
    rows: list[dict[str, Any]] = []
    jobs: list[PlanJob] = []
    counted: dict[str, int] = {}
    with interrupt_on_signals(), run.recording(rows, lambda: counted.get("total", len(rows))):
        run.begin()
        discovery = discover_plans(root, exclude=[output_dir])
        state = read_state(output_dir, name=name)
        new_state = BatchState(name=name)

        rows.extend(skipped_row(s.key if pseudo is None else name(s.key), s.reason) for s in discovery.skipped)
        if run.previous_state == "in-progress":
            rows.append(
                skipped_row(
                    "(previous run)",
                    "the previous batch run in this output folder did not finish (it was killed); "
                    "this run replaces its partial results",
                )
            )
        keys = [p.key for p in discovery.plans]
        _remove_outputs(output_dir, state.outputs_except(keys))  # courses that left the root
        _remove_strays(output_dir, {output_stem(k, pseudo) for k in keys})
        reused = 0
        for plan in discovery.plans:
            stem = output_stem(plan.key, pseudo)
            known = state.stamps_for(plan.key, plan.files)
            if resume:
                try:
                    known = stamp_files(root, plan.files, known)
                except OSError:
                    known = {}
                row = state.reusable_row(plan.key, digest_inputs(known), fingerprint, output_dir) if known else None
                if row is not None:
                    row["reused"] = True
                    rows.append(row)
                    new_state.record(plan.key, known, fingerprint, row, state.outputs_of(plan.key))
                    reused += 1
                    continue
            # evaluated again: its old reports go now, so none outlives an error or a kill
            _remove_outputs(output_dir, [*state.outputs_of(plan.key), *output_files(stem, pdf=True)])
            jobs.append(PlanJob(plan.key, plan.path, plan.files, stem, known, plan.identifying))
        total = counted["total"] = len(rows) + len(jobs)
        write_atomic(output_dir / STATE_FILE, new_state.to_json())
        run.progress(rows, total)
        if on_start is not None:
            on_start(len(jobs), reused)

        last_save = time.monotonic()

        def collect(result: PlanResult) -> None:
            nonlocal last_save
            new_state.record(result.key, result.stamps, fingerprint, result.row, result.outputs)
            rows.append(result.row)
            if on_result is not None:
                on_result(result.row)
            if time.monotonic() - last_save > STATE_SAVE_INTERVAL_S:
                write_atomic(output_dir / STATE_FILE, new_state.to_json())
                run.progress(rows, total)
                last_save = time.monotonic()

        # largest inputs first: the last plan to finish is a small one, so no worker idles long
        jobs.sort(key=input_bytes, reverse=True)
        try:
            run_jobs(
                jobs,
                functools.partial(run_plan, settings=settings),
                on_lost=functools.partial(_lost, settings),
                workers=workers,
                scheduler=scheduler,
                on_result=collect,
                initializer=functools.partial(warm_up, settings.figure),
            )
        finally:
            write_atomic(output_dir / STATE_FILE, new_state.to_json())
        done = sort_rows(rows)
        # nothing to check (an empty or unmounted ROOT) is never a success
        exit_code = batch_exit_code(done) if discovery.plans else EXIT_INPUT
        run.complete(done, exit_code)
    return BatchOutcome(
        rows=tuple(done),
        exit_code=exit_code,
        evaluated=len(jobs),
        reused=reused,
        output_dir=output_dir,
        seconds=time.perf_counter() - started,
    )

