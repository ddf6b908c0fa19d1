"""What the user asks of a re-irradiation evaluation: prior folders, registrations, dates, recovery."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PriorRequest"]


@dataclass(frozen=True)
class PriorRequest:
    """Prior courses to add to an evaluation.

    Parameters
    ----------
    prior_dirs : tuple of Path
        One folder per prior course (``--prior``), each loaded as a course of its own.
    registrations : tuple of Path
        Registration files given by the user (``--registration``), used besides
        (and before) the REG objects found in the course folders.
    prior_dates : tuple of str
        ``--prior-date`` values (``YYYY-MM-DD``): the date of each prior course's
        last fraction, in the order of ``prior_dirs`` (one date for one prior).
    recovery_percent : float
        A stated recovery discount: the prior courses' EQD2 is multiplied by
        ``1 - recovery_percent / 100`` in the cumulative dose. 0 (none) unless
        the user sets it.
    """

    prior_dirs: tuple[Path, ...]
    registrations: tuple[Path, ...] = ()
    prior_dates: tuple[str, ...] = ()
    recovery_percent: float = 0.0

    def __post_init__(self) -> None:
        if not self.prior_dirs:
            raise ValueError("a re-irradiation evaluation needs at least one prior course folder")
        if self.prior_dates and len(self.prior_dates) != len(self.prior_dirs):
            raise ValueError(
                f"{len(self.prior_dates)} --prior-date for {len(self.prior_dirs)} --prior: give one "
                "date per prior course, in the same order"
            )
        if not (0.0 <= self.recovery_percent < 100.0):
            raise ValueError(
                f"the recovery discount must be at least 0 % and below 100 %, got {self.recovery_percent:g} %"
            )

    @property
    def prior_weight(self) -> float:
        """The factor on the prior courses' dose in the cumulative dose."""
        return 1.0 - self.recovery_percent / 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior_dirs": [str(p) for p in self.prior_dirs],
            "registrations": [str(p) for p in self.registrations],
            "prior_dates": list(self.prior_dates),
            "recovery_percent": self.recovery_percent,
        }
