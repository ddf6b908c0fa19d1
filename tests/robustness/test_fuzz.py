"""A bounded, reproducible fuzz run of the DICOM readers.

Bytes of good files (a small phantom set written by the project's generator,
and the small files of the shared reference data) are mutated with a fixed
seed: bytes replaced, deleted, inserted, the file cut short, mostly in the
header where the tags live. Every mutated file is given to the reader; the
only exceptions allowed are :class:`plancheck.errors.PlancheckError`
subclasses (a clear message to the user), never a crash.

Counts: 10,000 phantom mutations per reader, plus 4,000 per reader from the
reference files when they are present.
"""

from __future__ import annotations

import os
import random
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plancheck.dicom.rtdose import read_rtdose
from plancheck.dicom.rtplan import read_rtplan
from plancheck.dicom.rtstruct import read_rtstruct
from plancheck.errors import PlancheckError
from tests.robustness.corpus import good_set

SEED = 20260505
PHANTOM_INPUTS_PER_READER = 10_000
REFERENCE_INPUTS_PER_READER = 4_000
HEADER_BYTES = 4000  # most mutations land here, where the tags are

READERS: dict[str, Callable[[Path], Any]] = {
    "rtdose": read_rtdose,
    "rtstruct": read_rtstruct,
    "rtplan": read_rtplan,
}

# small files of the shared reference data (a few kB each: fast to fuzz)
REFERENCE_FILES: dict[str, tuple[str, ...]] = {
    "rtdose": (
        "pydicom_rt_testfiles/rtdose.dcm",
        "pydicom_rt_testfiles/rtdose_1frame.dcm",
        "nelms_analytic/dose_grids/Linear_SupInf_3mm_Aligned.dcm",
    ),
    "rtstruct": (
        "pydicom_rt_testfiles/rtstruct.dcm",
        "raystation_proton_box/RS1.2.752.243.1.1.20250522124652761.2000.43711.dcm",
    ),
    "rtplan": ("pydicom_rt_testfiles/rtplan.dcm",),
}


def _reference_root() -> Path:
    env = os.environ.get("PLANCHECK_REFERENCE_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def mutate(data: bytes, rng: random.Random) -> bytes:
    """1 to 8 random edits of ``data``: replace, delete, insert bytes, or cut the file."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            break
        limit = min(len(out), HEADER_BYTES) if rng.random() < 0.8 else len(out)
        pos = rng.randrange(limit)
        m = rng.random()
        if m < 0.5:
            out[pos] = rng.randrange(256)
        elif m < 0.7:
            del out[pos : pos + rng.randint(1, 16)]
        elif m < 0.85:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            del out[pos:]
    return bytes(out)


def fuzz(
    reader: Callable[[Path], Any], sources: list[bytes], n: int, seed: int, scratch: Path
) -> tuple[Counter[str], dict[str, str], int]:
    """Feed ``n`` mutations of ``sources`` to ``reader``.

    Returns the unexpected exceptions (kind -> count), one traceback per kind,
    and how many inputs were read without error.
    """
    rng = random.Random(seed)
    unexpected: Counter[str] = Counter()
    examples: dict[str, str] = {}
    n_read = 0
    path = scratch / "mutated.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            path.write_bytes(mutate(rng.choice(sources), rng))
            try:
                reader(path)
            except PlancheckError:
                continue
            except Exception as exc:  # anything else is a finding of the fuzz run
                key = f"{type(exc).__name__}: {str(exc)[:100]}"
                unexpected[key] += 1
                examples.setdefault(
                    key, f"input {i} (seed {seed}):\n" + "".join(traceback.format_exc(limit=-4))
                )
                continue
            n_read += 1
    return unexpected, examples, n_read


def _check(unexpected: Counter[str], examples: dict[str, str]) -> None:
    if unexpected:
        detail = "\n\n".join(
            f"{n} x {key}\n{examples[key]}" for key, n in unexpected.most_common(5)
        )
        pytest.fail(
            f"{sum(unexpected.values())} inputs raised a non-plancheck exception:\n{detail}"
        )


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    case = good_set(tmp_path_factory.mktemp("fuzz-phantom"))
    return {
        "rtdose": case.rtdose_path.read_bytes(),
        "rtstruct": case.rtstruct_path.read_bytes(),
        "rtplan": case.rtplan_path.read_bytes(),
    }


# Known crashes, by reader: the start of the exception's "Type: message". They
# are reported as an expected failure (xfail) while every other crash fails the
# test, so the known bug does not hide new ones. Remove an entry once fixed.
KNOWN_BUGS: dict[str, dict[str, str]] = {}


def _check_known(kind: str, unexpected: Counter[str], examples: dict[str, str]) -> None:
    """Fail on unknown crashes; xfail when only known bugs were hit."""
    known = KNOWN_BUGS.get(kind, {})
    hit = {k: n for k, n in unexpected.items() if any(k.startswith(b) for b in known)}
    _check(Counter({k: n for k, n in unexpected.items() if k not in hit}), examples)
    if hit:
        reasons = sorted({r for b, r in known.items() for k in hit if k.startswith(b)})
        pytest.xfail(f"{sum(hit.values())} inputs hit a known bug: {'; '.join(reasons)}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(READERS))
def test_fuzz_phantom(kind: str, phantom_files: dict[str, bytes], tmp_path: Path) -> None:
    reader = READERS[kind]
    reader(_write(tmp_path / "good.dcm", phantom_files[kind]))  # the unmutated file reads
    unexpected, examples, n_read = fuzz(
        reader, [phantom_files[kind]], PHANTOM_INPUTS_PER_READER, SEED + len(kind), tmp_path
    )
    _check_known(kind, unexpected, examples)
    assert n_read < PHANTOM_INPUTS_PER_READER  # the mutations do break files


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(READERS))
def test_fuzz_reference(kind: str, tmp_path: Path) -> None:
    root = _reference_root()
    paths = [root / p for p in REFERENCE_FILES[kind]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(
            f"reference data not found ({', '.join(missing)}); set PLANCHECK_REFERENCE_DATA"
        )
    reader = READERS[kind]
    sources = [p.read_bytes() for p in paths]
    unexpected, examples, _ = fuzz(
        reader, sources, REFERENCE_INPUTS_PER_READER, SEED + 7 * len(kind), tmp_path
    )
    _check_known(kind, unexpected, examples)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
