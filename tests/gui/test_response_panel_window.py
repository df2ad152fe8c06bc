"""The response dock and View > Eligibility in the main window."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("NAMECAR_READS_DB", str(tmp_path / "reads.sqlite"))
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    return w


def test_response_dock_beside_lesions_and_eligibility_in_view_menu(window: MainWindow) -> None:
    dock = window.response.dock
    assert dock.objectName() == "response_dock" and dock.isVisible()
    lesions = window.reads.dock
    # split horizontally beside the lesion table, same dock area
    assert window.dockWidgetArea(dock) == window.dockWidgetArea(lesions)
    assert dock.geometry().left() >= lesions.geometry().right()
    assert window.response.panel.undo is window.reads.undo
    keys = {(e.menu, e.text): e.key for e in window.shortcut_rows}
    assert keys[("View", "Eligibility (NAMECAR checklist)...")] == "Ctrl+Shift+E"
    assert keys[("View", "Show response panel (RECIST)")] == "F3"
    dlg = window.show_shortcuts()
    texts = [dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())]
    assert "Eligibility (NAMECAR checklist)..." in texts
    dlg.close()
    window.actions_by_name["eligibility"].trigger()
    view = window.response.eligibility
    assert view is not None and view.isVisible()
    assert "Incomplete: no timepoint recorded in the read yet" in view.text()
    window.actions_by_name["response_panel"].trigger()
    assert not dock.isVisible()


def test_panel_follows_a_newly_opened_read(window: MainWindow) -> None:
    window.actions_by_name["eligibility"].trigger()
    window.reads.open_patient("NAMECAR-XYZ")
    assert window.response.panel.undo is window.reads.undo
    assert window.response.panel.model.session is window.reads.session
    assert window.response.eligibility.model.session is window.reads.session
