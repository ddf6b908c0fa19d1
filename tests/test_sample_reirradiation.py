"""The bundled re-irradiation example is what the generator writes, and its REG links its courses.

``sample_plans/spine_reirradiation`` is written by
``plancheck phantom sample_plans/spine_reirradiation --reirradiation rotation``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plancheck.dicom.registration import read_registration
from plancheck.dicom.rtdose import read_rtdose
from plancheck.phantoms.reirradiation import TRANSFORMS, write_reirradiation
from plancheck.registration import find_registration

SAMPLE = Path(__file__).resolve().parents[1] / "sample_plans" / "spine_reirradiation"


def test_committed_sample_matches_the_generator(tmp_path):
    write_reirradiation("rotation", tmp_path)
    for course in ("prior", "current"):
        fresh = sorted((tmp_path / course).iterdir())
        committed = sorted((SAMPLE / course).iterdir())
        assert [p.name for p in fresh] == [p.name for p in committed]
        for a, b in zip(fresh, committed, strict=True):
            assert a.read_bytes() == b.read_bytes(), f"{b} differs: regenerate the sample"


def test_sample_registration_links_its_two_courses():
    prior = read_rtdose(SAMPLE / "prior" / "RD.SPINE_30.dcm").grid.frame_of_reference_uid
    current = read_rtdose(SAMPLE / "current" / "RD.SBRT_24.dcm").grid.frame_of_reference_uid
    assert prior != current
    mapping = find_registration(
        [read_registration(SAMPLE / "current" / "RE.REGISTRATION.dcm")], current, prior
    )
    assert np.allclose(mapping.matrix, TRANSFORMS["rotation"], atol=1e-8)


def test_readme_command_passes_with_the_hytec_protocol():
    # README, set-up: the sample's current course with its prior course
    from plancheck.pipeline import evaluate_folder
    from plancheck.reirradiation import PriorRequest

    ev = evaluate_folder(SAMPLE / "current", priors=PriorRequest((SAMPLE / "prior",)))
    assert ev.protocol.name == "spine_reirradiation_sbrt"
    assert ev.verdict.label == "PASS" and ev.return_code == 0
