"""The error hierarchy of plancheck.

Every error plancheck raises on purpose derives from :class:`PlancheckError`.
Messages say what failed, where (file, ROI, UID, YAML key) and how to fix it;
the command-line layer turns them into one line for the user and an exit
status (:attr:`PlancheckError.exit_code`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AmbiguousMatchError",
    "CourseError",
    "DicomReadError",
    "InputError",
    "MetricSyntaxError",
    "MetricUndefinedError",
    "MissingDependencyError",
    "PlancheckError",
    "ProtocolError",
    "UnsupportedDataError",
]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3


class PlancheckError(Exception):
    """Root of every error plancheck raises deliberately."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, *, path: Path | str | None = None, hint: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        fix = f" {self.hint}" if self.hint else ""
        return f"{where}{self.message}{fix}"


class InputError(PlancheckError):
    """The input data (DICOM files, folders) cannot be used as given."""

    exit_code = EXIT_INPUT


class DicomReadError(InputError):
    """A file is not readable DICOM, or is truncated or malformed."""


class UnsupportedDataError(InputError):
    """Valid DICOM that plancheck refuses to interpret (relative dose, oblique grids, ...)."""


class CourseError(InputError):
    """The files of a folder do not form a plan or course that can be evaluated."""


class ProtocolError(PlancheckError):
    """A protocol file, alias file or command-line usage is invalid."""

    exit_code = EXIT_USAGE


class MetricSyntaxError(ProtocolError):
    """A DVH metric string does not follow the TG-263 grammar.

    ``position`` is the 0-based index of the first character that could not be
    parsed, so the message can point at it.
    """

    def __init__(self, metric: str, position: int, expected: str):
        self.metric = metric
        self.position = position
        self.expected = expected
        pointer = " " * position + "^"
        super().__init__(
            f"invalid DVH metric {metric!r} at character {position + 1}: expected {expected}\n"
            f"    {metric}\n    {pointer}",
            hint="Metrics look like 'D95%[Gy]', 'V20Gy[%]', 'D0.03cc[EQD2Gy(a/b=2)]', 'Mean[Gy]'.",
        )


class MissingDependencyError(PlancheckError):
    """A feature needs an optional package that is not installed (a usage error, exit 2)."""

    exit_code = EXIT_USAGE


class AmbiguousMatchError(ProtocolError):
    """Two or more ROIs match one protocol structure."""


class MetricUndefinedError(PlancheckError):
    """A DVH metric has no defined value for this structure (never reported as 0).

    Examples: D2cc of a 1 cc structure, D95% of an empty structure, a relative
    dose metric without a prescription.
    """

    exit_code = EXIT_INPUT

    def __init__(self, metric: str, reason: str):
        self.metric = metric
        self.reason = reason
        super().__init__(f"{metric} is undefined: {reason}")
