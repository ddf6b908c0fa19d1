"""The PDF report (WeasyPrint), from the same HTML."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from plancheck.report.html import render_html
from tests.report.documents import make_document

pytest.importorskip("weasyprint", reason="PDF reports need the extra plancheck[pdf] (WeasyPrint)")


def test_pdf_is_made_from_the_report(tmp_path: Path) -> None:
    from plancheck.report.pdf import render_pdf

    pdf = render_pdf(render_html(make_document()))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    if shutil.which("pdftotext") is None:
        return
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "cord-v30" in text and "FAIL" in text and "<script>document.title" in text


def test_pdf_refuses_to_fetch_anything() -> None:
    from plancheck.report.pdf import render_pdf

    # an image that is not embedded is not fetched (no file, no network): the PDF is still made
    pdf = render_pdf('<html><body><p>x</p><img src="file:///etc/hostname"></body></html>')
    assert pdf.startswith(b"%PDF-")
