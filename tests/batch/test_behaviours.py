"""Batch runs that never mislead: kills, errors, strays, links, signals, missing extras, permissions.

Each test builds a root of small real DICOM courses (headers only, see
``tests/batch/stubs.py``) evaluated by the stand-in evaluator, so that what
is checked is the batch's bookkeeping, not the physics.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plancheck.batch.discover import discover_plans
from plancheck.batch.run import run_batch
from plancheck.errors import MissingDependencyError
from tests.batch.stubs import write_course, write_image
from tests.batch.test_run import rows_by_plan, settings

REPO = Path(__file__).resolve().parents[2]


def _stub_batch(root: Path, out: Path, *args: str, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.batch.stub_batch", str(root), str(out), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,  # type: ignore[arg-type]
    )


def _wait_for(predicate, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"  # a zombie has stopped
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _report_status(out: Path, row: dict) -> str:
    return json.loads((out / row["report"]).with_suffix(".json").read_text())["summary"]["outcome"]


# --------------------------------------------------------------------------- summaries


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")
def test_a_killed_resume_run_never_leaves_the_old_pass_summary(tmp_path: Path) -> None:
    root, out, pids = tmp_path / "root", tmp_path / "out", tmp_path / "pids"
    pids.mkdir()
    write_course(root / "p01", "STATUS=pass")
    write_course(root / "p02", "STATUS=pass")
    run_batch(settings(root, out), workers=1, resume=True)
    assert rows_by_plan(out)["p01"]["status"] == "pass"
    # p01 now fails; p02 keeps the run busy until it is killed
    write_course(root / "p01", "STATUS=fail")
    write_course(root / "p02", f"SLEEP=120 PIDS={pids}")
    proc = _stub_batch(root, out, "--resume", "--workers", "1")
    _wait_for(lambda: any(pids.iterdir()))  # p01 is done, p02 has started
    proc.kill()
    proc.wait(timeout=30)
    # no summary claims anything; the overview and run.json say the run did not finish
    assert not (out / "summary.csv").exists() and not (out / "summary.jsonl").exists()
    assert json.loads((out / "run.json").read_text())["state"] == "in-progress"
    index = (out / "index.html").read_text()
    assert "RUN IN PROGRESS" in index and 'data-status="pass"' not in index
    reports = sorted((out / "plans").glob("*.json"))
    assert [json.loads(p.read_text())["summary"]["outcome"] for p in reports] == ["fail"]  # p02's old one is gone
    # the next run completes and says the previous one was killed
    write_course(root / "p02", "STATUS=pass")
    outcome = run_batch(settings(root, out), workers=1, resume=True)
    rows = rows_by_plan(out)
    assert rows["p01"]["status"] == "fail" and _report_status(out, rows["p01"]) == "fail"
    assert "did not finish" in rows["(previous run)"]["error"]
    assert outcome.exit_code == 1
    assert json.loads((out / "run.json").read_text())["state"] == "complete"


def test_a_course_that_now_errors_or_left_root_loses_its_old_report(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "p01", "STATUS=pass")
    write_course(root / "p02", "STATUS=pass")
    write_course(root / "p03", "STATUS=pass")
    run_batch(settings(root, out), workers=1, resume=True)
    first = rows_by_plan(out)
    old = {k: out / first[k]["report"] for k in ("p01", "p02")}
    assert all(p.is_file() for p in old.values())
    write_course(root / "p01", "CORRUPT")
    for f in (root / "p02").iterdir():
        f.unlink()
    (root / "p02").rmdir()
    # a report a killed run wrote before it could record it, and a file of the user's
    (out / "plans" / "p04-0badc0de.html").write_text("<html>PASS</html>")
    (out / "my notes.txt").write_text("kept")
    run_batch(settings(root, out), workers=1, resume=True)
    assert not (out / "plans" / "p04-0badc0de.html").exists() and (out / "my notes.txt").is_file()
    rows = rows_by_plan(out)
    assert rows["p01"]["status"] == "error" and rows["p01"]["report"] is None
    assert "p02" not in rows
    for path in old.values():
        assert not path.exists() and not path.with_suffix(".json").exists(), path
    assert (out / rows["p03"]["report"]).is_file() and rows["p03"]["reused"]


# --------------------------------------------------------------------------- discovery


def test_a_stray_file_at_root_does_not_merge_courses(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "p01", "STATUS=pass")
    failing = write_course(root / "p02", "STATUS=fail")
    write_course(root / "site" / "p03", "STATUS=pass")
    (root / "copy_of_dose.dcm").write_bytes(failing["rd"].read_bytes())  # a copy at the root
    write_image(root / "ct_other.dcm", "another patient")  # images of no course here
    write_course(root / "lonely", "x")
    (root / "lonely" / "rp.dcm").unlink()
    (root / "lonely" / "rd.dcm").unlink()  # a structure set nothing references
    found = discover_plans(root)
    assert [p.key for p in found.plans] == ["p01", "p02", "site/p03"]
    p02 = next(p for p in found.plans if p.key == "p02")
    assert "copy_of_dose.dcm" in p02.files  # the copy joins its own course, by UID
    assert {s.key for s in found.skipped} == {". (stray files)", "lonely (stray files)"}
    outcome = run_batch(settings(root, out), workers=1)
    rows = rows_by_plan(out)
    assert rows["p02"]["status"] == "fail" and outcome.exit_code == 1  # the failing course stays visible
    assert rows[". (stray files)"]["status"] == "skipped" and "CT image" in rows[". (stray files)"]["error"]


def test_a_folder_with_several_courses_yields_several(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_course(root / "mixed", "STATUS=pass", name="A", files=("a_rs.dcm", "a_rp.dcm", "a_rd.dcm"))
    write_course(root / "mixed", "STATUS=fail", name="B", files=("b_rs.dcm", "b_rp.dcm", "b_rd.dcm"))
    write_image(root / "mixed" / "ct1.dcm", "A")
    found = discover_plans(root)
    assert [(p.key, p.files) for p in found.plans] == [
        ("mixed#P-A", ("mixed/a_rd.dcm", "mixed/a_rp.dcm", "mixed/a_rs.dcm", "mixed/ct1.dcm")),
        ("mixed#P-B", ("mixed/b_rd.dcm", "mixed/b_rp.dcm", "mixed/b_rs.dcm")),
    ]
    outcome = run_batch(settings(root, tmp_path / "out"), workers=1)
    assert {r["plan"]: r["status"] for r in outcome.rows} == {"mixed#P-A": "pass", "mixed#P-B": "fail"}


def test_links_inside_root_are_followed_and_hashed_links_outside_are_not(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "p01", "", files=("rs.dcm", "rp.dcm", "../store/rd.dcm"), dose_payload="STATUS=pass")
    os.symlink("../store", root / "p01" / "dose")  # the dose lives elsewhere inside ROOT
    write_course(tmp_path / "elsewhere" / "p99", "STATUS=fail")
    os.symlink(tmp_path / "elsewhere", root / "outside")
    os.symlink("../store/rd.dcm", root / "p01" / "rd_link.dcm")  # a link to a file: the same file
    found = discover_plans(root)
    # one course, every file once, whichever way (link or folder) it was reached first
    assert [p.key for p in found.plans] == ["p01"]
    files = found.plans[0].files
    assert len(files) == 3 and sorted(os.path.realpath(root / f) for f in files) == sorted(
        os.path.realpath(p) for p in (root / "p01" / "rp.dcm", root / "p01" / "rs.dcm", root / "store" / "rd.dcm")
    )
    assert [s.key for s in found.skipped] == ["outside"]
    assert "outside ROOT" in found.skipped[0].reason
    first = run_batch(settings(root, out), workers=1, resume=True)
    assert rows_by_plan(out)["p01"]["status"] == "pass" and first.evaluated == 1
    assert run_batch(settings(root, out), workers=1, resume=True).evaluated == 0
    # the dose behind the link changes: resume evaluates the course again, with the new dose
    write_course(root / "p01", "", files=("rs.dcm", "rp.dcm", "../store/rd.dcm"), dose_payload="STATUS=fail")
    again = run_batch(settings(root, out), workers=1, resume=True)
    assert again.evaluated == 1 and rows_by_plan(out)["p01"]["status"] == "fail"
    doc = json.loads((out / rows_by_plan(out)["p01"]["report"]).with_suffix(".json").read_text())
    assert sorted(os.path.realpath(f["path"]) for f in doc["provenance"]["input_files"]) == sorted(
        os.path.realpath(root / f) for f in files
    )  # evaluated: exactly the files discovered and hashed


# --------------------------------------------------------------------------- stopping


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and POSIX signals")
@pytest.mark.parametrize(
    ("how", "code"),
    [("SIGTERM", 128 + signal.SIGTERM), ("Ctrl-C", 128 + signal.SIGINT), ("SIGKILL", -signal.SIGKILL)],
)
def test_stopping_the_batch_stops_its_workers(tmp_path: Path, how: str, code: int) -> None:
    root, out, pids = tmp_path / "root", tmp_path / "out", tmp_path / "pids"
    pids.mkdir()
    for name in ("a", "b", "c"):
        write_course(root / name, f"SLEEP=120 PIDS={pids}")
    proc = _stub_batch(root, out, "--workers", "2", start_new_session=True)
    _wait_for(lambda: len(list(pids.iterdir())) == 2)  # both workers are busy
    workers = [int(p.name) for p in pids.iterdir()]
    assert proc.pid not in workers and all(_alive(w) for w in workers)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    elif how == "Ctrl-C":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole process group
    else:
        proc.kill()  # no clean-up possible: the workers must still not outlive it
    assert proc.wait(timeout=60) == code, proc.stderr.read().decode() if proc.stderr else ""
    _wait_for(lambda: not any(_alive(w) for w in workers), timeout_s=20)
    if how != "SIGKILL":
        assert json.loads((out / "run.json").read_text())["state"] == "interrupted"
        assert "RUN INTERRUPTED" in (out / "index.html").read_text()
        assert not (out / "summary.csv").exists()


# --------------------------------------------------------------------------- PDF and files


def test_pdf_without_weasyprint_is_refused_before_any_work(tmp_path: Path) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "p01", "STATUS=fail")
    script = (
        "import sys; sys.modules['weasyprint'] = None\n"  # as if the extra were not installed
        "from plancheck.cli import main\n"
        f"main(['batch', {str(root)!r}, '-o', {str(out)!r}, '--pdf'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "plancheck[pdf]" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "plans").exists()


def test_a_report_that_cannot_be_written_never_hides_a_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import plancheck.report.pdf as pdf

    def no_pdf(html: str) -> bytes:
        raise MissingDependencyError("A PDF report needs the Python package 'weasyprint'")

    monkeypatch.setattr(pdf, "check_pdf_available", lambda: None)
    monkeypatch.setattr(pdf, "render_pdf", no_pdf)
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "cord_fail", "STATUS=fail STATUS=pass")
    outcome = run_batch(settings(root, out, pdf=True), workers=1)  # in this process: the patch applies
    row = rows_by_plan(out)["cord_fail"]
    assert row["status"] == "fail" and row["fail"] == 1 and row["exit_code"] == 1
    assert "PDF" in row["report_error"] or "weasyprint" in row["report_error"]
    assert (out / row["report"]).is_file()
    assert outcome.exit_code == 3  # an output asked for is missing: not a clean run
    assert "weasyprint" in (out / "index.html").read_text()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    write_course(root / "p01", "STATUS=pass")
    old = os.umask(umask)
    try:
        run_batch(settings(root, out), workers=1, resume=True)
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) >= 6  # run.json, summaries, index, state, report, document
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: mode for p in files}
