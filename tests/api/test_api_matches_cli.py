"""The Python API and the command line give identical numbers.

Both run the same code (the API is a thin layer over it); these tests run the
``plancheck`` command (its click entry point, in process) and the API on the
same folders and compare the documents, every metric and the exit status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import plancheck
from plancheck.cli import main
from plancheck.dvh_report import DEFAULT_METRICS
from tests.validation.refdata import data_set

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p for p in (ROOT / "sample_plans").iterdir() if p.is_dir())
EXTRA = ["V20Gy[cc]", "D0.03cc[EQD2Gy(a/b=2)]", "V95%[%]", "D2cc[Gy]"]


def cli_json(*args: str) -> tuple[dict, int]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return json.loads(result.stdout), result.exit_code


def without_time(doc: dict) -> dict:
    doc = dict(doc)
    doc["provenance"] = {k: v for k, v in doc["provenance"].items() if k != "created"}
    return doc


def assert_same_dvh_numbers(folder: Path) -> None:
    source = str(folder)
    args = ["dvh", source, "--format", "json"]
    for m in EXTRA:
        args += ["-m", m]
    cli, code = cli_json(*args)
    assert code == 0
    table = plancheck.load(source).course.metrics([*DEFAULT_METRICS, *EXTRA])
    assert without_time(table.to_dict()) == without_time(cli)
    by_name = {s["name"]: s for s in cli["structures"]}
    for value in table.values:
        cli_value = by_name[value.structure]["metrics"][value.metric]
        if value.value is None:
            assert cli_value is None
            assert by_name[value.structure]["undefined"][value.metric] == value.reason
        else:
            assert round(value.value, 4) == cli_value  # JSON keeps 4 decimals


def test_dvh_metrics_are_identical_on_a_two_plan_course():
    # the two-plan course: a voxel-wise sum, and EQD2 with each plan's own fraction count
    assert_same_dvh_numbers(ROOT / "sample_plans" / "spine_sib_seq_course")


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_evaluation_document_and_exit_status_are_identical(folder):
    source = str(folder)
    cli, code = cli_json("evaluate", source, "--format", "json")
    result = plancheck.evaluate(source)
    assert without_time(result.to_dict()) == without_time(cli)
    assert result.exit_code == code
    assert result.verdict == cli["summary"]["outcome"]
    for c, row in zip(result.constraints, cli["constraints"], strict=True):
        assert (c.structure, c.metric, c.value, c.status) == (
            row["structure"],
            row["metric"],
            row["value"],
            row["status"],
        )


@pytest.mark.slow
def test_eclipse_plan_dvh_metrics_are_identical():
    assert_same_dvh_numbers(data_set("eclipse_breast_boost"))
