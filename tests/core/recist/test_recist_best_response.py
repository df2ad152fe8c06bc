"""Best overall response (Eisenhauer 2009 sec. 4.4.3, Table 3, sec. 4.6; Schwartz 2016)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from _recist_testkit import build

from namecar_viewer.core.recist import Response, evaluate

R = Response
D0 = dt.date(2024, 1, 8)


def day(n: int) -> str:
    return (D0 + dt.timedelta(days=n)).isoformat()


# Baseline T1 = 50 mm. Follow-up values: 30 -> -40% PR; 0 -> CR; 45 -> -10% SD;
# 70 -> +40% from nadir PD (when the nadir is 50); None -> NE.
# (name, citation, protocol, [(day, T1 value)], expected best, expected first PD day)
ROWS: list[tuple[str, str, dict[str, Any], list[tuple[int, Any]], Response, int | None]] = [
    ("pr_then_pd", "sec. 4.4.3 best response recorded", {}, [(56, 30), (112, 70)], R.PR, 112),
    (
        "sd_too_short_then_pd",
        "sec. 4.4.3: SD under the minimum duration then PD -> PD",
        {},
        [(35, 45), (70, 70)],
        R.PD,
        70,
    ),
    ("sd_at_42_days", "sec. 4.6.3 minimum SD duration 42 days", {}, [(42, 45)], R.SD, None),
    (
        "sd_at_41_days_then_ne",
        "sec. 4.4.3: too short and no PD -> NE",
        {},
        [(41, 45), (90, None)],
        R.NE,
        None,
    ),
    (
        "sd_min_duration_protocol",
        "protocol min_sd_duration_days",
        {"min_sd_duration_days": 56},
        [(50, 45)],
        R.NE,
        None,
    ),
    (
        "pd_first_later_pr_ignored",
        "sec. 4.4.3 up to progression",
        {},
        [(56, 70), (112, 30)],
        R.PD,
        56,
    ),
    (
        "pr_unconfirmed_no_confirmation",
        "Schwartz 2016: no confirmation in randomised trials",
        {},
        [(56, 30)],
        R.PR,
        None,
    ),
    (
        "confirmed_pr_28_days",
        "sec. 4.6.1 confirmation >= 4 weeks",
        {"confirmation_required": True},
        [(56, 30), (84, 30)],
        R.PR,
        None,
    ),
    # PR at day 56 confirmed only 20 days later: not confirmed; day 56 >= 42 counts as SD
    (
        "pr_not_confirmed_is_sd",
        "Table 3 PR then PD -> SD if duration met",
        {"confirmation_required": True},
        [(56, 30), (76, 30), (112, 70)],
        R.SD,
        112,
    ),
    (
        "confirmed_cr",
        "Table 3 CR CR -> CR",
        {"confirmation_required": True},
        [(56, 0), (84, 0)],
        R.CR,
        None,
    ),
    # CR truly met at day 56, so any disease after it is PD (30 mm from a 0 nadir, +30 mm);
    # the CR is unconfirmed -> Table 3 "CR PD: SD provided minimum duration met" (56 >= 42)
    (
        "cr_then_disease",
        "Table 3 CR PD -> SD",
        {"confirmation_required": True},
        [(56, 0), (84, 30)],
        R.SD,
        84,
    ),
    (
        "ne_between_confirmations",
        "Table 3, NE does not break confirmation",
        {"confirmation_required": True},
        [(56, 30), (70, None), (112, 30)],
        R.PR,
        None,
    ),
    # 35.5 after a nadir of 30: (35.5 - 50) / 50 = -29% (not PR), +5.5 mm but +18.3% (not PD)
    (
        "sd_between_breaks_confirmation",
        "Table 3 PR SD -> SD",
        {"confirmation_required": True},
        [(56, 30), (84, 35.5), (112, 30)],
        R.SD,
        None,
    ),
    ("no_follow_up", "sec. 4.4.3", {}, [], R.NE, None),
]


@pytest.mark.parametrize(
    ("name", "citation", "protocol", "follow", "best", "pd_day"), ROWS, ids=[r[0] for r in ROWS]
)
def test_best_overall_response(
    name: str,
    citation: str,
    protocol: dict[str, Any],
    follow: list[tuple[int, Any]],
    best: Response,
    pd_day: int | None,
) -> None:
    tps = [{"m": {"T1": 50}}] + [{"m": {"T1": v}, "date": day(d)} for d, v in follow]
    result = evaluate(build(["T1"], tps, protocol=protocol))
    assert result.best_overall_response is best, citation
    assert result.first_pd_date == (None if pd_day is None else D0 + dt.timedelta(days=pd_day))


def test_non_target_only_best_is_non_cr_non_pd() -> None:
    case = build(["NT1:nt"], [{"nt": {"NT1": "present"}}, {"nt": {"NT1": "present"}}])
    assert evaluate(case).best_overall_response is R.NON_CR_NON_PD


def test_timepoints_after_first_pd_are_flagged() -> None:
    case = build(["T1"], [{"m": {"T1": 50}}, {"m": {"T1": 70}}, {"m": {"T1": 30}}])
    last = evaluate(case).timepoints[2]
    assert last.reasons[-1] == "After first progression at TP1: not used for best response"


def test_non_target_only_unconfirmed_cr_is_non_cr_non_pd() -> None:
    # Table 2 / sec. 4.6.1: a CR needing confirmation that is not confirmed falls back to the
    # stable category, which for non-target disease only is Non-CR/Non-PD (day 56 >= 42).
    case = build(
        ["NT1:nt"],
        [{"nt": {"NT1": "present"}}, {"nt": {"NT1": "absent"}}],
        protocol={"confirmation_required": True},
    )
    result = evaluate(case)
    assert result.timepoints[1].overall_response is R.CR
    assert result.best_overall_response is R.NON_CR_NON_PD
