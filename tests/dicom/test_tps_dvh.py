"""The planning system's stored DVHs (RTDOSE DVHSequence): curves in Gy and cc, units checked.

Synthetic items are written with :func:`tests.dicom.builders.dvh_item`; the
expected curves follow from the DICOM definition (pairs of bin width and
volume; a cumulative volume belongs to the bin's lower edge). The real check
is the Eclipse plan of ``../shared/data``, whose stored DVHs were exported to
CSV with the data set (``reference_dvh_from_rtdose_DVHSequence/``).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.tps_dvh import PERCENT, tps_dvhs_from_dataset
from plancheck.model import TpsDvh
from tests.dicom import builders as b
from tests.validation.refdata import data_set


def _read(*items, grid_max_gy=5.0, prescription_gy=None, roi_volumes_cc=None):  # type: ignore[no-untyped-def]
    ds = b.rtdose(b.DoseSpec(stored_gy=np.ones((1, 2, 2)), offsets=[0.0]))
    ds.DVHSequence = DicomSequence(list(items))
    dvhs, findings = tps_dvhs_from_dataset(
        ds,
        path=None,
        grid_max_gy=grid_max_gy,
        prescription_gy=prescription_gy,
        roi_volumes_cc=roi_volumes_cc,
    )
    return {d.roi_number: d for d in dvhs}, {f.code for f in findings}


def _curve(d: TpsDvh) -> list[tuple[float, float]]:
    return [
        (round(float(x), 9), round(float(v), 9))
        for x, v in zip(d.dose_gy, d.cumulative_cc, strict=True)
    ]


def test_cumulative_gy_curve_as_stored_and_closed_at_the_last_edge() -> None:
    dvhs, codes = _read(b.dvh_item(1, [1.0] * 5, [10, 8, 6, 2, 1], stats=(0.5, 4.6, 2.1)))
    d = dvhs[1]
    assert _curve(d) == [(0, 10), (1, 8), (2, 6), (3, 2), (4, 1), (5, 0)]
    assert (d.min_gy, d.max_gy, d.mean_gy, d.dose_axis) == (0.5, 4.6, 2.1, "Gy")
    assert not codes


def test_differential_histogram_becomes_cumulative() -> None:
    dvhs, codes = _read(b.dvh_item(2, [1.0] * 5, [2, 2, 4, 1, 1], dvh_type="DIFFERENTIAL"))
    assert _curve(dvhs[2]) == [(0, 10), (1, 8), (2, 6), (3, 2), (4, 1), (5, 0)]
    assert "tps-dvh-differential" in codes


def test_cgy_and_dose_scaling() -> None:
    dvhs, _ = _read(
        b.dvh_item(3, [50.0] * 3, [4, 2, 0], units="CGY", scaling=2.0, stats=(10.0, 250.0, 120.0))
    )
    d = dvhs[3]
    assert _curve(d) == [(0, 4), (1, 2), (2, 0)]
    assert (d.min_gy, d.max_gy, d.mean_gy) == pytest.approx((0.1, 2.5, 1.2))


def test_percent_volumes_need_the_roi_volume() -> None:
    item = b.dvh_item(4, [1.0] * 3, [100, 50, 0], volume_units="PERCENT")
    dvhs, codes = _read(item, roi_volumes_cc={4: 20.0})
    assert _curve(dvhs[4]) == [(0, 20), (1, 10), (2, 0)]
    dvhs, codes = _read(item)
    assert 4 not in dvhs and "tps-dvh-percent-volume" in codes


def test_curve_in_percent_of_the_prescription_is_converted() -> None:
    # 11 bins of 10 % up to 110 % of 20 Gy; the dose grid's maximum is 21 Gy (105 %);
    # the curve's mean is (10 x 50 + 1) x 10 % / 50 = 100.2 %
    item = b.dvh_item(5, [10.0] * 11, [50] * 10 + [1], stats=(1.0, 105.0, 100.2))
    dvhs, codes = _read(item, grid_max_gy=21.0, prescription_gy=20.0)
    d = dvhs[5]
    assert d.dose_axis == PERCENT
    assert float(d.dose_gy[-1]) == pytest.approx(22.0)
    assert d.max_gy == pytest.approx(21.0)
    assert "tps-dvh-percent-of-prescription" in codes


def test_percent_curve_without_a_prescription_is_not_used() -> None:
    item = b.dvh_item(5, [10.0] * 11, [50] * 10 + [1])
    dvhs, codes = _read(item, grid_max_gy=21.0)
    assert dvhs == {} and "tps-dvh-dose-unit-unknown" in codes


def _eclipse_like() -> list:  # type: ignore[type-arg]
    """Curves in Gy (0.5 Gy bins up to 21 Gy), statistics in percent of 20 Gy (Eclipse).

    The stated means are the curves' means (sum of volume x bin width over the
    total volume: 12.39 Gy and 19.25 Gy) in percent of 20 Gy.
    """
    body = b.dvh_item(1, [0.5] * 42, [100.0 - 2 * k for k in range(42)], stats=(1.0, 104.9, 61.95))
    target = b.dvh_item(2, [0.5] * 40, [10.0] * 38 + [5.0, 0.0], stats=(95.0, 96.5, 96.25))
    return [body, target]


def test_statistics_in_percent_are_converted_with_the_prescription() -> None:
    dvhs, codes = _read(*_eclipse_like(), grid_max_gy=20.98, prescription_gy=20.0)
    assert dvhs[1].max_gy == pytest.approx(20.98)
    assert dvhs[2].mean_gy == pytest.approx(19.25)
    assert dvhs[1].dose_axis == PERCENT
    assert float(dvhs[1].dose_gy[-1]) == pytest.approx(21.0)  # the curve was Gy already
    assert "tps-dvh-percent-of-prescription" in codes


def test_statistics_in_percent_without_prescription_use_the_grid_maximum() -> None:
    # 104.9 % = 20.98 Gy (the grid maximum) implies a prescription of 20 Gy
    dvhs, codes = _read(*_eclipse_like(), grid_max_gy=20.98)
    assert dvhs[2].mean_gy == pytest.approx(19.25, rel=1e-9)
    assert "tps-dvh-percent-of-prescription" in codes


def test_statistics_in_no_known_unit_are_left_out() -> None:
    item = b.dvh_item(1, [1.0] * 5, [10, 8, 6, 2, 1], stats=(3.0, 57.0, 9.0))
    dvhs, codes = _read(item, grid_max_gy=5.0)
    assert (dvhs[1].min_gy, dvhs[1].max_gy, dvhs[1].mean_gy) == (None, None, None)
    assert dvhs[1].dose_axis == "Gy"  # the curve itself is Gy and was not converted
    assert "tps-dvh-statistics-unit-unknown" in codes


def test_malformed_items_are_skipped() -> None:
    negative = b.dvh_item(1, [1.0] * 3, [5, -2, 0])
    natural = b.dvh_item(2, [1.0] * 3, [5, 2, 0], dvh_type="NATURAL")
    good = b.dvh_item(3, [1.0] * 3, [5, 2, -1e-13])  # noise below zero is zero
    dvhs, codes = _read(negative, natural, good)
    assert set(dvhs) == {3}
    assert {"tps-dvh-malformed", "tps-dvh-unsupported"} <= codes
    assert float(dvhs[3].cumulative_cc.min()) == 0.0


# --------------------------------------------------------------------------- Eclipse


@pytest.mark.slow
def test_eclipse_dvhs_match_the_exported_reference() -> None:
    """Curves equal the CSV export; min/max/mean equal its percent-of-14-Gy conversions (5 digits)."""
    from plancheck.dicom.rtdose import read_rtdose

    root = data_set("eclipse_breast_boost")
    ref = root / "reference_dvh_from_rtdose_DVHSequence"
    rtdose = read_rtdose(root / "rtdose.dcm", prescription_gy=14.0)
    ours = {d.roi_number: d for d in rtdose.tps_dvhs}
    with (ref / "dvh_summary.csv").open(newline="") as fh:
        summary = {int(r["roi_number"]): r for r in csv.DictReader(fh)}
    assert set(ours) == set(summary)
    for roi, row in summary.items():
        table = np.loadtxt(
            next(ref.glob(f"dvh_roi{roi:02d}_*.csv")), delimiter=",", skiprows=1, ndmin=2
        )
        d = ours[roi]
        n = len(table)
        np.testing.assert_allclose(d.dose_gy[:n], table[:, 0], atol=1e-9)
        np.testing.assert_allclose(
            d.cumulative_cc[:n], np.clip(table[:, 1], 0, None), rtol=1e-5, atol=1e-9
        )
        assert d.dose_axis == PERCENT
        for ours_gy, column in ((d.min_gy, "min"), (d.max_gy, "max"), (d.mean_gy, "mean")):
            assert ours_gy == pytest.approx(
                float(row[f"dvh_{column}_Gy_assuming_percent_of_14Gy"]), rel=1e-4
            )
    assert "tps-dvh-percent-of-prescription" in {f.code for f in rtdose.findings}


def test_curves_above_a_scaled_down_grid_stay_in_gy() -> None:
    # curves in Gy up to 22 Gy against a grid whose maximum is 18.7 Gy (22 x 0.85): read as
    # percent of a 20 Gy prescription they would end at 4.4 Gy, far from the grid's maximum,
    # so they are kept in Gy (DoseUnits) and the finding names the excess
    item = b.dvh_item(5, [1.0] * 22, [50] * 21 + [1])
    dvhs, codes = _read(item, grid_max_gy=18.7, prescription_gy=20.0)
    assert dvhs[5].dose_axis == "Gy" and float(dvhs[5].dose_gy[-1]) == pytest.approx(22.0)
    assert "tps-dvh-exceeds-dose-grid" in codes and "tps-dvh-percent-of-prescription" not in codes
