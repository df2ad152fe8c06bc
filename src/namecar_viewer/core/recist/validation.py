"""Checks that a case can be evaluated; every violation names the lesion, timepoint and rule."""

from __future__ import annotations

from collections import Counter

from namecar_viewer.core.recist.constants import (
    LYMPH_NODE_ORGAN,
    MAX_NEW_LESION_TARGETS,
    MAX_NEW_LESION_TARGETS_PER_ORGAN,
    MAX_TARGETS,
    MAX_TARGETS_PER_ORGAN,
    MIN_MEASURABLE_LONG_AXIS_MM,
    MIN_MEASURABLE_NODE_SHORT_AXIS_MM,
    SLICE_THICKNESS_FACTOR,
    THIN_SLICE_LIMIT_MM,
)
from namecar_viewer.core.recist.model import (
    Case,
    Lesion,
    LesionKind,
    MeasurementKind,
    NewLesions,
    NonTargetStatus,
    RuleViolation,
)
from namecar_viewer.core.recist.sums import fmt_mm, lesion_value_mm, measurement_of


def organ_key(lesion: Lesion) -> str:
    """Organ for the 2-per-organ rule: all lymph nodes are one organ (RECIST 1.1 sec. 4.2)."""
    return LYMPH_NODE_ORGAN if lesion.is_lymph_node else lesion.organ.strip().lower()


def _measurability(
    case: Case, lesion: Lesion, timepoint: str, rule_prefix: str
) -> list[RuleViolation]:
    """Whether a target is measurable at the timepoint that selected it (RECIST 1.1 sec. 3.1.1)."""
    tp = next(t for t in case.timepoints if t.label == timepoint)
    m = measurement_of(tp, lesion.id)
    if m.kind is not MeasurementKind.MEASURED:
        return [
            RuleViolation(
                f"{rule_prefix}: a target must be measured when selected (sec. 3.1.1, 4.2)",
                f"target recorded as {m.kind.value}, a single diameter in mm is required",
                lesion.id,
                timepoint,
            )
        ]
    value = lesion_value_mm(m)
    assert value is not None
    if lesion.is_lymph_node:
        if value < MIN_MEASURABLE_NODE_SHORT_AXIS_MM:
            return [
                RuleViolation(
                    f"{rule_prefix}: nodal target needs short axis >= 15 mm (sec. 3.1.1)",
                    f"nodal target short axis {fmt_mm(value)} is below 15 mm",
                    lesion.id,
                    timepoint,
                )
            ]
        return []
    minimum = MIN_MEASURABLE_LONG_AXIS_MM
    why = "10 mm"
    st = case.slice_thickness_mm
    if st is not None and st > THIN_SLICE_LIMIT_MM and SLICE_THICKNESS_FACTOR * st > minimum:
        minimum = SLICE_THICKNESS_FACTOR * st
        why = f"twice the slice thickness of {fmt_mm(st)}"
    if value < minimum:
        return [
            RuleViolation(
                f"{rule_prefix}: non-nodal target needs long axis >= 10 mm and >= twice a slice "
                "thickness over 5 mm (sec. 3.1.1)",
                f"long axis {fmt_mm(value)} is below {fmt_mm(minimum)} ({why})",
                lesion.id,
                timepoint,
            )
        ]
    return []


def validate_baseline(case: Case) -> list[RuleViolation]:
    """Baseline selection rules of RECIST 1.1 sec. 3.1.1 and 4.2; empty when valid."""
    out: list[RuleViolation] = []
    if not case.timepoints:
        return [RuleViolation("a case needs a baseline timepoint", "no timepoints")]
    base = case.timepoints[0]
    targets = [les for les in case.lesions if les.kind is LesionKind.TARGET]
    non_targets = [les for les in case.lesions if les.kind is LesionKind.NON_TARGET]
    if not targets and not non_targets:
        out.append(
            RuleViolation(
                "baseline disease is required (sec. 4.1)",
                "no target or non-target lesion recorded",
                None,
                base.label,
            )
        )
    for i, les in enumerate(targets):
        if i >= MAX_TARGETS:
            out.append(
                RuleViolation(
                    "at most 5 target lesions in total (sec. 4.2)",
                    f"target number {i + 1} exceeds the maximum of 5",
                    les.id,
                    base.label,
                )
            )
    per_organ: Counter[str] = Counter()
    for les in targets:
        key = organ_key(les)
        per_organ[key] += 1
        if per_organ[key] > MAX_TARGETS_PER_ORGAN:
            out.append(
                RuleViolation(
                    "at most 2 target lesions per organ, all lymph nodes one organ (sec. 4.2)",
                    f"third or later target in organ '{key}'",
                    les.id,
                    base.label,
                )
            )
    for les in targets:
        out.extend(_measurability(case, les, base.label, "baseline"))
    for les in non_targets:
        status = base.non_target_status.get(les.id, NonTargetStatus.NOT_EVALUATED)
        if status is not NonTargetStatus.PRESENT:
            out.append(
                RuleViolation(
                    "non-target lesions are recorded as present at baseline (sec. 4.2)",
                    f"non-target is '{status.value}' at baseline",
                    les.id,
                    base.label,
                )
            )
    if base.new_lesions is not NewLesions.NONE:
        out.append(
            RuleViolation(
                "new lesions are judged against the baseline (sec. 4.3.5)",
                "baseline cannot have new lesions",
                None,
                base.label,
            )
        )
    return out


