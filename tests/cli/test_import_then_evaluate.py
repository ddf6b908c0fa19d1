"""An Eclipse-style CSV clinical template imports and evaluates a real (sample) plan end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from plancheck.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_pass"
HEADER = ["Structure ID", "Structure Code", "Aliases", "DVH Objective", "Evaluator", "Variation", "Priority"]
ROWS = [
    ["PTV_4000", "", "PTV_boost|PGTV", "V95%[%]", ">=95%", ">=90", "1"],
    ["SpinalCord", "", "Cord|SC", "D0.03cc[Gy]", "<=33.6", "<=35.8", "1"],
    ["Body", "", "External", "D0.03cc[Gy]", "<=44", "", "3"],
]


def test_csv_template_imports_and_evaluates(tmp_path):
    template = tmp_path / "spine_template.csv"
    with template.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    protocol = tmp_path / "spine_template.yaml"
    runner = CliRunner()
    imported = runner.invoke(main, ["protocol", "import", str(template), "-o", str(protocol), "--fractions", "10"])
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(main, ["protocol", "validate", str(protocol)]).exit_code == 0
    out = tmp_path / "eval.json"
    result = runner.invoke(main, ["evaluate", str(SAMPLE), "--protocol", str(protocol), "--format", "json", "-o", str(out)])
    doc = json.loads(out.read_text())
    statuses = {(c["structure"], c["metric"]): c["status"] for c in doc["constraints"]}
    # the sample plan was built to meet these: boost coverage, cord below 33.6 Gy in 10 fx
    assert statuses[("PTV_4000", "V95%[%]")] == "pass"
    assert statuses[("SpinalCord", "D0.03cc[Gy]")] == "pass"
    assert result.exit_code == doc["summary"]["exit_code"]
    assert next(c for c in doc["constraints"] if c["structure"] == "PTV_4000")["matched_roi"] == "PTV_boost"
