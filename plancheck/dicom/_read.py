"""Reading DICOM files safely: every failure becomes a :class:`DicomReadError`.

pydicom reads leniently: a truncated file yields a dataset that simply ends
early, a malformed value raises only when it is accessed, and a non-conformant
value emits a warning. This module turns all of that into plancheck's terms:

* :func:`read_dataset` reads a file (optionally deferring large values such as
  the pixel data) and raises :class:`~plancheck.errors.DicomReadError` naming
  the file when pydicom cannot.
* :class:`Fields` reads values out of a dataset (or a sequence item) and
  raises ``DicomReadError`` naming the file and the attribute when a value is
  missing or cannot be decoded.
* :func:`capture_warnings` records pydicom's warnings as findings instead of
  letting them reach the terminal.
"""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.tag import Tag

from plancheck.dicom._integrity import structure_problem
from plancheck.errors import DicomReadError
from plancheck.model import Finding, PatientInfo, Severity

__all__ = [
    "DECODE_ERRORS",
    "DEFER_SIZE_BYTES",
    "Fields",
    "capture_warnings",
    "dataset_path",
    "raw_element",
    "read_dataset",
    "sniff",
]

# Values larger than this are left in the file until they are used (the pixel
# data of dose grids and images). Contour data (at most 64 KiB per contour in
# explicit VR) and DVH data stay below it, so they are read with the header.
DEFER_SIZE_BYTES = 256 * 1024

# What pydicom raises while reading or decoding malformed input (in 2.4 and 3).
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    InvalidDicomError,
    BytesLengthException,
    OSError,
    EOFError,
    ValueError,  # includes UnicodeDecodeError
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    OverflowError,
    struct.error,
)

_REREAD_HINT = "Re-export the file from the planning system, or remove it from the folder."


