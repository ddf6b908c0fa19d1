"""The bibliography shipped with the protocols, and the citations a protocol uses.

Protocols cite their sources by key (``refs: [QUANTEC_cord, Schultheiss2008]``
on a constraint, a dose level, an α/β entry, ...). Each key resolves to a
full citation: first in the shipped bibliography (``bibliography.yml``
beside the shipped protocols), else in the protocol's own ``references:``
section (for sources plancheck does not ship). A key that resolves nowhere
is an error of the protocol file; so is a local key that names a shipped
entry with other text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import yaml

from plancheck.errors import ProtocolError
from plancheck.protocol.schema import Protocol

__all__ = [
    "BIBLIOGRAPHY_FILE",
    "check_references",
    "load_bibliography",
    "resolve_references",
]

BIBLIOGRAPHY_FILE = "bibliography.yml"

PathProblem = tuple[tuple[str | int, ...], str]


def _parse(data: bytes, source: str) -> dict[str, str]:
    doc: Any = yaml.safe_load(data)
    entries = doc.get("references") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in entries.items()
    ):
        raise ProtocolError(
            f"{source}: expected 'references:' mapping each key to its full citation (text)"
        )
    return {k: " ".join(v.split()) for k, v in entries.items()}


@functools.cache
def load_bibliography() -> Mapping[str, str]:
    """The shipped bibliography: key -> full citation."""
    from plancheck.protocol.registry import shipped_resource

    entry = shipped_resource(BIBLIOGRAPHY_FILE)
    if entry is None:
        return {}
    return _parse(entry.read_bytes(), f"{BIBLIOGRAPHY_FILE} (shipped)")


def _ref_paths(protocol: Protocol) -> list[tuple[tuple[str | int, ...], str]]:
    """(YAML path, key) of every citation in the protocol."""
    out: list[tuple[tuple[str | int, ...], str]] = [
        (("refs", j), key) for j, key in enumerate(protocol.refs)
    ]
    sections: tuple[tuple[str, tuple[Any, ...]], ...] = (
        ("dose_levels", protocol.dose_levels),
        ("alpha_beta", protocol.alpha_beta),
        ("structures", protocol.structures),
        ("required_any", protocol.required_any),
        ("constraints", protocol.constraints),
        ("indices", protocol.indices),
    )
    for name, items in sections:
        for i, item in enumerate(items):
            out += [((name, i, "refs", j), key) for j, key in enumerate(item.refs)]
    return out


def check_references(
    protocol: Protocol, shipped: Mapping[str, str] | None = None
) -> list[PathProblem]:
    """Citations that resolve nowhere, and local citations that contradict the shipped ones."""
    shipped = load_bibliography() if shipped is None else shipped
    problems: list[PathProblem] = []
    for key, text in protocol.references.items():
        if key in shipped and " ".join(text.split()) != shipped[key]:
            problems.append(
                (
                    ("references", key),
                    f"{key!r} is already in the shipped bibliography with another citation; "
                    "use another key for this source",
                )
            )
    known = set(shipped) | set(protocol.references)
    for path, key in _ref_paths(protocol):
        if key not in known:
            from plancheck.protocol.checks import did_you_mean

            problems.append(
                (
                    path,
                    f"unknown reference {key!r}{did_you_mean(key, sorted(known))}: add its full "
                    "citation under 'references:' (the shipped bibliography has "
                    f"{len(shipped)} entries: 'plancheck protocol references' lists them)",
                )
            )
    return problems


def resolve_references(
    protocol: Protocol, shipped: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """``[{"key", "citation"}]`` for every key the protocol cites, in first-use order."""
    shipped = load_bibliography() if shipped is None else shipped
    out = []
    for key in protocol.used_refs():
        citation = protocol.references.get(key) or shipped.get(key)
        if citation is not None:
            out.append({"key": key, "citation": " ".join(citation.split())})
    return out
