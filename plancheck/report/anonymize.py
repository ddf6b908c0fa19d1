"""Stable pseudonyms for the identifying values of an evaluation document.

``--anonymize`` applies :func:`anonymize_document` to the whole document
before anything is rendered, so every output made from it (JSON, HTML, PDF,
batch summary) carries the same pseudonyms:

* patient name, ID and birth date become ``ANON-`` followed by 12 hex digits
  of HMAC-SHA256(key, field + value): the same patient gets the same pseudonym
  in every report made with the same key, and nobody without the key can
  recover it by trying candidate IDs;
* every UID (any dotted number starting 0, 1 or 2 with at least four parts,
  also inside file names and messages) becomes a UID under the ``2.25`` root
  made from 128 bits of the same HMAC; UIDs defined by the DICOM standard
  (``1.2.840.10008.…``, e.g. SOP classes) are kept;
* file paths keep only their file name, and any input folder quoted in a
  message is replaced by ``<input folder>``;
* the patient's name, ID and birth date quoted anywhere in the document (in
  messages, labels) are replaced as well, as are the parts of the name of
  three or more characters.

The key is a secret of the department, not of the report: by default a
random key is created once in the user's configuration folder (see
:func:`default_key_path`) and never written next to the outputs.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from plancheck.errors import InputError

__all__ = [
    "ANON_PREFIX",
    "KEY_ENV",
    "UID_ROOT",
    "Pseudonymizer",
    "anonymize_document",
    "default_key_path",
    "load_or_create_key",
]

ANON_PREFIX = "ANON-"
UID_ROOT = "2.25"
KEY_ENV = "PLANCHECK_ANONYMIZE_KEY"
MIN_KEY_BYTES = 16
_STANDARD_UID_ROOT = "1.2.840.10008."
# a UID: 0, 1 or 2, then at least three more dotted numbers; may follow letters (RD1.2.3.4.dcm)
_UID_RE = re.compile(r"(?<![\d.])[0-2](?:\.\d+){3,}(?!\.?\d)")
_PATH_KEYS = frozenset({"path", "protocol_file", "aliases_file", "folder", "plan_dir", "source_folder"})


class Pseudonymizer:
    """Keyed, stable pseudonyms (HMAC-SHA256).

    Parameters
    ----------
    key : bytes
        The secret; at least 16 bytes.
    """

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"an anonymisation key needs at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def _digest(self, domain: str, value: str) -> bytes:
        message = domain.encode("utf-8") + b"\0" + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    @property
    def fingerprint(self) -> str:
        """A short public identifier of the key (not the key), to tell runs apart."""
        return hashlib.sha256(b"plancheck-anonymize-key\0" + self._key).hexdigest()[:12]

    def text(self, domain: str, value: str) -> str:
        """``ANON-`` and 12 hex digits; ``domain`` separates kinds of value (``"id"``, ``"name"``)."""
        return ANON_PREFIX + self._digest(domain, value).hex()[:12]

    def uid(self, value: str) -> str:
        """A UID under ``2.25`` from 128 bits of the HMAC (at most 44 characters)."""
        if value.startswith(_STANDARD_UID_ROOT):
            return value
        return f"{UID_ROOT}.{int.from_bytes(self._digest('uid', value)[:16], 'big')}"

    def scrub_uids(self, text: str) -> str:
        """Every UID inside ``text`` replaced by its pseudonym."""
        return _UID_RE.sub(lambda m: self.uid(m.group(0)), text)


def default_key_path() -> Path:
    """Where the key lives unless one is given.

    ``$PLANCHECK_ANONYMIZE_KEY`` when set, else
    ``$XDG_CONFIG_HOME/plancheck/anonymize.key`` (``~/.config`` by default).
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "plancheck" / "anonymize.key"


