"""``plancheck evaluate``: does a plan or course meet its protocol?"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click

from plancheck.cli.options import (
    course_options,
    end_caps_option,
    output_option,
    plan_dir_argument,
    strict_option,
)
from plancheck.cli.output import emit, write_text_atomic
from plancheck.cli.reirradiation import prior_options, prior_request
from plancheck.cli.report import anonymize_key_from, anonymize_options


@click.command("evaluate")
@plan_dir_argument
@click.option("--protocol", "protocol_name", default=None, help="Shipped protocol name or a YAML file (default: the one that fits).")
@click.option("--aliases", type=click.Path(exists=True, dir_okay=False), default=None, help="Site aliases file (YAML).")
@course_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv", "html", "pdf"]),
    default="table",
    show_default=True,
)
@output_option
@anonymize_options
@click.option(
    "--accept-mismatch",
    is_flag=True,
    help="Evaluate even though the plans do not fit the protocol's dose levels (fraction counts, "
    "fraction groups, plan count, prescriptions); recorded in the report. Without it such a course "
    "is not evaluable (exit 3).",
)
@end_caps_option
@strict_option
@prior_options
@click.pass_context
def evaluate(
    ctx: click.Context,
    plan_dir: str,
    protocol_name: str | None,
    aliases: str | None,
    plans: tuple[str, ...],
    course_mode: str,
    fractions: int | None,
    output_format: str,
    output: str | None,
    anonymize: bool,
    anonymize_key: str | None,
    anonymize_keep_labels: bool,
    accept_mismatch: bool,
    end_caps: str,
    strict: bool,
    lenient: bool,
    prior_dirs: tuple[str, ...],
    registrations: tuple[str, ...],
    prior_dates: tuple[str, ...],
    prior_recovery: float,
) -> None:
    """Check the plan (or course) in PLAN_DIR against a protocol.

    Re-irradiation: --prior PRIOR_DIR adds a prior course, registered to this one
    by a Spatial Registration found in either folder or given with --registration.

    Exit status: 0 every graded constraint was evaluated and met its goal (or
    its acceptable variation: WARN), 1 a constraint fails, 2 usage or protocol
    error (also: no protocol could be chosen), 3 input error, input in doubt,
    plans that do not fit the protocol, or constraints not evaluated.
    """
    from plancheck.pipeline import evaluate_plan

    if strict and lenient:
        raise click.UsageError("--strict and --lenient exclude each other")
    if output_format == "pdf" and output is None:
        raise click.UsageError("--format pdf needs --output FILE")
    key = anonymize_key_from(anonymize, anonymize_key, anonymize_keep_labels)
    priors = prior_request(prior_dirs, registrations, prior_dates, prior_recovery)
    doc = evaluate_plan(
        Path(plan_dir),
        protocol_name,
        aliases=Path(aliases) if aliases else None,
        plans=plans,
        course=course_mode,
        fractions=fractions,
        end_caps=end_caps,
        curves=output_format in ("json", "html", "pdf"),
        strict=strict,
        lenient=lenient,
        accept_mismatch=accept_mismatch,
        priors=priors,
    )
    if key is not None:
        from plancheck.report.anonymize import anonymize_document

        doc = anonymize_document(doc, key, keep_labels=anonymize_keep_labels)
    if output_format == "json":
        emit(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", output)
    elif output_format == "csv":
        from plancheck.report.evaluation_text import render_evaluation_csv

        emit(render_evaluation_csv(doc), output)
    elif output_format == "html":
        from plancheck.report.html import render_html

        emit(render_html(doc), output)
    elif output_format == "pdf":
        from plancheck.report.html import render_html
        from plancheck.report.pdf import render_pdf

        assert output is not None
        write_text_atomic(Path(output), render_pdf(render_html(doc)))
    else:
        from rich.console import Console

        from plancheck.report.evaluation_text import render_evaluation_table

        console = (
            Console(width=None if sys.stdout.isatty() else 200)
            if output is None
            else Console(record=True, width=160, file=io.StringIO())
        )
        for item in render_evaluation_table(doc):
            console.print(item)
        if output is not None:
            emit(console.export_text(), output)
    ctx.exit(int(doc["summary"]["exit_code"]))
