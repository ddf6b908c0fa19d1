"""The re-irradiation part of the reports: registration used, interval, recovery, DVHs.

Reads the ``reirradiation`` section of an evaluation document
(:meth:`plancheck.reirradiation.evaluate.ReirradiationSummary.to_dict`) and
gives:

* :func:`reirradiation_view`: plain strings for the HTML (and PDF) report:
  for each prior course its frames of reference, the registration's kind,
  matrix (current → prior, as applied), source file and note; the interval;
  the recovery assumption; the figure;
* :func:`render_reirradiation_figure`: one plot with the prior, current and
  cumulative EQD2 DVHs of the cord, cauda equina and thecal sac (colour per
  structure, line style per dose), as an SVG ``data:`` URI;
* :func:`reirradiation_lines`: the same facts as text lines for the terminal table.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

__all__ = ["reirradiation_lines", "reirradiation_view", "render_reirradiation_figure"]

_STYLES = {"prior": ":", "current": "--", "cumulative": "-"}
_COLOURS = {"SpinalCord": "#1f77b4", "CaudaEquina": "#9467bd", "ThecalSac": "#d62728"}


def _matrix_rows(matrix: Any) -> list[str]:
    if not isinstance(matrix, list):
        return []
    return ["  ".join(f"{float(v):10.5f}" for v in row) for row in matrix if isinstance(row, list)]


def _sources(registration: Mapping[str, Any]) -> str:
    steps = [s for s in registration.get("registrations") or [] if isinstance(s, Mapping)]
    files = list(dict.fromkeys(str(s.get("path") or s.get("sop_instance_uid")) for s in steps))
    return ", ".join(files) if files else "none (same frame of reference)"


def _interval_text(section: Mapping[str, Any]) -> str:
    interval = section.get("interval")
    if isinstance(interval, Mapping):
        safe = "" if interval.get("conservative") else " (at most: the dates may make it look longer)"
        return f"{interval.get('days')} days, {float(interval.get('months') or 0):.1f} months{safe}"
    return f"unknown: {section.get('interval_problem') or 'no dates'}"


def reirradiation_view(doc: Mapping[str, Any], *, figure: bool = True) -> dict[str, Any] | None:
    """What the HTML report shows of a re-irradiation evaluation; None without one."""
    section = doc.get("reirradiation")
    if not isinstance(section, Mapping):
        return None
    priors = []
    for prior in section.get("priors") or []:
        if not isinstance(prior, Mapping):
            continue
        reg = prior.get("registration") or {}
        priors.append(
            {
                "number": str(prior.get("number")),
                "directory": str(prior.get("directory")),
                "plans": ", ".join(
                    f"{p.get('label')} ({p.get('fractions')} fx)" for p in prior.get("plans") or [] if isinstance(p, Mapping)
                ),
                "current_frame": str(reg.get("from_frame_of_reference_uid")),
                "prior_frame": str(reg.get("to_frame_of_reference_uid")),
                "kind": str(reg.get("matrix_type") or reg.get("kind")),
                "matrix": _matrix_rows(reg.get("matrix")),
                "source": _sources(reg),
                "note": str(reg.get("note") or ""),
            }
        )
    return {
        "priors": priors,
        "interval": _interval_text(section),
        "recovery": str(section.get("recovery_note") or ""),
        "figure": render_reirradiation_figure(doc) if figure else None,
    }


def render_reirradiation_figure(doc: Mapping[str, Any]) -> str | None:
    """The prior, current and cumulative DVHs on one plot, as an SVG data URI (None without curves)."""
    section = doc.get("reirradiation")
    dvhs = [d for d in (section or {}).get("dvhs") or [] if isinstance(d, Mapping)] if isinstance(section, Mapping) else []
    curves = [
        (d, dose, item)
        for d in dvhs
        for dose, item in (d.get("doses") or {}).items()
        if isinstance(item, Mapping) and isinstance(item.get("curve"), Mapping) and item["curve"].get("dose_gy")
    ]
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.2), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for d, dose, item in curves:
        volume = float(item.get("volume_cc") or 0.0)
        if volume <= 0:
            continue
        x = item["curve"]["dose_gy"]
        y = [100.0 * v / volume for v in item["curve"]["volume_cc"]]
        ax.plot(
            x,
            y,
            _STYLES.get(dose, "-"),
            color=_COLOURS.get(str(d.get("structure")), "#333333"),
            label=f"{d.get('roi')} — {dose} ({d.get('quantity')})",
            linewidth=1.6,
        )
    ax.set_xlabel("EQD2 [Gy] (α/β of each structure in the legend)")
    ax.set_ylabel("Volume [%]")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Prior, current and cumulative DVHs (each course converted with its own fractions)", fontsize=10)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue().encode("utf-8")).decode("ascii")


def reirradiation_lines(doc: Mapping[str, Any]) -> list[str]:
    """The registration, interval and recovery as text lines (terminal and text reports)."""
    view = reirradiation_view(doc, figure=False)
    if view is None:
        return []
    lines = []
    for p in view["priors"]:
        lines.append(
            f"prior course {p['number']} ({p['plans']}): {p['kind']} registration from {p['source']}; "
            f"current frame {p['current_frame']} → prior frame {p['prior_frame']}"
        )
        lines.extend(f"    {row}" for row in p["matrix"])
    lines.append(f"interval since the prior course: {view['interval']}")
    lines.append(view["recovery"])
    return lines
