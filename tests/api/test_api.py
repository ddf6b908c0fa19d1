"""The public Python API: loading, metrics, DVHs, evaluation, tables and plots.

Numbers come from two places: the exact contour-stack truth of a phantom
(``plancheck.phantoms``, closed form in a linear field) for the values, and
the internal functions the command line runs for the identity of the API's
numbers with theirs (``test_api_matches_cli.py`` compares with the CLI itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import plancheck
from plancheck.phantoms.build import standard_spec, write_phantom

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_plans"


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """A 15 mm sphere in a 0.5 Gy/mm oblique gradient, 30 Gy at its centre, 10 fractions."""
    spec = standard_spec(
        "sphere", radius_mm=15.0, dose_grid_mm=2.0, gradient="oblique", n_fractions=10
    )
    return write_phantom(spec, tmp_path_factory.mktemp("api-phantom"))


@pytest.fixture(scope="module")
def sample_course():
    return plancheck.load(SAMPLES / "spine_sib_pass").course


@pytest.fixture(scope="module")
def course_result():
    """The two-plan sample course evaluated: targets per plan and summed, organs in EQD2."""
    return plancheck.evaluate(SAMPLES / "spine_sib_seq_course")


def test_load_gives_the_courses_with_plans_structures_and_findings(phantom):
    folder = plancheck.load(phantom.directory)
    assert len(folder) == 1 and list(folder) == [folder.course] == [folder[0]]
    course = folder.course
    assert isinstance(course, plancheck.Course)
    (plan,) = course.plans
    assert isinstance(plan, plancheck.PlanInfo)
    assert plan.n_fractions == 10 and plan.dose_from == "PLAN dose"
    assert course.structure_names == ("Sphere",)
    assert course.structure_set.structures[0].has_volume
    assert all(isinstance(f, plancheck.Finding) for f in course.findings)


def test_metrics_match_the_phantoms_closed_form_truth(phantom):
    truth = phantom.truth("Sphere")
    table = plancheck.load(phantom.directory).course.metrics(
        ["Volume[cc]", "Mean[Gy]", "D95%[Gy]", "D5%[Gy]"]
    )
    # the engine's validated accuracy on phantoms (README: within 0.02 %), with margin
    assert table.get("Sphere", "Volume[cc]").value == pytest.approx(truth.volume_cc, rel=2e-3)
    assert table.get("Sphere", "Mean[Gy]").value == pytest.approx(truth.mean_gy, rel=2e-3)
    assert table.get("Sphere", "D95%[Gy]").value == pytest.approx(
        truth.dose_at_percent_gy(95), rel=2e-3
    )
    assert table.get("Sphere", "D5%[Gy]").value == pytest.approx(
        truth.dose_at_percent_gy(5), rel=2e-3
    )


def test_dvh_curve_matches_truth_and_has_no_residue(phantom):
    truth = phantom.truth("Sphere")
    dvh = plancheck.load(phantom.directory).course.dvh("sphere")  # case-insensitive name
    assert dvh.structure == "Sphere" and dvh.quantity == "physical"
    assert dvh.dose_gy.shape == dvh.cumulative_cc.shape
    inside = (dvh.dose_gy > truth.min_gy + 0.5) & (dvh.dose_gy < truth.max_gy - 0.5)
    expected = truth.volume_at_dose_cc(dvh.dose_gy[inside])
    assert np.max(np.abs(dvh.cumulative_cc[inside] - expected)) < 2e-3 * truth.volume_cc
    # nothing is received above the maximum: exact zeros, and the curve ends there
    assert np.all(dvh.cumulative_cc[dvh.dose_gy > dvh.max_gy] == 0.0)
    assert dvh.dose_gy[-1] <= dvh.max_gy + 2 * 0.001
    positive = dvh.cumulative_cc[dvh.cumulative_cc > 0]
    assert positive.min() > 1e-9 * dvh.volume_cc
    assert dvh.cumulative_pct[0] == pytest.approx(100.0)
    assert dvh.metric("Max[Gy]").value == dvh.max_gy
    with pytest.raises(ValueError):
        dvh.cumulative_cc[0] = 1.0  # read-only views


def test_biological_dvh_uses_the_plans_fraction_count(phantom):
    course = plancheck.load(phantom.directory).course
    physical = course.dvh("Sphere")
    eqd2 = course.dvh("Sphere", unit="EQD2Gy(a/b=3)")
    assert eqd2.quantity == "EQD2(a/b=3)"
    # EQD2 of the maximum (10 fractions, α/β 3): D (D/10 + 3) / (2 + 3), PHYSICS.md
    d = physical.max_gy
    assert eqd2.max_gy == pytest.approx(d * (d / 10 + 3) / 5, rel=1e-3)
    value = eqd2.metric("D0.03cc[EQD2Gy(a/b=3)]")
    assert value.defined and value.unit == "Gy EQD2(a/b=3)"
    with pytest.raises(ValueError, match="reads the"):
        eqd2.metric("D0.03cc[Gy]")
    with pytest.raises(ValueError, match="unit must be"):
        course.dvh("Sphere", unit="cc")


def test_undefined_metrics_are_none_with_a_reason_never_zero(phantom):
    table = plancheck.load(phantom.directory).course.metrics(["D1000cc[Gy]", "V95%[%]"])
    big = table.get("Sphere", "D1000cc[Gy]")
    assert big.value is None and not big.defined and "1000 cc" in big.reason
    assert table.get("Sphere", "V95%[%]").defined  # the plan states a prescription
    with pytest.raises(KeyError):
        table.get("Sphere", "Mean[Gy]")
    with pytest.raises(KeyError):
        table.get("Nothing", "D1000cc[Gy]")


def test_errors_are_plancheck_errors(phantom, tmp_path):
    course = plancheck.load(phantom.directory).course
    with pytest.raises(plancheck.MetricSyntaxError):
        course.metrics(["D95[Gy]"])
    with pytest.raises(plancheck.CourseError, match="no ROI named"):
        course.dvh("Liver")
    with pytest.raises(plancheck.CourseError, match="no plan labelled"):
        course.metrics(plan="nope")
    with pytest.raises(plancheck.CourseError, match="no plan with its dose"):
        plancheck.load(tmp_path)
    with pytest.raises(ValueError, match="end_caps"):
        plancheck.load(phantom.directory, end_caps="quarter")
    assert issubclass(plancheck.CourseError, plancheck.InputError)
    assert issubclass(plancheck.InputError, plancheck.PlancheckError)


def test_end_caps_option_changes_the_volume_as_documented(phantom):
    half = plancheck.load(phantom.directory, end_caps="half").course.metrics(["Volume[cc]"])
    none = plancheck.load(phantom.directory, end_caps="none").course.metrics(["Volume[cc]"])
    for caps, table in (("half", half), ("none", none)):
        from plancheck.model import EndCaps

        truth = phantom.truth("Sphere", EndCaps(caps))
        assert table.get("Sphere", "Volume[cc]").value == pytest.approx(truth.volume_cc, rel=2e-3)


def test_evaluate_a_path_or_a_course_gives_the_same_document():
    by_path = plancheck.evaluate(SAMPLES / "spine_sib_cord_fail")
    course = plancheck.load(SAMPLES / "spine_sib_cord_fail").course
    by_course = plancheck.evaluate(course, protocol="spine_sib_30Gy10_40Gy10")
    assert by_path.verdict == by_course.verdict == "FAIL"
    assert by_path.exit_code == by_course.exit_code == 1
    a, b = by_path.to_dict(), by_course.to_dict()
    for doc in (a, b):
        doc["provenance"].pop("created")
        doc["protocol"].pop("selected")  # chosen automatically vs named by the user
    assert a == b
    failed = [c for c in by_course.constraints if c.status == "fail"]
    assert failed and all(isinstance(c, plancheck.ConstraintResult) for c in failed)
    assert any(c.structure == "SpinalCord" for c in failed)
    for c in failed:  # a failure misses its goal, and its acceptable variation where one is set
        assert c.goal is not None and c.value is not None
        op, goal = c.goal.split()
        assert (c.value > float(goal)) if op == "<=" else (c.value < float(goal))
        if c.variation is not None:
            assert op == "<=" and c.value > float(c.variation.removeprefix("<= ")) > float(goal)
        assert f"{c.structure} {c.metric}" in by_course.verdict_line
    assert by_course.course is course
    with pytest.raises(ValueError, match="reading options"):
        plancheck.evaluate(course, strict=True)
    with pytest.raises(ValueError, match="plans, fractions: reading options"):
        plancheck.evaluate(course, plans=["SIB_30_40"], fractions=10)


def test_the_verdict_is_the_label_of_the_command_line():
    # spine_sib_pass: every graded constraint met its goal except the cord PRV's near-maximum,
    # which is within the protocol's acceptable variation: WARN, exit status 0
    result = plancheck.evaluate(SAMPLES / "spine_sib_pass")
    assert result.verdict == "WARN" and result.exit_code == 0
    (warned,) = [c for c in result.constraints if c.status == "warn"]
    assert warned.structure == "SpinalCord_PRV05" and warned.required
    assert warned.goal is not None and warned.variation is not None and warned.value is not None
    assert float(warned.goal.removeprefix("<= ")) < warned.value
    assert warned.value <= float(warned.variation.removeprefix("<= "))
    assert result.verdict_line.startswith("WARN — warnings: SpinalCord_PRV05")
    assert str(result).splitlines()[0] == "spine_sib_30Gy10_40Gy10: WARN (exit status 0)"
    assert "WARN" in repr(result) and "WARN" in result._repr_html_()


def test_accepting_a_mismatch_is_recorded_and_never_a_pass():
    # the 10-fraction SIB plan alone against the 12-fraction course protocol does not fit it
    folder = SAMPLES / "spine_sib_seq_course"
    strict = plancheck.evaluate(folder, "spine_sib_seq_48Gy12", plan="SIB_30_40")
    assert strict.verdict == "NOT EVALUABLE" and strict.exit_code == 3
    accepted = plancheck.evaluate(folder, "spine_sib_seq_48Gy12", plan="SIB_30_40", accept_mismatch=True)
    assert accepted.verdict != "PASS"
    assert accepted.to_dict()["provenance"]["settings"]["accept_mismatch"] is True
    assert "accepted by the user" in accepted.verdict_line


def test_to_dict_is_a_copy(sample_course):
    result = plancheck.evaluate(sample_course)
    doc = result.to_dict()
    doc["summary"]["verdict"]["label"] = "changed"
    assert result.to_dict()["summary"]["verdict"]["label"] == result.verdict


def test_data_frames(sample_course):
    pd = pytest.importorskip("pandas")
    table = sample_course.metrics(["D95%[Gy]", "D2cc[Gy]"], structures=["PTV", "SpinalCord"])
    wide = table.to_frame()
    assert list(wide.index) == ["PTV", "SpinalCord"] and list(wide.columns) == ["D95%[Gy]", "D2cc[Gy]"]
    assert wide.loc["SpinalCord", "D95%[Gy]"] == table.get("SpinalCord", "D95%[Gy]").value
    assert wide.attrs["units"]["D2cc[Gy]"] == "Gy"
    long = table.to_frame("long")
    assert list(long.columns) == ["structure", "metric", "value", "unit", "reason"] and len(long) == 4
    curve = sample_course.dvh("SpinalCord").to_frame()
    assert list(curve.columns) == ["dose_gy", "volume_cc", "volume_pct"]
    frame = plancheck.evaluate(sample_course).to_frame()
    assert isinstance(frame, pd.DataFrame) and "status" in frame.columns
    with pytest.raises(ValueError, match="layout"):
        table.to_frame("tall")  # type: ignore[arg-type]


def test_undefined_values_are_nan_in_a_wide_frame_with_their_reason(phantom):
    pytest.importorskip("pandas")
    table = plancheck.load(phantom.directory).course.metrics(["D1000cc[Gy]"])
    frame = table.to_frame()
    assert np.isnan(frame.loc["Sphere", "D1000cc[Gy]"])
    assert "1000 cc" in frame.attrs["undefined"][("Sphere", "D1000cc[Gy]")]


def test_missing_pandas_is_a_clear_error(sample_course, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    table = sample_course.metrics(["D95%[Gy]"], structures=["PTV"])
    with pytest.raises(plancheck.MissingDependencyError, match=r"plancheck\[pandas\]"):
        table.to_frame()


def test_pandas_is_not_imported_until_asked():
    import subprocess

    code = (
        "import sys, plancheck\n"
        f"c = plancheck.load({str(SAMPLES / 'spine_sib_pass')!r}).course\n"
        "t = c.metrics(['D95%[Gy]'], structures=['PTV'])\n"
        "t._repr_html_(); repr(t)\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
        "t.to_frame()\n"
        "assert 'pandas' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_html_tables_escape_every_string(sample_course):
    html = sample_course.metrics(["D95%[Gy]"], structures=["PTV"])._repr_html_()
    assert "<table" in html and "PTV" in html
    from plancheck._api.display import html_table

    made = html_table(["a<b"], [["<script>alert(1)</script>"]])
    assert "<script>" not in made and "&lt;script&gt;" in made
    for obj in (
        plancheck.load(SAMPLES / "spine_sib_pass"),
        sample_course,
        sample_course.dvh("SpinalCord"),
        plancheck.evaluate(sample_course),
    ):
        text = obj._repr_html_()
        assert text.startswith("<table") and text.count("<table") == text.count("</table>")


def test_a_dvh_plots_on_given_axes_and_never_beside_another_kind_of_dose(sample_course):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    dvh = sample_course.dvh("SpinalCord")
    assert dvh.plot(ax) is ax
    (line,) = ax.get_lines()
    x, y = line.get_data()
    assert np.array_equal(x, dvh.dose_gy) and np.allclose(y, dvh.cumulative_pct)
    assert ax.get_xlabel() == "Physical dose [Gy]"
    sample_course.dvh("CaudaEquina").plot(ax)  # the same kind of dose shares the axes
    eqd2 = sample_course.dvh("SpinalCord", unit="EQD2Gy(a/b=2)")
    with pytest.raises(ValueError, match="separate axes"):
        eqd2.plot(ax)
    assert len(ax.get_lines()) == 2  # nothing drawn by the refused call
    other = eqd2.plot(Figure().add_subplot())
    assert other.get_xlabel().startswith("EQD2 [Gy]")
    assert [t.get_text() for t in other.get_legend().get_texts()] == ["SpinalCord EQD2(a/b=2)"]


def test_each_outcome_names_the_plans_it_uses(course_result):
    plans = {p.label for p in course_result.course.plans}
    assert plans == {"SIB_30_40", "SEQ_BOOST_8"}
    graded = [c for c in course_result.constraints if c.graded]
    assert graded and all(c.status in ("pass", "warn", "fail") for c in graded)
    assert all(set(c.plans) <= plans and c.plans for c in course_result.constraints if c.value is not None)
    # the boost is evaluated per plan and on the course's sum; organs at risk on the sum
    boost = {c.plans for c in course_result.constraints if c.structure == "PTV_boost"}
    assert boost == {("SIB_30_40",), ("SEQ_BOOST_8",), ("SIB_30_40", "SEQ_BOOST_8")}
    (cord,) = [c for c in course_result.constraints if c.structure == "SpinalCord"]
    assert cord.plans == ("SIB_30_40", "SEQ_BOOST_8")
    assert f"SpinalCord {cord.metric} · SIB_30_40 + SEQ_BOOST_8 = " in str(course_result)
    assert not any(c.graded for c in course_result.constraints if c.status == "reported")


def test_evaluation_plot_draws_the_reports_panels(course_result):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from plancheck.report.plot import panel_of

    # the two-plan course: targets graded on physical doses, organs at risk in EQD2
    result = course_result
    doc = result.to_dict()
    figure = Figure()
    axes = result.plot(figure)
    assert all(ax.figure is figure for ax in axes)
    kinds = {panel_of(key) for s in doc["structures"] for key in s["curves"]}
    assert kinds == {"physical", "EQD2"} and len(axes) == 2
    physical, eqd2 = axes
    assert physical.get_xlabel().startswith("Physical dose [Gy]")
    assert eqd2.get_xlabel().startswith("EQD2 [Gy]")
    # each panel holds the curves of its own dose quantity only (its legend names them)
    for ax, kind in ((physical, "physical"), (eqd2, "EQD2")):
        shown = [t.get_text() for t in ax.get_legend().get_texts()]
        expected = {key for s in doc["structures"] for key in s["curves"] if panel_of(key) == kind}
        assert set(shown) == expected
    # the failed constraint (an EQD2 limit) is marked and labelled in the EQD2 panel only
    (failed,) = [c for c in result.constraints if c.status == "fail"]
    assert failed.metric.endswith("[EQD2Gy(a/b=2)]")
    label = f"FAIL {failed.id}"
    assert label in [t.get_text() for t in eqd2.texts]
    assert label not in [t.get_text() for t in physical.texts]
    # only some structures: by ROI name or by the protocol's name
    one = result.plot(Figure(), structures=["SpinalCord_PRV05"])
    assert len(one) == 1 and [line.get_color() for line in one[0].get_lines()]
    assert label in [t.get_text() for t in one[0].texts]
    assert len(result.plot(Figure(), structures=["SpinalCord + 5mm"])) == 1
    with pytest.raises(ValueError, match="no DVH of"):
        result.plot(Figure(), structures=["Liver"])


def test_plancheck_course_evaluate_is_plancheck_evaluate(sample_course):
    a = sample_course.evaluate().to_dict()
    b = plancheck.evaluate(sample_course).to_dict()
    a["provenance"].pop("created")
    b["provenance"].pop("created")
    assert a == b


def _alternatives(folder: Path, doses_gy: dict[str, float]) -> Path:
    """One structure set (a 6 mm square PTV on two planes) and per label a 10-fraction plan
    with a constant PLAN dose: every dose metric of the PTV is that constant."""
    from tests.dicom import builders as b

    ss = b.rtstruct(
        [b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(2, z)) for z in (33.0, 36.0)])],
        sop_uid=b.uid("ss"),
    )
    b.write(ss, folder / "rs.dcm")
    for label, dose_gy in doses_gy.items():
        uid = b.uid(f"plan {label}")
        b.write(
            b.rtplan(sop_uid=uid, label=label, structure_set_uid=str(ss.SOPInstanceUID)),
            folder / f"rp_{label}.dcm",
        )
        spec = b.DoseSpec(
            stored_gy=np.full((4, 6, 8), dose_gy),
            sop_uid=b.uid(f"dose {label}"),
            plan_uid=uid,
            pixel_spacing=(2.0, 2.0),
            image_position=(-7.0, -5.0, 30.0),
        )
        b.write(b.rtdose(spec), folder / f"rd_{label}.dcm")
    return folder


def test_alternative_plans_are_separate_courses_until_the_user_chooses(tmp_path):
    folder = _alternatives(tmp_path, {"IMRT": 31.0, "VMAT": 32.0})
    loaded = plancheck.load(folder)
    assert [[p.label for p in c.plans] for c in loaded] == [["IMRT"], ["VMAT"]]
    for course, dose_gy in zip(loaded, (31.0, 32.0), strict=True):
        assert course.metrics(["Mean[Gy]"]).get("PTV", "Mean[Gy]").value == pytest.approx(dose_gy)
    with pytest.raises(plancheck.CourseError, match="holds 2 courses") as refused:
        loaded.course  # noqa: B018
    assert "'IMRT' (10 fx)" in str(refused.value) and "'VMAT' (10 fx)" in str(refused.value)
    assert "--plan LABEL" in str(refused.value) and "--course all" in str(refused.value)
    with pytest.raises(plancheck.CourseError, match="holds 2 courses"):
        plancheck.evaluate(folder)
    # chosen: one plan, or both summed (a warning names them)
    vmat = plancheck.load(folder, plans="VMAT").course
    assert vmat.metrics(["Mean[Gy]"]).get("PTV", "Mean[Gy]").value == pytest.approx(32.0)
    both = plancheck.load(folder, course="all").course
    assert both.metrics(["Mean[Gy]"]).get("PTV", "Mean[Gy]").value == pytest.approx(63.0)
    summed = [f for f in both.findings if f.code == "plans-summed"]
    assert summed and summed[0].severity is plancheck.Severity.WARNING
    with pytest.raises(plancheck.CourseError, match="'nope'"):
        plancheck.load(folder, plans=["nope"])
    with pytest.raises(ValueError, match="course must be"):
        plancheck.load(folder, course="every")


def test_a_dose_without_its_plan_takes_its_fraction_count(tmp_path):
    folder = _alternatives(tmp_path, {"P": 30.0})
    (tmp_path / "rp_P.dcm").unlink()
    course = plancheck.load(folder).course
    assert "plan-missing" in {f.code for f in course.findings}
    eqd2 = course.metrics(["Mean[EQD2Gy(a/b=3)]"]).get("PTV", "Mean[EQD2Gy(a/b=3)]")
    assert eqd2.value is None and eqd2.reason
    told = plancheck.load(folder, fractions=10).course.metrics(["Mean[EQD2Gy(a/b=3)]"])
    # EQD2 of 30 Gy in 10 fractions, α/β 3: 30 (3 + 3) / (2 + 3) = 36 Gy (PHYSICS.md)
    assert told.get("PTV", "Mean[EQD2Gy(a/b=3)]").value == pytest.approx(36.0)
    with pytest.raises(ValueError, match="fractions"):
        plancheck.load(folder, fractions=0)


def test_a_folder_of_two_patients_is_refused_at_load(tmp_path):
    # as on the command line: a folder mixing patients is refused, never read course by course
    write_phantom(standard_spec("sphere", radius_mm=10.0, name="a"), tmp_path / "a")
    write_phantom(standard_spec("cylinder", radius_mm=10.0, name="b"), tmp_path / "b")
    with pytest.raises(plancheck.CourseError, match="2 courses of 2 patients") as refused:
        plancheck.load(tmp_path)
    assert "'a' (1 fx)" in str(refused.value) and "'b' (1 fx)" in str(refused.value)
    # each patient's folder loads
    for name, structure in (("a", "Sphere"), ("b", "Cylinder")):
        (course,) = plancheck.load(tmp_path / name)
        assert course.metrics(["Volume[cc]"]).get(structure, "Volume[cc]").defined


def test_a_folder_of_two_courses_of_one_patient():
    # prior and current courses on two structure sets (two frames of reference)
    folder = plancheck.load(SAMPLES / "spine_reirradiation")
    assert sorted(p.label for c in folder for p in c.plans) == ["SBRT_24", "SPINE_30"]
    with pytest.raises(plancheck.CourseError, match="holds 2 courses"):
        folder.course  # noqa: B018
    (current,) = plancheck.load(SAMPLES / "spine_reirradiation", plans=["SBRT_24"])
    assert [p.label for p in current.plans] == ["SBRT_24"]


def test_evaluate_checks_its_reading_options():
    with pytest.raises(ValueError, match="end_caps"):
        plancheck.evaluate(SAMPLES / "spine_sib_pass", end_caps="quarter")
    with pytest.raises(plancheck.ProtocolError, match="exclude"):
        plancheck.evaluate(SAMPLES / "spine_sib_pass", strict=True, lenient=True)


def test_strict_applies_to_a_loaded_course_as_to_evaluate_strict(tmp_path):
    # the planning system's DVHs stored in the RTDOSE are plancheck's own curves (0.1 Gy bins);
    # the dose grid is then scaled by 1.15, so plancheck reads 1.15 × what the system stored
    # (scaled up: the stored curves stay below the grid's maximum, so reading finds nothing and
    # only the evaluation's cross-check can refuse it)
    import pydicom
    from click.testing import CliRunner

    from plancheck.cli import main
    from plancheck.phantoms.spine import write_spine
    from tests.dicom.builders import dvh_item

    paths = write_spine("sib-pass", tmp_path / "course")
    course = plancheck.load(paths.directory).course
    numbers = {s.name: s.roi_number for s in course.structure_set.structures}
    items = []
    for name in ("PTV_boost", "PTV", "SpinalCord", "CaudaEquina", "Bowel_Bag"):
        dvh = course.dvh(name)
        edges = np.arange(0.0, float(dvh.dose_gy[-1]) + 0.1, 0.1)
        volumes = np.interp(edges, dvh.dose_gy, dvh.cumulative_cc)
        items.append(dvh_item(numbers[name], [0.1] * len(edges), list(volumes)))
    (rtdose,) = paths.rtdoses
    ds = pydicom.dcmread(rtdose)
    ds.DVHSequence = items
    ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * 1.15:.8g}"
    ds.save_as(rtdose)

    result = plancheck.load(paths.directory).course.evaluate()
    assert result.verdict != "PASS" and "1.15 × the planning system's" in result.verdict_line
    cli = CliRunner().invoke(main, ["evaluate", str(paths.directory), "--strict"])
    assert cli.exit_code == 3
    strict_course = plancheck.load(paths.directory, strict=True).course
    with pytest.raises(plancheck.InputError, match="--strict") as refused:
        strict_course.evaluate()
    assert cli.stderr.strip() == f"plancheck: error: {refused.value}"
    with pytest.raises(plancheck.InputError, match="--strict"):
        plancheck.evaluate(paths.directory, strict=True)
