"""``plancheck phantom``: write a phantom with known DVH truth, or the spine sample plans."""

from __future__ import annotations

from pathlib import Path

import click

from plancheck.cli.common import PlancheckUsageError

_SHAPE_OPTIONS = (
    "shape",
    "radius_mm",
    "centre_mm",
    "contour_spacing_mm",
    "dose_grid_mm",
    "dose_frame_gaps_mm",
    "grid_margin_mm",
    "orientation",
    "bits",
    "frame_offsets",
    "gradient",
    "gradient_gy_per_mm",
    "dose_at_centre_gy",
    "summation",
    "fractions",
    "vertices",
)
_SHAPES = ("sphere", "cylinder", "tilted-cylinder", "cone", "ring", "two-part", "two-part-gap")
_SPINE = ("sib-pass", "sib-cord-fail", "sib-seq-course", "all")
_REIRRADIATION = ("identity", "translation", "rotation", "rotation-fail", "deformable", "all")


def _floats(text: str, option: str, sizes: tuple[int, ...]) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise PlancheckUsageError(
            f"{option}: expected comma-separated numbers, got {text!r}"
        ) from None
    if len(values) not in sizes:
        raise PlancheckUsageError(
            f"{option}: expected {' or '.join(str(s) for s in sizes)} value(s), got {text!r}"
        )
    return values


