"""The proposal flow in the main window (gui/tools/proposals.py) and the prior comparison: the
keys (Enter, 0 / S / U, N / P), a handle edited or the proposal replaced, one undo step each,
the chooser when another lesion is nearer, every viewport brought to the lesion, zoom and pan
synchronised across the RECIST layout's timepoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.proposals import ProposalKind, record_key, records_in
from namecar_viewer.app.read_session import AddTimepoint, CreateLesion
from namecar_viewer.app.view_state import translation
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.reads import Lesion, LesionRole, LesionStatus, Site
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.panels.lesion_table import navigate_to_lesion
from namecar_viewer.gui.tools.proposals import ProposalTool
from namecar_viewer.persistence.study_index import StudyIndex

SITES = {
    "kidney": Site.KIDNEY,
    "lung": Site.LUNG,
    "liver": Site.LIVER,
    "lymph node": Site.LYMPH_NODE,
    "bone": Site.BONE,
}
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def _reads_db(reader_env: Callable[[str], Path]) -> Path:
    return reader_env("dr-proposals")


def _line(les: dict[str, Any], tp: str) -> tuple[np.ndarray, np.ndarray]:
    at = les["ct"][tp]
    c = np.asarray(at["centre_mm"], float)
    d = np.asarray(les["long_axis_direction"], float)
    if les["is_lymph_node"]:
        d, half = np.cross([0.0, 0.0, 1.0], d), at["short_axis_mm"] / 2
    else:
        half = at["long_axis_mm"] / 2
    return c - half * d, c + half * d


def _studies(gt: dict[str, Any]) -> dict[str, str]:
    return {s["timepoint"]: s["study_instance_uid"] for s in gt["series"] if s.get("timepoint")}


def _viewport(w: MainWindow, study: str) -> Any:
    return next(
        vp
        for vp in w.visible_viewports()
        if vp.model.volume is not None and vp.model.volume.study_instance_uid == study
    )


def _recist(qtbot: QtBot, w: MainWindow) -> None:
    w.actions_by_name["protocol_recist"].trigger()
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    qtbot.wait(20)


@pytest.fixture
def window(qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict[str, Any]) -> MainWindow:
    """The RECIST layout at the inclusion scan, the baseline read (lines, NT1 a point), the
    timepoints aligned by the phantom's true shifts."""
    w = MainWindow(index=demo_index)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    w.browser.refresh()
    _recist(qtbot, w)
    studies = _studies(ground_truth)
    base_vp = _viewport(w, studies["baseline"])
    reads = w.reads
    tp = reads.layer.timepoint(base_vp, reads.session.read)
    reads.undo.push_command(AddTimepoint(tp))
    frame = base_vp.model.frame_of_reference_uid
    for les in ground_truth["lesions"]:
        target = les["role"] == "target"
        kind = MeasurementKind.LINE if target else MeasurementKind.POINT
        pts = _line(les, "baseline") if target else (les["ct"]["baseline"]["centre_mm"],)
        m = Measurement.create(
            kind, pts, frame_of_reference_uid=frame, study_instance_uid=studies["baseline"]
        )
        lesion = Lesion(
            f"L{les['id']}",
            les["id"],
            LesionRole.TARGET if target else LesionRole.NON_TARGET,
            SITES[les["organ"]],
            is_lymph_node=les["is_lymph_node"],
        )
        reads.undo.push_command(CreateLesion(lesion, m, tp))
    assert len(reads.session.read.lesions) == 6
    shift = {
        t["label"]: np.asarray(t["patient_shift_mm"], float) for t in ground_truth["ct_timepoints"]
    }
    frames = {
        s["timepoint"]: s["frame_of_reference_uid"]
        for s in ground_truth["series"]
        if s.get("timepoint")
    }
    for label in ("inclusion", "fu03m", "fu06m", "fu09m"):
        w.state.set_transform(frames["baseline"], frames[label], translation(shift[label]))
    _recist(qtbot, w)  # the inclusion scan beside the baseline
    return w


def _start(qtbot: QtBot, w: MainWindow) -> Any:
    flow = w.reads.proposals
    w.reads.tool_actions["proposals"].trigger()
    qtbot.waitUntil(lambda: flow.active, timeout=10000)
    return flow


def _key(w: MainWindow, key: str) -> None:
    combo = QKeySequence(key)[0]
    target = QApplication.focusWidget() or w
    QTest.keyClick(target, combo.key(), combo.keyboardModifiers())


