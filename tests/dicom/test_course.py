"""Linking a folder into courses and loading each plan's total dose.

Folders are written by :mod:`tests.dicom.builders`; every expected dose is the
stored one (Gy), summed or multiplied as the DICOM summation type demands
(PS3.3 C.8.8.3: only *_SESSION doses are multiplied by the fraction count),
compared within the integer quantisation of the stored values. The stored
doses lie near the plans' prescriptions (28-33 Gy for 25-30 Gy), so the
plausibility check accepts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.course import load_courses, load_folder
from plancheck.dicom.discover import index_folder
from plancheck.errors import CourseError
from plancheck.model import Course, EndCaps
from tests.dicom import builders as b
from tests.validation.refdata import data_set

SHAPE = (4, 3, 5)
RNG = np.random.default_rng(20240101)


def _field(seed: float) -> np.ndarray:
    return 28.0 + seed + RNG.random(SHAPE)


def _ss(
    tmp: Path, name: str = "rs.dcm", label: str = "SET", frame: str = b.FRAME, **kw: object
) -> str:
    ds = b.rtstruct(
        [
            b.Roi(
                1,
                "PTV",
                [("CLOSED_PLANAR", b.square(3, z)) for z in (0.0, 3.0)],
                frame_of_reference=frame,
            )
        ],
        sop_uid=b.uid(f"ss {name}"),
        label=label,
        frame_of_reference=frame,
        **kw,
    )  # type: ignore[arg-type]
    b.write(ds, tmp / name)
    return str(ds.SOPInstanceUID)


def _plan(tmp: Path, name: str = "rp.dcm", **kw: object) -> str:
    ds = b.rtplan(sop_uid=b.uid(f"plan {name}"), **kw)  # type: ignore[arg-type]
    b.write(ds, tmp / name)
    return str(ds.SOPInstanceUID)


def _dose(tmp: Path, name: str, stored: np.ndarray, **kw: object) -> b.DoseSpec:
    spec = b.DoseSpec(stored_gy=stored, sop_uid=b.uid(f"dose {name}"), **kw)  # type: ignore[arg-type]
    b.write(b.rtdose(spec), tmp / name)
    return spec


def _tol(*specs: b.DoseSpec, times: float = 1.0) -> float:
    return times * sum(0.5 * b.dose_scaling(s) for s in specs) + 1e-5 * times


def _codes(loaded) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in loaded.all_findings}


def _one(tmp: Path) -> Course:
    loaded = load_courses(index_folder(tmp))
    assert len(loaded.courses) == 1
    return loaded.courses[0]


def test_plan_dose_linked_by_reference(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    plan = _plan(tmp_path, structure_set_uid=ss, fractions=(5,), prescription_gy=25.0)
    spec = _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    course = _one(tmp_path)
    (pd,) = course.plans
    assert (pd.label, pd.how, pd.n_fractions, pd.dose_uids) == (
        "PLAN1",
        "PLAN dose",
        5,
        (spec.sop_uid,),
    )
    assert course.structure_set.sop_instance_uid == ss
    assert float(np.abs(pd.dose.dose_gy - spec.stored_gy).max()) <= _tol(spec)
    assert "link-by-frame-of-reference" not in {f.code for f in course.findings}


def test_beam_doses_are_summed_when_there_is_no_plan_dose(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), beams=(1, 2))
    a = _dose(tmp_path, "b1.dcm", _field(0), summation="BEAM", plan_uid=plan, beams=(1,))
    c = _dose(tmp_path, "b2.dcm", _field(3), summation="BEAM", plan_uid=plan, beams=(2,))
    (pd,) = _one(tmp_path).plans
    assert pd.how == "sum of 2 BEAM doses" and set(pd.dose_uids) == {a.sop_uid, c.sop_uid}
    assert float(np.abs(pd.dose.dose_gy - (a.stored_gy + c.stored_gy)).max()) <= _tol(a, c)


def test_a_plan_dose_is_never_added_to_beam_doses(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), beams=(1, 2))
    a = _dose(tmp_path, "b1.dcm", _field(0), summation="BEAM", plan_uid=plan, beams=(1,))
    c = _dose(tmp_path, "b2.dcm", _field(3), summation="BEAM", plan_uid=plan, beams=(2,))
    total = _dose(tmp_path, "plan.dcm", a.stored_gy + c.stored_gy, plan_uid=plan)
    loaded = load_courses(index_folder(tmp_path))
    (pd,) = loaded.courses[0].plans
    assert pd.how == "PLAN dose" and pd.dose_uids == (total.sop_uid,)
    assert float(np.abs(pd.dose.dose_gy - total.stored_gy).max()) <= _tol(total)
    assert "doses-not-used" in _codes(loaded)


def test_beam_doses_on_different_grids_are_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), beams=(1, 2))
    _dose(tmp_path, "b1.dcm", _field(0), summation="BEAM", plan_uid=plan, beams=(1,))
    _dose(
        tmp_path,
        "b2.dcm",
        _field(0),
        summation="BEAM",
        plan_uid=plan,
        beams=(2,),
        image_position=(-9.0, -20.0, 30.0),
    )
    index = index_folder(tmp_path)
    assert "beam-doses-on-different-grids" in _codes(load_folder(index))
    with pytest.raises(CourseError, match="different grids"):
        load_courses(index)


def test_incomplete_beam_doses_are_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), beams=(1, 2, 3))
    _dose(tmp_path, "b1.dcm", _field(0), summation="BEAM", plan_uid=plan, beams=(1,))
    _dose(tmp_path, "b2.dcm", _field(0), summation="BEAM", plan_uid=plan, beams=(2,))
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses and "beam-doses-incomplete" in _codes(loaded)


def _fraction_dose(tmp: Path, summation: str, value_gy: float, plan: str) -> None:
    ds = b.rtdose(
        b.DoseSpec(
            stored_gy=np.full(SHAPE, value_gy),
            sop_uid=b.uid("fx"),
            summation=summation,
            plan_uid=plan,
            fraction_group=1,
        )
    )
    ds.DVHSequence = DicomSequence(
        [b.dvh_item(1, [1.0, 1.0], [3.0, 3.0], stats=(value_gy,) * 3)]
    )
    b.write(ds, tmp / "fx.dcm")


def test_fraction_dose_is_the_whole_fraction_group_as_stored(tmp_path: Path) -> None:
    """PS3.3 C.8.8.3: FRACTION is the whole delivery of one fraction group, not one session."""
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(7,), prescription_gy=14.0)
    _fraction_dose(tmp_path, "FRACTION", 14.0, plan)
    (pd,) = _one(tmp_path).plans
    assert pd.how == "FRACTION dose"
    np.testing.assert_allclose(pd.dose.dose_gy, 14.0, rtol=1e-6)
    (dvh,) = pd.tps_dvhs
    np.testing.assert_allclose(dvh.dose_gy, [0.0, 1.0, 2.0])
    assert pd.fraction_parts()[0].n_fractions == 7


def test_fraction_session_dose_is_multiplied_by_the_fraction_count(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(7,), prescription_gy=14.0)
    _fraction_dose(tmp_path, "FRACTION_SESSION", 2.0, plan)
    (pd,) = _one(tmp_path).plans
    assert pd.how == "FRACTION_SESSION dose × 7 fractions"
    np.testing.assert_allclose(pd.dose.dose_gy, 14.0, rtol=1e-6)
    (dvh,) = pd.tps_dvhs
    np.testing.assert_allclose(dvh.dose_gy, [0.0, 7.0, 14.0])
    assert (dvh.max_gy, dvh.mean_gy) == (14.0, 14.0)


@pytest.mark.parametrize("summation", ["BEAM_SESSION", "BRACHY_SESSION"])
def test_other_session_doses_are_multiplied(tmp_path: Path, summation: str) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(5,), beams=(1,))
    spec = _dose(
        tmp_path, "s.dcm", _field(3) / 5, summation=summation, plan_uid=plan, beams=(1,)
    )
    (pd,) = _one(tmp_path).plans
    assert pd.how == f"{summation} dose × 5 fractions"
    assert float(np.abs(pd.dose.dose_gy - 5 * spec.stored_gy).max()) <= _tol(spec, times=5)


@pytest.mark.parametrize("summation", ["CONTROL_POINT", "RECORD"])
def test_doses_that_are_not_planned_are_refused(tmp_path: Path, summation: str) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path))
    _dose(tmp_path, "cp.dcm", _field(0), summation=summation, plan_uid=plan)
    loaded = load_folder(index_folder(tmp_path))
    (f,) = [f for f in loaded.all_findings if f.code == "dose-not-planned"]
    assert not loaded.courses and f.severity.value == "error" and summation in f.message


def test_a_multi_plan_dose_is_not_used(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path))
    own = _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    _dose(tmp_path, "multi.dcm", _field(1), summation="MULTI_PLAN", plan_uid=plan)
    loaded = load_courses(index_folder(tmp_path))
    assert loaded.courses[0].plans[0].dose_uids == (own.sop_uid,)
    assert "dose-multi-plan-not-used" in _codes(loaded)


@pytest.mark.parametrize(("caps", "volume_cc"), [(EndCaps.HALF, 0.216), (EndCaps.NONE, 0.108)])
def test_percent_volume_dvhs_use_the_contour_volume(
    tmp_path: Path, caps: EndCaps, volume_cc: float
) -> None:
    """ROI 1 is a 6 x 6 mm square on planes z = 0 and 3 mm: 36 mm² x 6 mm (half caps) or x 3 mm (none)."""
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), prescription_gy=None)
    ds = b.rtdose(b.DoseSpec(stored_gy=np.full(SHAPE, 2.0), sop_uid=b.uid("pd"), plan_uid=plan))
    ds.DVHSequence = DicomSequence(
        [b.dvh_item(1, [1.0, 1.0], [100.0, 50.0], volume_units="PERCENT")]
    )
    b.write(ds, tmp_path / "rd.dcm")
    (pd,) = load_courses(index_folder(tmp_path), end_caps=caps).courses[0].plans
    np.testing.assert_allclose(
        pd.tps_dvhs[0].cumulative_cc, [volume_cc, volume_cc / 2, 0.0], rtol=1e-9
    )


def test_session_dose_without_fraction_count_is_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(None,))
    _dose(tmp_path, "fx.dcm", _field(0) / 10, summation="FRACTION_SESSION", plan_uid=plan)
    index = index_folder(tmp_path)
    assert "fraction-count-missing" in _codes(load_folder(index))
    with pytest.raises(CourseError, match="FRACTION_SESSION dose"):
        load_courses(index)
    # the user's fraction count makes it usable, and is recorded
    loaded = load_courses(index, fractions=10)
    (pd,) = loaded.courses[0].plans
    assert pd.n_fractions == 10 and "fractions-from-user" in _codes(loaded)


def test_fraction_dose_without_fraction_count_has_no_biological_parts(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(None,))
    _dose(tmp_path, "fx.dcm", _field(0), summation="FRACTION", plan_uid=plan)
    (pd,) = _one(tmp_path).plans
    assert pd.fraction_parts() == () and "fraction count" in (pd.parts_unknown_reason or "")


def test_missing_references_fall_back_to_the_frame_of_reference(tmp_path: Path) -> None:
    _ss(tmp_path)
    _plan(tmp_path)  # references no structure set
    _dose(tmp_path, "rd.dcm", _field(0))  # references no plan
    loaded = load_courses(index_folder(tmp_path))
    findings = [f for f in loaded.courses[0].findings if f.code == "link-by-frame-of-reference"]
    assert {Path(f.path).name for f in findings if f.path} == {"rd.dcm", "rp.dcm"}


def test_a_dose_naming_no_plan_is_not_added_to_a_plan_with_its_own_dose(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path))
    own = _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    _dose(tmp_path, "stray.dcm", _field(1))  # same frame of reference, no plan reference
    loaded = load_courses(index_folder(tmp_path))
    assert loaded.courses[0].plans[0].dose_uids == (own.sop_uid,)
    # a stray dose of the course's frame of reference could be the course's: attached to it
    stray = [f for f in loaded.courses[0].findings if f.code == "dose-without-plan"]
    assert len(stray) == 1 and "doses of their own" in stray[0].message


def test_two_structure_sets_that_both_fit_are_a_conflict(tmp_path: Path) -> None:
    _ss(tmp_path, "rs1.dcm", label="ONE")
    _ss(tmp_path, "rs2.dcm", label="TWO")
    plan = _plan(tmp_path)
    _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses and "structure-set-conflict" in _codes(loaded)


def test_the_referenced_structure_set_wins_over_another_on_the_same_frame(tmp_path: Path) -> None:
    _ss(tmp_path, "rs1.dcm", label="ONE")
    two = _ss(tmp_path, "rs2.dcm", label="TWO")
    plan = _plan(tmp_path, structure_set_uid=two)
    _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    loaded = load_courses(index_folder(tmp_path))
    assert loaded.courses[0].structure_set.label == "TWO"
    assert "structure-set-without-plan" in _codes(loaded)


def test_plans_sharing_a_structure_set_form_one_course(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    boost = _plan(tmp_path, "boost.dcm", label="BOOST", structure_set_uid=ss, fractions=(2,))
    main = _plan(tmp_path, "main.dcm", label="MAIN", structure_set_uid=ss, fractions=(10,))
    _dose(tmp_path, "rd_boost.dcm", _field(0), plan_uid=boost)
    _dose(tmp_path, "rd_main.dcm", _field(1), plan_uid=main)
    course = _one(tmp_path)
    assert [p.label for p in course.plans] == ["MAIN", "BOOST"]  # most fractions first


def test_plans_with_their_own_structure_sets_form_two_courses(tmp_path: Path) -> None:
    other_frame = b.uid("frame B")
    for k, frame in enumerate((b.FRAME, other_frame)):
        ss = _ss(tmp_path, f"rs{k}.dcm", frame=frame)
        plan = _plan(
            tmp_path, f"rp{k}.dcm", label=f"P{k}", structure_set_uid=ss, frame_of_reference=frame
        )
        _dose(tmp_path, f"rd{k}.dcm", _field(k), plan_uid=plan, frame_of_reference=frame)
    loaded = load_courses(index_folder(tmp_path))
    assert sorted(c.plans[0].label for c in loaded.courses) == ["P0", "P1"]


def test_structure_set_in_another_frame_of_reference_is_not_used(tmp_path: Path) -> None:
    ss = _ss(tmp_path, frame=b.uid("frame B"))
    plan = _plan(tmp_path, structure_set_uid=ss)
    _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses and "frame-of-reference-mismatch" in _codes(loaded)


def test_error_paths_folder_gives_a_course_error(tmp_path: Path) -> None:
    """A truncated file, a non-DICOM file and an RTDOSE with neither its plan nor a structure set."""
    _ss(tmp_path, frame=b.uid("another frame"))
    cut = tmp_path / "cut.dcm"
    b.write(b.rtplan(sop_uid=b.uid("cut plan")), cut)
    cut.write_bytes(cut.read_bytes()[:300])
    (tmp_path / "notes.txt").write_text("hello\n")
    _dose(tmp_path, "rd.dcm", _field(0), plan_uid=b.uid("a plan that is elsewhere"))
    index = index_folder(tmp_path)
    loaded = load_folder(index)
    assert {"dicom-unreadable", "not-dicom", "dose-without-structure-set"} <= _codes(loaded)
    with pytest.raises(CourseError, match="no plan with its dose and structure set") as info:
        load_courses(index)
    assert "\n" not in str(info.value)


def test_structure_set_and_dose_without_a_plan_give_physical_doses(tmp_path: Path) -> None:
    _ss(tmp_path)
    spec = _dose(tmp_path, "rd.dcm", _field(0), plan_uid=b.uid("a plan that is elsewhere"))
    loaded = load_courses(index_folder(tmp_path))
    (pd,) = loaded.courses[0].plans
    assert pd.plan is None and pd.label == "(no plan)"
    assert float(np.abs(pd.dose.dose_gy - spec.stored_gy).max()) <= _tol(spec)
    assert pd.fraction_parts() == () and "--fractions" in (pd.parts_unknown_reason or "")
    assert "plan-missing" in _codes(loaded)
    # --fractions gives the fraction count for EQD2/BED
    (pd,) = load_courses(index_folder(tmp_path), fractions=5).courses[0].plans
    ((part,),) = (pd.fraction_parts(),)
    assert part.n_fractions == 5 and part.dose is pd.dose


def test_a_session_dose_without_its_plan_needs_the_fraction_count(tmp_path: Path) -> None:
    _ss(tmp_path)
    spec = _dose(tmp_path, "rd.dcm", _field(0) / 5, summation="FRACTION_SESSION")
    index = index_folder(tmp_path)
    with pytest.raises(CourseError, match="--fractions"):
        load_courses(index)
    (pd,) = load_courses(index, fractions=5).courses[0].plans
    assert float(np.abs(pd.dose.dose_gy - 5 * spec.stored_gy).max()) <= _tol(spec, times=5)


def test_dose_that_cannot_be_read_drops_its_plan_only(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    good = _plan(tmp_path, "good.dcm", label="GOOD", structure_set_uid=ss)
    bad = _plan(tmp_path, "bad.dcm", label="BAD", structure_set_uid=ss)
    _dose(tmp_path, "rd_good.dcm", _field(0), plan_uid=good)
    _dose(tmp_path, "rd_bad.dcm", _field(0), plan_uid=bad, units="RELATIVE")
    loaded = load_courses(index_folder(tmp_path))
    assert [p.label for p in loaded.courses[0].plans] == ["GOOD"]
    assert "dose-unusable" in _codes(loaded)


# --------------------------------------------------------------------------- real exports


@pytest.mark.slow
def test_eclipse_plan_dose_links_by_reference() -> None:
    loaded = load_courses(index_folder(data_set("eclipse_breast_boost")))
    (course,) = loaded.courses
    (pd,) = course.plans
    assert (pd.label, pd.how, pd.n_fractions) == ("B1", "PLAN dose", 7)
    assert len(pd.tps_dvhs) == 9
    codes = _codes(loaded)
    assert "link-by-frame-of-reference" not in codes
    assert "tps-dvh-percent-of-prescription" in codes


@pytest.mark.slow
def test_raystation_uses_the_plan_dose_and_reports_the_patient_ids() -> None:
    root = data_set("raystation_proton_box")
    loaded = load_courses(index_folder(root))
    (course,) = loaded.courses
    (pd,) = course.plans
    assert pd.how == "PLAN dose" and pd.plan is not None and pd.plan.is_ion
    assert pd.dose_uids[0].endswith(".3000.73252")  # the PLAN RTDOSE (MANIFEST.md)
    codes = _codes(loaded)
    assert {"doses-not-used", "patient-mismatch"} <= codes


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "reason"), [("pydicom_rt_testfiles", "different content"), ("nelms_analytic", "different content")]
)
def test_folders_without_a_course(name: str, reason: str) -> None:
    with pytest.raises(CourseError, match=reason):
        load_courses(index_folder(data_set(name)))


def test_the_plans_fraction_count_wins_over_the_option(tmp_path: Path) -> None:
    plan = _plan(tmp_path, structure_set_uid=_ss(tmp_path), fractions=(10,))
    _dose(tmp_path, "rd.dcm", _field(0), plan_uid=plan)
    loaded = load_courses(index_folder(tmp_path), fractions=5)
    assert loaded.courses[0].plans[0].n_fractions == 10
    assert "fractions-option-ignored" in _codes(loaded)


def test_a_dose_without_its_plan_and_two_structure_sets_is_not_guessed(tmp_path: Path) -> None:
    _ss(tmp_path, "rs1.dcm", label="ONE")
    _ss(tmp_path, "rs2.dcm", label="TWO")
    _dose(tmp_path, "rd.dcm", _field(0))
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses and "dose-structure-set-ambiguous" in _codes(loaded)
