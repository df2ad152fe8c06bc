"""Sums of diameters and the arithmetic every rule shares, exact (Fraction), in one place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from namecar_viewer.core.recist.constants import (
    DISAPPEARED_MM,
    NODE_NORMAL_SHORT_AXIS_MM,
    PD_MIN_ABSOLUTE_MM,
    PD_THRESHOLD_PCT,
    TOO_SMALL_DEFAULT_MM,
)
from namecar_viewer.core.recist.model import (
    Lesion,
    MeasurementKind,
    TargetMeasurement,
    Timepoint,
)


def lesion_value_mm(m: TargetMeasurement) -> Fraction | None:
    """Diameter a target contributes to the sum (RECIST 1.1 sec. 4.3.2); None if not evaluated.

    Too small to measure counts 5 mm, a disappeared lesion 0, a split lesion the sum of its
    fragments, and a lesion coalesced into another 0 (the other carries the whole diameter).
    """
    if m.kind is MeasurementKind.NOT_EVALUATED:
        return None
    if m.kind is MeasurementKind.TOO_SMALL:
        return TOO_SMALL_DEFAULT_MM
    if m.kind is MeasurementKind.COALESCED:
        return DISAPPEARED_MM
    return sum(m.fragments_mm, Fraction(0))


def measurement_of(tp: Timepoint, lesion_id: str) -> TargetMeasurement:
    """A target's record at a timepoint; a missing entry means not evaluated."""
    return tp.target_measurements.get(lesion_id, TargetMeasurement.not_evaluated())


@dataclass(frozen=True)
class TargetSum:
    """Sum over a set of targets at one timepoint, with what is missing and whether all are gone.

    ``sum_mm`` adds the evaluated lesions only (0 when none was evaluated); what is shown as a
    sum is :attr:`measured_sum_mm`, None when nothing was measured.
    """

    sum_mm: Fraction
    missing: tuple[str, ...]
    all_gone: bool  # non-nodal at 0 and nodes < 10 mm, over the evaluated lesions
    with_disease: tuple[str, ...]  # evaluated lesions that are not gone
    evaluated: tuple[str, ...]  # lesions with a value at this timepoint

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def measured_sum_mm(self) -> Fraction | None:
        """The sum, or None when no lesion of the set was evaluated (nothing was measured)."""
        return self.sum_mm if self.evaluated else None


def target_sum(lesions: Iterable[Lesion], tp: Timepoint) -> TargetSum:
    """Sum of diameters: long axis of non-nodal targets, short axis of nodes (sec. 4.3.2)."""
    total = Fraction(0)
    missing: list[str] = []
    evaluated: list[str] = []
    diseased: list[str] = []
    for lesion in lesions:
        value = lesion_value_mm(measurement_of(tp, lesion.id))
        if value is None:
            missing.append(lesion.id)
            continue
        evaluated.append(lesion.id)
        total += value
        gone = value < NODE_NORMAL_SHORT_AXIS_MM if lesion.is_lymph_node else value == 0
        if not gone:
            diseased.append(lesion.id)
    return TargetSum(total, tuple(missing), not diseased, tuple(diseased), tuple(evaluated))


def pct_change(value: Fraction, reference: Fraction) -> Fraction | None:
    """Exact percent change; None when the reference is 0 (no percent change from a 0 nadir)."""
    if reference == 0:
        return None
    return (value - reference) * 100 / reference


def meets_pd(sum_mm: Fraction, nadir_mm: Fraction) -> bool:
    """RECIST 1.1 sec. 4.3.1 PD: >= 20% above the nadir and >= 5 mm absolute, compared exactly.

    From a nadir of 0 any increase is infinitely many percent, so the 5 mm rule alone decides.
    """
    increase = sum_mm - nadir_mm
    if increase < PD_MIN_ABSOLUTE_MM:
        return False
    return nadir_mm == 0 or increase * 100 >= PD_THRESHOLD_PCT * nadir_mm


def round_half_away(value: Fraction, places: int = 1) -> Decimal:
    """Display rounding only: exact half-away-from-zero rounding of a rational."""
    scale = Fraction(10) ** places
    scaled = abs(value) * scale
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    signed = -whole if value < 0 else whole
    return (Decimal(signed) / (Decimal(10) ** places)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


def fmt_mm(value: Fraction) -> str:
    """Millimetres for reasons: one decimal, without a trailing .0 ("52 mm", "12.5 mm")."""
    d = round_half_away(value)
    text = f"{d:f}"
    if text.endswith(".0"):
        text = text[:-2]
    if text == "-0":
        text = "0"
    return f"{text} mm"


def fmt_signed_mm(value: Fraction) -> str:
    """Signed millimetres for reasons ("+12 mm", "-3.5 mm")."""
    text = fmt_mm(value)
    return text if text.startswith("-") else f"+{text}"


def fmt_pct(value: Fraction, threshold: Fraction | None = None) -> str:
    """Signed percent with one decimal for reasons ("+23.1%", "-30.0%").

    When one decimal would show exactly ``threshold`` while the exact value is not on it, more
    decimals are shown so the words never contradict the decision ("-75.01%").
    """
    places = 1
    if threshold is not None and value != threshold:
        while places < 6 and Fraction(round_half_away(value, places)) == threshold:
            places += 1
    d = round_half_away(value, places)
    text = f"{d:f}"
    if text.strip("-0.") == "":
        text = text.lstrip("-")
    return _signed(text) + "%"


def _signed(text: str) -> str:
    return text if text.startswith("-") else f"+{text}"
