"""Every bad input of the corpus gives its expected outcome, never a traceback.

An expected outcome is either an input error (exit 3) whose one-line message
names the problem, or a result (exit 0) whose findings record it. The
folders come from :mod:`tests.robustness.corpus`, derived from a good phantom
set written by the project's phantom generator.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plancheck.cli import main
from tests.robustness.corpus import CORPUS, BadInput, good_set


@dataclass(frozen=True)
class Outcome:
    """What ``plancheck dvh`` and ``plancheck info`` do with a bad input.

    ``exit_code`` is the status of ``dvh`` (``info`` gives ``info_exit_code``
    when set, else the same); ``message`` must appear in the error line of an
    exit 3; ``codes`` must be among the findings of the JSON output (``dvh``
    when it succeeds, else ``info``). ``same_as_good``: the DVH metrics must
    equal those of the untouched set (the damage cannot change the answer).
    ``has_volume``: False when the ROI must be reported without a volume
    (None with a finding, never 0).
    """

    exit_code: int
    codes: tuple[str, ...] = ()
    message: str | None = None
    info_exit_code: int | None = None
    same_as_good: bool = False
    has_volume: bool = True


_DOSE_UNUSABLE = ("dose-unusable", "plan-without-dose")

EXPECTED: dict[str, Outcome] = {
    "truncated-10": Outcome(3, ("dicom-unreadable",), "truncated"),
    "truncated-50": Outcome(3, ("dicom-unreadable",), "truncated"),
    "truncated-99": Outcome(3, ("dicom-unreadable",), "truncated"),
    "not-dicom-beside": Outcome(0, ("not-dicom",), same_as_good=True),
    "wrong-sop-class": Outcome(3, ("dicom-not-used", "plan-without-dose"), "missing: an RT Dose"),
    # the file meta still names the class: the file is read as RT Dose
    "missing-sop-class": Outcome(0, same_as_good=True),
    "missing-sop-class-everywhere": Outcome(3, ("dicom-unreadable",), "no SOP Class UID"),
    "unknown-transfer-syntax": Outcome(3, ("plan-without-dose",), "ransfer syntax"),
    "missing-pixel-data": Outcome(3, _DOSE_UNUSABLE, "no PixelData"),
    "short-pixel-data": Outcome(3, _DOSE_UNUSABLE, "PixelData holds"),
    "scaling-nan": Outcome(3, _DOSE_UNUSABLE, "not a finite number"),
    "scaling-inf": Outcome(3, _DOSE_UNUSABLE, "not a finite number"),
    "scaling-negative": Outcome(3, _DOSE_UNUSABLE, "must be a positive number"),
    "scaling-zero": Outcome(3, _DOSE_UNUSABLE, "must be a positive number"),
    "offsets-wrong-length": Outcome(3, _DOSE_UNUSABLE, "GridFrameOffsetVector has"),
    "offsets-not-monotonic": Outcome(3, _DOSE_UNUSABLE, "not monotonic"),
    "offsets-repeated": Outcome(3, _DOSE_UNUSABLE, "repeats a value"),
    # an axial grid turned in-plane is read in its own frame: the contours are rotated into it
    "dose-rotated-in-plane": Outcome(0),
    # frames tilted against the contour planes: refused when DVHs are computed
    "dose-tilted-against-contours": Outcome(3, (), "off the grid planes", info_exit_code=0),
    "contour-two-points": Outcome(0, ("contour-too-few-points",)),
    # consecutive repeated vertices enclose the same area: same answer
    "contour-duplicated-points": Outcome(0, same_as_good=True),
    "contour-bow-tie": Outcome(0, ("contour-without-area",)),
    # a plane between the regular ones is a valid (uneven) stack: no finding
    "contour-off-plane": Outcome(0),
    "contour-tilted": Outcome(0, ("contour-tilted",)),
    "roi-without-frame": Outcome(0, ("roi-without-frame-of-reference",)),
    # contours in another frame of reference are not placed on this dose: no volume, never 0
    "roi-unknown-frame": Outcome(
        0, ("roi-in-other-frame-of-reference", "structure-without-volume"), has_volume=False
    ),
    "two-structure-sets": Outcome(0, ("structure-set-without-plan",), same_as_good=True),
    # a dose without its plan is evaluated with its structure set (physical doses), with a finding
    "dose-references-missing-plan": Outcome(
        0, ("plan-missing", "plan-without-dose"), same_as_good=True
    ),
    "plan-file-missing": Outcome(0, ("plan-missing",), same_as_good=True),
    "dose-of-other-patient": Outcome(0, ("mixed-patients", "patient-mismatch")),
    "two-patients": Outcome(3, ("mixed-patients",), "holds 2 courses", info_exit_code=0),
    "huge-header": Outcome(3, _DOSE_UNUSABLE, "2000 x 2000 x 2000"),
    # ROI name in latin-1 without SpecificCharacterSet: read, not refused
    "non-utf8-roi-name": Outcome(0),
    "deeply-nested": Outcome(0, same_as_good=True),
    "nested-beyond-limit": Outcome(3, ("folder-too-deep",), "missing"),
    "symlink-loop": Outcome(0, ("folder-visited-twice",), same_as_good=True),
    "duplicate-identical": Outcome(0, ("duplicate-sop-instance-uid",), same_as_good=True),
    # two different files claim the dose's UID: neither is used, an error on each
    "duplicate-differs": Outcome(
        3, ("duplicate-sop-instance-uid-differs", "plan-without-dose"), "different content"
    ),
    # the unreadable file could be the course's: its error is in the course's findings
    "unreadable-dose-beside": Outcome(0, ("dicom-unreadable",), same_as_good=True),
    "junk-after-preamble": Outcome(0, ("dicom-unreadable",), same_as_good=True),
    # implausible doses are found when the dose is read; info reads headers only (exit 0)
    "dose-in-cgy-labelled-gy": Outcome(3, (), "about 100 ×", info_exit_code=0),
    "whole-plan-labelled-one-session": Outcome(3, (), "about 10 ×", info_exit_code=0),
    "control-point-dose": Outcome(3, ("dose-not-planned",), "not a planned dose"),
}

# known crashes: a non-plancheck exception escapes the library (the command line
# then reports an "internal error"); each entry says where
XFAIL: dict[str, str] = {}


def _run(args: list[str]) -> Result:
    result = CliRunner().invoke(main, args)
    text = result.output + (result.stderr if result.stderr_bytes else "")
    assert "Traceback" not in text, text
    assert "internal error" not in text, text  # a library bug caught by the last line of defence
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def _codes(result: Result) -> set[str]:
    doc = json.loads(result.stdout)
    return {f["code"] for f in doc["findings"]}


def _metrics(result: Result) -> dict[str, Any]:
    doc = json.loads(result.stdout)
    return {s["roi_number"]: s["metrics"] for s in doc["structures"]}


@pytest.fixture(scope="module")
def good_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("good")
    good_set(folder)
    result = _run(["dvh", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    return _metrics(result)


def _params() -> list[Any]:
    out = []
    for bad in CORPUS:
        marks = (
            [pytest.mark.xfail(strict=True, reason=XFAIL[bad.name])] if bad.name in XFAIL else []
        )
        out.append(pytest.param(bad, id=bad.name, marks=marks))
    return out


def test_every_case_has_an_expected_outcome() -> None:
    assert {b.name for b in CORPUS} == set(EXPECTED)


@pytest.mark.parametrize("bad", _params())
def test_bad_input(bad: BadInput, tmp_path: Path, good_metrics: dict[str, Any]) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    bad.build(good_set(folder))
    want = EXPECTED[bad.name]

    tracemalloc.start()
    start = time.perf_counter()
    dvh = _run(["dvh", str(folder), "--format", "json"])
    seconds = time.perf_counter() - start
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 5.0, f"{bad.name} took {seconds:.1f} s"
    assert peak_bytes < 200 * 2**20, f"{bad.name} allocated {peak_bytes / 2**20:.0f} MiB"

    info = _run(["info", str(folder), "--format", "json"])
    info_exit = want.exit_code if want.info_exit_code is None else want.info_exit_code
    assert dvh.exit_code == want.exit_code, dvh.output
    assert info.exit_code == info_exit, info.output

    if want.exit_code == 0:
        assert set(want.codes) <= _codes(dvh), _codes(dvh)
        metrics = _metrics(dvh)
        volumes = [m["Volume[cc]"] for m in metrics.values()]
        if want.has_volume:
            assert volumes and all(v is not None and v > 0 for v in volumes), volumes
        else:
            assert volumes and all(v is None for v in volumes), volumes
        if want.same_as_good:
            assert metrics == good_metrics
    else:
        assert dvh.stdout == ""  # no half output before the error
        error = dvh.stderr.strip()
        assert error.startswith("plancheck: error:") and len(error.splitlines()) == 1, error
        assert want.message is not None and want.message in error, error
        assert set(want.codes) <= _codes(info), _codes(info)


def test_huge_header_is_refused_before_reading(tmp_path: Path) -> None:
    """The 2000^3 header (29.8 GiB at 32 bits) is refused from its header alone."""
    from plancheck.dicom.rtdose import read_rtdose
    from plancheck.errors import InputError
    from tests.robustness.corpus import huge_header

    case = good_set(tmp_path)
    huge_header(case)
    tracemalloc.start()
    with pytest.raises(InputError, match="2000 x 2000 x 2000"):
        read_rtdose(case.rtdose_path)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak_bytes < 50 * 2**20


def test_non_utf8_roi_name_is_read(tmp_path: Path) -> None:
    from tests.robustness.corpus import non_utf8_roi_name

    case = good_set(tmp_path)
    non_utf8_roi_name(case)
    result = _run(["dvh", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0
    (name,) = [s["name"] for s in json.loads(result.stdout)["structures"]]
    # decoded (latin-1 fallback or a replacement character), never dropped or garbled in length
    assert name.startswith("Sph") and name.endswith("re") and len(name) == 6, name
    table = _run(["info", str(tmp_path)])
    assert table.exit_code == 0
