"""Command-line options of a re-irradiation evaluation: ``--prior``, ``--registration``, ..."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from plancheck.reirradiation.request import PriorRequest

__all__ = ["prior_options", "prior_request"]

F = TypeVar("F", bound=Callable[..., Any])


def prior_options(f: F) -> F:
    """``--prior``, ``--registration``, ``--prior-date`` and ``--prior-recovery``."""
    options = [
        click.option(
            "--prior",
            "prior_dirs",
            multiple=True,
            type=click.Path(exists=True, file_okay=False),
            help="Folder of a prior course (re-irradiation; repeatable): loaded as a course of its own, "
            "mapped onto the current course through a DICOM Spatial Registration, and summed in EQD2 "
            "with its own fractions for the protocol's 'dose: prior' and 'dose: cumulative' constraints.",
        ),
        click.option(
            "--registration",
            "registrations",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="A DICOM Spatial Registration (REG) linking the current and a prior course's frames of "
            "reference, besides those found in the course folders (repeatable).",
        ),
        click.option(
            "--prior-date",
            "prior_dates",
            multiple=True,
            metavar="YYYY-MM-DD",
            help="Date of the last fraction of a prior course (one per --prior, in order), when its "
            "folder holds no treatment record.",
        ),
        click.option(
            "--prior-recovery",
            "prior_recovery",
            type=click.FloatRange(0.0, 100.0, max_open=True),
            default=0.0,
            show_default=True,
            metavar="PERCENT",
            help="Recovery discount: count the prior courses' EQD2 at (100 - PERCENT) % in the cumulative "
            "dose. None unless set; recorded in the report.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def prior_request(
    prior_dirs: tuple[str, ...],
    registrations: tuple[str, ...],
    prior_dates: tuple[str, ...],
    prior_recovery: float,
) -> PriorRequest | None:
    """The request of the options, or None without ``--prior``.

    Raises
    ------
    click.UsageError
        When the other options are given without ``--prior``, or the dates do not pair with the priors.
    """
    if not prior_dirs:
        extra = [
            name
            for name, given in (
                ("--registration", registrations),
                ("--prior-date", prior_dates),
                ("--prior-recovery", prior_recovery),
            )
            if given
        ]
        if extra:
            raise click.UsageError(f"{', '.join(extra)} needs --prior PRIOR_DIR")
        return None
    try:
        return PriorRequest(
            tuple(Path(p) for p in prior_dirs),
            tuple(Path(p) for p in registrations),
            tuple(prior_dates),
            prior_recovery,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
