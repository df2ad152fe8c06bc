"""The case JSON of issue 5 (also what a read exports) to and from the engine's types.

Numbers may arrive as ``Decimal`` (``json.load(f, parse_float=Decimal)``, exact), int, float
(converted through their shortest repr) or decimal strings. Results are written with percentages
rounded to one decimal for display; the decisions were taken on the exact values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from namecar_viewer.core.recist.model import (
    Case,
    CaseResult,
    Lesion,
    LesionKind,
    MeasurementKind,
    NewLesions,
    NonTargetStatus,
    Protocol,
    RecistInputError,
    RuleViolation,
    TargetMeasurement,
    Timepoint,
    to_fraction,
)
from namecar_viewer.core.recist.sums import round_half_away

_RULE = "case JSON format (issue 5)"


def _fail(
    message: str, lesion: str | None = None, timepoint: str | None = None
) -> RecistInputError:
    return RecistInputError(RuleViolation(_RULE, message, lesion, timepoint))


def _number(value: object, lesion: str | None, timepoint: str | None) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _fail(f"expected a number in mm, got {value!r}", lesion, timepoint)
    try:
        result = to_fraction(value)
    except (ValueError, ArithmeticError) as exc:
        raise _fail(f"expected a number in mm, got {value!r}", lesion, timepoint) from exc
    if result < 0:
        raise _fail(f"a diameter cannot be negative ({value})", lesion, timepoint)
    return result


def _measurement(value: object, lesion: str, timepoint: str) -> TargetMeasurement:
    if value is None or value == "not_evaluated":
        return TargetMeasurement.not_evaluated()
    if value == "too_small":
        return TargetMeasurement.too_small()
    if value == "coalesced":
        return TargetMeasurement.coalesced()
    if isinstance(value, list):
        if not value:
            raise _fail("a split lesion needs at least one fragment", lesion, timepoint)
        return TargetMeasurement(
            MeasurementKind.SPLIT, tuple(_number(v, lesion, timepoint) for v in value)
        )
    if isinstance(value, str):
        raise _fail(
            f"unknown measurement {value!r} (number, list, null, 'too_small', 'coalesced' or "
            "'not_evaluated')",
            lesion,
            timepoint,
        )
    return TargetMeasurement(MeasurementKind.MEASURED, (_number(value, lesion, timepoint),))


def _enum(enum_type: Any, value: object, what: str, lesion: str | None, tp: str | None) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_type)
        raise _fail(f"{what} {value!r} is not one of {allowed}", lesion, tp) from None


def _date(value: object, label: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"date must be 'YYYY-MM-DD', got {value!r}", None, label)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"date must be 'YYYY-MM-DD', got {value!r}", None, label) from None


def _bool(raw: Mapping[str, Any], key: str, default: bool, lesion: str | None = None) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{key} must be true or false, got {value!r}", lesion)
    return value


def _int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(f"protocol {key} must be a whole number of days, got {value!r}")
    return value


def _object(value: object, what: str, timepoint: str | None = None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(f"{what} must be a JSON object", None, timepoint)
    return value


def case_from_json(data: Mapping[str, Any]) -> Case:
    """Build a :class:`Case` from the issue-5 JSON; malformed input raises RecistInputError."""
    if not isinstance(data, Mapping):
        raise _fail("the case must be a JSON object")
    lesions = []
    raw_lesions = data.get("lesions", [])
    raw_timepoints = data.get("timepoints", [])
    if not isinstance(raw_lesions, list) or not isinstance(raw_timepoints, list):
        raise _fail("'lesions' and 'timepoints' must be JSON arrays")
    for raw in raw_lesions:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise _fail(f"each lesion needs a string 'id', got {raw!r}")
        lid = raw["id"]
        kind = _enum(LesionKind, raw.get("kind"), "kind", lid, None)
        organ = raw.get("organ", "")
        if not isinstance(organ, str):
            raise _fail("organ must be a string", lid)
        lesions.append(
            Lesion(
                id=lid,
                kind=kind,
                organ=organ,
                is_lymph_node=_bool(raw, "is_lymph_node", False, lid),
                is_primary_renal=_bool(raw, "is_primary_renal", False, lid),
            )
        )
    imaging = _object(data.get("imaging"), "imaging")
    st_raw = imaging.get("slice_thickness_mm")
    slice_thickness = None if st_raw is None else _number(st_raw, None, None)
    proto_raw = _object(data.get("protocol"), "protocol")
    defaults = Protocol()
    protocol = Protocol(
        confirmation_required=_bool(
            proto_raw, "confirmation_required", defaults.confirmation_required
        ),
        min_confirmation_interval_days=_int(
            proto_raw, "min_confirmation_interval_days", defaults.min_confirmation_interval_days
        ),
        min_sd_duration_days=_int(proto_raw, "min_sd_duration_days", defaults.min_sd_duration_days),
    )
    timepoints = []
    for n, raw in enumerate(raw_timepoints):
        if not isinstance(raw, Mapping):
            raise _fail(f"timepoint {n + 1} must be an object")
        label = raw.get("label", f"TP{n}")
        if not isinstance(label, str):
            raise _fail(f"timepoint {n + 1} label must be a string")
        meas_raw = _object(raw.get("target_measurements_mm"), "target_measurements_mm", label)
        nt_raw = _object(raw.get("non_target_status"), "non_target_status", label)
        new_raw = raw.get("new_lesions", "none")
        confirms = raw.get("new_lesion_confirms_equivocal_from")
        if confirms is not None and not isinstance(confirms, str):
            raise _fail("new_lesion_confirms_equivocal_from must be a timepoint label", None, label)
        timepoints.append(
            Timepoint(
                label=label,
                date=_date(raw.get("date"), label),
                target_measurements={
                    str(k): _measurement(v, str(k), label) for k, v in meas_raw.items()
                },
                non_target_status={
                    str(k): _enum(NonTargetStatus, v, "non-target status", str(k), label)
                    for k, v in nt_raw.items()
                },
                new_lesions=_enum(NewLesions, new_raw, "new_lesions", None, label),
                new_lesion_confirms_equivocal_from=confirms,
            )
        )
    return Case(tuple(lesions), tuple(timepoints), protocol, slice_thickness)


def _json_number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _measurement_json(m: TargetMeasurement) -> object:
    if m.kind is MeasurementKind.MEASURED:
        return _json_number(m.fragments_mm[0])
    if m.kind is MeasurementKind.SPLIT:
        return [_json_number(f) for f in m.fragments_mm]
    return m.kind.value


def case_to_json(case: Case) -> dict[str, Any]:
    """The issue-5 case JSON of a case (what a read exports for a patient)."""
    out: dict[str, Any] = {
        "lesions": [
            {
                "id": les.id,
                "kind": les.kind.value,
                "organ": les.organ,
                "is_lymph_node": les.is_lymph_node,
                "is_primary_renal": les.is_primary_renal,
            }
            for les in case.lesions
        ],
        "protocol": {
            "confirmation_required": case.protocol.confirmation_required,
            "min_confirmation_interval_days": case.protocol.min_confirmation_interval_days,
            "min_sd_duration_days": case.protocol.min_sd_duration_days,
        },
        "timepoints": [],
    }
    if case.slice_thickness_mm is not None:
        out["imaging"] = {"slice_thickness_mm": _json_number(case.slice_thickness_mm)}
    for tp in case.timepoints:
        row: dict[str, Any] = {
            "label": tp.label,
            "date": tp.date.isoformat() if tp.date else None,
            "target_measurements_mm": {
                k: _measurement_json(v) for k, v in tp.target_measurements.items()
            },
            "non_target_status": {k: v.value for k, v in tp.non_target_status.items()},
            "new_lesions": tp.new_lesions.value,
        }
        if tp.new_lesion_confirms_equivocal_from is not None:
            row["new_lesion_confirms_equivocal_from"] = tp.new_lesion_confirms_equivocal_from
        out["timepoints"].append(row)
    return out


def _pct(value: Fraction | None) -> float | None:
    return None if value is None else float(round_half_away(value, 1))


def _mm(value: Fraction | None) -> float | None:
    return None if value is None else float(round_half_away(value, 2))


def result_to_json(result: CaseResult) -> dict[str, Any]:
    """Result JSON of issue 5; percentages rounded to one decimal for display only."""
    return {
        "criteria": result.criteria.value,
        "timepoints": [
            {
                "label": t.label,
                "date": t.date.isoformat() if t.date else None,
                "sum_mm": _mm(t.sum_mm),
                "targets_not_evaluated": list(t.targets_not_evaluated),
                "pct_change_from_baseline": _pct(t.pct_change_from_baseline),
                "pct_change_from_nadir": _pct(t.pct_change_from_nadir),
                "nadir_mm": _mm(t.nadir_mm),
                "target_response": t.target_response.value if t.target_response else None,
                "non_target_response": (
                    t.non_target_response.value if t.non_target_response else None
                ),
                "new_lesions": t.new_lesions.value,
                "overall_response": t.overall_response.value if t.overall_response else None,
                "metastatic_sum_mm": _mm(t.metastatic_sum_mm),
                "metastatic_pct_change_from_baseline": _pct(t.metastatic_pct_change_from_baseline),
                "eligible_cr_or_mpr": t.eligible_cr_or_mpr,
                "reasons": list(t.reasons),
            }
            for t in result.timepoints
        ],
        "best_overall_response": result.best_overall_response.value,
        "best_overall_reason": result.best_overall_reason,
        "first_pd_label": result.first_pd_label,
        "first_pd_date": result.first_pd_date.isoformat() if result.first_pd_date else None,
    }
