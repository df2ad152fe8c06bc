"""Measurement tools driven by mouse events on a viewport, checked in patient millimetres.

Screen positions come from the ground truth's LPS points through ``patient_to_screen``; the
lengths that come back go through ``screen_to_patient`` and the stored record, so the chain
screen -> plane -> patient mm is what is tested.  Expected values: ground_truth.json of the
demo phantom (lesion diameters), or hand computations written beside each assertion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.core.measure import MeasurementKind
from namecar_viewer.core.reads import Read
from namecar_viewer.gui.tools.controller import study_info
from namecar_viewer.gui.tools.layer import MeasurementLayer
from namecar_viewer.gui.tools.tools import (
    BidirectionalTool,
    EllipseTool,
    LineTool,
    MeasureTool,
    SemiAutoTool,
    SphereTool,
)
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.gui.viewport import SliceViewport
from namecar_viewer.persistence.reads_db import ReadsDatabase

SIZE = 640


def _send(vp: SliceViewport, kind: QEvent.Type, pos: QPointF, buttons: Any) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    ev = QMouseEvent(
        kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(vp, ev)


def drag(vp: SliceViewport, a: QPointF, b: QPointF, steps: int = 6) -> None:
    """Press at a, move in steps with the left button held, release at b (sub-pixel exact)."""
    left = Qt.MouseButton.LeftButton
    _send(vp, QEvent.Type.MouseButtonPress, a, left)
    for n in range(1, steps + 1):
        _send(vp, QEvent.Type.MouseMove, a + (b - a) * (n / steps), left)
    _send(vp, QEvent.Type.MouseButtonRelease, b, Qt.MouseButton.NoButton)


def click(vp: SliceViewport, a: QPointF) -> None:
    _send(vp, QEvent.Type.MouseButtonPress, a, Qt.MouseButton.LeftButton)
    _send(vp, QEvent.Type.MouseButtonRelease, a, Qt.MouseButton.NoButton)


def confirm(qtbot: QtBot, layer: MeasurementLayer) -> None:
    """Enter in the lesion chooser that opens after a measurement: its proposed choice."""
    assert layer.chooser is not None, "no lesion chooser opened"
    qtbot.keyClick(layer.chooser.list, Qt.Key.Key_Return)
    assert layer.chooser is None


class Rig:
    """One viewport with a read session, its undo stack and the measurement layer."""

    def __init__(self, qtbot: QtBot, volume: Volume, tmp: Path, orientation: Any) -> None:
        self.state = ViewState()
        self.model = ViewportModel()
        self.vp = SliceViewport(self.model, self.state)
        qtbot.addWidget(self.vp)
        self.vp.resize(SIZE, SIZE)
        self.vp.show()
        qtbot.waitUntil(self.vp.isVisible)
        self.model.set_volume(volume, orientation, "test")
        self.db = ReadsDatabase(tmp / "reads.sqlite")
        self.session = ReadSession(Read.new(patient_id="NAMECAR-001", uid="R"), self.db)
        self.undo = ReadUndoStack(self.session)
        self.layer = MeasurementLayer(self.undo, stack_info=study_info)
        self.layer.attach(self.vp)

    def use(self, cls: type[MeasureTool]) -> MeasureTool:
        tool = cls(self.layer)
        self.vp.set_tool(tool)
        return tool

    def screen(self, p: Any) -> QPointF:
        s = self.vp.patient_to_screen(np.asarray(p, dtype=np.float64))
        assert s is not None
        return s

    def only(self) -> Any:
        assert len(self.session.read.measurements) == 1
        return self.session.read.measurements[0].measurement


@pytest.fixture(scope="module")
def baseline_ct(small_demo: Path) -> tuple[Volume, dict[str, Any]]:
    from namecar_viewer.core.dicom import load_series

    gt = json.loads((small_demo / "ground_truth.json").read_text())
    folder = gt["ct_timepoints"][0]["folder"]
    return load_series(sorted((small_demo / folder).glob("*.dcm"))), gt


def _lesions(gt: dict[str, Any]) -> list[dict[str, Any]]:
    return [les for les in gt["lesions"] if les["ct"]["baseline"]["long_axis_mm"] >= 10]


def test_line_tool_measures_phantom_lesions(qtbot: QtBot, baseline_ct, tmp_path) -> None:
    vol, gt = baseline_ct
    rig = Rig(qtbot, vol, tmp_path, SliceOrientation.AXIAL)
    rig.use(LineTool)
    spacing = max(rig.model.plane.pixel_spacing)
    for les in _lesions(gt):
        t = les["ct"]["baseline"]
        c = np.asarray(t["centre_mm"])
        d = np.asarray(les["long_axis_direction"]) * t["long_axis_mm"] / 2.0
        rig.model.move_to_point(c)
        before = len(rig.session.read.measurements)
        drag(rig.vp, rig.screen(c - d), rig.screen(c + d))
        confirm(qtbot, rig.layer)  # a new target lesion, as proposed at the baseline
        assert len(rig.session.read.measurements) == before + 1
        m = rig.session.read.measurements[-1].measurement
        assert abs(m.length_mm - t["long_axis_mm"]) <= spacing, (les["id"], m.length_mm)
        # stored in patient mm on the lesion's slice, citing its image of the baseline series
        assert m.points[0][2] == pytest.approx(c[2], abs=1.25)
        assert m.series_instance_uid == vol.series_instance_uid
        k = round(float(vol.patient_to_index([c])[0][0]))
        assert [i.sop_instance_uid for i in m.images] == [vol.sop_instance_uids[k]]
    # every line started a lesion T1..T5, then RECIST's limit (5 targets, 2 per organ) makes
    # the chooser propose non-targets
    labels = [les.label for les in rig.session.read.lesions]
    n_targets = min(len(labels), 5)
    assert labels == [f"T{n}" for n in range(1, n_targets + 1)] + [
        f"NT{n}" for n in range(1, len(labels) - n_targets + 1)
    ]
    assert rig.session.read.timepoints[0].label == "baseline"
    # reopened from the database, the read is the same
    assert ReadsDatabase(tmp_path / "reads.sqlite").load_read("R") == rig.session.read


def test_semi_automatic_click_measures_phantom_lesions(qtbot: QtBot, baseline_ct, tmp_path):
    vol, gt = baseline_ct
    rig = Rig(qtbot, vol, tmp_path, SliceOrientation.AXIAL)
    tool = rig.use(SemiAutoTool)
    spacing = max(rig.model.plane.pixel_spacing)
    for les in _lesions(gt):
        t = les["ct"]["baseline"]
        c = np.asarray(t["centre_mm"])
        rig.model.move_to_point(c)
        click(rig.vp, rig.screen(c))
        assert rig.layer.proposal is not None, tool.last_error
        qtbot.keyClick(rig.vp, Qt.Key.Key_Return)  # accept
        confirm(qtbot, rig.layer)
        m = rig.session.read.measurements[-1].measurement
        assert m.kind is MeasurementKind.BIDIRECTIONAL
        assert abs(m.long_axis_mm - t["long_axis_mm"]) <= spacing, les["id"]
        assert abs(m.short_axis_mm - t["short_axis_mm"]) <= spacing, les["id"]
    # Escape discards a proposal: nothing stored
    n = len(rig.session.read.measurements)
    c = np.asarray(gt["lesions"][0]["ct"]["baseline"]["centre_mm"])
    rig.model.move_to_point(c)
    click(rig.vp, rig.screen(c))
    qtbot.keyClick(rig.vp, Qt.Key.Key_Escape)
    assert rig.layer.proposal is None and len(rig.session.read.measurements) == n


def test_bidirectional_handles_keep_perpendicular_and_undo_per_drag(
    qtbot: QtBot, baseline_ct, tmp_path
) -> None:
    vol, gt = baseline_ct
    rig = Rig(qtbot, vol, tmp_path, SliceOrientation.AXIAL)
    rig.use(BidirectionalTool)
    les = next(x for x in gt["lesions"] if x["id"] == "T5")  # the node: 25 x 18 mm
    t = les["ct"]["baseline"]
    c = np.asarray(t["centre_mm"])
    rig.model.move_to_point(c)
    half_long = np.array([t["long_axis_mm"] / 2, 0, 0])
    drag(rig.vp, rig.screen(c - half_long), rig.screen(c + half_long))
    confirm(qtbot, rig.layer)
    m = rig.only()
    assert m.short_axis_mm == pytest.approx(t["long_axis_mm"] / 2, abs=0.6)  # starts at half
    # drag the short-axis handles onto the node's edges (y = centre -/+ 9 mm)
    half_short = np.array([0, t["short_axis_mm"] / 2, 0])
    for handle, target in ((2, c - half_short), (3, c + half_short)):
        m = rig.only()
        drag(rig.vp, rig.screen(m.points[handle]), rig.screen(target))
    m = rig.only()
    spacing = max(rig.model.plane.pixel_spacing)
    assert abs(m.long_axis_mm - 25.0) <= spacing and abs(m.short_axis_mm - 18.0) <= spacing
    a, b, cc, d = (np.asarray(p) for p in m.points)
    assert abs(float((b - a) @ (d - cc))) < 1e-6
    # now drag a long-axis end: the short axis follows, still perpendicular, same length
    short = m.short_axis_mm
    drag(rig.vp, rig.screen(m.points[1]), rig.screen(c + np.array([10.0, 8.0, 0.0])))
    m2 = rig.only()
    a, b, cc, d = (np.asarray(p) for p in m2.points)
    assert abs(float((b - a) @ (d - cc))) < 1e-6
    assert m2.short_axis_mm == pytest.approx(short, abs=1e-9)
    # 1 add + 1 assignment (the new lesion) + 3 drags = 5 undo steps, however many mouse moves
    assert rig.undo.count() == 5
    rig.undo.undo()
    assert rig.only().points == m.points
    rig.undo.undo()
    rig.undo.undo()
    rig.undo.undo()
    assert rig.session.read.lesions == ()  # the assignment undone: the lesion is gone
    rig.undo.undo()
    assert rig.session.read.measurements == ()
    assert ReadsDatabase(tmp_path / "reads.sqlite").load_read("R").measurements == ()
    for _ in range(5):
        rig.undo.redo()
    assert rig.only().points == m2.points


def test_measurement_drawn_only_on_its_slice_and_deleted_by_key(
    qtbot: QtBot, baseline_ct, tmp_path
) -> None:
    vol, gt = baseline_ct
    rig = Rig(qtbot, vol, tmp_path, SliceOrientation.AXIAL)
    rig.use(LineTool)
    c = np.asarray(gt["lesions"][1]["ct"]["baseline"]["centre_mm"])
    rig.model.move_to_point(c)
    drag(rig.vp, rig.screen(c - np.array([10, 0, 0])), rig.screen(c + np.array([10, 0, 0])))
    confirm(qtbot, rig.layer)
    assert len(rig.layer.visible(rig.vp)) == 1
    k = rig.model.index
    rig.model.set_index(k + 1)  # 2.5 mm away, more than half the 2.5 mm spacing
    assert rig.layer.visible(rig.vp) == []
    rig.model.set_index(k)
    # press on the line selects it (body drag of zero length); Delete removes it
    click(rig.vp, rig.screen(c))
    assert rig.layer.selected is not None
    qtbot.keyClick(rig.vp, Qt.Key.Key_Delete)
    assert rig.session.read.measurements == ()
    # the lesion created with the line stays (its measurement is gone)
    assert len(rig.session.read.lesions) == 1


def test_ellipse_and_sphere_statistics_on_phantom(qtbot: QtBot, baseline_ct, tmp_path) -> None:
    vol, gt = baseline_ct
    rig = Rig(qtbot, vol, tmp_path, SliceOrientation.AXIAL)
    rig.use(EllipseTool)
    les = gt["lesions"][0]  # kidney primary, 95 HU, 60 x 48 mm
    c = np.asarray(les["ct"]["baseline"]["centre_mm"])
    rig.model.move_to_point(c)
    drag(rig.vp, rig.screen(c - np.array([12, 8, 0])), rig.screen(c + np.array([12, 8, 0])))
    m = rig.only()
    # ellipse in a 24 x 16 mm box: area = pi * 12 * 8 = 301.6 mm2
    assert m.area_mm2 == pytest.approx(math.pi * 12 * 8, rel=0.03)
    s = rig.layer.stats(rig.vp, m)
    assert s.unit == "HU"
    # inside the lesion: its CT number, noise averaged out over ~90 pixels
    assert s.mean == pytest.approx(les["ct_hu"], abs=4.0)
    assert "HU" in rig.layer.label_text(rig.vp, m)
    rig.use(SphereTool)
    drag(rig.vp, rig.screen(c), rig.screen(c + np.array([10, 0, 0])))
    sphere = rig.session.read.measurements[-1].measurement
    assert sphere.radius_mm == pytest.approx(10.0, abs=0.6)
    s = rig.layer.stats(rig.vp, sphere)
    assert s.mean == pytest.approx(les["ct_hu"], abs=4.0)  # a 10 mm sphere inside the tumour


def _measure_bidi_in_pixels(qtbot, tmp_path, vol, orientation, a_rc, b_rc):
    rig = Rig(qtbot, vol, tmp_path, orientation)
    rig.use(BidirectionalTool)
    rig.model.set_index(0)
    pa = rig.vp.pixel_to_screen(*a_rc)
    pb = rig.vp.pixel_to_screen(*b_rc)
    drag(rig.vp, pa, pb)
    confirm(qtbot, rig.layer)
    return rig.only()


def test_bidirectional_on_anisotropic_stack_matches_hand_computation(qtbot, tmp_path) -> None:
    # rows 0.8 mm apart, columns 0.5 mm apart.  Long axis from pixel (10, 20) to (40, 60):
    # sqrt((30 * 0.8)^2 + (40 * 0.5)^2) = sqrt(576 + 400) = 31.2410 mm; short axis half of it.
    vol = Volume(
        np.zeros((3, 64, 96), np.int16),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (0.8, 0.5), (-20, -30, 0), (0, 0, 3.0)),
        frame_of_reference_uid="1.2.3",
        modality="CT",
    )
    m = _measure_bidi_in_pixels(qtbot, tmp_path, vol, SliceOrientation.AXIAL, (10, 20), (40, 60))
    assert m.long_axis_mm == pytest.approx(math.sqrt(976.0), abs=1e-6)
    assert m.short_axis_mm == pytest.approx(math.sqrt(976.0) / 2, abs=1e-6)


def test_bidirectional_on_oblique_stack_matches_hand_computation(qtbot, tmp_path) -> None:
    # Oblique acquisition plane: rows along (cos 30, sin 30, 0), columns tilted 20 degrees out of
    # the axial plane; spacing 0.7 x 0.9 mm.  Pixel (5, 8) -> (25, 23): 20 rows x 0.7 = 14 mm and
    # 15 columns x 0.9 = 13.5 mm on orthonormal axes: sqrt(14^2 + 13.5^2) = sqrt(378.25) mm.
    c30, s30 = math.cos(math.radians(30)), math.sin(math.radians(30))
    c20, s20 = math.cos(math.radians(20)), math.sin(math.radians(20))
    row, col = (c30, s30, 0.0), (-s30 * c20, c30 * c20, s20)
    vol = Volume(
        np.zeros((2, 48, 48), np.int16),
        affine_from_dicom([*row, *col], (0.7, 0.9), (10, -20, 5), np.cross(row, col) * 4.0),
        frame_of_reference_uid="1.2.3",
        modality="CT",
    )
    m = _measure_bidi_in_pixels(
        qtbot, tmp_path, vol, SliceOrientation.ACQUISITION, (5, 8), (25, 23)
    )
    assert m.long_axis_mm == pytest.approx(math.sqrt(378.25), abs=1e-6)
    # stored points lie in the oblique plane and the record keeps that plane
    n = np.cross(row, col)
    assert np.allclose(m.plane.normal, n)
    d = (np.asarray(m.points) - np.asarray((10.0, -20.0, 5.0))) @ n
    assert np.abs(d).max() < 1e-9
