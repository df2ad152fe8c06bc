"""Signing in the main window: meaning ticked, password again at a reading centre, the signed
timepoint locked (edits refused with the session's message), unlock with a reason, version 2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.read_session import AddTimepoint, CreateLesion, SetStatus, next_lesion
from namecar_viewer.app.signing import SIGNATURE_MEANING, SigningError
from namecar_viewer.core.reads.model import (
    LesionRole,
    LesionStatus,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.gui.login import ReviewContext, log_in
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
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


def _window(qtbot: QtBot, ctx: ReviewContext) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.set_review(ctx)
    w.show()
    return w


def _baseline_with_lesion(w: MainWindow) -> tuple[str, str]:
    """One baseline timepoint and a non-target lesion present there, through the undo stack."""
    undo = w.reads.undo
    tp = ReadTimepoint(
        "2.25.1001", "baseline", dt.date(2025, 1, 15), None, TimepointRole.PRE_TREATMENT_BASELINE
    )
    undo.push_command(AddTimepoint(tp))
    les = next_lesion(w.reads.session.read, LesionRole.NON_TARGET, Site.BONE)
    undo.push_command(CreateLesion(les))
    undo.push_command(SetStatus(les.uid, tp.uid, LesionStatus.PRESENT))
    assert w.reads.session.db is not None and not w.reads.session.pending
    return tp.uid, les.uid


def test_sign_locks_unlock_needs_reason_and_makes_version_2(
    qtbot: QtBot, db: ReadsDatabase, shots_dir: str
) -> None:
    ctx, _ = log_in(db, username="alice", interactive=False)  # single-user site, first run
    assert ctx is not None and ctx.single_user
    w = _window(qtbot, ctx)
    review = w.review
    assert "User: alice (reader, adjudicator, site investigator, administrator)" in (
        review.user_label.text()
    )
    tp_uid, les_uid = _baseline_with_lesion(w)
    assert w.reads.undo.count() == 3 and w.reads.session.can_undo

    dlg = review.show_sign_dialog()
    qtbot.addWidget(dlg)
    assert not dlg.password_edit.isVisible()  # single user: no password asked
    assert any(SIGNATURE_MEANING in lab.text() for lab in dlg.findChildren(QLabel))
    assert not dlg.sign_button.isEnabled()  # the meaning must be ticked
    dlg.confirm.setChecked(True)
    assert dlg.sign_button.isEnabled()
    dlg.grab().save(f"{shots_dir}/sign_dialog.png")
    dlg.sign_button.click()
    assert dlg.result() == dlg.DialogCode.Accepted

    # locked: banner and status bar, both undo histories cleared
    assert review.banner_bar.isVisible() and "Signed and locked: baseline" in review.banner.text()
    assert review.lock_label.text() == "Locked: baseline"
    assert w.reads.undo.count() == 0 and not w.reads.session.can_undo
    w.grab().save(f"{shots_dir}/signed_locked_window.png")

    # an edit of the signed timepoint is refused with the session's message, nothing changes
    before = w.reads.session.read
    errors: list[str] = []
    w.reads.undo.error.connect(errors.append)
    w.reads.undo.push_command(SetStatus(les_uid, tp_uid, LesionStatus.ABSENT))
    assert w.reads.session.read is before
    assert len(errors) == 1
    assert errors[0].startswith("The baseline read is signed by alice (")
    assert "locked. To change it, unlock it with a reason" in errors[0]
    assert w.statusBar().currentMessage() == errors[0].splitlines()[0]

    # unlock: the button stays disabled without a reason, the service refuses a blank one
    udlg = review.show_unlock_dialog()
    qtbot.addWidget(udlg)
    assert not udlg.unlock_button.isEnabled()
    udlg.reason_edit.setPlainText("   ")
    assert not udlg.unlock_button.isEnabled()
    with pytest.raises(SigningError, match="reason"):
        review.unlock(tp_uid, "  ")
    udlg.reason_edit.setPlainText("NT1 is gone on review of the bone window")
    udlg.grab().save(f"{shots_dir}/unlock_dialog.png")
    udlg.unlock_button.click()
    assert udlg.result() == udlg.DialogCode.Accepted
    assert not review.banner_bar.isVisible()
    unlocks = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.UNLOCK))
    assert [e.reason for e in unlocks] == ["NT1 is gone on review of the bone window"]

    # the edit is accepted now; signing again keeps version 1 and writes version 2
    w.reads.undo.push_command(SetStatus(les_uid, tp_uid, LesionStatus.ABSENT))
    assert w.reads.session.read.statuses[(les_uid, tp_uid)] is LesionStatus.ABSENT
    sig = review.sign(tp_uid)
    assert sig.version == 2
    versions = ctx.signing.versions(w.reads.session.read.uid)
    assert [v[0] for v in versions] == [1, 2]
    assert versions[0][3].statuses[(les_uid, tp_uid)] is LesionStatus.PRESENT
    assert versions[1][3].statuses[(les_uid, tp_uid)] is LesionStatus.ABSENT


def test_reading_centre_sign_needs_the_password(qtbot: QtBot, db: ReadsDatabase) -> None:
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    auth.create_user(admin, "reader1", {Role.READER}, PASSWORD)
    auth.enable_accounts(admin, PASSWORD)
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    assert not ctx.single_user
    w = _window(qtbot, ctx)
    assert w.review.user_label.text() == "User: reader1 (reader)"
    tp_uid, _les = _baseline_with_lesion(w)
    dlg = w.review.show_sign_dialog()
    qtbot.addWidget(dlg)
    assert dlg.password_edit.isVisible()
    dlg.confirm.setChecked(True)
    qtbot.keyClicks(dlg.password_edit, "wrong password")
    dlg.sign_button.click()
    assert dlg.message.text() == "Wrong user name or password."
    assert not ctx.signing.active_signatures(w.reads.session.read.uid)
    failed = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.LOGIN_FAILED))
    assert [e.detail for e in failed] == ["wrong password at signature"]
    qtbot.keyClicks(dlg.password_edit, PASSWORD)
    dlg.sign_button.click()
    sigs = ctx.signing.active_signatures(w.reads.session.read.uid)
    assert [(s.timepoint_uid, s.username, s.meaning) for s in sigs] == [
        (tp_uid, "reader1", SIGNATURE_MEANING)
    ]


def test_undo_refused_by_a_lock_keeps_both_stacks_in_step(qtbot: QtBot, db: ReadsDatabase) -> None:
    """A signature made elsewhere can lock a step still on the stack: undo and redo are refused
    with the session's message and the Qt stack stays where the session is."""
    ctx, _ = log_in(db, username="alice", interactive=False)
    assert ctx is not None
    w = _window(qtbot, ctx)
    tp_uid, les_uid = _baseline_with_lesion(w)
    undo, session = w.reads.undo, w.reads.session
    errors: list[str] = []
    undo.error.connect(errors.append)
    session.guard = lambda _a, _b: "The baseline read is signed and locked."
    read = session.read
    undo.undo()
    assert undo.index() == 3 and session.read is read and session.can_undo
    assert errors == ["The baseline read is signed and locked."]
    session.guard = None
    undo.undo()
    assert undo.index() == 2 and (les_uid, tp_uid) not in session.read.statuses
    session.guard = lambda _a, _b: "locked again"
    undo.redo()
    assert undo.index() == 2 and (les_uid, tp_uid) not in session.read.statuses
    assert errors[-1] == "locked again"
    session.guard = None
    undo.redo()
    assert undo.index() == 3 and session.read.statuses[(les_uid, tp_uid)] is LesionStatus.PRESENT
