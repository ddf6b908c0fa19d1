"""The plan report as PDF, for the record: the same HTML page laid out by WeasyPrint.

WeasyPrint (extra ``plancheck[pdf]``) needs the Pango library of the system
(``libpango-1.0-0`` 1.44 or later on Debian/Ubuntu). The page is laid out
from the HTML of :func:`plancheck.report.html.render_html`; the URL fetcher
serves only the ``data:`` images the page embeds, so making a PDF reads no
file and opens no connection.
"""

from __future__ import annotations

from typing import Any

from plancheck.errors import PlancheckError
from plancheck.report.extras import MissingDependencyError, require

__all__ = ["check_pdf_available", "render_pdf"]


class _NotEmbeddedError(PlancheckError):
    """The report asked for a resource that is not embedded in it."""


def _embedded_only_fetcher(urls: Any) -> Any:
    """A URL fetcher serving ``data:`` URLs only (WeasyPrint >= 68 class, or older function)."""
    if hasattr(urls, "URLFetcher"):
        return urls.URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - older WeasyPrint
        if not url.startswith("data:"):
            raise _NotEmbeddedError(f"the report refers to {url!r}, which is not embedded in it")
        return urls.default_url_fetcher(url, *args, **kwargs)

    return fetch


def _load_weasyprint() -> tuple[Any, Any]:
    try:
        weasyprint = require("weasyprint", "pdf", "A PDF report")
        urls = require("weasyprint.urls", "pdf", "A PDF report")
    except OSError as exc:  # the Python package is there but the system's Pango is not
        raise MissingDependencyError(
            f"WeasyPrint cannot load the system's Pango library ({exc})",
            hint="On Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0",
        ) from exc
    return weasyprint, urls


def check_pdf_available() -> None:
    """Raise :class:`MissingDependencyError` now if PDF reports cannot be made (WeasyPrint, Pango)."""
    _load_weasyprint()


def render_pdf(html: str) -> bytes:
    """Lay out a self-contained HTML report as PDF.

    Raises
    ------
    MissingDependencyError
        When WeasyPrint (or the system's Pango it loads) is not available.
    """
    weasyprint, urls = _load_weasyprint()
    pdf = weasyprint.HTML(string=html, url_fetcher=_embedded_only_fetcher(urls)).write_pdf()
    if not isinstance(pdf, bytes):
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf
