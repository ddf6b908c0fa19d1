"""The dicompyler-core bridge: curve conversion, and a clear exit 2 when it is not installed."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.dicom.dicompyler_bridge import dvh_from_cumulative
from plancheck.dvh.metric import parse_metric
from plancheck.dvh.values import metric_value

SAMPLE = Path(__file__).resolve().parents[2] / "sample_plans" / "spine_sib_pass"


def test_cumulative_curve_at_0_01_gy_edges_becomes_a_dvh():
    # 10 cc uniform between 10 and 20 Gy, as dicompyler-core stores it: cc at 0.01 Gy lower edges
    edges = np.arange(0, 20.0, 0.01)
    cum = np.clip(10.0 * (20.0 - edges) / 10.0, 0.0, 10.0)
    dvh = dvh_from_cumulative(edges, cum, 10.0, 15.0, 20.0)
    assert metric_value(parse_metric("D50%[Gy]"), dvh) == pytest.approx(15.0, abs=2e-3)
    assert metric_value(parse_metric("V12.5Gy[cc]"), dvh) == pytest.approx(7.5, abs=1e-3)
    assert dvh.volume_cc == pytest.approx(10.0)


@pytest.mark.skipif(importlib.util.find_spec("dicompylercore") is not None, reason="dicompyler-core is installed")
def test_engine_dicompyler_without_the_package_is_a_usage_error():
    result = CliRunner().invoke(main, ["dvh", str(SAMPLE), "--engine", "dicompyler"])
    assert result.exit_code == 2
    assert "plancheck[dicompyler]" in result.output
