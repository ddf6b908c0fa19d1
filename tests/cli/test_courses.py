"""Which plans ``dvh`` and ``evaluate`` evaluate: alternatives, chosen plans, doses without a plan.

Folders are written by :mod:`tests.dicom.builders`: one structure set (a 6 mm
square PTV on two planes) and plans whose PLAN doses are constants, so every
expected metric is that constant (or a sum of constants).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from plancheck.cli import main
from tests.dicom import builders as b

SHAPE = (4, 6, 8)  # a grid of 8 x 6 x 4 points covering the PTV


def _folder(tmp: Path, plans: dict[str, float], *, with_plans: bool = True) -> Path:
    """One structure set and, per label, a 10-fraction 30 Gy plan with a constant PLAN dose."""
    ss = b.rtstruct(
        [b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(2, z)) for z in (33.0, 36.0)])],
        sop_uid=b.uid("ss"),
    )
    b.write(ss, tmp / "rs.dcm")
    for label, dose_gy in plans.items():
        uid = b.uid(f"plan {label}")
        if with_plans:
            b.write(
                b.rtplan(sop_uid=uid, label=label, structure_set_uid=str(ss.SOPInstanceUID)),
                tmp / f"rp_{label}.dcm",
            )
        spec = b.DoseSpec(
            stored_gy=np.full(SHAPE, dose_gy),
            sop_uid=b.uid(f"dose {label}"),
            plan_uid=uid,
            pixel_spacing=(2.0, 2.0),
            image_position=(-7.0, -5.0, 30.0),
        )
        b.write(b.rtdose(spec), tmp / f"rd_{label}.dcm")
    return tmp


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def _mean(doc: dict, name: str = "PTV") -> float:  # type: ignore[type-arg]
    return next(s for s in doc["structures"] if s["name"] == name)["metrics"]["Mean[Gy]"]


def test_alternatives_give_one_dvh_report_each(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "set", {"IMRT": 31.0, "VMAT": 32.0})
    out = tmp_path / "dvh.json"
    result = run("dvh", str(folder), "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["kind"] == "plancheck-dvh-reports"
    means = {r["evaluated_plans"][0]["label"]: _mean(r) for r in doc["reports"]}
    assert means == {"IMRT": 31.0, "VMAT": 32.0}
    table = run("dvh", str(folder))
    assert table.exit_code == 0 and "IMRT" in table.stdout and "VMAT" in table.stdout
    csv = run("dvh", str(folder), "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("plans,structure,")
    assert {line.split(",")[0] for line in csv.stdout.splitlines()[1:]} == {"IMRT", "VMAT"}


def test_evaluate_refuses_alternatives_and_says_how_to_choose(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"IMRT": 31.0, "VMAT": 32.0})
    result = run("evaluate", str(folder))
    assert result.exit_code == 3
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1
    assert "'IMRT' (10 fx)" in error and "'VMAT' (10 fx)" in error
    assert "look like alternatives" in error and "--plan LABEL" in error and "--course all" in error


def test_plans_chosen_or_summed_by_the_user(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "set", {"IMRT": 31.0, "VMAT": 32.0})
    out = tmp_path / "dvh.json"
    assert run("dvh", str(folder), "--plan", "VMAT", "--format", "json", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    assert _mean(doc) == 32.0
    assert "plans-not-evaluated" in {f["code"] for f in doc["findings"]}
    result = run("dvh", str(folder), "--course", "all", "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert _mean(doc) == 63.0
    (summed,) = [f for f in doc["findings"] if f["code"] == "plans-summed"]
    assert summed["severity"] == "warning" and "'IMRT'" in summed["message"]
    # --strict accepts a sum the user asked for, and refuses one that was not asked for
    assert run("dvh", "--strict", "--course", "all", str(folder)).exit_code == 0
    unknown = run("dvh", str(folder), "--plan", "nope")
    assert unknown.exit_code == 3 and "no plan is called 'nope'" in unknown.stderr


def test_a_dose_without_its_plan_gives_physical_metrics_and_takes_fractions(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "set", {"P": 30.0}, with_plans=False)
    out = tmp_path / "dvh.json"
    result = run("dvh", str(folder), "--format", "json", "-o", str(out), "-m", "Mean[EQD2Gy(a/b=3)]")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert _mean(doc) == 30.0
    assert "plan-missing" in {f["code"] for f in doc["findings"]}
    ptv = doc["structures"][0]
    assert ptv["metrics"]["Mean[EQD2Gy(a/b=3)]"] is None
    args = ["dvh", str(folder), "--fractions", "10", "--format", "json", "-o", str(out)]
    result = run(*args, "-m", "Mean[EQD2Gy(a/b=3)]")
    assert result.exit_code == 0, result.output
    ptv = json.loads(out.read_text())["structures"][0]
    # 30 Gy in 10 fractions, α/β 3 Gy: EQD2 = 30 (3 + 3) / (2 + 3) = 36 Gy
    assert abs(ptv["metrics"]["Mean[EQD2Gy(a/b=3)]"] - 36.0) < 1e-3


def test_fractions_must_be_positive(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"P": 30.0}, with_plans=False)
    assert run("dvh", str(folder), "--fractions", "0").exit_code == 2


def test_a_plan_chosen_out_of_a_course_is_a_warning_in_the_verdict(tmp_path: Path) -> None:
    # the sequential boost names the SIB plan as its PREDECESSOR: automatic grouping sums them,
    # so evaluating the SIB plan alone leaves the boost's dose out of the organs' dose
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "ev.json"
    course = repo / "sample_plans" / "spine_sib_seq_course"
    result = run("evaluate", str(course), "--plan", "SIB_30_40", "--format", "json", "-o", str(out))
    doc = json.loads(out.read_text())
    (part,) = [f for f in doc["findings"] if f["code"] == "course-part-evaluated"]
    assert part["severity"] == "warning" and "'SEQ_BOOST_8'" in part["message"]
    verdict = doc["summary"]["verdict"]
    assert verdict["label"] == "WARN" and result.exit_code == 0
    assert any("'SEQ_BOOST_8'" in w for w in verdict["warnings"]), verdict
    # alternatives are a choice, not a part: an information only (test above)


def test_dose_levels_of_plans_absent_are_not_evaluated_even_when_accepted(tmp_path: Path) -> None:
    # the boost plan alone against the two-plan protocol, mismatch accepted: the 30 Gy level is
    # delivered by the protocol's plan 1, which is absent, so its targets get no value (reading
    # the 8 Gy boost's dose against 30 Gy would "fail" PTV V95% at 0 %, or pass a hot plan)
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "ev.json"
    course = repo / "sample_plans" / "spine_sib_seq_course"
    args = ["--plan", "SEQ_BOOST_8", "--protocol", "spine_sib_seq_48Gy12", "--accept-mismatch"]
    result = run("evaluate", str(course), *args, "--format", "json", "-o", str(out))
    doc = json.loads(out.read_text())
    low = [c for c in doc["constraints"] if c["dose_level"] == "low" and c["graded"]]
    assert low and all(c["status"] == "not-evaluated" and c["value"] is None for c in low)
    assert all("no plan of the course was paired with" in c["reason"] for c in low)
    assert doc["summary"]["verdict"]["label"] == "INCOMPLETE" and result.exit_code == 3
