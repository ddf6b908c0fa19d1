"""Reusable click options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def end_caps_option(f: F) -> F:
    return click.option(
        "--end-caps",
        type=click.Choice(["auto", "half", "none"]),
        default="auto",
        show_default=True,
        help="Structure extent beyond its first and last contour planes: auto (the convention "
        "of the planning system that wrote the structure set: none for Eclipse and RayStation, "
        "half elsewhere), half a slice (Nelms' analytical volumes) or none (end planes bound it). "
        "Comparisons with a planning system's stored DVHs always use that system's.",
    )(f)


def format_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    def deco(f: F) -> F:
        return click.option(
            "--format",
            "output_format",
            type=click.Choice(list(choices)),
            default=default,
            show_default=True,
            help="Output format.",
        )(f)

    return deco


def output_option(f: F) -> F:
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write to this file (atomically) instead of standard output.",
    )(f)


def plan_dir_argument(f: F) -> F:
    return click.argument(
        "plan_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True, readable=True)
    )(f)


def strict_option(f: F) -> F:
    """``--strict`` / ``--lenient``: how vendor deviations in the input are treated."""
    f = click.option(
        "--lenient",
        is_flag=True,
        help="Also read safe deviations the default ignores (OPEN_PLANAR contours read as "
        "closed), each recorded as a finding.",
    )(f)
    return click.option(
        "--strict",
        is_flag=True,
        help="Refuse inputs with any warning (skipped contours, links by frame of reference, "
        "mismatched patient IDs, ...) instead of recording them as findings.",
    )(f)


def course_options(f: F) -> F:
    """``--plan`` (repeatable), ``--course`` and ``--fractions``: which plans are evaluated, and how."""
    f = click.option(
        "--fractions",
        type=click.IntRange(min=1),
        default=None,
        help="Fraction count for doses without their plan (and plans that state none): needed "
        "for EQD2/BED, and for a single-session (*_SESSION) dose.",
    )(f)
    f = click.option(
        "--course",
        "course_mode",
        type=click.Choice(["auto", "all"]),
        default="auto",
        show_default=True,
        help="auto: plans on one structure set are summed only when they complement each other "
        "(a sequential boost); alternatives are evaluated separately. all: sum every plan of "
        "each structure set.",
    )(f)
    return click.option(
        "--plan",
        "plans",
        multiple=True,
        help="Evaluate only this plan (label, SOP Instance UID or file name); repeat it to sum "
        "several plans as one course.",
    )(f)
