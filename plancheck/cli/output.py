"""Writing command output: to stdout, or atomically to a file (temporary file, then rename)."""

from __future__ import annotations

from pathlib import Path

import click


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`plancheck.batch.files.write_atomic`)."""
    from plancheck.batch.files import write_atomic  # tempfile: only when a file is written

    write_atomic(path, text)


def emit(text: str, output: str | None) -> None:
    """Print ``text`` or write it to ``output``."""
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(Path(output), text)
