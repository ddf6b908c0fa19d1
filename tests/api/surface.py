"""A plain-text description of plancheck's public API, for the public-surface test.

One line per public name and per public member: functions with their
signatures (annotations as written in the source), classes with their bases,
attributes (class annotations, dataclass fields, properties) and methods.
Run ``python -m tests.api.surface`` from the repository root to print it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import inspect
from typing import Any

SNAPSHOT = "tests/api/public_api.txt"
FINGERPRINT_PREFIX = "Public API fingerprint:"

# members of a public class that belong to the surface although they start with _
_DUNDER_KEEP = {"__init__", "__len__", "__iter__", "__getitem__", "_repr_html_"}
# (``__init__`` only for the errors, whose arguments users meet in ``except`` blocks)


def _annotations(cls: type) -> dict[str, Any]:
    return dict(getattr(cls, "__annotations__", {}))


def _members(cls: type) -> list[str]:
    lines = []
    if issubclass(cls, enum.Enum):
        return [f"    {m.name} = {m.value!r}" for m in cls]
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            default = "" if f.default is dataclasses.MISSING else f" = {f.default!r}"
            lines.append(f"    field {f.name}: {f.type}{default}")
    else:
        for name, annotation in _annotations(cls).items():
            if not name.startswith("_"):
                lines.append(f"    attribute {name}: {annotation}")
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_") and name not in _DUNDER_KEEP:
            continue
        if isinstance(member, property):
            returns = inspect.signature(member.fget).return_annotation if member.fget else ""
            lines.append(f"    property {name}: {returns}")
        elif isinstance(member, (classmethod, staticmethod)):
            lines.append(f"    {type(member).__name__} {name}{inspect.signature(member.__func__)}")
        elif inspect.isfunction(member):
            if name == "__init__" and not issubclass(cls, Exception):
                continue  # API objects are made by load/evaluate; their constructors are internal
            lines.append(f"    method {name}{inspect.signature(member)}")
    return lines


def describe() -> str:
    """The public surface of ``plancheck`` as text (one line per item, sorted)."""
    import plancheck

    lines = [f"__all__ = {sorted(plancheck.__all__)}"]
    for name in sorted(plancheck.__all__):
        if name == "__version__":
            continue
        obj = getattr(plancheck, name)
        if inspect.isclass(obj):
            bases = ", ".join(b.__name__ for b in obj.__bases__ if b is not object)
            lines.append(f"class {name}({bases})" if bases else f"class {name}")
            lines.extend(_members(obj))
        elif inspect.isfunction(obj):
            lines.append(f"def {name}{inspect.signature(obj)}")
        else:
            lines.append(f"{name}: {type(obj).__name__}")
    return "\n".join(lines) + "\n"


def fingerprint(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of ``text``: what CHANGELOG.md quotes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


if __name__ == "__main__":
    surface = describe()
    print(surface, end="")
    print(f"{FINGERPRINT_PREFIX} `{fingerprint(surface)}`")
