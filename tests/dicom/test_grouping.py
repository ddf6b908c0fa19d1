"""Which plans on one structure set are summed as a course, and which are evaluated separately.

Each folder holds one structure set and two (or three) plans with a PLAN dose
each, written by :mod:`tests.dicom.builders`; the plans differ only in what
decides the grouping (RTPlanRelationship, PS3.3 C.8.8.9; fraction counts,
prescriptions, approval). The stored doses lie near each plan's prescription.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom.course import load_courses, load_folder
from plancheck.dicom.discover import index_folder
from plancheck.dicom.grouping import CourseSelection
from plancheck.errors import CourseError
from plancheck.model import Severity
from tests.dicom import builders as b

SHAPE = (4, 3, 5)


def _ss(tmp: Path) -> str:
    ds = b.rtstruct(
        [b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(3, z)) for z in (0.0, 3.0)])],
        sop_uid=b.uid("ss"),
    )
    b.write(ds, tmp / "rs.dcm")
    return str(ds.SOPInstanceUID)


def _plan(
    tmp: Path, label: str, ss: str, *, fractions: int = 10, rx: float = 30.0, **kw: object
) -> str:
    """A plan and its PLAN dose (a constant 1.02 × the prescription)."""
    uid = b.uid(f"plan {label}")
    ds = b.rtplan(
        sop_uid=uid,
        label=label,
        structure_set_uid=ss,
        fractions=(fractions,),
        prescription_gy=rx,
        **kw,  # type: ignore[arg-type]
    )
    b.write(ds, tmp / f"rp_{label}.dcm")
    spec = b.DoseSpec(
        stored_gy=np.full(SHAPE, 1.02 * rx), sop_uid=b.uid(f"dose {label}"), plan_uid=uid
    )
    b.write(b.rtdose(spec), tmp / f"rd_{label}.dcm")
    return uid


def _courses(tmp: Path, selection: CourseSelection | None = None) -> list[list[str]]:
    loaded = load_courses(index_folder(tmp), selection=selection)
    return sorted([p.label for p in c.plans] for c in loaded.courses)


def _findings(tmp: Path, selection: CourseSelection | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in load_courses(index_folder(tmp), selection=selection).courses:
        for f in c.findings:
            out.setdefault(f.code, []).append(f"{f.severity.value}: {f.message}")
    return out


def test_plans_that_look_alike_are_alternatives(tmp_path: Path) -> None:
    """Same fractions and prescriptions, no relationship stated: never summed."""
    ss = _ss(tmp_path)
    _plan(tmp_path, "IMRT", ss)
    _plan(tmp_path, "VMAT", ss)
    assert _courses(tmp_path) == [["IMRT"], ["VMAT"]]
    (note,) = set(_findings(tmp_path)["plans-not-summed"])
    assert note.startswith("info:") and "look like alternatives" in note


def test_a_stated_alternative_is_never_summed(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    a = _plan(tmp_path, "A", ss, fractions=10)
    _plan(tmp_path, "B", ss, fractions=2, rx=8.0, related=[(a, "ALTERNATIVE")])
    assert _courses(tmp_path) == [["A"], ["B"]]


def test_a_sequential_boost_naming_its_predecessor_is_summed(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    sib = _plan(tmp_path, "SIB", ss, fractions=10, rx=40.0)
    _plan(
        tmp_path,
        "BOOST",
        ss,
        fractions=2,
        rx=8.0,
        approval="UNAPPROVED",
        related=[(sib, "PREDECESSOR")],
    )
    assert _courses(tmp_path) == [["SIB", "BOOST"]]
    (note,) = _findings(tmp_path)["plans-summed"]
    assert note.startswith("warning:") and "'BOOST' names 'SIB' as its PREDECESSOR" in note
    assert "'SIB' (10 fx) and 'BOOST' (2 fx)" in note


def test_a_predecessor_that_looks_alike_is_a_revision(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    old = _plan(tmp_path, "V1", ss)
    _plan(tmp_path, "V2", ss, related=[(old, "PREDECESSOR")])
    assert _courses(tmp_path) == [["V1"], ["V2"]]
    assert "a revision" in " ".join(_findings(tmp_path)["plans-not-summed"])


def test_concurrent_plans_are_summed(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    a = _plan(tmp_path, "ISO1", ss)
    _plan(tmp_path, "ISO2", ss, related=[(a, "CONCURRENT")])
    assert _courses(tmp_path) == [["ISO1", "ISO2"]]


def test_approved_plans_with_different_fraction_counts_are_summed(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    _plan(tmp_path, "MAIN", ss, fractions=25, rx=50.0)
    _plan(tmp_path, "BOOST", ss, fractions=5, rx=10.0)
    assert _courses(tmp_path) == [["MAIN", "BOOST"]]
    assert "no relationship stated" in _findings(tmp_path)["plans-summed"][0]


def test_unapproved_plans_of_unknown_relationship_are_not_summed(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    _plan(tmp_path, "MAIN", ss, fractions=25, rx=50.0, approval="UNAPPROVED")
    _plan(tmp_path, "BOOST", ss, fractions=5, rx=10.0, approval="UNAPPROVED")
    assert _courses(tmp_path) == [["BOOST"], ["MAIN"]]


@pytest.mark.parametrize(
    ("kw", "why"),
    [({"approval": "REJECTED"}, "REJECTED"), ({"intent": "VERIFICATION"}, "VERIFICATION")],
)
def test_rejected_and_verification_plans_are_never_summed(
    tmp_path: Path, kw: dict[str, str], why: str
) -> None:
    ss = _ss(tmp_path)
    main = _plan(tmp_path, "MAIN", ss, fractions=25, rx=50.0)
    _plan(tmp_path, "OTHER", ss, fractions=5, rx=10.0, related=[(main, "PREDECESSOR")], **kw)
    assert _courses(tmp_path) == [["MAIN"], ["OTHER"]]
    assert why in " ".join(_findings(tmp_path)["plans-not-summed"])


def test_linked_plans_with_an_alternative_between_them_are_not_summed(tmp_path: Path) -> None:
    """A boost follows both A and B, which are alternatives: no course can be formed without a choice."""
    ss = _ss(tmp_path)
    a = _plan(tmp_path, "A", ss)
    c = _plan(tmp_path, "B", ss)
    _plan(
        tmp_path, "BOOST", ss, fractions=2, rx=8.0, related=[(a, "PREDECESSOR"), (c, "PREDECESSOR")]
    )
    assert _courses(tmp_path) == [["A"], ["B"], ["BOOST"]]
    notes = _findings(tmp_path)["plans-not-summed"]
    assert any(n.startswith("warning:") and "none is summed" in n for n in notes)


def test_the_user_sums_every_plan_or_chooses_plans(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    _plan(tmp_path, "IMRT", ss)
    _plan(tmp_path, "VMAT", ss)
    assert _courses(tmp_path, CourseSelection("all")) == [["IMRT", "VMAT"]]
    assert (
        "--course all was given" in _findings(tmp_path, CourseSelection("all"))["plans-summed"][0]
    )
    assert _courses(tmp_path, CourseSelection(plans=("VMAT",))) == [["VMAT"]]
    by_file = CourseSelection(plans=("rp_IMRT.dcm", b.uid("plan VMAT")))
    assert _courses(tmp_path, by_file) == [["IMRT", "VMAT"]]
    assert "chosen with --plan" in _findings(tmp_path, by_file)["plans-summed"][0]


def test_a_plan_that_is_not_there_is_an_error_listing_the_plans(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    _plan(tmp_path, "IMRT", ss)
    with pytest.raises(CourseError, match="no plan is called 'nope'") as info:
        load_courses(index_folder(tmp_path), selection=CourseSelection(plans=("nope",)))
    assert "'IMRT'" in (info.value.hint or "")


def test_a_missing_predecessor_is_reported(tmp_path: Path) -> None:
    ss = _ss(tmp_path)
    _plan(tmp_path, "BOOST", ss, fractions=2, rx=8.0, related=[(b.uid("absent"), "PREDECESSOR")])
    (note,) = _findings(tmp_path)["related-plan-missing"]
    assert "is not in the folder" in note and note.startswith(Severity.WARNING.value)


def test_a_course_that_loses_a_plan_is_not_evaluated(tmp_path: Path) -> None:
    """The boost's dose is stored in cGy but labelled GY: implausible, so the SIB is not evaluated alone."""
    ss = _ss(tmp_path)
    sib = _plan(tmp_path, "SIB", ss, fractions=10, rx=40.0)
    boost = b.uid("plan BOOST")
    b.write(
        b.rtplan(
            sop_uid=boost,
            label="BOOST",
            structure_set_uid=ss,
            fractions=(2,),
            prescription_gy=8.0,
            related=[(sib, "PREDECESSOR")],
        ),
        tmp_path / "rp_BOOST.dcm",
    )
    spec = b.DoseSpec(stored_gy=np.full(SHAPE, 816.0), sop_uid=b.uid("dose BOOST"), plan_uid=boost)
    b.write(b.rtdose(spec), tmp_path / "rd_BOOST.dcm")
    loaded = load_folder(index_folder(tmp_path))
    assert not loaded.courses
    codes = {f.code: f for f in loaded.all_findings}
    assert "dose-implausible" in codes and codes["course-incomplete"].severity == Severity.ERROR
    assert "--plan" in codes["course-incomplete"].message
    # the user can still evaluate the SIB plan alone
    assert _courses(tmp_path, CourseSelection(plans=("SIB",))) == [["SIB"]]