def sniff(path: Path) -> bool | str:
    """Whether ``path`` looks like DICOM, from its first 132 bytes.

    Returns True for a file with the 128-byte preamble and ``DICM``, False for
    a bare dataset without them (some older exports), or a string saying why
    the file is not DICOM.
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        return f"the file cannot be opened ({exc.strerror or exc})"
    if not head:
        return "the file is empty"
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    if len(head) >= 8:
        group = struct.unpack_from("<H", head, 0)[0]
        if group in (0x0002, 0x0008):  # a dataset written without preamble
            return False
    return "no DICOM preamble and no DICOM data at its start"


def read_dataset(
    path: Path, *, preamble: bool | None = None, defer_size: int | None = DEFER_SIZE_BYTES
) -> Dataset:
    """Read ``path`` with pydicom, refusing non-DICOM, truncated and malformed files.

    The file's element structure is walked first (:mod:`plancheck.dicom._integrity`,
    a bounded walk over header bytes only), so pydicom never parses junk.

    Parameters
    ----------
    path : Path
        The file.
    preamble : bool or None
        Whether the file has the DICOM preamble (see :func:`sniff`); None:
        look.
    defer_size : int or None
        Values larger than this many bytes are read when first accessed.

    Raises
    ------
    DicomReadError
        When the file is not DICOM, pydicom cannot read it, or it is truncated.
    """
    path = Path(path)
    if preamble is None:
        found = sniff(path)
        if isinstance(found, str):
            raise DicomReadError(f"is not a DICOM file: {found}", path=path, hint=_REREAD_HINT)
        preamble = found
    # the structure first: a truncated file or junk that begins like DICOM never reaches pydicom
    try:
        problem = structure_problem(path, preamble)
    except (OSError, ValueError) as exc:
        raise DicomReadError(f"cannot be read ({getattr(exc, 'strerror', None) or exc})", path=path) from exc
    if problem is not None and problem.kind == "truncated":
        raise DicomReadError(
            f"the file is truncated: {problem.reason}",
            path=path,
            hint="Copy or export the file again; the transfer was cut short.",
        )
    if problem is not None:
        raise DicomReadError(f"not readable as DICOM: {problem.reason}", path=path, hint=_REREAD_HINT)
    try:
        ds = pydicom.dcmread(path, defer_size=defer_size, force=not preamble)
    except DECODE_ERRORS as exc:
        raise DicomReadError(
            f"not readable as DICOM ({type(exc).__name__}: {exc})", path=path, hint=_REREAD_HINT
        ) from exc
    return ds


def dataset_path(ds: Dataset, path: Path | None) -> Path | None:
    """``path`` if given, else the file the dataset was read from (if any)."""
    if path is not None:
        return Path(path)
    filename = getattr(ds, "filename", None)
    return Path(filename) if isinstance(filename, str) and filename else None


def raw_element(ds: Dataset, tag: int) -> Any:
    """The element stored for ``tag`` without reading a deferred value (or None).

    pydicom keeps elements it has not converted yet, and deferred ones, as
    ``RawDataElement`` in the dataset's element dictionary (2.4 and 3 alike);
    ``Dataset.get_item`` would read a deferred value, which this avoids.
    """
    return ds._dict.get(Tag(tag))


@contextmanager
def capture_warnings(path: Path | None, sink: list[Finding]) -> Iterator[None]:
    """Record pydicom's warnings raised inside the block as INFO findings in ``sink``.

    The ``pydicom`` logger's copies of the same messages are silenced for the
    duration, so the findings are the one place they appear.
    """
    logger = logging.getLogger("pydicom")
    silence = logging.Filter("plancheck-silenced")  # matches no pydicom record name
    logger.addFilter(silence)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeFilter(silence)
    seen: set[str] = set()
    for w in caught:
        if not issubclass(w.category, UserWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        text = " ".join(str(w.message).split()).split(" Please see <")[0]  # drop pydicom's link
        if text in seen:
            continue
        seen.add(text)
        where = f"{path.name}: " if path is not None else ""
        sink.append(
            Finding(
                Severity.INFO,
                "dicom-nonconformance",
                f"{where}pydicom reports: {text}",
                None if path is None else str(path),
            )
        )


class Fields:
    """Typed access to the attributes of one dataset or sequence item.

    Parameters
    ----------
    ds : Dataset
        The dataset or sequence item.
    path : Path or None
        The file it came from (named in every error).
    what : str
        What the dataset is ("RTDOSE", "RTSTRUCT ROI 3", ...), for messages.
    """

    def __init__(self, ds: Dataset, path: Path | None, what: str) -> None:
        self.ds = ds
        self.path = path
        self.what = what

    # -- low level ---------------------------------------------------------------

    def _error(self, message: str, hint: str | None = None) -> DicomReadError:
        return DicomReadError(f"{self.what}: {message}", path=self.path, hint=hint or _REREAD_HINT)

    def value(self, keyword: str) -> Any:
        """The decoded value of ``keyword``, or None when absent or empty."""
        try:
            if keyword not in self.ds:
                return None
            value = self.ds[keyword].value
        except DECODE_ERRORS as exc:
            raise self._error(f"{keyword} cannot be decoded ({type(exc).__name__}: {exc})") from exc
        if value is None or (isinstance(value, (str, bytes)) and not value.strip()):
            return None
        return value

    def has(self, keyword: str) -> bool:
        return self.value(keyword) is not None

    def item(self, ds: Dataset, what: str) -> Fields:
        """Fields of a sequence item of this dataset."""
        return Fields(ds, self.path, what)

    # -- text ---------------------------------------------------------------------

    def text(self, keyword: str) -> str | None:
        """A string value (first value of a multi-valued one), stripped; None when absent."""
        value = self.value(keyword)
        if value is None:
            return None
        if isinstance(value, (list, tuple)) or _is_multivalue(value):
            value = value[0] if len(value) else None
            if value is None:
                return None
        if isinstance(value, bytes):
            value = value.decode("ascii", errors="replace")
        text = str(value).strip().strip("\x00").strip()
        return text or None

    def required_text(self, keyword: str, hint: str | None = None) -> str:
        text = self.text(keyword)
        if text is None:
            raise self._error(f"the required attribute {keyword} is missing or empty", hint)
        return text

    def upper(self, keyword: str) -> str | None:
        text = self.text(keyword)
        return None if text is None else text.upper()

    # -- numbers ------------------------------------------------------------------

    def numbers(self, keyword: str) -> list[float] | None:
        """All numeric values of ``keyword`` as floats; None when absent."""
        value = self.value(keyword)
        if value is None:
            return None
        values: Sequence[Any] = (
            value if (isinstance(value, (list, tuple)) or _is_multivalue(value)) else [value]
        )
        try:
            return [float(v) for v in values]
        except (TypeError, ValueError) as exc:
            raise self._error(f"{keyword} holds a non-numeric value ({exc})") from exc

    def float_array(self, keyword: str, tag: int) -> npt.NDArray[np.float64] | None:
        """A long numeric (DS) value as an array; None when absent.

        Values pydicom has not decoded yet are parsed from their raw bytes in
        one numpy call, which is many times faster than decoding each number.
        Non-finite values are returned as they are; callers check them.
        """
        raw = raw_element(self.ds, tag)
        if (
            raw is not None
            and isinstance(getattr(raw, "value", None), bytes)
            and getattr(raw, "VR", None) in (None, "DS")
        ):
            text = raw.value.rstrip(b"\x00 ")
            if not text:
                return None
            try:
                return np.array(text.split(b"\\"), dtype=np.bytes_).astype(np.float64)
            except ValueError as exc:
                raise self._error(f"{keyword} holds a non-numeric value ({exc})") from exc
        values = self.numbers(keyword)
        return None if values is None else np.asarray(values, dtype=np.float64)

    def number(self, keyword: str) -> float | None:
        values = self.numbers(keyword)
        if values is None or not values:
            return None
        return values[0]

    def required_numbers(
        self, keyword: str, count: int | None = None, hint: str | None = None
    ) -> list[float]:
        values = self.numbers(keyword)
        if values is None or not values:
            raise self._error(f"the required attribute {keyword} is missing or empty", hint)
        if count is not None and len(values) != count:
            raise self._error(f"{keyword} has {len(values)} values, expected {count}", hint)
        if not all(np.isfinite(values)):
            raise self._error(
                f"{keyword} holds a value that is not a finite number: {values}", hint
            )
        return values

    def required_number(self, keyword: str, hint: str | None = None) -> float:
        return self.required_numbers(keyword, hint=hint)[0]

    def integer(self, keyword: str) -> int | None:
        value = self.number(keyword)
        if value is None:
            return None
        if not np.isfinite(value) or value != int(value):
            raise self._error(f"{keyword} is not an integer: {value}")
        return int(value)

    def required_integer(self, keyword: str, hint: str | None = None) -> int:
        value = self.integer(keyword)
        if value is None:
            raise self._error(f"the required attribute {keyword} is missing or empty", hint)
        return value

    # -- sequences ----------------------------------------------------------------

    def sequence(self, keyword: str) -> list[Dataset]:
        """The items of sequence ``keyword`` (empty when absent)."""
        value = self.value(keyword)
        if value is None:
            return []
        try:
            items = list(value)
        except TypeError as exc:
            raise self._error(f"{keyword} is not a sequence") from exc
        if not all(isinstance(i, Dataset) for i in items):
            raise self._error(f"{keyword} is not a sequence of items")
        return items

    # -- common groups ------------------------------------------------------------

    def patient(self) -> PatientInfo:
        return PatientInfo(
            name=self.text("PatientName") or "",
            patient_id=self.text("PatientID") or "",
            birth_date=self.text("PatientBirthDate") or "",
        )

    def referenced_uids(self, sequence: str) -> tuple[str, ...]:
        """ReferencedSOPInstanceUID of every item of ``sequence``."""
        uids = []
        for k, item in enumerate(self.sequence(sequence)):
            uid = self.item(item, f"{self.what} {sequence} item {k + 1}").text(
                "ReferencedSOPInstanceUID"
            )
            if uid is not None:
                uids.append(uid)
        return tuple(uids)


def _is_multivalue(value: Any) -> bool:
    from pydicom.multival import MultiValue

    return isinstance(value, MultiValue)
