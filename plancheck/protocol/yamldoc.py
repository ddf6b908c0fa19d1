"""Reading YAML protocol and alias files safely, remembering where every key is.

* Files larger than :data:`MAX_FILE_BYTES` are refused before they are read.
* YAML is composed with PyYAML's ``SafeLoader`` (no Python objects, no
  custom tags); the node tree is then turned into plain data here, which
  counts every node it produces: anchors and aliases are allowed, but a
  document that expands to more than :data:`MAX_NODES` values (an "alias
  bomb") or refers to itself is refused. Duplicate keys and merge keys
  (``<<``) are errors, not silently resolved.
* Every key and list item keeps its line, so that later validation errors
  name the file, the line and the key (:class:`ProblemList`).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from plancheck.errors import ProtocolError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Problem",
    "ProtocolFileError",
    "YamlDocument",
    "format_key",
    "parse_yaml",
    "read_limited",
    "validation_problems",
]

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def format_key(path: Sequence[str | int]) -> str:
    """``("constraints", 3, "goal")`` -> ``constraints[3].goal``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (line, key) and what."""

    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ProtocolFileError(ProtocolError):
    """A protocol or alias file with one or more problems, each with its line and key."""

    def __init__(self, source: str, problems: Sequence[Problem], hint: str | None = None):
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            listed = "\n".join(f"  {p}" for p in self.problems)
            message = f"{len(self.problems)} problems:\n{listed}"
        super().__init__(message, path=source, hint=hint)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        fix = f"\n{self.hint}" if self.hint else ""
        return f"{where}{self.message}{fix}"


@dataclass(frozen=True)
class YamlDocument:
    """Plain data from a YAML file and the 1-based line of every key and item."""

    data: Any
    lines: Mapping[PathKey, int]
    source: str
    sha256: str
    text: str = field(repr=False, default="")

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest recorded ancestor."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def read_limited(path: Path, max_bytes: int = MAX_FILE_BYTES, what: str = "protocol file") -> bytes:
    """The bytes of ``path``, refusing files larger than ``max_bytes`` before reading them."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ProtocolFileError(
                str(path),
                [Problem(None, "", f"the {what} is {size} bytes; the limit is {max_bytes} bytes")],
                hint="Protocol files are small text files; check that this is the right file.",
            )
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise ProtocolError(f"no such {what}", path=path) from None
    except IsADirectoryError:
        raise ProtocolError(f"expected a {what}, found a folder", path=path) from None
    except PermissionError:
        raise ProtocolError(f"cannot read the {what}: permission denied", path=path) from None
    if len(data) > max_bytes:
        raise ProtocolFileError(
            str(path), [Problem(None, "", f"the {what} is larger than {max_bytes} bytes")]
        )
    return data


