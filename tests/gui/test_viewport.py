"""Viewport behaviour driven through Qt events, checked in patient millimetres."""

from __future__ import annotations

import numpy as np
import pytest
from gui_synthetic import CT_ORIGIN, CT_PIXEL_SPACING, CT_SHAPE, CT_SLICE_STEP
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation, WindowLevel
from namecar_viewer.gui.viewport import SliceViewport, ViewportTool

SIZE = 400


def _viewport(
    qtbot: QtBot,
    volume: Volume | None,
    state: ViewState | None = None,
    orientation: SliceOrientation = SliceOrientation.AXIAL,
) -> SliceViewport:
    model = ViewportModel()
    vp = SliceViewport(model, state)
    qtbot.addWidget(vp)
    vp.resize(SIZE, SIZE)
    vp.show()
    qtbot.waitUntil(vp.isVisible)
    if volume is not None:
        model.set_volume(volume, orientation, "synthetic CT")
    return vp


def test_scroll_changes_slice_and_shown_position(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    m = vp.model
    assert m.index == 30  # middle of 60 slices
    # slice 30 is at z = 50 + 30 * 2.5 = 125 mm
    assert "Pos: 125.0 mm" in vp.overlay_texts()["bottom_left"]
    assert "Im: 31/60" in vp.overlay_texts()["bottom_left"]
    qtbot.keyClick(vp, Qt.Key.Key_Down)
    assert m.index == 31
    assert "Pos: 127.5 mm" in vp.overlay_texts()["bottom_left"]
    qtbot.keyClick(vp, Qt.Key.Key_PageDown)
    assert m.index == 41
    qtbot.keyClick(vp, Qt.Key.Key_End)
    assert m.index == 59
    # last slice: z = 50 + 59 * 2.5 = 197.5
    assert "Pos: 197.5 mm" in vp.overlay_texts()["bottom_left"]
    qtbot.keyClick(vp, Qt.Key.Key_Home)
    assert m.index == 0
    qtbot.keyClick(vp, Qt.Key.Key_PageUp)
    assert m.index == 0
    # the painted image follows: slice 0 is entirely outside the lungs/sphere, row of body HU
    before = vp.grab().toImage()
    m.set_index(24)  # z = 110 mm: through the centre of the 180 HU sphere
    after = vp.grab().toImage()
    assert before != after


def test_wheel_scrolls_and_ctrl_wheel_zooms(qtbot: QtBot, ct_volume: Volume) -> None:
    from PySide6.QtCore import QPoint as QP
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    vp = _viewport(qtbot, ct_volume)
    start = vp.model.index

    def wheel(delta: int, mods: Qt.KeyboardModifier) -> None:
        ev = QWheelEvent(
            QPointF(200, 200),
            QPointF(200, 200),
            QP(0, 0),
            QP(0, delta),
            Qt.MouseButton.NoButton,
            mods,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(vp, ev)

    wheel(-240, Qt.KeyboardModifier.NoModifier)  # two notches towards the user
    assert vp.model.index == start + 2
    scale = vp.scale
    wheel(120, Qt.KeyboardModifier.ControlModifier)
    assert vp.scale == pytest.approx(scale * 1.15)
    assert vp.model.index == start + 2


def test_right_drag_changes_window_level(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    assert vp.model.window == WindowLevel(400.0, 40.0)  # CT soft-tissue default
    qtbot.mousePress(vp, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(vp, QPoint(164, 132))
    qtbot.mouseRelease(vp, Qt.MouseButton.RightButton, pos=QPoint(164, 132))
    # step = 400 / 256 = 1.5625 per pixel:
    # width 400 + 64 * 1.5625 = 500, level 40 + 32 * 1.5625 = 90
    assert vp.model.window.width == pytest.approx(500.0)
    assert vp.model.window.center == pytest.approx(90.0)
    assert "W: 500 L: 90" in vp.overlay_texts()["bottom_left"]


def test_crosshair_click_moves_linked_viewports_to_the_same_point(
    qtbot: QtBot, ct_volume: Volume
) -> None:
    state = ViewState()
    ax = _viewport(qtbot, ct_volume, state, SliceOrientation.AXIAL)
    cor = _viewport(qtbot, ct_volume, state, SliceOrientation.CORONAL)
    sag = _viewport(qtbot, ct_volume, state, SliceOrientation.SAGITTAL)
    # Axial slice: 256 cols x 0.6 mm = 153.6 mm wide, 256 rows x 0.8 mm = 204.8 mm high; fitted
    # into 400 x 400 px: scale = min(400 / 153.6, 400 / 204.8) = 1.953125 px/mm.
    scale = 1.953125
    assert ax.scale == pytest.approx(scale)
    # The widget centre shows the slice centre: pixel (127.5, 127.5) ->
    # x = -100 + 127.5 * 0.6 = -23.5, y = -120 + 127.5 * 0.8 = -18.0, z = 50 + 30 * 2.5 = 125.
    # Click 4.5 mm right and 8.4 mm up of the centre: (x, y, z) = (-19.0, -26.4, 125.0).
    click = QPoint(round(200 + 4.5 * scale), round(200 - 8.4 * scale))
    # rounding the click to whole pixels: 208.789 -> 209, 183.59 -> 184
    x = -23.5 + (209 - 200) / scale
    y = -18.0 + (184 - 200) / scale
    qtbot.mouseClick(ax, Qt.MouseButton.LeftButton, pos=click)
    assert state.crosshair is not None
    assert state.crosshair == pytest.approx([x, y, 125.0])
    # Coronal planes are y = -120 + s * 0.8: s = round((y + 120) / 0.8)
    s_cor = round((y + 120.0) / 0.8)
    assert cor.model.index == s_cor == 117
    assert cor.model.plane.distance(state.crosshair)[0] == pytest.approx(y - (-120 + s_cor * 0.8))
    # Sagittal planes are numbered like the columns: x = -100 + s * 0.6
    s_sag = round((x + 100.0) / 0.6)
    assert sag.model.index == s_sag == 135
    # The crosshair projects into each linked view at the same patient point.
    for vp in (cor, sag):
        back = vp.screen_to_patient(vp.patient_to_screen(state.crosshair))
        plane = vp.model.plane
        # back lies on the plane; the difference from the crosshair is along the normal only
        d = back - state.crosshair
        assert np.cross(d, plane.normal) == pytest.approx([0, 0, 0], abs=1e-9)
    # A click in the coronal view moves the axial view: click the widget centre of coronal.
    # Coronal slice: 256 cols x 0.6 = 153.6 mm wide, 60 rows x 2.5 = 150 mm high ->
    # scale = min(400 / 153.6, 400 / 150) = 2.6041667; the centre row (29.5) is
    # z = 50 + (59 - 29.5) * 2.5 = 123.75 (rows run head to feet).
    qtbot.mouseClick(cor, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    assert state.crosshair[2] == pytest.approx(123.75)
    # nearest axial slice to z = 123.75: (123.75 - 50) / 2.5 = 29.5 -> round half to even = 30
    assert ax.model.index == 30


def test_other_frame_of_reference_does_not_follow(qtbot: QtBot, ct_volume: Volume) -> None:
    state = ViewState()
    ax = _viewport(qtbot, ct_volume, state)
    other = Volume(ct_volume.array, ct_volume.affine, frame_of_reference_uid="9.9.9")
    cor = _viewport(qtbot, other, state, SliceOrientation.CORONAL)
    before = cor.model.index
    qtbot.mouseClick(ax, Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    assert cor.model.index == before


def test_pixel_readout_in_hu_with_patient_coordinate(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    vp.model.set_index(24)  # z = 50 + 24 * 2.5 = 110: sphere centre plane
    # sphere centre (10, -10, 110): pixel col = (10 + 100) / 0.6 = 183.33, row = (-10 + 120) / 0.8
    pos = vp.patient_to_screen([10.0, -10.0, 110.0])
    # Deliver the move straight to the viewport: through the (shared, offscreen) cursor, Qt may
    # send nothing when the cursor is already there or another test's window holds the mouse.
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(pos),
        QPointF(vp.mapToGlobal(pos.toPoint())),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(vp, move)
    text = vp.readout()
    assert text.startswith("180 HU")
    assert "mm LPS" in text


def test_viewport_that_cannot_load_shows_reason(qtbot: QtBot, shots_dir: str) -> None:
    vp = _viewport(qtbot, None)
    vp.model.set_error(
        "file IM0003: truncated pixel data (expected 524288 bytes, found 1000)", "CT 2.5 mm"
    )
    img: QImage = vp.grab().toImage()
    img.save(f"{shots_dir}/viewport_error.png")
    colours = {img.pixelColor(x, y).name() for x in range(0, SIZE, 7) for y in range(0, SIZE, 7)}
    # not an empty black square: a tinted background and text pixels
    assert QColor(0, 0, 0).name() not in colours
    assert len(colours) > 3


class _RecordingTool(ViewportTool):
    name = "record"

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []

    def mouse_press(self, vp: SliceViewport, event) -> bool:  # type: ignore[no-untyped-def]
        p = vp.screen_to_patient(event.position())
        assert p is not None
        self.points.append(p)
        return True


def test_tool_hook_receives_clicks_in_patient_mm(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    tool = _RecordingTool()
    vp.set_tool(tool)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    # centre of the axial slice 30: (-23.5, -18.0, 125.0) as worked out above
    assert tool.points[0] == pytest.approx([-23.5, -18.0, 125.0])
    assert vp.state.crosshair is None  # the tool consumed the click


def test_geometry_constants_match_volume(ct_volume: Volume) -> None:
    assert ct_volume.shape == CT_SHAPE
    assert ct_volume.spacing == (CT_SLICE_STEP, *CT_PIXEL_SPACING)
    assert ct_volume.index_to_patient([[0, 0, 0]])[0] == pytest.approx(CT_ORIGIN)


def test_cine_advances_and_wraps(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    vp.model.set_index(58)
    vp.toggle_cine()
    assert vp.cine_running
    # 10 frames per second: two ticks take 200 ms; 59 -> wraps to 0
    qtbot.waitUntil(lambda: vp.model.index == 0, timeout=2000)
    vp.toggle_cine()
    assert not vp.cine_running


def test_zoom_fit_and_one_to_one(qtbot: QtBot, ct_volume: Volume) -> None:
    vp = _viewport(qtbot, ct_volume)
    vp.one_to_one()
    # one screen pixel per image pixel along the finer spacing (0.6 mm): 1 / 0.6 px per mm
    assert vp.scale == pytest.approx(1 / 0.6)
    vp.fit()
    assert vp.scale == pytest.approx(1.953125)  # min(400 / 153.6, 400 / 204.8)


def test_oblique_volume_renders_in_axial_with_outside_black(qtbot: QtBot, shots_dir: str) -> None:
    import math

    from namecar_viewer.core.geometry import affine_from_dicom

    a = math.radians(30)
    row = [math.cos(a), math.sin(a), 0.0]
    col = [0.0, 0.0, -1.0]  # an oblique coronal-ish stack
    aff = affine_from_dicom(row + col, (1.0, 1.0), (0.0, 0.0, 0.0), None)
    aff[:3, 0] = np.cross(row, col) * 2.0
    arr = np.full((40, 64, 64), 100, np.int16)
    vol = Volume(arr, aff, frame_of_reference_uid="5.5", modality="CT")
    vp = _viewport(qtbot, vol, orientation=SliceOrientation.AXIAL)
    sl = vp.model.current_slice()
    assert sl is not None and sl.interpolated
    assert np.isnan(sl.pixels).any()
    np.testing.assert_allclose(sl.pixels[np.isfinite(sl.pixels)], 100.0, rtol=1e-6)
    vp.grab().save(f"{shots_dir}/oblique_axial_reformat.png")


def test_titles_differing_at_their_end_stay_apart_in_a_narrow_viewport(
    qtbot: QtBot, ct_volume: Volume
) -> None:
    """Two volumes of one series (a field map and its magnitude) are named alike up to their
    last words: a viewport too narrow for the whole title still draws the end that differs."""
    vp = _viewport(qtbot, ct_volume)
    vp.resize(240, SIZE)
    stem = "801 B0 NS fieldmap dual echo, reconstructed"
    drawn = []
    for title in (f"{stem} echo 1.52, M", f"{stem} echo 0, FIELD_MAP"):
        vp.model.set_volume(ct_volume, SliceOrientation.AXIAL, title)
        assert title in vp.overlay_texts()["top_right"]
        assert vp.fontMetrics().horizontalAdvance(title) > vp.width() // 2
        image = vp.grab().toImage()
        # the top-right corner's text: the title is its second line
        drawn.append(bytes(image.copy(vp.width() // 2, 0, vp.width() // 2, 60).constBits()))
    assert drawn[0] != drawn[1]
