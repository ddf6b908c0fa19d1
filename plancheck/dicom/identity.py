"""What a DICOM header says about its origin, and which of its values identify someone.

:func:`source_from_dataset` reads the General Equipment module (manufacturer,
model, software versions), the object's date, and the Approval module of RT
Plans and Structure Sets (status, review date, reviewer). It also collects
the value of every identifying attribute of the header, so that anonymised
outputs can replace those values wherever plancheck quotes them:

* the attributes of the Basic Application Level Confidentiality Profile
  (DICOM PS3.15 Table E.1-1) whose values are text (:data:`IDENTIFYING_KEYWORDS`);
* the labels the profile does not list but that name a patient's plan
  (StructureSetLabel, StructureSetName, StructureSetDescription);
* by value representation, as PS3.15 E.1 note 4 recommends for extensibility:
  every person name (PN), date (DA), date-time (DT), time (TM) and UID (UI),
  UIDs defined by the standard itself (``1.2.840.10008.``) excepted.

Sequences are searched to a depth of three items, except those holding
geometry (contours, control points, DVHs), which hold no identifying text.
Pixel data and private attributes are never read. Nothing here raises on a
malformed value: it is skipped.
"""

from __future__ import annotations

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from plancheck.dicom._read import DECODE_ERRORS
from plancheck.model import SourceInfo

__all__ = ["IDENTIFYING_KEYWORDS", "identifying_values", "source_from_dataset"]

