"""Audit trail: every edit audited in its transaction, hash chain detects edits and deletions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text

from namecar_viewer.app.read_session import CreateLesion, ReadSession, SetStatus
from namecar_viewer.core.reads import (
    Lesion,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.audit import (
    AuditAction,
    AuditFilter,
    AuditLog,
    NewEntry,
    compute_hash,
)
from namecar_viewer.persistence.reads_db import ReadsDatabase


def _session(db: ReadsDatabase) -> ReadSession:
    read = Read.new(patient_id="NAMECAR-0042", reader="dr-a", uid="2.25.7")
    read = read.with_timepoint(
        ReadTimepoint(
            "tpB", "baseline", dt.date(2025, 1, 15), None, TimepointRole.PRE_TREATMENT_BASELINE
        )
    )
    return ReadSession(read, db, user="dr-a")


def test_every_command_and_undo_is_audited_with_old_and_new(db_url: str) -> None:
    db = ReadsDatabase(db_url)
    s = _session(db)
    les = Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)
    s.execute(CreateLesion(les))
    s.execute(SetStatus("L1", "tpB", LesionStatus.PRESENT))
    s.undo()
    log = AuditLog(db.engine)
    entries = log.entries()
    # create read: reads + timepoint rows; lesion; status; undo removes the status
    assert [(e.action, e.entity, e.entity_key) for e in entries] == [
        ("create", "reads", "2.25.7"),
        ("create", "timepoints", "tpB"),
        ("create", "lesions", "L1"),
        ("create", "statuses", "L1|tpB"),
        ("delete", "statuses", "L1|tpB"),
    ]
    assert all(e.username == "dr-a" for e in entries)
    assert entries[2].detail == "Create lesion T1"
    assert json.loads(entries[2].new_value or "")["site"] == "liver"
    assert entries[4].detail == "Undo Set status present"
    assert json.loads(entries[4].old_value or "")["status"] == "present"
    assert entries[4].new_value is None
    # UTC timestamps
    assert dt.datetime.fromisoformat(entries[0].ts_utc).utcoffset() == dt.timedelta(0)
    assert log.verify().ok
    assert [e.seq for e in log.entries(AuditFilter(entity="statuses"))] == [4, 5]
    db.close()


def test_audit_row_and_edit_share_one_transaction(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # An audit insert that fails must take the edit with it: break the audit table.
    db = ReadsDatabase(tmp_path / "r.sqlite")
    s = _session(db)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_log"))
        conn.execute(text("CREATE TABLE audit_log (seq INTEGER PRIMARY KEY)"))
    from namecar_viewer.app.read_session import ReadSaveError

    with pytest.raises(ReadSaveError):
        s.execute(CreateLesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)))
    assert s.pending
    assert db.load_read("2.25.7").lesions == ()  # nothing half-written
    db.close()


def _chain(db_url: str) -> tuple[ReadsDatabase, AuditLog]:
    db = ReadsDatabase(db_url)
    log = AuditLog(db.engine)
    for n in range(5):
        log.record(NewEntry("dr-a", AuditAction.CHANGE, "lesions", f"L{n}", {"v": n}, {"v": n + 1}))
    assert log.verify().ok
    return db, log


def test_edited_entry_is_detected_and_named(db_url: str) -> None:
    db, log = _chain(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET new_value = :v WHERE seq = 3"), {"v": '{"v":99}'})
    rep = log.verify()
    assert not rep.ok and rep.bad_seqs == [3]
    assert "entry 3" in rep.problems[0] and "edited" in rep.problems[0]
    db.close()


def test_edited_and_rehashed_entry_is_detected_by_its_successor(db_url: str) -> None:
    db, log = _chain(db_url)
    e = log.entries()[1]  # seq 2
    content = e.content() | {"username": "dr-b"}
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET username = 'dr-b', hash = :h WHERE seq = 2"),
            {"h": compute_hash(content)},
        )
    rep = log.verify()
    assert rep.bad_seqs == [3], rep.problems
    assert "entry 3 does not follow entry 2" in rep.problems[0]
    db.close()


def test_deleted_entries_are_detected_and_named(db_url: str) -> None:
    db, log = _chain(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    rep = log.verify()
    assert rep.bad_seqs == [2], rep.problems
    assert rep.problems[0] == "Audit entry 2 deleted (the chain jumps to entry 3)."
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))  # the newest one
    rep = log.verify()
    assert rep.bad_seqs == [2, 5]
    assert "entry 5 deleted (the chain head records 5 entries)" in rep.problems[-1]
    db.close()
