"""Checks that the parts of a protocol refer to each other correctly.

The pydantic models check each value on its own; these checks look across
the file: every structure a constraint, index, dose level or derived
definition names exists; no two structures can match the same ROI name;
SpinalCanal is never an alias of SpinalCord; a goal's unit fits its metric
and its variation is a looser bound on the same side; a relative metric
names its dose level; biological metrics use the α/β the protocol states for
their structure; plans and dose levels add up. Each problem comes with the
YAML path of the value at fault, so the loader can name its line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence

from plancheck.dvh.indices import IndexKind
from plancheck.dvh.metric import DoseKind, Metric
from plancheck.protocol.expressions import operand_names, parse_derived
from plancheck.protocol.matching import forbidden_alias_reason, normalise_name
from plancheck.protocol.outcome import Comparison, allowed_units
from plancheck.protocol.schema import Constraint, IndexDef, IntervalDef, Protocol

__all__ = ["PathProblem", "check_protocol", "did_you_mean"]

PathProblem = tuple[tuple[str | int, ...], str]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    listed = ", ".join(known) if known else "none"
    return f"unknown {kind} {name!r}{did_you_mean(name, known)}; defined {kind}s: {listed}"


def check_protocol(protocol: Protocol) -> list[PathProblem]:
    """Cross-reference problems of a protocol that passed the schema."""
    problems: list[PathProblem] = []
    problems += _check_structures(protocol)
    problems += _check_levels(protocol)
    problems += _check_alpha_beta(protocol)
    for i, c in enumerate(protocol.constraints):
        problems += _check_constraint(protocol, i, c)
    for i, ix in enumerate(protocol.indices):
        problems += _check_index(protocol, i, ix)
    if protocol.body is not None and protocol.body not in _names(protocol):
        problems.append((("body",), _unknown("structure", protocol.body, _names(protocol))))
    problems += _check_required_groups(protocol)
    if protocol.interval is not None:
        problems += _check_goal(protocol.interval, ("interval",), None)
    return problems


def _check_required_groups(protocol: Protocol) -> list[PathProblem]:
    problems: list[PathProblem] = []
    names = _names(protocol)
    for i, group in enumerate(protocol.required_any):
        if len(set(group.structures)) != len(group.structures):
            problems.append((("required_any", i, "structures"), "a structure is listed twice"))
        for j, name in enumerate(group.structures):
            path: tuple[str | int, ...] = ("required_any", i, "structures", j)
            if name not in names:
                problems.append((path, _unknown("structure", name, names)))
            elif protocol.structure(name).required:
                problems.append(
                    (
                        path,
                        f"{name!r} is required on its own, so the group never decides anything: "
                        "set 'required: false' on it (the group requires one of its structures)",
                    )
                )
    return problems


def _names(protocol: Protocol) -> list[str]:
    return [s.name for s in protocol.structures]


def _check_structures(protocol: Protocol) -> list[PathProblem]:
    problems: list[PathProblem] = []
    names = _names(protocol)
    seen_names: dict[str, int] = {}
    # normalised matching name -> (structure index, text) of its first owner
    owners: dict[str, tuple[int, str]] = {}
    for i, s in enumerate(protocol.structures):
        if s.name in seen_names:
            problems.append(((("structures", i, "name")), f"structure {s.name!r} is defined twice"))
        seen_names.setdefault(s.name, i)
        if s.derived is None and s.prefer_roi:
            problems.append(
                (
                    (("structures", i, "prefer_roi")),
                    "prefer_roi only applies to a derived structure",
                )
            )
        always_derived = s.derived is not None and not s.prefer_roi
        if always_derived and s.aliases:
            problems.append(
                (
                    ("structures", i, "aliases"),
                    "a derived structure is computed, so its aliases would never be used; "
                    "set 'prefer_roi: true' to use a matching ROI when one exists",
                )
            )
        match_names: list[tuple[tuple[str | int, ...], str]] = (
            [] if always_derived else [(("structures", i, "name"), s.name)]
        )
        match_names += [(("structures", i, "aliases", j), a) for j, a in enumerate(s.aliases)]
        for path, text in match_names:
            reason = forbidden_alias_reason(s.name, text)
            if reason is not None:
                problems.append((path, reason))
            key = normalise_name(text)
            if not key:
                problems.append((path, f"{text!r} has no letters or digits to match"))
                continue
            owner = owners.get(key)
            if owner is not None and owner[0] != i:
                other = protocol.structures[owner[0]].name
                problems.append(
                    (
                        path,
                        f"{text!r} of {s.name!r} matches the same ROI names as {owner[1]!r} of {other!r} "
                        f"(both normalise to {key!r}): an ROI with this name would match two structures",
                    )
                )
            owners.setdefault(key, (i, text))
        if s.derived is not None:
            expr = parse_derived(s.derived)
            for operand in operand_names(expr):
                if operand not in names:
                    problems.append(
                        (("structures", i, "derived"), _unknown("structure", operand, names))
                    )
                elif operand == s.name:
                    problems.append(
                        (("structures", i, "derived"), f"{s.name!r} is defined from itself")
                    )
    problems += _check_cycles(protocol)
    return problems


def _check_cycles(protocol: Protocol) -> list[PathProblem]:
    deps: dict[str, tuple[str, ...]] = {}
    for s in protocol.structures:
        if s.derived is not None:
            deps[s.name] = operand_names(parse_derived(s.derived))
    problems: list[PathProblem] = []
    for i, s in enumerate(protocol.structures):
        if s.name not in deps:
            continue
        stack = list(deps[s.name])
        seen: set[str] = set()
        while stack:
            n = stack.pop()
            if n == s.name and n not in seen:
                problems.append(
                    (
                        ("structures", i, "derived"),
                        f"{s.name!r} depends on itself through other derived structures",
                    )
                )
                break
            if n in seen:
                continue
            seen.add(n)
            stack.extend(deps.get(n, ()))
    return problems


def course_plans(protocol: Protocol) -> dict[int, tuple[int, dict[str, float]]]:
    """Plan number -> (fractions, dose per level) as the protocol defines or implies them."""
    if protocol.plans:
        return {p.number: (p.fractions, dict(p.dose_gy)) for p in protocol.plans}
    out: dict[int, tuple[int, dict[str, float]]] = {}
    for level in protocol.dose_levels:
        for number in level.plans:
            fractions, doses = out.get(number, (level.fractions, {}))
            doses[level.id] = level.dose_gy
            out[number] = (fractions, doses)
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def _check_levels(protocol: Protocol) -> list[PathProblem]:
    problems: list[PathProblem] = []
    names = _names(protocol)
    ids = [level.id for level in protocol.dose_levels]
    for i, level in enumerate(protocol.dose_levels):
        if ids.index(level.id) != i:
            problems.append((("dose_levels", i, "id"), f"dose level {level.id!r} is defined twice"))
        if level.target not in names:
            problems.append(
                (("dose_levels", i, "target"), _unknown("structure", level.target, names))
            )
        if len(set(level.plans)) != len(level.plans):
            problems.append((("dose_levels", i, "plans"), "a plan is listed twice"))

    numbers = [p.number for p in protocol.plans]
    for i, p in enumerate(protocol.plans):
        if numbers.index(p.number) != i:
            problems.append((("plans", i, "number"), f"plan {p.number} is defined twice"))
        for level_id in p.dose_gy:
            if level_id not in ids:
                problems.append(
                    (("plans", i, "dose_gy", level_id), _unknown("dose level", level_id, ids))
                )
    if protocol.plans and sorted(numbers) != list(range(1, len(numbers) + 1)):
        problems.append(
            (("plans",), f"plans must be numbered 1 to {len(numbers)}, found {sorted(numbers)}")
        )

    if not protocol.plans:
        for i, level in enumerate(protocol.dose_levels):
            if len(level.plans) > 1:
                problems.append(
                    (
                        ("dose_levels", i, "plans"),
                        "a dose level delivered by several plans needs a 'plans:' section giving each "
                        "plan's fractions and its share of the dose (plans: - {number: 1, fractions: 10, "
                        "dose_gy: {...}})",
                    )
                )
        by_plan: dict[int, list[tuple[int, int]]] = {}
        for i, level in enumerate(protocol.dose_levels):
            for number in level.plans:
                by_plan.setdefault(number, []).append((i, level.fractions))
        for number, entries in by_plan.items():
            if len({f for _, f in entries}) > 1:
                i = entries[-1][0]
                problems.append(
                    (
                        ("dose_levels", i, "fractions"),
                        f"the dose levels of plan {number} disagree on its fraction count "
                        f"({sorted({f for _, f in entries})}); one plan has one fraction count",
                    )
                )
        return problems

    plans = {p.number: p for p in protocol.plans}
    for i, level in enumerate(protocol.dose_levels):
        delivering = sorted(n for n, p in plans.items() if level.id in p.dose_gy)
        if delivering != sorted(level.plans):
            problems.append(
                (
                    ("dose_levels", i, "plans"),
                    f"lists plans {sorted(level.plans)} but the plans section gives dose to "
                    f"{level.id!r} in plans {delivering}",
                )
            )
            continue
        total = sum(plans[n].dose_gy[level.id] for n in delivering)
        if not _close(total, level.dose_gy):
            problems.append(
                (
                    ("dose_levels", i, "dose_gy"),
                    f"is {level.dose_gy:g} Gy but its plans deliver {total:g} Gy in total",
                )
            )
        fractions = sum(plans[n].fractions for n in delivering)
        if fractions != level.fractions:
            problems.append(
                (
                    ("dose_levels", i, "fractions"),
                    f"is {level.fractions} but its plans have {fractions} fractions in total",
                )
            )
    return problems


def _check_alpha_beta(protocol: Protocol) -> list[PathProblem]:
    problems: list[PathProblem] = []
    names = _names(protocol)
    value_of: dict[str, float] = {}
    for i, entry in enumerate(protocol.alpha_beta):
        for j, name in enumerate(entry.structures):
            path = ("alpha_beta", i, "structures", j)
            if name not in names:
                problems.append((path, _unknown("structure", name, names)))
            elif name in value_of and value_of[name] != entry.alpha_beta_gy:
                problems.append((path, f"{name!r} already has α/β = {value_of[name]:g} Gy"))
            value_of.setdefault(name, entry.alpha_beta_gy)
    return problems


def _check_goal(
    item: Constraint | IndexDef | IntervalDef, base: tuple[str | int, ...], metric: Metric | None
) -> list[PathProblem]:
    problems: list[PathProblem] = []
    goal = item.goal_comparison
    variation = item.variation_comparison
    if item.report_only and (goal is not None or variation is not None):
        problems.append(
            ((*base, "report_only"), "an item is either report_only or has a goal, not both")
        )
    if goal is None and not item.report_only:
        problems.append(
            (
                base,
                "missing key 'goal' (or set 'report_only: true' to report the value without a goal)",
            )
        )
    if variation is not None and goal is None:
        problems.append(((*base, "variation"), "a variation needs a goal"))
    units = allowed_units(metric)
    what = (
        f"metric {metric.text!r} gives {metric.unit_label}"
        if metric is not None
        else "an index, a ratio or an interval in months has no unit"
    )
    for key, comparison in (("goal", goal), ("variation", variation)):
        if comparison is not None and comparison.unit is not None and comparison.unit not in units:
            allowed = f"'{units[0]}' or no unit" if units else "no unit"
            problems.append(
                ((*base, key), f"unit {comparison.unit!r} does not fit: {what}; write {allowed}")
            )
    if goal is not None and variation is not None and not _looser(variation, goal):
        side = "at or above" if goal.is_upper_bound else "at or below"
        problems.append(
            (
                (*base, "variation"),
                f"{variation} must be a looser bound on the same side as the goal {goal} "
                f"(a threshold {side} {goal.threshold:g} with the same operator direction)",
            )
        )
    return problems


def _looser(variation: Comparison, goal: Comparison) -> bool:
    return variation.looser_or_equal(goal)


def _check_constraint(protocol: Protocol, i: int, c: Constraint) -> list[PathProblem]:
    base: tuple[str | int, ...] = ("constraints", i)
    problems: list[PathProblem] = []
    names = _names(protocol)
    ids = [level.id for level in protocol.dose_levels]
    if c.structure not in names:
        problems.append(((*base, "structure"), _unknown("structure", c.structure, names)))
    if c.surrogate_for is not None:
        if c.surrogate_for not in names:
            problems.append(
                ((*base, "surrogate_for"), _unknown("structure", c.surrogate_for, names))
            )
        elif c.surrogate_for == c.structure:
            problems.append(((*base, "surrogate_for"), "a structure is no surrogate for itself"))
        elif protocol.structure(c.surrogate_for).required:
            problems.append(
                (
                    (*base, "surrogate_for"),
                    f"{c.surrogate_for!r} is required, so a surrogate for it would never be graded",
                )
            )
        if c.goal is None:
            problems.append(((*base, "surrogate_for"), "a surrogate constraint needs a goal"))
    metric = c.parsed_metric
    problems += _check_goal(c, base, None if c.is_ratio else metric)
    if c.dose_level is not None and c.dose_level not in ids:
        problems.append(((*base, "dose_level"), _unknown("dose level", c.dose_level, ids)))
    if metric.needs_prescription and c.dose_level is None:
        listed = ", ".join(ids) if ids else "none defined; add a dose_levels section"
        problems.append(
            (
                (*base, "metric"),
                f"{metric.text!r} is relative to a prescription: add 'dose_level:' (one of {listed})",
            )
        )
    quantity = metric.dose_quantity
    if quantity.kind is not DoseKind.PHYSICAL:
        entry = protocol.alpha_beta_of(c.structure)
        if entry is not None and not math.isclose(
            entry.alpha_beta_gy, quantity.alpha_beta_gy or 0.0
        ):
            problems.append(
                (
                    (*base, "metric"),
                    f"uses α/β = {quantity.alpha_beta_gy:g} Gy but the protocol's alpha_beta section gives "
                    f"{c.structure!r} α/β = {entry.alpha_beta_gy:g} Gy",
                )
            )
    return problems


def _check_index(protocol: Protocol, i: int, ix: IndexDef) -> list[PathProblem]:
    base: tuple[str | int, ...] = ("indices", i)
    problems: list[PathProblem] = []
    names = _names(protocol)
    ids = [level.id for level in protocol.dose_levels]
    if ix.dose_level not in ids:
        problems.append(((*base, "dose_level"), _unknown("dose level", ix.dose_level, ids)))
    if ix.structure is not None and ix.structure not in names:
        problems.append(((*base, "structure"), _unknown("structure", ix.structure, names)))
    if ix.index is not IndexKind.HOMOGENEITY_ICRU83 and protocol.body is None:
        problems.append(
            (
                (*base, "index"),
                f"{ix.index.value} needs the body outline: add 'body: <structure name>' at the top",
            )
        )
    problems += _check_goal(ix, base, None)
    return problems
