"""Audit view: entries with filters (user, action, dates, read); "Verify chain" names an
edited and a deleted entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from namecar_viewer.app.auth import AuthError, AuthService
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.core.reads import Read
from namecar_viewer.gui.audit_view import AuditView
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.persistence.audit import AuditAction, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role

PASSWORD = "correct horse 42"


@pytest.fixture
def db(tmp_path: Path) -> Any:
    d = ReadsDatabase(tmp_path / "reads.sqlite")
    yield d
    d.close()


def _history(db: ReadsDatabase) -> tuple[AuthService, str]:
    """admin first run (account + login), reader1 created, a failed and a good login of
    reader1, and reader1's new read (one create entry for its header row)."""
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)  # account
    auth.create_user(admin, "reader1", {Role.READER}, PASSWORD)  # account
    with pytest.raises(AuthError):
        auth.login("reader1", "wrong")  # login failed
    auth.login("reader1", PASSWORD)  # login
    read = Read.new(patient_id="P1", reader="reader1")
    ReadSession(read, db, user="reader1")  # create (reads row)
    return auth, read.uid


def _col(view: AuditView, c: int) -> list[str]:
    return [view.table.item(r, c).text() for r in range(view.table.rowCount())]


def test_filters_and_verify(qtbot: QtBot, db: ReadsDatabase, shots_dir: str) -> None:
    auth, read_uid = _history(db)
    ctx = ReviewContext.for_user(db, auth, auth.login("admin", PASSWORD))  # + 1 login
    view = AuditView(ctx)
    qtbot.addWidget(view)
    view.show()
    # 2 (first run) + 2 (password, reader1) + 1 failed + 1 login + 1 create + 1 admin login = 8
    assert _col(view, 0) == [str(n) for n in range(1, 9)]
    assert _col(view, 2) == [
        "admin",
        "admin",
        "admin",
        "admin",
        "reader1",
        "reader1",
        "reader1",
        "admin",
    ]
    assert _col(view, 3) == [
        "account",
        "login",
        "account",
        "account",
        "login failed",
        "login",
        "create",
        "login",
    ]

    view.user_combo.setCurrentIndex(view.user_combo.findData("reader1"))
    view.refresh()
    assert _col(view, 0) == ["5", "6", "7"]
    view.action_combo.setCurrentIndex(view.action_combo.findData(AuditAction.LOGIN_FAILED))
    view.refresh()
    assert _col(view, 0) == ["5"] and _col(view, 8) == ["wrong password"]
    view.action_combo.setCurrentIndex(0)
    view.user_combo.setCurrentIndex(0)
    view.read_edit.setText(read_uid)
    view.refresh()
    assert _col(view, 0) == ["7"] and _col(view, 4) == ["reads"]
    view.read_edit.clear()
    today = dt.datetime.now(dt.UTC).date()
    view.since_edit.setText((today + dt.timedelta(days=1)).isoformat())
    view.refresh()
    assert view.table.rowCount() == 0
    view.since_edit.setText(today.isoformat())
    view.until_edit.setText(today.isoformat())
    view.refresh()
    assert view.table.rowCount() == 8
    view.since_edit.setText("15th of May")
    view.refresh()
    assert view.count_label.text() == "Filter: '15th of May' is not a date (YYYY-MM-DD)."
    view.since_edit.clear()
    view.until_edit.clear()

    rep = view.verify()
    assert rep.ok and view.verify_label.text().startswith("Hash chain intact: 8 entries")

    # someone edits entry 5 and deletes entry 7 behind the application's back
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'typo' WHERE seq = 5"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 7"))
    rep = view.verify()
    assert not rep.ok
    shown = view.verify_label.text()
    assert "Hash chain BROKEN" in shown
    assert "Audit entry 5 (" in shown and "was edited" in shown
    assert "Audit entry 7 deleted" in shown
    assert set(rep.bad_seqs) >= {5, 7}
    row5 = _col(view, 0).index("5")
    assert view.table.item(row5, 0).background().color().name() == "#f3c6c6"
    view.table.selectRow(row5)
    assert "Detail: typo" in view.detail.toPlainText()
    view.table.clearSelection()  # the red row shows in the screenshot
    view.resize(1300, 640)
    view.grab().save(f"{shots_dir}/audit_view_verify_broken.png")


def test_blinded_reader_sees_only_own_entries(qtbot: QtBot, db: ReadsDatabase) -> None:
    from namecar_viewer.app.blinding import BlindingPolicy, IdentifierKind, Redactor

    auth, _read_uid = _history(db)
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    red = Redactor(policy=BlindingPolicy())
    red.add(IdentifierKind.PATIENT_ID, "P1")
    view = AuditView(ctx, BlindingPolicy(), red)
    qtbot.addWidget(view)
    assert view.own_only
    assert [view.user_combo.itemText(i) for i in range(view.user_combo.count())] == ["reader1"]
    assert set(_col(view, 2)) == {"reader1"}
    assert len(AuditLog(db.engine).entries()) > view.table.rowCount()
    everything = " ".join(
        view.table.item(r, c).text()
        for r in range(view.table.rowCount())
        for c in range(view.table.columnCount())
    )
    assert "P1" not in everything and "(blinded)" in everything
