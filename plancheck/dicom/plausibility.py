"""Is a dose grid plausible for the plan it belongs to?

A DoseSummationType read the wrong way, a grid in cGy labelled GY, or one
session labelled as the whole plan all give a dose that is wrong by a large
factor, and every DVH number computed from it is wrong. This module compares
each plan's whole dose (after the summation rules) with what its RTPLAN
states, and returns an ERROR finding with the numbers when they disagree
beyond what any real plan allows. The plan is then not evaluated.

The rules (every threshold is a factor far outside clinical practice, so
that real exports never trip them; each was checked on the Pinnacle,
RayStation and Eclipse exports in the project's reference data):

External beam (and plans without brachytherapy application setups):

* ``Rx`` is the highest TargetPrescriptionDose of a TARGET dose reference;
  ``Dmax_stated`` the highest DeliveryMaximumDose, TargetMaximumDose or
  OrganAtRiskMaximumDose; ``B`` the sum over fraction groups of fractions ×
  the sum of the beams' BeamDose (Gy at each beam's dose specification
  point).
* Error when the grid maximum exceeds 3 × the larger of ``Rx`` and
  ``Dmax_stated`` (hot spots of real plans stay below 2 × Rx, even for
  radiosurgery prescribed to the 50 % isodose).
* Error when the grid maximum is below 0.6 × ``Rx``: the prescription is
  reached nowhere (one session of several labelled as the whole plan gives
  1/n).
* Error when the grid maximum exceeds 20 × ``B`` or is below 0.1 × ``B``.
  BeamDose is the dose at a point, not the maximum: a RayStation VMAT plan
  states 2.2 Gy per fraction where its maximum is 10.5 Gy (a ratio of 4.9),
  and beams of several isocentres add doses at different points, so this
  band is wide.
* Without any of them: error when the maximum exceeds 200 Gy (more than any
  external-beam course, radiosurgery included).

Brachytherapy (a plan with application setups and no beams): the dose next
to a source is singular (an Eclipse HDR cylinder holds 395 Gy for a 5.5 Gy
prescription on a 2.5 mm grid), so the maximum is not used against the
prescription. ``Rx`` is the TARGET prescription, else the fraction groups'
BrachyApplicationSetupDose × fractions. The grid's near-maximum ``D2cc`` is
the dose exceeded in 2 cc of the grid (10 % of it when the grid is smaller
than 20 cc).

* Error when the grid maximum is below ``Rx``: around a source the
  prescription dose is always exceeded.
* Error when ``D2cc`` exceeds 30 × ``Rx`` (7 × on the Eclipse cylinder; a
  grid in cGy labelled GY gives about 700 ×).

Doses without their plan: error when ``D2cc`` exceeds 1000 Gy (a grid in cGy
labelled GY for any course of 10 Gy or more).

When a ratio to the prescription or the beams' dose lies near 100 or 0.01,
or near the fraction count or its inverse, the message names the likely cause (cGy labelled GY; one session
labelled as the whole plan, or the whole plan labelled as one session).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plancheck.model import Finding, Severity

__all__ = [
    "BRACHY_NEAR_MAX_CC",
    "PlanExpectation",
    "check_dose",
    "near_maximum_gy",
]

EXTERNAL_MAX_OVER_RX = 3.0
EXTERNAL_MAX_UNDER_RX = 0.6
BEAM_DOSE_BAND = (0.1, 20.0)
EXTERNAL_ABSOLUTE_MAX_GY = 200.0
BRACHY_NEAR_MAX_OVER_RX = 30.0
BRACHY_NEAR_MAX_CC = 2.0
PLANLESS_NEAR_MAX_GY = 1000.0


@dataclass(frozen=True)
class PlanExpectation:
    """What a plan states about its dose (Gy, all fractions); None where it states nothing.

    ``n_fractions`` is the plan's fraction count (to name a session/course
    mix-up); ``has_plan`` False for doses evaluated without their plan.
    """

    label: str
    has_plan: bool
    is_brachy: bool
    prescription_gy: float | None
    stated_maximum_gy: float | None
    beam_dose_gy: float | None
    n_fractions: int | None


def near_maximum_gy(dose_gy: npt.NDArray[np.floating], voxel_cc: float) -> float:
    """The dose exceeded in 2 cc of the grid (in 10 % of it when the grid is smaller than 20 cc)."""
    flat = np.asarray(dose_gy).ravel()
    if flat.size == 0:
        return 0.0
    volume = min(BRACHY_NEAR_MAX_CC, 0.1 * flat.size * voxel_cc)
    k = int(min(flat.size, max(1, math.ceil(volume / max(voxel_cc, 1e-12)))))
    return float(np.partition(flat, flat.size - k)[flat.size - k])


def _likely(ratio: float, n: int | None) -> str:
    """A sentence naming the likely cause of a ``ratio`` (dose / expected)."""
    hints = []
    if 50 <= ratio <= 200:
        hints.append("about 100 ×: the grid may hold cGy while DoseUnits says GY")
    if 0.005 <= ratio <= 0.02:
        hints.append("about 1/100: the grid may hold Gy while DoseUnits says CGY")
    if n is not None and n > 1:
        if 0.7 * n <= ratio <= 1.6 * n:
            hints.append(
                f"about {n} × (the fraction count): the whole plan may be labelled as one session "
                "(a *_SESSION DoseSummationType multiplied by the fractions)"
            )
        if 0.6 / n <= ratio <= 1.4 / n:
            hints.append(
                f"about 1/{n}: the grid may hold one session labelled as the whole plan "
                "(PLAN or FRACTION instead of FRACTION_SESSION)"
            )
    return ("; " + "; ".join(hints)) if hints else ""


def check_dose(
    expect: PlanExpectation,
    dose_gy: npt.NDArray[np.floating],
    voxel_cc: float,
    *,
    path: str | None,
    how: str,
) -> Finding | None:
    """An ERROR ``dose-implausible`` finding when the dose disagrees with its plan, else None.

    Parameters
    ----------
    expect : PlanExpectation
        What the plan states.
    dose_gy : ndarray
        The plan's whole dose (all fractions), Gy.
    voxel_cc : float
        The volume of one dose voxel, cc.
    path : str or None
        The dose file the finding names.
    how : str
        How the dose was made ("PLAN dose", "FRACTION_SESSION dose × 5 fractions").
    """
    flat = np.asarray(dose_gy)
    if flat.size == 0:
        return None
    dmax = float(np.max(flat))
    n = expect.n_fractions
    problems: list[str] = []
    rule = ""
    if not expect.has_plan:
        near = near_maximum_gy(flat, voxel_cc)
        if near > PLANLESS_NEAR_MAX_GY:
            problems.append(
                f"the dose exceeded in its hottest 2 cc is {near:.4g} Gy, more than any treatment "
                f"gives ({PLANLESS_NEAR_MAX_GY:g} Gy, brachytherapy included); the grid may hold cGy "
                "while DoseUnits says GY"
            )
        rule = "doses without a plan: near-maximum at most 1000 Gy"
    elif expect.is_brachy:
        rx = expect.prescription_gy
        rule = "brachytherapy: grid maximum at least the prescription, D2cc at most 30 × it"
        if rx is not None and rx > 0:
            near = near_maximum_gy(flat, voxel_cc)
            if dmax < rx:
                problems.append(
                    f"its maximum, {dmax:.4g} Gy, is below the prescription of {rx:.4g} Gy, which "
                    f"brachytherapy exceeds around every source{_likely(dmax / rx, n)}"
                )
            elif near > BRACHY_NEAR_MAX_OVER_RX * rx:
                problems.append(
                    f"the dose exceeded in its hottest 2 cc is {near:.4g} Gy, "
                    f"{near / rx:.1f} × the prescription of {rx:.4g} Gy (at most "
                    f"{BRACHY_NEAR_MAX_OVER_RX:g} × is plausible)"
                )
    else:
        rule = (
            "external beam: maximum within 0.6–3 × the prescription (3 × the stated maximum dose), "
            "within 0.1–20 × the beams' stated dose, at most 200 Gy"
        )
        rx = expect.prescription_gy
        top = max((v for v in (rx, expect.stated_maximum_gy) if v is not None), default=None)
        b = expect.beam_dose_gy
        if top is not None and dmax > EXTERNAL_MAX_OVER_RX * top:
            what = (
                "prescription"
                if top == rx
                else "highest dose the plan allows (DoseReferenceSequence)"
            )
            problems.append(
                f"its maximum, {dmax:.4g} Gy, is {dmax / top:.1f} × the {what} of {top:.4g} Gy "
                f"(at most {EXTERNAL_MAX_OVER_RX:g} × is plausible){_likely(dmax / top, n)}"
            )
        if rx is not None and dmax < EXTERNAL_MAX_UNDER_RX * rx:
            problems.append(
                f"its maximum, {dmax:.4g} Gy, is only {dmax / rx:.2f} × the prescription of "
                f"{rx:.4g} Gy: the prescription is reached nowhere{_likely(dmax / rx, n)}"
            )
        if b is not None and b > 0 and not (BEAM_DOSE_BAND[0] * b <= dmax <= BEAM_DOSE_BAND[1] * b):
            problems.append(
                f"its maximum, {dmax:.4g} Gy, is {dmax / b:.3g} × the dose the plan's beams state "
                f"(Σ fractions × BeamDose = {b:.4g} Gy; {BEAM_DOSE_BAND[0]:g}–{BEAM_DOSE_BAND[1]:g} × "
                f"is plausible){_likely(dmax / b, n)}"
            )
        if top is None and b is None and dmax > EXTERNAL_ABSOLUTE_MAX_GY:
            problems.append(
                f"its maximum, {dmax:.4g} Gy, is more than any external-beam plan gives "
                f"({EXTERNAL_ABSOLUTE_MAX_GY:g} Gy); the grid may hold cGy while DoseUnits says GY"
            )
    if not problems:
        return None
    return Finding(
        Severity.ERROR,
        "dose-implausible",
        f"{expect.label}: the dose ({how}) does not fit the plan: {'; and '.join(problems)}. "
        f"The plan is not evaluated (rule: {rule}). Check DoseUnits and DoseSummationType, and "
        "export the dose again.",
        path,
    )
