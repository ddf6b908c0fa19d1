"""The HTML report: content, escaping of DICOM strings, self-containment."""

from __future__ import annotations

import re

from plancheck.report.html import fmt_number, render_html
from plancheck.report.template import READOUT_SCRIPT, READOUT_SCRIPT_HASH
from tests.report.documents import (
    CONSTRAINTS,
    PATIENT,
    PLANNING_SYSTEM,
    REFERENCES,
    SCRIPT_NAME,
    make_document,
)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="constraint row-[^"]+" data-status="[^"]+"[^>]*>.*?</tr>', html, flags=re.S)


def test_constraint_table_has_every_constraint_with_status_in_colour_and_text() -> None:
    html = render_html(make_document(), figure=False)
    rows = _rows(html)
    assert len(rows) == len(CONSTRAINTS)
    labels = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not-evaluated": "NOT EVALUATED"}
    for row, c in zip(rows, CONSTRAINTS, strict=True):
        assert f'data-status="{c["status"]}"' in row
        assert f'class="status status-{c["status"]}"' in row  # the colour
        assert labels[c["status"]] in row  # the text
        assert f"<td>{c['id']}</td>" in row
    # no fixed column widths that are narrower than the headers: the browser test measures it
    assert "table-layout: fixed" not in html


def test_identification_course_protocol_findings_and_provenance_are_shown() -> None:
    doc = make_document()
    html = render_html(doc, figure=False)
    for text in (
        PATIENT["id"],
        "Doe^Jane",
        doc["course"]["structure_set"]["sop_instance_uid"],
        doc["course"]["plans"][0]["sop_instance_uid"],
        doc["provenance"]["protocol_sha256"],
        "spine_sib_30Gy10_40Gy10",
        "link-by-frame-of-reference",
        "structure-outside-dose-grid",
        doc["provenance"]["input_files"][0]["sha256"],
        "end_caps",
    ):
        assert text in html, text
    assert 'id="title"' in html and "NOT EVALUATED" in html


def test_strings_from_dicom_files_are_escaped() -> None:
    doc = make_document()
    doc["course"]["plans"][0]["label"] = "<b onmouseover=alert(1)>SIB</b>"
    doc["patient"]["name"] = 'Doe"><img src=x onerror=alert(1)>'
    html = render_html(doc)
    # the only scripts are the page's own data block and readout, allowed by their hash
    assert re.findall(r"<script[^>]*>", html, flags=re.I) == ['<script type="application/json" id="dvh-data">', "<script>"]
    assert f"script-src '{READOUT_SCRIPT_HASH}'" in html and f"<script>{READOUT_SCRIPT}</script>" in html
    assert "<b onmouseover" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(1)&gt;SIB&lt;/b&gt;" in html


def test_page_is_self_contained() -> None:
    html = render_html(make_document())
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs, "the DVH figure is embedded as an image"
    assert all(r.startswith(("data:", "#")) for r in refs)  # embedded images and links within the page
    assert "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html  # the page may load nothing


def test_missing_curves_and_minimal_document_render() -> None:
    html = render_html(make_document(structures=[]))
    assert 'id="dvh-missing"' in html and 'id="dvh-plot"' not in html
    minimal = render_html({"kind": "plancheck-evaluation", "schema_version": "1.0"})
    assert "The protocol has no constraint." in minimal


def test_fmt_number_never_shows_undefined_as_a_number() -> None:
    assert fmt_number(None) == "—"
    assert fmt_number(float("nan")) == "—"
    assert fmt_number(float("inf")) == "—"
    assert fmt_number(10) == "10"
    assert fmt_number(38.2) == "38.20"
    assert fmt_number(0.0312) == "0.031"
    assert fmt_number(1234.56) == "1234.6"


def test_script_name_is_in_the_document_fixture() -> None:
    # guards the escaping tests: the fixture really carries the hostile name
    assert SCRIPT_NAME in str(make_document())


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}"[^>]*>(.*?)</section>', html, flags=re.S)
    assert match is not None, section_id
    return match.group(1)


