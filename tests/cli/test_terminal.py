"""No escape sequence from a DICOM file ever reaches the terminal."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.report.terminal import REPLACEMENT, terminal_safe

CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
CSI8 = "\x9b31m"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok\x1b[31mRED\x1b[0m", f"ok{REPLACEMENT}RED{REPLACEMENT}"),
        (f"a{TITLE}b", f"a{REPLACEMENT}b"),
        ("link \x1b]8;;http://x\x1b\\here\x1b]8;;\x1b\\", f"link {REPLACEMENT}here{REPLACEMENT}"),
        ("FAIL\rPASS", f"FAIL{REPLACEMENT}PASS"),
        (f"x{CSI8}y", f"x{REPLACEMENT}y"),
        ("tab\tnewline\n", "tab\tnewline\n"),
        ("Rückenmark 中 ≤ 45 Gy", "Rückenmark 中 ≤ 45 Gy"),
    ],
)
def test_terminal_safe(text: str, expected: str) -> None:
    assert terminal_safe(text) == expected


def _hostile_course(folder: Path) -> Path:
    from plancheck.phantoms.spine import write_spine

    write_spine("sib-pass", folder)
    (plan,) = folder.glob("RP*.dcm")
    (ss,) = folder.glob("RS*.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hostile values are not valid SH/LO: pydicom warns
        ds = pydicom.dcmread(plan)
        ds.RTPlanLabel = f"SIB{CLEAR}"
        pydicom.dcmwrite(plan, ds)
        ds = pydicom.dcmread(ss)
        for roi in ds.StructureSetROISequence:
            if roi.ROIName == "Bowel_Bag":
                roi.ROIName = f"Bowel{TITLE}{CSI8}"
        pydicom.dcmwrite(ss, ds)
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hostile_course(tmp_path_factory.mktemp("hostile") / "course")


def _assert_clean(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text and "\r" not in text


def test_evaluate_table_shows_no_escape_sequence(hostile: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", str(hostile), "--protocol", "spine_sib_30Gy10_40Gy10"])
    assert result.exit_code in (0, 1, 3), result.output
    _assert_clean(result.stdout + result.stderr)
    assert f"SIB{REPLACEMENT}" in result.stdout  # what was there stays visible, harmless


def test_dvh_table_and_errors_show_no_escape_sequence(hostile: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dvh", str(hostile)])
    _assert_clean(result.stdout + result.stderr)
    assert f"Bowel{REPLACEMENT}" in result.stdout
    bad = tmp_path / f"export{CLEAR}"
    bad.mkdir()
    (bad / "x.txt").write_text("no DICOM here")
    result = CliRunner().invoke(main, ["evaluate", str(bad)])
    assert result.exit_code == 3
    _assert_clean(result.stderr)
    assert f"export{REPLACEMENT}" in result.stderr


def test_batch_output_shows_no_escape_sequence(hostile: Path, tmp_path: Path) -> None:
    root = tmp_path / f"root{TITLE}"
    root.mkdir()
    (root / "course").symlink_to(hostile, target_is_directory=True)  # outside ROOT: listed, not followed
    result = CliRunner().invoke(main, ["batch", str(root), "-o", str(tmp_path / "out"), "-j", "1"])
    _assert_clean(result.stdout + result.stderr)
