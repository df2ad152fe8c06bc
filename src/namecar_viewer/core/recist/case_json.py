"""The case JSON of issue 5 (also what a read exports) to and from the engine's types.

Numbers may arrive as ``Decimal`` (``json.load(f, parse_float=Decimal)``, exact), int, float
(converted through their shortest repr) or decimal strings. Results are written with percentages
rounded to one decimal for display; the decisions were taken on the exact values.

A case *file* goes through :func:`read_case_file` (or :func:`parse_case_bytes`): size, encoding,
nesting depth and the range and length of every number are checked before any arithmetic (a
number such as ``1e99999999`` would otherwise take hours to make exact), then the document is
checked against ``case.schema.json`` (:mod:`.case_schema`); every problem is a message naming
the key.  :func:`case_from_json` and the engine's own validation then apply the clinical rules.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
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

# Bounds of a case file, checked before anything else.
MAX_CASE_BYTES = 2 * 1024 * 1024  # a case is a few kB; an exported read with its result ~50 kB
MAX_DEPTH = 32  # a case nests 5 levels deep (timepoints[].target_measurements_mm.T1[])
MAX_NUMBER_CHARS = 40  # characters of one number as written
MAX_ABS_EXPONENT = 15  # numbers are 0 or 1e-15 <= |x| < 1e15 before the schema's own ranges
# What a diameter, a slice thickness or a number of days may be (the schema says the same).
MAX_MM = 10000
MAX_DAYS = 36500


class CaseFileError(ValueError):
    """A case file that cannot be read: every message names the key (or the byte) at fault."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


_RANGE = f"out of range (0, or 1e-{MAX_ABS_EXPONENT} to 1e{MAX_ABS_EXPONENT} in absolute value)"


class _BadNumber:
    """Stands for a number the parser refused, so the walk can name its key."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text if len(text) <= 30 else f"{text[:12]}...{text[-6:]} ({len(text)} chars)"
        self.why = why


def _parse_float(text: str) -> Decimal | _BadNumber:
    if len(text) > MAX_NUMBER_CHARS:
        return _BadNumber(text, f"more than {MAX_NUMBER_CHARS} characters")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the JSON grammar already checked it
        return _BadNumber(text, "not a number")
    if value and not -MAX_ABS_EXPONENT <= value.adjusted() < MAX_ABS_EXPONENT:
        return _BadNumber(text, _RANGE)
    return value


def _parse_int(text: str) -> int | _BadNumber:
    digits = text.lstrip("-")
    if len(digits) > MAX_ABS_EXPONENT:
        return _BadNumber(text, f"out of range (more than {MAX_ABS_EXPONENT} digits)")
    return int(text)


def _parse_constant(text: str) -> _BadNumber:
    return _BadNumber(text, "not a number JSON allows (NaN and Infinity are not JSON)")


def _decode(raw: bytes) -> str:
    """UTF-8 text (a UTF-8 byte order mark is allowed); other encodings are named."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if raw.startswith(bom):
            raise ValueError(
                f"the file is {name} text (byte order mark {bom.hex(' ').upper()}); "
                "a case file is UTF-8: save it as UTF-8"
            )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    head = raw[:64]
    if len(head) >= 2 and head.count(0) * 4 >= len(head):
        raise ValueError(
            "the file looks like UTF-16 or UTF-32 text (NUL bytes between the characters); "
            "a case file is UTF-8: save it as UTF-8"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1].hex().upper()
        raise ValueError(
            f"not UTF-8 text: byte 0x{bad} at offset {exc.start} (line {line}) {exc.reason}; "
            "a case file is UTF-8: save it as UTF-8"
        ) from None


