"""DVH curves and metric tables of the public API.

:class:`Dvh` is one structure's cumulative curve; :class:`MetricTable` the
metrics of several structures. Both are read-only views of a
:class:`plancheck.dvh_report.DvhReport`, the object behind ``plancheck dvh``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from plancheck._api.display import format_number, html_table, require_pandas
from plancheck.dvh.values import _VOLUME_RESOLUTION
from plancheck.model import Finding

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from plancheck.dvh.metric import DoseQuantity
    from plancheck.dvh_report import DvhReport, MetricResult, StructureResult
    from plancheck.model import Dvh as ModelDvh

__all__ = ["Dvh", "MetricTable", "MetricValue"]


@dataclass(frozen=True)
class MetricValue:
    """One metric of one structure: a value in ``unit``, or ``None`` with the reason.

    Attributes
    ----------
    structure : str
        ROI name as written in the structure set.
    metric : str
        The TG-263 metric exactly as requested, e.g. ``"D95%[Gy]"``.
    value : float or None
        The value in ``unit``; ``None`` when the metric is undefined (never 0).
    unit : str
        ``"Gy"``, ``"cGy"``, ``"%"``, ``"cc"``, ``"Gy EQD2(a/b=2)"``, ...
    reason : str or None
        Why the value is undefined; ``None`` when it is defined.
    """

    structure: str
    metric: str
    value: float | None
    unit: str
    reason: str | None = None

    @property
    def defined(self) -> bool:
        """True when the metric has a value."""
        return self.value is not None

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.structure} {self.metric}: undefined ({self.reason})"
        return f"{self.structure} {self.metric} = {format_number(self.value)} {self.unit}"


def _quantity_key(q: DoseQuantity) -> str:
    from plancheck.report.dvh_output import quantity_key

    return quantity_key(q)


def _clean_curve(dvh: ModelDvh) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The curve with its rounding residue removed: 0 above the maximum, cut one edge after it."""
    cum = np.array(dvh.cumulative_cc, dtype=np.float64)
    edges = dvh.dose_edges_gy
    if cum.size == 0 or dvh.max_gy is None:
        return edges[:1].copy(), np.zeros(min(cum.size, 1))
    cum[edges > dvh.max_gy] = 0.0
    cum[cum <= _VOLUME_RESOLUTION * cum[0]] = 0.0
    nonzero = np.flatnonzero(cum > 0)
    end = min(int(nonzero[-1]) + 2, cum.size) if nonzero.size else 1
    return edges[:end].copy(), cum[:end]


