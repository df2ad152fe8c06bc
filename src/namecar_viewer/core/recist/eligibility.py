"""NAMECAR eligibility: CR or major PR of the metastatic disease, the primary renal tumour excluded.

The protocol admits a patient whose metastatic disease is in CR, or whose metastatic sum of
diameters shrank by strictly more than 75% from the pre-treatment baseline, with every metastatic
lesion evaluated, no unequivocal new lesion and no progression of a metastatic non-target.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from namecar_viewer.core.recist.constants import NAMECAR_MPR_THRESHOLD_PCT
from namecar_viewer.core.recist.model import Case, LesionKind, NonTargetStatus
from namecar_viewer.core.recist.sums import fmt_mm, fmt_pct, pct_change, target_sum


@dataclass(frozen=True)
class Eligibility:
    """Metastatic sum, its change from the pre-treatment baseline and the decision with reasons.

    ``eligible`` is None when the decision is incomplete (baseline, or a lesion not evaluated).
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
    met_sum = cur.sum_mm if cur is not None else None
    if tp_index == 0:
        words = (
            f"NAMECAR: pre-treatment baseline, metastatic sum {fmt_mm(met_sum)}{primary}"
            if met_sum is not None
            else f"NAMECAR: pre-treatment baseline, no metastatic target{primary}"
        )
        return Eligibility(met_sum, None, None, (words,))
    pct = pct_change(cur.sum_mm, base.sum_mm) if cur is not None and base is not None else None
    if not met_targets and not met_non_targets:
        return Eligibility(
            None, None, False, ("Not eligible: no metastatic lesion recorded at baseline",)
        )
    status = {
        les.id: tp.non_target_status.get(les.id, NonTargetStatus.NOT_EVALUATED)
        for les in met_non_targets
    }
    if new_lesion_since is not None:
        return Eligibility(
            met_sum, pct, False, (f"Not eligible: unequivocal new lesion since {new_lesion_since}",)
        )
    progressed = [k for k, v in status.items() if v is NonTargetStatus.UNEQUIVOCAL_PROGRESSION]
    if progressed:
        return Eligibility(
            met_sum,
            pct,
            False,
            (f"Not eligible: metastatic non-target progression of {', '.join(progressed)}",),
        )
    missing = list(cur.missing if cur is not None else ())
    missing += [k for k, v in status.items() if v is NonTargetStatus.NOT_EVALUATED]
    if missing:
        return Eligibility(
            met_sum,
            pct,
            None,
            (f"Incomplete: metastatic {', '.join(missing)} not evaluated",),
        )
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
