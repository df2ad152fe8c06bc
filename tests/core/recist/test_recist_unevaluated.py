"""Unevaluated lesions (issue 13 point 8): nothing measured has no number, and NAMECAR
eligibility is null only while the unevaluated lesions could still change the decision.

Rule checked here (core/recist/eligibility.py): an unevaluated metastatic target contributes at
best 0 mm (nodal or not) and is at best gone; an unevaluated non-target is at best absent. The
decision is False "whatever the unevaluated lesions" when even that best case is not eligible:
more than 75% shrinkage needs the measured metastatic sum M with pct_change(M, B) < -75, i.e.
M < B / 4 (at exactly 25% the best case is exactly -75%: not eligible), and a metastatic CR
needs every measured metastatic target gone (node < 10 mm) and every measured non-target absent.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from _recist_testkit import build
from hypothesis import given, settings
from hypothesis import strategies as st

from namecar_viewer.cli import main
from namecar_viewer.core.recist import (
    Criteria,
    Response,
    TimepointResult,
    evaluate,
    result_to_json,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "recist_cases"

LESIONS = ["T1:liver", "T2:lung", "N1:node", "K1:primary", "NT1:nt:bone", "NTK:nt:primary"]
# Baseline: all targets 30 + 20 + 20 + 50 = 120 mm (the first nadir);
# metastatic B = T1 30 + T2 20 + N1 20 = 70 mm (K1, the primary, excluded).
BASE = {"m": {"T1": 30, "T2": 20, "N1": 20, "K1": 50}, "nt": {"NT1": "present", "NTK": "present"}}


def follow_up(
    m: dict[str, Any], nt: dict[str, str] | None = None, new: str = "none"
) -> TimepointResult:
    nts = nt if nt is not None else {"NT1": "absent", "NTK": "present"}
    return evaluate(build(LESIONS, [BASE, {"m": m, "nt": nts, "new": new}])).timepoints[1]


WHATEVER = "Not eligible: whatever the unevaluated lesions"


# --- 1. nothing measured: no sum, no percent change ---------------------------------------------


def test_no_target_evaluated_has_no_sum_and_no_percent_change() -> None:
    # every target (T1, T2, N1, K1) missing: before the fix sum 0 mm and -100% from baseline,
    # from the nadir 120 and metastatic -100%; nothing was measured, so all are None
    tp1 = follow_up({})
    assert tp1.targets_not_evaluated == ("T1", "T2", "N1", "K1")
    assert tp1.sum_mm is None
    assert tp1.pct_change_from_baseline is None
    assert tp1.pct_change_from_nadir is None
    assert tp1.nadir_mm == 120  # the reference still exists
    assert tp1.metastatic_sum_mm is None
    assert tp1.metastatic_pct_change_from_baseline is None
    assert tp1.target_response is Response.NE
    assert tp1.overall_response is Response.NE  # NTK present, no new lesion: Table 1 NE
    assert tp1.reasons[0] == (
        "NE: no target evaluated (T1, T2, N1, K1 not evaluated), no sum of diameters (sec. 4.4.2)"
    )
    # best case every metastatic target 0 mm: 0 < 70 / 4, more than 75% shrinkage possible
    assert tp1.eligible_cr_or_mpr is None
    assert tp1.reasons[-1] == "Incomplete: metastatic T1, T2, N1 not evaluated"
    row = result_to_json(evaluate(build(LESIONS, [BASE, {"m": {}}])))["timepoints"][1]
    for key in (
        "sum_mm",
        "pct_change_from_baseline",
        "pct_change_from_nadir",
        "metastatic_sum_mm",
        "metastatic_pct_change_from_baseline",
    ):
        assert row[key] is None, key


def test_no_target_evaluated_with_new_lesion_is_pd_not_a_number() -> None:
    tp1 = follow_up({}, new="unequivocal")
    assert (tp1.target_response, tp1.overall_response) == (Response.NE, Response.PD)
    assert tp1.sum_mm is None and tp1.pct_change_from_baseline is None
    assert tp1.eligible_cr_or_mpr is False


def test_only_metastatic_targets_missing_keeps_the_primary_sum() -> None:
    # K1 45 measured, T1, T2, N1 missing: the RECIST sum has a value (45, incomplete), the
    # metastatic sum has none
    tp1 = follow_up({"K1": 45})
    assert tp1.sum_mm == 45
    assert tp1.metastatic_sum_mm is None
    assert tp1.metastatic_pct_change_from_baseline is None
    assert tp1.eligible_cr_or_mpr is None


def test_no_target_evaluated_under_irecist() -> None:
    case = build(["T1", "T2:lung"], [{"m": {"T1": 30, "T2": 20}}, {"m": {}}])
    tp1 = evaluate(case, Criteria.IRECIST).timepoints[1]
    assert tp1.sum_mm is None and tp1.pct_change_from_baseline is None
    assert tp1.overall_response is Response.NE


def test_percent_from_nadir_none_after_a_measured_nadir() -> None:
    # baseline 120, TP1 all measured 15 + 10 + 10 + 40 = 75 (nadir), TP2 nothing measured
    case = build(
        LESIONS,
        [BASE, {"m": {"T1": 15, "T2": 10, "N1": 10, "K1": 40}}, {"m": {}}],
    )
    tp2 = evaluate(case).timepoints[2]
    assert tp2.nadir_mm == 75
    assert (tp2.sum_mm, tp2.pct_change_from_baseline, tp2.pct_change_from_nadir) == (
        None,
        None,
        None,
    )


# --- 2. eligibility with unevaluated metastatic lesions -----------------------------------------


def test_measured_already_45_percent_is_not_eligible() -> None:
    # T2 missing; measured metastatic M = T1 20 + N1 11.5 = 31.5 = 45% of B 70 (31.5 / 70 = 0.45)
    # best case T2 0 mm: (31.5 - 70) / 70 = -55% -> not more than 75% shrinkage;
    # T1 20 > 0 and N1 11.5 >= 10 mm are not gone -> no metastatic CR either
    tp1 = follow_up({"T1": 20, "T2": None, "N1": 11.5, "K1": 40})
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.metastatic_sum_mm == Fraction("31.5")
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T2 not evaluated): measured metastatic sum already 45% of baseline, so "
        "shrinkage cannot exceed 75%, and T1, N1 still present, so no metastatic CR"
    )


def test_measured_10_percent_is_still_undetermined() -> None:
    # T2 missing; M = T1 7 + N1 0 = 7 = 10% of 70: with T2 at 0 mm (7 - 70) / 70 = -90% < -75%
    # -> eligible possible, with T2 at 20 mm (27 - 70) / 70 = -61.4% -> not: null
    tp1 = follow_up({"T1": 7, "T2": None, "N1": 0, "K1": 40})
    assert tp1.eligible_cr_or_mpr is None
    assert tp1.reasons[-1] == "Incomplete: metastatic T2 not evaluated"


def test_exactly_25_percent_is_not_eligible_just_below_is_open() -> None:
    # M = T1 10 + N1 7.5 = 17.5 = 25% of 70 exactly; best case T2 0 mm: (17.5 - 70) / 70 = -75%
    # exactly, and eligibility needs strictly more than 75% shrinkage (the complete-data rule
    # gives False at exactly -75%, test_recist_eligibility "exactly_75") -> False;
    # T1 10 mm > 0 blocks CR (N1 7.5 < 10 mm is gone)
    tp1 = follow_up({"T1": 10, "T2": None, "N1": 7.5, "K1": 40})
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T2 not evaluated): measured metastatic sum already 25% of baseline, so "
        "shrinkage cannot exceed 75%, and T1 still present, so no metastatic CR"
    )
    # the same with T2 measured 0 mm is the complete-data verdict it must agree with
    assert follow_up({"T1": 10, "T2": 0, "N1": 7.5, "K1": 40}).eligible_cr_or_mpr is False
    # M = 10 + 7.49 = 17.49: (17.49 - 70) / 70 = -75.014% < -75% if T2 is 0 mm -> still open
    tp1 = follow_up({"T1": 10, "T2": None, "N1": 7.49, "K1": 40})
    assert tp1.eligible_cr_or_mpr is None
    assert follow_up({"T1": 10, "T2": 0, "N1": 7.49, "K1": 40}).eligible_cr_or_mpr is True


def test_missing_lesion_and_new_lesion_is_not_eligible_by_progression() -> None:
    # M = 7 (10% of baseline) would leave the decision open; an unequivocal new lesion (PD)
    # excludes whatever T2 shows
    tp1 = follow_up({"T1": 7, "T2": None, "N1": 0, "K1": 40}, new="unequivocal")
    assert tp1.overall_response is Response.PD
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T2 not evaluated): progression (PD), unequivocal new lesion since TP1"
    )


def test_missing_lesion_and_metastatic_non_target_progression_is_not_eligible() -> None:
    tp1 = follow_up(
        {"T1": 7, "T2": None, "N1": 0, "K1": 40},
        {"NT1": "unequivocal_progression", "NTK": "present"},
    )
    assert tp1.overall_response is Response.PD
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T2 not evaluated): progression (PD), metastatic non-target progression of NT1"
    )


def test_missing_lesion_and_targets_alone_pd_is_not_eligible() -> None:
    # T2 missing; measured targets T1 70 + N1 25 + K1 55 = 150 vs nadir 120: +30 mm, +25% -> the
    # measured targets alone reach PD (sec. 4.4.2), overall PD.
    # Metastatic M = 70 + 25 = 95 = 135.7% of 70 (95 / 70 = 1.357...): even T2 at 0 mm is no
    # shrinkage at all, and T1, N1 are not gone -> False whatever T2
    tp1 = follow_up({"T1": 70, "T2": None, "N1": 25, "K1": 55})
    assert tp1.target_response is Response.PD
    assert tp1.overall_response is Response.PD
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T2 not evaluated): measured metastatic sum already 135.7% of baseline, so "
        "shrinkage cannot exceed 75%, and T1, N1 still present, so no metastatic CR"
    )


def test_overall_pd_driven_by_the_primary_leaves_the_decision_open() -> None:
    # Overall PD alone does not decide: the primary is excluded from NAMECAR (as for complete
    # data, test_recist_eligibility "primary_progression_ignored").
    # TP1: 5 + 5 + 5 + 20 = 35 (nadir); metastatic 15. TP2: T2 missing, 5 + 5 + 40 = 50 vs 35:
    # +15 mm, +42.9% -> targets alone PD, driven by K1 20 -> 40.
    # Metastatic M = 5 + 5 = 10: with T2 at 0 mm (10 - 70) / 70 = -85.7% -> eligible possible
    tp1 = {"m": {"T1": 5, "T2": 5, "N1": 5, "K1": 20}, "nt": {"NT1": "present", "NTK": "present"}}
    nt = {"NT1": "present", "NTK": "present"}
    tp2 = evaluate(
        build(LESIONS, [BASE, tp1, {"m": {"T1": 5, "T2": None, "N1": 5, "K1": 40}, "nt": nt}])
    ).timepoints[2]
    assert tp2.overall_response is Response.PD
    assert tp2.eligible_cr_or_mpr is None
    assert tp2.reasons[-1] == "Incomplete: metastatic T2 not evaluated"
    # T2 measured 5 mm: 45 + 10 = 55 vs 35, still PD; metastatic 15: -78.6% -> eligible
    done = evaluate(
        build(LESIONS, [BASE, tp1, {"m": {"T1": 5, "T2": 5, "N1": 5, "K1": 40}, "nt": nt}])
    ).timepoints[2]
    assert done.overall_response is Response.PD
    assert done.eligible_cr_or_mpr is True


def test_measured_nodes_under_10_mm_keep_a_metastatic_cr_possible() -> None:
    # Nodes count their short axis in the sum but are gone under 10 mm: baseline T1 10 + N1 15 +
    # N2 15 = 40; T1 missing, N1 9 + N2 9 = 18 = 45% of 40 -> more than 75% shrinkage is out
    # ((18 - 40) / 40 = -55% at best), but with T1 at 0 mm every metastatic lesion is gone: CR
    lesions = ["T1:liver", "N1:node", "N2:node"]
    base = {"m": {"T1": 10, "N1": 15, "N2": 15}}
    tp1 = evaluate(build(lesions, [base, {"m": {"N1": 9, "N2": 9}}])).timepoints[1]
    assert tp1.eligible_cr_or_mpr is None
    assert tp1.reasons[-1] == "Incomplete: metastatic T1 not evaluated"
    cr = evaluate(build(lesions, [base, {"m": {"T1": 0, "N1": 9, "N2": 9}}])).timepoints[1]
    assert cr.eligible_cr_or_mpr is True
    # one node at 10 mm is not gone: 9 + 10 = 19 = 47.5% of 40, no CR possible -> False
    tp1 = evaluate(build(lesions, [base, {"m": {"N1": 9, "N2": 10}}])).timepoints[1]
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (T1 not evaluated): measured metastatic sum already 47.5% of baseline, so "
        "shrinkage cannot exceed 75%, and N2 still present, so no metastatic CR"
    )


def test_missing_node_best_case_is_0_mm() -> None:
    # N1 missing; M = T1 10 + T2 7 = 17 = 24.3% of 70. A missing node's smallest contribution is
    # 0 mm (a short axis of 0 is accepted): (17 - 70) / 70 = -75.7% < -75% -> open. Had the
    # missing node been counted at its "gone" bound (just under 10 mm) or too small (5 mm), the
    # best case 22 mm would be -68.6% and the decision wrongly False.
    tp1 = follow_up({"T1": 10, "T2": 7, "N1": None, "K1": 40})
    assert tp1.eligible_cr_or_mpr is None
    assert tp1.reasons[-1] == "Incomplete: metastatic N1 not evaluated"
    assert follow_up({"T1": 10, "T2": 7, "N1": 0, "K1": 40}).eligible_cr_or_mpr is True
    assert follow_up({"T1": 10, "T2": 7, "N1": "too_small", "K1": 40}).eligible_cr_or_mpr is False


def test_non_target_disease_only_present_and_one_missing_is_not_eligible() -> None:
    # No metastatic target: only a CR can qualify. NT1 present rules it out whatever NT2 is.
    lesions = ["K1:primary", "NT1:nt:bone", "NT2:nt:lung"]
    base = {"m": {"K1": 50}, "nt": {"NT1": "present", "NT2": "present"}}
    tp1 = evaluate(build(lesions, [base, {"m": {"K1": 40}, "nt": {"NT1": "present"}}])).timepoints[
        1
    ]
    assert tp1.eligible_cr_or_mpr is False
    assert tp1.reasons[-1] == (
        f"{WHATEVER} (NT2 not evaluated): metastatic non-target disease present (NT1) and no "
        "metastatic target to measure shrinkage"
    )
    # NT1 absent: NT2 absent would make a metastatic CR -> still open
    tp1 = evaluate(build(lesions, [base, {"m": {"K1": 40}, "nt": {"NT1": "absent"}}])).timepoints[1]
    assert tp1.eligible_cr_or_mpr is None
    assert tp1.reasons[-1] == "Incomplete: metastatic NT2 not evaluated"


# --- 3. "whatever the unevaluated lesions" checked by filling them in ---------------------------

# 0 mm is the best case of any target (9 mm a gone node), absent that of a non-target; 80 mm
# and progression are worst cases, so a missing lesion can always still make it False
TARGET_FILL = [0, 9, 12, 80]
NT_FILL = ["absent", "present", "unequivocal_progression"]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_null_exactly_when_some_filling_makes_the_patient_eligible(data: st.DataObject) -> None:
    targets = ["T1", "T2", "N1", "K1"]
    values = st.one_of(st.none(), st.sampled_from([0, 2.5, 5, 7, 9.9, 10, 12, 17.5, 30, 60]))
    m = {t: data.draw(values, label=t) for t in targets}
    nt = {
        k: data.draw(st.sampled_from(["absent", "present", "not_evaluated"]), label=k)
        for k in ("NT1", "NTK")
    }
    new = data.draw(st.sampled_from(["none", "equivocal", "unequivocal"]), label="new")
    tp1 = follow_up(m, nt, new)
    missing_t = [t for t in ("T1", "T2", "N1") if m[t] is None]
    missing_nt = ["NT1"] if nt["NT1"] == "not_evaluated" else []
    if not missing_t and not missing_nt:
        return
    outcomes = set()
    for fill_t in itertools.product(TARGET_FILL, repeat=len(missing_t)):
        for fill_nt in itertools.product(NT_FILL, repeat=len(missing_nt)):
            m2 = {**m, **dict(zip(missing_t, fill_t, strict=True))}
            nt2 = {**nt, **dict(zip(missing_nt, fill_nt, strict=True))}
            outcomes.add(follow_up(m2, nt2, new).eligible_cr_or_mpr)
    assert None not in outcomes  # every metastatic lesion filled in: a decision
    if tp1.eligible_cr_or_mpr is False:
        assert outcomes == {False}
        assert tp1.reasons[-1].startswith(WHATEVER)
    else:
        assert tp1.eligible_cr_or_mpr is None
        assert True in outcomes and False in outcomes


# --- 4. the CLI writes null ----------------------------------------------------------------------


def test_cli_writes_null_for_nothing_measured(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recist", str(DATA / "unevaluated_lesions.json")])
    out, _ = capsys.readouterr()
    assert code == 0
    _, tp1, tp2 = json.loads(out)["timepoints"]
    # TP1: T1, T2, N1, K1 not evaluated (T1 "not_evaluated", T2 null, N1 and K1 absent)
    assert tp1["targets_not_evaluated"] == ["T1", "T2", "N1", "K1"]
    for key in (
        "sum_mm",
        "pct_change_from_baseline",
        "pct_change_from_nadir",
        "metastatic_sum_mm",
        "metastatic_pct_change_from_baseline",
        "eligible_cr_or_mpr",
    ):
        assert tp1[key] is None, key
    assert (tp1["target_response"], tp1["overall_response"]) == ("NE", "NE")
    # TP2: T2 missing; metastatic T1 20 + N1 11.5 = 31.5 = 45% of 30 + 20 + 20 = 70 -> false
    assert tp2["metastatic_sum_mm"] == 31.5
    assert tp2["eligible_cr_or_mpr"] is False
    assert tp2["reasons"][-1].startswith(
        "Not eligible: whatever the unevaluated lesions (T2 not evaluated): measured metastatic "
        "sum already 45% of baseline"
    )
