"""The shipped re-irradiation protocol on the passing and failing phantoms, and what it assumes.

Expected outcomes come from the phantom's truth (module docstring of
:mod:`plancheck.phantoms.reirradiation`, checked in ``test_cumulative_truth``):
thecal sac EQD2 (α/β 2) near-maxima of 57.2 Gy cumulative and 18.6 Gy for the
SBRT course (ratio 0.33) in ``rotation``; 86.8 Gy and 48.3 Gy (ratio 0.56) in
``rotation-fail``; HyTEC's limits 70 Gy, 25 Gy and 0.5. The interval is
from the prior course's last fraction (2023-01-27, its RT Treatment Summary
Record) to the current plan's date (2024-03-04): 402 days, 13.2 months.
"""

from __future__ import annotations

import json

import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.phantoms.reirradiation import write_reirradiation
from plancheck.pipeline import evaluate_folder
from plancheck.protocol.outcome import Status
from plancheck.reirradiation import PriorRequest

PROTOCOL = "spine_reirradiation_sbrt"
INTERVAL_DAYS = 402  # 2023-01-27 to 2024-03-04


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("reirradiation")
    return {v: write_reirradiation(v, root / v) for v in ("rotation", "rotation-fail")}


def outcome(evaluation, structure, dose):
    suffix = "" if dose == "current" else f" ({dose})"
    (o,) = [
        o
        for o in evaluation.result.outcomes
        if o.structure == structure and o.metric == f"D0.03cc[EQD2Gy(a/b=2)]{suffix}"
    ]
    return o


def hytec(evaluation):
    return (
        outcome(evaluation, "ThecalSac", "cumulative"),
        outcome(evaluation, "ThecalSac", "current"),
        outcome(evaluation, "ThecalSac", "current/cumulative"),
        next(o for o in evaluation.result.outcomes if o.kind == "interval"),
    )


def test_passing_phantom_passes_every_hytec_limit(written):
    paths = written["rotation"]
    ev = evaluate_folder(paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,)))
    cumulative, current, ratio, interval = hytec(ev)
    assert [o.status for o in (cumulative, current, ratio, interval)] == [Status.PASS] * 4
    assert ratio.unit == "" and ratio.value == pytest.approx(current.value / cumulative.value)
    assert interval.value == pytest.approx(INTERVAL_DAYS / (365.25 / 12))
    assert ev.verdict.label == "PASS" and ev.return_code == 0


def test_failing_phantom_fails_the_cumulative_course_and_ratio_limits(written):
    paths = written["rotation-fail"]
    ev = evaluate_folder(paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,)))
    cumulative, current, ratio, interval = hytec(ev)
    assert (cumulative.status, current.status, ratio.status) == (Status.FAIL, Status.FAIL, Status.FAIL)
    assert cumulative.value > 70 and current.value > 25 and ratio.value > 0.5
    assert interval.status is Status.PASS
    assert ev.verdict.label == "FAIL" and ev.return_code == 1


def test_without_a_prior_course_the_protocol_is_never_a_pass(written):
    ev = evaluate_folder(written["rotation"].current_dir, PROTOCOL)
    cumulative, current, ratio, interval = hytec(ev)
    assert current.status is Status.PASS
    for o in (cumulative, ratio, interval):
        assert o.status is Status.NOT_EVALUATED and "--prior" in o.reason
    assert ev.return_code == 3


def test_protocol_is_chosen_by_whether_a_prior_course_is_given(written):
    paths = written["rotation"]
    assert evaluate_folder(paths.current_dir).protocol.name == "spine_sbrt_24Gy2"
    with_prior = evaluate_folder(paths.current_dir, priors=PriorRequest((paths.prior_dir,)))
    assert with_prior.protocol.name == PROTOCOL


def test_recovery_discount_is_used_only_when_set_and_recorded(written):
    paths = written["rotation"]
    full = evaluate_folder(paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,)))
    half = evaluate_folder(
        paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,), recovery_percent=50.0)
    )
    assert full.reirradiation.to_dict()["recovery_percent"] == 0.0
    assert not any(f.code == "prior-recovery-assumed" for f in full.findings)
    assert any(f.code == "prior-recovery-assumed" for f in half.findings)
    # at every point cumulative = current + w * prior; the near-maximum lies between the
    # current course's and the undiscounted cumulative's
    c_full = outcome(full, "ThecalSac", "cumulative").value
    c_half = outcome(half, "ThecalSac", "cumulative").value
    current = outcome(half, "ThecalSac", "current").value
    prior = outcome(half, "ThecalSac", "prior").value
    assert current < c_half < c_full
    assert c_half <= current + 0.5 * prior + 1e-6
    assert outcome(half, "ThecalSac", "prior").value == pytest.approx(outcome(full, "ThecalSac", "prior").value)


