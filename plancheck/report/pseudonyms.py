"""Keyed pseudonyms (HMAC-SHA256) and the anonymisation key of a department.

A pseudonym is ``ANON-`` and 12 hex digits of HMAC-SHA256(key, kind + value):
the same value gets the same pseudonym in every report made with the same key,
and nobody without the key can recover it by trying candidate values. UIDs
become UIDs under the ``2.25`` root from 128 bits of the same HMAC; UIDs
defined by the DICOM standard (``1.2.840.10008.…``) are kept. The key is a
secret of the department, not of the report: by default a random key is
created once in the user's configuration folder (:func:`default_key_path`)
and never written next to the outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from plancheck.errors import InputError

__all__ = [
    "ANON_PREFIX",
    "KEY_ENV",
    "MIN_KEY_BYTES",
    "STANDARD_UID_ROOT",
    "UID_RE",
    "UID_ROOT",
    "Pseudonymizer",
    "default_key_path",
    "load_or_create_key",
]

ANON_PREFIX = "ANON-"
UID_ROOT = "2.25"
KEY_ENV = "PLANCHECK_ANONYMIZE_KEY"
MIN_KEY_BYTES = 16
STANDARD_UID_ROOT = "1.2.840.10008."
# a UID: 0, 1 or 2 then three or more dotted numbers, or the 2.25 form (three parts); it may
# follow letters or a dot (RD1.2.3.4.dcm, RD.2.25.123…dcm) but never continue a longer number
UID_RE = re.compile(
    r"(?<!\d)(?<!\d\.)(?:[0-2](?:\.(?:0|[1-9]\d*)){3,}|2\.25\.\d{6,})(?![\d])(?!\.\d)"
)


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
        if value.startswith(STANDARD_UID_ROOT):
            return value
        return f"{UID_ROOT}.{int.from_bytes(self._digest('uid', value)[:16], 'big')}"

    def scrub_uids(self, text: str) -> str:
        """Every UID inside ``text`` replaced by its pseudonym."""
        return UID_RE.sub(lambda m: self.uid(m.group(0)), text)

    def file_name(self, name: str) -> str:
        """A pseudonym for a file or folder name, keeping a short extension (``ANON-….dcm``)."""
        match = re.search(r"\.([A-Za-z][A-Za-z0-9]{0,4})$", name)
        ext = "." + match.group(1).lower() if match and len(name) > len(match.group(0)) else ""
        return self.text("file", name) + ext


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
