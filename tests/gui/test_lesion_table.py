"""Lesion panel and the main window's lesion marking: navigation, checks, persistence, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.read_session import CreateLesion, ReadSession, next_lesion
from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.core.measure import MeasurementKind
from namecar_viewer.core.reads import LesionRole, Read, Site
from namecar_viewer.gui.panels.lesion_table import FIXED_COLUMNS, LesionTablePanel
from namecar_viewer.gui.tools.controller import study_info
from namecar_viewer.gui.tools.layer import MeasurementLayer
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.gui.viewport import SliceViewport
from namecar_viewer.persistence.reads_db import ReadsDatabase


@pytest.fixture(scope="module")
def demo(small_demo: Path) -> tuple[dict[str, Volume], dict[str, Any]]:
    from namecar_viewer.core.dicom import load_series

    gt = json.loads((small_demo / "ground_truth.json").read_text())
    vols = {}
    for tp in gt["ct_timepoints"][:3]:  # baseline, inclusion, fu03m
        vols[tp["label"]] = load_series(sorted((small_demo / tp["folder"]).glob("*.dcm")))
    return vols, gt


def _viewport(qtbot: QtBot, state: ViewState, vol: Volume) -> SliceViewport:
    vp = SliceViewport(ViewportModel(), state)
    qtbot.addWidget(vp)
    vp.resize(500, 500)
    vp.show()
    vp.model.set_volume(vol, SliceOrientation.AXIAL, "ct")
    return vp


def _line_at(layer: MeasurementLayer, vp: SliceViewport, centre: Any, half: float) -> Any:
    vp.model.move_to_point(centre)
    c = np.asarray(centre, dtype=np.float64)
    d = np.array([half, 0.0, 0.0])
    return layer.make_record(vp, MeasurementKind.LINE, [c - d, c + d])


def _setup(qtbot, demo, tmp_path, available=None):
    vols, gt = demo
    state = ViewState()
    vb = _viewport(qtbot, state, vols["baseline"])
    vf = _viewport(qtbot, state, vols["fu03m"])
    session = ReadSession(Read.new("NAMECAR-001", uid="R"), ReadsDatabase(tmp_path / "r.sqlite"))
    undo = ReadUndoStack(session)
    layer = MeasurementLayer(undo, stack_info=study_info)
    for vp in (vb, vf):
        layer.attach(vp)
    panel = LesionTablePanel(undo, state, lambda: [vb.model, vf.model], available)
    qtbot.addWidget(panel)
    panel.resize(900, 260)
    panel.show()
    return state, vb, vf, session, undo, layer, panel, gt


def test_cell_selection_navigates_and_follow_up_jumps_to_mapped_location(
    qtbot: QtBot, demo, tmp_path
) -> None:
    state, vb, vf, session, undo, layer, panel, gt = _setup(qtbot, demo, tmp_path)
    t2 = next(x for x in gt["lesions"] if x["id"] == "T2")
    base_c = t2["ct"]["baseline"]["centre_mm"]
    m = _line_at(layer, vb, base_c, 15.0)
    tp_base = layer.timepoint(vb)
    undo.push_command(
        CreateLesion(next_lesion(session.read, LesionRole.TARGET, Site.LUNG), m, tp_base)
    )
    # the follow-up study is a timepoint of the read too (as when its first lesion is measured)
    tp_fu = layer.timepoint(vf)
    les = session.read.lesions[0]
    other = next_lesion(session.read, LesionRole.NON_TARGET, Site.BONE)
    nt1 = next(x for x in gt["lesions"] if x["id"] == "NT1")
    undo.push_command(
        CreateLesion(other, _line_at(layer, vf, nt1["ct"]["fu03m"]["centre_mm"], 7), tp_fu)
    )
    assert [tp.label for tp in session.read.ordered_timepoints()] == ["baseline", "fu03m"]
    assert panel.table.columnCount() == len(FIXED_COLUMNS) + 2 + 1
    assert panel.table.item(0, 3).text() == "30.0 mm"
    # move both viewports away, then select the baseline cell of T1
    vb.model.set_index(0)
    vf.model.set_index(0)
    panel.select_cell(les.uid, tp_base.uid)
    assert np.allclose(state.crosshair, base_c)
    # the baseline viewport now shows the slice through the lesion centre (within half a slice)
    assert abs(float(vb.model.plane.distance([base_c])[0])) <= 1.25
    # follow-up cell without a measurement: no transform known -> same patient coordinates
    panel.select_cell(les.uid, tp_fu.uid)
    text = panel.go_to(les.uid, tp_fu.uid)
    assert "no transform" in text and np.allclose(state.crosshair, base_c)
    # with the timepoints linked (the phantom's known patient shift between the two studies),
    # the jump lands on the lesion's follow-up position from the ground truth
    fb = vols_for(demo, "baseline").frame_of_reference_uid
    ff = vols_for(demo, "fu03m").frame_of_reference_uid
    sfb = np.asarray(gt["ct_timepoints"][0]["study_from_body"])
    sff = np.asarray(gt["ct_timepoints"][2]["study_from_body"])
    state.set_transform(fb, ff, sff @ np.linalg.inv(sfb))
    text = panel.go_to(les.uid, tp_fu.uid)
    assert "mapped from baseline" in text
    assert np.allclose(state.crosshair, t2["ct"]["fu03m"]["centre_mm"], atol=1e-9)
    assert state.crosshair_frame_of_reference == ff
    # re-measuring at the follow-up: the lesion chosen in the panel takes the new line
    panel.lesion_selected = lambda uid: setattr(layer, "active_lesion", uid)
    panel.select_cell(les.uid, tp_base.uid)
    panel.select_cell(les.uid, tp_fu.uid)
    assert layer.active_lesion == les.uid
    fu_c = np.asarray(t2["ct"]["fu03m"]["centre_mm"])
    half = np.array([3.0, 0.0, 0.0])  # the metastasis shrank to 6 mm
    layer.add(vf, MeasurementKind.LINE, [fu_c - half, fu_c + half])
    assert session.read.assessment(les.uid, tp_fu.uid).long_axis_mm == pytest.approx(6.0)
    assert panel.table.item(0, 4).text() == "6.0 mm"
    assert len(session.read.lesions) == 2  # no new lesion
    # a non-target recorded by status at the follow-up, from the panel
    uid = panel.new_lesion_here(LesionRole.NON_TARGET, tp_fu.uid)
    assert session.read.lesion(uid).label == "NT2"
    assert panel.table.item(2, 4).text() == "present"
    assert abs(float(vf.model.plane.distance([t2["ct"]["fu03m"]["centre_mm"]])[0])) <= 1.25


def vols_for(demo, label: str) -> Volume:
    return demo[0][label]


def test_checks_shown_beside_the_lesion_as_the_reader_works(qtbot, demo, tmp_path) -> None:
    _state, vb, _vf, session, undo, layer, panel, gt = _setup(qtbot, demo, tmp_path)
    c = gt["lesions"][1]["ct"]["baseline"]["centre_mm"]
    tp = layer.timepoint(vb)
    undo.push_command(
        CreateLesion(
            next_lesion(session.read, LesionRole.TARGET, Site.LUNG), _line_at(layer, vb, c, 4.0), tp
        )
    )  # an 8 mm target
    checks = panel.table.item(0, panel.table.columnCount() - 1)
    assert "below 10" in checks.text()
    assert "T1" in checks.toolTip() and "sec. 3.1.1" in checks.toolTip()
    # re-measuring it at 12 mm (editing the handle) clears the warning at once
    m = session.read.measurements[0].measurement
    from namecar_viewer.app.read_session import SetMeasurementPoints

    a, b = np.asarray(m.points)
    undo.push_command(
        SetMeasurementPoints(m.uid, (tuple(a), tuple(b + np.array([4.0, 0, 0]))), "d1")
    )
    checks = panel.table.item(0, panel.table.columnCount() - 1)
    assert checks.text() == ""


def test_measurement_of_a_series_gone_from_the_store_stays_flagged(qtbot, demo, tmp_path):
    _state, vb, _vf, session, undo, layer, panel, gt = _setup(
        qtbot, demo, tmp_path, available=lambda: {"1.2.3.other-series"}
    )
    c = gt["lesions"][3]["ct"]["baseline"]["centre_mm"]
    m = _line_at(layer, vb, c, 11.7)
    undo.push_command(
        CreateLesion(
            next_lesion(session.read, LesionRole.TARGET, Site.LIVER), m, layer.timepoint(vb)
        )
    )
    assert panel.table.item(0, 3).text() == "23.4 mm"  # its numbers are kept
    checks = panel.table.item(0, panel.table.columnCount() - 1)
    assert "no longer in the store" in checks.text()
    assert len(session.read.measurements) == 1


def _drag(vp: SliceViewport, a: QPointF, b: QPointF) -> None:
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier
    for kind, pos, btn, btns in (
        (QEvent.Type.MouseButtonPress, a, left, left),
        (QEvent.Type.MouseMove, (a + b) / 2, none, left),
        (QEvent.Type.MouseMove, b, none, left),
        (QEvent.Type.MouseButtonRelease, b, left, none),
    ):
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), btn, btns, mods))


def _window(qtbot: QtBot):
    from namecar_viewer.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 1000)
    w.show()
    qtbot.waitUntil(w.isVisible)
    return w


def test_main_window_tools_undo_redo_and_reopen(
    qtbot: QtBot, demo, tmp_path, monkeypatch, shots_dir
) -> None:
    monkeypatch.setenv("NAMECAR_READS_DB", str(tmp_path / "reads.sqlite"))
    monkeypatch.setenv("NAMECAR_READER", "dr-test")
    vols, gt = demo
    w = _window(qtbot)
    w.show_volume(vols["baseline"], "CT baseline")
    ctl = w.reads
    assert ctl.session.read.patient_id == "NAMECAR-001"
    assert not (tmp_path / "reads.sqlite").exists()  # viewing writes nothing
    vp = w.viewports[0]
    w.set_layout("1x1")
    qtbot.wait(10)
    ctl.tool_actions["bidirectional"].trigger()
    assert vp.tool.name == "bidirectional"
    for les in gt["lesions"][:5]:
        t = les["ct"]["baseline"]
        c = np.asarray(t["centre_mm"])
        vp.model.move_to_point(c)
        d = np.array([t["long_axis_mm"] / 2, 0.0, 0.0])
        _drag(vp, vp.patient_to_screen(c - d), vp.patient_to_screen(c + d))
        # the lesion chooser proposes a new target at the baseline: Enter confirms it
        assert ctl.layer.chooser is not None
        qtbot.keyClick(ctl.layer.chooser.list, Qt.Key.Key_Return)
    assert len(ctl.session.read.lesions) == 5
    assert (tmp_path / "reads.sqlite").exists()
    # the reader sets each lesion's site (lesion panel context menu -> ChangeSite)
    from namecar_viewer.app.read_session import ChangeSite

    sites = {"kidney": Site.KIDNEY, "lung": Site.LUNG, "liver": Site.LIVER}
    changed = 0
    for les, truth in zip(ctl.session.read.lesions, gt["lesions"][:5], strict=True):
        site = sites.get(truth["organ"], Site.LYMPH_NODE)
        # the lung lesions' site was already guessed from the air around them
        assert les.site in (Site.OTHER, site), (les.label, les.site)
        changed += les.site is not site
        ctl.undo.push_command(ChangeSite(les.uid, site))
    assert ctl.session.read.lesions[4].is_lymph_node
    # 5 x (store the measurement, create its lesion) + the sites that changed
    assert ctl.undo.count() == 10 + changed
    # Edit > Undo / Redo (Ctrl+Z / Ctrl+Shift+Z)
    assert ctl.undo_action.shortcut().toString() == "Ctrl+Z"
    assert ctl.redo_action.shortcut().toString() == "Ctrl+Shift+Z"
    ctl.undo_action.trigger()
    assert ctl.session.read.lesions[4].site is Site.OTHER
    ctl.redo_action.trigger()
    assert ctl.session.read.lesions[4].site is Site.LYMPH_NODE
    # an ellipse ROI and a sphere VOI on the kidney tumour, for the screenshot
    c = np.asarray(gt["lesions"][0]["ct"]["baseline"]["centre_mm"])
    vp.model.move_to_point(c)
    ctl.tool_actions["ellipse"].trigger()
    _drag(
        vp,
        vp.patient_to_screen(c + np.array([8, 4, 0])),
        vp.patient_to_screen(c + np.array([22, 14, 0])),
    )
    ctl.tool_actions["sphere"].trigger()
    _drag(
        vp,
        # 12 mm: a drag long enough at any window size not to count as a click
        vp.patient_to_screen(c + np.array([-20, 9, 0])),
        vp.patient_to_screen(c + np.array([-8, 9, 0])),
    )
    assert ctl.session.read.measurements[-1].measurement.kind is MeasurementKind.SPHERE
    w.grab().save(f"{shots_dir}/tools_main_window.png")
    vp.zoom_by(1.8, vp.patient_to_screen(c))
    vp.grab().save(f"{shots_dir}/tools_viewport_zoom.png")
    # semi-automatic proposal on the bone lesion (non-target, 14 x 12 mm), before acceptance
    ctl.tool_actions["semi-auto"].trigger()
    nt = np.asarray(gt["lesions"][5]["ct"]["baseline"]["centre_mm"])
    vp.model.move_to_point(nt)
    vp.fit()
    _drag(vp, vp.patient_to_screen(nt), vp.patient_to_screen(nt))
    assert ctl.layer.proposal is not None
    vp.zoom_by(3.0, vp.patient_to_screen(nt))
    vp.grab().save(f"{shots_dir}/tools_semi_auto_proposal.png")
    qtbot.keyClick(vp, Qt.Key.Key_Escape)
    saved = ctl.session.read
    w.close()
    # a new window reopens the reader's read of the patient exactly
    w2 = _window(qtbot)
    w2.show_volume(vols["baseline"], "CT baseline")
    assert w2.reads.session.read == saved
    assert w2.reads.panel.table.rowCount() == 5


def test_read_only_database_shows_a_message_and_keeps_the_edit(
    qtbot: QtBot, demo, tmp_path, monkeypatch
) -> None:
    path = tmp_path / "reads.sqlite"
    ReadsDatabase(path).close()
    monkeypatch.setenv("NAMECAR_READS_DB", str(path))
    vols, gt = demo
    w = _window(qtbot)
    w.show_volume(vols["baseline"], "CT baseline")
    ctl = w.reads
    ctl.db = ReadsDatabase(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)
    vp = w.viewports[0]
    ctl.tool_actions["line"].trigger()
    c = np.asarray(gt["lesions"][1]["ct"]["baseline"]["centre_mm"])
    vp.model.move_to_point(c)
    _drag(
        vp,
        vp.patient_to_screen(c - np.array([15, 0, 0])),
        vp.patient_to_screen(c + np.array([15, 0, 0])),
    )
    if ctl.layer.chooser is not None:
        qtbot.keyClick(ctl.layer.chooser.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: getattr(ctl, "message_box", None) is not None)
    text = ctl.message_box.text()
    assert "read-only" in text and str(path) in text and "not yet saved" in text
    assert len(ctl.session.read.measurements) == 1  # the edit is kept
    assert ctl.session.pending
    assert "read-only" in w.statusBar().currentMessage()
    ctl.message_box.close()
