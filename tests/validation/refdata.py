"""Where the shared reference data sets live, and a skip when they are absent.

The data (real planning-system exports and Nelms et al.'s analytical set) are
not part of the repository. They are found at ``<repo root>/../shared/data``
unless the environment variable ``PLANCHECK_REFERENCE_DATA`` names another
folder. Tests that need them skip with the path they looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV_VAR = "PLANCHECK_REFERENCE_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]


def reference_data_dir() -> Path:
    """The folder holding ``nelms_analytic/``, ``eclipse_breast_boost/``, ... (may not exist)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def data_set(name: str) -> Path:
    """Path of one data set, or skip the calling test with a reason naming where it looked."""
    path = reference_data_dir() / name
    if not path.is_dir():
        pytest.skip(
            f"reference data set {name!r} not found at {path}; "
            f"set {ENV_VAR} to the folder that holds it"
        )
    return path
