"""``plancheck dvh``: DVH metrics of every structure of a plan or course."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from plancheck.cli.options import (
    end_caps_option,
    format_option,
    output_option,
    plan_dir_argument,
    strict_option,
)
from plancheck.cli.output import emit, terminal_safe


@click.command("dvh")
@plan_dir_argument
@click.option("--structure", "-s", "structures", multiple=True, help="Only this ROI (repeatable).")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    help="Add a TG-263 metric, e.g. 'V20Gy[cc]' or 'D0.03cc[EQD2Gy(a/b=2)]' (repeatable).",
)
@click.option("--plan", "plan_label", default=None, help="Evaluate only the plan with this label.")
@click.option(
    "--prescription-gy",
    type=float,
    default=None,
    help="Prescription for relative metrics (default: the plans' target prescriptions, summed).",
)
@format_option("table", "json", "csv")
@output_option
@click.option("--dvh-curves", is_flag=True, help="Add the cumulative curves (JSON; CSV in long form).")
@end_caps_option
@strict_option
@click.option(
    "--engine",
    type=click.Choice(["plancheck", "dicompyler"]),
    default="plancheck",
    show_default=True,
    help="'dicompyler' adds dicompyler-core's numbers (its defaults) beside plancheck's; "
    "needs plancheck[dicompyler].",
)
def dvh(
    plan_dir: str,
    structures: tuple[str, ...],
    metrics: tuple[str, ...],
    plan_label: str | None,
    prescription_gy: float | None,
    output_format: str,
    output: str | None,
    dvh_curves: bool,
    end_caps: str,
    strict: bool,
    lenient: bool,
    engine: str,
) -> None:
    """Compute DVHs and metrics for the plan (or course) in PLAN_DIR."""
    from plancheck.dvh.engine import DvhSettings
    from plancheck.dvh.metric import parse_metric
    from plancheck.dvh_report import DEFAULT_METRICS, compute_dvh_report
    from plancheck.model import EndCaps
    from plancheck.pipeline import load_single_course
    from plancheck.report import dvh_output

    for m in metrics:
        parse_metric(m)  # a bad metric is a usage error before any file is read
    wanted = list(DEFAULT_METRICS) + [m for m in metrics if m not in DEFAULT_METRICS]
    settings = DvhSettings(end_caps=EndCaps(end_caps))
    if strict and lenient:
        raise click.UsageError("--strict and --lenient exclude each other")
    course = load_single_course(Path(plan_dir), settings.end_caps, strict=strict, lenient=lenient)
    report = compute_dvh_report(
        course,
        wanted,
        structure_names=structures or None,
        plan_label=plan_label,
        prescription_gy=prescription_gy,
        settings=settings,
    )
    if engine == "dicompyler":
        from dataclasses import replace

        from plancheck.pipeline import dicompyler_comparison

        report = replace(
            report,
            comparison_engine="dicompyler-core",
            comparison=dicompyler_comparison(Path(plan_dir), report, wanted),
        )
    if output_format == "json":
        emit(dvh_output.render_json(report, curves=dvh_curves, source=str(plan_dir)), output)
    elif output_format == "csv":
        emit(dvh_output.render_csv(report, curves=dvh_curves), output)
    else:
        from rich.console import Console

        if output is None:
            # a pipe gets the whole table, not one cut to 80 columns
            console = Console(width=None if sys.stdout.isatty() else 200)
            console.print(dvh_output.render_table(report))
            for f in report.findings:
                console.print(f"[{f.severity.value}] {terminal_safe(f.message)}", markup=False, highlight=False)
        else:
            console = Console(record=True, width=200, file=io.StringIO())
            console.print(dvh_output.render_table(report))
            emit(console.export_text(), output)
