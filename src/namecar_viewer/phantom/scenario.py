"""The demo patient's story: timepoints, lesions and their true sizes (the ground truth).

Scenario (NAMECAR, metastatic clear-cell RCC with the primary in place): pre-treatment baseline,
immunotherapy, an inclusion scan showing a major partial response of the metastases (> 75 %
shrinkage of the metastatic sum, primary excluded: eligible), stable follow-ups at 3 and 6
months, and at 9 months the liver metastasis regrows (RECIST progression from the nadir).

All lengths are millimetres; lesion centres are in body coordinates (see ``anatomy``) and sit on
multiples of 2.5 mm in z, so that with the z shifts below (also multiples of 2.5 mm) every
lesion's largest axial section lies exactly on a CT slice.  Long and short axes are the axial
(in-plane) diameters of the ellipsoid: the long axis along ``long_axis_direction`` and the short
axis perpendicular to it in the axial plane; the cranio-caudal semi-axis is half the short axis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from namecar_viewer.phantom.anatomy import (
    LESION_LABEL_BASE,
    Ellipsoid,
    FloatArray,
    TissueProperties,
    rigid_transform,
)

PATIENT_NAME = "NAMECAR^DEMO"
PATIENT_ID = "NAMECAR-001"
TRIAL_SUBJECT_ID = "NAMECAR-001"
TRIAL_PROTOCOL_ID = "NCT06882486"
TRIAL_SPONSOR = "NAMECAR demo sponsor"
PATIENT_BIRTH_DATE = "19630412"
PATIENT_SEX = "M"
PATIENT_WEIGHT_KG = 78.0
PATIENT_SIZE_M = 1.76


@dataclass(frozen=True)
class Timepoint:
    """One CT study: its label (also the folder suffix), date, time and patient shift."""

    label: str
    description: str
    date: dt.date
    time: dt.time
    shift_mm: tuple[float, float, float]

    @property
    def study_from_body(self) -> FloatArray:
        return rigid_transform(0.0, self.shift_mm)


CT_TIMEPOINTS: tuple[Timepoint, ...] = (
    Timepoint(
        "baseline", "pre-treatment baseline", dt.date(2025, 1, 15), dt.time(9, 12), (0, 0, 0)
    ),
    Timepoint(
        "inclusion",
        "inclusion scan after immunotherapy",
        dt.date(2025, 7, 10),
        dt.time(10, 41),
        (3.1, -4.2, 5.0),
    ),
    Timepoint(
        "fu03m", "follow-up 3 months", dt.date(2025, 10, 9), dt.time(8, 55), (-2.4, 1.8, -2.5)
    ),
    Timepoint("fu06m", "follow-up 6 months", dt.date(2026, 1, 8), dt.time(14, 20), (1.5, 2.7, 7.5)),
    Timepoint(
        "fu09m", "follow-up 9 months", dt.date(2026, 4, 9), dt.time(11, 5), (-3.6, -1.3, 2.5)
    ),
)

# Renal MRI and PSMA PET before nephrectomy (arm A), after the inclusion scan: lesions have
# their inclusion sizes there.
MRI_DATE = dt.date(2025, 7, 22)
MRI_TIME = dt.time(16, 30)
MRI_SHIFT_MM = (2.0, -3.0, 10.0)
MRI_LESION_TIMEPOINT = "inclusion"
PET_DATE = dt.date(2025, 7, 24)
PET_ROTATION_Z_DEG = 3.0
PET_TRANSLATION_MM = (12.0, -8.0, 20.0)

# PSMA PET acquisition (Ga-68 PSMA-11).
GA68_HALF_LIFE_S = 4062.6  # DICOM/NNDC Ga-68 half-life 67.71 min
INJECTED_ACTIVITY_BQ = 150.0e6
INJECTION_TIME = dt.time(10, 2, 0)
PET_SERIES_TIME = dt.time(11, 4, 30)
PET_BED_DURATION_S = 150
PET_BED_LENGTH_MM = 160.0


def study_from_body_mri() -> FloatArray:
    return rigid_transform(0.0, MRI_SHIFT_MM)


def pet_from_mri() -> FloatArray:
    """The known rigid transform from MRI patient coordinates to PET patient coordinates."""
    return rigid_transform(PET_ROTATION_Z_DEG, PET_TRANSLATION_MM)


def study_from_body_pet() -> FloatArray:
    return pet_from_mri() @ study_from_body_mri()


def pet_uptake_seconds() -> float:
    """Seconds from injection to the PET series start (the SUV decay reference, START)."""
    d = dt.datetime.combine(PET_DATE, PET_SERIES_TIME) - dt.datetime.combine(
        PET_DATE, INJECTION_TIME
    )
    return d.total_seconds()


def bqml_per_suv() -> float:
    """Activity concentration (Bq/ml) of SUVbw 1 at the series start.

    SUVbw = C (Bq/ml) * weight (g) / (dose (Bq) * 2^(-(series_time - injection_time)/half_life)),
    so C = SUV * dose * 2^(-dt/T) / weight, taking 1 ml of tissue as 1 g.
    """
    decayed: float = INJECTED_ACTIVITY_BQ * 2.0 ** (-pet_uptake_seconds() / GA68_HALF_LIFE_S)
    return decayed / (PATIENT_WEIGHT_KG * 1000.0)


@dataclass(frozen=True)
class LesionSpec:
    """A lesion: identity, where it is, how it looks and its true axial diameters per timepoint."""

    id: str
    organ: str
    role: str  # "target" | "non_target"
    is_lymph_node: bool
    is_primary_renal: bool
    description: str
    centre_body: tuple[float, float, float]
    sizes: dict[str, tuple[float, float]]  # timepoint label -> (long, short) mm
    tissue: TissueProperties
    angle_deg: float = 0.0

    def size_at(self, label: str) -> tuple[float, float]:
        return self.sizes[label]

    def ellipsoid(self, label: str, index: int) -> Ellipsoid:
        long, short = self.sizes[label]
        return Ellipsoid(
            self.centre_body,
            (long / 2.0, short / 2.0, short / 2.0),
            LESION_LABEL_BASE + index,
            self.angle_deg,
        )

    def long_axis_direction(self) -> tuple[float, float, float]:
        t = np.deg2rad(self.angle_deg)
        return (round(float(np.cos(t)), 9), round(float(np.sin(t)), 9), 0.0)


def _sizes(*pairs: tuple[float, float]) -> dict[str, tuple[float, float]]:
    return {tp.label: p for tp, p in zip(CT_TIMEPOINTS, pairs, strict=True)}


TPL = TissueProperties
LESIONS: tuple[LesionSpec, ...] = (
    LesionSpec(
        "T1",
        "kidney",
        "target",
        False,
        True,
        "primary clear-cell tumour, lower pole of the right kidney, exophytic",
        (-85.0, 45.0, -100.0),
        _sizes((60, 48), (60, 48), (60, 48), (60, 48), (60, 48)),
        TPL(95, 8, 330, 380, 1.1, 180, 420, 30, 0.5, 11.5),
    ),
    LesionSpec(
        "T2",
        "lung",
        "target",
        False,
        False,
        "metastasis, right lower lobe",
        (-80.0, 10.0, 50.0),
        _sizes((30, 26), (6, 5), (6, 5), (5, 4), (5, 4)),
        TPL(35, 8, 200, 250, 1.0, 150, 200, 40, 0.7, 4.2),
    ),
    LesionSpec(
        "T3",
        "lung",
        "target",
        False,
        False,
        "metastasis, left lower lobe",
        (85.0, -10.0, 20.0),
        _sizes((20, 17), (4, 3.5), (4, 3.5), (4, 3.5), (4, 3.5)),
        TPL(35, 8, 200, 250, 1.0, 150, 200, 40, 0.7, 3.1),
    ),
    LesionSpec(
        "T4",
        "liver",
        "target",
        False,
        False,
        "metastasis, right liver lobe (segment VI/VII); regrows at 9 months (progression)",
        (-70.0, -20.0, -40.0),
        _sizes((40, 34), (7, 6), (7, 6), (6, 5), (24, 20)),
        TPL(45, 8, 230, 300, 1.0, 200, 300, 35, 0.6, 9.4),
    ),
    LesionSpec(
        "T5",
        "lymph node",
        "target",
        True,
        False,
        "left para-aortic lymph node (retroperitoneal); short axis is its RECIST measurement",
        (45.0, -5.0, -100.0),
        _sizes((25, 18), (10, 7), (10, 7), (9, 6), (9, 6)),
        TPL(50, 8, 220, 330, 0.9, 160, 180, 60, 0.9, 7.8),
    ),
    LesionSpec(
        "NT1",
        "bone",
        "non_target",
        False,
        False,
        "lytic metastasis in a lumbar vertebral body (non-target, present throughout)",
        (5.0, 45.0, -47.5),
        _sizes((14, 12), (14, 12), (14, 12), (14, 12), (14, 12)),
        TPL(30, 8, 260, 200, 0.9, 150, 200, 40, 0.8, 16.3),
    ),
)


def lesion_shapes(label: str) -> list[Ellipsoid]:
    """The lesions as painted at timepoint ``label`` (labels LESION_LABEL_BASE + index)."""
    return [les.ellipsoid(label, n) for n, les in enumerate(LESIONS)]


def recist_sums() -> dict[str, dict[str, float]]:
    """Per timepoint: sum of diameters (long axis, short axis for nodes), all and metastatic."""
    out: dict[str, dict[str, float]] = {}
    base_met = None
    for tp in CT_TIMEPOINTS:
        total = met = 0.0
        for les in LESIONS:
            if les.role != "target":
                continue
            long, short = les.sizes[tp.label]
            d = short if les.is_lymph_node else long
            total += d
            if not les.is_primary_renal:
                met += d
        if base_met is None:
            base_met = met
        out[tp.label] = {
            "sum_mm": total,
            "metastatic_sum_mm": met,
            "metastatic_pct_change_from_baseline": round(100.0 * (met - base_met) / base_met, 4),
        }
    return out
