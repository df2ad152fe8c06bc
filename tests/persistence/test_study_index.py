"""The study index: survives a restart, keeps instances once, rebuilds stacks that load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from namecar_viewer.app.importer import import_paths
from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.persistence.study_index import StudyIndex

CT_FILES = 84  # instances of each small-demo CT timepoint (ground_truth["series"][*]["n_files"])


def test_index_survives_restart_and_rebuilds_loadable_stacks(
    small_demo: Path, tmp_path: Path, ground_truth: dict
) -> None:
    db = tmp_path / "index.sqlite"
    first = StudyIndex(db)
    assert first.journal_mode() == "wal"
    summary = import_paths(first, [small_demo])
    assert not summary.cancelled
    before = first.counts()
    first.close()

    again = StudyIndex(db)  # a new engine on the same file: what a restart sees
    assert again.counts() == before
    n_files = sum(s["n_files"] for s in ground_truth["series"])
    assert before["instances"] == n_files
    assert before["patients"] == 1
    # 5 CT studies + 1 MRI study + 1 PET study
    assert before["studies"] == 7
    studies = again.search()
    assert [s.study_date for s in studies] == sorted(s.study_date for s in studies)
    # the rebuilt stack holds the same instances as a fresh scan and loads to the same voxels
    baseline_uid = ground_truth["series"][0]["series_instance_uid"]
    row = next(s for st in studies for s in st.stacks if s.series_instance_uid == baseline_uid)
    assert row.n_images == CT_FILES
    rebuilt = again.stack(row.id)
    scanned = next(s for s in scan([str(small_demo / ground_truth["series"][0]["folder"])]).stacks)
    assert sorted(rebuilt.instances, key=lambda i: i.sop_instance_uid) == sorted(
        scanned.instances, key=lambda i: i.sop_instance_uid
    )
    a, b = load_stack(rebuilt), load_stack(scanned)
    assert np.array_equal(a.array, b.array)
    assert np.array_equal(a.affine, b.affine)
    again.close()


def test_reimport_adds_nothing(small_demo: Path, tmp_path: Path) -> None:
    idx = StudyIndex(tmp_path / "i.sqlite")
    s1 = import_paths(idx, [small_demo], thumbnails=False)
    counts = idx.counts()
    s2 = import_paths(idx, [small_demo], thumbnails=False)
    assert idx.counts() == counts
    assert s2.instances_added == 0 and s2.stacks_added == 0
    assert s2.instances_existing == s1.instances_added == counts["instances"]
    assert s2.stacks_unchanged == counts["stacks"]


def test_search_by_patient_date_and_modality(small_demo: Path, ground_truth: dict) -> None:
    idx = StudyIndex(":memory:")
    import_paths(idx, [small_demo], thumbnails=False)
    pid = ground_truth["patient"]["id"]
    assert len(idx.search(patient=pid[-3:])) == 7
    assert idx.search(patient="NOBODY") == []
    assert len(idx.search(patient="demo")) == 7  # by name, case-insensitive
    pet = idx.search(modality="pt")
    assert [s.study_date for s in pet] == [ground_truth["pet"]["date"].replace("-", "")]
    # CT dates: 2025-01-15, 2025-07-10, 2025-10-09, 2026-01-08, 2026-04-09; MR 2025-07-22
    in_2025 = idx.search(date_from="20250101", date_to="20251231", modality="CT")
    assert [s.study_date for s in in_2025] == ["20250115", "20250710", "20251009"]
    mr = idx.search(modality="MR")
    assert mr[0].modalities == ["MR"]
    # T2, DWI b=0 and b=800, six dynamic phases
    assert len(mr[0].stacks) == 9


def test_series_instance_uids_follow_the_store(small_demo: Path, ground_truth: dict) -> None:
    """Every series of the demo (5 CT timepoints, 3 MRI series, 1 PET) is listed; a forgotten
    study's series is not."""
    idx = StudyIndex(":memory:")
    assert idx.series_instance_uids() == set()
    import_paths(idx, [small_demo], thumbnails=False)
    want = {s["series_instance_uid"] for s in ground_truth["series"]}
    assert len(want) == 9
    assert idx.series_instance_uids() == want
    fu03 = next(s for s in ground_truth["series"] if s.get("timepoint") == "fu03m")
    study = next(
        st.study_instance_uid
        for st in idx.search()
        if any(x.series_instance_uid == fu03["series_instance_uid"] for x in st.stacks)
    )
    idx.remove_study(study)
    assert idx.series_instance_uids() == want - {fu03["series_instance_uid"]}
    idx.close()
