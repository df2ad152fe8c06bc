"""Issue 13: the audit append's locked section is short, and the chain is the same as before.

``append`` locks and reads the head in one ``UPDATE audit_head ... RETURNING`` and writes all
entries of a transaction in one multi-row ``INSERT``.  The entries and hashes it writes are the
ones the previous implementation (SELECT after a no-op UPDATE, one INSERT per entry; kept below
as ``_append_as_before``) wrote for the same input, and entries of both verify as one chain.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from namecar_viewer.persistence import audit
from namecar_viewer.persistence.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEntry,
    AuditLog,
    NewEntry,
    append,
    audit_head_table,
    audit_table,
    canonical_json,
    compute_hash,
    verify,
)
from namecar_viewer.persistence.reads_db import ReadsDatabase


def _append_as_before(conn: Connection, entries: Sequence[NewEntry]) -> list[AuditEntry]:
    """``audit.append`` as it was before issue 13 (commit 782ad3b), for comparison."""
    res = conn.execute(
        audit_head_table.update()
        .where(audit_head_table.c.id == 1)
        .values(seq=audit_head_table.c.seq)
    )
    if res.rowcount == 0:
        conn.execute(audit_head_table.insert().values(id=1, seq=0, hash=GENESIS_HASH))
    head = conn.execute(select(audit_head_table).where(audit_head_table.c.id == 1)).one()
    seq, prev = int(head.seq), str(head.hash)
    out: list[AuditEntry] = []
    ts = audit.utc_now_text()
    for e in entries:
        seq += 1
        content = {
            "seq": seq,
            "ts_utc": ts,
            "username": e.username,
            "action": e.action.value,
            "entity": e.entity,
            "entity_key": e.entity_key,
            "read_uid": e.read_uid,
            "old_value": canonical_json(e.old_value),
            "new_value": canonical_json(e.new_value),
            "reason": e.reason,
            "detail": e.detail,
            "prev_hash": prev,
        }
        h = compute_hash(content)
        conn.execute(audit_table.insert().values(**content, hash=h))
        out.append(AuditEntry(**content, hash=h))  # type: ignore[arg-type]
        prev = h
    conn.execute(
        audit_head_table.update().where(audit_head_table.c.id == 1).values(seq=seq, hash=prev)
    )
    return out


def _batches() -> list[list[NewEntry]]:
    """Transactions of one, several and many entries, with structured and missing values."""
    return [
        [NewEntry("dr-a", AuditAction.LOGIN, "user", "dr-a")],
        [
            NewEntry(
                "dr-a",
                AuditAction.CREATE,
                "lesions",
                f"L{i}",
                None,
                {"label": f"T{i}", "points": [[1.5, -2.25, 3.0]], "site": "liver"},
                detail="Create lesion",
                read_uid="2.25.1",
            )
            for i in range(5)
        ],
        [
            NewEntry(
                "dr-b",
                AuditAction.CHANGE,
                "settings",
                "2.25.2|recist/baseline",
                {"v": 1},
                {"v": 2},
                reason="typo",
                read_uid="2.25.2",
            )
        ],
        [
            NewEntry("dr-c", AuditAction.DELETE, "measurements", f"M{i}", {"i": i}, None)
            for i in range(200)  # more than one SQLite statement's worth of parameters
        ],
    ]


def _stored(db: ReadsDatabase) -> list[AuditEntry]:
    return AuditLog(db.engine).entries()


def test_append_writes_the_entries_and_hashes_the_previous_code_wrote(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same input, same clock: the new append stores exactly the old append's rows."""
    monkeypatch.setattr(audit, "utc_now_text", lambda: "2026-01-02T03:04:05.000006+00:00")
    new_db = ReadsDatabase(db_url)
    old_db = ReadsDatabase(tmp_path / "before.sqlite")
    try:
        for batch in _batches():
            with new_db.engine.begin() as conn:
                returned = append(conn, batch)
            with old_db.engine.begin() as conn:
                expected = _append_as_before(conn, batch)
            assert returned == expected
        new, old = _stored(new_db), _stored(old_db)
        assert len(new) == 1 + 5 + 1 + 200
        assert new == old
        assert verify(new_db.engine).ok and verify(old_db.engine).ok
    finally:
        new_db.close()
        old_db.close()


def test_entries_written_before_and_after_the_change_verify_as_one_chain(db_url: str) -> None:
    db = ReadsDatabase(db_url)
    try:
        for n, batch in enumerate(_batches() * 2):
            write = _append_as_before if n % 2 == 0 else append
            with db.engine.begin() as conn:
                write(conn, batch)
        report = verify(db.engine)
        assert report.ok, report.problems
        entries = _stored(db)
        assert [e.seq for e in entries] == list(range(1, 2 * 207 + 1))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    finally:
        db.close()


def test_append_locks_and_reads_the_head_in_one_statement_and_inserts_once(
    db_url: str,
) -> None:
    db = ReadsDatabase(db_url)
    statements: list[str] = []

    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    try:
        batch = _batches()[1]
        with db.engine.begin() as conn:
            event.listen(conn, "before_cursor_execute", _seen)
            append(conn, batch)
            event.remove(conn, "before_cursor_execute", _seen)
        assert len(statements) == 3, statements
        lock, insert, head = statements
        assert lock.startswith("UPDATE AUDIT_HEAD SET SEQ=AUDIT_HEAD.SEQ") and "RETURNING" in lock
        assert insert.startswith("INSERT INTO AUDIT_LOG") and insert.count("), (") == 4
        assert head.startswith("UPDATE AUDIT_HEAD SET SEQ=")
        assert verify(db.engine).ok
    finally:
        db.close()


def test_concurrent_appends_on_postgresql_keep_one_chain(pg_url: str) -> None:
    """Eight connections appending at once queue up on the head: one gapless chain."""
    db = ReadsDatabase(pg_url)
    log = AuditLog(db.engine)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(15):
                log.record_many(
                    NewEntry(f"dr-{w}", AuditAction.CHANGE, "lesions", f"L{w}-{n}-{k}")
                    for k in range(3)
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not any(t.is_alive() for t in threads), "a writer did not finish in 120 s"
        assert errors == []
        report = verify(db.engine)
        assert report.ok, report.problems
        entries = log.entries()
        assert [e.seq for e in entries] == list(range(1, 8 * 15 * 3 + 1))
        # each transaction's three entries are consecutive in the chain
        for i in range(0, len(entries), 3):
            keys = [e.entity_key.rsplit("-", 1)[0] for e in entries[i : i + 3]]
            assert len(set(keys)) == 1, keys
    finally:
        db.close()
