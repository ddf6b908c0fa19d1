"""Each command imports only what it needs (start-up time; timings are in benchmarks/).

Run in fresh interpreters: the modules present in ``sys.modules`` when the
command exits. ``benchmarks/bench_startup.py`` measures the times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_plans" / "spine_sib_pass"

# top-level packages a command may need only for some outputs
HEAVY = {"numpy", "pydicom", "matplotlib", "jinja2", "pydantic", "rich", "yaml", "shapely",
         "skimage", "scipy", "pandas", "weasyprint", "PIL", "dask", "distributed"}

_RUN = """
import atexit, json, sys
def _dump():
    with open({out!r}, "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(_dump)
sys.argv = ["plancheck", *{args!r}]
from plancheck.cli import main
main()
"""


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    code = _RUN.format(out=str(out), args=list(args))
    subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=300)
    return set(json.loads(out.read_text()))


def tops(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_heavy_package(tmp_path, option):
    modules = imported_by(tmp_path, option)
    assert not tops(modules) & HEAVY, sorted(tops(modules) & HEAVY)


def test_version_imports_no_command_module(tmp_path):
    modules = imported_by(tmp_path, "--version")
    ours = {m for m in modules if m.startswith("plancheck")}
    assert ours <= {"plancheck", "plancheck.cli", "plancheck.cli.common", "plancheck.errors"}, ours


def test_dvh_json_imports_no_rendering_or_protocol_package(tmp_path):
    modules = imported_by(tmp_path, "dvh", str(SAMPLE), "--format", "json")
    assert {"numpy", "pydicom"} <= tops(modules)  # it did run
    unwanted = {"matplotlib", "jinja2", "pydantic", "rich", "yaml", "pandas", "weasyprint", "dask"}
    assert not tops(modules) & unwanted, sorted(tops(modules) & unwanted)
    assert not {m for m in modules if m.startswith(("plancheck.protocol", "plancheck.report.html"))}


def test_evaluate_json_imports_no_rendering_package(tmp_path):
    modules = imported_by(tmp_path, "evaluate", str(SAMPLE), "--format", "json")
    assert {"numpy", "pydicom", "yaml"} <= tops(modules)  # it did run
    unwanted = {"matplotlib", "jinja2", "rich", "pandas", "weasyprint", "dask"}
    assert not tops(modules) & unwanted, sorted(tops(modules) & unwanted)


def test_import_plancheck_imports_nothing_else(tmp_path):
    code = "import sys, plancheck; print(sorted(m for m in sys.modules if m.startswith('plancheck')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['plancheck']"
    code = f"import sys, plancheck; print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
