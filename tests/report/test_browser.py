"""The HTML report in a real headless browser: loads cleanly, shows the table and the plot, runs nothing."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from plancheck.report.html import render_html
from plancheck.report.summary import render_overview_html, row_from_document, sort_rows
from tests.report.browser import artifacts_dir, load_page, screenshot
from tests.report.documents import CONSTRAINTS, SCRIPT_NAME, make_document


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_report_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(make_document()), encoding="utf-8")
    run = load_page(page)
    assert run.console == [], "the page logged errors or warnings"
    # the hostile ROI name did not run: the title is the report's, and the name is text
    title = re.search(r"<title>(.*?)</title>", run.dom, flags=re.S)
    assert title is not None and "pwned" not in title.group(1)
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in run.dom
    assert run.dom.count("<script") == 0
    # the table and the plot are there
    assert len(re.findall(r'<tr class="constraint ', run.dom)) == len(CONSTRAINTS)
    assert re.search(r'<img id="dvh-plot" src="data:image/svg\+xml;base64,', run.dom)
    png = screenshot(page, artifacts_dir() / "report.png")
    assert _png_size(png) == (1280, 2400)


def test_overview_in_chromium(tmp_path: Path) -> None:
    doc = make_document()
    doc["course"]["plans"][0]["label"] = SCRIPT_NAME
    page = tmp_path / "index.html"
    page.write_text(render_overview_html(sort_rows([row_from_document("plan-a", doc, "plans/a.html")])))
    run = load_page(page)
    assert run.console == []
    assert 'href="plans/a.html"' in run.dom and "pwned" not in run.dom.split("</title>")[0]
    screenshot(page, artifacts_dir() / "batch-overview.png", height=600)


def test_sample_plan_report_in_chromium(tmp_path: Path) -> None:
    """The bundled sample course, evaluated and rendered by the CLI, shows its table and plot."""
    from click.testing import CliRunner

    from plancheck.cli import main

    sample = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_seq_course"
    page = tmp_path / "sample.html"
    result = CliRunner().invoke(main, ["evaluate", str(sample), "--format", "html", "-o", str(page)])
    assert result.exit_code == 1, result.output  # the course's cord PRV fails (tests/test_sample_plans.py)
    run = load_page(page)
    assert run.console == []
    assert len(re.findall(r'<tr class="constraint ', run.dom)) >= 20
    assert "SpinalCord" in run.dom and "EQD2" in run.dom
    assert re.search(r'<img id="dvh-plot" src="data:image/svg\+xml;base64,', run.dom)
    screenshot(page, artifacts_dir() / "sample-course-report.png")
