"""Timepoints read in order (issue 13 point 4): the demo patient read at baseline and fu09m only
is PR (-41.1 % from the 168 mm baseline) while the true answer is PD (+22.2 % from the 81 mm
nadir at fu06m); the unread CTs are named, and the RECIST layout shows the next CT to read
beside the previous one and the nadir.

Sums from the phantom's ground truth (long axes, the node T5 by its 18/7/7/6/6 mm short axis):
baseline 60+30+20+40+18 = 168, inclusion 60+6+4+7+7 = 84, fu03m 84, fu06m 60+5+4+6+6 = 81,
fu09m 60+5+4+24+6 = 99.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from namecar_viewer.app.hanging_protocols import apply_protocol
from namecar_viewer.app.importer import import_paths
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.app.reading_order import (
    PatientStudy,
    complete_studies,
    nadir_study,
    parse_dicom_date,
    unread_before,
    unread_message,
    unread_studies,
)
from namecar_viewer.app.response import ResponseModel
from namecar_viewer.core.reads import Read
from namecar_viewer.persistence.study_index import StudyIndex
from namecar_viewer.phantom.demo_read import build_demo_read


@pytest.fixture(scope="module")
def demo(small_demo: Path) -> tuple[Read, StudyIndex]:
    idx = StudyIndex(":memory:")
    import_paths(idx, [small_demo])
    return build_demo_read(small_demo), idx


def studies_of(read: Read, idx: StudyIndex) -> list[PatientStudy]:
    by_study = {tp.study_instance_uid: tp.label for tp in read.timepoints}
    out = {}
    for r in idx.stack_rows(read.patient_id):
        if r.modality == "CT":
            out[r.study_instance_uid] = PatientStudy(
                r.study_instance_uid, parse_dicom_date(r.study_date), by_study[r.study_instance_uid]
            )
    return list(out.values())


def only(read: Read, labels: set[str]) -> Read:
    """The read as a reader who assessed only these timepoints would have it."""
    keep = {tp.uid for tp in read.timepoints if tp.label in labels}
    return replace(
        read,
        timepoints=tuple(tp for tp in read.timepoints if tp.uid in keep),
        measurements=tuple(lm for lm in read.measurements if lm.timepoint_uid in keep),
        statuses={k: v for k, v in read.statuses.items() if k[1] in keep},
    )


def test_skipped_follow_ups_are_named_and_the_nadir_doubted(demo) -> None:  # type: ignore[no-untyped-def]
    full, idx = demo
    studies = studies_of(full, idx)
    assert unread_studies(full, studies) == []
    partial = only(full, {"baseline", "fu09m"})
    # what the engine says from the two timepoints alone: PR, the wrong answer
    rows = {r.label: r for r in ResponseModel(ReadSession(partial)).report.rows}
    assert rows["fu09m"].overall_response is not None
    assert rows["fu09m"].overall_response.value == "PR"
    unread = unread_studies(partial, studies)
    assert [u.study.label for u in unread] == ["inclusion", "fu03m", "fu06m"]
    assert all(u.before_read for u in unread)
    msg = unread_message(unread)
    assert msg.startswith("inclusion, fu03m, fu06m are not read: the nadir")
    fu09 = next(tp for tp in partial.timepoints if tp.label == "fu09m")
    assert [s.label for s in unread_before(partial, fu09.uid, studies)] == [
        "inclusion",
        "fu03m",
        "fu06m",
    ]
    # read in order, the nadir is fu06m (81 mm) and fu09m is PD
    rows = {r.label: r for r in ResponseModel(ReadSession(full)).report.rows}
    assert rows["fu09m"].overall_response.value == "PD"  # type: ignore[union-attr]
    by_label = {tp.label: tp.study_instance_uid for tp in full.timepoints}
    assert nadir_study(full, by_label["fu09m"]) == by_label["fu06m"]
    assert nadir_study(full, by_label["fu06m"]) == by_label["inclusion"]  # 84 mm, the earliest


def test_still_to_read_is_not_a_doubt(demo) -> None:  # type: ignore[no-untyped-def]
    full, idx = demo
    partial = only(full, {"baseline", "inclusion"})
    unread = unread_studies(partial, studies_of(full, idx))
    assert [u.study.label for u in unread] == ["fu03m", "fu06m", "fu09m"]
    assert not any(u.before_read for u in unread)
    assert unread_message(unread) == "still to read: fu03m, fu06m, fu09m"


def test_recist_layout_puts_the_next_ct_beside_previous_and_nadir(demo) -> None:  # type: ignore[no-untyped-def]
    full, idx = demo
    rows = idx.stack_rows(full.patient_id)
    by_label = {tp.label: tp.study_instance_uid for tp in full.timepoints}

    def slots(read: Read, prior: str | None = None) -> list[tuple[str, str]]:
        res = apply_protocol("recist", rows, None, read, prior)
        return [(a.slot, a.stack.study_instance_uid) for a in res.assignments]

    # read to the end: the latest CT beside fu06m, which is also the nadir -> the baseline
    assert complete_studies(full) == set(by_label.values())
    assert slots(full) == [
        ("baseline", by_label["baseline"]),
        ("previous", by_label["fu06m"]),
        ("current", by_label["fu09m"]),
    ]
    # read up to fu03m: fu06m is next, beside fu03m and the nadir (inclusion, 84 mm)
    upto = only(full, {"baseline", "inclusion", "fu03m"})
    assert slots(upto) == [
        ("nadir", by_label["inclusion"]),
        ("previous", by_label["fu03m"]),
        ("current", by_label["fu06m"]),
    ]
    # the reader of baseline and fu09m only is sent back to the inclusion scan
    skipped = only(full, {"baseline", "fu09m"})
    assert slots(skipped) == [
        ("baseline", by_label["baseline"]),
        ("current", by_label["inclusion"]),
    ]
    # a prior the reader picks replaces the nadir
    assert slots(upto, by_label["baseline"])[0] == ("prior", by_label["baseline"])
    # without a read the layout is the old one: baseline beside the latest CT
    old = apply_protocol("recist", rows)
    assert [a.slot for a in old.assignments] == ["baseline", "current"]
