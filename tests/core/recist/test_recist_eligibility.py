"""NAMECAR eligibility: metastatic CR or > 75% shrinkage, primary renal tumour excluded."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from _recist_testkit import build

from namecar_viewer.core.recist import Response, evaluate

LESIONS = ["T1:liver", "T2:lung", "N1:node", "K1:primary", "NT1:nt:bone", "NTK:nt:primary"]
# Baseline: metastatic sum T1 30 + T2 20 + N1 20 = 70 mm; K1 (primary) 50 mm is excluded.
BASE = {"m": {"T1": 30, "T2": 20, "N1": 20, "K1": 50}, "nt": {"NT1": "present", "NTK": "present"}}

# (name, follow-up measurements, non-target statuses, new lesions, expected eligible,
#  expected metastatic sum, expected reason)
ROWS: list[tuple[str, dict[str, Any], dict[str, str], str, bool | None, Fraction | None, str]] = [
    # 8 + 5 + 2.2 = 15.2; (15.2 - 70) / 70 = -78.2857% -> "-78.3%" and < -75% -> eligible
    (
        "mpr",
        {"T1": 8, "T2": 5, "N1": 2.2, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        True,
        Fraction("15.2"),
        "Eligible: metastatic PR -78.3%, primary excluded",
    ),
    # 10 + 5 + 2.5 = 17.5; -52.5 / 70 = -75.0% exactly -> not strictly more than 75%
    (
        "exactly_75",
        {"T1": 10, "T2": 5, "N1": 2.5, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        False,
        Fraction("17.5"),
        "Not eligible: metastatic sum -75.0% from baseline, needs more than 75% shrinkage or CR, "
        "primary excluded",
    ),
    # 10 + 5 + 2.49 = 17.49; -52.51 / 70 = -75.0143% -> one decimal would show "-75.0%", yet
    # eligible: the decision uses the exact value; the words show "-75.01%" so they agree
    (
        "just_over_75",
        {"T1": 10, "T2": 5, "N1": 2.49, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        True,
        Fraction("17.49"),
        "Eligible: metastatic PR -75.01%, primary excluded",
    ),
    # metastatic targets gone (node 9 < 10 mm), NT1 absent; primary still 45 mm -> CR
    (
        "metastatic_cr",
        {"T1": 0, "T2": 0, "N1": 9, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        True,
        Fraction(9),
        "Eligible: metastatic CR, primary excluded",
    ),
    # the primary does not need to be evaluated
    (
        "primary_not_evaluated",
        {"T1": 0, "T2": 0, "N1": 9, "K1": None},
        {"NT1": "absent", "NTK": "not_evaluated"},
        "none",
        True,
        Fraction(9),
        "Eligible: metastatic CR, primary excluded",
    ),
    # primary non-target progression does not block (metastatic disease only)
    (
        "primary_progression_ignored",
        {"T1": 0, "T2": 0, "N1": 9, "K1": 60},
        {"NT1": "absent", "NTK": "unequivocal_progression"},
        "none",
        True,
        Fraction(9),
        "Eligible: metastatic CR, primary excluded",
    ),
    (
        "metastatic_target_missing",
        {"T1": 0, "T2": None, "N1": 9, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        None,
        Fraction(9),
        "Incomplete: metastatic T2 not evaluated",
    ),
    (
        "metastatic_non_target_missing",
        {"T1": 0, "T2": 0, "N1": 9, "K1": 45},
        {"NT1": "not_evaluated", "NTK": "present"},
        "none",
        None,
        Fraction(9),
        "Incomplete: metastatic NT1 not evaluated",
    ),
    (
        "new_lesion",
        {"T1": 0, "T2": 0, "N1": 9, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "unequivocal",
        False,
        Fraction(9),
        "Not eligible: unequivocal new lesion since TP1",
    ),
    (
        "metastatic_non_target_progression",
        {"T1": 0, "T2": 0, "N1": 9, "K1": 45},
        {"NT1": "unequivocal_progression", "NTK": "present"},
        "none",
        False,
        Fraction(9),
        "Not eligible: metastatic non-target progression of NT1",
    ),
    # 14 + 10 + 4 = 28; (28 - 70) / 70 = -60.0%
    (
        "sixty_percent",
        {"T1": 14, "T2": 10, "N1": 4, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        False,
        Fraction(28),
        "Not eligible: metastatic sum -60.0% from baseline, needs more than 75% shrinkage or CR, "
        "primary excluded",
    ),
    # node 10 mm is not normal: 0 + 0 + 10 = 10, -85.7% -> eligible as PR, not CR
    (
        "node_10_is_pr",
        {"T1": 0, "T2": 0, "N1": 10, "K1": 45},
        {"NT1": "absent", "NTK": "present"},
        "none",
        True,
        Fraction(10),
        "Eligible: metastatic PR -85.7%, primary excluded",
    ),
]


@pytest.mark.parametrize(
    ("name", "m", "nt", "new", "eligible", "met_sum", "reason"), ROWS, ids=[r[0] for r in ROWS]
)
def test_namecar_eligibility(
    name: str,
    m: dict[str, Any],
    nt: dict[str, str],
    new: str,
    eligible: bool | None,
    met_sum: Fraction | None,
    reason: str,
) -> None:
    result = evaluate(build(LESIONS, [BASE, {"m": m, "nt": nt, "new": new}]))
    base, tp1 = result.timepoints
    assert base.metastatic_sum_mm == 70
    assert base.eligible_cr_or_mpr is None
    assert tp1.metastatic_sum_mm == met_sum
    assert tp1.eligible_cr_or_mpr is eligible
    assert tp1.reasons[-1] == reason


def test_metastatic_pct_is_exact() -> None:
    result = evaluate(build(LESIONS, [BASE, {"m": {"T1": 8, "T2": 5, "N1": 2.2, "K1": 45}}]))
    # (15.2 - 70) / 70 * 100 = -54.8 / 70 * 100 = -548/7
    assert result.timepoints[1].metastatic_pct_change_from_baseline == Fraction(-548, 7)


def test_new_lesion_keeps_patient_ineligible_later() -> None:
    follow_ok = {
        "m": {"T1": 0, "T2": 0, "N1": 9, "K1": 45},
        "nt": {"NT1": "absent", "NTK": "present"},
    }
    result = evaluate(build(LESIONS, [BASE, {**follow_ok, "new": "unequivocal"}, follow_ok]))
    assert result.timepoints[2].eligible_cr_or_mpr is False


def test_eligibility_independent_of_recist_response() -> None:
    # metastatic CR while RECIST overall is only PR (primary still there): 45 / 120 -> -62.5%
    result = evaluate(
        build(
            LESIONS,
            [
                BASE,
                {
                    "m": {"T1": 0, "T2": 0, "N1": 0, "K1": 45},
                    "nt": {"NT1": "absent", "NTK": "present"},
                },
            ],
        )
    )
    tp1 = result.timepoints[1]
    assert tp1.overall_response is Response.PR
    assert tp1.pct_change_from_baseline == Fraction(-125, 2)
    assert tp1.eligible_cr_or_mpr is True
