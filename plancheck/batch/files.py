"""Writing outputs atomically (temporary file in the same folder, then rename), with the umask's mode.

A temporary file is created private (mode 0600, :func:`tempfile.mkstemp`);
before it replaces the output it gets the mode any other new file would get,
``0666`` less the process's umask, so that colleagues on a shared drive can
open reports and summaries as they can open every other file written there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["file_mode", "write_atomic"]


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, then put it back at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a new file under the current umask (``0o666 & ~umask``)."""
    return 0o666 & ~_umask()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that an interrupted run never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            os.fchmod(fh.fileno(), file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
