"""Writing a cumulative EQD2 distribution as an RT Dose, for review in a planning system.

PS3.3 C.8.8.3 (RT Dose Module):

* DoseType ``EFFECTIVE``: "physical dose after correction for biological
  effect using user-defined modeling technique" — an EQD2 is that.
* DoseSummationType ``MULTI_PLAN``: "dose calculated for 2 or more RT Plans";
  ``PLAN`` when only one plan contributed.
* ReferencedRTPlanSequence (Type 1C, required for PLAN and MULTI_PLAN): one
  item per plan that contributed, whatever its frame of reference.
* DoseComment (LO, at most 64 characters) says what the grid is; the full
  description (α/β, each course with its fractions, how it was mapped) goes
  into ImageComments (General Image module, LT).

The grid is written in 32 bits, with a DoseGridScaling that uses the full
range (:func:`plancheck.dicom.write.rtdose_dataset`); DoseUnits GY.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.kinds import RT_PLAN_STORAGE
from plancheck.dicom.write import DicomContext, Orientation, rtdose_dataset, write_dataset
from plancheck.model import DoseGrid

__all__ = ["cumulative_eqd2_comment", "cumulative_eqd2_dataset", "write_cumulative_eqd2"]


def cumulative_eqd2_comment(alpha_beta_gy: float, n_courses: int) -> str:
    """The DoseComment: ``"cumulative EQD2 (a/b 2 Gy) of 2 courses"`` (at most 64 characters)."""
    return f"cumulative EQD2 (a/b {alpha_beta_gy:g} Gy) of {n_courses} course{'s' if n_courses != 1 else ''}"[
        :64
    ]


def cumulative_eqd2_dataset(
    ctx: DicomContext,
    grid: DoseGrid,
    *,
    alpha_beta_gy: float,
    courses: Sequence[str],
    referenced_plan_uids: Sequence[str],
    sop_instance_uid: str,
    series_instance_uid: str,
    details: str = "",
    orientation: Orientation = "HFS",
    series_number: int = 40,
) -> Dataset:
    """An RT Dose holding ``grid`` (EQD2 in Gy) as an EFFECTIVE, MULTI_PLAN dose.

    Parameters
    ----------
    ctx : DicomContext
        Patient, study and frame of reference of the grid (the current course's).
    grid : DoseGrid
        The cumulative EQD2 in Gy on an axial grid of ``ctx``'s frame of reference.
    alpha_beta_gy : float
        The α/β used for the conversion.
    courses : sequence of str
        One description per course ("prior: SPINE_30 30 Gy in 10 fractions", ...).
    referenced_plan_uids : sequence of str
        SOP Instance UIDs of every plan that contributed (at least one).
    details : str
        Further description (registration used, recovery assumed), for ImageComments.

    Raises
    ------
    ValueError
        For no plans or courses, a non-positive α/β, a grid of another frame
        of reference than ``ctx``'s, or a tilted grid.
    """
    if not referenced_plan_uids:
        raise ValueError("a cumulative dose references the plans it sums; none given")
    if not courses:
        raise ValueError("name the courses the cumulative dose sums")
    if not alpha_beta_gy > 0:
        raise ValueError(f"α/β must be > 0 Gy, got {alpha_beta_gy}")
    if grid.frame_of_reference_uid != ctx.frame_of_reference_uid:
        raise ValueError(
            f"the grid is in frame of reference {grid.frame_of_reference_uid}, the dataset in "
            f"{ctx.frame_of_reference_uid}"
        )
    if not grid.is_axial:
        raise ValueError("only axial grids are written as RT Dose here")
    comment = cumulative_eqd2_comment(alpha_beta_gy, len(courses))
    ds = rtdose_dataset(
        ctx,
        grid,
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=series_instance_uid,
        referenced_plan_uid=None,
        orientation=orientation,
        bits=32,
        comment=comment,
        series_number=series_number,
    )
    ds.DoseType = "EFFECTIVE"
    ds.DoseSummationType = "MULTI_PLAN" if len(referenced_plan_uids) > 1 else "PLAN"
    refs = []
    for uid in referenced_plan_uids:
        ref = Dataset()
        ref.ReferencedSOPClassUID = RT_PLAN_STORAGE
        ref.ReferencedSOPInstanceUID = uid
        refs.append(ref)
    ds.ReferencedRTPlanSequence = DicomSequence(refs)
    ds.SeriesDescription = "cumulative EQD2"
    text = [
        f"Cumulative EQD2 in Gy (equivalent dose in 2 Gy fractions), alpha/beta {alpha_beta_gy:g} Gy, "
        "voxel by voxel: each plan's physical dose converted with its own fraction count, "
        "EQD2 = D (D/n + a/b) / (2 + a/b), then summed.",
        *(f"Course: {c}" for c in courses),
    ]
    if details:
        text.append(details)
    ds.ImageComments = "\n".join(text)[:10240]
    return ds


def write_cumulative_eqd2(
    path: Path | str,
    ctx: DicomContext,
    grid: DoseGrid,
    *,
    alpha_beta_gy: float,
    courses: Sequence[str],
    referenced_plan_uids: Sequence[str],
    sop_instance_uid: str,
    series_instance_uid: str,
    details: str = "",
    orientation: Orientation = "HFS",
) -> Path:
    """Write :func:`cumulative_eqd2_dataset` to ``path``."""
    ds = cumulative_eqd2_dataset(
        ctx,
        grid,
        alpha_beta_gy=alpha_beta_gy,
        courses=courses,
        referenced_plan_uids=referenced_plan_uids,
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=series_instance_uid,
        details=details,
        orientation=orientation,
    )
    return write_dataset(ds, Path(path))
