"""A reader at the workstation: keys to the focused widget, mouse on the viewports' widgets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from namecar_viewer.gui.main import start_review
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.study_index import StudyIndex

LEFT = Qt.MouseButton.LeftButton


class Workstation:
    """The main window as ``namecar-viewer PATH --db DB --user USER`` opens it."""

    def __init__(
        self, qtbot: QtBot, demo: Path, db: Path, user: str, shots: str | None = None
    ) -> None:
        self.qtbot = qtbot
        self.shots = shots
        self.w = MainWindow(index=StudyIndex(":memory:"))
        qtbot.addWidget(self.w)
        problem = start_review(self.w, str(db), user, True)
        assert problem == "", problem
        self.w.resize(1600, 1000)
        self.w.show()
        qtbot.waitExposed(self.w)
        self.w.open_paths([str(demo)])
        self.w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
        self.wait_loads()

    # --- what is on screen -----------------------------------------------------------------
    @property
    def reads(self) -> Any:
        return self.w.reads

    @property
    def read(self) -> Any:
        return self.w.reads.session.read

    @property
    def chooser(self) -> Any:
        return self.w.reads.layer.chooser

    def wait_loads(self) -> None:
        self.qtbot.waitUntil(lambda: not self.w.reading.loading, timeout=30000)
        self.qtbot.wait(20)

    def viewport_of(self, study_uid: str) -> Any:
        for vp in self.w.visible_viewports():
            vol = vp.model.volume
            if vol is not None and vol.study_instance_uid == study_uid:
                return vp
        raise AssertionError(f"no viewport shows study {study_uid}")

    def shot(self, name: str) -> None:
        if self.shots:
            self.qtbot.wait(20)
            self.w.grab().save(f"{self.shots}/{name}.png")

    def back_to_window(self) -> None:
        """After a dialog closes the main window is active again (the window manager does it;
        offscreen the test does)."""
        self.w.activateWindow()
        self.qtbot.waitUntil(lambda: QApplication.activeWindow() is self.w)
        self.w.focus_images()

    # --- keyboard --------------------------------------------------------------------------
    def focus(self) -> QWidget:
        fw = QApplication.focusWidget()
        return fw if fw is not None else self.w

    def key(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier):  # type: ignore[no-untyped-def]
        QTest.keyClick(self.focus(), key, modifier)
        self.qtbot.wait(5)

    def shortcut(self, text: str) -> None:
        """A key combination as written in the menus ("Alt+1", "Ctrl+Shift+G", "D")."""
        combo = QKeySequence(text)[0]
        QTest.keyClick(self.focus(), combo.key(), combo.keyboardModifiers())
        self.qtbot.wait(5)

    def type(self, text: str) -> None:
        QTest.keyClicks(self.focus(), text)

    # --- mouse -----------------------------------------------------------------------------
    def screen(self, vp: Any, lps: Sequence[float]) -> QPointF:
        p = vp.patient_to_screen(np.asarray(lps, dtype=np.float64))
        assert p is not None
        return QPointF(p)

    def scroll_to(self, vp: Any, lps: Sequence[float]) -> None:
        """Arrow keys in the viewport until it shows the slice through ``lps`` (as a reader
        scrolls to a lesion)."""
        QTest.mouseClick(
            vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, vp.rect().center()
        )  # the viewport takes the keyboard (no tool acts)
        target = vp.model.geometry.index_of(np.asarray(lps, dtype=np.float64))
        for _ in range(400):
            here = vp.model.index
            if here == target:
                break
            key = Qt.Key.Key_Down if target > here else Qt.Key.Key_Up
            QTest.keyClick(vp, key)
        assert vp.model.index == target

    def drag(self, vp: Any, a: Sequence[float], b: Sequence[float], steps: int = 6) -> None:
        """Press at ``a``, move with the left button held, release at ``b`` (LPS points)."""
        pa, pb = self.screen(vp, a), self.screen(vp, b)
        self._mouse(vp, QEvent.Type.MouseButtonPress, pa, LEFT, LEFT)
        for n in range(1, steps + 1):
            pos = pa + (pb - pa) * (n / steps)
            self._mouse(vp, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, LEFT)
        self._mouse(vp, QEvent.Type.MouseButtonRelease, pb, LEFT, Qt.MouseButton.NoButton)
        self.qtbot.wait(5)

    def click_at(self, vp: Any, a: Sequence[float]) -> None:
        pa = self.screen(vp, a)
        self._mouse(vp, QEvent.Type.MouseButtonPress, pa, LEFT, LEFT)
        self._mouse(vp, QEvent.Type.MouseButtonRelease, pa, LEFT, Qt.MouseButton.NoButton)
        self.qtbot.wait(5)

    @staticmethod
    def _mouse(vp: Any, kind: QEvent.Type, pos: QPointF, button: Any, buttons: Any) -> None:
        # sub-pixel positions (QTest rounds to whole pixels); the same event a mouse sends
        ev = QMouseEvent(
            kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(vp, ev)

    def click_widget(self, widget: QWidget, pos: QPoint | None = None) -> None:
        QTest.mouseClick(widget, LEFT, Qt.KeyboardModifier.NoModifier, pos or QPoint())
        self.qtbot.wait(5)

    def click_cell(self, table: Any, row: int, column: int) -> None:
        item = table.item(row, column)
        assert item is not None
        rect = table.visualItemRect(item)
        table.scrollToItem(item)
        rect = table.visualItemRect(item)
        QTest.mouseClick(table.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, rect.center())
        self.qtbot.wait(5)

    # --- the lesion chooser ----------------------------------------------------------------
    def chooser_options(self) -> list[str]:
        ch = self.chooser
        assert ch is not None, "no lesion chooser is open"
        return [ch.list.item(i).text() for i in range(ch.list.count())]

    def choose(
        self,
        starts_with: str | None = None,
        site: str | None = None,
        primary: bool = False,
        link: str | None = None,
    ) -> None:
        """In the open chooser: arrow keys to the option, type the site (Tab to it), tick the
        primary renal tumour (Tab, Space), Enter."""
        ch = self.chooser
        assert ch is not None, "no lesion chooser is open"
        assert QApplication.focusWidget() is ch.list
        if starts_with is not None:
            texts = self.chooser_options()
            want = next(i for i, t in enumerate(texts) if t.startswith(starts_with))
            while ch.list.currentRow() != want:
                down = ch.list.currentRow() < want
                QTest.keyClick(ch.list, Qt.Key.Key_Down if down else Qt.Key.Key_Up)
        if site is not None:
            QTest.keyClick(ch.list, Qt.Key.Key_Tab)  # to the site box
            assert QApplication.focusWidget() is ch.site_combo, QApplication.focusWidget()
            QTest.keyClicks(ch.site_combo, site)
        if primary:
            QTest.keyClick(self.focus(), Qt.Key.Key_Tab)
            assert QApplication.focusWidget() is ch.primary_check
            QTest.keyClick(ch.primary_check, Qt.Key.Key_Space)
            assert ch.primary_check.isChecked()
        if link is not None:
            QTest.keyClick(self.focus(), Qt.Key.Key_Tab)  # to "Same lesion as"
            assert QApplication.focusWidget() is ch.link_combo, QApplication.focusWidget()
            QTest.keyClicks(ch.link_combo, link)
        QTest.keyClick(self.focus(), Qt.Key.Key_Return)
        self.qtbot.wait(5)
        assert self.chooser is None


# --- the phantom's lesions as a reader measures them -----------------------------------------


def diameter_line(les: dict[str, Any], tp: str) -> tuple[np.ndarray, np.ndarray]:
    """The RECIST diameter as a reader draws it: the long axis, the short axis of a node."""
    at = les["ct"][tp]
    c = np.asarray(at["centre_mm"], dtype=np.float64)
    d = np.asarray(les["long_axis_direction"], dtype=np.float64)
    d /= np.linalg.norm(d)
    if les["is_lymph_node"]:
        d = np.cross([0.0, 0.0, 1.0], d)
        half = at["short_axis_mm"] / 2.0
    else:
        half = at["long_axis_mm"] / 2.0
    return c - half * d, c + half * d


def row_of(ws: Workstation, label: str) -> int:
    """The lesion table's row of a lesion label."""
    t = ws.reads.panel.table
    return next(r for r in range(t.rowCount()) if t.item(r, 0).text() == label)
