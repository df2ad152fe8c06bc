"""RECIST 1.1 / iRECIST response engine with the NAMECAR eligibility rule (pure Python, no Qt)."""

from namecar_viewer.core.recist.case_json import case_from_json, case_to_json, result_to_json
from namecar_viewer.core.recist.engine import evaluate
from namecar_viewer.core.recist.model import (
    Case,
    CaseResult,
    Criteria,
    Lesion,
    LesionKind,
    MeasurementKind,
    NewLesions,
    NonTargetStatus,
    Protocol,
    RecistInputError,
    Response,
    RuleViolation,
    TargetMeasurement,
    Timepoint,
    TimepointResult,
)
from namecar_viewer.core.recist.validation import validate_baseline, validate_case

__all__ = [
    "Case",
    "CaseResult",
    "Criteria",
    "Lesion",
    "LesionKind",
    "MeasurementKind",
    "NewLesions",
    "NonTargetStatus",
    "Protocol",
    "RecistInputError",
    "Response",
    "RuleViolation",
    "TargetMeasurement",
    "Timepoint",
    "TimepointResult",
    "case_from_json",
    "case_to_json",
    "evaluate",
    "result_to_json",
    "validate_baseline",
    "validate_case",
]
