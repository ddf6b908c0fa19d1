"""Where the prior course's dose grid does not reach, its dose is unknown, never zero.

The ``rotation`` phantom's prior RTDOSE is cut to its frames at z >= 25 mm of
the prior frame (about z >= 0 mm of the current anatomy, through the
registration's 25.4 mm shift): the lower half of the thecal sac has no prior
dose. Its cumulative near-maximum may then be anything above what the known
part receives, so HyTEC's cumulative limit cannot be decided, and the volume
is reported against the prior plan.
"""

from __future__ import annotations

import numpy as np
import pydicom

from plancheck.phantoms.reirradiation import write_reirradiation
from plancheck.pipeline import evaluate_folder
from plancheck.protocol.outcome import Status
from plancheck.reirradiation import PriorRequest

CUT_Z_MM = 25.0


def cut_prior_dose(path):
    ds = pydicom.dcmread(path)
    z = float(ds.ImagePositionPatient[2]) + np.asarray(ds.GridFrameOffsetVector, dtype=float)
    keep = np.nonzero(z >= CUT_Z_MM)[0]
    pixels = ds.pixel_array[keep[0] :]
    ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1], f"{z[keep[0]]:.6g}"]
    ds.GridFrameOffsetVector = [f"{v - z[keep[0]]:.6g}" for v in z[keep[0] :]]
    ds.NumberOfFrames = len(pixels)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path)


def test_volume_beyond_the_prior_grid_leaves_the_cumulative_limit_undecided(tmp_path):
    paths = write_reirradiation("rotation", tmp_path / "course")
    cut_prior_dose(next(paths.prior_dir.glob("RD.*")))
    ev = evaluate_folder(paths.current_dir, "spine_reirradiation_sbrt", priors=PriorRequest((paths.prior_dir,)))
    cumulative = next(
        o for o in ev.result.outcomes if o.structure == "ThecalSac" and o.metric.endswith("(cumulative)")
        and o.metric.startswith("D0.03cc")
    )
    assert cumulative.status is Status.NOT_EVALUATED
    assert "prior 1: SPINE_30" in cumulative.reason and "cannot be decided" in cumulative.reason
    # the current course alone is still graded: its grid covers the sac
    current = next(o for o in ev.result.outcomes if o.structure == "ThecalSac" and o.metric == "D0.03cc[EQD2Gy(a/b=2)]")
    assert current.status is Status.PASS
    outside = [f.message for f in ev.findings if f.code == "structure-outside-prior-dose-grid" and "ThecalSac" in f.message]
    assert outside and "prior 1: SPINE_30" in outside[0]
    (sac,) = [d for d in ev.reirradiation.dvhs if d.structure == "ThecalSac"]
    # about half the 13.9 cc sac lies below z = 0
    assert 4.0 < sac.curves["cumulative"].volume_outside_grid_cc < 9.0
    assert sac.curves["current"].volume_outside_grid_cc == 0.0
    assert ev.return_code == 3
