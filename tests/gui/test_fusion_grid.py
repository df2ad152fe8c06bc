"""PET in the main window's grid (issue 6): SUV in the readout, overlay and ROI statistics; a
missing weight entered by the reader, audited and kept with the read; the accepted registration
stored with the read and restored on reopening; the mouse nudge; the MRI-PET protocol's four
viewports (MRI, PET, fusion, MIP)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.importer import import_paths
from namecar_viewer.app.pet import SUV_UNIT, is_suv, registrations_in, suv_override_key
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.gui.fusion.grid import FusionSlot, MipSlot
from namecar_viewer.gui.fusion.mip_view import MipViewport
from namecar_viewer.gui.fusion.viewports import FusedViewport
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.tools.tools import EllipseTool
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.study_index import StudyIndex


@pytest.fixture(autouse=True)
def _reads_db(reader_env: Callable[[str], Path]) -> Path:
    return reader_env("dr-pet")


@pytest.fixture(scope="module")
def no_weight_index(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> StudyIndex:
    """The demo PET with PatientWeight removed from every file (nothing else changed)."""
    out = tmp_path_factory.mktemp("pet_no_weight")
    for f in sorted((small_demo / "PT_2025-07-24_PSMA_Ga68").iterdir()):
        ds = pydicom.dcmread(f)
        del ds.PatientWeight
        ds.save_as(out / f.name)
    idx = StudyIndex(":memory:")
    import_paths(idx, [out])
    return idx


def _window(qtbot: QtBot, index: StudyIndex) -> MainWindow:
    w = MainWindow(index=index)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    w.browser.refresh()
    return w


def _wait(qtbot: QtBot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)


def _row(index: StudyIndex, modality: str, desc: str = "") -> Any:
    return next(
        r
        for r in index.stack_rows()
        if r.modality == modality and desc in (r.series_description or "")
    )


def _lesion(truth: dict[str, Any], lid: str) -> dict[str, Any]:
    return next(les for les in truth["lesions"] if les["id"] == lid)


def _readout_at(vp: Any, point: Any) -> str:
    vp.model.move_to_point(point)
    vp._cursor = QPointF(vp.patient_to_screen(point))
    return str(vp.readout())


def drag(vp: Any, a: QPointF, b: QPointF, steps: int = 6) -> None:
    """Press at a, move with the left button held, release at b (no modifier)."""
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    _mouse(vp, QEvent.Type.MouseButtonPress, a, left, left, none)
    for n in range(1, steps + 1):
        _mouse(
            vp,
            QEvent.Type.MouseMove,
            a + (b - a) * (n / steps),
            Qt.MouseButton.NoButton,
            left,
            none,
        )
    _mouse(vp, QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton, none)


def _mouse(vp: Any, kind: QEvent.Type, pos: QPointF, button: Any, buttons: Any, mods: Any) -> None:
    ev = QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, mods)
    QApplication.sendEvent(vp, ev)


def test_pet_in_suv_in_the_grid_readout_overlay_and_ellipse(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    w = _window(qtbot, demo_index)
    w.set_layout("1x1")
    vp = w.viewports[0]
    w.reading.load_into(vp, _row(demo_index, "PT").id)  # the browser double-click path
    _wait(qtbot, w)
    vol = vp.model.volume
    assert vol is not None and is_suv(vol)
    # window preset PET SUV 0-10 inverted grey
    assert (vp.model.window.width, vp.model.window.center, vp.model.invert) == (10.0, 5.0, True)
    t1 = _lesion(ground_truth, "T1")["pet"]
    # ground truth: every voxel of T1 holds SUV 11.5, the peak voxel centre included
    readout = _readout_at(vp, t1["peak_voxel_centre_mm"])
    assert readout.startswith(f"11.5 {SUV_UNIT}")
    assert f"Unit: {SUV_UNIT}" in vp.overlay_texts()["bottom_left"]
    # the stored value there is 11.5 SUV * 1014.214 Bq/ml per SUV (ground truth arithmetic)
    raw = vol.metadata["raw_volume"]
    k, j, i = (int(v) for v in np.rint(raw.patient_to_index([t1["peak_voxel_centre_mm"]])[0]))
    assert float(raw.array[k, j, i]) == pytest.approx(11.5 * 1014.2141234275588, rel=1e-3)

    w.reads.set_tool(EllipseTool)
    c = np.asarray(t1["centre_mm"], dtype=np.float64)
    vp.model.move_to_point(c)
    a = vp.patient_to_screen(c - np.array([10.0, 8.0, 0.0]))
    b = vp.patient_to_screen(c + np.array([10.0, 8.0, 0.0]))
    drag(vp, a, b)
    # a PET measurement is the ancillary MRI-PET record's, never the RECIST read's
    assert w.reads.session.read.measurements == ()
    m = w.reads.ancillary_session.read.measurements[-1].measurement
    s = w.reads.layer.stats(vp, m)
    # a 20 x 16 mm ellipse inside the 60 x 48 mm uniform lesion: all 11.5, no spread
    assert s.unit == SUV_UNIT
    assert s.mean == pytest.approx(11.5, abs=1e-3) and s.maximum == pytest.approx(11.5, abs=1e-3)
    assert s.sd == pytest.approx(0.0, abs=1e-3)
    assert SUV_UNIT in w.reads.layer.label_text(vp, m)
    vp._cursor = QPointF(vp.patient_to_screen(c))
    qtbot.wait(50)
    w.grab().save(f"{shots_dir}/grid_pet_suv.png")


def test_missing_weight_entered_audited_and_reapplied_on_reopening(
    qtbot: QtBot,
    no_weight_index: StudyIndex,
    ground_truth: dict[str, Any],
    _reads_db: Path,
    shots_dir: str,
) -> None:
    w = _window(qtbot, no_weight_index)
    w.set_layout("1x1")
    vp = w.viewports[0]
    row = _row(no_weight_index, "PT")
    w.reading.load_into(vp, row.id)
    _wait(qtbot, w)
    vol = vp.model.volume
    assert vol is not None and not is_suv(vol)
    assert "PatientWeight" in vol.metadata["suv_missing"]
    t1 = _lesion(ground_truth, "T1")["pet"]
    readout = _readout_at(vp, t1["peak_voxel_centre_mm"])
    assert "(raw, not SUV)" in readout and "BQML" in readout  # labelled, never bare
    assert "raw, not SUV" in vp.overlay_texts()["bottom_left"]
    assert w.reading.pet.buttons[vp].isVisibleTo(vp)
    qtbot.wait(50)
    w.grab().save(f"{shots_dir}/grid_pet_missing_weight.png")

    assert w.reading.pet.enter_suv_values(vp, {"patient_weight_kg": 78.0})
    vol = vp.model.volume
    assert is_suv(vol) and vol.metadata["suv_reader_entered"] == {"patient_weight_kg": 78.0}
    assert not w.reading.pet.buttons[vp].isVisibleTo(vp)
    # 78 kg is the phantom's weight: the lesion reads its true SUV again
    assert _readout_at(vp, t1["peak_voxel_centre_mm"]).startswith(f"11.5 {SUV_UNIT}")
    key = suv_override_key(row.series_instance_uid)
    read = w.reads.ancillary_session.read  # the MRI-PET record holds it, not the RECIST read
    assert '"patient_weight_kg": 78.0' in read.settings[key]
    assert key not in w.reads.session.read.settings
    entries = [e for e in AuditLog(w.reads.db.engine).entries() if e.entity_key == key]
    assert entries and entries[-1].username == "dr-pet" and "78.0" in (entries[-1].new_value or "")
    assert entries[-1].old_value is None and entries[-1].ts_utc

    # Edit > Undo withdraws the value (the PET goes back to raw), Redo brings it back
    w.reads.undo_action.trigger()
    assert not is_suv(vp.model.volume) and key not in w.reads.ancillary_session.read.settings
    w.reads.redo_action.trigger()
    assert is_suv(vp.model.volume)
    read_uid = w.reads.ancillary_session.read.uid
    w.close()

    # a new window on the same reads database: the read reopens and the value is reapplied
    w2 = _window(qtbot, no_weight_index)
    w2.set_layout("1x1")
    w2.reading.load_into(w2.viewports[0], row.id)
    _wait(qtbot, w2)
    assert w2.reads.ancillary_session.read.uid == read_uid
    vol2 = w2.viewports[0].model.volume
    assert is_suv(vol2) and vol2.metadata["suv_reader_entered"] == {"patient_weight_kg": 78.0}
    assert _readout_at(w2.viewports[0], t1["peak_voxel_centre_mm"]).startswith(f"11.5 {SUV_UNIT}")


def _mri_pet(qtbot: QtBot, w: MainWindow) -> tuple[FusionSlot, MipSlot]:
    w.actions_by_name["protocol_mri_pet"].trigger()
    _wait(qtbot, w)
    fusion, mip = w.reading.pet.fusion_slot(), w.reading.pet.mip_slot()
    assert fusion is not None and mip is not None
    qtbot.waitUntil(lambda: fusion.panel is not None, timeout=10000)
    return fusion, mip


def test_mri_pet_protocol_fills_four_viewports_and_registration_is_kept(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    w = _window(qtbot, demo_index)
    fusion, mip = _mri_pet(qtbot, w)
    vps = w.visible_viewports()
    assert w.layout_name == "2x2" and len(vps) == 4
    mri, pet = vps[0].model.volume, vps[1].model.volume
    assert mri is not None and mri.modality == "MR" and pet is not None and is_suv(pet)
    fused = fusion.widget
    assert isinstance(fused, FusedViewport) and fusion.host is vps[2] and fused.isVisible()
    assert isinstance(mip.widget, MipViewport) and mip.host is vps[3]
    assert mip.widget.volume is pet and fused.model.volume is mri
    # different frames of reference: not fused, the banner says so
    assert fused.fusion is None and "NOT FUSED" in fused.message
    assert w.reading.pet.registration_dock is not None

    panel = fusion.panel
    assert panel is not None
    settings_before = dict(w.reads.ancillary_session.read.settings)
    panel.nudge((0, 0, 0), (5.0, 0, 0))
    assert fused.candidate and panel.method == "manual"
    panel.reject()  # Reject leaves the record unchanged
    assert dict(w.reads.ancillary_session.read.settings) == settings_before
    assert fused.fusion is None

    panel.start_automatic()
    panel.wait(60.0)
    qtbot.waitUntil(lambda: panel.candidate is not None, timeout=60000)
    assert panel.method == "automatic"
    panel.accept()
    assert fused.fusion is not None and fused.message == "" and not fused.candidate
    (rec,) = registrations_in(w.reads.ancillary_session.read.settings)
    assert not registrations_in(w.reads.session.read.settings)  # not in the RECIST read
    assert rec.fixed_frame == mri.frame_of_reference_uid
    assert rec.moving_frame == pet.frame_of_reference_uid
    assert rec.method == "automatic" and rec.metric is not None
    entries = [e for e in AuditLog(w.reads.db.engine).entries() if e.entity_key == rec.key]
    assert entries and entries[-1].username == "dr-pet"

    # linked crosshairs: a click at T1 on the MRI moves the PET viewport to T1 in PET space
    t1 = _lesion(ground_truth, "T1")
    w.state.set_crosshair(t1["mri"]["centre_mm"], mri.frame_of_reference_uid)
    assert abs(vps[1].model.position_mm() - t1["pet"]["centre_mm"][2]) <= 2.0
    assert abs(fused.model.position_mm() - t1["mri"]["centre_mm"][2]) <= 2.0
    fused._cursor = QPointF(fused.patient_to_screen(t1["mri"]["centre_mm"]))
    assert f"PET: 11.50 {SUV_UNIT}" in fused.readout()
    qtbot.wait(50)
    w.grab().save(f"{shots_dir}/grid_mri_pet_protocol.png")
    w.close()

    # reopened: the accepted transform is back in the view state and every linked view uses it
    w2 = _window(qtbot, demo_index)
    fusion2, _mip2 = _mri_pet(qtbot, w2)
    m = w2.state.transform(mri.frame_of_reference_uid, pet.frame_of_reference_uid)
    assert m is not None
    p = m @ np.append(t1["mri"]["centre_mm"], 1.0)
    assert np.linalg.norm(p[:3] - np.asarray(t1["pet"]["centre_mm"])) <= 2.0
    assert fusion2.widget.fusion is not None


def test_shift_drag_translates_and_ctrl_drag_rotates_the_candidate(
    qtbot: QtBot, demo_index: StudyIndex
) -> None:
    w = _window(qtbot, demo_index)
    fusion, _ = _mri_pet(qtbot, w)
    fused, panel = fusion.widget, fusion.panel
    assert panel is not None and fused.model.orientation is SliceOrientation.AXIAL
    fused.one_to_one()
    spacing = min(fused.model.plane.pixel_spacing)
    start = panel.current_matrix()
    n = 20
    p0 = QPointF(fused.width() / 2.0, fused.height() / 2.0)
    p1 = p0 + QPointF(n, 0)
    left, shift = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier
    _mouse(fused, QEvent.Type.MouseButtonPress, p0, left, left, shift)
    _mouse(
        fused, QEvent.Type.MouseMove, p0 + QPointF(n / 2, 0), Qt.MouseButton.NoButton, left, shift
    )
    # live: the candidate already moved, the metric waits for the release
    assert panel.candidate is not None and panel.current_metric is None
    _mouse(fused, QEvent.Type.MouseMove, p1, Qt.MouseButton.NoButton, left, shift)
    _mouse(fused, QEvent.Type.MouseButtonRelease, p1, left, Qt.MouseButton.NoButton, shift)
    assert panel.current_metric is not None and panel.method == "manual"
    # hand computation: 1:1 zoom is one screen pixel per image pixel, so 20 px = 20 * spacing mm
    # along +x of the axial plane (patient left); a PET point now shows that far to the left
    q = np.array([10.0, -20.0, -90.0, 1.0])
    moved = np.linalg.inv(panel.candidate) @ q - np.linalg.inv(start) @ q
    assert moved[:3] == pytest.approx([n * spacing, 0.0, 0.0], abs=1e-6)

    # Ctrl+drag a quarter turn about the crosshair: the crosshair's point stays put
    c = np.asarray(fused.model.slice_centre())
    w.state.set_crosshair(c, fused.model.frame_of_reference_uid)
    start = panel.current_matrix()
    cs = fused.patient_to_screen(c)
    a, b = cs + QPointF(40, 0), cs + QPointF(0, 40)
    ctrl = Qt.KeyboardModifier.ControlModifier
    _mouse(fused, QEvent.Type.MouseButtonPress, a, left, left, ctrl)
    _mouse(fused, QEvent.Type.MouseMove, b, Qt.MouseButton.NoButton, left, ctrl)
    _mouse(fused, QEvent.Type.MouseButtonRelease, b, left, Qt.MouseButton.NoButton, ctrl)
    step = (
        np.linalg.inv(panel.candidate) @ start
    )  # the step the drag applied (candidate = start inv(step))
    assert step[:3, 3] + step[:3, :3] @ c == pytest.approx(c, abs=1e-6)
    # screen +x -> +y is patient L -> P for an axial plane: 90 degrees about +z
    assert step[:3, :3] == pytest.approx(np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]), abs=1e-6)


def test_ellipse_and_sphere_on_the_fused_view_read_suv_of_the_pet(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    """ROI tools work on the fusion cell: drawn on the MRI anatomy, measured on the PET in SUV
    through the accepted transform (here the phantom's true MRI->PET transform)."""
    from namecar_viewer.app.pet import RegistrationRecord
    from namecar_viewer.gui.tools.tools import SphereTool

    w = _window(qtbot, demo_index)
    fusion, _mip = _mri_pet(qtbot, w)
    fused = fusion.widget
    assert isinstance(fused, FusedViewport) and fused in w.tool_hosts()
    mri, pet = w.visible_viewports()[0].model.volume, w.visible_viewports()[1].model.volume
    true = ground_truth["pet"]["transform_mri_to_pet"]
    rec = RegistrationRecord.of(
        mri.frame_of_reference_uid, pet.frame_of_reference_uid, true, None, "manual"
    )
    assert w.reading.pet.store_registration(rec)
    qtbot.waitUntil(lambda: fused.fusion is not None and not fused.candidate, timeout=10000)
    assert fusion.panel is not None and "accepted transform" in fusion.panel.status.text()

    t1 = _lesion(ground_truth, "T1")
    c = np.asarray(t1["mri"]["centre_mm"], dtype=np.float64)
    fused.model.move_to_point(c)
    w.reads.set_tool(EllipseTool)
    a = fused.patient_to_screen(c - np.array([10.0, 8.0, 0.0]))
    b = fused.patient_to_screen(c + np.array([10.0, 8.0, 0.0]))
    drag(fused, a, b)
    assert w.reads.session.read.measurements == ()  # the RECIST read is not touched
    m = w.reads.ancillary_session.read.measurements[-1].measurement
    assert m.frame_of_reference_uid == mri.frame_of_reference_uid  # stored on the MRI images
    s = w.reads.layer.stats(fused, m)
    # inside the uniform 60 x 48 mm lesion every PET voxel holds SUV 11.5 (ground truth)
    assert s.unit == SUV_UNIT and s.n_pixels > 0
    assert s.mean == pytest.approx(11.5, abs=1e-3) and s.maximum == pytest.approx(11.5, abs=1e-3)
    assert s.sd == pytest.approx(0.0, abs=1e-3)
    assert SUV_UNIT in w.reads.layer.label_text(fused, m)
    # the same ellipse on the MRI viewport measures MRI signal, not SUV
    s_mri = w.reads.layer.stats(w.visible_viewports()[0], m)
    assert s_mri.unit != SUV_UNIT

    w.reads.set_tool(SphereTool)
    c2 = c + np.array([0.0, 0.0, 5.0])  # a slice above the ellipse, still deep in the lesion
    fused.model.move_to_point(c2)
    edge = c2 + np.array([10.0, 0.0, 0.0])
    drag(fused, fused.patient_to_screen(c2), fused.patient_to_screen(edge))
    sphere = w.reads.ancillary_session.read.measurements[-1].measurement
    assert sphere.radius_mm == pytest.approx(10.0, abs=1.0)
    v = w.reads.layer.stats(fused, sphere)
    assert v.unit == SUV_UNIT and v.volume_ml > 0
    assert v.maximum == pytest.approx(t1["pet"]["suv_max"], abs=1e-3)
    assert v.minimum == pytest.approx(t1["pet"]["suv_max"], abs=1e-3)
    qtbot.wait(50)
    w.grab().save(f"{shots_dir}/grid_fused_roi_suv.png")