# PS3.15 (2020) Table E.1-1, Basic Profile: the attributes whose values are text
# fmt: off
IDENTIFYING_KEYWORDS: frozenset[str] = frozenset((
    "AccessionNumber", "AcquisitionComments", "AcquisitionDeviceProcessingDescription",
    "AcquisitionProtocolDescription", "AdditionalPatientHistory", "AddressTrial", "AdmissionID",
    "AdmittingDiagnosesDescription", "Allergies", "Arbitrary", "BarcodeValue", "BeamDescription",
    "BolusDescription", "BranchOfService", "CameraOwnerName", "CassetteID",
    "ClinicalTrialCoordinatingCenterName", "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
    "ClinicalTrialProtocolEthicsCommitteeName", "ClinicalTrialProtocolID",
    "ClinicalTrialProtocolName", "ClinicalTrialSeriesDescription", "ClinicalTrialSeriesID",
    "ClinicalTrialSiteID", "ClinicalTrialSiteName", "ClinicalTrialSponsorName",
    "ClinicalTrialSubjectID", "ClinicalTrialSubjectReadingID",
    "ClinicalTrialTimePointDescription", "ClinicalTrialTimePointID",
    "CommentsOnThePerformedProcedureStep", "CompensatorDescription",
    "ConceptualVolumeCombinationDescription", "ConceptualVolumeDescription",
    "ConfidentialityConstraintOnPatientDataDescription", "ContainerComponentID",
    "ContainerDescription", "ContainerIdentifier", "ContrastBolusAgent",
    "ContributionDescription", "CountryOfResidence", "CurrentPatientLocation",
    "DecompositionDescription", "DerivationDescription", "DetectorID",
    "DeviceAlternateIdentifier", "DeviceDescription", "DeviceLabel", "DeviceSerialNumber",
    "DischargeDiagnosisDescription", "DistributionAddress", "DoseReferenceDescription",
    "EntityDescription", "EntityLabel", "EntityLongLabel", "EntityName",
    "EquipmentFrameOfReferenceDescription", "EthnicGroup",
    "FillerOrderNumberImagingServiceRequest", "FixationDeviceDescription",
    "FractionGroupDescription", "FractionationNotes", "FrameComments", "GPSDestBearingRef",
    "GPSDestDistanceRef", "GPSDestLatitudeRef", "GPSDestLongitudeRef", "GPSImgDirectionRef",
    "GPSLatitudeRef", "GPSLongitudeRef", "GPSMapDatum", "GPSMeasureMode", "GPSSatellites",
    "GPSSpeedRef", "GPSStatus", "GPSTrackRef", "GantryID", "GeneratorID",
    "HumanPerformerOrganization", "IdentifyingComments", "ImageComments",
    "ImagePresentationComments", "ImagingServiceRequestComments", "Impressions",
    "InstanceOriginStatus", "InstitutionAddress", "InstitutionName",
    "InstitutionalDepartmentName", "InsurancePlanIdentification", "InterlockDescription",
    "InterlockOriginDescription", "InterpretationDiagnosisDescription", "InterpretationIDIssuer",
    "InterpretationText", "IssuerOfAdmissionID", "IssuerOfPatientID", "IssuerOfServiceEpisodeID",
    "LabelText", "LensMake", "LensModel", "LensSerialNumber", "LongDeviceDescription",
    "ManufacturerDeviceIdentifier", "MedicalAlerts", "MedicalRecordLocator", "MilitaryRank",
    "ModifiedImageDescription", "ModifyingDeviceID", "MultienergyAcquisitionDescription",
    "Occupation", "OrderCallbackPhoneNumber", "OrderCallbackTelecomInformation",
    "OrderEntererLocation", "OtherPatientIDs", "PatientAddress", "PatientAge", "PatientComments",
    "PatientID", "PatientInstitutionResidence", "PatientReligiousPreference", "PatientSex",
    "PatientSexNeutered", "PatientState", "PatientTelecomInformation", "PatientTelephoneNumbers",
    "PatientTransportArrangements", "PerformedLocation", "PerformedProcedureStepDescription",
    "PerformedProcedureStepID", "PerformedStationAETitle", "PerformedStationName",
    "PersonAddress", "PersonTelecomInformation", "PersonTelephoneNumbers",
    "PlacerOrderNumberImagingServiceRequest", "PlateID", "PreMedication",
    "PrescriptionDescription", "PrescriptionNotes", "PriorTreatmentDoseDescription",
    "ProtocolName", "RTAccessoryDeviceSlotID", "RTAccessoryHolderSlotID",
    "RTPhysicianIntentNarrative", "RTPlanDescription", "RTPlanLabel", "RTPlanName",
    "RTPrescriptionLabel", "RTToleranceSetLabel", "RTTreatmentApproachLabel",
    "RadiationDoseIdentificationLabel", "RadiationDoseInVivoMeasurementLabel",
    "RadiationGenerationModeDescription", "RadiationGenerationModeLabel",
    "ReasonForOmissionDescription", "ReasonForStudy", "ReasonForSuperseding",
    "ReasonForTheImagingServiceRequest", "ReasonForTheRequestedProcedure", "ReasonForVisit",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "RegionOfResidence",
    "RequestedContrastAgent", "RequestedProcedureComments", "RequestedProcedureDescription",
    "RequestedProcedureID", "RequestedProcedureLocation", "RequestingService",
    "RespiratoryMotionCompensationTechniqueDescription", "ResponsibleOrganization",
    "ResultsComments", "ResultsIDIssuer", "ScheduledPatientInstitutionResidence",
    "ScheduledProcedureStepDescription", "ScheduledProcedureStepLocation",
    "ScheduledStationAETitle", "ScheduledStationName", "ScheduledStudyLocation",
    "ScheduledStudyLocationAETitle", "SeriesDescription", "ServiceEpisodeDescription",
    "ServiceEpisodeID", "SetupTechniqueDescription", "ShieldingDeviceDescription",
    "SlideIdentifier", "SmokingStatus", "SourceManufacturer", "SourceSerialNumber",
    "SpecialNeeds", "SpecimenAccessionNumber", "SpecimenDetailedDescription",
    "SpecimenIdentifier", "SpecimenShortDescription", "StationName", "StudyComments",
    "StudyDescription", "StudyID", "StudyIDIssuer", "TelephoneNumberTrial", "TextComments",
    "TextString", "TimezoneOffsetFromUTC", "TopicAuthor", "TopicKeywords", "TopicSubject",
    "TopicTitle", "TreatmentMachineName", "TreatmentPositionGroupLabel", "TreatmentSite",
    "TreatmentTechniqueNotes", "TreatmentToleranceViolationDescription", "UniqueDeviceIdentifier",
    "UserContentLabel", "UserContentLongLabel", "VerifyingOrganization", "VisitComments",
    "XRayDetectorID", "XRayDetectorLabel", "XRaySourceID",
    # not in the table, but they name a patient's structure set as RTPlanLabel names a plan
    "StructureSetLabel", "StructureSetName", "StructureSetDescription",
))
# fmt: on
_BY_VR = frozenset({"PN", "DA", "DT", "TM", "UI"})
_STANDARD_UID_ROOT = "1.2.840.10008."
_MAX_DEPTH = 3
_SKIPPED_SEQUENCES = frozenset(
    {
        "ROIContourSequence",
        "ContourSequence",
        "ControlPointSequence",
        "IonControlPointSequence",
        "DVHSequence",
        "ContourImageSequence",
    }
)
# where each kind of object keeps its own date
_DATE_KEYWORDS = (
    ("RTPlanDate", "RTPlanTime"),
    ("StructureSetDate", "StructureSetTime"),
    ("ContentDate", "ContentTime"),
    ("InstanceCreationDate", "InstanceCreationTime"),
)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        parts = [str(v).strip() for v in value]  # type: ignore[attr-defined]
        text = "\\".join(p for p in parts if p)
    else:
        text = str(value).strip()
    return text or None


