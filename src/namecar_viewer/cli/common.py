"""What the subcommands share: one-line failures, the reads database behind ``--db``, the user
recorded in the audit trail, the version.

Not a subcommand itself (``SUBCOMMANDS`` in the package lists those).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

READS_DB_ENV = "NAMECAR_READS_DB"  # the workstation's own database file (as the GUI reads it)


class CliError(Exception):
    """A failure the command reports in one line with an exit code, never as a traceback."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def version() -> str:
    """The installed distribution's version (the package's own when run from a bare tree)."""
    from importlib import metadata

    try:
        return metadata.version("namecar-viewer")
    except metadata.PackageNotFoundError:
        from namecar_viewer import __version__

        return __version__


def version_text() -> str:
    return f"namecar-viewer {version()}"


def open_reads_db(
    db: str | None, *, create: bool = False, create_default: bool = False, migrate: bool = False
) -> Any:
    """The reads database of ``--db``, else ``$NAMECAR_DB``, else the workstation's own file
    (``$NAMECAR_READS_DB``, else reads.sqlite in the user data folder, as the GUI).

    A SQLite file that does not exist is never created unless asked: ``create`` (a command's
    ``--create-db``) for one named by ``--db`` or ``$NAMECAR_DB``, ``create_default`` for the
    workstation's own file.  ``migrate`` brings an existing database's schema up to date (for
    commands that write reads).  Raises :class:`CliError` (exit 2) naming the database and
    what is wrong; nothing is created on the way.
    """
    from namecar_viewer.persistence.engine import DB_ENV, resolve_url
    from namecar_viewer.persistence.reads_db import (
        ReadsDatabase,
        ReadsDatabaseError,
        default_database_path,
    )

    named = db or os.environ.get(DB_ENV)
    location = named or os.environ.get(READS_DB_ENV) or default_database_path()
    try:
        target = resolve_url(str(location))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    opened: str | Path = target.url
    if target.path is not None:
        if target.path.is_dir():
            raise CliError(f"{target.where} is a folder, not a reads database")
        if not target.path.exists():
            if not (create if named else create_default):
                hint = "check the path, or add --create-db to make a new one" if named else ""
                raise CliError(
                    f"no reads database at {target.where}" + (f" ({hint})" if hint else "")
                )
            migrate = True
        opened = target.path
    try:
        return ReadsDatabase(opened, create=migrate)
    except ReadsDatabaseError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a file that is not a database, a driver error
        raise CliError(f"cannot open the reads database {target.where}: {exc}") from None


def cli_user(name: str | None) -> str:
    """Who the audit trail names for a command-line action: ``--user NAME``, else the OS user."""
    if name:
        return name.strip() or "(unknown)"
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "(unknown OS user)"
