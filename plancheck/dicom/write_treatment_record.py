"""Writing an RT Treatment Summary Record (for phantoms and tests).

RT Treatment Summary Record IOD (PS3.3 A.31): Patient, General Study, RT
Series (Modality RTRECORD), General Equipment, RT General Treatment Record
(C.8.8.17: TreatmentDate/TreatmentTime of the last fraction delivered,
ReferencedRTPlanSequence), RT Treatment Summary Record (C.8.8.23:
CurrentTreatmentStatus, FirstTreatmentDate, MostRecentTreatmentDate, one
fraction group summary with the fractions planned and delivered and each
fraction's date), SOP Common.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from plancheck.dicom.kinds import RT_PLAN_STORAGE, RT_TREATMENT_SUMMARY_RECORD_STORAGE
from plancheck.dicom.write import DicomContext, _base

__all__ = ["treatment_summary_dataset"]


def treatment_summary_dataset(
    ctx: DicomContext,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    plan_uid: str,
    n_fractions_planned: int,
    fraction_dates: Sequence[str],
    status: str = "COMPLETED",
    fraction_group: int = 1,
    series_number: int = 30,
) -> Dataset:
    """A treatment summary of one fraction group delivered on ``fraction_dates`` (DA strings).

    FirstTreatmentDate and MostRecentTreatmentDate are the first and last of
    ``fraction_dates`` (which must be in order); treatment times are 09:00.
    """
    if not fraction_dates:
        raise ValueError("a treatment summary needs at least one delivered fraction")
    if list(fraction_dates) != sorted(fraction_dates):
        raise ValueError("fraction dates must be in order")
    ds = _base(
        ctx,
        RT_TREATMENT_SUMMARY_RECORD_STORAGE,
        sop_instance_uid,
        series_instance_uid,
        "RTRECORD",
        series_number,
        "treatment summary",
    )
    ds.TreatmentDate = fraction_dates[-1]
    ds.TreatmentTime = "090000"
    ref = Dataset()
    ref.ReferencedSOPClassUID = RT_PLAN_STORAGE
    ref.ReferencedSOPInstanceUID = plan_uid
    ds.ReferencedRTPlanSequence = DicomSequence([ref])
    ds.CurrentTreatmentStatus = status
    ds.FirstTreatmentDate = fraction_dates[0]
    ds.MostRecentTreatmentDate = fraction_dates[-1]
    group = Dataset()
    group.ReferencedFractionGroupNumber = fraction_group
    group.FractionGroupType = "EXTERNAL_BEAM"
    group.NumberOfFractionsPlanned = n_fractions_planned
    group.NumberOfFractionsDelivered = len(fraction_dates)
    items = []
    for k, date in enumerate(fraction_dates, start=1):
        item = Dataset()
        item.ReferencedFractionNumber = k
        item.TreatmentDate = date
        item.TreatmentTime = "090000"
        item.TreatmentTerminationStatus = "NORMAL"
        items.append(item)
    group.FractionStatusSummarySequence = DicomSequence(items)
    ds.FractionGroupSummarySequence = DicomSequence([group])
    return ds
