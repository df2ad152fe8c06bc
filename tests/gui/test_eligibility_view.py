"""View > Eligibility (gui/eligibility.py): checklist answered through the undo stack, saved.

Demo read: RECIST criterion I4 met (metastatic 108 -> 24 mm, -77.8 %, primary excluded).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from test_response_demo_read import demo_read

from namecar_viewer.app.eligibility import Answer, Decision, answers
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.gui.eligibility import EligibilityView
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.persistence.reads_db import ReadsDatabase

SHOTS = Path("/tmp/shots")


def test_checklist_answers_decision_undo_and_reopen(
    qtbot: QtBot, ground_truth: dict[str, Any], tmp_path: Path
) -> None:
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    undo = ReadUndoStack(ReadSession(demo_read(ground_truth), db))
    view = EligibilityView(undo)
    assert view.user_edit.text() == "test reader"  # the reader by default
    view.user_edit.setText("")
    qtbot.addWidget(view)
    view.show()
    text = view.text()
    assert "to be checked against the approved protocol version" in text
    assert "yes (from the read) | RECIST, read by test reader | live from the read" in text
    assert "Eligible: metastatic PR -77.8%, primary excluded" in text
    assert view.decision.decision is Decision.INCOMPLETE
    assert "Decision: Incomplete" in text
    # no name: refused with a message, nothing recorded
    view.set_answer("I1", Answer.YES)
    assert "needs the name of who gives it" in view.error_label.text()
    assert undo.count() == 0 and view.combos["I1"].currentData() is None
    view.user_edit.setText("Dr Local")
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
    view2 = EligibilityView(ReadUndoStack(ReadSession(read, again, stored=True)))
    qtbot.addWidget(view2)
    assert view2.combos["E5"].currentData() is Answer.UNKNOWN
    assert view2.decision.decision is Decision.INCOMPLETE
