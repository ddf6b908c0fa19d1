"""Finding and replacing identifying values in text: any case, any separators, any date format.

An :class:`Identity` holds the identifying values of one evaluation (person
names, dates, labels, other identifying text, UIDs, file and folder paths); a
:class:`Scrubber` replaces them in a text with their pseudonyms
(:mod:`plancheck.report.pseudonyms`):

* paths as quoted (the whole path, and every trailing part of it) by the
  pseudonym of their file name; input folders by ``<input folder>``; any other
  ``*.dcm`` file name as a whole;
* UIDs, known ones and anything shaped like one;
* person names as whole names of at least two words, in the orders they are
  written (``DOE^JOHN``, ``Doe_John``, ``John Doe``), never one word alone;
* labels and other identifying text in any case, with any separators between
  their words; values too short to tell from anything else (``M``, ``1``) and
  generic words (``PLAN``) are not searched;
* dates in every common spelling (``19510203``, ``1951-02-03``,
  ``03.02.1951``, ``3 Feb 1951``...).

Clinical terms given to the scrubber (metrics, structure and ROI names) are set
aside before and restored after, so they are never rewritten.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from plancheck.report.pseudonyms import STANDARD_UID_ROOT, UID_RE, Pseudonymizer

__all__ = ["INPUT_FOLDER", "Identity", "Scrubber"]

INPUT_FOLDER = "<input folder>"
# file names that look like DICOM files, found in messages that quote them without a path field
_DICOM_FILE_RE = re.compile(
    r"(?<![\w.\-^])(?!ANON-[0-9a-f]{12}\.)[\w\-^.]+\.(?:dcm|dicom|ima|img)\b", re.IGNORECASE
)
_LABEL_KEYWORDS = frozenset({"RTPlanLabel", "RTPlanName", "StructureSetLabel", "StructureSetName"})
# generic words that some headers carry as a description; not used to rewrite messages
# fmt: off
_GENERIC_WORDS = frozenset((
    "plan", "plans", "dose", "doses", "rt", "rtplan", "rtdose", "rtstruct", "rtss", "structure",
    "structures", "structure_set", "study", "series", "image", "images", "ct", "mr", "mri", "pet",
    "body", "external", "patient", "unknown", "anonymous", "none", "yes", "no", "test", "qa",
    "phantom", "approved", "unapproved", "rejected", "physical", "effective", "treatment", "planning",
))
# fmt: on
_SEP = r"[^A-Za-z0-9\n]{0,3}"
# placeholders for clinical terms while a text is scrubbed (Unicode private use area)
_MASK_OPEN, _MASK_CLOSE, _MASK_BASE = "\ue000", "\ue001", 0xF0000
_MASK_RE = re.compile("\ue000(.)\ue001", re.DOTALL)
_MONTHS = [m.lower() for m in calendar.month_name[1:]]


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
            (u for u in ident.uids if not u.startswith(STANDARD_UID_ROOT)), key=len, reverse=True
        )
        alternatives = [rf"(?<![\d.]){re.escape(u)}(?![\d])(?!\.\d)" for u in known]
        self._uid_re = re.compile("|".join([*alternatives, UID_RE.pattern]))

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