class Dvh:
    """The cumulative dose-volume histogram of one structure.

    Get one with :meth:`plancheck.Course.dvh`. The curve is piecewise linear
    between its points, 1 mGy apart; metrics read off it interpolate, never
    take the nearest point.

    Attributes
    ----------
    structure : str
        ROI name.
    roi_number : int
        ROI Number in the structure set.
    quantity : str
        The dose on the dose axis: ``"physical"``, ``"EQD2(a/b=2)"``, ``"BED(a/b=3)"``, ...
    dose_gy : ndarray of float64, shape (n,)
        Dose axis in Gy (EQD2 or BED Gy for biological quantities), ascending from 0.
    cumulative_cc : ndarray of float64, shape (n,)
        Volume in cc receiving at least each ``dose_gy``. Volumes below the
        curve's resolution are exactly 0.
    volume_cc : float
        Whole structure volume in cc, including any part outside the dose grid.
    volume_outside_grid_cc : float
        Part of the structure outside the dose grid, in cc. It has no known
        dose; the curve, the relative volumes and every metric describe the
        part inside the grid.
    min_gy, mean_gy, max_gy : float or None
        Minimum, mean and maximum dose in Gy of the part inside the grid;
        ``None`` when that part is empty.
    prescription_gy : float or None
        The dose that relative metrics (``V95%``, ``D2%[%]``) refer to.
    """

    structure: str
    roi_number: int
    quantity: str
    dose_gy: npt.NDArray[np.float64]
    cumulative_cc: npt.NDArray[np.float64]
    volume_cc: float
    volume_outside_grid_cc: float
    min_gy: float | None
    mean_gy: float | None
    max_gy: float | None
    prescription_gy: float | None

    def __init__(
        self,
        structure: StructureResult,
        quantity: DoseQuantity,
        prescription_gy: float | None,
    ) -> None:
        dvh = structure.dvhs[quantity]
        self._dvh = dvh
        self._quantity = quantity
        self.structure = structure.name
        self.roi_number = structure.roi_number
        self.quantity = _quantity_key(quantity)
        self.dose_gy, self.cumulative_cc = _clean_curve(dvh)
        self.dose_gy.setflags(write=False)
        self.cumulative_cc.setflags(write=False)
        self.volume_cc = dvh.volume_cc
        self.volume_outside_grid_cc = dvh.volume_outside_grid_cc
        self.min_gy = dvh.min_gy
        self.mean_gy = dvh.mean_gy
        self.max_gy = dvh.max_gy
        self.prescription_gy = prescription_gy

    @property
    def volume_in_grid_cc(self) -> float:
        """Volume in cc of the part of the structure inside the dose grid."""
        return self._dvh.volume_in_grid_cc

    @property
    def cumulative_pct(self) -> npt.NDArray[np.float64]:
        """``cumulative_cc`` in percent of the volume inside the dose grid, shape (n,)."""
        total = self.volume_in_grid_cc
        if total <= 0:
            return np.zeros_like(self.cumulative_cc)
        return self.cumulative_cc / total * 100.0

    def metric(self, metric: str) -> MetricValue:
        """One TG-263 metric read off this curve, e.g. ``"D0.03cc[Gy]"`` or ``"V20Gy[%]"``.

        Parameters
        ----------
        metric : str
            A TG-263 metric whose dose unit matches this curve's quantity
            (``[Gy]``, ``[cGy]`` or ``[%]`` on a physical curve,
            ``[EQD2Gy(a/b=2)]`` on that EQD2 curve).

        Returns
        -------
        MetricValue
            The value, or ``None`` with the reason when it is undefined.

        Raises
        ------
        MetricSyntaxError
            When ``metric`` is not valid TG-263.
        ValueError
            When the metric reads another dose quantity than this curve's.
        """
        from plancheck.dvh.metric import parse_metric
        from plancheck.dvh_report import metric_results

        parsed = parse_metric(metric)
        if parsed.dose_quantity != self._quantity:
            raise ValueError(
                f"{metric!r} reads the {parsed.dose_quantity} but this curve is the "
                f"{self._quantity}; get that curve with course.dvh(..., unit=...)"
            )
        (result,) = metric_results([parsed], {self._quantity: self._dvh}, self.prescription_gy)
        return MetricValue(self.structure, result.metric, result.value, result.unit, result.reason)

    def to_frame(self) -> Any:
        """The curve as a pandas DataFrame with columns ``dose_gy``, ``volume_cc``, ``volume_pct``.

        Raises
        ------
        MissingDependencyError
            When pandas is not installed (``pip install 'plancheck[pandas]'``).
        """
        pd = require_pandas()
        frame = pd.DataFrame(
            {
                "dose_gy": self.dose_gy,
                "volume_cc": self.cumulative_cc,
                "volume_pct": self.cumulative_pct,
            }
        )
        frame.attrs.update(structure=self.structure, quantity=self.quantity)
        return frame

    def plot(
        self,
        ax: Axes | None = None,
        *,
        relative: bool = True,
        label: str | None = None,
        **line_kwargs: Any,
    ) -> Axes:
        """Draw the curve with matplotlib and return the axes.

        The dose axis is labelled with the curve's dose quantity as in the
        report's panels (``"Physical dose [Gy]"``, ``"EQD2 [Gy], ..."``).
        Curves of one kind share axes (EQD2 curves of several α/β among them,
        each labelled with its own); a physical dose and an EQD2 or BED never
        do: draw those on separate axes.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new pyplot figure when omitted.
        relative : bool
            Volume axis in percent of the volume inside the grid (default) or in cc.
        label : str, optional
            Legend label; the structure name by default (with the quantity,
            e.g. ``"SpinalCord EQD2(a/b=2)"``, for a biological curve).
        **line_kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot` (``color``, ``linestyle``, ...).

        Raises
        ------
        ValueError
            When ``ax`` shows another kind of dose (physical against EQD2 or BED).
        """
        from plancheck.report.plot import dose_axis_label, panel_of

        axis = dose_axis_label(panel_of(self.quantity), "Gy")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        else:
            shown = ax.get_xlabel()
            kinds = {dose_axis_label(kind, "Gy") for kind in ("physical", "EQD2", "BED")}
            if shown in kinds and shown != axis:
                raise ValueError(
                    f"these axes show {shown.split(' [')[0]}, not the {self.quantity} of this "
                    "curve: draw it on separate axes (fig, (a, b) = plt.subplots(2))"
                )
        volume = self.cumulative_pct if relative else self.cumulative_cc
        if label is None:
            label = self.structure if self.quantity == "physical" else f"{self.structure} {self.quantity}"
        ax.plot(self.dose_gy, volume, label=label, **line_kwargs)
        ax.set_xlabel(axis)
        ax.set_ylabel("Volume [%]" if relative else "Volume [cc]")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.4)
        ax.legend()
        return ax

    def _rows(self) -> list[tuple[str, str]]:
        return [
            ("structure", self.structure),
            ("dose quantity", self.quantity),
            ("volume [cc]", format_number(self.volume_cc)),
            ("outside the dose grid [cc]", format_number(self.volume_outside_grid_cc)),
            ("min [Gy]", format_number(self.min_gy)),
            ("mean [Gy]", format_number(self.mean_gy)),
            ("max [Gy]", format_number(self.max_gy)),
            ("curve points", str(self.dose_gy.size)),
        ]

    def _repr_html_(self) -> str:
        return html_table(["", ""], self._rows(), caption="plancheck DVH")

    def __repr__(self) -> str:
        return (
            f"<Dvh {self.structure!r} {self.quantity}: {format_number(self.volume_cc)} cc, "
            f"max {format_number(self.max_gy)} Gy>"
        )


