"""Writing command output: to stdout, or atomically to a file (temporary file, then rename).

Text shown on a terminal never carries an escape sequence from a DICOM file:
:func:`emit` passes it through :func:`terminal_safe` when standard output is
a terminal (files and pipes get the text as it is).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from plancheck.report.terminal import terminal_safe

__all__ = ["emit", "terminal_safe", "write_text_atomic"]


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`plancheck.batch.files.write_atomic`)."""
    from plancheck.batch.files import write_atomic  # tempfile: only when a file is written

    write_atomic(path, text)


def emit(text: str, output: str | None) -> None:
    """Print ``text`` (terminal-safe on a terminal) or write it to ``output``."""
    if output is None:
        click.echo(terminal_safe(text) if sys.stdout.isatty() else text, nl=False)
    else:
        write_text_atomic(Path(output), text)
