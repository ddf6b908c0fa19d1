"""Small helpers for notebook display: HTML tables, number formatting, optional pandas.

Every string shown in HTML comes from DICOM files or protocols and is
escaped. Nothing here imports pandas or matplotlib until asked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["format_number", "html_table", "require_pandas"]

# status -> colour of its cell (the same colours as the HTML report's DVH figure)
STATUS_COLOURS = {
    "pass": "#1a7f37",
    "warn": "#b35900",
    "fail": "#cf222e",
    "not-evaluated": "#8250df",
    "reported": "#57606a",
}


def format_number(value: float | None, digits: int = 4) -> str:
    """A number as people read it: up to ``digits`` decimals, no trailing zeros; None as "—"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _cell(value: Any, title: str | None = None, colour: str | None = None) -> str:
    attrs = ""
    if title:
        attrs += f' title="{html.escape(title, quote=True)}"'
    if colour:
        attrs += f' style="color:{colour};font-weight:bold"'
    text = format_number(value) if isinstance(value, float) or value is None else str(value)
    return f"<td{attrs}>{html.escape(text)}</td>"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    titles: Iterable[Sequence[str | None]] | None = None,
    status_column: int | None = None,
) -> str:
    """An escaped HTML table; ``titles`` are per-cell tooltips (reasons of undefined values)."""
    parts = ['<table class="plancheck">']
    if caption:
        parts.append(f'<caption style="text-align:left">{html.escape(caption)}</caption>')
    parts.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr></thead>")
    parts.append("<tbody>")
    title_rows = iter(titles) if titles is not None else None
    for row in rows:
        tips = next(title_rows) if title_rows is not None else [None] * len(row)
        cells = []
        for k, (value, tip) in enumerate(zip(row, tips, strict=True)):
            colour = STATUS_COLOURS.get(str(value)) if k == status_column else None
            cells.append(_cell(value, tip, colour))
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def require_pandas() -> ModuleType:
    """pandas, or :class:`~plancheck.errors.MissingDependencyError` naming ``plancheck[pandas]``."""
    from plancheck.report.extras import require

    return require("pandas", "pandas", "Converting results to a DataFrame")
