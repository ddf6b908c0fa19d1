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
    assert by_path.verdict == by_course.verdict == "fail"
    assert by_path.exit_code == by_course.exit_code == 1
    a, b = by_path.to_dict(), by_course.to_dict()
    for doc in (a, b):
        doc["provenance"].pop("created")
        doc["protocol"].pop("selected")  # chosen automatically vs named by the user
    assert a == b
    failed = [c for c in by_course.constraints if c.status == "fail"]
    assert failed and all(isinstance(c, plancheck.ConstraintResult) for c in failed)
    assert any(c.structure == "SpinalCord" for c in failed)
    assert by_course.course is course
    with pytest.raises(ValueError, match="reading options"):
        plancheck.evaluate(course, strict=True)


def test_to_dict_is_a_copy(sample_course):
    result = plancheck.evaluate(sample_course)
    doc = result.to_dict()
    doc["summary"]["outcome"] = "changed"
    assert result.to_dict()["summary"]["outcome"] == result.verdict


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


def test_plots_draw_on_given_axes(sample_course):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    dvh = sample_course.dvh("SpinalCord")
    assert dvh.plot(ax) is ax
    (line,) = ax.get_lines()
    x, y = line.get_data()
    assert np.array_equal(x, dvh.dose_gy) and np.allclose(y, dvh.cumulative_pct)
    ax2 = Figure().add_subplot()
    result = plancheck.evaluate(sample_course)
    assert result.plot(ax2, structures=["SpinalCord"]) is ax2
    assert {t.get_text() for t in ax2.get_legend().get_texts()} >= {"SpinalCord EQD2(a/b=2)"}


def test_plancheck_course_evaluate_is_plancheck_evaluate(sample_course):
    a = sample_course.evaluate().to_dict()
    b = plancheck.evaluate(sample_course).to_dict()
    a["provenance"].pop("created")
    b["provenance"].pop("created")
    assert a == b


def test_a_folder_of_two_courses(tmp_path):
    write_phantom(standard_spec("sphere", radius_mm=10.0, name="a"), tmp_path / "a")
    write_phantom(standard_spec("cylinder", radius_mm=10.0, name="b"), tmp_path / "b")
    folder = plancheck.load(tmp_path)
    assert sorted(c.structure_names for c in folder) == [("Cylinder",), ("Sphere",)]
    with pytest.raises(plancheck.CourseError, match="holds 2 courses"):
        folder.course  # noqa: B018
    # each course computes on its own
    for course in folder:
        (name,) = course.structure_names
        assert course.metrics(["Volume[cc]"]).get(name, "Volume[cc]").defined


def test_evaluate_checks_its_reading_options():
    with pytest.raises(ValueError, match="end_caps"):
        plancheck.evaluate(SAMPLES / "spine_sib_pass", end_caps="quarter")
    with pytest.raises(plancheck.ProtocolError, match="exclude"):
        plancheck.evaluate(SAMPLES / "spine_sib_pass", strict=True, lenient=True)
