"""Input and result types of the RECIST engine, independent of JSON so the lesion table can feed it.

All lengths are millimetres held as :class:`fractions.Fraction` so that thresholds are compared
exactly; build them from the reader's decimal strings (``Fraction("23.4")``) or from floats via
``Fraction(str(x))`` (see :func:`to_fraction`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from namecar_viewer.core.recist.constants import (
    DEFAULT_MIN_CONFIRMATION_INTERVAL_DAYS,
    DEFAULT_MIN_SD_DURATION_DAYS,
)


def to_fraction(value: int | float | str | Decimal | Fraction) -> Fraction:
    """Exact value of a reader's number: floats go through their shortest decimal repr."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a measurement")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(str(value))
    return Fraction(value)


class LesionKind(enum.Enum):
    """Role of a lesion chosen at baseline (or, for iRECIST, when a new lesion first appears)."""

    TARGET = "target"
    NON_TARGET = "non_target"
    NEW_TARGET = "new_target"  # iRECIST new-lesion target (Seymour 2017), ignored by RECIST 1.1
    NEW_NON_TARGET = "new_non_target"  # iRECIST new-lesion non-target


class MeasurementKind(enum.Enum):
    """How a target lesion was recorded at one timepoint (RECIST 1.1 sec. 4.3.2)."""

    MEASURED = "measured"
    TOO_SMALL = "too_small"
    NOT_EVALUATED = "not_evaluated"
    SPLIT = "split"
    COALESCED = "coalesced"


@dataclass(frozen=True)
class TargetMeasurement:
    """One target's diameter at one timepoint: long axis (non-nodal) or short axis (nodes)."""

    kind: MeasurementKind
    fragments_mm: tuple[Fraction, ...] = ()

    def __post_init__(self) -> None:
        expected = {
            MeasurementKind.MEASURED: 1,
            MeasurementKind.TOO_SMALL: 0,
            MeasurementKind.NOT_EVALUATED: 0,
            MeasurementKind.COALESCED: 0,
        }
        n = len(self.fragments_mm)
        if self.kind is MeasurementKind.SPLIT:
            if n < 1:
                raise ValueError("a split lesion needs at least one fragment")
        elif n != expected[self.kind]:
            raise ValueError(f"{self.kind.value} measurement takes {expected[self.kind]} values")
        if any(f < 0 for f in self.fragments_mm):
            raise ValueError("diameters cannot be negative")

    @classmethod
    def measured(cls, mm: int | float | str | Decimal | Fraction) -> TargetMeasurement:
        """A diameter in mm; 0 means the lesion disappeared."""
        return cls(MeasurementKind.MEASURED, (to_fraction(mm),))

    @classmethod
    def split(cls, *fragments_mm: int | float | str | Decimal | Fraction) -> TargetMeasurement:
        """Fragments of a lesion that split on treatment."""
        return cls(MeasurementKind.SPLIT, tuple(to_fraction(f) for f in fragments_mm))

    @classmethod
    def too_small(cls) -> TargetMeasurement:
        """Present but too small to measure (counted as 5 mm)."""
        return cls(MeasurementKind.TOO_SMALL)

    @classmethod
    def not_evaluated(cls) -> TargetMeasurement:
        """Not assessed at this timepoint."""
        return cls(MeasurementKind.NOT_EVALUATED)

    @classmethod
    def coalesced(cls) -> TargetMeasurement:
        """Merged into another target that carries the whole diameter."""
        return cls(MeasurementKind.COALESCED)


class NonTargetStatus(enum.Enum):
    """Qualitative status of a non-target lesion (RECIST 1.1 sec. 4.3.3)."""

    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    NOT_EVALUATED = "not_evaluated"


class NewLesions(enum.Enum):
    """New lesions seen at a follow-up (RECIST 1.1 sec. 4.3.5).

    Under iRECIST an ``UNEQUIVOCAL`` value means new lesions not seen at an earlier assessment.
    """

    NONE = "none"
    EQUIVOCAL = "equivocal"
    UNEQUIVOCAL = "unequivocal"


