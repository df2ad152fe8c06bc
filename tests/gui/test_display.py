"""The reading-room display (issue 16, part 5): nothing clipped at 1280x800, 1920x1080 and a
2048x2560 diagnostic display, the dark theme by default, overlay text legible on any image.

Each size opens the workstation as ``namecar-viewer --demo --user "Demo Reader"`` does (the demo
read with its timepoints), sets the window to the screen's size and checks geometry facts: every
row of the response table inside its viewport (the latest, PD, without scrolling), the status
bar's widgets whole, the shortcuts window on the screen, the MRI-PET window's buttons whole.
Screenshots go to /tmp/shots/display (looked at by whoever changes the layout).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from namecar_viewer.gui.main import start_review
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.study_index import StudyIndex

SHOTS = Path("/tmp/shots/display")
SIZES = ((1280, 800), (1920, 1080), (2048, 2560))


@pytest.fixture
def demo_db(small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    monkeypatch.setenv("NAMECAR_READS_DB", str(tmp_path / "own.sqlite"))
    db = tmp_path / "reads.sqlite"
    uid, why = ensure_demo_read(small_demo, db)
    assert uid is not None, why
    return db


def open_workstation(qtbot: QtBot, demo: Path, db: Path, size: tuple[int, int]) -> MainWindow:
    w = MainWindow(index=StudyIndex(":memory:"))
    qtbot.addWidget(w)
    assert start_review(w, str(db), "Demo Reader", True) == ""
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.open_paths([str(demo)])
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    qtbot.waitUntil(lambda: w.response.panel.table.rowCount() >= 4, timeout=30000)
    qtbot.wait(50)
    return w


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(SHOTS / f"{name}.png"))


def inside(child: QWidget, parent: QWidget) -> bool:
    """``child`` whole inside ``parent``'s rectangle (both visible)."""
    top_left = child.mapTo(parent, QPoint(0, 0))
    return QRect(top_left, child.size()).intersected(parent.rect()) == QRect(top_left, child.size())


def assert_whole(widget: QWidget) -> None:
    """Buttons, labels and combo boxes at least as wide as they ask to be (text not cut)."""
    cut = []
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget) or child.width() <= 0:
            continue
        texty = isinstance(child, QAbstractButton | QComboBox) or (
            isinstance(child, QLabel) and not child.wordWrap() and bool(child.text())
        )
        if texty and child.sizeHint().width() > child.width() + 1:
            cut.append(
                f"{type(child).__name__} {getattr(child, 'text', lambda: '')()!r}: "
                f"{child.width()} < {child.sizeHint().width()}"
            )
    assert not cut, cut


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_nothing_clipped_at_reading_room_sizes(
    qtbot: QtBot, small_demo: Path, demo_db: Path, size: tuple[int, int]
) -> None:
    w = open_workstation(qtbot, small_demo, demo_db, size)
    name = f"{size[0]}x{size[1]}"
    assert QApplication.instance().property("namecar_theme") == "dark"  # type: ignore[union-attr]
    assert w.palette().window().color().lightness() < 80
    # the response table: every timepoint row inside its viewport, the latest (PD) included
    panel = w.response.panel
    panel.tabs.setCurrentIndex(0)
    qtbot.wait(20)
    shot(w, f"main_{name}")
    table: QTableWidget = panel.table
    rows = table.rowCount()
    assert rows >= 4
    view = table.viewport().rect()
    for r in range(rows):
        rect = table.visualRect(table.model().index(r, 0))
        assert view.contains(rect), (name, r, rect, view)
    overall = [table.item(r, 9).text() for r in range(rows)]
    assert "PD" in overall
    # the status bar is not covered and its widgets are whole
    bar = w.statusBar()
    assert bar.isVisible() and bar.geometry().bottom() <= w.rect().bottom()
    assert bar.height() >= bar.sizeHint().height()
    for child in bar.findChildren(QWidget):
        if child.isVisibleTo(bar) and child.parent() is bar:
            assert inside(child, bar), (name, child)
    assert_whole(bar)
    # the shortcuts window fits the screen
    dlg = w.show_shortcuts()
    qtbot.waitExposed(dlg)
    screen = QRect(0, 0, *size)
    assert dlg.frameGeometry().width() <= size[0] and dlg.frameGeometry().height() <= size[1]
    assert screen.contains(QRect(dlg.mapToGlobal(QPoint(0, 0)), dlg.size())) or (
        dlg.width() <= size[0] and dlg.height() <= size[1]
    )
    t = dlg.table
    for c in range(t.columnCount()):
        assert t.columnWidth(c) >= t.sizeHintForColumn(c) - 1
    # every column inside the table (the keys are not behind a horizontal scroll bar)
    assert t.horizontalHeader().length() <= t.viewport().width(), (name, t.viewport().width())
    shot(dlg, f"shortcuts_{name}")
    dlg.close()


