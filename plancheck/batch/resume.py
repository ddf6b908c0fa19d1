"""Re-running a batch on a growing folder: skip the plans whose inputs and settings did not change.

The state lives in the output folder (``.plancheck-batch-state.json``), never
in the input root. For every plan it keeps the content hash (SHA-256) of each
input file with the file's size and modification time, the *run fingerprint*
(plancheck version, protocol SHA-256, alias file, settings) and the plan's
summary row. A plan is reused when

* its files are the same set with the same content (a file whose size and
  modification time are unchanged is trusted to be unchanged, as ``git``
  does; any other file is hashed again),
* the run fingerprint is the same,
* its previous result was not an internal error (those are retried), and
* its report files are still in the output folder.

File paths are relative to the root, as discovery found them; a path through
a symbolic link (inside the root) is stamped and hashed by its target's
content, so a dose changed behind a link is evaluated again.

With ``--anonymize`` the state keys are keyed pseudonyms of the folder and
file names, so the state file says no more than the reports do.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "STATE_FILE",
    "BatchState",
    "FileStamp",
    "digest_inputs",
    "hash_file",
    "read_state",
    "stamp_files",
]

STATE_FILE = ".plancheck-batch-state.json"
STATE_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileStamp:
    """What is known of one input file: size, modification time (ns) and SHA-256."""

    size: int
    mtime_ns: int
    sha256: str


def hash_file(path: Path) -> str:
    """SHA-256 of a file's content (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def stamp_files(
    folder: Path, files: Sequence[str], known: Mapping[str, FileStamp] | None = None
) -> dict[str, FileStamp]:
    """Stamps of ``files`` (relative to ``folder``), reusing ``known`` hashes when size and mtime match.

    Raises
    ------
    OSError
        When a file cannot be read.
    """
    known = known or {}
    out: dict[str, FileStamp] = {}
    for rel in files:
        path = folder / rel
        st = os.stat(path)
        old = known.get(rel)
        if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
            out[rel] = old
        else:
            out[rel] = FileStamp(st.st_size, st.st_mtime_ns, hash_file(path))
    return out


def digest_inputs(stamps: Mapping[str, FileStamp]) -> str:
    """One SHA-256 over the sorted (relative path, content hash) pairs of a plan's files."""
    h = hashlib.sha256()
    for rel in sorted(stamps):
        h.update(rel.encode("utf-8") + b"\0" + stamps[rel].sha256.encode("ascii") + b"\n")
    return h.hexdigest()


@dataclass
class _Entry:
    files: dict[str, FileStamp]
    inputs_sha256: str
    run_fingerprint: str
    row: dict[str, Any]
    outputs: list[str]


class BatchState:
    """The saved state of previous runs, keyed by plan (see module docstring)."""

    def __init__(self, entries: dict[str, _Entry] | None = None, name: Callable[[str], str] | None = None):
        self._entries: dict[str, _Entry] = entries or {}
        self._name = name or (lambda text: text)

    def stamps_for(self, plan_key: str, files: Sequence[str]) -> dict[str, FileStamp]:
        """The known stamps of ``files`` of a plan, keyed by real relative path."""
        entry = self._entries.get(self._name(plan_key))
        if entry is None:
            return {}
        out = {}
        for rel in files:
            stamp = entry.files.get(self._name(rel))
            if stamp is not None:
                out[rel] = stamp
        return out

    def reusable_row(
        self, plan_key: str, inputs_sha256: str, run_fingerprint: str, output_dir: Path
    ) -> dict[str, Any] | None:
        """The saved row when the plan can be skipped, else ``None``."""
        entry = self._entries.get(self._name(plan_key))
        if entry is None:
            return None
        if entry.inputs_sha256 != inputs_sha256 or entry.run_fingerprint != run_fingerprint:
            return None
        if entry.row.get("error_kind") == "internal":
            return None
        if not all((output_dir / rel).is_file() for rel in entry.outputs):
            return None
        return dict(entry.row)

    def record(
        self,
        plan_key: str,
        stamps: Mapping[str, FileStamp],
        run_fingerprint: str,
        row: Mapping[str, Any],
        outputs: Sequence[str],
    ) -> None:
        self._entries[self._name(plan_key)] = _Entry(
            files={self._name(rel): s for rel, s in stamps.items()},
            inputs_sha256=digest_inputs(stamps),
            run_fingerprint=run_fingerprint,
            row=dict(row),
            outputs=list(outputs),
        )

    def outputs_of(self, plan_key: str) -> list[str]:
        """The output files recorded for a plan (relative to the output folder)."""
        entry = self._entries.get(self._name(plan_key))
        return list(entry.outputs) if entry is not None else []

    def outputs_except(self, plan_keys: Sequence[str]) -> list[str]:
        """The output files recorded for plans other than ``plan_keys`` (plans that left the root)."""
        wanted = {self._name(k) for k in plan_keys}
        return [o for k, e in self._entries.items() if k not in wanted for o in e.outputs]

    def keep_only(self, plan_keys: Sequence[str]) -> None:
        """Forget plans that are no longer under the root."""
        wanted = {self._name(k) for k in plan_keys}
        self._entries = {k: v for k, v in self._entries.items() if k in wanted}

    def to_json(self) -> str:
        data = {
            "kind": "plancheck-batch-state",
            "version": STATE_VERSION,
            "plans": {
                key: {
                    "files": {rel: [s.size, s.mtime_ns, s.sha256] for rel, s in sorted(e.files.items())},
                    "inputs_sha256": e.inputs_sha256,
                    "run_fingerprint": e.run_fingerprint,
                    "row": e.row,
                    "outputs": e.outputs,
                }
                for key, e in sorted(self._entries.items())
            },
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def read_state(output_dir: Path, name: Callable[[str], str] | None = None) -> BatchState:
    """The state saved in ``output_dir``; an empty state when there is none or it cannot be used."""
    path = Path(output_dir) / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return BatchState(name=name)
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return BatchState(name=name)
    entries: dict[str, _Entry] = {}
    for key, raw in (data.get("plans") or {}).items():
        try:
            entries[str(key)] = _Entry(
                files={str(r): FileStamp(int(v[0]), int(v[1]), str(v[2])) for r, v in raw["files"].items()},
                inputs_sha256=str(raw["inputs_sha256"]),
                run_fingerprint=str(raw["run_fingerprint"]),
                row=dict(raw["row"]),
                outputs=[str(o) for o in raw.get("outputs", [])],
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            continue  # a damaged entry: that plan is evaluated again
    return BatchState(entries, name=name)
