"""The DVH figure of a report: every evaluated structure's curves, every constraint a marker.

Drawn from the curves stored in the evaluation document (``structures[].curves``),
never recomputed. Physical doses and each biological quantity (EQD2, BED)
are drawn in separate panels, each with its own labelled dose axis, so that
a physical dose and an EQD2 are never read off one unlabelled "Dose [Gy]"
axis. One colour per structure in every panel; within a panel the line
style tells curves apart (the plans a curve sums, the α/β of an EQD2). Each
evaluated constraint is a marker on the curve of its structure and dose
quantity, coloured *and* shaped by its status (pass ●, warn ▲, fail ✖,
reported ◆); failed constraints are the most visible marks (large, outlined,
labelled with their constraint id, drawn on top). Markers sit at the dose
the constraint reads:

* dose metrics (``D0.03cc``, ``Max``, ``Mean``, ``D95%``…) at the measured dose;
* volume metrics (``V20Gy``, ``CV20Gy``…) at their dose threshold;

and at the volume the curve has there, so the marker sits on the curve.
Constraints with no value, and ``Volume[cc]``, have no marker; neither have
relative doses when the document gives no reference dose. The figure is an
SVG whose text is drawn as outlines (no fonts needed, no text markup), made
with matplotlib's object API (no pyplot, no global state) and reproducible
byte for byte. :attr:`DvhFigure.readout` describes each panel's axes and
curves, so that the HTML page can show the values under the pointer.
:func:`draw_dvh_figure` draws the same panels on a figure the caller owns
(the Python API's ``Evaluation.plot``).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from plancheck.dvh.metric import Metric, OutputUnit, Query, parse_metric
from plancheck.errors import MetricSyntaxError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MAX_POINTS_PER_CURVE",
    "STATUS_STYLE",
    "DvhFigure",
    "Marker",
    "constraint_markers",
    "dose_axis_label",
    "draw_dvh_figure",
    "dvh_panel_count",
    "marker_dose_gy",
    "panel_of",
    "render_dvh_figure",
]

MAX_POINTS_PER_CURVE = 800
READOUT_POINTS_PER_CURVE = 400
MAX_LEGEND_LABEL = 40
# status -> (colour, matplotlib marker, legend text); colour and shape both carry the status
STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    "pass": ("#1a7f37", "o", "pass"),
    "warn": ("#b35900", "^", "warn"),
    "fail": ("#cf222e", "X", "fail"),
    "reported": ("#57606a", "D", "reported (no limit)"),
}
# status -> (marker area, edge width, z order): failures are the most visible marks
_MARKER_SIZE: dict[str, tuple[float, float, int]] = {
    "fail": (260.0, 2.4, 9),
    "warn": (110.0, 1.6, 7),
    "pass": (55.0, 1.2, 6),
    "reported": (45.0, 1.0, 5),
}
_LINESTYLES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class DvhFigure:
    """A rendered DVH figure.

    ``svg`` is the SVG text; ``markers`` the number of constraints drawn;
    ``not_drawn`` the ids of evaluated constraints without a marker, with why.
    """

    svg: str
    markers: int
    not_drawn: tuple[tuple[str, str], ...]
    readout: dict[str, Any] = field(default_factory=dict)

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI for an ``<img>`` (scripts never run in an image)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode(
            "ascii"
        )


@dataclass(frozen=True)
class Marker:
    """Where one constraint is drawn: on the curve ``quantity`` of ``structures[structure_index]``."""

    constraint_id: str
    status: str
    structure_index: int
    quantity: str
    dose_gy: float
    volume_pct: float


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _reference_dose_gy(constraint: Mapping[str, Any], doc: Mapping[str, Any]) -> float | None:
    """The dose that a percent-of-prescription metric of ``constraint`` refers to, if stated."""
    own = _number(constraint.get("prescription_gy"))
    if own is not None:
        return own
    level_id = constraint.get("dose_level")
    course = doc.get("course") or {}
    if level_id is not None:
        for level in course.get("dose_levels") or []:
            if isinstance(level, Mapping) and level.get("id") == level_id:
                return _number(level.get("dose_gy"))
    return None


def marker_dose_gy(metric: Metric, value: float | None, reference_gy: float | None) -> float | None:
    """The dose (Gy, in the metric's dose quantity) at which a constraint's marker is drawn.

    ``None`` when the metric has no dose to show (``Volume``, no value, or a
    relative dose without ``reference_gy``).
    """
    if metric.query is Query.VOLUME:
        return None
    if metric.returns_dose:
        if value is None:
            return None
        if metric.output_unit is OutputUnit.CGY:
            return value / 100.0
        if metric.output_unit is OutputUnit.PERCENT:
            return None if reference_gy is None else value / 100.0 * reference_gy
        return value
    if value is None or metric.parameter is None:  # a volume metric that was not evaluated
        return None
    if metric.parameter_unit == "cGy":
        return metric.parameter / 100.0
    if metric.parameter_unit == "%":
        return None if reference_gy is None else metric.parameter / 100.0 * reference_gy
    return metric.parameter


def _curve(structure: Mapping[str, Any], quantity: str) -> tuple[np.ndarray, np.ndarray] | None:
    curves = structure.get("curves") or {}
    curve = curves.get(quantity) if isinstance(curves, Mapping) else None
    if not isinstance(curve, Mapping):
        return None
    try:
        dose = np.asarray(curve.get("dose_gy") or [], dtype=np.float64)
        vol = np.asarray(curve.get("volume_cc") or [], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if dose.ndim != 1 or dose.size < 2 or dose.shape != vol.shape:
        return None
    if not (np.all(np.isfinite(dose)) and np.all(np.isfinite(vol)) and np.all(np.diff(dose) > 0)):
        return None
    return dose, vol


def _decimate(dose: np.ndarray, vol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if dose.size <= MAX_POINTS_PER_CURVE:
        return dose, vol
    idx = np.unique(np.linspace(0, dose.size - 1, MAX_POINTS_PER_CURVE).round().astype(np.int64))
    return dose[idx], vol[idx]


def _label(text: str) -> str:
    return text if len(text) <= MAX_LEGEND_LABEL else text[: MAX_LEGEND_LABEL - 1] + "…"


def _curve_key(
    structure: Mapping[str, Any],
    quantity: str,
    constraint: Mapping[str, Any],
    doc: Mapping[str, Any],
) -> str | None:
    """The curve a constraint reads: ``quantity``, or ``quantity [plan + plan]`` for a subset of plans."""
    curves = structure.get("curves")
    if not isinstance(curves, Mapping):
        return None
    if quantity in curves:
        return quantity
    candidates = [str(k) for k in curves if str(k).startswith(quantity + " [")]
    if len(candidates) == 1:
        return candidates[0]
    level_id = constraint.get("dose_level")
    for level in (doc.get("course") or {}).get("dose_levels") or []:
        if isinstance(level, Mapping) and level.get("id") == level_id and level.get("plans"):
            wanted = f"{quantity} [{' + '.join(str(p) for p in level['plans'])}]"
            if wanted in curves:
                return wanted
    return None


def _structure_for(
    constraint: Mapping[str, Any], structures: Sequence[Mapping[str, Any]]
) -> int | None:
    roi = constraint.get("roi_number")
    name = constraint.get("matched_roi")
    if roi is not None:
        for i, s in enumerate(structures):
            if s.get("roi_number") == roi and (name is None or s.get("name") == name):
                return i
    if name is not None:
        for i, s in enumerate(structures):
            if s.get("name") == name:
                return i
    return None


def _usable_structures(doc: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any], float]]:
    """(index in ``structures``, structure, whole volume) of the structures that can be drawn."""
    out = []
    for i, s in enumerate(doc.get("structures") or []):
        if not isinstance(s, Mapping):
            continue
        total_cc = _number(s.get("volume_cc"))
        if total_cc is not None and total_cc > 0 and isinstance(s.get("curves"), Mapping):
            out.append((i, s, total_cc))
    return out


def constraint_markers(doc: Mapping[str, Any]) -> tuple[list[Marker], list[tuple[str, str]]]:
    """The marker of every evaluated constraint, and the (id, reason) of those that have none."""
    raw = doc.get("structures") or []
    structures = [s if isinstance(s, Mapping) else {} for s in raw]
    usable = {i: total for i, _s, total in _usable_structures(doc)}
    markers: list[Marker] = []
    not_drawn: list[tuple[str, str]] = []
    for c in doc.get("constraints") or []:
        if not isinstance(c, Mapping) or str(c.get("status")) not in STATUS_STYLE:
            continue  # not evaluated: there is no value to show
        if c.get("kind", "dvh") != "dvh":
            continue  # plan-quality indices (conformity, gradient) are not points of a DVH
        cid = str(c.get("id", "?"))
        try:
            metric = parse_metric(str(c.get("metric", "")))
        except MetricSyntaxError:
            not_drawn.append((cid, "metric not understood"))
            continue
        index = _structure_for(c, structures)
        quantity = str(c.get("dose_quantity") or "physical")
        key = None if index is None else _curve_key(structures[index], quantity, c, doc)
        curve = (
            None
            if index is None or key is None or index not in usable
            else _curve(structures[index], key)
        )
        if index is None or key is None or curve is None:
            not_drawn.append((cid, f"no {quantity} curve for its structure"))
            continue
        dose_gy = marker_dose_gy(metric, _number(c.get("value")), _reference_dose_gy(c, doc))
        if dose_gy is None:
            not_drawn.append((cid, "no dose to show for this metric"))
            continue
        dose, vol = curve
        volume_cc = float(np.interp(dose_gy, dose, vol, left=vol[0], right=0.0))
        markers.append(
            Marker(
                cid, str(c.get("status")), index, key, dose_gy, volume_cc / usable[index] * 100.0
            )
        )
    return markers, not_drawn


def panel_of(quantity: str) -> str:
    """The panel a curve is drawn in: ``physical``, ``EQD2`` or ``BED`` (from its quantity key)."""
    base = quantity.split(" [", 1)[0]
    for kind in ("EQD2", "BED"):
        if base.startswith(kind):
            return kind
    return "physical" if base == "physical" else base


def dose_axis_label(panel: str, dose_unit: str) -> str:
    """The dose axis label of a panel (:func:`panel_of`), e.g. ``"Physical dose [Gy]"``."""
    unit = dose_unit or "Gy"
    if panel == "physical":
        return f"Physical dose [{unit}]"
    if panel == "EQD2":
        return f"EQD2 [{unit}], equivalent dose in 2 Gy fractions (α/β as labelled)"
    if panel == "BED":
        return f"BED [{unit}], biologically effective dose (α/β as labelled)"
    return f"{panel} [{unit}]"


def _round(values: np.ndarray, digits: int = 4) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in values.tolist()]


@dataclass(frozen=True)
class _Layout:
    """What a DVH figure draws: its structures, the curves of each panel, the markers."""

    drawable: list[tuple[int, Mapping[str, Any], float]]
    panels: dict[str, list[tuple[int, Mapping[str, Any], float, str]]]
    order: list[str]
    markers: list[Marker]
    not_drawn: list[tuple[str, str]]
    dose_unit: str


def _layout(doc: Mapping[str, Any], structures: Collection[str] | None = None) -> _Layout | None:
    """The panels of ``doc``'s DVH figure (only the ROIs named in ``structures`` when given)."""
    drawable = [
        d for d in _usable_structures(doc) if structures is None or d[1].get("name") in structures
    ]
    if not drawable:
        return None
    markers, not_drawn = constraint_markers(doc)
    if structures is not None:
        kept = {i for i, _s, _t in drawable}
        markers = [m for m in markers if m.structure_index in kept]
    course = doc.get("course") if isinstance(doc.get("course"), Mapping) else {}
    dose_unit = str((course or {}).get("dose_unit") or "Gy")
    # the curves of each panel, in a stable order: physical first
    panels: dict[str, list[tuple[int, Mapping[str, Any], float, str]]] = {}
    for i, s, total_cc in drawable:
        for key in sorted(s["curves"], key=lambda k: (k != "physical", str(k))):
            if _curve(s, str(key)) is not None:
                panels.setdefault(panel_of(str(key)), []).append((i, s, total_cc, str(key)))
    order = sorted(
        panels,
        key=lambda p: (
            ("physical", "EQD2", "BED").index(p) if p in ("physical", "EQD2", "BED") else 9
        ),
    )
    if not order:
        return None
    return _Layout(drawable, panels, order, markers, not_drawn, dose_unit)


# text drawn as it is written (no mathtext from a "$" in an ROI name), at the report's size
_RC_TEXT: dict[str, Any] = {"text.parse_math": False, "text.usetex": False, "font.size": 9}
_RC_SVG: dict[str, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "plancheck",
    **_RC_TEXT,
    "path.simplify": True,
}


def _draw(fig: Figure, layout: _Layout) -> tuple[list[Axes], list[dict[str, Any]]]:
    """Draw ``layout`` on ``fig``: one panel per dose quantity, the legends; axes and readout."""
    import matplotlib
    from matplotlib.lines import Line2D

    drawable, panels, order, markers = layout.drawable, layout.panels, layout.order, layout.markers
    dose_unit = layout.dose_unit
    readout_panels: list[dict[str, Any]] = []
    axes = fig.subplots(len(order), 1, squeeze=False)[:, 0]
    colours = matplotlib.colormaps["tab20" if len(drawable) > 10 else "tab10"]
    colour_of = {i: colours(n % colours.N) for n, (i, _s, _t) in enumerate(drawable)}
    structure_handles = [
        Line2D([], [], color=colour_of[i], linewidth=2, label=_label(str(s.get("name", "?"))))
        for i, s, _t in drawable
    ]
    for ax, panel in zip(axes, order, strict=True):
        styles: list[str] = []
        curves_out: list[dict[str, Any]] = []
        for i, s, total_cc, key in panels[panel]:
            curve = _curve(s, key)
            assert curve is not None
            if key not in styles:
                styles.append(key)
            style = _LINESTYLES[styles.index(key) % len(_LINESTYLES)]
            dose, vol = _decimate(*curve)
            ax.plot(
                dose, vol / total_cc * 100.0, color=colour_of[i], linestyle=style, linewidth=1.4
            )
            fine_d, fine_v = curve
            idx = np.unique(
                np.linspace(0, fine_d.size - 1, min(fine_d.size, READOUT_POINTS_PER_CURVE))
                .round()
                .astype(np.int64)
            )
            curves_out.append(
                {
                    "structure": str(s.get("name", "?")),
                    "quantity": key,
                    "colour": matplotlib.colors.to_hex(colour_of[i]),
                    "volume_cc": float(f"{total_cc:.6g}"),
                    "dose": _round(fine_d[idx]),
                    "volume_pct": _round(fine_v[idx] / total_cc * 100.0),
                }
            )
        mine = [m for m in markers if panel_of(m.quantity) == panel]
        for status in ("reported", "pass", "warn", "fail"):  # failures drawn last, on top
            face, shape, _text = STATUS_STYLE[status]
            size, edge, z = _MARKER_SIZE[status]
            group = [m for m in mine if m.status == status]
            if not group:
                continue
            ax.scatter(
                [m.dose_gy for m in group],
                [m.volume_pct for m in group],
                s=size,
                marker=shape,
                c=face,
                edgecolors=[
                    "black" if status == "fail" else colour_of.get(m.structure_index, "black")
                    for m in group
                ],
                linewidths=edge,
                zorder=z,
            )
            if status == "fail":
                for m in group:
                    ax.annotate(
                        _label(f"FAIL {m.constraint_id}"),
                        (m.dose_gy, m.volume_pct),
                        xytext=(8, 8),
                        textcoords="offset points",
                        color=face,
                        fontsize=9,
                        fontweight="bold",
                        zorder=10,
                    )
        ax.set_xlabel(dose_axis_label(panel, dose_unit))
        ax.set_ylabel("Volume [% of structure]")
        ax.set_ylim(0, 105)
        ax.set_xlim(left=0)
        ax.grid(True, color="#d0d7de", linewidth=0.6)
        quantity_handles = [
            Line2D(
                [],
                [],
                color="#444",
                linestyle=cast(Any, _LINESTYLES[k % len(_LINESTYLES)]),
                label=_label(q),
            )
            for k, q in enumerate(styles)
        ]
        ax.legend(
            handles=quantity_handles,
            loc="upper right",
            fontsize=8,
            framealpha=0.85,
            title="curves",
        )
        readout_panels.append(
            {"panel": panel, "axis": dose_axis_label(panel, dose_unit), "curves": curves_out}
        )
    status_handles = [
        Line2D(
            [],
            [],
            color=face,
            marker=marker,
            linestyle="none",
            markersize=9 if status == "fail" else 7,
            markeredgecolor="black" if status == "fail" else face,
            label=text,
        )
        for status, (face, marker, text) in sorted(
            STATUS_STYLE.items(), key=lambda kv: kv[0] != "fail"
        )
    ]
    fig.legend(
        handles=[*structure_handles, *status_handles],
        loc="upper left",
        bbox_to_anchor=(0.80, 0.98),
        fontsize=8,
        frameon=False,
    )
    return list(axes), readout_panels


def dvh_panel_count(doc: Mapping[str, Any], structures: Collection[str] | None = None) -> int:
    """How many panels :func:`draw_dvh_figure` draws for ``doc`` (0: no curve to draw)."""
    layout = _layout(doc, structures)
    return 0 if layout is None else len(layout.order)


def draw_dvh_figure(
    fig: Figure,
    doc: Mapping[str, Any],
    *,
    structures: Collection[str] | None = None,
    title: str | None = None,
) -> list[Axes]:
    """Draw the report's DVH figure of an evaluation document on ``fig``; return its panels.

    The same panels, curves, markers and legends as :func:`render_dvh_figure`
    (one panel per dose quantity), on a figure the caller owns (a pyplot
    figure in a notebook). ``structures`` keeps only the ROIs of these names
    and their constraints' markers; ``title`` goes above the first panel.
    Returns no axes when there is no curve to draw.
    """
    import matplotlib

    layout = _layout(doc, structures)
    if layout is None:
        return []
    with matplotlib.rc_context(cast(Any, _RC_TEXT)):
        axes, _readout = _draw(fig, layout)
        if title:
            axes[0].set_title(title)
        fig.tight_layout(rect=(0.0, 0.0, 0.79, 1.0))
    return axes


def render_dvh_figure(
    doc: Mapping[str, Any], *, width_in: float = 10.0, panel_height_in: float = 3.6
) -> DvhFigure | None:
    """The DVH figure of an evaluation document, or ``None`` when it stores no curve."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    layout = _layout(doc)
    if layout is None:
        return None
    with matplotlib.rc_context(cast(Any, _RC_SVG)):
        fig = Figure(figsize=(width_in, 0.6 + panel_height_in * len(layout.order)), dpi=100)
        axes, readout_panels = _draw(fig, layout)
        fig.tight_layout(rect=(0.0, 0.0, 0.79, 1.0))
        for ax, info in zip(axes, readout_panels, strict=True):
            box = ax.get_position()
            x0, x1 = ax.get_xlim()
            y0, y1 = ax.get_ylim()
            info["box"] = [float(f"{v:.6g}") for v in (box.x0, box.y0, box.x1, box.y1)]
            info["limits"] = [float(f"{v:.6g}") for v in (x0, x1, y0, y1)]
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    readout = {"dose_unit": layout.dose_unit, "panels": readout_panels}
    return DvhFigure(
        svg=buf.getvalue(),
        markers=len(layout.markers),
        not_drawn=tuple(layout.not_drawn),
        readout=readout,
    )