def test_charts_show_values_on_hover(qtbot: QtBot, small_demo: Path, demo_db: Path) -> None:
    """The response charts (pyqtgraph) give a point's timepoint and value when the mouse moves
    over it (a real mouse-move event on the plot's viewport)."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    w = open_workstation(qtbot, small_demo, demo_db, (1920, 1080))
    panel = w.response.panel
    panel.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    for chart, want in (
        (panel.sum_chart, ("fu09m", "sum 99.0 mm", "PD")),
        (panel.spider_chart, ("T1 at", "from baseline")),
    ):
        assert chart.points
        view = chart.plot
        last = len(chart.points) - 1
        pos = view.mapFromScene(chart.scene_pos_of(last))
        ev = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(pos),
            QPointF(view.viewport().mapToGlobal(pos)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(view.viewport(), ev)
        qtbot.wait(20)
        assert chart.hover_text == chart.points[last][2]
        for text in want:
            assert any(text in p[2] for p in chart.points), (text, chart.points)
    shot(w.response.dock, "charts_hover_1920x1080")
    # overlay text on a bright CT bone window (looked at: outlined, legible over bone)
    from namecar_viewer.core.geometry.reslice import CT_BONE

    vp = w.active
    vp.model.apply_preset(CT_BONE)
    qtbot.wait(30)
    shot(vp, "ct_bone_overlay_1920x1080")


def test_overlay_text_legible_on_white_and_black(qtbot: QtBot) -> None:
    """The corner text keeps dark pixels around its light glyphs on a white image (an inverted
    PET, a bone window) and light glyphs on a black one."""
    from gui_synthetic import synthetic_ct

    from namecar_viewer.app.view_state import ViewportModel, ViewState
    from namecar_viewer.core.geometry.reslice import SliceOrientation, WindowLevel
    from namecar_viewer.gui.viewport import SliceViewport

    vol = synthetic_ct()
    for invert, name in ((True, "white"), (False, "black")):
        model = ViewportModel()
        vp = SliceViewport(model, ViewState())
        qtbot.addWidget(vp)
        vp.resize(400, 400)
        vp.show()
        model.set_volume(vol, SliceOrientation.AXIAL)
        # a window that makes the whole slice white (inverted: everything below the window)
        model.set_window(WindowLevel(10.0, 5000.0), invert)
        qtbot.wait(20)
        img = vp.grab().toImage()
        shot(vp, f"overlay_on_{name}")
        # bottom-left corner text ("Im: ...") region
        ptr = img.constBits()
        arr = np.frombuffer(ptr, dtype=np.uint8).reshape(img.height(), img.bytesPerLine())
        px = arr[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[..., :3].mean(axis=2)
        corner = px[340:395, 5:120]
        assert (corner < 60).sum() > 50, name  # dark outline (or the black image)
        assert (corner > 200).sum() > 50, name  # light glyphs (or the white image)
        if invert:
            # the image itself is white here: the dark pixels are the outline
            assert px[200, 200] > 240


def test_dark_theme_default_and_light_remembered(qtbot: QtBot) -> None:
    from namecar_viewer.gui import theme

    w = MainWindow()
    qtbot.addWidget(w)
    assert theme.saved_theme() == "dark"
    w.actions_by_name["theme_light"].trigger()
    assert theme.current() == "light" and theme.saved_theme() == "light"
    assert QApplication.palette().window().color().lightness() > 180
    w.actions_by_name["theme_dark"].trigger()
    assert theme.current() == "dark" and theme.saved_theme() == "dark"
    assert QApplication.palette().window().color().lightness() < 80