def test_what_a_reviewer_signs_is_on_the_page() -> None:
    doc = make_document()
    html = render_html(doc, figure=False)
    approval = _section(html, "approval")
    for text in (PLANNING_SYSTEM["manufacturer"], PLANNING_SYSTEM["model"], PLANNING_SYSTEM["software_versions"],
                 "2024-11-05 10:15", "APPROVED", "2024-11-06 09:30", "PHYSICIST^ALICE", "PHYSICAL (Gy)"):
        assert text in approval, text
    files = _section(html, "provenance")
    for f in doc["provenance"]["input_files"]:
        assert f["path"] in files and f["sha256"] in files
    # the bibliography, and the constraint sources linked to it
    refs = _section(html, "references")
    for r in REFERENCES:
        assert f'id="ref-{r["key"]}"' in refs and r["citation"][:40] in refs
    assert '<a href="#ref-QUANTEC_cord">QUANTEC_cord</a> (Dmax 45 Gy EQD2' in html
    # a blank sign-off block
    signoff = _section(html, "signoff")
    for label in ("Reviewer", "Date", "Decision", "Signature"):
        assert f"<th>{label}</th><td></td>" in signoff or f"<th>{label}</th>" in signoff
    assert "Accepted" in signoff and "Not accepted" in signoff


def test_summary_at_the_top_lists_failures_first_with_values() -> None:
    html = render_html(make_document(), figure=False)
    assert html.index('id="attention"') < html.index('id="identification"')
    summary = _section(html, "attention")
    statuses = re.findall(r'<tr data-status="([^"]+)">', summary)
    assert statuses == ["fail", "not-evaluated", "warn"]
    assert "0.760 cc" in summary and "&lt;= 0.5" in summary  # the failed value and its goal
    assert "no ROI matches" in summary  # why one could not be evaluated
    assert 'class="has-failures"' in html


def test_no_summary_rows_when_everything_passed() -> None:
    doc = make_document()
    doc["constraints"] = [c for c in doc["constraints"] if c["status"] == "pass"]
    html = render_html(doc, figure=False)
    assert 'id="all-passed"' in html and 'id="attention-table"' not in html


def test_gy_rbe_everywhere_a_dose_unit_is_shown() -> None:
    doc = make_document()
    doc["course"]["dose_unit"] = "Gy(RBE)"
    html = render_html(doc, figure=False)
    assert "Prescription [Gy(RBE)]" in html and "Dose [Gy(RBE)]" in html
    assert "Gy(RBE) (EFFECTIVE dose: RBE-weighted)" in html
    assert "Prescription [Gy]" not in html


def test_derived_structures_show_their_expression() -> None:
    doc = make_document()
    doc["structures"].append(dict(doc["structures"][0], name="PTV - PTV_boost", roi_number=-1))
    html = _section(render_html(doc, figure=False), "dvh")
    assert "<td>derived: PTV - PTV_boost</td>" in html and ">-1<" not in html


def test_new_outcomes_and_verdict_warnings_are_shown_as_they_are() -> None:
    doc = make_document()
    doc["summary"]["outcome"] = "incomplete"
    doc["summary"]["warnings"] = ["plancheck's doses are 0.85 x the planning system's"]
    html = render_html(doc, figure=False)
    assert "INCOMPLETE" in html and "0.85 x the planning system" in html
    assert "PASS" not in re.search(r'<div id="outcome">(.*?)</div>', html, flags=re.S).group(1)  # type: ignore[union-attr]


def test_an_anonymised_report_says_dates_are_withheld() -> None:
    from plancheck.report.anonymize import anonymize_document

    html = _section(render_html(anonymize_document(make_document(), b"k" * 32), figure=False), "approval")
    assert html.count("withheld (anonymised)") == 2 and "2024-11-05" not in html
