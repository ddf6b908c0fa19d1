"""The public API changes only with a note in CHANGELOG.md.

The surface (every name of ``plancheck.__all__`` with its signature, fields,
properties and methods; see ``tests/api/surface.py``) must equal the snapshot
in ``tests/api/public_api.txt``, and CHANGELOG.md must quote the snapshot's
fingerprint: whoever changes the API updates both, and so writes the note.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import plancheck
from tests.api.surface import FINGERPRINT_PREFIX, SNAPSHOT, describe, fingerprint

ROOT = Path(__file__).resolve().parents[2]

HOW = (
    "The public API of plancheck changed. If that is intended: describe the change in "
    "CHANGELOG.md (under 'Unreleased') with the line "
    f"'{FINGERPRINT_PREFIX} `{{fp}}`', and write the new surface to {SNAPSHOT} "
    "(python -m tests.api.surface prints both; drop its last line for the snapshot)."
)


def test_surface_matches_the_snapshot():
    current = describe()
    recorded = (ROOT / SNAPSHOT).read_text()
    if current != recorded:
        diff = "".join(
            difflib.unified_diff(
                recorded.splitlines(keepends=True),
                current.splitlines(keepends=True),
                SNAPSHOT,
                "current surface",
            )
        )
        raise AssertionError(HOW.format(fp=fingerprint(current)) + "\n" + diff)


def test_changelog_quotes_the_surface_fingerprint():
    fp = fingerprint(describe())
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"{FINGERPRINT_PREFIX} `{fp}`" in changelog, HOW.format(fp=fp)


def test_every_public_name_is_documented_and_in_the_changelog():
    docs = (ROOT / "docs" / "api.md").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    for name in plancheck.__all__:
        if name == "__version__":
            continue
        assert f"`{name}" in docs or f"{name}`" in docs, f"{name} is not in docs/api.md"
        assert name in changelog, f"{name} is not in CHANGELOG.md"


def test_only_the_public_names_are_visible():
    # in a fresh interpreter: dir(plancheck) lists exactly __all__ and no submodule
    code = "import plancheck; print(sorted(n for n in dir(plancheck) if not n.startswith('_')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    public = sorted(n for n in plancheck.__all__ if not n.startswith("_"))
    assert out.stdout.strip() == str(public)


def test_every_public_name_resolves_and_has_a_docstring():
    for name in plancheck.__all__:
        obj = getattr(plancheck, name)
        if name != "__version__":
            assert (obj.__doc__ or "").strip(), f"plancheck.{name} has no docstring"


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'lode'"):
        plancheck.lode  # noqa: B018
