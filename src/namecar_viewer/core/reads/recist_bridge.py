"""A read as the RECIST engine's :class:`~namecar_viewer.core.recist.Case`, so reads are evaluated.

Mapping (RECIST 1.1, Eisenhauer 2009):

* targets give their long axis, nodal targets their short axis (sec. 4.3.2);
* target statuses: absent -> 0 mm, too small -> the engine's 5 mm, split -> its fragments'
  diameters, coalesced -> 0 on this one (the other carries the whole), not evaluable or
  nothing recorded -> not evaluated; present without a measurement -> not evaluated;
* non-target statuses go across unchanged (not evaluable -> not evaluated); a non-target
  with any measurement record there (a line, a point, an arrow) is present;
* new lesions at a follow-up: any NEW lesion recorded there (marked, or present, split, ...)
  makes the timepoint's new lesions unequivocal; an ``EQUIVOCAL`` status alone equivocal; a new
  lesion that was equivocal at an earlier follow-up and is now unequivocal confirms it
  (``new_lesion_confirms_equivocal_from``, sec. 4.3.5).

Lesion ids in the case are the lesions' labels (T1, NT1), as the engine reports them.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from namecar_viewer.core.reads.model import Assessment, LesionRole, LesionStatus, Read, ReadKind
from namecar_viewer.core.recist.model import (
    Case,
    NewLesions,
    NonTargetStatus,
    Protocol,
    TargetMeasurement,
    Timepoint,
)
from namecar_viewer.core.recist.model import Lesion as RecistLesion
from namecar_viewer.core.recist.model import LesionKind as RecistKind

# Diameters go to the engine as exact decimals of the displayed precision (0.1 mm), so a reader
# who sees "30.0" gets exactly what the engine compares (RECIST decisions use exact values).
DIAMETER_DECIMALS = 1

_NON_TARGET: dict[LesionStatus, NonTargetStatus] = {
    LesionStatus.PRESENT: NonTargetStatus.PRESENT,
    LesionStatus.ABSENT: NonTargetStatus.ABSENT,
    LesionStatus.UNEQUIVOCAL_PROGRESSION: NonTargetStatus.UNEQUIVOCAL_PROGRESSION,
    LesionStatus.NOT_EVALUABLE: NonTargetStatus.NOT_EVALUATED,
    LesionStatus.TOO_SMALL: NonTargetStatus.PRESENT,
    LesionStatus.SPLIT: NonTargetStatus.PRESENT,
    LesionStatus.COALESCED: NonTargetStatus.PRESENT,
    LesionStatus.EQUIVOCAL: NonTargetStatus.PRESENT,
}


def diameter_fraction(mm: float) -> Fraction:
    """A diameter rounded to the displayed 0.1 mm, as an exact fraction."""
    return Fraction(Decimal(f"{mm:.{DIAMETER_DECIMALS}f}"))


def _diameter(a: Assessment, mm: float | None) -> Fraction | None:
    return None if mm is None else diameter_fraction(mm)


def target_measurement(a: Assessment) -> TargetMeasurement:
    """The engine's value for one target at one timepoint."""
    st = a.status
    if st is LesionStatus.SPLIT:
        frags = []
        for m in a.measurements:
            v = m.short_axis_mm if a.lesion.nodal and m.short_axis_mm is not None else m.length_mm
            if v is not None:
                frags.append(diameter_fraction(v))
        return TargetMeasurement.split(*frags) if frags else TargetMeasurement.not_evaluated()
    if st is LesionStatus.ABSENT:
        return TargetMeasurement.measured(0)
    if st is LesionStatus.TOO_SMALL:
        return TargetMeasurement.too_small()
    if st is LesionStatus.COALESCED:
        return TargetMeasurement.coalesced()
    if st is LesionStatus.NOT_EVALUABLE:
        return TargetMeasurement.not_evaluated()
    d = _diameter(a, a.recist_diameter_mm)
    if d is None:
        return TargetMeasurement.not_evaluated()
    return TargetMeasurement.measured(d)


def _new_lesion_state(a: Assessment) -> NewLesions:
    if a.status is LesionStatus.EQUIVOCAL and not a.measurements:
        return NewLesions.EQUIVOCAL
    if a.measurements or a.status in (
        LesionStatus.PRESENT,
        LesionStatus.UNEQUIVOCAL_PROGRESSION,
        LesionStatus.TOO_SMALL,
        LesionStatus.SPLIT,
        LesionStatus.COALESCED,
    ):
        return NewLesions.UNEQUIVOCAL
    return NewLesions.NONE


def read_to_recist_case(read: Read, protocol: Protocol | None = None) -> Case:
    """The engine's case for ``read``: baseline first, then the timepoints by date.

    Raises ``ValueError`` for a read that is not a RECIST read: the ancillary MRI-PET record
    never feeds a RECIST sum.
    """
    if read.kind is not ReadKind.RECIST:
        raise ValueError(
            f"Read {read.uid} is the {read.kind.value} record, not a RECIST read: it has no "
            "RECIST response."
        )
    tps = list(read.ordered_timepoints())
    base = read.baseline()
    if base is not None and tps and tps[0].uid != base.uid:
        tps.remove(base)
        tps.insert(0, base)
    lesions = []
    for les in read.lesions:
        if les.role is LesionRole.NEW:
            continue
        kind = RecistKind.TARGET if les.role is LesionRole.TARGET else RecistKind.NON_TARGET
        lesions.append(
            RecistLesion(
                id=les.label,
                kind=kind,
                organ=les.site.value,
                is_lymph_node=les.nodal,
                is_primary_renal=les.is_primary_renal,
            )
        )
    new_lesions = [les for les in read.lesions if les.role is LesionRole.NEW]
    first_equivocal: dict[str, str] = {}
    timepoints = []
    for n, tp in enumerate(tps):
        targets: dict[str, TargetMeasurement] = {}
        non_targets: dict[str, NonTargetStatus] = {}
        for les in read.lesions:
            a = read.assessment(les.uid, tp.uid)
            if les.role is LesionRole.TARGET:
                targets[les.label] = target_measurement(a)
            elif les.role is LesionRole.NON_TARGET:
                if a.status is not None:
                    non_targets[les.label] = _NON_TARGET[a.status]
                elif a.measurements:
                    # any mark on it (a line, or the point or arrow a non-target is shown by)
                    non_targets[les.label] = NonTargetStatus.PRESENT
        state = NewLesions.NONE
        confirms: str | None = None
        if n > 0:
            for les in new_lesions:
                s = _new_lesion_state(read.assessment(les.uid, tp.uid))
                if s is NewLesions.EQUIVOCAL:
                    first_equivocal.setdefault(les.uid, tp.label)
                    if state is NewLesions.NONE:
                        state = NewLesions.EQUIVOCAL
                elif s is NewLesions.UNEQUIVOCAL:
                    state = NewLesions.UNEQUIVOCAL
                    if les.uid in first_equivocal and confirms is None:
                        confirms = first_equivocal[les.uid]
        timepoints.append(
            Timepoint(
                label=tp.label,
                date=tp.date,
                target_measurements=targets,
                non_target_status=non_targets,
                new_lesions=state,
                new_lesion_confirms_equivocal_from=confirms,
            )
        )
    thickness = None
    if base is not None and base.slice_thickness_mm is not None:
        thickness = Fraction(Decimal(str(base.slice_thickness_mm)))
    return Case(
        lesions=tuple(lesions),
        timepoints=tuple(timepoints),
        protocol=protocol or Protocol(),
        slice_thickness_mm=thickness,
    )
