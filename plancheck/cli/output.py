"""Writing command output: to stdout, or atomically to a file (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` so that an interrupted run never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(text: str, output: str | None) -> None:
    """Print ``text`` or write it to ``output``."""
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(Path(output), text)
