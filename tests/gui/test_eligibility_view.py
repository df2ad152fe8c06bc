"""View > Eligibility (gui/eligibility.py): checklist answered through the undo stack, saved.

Demo read: RECIST criterion I4 met (metastatic 108 -> 24 mm, -77.8 %, primary excluded).

Answers are recorded as the logged-in user (never the read's reader), one audited step per
deliberate choice (arrow-key browsing records nothing until Enter or leaving the box), and
Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y in the window undo and redo them; driven with real key and
mouse events on the widgets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from test_response_demo_read import demo_read

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.eligibility import ANSWER_PREFIX, Answer, Decision, answers
from namecar_viewer.app.read_session import ReadSession, SetReadSetting
from namecar_viewer.gui.eligibility import EligibilityView
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.persistence.audit import AuditEntry, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role
from namecar_viewer.phantom.demo_read import build_demo_read
from read_copies import copy_read

PASSWORD = "correct horse 42"

SHOTS = Path("/tmp/shots")


def test_checklist_answers_decision_undo_and_reopen(
    qtbot: QtBot, ground_truth: dict[str, Any], tmp_path: Path
) -> None:
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    undo = ReadUndoStack(ReadSession(demo_read(ground_truth), db))
    # nobody logged in (no main window, no user given): nothing can be answered
    nobody = EligibilityView(undo)
    qtbot.addWidget(nobody)
    assert "nobody is logged in" in nobody.user_label.text()
    assert not nobody.combos["I1"].isEnabled()
    nobody.set_answer("I1", Answer.YES)
    assert "Nobody is logged in" in nobody.error_label.text()
    assert undo.count() == 0 and nobody.combos["I1"].currentData() is None
    nobody.close()
    view = EligibilityView(undo, user="Dr Local")
    qtbot.addWidget(view)
    view.show()
    assert view.user_label.text() == "Answering as: Dr Local"
    text = view.text()
    assert "to be checked against the approved protocol version" in text
    assert "yes (from the read) | RECIST, read by test reader | live from the read" in text
    assert "Eligible: metastatic PR -77.8%, primary excluded" in text
    assert view.decision.decision is Decision.INCOMPLETE
    assert "Decision: Incomplete" in text
    for c in view.model.criteria.criteria:
        if c.auto is None:
            view.set_answer(c.id, c.required)
    assert undo.count() == 16
    assert view.decision.decision is Decision.ELIGIBLE
    assert "Decision: Eligible" in view.decision_label.text()
    assert "| Dr Local |" in view.text() and "UTC" in view.text()
    view.set_answer("E5", Answer.UNKNOWN)
    assert view.decision.decision is Decision.INCOMPLETE
    assert view.reasons.toPlainText() == "Exclusion 5 (E5) unknown"
    view.set_answer("E3", Answer.YES)
    assert view.decision.decision is Decision.NOT_ELIGIBLE
    SHOTS.mkdir(exist_ok=True)
    view.resize(1100, 820)
    view.grab().save(str(SHOTS / "eligibility_view.png"))
    undo.undo()  # E3 back to no
    assert view.combos["E3"].currentData() is Answer.NO
    assert view.decision.decision is Decision.INCOMPLETE
    db.close()
    again = ReadsDatabase(tmp_path / "reads.sqlite")
    read = again.load_read("READ-DEMO")
    rec = answers(read)
    assert rec["E3"].answer is Answer.NO and rec["E5"].answer is Answer.UNKNOWN
    assert rec["I1"].by == "Dr Local"
    view2 = EligibilityView(ReadUndoStack(ReadSession(read, again, stored=True)), user="x")
    qtbot.addWidget(view2)
    assert view2.combos["E5"].currentData() is Answer.UNKNOWN
    assert view2.decision.decision is Decision.INCOMPLETE


# --- real key and mouse events -----------------------------------------------------------------


def _answer_entries(db: ReadsDatabase, read_uid: str) -> list[AuditEntry]:
    """Audit entries of eligibility answers of the read, oldest first."""
    rows = AuditLog(db.engine).entries(AuditFilter(read_uid=read_uid))
    return [e for e in rows if ANSWER_PREFIX in f"{e.entity_key} {e.detail}"]


def _shown(qtbot: QtBot, view: EligibilityView) -> None:
    view.show()
    view.activateWindow()
    assert QTest.qWaitForWindowActive(view)


def _focus(box: QComboBox) -> None:
    box.setFocus(Qt.FocusReason.TabFocusReason)
    assert box.hasFocus()


@pytest.fixture
def audited(ground_truth: dict[str, Any], tmp_path: Path) -> Any:
    """dr.site's copy of the demo read in an audited reads database, edited by dr.site."""
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    read = copy_read(demo_read(ground_truth), "site", "dr.site")
    undo = ReadUndoStack(ReadSession(read, db, user="dr.site"))
    yield db, undo
    db.close()


