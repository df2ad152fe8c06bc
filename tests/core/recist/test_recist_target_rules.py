"""Target-lesion rules of RECIST 1.1 (Eisenhauer 2009 sec. 4.3.1, 4.3.2, 4.4.2), worked by hand."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from _recist_testkit import build

from namecar_viewer.core.recist import Response, evaluate

CR, PR, SD, PD, NE = Response.CR, Response.PR, Response.SD, Response.PD, Response.NE

# (name, citation, lesions, [measurements per timepoint, baseline first],
#  expected target response per follow-up, expected sum per follow-up (exact mm))
CASES: list[tuple[str, str, list[str], list[dict[str, Any]], list[Response], list[Fraction]]] = [
    # 50 + 50 = 100; 35 + 35 = 70; (70 - 100) / 100 = -30.0% exactly -> PR
    (
        "pr_at_exactly_minus_30",
        "sec. 4.3.1 PR >= 30% decrease",
        ["T1", "T2:lung"],
        [{"T1": 50, "T2": 50}, {"T1": 35, "T2": 35}],
        [PR],
        [Fraction(70)],
    ),
    # 35.1 + 35 = 70.1; -29.9% -> not PR -> SD
    (
        "sd_at_minus_29_9",
        "sec. 4.3.1 PR threshold",
        ["T1", "T2:lung"],
        [{"T1": 50, "T2": 50}, {"T1": 35.1, "T2": 35}],
        [SD],
        [Fraction("70.1")],
    ),
    # 10.0 + 23.0 = 33.0; 7.0 + 16.1 = 23.1 = 0.7 x 33.0 -> -30.0% exactly -> PR.
    # In binary floating point (23.1 - 33.0) / 33.0 * 100 = -29.999999999999993 (would be SD).
    (
        "pr_float_trap",
        "sec. 4.3.1, exact arithmetic",
        ["T1", "T2:lung"],
        [{"T1": 10.0, "T2": 23.0}, {"T1": 7.0, "T2": 16.1}],
        [PR],
        [Fraction("23.1")],
    ),
    # nadir 25.0 (baseline); 30.0 is +5.0 mm and +20.0% -> PD
    (
        "pd_at_exactly_20pct_and_5mm",
        "sec. 4.3.1 PD >= 20% and >= 5 mm",
        ["T1"],
        [{"T1": 25.0}, {"T1": 30.0}],
        [PD],
        [Fraction(30)],
    ),
    # nadir 27.0; 32.4 is +5.4 mm and 5.4 / 27 = +20.0% exactly -> PD.
    # Floating point gives 19.999999999999996% (would be SD).
    (
        "pd_float_trap",
        "sec. 4.3.1, exact arithmetic",
        ["T1"],
        [{"T1": 27.0}, {"T1": 32.4}],
        [PD],
        [Fraction("32.4")],
    ),
    # 25.0 -> 29.9: +4.9 mm, +19.6% -> SD
    ("sd_below_pd", "sec. 4.3.1", ["T1"], [{"T1": 25}, {"T1": 29.9}], [SD], [Fraction("29.9")]),
    # 10 + 10 = 20; 12 + 12 = 24: +20% but only +4 mm -> SD (5 mm absolute rule)
    (
        "pd_needs_5mm",
        "sec. 4.3.1 absolute increase >= 5 mm",
        ["T1", "T2:lung"],
        [{"T1": 10, "T2": 10}, {"T1": 12, "T2": 12}],
        [SD],
        [Fraction(24)],
    ),
    # baseline 100 -> TP1 60 (-40% PR, nadir 60) -> TP2 72: +12 mm, +20% from nadir -> PD
    # although -28% from baseline
    (
        "pd_from_nadir_not_baseline",
        "sec. 4.3.1 reference is the smallest sum on study",
        ["T1", "T2:lung"],
        [{"T1": 50, "T2": 50}, {"T1": 30, "T2": 30}, {"T1": 36, "T2": 36}],
        [PR, PD],
        [Fraction(60), Fraction(72)],
    ),
    # non-nodal 0 and node 9.9 mm short axis -> CR although the sum is 9.9
    (
        "cr_with_node_under_10",
        "sec. 4.3.1 CR, sec. 4.3.2 lymph nodes",
        ["T1", "N1:node"],
        [{"T1": 30, "N1": 20}, {"T1": 0, "N1": 9.9}],
        [CR],
        [Fraction("9.9")],
    ),
    # node exactly 10.0 mm is not normal: sum 10, (10 - 50) / 50 = -80% -> PR, not CR
    (
        "node_at_10_is_not_cr",
        "sec. 4.3.1 CR needs nodes < 10 mm",
        ["T1", "N1:node"],
        [{"T1": 30, "N1": 20}, {"T1": 0, "N1": 10.0}],
        [PR],
        [Fraction(10)],
    ),
    # too small counts 5 mm: 5 + 24 = 29; (29 - 40) / 40 = -27.5% -> SD
    # (counting it 0 would give 24, -40% PR)
    (
        "too_small_counts_5mm",
        "sec. 4.3.2 too small to measure = 5 mm",
        ["T1", "T2:lung"],
        [{"T1": 20, "T2": 20}, {"T1": "too_small", "T2": 24}],
        [SD],
        [Fraction(29)],
    ),
    # disappeared counts 0: 0 + 28 = 28; -30% -> PR
    (
        "disappeared_counts_0",
        "sec. 4.3.2 disappeared = 0 mm",
        ["T1", "T2:lung"],
        [{"T1": 20, "T2": 20}, {"T1": 0, "T2": 28}],
        [PR],
        [Fraction(28)],
    ),
    # split: 20 + 12 = 32; (32 - 40) / 40 = -20% -> SD (largest fragment alone: -50% PR)
    (
        "split_sums_fragments",
        "sec. 4.3.2 lesions that split",
        ["T1"],
        [{"T1": 40}, {"T1": [20, 12]}],
        [SD],
        [Fraction(32)],
    ),
    # coalesced: T1 carries the whole 30 mm, T2 0: 30; -25% -> SD
    (
        "coalesced_whole_on_one",
        "sec. 4.3.2 lesions that coalesce",
        ["T1", "T2"],
        [{"T1": 20, "T2": 20}, {"T1": 30, "T2": "coalesced"}],
        [SD],
        [Fraction(30)],
    ),
    # T3 missing, measured 10 + 10 = 20 does not reach PD (nadir 60) -> NE
    (
        "missing_target_ne",
        "sec. 4.4.2 missing assessment",
        ["T1", "T2:lung", "T3:bone"],
        [{"T1": 20, "T2": 20, "T3": 20}, {"T1": 10, "T2": 10, "T3": None}],
        [NE],
        [Fraction(20)],
    ),
    # T3 missing, measured 40 + 35 = 75 >= 60 x 1.2 = 72 and +15 mm -> PD regardless
    (
        "missing_target_but_pd",
        "sec. 4.4.2 measured lesions already PD",
        ["T1", "T2:lung", "T3:bone"],
        [{"T1": 20, "T2": 20, "T3": 20}, {"T1": 40, "T2": 35, "T3": "not_evaluated"}],
        [PD],
        [Fraction(75)],
    ),
    # a target absent from the measurements counts as not evaluated
    (
        "absent_key_is_not_evaluated",
        "sec. 4.4.2",
        ["T1", "T2:lung"],
        [{"T1": 20, "T2": 20}, {"T1": 10}],
        [NE],
        [Fraction(10)],
    ),
    # TP1 partial sum 20 (NE) never becomes the nadir; TP2 15 + 15 + 20 = 50 vs nadir 60:
    # -16.7% -> SD (a nadir of 20 would have made it PD)
    (
        "partial_sum_never_nadir",
        "sec. 4.4.2 / 4.3.1 nadir",
        ["T1", "T2:lung", "T3:bone"],
        [
            {"T1": 20, "T2": 20, "T3": 20},
            {"T1": 10, "T2": 10, "T3": None},
            {"T1": 15, "T2": 15, "T3": 20},
        ],
        [NE, SD],
        [Fraction(20), Fraction(50)],
    ),
]


@pytest.mark.parametrize(
    ("name", "citation", "lesions", "measurements", "expected", "sums"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_target_response_table(
    name: str,
    citation: str,
    lesions: list[str],
    measurements: list[dict[str, Any]],
    expected: list[Response],
    sums: list[Fraction],
) -> None:
    case = build(lesions, [{"m": m} for m in measurements])
    result = evaluate(case)
    follow = result.timepoints[1:]
    assert [t.target_response for t in follow] == expected, citation
    assert [t.sum_mm for t in follow] == sums, citation
    assert result.timepoints[0].target_response is None


def test_exact_percentages_and_nadir() -> None:
    # baseline 100; TP1 60 -> -40% from baseline, -40% from nadir 100; TP2 72 -> -28% from
    # baseline, (72 - 60) / 60 = +20% from nadir 60
    case = build(
        ["T1", "T2:lung"],
        [{"m": {"T1": 50, "T2": 50}}, {"m": {"T1": 30, "T2": 30}}, {"m": {"T1": 36, "T2": 36}}],
    )
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert (tp1.pct_change_from_baseline, tp1.nadir_mm) == (Fraction(-40), Fraction(100))
    assert tp2.pct_change_from_baseline == Fraction(-28)
    assert (tp2.pct_change_from_nadir, tp2.nadir_mm) == (Fraction(20), Fraction(60))
    # reason in words: "+20.0% from nadir 60 mm, +12 mm"
    assert tp2.reasons[0] == "PD: sum 72 mm, +20.0% from nadir 60 mm, +12 mm"


def test_nadir_zero_gives_no_percent_change() -> None:
    # baseline 20; TP1 0 (CR, nadir becomes 0); TP2 still 0: percent change from nadir undefined
    case = build(["T1"], [{"m": {"T1": 20}}, {"m": {"T1": 0}}, {"m": {"T1": 0}}])
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert tp1.target_response is CR
    assert tp2.nadir_mm == 0
    assert tp2.pct_change_from_nadir is None
    assert tp2.pct_change_from_baseline == Fraction(-100)


def test_any_disease_after_true_cr_is_pd() -> None:
    # RECIST committee Q&A: after an overall CR a reappearing lesion is PD.
    # baseline 20 + 16 = 36; TP1 0 + 8 (node < 10) -> overall CR (no non-targets);
    # TP2 node 10 mm: only +2 mm from nadir 8, the sum rule alone would not be PD, but the
    # node is pathological again after a CR -> PD.
    case = build(
        ["T1", "N1:node"],
        [{"m": {"T1": 20, "N1": 16}}, {"m": {"T1": 0, "N1": 8}}, {"m": {"T1": 0, "N1": 10}}],
    )
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert tp1.overall_response is CR
    assert tp2.target_response is PD
    assert tp2.overall_response is PD


def test_reappearance_after_target_cr_without_overall_cr_is_not_automatic_pd() -> None:
    # Same as above with a non-target still present: TP1 is target CR but overall PR (Table 1),
    # so TP2's node at 10 mm is judged by the sum: 10 vs nadir 8 is +2 mm -> not PD;
    # (10 - 36) / 36 = -72.2% from baseline -> PR.
    case = build(
        ["T1", "N1:node", "NT1:nt"],
        [
            {"m": {"T1": 20, "N1": 16}, "nt": {"NT1": "present"}},
            {"m": {"T1": 0, "N1": 8}, "nt": {"NT1": "present"}},
            {"m": {"T1": 0, "N1": 10}, "nt": {"NT1": "present"}},
        ],
    )
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert (tp1.target_response, tp1.overall_response) == (CR, PR)
    assert tp2.target_response is PR


def test_pd_reason_in_words() -> None:
    # issue 5 example: nadir 52 mm -> 64 mm: +12 mm, 12 / 52 = +23.08% -> "+23.1%"
    case = build(["T1", "T2:lung"], [{"m": {"T1": 30, "T2": 22}}, {"m": {"T1": 36, "T2": 28}}])
    tp1 = evaluate(case).timepoints[1]
    assert tp1.target_response is PD
    assert tp1.reasons[0] == "PD: sum 64 mm, +23.1% from nadir 52 mm, +12 mm"
