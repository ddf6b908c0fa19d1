"""``plancheck report``: render a saved evaluation document; exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from plancheck.cli import main
from tests.report.documents import PATIENT, SS_UID, make_document


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def doc_file(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "evaluation.json"
    path.parent.mkdir()
    path.write_text(json.dumps(make_document()), encoding="utf-8")
    return path


def test_html_to_a_file(doc_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run("report", str(doc_file), "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'id="constraint-table"' in html and 'id="dvh-plot"' in html
    assert sorted(p.name for p in doc_file.parent.iterdir()) == ["evaluation.json"]  # input folder untouched


def test_html_to_stdout(doc_file: Path) -> None:
    result = run("report", str(doc_file))
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>")


def test_pdf(doc_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint", reason="PDF reports need the extra plancheck[pdf]")
    out = tmp_path / "report.pdf"
    result = run("report", str(doc_file), "--format", "pdf", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_anonymized_outputs(doc_file: Path, tmp_path: Path) -> None:
    key = tmp_path / "site.key"
    key.write_text("a-long-site-secret-of-the-department\n")
    for fmt in ("json", "html"):
        out = tmp_path / f"anon.{fmt}"
        result = run("report", str(doc_file), "--format", fmt, "-o", str(out), "--anonymize", "--anonymize-key", str(key))
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        for identifier in (PATIENT["id"], PATIENT["name"], PATIENT["birth_date"], SS_UID):
            assert identifier not in text
        assert "ANON-" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1"),
        (json.dumps({"kind": "plancheck-dvh", "schema_version": "1.0"}), "not a plancheck evaluation document"),
        (json.dumps(make_document(schema_version="2.0")), "schema version '2.0' is not supported"),
        (json.dumps([1, 2]), "expected a JSON object"),
    ],
)
def test_bad_documents_exit_3_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("report", str(path), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 3
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_key_without_anonymize_is_a_usage_error(doc_file: Path, tmp_path: Path) -> None:
    result = run("report", str(doc_file), "--anonymize-key", str(tmp_path / "k"))
    assert result.exit_code == 2


def _evaluated(tmp_path: Path) -> dict:
    """The evaluation document of the failing sample plan, written by plancheck evaluate."""
    sample = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_cord_fail"
    out = tmp_path / "fail.json"
    result = run("evaluate", str(sample), "--format", "json", "-o", str(out))
    assert result.exit_code == 1, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_document_plancheck_wrote_renders(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(_evaluated(tmp_path)), encoding="utf-8")
    assert run("report", str(path), "-o", str(tmp_path / "ok.html")).exit_code == 0


@pytest.mark.parametrize("tamper", ["status", "status-and-summary", "goal"])
def test_tampered_statuses_are_refused(tmp_path: Path, tamper: str) -> None:
    doc = _evaluated(tmp_path)
    cord = next(c for c in doc["constraints"] if c["structure"] == "SpinalCord")
    assert cord["status"] == "fail"  # 39.2 Gy against <= 33.5 (35.8)
    if tamper == "goal":
        cord["status"] = "pass"
        cord["goal"] = "<= 30"  # still missed by the value: the status cannot be pass
    else:
        cord["status"] = "pass"
    if tamper == "status-and-summary":
        doc["summary"]["fail"] -= 1
        doc["summary"]["pass"] += 1
        doc["summary"]["outcome"] = "pass"
        doc["summary"]["exit_code"] = 0
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "tampered.html"
    result = run("report", str(path), "-o", str(out))
    assert result.exit_code == 3
    assert "disagree" in result.stderr and "SpinalCord" in result.stderr
    assert not out.exists()


def test_a_summary_that_hides_a_failure_is_refused(tmp_path: Path) -> None:
    doc = _evaluated(tmp_path)
    doc["summary"]["outcome"] = "pass"
    doc["summary"]["exit_code"] = 0
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = run("report", str(path), "-o", str(tmp_path / "s.html"))
    assert result.exit_code == 3 and "a graded constraint failed" in result.stderr


def test_html_lists_the_verdict_reasons_and_absent_optional_organs(tmp_path: Path) -> None:
    path = tmp_path / "fail.json"
    path.write_text(json.dumps(_evaluated(tmp_path)), encoding="utf-8")
    out = tmp_path / "fail.html"
    assert run("report", str(path), "-o", str(out)).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="absent-optional"' in html and "Esophagus" in html
    assert 'id="verdict-reasons"' in html and "SpinalCord D0.03cc[Gy]" in html
    # the CSV marks rows of absent optional organs as not graded
    csv_out = run("evaluate", str(Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_cord_fail"), "--format", "csv")
    lines = csv_out.stdout.splitlines()
    assert "graded" in lines[0].split(",")
    assert any(line.startswith("Esophagus,") and "no: optional structure absent" in line for line in lines)
