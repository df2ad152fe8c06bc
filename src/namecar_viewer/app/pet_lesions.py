"""PET lesion quantification table: uptake of each PSMA-avid lesion beside its MRI/CT size.

One row per lesion: SUVmax, SUVpeak (PERCIST 1 cm³ sphere), SUVmean and metabolic tumour volume
(MTV) inside the threshold (41 % of the lesion's SUVmax by default, EANM; or an absolute SUV),
total lesion uptake (TLU = SUVmean x MTV) and the tumour-to-background ratio (SUVmax over the
mean of a reference region the reader places: liver, blood pool or parotid).  Each row carries
the lesion identity of the read (``core.reads.model.Lesion.uid``/``label``) so the table can
show the MRI or CT size of the same lesion; with no read yet the id is free text.

VOIs are spheres in the PET's own LPS coordinates (a sphere drawn on a fused view is first
mapped through the accepted transform, see :meth:`namecar_viewer.app.pet.PetFusion.to_pet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from namecar_viewer.app.pet import is_suv, value_unit
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.suv import (
    ReferenceRegion,
    SphereVoi,
    ThresholdKind,
    metabolic_volume,
    suv_peak,
    voi_stats,
)
from namecar_viewer.core.suv.quantify import EANM_MTV_PERCENT_OF_MAX


@dataclass(frozen=True)
class PetLesion:
    """A lesion VOI on the PET and, when known, the same lesion on MRI or CT."""

    lesion_id: str  # the read's lesion uid, or a free id until the lesion is linked
    label: str
    voi: SphereVoi
    anatomical_long_axis_mm: float | None = None
    anatomical_short_axis_mm: float | None = None
    anatomical_source: str = ""  # e.g. "MRI T2 2025-07-22"


@dataclass(frozen=True)
class ReferenceVoi:
    """A background region the reader placed."""

    region: ReferenceRegion
    voi: SphereVoi


@dataclass(frozen=True)
class Threshold:
    """MTV threshold: a percentage of the lesion's SUVmax, or an absolute SUV."""

    value: float = EANM_MTV_PERCENT_OF_MAX
    kind: ThresholdKind = ThresholdKind.PERCENT_OF_MAX

    def describe(self) -> str:
        if self.kind is ThresholdKind.PERCENT_OF_MAX:
            return f"{self.value:g} % of SUVmax"
        return f"SUV >= {self.value:g}"


@dataclass(frozen=True)
class PetLesionRow:
    """One row of the table (SUV in g/ml, volumes in ml)."""

    lesion_id: str
    label: str
    suv_max: float
    suv_peak: float
    suv_mean: float
    mtv_ml: float
    tlu: float
    tbr: float | None
    reference_region: str | None
    reference_mean: float | None
    threshold: str
    unit: str
    anatomical_long_axis_mm: float | None
    anatomical_short_axis_mm: float | None
    anatomical_source: str


def reference_mean(pet: Volume, reference: ReferenceVoi) -> float:
    """Mean SUV of the reference region (must be positive)."""
    mean = voi_stats(pet, reference.voi).suv_mean
    if mean <= 0.0:
        raise ValueError(f"The {reference.region.value} reference region has mean SUV {mean:g}.")
    return mean


def quantify(
    pet: Volume,
    lesion: PetLesion,
    threshold: Threshold = Threshold(),
    reference: ReferenceVoi | None = None,
) -> PetLesionRow:
    """Every uptake measure of one lesion; raises ValueError for a PET not in SUV."""
    if not is_suv(pet):
        raise ValueError("Lesion uptake is computed on a PET converted to SUV (load_pet_suv).")
    stats = voi_stats(pet, lesion.voi)
    peak = suv_peak(pet, lesion.voi)
    mtv = metabolic_volume(pet, lesion.voi, threshold.value, threshold.kind)
    ref_mean = reference_mean(pet, reference) if reference is not None else None
    return PetLesionRow(
        lesion_id=lesion.lesion_id,
        label=lesion.label,
        suv_max=stats.suv_max,
        suv_peak=peak.value,
        suv_mean=mtv.suv_mean,
        mtv_ml=mtv.mtv_ml,
        tlu=mtv.total_lesion_uptake,
        tbr=None if ref_mean is None else stats.suv_max / ref_mean,
        reference_region=None if reference is None else reference.region.value,
        reference_mean=ref_mean,
        threshold=threshold.describe(),
        unit=value_unit(pet),
        anatomical_long_axis_mm=lesion.anatomical_long_axis_mm,
        anatomical_short_axis_mm=lesion.anatomical_short_axis_mm,
        anatomical_source=lesion.anatomical_source,
    )


def lesion_table(
    pet: Volume,
    lesions: Sequence[PetLesion],
    threshold: Threshold = Threshold(),
    reference: ReferenceVoi | None = None,
) -> list[PetLesionRow]:
    """One row per lesion, in the given order."""
    return [quantify(pet, les, threshold, reference) for les in lesions]
