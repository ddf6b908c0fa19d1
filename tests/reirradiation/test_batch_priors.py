"""Batch with a prior-course mapping: each mapped plan is evaluated with its prior course.

Expected outcomes are those of the single-course tests (``test_protocol_outcomes``):
the passing phantom passes HyTEC's limits with its prior, and is not
evaluable without it (the protocol's cumulative limits need one).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.errors import InputError
from plancheck.phantoms.reirradiation import write_reirradiation
from plancheck.reirradiation.batch_map import load_prior_map


def rows(out):
    return {r["plan"]: r for r in map(json.loads, (out / "summary.jsonl").read_text().splitlines())}


def test_batch_evaluates_mapped_plans_with_their_priors(tmp_path):
    root = tmp_path / "root"
    write_reirradiation("rotation", root / "patient")
    mapping = tmp_path / "priors.yaml"
    mapping.write_text("plans:\n  - plan: patient/current\n    priors: [patient/prior]\n")
    out = tmp_path / "out"
    args = ["batch", str(root), "--protocol", "spine_reirradiation_sbrt", "-o", str(out), "-j", "1"]
    result = CliRunner().invoke(main, [*args, "--priors", str(mapping)])
    by_plan = rows(out)
    current = next(r for k, r in by_plan.items() if k.startswith("patient/current"))
    assert current["status"] == "pass", current
    assert result.exit_code == 3  # the prior folder, evaluated alone, is not evaluable
    # the same batch without the mapping: the current course cannot be graded
    out2 = tmp_path / "out2"
    CliRunner().invoke(main, ["batch", str(root), "--protocol", "spine_reirradiation_sbrt", "-o", str(out2), "-j", "1"])
    alone = next(r for k, r in rows(out2).items() if k.startswith("patient/current"))
    assert alone["status"] != "pass" and alone["exit_code"] == 3


def test_mapping_names_missing_folders_and_unknown_keys(tmp_path):
    (tmp_path / "a").mkdir()
    bad = tmp_path / "m.yaml"
    bad.write_text("plans:\n  - plan: a\n    priors: [missing]\n")
    with pytest.raises(InputError, match="'missing' is not a folder"):
        load_prior_map(bad, tmp_path)
    bad.write_text("plans:\n  - plan: a\n    priors: [a]\n    recovery: 10\n")
    with pytest.raises(InputError, match="unknown key"):
        load_prior_map(bad, tmp_path)


def test_priors_exclude_resume(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("plans: []\n")
    result = CliRunner().invoke(
        main, ["batch", str(tmp_path), "--priors", str(mapping), "--resume", "-o", str(tmp_path.parent / "o")]
    )
    assert result.exit_code == 2 and "--resume" in result.output