def test_arrow_keys_browse_and_enter_records_once(qtbot: QtBot, audited: Any) -> None:
    db, undo = audited
    view = EligibilityView(undo, user="dr.site")
    qtbot.addWidget(view)
    _shown(qtbot, view)
    box = view.combos["I1"]
    _focus(box)
    for _ in range(3):
        QTest.keyClick(box, Qt.Key.Key_Down)
    assert undo.count() == 0 and _answer_entries(db, undo.session.read.uid) == []
    assert box.currentText() == "unknown" and box.pending  # shown, not recorded
    assert "not recorded yet" in view.error_label.text()
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert undo.count() == 1 and not box.pending
    assert answers(undo.session.read)["I1"].answer is Answer.UNKNOWN
    assert len(_answer_entries(db, undo.session.read.uid)) == 1
    assert view.isVisible()  # Enter recorded the answer, it did not close the window
    # browsing then leaving the box (Tab) records once too
    box2 = view.combos["I2"]
    _focus(box2)
    QTest.keyClick(box2, Qt.Key.Key_Down)
    QTest.keyClick(box2, Qt.Key.Key_Down)
    assert undo.count() == 1
    QTest.keyClick(box2, Qt.Key.Key_Tab)
    assert not box2.hasFocus()
    assert undo.count() == 2 and answers(undo.session.read)["I2"].answer is Answer.NO
    assert len(_answer_entries(db, undo.session.read.uid)) == 2
    # browsing back to the recorded answer and leaving records nothing
    _focus(box2)
    QTest.keyClick(box2, Qt.Key.Key_Down)
    QTest.keyClick(box2, Qt.Key.Key_Up)
    QTest.keyClick(box2, Qt.Key.Key_Return)
    assert undo.count() == 2
    # Escape puts the recorded answer back without recording and keeps the window open
    QTest.keyClick(box2, Qt.Key.Key_Up)
    assert box2.currentText() == "yes" and box2.pending
    QTest.keyClick(box2, Qt.Key.Key_Escape)
    assert box2.currentText() == "no" and not box2.pending and view.isVisible()
    QTest.keyClick(box2, Qt.Key.Key_Tab)
    assert undo.count() == 2 and len(_answer_entries(db, undo.session.read.uid)) == 2


def test_mouse_wheel_scrolls_and_a_pick_from_the_list_records_once(
    qtbot: QtBot, audited: Any
) -> None:
    db, undo = audited
    view = EligibilityView(undo, user="dr.site")
    qtbot.addWidget(view)
    _shown(qtbot, view)
    box = view.combos["E1"]
    _focus(box)
    centre = QPointF(box.rect().center())
    for _ in range(3):
        wheel = QWheelEvent(
            centre,
            QPointF(box.mapToGlobal(box.rect().center())),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(box, wheel)
    assert box.currentData() is None and undo.count() == 0
    # open the list with the mouse and click "no": one answer
    QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.view().isVisible())
    assert undo.count() == 0  # opening the list records nothing
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # the list ignores a too-early release
    lst = box.view()
    rect = lst.visualRect(box.model().index(2, 0))
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not lst.isVisible())
    assert box.currentText() == "no"
    assert undo.count() == 1 and answers(undo.session.read)["E1"].answer is Answer.NO
    assert len(_answer_entries(db, undo.session.read.uid)) == 1