@click.command("phantom")
@click.argument("out_dir", type=click.Path(file_okay=False, dir_okay=True, writable=True))
@click.option(
    "--spine",
    type=click.Choice(_SPINE),
    default=None,
    help="Write a spine sample plan into OUT_DIR instead of a shape phantom; 'all' writes "
    "the folders spine_sib_pass/, spine_sib_cord_fail/ and spine_sib_seq_course/ under OUT_DIR.",
)
@click.option(
    "--reirradiation",
    type=click.Choice(_REIRRADIATION),
    default=None,
    help="Write a re-irradiation phantom: a prior (30 Gy/10 fx) and a current SBRT (24 Gy/2 fx) "
    "course on frames of reference related by a known transform, as OUT_DIR/prior/ and "
    "OUT_DIR/current/ (with the registration); 'all' writes every variant in its own folder "
    "under OUT_DIR.",
)
@click.option(
    "--shape",
    type=click.Choice(_SHAPES),
    default="sphere",
    show_default=True,
    help="Shape of the phantom's ROI.",
)
@click.option(
    "--radius-mm",
    type=float,
    default=20.0,
    show_default=True,
    help="Size of the shape (radius; lengths are twice this).",
)
@click.option("--centre-mm", default="0,0,0", show_default=True, help="Centre x,y,z of the shape.")
@click.option(
    "--contour-spacing-mm",
    default="2",
    show_default=True,
    help="Contour plane spacing; several values (1,2) repeat as an uneven pattern.",
)
@click.option(
    "--dose-grid-mm",
    default="2",
    show_default=True,
    help="Dose grid spacing: one value or dx,dy,dz.",
)
@click.option(
    "--dose-frame-gaps-mm",
    default=None,
    help="Uneven dose frames: gaps between frames, repeating (e.g. 2,3); replaces dz.",
)
@click.option(
    "--grid-margin-mm",
    type=float,
    default=6.0,
    show_default=True,
    help="Dose grid extent beyond the ROI (negative: leave part of it outside).",
)
@click.option(
    "--orientation",
    type=click.Choice(["HFS", "FFS", "HFP", "FFP"]),
    default="HFS",
    show_default=True,
    help="Patient position and RTDOSE orientation.",
)
@click.option(
    "--bits",
    type=click.Choice(["16", "32"]),
    default="32",
    show_default=True,
    help="RTDOSE bits per value.",
)
@click.option(
    "--frame-offsets",
    type=click.Choice(["relative", "absolute"]),
    default="relative",
    show_default=True,
    help="GridFrameOffsetVector from 0 or as patient z.",
)
@click.option(
    "--gradient",
    default="oblique",
    show_default=True,
    help="Dose gradient: x, y, z, oblique, or gx,gy,gz in Gy/mm.",
)
@click.option(
    "--gradient-gy-per-mm",
    type=float,
    default=0.5,
    show_default=True,
    help="Gradient magnitude for a named direction.",
)
@click.option(
    "--dose-at-centre-gy",
    type=float,
    default=30.0,
    show_default=True,
    help="Dose at the shape's centre (whole plan).",
)
@click.option(
    "--summation",
    type=click.Choice(["PLAN", "FRACTION", "FRACTION_SESSION"]),
    default="PLAN",
    show_default=True,
    help="DoseSummationType of the RTDOSE: PLAN and FRACTION store the whole plan, "
    "FRACTION_SESSION one session (PS3.3 C.8.8.3).",
)
@click.option("--fractions", type=int, default=1, show_default=True, help="Fractions of the plan.")
@click.option(
    "--vertices",
    type=int,
    default=None,
    help="Vertices per contour (default: adaptive, at least 128).",
)
@click.pass_context
def phantom(
    ctx: click.Context,
    out_dir: str,
    spine: str | None,
    reirradiation: str | None,
    shape: str,
    radius_mm: float,
    centre_mm: str,
    contour_spacing_mm: str,
    dose_grid_mm: str,
    dose_frame_gaps_mm: str | None,
    grid_margin_mm: float,
    orientation: str,
    bits: str,
    frame_offsets: str,
    gradient: str,
    gradient_gy_per_mm: float,
    dose_at_centre_gy: float,
    summation: str,
    fractions: int,
    vertices: int | None,
) -> None:
    """Write DICOM-RT files with known DVH truth into OUT_DIR.

    A shape phantom (RTSTRUCT, RTPLAN, RTDOSE and truth.json with the exact
    volume, mean, D-metrics and DVH of the ROI as contoured, in a linear dose),
    or with --spine the spine SIB sample plans, or with --reirradiation a prior
    and a current course with their registration and closed-form doses.
    """
    out = Path(out_dir)
    if spine is not None and reirradiation is not None:
        raise PlancheckUsageError("give --spine or --reirradiation, not both")
    fixed = "--spine" if spine is not None else "--reirradiation" if reirradiation is not None else None
    if fixed is not None:
        given = [
            "--" + name.replace("_", "-")
            for name in _SHAPE_OPTIONS
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise PlancheckUsageError(
                f"{fixed} writes fixed sample plans; it takes no {', '.join(given)}"
            )
    if spine is not None:
        _write_spine(spine, out)
        return
    if reirradiation is not None:
        _write_reirradiation(reirradiation, out)
        return
    _write_shape(
        out,
        shape,
        radius_mm,
        centre_mm,
        contour_spacing_mm,
        dose_grid_mm,
        dose_frame_gaps_mm,
        grid_margin_mm,
        orientation,
        int(bits),
        frame_offsets,
        gradient,
        gradient_gy_per_mm,
        dose_at_centre_gy,
        summation,
        fractions,
        vertices,
    )


def _write_spine(variant: str, out: Path) -> None:
    from plancheck.phantoms.spine import VARIANTS, write_sample_plans, write_spine

    if variant == "all":
        written = write_sample_plans(out)
        for name, paths in written.items():
            n = 1 + len(paths.rtplans) + len(paths.rtdoses)
            click.echo(f"wrote {n} files to {out / name}")
        return
    paths = write_spine(variant, out)
    n = 1 + len(paths.rtplans) + len(paths.rtdoses)
    click.echo(f"wrote {n} files ({VARIANTS[variant]}) to {out}")


def _write_reirradiation(variant: str, out: Path) -> None:
    from plancheck.phantoms.reirradiation import write_all_reirradiation, write_reirradiation

    written = (
        write_all_reirradiation(out) if variant == "all" else {"": write_reirradiation(variant, out)}
    )
    for paths in written.values():
        n_prior = sum(1 for p in paths.files if p.parent == paths.prior_dir)
        n_current = len(paths.files) - n_prior
        registration = (
            f" (registration {paths.registration.name})"
            if paths.registration is not None
            else " (one frame of reference: no registration)"
        )
        click.echo(
            f"wrote {n_prior} files to {paths.prior_dir} and {n_current} to {paths.current_dir}"
            f"{registration}"
        )


def _write_shape(
    out: Path,
    shape: str,
    radius_mm: float,
    centre_mm: str,
    contour_spacing_mm: str,
    dose_grid_mm: str,
    dose_frame_gaps_mm: str | None,
    grid_margin_mm: float,
    orientation: str,
    bits: int,
    frame_offsets: str,
    gradient: str,
    gradient_gy_per_mm: float,
    dose_at_centre_gy: float,
    summation: str,
    fractions: int,
    vertices: int | None,
) -> None:
    from plancheck.model import EndCaps
    from plancheck.phantoms.build import standard_spec, write_phantom
    from plancheck.phantoms.fields import GRADIENT_DIRECTIONS

    centre = _floats(centre_mm, "--centre-mm", (3,))
    spacing = _floats(contour_spacing_mm, "--contour-spacing-mm", tuple(range(1, 17)))
    grid = _floats(dose_grid_mm, "--dose-grid-mm", (1, 3))
    gaps = (
        None
        if dose_frame_gaps_mm is None
        else _floats(dose_frame_gaps_mm, "--dose-frame-gaps-mm", tuple(range(1, 17)))
    )
    grad: str | tuple[float, ...] = (
        gradient if gradient in GRADIENT_DIRECTIONS else _floats(gradient, "--gradient", (3,))
    )
    try:
        spec = standard_spec(
            shape,
            radius_mm=radius_mm,
            centre_mm=(centre[0], centre[1], centre[2]),
            gradient=grad,  # type: ignore[arg-type]
            gradient_gy_per_mm=gradient_gy_per_mm,
            dose_at_centre_gy=dose_at_centre_gy,
            contour_spacing_mm=spacing,
            dose_grid_mm=(grid[0], grid[0], grid[0])
            if len(grid) == 1
            else (grid[0], grid[1], grid[2]),
            dose_frame_gaps_mm=gaps,
            grid_margin_mm=grid_margin_mm,
            orientation=orientation,
            bits=bits,
            frame_offsets=frame_offsets,
            summation_type=summation,
            n_fractions=fractions,
            n_vertices=vertices,
        )
        case = write_phantom(spec, out)
    except ValueError as exc:
        raise PlancheckUsageError(str(exc)) from None
    click.echo(f"wrote {len(case.paths)} files to {out}")
    header = (
        f"{'ROI':<14} {'caps':<5} {'Volume[cc]':>11} {'ideal[cc]':>10} {'Mean[Gy]':>9} "
        f"{'D95%[Gy]':>9} {'D5%[Gy]':>9} {'D0.03cc[Gy]':>12}"
    )
    click.echo(header)
    for roi in spec.rois:
        for caps in (EndCaps.HALF, EndCaps.NONE):
            t = case.truth(roi.name, caps)
            if t.mean_gy is None:
                click.echo(f"{roi.name:<14} {caps.value:<5} {t.volume_cc:>11.4f}  (no volume)")
                continue
            d003 = f"{t.dose_at_volume_gy(0.03):12.4f}" if t.volume_cc >= 0.03 else f"{'-':>12}"
            ideal = t.ideal_volume_cc if t.ideal_volume_cc is not None else float("nan")
            click.echo(
                f"{roi.name:<14} {caps.value:<5} {t.volume_cc:>11.4f} {ideal:>10.4f} "
                f"{t.mean_gy:>9.4f} {t.dose_at_percent_gy(95):>9.4f} {t.dose_at_percent_gy(5):>9.4f} "
                f"{d003}"
            )
