"""The notebook-style example runs from start to end, headless (matplotlib's Agg backend)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_example_runs(tmp_path):
    pytest.importorskip("pandas")
    png = tmp_path / "cord_dvh.png"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "notebook_example.py"), str(png)],
        cwd=tmp_path,  # not the repository root: the script finds the samples itself
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "D0.03cc[EQD2Gy(a/b=2)]" in out and "SpinalCord" in out  # the DataFrame
    verdicts = "PASS|WARN|FAIL|INCOMPLETE|NOT EVALUABLE"
    assert re.search(rf"^\w+: ({verdicts}) \(exit status \d\)$", out, re.MULTILINE)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
