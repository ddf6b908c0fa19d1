"""The protocols shipped with plancheck, by name.

They are the YAML files of the ``plancheck.constraints`` package data
(installed with the wheel); in a source checkout where that package is not
mapped, the repository's top-level ``constraints/`` folder is used. A
protocol's ``name`` is its file name without ``.yaml``.
"""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

from plancheck.errors import ProtocolError
from plancheck.protocol.checks import did_you_mean
from plancheck.protocol.load import LoadedProtocol, load_protocol, parse_protocol
from plancheck.protocol.yamldoc import MAX_FILE_BYTES, Problem, ProtocolFileError

__all__ = ["find_protocol", "load_all_shipped", "load_shipped", "shipped_names", "shipped_resource"]

_PACKAGE = "plancheck.constraints"
# YAML files beside the protocols that are not protocols
_NOT_PROTOCOLS = frozenset({"bibliography.yml"})


def _shipped_dir() -> Traversable:
    try:
        folder = importlib.resources.files(_PACKAGE)
        if folder.is_dir():
            return folder
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "constraints"


def _shipped_files() -> dict[str, Traversable]:
    folder = _shipped_dir()
    if not folder.is_dir():
        return {}
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml") and entry.name not in _NOT_PROTOCOLS and entry.is_file()
    }


def shipped_resource(name: str) -> Traversable | None:
    """A file shipped beside the protocols (e.g. the bibliography), or None."""
    folder = _shipped_dir()
    if not folder.is_dir():
        return None
    entry = folder.joinpath(name)
    return entry if entry.is_file() else None


def shipped_names() -> tuple[str, ...]:
    """Names of the shipped protocols, sorted."""
    return tuple(_shipped_files())


def _load_resource(name: str, entry: Traversable) -> LoadedProtocol:
    data = entry.read_bytes()
    source = f"{name}.yaml (shipped protocol)"
    if len(data) > MAX_FILE_BYTES:
        raise ProtocolFileError(source, [Problem(None, "", "the file is too large")])
    loaded = parse_protocol(data, source)
    if loaded.protocol.name != name:
        raise ProtocolError(
            f"the shipped protocol file {name}.yaml is named {loaded.protocol.name!r} inside; "
            "a shipped protocol's name is its file name"
        )
    return loaded


def load_shipped(name: str) -> LoadedProtocol:
    """The shipped protocol ``name`` (with or without ``.yaml``, any case)."""
    files = _shipped_files()
    key = name.removesuffix(".yaml")
    if key not in files:
        lowered = {k.lower(): k for k in files}
        key = lowered.get(key.lower(), key)
    if key not in files:
        listed = ", ".join(files) if files else "none are installed"
        raise ProtocolError(
            f"no shipped protocol is named {name!r}{did_you_mean(name, files)}.",
            hint=f"Shipped protocols: {listed}. Give a file path for your own protocol.",
        )
    return _load_resource(key, files[key])


def load_all_shipped() -> tuple[LoadedProtocol, ...]:
    """Every shipped protocol, validated."""
    return tuple(_load_resource(name, entry) for name, entry in _shipped_files().items())


def find_protocol(name_or_path: str | Path) -> LoadedProtocol:
    """A protocol file (an existing path) or a shipped protocol by name.

    A name that is no existing file, has no folder part and names a shipped
    protocol loads that protocol; anything else that looks like a path
    (a folder part, or a .yaml/.yml suffix) is read as a file.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.is_file():
        return load_protocol(path)
    looks_like_path = path.parent != Path(".") or path.suffix.lower() in (".yaml", ".yml")
    if path.parent == Path(".") and path.name.lower().removesuffix(".yaml") in {
        n.lower() for n in _shipped_files()
    }:
        return load_shipped(path.name)
    if looks_like_path:
        return load_protocol(path)
    return load_shipped(text)
