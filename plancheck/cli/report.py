"""``plancheck report``: render a saved evaluation document as HTML, PDF or (anonymised) JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from plancheck.cli.common import PlancheckUsageError
from plancheck.cli.output import emit, write_text_atomic

__all__ = ["anonymize_key_from", "anonymize_options", "report", "write_report"]

F = TypeVar("F", bound=Callable[..., Any])


def anonymize_options(f: F) -> F:
    """``--anonymize``, ``--anonymize-key FILE`` and ``--anonymize-keep-labels`` (report, evaluate, batch)."""
    f = click.option(
        "--anonymize-keep-labels",
        "anonymize_keep_labels",
        is_flag=True,
        help="With --anonymize: keep plan and structure-set labels readable (any patient name, ID "
        "or date inside them is still replaced). Off by default.",
    )(f)
    f = click.option(
        "--anonymize-key",
        "anonymize_key",
        type=click.Path(dir_okay=False),
        default=None,
        help="Secret key file for the pseudonyms (default: $PLANCHECK_ANONYMIZE_KEY, else "
        "~/.config/plancheck/anonymize.key, created on first use). The same key gives the same pseudonyms.",
    )(f)
    return click.option(
        "--anonymize",
        is_flag=True,
        help="Replace every identifying value (patient, labels, people, institution, dates, UIDs, "
        "file and folder names) with stable pseudonyms in every output; clinical text is kept.",
    )(f)


def anonymize_key_from(anonymize: bool, key_file: str | None, keep_labels: bool = False) -> bytes | None:
    """The key to anonymise with, or ``None`` when not anonymising."""
    if key_file is not None and not anonymize:
        raise PlancheckUsageError("--anonymize-key is only used with --anonymize")
    if keep_labels and not anonymize:
        raise PlancheckUsageError("--anonymize-keep-labels is only used with --anonymize")
    if not anonymize:
        return None
    from plancheck.report.anonymize import load_or_create_key

    return load_or_create_key(Path(key_file) if key_file else None)


def write_report(
    doc: dict[str, Any],
    output_format: str,
    output: str | None,
    key: bytes | None,
    *,
    keep_labels: bool = False,
) -> None:
    """Render ``doc`` (anonymised first when ``key`` is given) and write it, atomically, or to stdout.

    ``output_format`` is ``"html"``, ``"pdf"`` or ``"json"``. A PDF goes to
    standard output only when that is not a terminal.
    """
    if key is not None:
        from plancheck.report.anonymize import anonymize_document

        doc = anonymize_document(doc, key, keep_labels=keep_labels)
    if output_format == "json":
        emit(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", output)
        return
    from plancheck.report.html import render_html

    html = render_html(doc)
    if output_format == "html":
        emit(html, output)
        return
    from plancheck.report.pdf import render_pdf

    if output is None and sys.stdout.isatty():
        raise PlancheckUsageError("a PDF is not shown on a terminal: give --output FILE.pdf")
    pdf = render_pdf(html)
    if output is None:
        sys.stdout.buffer.write(pdf)
    else:
        write_text_atomic(Path(output), pdf)


@click.command("report")
@click.argument("evaluation", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["html", "pdf", "json"]),
    default="html",
    show_default=True,
    help="html: one self-contained page; pdf: the same page for the record; json: the document itself.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file (atomically) instead of standard output.",
)
@anonymize_options
def report(
    evaluation: str,
    output_format: str,
    output: str | None,
    anonymize: bool,
    anonymize_key: str | None,
    anonymize_keep_labels: bool,
) -> None:
    """Render the evaluation document EVALUATION (from 'plancheck evaluate --format json').

    The report shows the document's numbers. Each status is first recomputed
    from its value, goal and acceptable variation, and the summary from the
    statuses: a document whose statuses disagree (edited by hand) is refused
    (exit 3).
    """
    from plancheck.errors import InputError
    from plancheck.protocol.recheck import recheck_document
    from plancheck.report.document import read_evaluation_document

    key = anonymize_key_from(anonymize, anonymize_key, anonymize_keep_labels)
    doc = read_evaluation_document(Path(evaluation))
    problems = recheck_document(doc)
    if problems:
        listed = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise InputError(
            f"the document's statuses disagree with its own values and goals: {listed}",
            path=evaluation,
            hint="Re-run 'plancheck evaluate' to get a document plancheck wrote; edited statuses are "
            "never rendered.",
        )
    write_report(doc, output_format, output, key, keep_labels=anonymize_keep_labels)
