"""Schema migrations of the reads database (Alembic), applied programmatically when it opens.

:func:`upgrade` brings a database (SQLite or PostgreSQL) to the newest revision in
``versions/``.  A database stamped with a revision this code does not know, or whose
``schema_version`` is newer than :data:`~namecar_viewer.persistence.reads_db.SCHEMA_VERSION`,
was written by a newer NAMECAR Viewer: it is refused with :class:`NewerSchemaError` before
anything is written.  Databases created before Alembic (tables present, no ``alembic_version``)
are adopted: revision ``0001_reads`` only creates tables that are missing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent


class NewerSchemaError(RuntimeError):
    """The database was written by a newer version of the application."""


def _config(conn: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


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


def upgrade(engine: Engine, where: str = "") -> str:
    """Refuse a newer database, else apply every missing migration; returns the revision."""
    from alembic import command

    with engine.connect() as conn:
        check_not_newer(conn, where or str(engine.url.render_as_string(hide_password=True)))
        rev = current_revision(conn)
    head = head_revision()
    if rev == head:
        return head
    with engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    return head