class Response(enum.Enum):
    """Response categories of RECIST 1.1 (Table 1, Table 2) and iRECIST (Seymour 2017 Table 2)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NON_CR_NON_PD = "Non-CR/Non-PD"
    NA = "NA"
    ICR = "iCR"
    IPR = "iPR"
    ISD = "iSD"
    IUPD = "iUPD"
    ICPD = "iCPD"
    INON_CR_NON_UPD = "Non-iCR/Non-iUPD"


class Criteria(enum.Enum):
    """Which response criteria the engine applies."""

    RECIST11 = "recist1.1"
    IRECIST = "irecist"


@dataclass(frozen=True)
class Lesion:
    """A lesion as chosen by the reader; organ groups the 2-per-organ rule."""

    id: str
    kind: LesionKind
    organ: str
    is_lymph_node: bool = False
    is_primary_renal: bool = False


@dataclass(frozen=True)
class Timepoint:
    """One imaging assessment; the first timepoint of a case is the baseline.

    Targets missing from ``target_measurements`` and non-targets missing from
    ``non_target_status`` count as not evaluated.
    """

    label: str
    date: dt.date | None = None
    target_measurements: Mapping[str, TargetMeasurement] = field(default_factory=dict)
    non_target_status: Mapping[str, NonTargetStatus] = field(default_factory=dict)
    new_lesions: NewLesions = NewLesions.NONE
    new_lesion_confirms_equivocal_from: str | None = None


@dataclass(frozen=True)
class Protocol:
    """Protocol settings of best overall response (RECIST 1.1 sec. 4.4.3, 4.6)."""

    confirmation_required: bool = False  # Schwartz 2016: not required in randomised trials
    min_confirmation_interval_days: int = DEFAULT_MIN_CONFIRMATION_INTERVAL_DAYS
    min_sd_duration_days: int = DEFAULT_MIN_SD_DURATION_DAYS


@dataclass(frozen=True)
class Case:
    """One patient's lesions and assessments, baseline first."""

    lesions: tuple[Lesion, ...]
    timepoints: tuple[Timepoint, ...]
    protocol: Protocol = Protocol()
    slice_thickness_mm: Fraction | None = None


@dataclass(frozen=True)
class RuleViolation:
    """Why the input cannot be evaluated, naming the lesion, timepoint and rule."""

    rule: str
    message: str
    lesion: str | None = None
    timepoint: str | None = None

    def __str__(self) -> str:
        where = []
        if self.lesion is not None:
            where.append(f"lesion {self.lesion}")
        if self.timepoint is not None:
            where.append(f"timepoint {self.timepoint}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message} [{self.rule}]"


class RecistInputError(ValueError):
    """Input the engine refuses to evaluate; ``violations`` name lesion, timepoint and rule."""

    def __init__(self, violations: list[RuleViolation] | RuleViolation) -> None:
        self.violations: tuple[RuleViolation, ...] = (
            (violations,) if isinstance(violations, RuleViolation) else tuple(violations)
        )
        super().__init__("; ".join(str(v) for v in self.violations))


@dataclass(frozen=True)
class TimepointResult:
    """Evaluation of one timepoint; percentages are exact, rounding happens only on output."""

    label: str
    date: dt.date | None
    sum_mm: Fraction | None
    targets_not_evaluated: tuple[str, ...]
    pct_change_from_baseline: Fraction | None
    pct_change_from_nadir: Fraction | None
    nadir_mm: Fraction | None
    target_response: Response | None
    non_target_response: Response | None
    new_lesions: NewLesions
    overall_response: Response | None
    metastatic_sum_mm: Fraction | None
    metastatic_pct_change_from_baseline: Fraction | None
    eligible_cr_or_mpr: bool | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CaseResult:
    """Per-timepoint results plus best overall response and date of first progression."""

    criteria: Criteria
    timepoints: tuple[TimepointResult, ...]
    best_overall_response: Response
    best_overall_reason: str
    first_pd_label: str | None
    first_pd_date: dt.date | None
