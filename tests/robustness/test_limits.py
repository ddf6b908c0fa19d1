"""Resource limits that hold: huge headers, junk that begins like DICOM, header-only info,
duplicated UIDs and unreadable files next to a good course.

No test is timed: each asserts what was (not) read, or that a walk stopped
within a bound.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.dicom import _integrity, _read, rtdose
from plancheck.dicom.course import load_courses
from plancheck.dicom.discover import index_folder
from plancheck.errors import DicomReadError, UnsupportedDataError
from plancheck.pipeline import load_single_course
from tests.dicom import builders as b
from tests.robustness.corpus import good_set

GIB = 1024**3
SAMPLE = Path(__file__).parents[2] / "sample_plans" / "spine_sib_pass"


def _meta_only(path: Path) -> None:
    """A valid preamble and file meta information (explicit VR little endian), nothing else."""
    ds = b.ct_image()
    b.write(ds, path)
    data = path.read_bytes()
    end = _integrity.dataset_offset(path)
    path.write_bytes(data[:end])


def test_a_16_bit_grid_of_a_billion_voxels_is_refused_from_its_header() -> None:
    """1024³ voxels at 16 bits are 2 GiB of pixel data, which a byte limit let through."""
    ds = b.rtdose(b.DoseSpec(stored_gy=np.ones((2, 2, 2)), bits=16))
    ds.Rows, ds.Columns, ds.NumberOfFrames = 1024, 1024, 1024
    ds.GridFrameOffsetVector = [str(float(k)) for k in range(1024)]
    with pytest.raises(UnsupportedDataError, match="1,073,741,824 voxels"):
        rtdose.dose_header_from_dataset(ds)
    assert rtdose.MAX_VOXELS < 1024**3


def test_info_reads_no_pixel_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(SAMPLE, folder)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixel data decoded")

    monkeypatch.setattr(rtdose, "_stored_values", refuse)
    runner = CliRunner()
    info = runner.invoke(main, ["info", str(folder), "--format", "json"])
    assert info.exit_code == 0, info.output
    dvh = runner.invoke(main, ["dvh", str(folder)])  # the patch is effective: dvh must decode
    assert dvh.exit_code != 0 and "pixel data decoded" in dvh.output


def test_a_gibibyte_of_zeros_after_a_dicom_header_is_abandoned_unparsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sparse 1 GiB file: preamble, file meta, then zeros. pydicom never sees it."""
    path = tmp_path / "big.dcm"
    _meta_only(path)
    with path.open("r+b") as fh:
        fh.truncate(GIB)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pydicom parsed the junk")

    monkeypatch.setattr(_read.pydicom, "dcmread", refuse)
    monkeypatch.setattr(_integrity, "MAX_ELEMENTS", 16)  # refused by structure, well before any bound
    with pytest.raises(DicomReadError, match="not readable as DICOM: element"):
        _read.read_dataset(path)
    index = index_folder(tmp_path)
    assert [s.path.name for s in index.unreadable] == ["big.dcm"]


def test_random_bytes_after_a_dicom_header_are_refused_within_a_few_elements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    for k in range(20):
        path = tmp_path / f"junk{k}.dcm"
        _meta_only(path)
        with path.open("ab") as fh:
            fh.write(rng.integers(0, 256, 1 << 16, dtype=np.uint8).tobytes())
        monkeypatch.setattr(_integrity, "MAX_ELEMENTS", 64)
        problem = _integrity.structure_problem(path, True)
        assert problem is not None and "more than" not in problem.reason, problem


def test_the_element_walk_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Well-formed elements in ascending order, each empty: the walk stops at MAX_ELEMENTS."""
    path = tmp_path / "many.dcm"
    _meta_only(path)
    with path.open("ab") as fh:
        for k in range(5000):  # (0009,xxxx) UN elements of length 0, ascending
            fh.write(b"\x09\x00" + k.to_bytes(2, "little") + b"UN\x00\x00" + b"\x00\x00\x00\x00")
    monkeypatch.setattr(_integrity, "MAX_ELEMENTS", 1000)
    problem = _integrity.structure_problem(path, True)
    assert problem is not None and "more than 1,000 data elements" in problem.reason
    monkeypatch.setattr(_integrity, "MAX_ELEMENTS", 10_000)
    assert _integrity.structure_problem(path, True) is None


def test_copies_of_a_uid_with_different_content_are_errors_on_both(tmp_path: Path) -> None:
    """A good course, and two BEAM doses of its plan that claim one UID but differ."""
    case = good_set(tmp_path)
    for name, factor in (("RD.a.dcm", 1.0), ("RD.b.dcm", 1.1)):
        ds = pydicom.dcmread(case.rtdose_path)
        ds.SOPInstanceUID = b.uid("shared uid")
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.DoseSummationType = "BEAM"
        ds.DoseGridScaling = f"{float(ds.DoseGridScaling) * factor:.10g}"
        ds.save_as(tmp_path / name)
    course = load_single_course(tmp_path)
    errors = [f for f in course.findings if f.code == "duplicate-sop-instance-uid-differs"]
    assert sorted(Path(f.path or "").name for f in errors) == ["RD.a.dcm", "RD.b.dcm"]
    assert all(f.severity.value == "error" for f in errors)


def test_an_unreadable_dose_beside_the_good_one_is_an_error_of_the_course(tmp_path: Path) -> None:
    case = good_set(tmp_path)
    second = tmp_path / "RD.second.dcm"
    ds = pydicom.dcmread(case.rtdose_path)
    ds.SOPInstanceUID = b.uid("second dose")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(second)
    second.write_bytes(second.read_bytes()[:-100])  # cut short in its pixel data
    (course,) = load_courses(index_folder(tmp_path)).courses  # attached to the course itself
    (f,) = [f for f in course.findings if f.code == "dicom-unreadable"]
    assert f.severity.value == "error" and f.path == str(second) and "truncated" in f.message


def test_a_refused_dose_of_the_course_plan_is_an_error_of_the_course(tmp_path: Path) -> None:
    """A second PLAN-labelled dose of the plan whose pixel data is short (refused from its header)."""
    case = good_set(tmp_path)
    ds = pydicom.dcmread(case.rtdose_path)
    ds.SOPInstanceUID = b.uid("short dose")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.DoseSummationType = "BEAM"
    ds.PixelData = bytes(ds.PixelData)[: len(ds.PixelData) // 2]
    ds.save_as(tmp_path / "RD.short.dcm")
    (course,) = load_courses(index_folder(tmp_path)).courses
    (f,) = [f for f in course.findings if f.code == "dose-unusable"]
    assert f.severity.value == "error" and f.path == str(tmp_path / "RD.short.dcm")
