"""plancheck never writes into its input folders.

Every file of an input folder (a phantom set, and a copy of a sample plan) is
hashed, with its size, mode and modification time, and every folder's entry
list and modification time (a temporary file created and removed inside a
folder changes it), before and after ``evaluate``, ``dvh``, ``report`` and
``batch``. All outputs go to a separate folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plancheck.cli import main
from tests.robustness.corpus import good_set

SAMPLE_PLAN = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_pass"


def snapshot(root: Path) -> dict[str, Any]:
    """Content hash, size, mode and mtime of every file; entries and mtime of every folder."""
    state: dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        st = here.stat()
        state[f"dir:{here.relative_to(root)}"] = (
            sorted(dirs),
            sorted(files),
            st.st_mtime_ns,
            st.st_mode,
        )
        for name in files:
            p = here / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            state[f"file:{p.relative_to(root)}"] = (digest, st.st_size, st.st_mtime_ns, st.st_mode)
    return state


def _run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    """ROOT with two plan folders: a phantom set and a copy of a sample plan."""
    if not SAMPLE_PLAN.is_dir():
        pytest.skip(f"sample plan not found at {SAMPLE_PLAN}")
    root = tmp_path / "root"
    good_set(root / "phantom")
    shutil.copytree(SAMPLE_PLAN, root / "sample")
    return root


def test_commands_leave_inputs_unchanged(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(inputs)
    assert sum(k.startswith("file:") for k in before) >= 6

    phantom, sample = inputs / "phantom", inputs / "sample"
    evaluation = out / "evaluation.json"
    # exit codes are not the subject here; the sample plan is a complete, passing plan
    assert _run("evaluate", str(sample), "-o", str(evaluation), "--format", "json").exit_code in (
        0,
        1,
    )
    assert evaluation.is_file()
    _run("evaluate", str(sample))
    # the phantom fits no protocol by itself: name one, so the evaluation runs to the end
    protocol = ("--protocol", "spine_conventional_30Gy10")
    phantom_json = out / "phantom-evaluation.json"
    _run("evaluate", str(phantom), *protocol, "--format", "json", "-o", str(phantom_json))
    assert phantom_json.is_file()
    _run("evaluate", str(phantom), *protocol)
    assert _run("dvh", str(phantom), "--format", "json").exit_code == 0
    assert _run("dvh", str(sample), "--format", "csv", "-o", str(out / "dvh.csv")).exit_code == 0

    evaluation_state = snapshot(out)["file:evaluation.json"]
    assert _run("report", str(evaluation), "-o", str(out / "report.html")).exit_code == 0
    assert (
        _run(
            "report", str(evaluation), "--format", "json", "-o", str(out / "report.json")
        ).exit_code
        == 0
    )
    assert snapshot(out)["file:evaluation.json"] == evaluation_state  # the report's input too

    batch_out = tmp_path / "batch-out"
    result = _run("batch", str(inputs), "--output", str(batch_out), "--jobs", "1")
    assert result.exit_code in (0, 1, 2, 3), result.output
    assert (batch_out / "summary.csv").is_file()

    after = snapshot(inputs)
    assert sorted(after) == sorted(before), (
        "files or folders were added to or removed from the input"
    )
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, f"changed in the input folder: {changed}"
