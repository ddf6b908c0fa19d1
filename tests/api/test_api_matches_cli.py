"""The Python API and the command line give identical documents and numbers.

Both run the same steps (:mod:`plancheck.pipeline`) with the same defaults;
these tests run the ``plancheck`` command (its click entry point, in process)
and the API on the same folders and compare the whole documents, every
metric, the verdict and the exit status. The only field left out of a
comparison is ``provenance.created``: the time each document was made, which
differs between any two runs (even of the command line alone). Paths are the
same on both sides (the API names a folder as the command line does), so they
are compared as they are.
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


def cli_run(*args: str) -> tuple[str, str, int]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.stdout, result.stderr, result.exit_code


def cli_json(*args: str) -> tuple[dict, int]:
    out, err, code = cli_run(*args)
    assert out, f"plancheck {' '.join(args)} wrote nothing (exit {code}): {err}"
    return json.loads(out), code


def without_time(doc: dict) -> dict:
    """``doc`` without ``provenance.created``, the moment it was made (differs on every run)."""
    doc = dict(doc)
    doc["provenance"] = {k: v for k, v in doc["provenance"].items() if k != "created"}
    return doc


def metric_args(folder: Path) -> list[str]:
    args = ["dvh", str(folder), "--format", "json"]
    for m in EXTRA:
        args += ["-m", m]
    return args


def assert_same_metrics(table: plancheck.MetricTable, cli: dict) -> None:
    assert without_time(table.to_dict()) == without_time(cli)
    by_name = {s["name"]: s for s in cli["structures"]}
    for value in table.values:
        cli_value = by_name[value.structure]["metrics"][value.metric]
        if value.value is None:
            assert cli_value is None
            assert by_name[value.structure]["undefined"][value.metric] == value.reason
        else:
            assert round(value.value, 4) == cli_value  # JSON keeps 4 decimals


def assert_same_evaluation(result: plancheck.Evaluation, cli: dict, code: int) -> None:
    assert without_time(result.to_dict()) == without_time(cli)
    assert result.exit_code == code == cli["summary"]["exit_code"]
    assert result.verdict == cli["summary"]["verdict"]["label"]
    assert result.verdict_line == cli["summary"]["verdict"]["line"]
    for c, row in zip(result.constraints, cli["constraints"], strict=True):
        assert (c.structure, c.metric, c.value, c.status) == (
            row["structure"],
            row["metric"],
            row["value"],
            row["status"],
        )


def test_dvh_metrics_are_identical_on_a_two_plan_course():
    # the two-plan course: a voxel-wise sum, and EQD2 with each plan's own fraction count;
    # the end-cap convention (auto) and its reason are in the settings compared
    folder = ROOT / "sample_plans" / "spine_sib_seq_course"
    cli, code = cli_json(*metric_args(folder))
    assert code == 0 and cli["settings"]["end_caps_requested"] == "auto"
    assert_same_metrics(plancheck.load(folder).course.metrics([*DEFAULT_METRICS, *EXTRA]), cli)


def test_dvh_metrics_of_a_folder_of_several_courses_are_identical():
    # two courses of one patient (prior and current): the command line gives one report each
    folder = ROOT / "sample_plans" / "spine_reirradiation"
    cli, code = cli_json(*metric_args(folder))
    assert code == 0 and cli["kind"] == "plancheck-dvh-reports"
    loaded = plancheck.load(folder)
    assert len(loaded) == len(cli["reports"]) == 2
    for course, report in zip(loaded, cli["reports"], strict=True):
        assert_same_metrics(course.metrics([*DEFAULT_METRICS, *EXTRA]), report)


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_evaluation_document_and_exit_status_are_identical(folder):
    out, err, code = cli_run("evaluate", str(folder), "--format", "json")
    labels: list[str | None] = [None]
    if code == 3 and not out:
        # a folder of several courses: refused by both, with the same message
        with pytest.raises(plancheck.CourseError) as refused:
            plancheck.evaluate(folder)
        assert f"plancheck: error: {refused.value}" == err.strip()
        with pytest.raises(plancheck.CourseError) as refused_again:
            plancheck.load(folder).course  # noqa: B018
        assert str(refused_again.value) == str(refused.value)
        labels = [p.label for course in plancheck.load(folder) for p in course.plans]
    for label in labels:
        chosen = [] if label is None else ["--plan", label]
        cli, code = cli_json("evaluate", str(folder), "--format", "json", *chosen)
        # the folder evaluated by the API, and the course loaded first, then evaluated
        assert_same_evaluation(plancheck.evaluate(folder, plan=label), cli, code)
        loaded = plancheck.load(folder, plans=[label] if label else ()).course
        single = label if label is not None and len(loaded.plans) == 1 else None
        assert_same_evaluation(plancheck.evaluate(loaded, plan=single), cli, code)


def test_options_reach_the_same_steps():
    # --end-caps none, --accept-mismatch and --plan on the two-plan course, both ways
    folder = ROOT / "sample_plans" / "spine_sib_seq_course"
    args = ["--end-caps", "none", "--accept-mismatch", "--protocol", "spine_sib_30Gy10_40Gy10"]
    cli, code = cli_json("evaluate", str(folder), "--format", "json", "--plan", "SIB_30_40", *args)
    assert cli["provenance"]["settings"]["end_caps"] == "none"
    result = plancheck.evaluate(
        folder,
        "spine_sib_30Gy10_40Gy10",
        plans=["SIB_30_40"],
        end_caps="none",
        accept_mismatch=True,
    )
    assert_same_evaluation(result, cli, code)
    course = plancheck.load(folder, plans=["SIB_30_40"], end_caps="none").course
    again = plancheck.evaluate(
        course, "spine_sib_30Gy10_40Gy10", plan="SIB_30_40", accept_mismatch=True
    )
    assert_same_evaluation(again, cli, code)


@pytest.mark.slow
def test_eclipse_plan_dvh_metrics_are_identical():
    # Eclipse: 'auto' end caps are none (its stored DVHs match no caps), half by default elsewhere
    folder = data_set("eclipse_breast_boost")
    cli, code = cli_json(*metric_args(folder))
    assert code == 0 and cli["settings"]["end_caps"] == "none"
    assert_same_metrics(plancheck.load(folder).course.metrics([*DEFAULT_METRICS, *EXTRA]), cli)
