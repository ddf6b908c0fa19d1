"""Loading protocol files and aliases files, with every error located.

``load_protocol(path)`` reads a YAML protocol safely (size limit, no alias
bombs, see :mod:`plancheck.protocol.yamldoc`), validates it against the
schema (:mod:`plancheck.protocol.schema`) and the cross-reference checks
(:mod:`plancheck.protocol.checks`), and returns a :class:`LoadedProtocol`
that also knows the file's SHA-256 (for provenance) and the line of every
constraint. Any problem raises :class:`ProtocolFileError` listing each
problem with its line, its key and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plancheck.protocol.checks import check_protocol
from plancheck.protocol.matching import UserAliases, check_user_aliases
from plancheck.protocol.schema import Protocol
from plancheck.protocol.yamldoc import (
    Problem,
    ProtocolFileError,
    YamlDocument,
    format_key,
    parse_yaml,
    read_limited,
    validation_problems,
)

__all__ = [
    "LoadedAliases",
    "LoadedProtocol",
    "load_aliases",
    "load_protocol",
    "parse_aliases",
    "parse_protocol",
]


@dataclass(frozen=True)
class LoadedProtocol:
    """A validated protocol with where it came from."""

    protocol: Protocol
    source: str
    sha256: str
    document: YamlDocument

    @property
    def name(self) -> str:
        return self.protocol.name

    def line_of(self, path: Sequence[str | int]) -> int | None:
        return self.document.line_of(path)


def _describe_item(data: Any) -> Any:
    """A function labelling list items of the raw data, for readable error keys."""

    def describe(loc: Sequence[str | int]) -> str | None:
        if len(loc) < 2 or not isinstance(loc[0], str) or not isinstance(loc[1], int):
            return None
        section = data.get(loc[0]) if isinstance(data, dict) else None
        if not isinstance(section, list) or not 0 <= loc[1] < len(section):
            return None
        item = section[loc[1]]
        if not isinstance(item, dict):
            return None
        parts = [
            str(item[k])
            for k in ("name", "id", "structure", "metric", "index", "dose_level")
            if k in item
        ]
        return " ".join(parts[:2]) or None

    return describe


def _problems_at(
    doc: YamlDocument, items: Sequence[tuple[tuple[str | int, ...], str]]
) -> list[Problem]:
    describe = _describe_item(doc.data)
    out = []
    for path, message in items:
        label = describe(path)
        key = format_key(path) + (f" ({label})" if label else "")
        out.append(Problem(doc.line_of(path), key, message))
    return out


def parse_protocol(data: bytes | str, source: str) -> LoadedProtocol:
    """Validate protocol text; ``source`` names it in messages."""
    doc = parse_yaml(data, source)
    try:
        protocol = Protocol.model_validate(doc.data)
    except ValidationError as exc:
        raise ProtocolFileError(
            source,
            validation_problems(exc, doc, Protocol, _describe_item(doc.data)),
            hint="'plancheck protocol schema' prints the JSON Schema of protocol files.",
        ) from None
    from plancheck.protocol.bibliography import check_references

    problems = check_protocol(protocol) + check_references(protocol)
    if problems:
        raise ProtocolFileError(source, _problems_at(doc, problems))
    return LoadedProtocol(protocol, source, doc.sha256, doc)


def load_protocol(path: Path | str) -> LoadedProtocol:
    """Read and validate the protocol file at ``path``."""
    path = Path(path)
    return parse_protocol(read_limited(path, what="protocol file"), str(path))


@dataclass(frozen=True)
class LoadedAliases:
    """A validated aliases file."""

    aliases: UserAliases
    source: str
    sha256: str
    document: YamlDocument

    def check_against(self, protocol: Protocol) -> None:
        """Raise :class:`ProtocolFileError` if the aliases conflict with ``protocol``."""
        problems = check_user_aliases(protocol, self.aliases)
        if problems:
            raise ProtocolFileError(
                self.source,
                _problems_at(self.document, problems),
                hint=f"(merging with protocol {protocol.name!r})",
            )


def parse_aliases(data: bytes | str, source: str) -> LoadedAliases:
    """Validate aliases-file text."""
    doc = parse_yaml(data, source)
    try:
        aliases = UserAliases.model_validate({} if doc.data is None else doc.data)
    except ValidationError as exc:
        raise ProtocolFileError(source, validation_problems(exc, doc, UserAliases)) from None
    return LoadedAliases(aliases, source, doc.sha256, doc)


def load_aliases(path: Path | str) -> LoadedAliases:
    """Read and validate the aliases file at ``path``."""
    path = Path(path)
    return parse_aliases(read_limited(path, what="aliases file"), str(path))
