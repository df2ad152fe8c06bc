"""Database URLs: a file path or ``sqlite:///...`` for one workstation, ``postgresql://...`` for a
reading centre, from ``--db``, ``$NAMECAR_DB`` or the settings; passwords never shown.

``postgresql://`` without a driver is served by psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

DB_ENV = "NAMECAR_DB"


@dataclass(frozen=True)
class DatabaseURL:
    """A normalised SQLAlchemy URL and a printable location without the password."""

    url: str
    where: str
    is_sqlite: bool
    path: Path | None = None


def resolve_url(location: str | Path | None, default_path: Path | None = None) -> DatabaseURL:
    """The database behind ``location``: a URL, a file path, else ``$NAMECAR_DB``, else the default.

    Raises ValueError naming the location when it is neither a path nor a supported URL.
    """
    if location is None or str(location) == "":
        env = os.environ.get(DB_ENV, "")
        if env:
            location = env
        elif default_path is not None:
            location = default_path
        else:
            raise ValueError("No database given (use --db URL or set NAMECAR_DB).")
    text = str(location)
    if "://" not in text:
        path = Path(text).expanduser()
        return DatabaseURL(f"sqlite:///{path}", str(path), True, path)
    try:
        url = make_url(text)
    except Exception as exc:  # SQLAlchemy raises ArgumentError for garbage
        raise ValueError(f"Not a database URL: {redact(text)} ({exc}).") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        db = url.database or ""
        file = Path(db.removeprefix("file:").split("?")[0]) if db and db != ":memory:" else None
        return DatabaseURL(text, db or ":memory:", True, file)
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        where = f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
        return DatabaseURL(url.render_as_string(hide_password=False), where, False)
    raise ValueError(
        f"Unsupported database {redact(text)}: use a file path, sqlite:///FILE or "
        "postgresql://user:password@host:port/database."
    )


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    if "://" not in url or "@" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        head, _, tail = url.rpartition("@")
        scheme = head.split("://", 1)[0]
        return f"{scheme}://***@{tail}"
