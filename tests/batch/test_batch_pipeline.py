"""Batch QA end to end with the real pipeline on the project's spine phantoms.

A folder mixing good plans, a failing plan, a plan whose RTDOSE is truncated
and a folder of non-DICOM files: every plan is reported as what it is, the
batch finishes, and its exit status is the most severe outcome. The sample
plan's report is opened in headless Chromium and a screenshot kept.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from plancheck.batch.run import run_batch
from plancheck.batch.task import BatchSettings
from tests.batch.test_run import snapshot

_NEEDED = ("plancheck.dicom.discover", "plancheck.dicom.course", "plancheck.phantoms.spine")
_missing = [m for m in _NEEDED if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"the evaluation pipeline is not complete yet (missing {', '.join(_missing)})"
)


def _write_root(root: Path) -> Path:
    from plancheck.phantoms.spine import write_spine

    write_spine("sib-pass", root / "good" / "sib_pass")
    write_spine("sib-pass", root / "good" / "sib_pass_again")
    write_spine("sib-cord-fail", root / "failing")
    write_spine("sib-pass", root / "corrupt")
    (dose,) = sorted((root / "corrupt").glob("RD*.dcm"))
    data = dose.read_bytes()
    dose.write_bytes(data[: len(data) // 2])  # a transfer cut in the middle of the pixel data
    (root / "documents").mkdir()
    (root / "documents" / "handover.txt").write_text("not a plan\n")
    (root / "documents" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    return root


@pytest.fixture(scope="module")
def batch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_root(tmp_path_factory.mktemp("batch") / "root")


def test_mixed_folder_with_the_real_pipeline(batch_root: Path, tmp_path: Path) -> None:
    before = snapshot(batch_root)
    out = tmp_path / "out"
    outcome = run_batch(BatchSettings(root=batch_root, output_dir=out), workers=2)
    assert snapshot(batch_root) == before
    rows = {r["plan"]: r for r in map(json.loads, (out / "summary.jsonl").read_text().splitlines())}
    assert set(rows) == {"good/sib_pass", "good/sib_pass_again", "failing", "corrupt", "documents"}
    for key in ("good/sib_pass", "good/sib_pass_again"):
        assert rows[key]["status"] in ("pass", "warn") and rows[key]["exit_code"] == 0, rows[key]
    assert rows["failing"]["status"] == "fail" and rows["failing"]["failed_constraints"], rows["failing"]
    assert rows["corrupt"]["exit_code"] == 3 and rows["corrupt"]["status"] in ("error", "not-evaluated")
    assert rows["documents"]["status"] == "skipped"
    assert outcome.exit_code == 3
    for key in ("good/sib_pass", "failing"):
        assert (out / rows[key]["report"]).is_file()


def test_without_the_corrupt_plan_the_batch_exits_with_the_failing_status(batch_root: Path, tmp_path: Path) -> None:
    good = tmp_path / "root"
    from plancheck.phantoms.spine import write_spine

    write_spine("sib-pass", good / "a")
    write_spine("sib-cord-fail", good / "b")
    outcome = run_batch(BatchSettings(root=good, output_dir=tmp_path / "out"), workers=1)
    assert outcome.exit_code == 1
    assert sorted(r["status"] for r in outcome.rows)[0] == "fail"


def test_sample_report_in_chromium(batch_root: Path, tmp_path: Path) -> None:
    from plancheck.pipeline import evaluate_plan
    from plancheck.report.html import render_html
    from tests.report.browser import artifacts_dir, load_page, screenshot

    doc = evaluate_plan(batch_root / "failing", None)
    page = tmp_path / "sample.html"
    page.write_text(render_html(doc), encoding="utf-8")
    run = load_page(page)
    assert run.console == []
    assert run.dom.count('<tr class="constraint ') == len(doc["constraints"]) > 0
    assert 'id="dvh-plot"' in run.dom
    screenshot(page, artifacts_dir() / "sample-report-sib-cord-fail.png", height=3000)
