"""PET SUV: scale factors from DICOM headers and lesion uptake measures on SUV volumes."""

from namecar_viewer.core.suv.body import LbmFormula
from namecar_viewer.core.suv.factors import (
    DecayCorrection,
    InputValue,
    PetUnits,
    SuvFactors,
    SuvInputError,
    SuvKind,
    SuvOverrides,
    SuvResult,
    compute_suv_factors,
)
from namecar_viewer.core.suv.quantify import (
    MetabolicVolume,
    ReferenceRegion,
    SphereVoi,
    SuvPeak,
    ThresholdKind,
    TumourToBackground,
    VoiStats,
    apply_suv_factors,
    metabolic_volume,
    suv_peak,
    tumour_to_background,
    voi_stats,
)

__all__ = [
    "DecayCorrection",
    "InputValue",
    "LbmFormula",
    "MetabolicVolume",
    "PetUnits",
    "ReferenceRegion",
    "SphereVoi",
    "SuvFactors",
    "SuvInputError",
    "SuvKind",
    "SuvOverrides",
    "SuvPeak",
    "SuvResult",
    "ThresholdKind",
    "TumourToBackground",
    "VoiStats",
    "apply_suv_factors",
    "compute_suv_factors",
    "metabolic_volume",
    "suv_peak",
    "tumour_to_background",
    "voi_stats",
]