class MetricTable:
    """Metrics of the structures of a course: what ``plancheck dvh`` prints.

    Get one with :meth:`plancheck.Course.metrics`. Undefined metrics (D2cc of
    a 1 cc structure, a relative metric without a prescription) have the
    value ``None`` and their reason, never 0.

    Attributes
    ----------
    structures : tuple of str
        ROI names, in structure-set order.
    metrics : tuple of str
        The metrics, as requested.
    prescription_gy : float or None
        The dose in Gy that relative metrics refer to.
    findings : tuple of Finding
        What was noticed about the input and the computation.
    """

    structures: tuple[str, ...]
    metrics: tuple[str, ...]
    prescription_gy: float | None
    findings: tuple[Finding, ...]

    def __init__(self, report: DvhReport, source: str | None) -> None:
        self._report = report
        self._source = source
        self.structures = tuple(s.name for s in report.structures)
        first = report.structures[0].metrics if report.structures else ()
        self.metrics = tuple(m.metric for m in first)
        self.prescription_gy = report.prescription_gy
        self.findings = tuple(report.findings)

    def _values(self, s: StructureResult, m: MetricResult) -> MetricValue:
        return MetricValue(s.name, m.metric, m.value, m.unit, m.reason)

    @property
    def values(self) -> tuple[MetricValue, ...]:
        """Every value, structure by structure, in the order of ``metrics``."""
        return tuple(self._values(s, m) for s in self._report.structures for m in s.metrics)

    def get(self, structure: str, metric: str) -> MetricValue:
        """The value of ``metric`` for ``structure`` (exact names).

        Raises
        ------
        KeyError
            When the table has no such structure or metric.
        """
        for s in self._report.structures:
            if s.name == structure:
                for m in s.metrics:
                    if m.metric == metric:
                        return self._values(s, m)
                raise KeyError(f"no metric {metric!r}; the table has {list(self.metrics)}")
        raise KeyError(f"no structure {structure!r}; the table has {list(self.structures)}")

    def to_dict(self) -> dict[str, Any]:
        """The same document as ``plancheck dvh --format json`` with these metrics.

        Values are rounded to 4 decimals as in the JSON output; the schema is
        ``plancheck/schemas/dvh.schema.json``.
        """
        from plancheck.report.dvh_output import to_document

        return copy.deepcopy(to_document(self._report, curves=False, source=self._source))

    def to_frame(self, layout: Literal["wide", "long"] = "wide") -> Any:
        """The table as a pandas DataFrame, values unrounded.

        Parameters
        ----------
        layout : {"wide", "long"}
            ``"wide"``: one row per structure (index ``structure``), one column
            per metric, NaN where undefined; units and reasons are in
            ``frame.attrs["units"]`` and ``frame.attrs["undefined"]``.
            ``"long"``: one row per value with columns ``structure``,
            ``metric``, ``value``, ``unit``, ``reason``.

        Raises
        ------
        MissingDependencyError
            When pandas is not installed (``pip install 'plancheck[pandas]'``).
        """
        pd = require_pandas()
        values = self.values
        if layout == "long":
            return pd.DataFrame(
                [(v.structure, v.metric, v.value, v.unit, v.reason) for v in values],
                columns=["structure", "metric", "value", "unit", "reason"],
            )
        if layout != "wide":
            raise ValueError(f"layout must be 'wide' or 'long', not {layout!r}")
        rows = [
            [np.nan if m.value is None else m.value for m in s.metrics] for s in self._report.structures
        ]
        frame = pd.DataFrame(
            rows,
            index=pd.Index(list(self.structures), name="structure"),
            columns=list(self.metrics),
            dtype="float64",
        )
        frame.attrs["units"] = {v.metric: v.unit for v in values}
        frame.attrs["undefined"] = {
            (v.structure, v.metric): v.reason for v in values if v.value is None
        }
        return frame

    def _repr_html_(self) -> str:
        headers = ["structure", *self.metrics]
        rows = [[s.name, *(m.value for m in s.metrics)] for s in self._report.structures]
        titles = [[None, *(m.reason for m in s.metrics)] for s in self._report.structures]
        caption = "plancheck metrics (hover over — for the reason a value is undefined)"
        return html_table(headers, rows, caption=caption, titles=titles)

    def __repr__(self) -> str:
        width = max((len(n) for n in self.structures), default=9)
        lines = [f"{'structure':{width}}  " + "  ".join(f"{m:>12}" for m in self.metrics)]
        for s in self._report.structures:
            cells = "  ".join(f"{format_number(m.value):>12}" for m in s.metrics)
            lines.append(f"{s.name:{width}}  {cells}")
        return "\n".join(lines)


def metric_table(report: DvhReport, source: str | None) -> MetricTable:
    """A :class:`MetricTable` of ``report`` (internal constructor)."""
    return MetricTable(report, source)


def structure_dvh(report: DvhReport, quantity: DoseQuantity) -> Dvh:
    """The :class:`Dvh` of the single structure of ``report`` (internal constructor)."""
    (structure,) = report.structures
    return Dvh(structure, quantity, report.prescription_gy)
