"""A dose that does not fit its plan is an error and the plan is not evaluated.

The rules are those of :mod:`plancheck.dicom.plausibility`; every dose here
is a constant or a known field, so each ratio the rules compare is known
exactly. The real exports of the reference data must pass them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom.course import load_folder
from plancheck.dicom.discover import index_folder
from plancheck.dicom.plausibility import PlanExpectation, check_dose, near_maximum_gy
from tests.dicom import builders as b
from tests.validation.refdata import data_set

SHAPE = (4, 3, 5)
VOXEL_CC = 0.001  # 1 mm³ voxels in the function tests


def _expect(**kw: object) -> PlanExpectation:
    base: dict[str, object] = {
        "label": "plan 'P'",
        "has_plan": True,
        "is_brachy": False,
        "prescription_gy": None,
        "stated_maximum_gy": None,
        "beam_dose_gy": None,
        "n_fractions": 10,
    }
    base.update(kw)
    return PlanExpectation(**base)  # type: ignore[arg-type]


def _check(dose_max_gy: float, **kw: object) -> str | None:
    dose = np.linspace(0.0, dose_max_gy, 1000).reshape(10, 10, 10)
    f = check_dose(_expect(**kw), dose, VOXEL_CC, path="rd.dcm", how="PLAN dose")
    if f is None:
        return None
    assert f.severity.value == "error" and f.code == "dose-implausible" and f.path == "rd.dcm"
    return f.message


@pytest.mark.parametrize(
    ("dmax", "rx", "ok"),
    [
        (31.0, 30.0, True),
        (59.0, 30.0, True),
        (91.0, 30.0, False),
        (19.0, 30.0, True),
        (17.0, 30.0, False),
    ],
)
def test_external_beam_maximum_against_the_prescription(dmax: float, rx: float, ok: bool) -> None:
    """Between 0.6 and 3 times the prescription."""
    assert (_check(dmax, prescription_gy=rx) is None) is ok


def test_a_grid_in_cgy_labelled_gy_is_named() -> None:
    message = _check(3100.0, prescription_gy=30.0, beam_dose_gy=30.0)
    assert message is not None
    assert "3100 Gy" in message and "103.3 × the prescription of 30 Gy" in message
    assert "cGy while DoseUnits says GY" in message


def test_one_session_labelled_as_the_whole_plan_is_named() -> None:
    message = _check(3.1, prescription_gy=30.0, n_fractions=10)
    assert message is not None and "about 1/10" in message and "one session" in message


def test_the_whole_plan_labelled_as_one_session_is_named() -> None:
    """A *_SESSION dose that held the whole plan, multiplied by 35 fractions."""
    message = _check(35 * 75.0, beam_dose_gy=73.7, n_fractions=35)
    assert message is not None and "about 35 ×" in message


def test_beam_doses_bound_the_maximum_loosely() -> None:
    """BeamDose is a point dose: a VMAT maximum 4.9 × its BeamDose sum is real (RayStation export)."""
    assert _check(52.5, beam_dose_gy=10.78) is None
    assert _check(250.0, beam_dose_gy=10.0) is not None  # 25 ×
    assert _check(0.9, beam_dose_gy=10.0) is not None  # 0.09 ×


def test_stated_maximum_doses_bound_the_maximum() -> None:
    assert _check(2.21, stated_maximum_gy=2.0) is None  # the RayStation proton box
    assert _check(6.5, stated_maximum_gy=2.0) is not None


def test_a_plan_that_states_nothing_is_bounded_absolutely() -> None:
    assert _check(90.0) is None
    assert _check(250.0) is not None


def test_brachytherapy_uses_the_near_maximum_not_the_maximum() -> None:
    """A source's singular dose (400 Gy for 5.5 Gy) is fine; 1 % of the grid above 30 × Rx is not."""
    dose = np.full(100_000, 2.0)
    dose[:10] = 400.0  # next to the source: 0.01 cc
    dose[10:3000] = 20.0  # 3 cc around the applicator
    brachy = {"is_brachy": True, "prescription_gy": 5.5, "n_fractions": 1}
    assert check_dose(_expect(**brachy), dose, VOXEL_CC, path=None, how="PLAN dose") is None
    assert near_maximum_gy(dose, VOXEL_CC) == 20.0
    hot = dose.copy()
    hot[:3000] = 200.0  # 3 cc at 36 × the prescription
    assert check_dose(_expect(**brachy), hot, VOXEL_CC, path=None, how="PLAN dose") is not None
    low = np.full(1000, 5.0)  # the prescription reached nowhere
    f = check_dose(_expect(**brachy), low, VOXEL_CC, path=None, how="PLAN dose")
    assert f is not None and "below the prescription" in f.message


def test_doses_without_a_plan_are_bounded_absolutely() -> None:
    dose = np.full(10_000, 7000.0)  # a 70 Gy course in cGy, labelled GY
    planless = {"has_plan": False, "n_fractions": None}
    f = check_dose(_expect(**planless), dose, VOXEL_CC, path=None, how="PLAN dose")
    assert f is not None and "7000 Gy" in f.message
    assert check_dose(_expect(**planless), dose / 100, VOXEL_CC, path=None, how="PLAN dose") is None


def test_an_implausible_dose_leaves_its_plan_unevaluated(tmp_path: Path) -> None:
    """A 30 Gy plan whose dose was written in cGy but labelled GY."""
    ss = b.rtstruct([b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(3, z)) for z in (0.0, 3.0)])])
    plan = b.rtplan(structure_set_uid=str(ss.SOPInstanceUID), prescription_gy=30.0)
    b.write(ss, tmp_path / "rs.dcm")
    b.write(plan, tmp_path / "rp.dcm")
    b.write(
        b.rtdose(b.DoseSpec(stored_gy=np.full(SHAPE, 3060.0), plan_uid=str(plan.SOPInstanceUID))),
        tmp_path / "rd.dcm",
    )
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses
    (f,) = [f for f in loaded.all_findings if f.code == "dose-implausible"]
    assert f.severity.value == "error" and f.path == str(tmp_path / "rd.dcm")
    assert "102.0 × the prescription of 30 Gy" in f.message


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "eclipse_breast_boost",
        "raystation_proton_box",
        "real_exports/eclipse_brachy_cylinder_ex1",
        "real_exports/pinnacle_hn_anon27156_fxdose",
        "real_exports/pinnacle_hn_anon33345",
        "real_exports/pinnacle_hn_anon62480",
        "real_exports/raystation_brain_srs_imrt",
        "real_exports/raystation_brain_srs_vmat",
    ],
)
def test_real_exports_are_plausible(name: str) -> None:
    loaded = load_folder(index_folder(data_set(name)))
    assert len(loaded.courses) == 1
    assert "dose-implausible" not in {f.code for f in loaded.all_findings}


def test_sample_plans_are_plausible() -> None:
    root = Path(__file__).parents[2] / "sample_plans"
    for folder in sorted(root.iterdir()):
        loaded = load_folder(index_folder(folder))
        assert loaded.courses, folder
        assert "dose-implausible" not in {f.code for f in loaded.all_findings}, folder
