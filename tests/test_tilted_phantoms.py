"""Tilted and oblique phantoms through written DICOM: every metric within 1 % of closed-form truth.

Each phantom is built in its contour frame (shapes, contour planes, linear
dose field, exact truth of the prism stack: :mod:`plancheck.phantoms.truth`)
and written with that frame turned in the patient: contours at ``F @ (u, v, w)``
in the RTSTRUCT, an RTDOSE whose rows, columns and frames run along ``F``'s
axes (optionally turned in-plane), and an RTPLAN. A rotation carries the prism
stack and the linear field along unchanged, so the truth is that of the files.
``plancheck dvh`` must read both frames, bring the contours into the grid's
frame and reproduce the truth: the 1 % criterion of the project's accuracy
goal, for every metric.

MR-based plans are tilted by fractions of a degree (ImageOrientationPatient
[0.999998, 0, -0.001745, ...] is 0.1° about y): the tilts 0.1°, 1° and 5°
about x and about y cover that and beyond; the oblique frame turns about all
three axes.

Min and Max are compared with the same phantom written axially instead (the
tilt must not change them, 0.1 %), and Max with the truth: the engine's
minimum of flat-faced shapes in a steep oblique gradient lies up to half a
sample's dose spread (about 1.1 % here) below the exact one, axial or not; that
is a property of the DVH engine's sampling, not of the geometry tested here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.dicom.rtdose import read_rtdose
from plancheck.dicom.rtstruct import read_rtstruct
from plancheck.errors import UnsupportedDataError
from plancheck.model import EndCaps
from plancheck.phantoms.build import PhantomCase, frame_about, standard_spec, write_phantom

METRICS = {
    "Volume[cc]": None,
    "Mean[Gy]": None,
    "Max[Gy]": None,
    "D98%[Gy]": 98.0,
    "D95%[Gy]": 95.0,
    "D50%[Gy]": 50.0,
    "D5%[Gy]": 5.0,
    "D2%[Gy]": 2.0,
    "D0.03cc[Gy]": None,
}

OBLIQUE = frame_about(("x", 30.0), ("y", 40.0), ("z", 50.0))

CASES = [
    # id, shape, frame, dose grid turned in-plane (deg), orientation
    ("x-0.1deg", "sphere", frame_about(("x", 0.1)), 0.0, "HFS"),
    ("x-1deg", "cylinder", frame_about(("x", 1.0)), 0.0, "FFS"),
    ("x-5deg", "sphere", frame_about(("x", 5.0)), 0.0, "HFP"),
    ("y-0.1deg", "cylinder", frame_about(("y", 0.1)), 0.0, "FFP"),
    ("y-1deg", "sphere", frame_about(("y", 1.0)), 0.0, "HFS"),
    ("y-5deg", "cone", frame_about(("y", 5.0)), 0.0, "FFS"),
    ("oblique", "cylinder", OBLIQUE, 0.0, "HFS"),
    ("oblique-grid-turned-in-plane", "sphere", OBLIQUE, 25.0, "HFP"),
    ("axial-grid-turned-in-plane", "ring", None, 10.0, "HFS"),
]


def _write(tmp_path: Path, shape: str, frame, turn: float, orientation: str) -> PhantomCase:  # type: ignore[no-untyped-def]
    spec = standard_spec(
        shape,
        radius_mm=15.0,
        centre_mm=(4.3, -6.1, 11.4),
        gradient="oblique",
        gradient_gy_per_mm=0.6,
        dose_at_centre_gy=30.0,
        contour_spacing_mm=2.0,
        dose_grid_mm=2.5,
        orientation=orientation,
        contour_frame=frame,
        dose_in_plane_deg=turn,
    )
    return write_phantom(spec, tmp_path / "case")


def _metrics(case: PhantomCase, tmp_path: Path) -> dict[str, float]:
    out = tmp_path / "dvh.json"
    args = ["dvh", str(case.directory), "--format", "json", "-o", str(out), "--end-caps", "half"]
    for m in [*METRICS, "Min[Gy]"]:
        args += ["-m", m]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (structure,) = json.loads(out.read_text())["structures"]
    return structure["metrics"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("shape", "frame", "turn", "orientation"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_tilted_phantom_metrics_match_closed_form_truth(
    tmp_path: Path,
    shape: str,
    frame,
    turn: float,
    orientation: str,  # type: ignore[no-untyped-def]
) -> None:
    case = _write(tmp_path, shape, frame, turn, orientation)
    # the files really are tilted: neither the grid nor the contours are axial unless asked
    grid = read_rtdose(case.rtdose_path).grid
    ss = read_rtstruct(case.rtstruct_path)
    if frame is not None:
        assert not grid.is_axial and not np.array_equal(ss.axes, np.eye(3))
    if turn:
        assert not grid.is_axial
    truth = case.truth(case.build.structures[0].name, EndCaps.HALF)
    m = _metrics(case, tmp_path)
    expected = {
        "Volume[cc]": truth.volume_cc,
        "Mean[Gy]": truth.mean_gy,
        "Min[Gy]": truth.min_gy,
        "Max[Gy]": truth.max_gy,
        "D0.03cc[Gy]": truth.dose_at_volume_gy(0.03),
    }
    for metric, percent in METRICS.items():
        want = expected[metric] if percent is None else truth.dose_at_percent_gy(percent)
        assert m[metric] == pytest.approx(want, rel=0.01), (metric, m[metric], want)
    # the same phantom written axially: the tilt changes neither Min nor Max
    twin = _metrics(_write(tmp_path / "axial", shape, None, turn, "HFS"), tmp_path / "axial")
    for metric in ("Min[Gy]", "Max[Gy]"):
        assert m[metric] == pytest.approx(twin[metric], rel=1e-3), (metric, m[metric], twin[metric])


def test_contours_tilted_against_an_axial_dose_grid_are_refused(tmp_path: Path) -> None:
    """Contours on planes tilted 1° against the dose grid's frames: refused, with the distance."""
    from plancheck.dvh_report import compute_dvh_report
    from plancheck.phantoms.build import build_phantom
    from plancheck.pipeline import load_single_course

    spec = standard_spec("sphere", radius_mm=15.0, contour_frame=frame_about(("x", 1.0)))
    case = write_phantom(spec, tmp_path / "tilted")
    # rewrite the dose on an axial grid: same points, identity frame
    from dataclasses import replace

    import pydicom

    from plancheck.dicom.write import DicomContext, rtdose_dataset, write_dataset

    axial = replace(build_phantom(spec).dose, axes=np.eye(3))
    ds = pydicom.dcmread(case.rtdose_path)
    ctx = DicomContext(
        patient=read_rtstruct(case.rtstruct_path).patient,
        study_instance_uid=ds.StudyInstanceUID,
        frame_of_reference_uid=ds.FrameOfReferenceUID,
    )
    new = rtdose_dataset(
        ctx,
        axial,
        sop_instance_uid=ds.SOPInstanceUID,
        series_instance_uid=ds.SeriesInstanceUID,
        referenced_plan_uid=ds.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID,
    )
    write_dataset(new, case.rtdose_path)
    course = load_single_course(case.directory)
    with pytest.raises(
        UnsupportedDataError, match=r"tilted by 1° .* up to \d+(\.\d+)? mm off the grid planes"
    ):
        compute_dvh_report(course)
    result = CliRunner().invoke(main, ["dvh", str(case.directory)])
    assert result.exit_code == 3 and "off the grid planes" in result.output
