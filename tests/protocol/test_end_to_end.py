"""A protocol evaluated through the real DVH engine on in-memory shapes with known volumes.

Dose is uniform (40 Gy everywhere), so every dose metric is 40 Gy and every
volume metric is a volume of the shapes: the PTV a cylinder of radius 15 mm,
the boost a coaxial one of radius 6 mm, both 22 mm tall (11 planes 2 mm
apart with half-slice end caps), inside a 30 mm body cylinder. The derived
"PTV - boost" is then a ring of pi (15² - 6²) · 22 mm³.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plancheck.dvh.engine import compute_dvh
from plancheck.dvh.values import metric_value
from plancheck.protocol.derive import build_structure
from plancheck.protocol.evaluate import MetricRequest, evaluate_protocol
from plancheck.protocol.load import parse_protocol
from plancheck.protocol.outcome import Status
from tests.dvh.shapes import circle, linear_grid, prism

PROTOCOL = """\
name: e2e
description: uniform dose
body: Body
dose_levels:
  - {id: boost, target: PTV_boost, dose_gy: 40, fractions: 10}
structures:
  - {name: PTV}
  - {name: PTV_boost, aliases: [PGTV]}
  - {name: Body, aliases: [External]}
  - {name: Ring, derived: PTV - PTV_boost}
constraints:
  - {structure: PTV_boost, metric: "V95%[%]", dose_level: boost, goal: ">= 95", source: t}
  - {structure: Ring, metric: "Volume[cc]", report_only: true, source: t}
  - {structure: Ring, metric: "D50%[Gy]", goal: "<= 40", source: t}
indices:
  - {index: ci_paddick, dose_level: boost, report_only: true, source: t}
  - {index: ci_rtog, dose_level: boost, report_only: true, source: t}
"""

Z = np.arange(-10, 10.1, 2.0)
ROIS = {
    "PTV": prism([circle(0, 0, 15.0)], Z, "PTV", 1),
    "PGTV": prism([circle(0, 0, 6.0)], Z, "PGTV", 2),
    "External": prism([circle(0, 0, 30.0)], Z, "External", 3),
}
GRID = linear_grid(2.0, (0.0, 0.0, 0.0), offset_gy=40.0, half_width_mm=40)
HEIGHT_MM = 22.0  # 11 planes 2 mm apart with half-slice end caps


def metric_source(request: MetricRequest) -> float:
    structure = build_structure(request.structure, ROIS)
    return metric_value(request.metric, compute_dvh(structure, GRID), request.prescription_gy)


def test_protocol_on_the_engine():
    result = evaluate_protocol(parse_protocol(PROTOCOL, "e2e.yaml"), list(ROIS), metric_source)
    v95, ring_volume, ring_d50, paddick, rtog = result.outcomes
    assert v95.status is Status.PASS and v95.value == pytest.approx(100.0)
    assert v95.roi == "PGTV"
    assert ring_volume.roi == "PTV - PGTV"
    assert ring_volume.value == pytest.approx(math.pi * (15**2 - 6**2) * HEIGHT_MM / 1000, rel=3e-3)
    assert ring_d50.value == pytest.approx(40.0, abs=1e-3) and ring_d50.status is Status.PASS
    boost_cc = math.pi * 6**2 * HEIGHT_MM / 1000
    body_cc = math.pi * 30**2 * HEIGHT_MM / 1000
    # everything receives 40 Gy: TV_PIV = TV = boost, PIV = body
    assert paddick.value == pytest.approx(boost_cc / body_cc, rel=5e-3)
    assert rtog.value == pytest.approx(body_cc / boost_cc, rel=5e-3)
