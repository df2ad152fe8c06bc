"""Worklist dock: a reader sees only their own cases; a double-click opens the case's read and
its timepoint's CT; the administrator creates and assigns cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.blinding import blinded_subject_label
from namecar_viewer.app.worklist import CaseStatus, Task
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")


@pytest.fixture
def db(tmp_path: Path) -> Any:
    d = ReadsDatabase(tmp_path / "reads.sqlite")
    yield d
    d.close()


def _centre(db: ReadsDatabase) -> tuple[AuthService, Any, dict[str, str]]:
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    for name in ("reader1", "reader2"):
        auth.create_user(admin, name, {Role.READER}, PASSWORD)
    ctx = ReviewContext.for_user(db, auth, admin)
    cases = {
        "fu03m": ctx.worklist.create_case("admin", "NAMECAR-001", "FU03M", "NAMECAR-001"),
        "fu06m": ctx.worklist.create_case("admin", "NAMECAR-001", "FU06M", "NAMECAR-001"),
        "other": ctx.worklist.create_case("admin", "NAMECAR-002", "BASELINE", "NAMECAR-002"),
    }
    ctx.worklist.assign("admin", cases["fu03m"], "reader1")
    ctx.worklist.assign("admin", cases["other"], "reader1")
    ctx.worklist.assign("admin", cases["fu06m"], "reader2")
    ctx.worklist.assign("admin", cases["fu03m"], "reader2")
    return auth, admin, cases


def _window(qtbot: QtBot, ctx: ReviewContext) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.set_review(ctx)
    w.show()
    return w


def _rows(dock: Any) -> list[list[str]]:
    t = dock.panel.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_reader_sees_only_own_cases_and_opens_one(
    qtbot: QtBot, db: ReadsDatabase, small_demo: Path, shots_dir: str
) -> None:
    auth, _admin, cases = _centre(db)
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    w = _window(qtbot, ctx)
    w.open_paths([str(small_demo)])
    dock = w.review.show_worklist()
    # reader1 has FU03M of NAMECAR-001 and BASELINE of NAMECAR-002; reader2's FU06M is absent
    assert _rows(dock) == [
        ["NAMECAR-001", "FU03M", "read", "not started"],
        ["NAMECAR-002", "BASELINE", "read", "not started"],
    ]
    assert {i.case_uid for i in dock.panel.items} == {cases["fu03m"], cases["other"]}

    # double-click: the read is created for reader1, the case is in progress, FU03M's CT shown
    t = dock.panel.table
    rect = t.visualItemRect(t.item(0, 0))
    qtbot.mouseClick(t.viewport(), qtbot_button(), pos=rect.center())
    qtbot.mouseDClick(t.viewport(), qtbot_button(), pos=rect.center())
    qtbot.waitUntil(
        lambda: w.reads.session.read.reader == "reader1" and w.reads.session.db is not None
    )
    read = w.reads.session.read
    assert read.reader == "reader1" and read.patient_id == "NAMECAR-001"
    assert w.reads.session.user == "reader1"
    assert ctx.db.load_read(read.uid).reader == "reader1"
    item = dock.panel.items[0]
    assert item.status is CaseStatus.IN_PROGRESS and item.read_uid == read.uid
    gt = json.loads((small_demo / "ground_truth.json").read_text(encoding="utf-8"))
    folder = next(t["folder"] for t in gt["ct_timepoints"] if t["label"] == "fu03m")
    vol = w.viewports[0].model.volume
    assert vol is not None and all(
        Path(f.split(" (frame ")[0]).parent.name == folder for f in vol.files
    )
    assert _rows(dock)[0] == ["NAMECAR-001", "FU03M", "read", "in progress"]
    w.grab().save(f"{shots_dir}/worklist_open_case.png")

    # blinded: the subject becomes its pseudonym
    w.actions_by_name["blinded"].trigger()
    assert _rows(dock)[0][0] == blinded_subject_label("NAMECAR-001")
    assert "NAMECAR-001" not in " ".join(" ".join(r) for r in _rows(dock))
    dock.dock.grab().save(f"{shots_dir}/worklist_dock_blinded.png")


def test_reader2_list_and_admin_assigns(qtbot: QtBot, db: ReadsDatabase, shots_dir: str) -> None:
    auth, _admin, _cases = _centre(db)
    ctx2 = ReviewContext.for_user(db, auth, auth.login("reader2", PASSWORD))
    w2 = _window(qtbot, ctx2)
    assert "assign" not in w2.review.actions  # only administrators assign
    assert [r[:2] for r in _rows(w2.review.show_worklist())] == [
        ["NAMECAR-001", "FU03M"],
        ["NAMECAR-001", "FU06M"],
    ]
    actx = ReviewContext.for_user(db, auth, auth.login("admin", PASSWORD))
    w = _window(qtbot, actx)
    dlg = w.review.show_assign()
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 3
    dlg.subject_edit.setText("NAMECAR-003")
    dlg.timepoint_edit.setText("FU09M")
    uid = dlg.create_case()
    assert uid is not None and dlg.table.rowCount() == 4
    dlg.user_combo.setCurrentIndex(dlg.user_combo.findData("reader2"))
    dlg.task_combo.setCurrentIndex(dlg.task_combo.findData(Task.READ))
    dlg.assign_selected()
    row = dlg.case_uids.index(uid)
    assert dlg.table.item(row, 3).text() == "reader2 (read: not started)"
    dlg.grab().save(f"{shots_dir}/worklist_assign_dialog.png")
    w2.review.worklist_dock.refresh()
    assert ["NAMECAR-003", "FU09M", "read", "not started"] in _rows(w2.review.worklist_dock)


def qtbot_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
