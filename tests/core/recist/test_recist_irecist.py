"""iRECIST timepoint and best response (Seymour et al., Lancet Oncol 2017, Table 2; EORTC Q&A)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from _recist_testkit import BASELINE_DATE, build

from namecar_viewer.core.recist import Criteria, RecistInputError, Response, evaluate

R = Response
LESIONS = ["T1", "NT1:nt:bone", "NL1:new:lung"]


def tp(
    t1: Any, nt1: str = "present", new: str = "none", nl1: Any = None, day: int | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {"m": {"T1": t1}, "nt": {"NT1": nt1}, "new": new}
    if nl1 is not None:
        row["m"]["NL1"] = nl1
    if day is not None:
        row["date"] = (BASELINE_DATE + dt.timedelta(days=day)).isoformat()
    return row


# Baseline T1 = 50 mm, NT1 present. Follow-ups 8 weeks apart unless a day is given.
# (name, citation, follow-ups, expected iRECIST responses, expected best, label of confirmed iUPD)
ROWS: list[tuple[str, str, list[dict[str, Any]], list[Response], Response, str | None]] = [
    # TP1 70: +20 mm, +40% from nadir 50 -> RECIST PD -> iUPD; TP2 75: +5 mm since iUPD -> iCPD
    (
        "targets_confirmed",
        "Table 2: further increase in sum >= 5 mm",
        [tp(70), tp(75)],
        [R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # TP2 72: only +2 mm since iUPD, still PD vs nadir 50 -> remains iUPD
    (
        "targets_not_confirmed",
        "Table 2: otherwise remains iUPD",
        [tp(70), tp(72)],
        [R.IUPD, R.IUPD],
        R.IUPD,
        None,
    ),
    # TP2 40: -20% from baseline, -20% from nadir 50 -> no longer PD: bar reset, iSD;
    # TP3 30: -40% -> iPR
    (
        "reset_after_shrinkage",
        "Seymour 2017: iUPD followed by iSD/iPR resets the bar",
        [tp(70), tp(40), tp(30)],
        [R.IUPD, R.ISD, R.IPR],
        R.IPR,
        None,
    ),
    # increases are additive: +3 then +2 -> +5 since iUPD at TP3
    (
        "additive_increase",
        "EORTC Q&A: sequential increases are additive",
        [tp(70), tp(73), tp(75)],
        [R.IUPD, R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # TP2 only 14 days after iUPD: cannot confirm (needs 4-8 weeks) -> iUPD;
    # TP3 42 days after iUPD with +10 mm -> iCPD
    (
        "too_early_to_confirm",
        "Seymour 2017: confirmation 4-8 weeks later",
        [tp(70, day=56), tp(80, day=70), tp(80, day=98)],
        [R.IUPD, R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # iUPD from targets, next assessment non-target unequivocal progression -> iCPD
    (
        "new_category_confirms",
        "EORTC Q&A: progression in another category confirms",
        [tp(70), tp(70, nt1="unequivocal_progression")],
        [R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # non-target iUPD; TP2 unchanged (present) -> remains iUPD; TP3 further increase -> iCPD
    (
        "non_target_iupd",
        "Table 2: non-target iUPD remains unless further increase",
        [tp(45, nt1="unequivocal_progression"), tp(45), tp(45, nt1="unequivocal_progression")],
        [R.IUPD, R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # new lesion NL1 12 mm at TP1 (targets SD at 45) -> iUPD; TP2 NL1 17 (+5 mm) -> iCPD
    (
        "new_lesion_target_grows",
        "Table 2: new-lesion target sum >= 5 mm",
        [tp(45, new="unequivocal", nl1=12), tp(45, nl1=17)],
        [R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # new lesion at TP1; TP2 further new lesions -> iCPD
    (
        "additional_new_lesions",
        "Table 2: increase in number of new lesions",
        [tp(45, new="unequivocal", nl1=12), tp(45, new="unequivocal", nl1=12)],
        [R.IUPD, R.ICPD],
        R.ICPD,
        "TP1",
    ),
    # new lesion unchanged -> remains iUPD
    (
        "new_lesion_unchanged",
        "Table 2: no change in new lesions -> remains iUPD",
        [tp(45, new="unequivocal", nl1=12), tp(45, nl1=12)],
        [R.IUPD, R.IUPD],
        R.IUPD,
        None,
    ),
    # new lesion gone and targets -40% -> bar reset, iPR (NT1 still present)
    (
        "new_lesion_gone_reset",
        "Seymour 2017 reset",
        [tp(45, new="unequivocal", nl1=12), tp(30, nl1=0)],
        [R.IUPD, R.IPR],
        R.IPR,
        None,
    ),
    # targets 0 and non-target absent -> iCR
    ("icr", "Table 2 iCR", [tp(0, nt1="absent")], [R.ICR], R.ICR, None),
    ("ipr", "Table 2 iPR", [tp(30)], [R.IPR], R.IPR, None),
]


@pytest.mark.parametrize(
    ("name", "citation", "follow", "expected", "best", "confirmed"), ROWS, ids=[r[0] for r in ROWS]
)
def test_irecist(
    name: str,
    citation: str,
    follow: list[dict[str, Any]],
    expected: list[Response],
    best: Response,
    confirmed: str | None,
) -> None:
    case = build(LESIONS, [tp(50), *follow])
    result = evaluate(case, Criteria.IRECIST)
    assert [t.overall_response for t in result.timepoints[1:]] == expected, citation
    assert result.best_overall_response is best, citation
    assert result.first_pd_label == confirmed
    labels = {t.label: t.date for t in result.timepoints}
    assert result.first_pd_date == (labels[confirmed] if confirmed else None)


def test_recist11_ignores_new_lesion_targets_in_sum() -> None:
    case = build(LESIONS, [tp(50), tp(45, new="unequivocal", nl1=12)])
    tp1 = evaluate(case).timepoints[1]
    assert tp1.sum_mm == 45
    assert tp1.overall_response is R.PD


def test_new_lesion_targets_must_be_measurable() -> None:
    # Seymour 2017: new lesions follow RECIST 1.1 measurability; 9 mm cannot be a new target
    case = build(LESIONS, [tp(50), tp(45, new="unequivocal", nl1=9)])
    with pytest.raises(RecistInputError, match="lesion NL1, timepoint TP1"):
        evaluate(case, Criteria.IRECIST)


def test_at_most_two_new_lesion_targets_per_organ() -> None:
    case = build(
        [*LESIONS, "NL2:new:lung", "NL3:new:lung"],
        [
            tp(50),
            {
                "m": {"T1": 45, "NL1": 12, "NL2": 12, "NL3": 12},
                "nt": {"NT1": "present"},
                "new": "unequivocal",
            },
        ],
    )
    with pytest.raises(RecistInputError, match="lesion NL3"):
        evaluate(case, Criteria.IRECIST)
