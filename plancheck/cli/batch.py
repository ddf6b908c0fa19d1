"""``plancheck batch``: evaluate every plan under a folder and summarise the exceptions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from plancheck.cli.common import PlancheckUsageError
from plancheck.cli.options import end_caps_option
from plancheck.cli.output import terminal_safe
from plancheck.cli.report import anonymize_key_from, anonymize_options

DEFAULT_OUTPUT = "plancheck-batch"


def _resolve_output(root: Path, output: str | None) -> Path:
    """The output folder; the default one may not lie inside ROOT (nothing is written there unasked)."""
    if output is not None:
        return Path(output).resolve()
    default = (Path.cwd() / DEFAULT_OUTPUT).resolve()
    if default == root or root in default.parents:
        raise PlancheckUsageError(
            f"the default output folder {default} would be inside ROOT; "
            "give --output DIR (outside ROOT, or inside it if that is what you want)"
        )
    return default


class _Progress:
    """A rich progress bar on a terminal; silent otherwise."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.bar: Any = None
        self.task: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[_Progress]:
        if not self.console.is_terminal:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("[bold]evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}", markup=False),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        ) as bar:
            self.bar = bar
            yield self
            self.bar = None

    def start(self, to_run: int, reused: int) -> None:
        if self.bar is not None:
            self.task = self.bar.add_task("plans", total=to_run, last="")
            if reused:
                self.console.print(f"{reused} unchanged plan(s) reused", highlight=False)

    def advance(self, row: dict[str, Any]) -> None:
        if self.bar is not None and self.task is not None:
            last = terminal_safe(f"{row.get('plan')}: {row.get('status')}")
            self.bar.update(self.task, advance=1, last=last)


@click.command("batch")
@click.argument("root", type=click.Path(exists=True, file_okay=False, dir_okay=True, readable=True))
@click.option(
    "--protocol",
    "protocol_name",
    default=None,
    help="Shipped protocol name or a YAML file for every plan (default: the one that fits each plan).",
)
@click.option("--aliases", type=click.Path(exists=True, dir_okay=False), default=None, help="Site aliases file (YAML).")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, dir_okay=True, writable=True),
    default=None,
    help=f"Folder for the reports and the summary (default: ./{DEFAULT_OUTPUT}, which may not be inside ROOT).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of cores); with --scheduler local, Dask workers.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS|local",
    help="Run on Dask distributed: a scheduler address, or 'local' to start a local cluster "
    "(needs plancheck[dask]). Workers must see ROOT and the output folder at the same paths.",
)
@click.option("--resume", is_flag=True, help="Skip plans whose files, protocol and settings are unchanged since the last run.")
@click.option("--pdf", is_flag=True, help="Also write a PDF report per plan (needs plancheck[pdf]).")
@click.option(
    "--priors",
    "priors_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Re-irradiation: a YAML file mapping plan folders to their prior course folders (and "
    "registration files, dates, recovery); see the README. Not with --resume.",
)
@anonymize_options
@end_caps_option
@click.pass_context
def batch(
    ctx: click.Context,
    root: str,
    protocol_name: str | None,
    aliases: str | None,
    output: str | None,
    jobs: int | None,
    scheduler: str | None,
    resume: bool,
    pdf: bool,
    anonymize: bool,
    anonymize_key: str | None,
    anonymize_keep_labels: bool,
    end_caps: str,
    priors_file: str | None,
) -> None:
    """Evaluate every course under ROOT and write per-course reports and a summary.

    Courses are found by their UIDs and references, wherever their files lie
    (links are followed inside ROOT only). Writes OUTPUT/run.json (in-progress,
    interrupted or complete), summary.csv, summary.jsonl and index.html
    (courses sorted by severity, linking to OUTPUT/plans/*.html). ROOT is only
    read. Exit status: the most severe of the courses (3 input error, not
    evaluated or a report not written, 2 protocol error, 1 a constraint
    fails, 0 all pass); 3 when ROOT holds no plan; 130/143 when interrupted.
    """
    from plancheck.batch.run import OVERVIEW_HTML, run_batch
    from plancheck.batch.task import BatchSettings

    root_path = Path(root).resolve()
    priors = None
    if priors_file is not None:
        from plancheck.reirradiation.batch_map import load_prior_map

        if resume:
            raise click.UsageError(
                "--priors and --resume exclude each other: a change in a prior course would not be seen"
            )
        priors = load_prior_map(Path(priors_file), root_path)
    key = anonymize_key_from(anonymize, anonymize_key, anonymize_keep_labels)
    settings = BatchSettings(
        root=root_path,
        output_dir=_resolve_output(root_path, output),
        protocol=protocol_name,
        aliases=Path(aliases).resolve() if aliases else None,
        end_caps=end_caps,
        anonymize_key=key,
        anonymize_keep_labels=anonymize_keep_labels,
        pdf=pdf,
        priors=priors,
    )
    progress = _Progress()
    with progress.running():
        outcome = run_batch(
            settings,
            workers=jobs,
            scheduler=scheduler,
            resume=resume,
            on_start=progress.start,
            on_result=progress.advance,
        )
    counts: dict[str, int] = {}
    for row in outcome.rows:
        counts[str(row["status"])] = counts.get(str(row["status"]), 0) + 1
    evaluated = sum(n for s, n in counts.items() if s != "skipped")
    text = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no plan found"
    if not evaluated:
        skipped = f" ({counts['skipped']} folder(s) without a plan)" if counts.get("skipped") else ""
        text = f"no plan found under {root_path}{skipped}: nothing was checked (empty or not mounted?)"
    reused = f" ({outcome.reused} unchanged, reused)" if outcome.reused else ""
    click.echo(
        terminal_safe(
            f"{text}{reused} in {outcome.seconds:.1f} s; summary: {outcome.output_dir / OVERVIEW_HTML}"
        )
    )
    ctx.exit(outcome.exit_code)
