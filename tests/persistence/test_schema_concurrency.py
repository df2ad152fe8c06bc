"""Issue 13: several workstations open a new, empty PostgreSQL database at the same moment.

Each workstation is a process of its own (spawned: its own ``ReadsDatabase`` and engine), all
released together by a barrier.  Without a lock around schema creation the concurrent
``CREATE TABLE`` statements collide (``duplicate key value violates unique constraint
"pg_type_typname_nsp_index"``); with it every workstation opens the database and the schema is
created once.  Everything is bounded by timeouts; a process still alive at the end is killed.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from namecar_viewer.persistence import migrations
from namecar_viewer.persistence.audit import GENESIS_HASH
from namecar_viewer.persistence.engine import resolve_url
from namecar_viewer.persistence.reads_db import SCHEMA_VERSION, ReadsDatabase

WORKSTATIONS = 6
BARRIER_TIMEOUT_S = 90.0  # spawning and importing six interpreters on a small machine
RESULT_TIMEOUT_S = 150.0


def _open_at_once(url: str, barrier: Any, results: Any) -> None:
    """One workstation: import everything, wait for the others, then open the database."""
    name = mp.current_process().name
    try:
        import alembic.command  # noqa: F401  (imported before the barrier: the race is on the
        import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401  database, not on imports)

        from namecar_viewer.persistence import migrations as mig
        from namecar_viewer.persistence.reads_db import ReadsDatabase as Db

        mig.head_revision()
        barrier.wait(timeout=BARRIER_TIMEOUT_S)
        t0 = time.monotonic()
        db = Db(url)
        try:
            version = db.schema_version()
        finally:
            db.close()
        results.put((name, "ok", f"schema version {version} in {time.monotonic() - t0:.2f} s"))
    except BaseException as exc:  # noqa: BLE001 - reported to the test, which fails with it
        results.put((name, "error", f"{type(exc).__name__}: {exc}"))


def _run_workstations(url: str, n: int) -> dict[str, tuple[str, str]]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_open_at_once, args=(url, barrier, results), name=f"ws{i}", daemon=True)
        for i in range(n)
    ]
    outcome: dict[str, tuple[str, str]] = {}
    for p in procs:
        p.start()
    try:
        deadline = time.monotonic() + RESULT_TIMEOUT_S
        while len(outcome) < n and time.monotonic() < deadline:
            try:
                name, status, message = results.get(timeout=0.5)
            except queue.Empty:
                # a process that exited has flushed its message: none is coming from it
                gone = [p for p in procs if p.exitcode is not None and p.name not in outcome]
                for p in gone:
                    outcome[p.name] = ("error", f"exited with code {p.exitcode}, no result")
                continue
            outcome[name] = (status, message)
        for p in procs:
            if p.name not in outcome:
                outcome[p.name] = ("error", f"no result within {RESULT_TIMEOUT_S:g} s")
    finally:
        for p in procs:
            p.join(timeout=10)
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
    return outcome


def test_six_workstations_open_a_new_postgresql_database_at_once(pg_url: str) -> None:
    outcome = _run_workstations(pg_url, WORKSTATIONS)
    for name, (status, message) in sorted(outcome.items()):
        print(f"{name}: {status}: {message}")
    failed = {k: v for k, v in outcome.items() if v[0] != "ok"}
    assert not failed, (
        f"{len(failed)} of {WORKSTATIONS} workstations failed to open the new database:\n"
        + "\n".join(f"{k}: {m}" for k, (_, m) in sorted(failed.items()))
    )
    # The schema is at head exactly once: one revision, one schema version, one chain head.
    engine = create_engine(resolve_url(pg_url).url)
    try:
        with engine.connect() as conn:
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            versions = conn.execute(text("SELECT id, version FROM schema_version")).all()
            heads = conn.execute(text("SELECT id, seq, hash FROM audit_head")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in revisions] == [(migrations.head_revision(),)]
    assert [tuple(r) for r in versions] == [(1, SCHEMA_VERSION)]
    assert [tuple(r) for r in heads] == [(1, 0, GENESIS_HASH)]


def test_opening_waits_for_the_schema_lock(pg_url: str) -> None:
    """Schema creation runs under the advisory lock: while another session holds it, opening
    the database waits, and goes on when the lock is released."""
    import psycopg

    url = resolve_url(pg_url).url.replace("postgresql+psycopg://", "postgresql://")
    holder = psycopg.connect(url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (migrations.SCHEMA_LOCK_KEY,))
        opened: list[Any] = []

        def _open() -> None:
            try:
                ReadsDatabase(pg_url).close()
                opened.append("ok")
            except Exception as exc:  # noqa: BLE001
                opened.append(exc)

        t = threading.Thread(target=_open, daemon=True)
        t.start()
        t.join(timeout=2.0)
        assert t.is_alive() and not opened, "the database opened while the schema lock was held"
        holder.execute("SELECT pg_advisory_unlock(%s)", (migrations.SCHEMA_LOCK_KEY,))
        t.join(timeout=60)
        assert opened == ["ok"]
    finally:
        holder.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_at_head_is_only_checked(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Reopening a database already at head writes nothing: one transaction that takes the
    lock (PostgreSQL), sees the schema current and ends."""
    if backend == "sqlite":
        url = str(tmp_path / "reads.sqlite")
    else:
        url = request.getfixturevalue("pg_url")
    ReadsDatabase(url).close()
    statements: list[str] = []

    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(Engine, "before_cursor_execute", _seen)
    try:
        db = ReadsDatabase(url)
    finally:
        event.remove(Engine, "before_cursor_execute", _seen)
    try:
        assert db.schema_version() == SCHEMA_VERSION
    finally:
        db.close()
    verbs = {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    assert [s for s in statements if s.split(" ", 1)[0] in verbs] == []
    locks = [s for s in statements if "PG_ADVISORY" in s]
    assert len(locks) == (1 if backend == "postgresql" else 0), locks
    if backend == "postgresql":
        assert "PG_ADVISORY_XACT_LOCK" in locks[0]
