"""RECIST 1.1 timepoint and best overall response, exact to Eisenhauer 2009 and Schwartz 2016.

Every threshold is compared on exact rationals built from the reader's decimal numbers, so a
sum exactly 30.0% below baseline is PR and one exactly 20.0% and 5.0 mm above the nadir is PD.

Readings of the texts the engine commits to: "after a true CR" means the last evaluable overall
response was CR (RECIST committee Q&A); a node is disease again at >= 10 mm short axis; a nadir
of 0 has no percent change and PD from it needs the 5 mm increase; targets or non-targets
missing from a timepoint are not evaluated; a timepoint where no target was evaluated has no sum
and no percent change (None, not 0 mm and -100%) and its target response is NE; timepoints after
the first PD are still evaluated but flagged and not used for best response.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

from namecar_viewer.core.recist.constants import PR_THRESHOLD_PCT
from namecar_viewer.core.recist.eligibility import assess_eligibility
from namecar_viewer.core.recist.model import (
    Case,
    CaseResult,
    Criteria,
    Lesion,
    LesionKind,
    NewLesions,
    NonTargetStatus,
    Protocol,
    RecistInputError,
    Response,
    TimepointResult,
)
from namecar_viewer.core.recist.sums import (
    TargetSum,
    fmt_mm,
    fmt_pct,
    fmt_signed_mm,
    meets_pd,
    pct_change,
    target_sum,
)
from namecar_viewer.core.recist.validation import validate_case


@dataclass
class TimepointWork:
    """Mutable per-timepoint state while a case is evaluated (shared with the iRECIST pass)."""

    label: str
    date: dt.date | None
    targets: TargetSum | None
    pct_base: Fraction | None = None
    pct_nadir: Fraction | None = None
    nadir: Fraction | None = None
    target_response: Response | None = None
    non_target_response: Response | None = None
    new_lesions: NewLesions = NewLesions.NONE
    overall: Response | None = None
    reasons: list[str] = field(default_factory=list)
    retro_new_lesion: bool = False  # an equivocal new lesion seen here was confirmed later


def _targets(case: Case) -> list[Lesion]:
    return [les for les in case.lesions if les.kind is LesionKind.TARGET]


def _non_targets(case: Case) -> list[Lesion]:
    return [les for les in case.lesions if les.kind is LesionKind.NON_TARGET]


def _target_response(
    ts: TargetSum,
    baseline: Fraction,
    nadir: Fraction,
    after_cr: bool,
    work: TimepointWork,
) -> Response:
    """Target response of one follow-up (RECIST 1.1 sec. 4.3.1, 4.3.2, 4.4.2)."""
    inc = ts.sum_mm - nadir
    pd_words = f"sum {fmt_mm(ts.sum_mm)}, " + (
        f"{fmt_pct(work.pct_nadir)} from nadir {fmt_mm(nadir)}, {fmt_signed_mm(inc)}"
        if work.pct_nadir is not None
        else f"{fmt_signed_mm(inc)} from nadir {fmt_mm(nadir)} (no percent change from a 0 nadir)"
    )
    if after_cr and ts.with_disease:
        # RECIST committee Q&A: after a definitive overall CR any reappearing lesion is PD.
        work.reasons.append(
            f"PD: target disease after CR ({', '.join(ts.with_disease)}), {pd_words}"
        )
        return Response.PD
    if not ts.evaluated:
        # Nothing measured: no sum and no percent change, and nothing that could reach PD.
        work.reasons.append(
            f"NE: no target evaluated ({', '.join(ts.missing)} not evaluated), no sum of "
            "diameters (sec. 4.4.2)"
        )
        return Response.NE
    if ts.missing:
        if meets_pd(ts.sum_mm, nadir):
            work.reasons.append(
                f"PD: measured targets alone reach PD ({', '.join(ts.missing)} not evaluated), "
                + pd_words
            )
            return Response.PD
        work.reasons.append(
            f"NE: {', '.join(ts.missing)} not evaluated and the measured targets "
            f"(sum {fmt_mm(ts.sum_mm)}) do not reach PD (sec. 4.4.2)"
        )
        return Response.NE
    if ts.all_gone:
        work.reasons.append(
            "CR: every non-nodal target gone and every nodal target under 10 mm"
            + (f" (sum {fmt_mm(ts.sum_mm)} of nodes)" if ts.sum_mm else "")
        )
        return Response.CR
    if meets_pd(ts.sum_mm, nadir):
        work.reasons.append(f"PD: {pd_words}")
        return Response.PD
    assert work.pct_base is not None  # baseline sum >= 10 mm by validation
    if work.pct_base <= PR_THRESHOLD_PCT:
        work.reasons.append(
            f"PR: sum {fmt_mm(ts.sum_mm)}, {fmt_pct(work.pct_base, PR_THRESHOLD_PCT)} from "
            f"baseline {fmt_mm(baseline)}"
        )
        return Response.PR
    nadir_part = (
        f", {fmt_pct(work.pct_nadir)} from nadir {fmt_mm(nadir)} ({fmt_signed_mm(inc)})"
        if work.pct_nadir is not None
        else ""
    )
    work.reasons.append(
        f"SD: sum {fmt_mm(ts.sum_mm)}, {fmt_pct(work.pct_base, PR_THRESHOLD_PCT)} from baseline "
        f"{fmt_mm(baseline)}{nadir_part}"
    )
    return Response.SD


def _non_target_response(
    case: Case, tp_index: int, after_cr: bool, work: TimepointWork
) -> Response:
    """Non-target response (RECIST 1.1 sec. 4.3.3, 4.3.4): CR, Non-CR/Non-PD, PD, NE or NA."""
    nts = _non_targets(case)
    if not nts:
        return Response.NA
    tp = case.timepoints[tp_index]
    status = {
        les.id: tp.non_target_status.get(les.id, NonTargetStatus.NOT_EVALUATED) for les in nts
    }
    progressed = [k for k, v in status.items() if v is NonTargetStatus.UNEQUIVOCAL_PROGRESSION]
    present = [k for k, v in status.items() if v is NonTargetStatus.PRESENT]
    missing = [k for k, v in status.items() if v is NonTargetStatus.NOT_EVALUATED]
    if progressed:
        work.reasons.append(f"Non-targets PD: unequivocal progression of {', '.join(progressed)}")
        return Response.PD
    if after_cr and present:
        work.reasons.append(f"Non-targets PD: {', '.join(present)} reappeared after CR")
        return Response.PD
    if missing:
        work.reasons.append(f"Non-targets NE: {', '.join(missing)} not evaluated")
        return Response.NE
    if not present:
        work.reasons.append("Non-targets CR: every non-target lesion gone")
        return Response.CR
    work.reasons.append(f"Non-targets Non-CR/Non-PD: {', '.join(present)} present")
    return Response.NON_CR_NON_PD


def overall_response(target: Response, non_target: Response, new: NewLesions) -> Response:
    """Timepoint response: RECIST 1.1 Table 1 (targets) or Table 2 (non-target disease only)."""
    if new is NewLesions.UNEQUIVOCAL or Response.PD in (target, non_target):
        return Response.PD
    if target is Response.NA:  # Table 2: non-target disease only
        if non_target is Response.NA:
            return Response.NE
        return non_target
    if target is Response.NE:
        return Response.NE
    if target is Response.CR:
        return Response.CR if non_target in (Response.CR, Response.NA) else Response.PR
    return target  # PR or SD whatever the non-PD non-target status (Table 1)


def recist11_timepoints(case: Case) -> list[TimepointWork]:
    """Per-timepoint RECIST 1.1 evaluation of a validated case, baseline first."""
    targets = _targets(case)
    base_tp = case.timepoints[0]
    base_sum = target_sum(targets, base_tp) if targets else None
    baseline_mm = base_sum.sum_mm if base_sum is not None else Fraction(0)
    base_work = TimepointWork(base_tp.label, base_tp.date, base_sum)
    if base_sum is not None:
        base_work.reasons.append(
            f"Baseline: sum {fmt_mm(baseline_mm)} of {len(targets)} target"
            f"{'s' if len(targets) != 1 else ''}"
        )
    else:
        base_work.reasons.append("Baseline: non-target disease only")
    works = [base_work]
    nadir = baseline_mm
    last_evaluable: Response | None = None
    for i in range(1, len(case.timepoints)):
        tp = case.timepoints[i]
        ts = target_sum(targets, tp) if targets else None
        work = TimepointWork(tp.label, tp.date, ts, new_lesions=tp.new_lesions)
        after_cr = last_evaluable is Response.CR
        if ts is not None:
            work.nadir = nadir
            if ts.evaluated:  # no percent change when no target was measured
                work.pct_base = pct_change(ts.sum_mm, baseline_mm)
                work.pct_nadir = pct_change(ts.sum_mm, nadir)
            work.target_response = _target_response(ts, baseline_mm, nadir, after_cr, work)
            if ts.complete:
                # A sum with a missing lesion never becomes the nadir (sec. 4.4.2).
                nadir = min(nadir, ts.sum_mm)
        else:
            work.target_response = Response.NA
        work.non_target_response = _non_target_response(case, i, after_cr, work)
        if tp.new_lesions is NewLesions.UNEQUIVOCAL:
            work.reasons.append("New lesions: unequivocal, PD (sec. 4.3.5)")
        elif tp.new_lesions is NewLesions.EQUIVOCAL:
            work.reasons.append(
                "New lesions: equivocal, not progression unless a later scan confirms it "
                "(sec. 4.3.5)"
            )
        work.overall = overall_response(
            work.target_response, work.non_target_response, tp.new_lesions
        )
        table = "Table 1" if targets else "Table 2"
        work.reasons.append(f"Overall {work.overall.value} (RECIST 1.1 {table})")
        if work.overall is not Response.NE:
            last_evaluable = work.overall
        works.append(work)
    _apply_confirmed_equivocal(case, works)
    return works


def _apply_confirmed_equivocal(case: Case, works: list[TimepointWork]) -> None:
    """A confirmed equivocal new lesion dates progression to its first scan (sec. 4.3.5)."""
    index = {tp.label: i for i, tp in enumerate(case.timepoints)}
    for j, tp in enumerate(case.timepoints):
        src = tp.new_lesion_confirms_equivocal_from
        if src is None:
            continue
        for k in range(index[src], j):
            w = works[k]
            w.retro_new_lesion = True
            if w.overall is not Response.PD:
                w.reasons.append(
                    f"Overall revised to PD: the equivocal new lesion first seen at {src} was "
                    f"confirmed at {tp.label}, so progression dates from {src} (sec. 4.3.5)"
                )
                w.overall = Response.PD


def _days(a: dt.date | None, b: dt.date | None) -> int | None:
    if a is None or b is None:
        return None
    return (b - a).days


def best_overall_response(
    works: list[TimepointWork],
    protocol: Protocol,
    cr: Response = Response.CR,
    pr: Response = Response.PR,
    stable: tuple[Response, ...] = (Response.SD, Response.NON_CR_NON_PD),
    progression: tuple[Response, ...] = (Response.PD,),
    unconfirmed: Response | None = None,
) -> tuple[Response, str]:
    """Best overall response up to the first progression (RECIST 1.1 sec. 4.4.3, Table 3, 4.6).

    Without confirmation the best timepoint response counts; with confirmation CR/PR need a
    second CR/PR at least ``min_confirmation_interval_days`` later with only CR/PR/NE between.
    SD (or Non-CR/Non-PD) counts only at least ``min_sd_duration_days`` after baseline.
    ``unconfirmed`` (iUPD) ranks after progression (iCPD) when progression was never confirmed.
    Returns the response and a sentence saying why.
    """
    base_date = works[0].date
    follow = []
    for w in works[1:]:
        assert w.overall is not None
        follow.append(w)
        if w.overall in progression:
            break
    responses = [w.overall for w in follow]

    def confirmed(first_ok: tuple[Response, ...], second_ok: tuple[Response, ...]) -> str | None:
        for a, wa in enumerate(follow):
            if wa.overall not in first_ok:
                continue
            for wb in follow[a + 1 :]:
                if wb.overall not in (*second_ok, Response.NE):
                    break
                days = _days(wa.date, wb.date)
                if (
                    wb.overall in second_ok
                    and days is not None
                    and (days >= protocol.min_confirmation_interval_days)
                ):
                    return f"{wa.label} confirmed at {wb.label} ({days} days later)"
        return None

    if protocol.confirmation_required:
        why = confirmed((cr,), (cr,))
        if why:
            return cr, f"{cr.value} {why}"
        why = confirmed((cr, pr), (cr, pr))
        if why:
            return pr, f"{pr.value} {why}"
    else:
        for r in (cr, pr):
            hit = next((w for w in follow if w.overall is r), None)
            if hit is not None:
                return r, f"{r.value} at {hit.label} (confirmation not required)"
    # Without targets the stable category is Non-CR/Non-PD (Table 2), else SD (Table 1).
    stable_here = stable[0] if works[0].targets is not None else stable[-1]
    for w in follow:
        if w.overall in (*stable, cr, pr):
            days = _days(base_date, w.date)
            if days is not None and days >= protocol.min_sd_duration_days:
                return stable_here, (
                    f"{stable_here.value}: {w.label} {days} days after baseline "
                    f"(minimum {protocol.min_sd_duration_days})"
                )
    prog = next((w for w in follow if w.overall in progression), None)
    if prog is not None:
        assert prog.overall is not None
        return prog.overall, f"{prog.overall.value} at {prog.label}"
    pending = next(
        (w for w in follow if unconfirmed is not None and w.overall is unconfirmed), None
    )
    if pending is not None and unconfirmed is not None:
        return unconfirmed, f"{unconfirmed.value} at {pending.label}, never confirmed"
    if any(r is not None and r is not Response.NE for r in responses):
        return Response.NE, (
            f"NE: no response and stable disease shorter than {protocol.min_sd_duration_days} days"
        )
    return Response.NE, "NE: no evaluable follow-up"


def evaluate(case: Case, criteria: Criteria = Criteria.RECIST11) -> CaseResult:
    """Evaluate a case under RECIST 1.1 (or iRECIST) with the NAMECAR eligibility per timepoint.

    Raises
    ------
    RecistInputError
        When the input breaks a rule; the message names lesion, timepoint and rule.
    """
    violations = validate_case(case)
    if violations:
        raise RecistInputError(violations)
    works = recist11_timepoints(case)
    if criteria is Criteria.IRECIST:
        from namecar_viewer.core.recist.irecist import apply_irecist

        best, best_why, pd_label = apply_irecist(case, works)
    else:
        best, best_why = best_overall_response(works, case.protocol)
        pd_label = next((w.label for w in works[1:] if w.overall is Response.PD), None)
    pd_date = next((w.date for w in works if w.label == pd_label), None)
    labels = [w.label for w in works]
    pd_index = labels.index(pd_label) if pd_label is not None else None
    results = []
    for i, w in enumerate(works):
        elig = assess_eligibility(case, i, new_lesion_since=_new_lesion_since(case, works, i))
        reasons = [*w.reasons, *elig.reasons]
        if pd_index is not None and i > pd_index:
            reasons.append(f"After first progression at {pd_label}: not used for best response")
        results.append(
            TimepointResult(
                label=w.label,
                date=w.date,
                sum_mm=w.targets.measured_sum_mm if w.targets is not None else None,
                targets_not_evaluated=w.targets.missing if w.targets is not None else (),
                pct_change_from_baseline=w.pct_base,
                pct_change_from_nadir=w.pct_nadir,
                nadir_mm=w.nadir,
                target_response=w.target_response,
                non_target_response=w.non_target_response,
                new_lesions=w.new_lesions,
                overall_response=w.overall,
                metastatic_sum_mm=elig.metastatic_sum_mm,
                metastatic_pct_change_from_baseline=elig.pct_change_from_baseline,
                eligible_cr_or_mpr=elig.eligible,
                reasons=tuple(reasons),
            )
        )
    return CaseResult(
        criteria=criteria,
        timepoints=tuple(results),
        best_overall_response=best,
        best_overall_reason=best_why,
        first_pd_label=pd_label,
        first_pd_date=pd_date,
    )


def _new_lesion_since(case: Case, works: list[TimepointWork], i: int) -> str | None:
    """Label of the first follow-up up to i with an unequivocal (or later confirmed) new lesion."""
    for k in range(1, i + 1):
        if case.timepoints[k].new_lesions is NewLesions.UNEQUIVOCAL or works[k].retro_new_lesion:
            return case.timepoints[k].label
    return None
