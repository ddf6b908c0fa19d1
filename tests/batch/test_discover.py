"""Discovery of courses by UIDs and references; skipped non-DICOM folders; no loops."""

from __future__ import annotations

import os
from pathlib import Path

from plancheck.batch.discover import discover_plans, is_dicom_file
from tests.batch.stubs import write_course, write_fake_dicom, write_image


def test_courses_and_skipped_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_course(root / "p1", "")
    (root / "p1" / "notes.txt").write_text("x")
    write_course(root / "site" / "p2", "", files=("rt/rs.dcm", "rt/rp.dcm", "rt/rd.dcm"))
    write_image(root / "site" / "p2" / "ct" / "ct1.dcm", "p2")
    (root / "site" / "readme.txt").write_text("ancestor of plans")
    (root / "docs").mkdir()
    (root / "docs" / "a.pdf").write_bytes(b"%PDF-1.4")
    (root / "empty").mkdir()
    found = discover_plans(root)
    # a course is its files, found by references: the plan's folder names it, its images join it
    assert [(p.key, p.files) for p in found.plans] == [
        ("p1", ("p1/rd.dcm", "p1/rp.dcm", "p1/rs.dcm")),
        ("site/p2/rt", ("site/p2/ct/ct1.dcm", "site/p2/rt/rd.dcm", "site/p2/rt/rp.dcm", "site/p2/rt/rs.dcm")),
    ]
    assert [p.labels for p in found.plans] == [("P-p1",), ("P-p2",)]
    assert [(s.key, s.reason) for s in found.skipped] == [("docs", "no DICOM file among its 1 file(s)")]


def test_the_root_itself_can_hold_a_course(tmp_path: Path) -> None:
    write_course(tmp_path, "", name="top", files=("rd.dcm", "sub/rs.dcm", "rp.dcm"))
    found = discover_plans(tmp_path)
    assert [(p.key, p.files) for p in found.plans] == [(".", ("rd.dcm", "rp.dcm", "sub/rs.dcm"))]


def test_copies_of_a_course_in_two_folders_are_two_courses(tmp_path: Path) -> None:
    write_course(tmp_path / "a", "", name="same")
    write_course(tmp_path / "b", "", name="same")  # the same UIDs: an export copied twice
    found = discover_plans(tmp_path)
    assert [(p.key, len(p.files)) for p in found.plans] == [("a", 3), ("b", 3)]


def test_unreadable_dicom_files_join_their_folder_or_stand_alone(tmp_path: Path) -> None:
    write_course(tmp_path / "p1", "")
    write_fake_dicom(tmp_path / "p1" / "rd_truncated.dcm", "")
    write_fake_dicom(tmp_path / "broken" / "x.dcm", "")
    found = discover_plans(tmp_path)
    assert [(p.key, p.files) for p in found.plans] == [
        ("broken", ("broken/x.dcm",)),
        ("p1", ("p1/rd.dcm", "p1/rd_truncated.dcm", "p1/rp.dcm", "p1/rs.dcm")),
    ]


def test_output_folder_inside_root_is_not_searched(tmp_path: Path) -> None:
    write_course(tmp_path / "p", "")
    out = tmp_path / "out"
    (out / "plans").mkdir(parents=True)
    (out / "plans" / "a.html").write_text("<html>")
    write_course(out / "plans" / "x", "")  # even DICOM files there are not inputs
    found = discover_plans(tmp_path, exclude=[out])
    assert [p.key for p in found.plans] == ["p"] and found.skipped == ()


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write_course(tmp_path / "p", "")
    os.symlink(tmp_path, tmp_path / "p" / "loop")
    os.symlink(tmp_path / "p", tmp_path / "again")
    found = discover_plans(tmp_path)
    assert [p.key for p in found.plans] == ["p"]
    assert len(found.plans[0].files) == 3


def test_dicom_detection_reads_the_marker(tmp_path: Path) -> None:
    assert is_dicom_file(write_fake_dicom(tmp_path / "a", "x"))
    raw = tmp_path / "raw"
    raw.write_bytes(b"\x08\x00\x16\x00UI\x1a\x00" + b"1" * 40)  # implicit VR, no preamble
    assert is_dicom_file(raw)
    (tmp_path / "t.txt").write_text("a text file, " * 20)
    assert not is_dicom_file(tmp_path / "t.txt")
    (tmp_path / "short").write_bytes(b"\0")
    assert not is_dicom_file(tmp_path / "short")
    assert not is_dicom_file(tmp_path / "missing")
