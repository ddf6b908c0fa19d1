"""Shared by the re-irradiation tests: a report-only protocol and the per-point truth.

The truth samples points uniformly inside the current course's contour stack
(ray casting and half end caps written in ``tests.phantoms.test_spine``) and
evaluates there either the two closed-form dose fields of the phantom
(:meth:`ReirradiationPhantom.cumulative_eqd2_gy`) or the two written grids,
interpolated trilinearly in the test (the prior grid at the points mapped by
the phantom's known transform, not by the REG file). Neither goes through
plancheck's dose or DVH engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from plancheck.phantoms.reirradiation import ReirradiationPhantom, eqd2_gy
from tests.phantoms.test_spine import near_max, points_in, trilinear

ALPHA_BETA_GY = 2.0
TRUTH_POINTS = 400_000
METRICS = ("D0.03cc", "Max")
STRUCTURES = ("SpinalCord", "ThecalSac")
DOSES = ("prior", "current", "cumulative")


def write_report_protocol(path: Path) -> Path:
    """A protocol that reports D0.03cc and Max (EQD2, a/b 2) of cord and thecal sac for every dose."""
    constraints = [
        {
            "structure": s,
            "metric": f"{m}[EQD2Gy(a/b=2)]",
            "dose": dose,
            "report_only": True,
            "source": "test",
        }
        for s in STRUCTURES
        for dose in DOSES
        for m in METRICS
    ]
    doc = {
        "name": "reirradiation_report_test",
        "description": "reports only",
        "structures": [{"name": s} for s in STRUCTURES],
        "constraints": constraints,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def values(evaluation) -> dict[tuple[str, str, str], float]:
    """(structure, metric, dose) -> value of a report-protocol evaluation."""
    out = {}
    for o in evaluation.result.outcomes:
        metric, _, dose = o.metric.partition(" (")
        out[(o.structure, metric.split("[")[0], dose.rstrip(")") or "current")] = o.value
    return out


def _transform(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ m[:3, :3].T + m[:3, 3]


def truth(ph: ReirradiationPhantom, structure: str, *, from_grids: bool = False, seed: int = 3):
    """{(metric, dose): value} from points in the current contour stack of ``structure``."""
    roi = next(s for s in ph.current.structures if s.name == structure)
    p, volume_cc = points_in(roi, n=TRUTH_POINTS, seed=seed)
    if from_grids:
        prior_gy = trilinear(ph.prior.dose, _transform(ph.current_to_prior, p))
        current_gy = trilinear(ph.current.dose, p)
    else:
        prior_gy, current_gy = ph.prior_dose_gy(p), ph.current_dose_gy(p)
    prior = eqd2_gy(prior_gy, ph.prior.n_fractions, ALPHA_BETA_GY)
    current = eqd2_gy(current_gy, ph.current.n_fractions, ALPHA_BETA_GY)
    out = {}
    for dose, d in (("prior", prior), ("current", current), ("cumulative", prior + current)):
        out[("D0.03cc", dose)] = near_max(d, volume_cc)
        out[("Max", dose)] = float(d.max())
    return out
