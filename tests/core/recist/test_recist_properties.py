"""Invariants of the RECIST engine checked on generated cases (hypothesis).

- the order of lesions does not matter;
- making a target larger at a follow-up never improves that follow-up's response
  (order CR < PR < SD < PD);
- the category never depends on display rounding or on binary floating point: it equals an
  independent integer oracle on the diameters in tenths of a millimetre.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from fractions import Fraction
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from namecar_viewer.core.recist import (
    Case,
    Lesion,
    LesionKind,
    NewLesions,
    NonTargetStatus,
    Response,
    TargetMeasurement,
    Timepoint,
    evaluate,
    result_to_json,
)
from namecar_viewer.core.recist.sums import round_half_away

RANK = {Response.CR: 0, Response.PR: 1, Response.SD: 2, Response.PD: 3}
D0 = dt.date(2024, 1, 8)


@st.composite
def cases(draw: st.DrawFn, max_follow: int = 3) -> Case:
    """Valid cases: 1-5 targets in distinct organs (<= 2 nodes), 0-2 non-targets, 1-3 follow-ups."""
    n_t = draw(st.integers(1, 5))
    n_nt = draw(st.integers(0, 2))
    lesions = []
    base_m: dict[str, TargetMeasurement] = {}
    for i in range(n_t):
        node = i < 2 and draw(st.booleans())  # all lymph nodes are one organ: at most 2
        primary = draw(st.booleans())
        lesions.append(Lesion(f"T{i}", LesionKind.TARGET, f"organ{i}", node, primary))
        tenths = draw(st.integers(150 if node else 100, 1500))
        base_m[f"T{i}"] = TargetMeasurement.measured(Fraction(tenths, 10))
    for i in range(n_nt):
        lesions.append(Lesion(f"NT{i}", LesionKind.NON_TARGET, "bone", False, draw(st.booleans())))
    tps = [
        Timepoint(
            "baseline",
            D0,
            base_m,
            {f"NT{i}": NonTargetStatus.PRESENT for i in range(n_nt)},
        )
    ]
    for k in range(1, draw(st.integers(1, max_follow)) + 1):
        m = {}
        for i in range(n_t):
            m[f"T{i}"] = draw(
                st.one_of(
                    st.integers(0, 2000).map(lambda t: TargetMeasurement.measured(Fraction(t, 10))),
                    st.just(TargetMeasurement.too_small()),
                    st.just(TargetMeasurement.measured(0)),
                )
            )
        nt = {
            f"NT{i}": draw(st.sampled_from([NonTargetStatus.PRESENT, NonTargetStatus.ABSENT]))
            for i in range(n_nt)
        }
        new = draw(st.sampled_from([NewLesions.NONE, NewLesions.NONE, NewLesions.EQUIVOCAL]))
        tps.append(Timepoint(f"TP{k}", D0 + dt.timedelta(days=56 * k), m, nt, new))
    return Case(tuple(lesions), tuple(tps))


def _summary(case: Case) -> list[tuple[Any, ...]]:
    return [
        (
            t.sum_mm,
            t.nadir_mm,
            t.target_response,
            t.non_target_response,
            t.overall_response,
            t.metastatic_sum_mm,
            t.eligible_cr_or_mpr,
        )
        for t in evaluate(case).timepoints
    ]


@settings(max_examples=150, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_lesion_order_does_not_matter(case: Case, rnd: random.Random) -> None:
    lesions = list(case.lesions)
    rnd.shuffle(lesions)

    def shuffled(d: dict[str, Any]) -> dict[str, Any]:
        items = list(d.items())
        rnd.shuffle(items)
        return dict(items)

    tps = tuple(
        replace(
            tp,
            target_measurements=shuffled(dict(tp.target_measurements)),
            non_target_status=shuffled(dict(tp.non_target_status)),
        )
        for tp in case.timepoints
    )
    other = Case(tuple(lesions), tps)
    assert _summary(other) == _summary(case)
    a, b = evaluate(case), evaluate(other)
    assert (a.best_overall_response, a.first_pd_date) == (b.best_overall_response, b.first_pd_date)


@settings(max_examples=200, deadline=None)
@given(cases(), st.data())
def test_larger_target_never_improves_response(case: Case, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(case.timepoints) - 1))
    targets = [les.id for les in case.lesions if les.kind is LesionKind.TARGET]
    j = data.draw(st.sampled_from(targets))
    tp = case.timepoints[k]
    old_m = tp.target_measurements[j]
    old_value = old_m.fragments_mm[0] if old_m.fragments_mm else Fraction(5)  # too small = 5
    delta = Fraction(data.draw(st.integers(1, 300)), 10)
    bigger = dict(tp.target_measurements)
    bigger[j] = TargetMeasurement.measured(old_value + delta)
    tps = list(case.timepoints)
    tps[k] = replace(tp, target_measurements=bigger)
    before = evaluate(case).timepoints[k]
    after = evaluate(replace(case, timepoints=tuple(tps))).timepoints[k]
    assert before.target_response is not None and after.target_response is not None
    assert RANK[after.target_response] >= RANK[before.target_response]
    assert before.overall_response is not None and after.overall_response is not None
    if before.overall_response in RANK and after.overall_response in RANK:
        assert RANK[after.overall_response] >= RANK[before.overall_response]


@st.composite
def single_follow_up(draw: st.DrawFn) -> tuple[list[int], list[int], list[bool]]:
    n = draw(st.integers(1, 5))
    nodes = [i < 2 and draw(st.booleans()) for i in range(n)]  # at most 2 nodal targets
    base = [draw(st.integers(150 if nd else 100, 800)) for nd in nodes]
    follow = [draw(st.integers(0, 1200)) for _ in range(n)]
    return base, follow, nodes


def _oracle(base: list[int], follow: list[int], nodes: list[bool]) -> tuple[Response, bool]:
    """RECIST 1.1 sec. 4.3.1 on integer tenths of a mm, written independently of the engine."""
    b, s = sum(base), sum(follow)
    gone = all((f < 100) if nd else (f == 0) for f, nd in zip(follow, nodes, strict=True))
    if gone:
        resp = Response.CR
    elif s - b >= 50 and 5 * (s - b) >= b:  # +5 mm and +20% of the nadir (= baseline here)
        resp = Response.PD
    elif 10 * s <= 7 * b:  # at most 70% of baseline
        resp = Response.PR
    else:
        resp = Response.SD
    eligible = gone or 4 * s < b  # strictly more than 75% shrinkage
    return resp, eligible


@settings(max_examples=300, deadline=None)
@given(single_follow_up())
# 10.0 + 23.0 -> 7.0 + 16.1: exactly -30.0%, floating point says -29.999999999999993%
@example(([100, 230], [70, 161], [False, False]))
# 27.0 -> 32.4: exactly +20.0% and +5.4 mm, floating point says +19.999999999999996%
@example(([270], [324], [False]))
# 33.3 -> 23.4: -29.73% displays "-29.7%"; 33.3 -> 23.3: -30.03% displays "-30.0%" and is PR
@example(([333], [233], [False]))
# 60.1 -> 15.0: -75.04% displays "-75.0%" but is strictly more than 75% shrinkage
@example(([601], [150], [False]))
def test_category_matches_integer_oracle_and_ignores_rounding(
    sample: tuple[list[int], list[int], list[bool]],
) -> None:
    base, follow, nodes = sample
    expected, eligible = _oracle(base, follow, nodes)
    lesions = tuple(
        Lesion(f"T{i}", LesionKind.TARGET, f"organ{i}", nd) for i, nd in enumerate(nodes)
    )
    for convert in (lambda t: t / 10, lambda t: str(Fraction(t, 10))):  # float and exact input
        tps = (
            Timepoint(
                "baseline",
                D0,
                {f"T{i}": TargetMeasurement.measured(convert(v)) for i, v in enumerate(base)},
            ),
            Timepoint(
                "TP1",
                D0 + dt.timedelta(days=56),
                {f"T{i}": TargetMeasurement.measured(convert(v)) for i, v in enumerate(follow)},
            ),
        )
        result = evaluate(Case(lesions, tps))
        tp1 = result.timepoints[1]
        assert tp1.target_response is expected
        assert tp1.eligible_cr_or_mpr is eligible
        exact_pct = Fraction(sum(follow) - sum(base), sum(base)) * 100
        assert tp1.pct_change_from_baseline == exact_pct
        shown = result_to_json(result)["timepoints"][1]["pct_change_from_baseline"]
        assert shown == float(round_half_away(exact_pct, 1))