def load_or_create_key(path: Path | None = None) -> bytes:
    """Read the key file, creating it with 32 random bytes (hex, mode 0600) if absent.

    Raises
    ------
    InputError
        When the file cannot be read or holds fewer than 16 bytes.
    """
    path = default_key_path() if path is None else Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by a concurrent run: read it below
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise InputError(f"cannot read the anonymisation key: {exc.strerror}", path=path) from exc
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            f"the anonymisation key has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed",
            path=path,
            hint="Put a long random secret in the file, e.g. 'openssl rand -hex 32'.",
        )
    return key


def _file_name(value: str) -> str:
    pure: PurePath = PureWindowsPath(value) if "\\" in value else PurePosixPath(value)
    return pure.name or value


def _folders(doc: Any) -> set[str]:
    """Folders of every absolute path value in the document (and their parents)."""
    found: set[str] = set()

    def visit(node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, str(k))
        elif isinstance(node, list):
            for v in node:
                visit(v, key)
        elif isinstance(node, str) and key in _PATH_KEYS:
            pure: PurePath = PureWindowsPath(node) if "\\" in node else PurePosixPath(node)
            if pure.is_absolute():
                for parent in pure.parents:
                    text = str(parent)
                    if len(text) > 1 and parent != PurePosixPath(parent.anchor):
                        found.add(text)

    visit(doc, None)
    return found


def _identifier_rules(patient: dict[str, Any], p: Pseudonymizer) -> list[tuple[re.Pattern[str], str]]:
    rules: list[tuple[str, str, bool]] = []  # (value, replacement, whole word only)
    name = str(patient.get("name") or "")
    pid = str(patient.get("id") or "")
    birth = str(patient.get("birth_date") or "")
    if pid:
        rules.append((pid, p.text("id", pid), False))
    if name:
        anon_name = p.text("name", name)
        rules.append((name, anon_name, False))
        parts = [part for part in re.split(r"[\^,\s]+", name) if len(part) >= 3]
        rules.append((" ".join(parts), anon_name, False))
        rules.extend((part, anon_name, True) for part in parts)
    if birth:
        rules.append((birth, p.text("birth_date", birth), False))
    compiled = []
    for value, replacement, word in sorted(rules, key=lambda r: -len(r[0])):
        if not value.strip():
            continue
        pattern = re.escape(value)
        if word:
            pattern = rf"(?<!\w){pattern}(?!\w)"
        compiled.append((re.compile(pattern, re.IGNORECASE), replacement))
    return compiled


def anonymize_document(doc: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """A deep copy of an evaluation document with every identifying value pseudonymised.

    ``key`` defaults to the key file of :func:`load_or_create_key`. Records
    what was done under ``provenance.anonymized`` (method and key fingerprint,
    never the key).
    """
    p = Pseudonymizer(load_or_create_key() if key is None else key)
    out = copy.deepcopy(doc)
    raw_patient = out.get("patient")
    patient: dict[str, Any] = raw_patient if isinstance(raw_patient, dict) else {}
    rules = _identifier_rules(patient, p)
    folders = sorted(_folders(out), key=len, reverse=True)

    def scrub(text: str) -> str:
        for folder in folders:
            text = text.replace(folder, "<input folder>")
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return p.scrub_uids(text)

    out = _map_strings(out, None, scrub)
    if patient:
        anon_patient = out["patient"]
        for field, domain in (("name", "name"), ("id", "id"), ("birth_date", "birth_date")):
            value = patient.get(field)
            if value:
                anon_patient[field] = p.text(domain, str(value))
    provenance = out.get("provenance")
    if isinstance(provenance, dict):
        provenance["anonymized"] = {
            "method": "HMAC-SHA256 pseudonyms; UIDs under 2.25; paths reduced to file names",
            "key_fingerprint": p.fingerprint,
        }
    return out


def _map_strings(node: Any, key: str | None, scrub: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {k: _map_strings(v, str(k), scrub) for k, v in node.items()}
    if isinstance(node, list):
        return [_map_strings(v, key, scrub) for v in node]
    if isinstance(node, str):
        if key in _PATH_KEYS:
            node = _file_name(node)
        return scrub(node)
    return node
