"""Accounts, login, wrong password, signing a timepoint, the lock and unlocking with a reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from namecar_viewer.app.auth import AuthError, AuthService
from namecar_viewer.app.read_session import CreateLesion, ReadLockedError, ReadSession, SetStatus
from namecar_viewer.app.signing import SIGNATURE_MEANING, SigningError, SigningService
from namecar_viewer.core.reads import (
    Lesion,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture
def db(tmp_path: Path) -> ReadsDatabase:
    d = ReadsDatabase(tmp_path / "r.sqlite")
    yield d  # type: ignore[misc]
    d.close()


def test_first_run_then_accounts_and_wrong_password(db: ReadsDatabase) -> None:
    auth = AuthService(db.engine, FAST)
    assert auth.needs_first_run()
    admin = auth.first_run("Dr Local")
    assert admin.roles == frozenset(Role) and not admin.has_password
    assert auth.login("Dr Local").username == "Dr Local"  # no password in single-user mode
    auth.set_password(admin, "correct horse")
    auth.enable_accounts(admin, "correct horse")
    auth.create_user(admin, "reader1", {Role.READER}, "reader1-pass")
    with pytest.raises(AuthError, match="Wrong user name or password"):
        auth.login("reader1", "nope")
    with pytest.raises(AuthError, match="Wrong user name or password"):
        auth.login("nobody", "x")
    assert auth.login("reader1", "reader1-pass").roles == frozenset({Role.READER})
    reader = auth.users.get("reader1")
    assert reader is not None
    with pytest.raises(AuthError, match="Only an administrator"):
        auth.create_user(reader, "x2", {Role.READER}, "12345678")
    # stored hash is Argon2id, never the password
    h = auth.users.password_hash("reader1") or ""
    assert h.startswith("$argon2id$") and "reader1-pass" not in h
    log = AuditLog(db.engine)
    failed = log.entries(AuditFilter(action=AuditAction.LOGIN_FAILED))
    assert [(e.username, e.detail) for e in failed] == [
        ("reader1", "wrong password"),
        ("nobody", "unknown or inactive user"),
    ]
    assert log.verify().ok


def _read() -> Read:
    r = Read.new(patient_id="P1", reader="reader1", uid="2.25.9")
    r = r.with_timepoint(
        ReadTimepoint(
            "tpB", "baseline", dt.date(2025, 1, 15), None, TimepointRole.PRE_TREATMENT_BASELINE
        )
    )
    return r.with_timepoint(
        ReadTimepoint("tpF", "fu03m", dt.date(2025, 10, 9), None, TimepointRole.FOLLOW_UP)
    )


def test_signed_timepoint_locked_and_changed_only_with_reason(db: ReadsDatabase) -> None:
    auth = AuthService(db.engine, FAST)
    admin = auth.first_run("admin")
    auth.set_password(admin, "admin-pass")
    auth.enable_accounts(admin, "admin-pass")
    reader = auth.create_user(admin, "reader1", {Role.READER}, "reader1-pass")
    session = ReadSession(_read(), db, user="reader1")
    session.execute(CreateLesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)))
    session.execute(SetStatus("L1", "tpB", LesionStatus.PRESENT))
    signing = SigningService(auth)
    with pytest.raises(AuthError):
        signing.sign(session, "tpB", reader, "wrong")
    with pytest.raises(SigningError, match="meaning"):
        signing.sign(session, "tpB", reader, "reader1-pass", "ok")
    sig = signing.sign(session, "tpB", reader, "reader1-pass", SIGNATURE_MEANING)
    assert sig.version == 1
    # baseline locked: status change refused with a clear message, nothing saved
    with pytest.raises(ReadLockedError, match="baseline read is signed by reader1"):
        session.execute(SetStatus("L1", "tpB", LesionStatus.ABSENT))
    assert db.load_read("2.25.9").statuses[("L1", "tpB")] is LesionStatus.PRESENT
    # lesion edits that change the signed assessment are refused too; the follow-up is open
    session.execute(SetStatus("L1", "tpF", LesionStatus.ABSENT))
    with pytest.raises(SigningError, match="reason"):
        signing.unlock(session, "tpB", reader, "   ")
    signing.unlock(session, "tpB", reader, "measured the wrong slice")
    session.execute(SetStatus("L1", "tpB", LesionStatus.ABSENT))
    sig2 = signing.sign(session, "tpB", reader, "reader1-pass")
    assert sig2.version == 2
    versions = signing.versions("2.25.9")
    assert [v[0] for v in versions] == [1, 2]
    assert versions[0][3].statuses[("L1", "tpB")] is LesionStatus.PRESENT  # old one kept
    assert versions[1][3].statuses[("L1", "tpB")] is LesionStatus.ABSENT
    log = AuditLog(db.engine)
    unlocks = log.entries(AuditFilter(action=AuditAction.UNLOCK))
    assert [u.reason for u in unlocks] == ["measured the wrong slice"]
    assert len(log.entries(AuditFilter(action=AuditAction.SIGN))) == 2
    assert log.verify().ok
