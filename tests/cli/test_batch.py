"""``plancheck batch``: exit status, outputs, quiet when not on a terminal, nothing written in ROOT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import plancheck.pipeline
from plancheck.cli import main
from tests.batch.stubs import stub_evaluate, write_fake_dicom
from tests.batch.test_run import make_root, snapshot


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    # in-process runs (--jobs 1) call the stand-in instead of the real pipeline
    monkeypatch.setattr(plancheck.pipeline, "evaluate_plan", stub_evaluate)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_mixed_root_exits_with_the_most_severe_status(tmp_path: Path, stubbed: None) -> None:
    root = make_root(tmp_path / "root")
    before = snapshot(root)
    out = tmp_path / "out"
    result = run("batch", str(root), "--output", str(out), "--jobs", "1")
    assert result.exit_code == 3, result.output
    assert snapshot(root) == before
    # not a terminal: one summary line, no progress bar
    assert result.stdout.count("\n") == 1
    assert "1 fail" in result.stdout and "2 error" in result.stdout and "1 skipped" in result.stdout
    assert (out / "summary.csv").is_file() and (out / "index.html").is_file()
    rows = [json.loads(line) for line in (out / "summary.jsonl").read_text().splitlines()]
    assert len(rows) == 6


def test_failing_plan_exits_1_and_resume_reuses(tmp_path: Path, stubbed: None) -> None:
    root = tmp_path / "root"
    write_fake_dicom(root / "a" / "rd.dcm", "STATUS=pass")
    write_fake_dicom(root / "b" / "rd.dcm", "STATUS=fail")
    out = tmp_path / "out"
    assert run("batch", str(root), "-o", str(out), "-j", "1").exit_code == 1
    again = run("batch", str(root), "-o", str(out), "-j", "1", "--resume")
    assert again.exit_code == 1 and "(2 unchanged, reused)" in again.stdout


def test_default_output_may_not_be_inside_root(tmp_path: Path, stubbed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_root(tmp_path / "root")
    before = snapshot(root)
    monkeypatch.chdir(root)
    result = run("batch", str(root), "-j", "1")
    assert result.exit_code == 2 and "inside ROOT" in result.stderr
    assert snapshot(root) == before


def test_output_inside_root_when_asked(tmp_path: Path, stubbed: None) -> None:
    root = tmp_path / "root"
    write_fake_dicom(root / "a" / "rd.dcm", "STATUS=pass")
    result = run("batch", str(root), "-o", str(root / "reports"), "-j", "1")
    assert result.exit_code == 0, result.output
    # the reports folder is not taken for a plan or a skipped folder on the next run
    again = run("batch", str(root), "-o", str(root / "reports"), "-j", "1")
    assert again.exit_code == 0 and again.stdout.startswith("1 pass in")


def test_invalid_protocol_stops_before_any_plan(tmp_path: Path, stubbed: None) -> None:
    root = make_root(tmp_path / "root")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    result = run("batch", str(root), "-o", str(tmp_path / "out"), "--protocol", str(bad), "-j", "1")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unwritable_output_is_a_usage_error(tmp_path: Path, stubbed: None) -> None:
    root = tmp_path / "root"
    write_fake_dicom(root / "a" / "rd.dcm", "STATUS=pass")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should be")
    result = run("batch", str(root), "-o", str(blocker / "out"), "-j", "1")
    assert result.exit_code == 2 and "cannot write to the output folder" in result.stderr


def test_empty_root_checks_nothing_and_exits_3(tmp_path: Path) -> None:
    root = tmp_path / "mounted"
    root.mkdir()
    (root / "notes.txt").write_text("no plans here\n", encoding="utf-8")
    result = run("batch", str(root), "--output", str(tmp_path / "out"))
    assert result.exit_code == 3, result.output
    assert "nothing was checked" in result.output
