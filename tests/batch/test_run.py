"""A whole batch with a stand-in evaluator: mixed folders, parallelism, resume, anonymisation."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from plancheck.batch.run import run_batch
from plancheck.batch.task import BatchSettings
from tests.batch.stubs import stub_evaluate, write_course, write_fake_dicom


def make_root(root: Path) -> Path:
    """Good courses, a failing course, a course with a corrupt RTDOSE, a crashing course and a non-DICOM folder."""
    write_course(root / "good1", "STATUS=pass")
    write_course(root / "nested" / "good2", "STATUS=warn STATUS=pass")
    write_course(root / "failing", "STATUS=fail STATUS=pass")
    write_course(root / "corrupt", "CORRUPT")
    write_course(root / "buggy", "BUG")
    (root / "not_dicom").mkdir()
    (root / "not_dicom" / "notes.txt").write_text("no plan here")
    (root / "not_dicom" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def settings(root: Path, out: Path, **kw: object) -> BatchSettings:
    return BatchSettings(root=root, output_dir=out, evaluate=stub_evaluate, figure=False, **kw)  # type: ignore[arg-type]


def rows_by_plan(out: Path) -> dict[str, dict]:
    return {r["plan"]: r for r in map(json.loads, (out / "summary.jsonl").read_text().splitlines())}


def test_mixed_folder_is_reported_course_by_course(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    before = snapshot(root)
    out = tmp_path / "out"
    outcome = run_batch(settings(root, out), workers=2)
    assert snapshot(root) == before  # nothing written inside ROOT
    rows = rows_by_plan(out)
    assert {k: r["status"] for k, r in rows.items()} == {
        "good1": "pass",
        "nested/good2": "warn",
        "failing": "fail",
        "corrupt": "error",
        "buggy": "error",
        "not_dicom": "skipped",
    }
    assert rows["corrupt"]["error_kind"] == "DicomReadError" and rows["corrupt"]["exit_code"] == 3
    assert "pixel data is shorter" in rows["corrupt"]["error"]
    assert rows["buggy"]["error_kind"] == "internal" and "ZeroDivisionError" in rows["buggy"]["error"]
    assert rows["failing"]["exit_code"] == 1 and rows["failing"]["fail"] == 1
    assert outcome.exit_code == 3  # the most severe: an input error
    # every evaluated course has its document and report, linked from the overview
    for key in ("good1", "nested/good2", "failing"):
        report = out / rows[key]["report"]
        assert report.is_file() and report.with_suffix(".json").is_file()
        assert f'href="{rows[key]["report"]}"' in (out / "index.html").read_text()
    ordered = [r["plan"] for r in csv.DictReader(io.StringIO((out / "summary.csv").read_text()))]
    assert ordered == ["buggy", "corrupt", "failing", "nested/good2", "good1", "not_dicom"]
    assert json.loads((out / "run.json").read_text())["state"] == "complete"


def test_results_do_not_depend_on_parallelism(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the Dask path needs the extra plancheck[dask]")
    root = make_root(tmp_path / "root")
    summaries = []
    for name, kw in (("serial", {"workers": 1}), ("procs", {"workers": 2}), ("dask", {"workers": 2, "scheduler": "local"})):
        out = tmp_path / name
        run_batch(settings(root, out), **kw)  # type: ignore[arg-type]
        summaries.append(((out / "summary.csv").read_text(), (out / "summary.jsonl").read_text()))
        assert sorted(p.name for p in (out / "plans").iterdir()) == sorted(
            p.name for p in (tmp_path / "serial" / "plans").iterdir()
        )
    assert summaries[0] == summaries[1] == summaries[2]


def test_only_failing_courses_change_the_exit_status(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_course(root / "a", "STATUS=pass")
    write_course(root / "b", "STATUS=fail")
    (root / "docs").mkdir()
    (root / "docs" / "x.txt").write_text("x")
    assert run_batch(settings(root, tmp_path / "o1"), workers=1).exit_code == 1
    write_course(root / "b", "STATUS=warn")
    assert run_batch(settings(root, tmp_path / "o2"), workers=1).exit_code == 0


def test_resume_skips_unchanged_courses_only(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    out = tmp_path / "out"
    first = run_batch(settings(root, out), workers=1, resume=True)
    assert first.evaluated == 5 and first.reused == 0
    again = run_batch(settings(root, out), workers=1, resume=True)
    # unchanged courses are reused; the course that hit an internal error is tried again
    assert again.evaluated == 1 and again.reused == 4
    assert next(r for r in again.rows if not r["reused"] and r["status"] != "skipped")["plan"] == "buggy"
    assert {r["plan"]: r["status"] for r in again.rows} == {r["plan"]: r["status"] for r in first.rows}
    # a changed file, a new course: only those run
    write_course(root / "failing", "STATUS=pass")
    write_course(root / "new", "STATUS=pass")
    third = run_batch(settings(root, out), workers=1, resume=True)
    assert third.evaluated == 3  # failing (changed), new, buggy (internal error)
    assert {r["plan"]: r["status"] for r in third.rows}["failing"] == "pass"
    # a missing report is made again
    report = out / {r["plan"]: r for r in third.rows}["good1"]["report"]
    report.unlink()
    assert run_batch(settings(root, out), workers=1, resume=True).evaluated == 2
    # without --resume everything runs
    assert run_batch(settings(root, out), workers=1).evaluated == 6


def test_resume_reruns_when_the_protocol_changes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_course(root / "a", "STATUS=pass")
    protocol = Path(__file__).resolve().parents[2] / "constraints"
    shipped = sorted(protocol.glob("*.yaml"))
    if not shipped:
        pytest.skip("no shipped protocol in constraints/")
    mine = tmp_path / "mine.yaml"
    mine.write_bytes(shipped[0].read_bytes())
    out = tmp_path / "out"
    assert run_batch(settings(root, out, protocol=str(mine)), workers=1, resume=True).evaluated == 1
    assert run_batch(settings(root, out, protocol=str(mine)), workers=1, resume=True).evaluated == 0
    mine.write_bytes(shipped[0].read_bytes() + b"\n# a comment changes the file's SHA-256\n")
    assert run_batch(settings(root, out, protocol=str(mine)), workers=1, resume=True).evaluated == 1


def test_anonymized_batch_leaves_no_identifier_in_any_output(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    write_fake_dicom(root / "Doe_good1_19510203" / "RD.Doe.dcm", "CORRUPT header")
    out = tmp_path / "out"
    outcome = run_batch(settings(root, out, anonymize_key=b"s" * 32), workers=1, resume=True)
    assert outcome.exit_code == 3
    texts = "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    names = "\n".join(str(p.relative_to(out)) for p in out.rglob("*"))
    for identifier in ("Doe", "good1", "ID-failing", "failing", "corrupt", "19510203", str(root), "2.25."
                       + course_uid_digits(), "nested"):
        assert identifier not in texts, identifier
        assert identifier not in names, identifier
    statuses = sorted(r["status"] for r in outcome.rows)
    assert statuses == ["error", "error", "error", "fail", "pass", "skipped", "warn"]
    assert all(r["plan"].startswith("ANON-") for r in outcome.rows)


def course_uid_digits() -> str:
    from tests.batch.stubs import course_uids

    return course_uids("good1")["rs"].split(".")[-1]
