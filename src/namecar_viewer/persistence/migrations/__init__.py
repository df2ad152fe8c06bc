"""Schema migrations of the reads database (Alembic), applied programmatically when it opens.

:func:`upgrade` brings a database (SQLite or PostgreSQL) to the newest revision in
``versions/``.  A database stamped with a revision this code does not know, or whose
``schema_version`` is newer than :data:`~namecar_viewer.persistence.reads_db.SCHEMA_VERSION`,
was written by a newer NAMECAR Viewer: it is refused with :class:`NewerSchemaError` before
anything is written.  Databases created before Alembic (tables present, no ``alembic_version``)
are adopted: revision ``0001_reads`` only creates tables that are missing.

Several workstations may open a new PostgreSQL database at the same moment (a reading centre
starting up): :func:`schema_lock` serialises them with a transaction-level advisory lock
(``pg_advisory_xact_lock`` with the fixed key :data:`SCHEMA_LOCK_KEY`), taken before the schema
is looked at and held until the transaction that upgrades it commits.  The first workstation
creates the schema; the others wait, then see it at head and only check it.  SQLite needs no
such lock: its writers are serialised by the database file's write lock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent

# Key of the PostgreSQL advisory lock held while a workstation creates or upgrades the schema:
# the bytes of "NAMECAR" and 0x01 as one signed 64-bit integer.  Advisory locks are per
# database, so reading centres sharing a server do not wait for one another.
SCHEMA_LOCK_KEY = int.from_bytes(b"NAMECAR\x01", "big", signed=True)


class NewerSchemaError(RuntimeError):
    """The database was written by a newer version of the application."""


def _config(conn: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows (read once per process)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this code knows (read once per process)."""
    from alembic.script import ScriptDirectory

    return frozenset(s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions())


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def check_not_newer(conn: Connection, where: str) -> None:
    """Raise :class:`NewerSchemaError` when the database is newer than this code."""
    from namecar_viewer.persistence.reads_db import SCHEMA_VERSION

    rev = current_revision(conn)
    if rev is not None and rev not in known_revisions():
        raise NewerSchemaError(
            f"The reads database {where} has schema revision {rev}, newer than this NAMECAR "
            f"Viewer (newest known: {head_revision()}): update the application. "
            "The database was not changed."
        )
    if inspect(conn).has_table("schema_version"):
        row = conn.execute(text("SELECT version FROM schema_version")).first()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"The reads database {where} has schema version {row[0]}, newer than this "
                f"NAMECAR Viewer (version {SCHEMA_VERSION}): update the application. "
                "The database was not changed."
            )


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the schema lock: look at, create or upgrade the schema in it.

    On PostgreSQL its first statement is ``pg_advisory_xact_lock(SCHEMA_LOCK_KEY)``: a second
    workstation opening the database waits there until the first one's transaction ends, then
    sees the schema that one committed.  The lock is released by the commit or rollback (never
    left behind on a pooled connection).  On SQLite it is a plain transaction.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        yield conn


def upgrade_in(conn: Connection, where: str = "") -> str:
    """:func:`upgrade` in the caller's transaction (which holds :func:`schema_lock`)."""
    from alembic import command

    check_not_newer(conn, where or conn.engine.url.render_as_string(hide_password=True))
    head = head_revision()
    if current_revision(conn) != head:
        # Alembic runs in the caller's transaction (env.py: an external transaction is used
        # as it is), so the migrations commit together with the caller's own writes.
        command.upgrade(_config(conn), "head")
    return head


def upgrade(engine: Engine, where: str = "") -> str:
    """Refuse a newer database, else apply every missing migration; returns the revision.

    Runs under :func:`schema_lock`: workstations upgrading the same database at once take turns.
    """
    with schema_lock(engine) as conn:
        return upgrade_in(conn, where)
