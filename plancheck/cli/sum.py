"""``plancheck sum``: the cumulative EQD2 of a course and its prior courses, as an RT Dose."""

from __future__ import annotations

from pathlib import Path

import click

from plancheck.cli.options import plan_dir_argument
from plancheck.cli.reirradiation import prior_options, prior_request


@click.command("sum")
@plan_dir_argument
@prior_options
@click.option(
    "--alpha-beta",
    "alpha_beta_gy",
    type=click.FloatRange(min=0.0, min_open=True),
    default=2.0,
    show_default=True,
    help="α/β in Gy of the EQD2 conversion (2: spinal cord).",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The RT Dose file to write (DoseType EFFECTIVE). Not inside a course folder.",
)
def sum_command(
    plan_dir: str,
    prior_dirs: tuple[str, ...],
    registrations: tuple[str, ...],
    prior_dates: tuple[str, ...],
    prior_recovery: float,
    alpha_beta_gy: float,
    output: str,
) -> None:
    """Write the cumulative EQD2 of the course in PLAN_DIR and its --prior courses as an RT Dose.

    Each plan is converted with its own fraction count and the prior courses are
    mapped through their registration, point by point on the current dose grid,
    as the evaluation does. For review in a planning system; plancheck's metrics
    never read this grid.
    """
    from plancheck.pipeline import load_single_course
    from plancheck.reirradiation.cumulative import cumulative_eqd2_grid, write_cumulative
    from plancheck.reirradiation.load import load_priors

    request = prior_request(prior_dirs, registrations, prior_dates, prior_recovery)
    if request is None:
        raise click.UsageError("plancheck sum needs at least one --prior PRIOR_DIR")
    target = Path(output).resolve()
    for folder in (Path(plan_dir), *request.prior_dirs):
        if target.is_relative_to(folder.resolve()):
            raise click.UsageError(
                f"--output {output} is inside the course folder {folder}: a later evaluation of that folder "
                "would read it as a dose. Write it elsewhere."
            )
    current = load_single_course(Path(plan_dir))
    registered = load_priors(request, current, Path(plan_dir))
    cumulative = cumulative_eqd2_grid(current, registered, alpha_beta_gy)
    written = write_cumulative(target, current, registered, cumulative)
    click.echo(f"wrote {written}: cumulative EQD2 (α/β {alpha_beta_gy:g} Gy) of {1 + len(registered.priors)} courses")
    for label, share in cumulative.uncovered_percent.items():
        click.echo(f"warning: the grid of {label!r} does not reach {share:.1f} % of the grid: it adds nothing there", err=True)


sum = sum_command
