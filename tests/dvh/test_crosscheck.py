"""Cross-check against a TPS DVH: identical curves agree, a shifted one is flagged."""

import numpy as np
import pytest

from plancheck.dvh.crosscheck import compare_with_tps, tps_dose_at_volume_gy
from plancheck.model import Dvh, TpsDvh

W = 0.001
EDGES = np.arange(0, 30.0 / W) * W
CURVE = np.clip(10.0 * (20.0 - EDGES) / 10.0, 0.0, 10.0)  # 10 cc uniform in 10..20 Gy
OURS = Dvh(W, CURVE, 10.0, 0.0, 10.0, 15.0, 20.0)


def tps(shift_gy=0.0, volume_scale=1.0):
    d = np.arange(0, 30.0, 0.01)
    v = np.clip(10.0 * volume_scale * (20.0 + shift_gy - d) / 10.0, 0.0, 10.0 * volume_scale)
    return TpsDvh(1, d, v, 10.0 + shift_gy, 20.0 + shift_gy, 15.0 + shift_gy, "Gy")


def test_tps_interpolation():
    assert tps_dose_at_volume_gy(tps(), 5.0) == pytest.approx(15.0, abs=1e-6)
    assert tps_dose_at_volume_gy(tps(), 11.0) is None


def test_identical_curves_agree():
    rows = compare_with_tps(OURS, tps())
    assert all(r.within for r in rows), rows


def test_shifted_curve_is_flagged():
    rows = {r.metric: r for r in compare_with_tps(OURS, tps(shift_gy=1.0, volume_scale=1.05))}
    assert rows["Mean[Gy]"].within is False
    assert rows["Volume[cc]"].within is False
    assert rows["D50%[Gy]"].difference == pytest.approx(-1.0, abs=0.3)


def test_consistent_scale_is_named_only_when_it_explains_the_doses():
    from plancheck.dvh.crosscheck import CrossCheckRow, consistent_scale

    def rows(pairs):
        return tuple(
            CrossCheckRow(m, p, t, p - t, 0.02 * t, abs(p - t) <= 0.02 * t)
            for m, (p, t) in zip(("Mean[Gy]", "D50%[Gy]", "D2%[Gy]"), pairs, strict=False)
        )

    # every dose 0.85 x the planning system's, over two structures
    scaled = {"A": rows([(8.5, 10.0), (17.0, 20.0)]), "B": rows([(25.5, 30.0), (34.0, 40.0)])}
    estimate = consistent_scale(scaled)
    assert estimate is not None and estimate.factor == pytest.approx(0.85)
    assert "0.85 × the planning system's" in estimate.describe()
    # disagreements without a common factor, or within tolerance, are not a scale
    mixed = {"A": rows([(8.5, 10.0), (22.0, 20.0)]), "B": rows([(30.0, 30.0), (30.0, 40.0)])}
    assert consistent_scale(mixed) is None
    close = {"A": rows([(9.9, 10.0), (19.8, 20.0)]), "B": rows([(29.7, 30.0)])}
    assert consistent_scale(close) is None
    one_structure = {"A": rows([(8.5, 10.0), (17.0, 20.0), (25.5, 30.0)])}
    assert consistent_scale(one_structure) is None
