"""Stable pseudonyms for every identifying value of an evaluation document.

``--anonymize`` applies :func:`anonymize_document` to the whole document
before anything is rendered, so every output made from it (JSON, CSV, table,
HTML, PDF, batch summary, resume state) carries the same pseudonyms. The rule
is: replace *values taken from identifying fields*, wherever they are quoted;
never rewrite clinical text.

What is replaced
    * The identifying values of the input headers, which the document keeps
      under ``provenance.identifying_attributes`` (DICOM PS3.15 Annex E: patient
      name, ID, birth date, other IDs, institution, physicians, operators,
      stations, study and series descriptions, plan and structure set labels;
      every person name, date, time and UID), plus the patient block, the plan
      and structure-set labels, the reviewer and the planning system's
      institution and station shown in the document. Each becomes ``ANON-``
      and 12 hex digits of HMAC-SHA256(key, kind + value): the same value gets
      the same pseudonym in every report made with the same key, and nobody
      without the key can recover it by trying candidate values.
    * Quoted in messages and reasons, those values are found in any spelling
      that keeps their characters: any case, any separators between their
      words (``DOE^JOHN``, ``Doe_John``, ``John Doe``), dates in any common
      format (``19510203``, ``1951-02-03``, ``03.02.1951``, ``3 Feb 1951``).
    * Every UID (also the ``2.25.<decimal>`` form and UIDs inside file names
      and messages) becomes a UID under ``2.25`` from 128 bits of the same
      HMAC; UIDs defined by the DICOM standard (``1.2.840.10008.…``) are kept.
    * Every input file and folder name is replaced as a whole (``ANON-….dcm``),
      so a folder named ``Doe_Johnathan_19510203`` leaks none of its parts; the
      input folder quoted in a message becomes ``<input folder>``.
    * The dates and times of plans, approvals and structure sets are withheld
      (``null``), as the Basic Profile removes them.

What is kept
    Clinical text is never rewritten: the protocol (name, title, description,
    references), every constraint's structure, metric, goal, variation,
    priority and source, ROI names, dose levels and numbers. A patient named
    ``BODY^MAX`` leaves ``Max[Gy]`` and the ROI ``BODY`` as they are: a name is
    matched only as a whole name of at least two words. With
    ``keep_labels=True`` (``--anonymize-keep-labels``) plan and structure-set
    labels stay readable (any patient name, ID or date inside them is still
    replaced). The planning system's manufacturer, model and version are kept.

The key is a secret of the department, not of the report: by default a
random key is created once in the user's configuration folder (see
:func:`default_key_path`) and never written next to the outputs.
"""

from __future__ import annotations

import calendar
import copy
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from plancheck.errors import InputError

__all__ = [
    "ANON_PREFIX",
    "KEY_ENV",
    "UID_ROOT",
    "Identity",
    "Pseudonymizer",
    "Scrubber",
    "anonymize_document",
    "default_key_path",
    "load_or_create_key",
]