def validate_case(case: Case) -> list[RuleViolation]:
    """Baseline rules plus the structure of the follow-ups (ids, dates, equivocal confirmations)."""
    out = validate_baseline(case)
    ids = Counter(les.id for les in case.lesions)
    for lid, n in ids.items():
        if n > 1:
            out.append(RuleViolation("lesion ids are unique", f"declared {n} times", lid))
    labels = Counter(tp.label for tp in case.timepoints)
    for label, n in labels.items():
        if n > 1:
            out.append(RuleViolation("timepoint labels are unique", f"used {n} times", None, label))
    by_id = {les.id: les for les in case.lesions}
    measured_kinds = {LesionKind.TARGET, LesionKind.NEW_TARGET}
    status_kinds = {LesionKind.NON_TARGET, LesionKind.NEW_NON_TARGET}
    previous_date = None
    for index, tp in enumerate(case.timepoints):
        for lid in tp.target_measurements:
            les = by_id.get(lid)
            if les is None or les.kind not in measured_kinds:
                out.append(
                    RuleViolation(
                        "measurements are given for declared target lesions only",
                        "not a declared target" if les is None else f"lesion is {les.kind.value}",
                        lid,
                        tp.label,
                    )
                )
        for lid in tp.non_target_status:
            les = by_id.get(lid)
            if les is None or les.kind not in status_kinds:
                out.append(
                    RuleViolation(
                        "statuses are given for declared non-target lesions only",
                        "not a declared non-target"
                        if les is None
                        else f"lesion is {les.kind.value}",
                        lid,
                        tp.label,
                    )
                )
        if tp.date is None:
            out.append(
                RuleViolation(
                    "every timepoint needs a date (sec. 4.4.3, 4.6)",
                    "date missing",
                    None,
                    tp.label,
                )
            )
        elif previous_date is not None and tp.date < previous_date:
            out.append(
                RuleViolation(
                    "timepoints are in date order, baseline first",
                    f"date {tp.date.isoformat()} is before the previous timepoint",
                    None,
                    tp.label,
                )
            )
        if tp.date is not None:
            previous_date = tp.date
        src = tp.new_lesion_confirms_equivocal_from
        if src is not None:
            earlier = {t.label: t for t in case.timepoints[1:index]}
            origin = earlier.get(src)
            if origin is None or origin.new_lesions is not NewLesions.EQUIVOCAL:
                out.append(
                    RuleViolation(
                        "a confirmed new lesion refers to an earlier follow-up where it was "
                        "equivocal (sec. 4.3.5)",
                        f"'{src}' is not an earlier follow-up with an equivocal new lesion",
                        None,
                        tp.label,
                    )
                )
            if tp.new_lesions is not NewLesions.UNEQUIVOCAL:
                out.append(
                    RuleViolation(
                        "confirmation of an equivocal new lesion needs an unequivocal new "
                        "lesion (sec. 4.3.5)",
                        f"new_lesions is '{tp.new_lesions.value}'",
                        None,
                        tp.label,
                    )
                )
    out.extend(_validate_new_lesion_targets(case))
    return out


def _validate_new_lesion_targets(case: Case) -> list[RuleViolation]:
    """iRECIST new-lesion targets: measurable when first seen, <= 5 and <= 2 per organ."""
    out: list[RuleViolation] = []
    new_targets = [les for les in case.lesions if les.kind is LesionKind.NEW_TARGET]
    base = case.timepoints[0] if case.timepoints else None
    per_organ: Counter[str] = Counter()
    for i, les in enumerate(new_targets):
        if i >= MAX_NEW_LESION_TARGETS:
            out.append(
                RuleViolation(
                    "at most 5 new-lesion targets (Seymour 2017)",
                    f"new-lesion target number {i + 1} exceeds 5",
                    les.id,
                )
            )
        per_organ[organ_key(les)] += 1
        if per_organ[organ_key(les)] > MAX_NEW_LESION_TARGETS_PER_ORGAN:
            out.append(
                RuleViolation(
                    "at most 2 new-lesion targets per organ (Seymour 2017)",
                    f"third or later new-lesion target in organ '{organ_key(les)}'",
                    les.id,
                )
            )
        if base is not None and les.id in base.target_measurements:
            out.append(
                RuleViolation(
                    "a new lesion cannot be present at baseline (sec. 4.3.5)",
                    "new-lesion target measured at baseline",
                    les.id,
                    base.label,
                )
            )
        first = next(
            (
                tp
                for tp in case.timepoints[1:]
                if lesion_value_mm(measurement_of(tp, les.id)) is not None
            ),
            None,
        )
        if first is not None:
            out.extend(_measurability(case, les, first.label, "new-lesion target when first seen"))
    return out
