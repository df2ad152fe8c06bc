"""Baseline selection rules (Eisenhauer 2009 sec. 3.1.1 measurability, sec. 4.2 selection)."""

from __future__ import annotations

from typing import Any

import pytest
from _recist_testkit import build

from namecar_viewer.core.recist import RecistInputError, evaluate, validate_baseline

FOLLOW: dict[str, Any] = {"m": {}}

# (name, citation, lesions, baseline measurements, baseline non-target status, slice thickness,
#  ids of lesions that must be reported (empty: valid))
CASES: list[tuple[str, str, list[str], dict[str, Any], dict[str, str], float | None, list[str]]] = [
    (
        "five_targets_ok",
        "sec. 4.2 max 5",
        ["T1:liver", "T2:liver", "T3:lung", "T4:lung", "T5:bone"],
        {"T1": 20, "T2": 20, "T3": 20, "T4": 20, "T5": 20},
        {},
        None,
        [],
    ),
    (
        "six_targets",
        "sec. 4.2 max 5: the sixth is named",
        ["T1:liver", "T2:liver", "T3:lung", "T4:lung", "T5:bone", "T6:brain"],
        {"T1": 20, "T2": 20, "T3": 20, "T4": 20, "T5": 20, "T6": 20},
        {},
        None,
        ["T6"],
    ),
    (
        "three_in_liver",
        "sec. 4.2 max 2 per organ",
        ["T1:liver", "T2:liver", "T3:liver"],
        {"T1": 20, "T2": 20, "T3": 20},
        {},
        None,
        ["T3"],
    ),
    # nodes in three different regions are still one organ
    (
        "three_nodes_one_organ",
        "sec. 4.2, Q&A: all lymph nodes are one organ",
        ["N1:node:mediastinum", "N2:node:axilla", "N3:node:pelvis"],
        {"N1": 20, "N2": 20, "N3": 20},
        {},
        None,
        ["N3"],
    ),
    (
        "organ_names_case_insensitive",
        "sec. 4.2",
        ["T1:Liver", "T2:liver ", "T3:LIVER"],
        {"T1": 20, "T2": 20, "T3": 20},
        {},
        None,
        ["T3"],
    ),
    ("non_nodal_9_9", "sec. 3.1.1 >= 10 mm", ["T1"], {"T1": 9.9}, {}, None, ["T1"]),
    ("non_nodal_10_0", "sec. 3.1.1 >= 10 mm", ["T1"], {"T1": 10.0}, {}, None, []),
    # slice 6 mm > 5 mm: minimum 2 x 6 = 12 mm
    (
        "thick_slice_11_9",
        "sec. 3.1.1 twice the slice thickness",
        ["T1"],
        {"T1": 11.9},
        {},
        6.0,
        ["T1"],
    ),
    ("thick_slice_12_0", "sec. 3.1.1", ["T1"], {"T1": 12.0}, {}, 6.0, []),
    # slice exactly 5 mm: the 10 mm rule applies (2 x 5 = 10 anyway)
    ("slice_5_ok", "sec. 3.1.1", ["T1"], {"T1": 10}, {}, 5.0, []),
    (
        "node_14_9",
        "sec. 3.1.1 node >= 15 mm short axis",
        ["N1:node"],
        {"N1": 14.9},
        {},
        None,
        ["N1"],
    ),
    ("node_15_0", "sec. 3.1.1", ["N1:node"], {"N1": 15.0}, {}, None, []),
    # a node's threshold does not depend on slice thickness under 7.5 mm: 15 >= 2 x 6
    ("node_thick_slice", "sec. 3.1.1", ["N1:node"], {"N1": 15}, {}, 6.0, []),
    (
        "too_small_at_baseline",
        "sec. 3.1.1 a target is measured",
        ["T1"],
        {"T1": "too_small"},
        {},
        None,
        ["T1"],
    ),
    ("target_missing_at_baseline", "sec. 4.2", ["T1", "T2:lung"], {"T1": 20}, {}, None, ["T2"]),
    ("split_at_baseline", "sec. 4.2", ["T1"], {"T1": [10, 12]}, {}, None, ["T1"]),
    (
        "non_target_present",
        "sec. 4.2 non-targets recorded present",
        ["T1", "NT1:nt"],
        {"T1": 20},
        {"NT1": "present"},
        None,
        [],
    ),
    (
        "non_target_absent",
        "sec. 4.2 non-targets recorded present",
        ["T1", "NT1:nt"],
        {"T1": 20},
        {"NT1": "absent"},
        None,
        ["NT1"],
    ),
    ("non_target_not_evaluated", "sec. 4.2", ["T1", "NT1:nt"], {"T1": 20}, {}, None, ["NT1"]),
]


@pytest.mark.parametrize(
    ("name", "citation", "lesions", "m", "nt", "slice_mm", "named"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_baseline_rules(
    name: str,
    citation: str,
    lesions: list[str],
    m: dict[str, Any],
    nt: dict[str, str],
    slice_mm: float | None,
    named: list[str],
) -> None:
    case = build(lesions, [{"m": m, "nt": nt}, FOLLOW], slice_thickness_mm=slice_mm)
    violations = validate_baseline(case)
    assert [v.lesion for v in violations] == named, citation
    for v in violations:
        assert v.timepoint == "baseline"
        assert "sec." in v.rule


def test_evaluate_refuses_invalid_baseline_naming_lesion_timepoint_rule() -> None:
    case = build(["T1:liver", "T2:liver", "T3:liver"], [{"m": {"T1": 20, "T2": 20, "T3": 9}}])
    with pytest.raises(RecistInputError) as info:
        evaluate(case)
    text = str(info.value)
    assert "lesion T3, timepoint baseline" in text
    assert "at most 2 target lesions per organ" in text
    assert "long axis 9 mm is below 10 mm" in text
    assert isinstance(info.value, ValueError)


def test_no_disease_at_baseline_is_refused() -> None:
    case = build([], [{"m": {}}, {"m": {}}])
    assert [v.rule for v in validate_baseline(case)] == ["baseline disease is required (sec. 4.1)"]


def test_new_lesions_at_baseline_are_refused() -> None:
    case = build(["T1"], [{"m": {"T1": 20}, "new": "unequivocal"}])
    assert len(validate_baseline(case)) == 1
