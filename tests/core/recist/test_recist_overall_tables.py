"""Non-target response (sec. 4.3.3-4.3.4), new lesions (sec. 4.3.5) and Tables 1 and 2."""

from __future__ import annotations

import datetime as dt

import pytest
from _recist_testkit import build

from namecar_viewer.core.recist import NewLesions, Response, evaluate
from namecar_viewer.core.recist.engine import overall_response

R = Response
NONE, EQ, UNEQ = NewLesions.NONE, NewLesions.EQUIVOCAL, NewLesions.UNEQUIVOCAL

# Eisenhauer 2009 Table 1 (targets +/- non-targets), each row as printed, and Table 2.
TABLE_1_AND_2 = [
    ("T1 CR CR no", R.CR, R.CR, NONE, R.CR),
    ("T1 CR without non-targets", R.CR, R.NA, NONE, R.CR),
    ("T1 CR Non-CR/Non-PD", R.CR, R.NON_CR_NON_PD, NONE, R.PR),
    ("T1 CR not evaluated", R.CR, R.NE, NONE, R.PR),
    ("T1 PR non-PD", R.PR, R.NON_CR_NON_PD, NONE, R.PR),
    ("T1 PR not all evaluated", R.PR, R.NE, NONE, R.PR),
    ("T1 PR non-target CR", R.PR, R.CR, NONE, R.PR),
    ("T1 SD non-PD", R.SD, R.NON_CR_NON_PD, NONE, R.SD),
    ("T1 SD not all evaluated", R.SD, R.NE, NONE, R.SD),
    ("T1 NE non-PD", R.NE, R.NON_CR_NON_PD, NONE, R.NE),
    ("T1 PD any", R.PD, R.NON_CR_NON_PD, NONE, R.PD),
    ("T1 PD with NE", R.PD, R.NE, NONE, R.PD),
    ("T1 any non-target PD", R.CR, R.PD, NONE, R.PD),
    ("T1 NE and non-target PD", R.NE, R.PD, NONE, R.PD),
    ("T1 new lesion", R.CR, R.CR, UNEQ, R.PD),
    ("T1 new lesion with NE", R.NE, R.NE, UNEQ, R.PD),
    ("sec 4.3.5 equivocal is not PD", R.PR, R.NON_CR_NON_PD, EQ, R.PR),
    ("T2 CR", R.NA, R.CR, NONE, R.CR),
    ("T2 Non-CR/Non-PD", R.NA, R.NON_CR_NON_PD, NONE, R.NON_CR_NON_PD),
    ("T2 not all evaluated", R.NA, R.NE, NONE, R.NE),
    ("T2 unequivocal PD", R.NA, R.PD, NONE, R.PD),
    ("T2 new lesion", R.NA, R.NON_CR_NON_PD, UNEQ, R.PD),
]


@pytest.mark.parametrize(
    ("row", "target", "non_target", "new", "expected"),
    TABLE_1_AND_2,
    ids=[r[0] for r in TABLE_1_AND_2],
)
def test_tables_1_and_2(
    row: str, target: Response, non_target: Response, new: NewLesions, expected: Response
) -> None:
    assert overall_response(target, non_target, new) is expected, row


# sec. 4.3.3: non-target response from the statuses of NT1, NT2 at the follow-up
NON_TARGET = [
    ("all absent -> CR", {"NT1": "absent", "NT2": "absent"}, R.CR),
    ("one present -> Non-CR/Non-PD", {"NT1": "absent", "NT2": "present"}, R.NON_CR_NON_PD),
    ("unequivocal progression -> PD", {"NT1": "present", "NT2": "unequivocal_progression"}, R.PD),
    ("progression wins over NE", {"NT1": "not_evaluated", "NT2": "unequivocal_progression"}, R.PD),
    ("one not evaluated -> NE", {"NT1": "present", "NT2": "not_evaluated"}, R.NE),
    ("missing status -> NE", {"NT1": "absent"}, R.NE),
]