def test_stated_prior_date_sets_the_interval(written):
    paths = written["rotation"]
    ev = evaluate_folder(
        paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,), prior_dates=("2023-12-04",))
    )
    interval = hytec(ev)[3]
    assert interval.status is Status.FAIL  # 91 days: 3.0 months < 5
    assert interval.value == pytest.approx(91 / (365.25 / 12))


def test_prior_course_of_another_patient_blocks_a_pass(tmp_path):
    paths = write_reirradiation("rotation", tmp_path / "course")
    for f in paths.prior_dir.iterdir():
        ds = pydicom.dcmread(f)
        ds.PatientID = "SOMEONE-ELSE"
        ds.save_as(f)
    ev = evaluate_folder(paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,)))
    assert ev.verdict.label == "NOT EVALUABLE" and ev.return_code == 3
    assert any("prior-patient-mismatch" in reason for reason in ev.verdict.blocking)


def test_command_line_reports_registration_and_curves(written, tmp_path):
    paths = written["rotation"]
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        ["evaluate", str(paths.current_dir), "--prior", str(paths.prior_dir), "--format", "json", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    section = doc["reirradiation"]
    (prior,) = section["priors"]
    assert prior["registration"]["matrix_type"] == "RIGID"
    assert prior["registration"]["registrations"][0]["path"].endswith("RE.REGISTRATION.dcm")
    assert section["recovery_percent"] == 0.0 and "no recovery" in section["recovery_note"]
    plotted = {d["structure"]: d for d in section["dvhs"]}
    assert set(plotted) == {"SpinalCord", "CaudaEquina", "ThecalSac"}
    for d in plotted.values():
        assert set(d["doses"]) == {"prior", "current", "cumulative"}
        assert all(item["curve"]["dose_gy"] for item in d["doses"].values())


def test_prior_options_need_a_prior(written):
    result = CliRunner().invoke(
        main, ["evaluate", str(written["rotation"].current_dir), "--prior-recovery", "10"]
    )
    assert result.exit_code == 2 and "needs --prior" in result.output


def test_html_and_table_show_the_registration_interval_and_curves(written, tmp_path):
    from plancheck.pipeline import evaluate_plan
    from plancheck.report.html import render_html
    from plancheck.report.reirradiation import reirradiation_lines

    paths = written["rotation"]
    doc = evaluate_plan(paths.current_dir, PROTOCOL, priors=PriorRequest((paths.prior_dir,)))
    html = render_html(doc)
    assert 'id="reirradiation"' in html and 'id="reirradiation-figure"' in html
    assert "RE.REGISTRATION.dcm" in html and "402 days" in html and "no recovery assumed" in html
    lines = reirradiation_lines(doc)
    assert any("RIGID registration from" in line for line in lines)
    # the matrix as applied (current -> prior): its translation column is the phantom's
    assert any(line.split()[-1] == "12.30000" for line in lines)
    without = evaluate_plan(paths.current_dir, "spine_sbrt_24Gy2")
    assert "reirradiation" not in without and reirradiation_lines(without) == []


def test_a_prior_course_with_a_first_course_protocol_is_never_a_plain_pass(written):
    # the failing phantom's cumulative thecal sac (86.8 Gy EQD2) is far above 70 Gy; a first-course
    # SBRT protocol grades the current course only: with --prior and such a protocol the verdict
    # must say that the prior dose is not checked (a warning in the verdict, never a plain PASS)
    paths = written["rotation-fail"]
    ev = evaluate_folder(paths.current_dir, "spine_sbrt_24Gy2", priors=PriorRequest((paths.prior_dir,)))
    assert ev.verdict.label != "PASS"
    assert any("grades no prior or cumulative dose" in w for w in ev.verdict.warnings), ev.verdict
    assert "prior-dose-not-graded" in {f.code for f in ev.findings}
