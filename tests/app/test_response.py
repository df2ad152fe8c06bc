"""Response rows of the read (app/response.py), values worked out by hand from the phantom.

Demo patient (ground_truth.json, scenario text): targets T1 primary kidney, T2/T3 lung, T4 liver,
T5 node (short axis), NT1 bone present throughout.
  baseline  60 + 30 + 20 + 40 + 18 = 168 mm; metastatic (no T1) 108 mm
  inclusion 60 + 6 + 4 + 7 + 7 = 84 mm: (84 - 168) / 168 = -50.0 % -> PR (<= -30 %)
            metastatic 24 mm: (24 - 108) / 108 = -77.78 % -> more than 75 % shrinkage, eligible
  fu03m     84 mm, nadir 84 (min of 168, 84): +0.0 % -> PR vs baseline (-50 %)
  fu06m     60 + 5 + 4 + 6 + 6 = 81 mm: -51.8 % from baseline -> PR; nadir before it 84
  fu09m     60 + 5 + 4 + 24 + 6 = 99 mm: nadir 81, +18 mm, 18/81 = +22.2 % -> PD
Inclusion re-baseline: baseline 84 mm; fu03m 0.0 %, fu06m (81-84)/84 = -3.6 % SD,
  fu09m (99-84)/84 = +17.9 % from baseline, +22.2 % / +18 mm from the nadir 81 -> PD.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from test_response_demo_read import demo_read

from namecar_viewer.app.read_session import (
    ReadSession,
    SetMeasurementPoints,
    SetStatus,
    SetTimepoint,
)
from namecar_viewer.app.response import (
    EligibilityStatus,
    RecistBaseline,
    ResponseModel,
    baseline_choice,
    evaluate_read,
    set_baseline_command,
)
from namecar_viewer.core.reads import LesionStatus, TimepointRole
from namecar_viewer.core.recist import Response


def test_demo_rows_pre_treatment_baseline(ground_truth: dict[str, Any]) -> None:
    rep = evaluate_read(demo_read(ground_truth))
    assert rep.errors == ()
    assert rep.baseline is RecistBaseline.PRE_TREATMENT
    assert rep.baseline_text.startswith("RECIST baseline: pre-treatment (baseline, 2025-01-15)")
    assert [r.label for r in rep.rows] == ["baseline", "inclusion", "fu03m", "fu06m", "fu09m"]
    base, inc, fu3, fu6, fu9 = rep.rows
    assert base.sum_mm == 168 and base.overall_response is None
    assert inc.sum_mm == 84 and inc.pct_from_baseline == -50
    assert inc.target_response is Response.PR and inc.overall_response is Response.PR
    assert inc.non_target_response is Response.NON_CR_NON_PD
    assert inc.pct_baseline_text == "-50.0%"
    assert fu3.nadir_mm == 84 and fu3.pct_from_nadir == 0
    assert fu6.sum_mm == 81 and fu6.overall_response is Response.PR
    assert fu9.sum_mm == 99 and fu9.nadir_mm == 81
    assert fu9.pct_from_nadir == Fraction(18 * 100, 81)
    assert fu9.pct_nadir_text == "+22.2%" and fu9.overall_response is Response.PD
    assert fu9.main_reason == "PD: sum 99 mm, +22.2% from nadir 81 mm, +18 mm"
    # PD threshold at fu09m: 81 + max(5, 16.2) = 97.2 mm
    assert fu9.pd_threshold_mm == Fraction(972, 10)
    assert rep.pr_threshold_mm == Fraction(1176, 10)  # 168 * 0.7
    assert rep.best_overall_response is Response.PR
    assert rep.first_pd_label == "fu09m" and rep.first_pd_date == dt.date(2026, 4, 9)
    assert rep.first_pd_text == "First PD: 2026-04-09 (fu09m)"
    # NAMECAR: metastatic 24 vs 108 mm = -77.8 %, primary excluded
    e = rep.eligibility
    assert e.status is EligibilityStatus.ELIGIBLE
    assert e.metastatic_sum_mm == 24 and e.metastatic_pct_change == Fraction(-700, 9)
    assert e.text.startswith("Eligible: metastatic PR -77.8%, primary excluded")
    assert "pre-treatment baseline vs inclusion scan of 2025-07-10" in e.text
    text = rep.text()
    assert "fu09m 2026-04-09 sum 99 mm -41.1% nadir 81 mm +22.2% PD/Non-CR/Non-PD/PD" in text


def test_spider_traces_percent_change_per_target(ground_truth: dict[str, Any]) -> None:
    rep = evaluate_read(demo_read(ground_truth))
    t4 = next(t for t in rep.targets if t.label == "T4")
    # T4 liver 40 -> 7 -> 7 -> 6 -> 24 mm: -82.5 %, -82.5 %, -85 %, -40 %
    assert t4.values_mm == (40, 7, 7, 6, 24)
    assert t4.pct_from_baseline == (0, Fraction(-825, 10), Fraction(-825, 10), -85, -40)
    t1 = next(t for t in rep.targets if t.label == "T1")
    assert t1.is_primary_renal and t1.pct_from_baseline[-1] == 0
    assert next(t for t in rep.targets if t.label == "T5").nodal


def test_inclusion_baseline_switches_the_numbers(ground_truth: dict[str, Any]) -> None:
    read = demo_read(ground_truth)
    session = ReadSession(read)
    session.execute(set_baseline_command(RecistBaseline.INCLUSION))
    assert baseline_choice(session.read) is RecistBaseline.INCLUSION
    rep = evaluate_read(session.read)
    assert rep.errors == ()
    assert rep.baseline_text.startswith("RECIST baseline: inclusion (inclusion, 2025-07-10)")
    assert [r.label for r in rep.rows] == ["inclusion", "fu03m", "fu06m", "fu09m"]
    inc, fu3, fu6, fu9 = rep.rows
    assert inc.is_baseline and inc.sum_mm == 84
    assert fu3.pct_from_baseline == 0 and fu3.overall_response is Response.SD
    assert fu6.pct_from_baseline == Fraction(-300, 84) and fu6.pct_baseline_text == "-3.6%"
    assert fu9.pct_from_baseline == Fraction(1500, 84) and fu9.pct_baseline_text == "+17.9%"
    assert fu9.nadir_mm == 81 and fu9.pct_nadir_text == "+22.2%"
    assert fu9.overall_response is Response.PD
    # SD at fu03m, 91 days after the inclusion scan (>= 42 days)
    assert rep.best_overall_response is Response.SD
    # targets too small for selection at inclusion are notes, not errors
    assert len(rep.notes) == 4 and rep.notes[0].startswith("T2: long axis 6 mm is below 10 mm")
    # eligibility still from the pre-treatment baseline
    assert rep.eligibility.text.startswith("Eligible: metastatic PR -77.8%")
    session.undo()
    assert evaluate_read(session.read).rows[0].label == "baseline"


def test_engine_refusal_is_a_message_naming_lesion_timepoint_rule(
    ground_truth: dict[str, Any],
) -> None:
    read = demo_read(ground_truth)
    session = ReadSession(read)
    # T4 not measurable at baseline: 40 mm line shrunk to 8 mm (below 10 mm)
    m = session.read.measurement("M-T4-baseline").measurement
    c = [(a + b) / 2 for a, b in zip(m.points[0], m.points[1], strict=True)]
    pts = ((c[0] - 4, c[1], c[2]), (c[0] + 4, c[1], c[2]), m.points[2], m.points[3])
    session.execute(SetMeasurementPoints("M-T4-baseline", pts))
    rep = evaluate_read(session.read)
    assert rep.rows == ()
    assert len(rep.errors) == 1
    err = rep.errors[0]
    assert "lesion T4" in err and "timepoint baseline" in err and "sec. 3.1.1" in err
    assert rep.eligibility.status is EligibilityStatus.INCOMPLETE
    assert "lesion T4" in rep.eligibility.text


def test_not_evaluated_target_and_missing_inclusion(ground_truth: dict[str, Any]) -> None:
    session = ReadSession(demo_read(ground_truth))
    session.execute(SetStatus("L-T4", "TP-inclusion", LesionStatus.NOT_EVALUABLE))
    rep = evaluate_read(session.read)
    inc = rep.row("inclusion")
    # measured targets 60 + 6 + 4 + 7 = 77 mm, T4 missing and no PD -> NE
    assert inc.sum_mm == 77 and inc.targets_not_evaluated == ("T4",)
    assert inc.overall_response is Response.NE and inc.sum_text == "77 mm (incomplete)"
    assert rep.eligibility.status is EligibilityStatus.INCOMPLETE
    assert rep.eligibility.text.startswith("Incomplete: metastatic T4 not evaluated")
    tp = session.read.timepoint("TP-inclusion")
    from dataclasses import replace

    session.execute(SetTimepoint(replace(tp, role=TimepointRole.FOLLOW_UP)))
    rep = evaluate_read(session.read)
    assert rep.eligibility.text.startswith("Incomplete: no inclusion scan in the read")
    session.execute(set_baseline_command(RecistBaseline.INCLUSION))
    rep = evaluate_read(session.read)
    assert rep.rows == () and "no timepoint of the read is marked as inclusion" in rep.errors[0]


def test_model_follows_session_edits_without_refresh(ground_truth: dict[str, Any]) -> None:
    session = ReadSession(demo_read(ground_truth))
    model = ResponseModel(session)
    seen: list[Any] = []
    model.changed.connect(seen.append)
    assert model.report.row("fu09m").overall_response is Response.PD
    # T4 at fu09m back to 6 mm long axis: sum 81 mm = nadir -> PR (-51.8 %) again
    m = session.read.measurement("M-T4-fu09m").measurement
    c = [(a + b) / 2 for a, b in zip(m.points[0], m.points[1], strict=True)]
    pts = ((c[0] - 3, c[1], c[2]), (c[0] + 3, c[1], c[2]), m.points[2], m.points[3])
    session.execute(SetMeasurementPoints("M-T4-fu09m", pts))
    assert len(seen) == 1 and model.report.row("fu09m").sum_mm == 81
    assert model.report.row("fu09m").overall_response is Response.PR
    assert model.report.first_pd_label is None
    session.undo()
    assert model.report.row("fu09m").overall_response is Response.PD


def test_empty_read_is_incomplete_not_an_error() -> None:
    from namecar_viewer.core.reads import Read

    rep = evaluate_read(Read.new())
    assert rep.rows == () and rep.errors == ()
    assert rep.eligibility.text == "Incomplete: no timepoint recorded in the read yet"
