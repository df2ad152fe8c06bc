"""De-identification for sending to central review (DICOM PS3.15 Annex E), without Qt."""

from namecar_viewer.deid.engine import (
    PATIENT_CHARACTERISTICS,
    PROFILE,
    Deidentifier,
    DeidError,
    DeidOptions,
    DeidResult,
    deidentify_files,
)
from namecar_viewer.deid.mapping import DeidMapping, MappingError

__all__ = [
    "PATIENT_CHARACTERISTICS",
    "PROFILE",
    "DeidError",
    "DeidMapping",
    "DeidOptions",
    "DeidResult",
    "Deidentifier",
    "MappingError",
    "deidentify_files",
]
