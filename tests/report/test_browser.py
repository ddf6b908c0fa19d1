"""The HTML report in a real headless browser: loads cleanly, nothing overlaps, the plot and its readout work.

Layout is checked by measuring every piece of text on the page (``tests/report/browser.py``):
no two texts overlap and none spills out of its table cell, at a laptop's width and with the
print style sheet applied at the width of an A4 landscape page. The pointer readout is checked
by moving the pointer over the figure and comparing what the page shows with the curves.
Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest

from plancheck.report.html import render_html
from plancheck.report.summary import render_overview_html, row_from_document, sort_rows
from tests.report.browser import (
    artifacts_dir,
    harness_result,
    instrument,
    load_page,
    load_with_harness,
    screenshot,
)
from tests.report.documents import (
    CONSTRAINTS,
    SCRIPT_NAME,
    STRUCTURES,
    curve_volume_cc,
    make_document,
)

LAPTOP = (1366, 768)
PRINT_WIDTH = 1032  # A4 landscape less 12 mm margins each side, at 96 px per inch
REPO = Path(__file__).resolve().parents[2]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _layout(tmp_path: Path, html: str, name: str, *, probe: dict[str, Any] | None = None) -> dict[str, Any]:
    """Measure the page at laptop width and as printed; keep screenshots of both."""
    results = {}
    for mode, width, print_media in (("laptop", LAPTOP[0], False), ("print", PRINT_WIDTH, True)):
        page = tmp_path / f"{name}-{mode}.html"
        page.write_text(instrument(html, probe=probe, print_media=print_media), encoding="utf-8")
        run = load_with_harness(page, width=width, height=LAPTOP[1])
        assert run.console == [], run.console
        result = harness_result(run.dom)
        assert result["errors"] == [], result["errors"]
        assert result["texts"] > 50
        assert result["overlaps"] == [], f"{mode}: overlapping text {result['overlaps'][:10]}"
        assert result["overflows"] == [], f"{mode}: text outside its cell {result['overflows'][:10]}"
        shown = tmp_path / f"{name}-{mode}-shot.html"
        shown.write_text(html if not print_media else html.replace("@media print {", "@media all {"), encoding="utf-8")
        screenshot(shown, artifacts_dir() / f"{name}-{mode}.png", width=width, height=4000)
        results[mode] = result
    screenshot(tmp_path / f"{name}-laptop-shot.html", artifacts_dir() / f"{name}-laptop-viewport.png",
               width=LAPTOP[0], height=LAPTOP[1])
    return results


def test_report_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    html = render_html(make_document())
    page.write_text(html, encoding="utf-8")
    run = load_page(page)
    assert run.console == [], "the page logged errors or warnings"
    # the hostile ROI name did not run: the title is the report's, and the name is text
    title = re.search(r"<title>(.*?)</title>", run.dom, flags=re.S)
    assert title is not None and "pwned" not in title.group(1)
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in run.dom
    # the page's only scripts are its data block and its readout
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="dvh-data">', "<script>"]
    assert len(re.findall(r'<tr class="constraint ', run.dom)) == len(CONSTRAINTS)
    assert re.search(r'<img id="dvh-plot" src="data:image/svg\+xml;base64,', run.dom)
    png = screenshot(page, artifacts_dir() / "report.png")
    assert _png_size(png) == (1280, 2400)


def test_no_overlapping_text_and_a_working_readout(tmp_path: Path) -> None:
    doc = make_document()
    results = _layout(tmp_path, render_html(doc), "report", probe={"panel": "physical", "dose": 30.0})
    readout = results["laptop"]["readout"]
    assert readout is not None and readout["panel"] == "physical"
    dose = float(readout["dose"])
    assert dose == pytest.approx(30.0, abs=0.2)  # one pixel of the figure
    # every curve of the physical panel, with its volume at that dose: the closed form of the test curves
    expected = {name: curves["physical"] for name, _roi, _v, curves in STRUCTURES}
    shown = {row[0]: row for row in readout["rows"]}
    assert set(shown) == set(expected)
    for name, (d50, sigma) in expected.items():
        volume_cc = next(v for n, _r, v, _c in STRUCTURES if n == name)
        pct = curve_volume_cc(volume_cc, d50, sigma, dose) / volume_cc * 100.0
        assert float(shown[name][2]) == pytest.approx(pct, abs=0.3), name  # 400 points per curve
        assert float(shown[name][3]) == pytest.approx(pct / 100.0 * volume_cc, abs=0.3 * volume_cc / 100.0)
    assert "Physical dose" in readout["head"]
    # in print the readout is not shown, the figure is
    assert results["print"]["texts"] > 50


def test_overview_in_chromium(tmp_path: Path) -> None:
    doc = make_document()
    doc["course"]["plans"][0]["label"] = SCRIPT_NAME
    page = tmp_path / "index.html"
    page.write_text(render_overview_html(sort_rows([row_from_document("plan-a", doc, "plans/a.html")])))
    run = load_page(page)
    assert run.console == []
    assert 'href="plans/a.html"' in run.dom and "pwned" not in run.dom.split("</title>")[0]
    screenshot(page, artifacts_dir() / "batch-overview.png", height=600)


# --------------------------------------------------------------------------- the sample course


@pytest.fixture(scope="module")
def sample_doc() -> dict[str, Any]:
    from plancheck.pipeline import evaluate_plan

    doc = evaluate_plan(REPO / "sample_plans" / "spine_sib_seq_course", None)
    assert doc["protocol"]["references"], "the evaluation document carries the protocol's bibliography"
    return doc


def test_sample_course_report_has_what_a_reviewer_signs(sample_doc: dict[str, Any], tmp_path: Path) -> None:
    html = render_html(sample_doc)
    results = _layout(tmp_path, html, "sample-course-report", probe={"panel": "EQD2", "dose": 20.0})
    run = load_page(_write(tmp_path / "sample.html", html))
    dom = run.dom
    # the verdict and, at the top, what failed or could not be evaluated, with values and reasons
    assert dom.index('id="outcome"') < dom.index('id="attention"') < dom.index('id="identification"')
    attention = _section(dom, "attention")
    for c in sample_doc["constraints"]:
        if c["status"] in ("fail", "not-evaluated", "warn"):
            assert f"<td>{c['id']}</td>" in attention and (c["reason"] or "")[:30] in attention
    # planning system, plan date, approval and approver of every plan
    approval = _section(dom, "approval")
    for plan in sample_doc["course"]["plans"]:
        system = plan["planning_system"]
        for text in (plan["label"], system["manufacturer"], system["model"], system["software_versions"],
                     plan["approval_status"], plan["reviewer_name"]):
            assert text and text in approval, text
        date = plan["plan_date"]
        assert f"{date[:4]}-{date[4:6]}-{date[6:]}" in approval
        review = plan["review_date"]
        assert f"{review[:4]}-{review[4:6]}-{review[6:]}" in approval
    # every input file, RTDOSEs included, with its path and SHA-256
    files = _section(dom, "provenance")
    on_disk = sorted(p.name for p in (REPO / "sample_plans" / "spine_sib_seq_course").glob("*.dcm"))
    shown = re.findall(r"<tr><td><code>([^<]+)</code></td><td>(RT\w+)</td>.*?<td class=\"hash\">([0-9a-f]{64})</td>", files)
    assert sorted(Path(p).name for p, _kind, _hash in shown) == on_disk
    assert {kind for _p, kind, _h in shown} == {"RTSTRUCT", "RTPLAN", "RTDOSE"}
    # the dose type, a bibliography every source key links to, and a blank sign-off block
    assert 'id="dose-unit">Gy<' in dom
    references = _section(dom, "references")
    for ref in sample_doc["protocol"]["references"]:
        assert f'id="ref-{ref["key"]}"' in references
    assert re.search(r'<a href="#ref-[^"]+">', _section(dom, "constraints"))
    signoff = _section(dom, "signoff")
    for label in ("Reviewer", "Date", "Decision", "Signature"):
        assert f"<th>{label}</th><td></td>" in signoff or f"<th>{label}</th>" in signoff
    # derived structures show their expression, never ROI -1
    structures = _section(dom, "dvh")
    assert "derived: PTV - PTV_boost" in structures and ">-1<" not in structures
    # the readout works on the EQD2 panel, with one row per EQD2 curve
    readout = results["laptop"]["readout"]
    eqd2 = [k for s in sample_doc["structures"] for k in s["curves"] if k.startswith("EQD2")]
    assert readout["panel"] == "EQD2" and len(readout["rows"]) == len(eqd2)
    assert all(0.0 <= float(row[2]) <= 100.0 for row in readout["rows"])


def test_gy_rbe_is_shown_for_effective_doses(tmp_path: Path) -> None:
    doc = make_document()
    doc["course"]["dose_unit"] = "Gy(RBE)"
    doc["course"]["plans"][0].update(dose_type="EFFECTIVE", dose_unit="Gy(RBE)")
    html = render_html(doc)
    run = load_page(_write(tmp_path / "rbe.html", html))
    assert "Prescription [Gy(RBE)]" in run.dom and "EFFECTIVE (Gy(RBE))" in run.dom
    data = json.loads(re.search(r'id="dvh-data">(.*?)</script>', html, flags=re.S).group(1))  # type: ignore[union-attr]
    assert data["dose_unit"] == "Gy(RBE)" and "Gy(RBE)" in data["panels"][0]["axis"]


def _write(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path


def _section(dom: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', dom, flags=re.S)
    assert match is not None, section_id
    return match.group(1)


def test_the_layout_check_sees_overlaps_and_overflows(tmp_path: Path) -> None:
    """The measuring harness itself: columns too narrow for their headers are caught."""
    narrow = (
        '<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\"></head><body>"
        '<table style="table-layout: fixed; width: 300px; border-collapse: collapse; text-align: left">'
        '<colgroup><col style="width: 20px"><col style="width: 280px"></colgroup>'
        "<tr><th style='text-align: left'>Constraint</th><th style='text-align: left'>Structure</th></tr></table>"
        + "".join(f"<p>filler text {k}</p>" for k in range(60))
        + "</body></html>"
    )
    page = _write(tmp_path / "narrow.html", instrument(narrow))
    result = harness_result(load_with_harness(page, width=800, height=600).dom)
    assert ["Constraint", "Structure"] in result["overlaps"]
    assert {"text": "Constraint", "cell": "TH"} in result["overflows"]
