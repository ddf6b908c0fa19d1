"""A prior course on another frame of reference needs a registration that links it; never identity.

Each case starts from the ``rotation`` phantom (its REG in the current folder
links the two frames) and takes the link away, points it elsewhere, or breaks
its matrix. The same-frame case (``identity`` phantom, no REG) needs none.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from plancheck.cli import main
from plancheck.phantoms.reirradiation import build_reirradiation, write_reirradiation
from plancheck.pipeline import evaluate_folder
from plancheck.registration import RegistrationError
from plancheck.reirradiation import PriorRequest

PROTOCOL = "spine_reirradiation_sbrt"


@pytest.fixture
def rotation(tmp_path):
    return write_reirradiation("rotation", tmp_path / "course")


def run(paths, registrations=()):
    return evaluate_folder(
        paths.current_dir,
        PROTOCOL,
        priors=PriorRequest((paths.prior_dir,), tuple(registrations)),
    )


def moved_registration(paths, tmp_path):
    """The REG taken out of the current folder, as a dataset and the place it was."""
    reg = paths.registration
    ds = pydicom.dcmread(reg)
    reg.unlink()
    return ds, tmp_path / "given" / reg.name


def test_missing_registration_is_refused(rotation):
    rotation.registration.unlink()
    ph = build_reirradiation("rotation")
    with pytest.raises(RegistrationError) as err:
        run(rotation)
    message = err.value.message
    assert "no registration links" in message
    assert ph.current.frame_of_reference_uid in message and ph.prior.frame_of_reference_uid in message
    assert "--registration" in (err.value.hint or "")


def test_missing_registration_exits_3_from_the_command_line(rotation):
    rotation.registration.unlink()
    result = CliRunner().invoke(
        main, ["evaluate", str(rotation.current_dir), "--prior", str(rotation.prior_dir)]
    )
    assert result.exit_code == 3, result.output
    assert "no registration links" in result.output


def test_registration_of_other_frames_is_refused(rotation, tmp_path):
    ds, given = moved_registration(rotation, tmp_path)
    # the prior item now names a third frame of reference: the REG no longer links the courses
    ds.RegistrationSequence[1].FrameOfReferenceUID = "2.25.1234567890"
    given.parent.mkdir()
    ds.save_as(given)
    with pytest.raises(RegistrationError) as err:
        run(rotation, [given])
    assert "does not include" in err.value.message
    assert str(given) in err.value.message


def mirrored(ds):
    m = np.array(ds.RegistrationSequence[1].MatrixRegistrationSequence[0].MatrixSequence[0]
                 .FrameOfReferenceTransformationMatrix, dtype=float).reshape(4, 4)
    m[:, 0] *= -1.0  # a reflection: no rigid matrix
    ds.RegistrationSequence[1].MatrixRegistrationSequence[0].MatrixSequence[0].FrameOfReferenceTransformationMatrix = [
        f"{v:.10g}" for v in m.ravel()
    ]
    return ds


def test_malformed_registration_given_is_refused(rotation, tmp_path):
    ds, given = moved_registration(rotation, tmp_path)
    given.parent.mkdir()
    mirrored(ds).save_as(given)
    with pytest.raises(RegistrationError) as err:
        run(rotation, [given])
    assert str(given) in err.value.message or str(given) in str(err.value.path)


def test_malformed_registration_in_the_folder_is_refused_and_named(rotation):
    reg = rotation.registration
    mirrored(pydicom.dcmread(reg)).save_as(reg)
    with pytest.raises(RegistrationError) as err:
        run(rotation)
    assert "could not be read" in err.value.message and reg.name in err.value.message


def test_same_frame_of_reference_needs_no_registration(tmp_path):
    paths = write_reirradiation("identity", tmp_path / "course")
    assert paths.registration is None
    evaluation = run(paths)
    notes = [f.message for f in evaluation.findings if f.code == "prior-course-registration"]
    assert len(notes) == 1 and "no registration is needed" in notes[0]
    registration = evaluation.reirradiation.to_dict()["priors"][0]["registration"]
    assert registration["kind"] == "identity" and registration["registrations"] == []


def test_registration_given_outside_the_folders_is_used(rotation, tmp_path):
    ds, given = moved_registration(rotation, tmp_path)
    given.parent.mkdir()
    ds.save_as(given)
    evaluation = run(rotation, [given])
    (prior,) = evaluation.reirradiation.to_dict()["priors"]
    steps = prior["registration"]["registrations"]
    assert steps and {s["path"] for s in steps} == {str(given)}
    ph = build_reirradiation("rotation")
    assert np.allclose(prior["registration"]["matrix"], ph.current_to_prior, atol=1e-8)
