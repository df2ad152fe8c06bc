"""NAMECAR eligibility: CR or major PR of the metastatic disease, the primary renal tumour excluded.

The protocol admits a patient whose metastatic disease is in CR, or whose metastatic sum of
diameters shrank by strictly more than 75% from the pre-treatment baseline, with every metastatic
lesion evaluated, no unequivocal new lesion and no progression of a metastatic non-target.

When a metastatic lesion is not evaluated the decision is None (incomplete) only while some values
of the unevaluated lesions could still make the patient eligible; otherwise it is False and the
reason says it holds "whatever the unevaluated lesions". The best case of an unevaluated lesion:

- an unevaluated target, nodal or not, contributes 0 mm to the sum: that is its smallest possible
  value (a node's short axis, like a long axis, may be recorded as 0, and 0 is also "gone"), so the
  sum can be no smaller than the measured lesions' sum ``M``. More than 75% shrinkage is still
  possible exactly when the rule itself, applied to ``M``, passes: ``pct_change(M, baseline) <
  -75`` in exact fractions, i.e. ``M < baseline / 4``. At ``M`` exactly 25% of baseline the best
  case is exactly -75%, not strictly more than 75% shrinkage, so that route is closed;
- for the CR route an unevaluated target is gone (non-nodal 0 mm, node under 10 mm short axis) and
  an unevaluated non-target absent; the route stays open while every *measured* metastatic target
  is gone and every measured metastatic non-target absent. A measured node under 10 mm is gone yet
  still adds its short axis to ``M``, so ``M`` may be 25% of baseline or more while a metastatic
  CR remains possible: the sum bound alone never decides, both routes must be closed;
- an unequivocal new lesion (or a confirmed equivocal one) and unequivocal progression of a
  metastatic non-target exclude whatever the rest shows (progression, PD).

Overall RECIST PD is not by itself a reason here, exactly as for a complete timepoint: progression
of the primary renal tumour is not part of the decision, and a target-sum PD (measured from the
nadir, possibly driven by the primary) is not an exclusion of its own, since the rule measures
shrinkage of the metastatic sum from the pre-treatment baseline. Such a PD ends in False only
through the new-lesion or non-target exclusions or when it leaves both routes closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from namecar_viewer.core.recist.constants import NAMECAR_MPR_THRESHOLD_PCT
from namecar_viewer.core.recist.model import Case, LesionKind, NonTargetStatus
from namecar_viewer.core.recist.sums import (
    TargetSum,
    fmt_mm,
    fmt_pct,
    pct_change,
    round_half_away,
    target_sum,
)


@dataclass(frozen=True)
class Eligibility:
    """Metastatic sum, its change from the pre-treatment baseline and the decision with reasons.

    ``eligible`` is None when the decision is incomplete (baseline, or a lesion not evaluated
    whose value could still change it). The sum and percentage are None when no metastatic target
    was measured.
    """

    metastatic_sum_mm: Fraction | None
    pct_change_from_baseline: Fraction | None
    eligible: bool | None
    reasons: tuple[str, ...]


def assess_eligibility(case: Case, tp_index: int, new_lesion_since: str | None) -> Eligibility:
    """NAMECAR decision at one timepoint against the first (pre-treatment baseline) timepoint.

    Parameters
    ----------
    case
        A validated case.
    tp_index
        Index of the timepoint in ``case.timepoints``; 0 is the baseline itself.
    new_lesion_since
        Label of the follow-up where an unequivocal new lesion appeared (None if none so far).
    """
    met_targets = [
        les for les in case.lesions if les.kind is LesionKind.TARGET and not les.is_primary_renal
    ]
    met_non_targets = [
        les
        for les in case.lesions
        if les.kind is LesionKind.NON_TARGET and not les.is_primary_renal
    ]
    has_primary = any(
        les.is_primary_renal
        for les in case.lesions
        if les.kind in (LesionKind.TARGET, LesionKind.NON_TARGET)
    )
    primary = ", primary excluded" if has_primary else ""
    tp = case.timepoints[tp_index]
    base = target_sum(met_targets, case.timepoints[0]) if met_targets else None
    cur = target_sum(met_targets, tp) if met_targets else None
    met_sum = cur.measured_sum_mm if cur is not None else None
    if tp_index == 0:
        words = (
            f"NAMECAR: pre-treatment baseline, metastatic sum {fmt_mm(met_sum)}{primary}"
            if met_sum is not None
            else f"NAMECAR: pre-treatment baseline, no metastatic target{primary}"
        )
        return Eligibility(met_sum, None, None, (words,))
    pct = (
        pct_change(cur.sum_mm, base.sum_mm)
        if cur is not None and base is not None and cur.evaluated
        else None
    )
    if not met_targets and not met_non_targets:
        return Eligibility(
            None, None, False, ("Not eligible: no metastatic lesion recorded at baseline",)
        )
    status = {
        les.id: tp.non_target_status.get(les.id, NonTargetStatus.NOT_EVALUATED)
        for les in met_non_targets
    }
    missing = list(cur.missing if cur is not None else ())
    missing += [k for k, v in status.items() if v is NonTargetStatus.NOT_EVALUATED]
    if new_lesion_since is not None:
        return Eligibility(
            met_sum,
            pct,
            False,
            (_progression(f"unequivocal new lesion since {new_lesion_since}", missing),),
        )
    progressed = [k for k, v in status.items() if v is NonTargetStatus.UNEQUIVOCAL_PROGRESSION]
    if progressed:
        return Eligibility(
            met_sum,
            pct,
            False,
            (
                _progression(
                    f"metastatic non-target progression of {', '.join(progressed)}", missing
                ),
            ),
        )
    if missing:
        return _with_missing(cur, base, status, missing, met_sum, pct)
    targets_gone = cur is None or cur.all_gone
    non_targets_gone = all(v is NonTargetStatus.ABSENT for v in status.values())
    if targets_gone and non_targets_gone:
        return Eligibility(met_sum, pct, True, (f"Eligible: metastatic CR{primary}",))
    if pct is not None and pct < NAMECAR_MPR_THRESHOLD_PCT:
        extra = "" if non_targets_gone else " (metastatic non-targets present, not progressing)"
        return Eligibility(
            met_sum,
            pct,
            True,
            (f"Eligible: metastatic PR {fmt_pct(pct, NAMECAR_MPR_THRESHOLD_PCT)}{primary}{extra}",),
        )
    if pct is None:
        return Eligibility(
            met_sum,
            pct,
            False,
            (
                "Not eligible: metastatic non-target disease present and no metastatic target "
                "to measure shrinkage",
            ),
        )
    return Eligibility(
        met_sum,
        pct,
        False,
        (
            f"Not eligible: metastatic sum {fmt_pct(pct, NAMECAR_MPR_THRESHOLD_PCT)} from "
            f"baseline, needs more than 75% shrinkage or CR{primary}",
        ),
    )


def _whatever(missing: list[str]) -> str:
    return f"Not eligible: whatever the unevaluated lesions ({', '.join(missing)} not evaluated): "


def _progression(why: str, missing: list[str]) -> str:
    """Reason of an exclusion by progression; it holds whatever the unevaluated lesions show."""
    if not missing:
        return f"Not eligible: {why}"
    return f"{_whatever(missing)}progression (PD), {why}"


def _fmt_share(value: Fraction) -> str:
    """A percentage of the baseline for reasons, one decimal without a trailing .0 ("45%")."""
    text = f"{round_half_away(value):f}"
    return f"{text[:-2] if text.endswith('.0') else text}%"


def _with_missing(
    cur: TargetSum | None,
    base: TargetSum | None,
    status: dict[str, NonTargetStatus],
    missing: list[str],
    met_sum: Fraction | None,
    pct: Fraction | None,
) -> Eligibility:
    """Decision with unevaluated metastatic lesions: None while their values could still make the
    patient eligible, else False (see the module docstring for the best case of each lesion)."""
    # CR route: every unevaluated lesion gone at best, so it is open while every measured
    # metastatic target is gone (nodes under 10 mm) and every measured non-target absent.
    still_present = [*(cur.with_disease if cur is not None else ())]
    still_present += [k for k, v in status.items() if v is NonTargetStatus.PRESENT]
    # PR route: every unevaluated target 0 mm at best, so the smallest possible sum is the
    # measured sum; the same exact comparison as for a complete timepoint decides.
    best_pct = pct_change(cur.sum_mm, base.sum_mm) if cur is not None and base is not None else None
    pr_possible = best_pct is not None and best_pct < NAMECAR_MPR_THRESHOLD_PCT
    if pr_possible or not still_present:
        return Eligibility(
            met_sum, pct, None, (f"Incomplete: metastatic {', '.join(missing)} not evaluated",)
        )
    if best_pct is None:
        words = (
            f"metastatic non-target disease present ({', '.join(still_present)}) and no "
            "metastatic target to measure shrinkage"
        )
    else:
        share = 100 + best_pct  # measured metastatic sum as a percentage of the baseline sum
        words = (
            f"measured metastatic sum already {_fmt_share(share)} of baseline, so shrinkage "
            f"cannot exceed 75%, and {', '.join(still_present)} still present, so no "
            "metastatic CR"
        )
    return Eligibility(met_sum, pct, False, (_whatever(missing) + words,))
