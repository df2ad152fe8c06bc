"""De-identification for sending to central review (DICOM PS3.15 Annex E), without Qt."""

from namecar_viewer.deid.engine import (
    PATIENT_CHARACTERISTICS,
    PROFILE,
    DeidBatch,
    Deidentifier,
    DeidError,
    DeidOptions,
    DeidResult,
    FileProblem,
    deidentify_files,
)
from namecar_viewer.deid.mapping import DeidMapping, MappingError

__all__ = [
    "PATIENT_CHARACTERISTICS",
    "PROFILE",
    "DeidBatch",
    "DeidError",
    "DeidMapping",
    "DeidOptions",
    "DeidResult",
    "Deidentifier",
    "FileProblem",
    "MappingError",
    "deidentify_files",
]
