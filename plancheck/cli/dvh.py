"""``plancheck dvh``: DVH metrics of every structure of a plan or course."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click

from plancheck.cli.options import (
    course_options,
    end_caps_option,
    format_option,
    output_option,
    plan_dir_argument,
    strict_option,
)
from plancheck.cli.output import emit


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
@course_options
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
    plans: tuple[str, ...],
    course_mode: str,
    fractions: int | None,
    prescription_gy: float | None,
    output_format: str,
    output: str | None,
    dvh_curves: bool,
    end_caps: str,
    strict: bool,
    lenient: bool,
    engine: str,
) -> None:
    """Compute DVHs and metrics for the plan (or course) in PLAN_DIR.

    Plans that are not summed (alternatives, plans whose relationship is
    unknown) get one report each.
    """
    from plancheck.dvh.engine import DvhSettings
    from plancheck.dvh.metric import parse_metric
    from plancheck.dvh_report import DEFAULT_METRICS, compute_dvh_report
    from plancheck.model import EndCaps
    from plancheck.pipeline import CourseSelection, load_folder_courses
    from plancheck.report import dvh_output

    for m in metrics:
        parse_metric(m)  # a bad metric is a usage error before any file is read
    wanted = list(DEFAULT_METRICS) + [m for m in metrics if m not in DEFAULT_METRICS]
    settings = DvhSettings(end_caps=EndCaps(end_caps))
    if strict and lenient:
        raise click.UsageError("--strict and --lenient exclude each other")
    selection = CourseSelection("all" if course_mode == "all" else "auto", plans)
    courses = load_folder_courses(
        Path(plan_dir),
        settings.end_caps,
        strict=strict,
        lenient=lenient,
        selection=selection,
        fractions=fractions,
    )
    reports = []
    for course in courses:
        report = compute_dvh_report(
            course,
            wanted,
            structure_names=structures or None,
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
        reports.append(report)
    if len(reports) > 1:
        _emit_several(reports, output_format, output, dvh_curves, plan_dir)
        return
    (report,) = reports
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
                console.print(f"[{f.severity.value}] {f.message}", markup=False, highlight=False)
        else:
            console = Console(record=True, width=200, file=io.StringIO())
            console.print(dvh_output.render_table(report))
            emit(console.export_text(), output)


def _emit_several(
    reports: list, output_format: str, output: str | None, curves: bool, plan_dir: str
) -> None:
    """Several courses (plans not summed): one report each, in one output."""
    import csv
    import json

    from plancheck.report import dvh_output

    def title(report) -> str:  # type: ignore[no-untyped-def]
        return " + ".join(p.label for p in report.plans)

    if output_format == "json":
        docs = [dvh_output.to_document(r, curves=curves, source=plan_dir) for r in reports]
        doc = {"schema_version": "1.0", "kind": "plancheck-dvh-reports", "reports": docs}
        emit(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", output)
    elif output_format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for k, r in enumerate(reports):
            rows = list(csv.reader(io.StringIO(dvh_output.render_csv(r, curves=curves))))
            for j, row in enumerate(rows):
                if j == 0 and k > 0:
                    continue
                w.writerow(["plans" if j == 0 else title(r), *row])
        emit(buf.getvalue(), output)
    else:
        from rich.console import Console

        to_file = output is not None
        console = (
            Console(record=True, width=200, file=io.StringIO())
            if to_file
            else Console(width=None if sys.stdout.isatty() else 200)
        )
        for r in reports:
            console.print(dvh_output.render_table(r))
            for f in r.findings:
                console.print(f"[{f.severity.value}] {f.message}", markup=False, highlight=False)
            console.print("")
        if to_file:
            emit(console.export_text(), output)
