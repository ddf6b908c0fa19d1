"""Gy(RBE) wherever a dose is shown, on a real RBE-weighted export (RayStation 14 proton plan).

``raystation_proton_box`` (``../shared/data``): its RTDOSEs have DoseType EFFECTIVE
(MANIFEST.md, read from the headers), so every dose plancheck shows for it is in Gy(RBE):
JSON units and reasons, CSV, the terminal table, the HTML tables and the DVH axis.
The protocol here is written for the test: two limits on the 100 mm cube (2.21 Gy(RBE)
maximum per the MANIFEST's nearest-voxel check, so both pass).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.report.html import render_html
from tests.validation.refdata import data_set

PROTOCOL = """\
schema_version: 1
name: proton_box_test
title: Proton box, 2 Gy(RBE) in 1 fraction
description: A protocol for the RayStation proton phantom, for tests.
body: External
references:
  DCPT: APTG 2022_DCPT_LET, RayStation 14 proton plan on a water phantom (CC BY 4.0).
dose_levels:
  - {id: cube, target: Cube, dose_gy: 2, fractions: 1, plans: [1], source: DCPT}
structures:
  - {name: Cube, aliases: [Cube101010]}
  - {name: External}
constraints:
  - {structure: Cube, metric: "Max[Gy]", goal: "<= 2.5", source: DCPT}
  - {structure: Cube, metric: "D95%[Gy]", goal: ">= 1.6", source: DCPT}
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = data_set("raystation_proton_box")
    tmp = tmp_path_factory.mktemp("rbe")
    protocol = tmp / "box.yaml"
    protocol.write_text(PROTOCOL)
    out = {}
    for fmt in ("json", "csv", "table"):
        path = tmp / f"box.{fmt}"
        result = CliRunner().invoke(main, ["evaluate", str(folder), "--protocol", str(protocol), "--format", fmt, "-o", str(path)])
        assert result.exit_code in (0, 3), result.output  # the plan and the doses name different PatientIDs
        out[fmt] = path.read_text(encoding="utf-8")
    return out


def test_json_document_says_gy_rbe(outputs: dict[str, str]) -> None:
    doc = json.loads(outputs["json"])
    assert doc["course"]["dose_unit"] == "Gy(RBE)"
    assert doc["course"]["plans"][0]["dose_type"] == "EFFECTIVE"
    assert {f["dose_type"] for f in doc["provenance"]["input_files"] if f["modality"] == "RTDOSE"} == {"EFFECTIVE"}
    for c in doc["constraints"]:
        assert c["unit"] == "Gy(RBE)", c
        if c["value"] is not None:
            assert "Gy(RBE)" in c["reason"] and not re.search(r"\d Gy(?!\()", c["reason"]), c["reason"]
    system = doc["course"]["plans"][0]["planning_system"]
    assert system["manufacturer"] == "RaySearch Laboratories" and system["model"] == "RayStation"


def test_csv_and_table_say_gy_rbe(outputs: dict[str, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert rows and {r["unit"] for r in rows} == {"Gy(RBE)"}
    table = outputs["table"]
    values = re.findall(r"\d+\.\d+ (Gy\S*)", table)
    assert values and set(values) == {"Gy(RBE)"}


def test_html_shows_gy_rbe_in_tables_and_on_the_dvh_axis(outputs: dict[str, str]) -> None:
    doc = json.loads(outputs["json"])
    html = render_html(doc)
    assert "Prescription [Gy(RBE)]" in html and "Dose [Gy(RBE)]" in html and "EFFECTIVE (Gy(RBE))" in html
    data = json.loads(re.search(r'id="dvh-data">(.*?)</script>', html, flags=re.S).group(1))  # type: ignore[union-attr]
    assert [p["axis"] for p in data["panels"]] == ["Physical dose [Gy(RBE)]"]
    assert "Prescription [Gy]" not in html


def test_reports_of_physical_doses_say_gy(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_pass"
    result = CliRunner().invoke(main, ["evaluate", str(sample), "--format", "json", "-o", str(tmp_path / "d.json")])
    doc = json.loads((tmp_path / "d.json").read_text())
    assert result.exit_code == 0 and doc["course"]["dose_unit"] == "Gy"
    assert not any("RBE" in (c["unit"] or "") for c in doc["constraints"])


def test_dvh_command_says_gy_rbe(tmp_path: Path) -> None:
    # plancheck dvh on the same EFFECTIVE doses: JSON units and the table's columns in Gy(RBE)
    folder = data_set("raystation_proton_box")
    out = tmp_path / "dvh.json"
    result = CliRunner().invoke(main, ["dvh", str(folder), "--format", "json", "-o", str(out)])
    assert result.exit_code in (0, 3), result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    units = {u for s in doc["structures"] for u in s["units"].values()}
    assert "Gy(RBE)" in units and "Gy" not in units, units
    table = tmp_path / "dvh.txt"
    CliRunner().invoke(main, ["dvh", str(folder), "--format", "table", "-o", str(table)])
    text = table.read_text(encoding="utf-8")
    assert "Gy(RBE) (EFFECTIVE dose)" in text and "[Gy(RBE)]" in text and "[Gy]" not in text
