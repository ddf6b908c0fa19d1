"""``plancheck evaluate`` cross-checks Eclipse's stored DVHs at its default settings.

With ``--end-caps auto`` (the default) the evaluation takes the convention of
the system that wrote the structure set, and the cross-check always that of
the system that stored the DVHs (``plancheck/dvh/end_caps.py``): for both
Eclipse plans of the shared data that is no caps.

* ``eclipse_breast_boost``: every row of the cross-check of the ROIs assessed
  in docs/validation.md (5 cc or more, inside the dose grid) is within the
  cross-check's tolerances (``plancheck/dvh/crosscheck.py``), also when the
  user asks for half caps (the cross-check keeps Eclipse's convention).
* ``real_exports/eclipse_brachy_cylinder_ex1``: the BODY volume within 1 % and
  its mean within 2 % of the DVH Eclipse stored, read here with pydicom (the
  first cumulative volume of DVHData, and DVHMeanDose, both in Gy/cm³ as the
  DVH says).

A protocol that only reports mean doses (written here) makes the evaluation
compute the ROIs' DVHs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from tests.validation.refdata import data_set

pytestmark = pytest.mark.slow

ASSESSED = ("Breast", "Heart", "Lt Lung", "Tumor Bed", "Tumor Bed Block")


def _protocol(path: Path, level: tuple[str, float, int], rois: tuple[str, ...]) -> Path:
    target, dose, fractions = level
    lines = [
        "name: crosscheck_report",
        "description: report mean doses so that the cross-check has DVHs",
        "dose_levels:",
        f"  - {{id: rx, target: {target}, dose_gy: {dose}, fractions: {fractions}}}",
        "structures:",
        *[f"  - name: {r}" for r in rois],
        "constraints:",
        *[
            f'  - {{structure: {r}, metric: "Mean[Gy]", report_only: true, source: test}}'
            for r in rois
        ],
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _evaluate(folder: Path, protocol: Path, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    args = [
        "evaluate",
        str(folder),
        "--protocol",
        str(protocol),
        "--format",
        "json",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("extra", [(), ("--end-caps", "half")], ids=["default", "half-asked"])
def test_eclipse_cross_check_agrees_at_default_settings(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    folder = data_set("eclipse_breast_boost")
    protocol = _protocol(tmp_path / "p.yaml", ("Tumor Bed", 14.0, 7), ASSESSED)
    doc = _evaluate(folder, protocol, tmp_path / "out.json", *extra)
    settings = doc["provenance"]["settings"]
    assert settings["end_caps"] == ("none" if not extra else "half")
    assert settings["crosscheck_end_caps"] == "none"
    assert "Varian Eclipse" in settings["crosscheck_end_caps_reason"]
    rows = [r for r in doc["crosschecks"] if r["roi"] in ASSESSED]
    assert {r["roi"] for r in rows} == set(ASSESSED)
    beyond = [
        (r["roi"], r["metric"], r["plancheck"], r["planning_system"])
        for r in rows
        if r["within"] != "yes"
    ]
    assert not beyond
    assert any(f["code"] == "end-caps" for f in doc["findings"])


def test_eclipse_brachy_body_volume_and_mean(tmp_path: Path) -> None:
    folder = data_set("real_exports/eclipse_brachy_cylinder_ex1")
    dose_file = next(folder.glob("RD*.dcm"))
    stored = pydicom.dcmread(dose_file).DVHSequence[0]
    assert stored.DoseUnits == "GY" and stored.DVHVolumeUnits == "CM3"
    tps_volume_cc = float(stored.DVHData[1])
    tps_mean_gy = float(stored.DVHMeanDose)
    protocol = _protocol(tmp_path / "p.yaml", ("BODY", 5.5, 1), ("BODY",))
    doc = _evaluate(folder, protocol, tmp_path / "out.json")
    body = {r["metric"]: r["plancheck"] for r in doc["crosschecks"] if r["roi"] == "BODY"}
    assert body["Volume[cc]"] == pytest.approx(tps_volume_cc, rel=0.01)
    assert body["Mean[Gy]"] == pytest.approx(tps_mean_gy, rel=0.02)
    assert doc["provenance"]["settings"]["end_caps"] == "none"
