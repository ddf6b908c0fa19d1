"""``plancheck protocol``: validate, list, show, export the schema of, and import protocols."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from plancheck.cli.options import format_option, output_option
from plancheck.cli.output import emit
from plancheck.errors import EXIT_USAGE, ProtocolError


@click.group("protocol")
def protocol() -> None:
    """Protocol files: check them, list and show the shipped ones, import CSV templates."""


def _summary(p: Any) -> str:
    levels = "; ".join(
        f"{lv.target} {lv.dose_gy:g} Gy/{lv.fractions} fx"
        + (f" (plans {list(lv.plans)})" if len(lv.plans) > 1 else "")
        for lv in p.dose_levels
    )
    return levels or "no dose levels"


@protocol.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--aliases",
    "aliases_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also check a site aliases file against each protocol.",
)
def validate(files: tuple[str, ...], aliases_file: str | None) -> None:
    """Check protocol FILES; every problem is shown with its line and key (exit 2 if any)."""
    from plancheck.protocol.load import load_aliases, load_protocol

    aliases = load_aliases(aliases_file) if aliases_file is not None else None
    failed = 0
    for name in files:
        try:
            loaded = load_protocol(name)
            if aliases is not None:
                aliases.check_against(loaded.protocol)
        except ProtocolError as exc:
            failed += 1
            click.secho(f"plancheck: error: {exc}", err=True, fg="red")
            continue
        p = loaded.protocol
        click.echo(
            f"{name}: valid protocol {p.name!r}: {len(p.structures)} structures, "
            f"{len(p.constraints)} constraints, {len(p.indices)} indices; {_summary(p)}"
        )
    if failed:
        sys.exit(EXIT_USAGE)


@protocol.command("list")
@format_option("table", "json")
def list_protocols(output_format: str) -> None:
    """List the protocols shipped with plancheck."""
    from plancheck.protocol.registry import load_all_shipped

    loaded = load_all_shipped()
    if output_format == "json":
        rows = [
            {
                "name": lp.name,
                "title": lp.protocol.title,
                "dose_levels": [
                    {
                        "id": lv.id,
                        "target": lv.target,
                        "dose_gy": lv.dose_gy,
                        "fractions": lv.fractions,
                        "plans": list(lv.plans),
                    }
                    for lv in lp.protocol.dose_levels
                ],
                "sha256": lp.sha256,
            }
            for lp in loaded
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(lp.name) for lp in loaded), default=4)
    for lp in loaded:
        click.echo(f"{lp.name:<{width}}  {_summary(lp.protocol)}")


@protocol.command("show")
@click.argument("name")
@format_option("table", "yaml", "json")
def show(name: str, output_format: str) -> None:
    """Show protocol NAME (a shipped protocol, or a file)."""
    from plancheck.protocol.registry import find_protocol

    loaded = find_protocol(name)
    p = loaded.protocol
    if output_format == "yaml":
        click.echo(loaded.document.text, nl=False)
        return
    if output_format == "json":
        click.echo(
            json.dumps(p.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)
        )
        return
    out = [
        f"{p.name}: {p.title or ''}".rstrip(": "),
        f"  file: {loaded.source}",
        f"  sha256: {loaded.sha256}",
    ]
    out.append(f"  {p.description}")
    out.append("dose levels:")
    out += [
        f"  {lv.id}: {lv.target} {lv.dose_gy:g} Gy in {lv.fractions} fx, plans {list(lv.plans)}"
        for lv in p.dose_levels
    ]
    out.append("structures:")
    for s in p.structures:
        how = (
            f"derived: {s.derived}" + (" (an ROI is used when one matches)" if s.prefer_roi else "")
            if s.derived
            else ""
        )
        aliases = f"aliases: {', '.join(s.aliases)}" if s.aliases else ""
        optional = "" if s.required else "optional"
        extra = "; ".join(x for x in (how, aliases, optional) if x)
        out.append(f"  {s.name}" + (f"  ({extra})" if extra else ""))
    for group in p.required_any:
        out.append(f"required: one of {', '.join(group.structures)} ({group.reason})")
    out.append("constraints:")
    for c in p.constraints:
        goal = "report" if c.goal is None else c.goal
        variation = f", variation {c.variation}" if c.variation else ""
        level = f" [{c.dose_level}]" if c.dose_level else ""
        surrogate = f" (surrogate for {c.surrogate_for})" if c.surrogate_for else ""
        refs = f" [{', '.join(c.refs)}]" if c.refs else ""
        dose = f" ({c.dose})" if c.dose else ""
        out.append(
            f"  {c.structure}{surrogate} {c.metric}{dose}{level}: {goal}{variation}  -- {c.source}{refs}"
        )
    if p.indices:
        out.append("indices:")
        for ix in p.indices:
            goal = "report" if ix.goal is None else ix.goal
            target = f" on {ix.structure}" if ix.structure else ""
            out.append(f"  {ix.index.value} [{ix.dose_level}]{target}: {goal}  -- {ix.source}")
    if p.interval is not None:
        goal = "report" if p.interval.goal is None else f"{p.interval.goal} months"
        out.append(f"interval since the prior course: {goal}  -- {p.interval.source}")
    click.echo("\n".join(out))


@protocol.command("references")
@click.argument("name", required=False)
@format_option("table", "json")
def references(name: str | None, output_format: str) -> None:
    """The shipped bibliography, or the full citations protocol NAME cites."""
    from plancheck.protocol.bibliography import load_bibliography, resolve_references

    if name is None:
        entries = [{"key": k, "citation": v} for k, v in load_bibliography().items()]
    else:
        from plancheck.protocol.registry import find_protocol

        entries = resolve_references(find_protocol(name).protocol)
    if output_format == "json":
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    for e in entries:
        click.echo(f"{e['key']}: {e['citation']}")


@protocol.command("schema")
@click.option(
    "--kind",
    type=click.Choice(["protocol", "aliases"]),
    default="protocol",
    show_default=True,
    help="Schema of protocol files or of aliases files.",
)
@output_option
def schema(kind: str, output: str | None) -> None:
    """Print the JSON Schema of protocol (or aliases) files, for editors."""
    from plancheck.protocol.schema_export import render_schema

    emit(render_schema("protocol" if kind == "protocol" else "aliases"), output)


@protocol.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@output_option
@click.option("--name", default=None, help="Protocol name (default: the CSV file name).")
@click.option(
    "--fractions",
    type=click.IntRange(1, 100),
    default=None,
    help="Fraction count of the dose levels read from target names (PTV_4600).",
)
def import_template(
    csv_file: str, output: str | None, name: str | None, fractions: int | None
) -> None:
    """Convert an Eclipse/Mayo CSV clinical template (CSV_FILE) into protocol YAML."""
    from plancheck.protocol.csv_import import import_csv

    result = import_csv(Path(csv_file), name=name, fractions=fractions)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    emit(result.yaml_text, output)
    if output is not None:
        p = result.protocol.protocol
        click.echo(
            f"wrote {output}: protocol {p.name!r}, {len(p.structures)} structures, {len(p.constraints)} constraints",
            err=True,
        )