def _walk_problems(document: Any) -> list[str]:
    """Refused numbers and excessive nesting, each with its key (no recursion)."""
    from namecar_viewer.core.recist.case_schema import json_path, where

    problems: list[str] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _BadNumber):
            problems.append(f"{where(document, path)}: number {value.text} refused: {value.why}")
            continue
        if len(path) >= MAX_DEPTH and isinstance(value, dict | list):
            problems.append(f"{json_path(path[:MAX_DEPTH])}: nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(value, dict):
            stack.extend((v, (*path, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(value))))
    return problems


def parse_case_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """The case document of a file's bytes, checked against the schema.

    Raises :class:`CaseFileError` naming ``source`` and each problem: not UTF-8, not JSON,
    nested too deep, a number out of range (or NaN/Infinity), a key of the wrong type or value.
    Time and memory are bounded by the size limit: no number is converted before its length
    and exponent are checked.
    """
    if len(raw) > MAX_CASE_BYTES:
        raise CaseFileError(
            source, [f"{len(raw)} bytes: a case file is at most {MAX_CASE_BYTES} bytes"]
        )
    try:
        text = _decode(raw)
    except ValueError as exc:
        raise CaseFileError(source, [str(exc)]) from None
    try:
        document = json.loads(
            text,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise CaseFileError(source, [f"not valid JSON: {exc}"]) from None
    except RecursionError:
        deep = f"not a case: nested deeper than {MAX_DEPTH} levels"
        raise CaseFileError(source, [deep]) from None
    problems = _walk_problems(document)
    if not problems:
        from namecar_viewer.core.recist.case_schema import schema_problems

        problems = schema_problems(document)
    if problems:
        raise CaseFileError(source, problems)
    assert isinstance(document, dict)  # the schema's "type": "object"
    return document


def read_case_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a case file (see :func:`parse_case_bytes`); OSError names the reason."""
    source = os.fspath(path)
    too_big = f"a case file is at most {MAX_CASE_BYTES} bytes"
    try:
        with open(source, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_CASE_BYTES:
                raise CaseFileError(source, [f"{size} bytes: {too_big}"])
            # a pipe or a device has no size: read it 1 MiB at a time, to the limit only
            chunks: list[bytes] = []
            total = 0
            while chunk := fh.read(min(1 << 20, MAX_CASE_BYTES + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > MAX_CASE_BYTES:
                    raise CaseFileError(source, [f"more than {MAX_CASE_BYTES} bytes: {too_big}"])
    except OSError as exc:
        raise CaseFileError(source, [f"cannot read it: {exc.strerror or exc}"]) from None
    return parse_case_bytes(b"".join(chunks), source)


def _fail(
    message: str, lesion: str | None = None, timepoint: str | None = None
) -> RecistInputError:
    return RecistInputError(RuleViolation(_RULE, message, lesion, timepoint))


def _bounded(value: int | float | Decimal | str) -> bool:
    """Whether a number is finite and small enough to be made exact quickly (0 <= |x| <= 1e15)."""
    if isinstance(value, int):
        return value.bit_length() <= 50
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= 10**MAX_ABS_EXPONENT
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            return False
        try:
            value = Decimal(value)
        except InvalidOperation:
            return True  # not a number at all: to_fraction says so
    if not value.is_finite():
        return False
    return not value or -MAX_ABS_EXPONENT <= value.adjusted() < MAX_ABS_EXPONENT


def _number(value: object, lesion: str | None, timepoint: str | None) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _fail(f"expected a number in mm, got {value!r}", lesion, timepoint)
    if not _bounded(value):
        raise _fail(
            f"expected a number in mm from 0 to {MAX_MM}, got {str(value)[:40]}", lesion, timepoint
        )
    try:
        result = to_fraction(value)
    except (ValueError, ArithmeticError) as exc:
        raise _fail(f"expected a number in mm, got {value!r}", lesion, timepoint) from exc
    if result < 0:
        raise _fail(f"a diameter cannot be negative ({value})", lesion, timepoint)
    if result > MAX_MM:
        raise _fail(f"a diameter of {value} mm is above the maximum {MAX_MM} mm", lesion, timepoint)
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
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise _fail(
            f"protocol {key} must be a whole number of days from 0 to {MAX_DAYS}, got {value!r}"
        )
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
