"""The DVH figure: constraint markers on the right curve at the right place."""

from __future__ import annotations

import pytest

from plancheck.dvh.metric import parse_metric
from plancheck.report.plot import constraint_markers, marker_dose_gy, render_dvh_figure
from tests.report.documents import STRUCTURES, curve_volume_cc, make_document


@pytest.mark.parametrize(
    ("metric", "value", "reference", "expected"),
    [
        ("D0.03cc[Gy]", 45.5, None, 45.5),
        ("D0.03cc[cGy]", 4550.0, None, 45.5),
        ("D2%[%]", 105.0, 40.0, 42.0),  # 105 % of 40 Gy
        ("D2%[%]", 105.0, None, None),  # no reference dose: no marker, never a guess
        ("V30Gy[cc]", 0.8, None, 30.0),  # volume metrics sit at their dose threshold
        ("V3000cGy[%]", 2.0, None, 30.0),
        ("V95%[%]", 98.0, 40.0, 38.0),
        ("CV20Gy[cc]", 3.0, None, 20.0),
        ("Mean[EQD2Gy(a/b=2)]", 12.5, None, 12.5),
        ("Volume[cc]", 30.0, None, None),
        ("V30Gy[cc]", None, None, None),
    ],
)
def test_marker_dose(metric: str, value: float | None, reference: float | None, expected: float | None) -> None:
    got = marker_dose_gy(parse_metric(metric), value, reference)
    assert got == (None if expected is None else pytest.approx(expected))


def _closed_form_pct(name: str, quantity: str, dose_gy: float) -> float:
    _name, _roi, volume_cc, curves = next(s for s in STRUCTURES if s[0] == name)
    d50, sigma = curves[quantity]
    return curve_volume_cc(volume_cc, d50, sigma, dose_gy) / volume_cc * 100.0


def test_markers_sit_on_the_curve_of_their_structure_and_quantity() -> None:
    markers, not_drawn = constraint_markers(make_document())
    by_id = {m.constraint_id: m for m in markers}
    assert set(by_id) == {"ptv-d95", "ptv-d2", "cord-dmax", "cord-v30", "script-mean"}
    # D95% = 38.36 Gy on an erfc curve centred at 40 Gy, sigma 1 Gy: 95 % of the volume (z = 1.645);
    # linear interpolation between 0.05 Gy points is within 0.01 % of the closed form here
    assert by_id["ptv-d95"].volume_pct == pytest.approx(_closed_form_pct("PTV_boost", "physical", 38.36), abs=0.01)
    assert by_id["ptv-d95"].volume_pct == pytest.approx(95.0, abs=0.1)
    # D2%[%] = 105.1 % of the 40 Gy boost level
    assert by_id["ptv-d2"].dose_gy == pytest.approx(42.04)
    assert by_id["ptv-d2"].volume_pct == pytest.approx(_closed_form_pct("PTV_boost", "physical", 42.04), abs=0.01)
    # the biological constraint is drawn on the EQD2 curve, not the physical one
    assert by_id["cord-dmax"].quantity == "EQD2(a/b=2)"
    assert by_id["cord-dmax"].volume_pct == pytest.approx(
        _closed_form_pct("Cord", "EQD2(a/b=2)", 46.1), abs=0.01
    )
    assert by_id["cord-v30"].dose_gy == 30.0
    assert by_id["cord-v30"].volume_pct == pytest.approx(_closed_form_pct("Cord", "physical", 30.0), abs=0.01)
    assert by_id["cord-v30"].status == "fail"
    assert dict(not_drawn) == {"ptv-volume": "no dose to show for this metric"}


def test_plan_quality_indices_have_no_marker() -> None:
    doc = make_document()
    doc["constraints"].append(
        {"id": "ci", "kind": "index", "metric": "ci_paddick", "value": 0.8, "status": "pass", "structure": "PTV_High"}
    )
    markers, not_drawn = constraint_markers(doc)
    assert "ci" not in {m.constraint_id for m in markers} | {cid for cid, _ in not_drawn}


def test_marker_finds_the_curve_of_a_subset_of_plans() -> None:
    doc = make_document()
    cord = doc["structures"][1]
    cord["curves"]["physical [SIB]"] = cord["curves"].pop("physical")
    markers, _ = constraint_markers(doc)
    assert {m.constraint_id: m.quantity for m in markers}["cord-v30"] == "physical [SIB]"


def test_figure_is_reproducible_and_has_no_text_markup() -> None:
    doc = make_document()
    a = render_dvh_figure(doc)
    b = render_dvh_figure(doc)
    assert a is not None and b is not None
    assert a.svg == b.svg
    assert a.markers == 5
    assert "<text" not in a.svg and "<script" not in a.svg  # glyphs are outlines, names are not markup
    assert a.data_uri.startswith("data:image/svg+xml;base64,")


def test_mathtext_in_a_roi_name_is_drawn_literally() -> None:
    doc = make_document()
    doc["structures"][0]["name"] = r"$\frac{PTV"  # would be a mathtext parse error
    assert render_dvh_figure(doc) is not None


def test_no_curves_no_figure() -> None:
    assert render_dvh_figure(make_document(structures=[])) is None


def test_physical_and_biological_doses_are_drawn_in_separate_labelled_panels() -> None:
    fig = render_dvh_figure(make_document())
    assert fig is not None
    panels = {p["panel"]: p for p in fig.readout["panels"]}
    assert list(panels) == ["physical", "EQD2"]
    assert panels["physical"]["axis"].startswith("Physical dose [Gy]")
    assert panels["EQD2"]["axis"].startswith("EQD2 [Gy]")
    # every curve is in the panel of its quantity, and nowhere else
    assert {c["quantity"] for c in panels["physical"]["curves"]} == {"physical"}
    assert {c["quantity"] for c in panels["EQD2"]["curves"]} == {"EQD2(a/b=2)"}
    # the panels do not overlap in the figure, the physical one above
    top, bottom = panels["physical"]["box"], panels["EQD2"]["box"]
    assert top[1] > bottom[3]


def test_readout_curves_are_the_document_curves() -> None:
    fig = render_dvh_figure(make_document())
    assert fig is not None
    cord = next(c for p in fig.readout["panels"] for c in p["curves"] if c["structure"] == "Cord" and c["quantity"] == "EQD2(a/b=2)")
    assert cord["volume_cc"] == 12.0 and len(cord["dose"]) <= 400
    for dose, pct in zip(cord["dose"][::50], cord["volume_pct"][::50], strict=True):
        assert pct == pytest.approx(curve_volume_cc(12.0, 25.0, 9.0, dose) / 12.0 * 100.0, rel=1e-3, abs=1e-3)


def test_failed_constraints_are_the_most_visible_marks() -> None:
    from plancheck.report.plot import _MARKER_SIZE

    assert max(_MARKER_SIZE, key=lambda s: _MARKER_SIZE[s][0]) == "fail"  # the largest
    assert max(_MARKER_SIZE, key=lambda s: _MARKER_SIZE[s][2]) == "fail"  # drawn on top
    with_fail = render_dvh_figure(make_document())
    doc = make_document()
    for c in doc["constraints"]:
        if c["status"] == "fail":
            c["status"] = "pass"
    without = render_dvh_figure(doc)
    assert with_fail is not None and without is not None
    # the failed constraint is labelled in the figure (text drawn as outlines: more path data)
    assert len(with_fail.svg) > len(without.svg) + 1000
