"""iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-e152) on top of the RECIST 1.1 components.

RECIST 1.1 progression becomes unconfirmed progression (iUPD). It is confirmed (iCPD) at the next
assessment, 4-8 weeks later, by a further increase in the category that progressed (target sum
>= 5 mm more than at iUPD, any further non-target increase, new-lesion target sum >= 5 mm, a new
non-target increase, additional new lesions) or by progression in a category that had not
progressed (EORTC iRECIST Q&A). Without confirmation the timepoint stays iUPD while that
category still progresses, and the bar resets to iCR/iPR/iSD once it no longer does (Table 2).

Input conventions: ``NewLesions.UNEQUIVOCAL`` at a follow-up means new lesions not seen before;
new lesions are measured as lesions of kind ``NEW_TARGET`` / ``NEW_NON_TARGET``; a non-target
status ``UNEQUIVOCAL_PROGRESSION`` at the assessment after iUPD is read as a further increase.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from namecar_viewer.core.recist.constants import (
    ICPD_CONFIRMATION_MAX_DAYS,
    ICPD_CONFIRMATION_MIN_DAYS,
    ICPD_MIN_FURTHER_INCREASE_MM,
)
from namecar_viewer.core.recist.engine import TimepointWork, best_overall_response
from namecar_viewer.core.recist.model import (
    Case,
    LesionKind,
    NewLesions,
    NonTargetStatus,
    Response,
)
from namecar_viewer.core.recist.sums import fmt_mm, fmt_signed_mm, target_sum

_TO_I = {
    Response.CR: Response.ICR,
    Response.PR: Response.IPR,
    Response.SD: Response.ISD,
    Response.NON_CR_NON_PD: Response.INON_CR_NON_UPD,
    Response.NE: Response.NE,
}

TARGETS = "targets"
NON_TARGETS = "non-targets"
NEW = "new lesions"


def _new_lesions_gone(case: Case, i: int) -> bool | None:
    """True if every recorded new lesion is gone at i; None when not recorded or not evaluated."""
    tp = case.timepoints[i]
    nlt = [les for les in case.lesions if les.kind is LesionKind.NEW_TARGET]
    nlnt = [les for les in case.lesions if les.kind is LesionKind.NEW_NON_TARGET]
    if not nlt and not nlnt:
        return None
    ts = target_sum(nlt, tp)
    if ts.missing:
        return None
    statuses = [tp.non_target_status.get(les.id) for les in nlnt]
    if any(s is None or s is NonTargetStatus.NOT_EVALUATED for s in statuses):
        return None
    return ts.sum_mm == 0 and all(s is NonTargetStatus.ABSENT for s in statuses)


def _new_target_sum(case: Case, i: int) -> Fraction:
    """Sum of new-lesion targets at i (lesions not yet seen or not evaluated count 0)."""
    nlt = [les for les in case.lesions if les.kind is LesionKind.NEW_TARGET]
    return target_sum(nlt, case.timepoints[i]).sum_mm


def _new_non_target_progressed(case: Case, i: int) -> list[str]:
    tp = case.timepoints[i]
    return [
        les.id
        for les in case.lesions
        if les.kind is LesionKind.NEW_NON_TARGET
        and tp.non_target_status.get(les.id) is NonTargetStatus.UNEQUIVOCAL_PROGRESSION
    ]


def _days(a: dt.date | None, b: dt.date | None) -> int | None:
    return None if a is None or b is None else (b - a).days


def apply_irecist(case: Case, works: list[TimepointWork]) -> tuple[Response, str, str | None]:
    """Turn RECIST 1.1 timepoint results into iRECIST ones in place.

    Returns
    -------
    tuple
        Best overall iRECIST response, why, and the label of the iUPD that iCPD confirmed (the
        date of progression) or None.
    """
    confirmation_sources = {
        tp.new_lesion_confirms_equivocal_from
        for tp in case.timepoints
        if tp.new_lesion_confirms_equivocal_from is not None
    }
    state = "none"
    cats: set[str] = set()
    iupd_index = 0
    iupd_target_sum: Fraction | None = None
    iupd_new_sum = Fraction(0)
    confirmed_label: str | None = None
    for i in range(1, len(works)):
        w = works[i]
        tp = case.timepoints[i]
        # A confirmed equivocal lesion is new where first seen, not again where confirmed.
        new_here = (
            tp.new_lesions is NewLesions.UNEQUIVOCAL
            and tp.new_lesion_confirms_equivocal_from is None
        ) or tp.label in confirmation_sources
        r_t, r_nt = w.target_response, w.non_target_response
        w.reasons = [
            f"RECIST 1.1 overall {r[len('Overall ') :].replace('RECIST 1.1 ', '')}"
            if r.startswith("Overall ")
            else r
            for r in w.reasons
        ]
        if state == "icpd":
            w.overall = Response.ICPD
            w.reasons.append(f"iCPD: progression confirmed earlier (iUPD at {confirmed_label})")
            continue
        if state == "iupd":
            iupd = works[iupd_index]
            days = _days(iupd.date, w.date)
            early = days is not None and days < ICPD_CONFIRMATION_MIN_DAYS
            why: list[str] = []
            if new_here:
                why.append("additional new lesions")  # allowed even before 4 weeks (EORTC Q&A)
            if not early:
                if TARGETS in cats and w.targets is not None and iupd_target_sum is not None:
                    inc = w.targets.sum_mm - iupd_target_sum
                    if inc >= ICPD_MIN_FURTHER_INCREASE_MM:
                        why.append(
                            f"target sum {fmt_signed_mm(inc)} since iUPD ({fmt_mm(iupd_target_sum)}"
                            f" -> {fmt_mm(w.targets.sum_mm)})"
                        )
                elif r_t is Response.PD:
                    why.append("targets now meet RECIST 1.1 PD")
                if NON_TARGETS in cats:
                    if r_nt is Response.PD:
                        why.append("further increase of non-target disease")
                elif r_nt is Response.PD:
                    why.append("non-targets now progress")
                if NEW in cats:
                    inc_new = _new_target_sum(case, i) - iupd_new_sum
                    if inc_new >= ICPD_MIN_FURTHER_INCREASE_MM:
                        why.append(f"new-lesion target sum {fmt_signed_mm(inc_new)} since iUPD")
                    grown = _new_non_target_progressed(case, i)
                    if grown:
                        why.append(f"new non-target {', '.join(grown)} increased")
            if why:
                state = "icpd"
                confirmed_label = iupd.label
                w.overall = Response.ICPD
                late = (
                    f" (assessed {days} days after iUPD, later than 8 weeks)"
                    if days is not None and days > ICPD_CONFIRMATION_MAX_DAYS
                    else ""
                )
                w.reasons.append(
                    f"iCPD: iUPD at {iupd.label} confirmed by {'; '.join(why)}{late} "
                    "(Seymour 2017 Table 2)"
                )
                continue
            persists: list[str] = []
            if TARGETS in cats and r_t in (Response.PD, Response.NE):
                persists.append("target sum still at PD level or not evaluable")
            if NON_TARGETS in cats and r_nt is not Response.CR:
                persists.append("non-target disease still present")
            if NEW in cats and _new_lesions_gone(case, i) is not True:
                persists.append("new lesions still present or not recorded")
            if early:
                persists.append(f"only {days} days after iUPD, confirmation needs 4-8 weeks")
            if persists:
                w.overall = Response.IUPD
                w.reasons.append(
                    f"iUPD remains (iUPD at {iupd.label} not confirmed: {'; '.join(persists)})"
                )
                continue
            state = "none"
            w.reasons.append(f"iUPD at {iupd.label} not confirmed; bar reset (Seymour 2017)")
        # No pending iUPD: RECIST 1.1 progression becomes iUPD.
        cats = set()
        if r_t is Response.PD:
            cats.add(TARGETS)
        if r_nt is Response.PD:
            cats.add(NON_TARGETS)
        if new_here:
            cats.add(NEW)
        if cats:
            state = "iupd"
            iupd_index = i
            iupd_target_sum = w.targets.sum_mm if w.targets is not None else None
            iupd_new_sum = _new_target_sum(case, i)
            w.overall = Response.IUPD
            w.reasons.append(
                f"iUPD: RECIST 1.1 progression of {', '.join(sorted(cats))}, to be confirmed at "
                "the next assessment 4-8 weeks later"
            )
            continue
        assert w.overall is not None
        overall = w.overall
        if overall is Response.PD:  # only a retroactive equivocal confirmation gets here
            overall = Response.NE
        mapped = _TO_I[overall]
        if mapped is Response.ICR and _new_lesions_gone(case, i) is False:
            mapped = Response.IPR
            w.reasons.append("iPR rather than iCR: new lesions still present")
        w.overall = mapped
        w.reasons.append(f"Overall {mapped.value} (iRECIST)")
    best, best_why = best_overall_response(
        works,
        case.protocol,
        cr=Response.ICR,
        pr=Response.IPR,
        stable=(Response.ISD, Response.INON_CR_NON_UPD),
        progression=(Response.ICPD,),
        unconfirmed=Response.IUPD,
    )
    return best, best_why, confirmed_label