def test_ctrl_z_and_ctrl_shift_z_in_the_window(qtbot: QtBot, audited: Any) -> None:
    db, undo = audited
    view = EligibilityView(undo, user="dr.site")
    qtbot.addWidget(view)
    _shown(qtbot, view)
    box = view.combos["I3"]
    _focus(box)
    QTest.keyClick(box, Qt.Key.Key_Down)  # yes
    QTest.keyClick(box, Qt.Key.Key_Return)
    QTest.keyClick(box, Qt.Key.Key_Down)  # no
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert undo.count() == 2 and answers(undo.session.read)["I3"].answer is Answer.NO
    assert "| no | dr.site |" in view.text()
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undo.index() == 1 and box.currentText() == "yes"
    assert answers(undo.session.read)["I3"].answer is Answer.YES
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undo.index() == 0 and box.currentText() == "not answered"
    assert "I3" not in answers(undo.session.read)
    assert "Inclusion 3 (I3) not answered" in view.reasons.toPlainText()
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(view, Qt.Key.Key_Z, redo)
    assert undo.index() == 1 and box.currentText() == "yes"
    QTest.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert undo.index() == 2 and box.currentText() == "no"
    assert answers(undo.session.read)["I3"].answer is Answer.NO
    # the database follows: two answers, two undos and two redos, one audit entry each
    stored = answers(db.load_read(undo.session.read.uid))
    assert stored["I3"].answer is Answer.NO and stored["I3"].by == "dr.site"
    assert len(_answer_entries(db, undo.session.read.uid)) == 6
    # with a choice pending in the box, Ctrl+Z puts it back first and undoes nothing
    # (the keys go to the box that has the focus, as when typing)
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert box.currentText() == "yes" and undo.index() == 2
    QTest.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert box.currentText() == "no" and not box.pending and undo.index() == 2
    QTest.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undo.index() == 1 and box.currentText() == "yes"
    # a later edit that is not an answer is left to the main window's Edit > Undo
    undo.push_command(SetReadSetting("viewer/note", '"x"', "Note"))
    assert undo.index() == 2
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undo.index() == 2 and "not an eligibility answer (Note)" in view.error_label.text()


def test_answers_are_recorded_as_the_logged_in_user(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Central review: who answers is the logged-in user, shown read-only, stored with each
    answer and in the audit trail; there is no name to type."""
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    auth.create_user(admin, "site1", {Role.READER}, PASSWORD, display_name="Dr Site")
    read = copy_read(build_demo_read(small_demo), "s1", "site1")
    ReadSession(read, db, user="site1")  # stored
    ctx = ReviewContext.for_user(db, auth, auth.login("site1", PASSWORD))
    w = MainWindow()
    qtbot.addWidget(w)
    w.set_review(ctx)
    w.show()
    w.reads.open_read(read.uid)
    view = w.response.show_eligibility()
    assert view.findChildren(QLineEdit) == []  # nothing to type a name into
    assert view.user_label.text() == "Answering as: Dr Site (site1)"
    assert view.user_label.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction
    _shown(qtbot, view)
    for cid in ("I1", "E1"):
        box = view.combos[cid]
        _focus(box)
        QTest.keyClick(box, Qt.Key.Key_Down)
        QTest.keyClick(box, Qt.Key.Key_Return)
    rec = answers(db.load_read(read.uid))
    assert rec["I1"].by == "site1" and rec["E1"].by == "site1"
    assert "| yes | site1 |" in view.text()
    entries = _answer_entries(db, read.uid)
    assert len(entries) == 2
    for e in entries:
        assert e.username == "site1"
        stored = json.loads(json.loads(e.new_value or "{}")["value"])
        assert stored["by"] == "site1"
    db.close()
