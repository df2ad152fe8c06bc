"""Reading-centre storage: concurrent writers, lost connection, newer schema; both backends."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text

from namecar_viewer.app.read_session import ReadSaveError, ReadSession, SetStatus
from namecar_viewer.core.reads import (
    Lesion,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import (
    ReadsDatabase,
    ReadsDatabaseError,
)


def _base() -> Read:
    r = Read.new(patient_id="P1", reader="dr-a", uid="2.25.11")
    r = r.with_timepoint(
        ReadTimepoint(
            "tpB", "baseline", dt.date(2025, 1, 15), None, TimepointRole.PRE_TREATMENT_BASELINE
        )
    )
    return r.with_lesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)).with_status(
        "L1", "tpB", LesionStatus.PRESENT
    )


def test_two_readers_same_row_at_once_one_wins_other_told(db_url: str) -> None:
    ReadsDatabase(db_url).save_new_read(_base())
    dbs = [ReadsDatabase(db_url), ReadsDatabase(db_url)]
    sessions = [ReadSession.open(d, "2.25.11") for d in dbs]
    for s, who in zip(sessions, ("dr-a", "dr-b"), strict=True):
        s.user = who
    targets = [LesionStatus.ABSENT, LesionStatus.NOT_EVALUABLE]
    barrier = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def edit(i: int) -> None:
        barrier.wait()
        try:
            sessions[i].execute(SetStatus("L1", "tpB", targets[i]))
            outcome[i] = "saved"
        except ReadSaveError as exc:
            outcome[i] = str(exc)

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcome.values()).count("saved") == 1, outcome
    loser = next(i for i, v in outcome.items() if v != "saved")
    winner = 1 - loser
    assert "changed by another session" in outcome[loser]
    assert sessions[loser].pending  # the loser's edit is kept in memory, not dropped
    stored = ReadsDatabase(db_url).load_read("2.25.11")
    assert stored.statuses[("L1", "tpB")] is targets[winner]  # the winner's edit, not lost
    log = AuditLog(dbs[0].engine)
    assert log.verify().ok
    changes = [e for e in log.entries() if e.entity == "statuses" and e.action == "change"]
    assert [e.username for e in changes] == [("dr-a", "dr-b")[winner]]
    for d in dbs:
        d.close()


def test_newer_schema_revision_refused_untouched(db_url: str) -> None:
    db = ReadsDatabase(db_url)
    db.save_new_read(_base())
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    db.close()
    with pytest.raises(ReadsDatabaseError, match="schema revision 9999_future, newer"):
        ReadsDatabase(db_url)
    from sqlalchemy import create_engine

    from namecar_viewer.persistence.engine import resolve_url

    eng = create_engine(resolve_url(db_url).url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "9999_future"
        )
        assert conn.execute(text("SELECT count(*) FROM reads")).scalar() == 1
    eng.dispose()


def test_lost_connection_keeps_edit_and_retries(postgres_server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    url = pg_url
    db = ReadsDatabase(url)
    s = ReadSession(_base(), db, user="dr-a")
    told: list[str] = []
    s.save_failed.connect(told.append)
    postgres_server.stop()
    try:
        with pytest.raises(ReadSaveError, match="kept in this window"):
            s.execute(SetStatus("L1", "tpB", LesionStatus.ABSENT))
        assert s.pending and told
        assert s.read.statuses[("L1", "tpB")] is LesionStatus.ABSENT  # kept locally
        assert not s.retry_save()
    finally:
        postgres_server.start()
    assert s.retry_save()
    assert not s.pending
    assert ReadsDatabase(url).load_read("2.25.11").statuses[("L1", "tpB")] is (LesionStatus.ABSENT)
    db.close()