def _decode(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProtocolFileError(
            source,
            [
                Problem(
                    line,
                    "",
                    f"the file is not UTF-8 text (byte {exc.start + 1} is 0x{data[exc.start]:02x})",
                )
            ],
            hint="Save the file as UTF-8.",
        ) from None
    return text.removeprefix("\ufeff")


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, source: str, max_nodes: int):
        self.loader = loader
        self.source = source
        self.max_nodes = max_nodes
        self.count = 0
        self.lines: dict[PathKey, int] = {}
        self.active: set[int] = set()

    def error(
        self, node: Node, message: str, path: PathKey, hint: str | None = None
    ) -> ProtocolFileError:
        return ProtocolFileError(
            self.source,
            [Problem(node.start_mark.line + 1, format_key(path) if path else "", message)],
            hint,
        )

    def convert(self, node: Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise self.error(
                node,
                f"the document expands to more than {self.max_nodes} values "
                "(nested YAML aliases, an 'alias bomb'?)",
                path,
                "Protocol files need no aliases; write the values out.",
            )
        if depth > MAX_DEPTH:
            raise self.error(node, f"nesting deeper than {MAX_DEPTH} levels", path)
        if isinstance(node, ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise self.error(
                    node, f"cannot read this value: {_yaml_problem(exc)}", path
                ) from None
        if node.tag not in _COLLECTION_TAGS:
            raise self.error(
                node, f"cannot read this value: unsupported YAML tag {node.tag!r}", path
            )
        if id(node) in self.active:
            raise self.error(
                node, "a YAML alias refers to a node that contains it (recursive data)", path
            )
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                items = []
                for i, child in enumerate(node.value):
                    self.lines.setdefault((*path, i), child.start_mark.line + 1)
                    items.append(self.convert(child, (*path, i), depth + 1))
                return items
            if isinstance(node, MappingNode):
                return self.mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise self.error(node, f"unsupported YAML node {type(node).__name__}", path)

    def mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.error(
                    key_node, "merge keys ('<<') are not supported; write the keys out", path
                )
            if not isinstance(key_node, ScalarNode):
                raise self.error(key_node, "a key must be plain text, not a list or mapping", path)
            key = self.convert(key_node, path, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise self.error(key_node, "a key must be plain text", path) from None
            line = key_node.start_mark.line + 1
            if key in out:
                raise self.error(
                    key_node,
                    f"duplicate key {key!r} (first on line {first_line[key]}); each key may appear once",
                    (*path, _path_part(key)),
                )
            first_line[key] = line
            self.lines.setdefault((*path, _path_part(key)), line)
            out[key] = self.convert(value_node, (*path, _path_part(key)), depth + 1)
        return out


def _path_part(key: Any) -> str | int:
    return key if isinstance(key, (str, int)) and not isinstance(key, bool) else str(key)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        return "; ".join(parts) if parts else str(exc)
    return str(exc)


def parse_yaml(data: bytes | str, source: str, max_nodes: int = MAX_NODES) -> YamlDocument:
    """Plain data and key lines of one YAML document.

    Raises
    ------
    ProtocolFileError
        On syntax errors (with line and column), oversize expansion,
        recursive aliases, duplicate or merge keys, unknown tags.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FILE_BYTES:
        raise ProtocolFileError(
            source, [Problem(None, "", f"the file is larger than {MAX_FILE_BYTES} bytes")]
        )
    text = _decode(raw, source)
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            column = f", column {mark.column + 1}" if mark is not None else ""
            raise ProtocolFileError(
                source, [Problem(line, "", f"YAML syntax error{column}: {_yaml_problem(exc)}")]
            ) from None
        except yaml.YAMLError as exc:
            raise ProtocolFileError(source, [Problem(None, "", f"YAML error: {exc}")]) from None
        converter = _Converter(loader, source, max_nodes)
        value = None if root is None else converter.convert(root, (), 0)
        lines = dict(converter.lines)
        if root is not None:
            lines[()] = root.start_mark.line + 1
    finally:
        loader.dispose()
    return YamlDocument(value, lines, source, hashlib.sha256(raw).hexdigest(), text)


# --- pydantic errors as problems with lines -------------------------------------------

_TYPE_MESSAGES = {
    "model_type": "expected a mapping of keys and values",
    "model_attributes_type": "expected a mapping of keys and values",
    "dict_type": "expected a mapping of keys and values",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "string_type": "expected text",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _unwrap(annotation: Any) -> Any:
    """The model or container type inside Optional/Annotated wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _type_at(root: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The declared type at a pydantic error location (None when unknown)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field_info = current.model_fields.get(part)
            if field_info is None:
                return None
            current = field_info.annotation
        elif origin in (tuple, list) and isinstance(part, int):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        else:
            return None
    return _unwrap(current)


def _allowed_keys(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    t = _type_at(root, loc)
    if isinstance(t, type) and issubclass(t, BaseModel):
        return list(t.model_fields)
    return []


def validation_problems(
    exc: ValidationError, doc: YamlDocument, root: type[BaseModel], describe: Any = None
) -> list[Problem]:
    """Problems (line, key, message) for every error of a pydantic validation.

    ``describe(path)`` may return a short label of the item at ``path`` (for
    example the structure and metric of a constraint) to make keys readable.
    """
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1] if loc else ""
            allowed = _allowed_keys(root, loc[:-1])
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key {key!r}{hint}; allowed keys here: {', '.join(sorted(allowed))}"
            line_path = loc
        elif kind == "missing":
            message = f"missing required key {loc[-1]!r}"
            line_path = loc[:-1]
        elif kind in _TYPE_MESSAGES:
            got = err.get("input")
            shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
            message = f"{_TYPE_MESSAGES[kind]}, got {shown}"
            if kind == "model_type" and not loc and got is None:
                message = "the file is empty: a protocol is a mapping with at least name, description and structures"
            line_path = loc
        elif kind in ("comparison", "metric", "derived"):
            message = str(err["msg"]).strip()
            line_path = loc
        else:
            message = str(err["msg"])
            got = err.get("input")
            if isinstance(got, (str, int, float)) and not isinstance(got, bool):
                message += f" (got {got!r})"
            line_path = loc
        label = describe(loc) if describe is not None else None
        key = format_key(loc) + (f" ({label})" if label else "")
        problems.append(Problem(doc.line_of(line_path), key, message))
    return problems
