"""A whole spine course, tilted: the protocol evaluation gives the same values as the axial course.

The bundled spine samples (two plans on one structure set, derived structures
such as ``PTV - PTV_boost`` and cord margins) are written a second time with
every contour and both dose grids turned by a rotation ``F`` in the patient
(1° about x then 0.5° about y, as an MR-based plan could be). A rotation moves
contours and dose together, so every constraint value must stay what it is on
the axial course; only the floating-point rounding of the written
coordinates (10 significant digits) may differ.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.phantoms.build import frame_about
from plancheck.phantoms.rtset import write_rt_set
from plancheck.phantoms.spine import build_spine, write_spine

pytestmark = pytest.mark.slow

FRAME = np.array(frame_about(("x", 1.0), ("y", 0.5)))


def _write_tilted(variant: str, out: Path) -> None:
    ph = build_spine(variant)
    plans = tuple(replace(p, dose=replace(p.dose, axes=FRAME)) for p in ph.plans)
    write_rt_set(
        out,
        seed=ph.seed,
        patient=ph.patient,
        structures=ph.structures,
        structure_set_label="SPINE",
        plans=plans,
        orientation="HFS",
        structure_axes=FRAME,
    )


def _values(folder: Path, out: Path) -> dict[tuple[str, str], float | None]:
    result = CliRunner().invoke(main, ["evaluate", str(folder), "--format", "json", "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(out.read_text())
    return {(c["structure"], c["metric"]): c["value"] for c in doc["constraints"]}


@pytest.mark.parametrize("variant", ["sib-pass", "sib-seq-course"])
def test_a_tilted_course_evaluates_like_the_axial_one(tmp_path: Path, variant: str) -> None:
    write_spine(variant, tmp_path / "axial")
    _write_tilted(variant, tmp_path / "tilted")
    axial = _values(tmp_path / "axial", tmp_path / "axial.json")
    tilted = _values(tmp_path / "tilted", tmp_path / "tilted.json")
    assert axial.keys() == tilted.keys()
    assert sum(v is not None for v in axial.values()) >= 10
    for key, value in axial.items():
        if value is None:
            assert tilted[key] is None, key
        else:
            assert tilted[key] == pytest.approx(value, rel=1e-3, abs=1e-3), key
