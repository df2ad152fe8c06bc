"""Login at start: first run asks only for a name, accounts need a password, refusals audited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.gui.login import LoginDialog, log_in
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role

PASSWORD = "correct horse 42"


@pytest.fixture
def db(tmp_path: Path) -> ReadsDatabase:
    d = ReadsDatabase(tmp_path / "reads.sqlite")
    yield d
    d.close()


def _accounts(db: ReadsDatabase) -> AuthService:
    """A reading centre: admin (first run) set a password, created reader1, enabled accounts."""
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    auth.create_user(admin, "reader1", {Role.READER}, PASSWORD)
    auth.enable_accounts(admin, PASSWORD)
    return auth


def test_first_run_asks_only_for_a_name(qtbot: QtBot, db: ReadsDatabase, shots_dir: str) -> None:
    auth = AuthService(db.engine)
    dlg = LoginDialog(auth)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.first_run
    assert not dlg.password_edit.isVisible()  # no password on a single-user site
    dlg.grab().save(f"{shots_dir}/login_first_run.png")
    assert not dlg.try_accept()  # an empty name is refused with a message
    assert "name" in dlg.message.text().lower()
    qtbot.keyClicks(dlg.name_edit, "Dr Ada Local")
    assert dlg.try_accept()
    user = dlg.user
    assert user is not None and user.username == "Dr Ada Local"
    assert user.roles == frozenset(Role) and not user.has_password
    actions = [e.action for e in AuditLog(db.engine).entries()]
    assert actions == ["account", "login"]
    # the next start logs this single user in without any dialog
    ctx, why = log_in(db, interactive=False)
    assert why == "" and ctx is not None and ctx.user.username == "Dr Ada Local"
    assert ctx.single_user


def test_wrong_password_refused_and_audited_then_login(
    qtbot: QtBot, db: ReadsDatabase, shots_dir: str
) -> None:
    auth = _accounts(db)
    dlg = LoginDialog(auth, username="reader1")
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.first_run and dlg.password_edit.isVisible()
    qtbot.keyClicks(dlg.password_edit, "not the password")
    assert not dlg.try_accept()
    assert dlg.message.text() == "Wrong user name or password."
    assert dlg.result() != LoginDialog.DialogCode.Accepted and dlg.user is None
    dlg.grab().save(f"{shots_dir}/login_wrong_password.png")
    failed = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.LOGIN_FAILED))
    assert [(e.username, e.detail) for e in failed] == [("reader1", "wrong password")]
    qtbot.keyClicks(dlg.password_edit, PASSWORD)
    assert dlg.try_accept()
    assert dlg.user is not None and dlg.user.username == "reader1"
    logins = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.LOGIN))
    assert logins[-1].username == "reader1"


def test_scripted_login_never_opens_a_dialog(db: ReadsDatabase) -> None:
    _accounts(db)
    # --user with accounts enabled: a password is needed, so a scripted run is refused, clearly
    ctx, why = log_in(db, username="reader1", interactive=False)
    assert ctx is None and "reader1 needs a password" in why
    # a screenshot run (no user) on a password site: nobody is logged in, no dialog
    ctx, why = log_in(db, interactive=False)
    assert ctx is None and "password" in why


def test_run_gui_db_and_user_options(tmp_path: Path) -> None:
    """``namecar-viewer --screenshot F --db FILE --user NAME``: first run as NAME, no dialog."""
    shot, dbfile = tmp_path / "w.png", tmp_path / "central.sqlite"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("NAMECAR_DB", None)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "namecar_viewer",
            "--screenshot",
            str(shot),
            "--db",
            str(dbfile),
            "--user",
            "grace",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert shot.stat().st_size > 10_000
    db = ReadsDatabase(dbfile, create=False)
    try:
        auth = AuthService(db.engine)
        assert [u.username for u in auth.users.list()] == ["grace"]
        entries = AuditLog(db.engine).entries()
        assert [(e.username, e.action) for e in entries] == [
            ("grace", "account"),
            ("grace", "login"),
        ]
    finally:
        db.close()
