"""Coded concepts of our TID 1500 Measurement Report, in one table both ways (export and import).

Standard codes where DICOM PS3.16 has them (SNOMED CT sites and findings, CID 6147 response
criteria, CID 6144 RECIST lesion responses, CID 6145 baseline categories, CID 6146 time point
types); where it has none (the overall RECIST response categories, the NAMECAR eligibility, the
lesion statuses of the case report form) a private coding scheme, ``99NAMECAR``, declared in the
SR's Coding Scheme Identification Sequence (PS3.3 C.12.1.1.2.1).
"""

from __future__ import annotations

from highdicom.sr import CodedConcept

from namecar_viewer.core.reads.model import LesionRole, LesionStatus, Site, TimepointRole

PRIVATE_SCHEME = "99NAMECAR"
PRIVATE_SCHEME_NAME = "NAMECAR Viewer coded concepts"
PRIVATE_SCHEME_ORGANIZATION = "NAMECAR Viewer"


def sct(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, "SCT", meaning)


def dcm(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, "DCM", meaning)


def private(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, PRIVATE_SCHEME, meaning)


# --- finding sites (SNOMED CT) -------------------------------------------------------------
SITE_CODES: dict[Site, CodedConcept] = {
    Site.LUNG: sct("39607008", "Lung"),
    Site.LIVER: sct("10200004", "Liver"),
    Site.LYMPH_NODE: sct("59441001", "Lymph node"),
    Site.KIDNEY: sct("64033007", "Kidney"),
    Site.ADRENAL: sct("23451007", "Adrenal gland"),
    Site.BONE: sct("272673000", "Bone"),
    Site.PANCREAS: sct("15776009", "Pancreas"),
    Site.BRAIN: sct("12738006", "Brain"),
    Site.PERITONEUM: sct("15425007", "Peritoneum"),
    Site.SOFT_TISSUE: sct("87784001", "Soft tissue"),
    Site.OTHER: sct("123037004", "Body structure"),
}

# --- findings ------------------------------------------------------------------------------
FINDING_PRIMARY = sct("372087000", "Neoplasm, Primary")
FINDING_METASTATIC = sct("14799000", "Neoplasm, metastatic")
FINDING_FREE = sct("52988006", "Lesion")

# --- measurements --------------------------------------------------------------------------
LONG_AXIS = sct("103339001", "Long axis")
SHORT_AXIS = sct("103340004", "Short axis")
LENGTH = sct("410668003", "Length")
VOLUME = sct("118565006", "Volume")
AREA = sct("42798000", "Area")
SUVBW = dcm("126401", "SUVbw")
SUV_BW_METHOD = dcm("126410", "SUV body weight calculation method")
MEAN = sct("373098007", "Mean")
MAXIMUM = sct("56851009", "Maximum")
PEAK = dcm("126031", "Peak Value Within ROI")
UNIT_MM = CodedConcept("mm", "UCUM", "millimeter")
UNIT_MM2 = CodedConcept("mm2", "UCUM", "square millimeter")
UNIT_ML = CodedConcept("ml", "UCUM", "milliliter")
UNIT_SUVBW = CodedConcept("{SUVbw}g/ml", "UCUM", "Standardized Uptake Value body weight")
UNIT_DAY = CodedConcept("d", "UCUM", "day")
UNIT_PERCENT = CodedConcept("%", "UCUM", "percent")

# --- lesion role (CID 6145 Baseline Category) ----------------------------------------------
LESION_ROLE_NAME = private("ROLE", "RECIST lesion role")
ROLE_CODES: dict[LesionRole, CodedConcept] = {
    LesionRole.TARGET: dcm("112074", "Target Lesion at Baseline"),
    LesionRole.NON_TARGET: dcm("112075", "Non-Target Lesion at Baseline"),
    LesionRole.NEW: private("NEW", "New lesion"),
}

