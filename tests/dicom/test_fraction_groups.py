"""A plan with several fraction groups: its dose, and the dose of each group for EQD2/BED.

The physical dose is the plan's whole dose whatever its groups. Biological
conversions need each group's dose with its own fraction count
(:meth:`plancheck.model.PlanDose.fraction_parts`): known from one RTDOSE per
group (FRACTION, PS3.3 C.8.8.3: the whole delivery of that group) or from
the BEAM doses of each group's beams; otherwise unknown, with the reason.
Every expected dose is the stored one, within the integer quantisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom.course import load_courses, load_folder
from plancheck.dicom.discover import index_folder
from plancheck.model import PlanDose
from tests.dicom import builders as b
from tests.validation.refdata import data_set

SHAPE = (4, 3, 5)
GROUPS = (25, 7, 3)
RNG = np.random.default_rng(7)
# per-group doses: about 2 Gy per fraction
GROUP_DOSES = [n * (2.0 + 0.1 * RNG.random(SHAPE)) for n in GROUPS]


def _set(tmp: Path, **plan_kw: object) -> str:
    ss = b.rtstruct(
        [b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(3, z)) for z in (0.0, 3.0)])],
        sop_uid=b.uid("ss"),
    )
    b.write(ss, tmp / "rs.dcm")
    plan = b.rtplan(
        sop_uid=b.uid("plan"),
        structure_set_uid=str(ss.SOPInstanceUID),
        fractions=GROUPS,
        prescription_gy=70.0,
        **plan_kw,  # type: ignore[arg-type]
    )
    b.write(plan, tmp / "rp.dcm")
    return str(plan.SOPInstanceUID)


def _dose(tmp: Path, name: str, stored: np.ndarray, **kw: object) -> b.DoseSpec:
    spec = b.DoseSpec(stored_gy=stored, sop_uid=b.uid(f"dose {name}"), **kw)  # type: ignore[arg-type]
    b.write(b.rtdose(spec), tmp / name)
    return spec


def _tol(*specs: b.DoseSpec) -> float:
    return sum(0.5 * b.dose_scaling(s) for s in specs) + 1e-4


def _plan_dose(tmp: Path) -> PlanDose:
    (course,) = load_courses(index_folder(tmp)).courses
    (pd,) = course.plans
    return pd


def test_one_plan_dose_for_all_groups_has_no_biological_parts(tmp_path: Path) -> None:
    plan = _set(tmp_path)
    total = _dose(tmp_path, "plan.dcm", sum(GROUP_DOSES), plan_uid=plan)
    pd = _plan_dose(tmp_path)
    assert float(np.abs(pd.dose.dose_gy - total.stored_gy).max()) <= _tol(total)
    assert pd.fraction_parts() == ()
    reason = pd.parts_unknown_reason or ""
    assert "3 fraction groups (25 + 7 + 3 fractions)" in reason and "not known" in reason


def test_one_fraction_dose_per_group_gives_the_parts(tmp_path: Path) -> None:
    plan = _set(tmp_path)
    specs = [
        _dose(tmp_path, f"g{k}.dcm", d, summation="FRACTION", plan_uid=plan, fraction_group=k)
        for k, d in enumerate(GROUP_DOSES, start=1)
    ]
    pd = _plan_dose(tmp_path)
    assert float(np.abs(pd.dose.dose_gy - sum(GROUP_DOSES)).max()) <= _tol(*specs)
    parts = pd.fraction_parts()
    assert [p.n_fractions for p in parts] == list(GROUPS)
    for part, spec in zip(parts, specs, strict=True):
        assert float(np.abs(part.dose.dose_gy - spec.stored_gy).max()) <= _tol(spec)
    assert pd.how.startswith("sum of 3 fraction groups")


def test_a_plan_dose_with_per_group_doses_beside_it(tmp_path: Path) -> None:
    """The PLAN dose is the physical dose; the groups' doses, which add up to it, are the parts."""
    plan = _set(tmp_path)
    total = _dose(tmp_path, "plan.dcm", sum(GROUP_DOSES), plan_uid=plan)
    for k, d in enumerate(GROUP_DOSES, start=1):
        _dose(tmp_path, f"g{k}.dcm", d, summation="FRACTION", plan_uid=plan, fraction_group=k)
    pd = _plan_dose(tmp_path)
    assert pd.dose_uids == (total.sop_uid,)
    assert [p.n_fractions for p in pd.fraction_parts()] == list(GROUPS)