def _mouse(vp: Any, kind: QEvent.Type, pos: QPointF, button: Any, buttons: Any) -> None:
    ev = QMouseEvent(
        kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(vp, ev)


def _drag(vp: Any, a: Any, b: Any) -> None:
    pa, pb = (
        QPointF(vp.patient_to_screen(np.asarray(a))),
        QPointF(vp.patient_to_screen(np.asarray(b))),
    )
    _mouse(vp, QEvent.Type.MouseButtonPress, pa, LEFT, LEFT)
    for n in range(1, 5):
        _mouse(vp, QEvent.Type.MouseMove, pa + (pb - pa) * (n / 4), Qt.MouseButton.NoButton, LEFT)
    _mouse(vp, QEvent.Type.MouseButtonRelease, pb, LEFT, Qt.MouseButton.NoButton)


def _click(vp: Any, a: Any) -> None:
    pa = QPointF(vp.patient_to_screen(np.asarray(a)))
    _mouse(vp, QEvent.Type.MouseButtonPress, pa, LEFT, LEFT)
    _mouse(vp, QEvent.Type.MouseButtonRelease, pa, LEFT, Qt.MouseButton.NoButton)


def test_keys_answer_each_lesion_in_one_undo_step(
    qtbot: QtBot, window: MainWindow, ground_truth: dict[str, Any]
) -> None:
    w = window
    studies = _studies(ground_truth)
    flow = _start(qtbot, w)
    cur = _viewport(w, studies["inclusion"])
    base = _viewport(w, studies["baseline"])
    assert flow.vp is cur and flow.tp.label == "inclusion"
    assert isinstance(cur.tool, ProposalTool)
    assert QApplication.focusWidget() is cur
    read = lambda: w.reads.session.read  # noqa: E731
    labels = lambda: read().lesion(flow.lesion_uid()).label  # noqa: E731

    # T1 first: every viewport on it, the proposal on the current CT's best slice
    assert labels() == "T1" and flow.proposal.kind is ProposalKind.DIAMETER
    assert cur.model.index == flow.proposal.finding.slice_index
    t1_base = next(lm.measurement for lm in read().measurements if lm.lesion_uid == "LT1")
    assert base.model.index == base.model.geometry.index_of(t1_base.centre)
    assert t1_base.uid in {lm.uid for lm in w.reads.layer.visible(base)}
    assert np.allclose(w.state.crosshair, flow.proposal.finding.centre)

    # N / P move between lesions; P is not Pan while proposals are shown
    _key(w, "N")
    assert labels() == "T2"
    _key(w, "P")
    assert labels() == "T1" and isinstance(cur.tool, ProposalTool)

    # a handle dragged then Enter: stored, "edited", next lesion
    c = flow.candidate
    a, b = np.asarray(c.points[0]), np.asarray(c.points[1])
    _drag(cur, a, a + (a - b) * 0.05)
    assert flow.candidate.outcome.value == "edited"
    _key(w, "Return")
    assert labels() == "T2"
    tp = flow.tp
    rec = records_in(read().settings)[("LT1", tp.uid)]
    assert rec["outcome"] == "edited"
    assert rec["answer"]["long_axis_mm"] > rec["proposed"]["long_axis_mm"]

    # 0 / S / U: one key each, one undo step each
    for key, status in (("0", "absent"), ("S", "too_small"), ("U", "not_evaluable")):
        label = labels()
        uid = flow.lesion_uid()
        _key(w, key)
        assert read().statuses[(uid, tp.uid)].value == status, label
        assert records_in(read().settings)[(uid, tp.uid)]["outcome"] == "replaced"
    assert labels() == "T5"
    w.reads.undo.undo()  # U on T4 taken back: no status, no record
    assert ("LT4", tp.uid) not in read().statuses
    assert record_key("LT4", tp.uid) not in read().settings

    # T5: scrolled away, Enter first brings the proposal back; then accepted as proposed
    here = cur.model.index
    cur.setFocus()
    QTest.keyClick(cur, Qt.Key.Key_Down)
    assert cur.model.index == here + 1
    _key(w, "Return")
    assert cur.model.index == here and labels() == "T5"
    assert ("LT5", tp.uid) not in {(lm.lesion_uid, lm.timepoint_uid) for lm in read().measurements}
    _key(w, "Return")
    assert labels() == "NT1" and flow.proposal.status is LesionStatus.PRESENT
    _key(w, "Return")
    assert read().statuses[("LNT1", tp.uid)] is LesionStatus.PRESENT
    # T4 is the one left
    assert labels() == "T4"
    assert json.loads(read().settings[record_key("LT5", tp.uid)])["outcome"] == "accepted"

    # the Undo of the announcement takes NT1's answer back and shows NT1 again
    toast = w.reads.layer.toasts[id(cur)]
    assert toast.isVisible() and toast.label.text().startswith("NT1")
    QTest.mouseClick(toast.button, Qt.MouseButton.LeftButton)
    assert ("LNT1", tp.uid) not in read().statuses and labels() == "NT1"
    assert not any(k.startswith("proposal/") and k.endswith("/LNT1") for k in read().settings)

    # choosing another tool ends the flow: P is Pan again
    w.reads.tool_actions["line"].trigger()
    assert not flow.active
    _key(w, "P")
    assert cur.tool.name == "pan"


def test_a_click_elsewhere_goes_through_the_assignment_rules(
    qtbot: QtBot, window: MainWindow, ground_truth: dict[str, Any]
) -> None:
    """The proposal replaced by a click on another lesion: the chooser asks (T5 nearer than
    T1), no new target offered; T1 stays the lesion on screen."""
    w = window
    flow = _start(qtbot, w)
    cur = flow.vp
    t5 = next(les for les in ground_truth["lesions"] if les["id"] == "T5")
    c5 = np.asarray(t5["ct"]["inclusion"]["centre_mm"], float)
    assert cur.model.geometry.index_of(c5) == cur.model.index  # T1 and T5 share the slice
    _click(cur, c5)
    assert flow.candidate.outcome.value == "replaced"
    _key(w, "Return")
    ch = flow.chooser
    assert ch is not None
    texts = [ch.list.item(i).text() for i in range(ch.list.count())]
    assert texts[ch.list.currentRow()].startswith("T5")
    assert not any(t.startswith("New target") for t in texts)
    QTest.keyClick(ch.list, Qt.Key.Key_Return)
    read = w.reads.session.read
    lm = next(lm for lm in read.measurements if lm.timepoint_uid == flow.tp.uid)
    assert lm.lesion_uid == "LT5"
    assert read.lesion(flow.lesion_uid()).label == "T1"
    assert records_in(read.settings) == {}


def test_no_proposals_at_the_baseline(qtbot: QtBot, window: MainWindow, ground_truth: dict) -> None:
    w = window
    base = _viewport(w, _studies(ground_truth)["baseline"])
    w.reading.protocol = None  # no RECIST layout: the active viewport's study
    w.set_active(base)
    flow = w.reads.proposals
    w.reads.tool_actions["proposals"].trigger()
    qtbot.wait(50)
    assert not flow.active
    assert "at follow-ups" in w.statusBar().currentMessage()


def test_shortcuts_listed(window: MainWindow) -> None:
    rows = {(e.text, e.key) for e in window.shortcut_rows}
    for text, key in (
        ("Proposed measurements: next lesion", "N"),
        ("Proposed measurements: previous lesion", "P (Pan when no proposals are shown)"),
        ("Proposed measurements: accept (or confirm the previous answer)", "Enter"),
        ("Proposed measurements: absent", "0"),
        ("Proposed measurements: too small to measure", "S"),
        ("Proposed measurements: not evaluable", "U"),
    ):
        assert (text, key) in rows
    assert any(k == "G" and t.startswith("Proposed measurements at a follow-up") for t, k in rows)
    single = [e.key for e in window.shortcut_rows if len(e.key) == 1]
    assert len(single) == len(set(single)), sorted(single)


def test_prior_comparison_zoom_and_pan_follow_and_priors_show_their_measurement(
    qtbot: QtBot, window: MainWindow, ground_truth: dict[str, Any]
) -> None:
    w = window
    studies = _studies(ground_truth)
    cur, base = _viewport(w, studies["inclusion"]), _viewport(w, studies["baseline"])
    read = w.reads.session.read
    # the lesion table's navigation: the baseline on its own T4 line, the follow-up mapped
    tp = w.reads.layer.timepoint(cur, read)
    w.reads.undo.push_command(AddTimepoint(tp))
    read = w.reads.session.read
    navigate_to_lesion(read, "LT4", tp.uid, w.state, [v.model for v in w.visible_viewports()])
    t4 = next(les for les in ground_truth["lesions"] if les["id"] == "T4")
    t4_base = next(lm.measurement for lm in read.measurements if lm.lesion_uid == "LT4")
    assert t4_base.uid in {lm.uid for lm in w.reads.layer.visible(base)}
    assert cur.model.index == cur.model.geometry.index_of(t4["ct"]["inclusion"]["centre_mm"])
    # zoom the current CT at the lesion: the baseline takes the same scale, same anatomy
    w.set_active(cur)
    at = QPointF(cur.patient_to_screen(np.asarray(t4["ct"]["inclusion"]["centre_mm"])))
    cur.zoom_by(3.0, at)
    cur.repaint()
    qtbot.wait(20)
    assert base.scale == pytest.approx(cur.scale)
    centre = QPointF(cur.width() / 2.0, cur.height() / 2.0)
    pc = cur.screen_to_patient(centre)
    pb = base.screen_to_patient(QPointF(base.width() / 2.0, base.height() / 2.0))
    mapped = w.state.map_point(
        pb, base.model.frame_of_reference_uid, cur.model.frame_of_reference_uid
    )
    assert np.linalg.norm((mapped - pc)[:2]) < 0.5  # the same anatomy at both centres
    # a pan of the baseline: the current CT follows
    base.pan_by(40, -25)
    base.repaint()
    qtbot.wait(20)
    pc = cur.screen_to_patient(centre)
    pb = base.screen_to_patient(QPointF(base.width() / 2.0, base.height() / 2.0))
    mapped = w.state.map_point(
        pb, base.model.frame_of_reference_uid, cur.model.frame_of_reference_uid
    )
    assert np.linalg.norm((mapped - pc)[:2]) < 0.5
    # linked scrolling off: the zoom is no longer followed either
    w.state.set_link_scrolling(False)
    before = base.scale
    cur.zoom_by(1.5)
    cur.repaint()
    qtbot.wait(20)
    assert base.scale == pytest.approx(before)
    w.grab().save("/tmp/shots/proposals/g1_prior_comparison_zoomed.png")