ANON_PREFIX = "ANON-"
UID_ROOT = "2.25"
KEY_ENV = "PLANCHECK_ANONYMIZE_KEY"
MIN_KEY_BYTES = 16
INPUT_FOLDER = "<input folder>"
_STANDARD_UID_ROOT = "1.2.840.10008."
# a UID: 0, 1 or 2 then three or more dotted numbers, or the 2.25 form (three parts); it may
# follow letters or a dot (RD1.2.3.4.dcm, RD.2.25.123…dcm) but never continue a longer number
_UID_RE = re.compile(
    r"(?<!\d)(?<!\d\.)(?:[0-2](?:\.(?:0|[1-9]\d*)){3,}|2\.25\.\d{6,})(?![\d])(?!\.\d)"
)
# file names that look like DICOM files, found in messages that quote them without a path field
_DICOM_FILE_RE = re.compile(
    r"(?<![\w.\-^])(?!ANON-[0-9a-f]{12}\.)[\w\-^.]+\.(?:dcm|dicom|ima|img)\b", re.IGNORECASE
)
_PATH_KEYS = frozenset({"path", "folder", "plan_dir"})
_CONFIG_PATH_KEYS = frozenset({"protocol_file", "aliases_file"})
_LABEL_KEYWORDS = frozenset({"RTPlanLabel", "RTPlanName", "StructureSetLabel", "StructureSetName"})
# generic words that some headers carry as a description; not used to rewrite messages
_GENERIC_WORDS = frozenset(
    [
        "plan",
        "plans",
        "dose",
        "doses",
        "rt",
        "rtplan",
        "rtdose",
        "rtstruct",
        "rtss",
        "structure",
        "structures",
        "structure_set",
        "study",
        "series",
        "image",
        "images",
        "ct",
        "mr",
        "mri",
        "pet",
        "body",
        "external",
        "patient",
        "unknown",
        "anonymous",
        "none",
        "yes",
        "no",
        "test",
        "qa",
        "phantom",
        "approved",
        "unapproved",
        "rejected",
        "physical",
        "effective",
        "treatment",
        "planning",
    ]
)
_SEP = r"[^A-Za-z0-9\n]{0,3}"
# placeholders for clinical terms while a text is scrubbed (Unicode private use area)
_MASK_OPEN, _MASK_CLOSE, _MASK_BASE = "\ue000", "\ue001", 0xF0000
_MASK_RE = re.compile("\ue000(.)\ue001", re.DOTALL)
_MONTHS = [m.lower() for m in calendar.month_name[1:]]


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


# --------------------------------------------------------------------------- what identifies


@dataclass
class Identity:
    """The identifying values of one evaluation, by kind.

    ``persons`` are DICOM person names (``Family^Given^…``), ``dates``
    ``YYYYMMDD`` dates, ``labels`` plan and structure-set labels, ``texts``
    every other identifying value (IDs, descriptions, institutions, times),
    ``uids`` UIDs, ``paths`` file and folder paths as quoted.
    """

    persons: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)

    def add_attribute(self, keyword: str, vr: str, value: str) -> None:
        """Classify one identifying header value (keyword, VR, value)."""
        value = value.strip()
        if not value:
            return
        if vr == "PN":
            self.persons.add(value)
        elif vr == "UI":
            self.uids.add(value)
        elif vr in ("DA", "DT"):
            digits = re.sub(r"\D", "", value)
            if len(digits) >= 8:
                self.dates.add(digits[:8])
            if vr == "DT":
                self.texts.add(value)
        elif keyword in _LABEL_KEYWORDS:
            self.labels.add(value)
        else:
            self.texts.add(value)

    def add_path(self, value: str, *, folder: bool = False) -> None:
        if value:
            (self.folders if folder else self.paths).add(value)

    @classmethod
    def from_attributes(
        cls, attributes: Iterable[Sequence[str]], paths: Iterable[str] = ()
    ) -> Identity:
        """The identity of a list of (keyword, VR, value) and of file paths."""
        identity = cls()
        for item in attributes:
            if len(item) == 3:
                identity.add_attribute(str(item[0]), str(item[1]), str(item[2]))
        for p in paths:
            identity.add_path(str(p))
        return identity


def _pure(value: str) -> PurePath:
    return PureWindowsPath(value) if "\\" in value else PurePosixPath(value)


