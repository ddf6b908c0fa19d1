"""Evaluating a course against a protocol: :func:`evaluate` and :class:`Evaluation`.

The same steps as ``plancheck evaluate`` (:func:`plancheck.pipeline.evaluate_plan`),
with its defaults: a folder is evaluated with
:func:`plancheck.pipeline.evaluate_folder`; a course already loaded with
:func:`plancheck.pipeline.evaluate_loaded_course`, the second half of it. The
result becomes the evaluation document with
:func:`plancheck.report.evaluation_doc.evaluation_document`. An
:class:`Evaluation` is a typed view of that document, so its numbers,
statuses and verdict are those of the JSON output."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plancheck._api.course import Course
from plancheck._api.display import format_number, html_table, require_pandas
from plancheck.model import Finding, Severity

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = ["ConstraintResult", "Evaluation", "evaluate"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ConstraintResult:
    """The outcome of one constraint (or plan-quality index) of a protocol.

    Attributes
    ----------
    id : str
        Position in the protocol's list, from ``"1"``.
    structure : str
        The protocol's structure name (``"SpinalCord"``).
    roi : str or None
        The ROI used: its name, or a derived structure's expression.
    metric : str
        TG-263 metric (``"D0.03cc[EQD2Gy(a/b=2)]"``) or index name.
    value : float or None
        Measured value in ``unit``; ``None`` exactly when not evaluated (never 0).
    unit : str
        Unit of ``value``.
    goal, variation : str or None
        The limits, e.g. ``"<= 45"``; the variation is the acceptable band (warn).
    status : str
        ``"pass"``, ``"warn"``, ``"fail"``, ``"not-evaluated"`` or ``"reported"``
        (no limit: shown, not graded).
    reason : str
        Why the status is what it is.
    priority : int or None
        Protocol priority (1 highest).
    source : str or None
        Where the limit comes from.
    dose_level : str or None
        The protocol dose level a relative metric refers to.
    required : bool
        False for constraints on optional structures the course does not have.
    graded : bool
        True when the outcome counts for the verdict (not for a ``"reported"``
        value, nor for an optional structure that is absent).
    plans : tuple of str
        The labels of the plans whose dose the value uses (one plan of a
        course for its own dose level, or every plan for the course's sum).
    """

    id: str
    structure: str
    roi: str | None
    metric: str
    value: float | None
    unit: str
    goal: str | None
    variation: str | None
    status: str
    reason: str
    priority: int | None
    source: str | None
    dose_level: str | None
    required: bool
    graded: bool
    plans: tuple[str, ...]

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> ConstraintResult:
        return cls(
            id=str(row["id"]),
            structure=row["structure"],
            roi=row.get("matched_roi"),
            metric=row["metric"],
            value=row.get("value"),
            unit=row.get("unit") or "",
            goal=row.get("goal"),
            variation=row.get("variation"),
            status=row["status"],
            reason=row.get("reason") or "",
            priority=row.get("priority"),
            source=row.get("source"),
            dose_level=row.get("dose_level"),
            required=bool(row.get("required", True)),
            graded=bool(row.get("graded", False)),
            plans=tuple(str(label) for label in row.get("plans") or ()),
        )


_COLUMNS = (
    "id",
    "structure",
    "roi",
    "metric",
    "value",
    "unit",
    "goal",
    "variation",
    "status",
    "reason",
    "priority",
    "source",
    "dose_level",
    "required",
    "graded",
    "plans",
)


class Evaluation:
    """A course evaluated against a protocol: the result of :func:`plancheck.evaluate`.

    Attributes
    ----------
    verdict : str
        The verdict's label, as ``plancheck evaluate`` states it:
        ``"PASS"`` only when every graded constraint was evaluated on input
        that supports it and met its goal; ``"WARN"`` when every graded
        constraint met its goal or its acceptable variation, with warnings
        to read (a variation used, the planning system's DVHs disagreeing, a
        mismatch accepted); ``"FAIL"`` when a graded constraint misses its
        goal and its variation; ``"INCOMPLETE"`` when a required structure
        is missing or a graded constraint could not be evaluated; ``"NOT
        EVALUABLE"`` when the input is in doubt or the plans do not fit the
        protocol.
    verdict_line : str
        The verdict in one line with every reason for it (the failed
        constraints, what blocks it, its warnings), as the command line
        prints it.
    exit_code : int
        The exit status ``plancheck evaluate`` gives: 0 PASS or WARN, 1 FAIL,
        3 INCOMPLETE or NOT EVALUABLE.
    protocol : str
        Name of the protocol used.
    protocol_selection : str
        How the protocol was chosen.
    constraints : tuple of ConstraintResult
        Every outcome, in protocol order.
    findings : tuple of Finding
        What was noticed about the input and the evaluation.
    course : Course
        The course evaluated.
    """

    verdict: str
    verdict_line: str
    exit_code: int
    protocol: str
    protocol_selection: str
    constraints: tuple[ConstraintResult, ...]
    findings: tuple[Finding, ...]
    course: Course

    def __init__(self, document: dict[str, Any], course: Course) -> None:
        self._doc = document
        summary = document["summary"]
        self.verdict = str(summary["verdict"]["label"])
        self.verdict_line = str(summary["verdict"]["line"])
        self.exit_code = int(summary["exit_code"])
        self.protocol = str(document["protocol"]["name"])
        self.protocol_selection = str(document["protocol"].get("selected", ""))
        self.constraints = tuple(
            ConstraintResult._from_row(row) for row in document["constraints"]
        )
        self.findings = tuple(
            Finding(Severity(f["severity"]), f["code"], f["message"], f.get("path"))
            for f in document.get("findings", [])
        )
        self.course = course

    def to_dict(self) -> dict[str, Any]:
        """The evaluation document: the JSON that ``plancheck evaluate --format json`` writes.

        ``plancheck report FILE`` renders it as HTML or PDF once saved with
        ``json.dump``. The schema is ``plancheck/schemas/evaluation.schema.json``.
        """
        return copy.deepcopy(self._doc)

    def to_frame(self) -> Any:
        """The constraint outcomes as a pandas DataFrame, one row per constraint.

        Columns: id, structure, roi, metric, value, unit, goal, variation,
        status, reason, priority, source, dose_level, required, graded, plans
        (the labels joined by ``" + "``, as in the CSV output).

        Raises
        ------
        MissingDependencyError
            When pandas is not installed (``pip install 'plancheck[pandas]'``).
        """
        pd = require_pandas()
        rows = [
            [" + ".join(c.plans) if name == "plans" else getattr(c, name) for name in _COLUMNS]
            for c in self.constraints
        ]
        return pd.DataFrame(rows, columns=list(_COLUMNS))

    def plot(
        self, figure: Figure | None = None, *, structures: Sequence[str] | None = None
    ) -> tuple[Axes, ...]:
        """Draw the evaluated structures' DVHs as the HTML report does; return the panels.

        The report's figure (:mod:`plancheck.report.plot`), from the curves of
        the evaluation document: one panel per dose quantity (physical dose,
        EQD2, BED), each with its own labelled dose axis, so that a physical
        dose and an EQD2 are never read off one axis. One colour per
        structure; each constraint is a marker on its curve, coloured and
        shaped by status (pass ●, warn ▲, fail ✖ largest and labelled with
        its id, reported ◆).

        Parameters
        ----------
        figure : matplotlib.figure.Figure, optional
            The figure to draw in (its panels are added to it); a new pyplot
            figure, sized for the panels, when omitted.
        structures : sequence of str, optional
            Only these structures and their constraints' markers: ROI names as
            in ``roi`` of the constraints (``"SpinalCord + 5mm"``) or the
            protocol's names (``"SpinalCord_PRV05"``).

        Returns
        -------
        tuple of matplotlib.axes.Axes
            The panels, physical dose first; empty when the evaluation has
            no curve to draw (no structure was evaluated).

        Raises
        ------
        ValueError
            When ``structures`` names a structure that has no curve here.
        """
        from plancheck.report.plot import draw_dvh_figure, dvh_panel_count

        names = None
        if structures is not None:
            wanted = [structures] if isinstance(structures, str) else list(structures)
            entries = self._doc.get("structures", [])
            names = [
                str(e["name"])
                for e in entries
                if e.get("name") in wanted or e.get("protocol_structure") in wanted
            ]
            known = {str(e.get(k)) for e in entries for k in ("name", "protocol_structure")}
            unknown = [n for n in wanted if n not in known]
            if unknown:
                drawn = [str(e.get("name")) for e in entries]
                raise ValueError(f"no DVH of {unknown} in this evaluation; it has {drawn}")
        panels = dvh_panel_count(self._doc, names)
        if panels == 0:
            return ()
        if figure is None:
            import matplotlib.pyplot as plt

            figure = plt.figure(figsize=(10.0, 0.6 + 3.6 * panels))
        title = f"{self.protocol}: {self.verdict}"
        return tuple(draw_dvh_figure(figure, self._doc, structures=names, title=title))

    def _repr_html_(self) -> str:
        rows = [
            (
                c.id,
                c.structure,
                c.roi or "",
                c.metric,
                " + ".join(c.plans),
                c.value,
                c.unit,
                c.goal or "",
                c.variation or "",
                c.status,
                c.reason,
            )
            for c in self.constraints
        ]
        headers = ["#", "structure", "ROI", "metric", "plans", "value", "unit", "goal"]
        table = html_table(
            [*headers, "variation", "status", "reason"],
            rows,
            caption=f"plancheck evaluation against {self.protocol}: {self.verdict_line} "
            f"(exit status {self.exit_code})",
            status_column=9,
        )
        if not self.findings:
            return table
        findings = html_table(
            ["severity", "code", "message"],
            [(f.severity.value, f.code, f.message) for f in self.findings],
            caption="findings",
        )
        return table + findings

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for c in self.constraints:
            counts[c.status] = counts.get(c.status, 0) + 1
        listed = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"<Evaluation {self.protocol}: {self.verdict} ({listed})>"

    def __str__(self) -> str:
        """The verdict, then one line per constraint (the plans it uses when there are several)."""
        lines = [f"{self.protocol}: {self.verdict} (exit status {self.exit_code})"]
        several = len(self.course.plans) > 1
        for c in self.constraints:
            name = f"{c.structure} {c.metric}"
            if several and c.plans:
                name += f" · {' + '.join(c.plans)}"
            if c.value is None:
                lines.append(f"  {c.status:>13}  {name}: {c.reason}")
                continue
            limits = [f"goal {c.goal}"] if c.goal else []
            limits += [f"variation {c.variation}"] if c.variation else []
            lines.append(
                f"  {c.status:>13}  {name} = {format_number(c.value)} {c.unit}".rstrip()
                + (f"  ({', '.join(limits)})" if limits else "")
            )
        return "\n".join(lines)


def evaluate(
    source: Course | PathLike,
    protocol: PathLike | None = None,
    *,
    aliases: PathLike | None = None,
    plan: str | None = None,
    accept_mismatch: bool = False,
    end_caps: str | None = None,
    strict: bool = False,
    lenient: bool = False,
    plans: Sequence[str] = (),
    course: str = "auto",
    fractions: int | None = None,
) -> Evaluation:
    """Evaluate a course against a protocol, as ``plancheck evaluate`` does.

    Both forms run the command line's steps (:mod:`plancheck.pipeline`) with
    its defaults, so ``to_dict()`` is the document ``plancheck evaluate
    --format json`` writes for the same folder and options.

    Parameters
    ----------
    source : Course, str or os.PathLike
        A course from :func:`plancheck.load`, or a folder holding one course.
    protocol : str or os.PathLike, optional
        A shipped protocol's name (``"spine_sib_30Gy10_40Gy10"``) or a YAML
        file. By default the shipped protocol whose dose levels fit the
        prescriptions the plans state (``--protocol`` omitted); plans that
        state none, or none or several fitting protocols, are an error.
    aliases : str or os.PathLike, optional
        A site aliases file (YAML) mapping local ROI names to the protocol's.
    plan : str, optional
        Only this plan (label, SOP Instance UID or file name). With a folder,
        as ``--plan LABEL``. With a course of several plans, this plan's dose
        alone, and a ``course-part-evaluated`` warning names the plans left out.
    accept_mismatch : bool
        Evaluate even though the plans do not fit the protocol's dose levels
        (``--accept-mismatch``; recorded in the result). Without it such a
        course is ``"NOT EVALUABLE"``.
    end_caps, strict, lenient, plans, course, fractions
        Reading options when ``source`` is a folder, as for
        :func:`plancheck.load` (``end_caps`` omitted: ``"auto"``). A course
        keeps the options it was loaded with; ``strict`` then also refuses a
        course whose doses disagree with the planning system's stored DVHs.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        When the folder cannot be read, or with ``strict`` when the input has
        a warning or the planning system's DVHs disagree.
    CourseError
        When the folder holds no course or several (the message lists them
        and how to choose), or courses of several patients.
    ProtocolError
        When the protocol or aliases file is invalid, or no protocol fits.
    ValueError
        When reading options are given with a course already loaded, or
        ``end_caps`` is not a convention.
    """
    from plancheck.protocol.load import load_aliases
    from plancheck.protocol.registry import find_protocol
    from plancheck.report.evaluation_doc import evaluation_document

    protocol_name = None if protocol is None else os.fspath(protocol)
    aliases_path = None if aliases is None else Path(os.fspath(aliases))
    if isinstance(source, Course):
        given = [
            name
            for name, value, default in (
                ("end_caps", end_caps, None),
                ("strict", strict, False),
                ("lenient", lenient, False),
                ("plans", (plans,) if isinstance(plans, str) else tuple(plans), ()),
                ("course", course, "auto"),
                ("fractions", fractions, None),
            )
            if value != default
        ]
        if given:
            raise ValueError(
                f"{', '.join(given)}: reading options apply to a folder; pass them to "
                "plancheck.load, which read this course"
            )
        from plancheck.pipeline import evaluate_loaded_course

        # the protocol and aliases are found as evaluate_folder finds them
        loaded_protocol = find_protocol(protocol_name) if protocol_name is not None else None
        loaded_aliases = load_aliases(aliases_path) if aliases_path is not None else None
        evaluation = evaluate_loaded_course(
            source._course,
            Path(source.path),
            loaded_protocol,
            aliases=loaded_aliases,
            plan_label=plan,
            end_caps=source._settings.end_caps,
            strict=source._strict,
            accept_mismatch=accept_mismatch,
        )
        return Evaluation(evaluation_document(evaluation, source=source.path, curves=True), source)

    from plancheck._api.course import course_selection, dvh_settings
    from plancheck.errors import ProtocolError
    from plancheck.pipeline import evaluate_folder

    if strict and lenient:
        raise ProtocolError("strict and lenient exclude each other")
    settings = dvh_settings("auto" if end_caps is None else end_caps)
    selection = course_selection(plans, course, fractions)
    folder = str(Path(os.fspath(source)))  # as the command line names it in the document
    # evaluate_plan's steps: evaluate_folder, then the document (kept apart to keep the course)
    evaluation = evaluate_folder(
        Path(folder),
        protocol_name,
        aliases=aliases_path,
        plan_label=plan,
        plans=selection.plans,
        course=selection.mode,
        fractions=fractions,
        end_caps=settings.end_caps,
        strict=strict,
        lenient=lenient,
        accept_mismatch=accept_mismatch,
    )
    document = evaluation_document(evaluation, source=folder, curves=True)
    return Evaluation(document, Course(evaluation.course, folder, settings, strict=strict))
