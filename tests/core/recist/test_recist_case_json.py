"""Parsing and writing the case JSON of issue 5 (reads and cases are interchangeable)."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from namecar_viewer.core.recist import (
    MeasurementKind,
    NewLesions,
    NonTargetStatus,
    RecistInputError,
    case_from_json,
    case_to_json,
    evaluate,
    result_to_json,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "recist_cases"


def test_measurement_forms() -> None:
    case = case_from_json(
        {
            "lesions": [{"id": t, "kind": "target", "organ": t} for t in "ABCDEF"],
            "timepoints": [
                {
                    "label": "b",
                    "date": "2024-01-08",
                    "target_measurements_mm": {
                        "A": 23.0,
                        "B": "too_small",
                        "C": "not_evaluated",
                        "D": [12.0, 8.0],
                        "E": "coalesced",
                        "F": 0,
                    },
                },
                {
                    "label": "f",
                    "date": "2024-03-04",
                    "target_measurements_mm": {"A": None},
                    "non_target_status": {},
                    "new_lesions": "equivocal",
                },
            ],
        }
    )
    m = case.timepoints[0].target_measurements
    assert (m["A"].kind, m["A"].fragments_mm) == (MeasurementKind.MEASURED, (Fraction(23),))
    assert m["B"].kind is MeasurementKind.TOO_SMALL
    assert m["C"].kind is MeasurementKind.NOT_EVALUATED
    assert m["D"].fragments_mm == (Fraction(12), Fraction(8))
    assert m["E"].kind is MeasurementKind.COALESCED
    assert m["F"].fragments_mm == (Fraction(0),)
    assert case.timepoints[1].target_measurements["A"].kind is MeasurementKind.NOT_EVALUATED
    assert case.timepoints[1].new_lesions is NewLesions.EQUIVOCAL


def test_floats_are_read_through_their_decimal_repr() -> None:
    case = case_from_json(
        {
            "lesions": [{"id": "T1", "kind": "target", "organ": "liver"}],
            "timepoints": [{"label": "b", "target_measurements_mm": {"T1": 16.1}}],
        }
    )
    # Fraction(16.1) would be 4531442445104333/281474976710656; the reader typed 16.1
    assert case.timepoints[0].target_measurements["T1"].fragments_mm == (Fraction(161, 10),)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.json")))
def test_round_trip_of_example_cases(name: str) -> None:
    data = json.loads((DATA / name).read_text(encoding="utf-8"), parse_float=Decimal)
    case = case_from_json(data)
    again = case_from_json(json.loads(json.dumps(case_to_json(case)), parse_float=Decimal))
    assert again == case


def test_result_json_rounds_for_display_only() -> None:
    case = case_from_json(
        {
            "lesions": [{"id": "T1", "kind": "target", "organ": "liver"}],
            "timepoints": [
                {"label": "b", "date": "2024-01-08", "target_measurements_mm": {"T1": 33.3}},
                {"label": "f", "date": "2024-03-04", "target_measurements_mm": {"T1": 23.3}},
            ],
        }
    )
    result = evaluate(case)
    # (23.3 - 33.3) / 33.3 = -10 / 33.3 = -30.03% -> displayed -30.0, exact value kept
    assert result.timepoints[1].pct_change_from_baseline == Fraction(-10000, 333)
    assert result_to_json(result)["timepoints"][1]["pct_change_from_baseline"] == -30.0


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (
            {
                "lesions": [{"id": "X", "kind": "target", "organ": "liver"}],
                "timepoints": [{"label": "b", "target_measurements_mm": {"X": -1}}],
            },
            "lesion X, timepoint b: a diameter cannot be negative",
        ),
        (
            {
                "lesions": [{"id": "X", "kind": "non_target", "organ": "liver"}],
                "timepoints": [{"label": "b", "non_target_status": {"X": "bigger"}}],
            },
            "lesion X, timepoint b: non-target status 'bigger'",
        ),
        (
            {"lesions": [], "timepoints": [{"label": "b", "date": "08/01/2024"}]},
            "timepoint b: date must be 'YYYY-MM-DD'",
        ),
        (
            {
                "lesions": [{"id": "X", "kind": "target", "organ": "liver"}],
                "timepoints": [{"label": "b", "target_measurements_mm": {"X": []}}],
            },
            "split lesion needs at least one fragment",
        ),
        ({"lesions": [{"kind": "target"}], "timepoints": []}, "each lesion needs a string 'id'"),
        (
            {
                "lesions": [{"id": "N", "kind": "target", "organ": "x", "is_lymph_node": "false"}],
                "timepoints": [],
            },
            "lesion N: is_lymph_node must be true or false",
        ),
        (
            {"lesions": [], "timepoints": [], "protocol": {"min_sd_duration_days": "six weeks"}},
            "min_sd_duration_days must be a whole number of days",
        ),
        ({"lesions": [], "timepoints": {}}, "must be JSON arrays"),
        (
            {"lesions": [], "timepoints": [{"label": "b", "target_measurements_mm": [1]}]},
            "timepoint b: target_measurements_mm must be a JSON object",
        ),
    ],
)
def test_malformed_json_names_lesion_and_timepoint(data: dict[str, object], needle: str) -> None:
    with pytest.raises(RecistInputError, match=needle.replace("(", r"\(")) as info:
        case_from_json(data)
    assert isinstance(info.value, ValueError)


def test_non_target_status_enum() -> None:
    case = case_from_json(
        {
            "lesions": [{"id": "N", "kind": "non_target", "organ": "bone"}],
            "timepoints": [{"label": "b", "non_target_status": {"N": "unequivocal_progression"}}],
        }
    )
    assert case.timepoints[0].non_target_status["N"] is NonTargetStatus.UNEQUIVOCAL_PROGRESSION