# --- lesion status at a timepoint ----------------------------------------------------------
LESION_STATUS_NAME = private("STATUS", "Lesion status")
STATUS_CODES: dict[LesionStatus, CodedConcept] = {
    LesionStatus.PRESENT: sct("52101004", "Present"),
    LesionStatus.ABSENT: sct("272519000", "Absent"),
    LesionStatus.UNEQUIVOCAL_PROGRESSION: private("UPD", "Unequivocal progression"),
    LesionStatus.TOO_SMALL: dcm("112133", "Too small"),
    LesionStatus.NOT_EVALUABLE: sct("373121007", "Not Evaluated"),
    LesionStatus.SPLIT: private("SPLIT", "Split lesion"),
    LesionStatus.COALESCED: dcm("112157", "Coalescent"),
    LesionStatus.EQUIVOCAL: sct("42425007", "Equivocal"),
}
LYMPH_NODE_FLAG = private("NODE", "Lymph node (measured by short axis)")
STATION = private("STATION", "Lymph node station")
DESCRIPTION = dcm("121106", "Comment")
YES = sct("373066001", "Yes")
NO = sct("373067005", "No")

# --- time points (TID 1502, CID 6146) ------------------------------------------------------
TIMEPOINT_TYPE: dict[TimepointRole, CodedConcept] = {
    TimepointRole.PRE_TREATMENT_BASELINE: CodedConcept("C1442488", "UMLS", "Baseline"),
    TimepointRole.INCLUSION: dcm("126075", "Eligibility"),
    TimepointRole.FOLLOW_UP: dcm("126074", "Posttreatment"),
}
BASELINE_EVENT = CodedConcept("C1442488", "UMLS", "Baseline")

# --- responses -----------------------------------------------------------------------------
RESPONSE_METHOD = dcm("112021", "Response Evaluation Method")
RECIST_11 = dcm("126081", "RECIST 1.1")  # CID 6147 Response Criteria
TARGET_RESPONSE_NAME = private("TR", "Target lesion response")
NON_TARGET_RESPONSE_NAME = private("NTR", "Non-target lesion response")
OVERALL_RESPONSE_NAME = dcm("112020", "Response Evaluation")
NEW_LESIONS_NAME = private("NEWL", "New lesions")
ELIGIBILITY_NAME = private("ELIG", "NAMECAR eligibility (CR or metastatic PR > 75%)")
NOT_EVALUATED = sct("373121007", "Not Evaluated")
NOT_APPLICABLE = private("NA", "Not applicable")
TARGET_RESPONSE: dict[str, CodedConcept] = {  # CID 6144
    "CR": dcm("112041", "Target Lesion Complete Response"),
    "PR": dcm("112042", "Target Lesion Partial Response"),
    "PD": dcm("112043", "Target Lesion Progressive Disease"),
    "SD": dcm("112044", "Target Lesion Stable Disease"),
    "NE": NOT_EVALUATED,
    "NA": NOT_APPLICABLE,
}
NON_TARGET_RESPONSE: dict[str, CodedConcept] = {  # CID 6144
    "CR": dcm("112045", "Non-Target Lesion Complete Response"),
    "Non-CR/Non-PD": dcm("112046", "Non-Target Lesion Incomplete Response or Stable Disease"),
    "PD": dcm("112047", "Non-Target Lesion Progressive Disease"),
    "NE": NOT_EVALUATED,
    "NA": NOT_APPLICABLE,
}
OVERALL_RESPONSE: dict[str, CodedConcept] = {
    "CR": private("CR", "Complete response"),
    "PR": private("PR", "Partial response"),
    "SD": private("SD", "Stable disease"),
    "PD": private("PD", "Progressive disease"),
    "NE": NOT_EVALUATED,
    "Non-CR/Non-PD": private("NCRNPD", "Non-CR/Non-PD"),
}
NEW_LESIONS: dict[str, CodedConcept] = {
    "none": sct("272519000", "Absent"),
    "equivocal": sct("42425007", "Equivocal"),
    "unequivocal": sct("52101004", "Present"),
}
RESPONSE_GROUP_PREFIX = "Response "


def key(code: object) -> tuple[str, str]:
    """(scheme, value) of a pydicom/highdicom code or a code sequence item."""
    scheme = getattr(code, "scheme_designator", None) or getattr(code, "CodingSchemeDesignator", "")
    value = getattr(code, "value", None)
    if not isinstance(value, str):
        value = (
            getattr(code, "CodeValue", None)
            or getattr(code, "LongCodeValue", None)
            or getattr(code, "URNCodeValue", "")
        )
    return (str(scheme), str(value))


def reverse(table: dict[object, CodedConcept]) -> dict[tuple[str, str], object]:
    return {key(v): k for k, v in table.items()}