def test_per_group_doses_that_do_not_add_up_to_the_plan_dose_are_not_used(tmp_path: Path) -> None:
    plan = _set(tmp_path)
    _dose(tmp_path, "plan.dcm", sum(GROUP_DOSES), plan_uid=plan)
    for k, d in enumerate(GROUP_DOSES, start=1):
        scale = 1.5 if k == 2 else 1.0  # group 2's dose is 50 % too high
        _dose(
            tmp_path, f"g{k}.dcm", scale * d, summation="FRACTION", plan_uid=plan, fraction_group=k
        )
    pd = _plan_dose(tmp_path)
    assert pd.fraction_parts() == () and "add up to its PLAN dose" in (
        pd.parts_unknown_reason or ""
    )


def test_beam_doses_of_each_group_give_the_parts(tmp_path: Path) -> None:
    """Beams 1-2 belong to group 1, 3-4 to group 2, 5-6 to group 3; a BEAM dose per beam and group."""
    plan = _set(tmp_path, beams=(1, 2, 3, 4, 5, 6), group_beams=((1, 2), (3, 4), (5, 6)))
    specs = []
    for k, d in enumerate(GROUP_DOSES):
        for j in (1, 2):
            beam = 2 * k + j
            specs.append(
                _dose(
                    tmp_path,
                    f"b{beam}.dcm",
                    d / 2,
                    summation="BEAM",
                    plan_uid=plan,
                    beams=(beam,),
                    fraction_group=k + 1,
                )
            )
    pd = _plan_dose(tmp_path)
    assert float(np.abs(pd.dose.dose_gy - sum(GROUP_DOSES)).max()) <= _tol(*specs)
    parts = pd.fraction_parts()
    assert [p.n_fractions for p in parts] == list(GROUPS)
    for part, d, k in zip(parts, GROUP_DOSES, range(3), strict=True):
        assert float(np.abs(part.dose.dose_gy - d).max()) <= _tol(*specs[2 * k : 2 * k + 2])


def test_a_fraction_dose_naming_no_group_of_a_plan_with_several_is_refused(tmp_path: Path) -> None:
    plan = _set(tmp_path)
    _dose(tmp_path, "g.dcm", GROUP_DOSES[0], summation="FRACTION", plan_uid=plan)
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses
    assert "fraction-group-unknown" in {f.code for f in loaded.all_findings}


def test_missing_group_doses_are_refused(tmp_path: Path) -> None:
    plan = _set(tmp_path)
    for k in (1, 2):
        _dose(
            tmp_path,
            f"g{k}.dcm",
            GROUP_DOSES[k - 1],
            summation="FRACTION",
            plan_uid=plan,
            fraction_group=k,
        )
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses
    assert "fraction-doses-incomplete" in {f.code for f in loaded.all_findings}


@pytest.mark.slow
def test_pinnacle_three_fraction_groups_with_one_plan_dose() -> None:
    """MANIFEST.md: 25 + 7 + 3 fractions, one PLAN dose (max 74.28 Gy): physical yes, biological no."""
    (course,) = load_courses(index_folder(data_set("real_exports/pinnacle_hn_anon33345"))).courses
    (pd,) = course.plans
    assert pd.how == "PLAN dose" and pd.n_fractions == 35
    assert float(pd.dose.dose_gy.max()) == pytest.approx(74.279, abs=0.01)
    assert pd.fraction_parts() == ()
    assert "25 + 7 + 3" in (pd.parts_unknown_reason or "")
