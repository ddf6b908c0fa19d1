"""Detecting truncated DICOM files, which pydicom reads without complaint.

pydicom stops quietly at the end of a file: a structure set cut in the middle
of its contour sequence reads as a structure set with fewer contours, a dose
cut in its pixel data as a dose with a short pixel buffer. :func:`truncation`
walks the element headers of the file (values are skipped, not parsed) and
reports where the file ends inside an element. Elements of defined length are
checked against the file size without reading their content; sequences and
items of undefined length are walked down to their delimiters.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

__all__ = ["truncation"]

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


class _Walker:
    def __init__(self, buf: mmap.mmap | bytes, size: int) -> None:
        self.buf = buf
        self.size = size

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
        if vr in _LONG_VRS:
            self.need(pos, 12, "an element header")
            (length,) = struct.unpack_from(f"{e}L", self.buf, pos + 8)
            return group, elem, vr, length, 12
        (length,) = struct.unpack_from(f"{e}H", self.buf, pos + 6)
        return group, elem, vr, length, 8

    def dataset(self, pos: int, end: int | None, implicit: bool, little: bool, depth: int) -> int:
        """Walk a dataset from ``pos`` to ``end`` (or to its item delimiter); return the end."""
        if depth > _MAX_DEPTH:
            raise _TruncatedError("sequences are nested more than 32 deep")
        while end is None or pos < end:
            if end is None and pos >= self.size:
                raise _TruncatedError(
                    f"the file ends at byte {self.size} inside an item without its delimiter"
                )
            group, elem, vr, length, hlen = self.header(pos, implicit, little)
            if (group, elem) == _ITEM_END:
                if end is None:
                    return pos + hlen
                raise _TruncatedError(
                    f"an item delimiter at byte {pos} inside an item of defined length"
                )
            tag = f"({group:04X},{elem:04X})"
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


def truncation(path: Path, transfer_syntax_uid: str | None, has_preamble: bool) -> str | None:
    """Why ``path`` looks truncated, or None when every element ends inside the file.

    Parameters
    ----------
    path : Path
        A file pydicom has read.
    transfer_syntax_uid : str or None
        Its transfer syntax (None: implicit VR little endian, as pydicom assumes).
    has_preamble : bool
        Whether the file starts with the 128-byte preamble and ``DICM``.

    Deflated transfer syntaxes are not checked (None).
    """
    if transfer_syntax_uid in DEFLATED:
        return None
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    implicit = transfer_syntax_uid in (None, IMPLICIT_VR_LITTLE_ENDIAN)
    little = transfer_syntax_uid != EXPLICIT_VR_BIG_ENDIAN
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        walker = _Walker(buf, size)
        pos = 132 if has_preamble else 0
        try:
            # file meta information: group 0002, always explicit VR little endian
            while pos + 8 <= size:
                group = struct.unpack_from("<H", buf, pos)[0]
                if group != 0x0002:
                    break
                _, elem, _, length, hlen = walker.header(pos, False, True)
                if length == _UNDEFINED:
                    return f"file meta element (0002,{elem:04X}) has an undefined length"
                walker.need(pos + hlen, length, f"file meta element (0002,{elem:04X})")
                pos += hlen + length
            walker.dataset(pos, size, implicit, little, 0)
        except _TruncatedError as exc:
            return exc.reason
    return None
