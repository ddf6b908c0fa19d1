"""Importing clinical templates in the Mayo/TG-263 CSV form into protocol YAML.

Eclipse scripting samples (Varian's ``TextDVHMetrics``, ``DVHEvaluator``, the
PlanCheck plug-in) keep clinical goals in a CSV file with one row per goal,
after Mayo et al. (Pract Radiat Oncol 2016, doi:10.1016/j.prro.2015.11.001)::

    Structure ID,Structure Code,Aliases,DVH Objective,Evaluator,Variation,Priority,Met,Achieved
    PTV_4600,,,D95%[Gy],>=43.7Gy,,1,,
    SpinalCord,,Cord|SC,D0.03cc[Gy],<=45,<=50,1,,

Columns are found by their header (any case, spaces ignored), so the
variants of these samples all read: ``Structure ID``/``StructureName``,
``Structure Code``, ``Aliases`` (separated by ``|``), ``DVH Objective``,
``Evaluator`` (the goal), ``Variation``/``VariationAcceptable``,
``Priority``. Output columns (``Met``, ``Achieved``) and unknown columns are
ignored and noted. Comma, semicolon or tab separated; UTF-8 (with or without
a byte-order mark) or Windows-1252.

Relative metrics (``V95%[%]``) need a dose level: it is read from a target
name in the TG-263 form ``PTV_4600`` (cGy when no unit is written and the
number is 100 or more, Gy below; ``PTV_46Gy``, ``PTV_4600cGy`` explicit),
with the fraction count given by the caller. Every row keeps its line in the
constraint's ``source``, and every guess (a unit converted, a variation
without an operator, a dose read from a name) is returned as a note.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from plancheck.dvh.metric import Metric, OutputUnit, parse_metric
from plancheck.errors import MetricSyntaxError, ProtocolError
from plancheck.protocol.checks import check_protocol
from plancheck.protocol.load import LoadedProtocol, parse_protocol
from plancheck.protocol.matching import normalise_name
from plancheck.protocol.outcome import format_value
from plancheck.protocol.schema import Protocol
from plancheck.protocol.yamldoc import format_key, read_limited

__all__ = ["ImportResult", "import_csv", "import_csv_text"]

_ROLES: dict[str, tuple[str, ...]] = {
    "structure": ("structureid", "structureids", "structurename", "structure", "id", "templateid"),
    "code": ("structurecode", "structurecodes", "code"),
    "aliases": ("aliases", "alias", "structurealiases"),
    "objective": ("dvhobjective", "objective", "dvhmetric", "metric"),
    "evaluator": ("evaluator", "goal"),
    "variation": ("variation", "variationacceptable", "acceptablevariation"),
    "priority": ("priority",),
}
_OUTPUT_COLUMNS = ("met", "achieved", "foundstructureid", "result")
_EVALUATOR_RE = re.compile(
    r"^\s*(<=|>=|=<|=>|<|>|≤|≥)\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*([A-Za-z%]*)\s*$"
)
_BARE_NUMBER_RE = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*([A-Za-z%]*)\s*$")
_TARGET_DOSE_RE = re.compile(
    r"^(?:PTV|CTV|GTV|ITV|PGTV)[_\- ]?(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>cGy|Gy)?$",
    re.IGNORECASE,
)
_OPS = {"<=": "<=", ">=": ">=", "=<": "<=", "=>": ">=", "<": "<", ">": ">", "≤": "<=", "≥": ">="}
_UNITS = {"gy": "Gy", "cgy": "cGy", "%": "%", "cc": "cc", "": ""}


@dataclass(frozen=True)
class ImportResult:
    """The protocol YAML made from a template, the validated protocol, and notes on guesses."""

    yaml_text: str
    protocol: LoadedProtocol
    notes: tuple[str, ...]


class _Row:
    def __init__(self, line: int, cells: dict[str, str]):
        self.line = line
        self.cells = cells

    def get(self, role: str) -> str:
        return self.cells.get(role, "").strip()


def _header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", text.lower())


def _decode(data: bytes, source: str, notes: list[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{source}: not UTF-8; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _read_rows(text: str, source: str, notes: list[str]) -> list[_Row]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    roles: dict[int, str] = {}
    rows: list[_Row] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = cells
            for k, name in enumerate(cells):
                key = _header_key(name)
                role = next((r for r, names in _ROLES.items() if key in names), None)
                if role is not None and role not in roles.values():
                    roles[k] = role
                elif key not in _OUTPUT_COLUMNS and key:
                    notes.append(
                        f"{source}: column {name.strip()!r} is not part of a template; ignored"
                    )
            missing = [
                r for r in ("structure", "objective", "evaluator") if r not in roles.values()
            ]
            if missing:
                raise ProtocolError(
                    f"line {reader.line_num}: the header has no {', '.join(missing)} column "
                    f"(found: {', '.join(c.strip() for c in cells)}).",
                    path=source,
                    hint="Expected columns: Structure ID, Structure Code, Aliases, DVH Objective, "
                    "Evaluator, Variation, Priority.",
                )
            continue
        rows.append(
            _Row(reader.line_num, {role: cells[k] for k, role in roles.items() if k < len(cells)})
        )
    if header is None:
        raise ProtocolError("the file is empty", path=source)
    return rows


def _metric_unit(metric: Metric) -> str:
    unit = metric.output_unit
    if unit in (OutputUnit.GY, OutputUnit.EQD2_GY, OutputUnit.BED_GY):
        return "Gy"
    return unit.value


def _comparison(
    text: str,
    metric: Metric,
    column: str,
    where: str,
    notes: list[str],
    default_op: str | None = None,
) -> str:
    m = _EVALUATOR_RE.match(text)
    op: str | None
    if m is not None:
        op, number, unit_text = _OPS[m.group(1)], m.group(2), m.group(3)
    else:
        bare = _BARE_NUMBER_RE.match(text)
        if bare is None or default_op is None:
            raise ProtocolError(
                f"{where}, column {column!r}: {text!r} is not a comparison such as '<=45' or '>=95%'.",
                hint="The Evaluator column holds an operator and a threshold.",
            )
        op, number, unit_text = default_op, bare.group(1), bare.group(2)
        notes.append(
            f"{where}: {column} {text!r} has no operator; read as '{op} {number}' like the goal"
        )
    unit = _UNITS.get(unit_text.lower())
    if unit is None:
        raise ProtocolError(f"{where}, column {column!r}: unknown unit {unit_text!r} in {text!r}")
    value = float(number)
    wanted = _metric_unit(metric)
    if unit and unit != wanted:
        if {unit, wanted} == {"Gy", "cGy"}:
            value = value / 100.0 if unit == "cGy" else value * 100.0
            notes.append(
                f"{where}: {column} {text!r} converted to {format_value(value)} {wanted} ({metric.text})"
            )
        else:
            raise ProtocolError(
                f"{where}, column {column!r}: {text!r} is in {unit} but {metric.text} gives {metric.unit_label}"
            )
    return f"{op} {format_value(value)}"


def _target_dose_gy(name: str, notes: list[str], where: str) -> float | None:
    m = _TARGET_DOSE_RE.match(name.strip())
    if m is None:
        return None
    value = float(m.group("num"))
    unit = m.group("unit")
    if unit is None:
        unit = "cGy" if value >= 100 else "Gy"
        notes.append(
            f"{where}: dose of {name!r} read as {format_value(value)} {unit} (no unit in the name)"
        )
    return value / 100.0 if unit.lower() == "cgy" else value


def _level_id(name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name.strip())
    return ident if ident[:1].isalpha() else f"level_{ident}"


def _protocol_name(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("._-")
    return name or "imported"


def import_csv_text(
    text: str, *, source: str, name: str | None = None, fractions: int | None = None
) -> ImportResult:
    """Convert the text of a CSV template; ``source`` names it in messages and citations."""
    notes: list[str] = []
    rows = _read_rows(text, source, notes)
    if not rows:
        raise ProtocolError("the template has a header but no rows", path=source)
    label = Path(source).name
    structures: dict[str, dict[str, Any]] = {}
    structure_rows: dict[str, int] = {}
    constraints: list[dict[str, Any]] = []
    constraint_rows: list[int] = []
    levels: dict[str, dict[str, Any]] = {}
    level_rows: dict[str, int] = {}

    for row in rows:
        where = f"{label} line {row.line}"
        structure = row.get("structure")
        objective = row.get("objective")
        if not structure:
            raise ProtocolError(f"{where}: the Structure ID is empty")
        if not objective:
            raise ProtocolError(f"{where}: the DVH Objective of {structure!r} is empty")
        try:
            metric = parse_metric(objective)
        except MetricSyntaxError as exc:
            raise ProtocolError(
                f"{where}, column 'DVH Objective': {exc.message}", hint=exc.hint
            ) from None
        entry = structures.setdefault(structure, {"name": structure})
        structure_rows.setdefault(structure, row.line)
        for alias in (a.strip() for a in row.get("aliases").split("|")):
            if alias and normalise_name(alias) != normalise_name(structure):
                known = entry.setdefault("aliases", [])
                if alias not in known:
                    known.append(alias)
        code = row.get("code").split("|")[0].strip()
        if code and "code" not in entry:
            entry["code"] = code

        item: dict[str, Any] = {"structure": structure, "metric": metric.text.strip()}
        evaluator = row.get("evaluator")
        if evaluator:
            goal = _comparison(evaluator, metric, "Evaluator", where, notes)
            item["goal"] = goal
            variation = row.get("variation")
            if variation:
                item["variation"] = _comparison(
                    variation, metric, "Variation", where, notes, goal.split()[0]
                )
        else:
            item["report_only"] = True
            notes.append(
                f"{where}: no Evaluator; {structure} {metric.text} is reported without a goal"
            )
        priority = row.get("priority")
        if priority:
            pm = re.fullmatch(r"[pP]?\s*([0-9]+)", priority)
            if pm is None or not 1 <= int(pm.group(1)) <= 9:
                raise ProtocolError(
                    f"{where}, column 'Priority': {priority!r} is not a priority from 1 to 9"
                )
            item["priority"] = int(pm.group(1))
        level_notes: list[str] = []
        dose_gy = _target_dose_gy(structure, level_notes, where)
        if dose_gy is not None and _level_id(structure) not in levels:
            level_id = _level_id(structure)
            levels[level_id] = {"id": level_id, "target": structure, "dose_gy": dose_gy}
            level_rows[level_id] = row.line
            notes.extend(level_notes)
        if metric.needs_prescription:
            if dose_gy is not None:
                item["dose_level"] = _level_id(structure)
            else:
                item["dose_level"] = None  # resolved once all rows are read
        item["source"] = (
            f"{label} line {row.line} (imported template row; the template cites no source)"
        )
        constraints.append(item)
        constraint_rows.append(row.line)

    for item, line in zip(constraints, constraint_rows, strict=True):
        if "dose_level" in item and item["dose_level"] is None:
            if len(levels) != 1:
                raise ProtocolError(
                    f"{label} line {line}: {item['metric']} of {item['structure']!r} is relative to a "
                    f"prescription, and {'no' if not levels else 'more than one'} dose level can be read "
                    "from target names.",
                    hint="Name targets with their dose (PTV_4600), or add dose_level to the YAML by hand.",
                )
            item["dose_level"] = next(iter(levels))
            notes.append(
                f"{label} line {line}: {item['metric']} of {item['structure']!r} uses dose level {item['dose_level']!r}"
            )
    needed = {c["dose_level"] for c in constraints if "dose_level" in c}
    if levels and fractions is None:
        if needed:
            raise ProtocolError(
                f"relative metrics need the dose levels {', '.join(sorted(needed))} (read from target names), "
                "and their fraction count is not in the template.",
                path=source,
                hint="Give it: plancheck protocol import FILE.csv --fractions N.",
            )
        notes.append(
            f"{label}: target names give doses ({', '.join(levels)}) but no fraction count; no dose levels "
            "were written (pass --fractions N to add them)"
        )
        levels.clear()
        level_rows.clear()
    for level in levels.values():
        level["fractions"] = fractions
        level["plans"] = [1]

    data: dict[str, Any] = {
        "schema_version": 1,
        "name": _protocol_name(name if name is not None else Path(source).stem),
        "description": f"Imported from {label} (Mayo/TG-263 clinical-template CSV, as used by Eclipse scripts).",
        "dose_levels": list(levels.values()),
        "structures": list(structures.values()),
        "constraints": constraints,
    }
    if not levels:
        del data["dose_levels"]
    _check(
        data,
        source,
        constraint_rows,
        [structure_rows[s] for s in structures],
        [level_rows[k] for k in levels],
    )

    header = (
        f"# plancheck protocol imported from {label}.\n"
        "# Review it: the template cites no sources, and every goal keeps the line it came from.\n"
    )
    yaml_text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    loaded = parse_protocol(yaml_text, f"{source} (imported)")
    return ImportResult(yaml_text, loaded, tuple(notes))


def _check(
    data: dict[str, Any],
    source: str,
    constraint_rows: Sequence[int],
    structure_rows: Sequence[int],
    level_rows: Sequence[int],
) -> None:
    """Validate the imported protocol, naming CSV lines in every problem."""
    rows = {"constraints": constraint_rows, "structures": structure_rows, "dose_levels": level_rows}

    def where(path: Sequence[str | int]) -> str:
        if (
            len(path) >= 2
            and isinstance(path[0], str)
            and isinstance(path[1], int)
            and path[0] in rows
        ):
            return f"line {rows[path[0]][path[1]]}"
        return format_key(path)

    problems: list[str] = []
    try:
        model = Protocol.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{where(e['loc'])}: {format_key(e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
    else:
        problems = [f"{where(path)}: {message}" for path, message in check_protocol(model)]
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise ProtocolError(f"the template does not make a valid protocol:\n{listed}", path=source)


def import_csv(
    path: Path | str, *, name: str | None = None, fractions: int | None = None
) -> ImportResult:
    """Convert the CSV template at ``path`` (size-limited like protocol files)."""
    path = Path(path)
    notes: list[str] = []
    text = _decode(read_limited(path, what="CSV template"), str(path), notes)
    result = import_csv_text(text, source=str(path), name=name, fractions=fractions)
    return ImportResult(result.yaml_text, result.protocol, tuple(notes) + result.notes)