def _runs(value: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+|[^\x00-\x7f]+", value)


def _value_pattern(runs: Sequence[str]) -> str:
    body = _SEP.join(re.escape(r) for r in runs)
    alnum = sum(len(r) for r in runs)
    # short values must stand alone; long ones may be joined to other words by '_'
    word = "A-Za-z0-9" if alnum >= 6 else "A-Za-z0-9_"
    return rf"(?<![{word}]){body}(?![{word}])"


def _person_patterns(name: str) -> list[str]:
    """A person name in the orders it is written: as stored, given names first, reversed."""
    components = [c for c in name.split("^") if c.strip()]
    words = [w for c in components for w in _runs(c)]
    if len(words) < 2:
        return []  # one word alone is never searched in text: it may be a clinical word
    family = _runs(components[0])
    given = [w for c in components[1:] for w in _runs(c)]
    orders = {tuple(words), tuple(given + family), tuple(reversed(words))}
    return [_value_pattern(list(o)) for o in orders if o]


def _date_pattern(digits: str) -> str | None:
    """Every common spelling of a YYYYMMDD date, as one pattern bounded by non-digits."""
    try:
        y, m, d = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
        calendar.weekday(y, m, d)
    except (ValueError, calendar.IllegalMonthError):
        return None
    year = rf"(?:{y:04d}|{y % 100:02d})"
    year4 = f"{y:04d}"
    month = rf"(?:0?{m})"
    day = rf"(?:0?{d})"
    name = _MONTHS[m - 1]
    month_name = rf"(?:{name}|{name[:3]}\.?)"
    sep = r"[-./_ ]"
    forms = [
        f"{year4}{m:02d}{d:02d}",
        f"{d:02d}{m:02d}{year4}",
        f"{m:02d}{d:02d}{year4}",
        rf"{year4}{sep}{month}{sep}{day}",
        rf"{day}{sep}{month}{sep}{year}",
        rf"{month}{sep}{day}{sep}{year}",
        rf"{day}{sep}?{month_name}{sep}?,?\s?{year4}",
        rf"{month_name}{sep}?{day}(?:st|nd|rd|th)?,?{sep}?{year4}",
        rf"{year4}{sep}?{month_name}{sep}?{day}",
    ]
    return r"(?<![0-9])(?:" + "|".join(forms) + r")(?![0-9])"


# --------------------------------------------------------------------------- replacing


def _fixed(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


class Scrubber:
    """Replaces the values of an :class:`Identity` in text, paths and documents.

    Parameters
    ----------
    identity : Identity
        What to replace.
    pseudonymizer : Pseudonymizer
        Makes the pseudonyms.
    keep_labels : bool
        Leave plan and structure-set labels readable.
    clinical_terms : iterable of str
        Metrics, structure and ROI names: kept wherever a text quotes them.
    """

    def __init__(
        self,
        identity: Identity,
        pseudonymizer: Pseudonymizer,
        *,
        keep_labels: bool = False,
        clinical_terms: Iterable[str] = (),
    ):
        self.identity = identity
        self.p = pseudonymizer
        self.keep_labels = keep_labels
        terms = sorted({t for t in clinical_terms if len(t) >= 2}, key=len, reverse=True)
        self._terms_re = re.compile("|".join(re.escape(t) for t in terms)) if terms else None
        self._literal: dict[str, str] = {}
        self._rules: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = []
        self._build()

    # ---------------------------------------------------------------- rules

    def _build(self) -> None:
        ident = self.identity
        p = self.p
        # paths, exactly as quoted: the whole path, and every trailing part of it
        for value in sorted(ident.paths):
            pure = _pure(value)
            if not pure.name:
                continue
            pseudonym = p.file_name(pure.name)
            parts = pure.parts
            for k in range(len(parts)):
                tail = parts[k:]
                if k == 0 and pure.is_absolute():
                    self._literal[value] = pseudonym
                    continue
                for sep in ("/", "\\"):
                    self._literal[sep.join(tail)] = pseudonym
        for value in sorted(ident.folders):
            self._literal[value] = INPUT_FOLDER
        for value in sorted(ident.paths | ident.folders):
            pure = _pure(value)
            for parent in pure.parents:
                text = str(parent)
                if pure.is_absolute() and len(text) > 1 and parent != type(parent)(parent.anchor):
                    self._literal.setdefault(text, INPUT_FOLDER)
        folder_names: set[str] = set()
        for value in ident.paths | ident.folders:
            pure = _pure(value)
            names = [*pure.parts[:-1], *([pure.name] if value in ident.folders else [])]
            folder_names.update(
                n
                for n in names
                if n not in ("/", "\\", ".", "..") and not n.endswith(("/", "\\", ":"))
            )
        # every value of an identifying field, in any spelling
        values: list[tuple[str, str, str]] = []  # (pattern, domain, canonical value)
        for name in ident.persons:
            values.extend((pat, "name", name) for pat in _person_patterns(name))
        if not self.keep_labels:
            for label in ident.labels:
                runs = _runs(label)
                if sum(len(r) for r in runs) >= 2:
                    values.append((_value_pattern(runs), "label", label))
        for text in ident.texts:
            runs = _runs(text)
            alnum = "".join(runs)
            if len(alnum) < 3 or (alnum.isdigit() and len(alnum) < 5):
                continue  # "1", "O", "M": too short to tell from anything else
            if text.strip().lower() in _GENERIC_WORDS:
                continue
            values.append((_value_pattern(runs), "id", text))
        for digits in ident.dates:
            pat = _date_pattern(digits)
            if pat is not None:
                values.append((pat, "date", digits))
        for name in sorted(folder_names, key=len, reverse=True):
            folder = re.compile(rf"(?<![\w.\-]){re.escape(name)}(?=[/\\])")
            self._rules.append((folder, _fixed(p.file_name(name))))
        self._rules.append((_DICOM_FILE_RE, self._file_name))
        for pattern, domain, canonical in sorted(values, key=lambda v: -len(v[2])):
            self._rules.append(
                (re.compile(pattern, re.IGNORECASE), _fixed(p.text(domain, canonical)))
            )
        # a quoted path or name stands alone: RD.dcm is replaced, XRD.dcm and RD.dcm2 are not
        literals = "|".join(re.escape(k) for k in sorted(self._literal, key=len, reverse=True))
        self._literal_re = (
            re.compile(rf"(?<![A-Za-z0-9_.\-])(?:{literals})(?![A-Za-z0-9_\-])") if self._literal else None
        )
        known = sorted(
            (u for u in ident.uids if not u.startswith(_STANDARD_UID_ROOT)), key=len, reverse=True
        )
        alternatives = [rf"(?<![\d.]){re.escape(u)}(?![\d])(?!\.\d)" for u in known]
        self._uid_re = re.compile("|".join([*alternatives, _UID_RE.pattern]))

    def _file_name(self, match: re.Match[str]) -> str:
        return self.p.file_name(match.group(0))

    # ---------------------------------------------------------------- text

    def text(self, text: str) -> str:
        """Free text (messages, reasons) with every identifying value replaced."""
        if not text:
            return text
        masked: list[str] = []
        if self._terms_re is not None:
            # clinical terms quoted in the text (a metric, a ROI name) are set aside, then restored
            def mask(m: re.Match[str]) -> str:
                masked.append(m.group(0))
                return _MASK_OPEN + chr(_MASK_BASE + len(masked) - 1) + _MASK_CLOSE

            text = self._terms_re.sub(mask, text)
        text = self._replace(text)
        if masked:
            text = _MASK_RE.sub(lambda m: masked[ord(m.group(1)) - _MASK_BASE], text)
        return text

    def _replace(self, text: str) -> str:
        if self._literal_re is not None:
            text = self._literal_re.sub(lambda m: self._literal[m.group(0)], text)
        text = self._uid_re.sub(lambda m: self.p.uid(m.group(0)), text)
        for pattern, replacement in self._rules:
            text = pattern.sub(replacement, text)
        return text

    def path(self, value: str) -> str:
        """An input file path: its file name, pseudonymised as a whole."""
        name = _pure(value).name
        return self.p.file_name(name) if name else value

    def config_path(self, value: str) -> str:
        """A protocol or alias file: its file name, with identifying values replaced."""
        return self.text(_pure(value).name or value)

    def label(self, value: str) -> str:
        return self.text(value) if self.keep_labels else self.p.text("label", value)


# --------------------------------------------------------------------------- documents

# what a field of the evaluation document holds, by its position: "*" matches any key or index
_Kind = str
_FIELD_KINDS: tuple[tuple[tuple[str, ...], _Kind], ...] = (
    (("patient", "name"), "person"),
    (("patient", "id"), "id"),
    (("patient", "birth_date"), "birth_date"),
    (("patient", "*"), "withheld"),
    (("course", "structure_set", "label"), "label"),
    (("course", "structure_set", "date"), "withheld"),
    (("course", "structure_set", "time"), "withheld"),
    (("course", "plans", "*", "label"), "label"),
    (("course", "plans", "*", "name"), "label"),
    (("course", "plans", "*", "plan_date"), "withheld"),
    (("course", "plans", "*", "plan_time"), "withheld"),
    (("course", "plans", "*", "review_date"), "withheld"),
    (("course", "plans", "*", "review_time"), "withheld"),
    (("course", "plans", "*", "reviewer_name"), "person"),
    (("course", "*", "planning_system", "institution"), "id"),
    (("course", "*", "planning_system", "station"), "id"),
    (("course", "plans", "*", "planning_system", "institution"), "id"),
    (("course", "plans", "*", "planning_system", "station"), "id"),
    (("course", "plans", "*", "planning_system", "*"), "keep"),
    (("course", "*", "planning_system", "*"), "keep"),
    (("course", "dose_levels", "*", "plans", "*"), "label"),
    (("course", "dose_levels", "*", "id"), "keep"),
    (("course", "dose_levels", "*", "structure"), "keep"),
    (("structures", "*", "curves", "*", "plans", "*"), "label"),
    (("structures", "*", "name"), "keep"),
    (("structures", "*", "protocol_structure"), "keep"),
    (("structures", "*", "expression"), "keep"),
    (("provenance", "settings", "plan"), "label"),
    (("provenance", "input_files", "*", "used_by"), "label"),
    (("provenance", "source_folder"), "folder"),
    (("provenance", "plancheck_version"), "keep"),
    (("provenance", "python"), "keep"),
    (("provenance", "created"), "keep"),
    (("provenance", "protocol_sha256"), "keep"),
    (("provenance", "input_files", "*", "sha256"), "keep"),
    (("protocol", "selected"), "text"),
    (("protocol", "reason"), "text"),
    (("protocol", "**"), "keep"),
    (("summary", "missing_structures"), "keep"),
    (("summary", "missing_structures", "*"), "keep"),
    (("crosschecks", "*", "roi"), "keep"),
    (("crosschecks", "*", "metric"), "keep"),
    (("findings", "*", "code"), "keep"),
    (("findings", "*", "severity"), "keep"),
)
# constraint fields that are clinical text (every other constraint field is scrubbed)
_CLINICAL_CONSTRAINT_KEYS = frozenset(
    [
        "id",
        "kind",
        "structure",
        "matched_roi",
        "match",
        "metric",
        "unit",
        "goal",
        "variation",
        "status",
        "priority",
        "source",
        "dose_level",
        "dose_quantity",
        "protocol_line",
        "required",
    ]
)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(path) > len(head) and all(
            a in ("*", b) for a, b in zip(head, path, strict=False)
        )
    return len(pattern) == len(path) and all(
        a in ("*", b) for a, b in zip(pattern, path, strict=True)
    )


def _kind(path: tuple[str, ...]) -> _Kind:
    """What the document field at ``path`` holds (``"*"`` stands for list indices)."""
    if len(path) >= 3 and path[0] == "constraints" and path[2] in _CLINICAL_CONSTRAINT_KEYS:
        return "keep"
    for pattern, kind in _FIELD_KINDS:
        if _matches(pattern, path):
            return kind
    last = path[-1] if path else ""
    if last.endswith(("uid", "uids")) or (
        len(path) >= 2 and last == "*" and path[-2].endswith("uids")
    ):
        return "uid"
    if last in _PATH_KEYS:
        return "path"
    if last in _CONFIG_PATH_KEYS:
        return "config_path"
    return "text"


def identity_of_document(doc: dict[str, Any]) -> Identity:
    """Every identifying value an evaluation document holds or quotes (see module docstring)."""
    prov = doc.get("provenance") if isinstance(doc.get("provenance"), dict) else {}
    assert isinstance(prov, dict)
    identity = Identity.from_attributes(prov.get("identifying_attributes") or [])
    patient = doc.get("patient") if isinstance(doc.get("patient"), dict) else {}
    assert isinstance(patient, dict)
    if patient.get("name"):
        identity.persons.add(str(patient["name"]))
    if patient.get("id"):
        identity.texts.add(str(patient["id"]))
    if patient.get("birth_date"):
        identity.add_attribute("PatientBirthDate", "DA", str(patient["birth_date"]))

    def visit(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, (*path, str(k)))
        elif isinstance(node, list):
            for v in node:
                visit(v, (*path, "*"))
        elif isinstance(node, str) and node:
            kind = _kind(path)
            if kind == "label":
                identity.labels.add(node)
            elif kind == "person":
                identity.persons.add(node)
            elif kind == "id":
                identity.texts.add(node)
            elif kind == "uid":
                identity.uids.add(node)
            elif kind == "path":
                identity.add_path(node)
            elif kind == "folder":
                identity.add_path(node, folder=True)

    visit(doc, ())
    return identity


def clinical_terms(doc: dict[str, Any]) -> set[str]:
    """Metrics, structure and ROI names, dose-level names of a document: kept wherever quoted."""
    terms: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and value.strip():
            terms.add(value)

    for c in doc.get("constraints") or []:
        if isinstance(c, dict):
            for key in ("metric", "structure", "matched_roi", "dose_level"):
                add(c.get(key))
    for s in doc.get("structures") or []:
        if isinstance(s, dict):
            add(s.get("name"))
            add(s.get("protocol_structure"))
    course = doc.get("course") if isinstance(doc.get("course"), dict) else {}
    for level in (course or {}).get("dose_levels") or []:
        if isinstance(level, dict):
            add(level.get("id"))
            add(level.get("structure"))
    protocol = doc.get("protocol") if isinstance(doc.get("protocol"), dict) else {}
    add((protocol or {}).get("name"))
    return terms


def anonymize_document(
    doc: dict[str, Any], key: bytes | None = None, *, keep_labels: bool = False
) -> dict[str, Any]:
    """A deep copy of an evaluation document with every identifying value pseudonymised.

    ``key`` defaults to the key file of :func:`load_or_create_key`. Records
    what was done under ``provenance.anonymized`` (method, what was kept and
    the key fingerprint, never the key), and drops
    ``provenance.identifying_attributes``.
    """
    p = Pseudonymizer(load_or_create_key() if key is None else key)
    scrub = Scrubber(
        identity_of_document(doc), p, keep_labels=keep_labels, clinical_terms=clinical_terms(doc)
    )
    out = _map(copy.deepcopy(doc), (), scrub)
    provenance = out.get("provenance")
    if isinstance(provenance, dict):
        provenance.pop("identifying_attributes", None)
        provenance["anonymized"] = {
            "method": "HMAC-SHA256 pseudonyms of every identifying value (DICOM PS3.15 Annex E); "
            "UIDs under 2.25; file and folder names replaced; dates withheld",
            "kept": ["clinical text", *(["plan and structure-set labels"] if keep_labels else [])],
            "key_fingerprint": p.fingerprint,
        }
    return out


def _map(node: Any, path: tuple[str, ...], scrub: Scrubber) -> Any:
    if isinstance(node, dict):
        curves = len(path) == 3 and path[0] == "structures" and path[2] == "curves"
        return {
            (scrub.text(str(k)) if curves else k): _map(v, (*path, str(k)), scrub)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_map(v, (*path, "*"), scrub) for v in node]
    if not isinstance(node, str):
        if node is not None and _kind(path) == "withheld":
            return None
        return node
    kind = _kind(path)
    p = scrub.p
    if kind == "keep":
        return node
    if kind == "withheld":
        return None
    if kind == "person":
        return p.text("name", node)
    if kind == "id":
        return p.text("id", node)
    if kind == "birth_date":
        return p.text("date", re.sub(r"\D", "", node)[:8] or node)
    if kind == "label":
        return scrub.label(node)
    if kind == "uid":
        return p.uid(node)
    if kind == "path":
        return scrub.path(node)
    if kind == "config_path":
        return scrub.config_path(node)
    if kind == "folder":
        return INPUT_FOLDER
    return scrub.text(node)
