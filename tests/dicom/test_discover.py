"""Indexing a folder: recursion, classification, bad files as findings, datasets kept, pixels deferred."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from plancheck.dicom._read import raw_element
from plancheck.dicom.discover import index_folder
from plancheck.dicom.kinds import FileKind
from plancheck.errors import InputError
from tests.dicom import builders as b

PIXEL_DATA = 0x7FE00010


def _codes(index) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in index.findings}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A plan set with odd names and sub-folders, and the clutter real exports come with."""
    ss = b.rtstruct([b.Roi(1, "PTV", [("CLOSED_PLANAR", b.square(5, 0.0))])])
    plan = b.rtplan(structure_set_uid=ss.SOPInstanceUID)
    # 64 x 64 x 40 frames at 32 bits: 640 KiB of pixel data, more than is read with the header
    dose = b.rtdose(b.DoseSpec(stored_gy=np.ones((40, 64, 64)), plan_uid=plan.SOPInstanceUID))
    b.write(ss, tmp_path / "export" / "structures")
    b.write(plan, tmp_path / "export" / "deep" / "er" / "PLAN.bin")
    b.write(dose, tmp_path / "dose.dcm", implicit=True)
    b.write(b.ct_image(), tmp_path / "images" / "ct1.dcm")
    b.write(plan, tmp_path / "copy" / "plan-again.dcm")
    (tmp_path / "readme.txt").write_text("exported by hand\n")
    (tmp_path / "empty.dcm").write_bytes(b"")
    cut = b.write(b.rtplan(label="OTHER", sop_uid=b.uid("other plan")), tmp_path / "cut.dcm")
    cut.write_bytes(cut.read_bytes()[:400])
    return tmp_path


def test_finds_everything_recursively_whatever_the_names(folder: Path) -> None:
    index = index_folder(folder)
    kinds = {f.path.relative_to(folder).as_posix(): f.kind for f in index.files}
    assert kinds == {
        "export/structures": FileKind.RTSTRUCT,
        "copy/plan-again.dcm": FileKind.RTPLAN,
        "dose.dcm": FileKind.RTDOSE,
        "images/ct1.dcm": FileKind.CT,
    }
    assert [d.path.name for d in index.duplicates] == ["PLAN.bin"]
    assert {s.path.name for s in index.non_dicom} == {"readme.txt", "empty.dcm"}
    assert [s.path.name for s in index.unreadable] == ["cut.dcm"]
    assert {
        "duplicate-sop-instance-uid",
        "not-dicom",
        "dicom-unreadable",
        "dicom-not-used",
    } <= _codes(index)
    counts = index.counts()
    assert (counts["RTPLAN"], counts["RTDOSE"], counts["RTSTRUCT"], counts["CT"]) == (1, 1, 1, 1)


def test_references_and_frames_are_recorded(folder: Path) -> None:
    index = index_folder(folder)
    (plan,) = index.plans
    (dose,) = index.doses
    (ss,) = index.structure_sets
    assert dose.referenced_plan_uids == (plan.sop_instance_uid,)
    assert plan.referenced_structure_set_uids == (ss.sop_instance_uid,)
    assert (
        ss.frame_of_reference_uid
        == plan.frame_of_reference_uid
        == dose.frame_of_reference_uid
        == b.FRAME
    )
    assert plan.patient.patient_id == b.PATIENT_ID


def test_rt_datasets_are_kept_and_dose_pixels_are_not_read(folder: Path) -> None:
    index = index_folder(folder)
    assert all(f.dataset is not None for f in index.files if f.kind.is_rt)
    assert all(f.dataset is None for f in index.files if not f.kind.is_rt)
    (dose,) = index.doses
    pixels = raw_element(dose.dataset, PIXEL_DATA)
    assert pixels is not None and pixels.value is None  # deferred: still in the file


def test_truncated_file_is_named_with_the_reason(folder: Path) -> None:
    index = index_folder(folder)
    (finding,) = [f for f in index.findings if f.code == "dicom-unreadable"]
    assert finding.path == str(folder / "cut.dcm") and "truncated" in finding.message


def test_symlink_loops_end(tmp_path: Path) -> None:
    b.write(b.rtplan(), tmp_path / "a" / "plan.dcm")
    os.symlink(tmp_path, tmp_path / "a" / "up")
    os.symlink(tmp_path / "a", tmp_path / "again")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    index = index_folder(tmp_path)
    assert len(index.plans) == 1 and not index.duplicates
    assert {"folder-visited-twice", "broken-link"} <= _codes(index)


def test_mixed_patients_are_reported(tmp_path: Path) -> None:
    b.write(b.rtplan(patient_id="A"), tmp_path / "a.dcm")
    b.write(b.rtstruct([], patient_id="B"), tmp_path / "b.dcm")
    assert "mixed-patients" in _codes(index_folder(tmp_path))


def test_non_utf8_file_names_are_indexed(tmp_path: Path) -> None:
    name = os.fsdecode(b"plan-\xff.dcm")
    b.write(b.rtplan(), tmp_path / name)
    (plan,) = index_folder(tmp_path).plans
    assert plan.path.name == name


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        index_folder(tmp_path / "nowhere")
