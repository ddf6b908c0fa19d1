"""Checking a DICOM file's structure before pydicom parses it: truncation and junk.

pydicom stops quietly at the end of a file: a structure set cut in the middle
of its contour sequence reads as a structure set with fewer contours, a dose
cut in its pixel data as a dose with a short pixel buffer. And pydicom reads
whatever follows a DICOM preamble: a large file of junk that begins like
DICOM can keep it busy for minutes.

:func:`structure_problem` walks the element headers of the file (values are
skipped, not parsed, so only header bytes are touched) and stops at the first
of:

* the file ending inside an element (truncated);
* an explicit-VR element whose VR is not two upper-case letters, or data
  elements out of ascending tag order within a dataset (PS3.5 7.1: elements
  are in ascending order; junk breaks both within a few elements);
* more than :data:`MAX_ELEMENTS` element headers (a bounded walk).

Elements of defined length are checked against the file size without reading
their content; sequences and items of undefined length are walked down to
their delimiters. The transfer syntax is read from the file meta information
(explicit or implicit VR is guessed from the first element when there is
none, as pydicom does).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_ELEMENTS", "Problem", "dataset_offset", "structure_problem", "truncation"]

# element headers walked in one file at most; an RT Structure Set of 3.8 MB has about 100,000
MAX_ELEMENTS = 2_000_000

_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
_UNDEFINED = 0xFFFFFFFF
_ITEM = (0xFFFE, 0xE000)
_ITEM_END = (0xFFFE, 0xE00D)
_SEQUENCE_END = (0xFFFE, 0xE0DD)
_MAX_DEPTH = 32

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")


class _TruncatedError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class _MalformedError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Problem:
    """Why a file cannot be read: ``kind`` is ``"truncated"`` or ``"malformed"``."""

    kind: str
    reason: str


def _is_vr(vr: bytes) -> bool:
    return len(vr) == 2 and 65 <= vr[0] <= 90 and 65 <= vr[1] <= 90


class _Walker:
    def __init__(self, buf: mmap.mmap | bytes, size: int) -> None:
        self.buf = buf
        self.size = size
        self.elements = 0  # element headers walked (bounded by MAX_ELEMENTS)

    def count(self, pos: int) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise _MalformedError(
                f"more than {MAX_ELEMENTS:,} data elements (at byte {pos}); this is not an RT object "
                "plancheck reads"
            )

    def need(self, pos: int, n: int, what: str) -> None:
        if pos + n > self.size:
            raise _TruncatedError(
                f"the file ends at byte {self.size}, inside {what} that needs bytes {pos}..{pos + n}"
            )

    def header(self, pos: int, implicit: bool, little: bool) -> tuple[int, int, bytes, int, int]:
        """(group, element, VR, value length, header length) of the element at ``pos``."""
        e = "<" if little else ">"
        self.need(pos, 8, "an element header")
        group, elem = struct.unpack_from(f"{e}HH", self.buf, pos)
        if group == 0xFFFE or implicit:
            (length,) = struct.unpack_from(f"{e}L", self.buf, pos + 4)
            return group, elem, b"", length, 8
        vr = bytes(self.buf[pos + 4 : pos + 6])
        if not _is_vr(vr):
            raise _MalformedError(
                f"element ({group:04X},{elem:04X}) at byte {pos} has no value representation "
                f"(bytes {vr!r}): the data are not DICOM"
            )
        if vr in _LONG_VRS:
            self.need(pos, 12, "an element header")
            (length,) = struct.unpack_from(f"{e}L", self.buf, pos + 8)
            return group, elem, vr, length, 12
        (length,) = struct.unpack_from(f"{e}H", self.buf, pos + 6)
        return group, elem, vr, length, 8

    def dataset(self, pos: int, end: int | None, implicit: bool, little: bool, depth: int) -> int:
        """Walk a dataset from ``pos`` to ``end`` (or to its item delimiter); return the end."""
        if depth > _MAX_DEPTH:
            raise _MalformedError("sequences are nested more than 32 deep")
        previous = -1
        while end is None or pos < end:
            if end is None and pos >= self.size:
                raise _TruncatedError(
                    f"the file ends at byte {self.size} inside an item without its delimiter"
                )
            self.count(pos)
            group, elem, vr, length, hlen = self.header(pos, implicit, little)
            if (group, elem) == _ITEM_END:
                if end is None:
                    return pos + hlen
                raise _TruncatedError(
                    f"an item delimiter at byte {pos} inside an item of defined length"
                )
            tag = f"({group:04X},{elem:04X})"
            number = (group << 16) | elem
            if number <= previous:
                raise _MalformedError(
                    f"element {tag} at byte {pos} follows ({previous >> 16:04X},{previous & 0xFFFF:04X}): "
                    "data elements out of ascending order, so the data are not DICOM (or are damaged)"
                )
            previous = number
            pos += hlen
            if length == _UNDEFINED:
                item_implicit = True if vr == b"UN" else implicit
                pos = self.sequence(pos, None, item_implicit, little, depth + 1, tag)
            else:
                self.need(pos, length, f"element {tag}")
                pos += length
        return pos

    def sequence(
        self, pos: int, end: int | None, implicit: bool, little: bool, depth: int, tag: str
    ) -> int:
        """Walk the items of a sequence (or encapsulated pixel data) of undefined length."""
        while True:
            self.count(pos)
            group, elem, _, length, hlen = self.header(pos, True, little)
            if (group, elem) == _SEQUENCE_END:
                return pos + hlen
            if (group, elem) != _ITEM:
                raise _TruncatedError(
                    f"element {tag}: expected an item at byte {pos}, found ({group:04X},{elem:04X})"
                )
            pos += hlen
            if length == _UNDEFINED:
                pos = self.dataset(pos, None, implicit, little, depth + 1)
            else:
                self.need(pos, length, f"an item of {tag}")
                pos += length


def structure_problem(path: Path, has_preamble: bool) -> Problem | None:
    """Why ``path`` cannot be DICOM data as it stands (truncated or malformed), or None.

    Parameters
    ----------
    path : Path
        The file.
    has_preamble : bool
        Whether the file starts with the 128-byte preamble and ``DICM``.

    Deflated transfer syntaxes are not walked (None): pydicom inflates them.

    Raises
    ------
    OSError
        When the file cannot be opened or mapped.
    """
    size = path.stat().st_size
    if size == 0:
        return Problem("truncated", "the file is empty")
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        walker = _Walker(buf, size)
        pos = 132 if has_preamble else 0
        syntax: str | None = None
        try:
            # file meta information: group 0002, always explicit VR little endian
            while pos + 8 <= size:
                group = struct.unpack_from("<H", buf, pos)[0]
                if group != 0x0002:
                    break
                walker.count(pos)
                _, elem, _, length, hlen = walker.header(pos, False, True)
                if length == _UNDEFINED:
                    return Problem(
                        "malformed", f"file meta element (0002,{elem:04X}) has an undefined length"
                    )
                walker.need(pos + hlen, length, f"file meta element (0002,{elem:04X})")
                if elem == 0x0010:
                    raw = bytes(buf[pos + hlen : pos + hlen + min(length, 64)])
                    syntax = raw.rstrip(b"\x00 ").decode("ascii", errors="replace")
                pos += hlen + length
            if syntax in DEFLATED:
                return None
            if syntax is None:  # no file meta: guess as pydicom does, from the first element
                implicit = not (pos + 6 <= size and _is_vr(bytes(buf[pos + 4 : pos + 6])))
            else:
                implicit = syntax == IMPLICIT_VR_LITTLE_ENDIAN
            little = syntax != EXPLICIT_VR_BIG_ENDIAN
            walker.dataset(pos, size, implicit, little, 0)
        except _TruncatedError as exc:
            return Problem("truncated", exc.reason)
        except _MalformedError as exc:
            return Problem("malformed", exc.reason)
    return None


def truncation(path: Path, transfer_syntax_uid: str | None, has_preamble: bool) -> str | None:
    """Why ``path`` looks truncated or malformed, or None (see :func:`structure_problem`).

    ``transfer_syntax_uid`` is ignored: the file meta information says it.
    """
    problem = structure_problem(path, has_preamble)
    return None if problem is None else problem.reason


def dataset_offset(path: Path) -> int:
    """Byte offset where a file's data set starts (after its preamble and file meta group)."""
    with path.open("rb") as fh:
        head = fh.read(132)
        pos = 132 if len(head) == 132 and head[128:132] == b"DICM" else 0
        fh.seek(pos)
        while True:
            header = fh.read(8)
            if len(header) < 8 or struct.unpack_from("<H", header, 0)[0] != 0x0002:
                return pos
            vr = header[4:6]
            if vr in _LONG_VRS:
                extra = fh.read(4)
                if len(extra) < 4:
                    return pos
                (length,) = struct.unpack("<L", extra)
                hlen = 12
            else:
                (length,) = struct.unpack_from("<H", header, 6)
                hlen = 8
            pos += hlen + length
            fh.seek(pos)
