"""Hanging protocols pick the series a NAMECAR reader expects on the demo patient."""

from __future__ import annotations

from pathlib import Path

import pytest

from namecar_viewer.app.hanging_protocols import SlotKind, StudyRole, apply_protocol
from namecar_viewer.app.importer import import_paths
from namecar_viewer.persistence.study_index import StackRow, StudyIndex


@pytest.fixture(scope="module")
def rows(small_demo: Path) -> list[StackRow]:
    idx = StudyIndex(":memory:")
    import_paths(idx, [small_demo], thumbnails=False)
    return idx.stack_rows()


def _series(truth: dict, **match: object) -> str:
    hits = [s for s in truth["series"] if all(s.get(k) == v for k, v in match.items())]
    assert len(hits) == 1
    return str(hits[0]["series_instance_uid"])


def test_recist_read_baseline_beside_latest(rows: list[StackRow], ground_truth: dict) -> None:
    r = apply_protocol("recist", rows)
    assert r.layout == "1x2" and r.link_timepoints and not r.missing
    assert r.slot("baseline").stack.series_instance_uid == _series(
        ground_truth, timepoint="baseline"
    )
    # the latest follow-up of the scenario is 9 months
    assert r.slot("current").stack.series_instance_uid == _series(ground_truth, timepoint="fu09m")


def test_eligibility_first_two_cts_or_as_marked(rows: list[StackRow], ground_truth: dict) -> None:
    r = apply_protocol("eligibility", rows)
    assert r.slot("baseline").stack.series_instance_uid == _series(
        ground_truth, timepoint="baseline"
    )
    assert r.slot("inclusion").stack.series_instance_uid == _series(
        ground_truth, timepoint="inclusion"
    )
    fu3 = next(s for s in ground_truth["series"] if s["timepoint"] == "fu03m")
    marked = apply_protocol("eligibility", rows, {fu3["study_instance_uid"]: StudyRole.INCLUSION})
    assert marked.slot("inclusion").stack.series_instance_uid == fu3["series_instance_uid"]
    assert "marked" in marked.slot("inclusion").reason


def test_mri_pet_t2_and_pet_with_fusion_and_mip_slots(
    rows: list[StackRow], ground_truth: dict
) -> None:
    r = apply_protocol("mri_pet", rows)
    assert r.slot("mri").stack.series_instance_uid == _series(ground_truth, description="T2 TSE AX")
    assert r.slot("pet").stack.series_instance_uid == _series(ground_truth, modality="PT")
    assert r.slot("fusion").kind is SlotKind.FUSION
    assert r.slot("fusion").sources == ("mri", "pet")
    assert r.slot("mip").kind is SlotKind.MIP
    assert r.layout == "2x2"


def test_missing_series_named(rows: list[StackRow]) -> None:
    only_mr = [r for r in rows if r.modality == "MR"]
    assert apply_protocol("recist", only_mr).missing == (
        "no CT study",
        "no follow-up CT after the baseline",
    )
    assert apply_protocol("mri_pet", only_mr).missing == ("no PET series",)
    with pytest.raises(ValueError, match="Unknown hanging protocol"):
        apply_protocol("nope", rows)
