"""Discovery of plan folders: top-most DICOM folders, skipped non-DICOM folders, no loops."""

from __future__ import annotations

import os
from pathlib import Path

from plancheck.batch.discover import discover_plans, is_dicom_file
from tests.batch.stubs import write_fake_dicom


def test_plan_folders_and_skipped_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write_fake_dicom(root / "p1" / "rs.dcm", "")
    write_fake_dicom(root / "p1" / "rd.dcm", "")
    (root / "p1" / "notes.txt").write_text("x")
    write_fake_dicom(root / "p1" / "old" / "rd.dcm", "")  # below a plan folder: part of it
    write_fake_dicom(root / "site" / "p2" / "ct" / "ct1.dcm", "")
    write_fake_dicom(root / "site" / "p2" / "rt" / "rs.dcm", "")
    (root / "site" / "readme.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "site" / "readme.txt").write_text("ancestor of plans")
    (root / "docs").mkdir()
    (root / "docs" / "a.pdf").write_bytes(b"%PDF-1.4")
    (root / "empty").mkdir()
    found = discover_plans(root)
    assert [(p.key, p.files) for p in found.plans] == [
        ("p1", ("notes.txt", "old/rd.dcm", "rd.dcm", "rs.dcm")),
        ("site/p2/ct", ("ct1.dcm",)),
        ("site/p2/rt", ("rs.dcm",)),
    ]
    assert [(s.key, s.reason) for s in found.skipped] == [("docs", "no DICOM file among its 1 file(s)")]


def test_root_itself_can_be_the_plan(tmp_path: Path) -> None:
    write_fake_dicom(tmp_path / "rd.dcm", "")
    write_fake_dicom(tmp_path / "sub" / "rs.dcm", "")
    found = discover_plans(tmp_path)
    assert [(p.key, p.files) for p in found.plans] == [(".", ("rd.dcm", "sub/rs.dcm"))]


def test_output_folder_inside_root_is_not_searched(tmp_path: Path) -> None:
    write_fake_dicom(tmp_path / "p" / "rd.dcm", "")
    out = tmp_path / "out"
    (out / "plans").mkdir(parents=True)
    (out / "plans" / "a.html").write_text("<html>")
    found = discover_plans(tmp_path, exclude=[out])
    assert [p.key for p in found.plans] == ["p"] and found.skipped == ()


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write_fake_dicom(tmp_path / "p" / "rd.dcm", "")
    os.symlink(tmp_path, tmp_path / "p" / "loop")
    os.symlink(tmp_path / "p", tmp_path / "again")
    found = discover_plans(tmp_path)
    assert [p.key for p in found.plans] == ["p"]


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
