"""Evaluating a course against a protocol: :func:`evaluate` and :class:`Evaluation`.

The same steps as ``plancheck evaluate`` (:func:`plancheck.pipeline.evaluate_plan`):
the protocol is found, the course loaded with
:func:`plancheck.pipeline.load_single_course`, evaluated with
:func:`plancheck.evaluation.evaluate_course`, and turned into the evaluation
document with :func:`plancheck.report.evaluation_doc.evaluation_document`.
An :class:`Evaluation` is a typed view of that document, so its numbers and
statuses are those of the JSON output.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plancheck._api.course import Course
from plancheck._api.display import format_number, html_table, require_pandas
from plancheck.model import Finding, Severity

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from plancheck.evaluation import CourseEvaluation

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
)


class Evaluation:
    """A course evaluated against a protocol: the result of :func:`plancheck.evaluate`.

    Attributes
    ----------
    verdict : str
        The verdict, as the command line states it: ``"PASS"`` only when every
        graded constraint was evaluated on input that supports it and met its
        goal; ``"WARN"`` when one met only its acceptable variation (or a
        cross-check warned); ``"FAIL"``; ``"INCOMPLETE"`` (a required structure
        missing, a graded constraint not evaluated) or ``"NOT EVALUABLE"``
        (input in doubt, plans that do not fit the protocol).
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
        status, reason, priority, source, dose_level, required.

        Raises
        ------
        MissingDependencyError
            When pandas is not installed (``pip install 'plancheck[pandas]'``).
        """
        pd = require_pandas()
        rows = [[getattr(c, name) for name in _COLUMNS] for c in self.constraints]
        return pd.DataFrame(rows, columns=list(_COLUMNS))

    def plot(self, ax: Axes | None = None, *, structures: list[str] | None = None) -> Axes:
        """Draw the evaluated structures' DVHs with a marker per constraint; return the axes.

        Curves are those stored in the evaluation document (physical solid,
        EQD2/BED dashed); markers are coloured and shaped by status (pass ●,
        warn ▲, fail ✖, reported ◆), as in the HTML report.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new pyplot figure when omitted.
        structures : list of str, optional
            Only these ROIs (names as in ``roi`` of the constraints).
        """
        import numpy as np

        from plancheck.report.plot import STATUS_STYLE, constraint_markers

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(9, 5))
        markers, _ = constraint_markers(self._doc)
        styles = ("-", "--", ":", "-.")
        quantities: list[str] = []
        colours: dict[int, Any] = {}
        for index, s in enumerate(self._doc.get("structures", [])):
            name = str(s.get("name"))
            total = s.get("volume_cc") or 0.0
            if (structures is not None and name not in structures) or total <= 0:
                continue
            for key in sorted(s.get("curves", {}), key=lambda k: (k != "physical", k)):
                curve = s["curves"][key]
                if key not in quantities:
                    quantities.append(key)
                dose = np.asarray(curve["dose_gy"], dtype=float)
                volume = np.asarray(curve["volume_cc"], dtype=float) / total * 100.0
                style = styles[quantities.index(key) % len(styles)]
                label = name if key == "physical" else f"{name} {key}"
                line = ax.plot(dose, volume, linestyle=style, label=label, color=colours.get(index))
                colours.setdefault(index, line[0].get_color())
        for status, (face, marker, text) in STATUS_STYLE.items():
            mine = [m for m in markers if m.status == status and m.structure_index in colours]
            if mine:
                ax.scatter(
                    [m.dose_gy for m in mine],
                    [m.volume_pct for m in mine],
                    marker=marker,
                    c=face,
                    s=60,
                    zorder=5,
                    label=text,
                    edgecolors=[colours[m.structure_index] for m in mine],
                )
        ax.set_xlabel("Dose [Gy] (EQD2/BED curves: Gy EQD2/BED)")
        ax.set_ylabel("Volume [% of structure]")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 105)
        ax.grid(True, alpha=0.4)
        ax.set_title(f"{self.protocol}: {self.verdict}")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return ax

    def _repr_html_(self) -> str:
        rows = [
            (c.id, c.structure, c.roi or "", c.metric, c.value, c.unit, c.goal or "", c.status, c.reason)
            for c in self.constraints
        ]
        table = html_table(
            ["#", "structure", "ROI", "metric", "value", "unit", "goal", "status", "reason"],
            rows,
            caption=f"plancheck evaluation against {self.protocol}: {self.verdict} "
            f"(exit status {self.exit_code})",
            status_column=7,
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
        lines = [f"{self.protocol}: {self.verdict} (exit status {self.exit_code})"]
        for c in self.constraints:
            if c.value is None:
                lines.append(f"  {c.status:>13}  {c.structure} {c.metric}: {c.reason}")
                continue
            value = format_number(c.value)
            lines.append(
                f"  {c.status:>13}  {c.structure} {c.metric} = {value} {c.unit}".rstrip()
                + (f"  (goal {c.goal})" if c.goal else "")
            )
        return "\n".join(lines)


def _evaluate_course(
    course: Course,
    protocol: str | None,
    aliases: str | None,
    plan: str | None,
    accept_mismatch: bool = False,
) -> CourseEvaluation:
    from plancheck.evaluation import evaluate_course
    from plancheck.protocol.load import load_aliases
    from plancheck.protocol.registry import find_protocol

    loaded_protocol = find_protocol(protocol) if protocol is not None else None
    loaded_aliases = load_aliases(aliases) if aliases is not None else None
    return evaluate_course(
        course._course,
        loaded_protocol,
        aliases=loaded_aliases,
        plan_label=plan,
        settings=course._settings,
        accept_mismatch=accept_mismatch,
    )


def evaluate(
    source: Course | PathLike,
    protocol: PathLike | None = None,
    *,
    aliases: PathLike | None = None,
    plan: str | None = None,
    end_caps: str | None = None,
    strict: bool = False,
    lenient: bool = False,
    accept_mismatch: bool = False,
) -> Evaluation:
    """Evaluate a course against a protocol, as ``plancheck evaluate`` does.

    Parameters
    ----------
    source : Course, str or os.PathLike
        A course from :func:`plancheck.load`, or a folder holding one course.
    protocol : str or os.PathLike, optional
        A shipped protocol's name (``"spine_sib_30Gy10_40Gy10"``) or a YAML
        file. By default the shipped protocol whose plans state prescriptions
        that fit its dose levels; none or several is an error.
    aliases : str or os.PathLike, optional
        A site aliases file (YAML) mapping local ROI names to the protocol's.
    plan : str, optional
        Evaluate only the plan with this label.
    end_caps, strict, lenient
        Reading options when ``source`` is a folder, as for :func:`plancheck.load`.
    accept_mismatch : bool
        Evaluate even though the plans do not fit the protocol's dose levels
        (``--accept-mismatch``; recorded in the result).

    Returns
    -------
    Evaluation
        Its ``to_dict()`` is the document ``plancheck evaluate --format json`` writes.

    Raises
    ------
    InputError
        When the folder cannot be read or does not hold exactly one course.
    ProtocolError
        When the protocol or aliases file is invalid, or no protocol fits.
    ValueError
        When reading options are given with a course already loaded.
    """
    from plancheck.report.evaluation_doc import evaluation_document

    protocol_name = None if protocol is None else os.fspath(protocol)
    aliases_path = None if aliases is None else os.fspath(aliases)
    if isinstance(source, Course):
        if end_caps is not None or strict or lenient:
            raise ValueError(
                "end_caps, strict and lenient are reading options: pass them to plancheck.load"
            )
        evaluation = _evaluate_course(source, protocol_name, aliases_path, plan, accept_mismatch)
        return Evaluation(evaluation_document(evaluation, source=source.path, curves=True), source)

    from plancheck._api.course import dvh_settings
    from plancheck.errors import ProtocolError
    from plancheck.pipeline import evaluate_folder

    if strict and lenient:
        raise ProtocolError("strict and lenient exclude each other")
    folder = os.fspath(source)
    settings = dvh_settings(end_caps)
    evaluation = evaluate_folder(
        Path(folder),
        protocol_name,
        aliases=None if aliases_path is None else Path(aliases_path),
        plan_label=plan,
        end_caps=settings.end_caps,
        strict=strict,
        lenient=lenient,
        accept_mismatch=accept_mismatch,
    )
    document = evaluation_document(evaluation, source=folder, curves=True)
    return Evaluation(document, Course(evaluation.course, folder, settings))