def _get(ds: Dataset, keyword: str) -> str | None:
    try:
        return _text(ds.get(keyword))
    except DECODE_ERRORS:
        return None


def _walk(ds: Dataset, depth: int, out: list[tuple[str, str, str]]) -> None:
    try:
        tags = list(ds.keys())
    except DECODE_ERRORS:
        return
    for tag in tags:
        t = BaseTag(tag)
        if t.is_private or t.group in (0x7FE0, 0x0002):
            continue
        try:
            vr = dictionary_VR(t)
            keyword = keyword_for_tag(t)
        except KeyError:
            continue
        try:
            if vr == "SQ":
                if depth < _MAX_DEPTH and keyword not in _SKIPPED_SEQUENCES:
                    for item in ds[t].value or ():
                        _walk(item, depth + 1, out)
                continue
            if vr not in _BY_VR and keyword not in IDENTIFYING_KEYWORDS:
                continue
            text = _text(ds[t].value)
        except DECODE_ERRORS:
            continue
        if text is None or (vr == "UI" and text.startswith(_STANDARD_UID_ROOT)):
            continue
        for part in text.split("\\") if vr in ("PN", "UI", "DA", "DT", "TM") else (text,):
            part = part.strip()
            if part:
                out.append((keyword, vr, part))


def identifying_values(ds: Dataset) -> tuple[tuple[str, str, str], ...]:
    """Every identifying value of ``ds`` as (keyword, VR, value), each once, in header order."""
    out: list[tuple[str, str, str]] = []
    _walk(ds, 0, out)
    return tuple(dict.fromkeys(out))


def source_from_dataset(ds: Dataset) -> SourceInfo:
    """Equipment, date, approval and identifying values of a DICOM header (see module docstring)."""
    date = time = None
    for date_kw, time_kw in _DATE_KEYWORDS:
        date = _get(ds, date_kw)
        if date is not None:
            time = _get(ds, time_kw)
            break
    status = _get(ds, "ApprovalStatus")
    return SourceInfo(
        manufacturer=_get(ds, "Manufacturer"),
        model_name=_get(ds, "ManufacturerModelName"),
        software_versions=_get(ds, "SoftwareVersions"),
        institution_name=_get(ds, "InstitutionName"),
        station_name=_get(ds, "StationName"),
        date=date,
        time=time,
        approval_status=status.upper() if status is not None else None,
        review_date=_get(ds, "ReviewDate"),
        review_time=_get(ds, "ReviewTime"),
        reviewer_name=_get(ds, "ReviewerName"),
        identifying=identifying_values(ds),
    )
