"""The PDF report (WeasyPrint), from the same HTML: page numbers, running head, repeated headers.

Page by page text comes from poppler's ``pdftotext`` (installed by ``.ci/run``); without it the
page checks skip with that reason.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from plancheck.report.html import render_html
from tests.report.documents import make_document

pytest.importorskip("weasyprint", reason="PDF reports need the extra plancheck[pdf] (WeasyPrint)")

REPO = Path(__file__).resolve().parents[2]
HEADINGS = (
    "Summary",
    "Patient and plan",
    "Planning system and approval",
    "Course",
    "Dose levels",
    "Protocol",
    "Constraints",
    "Dose-volume histograms",
    "Data quality",
    "References",
    "Provenance",
    "Input files",
    "Review and sign-off",
)


def _pages(pdf: bytes, tmp_path: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [p for p in text.split("\f") if p.strip()]


def test_pdf_is_made_from_the_report(tmp_path: Path) -> None:
    from plancheck.report.pdf import render_pdf

    pdf = render_pdf(render_html(make_document()))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = "\n".join(_pages(pdf, tmp_path))
    assert "cord-v30" in text and "FAIL" in text and "<script>document.title" in text


def test_pdf_refuses_to_fetch_anything() -> None:
    from plancheck.report.pdf import render_pdf

    # an image that is not embedded is not fetched (no file, no network): the PDF is still made
    pdf = render_pdf('<html><body><p>x</p><img src="file:///etc/hostname"></body></html>')
    assert pdf.startswith(b"%PDF-")


def _long_document() -> dict[str, Any]:
    """The test document with its constraints repeated, so that the table runs over several pages."""
    doc = make_document()
    rows = []
    for k in range(12):
        for c in doc["constraints"]:
            rows.append(dict(copy.deepcopy(c), id=f"{c['id']}-{k}"))
    doc["constraints"] = rows
    return doc


def _sample_document() -> dict[str, Any]:
    from plancheck.pipeline import evaluate_plan

    return evaluate_plan(REPO / "sample_plans" / "spine_sib_seq_course", None)


@pytest.mark.parametrize("which", ["long", "sample"])
def test_every_page_is_numbered_and_names_patient_and_plans(which: str, tmp_path: Path) -> None:
    from plancheck.report.pdf import render_pdf

    doc = _long_document() if which == "long" else _sample_document()
    pages = _pages(render_pdf(render_html(doc)), tmp_path)
    assert len(pages) >= 3
    labels = ", ".join(p["label"] for p in doc["course"]["plans"])
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page, n
        assert f"Patient ID {doc['patient']['id']}" in page and f"plans {labels}" in page, n
    # the constraint table's header is repeated on every page the table runs over
    start = next(n for n, p in enumerate(pages) if _has_heading(p, "Constraints"))
    end = next(n for n, p in enumerate(pages) if _has_heading(p, "Dose-volume histograms"))
    assert end > start + (1 if which == "long" else 0)
    for page in pages[start : end + 1]:
        if "Reason / source" in page or page is not pages[end]:
            assert "Reason / source" in page and "Acceptable" in page and "Priority" in page
    # no heading is stranded at the foot of a page
    for n, page in enumerate(pages, start=1):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        content = [ln for ln in lines if not ln.startswith(("Patient ID", "Page "))]
        assert content and content[-1] not in HEADINGS, f"page {n} ends with the heading {content[-1]!r}"


def _has_heading(page: str, heading: str) -> bool:
    return any(line.strip() == heading for line in page.splitlines())
