"""The HTML report: content, escaping of DICOM strings, self-containment."""

from __future__ import annotations

import re

from plancheck.report.html import fmt_number, render_html
from tests.report.documents import CONSTRAINTS, PATIENT, SCRIPT_NAME, make_document


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="constraint row-[^"]+" data-status="[^"]+">.*?</tr>', html, flags=re.S)


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
    assert "<script" not in html.lower()
    assert "<b onmouseover" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(1)&gt;SIB&lt;/b&gt;" in html


def test_page_is_self_contained() -> None:
    html = render_html(make_document())
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs, "the DVH figure is embedded as an image"
    assert all(r.startswith("data:") for r in refs)
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
