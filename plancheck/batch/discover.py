"""Finding the plan folders under a batch root, reading at most 132 bytes of each file.

A *plan folder* is the top-most folder that holds DICOM files itself:
everything below it belongs to it, as ``plancheck evaluate`` reads a folder
recursively. A file is DICOM when it carries the Part-10 marker (``DICM``
after the 128-byte preamble) or starts with a group 0002/0008 element in
little-endian byte order (files written without a preamble). Folders that
hold files but no DICOM file, and nothing below them that does, are listed as
skipped ("not a plan"), never as errors. Symbolic links to folders are not
followed (no loops); folders that cannot be read are listed with the reason.
Nothing is opened for writing, and pixel data is never read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Discovery", "PlanFolder", "SkippedFolder", "discover_plans", "is_dicom_file"]

_PREAMBLE = 128
# little-endian (group, element) starts of DICOM data sets written without a preamble
_RAW_STARTS = (b"\x02\x00\x00\x00", b"\x02\x00\x01\x00", b"\x08\x00\x05\x00", b"\x08\x00\x08\x00", b"\x08\x00\x16\x00")


@dataclass(frozen=True)
class PlanFolder:
    """A folder to evaluate: ``key`` is its POSIX path relative to the root (``"."`` for the root)."""

    key: str
    path: Path
    files: tuple[str, ...]  # every regular file below ``path``, relative POSIX paths, sorted


@dataclass(frozen=True)
class SkippedFolder:
    key: str
    reason: str


@dataclass(frozen=True)
class Discovery:
    plans: tuple[PlanFolder, ...]
    skipped: tuple[SkippedFolder, ...]


def is_dicom_file(path: Path) -> bool:
    """True when the file starts like a DICOM file (reads at most 132 bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PREAMBLE + 4)
    except OSError:
        return False
    if len(head) >= _PREAMBLE + 4 and head[_PREAMBLE:] == b"DICM":
        return True
    return head[:4] in _RAW_STARTS


def _key(root: Path, folder: Path) -> str:
    rel = folder.relative_to(root)
    return "." if rel == Path(".") else PurePosixPath(*rel.parts).as_posix()


def _inside(path: Path, others: Iterable[Path]) -> bool:
    return any(path == o or o in path.parents for o in others)


def discover_plans(root: Path, *, exclude: Iterable[Path] = ()) -> Discovery:
    """The plan folders under ``root`` and the folders skipped, both sorted by key.

    Parameters
    ----------
    root : Path
        The folder to search.
    exclude : paths
        Folders not to search (the batch's own output folder when it lies under ``root``).
    """
    root = Path(root).resolve()
    excluded = [Path(e).resolve() for e in exclude]
    has_dicom: dict[Path, bool] = {}
    has_files: dict[Path, list[str]] = {}
    unreadable: list[SkippedFolder] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        unreadable.append(SkippedFolder(_key(root, where), f"cannot be read: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _inside(here / d, excluded))
        if _inside(here, excluded):
            continue
        files = sorted(f for f in filenames if (here / f).is_file())
        has_files[here] = files
        has_dicom[here] = any(is_dicom_file(here / f) for f in files)

    tops = sorted(
        (d for d, yes in has_dicom.items() if yes and not any(p in has_dicom and has_dicom[p] for p in d.parents)),
        key=lambda d: _key(root, d),
    )
    plans = []
    for top in tops:
        rels = [
            PurePosixPath(*(d / f).relative_to(top).parts).as_posix()
            for d, names in has_files.items()
            if d == top or top in d.parents
            for f in names
        ]
        plans.append(PlanFolder(_key(root, top), top, tuple(sorted(rels))))
    skipped = list(unreadable)
    for d, names in has_files.items():
        if not names or has_dicom[d] or _inside(d, tops):
            continue
        if any(t in has_dicom and d in t.parents for t in tops):
            continue  # an ancestor of a plan folder: its loose files are not a plan of their own
        skipped.append(SkippedFolder(_key(root, d), f"no DICOM file among its {len(names)} file(s)"))
    return Discovery(tuple(plans), tuple(sorted(skipped, key=lambda s: s.key)))
