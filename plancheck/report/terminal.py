"""Text that is safe to print on a terminal: no escape sequence from a DICOM file ever runs.

Strings read from DICOM files (ROI names, labels, patient names, file names)
may hold terminal control sequences, by accident or on purpose: ``ESC [ 2 J``
clears the screen, an OSC sequence can retitle the window or forge a
hyperlink, and a carriage return can overwrite a FAIL with a PASS.
:func:`terminal_safe` replaces every escape sequence (ESC and the sequence it
starts, CSI, OSC, DCS ...), every C1 control character (U+0080–U+009F) and
every C0 control character except tab and newline with U+FFFD, so that what
was there stays visible without acting.
"""

from __future__ import annotations

import re

__all__ = ["REPLACEMENT", "terminal_safe"]

REPLACEMENT = "\ufffd"
_SEQUENCES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?              # CSI ... final byte
    | \x1b[\]PX^_].*?(?:\x07|\x1b\\|$)    # OSC, DCS, SOS, PM, APC ... BEL or ST
    | \x1b[ -/]*[0-~]?                    # any other escape sequence
    | \x9b[0-?]*[ -/]*[@-~]?              # 8-bit CSI
    | [\x90\x9d\x9e\x9f\x98].*?(?:\x07|\x9c|$)  # 8-bit DCS, OSC, PM, APC, SOS ... ST
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]       # any other control character (tab and newline kept)
    """,
    re.VERBOSE | re.DOTALL,
)


def terminal_safe(text: str) -> str:
    """``text`` with every control sequence and control character replaced by U+FFFD."""
    return _SEQUENCES.sub(REPLACEMENT, text)