@pytest.mark.parametrize(("row", "status", "expected"), NON_TARGET, ids=[r[0] for r in NON_TARGET])
def test_non_target_response(row: str, status: dict[str, str], expected: Response) -> None:
    case = build(
        ["T1", "NT1:nt:bone", "NT2:nt:lung"],
        [
            {"m": {"T1": 20}, "nt": {"NT1": "present", "NT2": "present"}},
            {"m": {"T1": 18}, "nt": status},
        ],
    )
    assert evaluate(case).timepoints[1].non_target_response is expected, row


def test_no_non_targets_is_na() -> None:
    case = build(["T1"], [{"m": {"T1": 20}}, {"m": {"T1": 18}}])
    assert evaluate(case).timepoints[1].non_target_response is R.NA


def test_non_target_only_case_uses_table_2_and_target_na() -> None:
    case = build(
        ["NT1:nt"],
        [{"nt": {"NT1": "present"}}, {"nt": {"NT1": "present"}}, {"nt": {"NT1": "absent"}}],
    )
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert (tp1.target_response, tp1.overall_response) == (R.NA, R.NON_CR_NON_PD)
    assert tp2.overall_response is R.CR
    assert tp1.sum_mm is None


def test_equivocal_new_lesion_confirmed_moves_progression_back() -> None:
    # sec. 4.3.5: "If repeat scans confirm there is definitely a new lesion, then progression
    # should be declared using the date of the initial scan."
    # 20 -> 18 -> 17 -> 17: SD throughout by the sum; TP1 equivocal, TP2 equivocal,
    # TP3 unequivocal confirming TP1 -> TP1 and TP2 are PD, first PD date = TP1 date.
    case = build(
        ["T1"],
        [
            {"m": {"T1": 20}},
            {"m": {"T1": 18}, "new": "equivocal", "date": "2024-03-04"},
            {"m": {"T1": 17}, "new": "equivocal", "date": "2024-04-29"},
            {"m": {"T1": 17}, "new": "unequivocal", "confirms": "TP1", "date": "2024-06-24"},
        ],
    )
    result = evaluate(case)
    assert [t.overall_response for t in result.timepoints[1:]] == [R.PD, R.PD, R.PD]
    assert result.first_pd_date == dt.date(2024, 3, 4)
    assert result.first_pd_label == "TP1"
    assert any("confirmed at TP3" in r for r in result.timepoints[1].reasons)


def test_equivocal_new_lesion_not_confirmed_is_not_pd() -> None:
    case = build(
        ["T1"], [{"m": {"T1": 20}}, {"m": {"T1": 18}, "new": "equivocal"}, {"m": {"T1": 18}}]
    )
    result = evaluate(case)
    assert [t.overall_response for t in result.timepoints[1:]] == [R.SD, R.SD]
    assert result.first_pd_date is None


def test_unequivocal_new_lesion_is_pd_that_day() -> None:
    case = build(["T1"], [{"m": {"T1": 20}}, {"m": {"T1": 10}, "new": "unequivocal"}])
    tp1 = evaluate(case).timepoints[1]
    assert (tp1.target_response, tp1.overall_response) == (R.PR, R.PD)


def test_confirmation_must_point_to_an_equivocal_timepoint() -> None:
    case = build(
        ["T1"],
        [
            {"m": {"T1": 20}},
            {"m": {"T1": 18}},
            {"m": {"T1": 18}, "new": "unequivocal", "confirms": "TP1"},
        ],
    )
    with pytest.raises(ValueError, match="timepoint TP2"):
        evaluate(case)


def test_non_target_reappearing_after_cr_is_pd() -> None:
    # RECIST committee Q&A: after a definitive overall CR any reappearing lesion is PD.
    case = build(
        ["T1", "NT1:nt"],
        [
            {"m": {"T1": 20}, "nt": {"NT1": "present"}},
            {"m": {"T1": 0}, "nt": {"NT1": "absent"}},
            {"m": {"T1": 0}, "nt": {"NT1": "present"}},
        ],
    )
    tp1, tp2 = evaluate(case).timepoints[1:]
    assert tp1.overall_response is R.CR
    assert (tp2.non_target_response, tp2.overall_response) == (R.PD, R.PD)
