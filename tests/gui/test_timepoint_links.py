"""A manual offset between timepoints is kept with the read: audited, undoable, restored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.pet import OFFSET_PREFIX, timepoint_offsets_in
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.study_index import StudyIndex


@pytest.fixture(autouse=True)
def _reads_db(reader_env: Callable[[str], Path]) -> Path:
    return reader_env("dr-links")


def _eligibility(qtbot: QtBot, index: StudyIndex) -> MainWindow:
    w = MainWindow(index=index)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    w.browser.refresh()
    w.actions_by_name["protocol_eligibility"].trigger()
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    return w


def _frames(w: MainWindow) -> tuple[str, str]:
    a = w.viewports[0].model.frame_of_reference_uid
    b = w.viewports[1].model.frame_of_reference_uid
    assert a and b and a != b
    return a, b


def test_offset_kept_with_the_read_undone_and_restored_on_reopening(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict
) -> None:
    w = _eligibility(qtbot, demo_index)
    assert w.reads is not None
    for_a, for_b = _frames(w)
    t1 = next(les for les in ground_truth["lesions"] if les["id"] == "T1")["ct"]
    pa, pb = t1["baseline"]["centre_mm"], t1["inclusion"]["centre_mm"]
    w.reading.start_offset_picking()
    w.reading.picker.click(for_a, np.asarray(pa))
    w.reading.picker.click(for_b, np.asarray(pb))
    shift = np.subtract(pb, pa)
    (rec,) = timepoint_offsets_in(w.reads.session.read.settings)
    assert rec.key.startswith(OFFSET_PREFIX)
    assert (rec.fixed_frame, rec.moving_frame) == (for_a, for_b)
    assert np.allclose(rec.array[:3, 3], shift)
    assert "kept with the read" in w.statusBar().currentMessage()
    entries = [e for e in AuditLog(w.reads.db.engine).entries() if e.entity_key == rec.key]
    assert entries, "the link is an audited edit of the read"

    # undo forgets the link in the views too; redo brings it back
    w.reads.undo.undo()
    assert not timepoint_offsets_in(w.reads.session.read.settings)
    assert w.state.transform(for_a, for_b) is None
    w.reads.undo.redo()
    m = w.state.transform(for_a, for_b)
    assert m is not None and np.allclose(m[:3, 3], shift)
    read_uid = w.reads.session.read.uid
    w.close()

    # the same reader reopens the patient: the timepoints are linked without clicking
    w2 = _eligibility(qtbot, demo_index)
    assert w2.reads is not None and w2.reads.session.read.uid == read_uid
    m2 = w2.state.transform(for_a, for_b)
    assert m2 is not None and np.allclose(m2[:3, 3], shift)
    # a crosshair on T2 at baseline lands on T2 at inclusion (the phantom shifts rigidly)
    t2 = next(les for les in ground_truth["lesions"] if les["id"] == "T2")["ct"]
    w2.state.set_crosshair(t2["baseline"]["centre_mm"], for_a)
    mapped = w2.state.crosshair_in(for_b)
    assert np.linalg.norm(mapped - np.asarray(t2["inclusion"]["centre_mm"])) < 1e-6

    # forgetting the links removes them from the read and from the views
    w2.reading.clear_links()
    assert not timepoint_offsets_in(w2.reads.session.read.settings)
    assert w2.state.transform(for_a, for_b) is None
