"""The reads database: every accepted edit of a read committed at once, restorable exactly.

SQLAlchemy Core with portable types only (String, Integer, Float, Boolean, Date, DateTime,
Text), so the same schema runs on PostgreSQL for a reading centre; SQLite in WAL mode is the
embedded default, in the user data directory.  Each row carries ``row_version``: an update or
delete names the version it read and fails when another writer changed the row since
(optimistic concurrency, the central-review issue builds on it).  ``schema_version`` holds the
schema's version; a database newer than this code is refused, never written.

Edits arrive as a :class:`~namecar_viewer.core.reads.diff.ReadDiff` (the rows that changed) and
are written in one transaction: either the whole edit is saved or nothing is.  Write failures
(read-only file, locked database, lost connection) raise :class:`ReadsDatabaseError` with a
message for the reader; the caller keeps the edit (see ``app/read_session.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind, PlaneRef
from namecar_viewer.core.reads.diff import (
    Change,
    ChangeOp,
    HeaderRow,
    ReadDiff,
    SettingRow,
    StatusRow,
    diff_reads,
    status_key,
    unwrap,
)
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
)

# 1: reads, timepoints, lesions, measurements, statuses.  2: + read_settings (RECIST baseline
# choice, eligibility checklist answers); a version-1 file gains the table when opened.
# 3: + reads.kind (RECIST read or ancillary MRI-PET record); older rows are RECIST reads.
SCHEMA_VERSION = 3
DB_FILE_NAME = "reads.sqlite"
# Seconds SQLite waits for another writer before reporting "database is locked".
SQLITE_BUSY_TIMEOUT_S = 5.0
UID = 128  # DICOM UIDs are at most 64 characters; our own uids (2.25.<uuid>) at most 44

metadata = MetaData()

schema_version_table = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("applied_utc", DateTime(timezone=True), nullable=False),
)

reads_table = Table(
    "reads",
    metadata,
    Column("uid", String(UID), primary_key=True),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("reader", String(128), nullable=False, default=""),
    Column("kind", String(32), nullable=False, default="recist", server_default="recist"),
    Column("created_utc", DateTime(timezone=True), nullable=False),
    Column("updated_utc", DateTime(timezone=True), nullable=False),
    Column("row_version", Integer, nullable=False),
)

timepoints_table = Table(
    "read_timepoints",
    metadata,
    Column("uid", String(UID), primary_key=True),
    Column("read_uid", String(UID), ForeignKey("reads.uid"), nullable=False, index=True),
    Column("sort_order", Integer, nullable=False),
    Column("label", String(64), nullable=False),
    Column("date", Date, nullable=True),
    Column("study_instance_uid", String(UID), nullable=True),
    Column("role", String(32), nullable=False),
    Column("slice_thickness_mm", Float, nullable=True),
    Column("row_version", Integer, nullable=False),
)

lesions_table = Table(
    "read_lesions",
    metadata,
    Column("uid", String(UID), primary_key=True),
    Column("read_uid", String(UID), ForeignKey("reads.uid"), nullable=False, index=True),
    Column("sort_order", Integer, nullable=False),
    Column("label", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("site", String(32), nullable=False),
    Column("station", String(64), nullable=False),
    Column("is_lymph_node", Boolean, nullable=False),
    Column("is_primary_renal", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    Column("row_version", Integer, nullable=False),
)

measurements_table = Table(
    "read_measurements",
    metadata,
    Column("uid", String(UID), primary_key=True),
    Column("read_uid", String(UID), ForeignKey("reads.uid"), nullable=False, index=True),
    Column("lesion_uid", String(UID), ForeignKey("read_lesions.uid"), nullable=True),
    Column("timepoint_uid", String(UID), ForeignKey("read_timepoints.uid"), nullable=True),
    Column("sort_order", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("points_json", Text, nullable=False),  # [[x, y, z], ...] LPS mm, full precision
    Column("plane_json", Text, nullable=True),
    Column("series_instance_uid", String(UID), nullable=True),
    Column("study_instance_uid", String(UID), nullable=True),
    Column("frame_of_reference_uid", String(UID), nullable=True),
    Column("images_json", Text, nullable=False),  # [[sop_instance_uid, frame or null], ...]
    Column("unit", String(16), nullable=False),
    Column("label", String(64), nullable=False),
    # Derived numbers, stored for queries and reports without recomputation.
    Column("long_axis_mm", Float, nullable=True),
    Column("short_axis_mm", Float, nullable=True),
    Column("row_version", Integer, nullable=False),
)

statuses_table = Table(
    "read_lesion_statuses",
    metadata,
    Column("lesion_uid", String(UID), ForeignKey("read_lesions.uid"), primary_key=True),
    Column("timepoint_uid", String(UID), ForeignKey("read_timepoints.uid"), primary_key=True),
    Column("read_uid", String(UID), ForeignKey("reads.uid"), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("row_version", Integer, nullable=False),
)

settings_table = Table(
    "read_settings",
    metadata,
    Column("read_uid", String(UID), ForeignKey("reads.uid"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value_json", Text, nullable=False),
    Column("row_version", Integer, nullable=False),
)

_TABLES = {
    "reads": reads_table,
    "timepoints": timepoints_table,
    "lesions": lesions_table,
    "measurements": measurements_table,
    "statuses": statuses_table,
    "settings": settings_table,
}


class ReadsDatabaseError(RuntimeError):
    """A database problem to show the reader (what failed, where, what to do)."""


class ConcurrentEditError(ReadsDatabaseError):
    """Another writer changed or removed a row since this session read it."""


@dataclass(frozen=True)
class ReadInfo:
    uid: str
    patient_id: str
    reader: str
    updated_utc: dt.datetime
    kind: ReadKind = ReadKind.RECIST


def default_database_path() -> Path:
    """``reads.sqlite`` in the user data directory (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("namecar-viewer", appauthor=False)) / DB_FILE_NAME


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _describe(exc: BaseException, where: str) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low or "permission denied" in low:
        why = "it is read-only (check the file and folder permissions)"
    elif "locked" in low or "busy" in low:
        why = "it is locked by another program or another NAMECAR Viewer window"
    elif "disk" in low and ("full" in low or "i/o" in low):
        why = "the disk is full or failing"
    elif "unable to open" in low:
        why = "the file cannot be opened (missing folder or no permission)"
    else:
        why = f"the database reported: {text}"
    return f"Cannot write to the reads database {where}: {why}."


class ReadsDatabase:
    """Reads stored in SQLite (default) or any SQLAlchemy URL (PostgreSQL for a reading centre)."""

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        create: bool = True,
        busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S,
    ) -> None:
        if location is None:
            location = default_database_path()
        url = str(location)
        self.is_sqlite = "://" not in url or url.startswith("sqlite")
        if "://" not in url:
            path = Path(url)
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.where = str(path)
            url = f"sqlite:///{path}"
        elif url.startswith("sqlite"):
            self.where = url.split("///", 1)[-1].removeprefix("file:").split("?")[0]
        else:
            from namecar_viewer.persistence.engine import resolve_url

            resolved = resolve_url(url)  # postgresql:// -> psycopg 3; ValueError names the URL
            self.where = resolved.where  # never show a password
            url = resolved.url
        self.url = url
        # pre-ping: a server restarted between edits costs a reconnect, not a failed save
        self.engine: Engine = create_engine(url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            timeout_ms = int(busy_timeout_s * 1000)
            event.listen(self.engine, "connect", lambda c, r: _sqlite_pragmas(c, r, timeout_ms))
            # SQLAlchemy's documented pysqlite recipe: the driver's own implicit transactions
            # are off (see _sqlite_pragmas), every transaction starts with an explicit BEGIN.
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        # Row versions this process has read or written, per (table, key).
        self._versions: dict[tuple[str, str], int] = {}
        try:
            self._ensure_schema(create)
        except SQLAlchemyError as exc:
            raise ReadsDatabaseError(_describe(exc, self.where)) from exc

    # --- schema ----------------------------------------------------------------------------
    def _ensure_schema(self, create: bool) -> None:
        # One transaction under the schema lock (migrations.schema_lock: a PostgreSQL advisory
        # lock), so workstations opening a new database at once take turns instead of running
        # CREATE TABLE side by side; the later ones find the schema at head and only check it.
        # Alembic migrations (persistence/migrations) first: a newer database is refused
        # before anything is written; create_all below only adds tables no migration has yet.
        from namecar_viewer.persistence import migrations

        with migrations.schema_lock(self.engine) as conn:
            try:
                if create:
                    migrations.upgrade_in(conn, self.where)
                else:
                    migrations.check_not_newer(conn, self.where)
            except migrations.NewerSchemaError as exc:
                raise ReadsDatabaseError(str(exc)) from exc
            if create:
                metadata.create_all(conn)
            row = conn.execute(select(schema_version_table.c.version)).first()
            if row is None:
                conn.execute(
                    schema_version_table.insert().values(
                        id=1, version=SCHEMA_VERSION, applied_utc=_now()
                    )
                )
            elif create and int(row[0]) < SCHEMA_VERSION:
                # create_all above added the new tables; existing rows are unchanged.
                conn.execute(
                    schema_version_table.update()
                    .where(schema_version_table.c.id == 1)
                    .values(version=SCHEMA_VERSION, applied_utc=_now())
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise ReadsDatabaseError(
                    f"The reads database {self.where} has schema version {row[0]}, newer than "
                    f"this NAMECAR Viewer (version {SCHEMA_VERSION}): update the application. "
                    "The database was not changed."
                )

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema_version_table.c.version)).first()
            return int(row[0]) if row else 0

    def close(self) -> None:
        self.engine.dispose()

    # --- reading ---------------------------------------------------------------------------
    def list_reads(
        self,
        patient_id: str | None = None,
        *,
        kind: ReadKind | None = ReadKind.RECIST,
        reader: str | None = None,
    ) -> list[ReadInfo]:
        """Reads oldest first: RECIST reads unless ``kind`` says otherwise (``None``: every
        kind), of one patient and one reader when given."""
        q = select(reads_table).order_by(reads_table.c.updated_utc)
        if patient_id is not None:
            q = q.where(reads_table.c.patient_id == patient_id)
        if kind is not None:
            q = q.where(reads_table.c.kind == kind.value)
        if reader is not None:
            q = q.where(reads_table.c.reader == reader)
        with self.engine.connect() as conn:
            return [
                ReadInfo(r.uid, r.patient_id, r.reader, r.updated_utc, ReadKind(r.kind))
                for r in conn.execute(q)
            ]

    def load_read(self, uid: str) -> Read:
        """The read as last committed (raises KeyError when it does not exist)."""
        with self.engine.connect() as conn:
            head = conn.execute(select(reads_table).where(reads_table.c.uid == uid)).first()
            if head is None:
                raise KeyError(f"No read {uid} in {self.where}.")
            self._versions[("reads", uid)] = head.row_version

            def rows(t: Table) -> list[Any]:
                q = select(t).where(t.c.read_uid == uid)
                if "sort_order" in t.c:
                    q = q.order_by(t.c.sort_order)
                return list(conn.execute(q))

            tps = []
            for r in rows(timepoints_table):
                self._versions[("timepoints", r.uid)] = r.row_version
                tps.append(
                    ReadTimepoint(
                        r.uid,
                        r.label,
                        r.date,
                        r.study_instance_uid,
                        TimepointRole(r.role),
                        r.slice_thickness_mm,
                    )
                )
            lesions = []
            for r in rows(lesions_table):
                self._versions[("lesions", r.uid)] = r.row_version
                lesions.append(
                    Lesion(
                        r.uid,
                        r.label,
                        LesionRole(r.role),
                        Site(r.site),
                        r.station,
                        bool(r.is_lymph_node),
                        bool(r.is_primary_renal),
                        r.description,
                    )
                )
            ms = []
            for r in rows(measurements_table):
                self._versions[("measurements", r.uid)] = r.row_version
                ms.append(LesionMeasurement(_measurement(r), r.lesion_uid, r.timepoint_uid))
            statuses = {}
            for r in rows(statuses_table):
                self._versions[("statuses", status_key(r.lesion_uid, r.timepoint_uid))] = (
                    r.row_version
                )
                statuses[(r.lesion_uid, r.timepoint_uid)] = LesionStatus(r.status)
            settings = {}
            for r in rows(settings_table):
                self._versions[_vkey("settings", uid, r.key)] = r.row_version
                settings[r.key] = r.value_json
        return Read(
            uid=head.uid,
            patient_id=head.patient_id,
            reader=head.reader,
            kind=ReadKind(head.kind),
            lesions=tuple(lesions),
            timepoints=tuple(tps),
            measurements=tuple(ms),
            statuses=statuses,
            settings=settings,
        )

    # --- writing ---------------------------------------------------------------------------
    def save_new_read(self, read: Read) -> None:
        """Write a whole read that is not in the database yet."""
        self.apply(read.uid, diff_reads(None, read))

    def apply(
        self,
        read_uid: str,
        diff: ReadDiff,
        on_commit: Callable[[Connection], None] | None = None,
    ) -> None:
        """Write the rows of one edit in one transaction (all or nothing).

        ``on_commit(conn)`` runs inside the same transaction after the rows are written (the
        audit trail's entries): if it fails, the edit is not saved either.  Running last keeps
        the audit chain's head locked only from the append to the commit (see ``audit.py``).
        """
        if diff.empty:
            return
        new_versions: dict[tuple[str, str], int | None] = {}
        try:
            with self._transaction() as conn:
                for change in diff.changes:
                    new_versions[_vkey(change.table, read_uid, change.key)] = self._write(
                        conn, read_uid, change
                    )
                if not any(c.table == "reads" for c in diff.changes):
                    self._touch(conn, read_uid)
                if on_commit is not None:
                    on_commit(conn)
        except ReadsDatabaseError:
            raise
        except SQLAlchemyError as exc:
            raise ReadsDatabaseError(_describe(exc, self.where)) from exc
        for k, v in new_versions.items():
            if v is None:
                self._versions.pop(k, None)
            else:
                self._versions[k] = v

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        # Each edit's first statement is a write, so SQLite takes the write lock at once
        # (waiting up to the busy timeout for another writer) and commits atomically.
        with self.engine.begin() as conn:
            yield conn

    def _touch(self, conn: Connection, read_uid: str) -> None:
        conn.execute(
            reads_table.update().where(reads_table.c.uid == read_uid).values(updated_utc=_now())
        )

    def _write(self, conn: Connection, read_uid: str, change: Change) -> int | None:
        table = _TABLES[change.table]
        known = self._versions.get(_vkey(change.table, read_uid, change.key))
        where = _key_clause(change.table, change.key, read_uid)
        if change.op is ChangeOp.REMOVED:
            cond = where if known is None else and_(where, table.c.row_version == known)
            res = conn.execute(table.delete().where(cond))
            if res.rowcount == 0 and known is not None:
                raise ConcurrentEditError(
                    f"{_row_noun(change.table)} {change.key} was changed or removed by another "
                    f"session in {self.where}; reload the read."
                )
            return None
        values = _row_values(read_uid, change.new)
        if change.op is ChangeOp.ADDED and known is None:
            if change.table == "reads":
                values["created_utc"] = values["updated_utc"] = _now()
            conn.execute(table.insert().values(**values, row_version=1))
            return 1
        version = known if known is not None else 0
        if change.table == "reads":
            values["updated_utc"] = _now()
        res = conn.execute(
            table.update()
            .where(and_(where, table.c.row_version == version))
            .values(**values, row_version=version + 1)
        )
        if res.rowcount == 0:
            raise ConcurrentEditError(
                f"{_row_noun(change.table)} {change.key} was changed by another session in "
                f"{self.where} (row version {version} is out of date); reload the read."
            )
        return version + 1


def _row_noun(table: str) -> str:
    """What one row of ``table`` is, for a message ("statuses" holds a status)."""
    return "status" if table == "statuses" else table.removesuffix("s")


def _vkey(table: str, read_uid: str, key: str) -> tuple[str, str]:
    """Row-version key: settings keys are per read ("recist/baseline" in every read)."""
    return (table, f"{read_uid}|{key}" if table == "settings" else key)


def _key_clause(table: str, key: str, read_uid: str) -> Any:
    t = _TABLES[table]
    if table == "settings":
        return and_(t.c.read_uid == read_uid, t.c.key == key)
    if table == "statuses":
        lesion_uid, timepoint_uid = key.split("|", 1)
        return and_(t.c.lesion_uid == lesion_uid, t.c.timepoint_uid == timepoint_uid)
    return t.c.uid == key


def _row_values(read_uid: str, value: Any) -> dict[str, Any]:
    order = value[0] if isinstance(value, tuple) else None
    e = unwrap(value)
    if isinstance(e, HeaderRow):
        return {"uid": e.uid, "patient_id": e.patient_id, "reader": e.reader, "kind": e.kind}
    if isinstance(e, ReadTimepoint):
        return {
            "uid": e.uid,
            "read_uid": read_uid,
            "sort_order": order,
            "label": e.label,
            "date": e.date,
            "study_instance_uid": e.study_instance_uid,
            "role": e.role.value,
            "slice_thickness_mm": e.slice_thickness_mm,
        }
    if isinstance(e, Lesion):
        return {
            "uid": e.uid,
            "read_uid": read_uid,
            "sort_order": order,
            "label": e.label,
            "role": e.role.value,
            "site": e.site.value,
            "station": e.station,
            "is_lymph_node": e.is_lymph_node,
            "is_primary_renal": e.is_primary_renal,
            "description": e.description,
        }
    if isinstance(e, LesionMeasurement):
        m = e.measurement
        return {
            "uid": m.uid,
            "read_uid": read_uid,
            "lesion_uid": e.lesion_uid,
            "timepoint_uid": e.timepoint_uid,
            "sort_order": order,
            "kind": m.kind.value,
            # repr of floats round-trips exactly through JSON: the read reopens bit-identical
            "points_json": json.dumps([list(p) for p in m.points]),
            "plane_json": None if m.plane is None else json.dumps(m.plane.to_json()),
            "series_instance_uid": m.series_instance_uid,
            "study_instance_uid": m.study_instance_uid,
            "frame_of_reference_uid": m.frame_of_reference_uid,
            "images_json": json.dumps([[i.sop_instance_uid, i.frame_number] for i in m.images]),
            "unit": m.unit,
            "label": m.label,
            "long_axis_mm": m.long_axis_mm,
            "short_axis_mm": m.short_axis_mm,
        }
    if isinstance(e, StatusRow):
        return {
            "lesion_uid": e.lesion_uid,
            "timepoint_uid": e.timepoint_uid,
            "read_uid": read_uid,
            "status": e.status.value,
        }
    if isinstance(e, SettingRow):
        return {"read_uid": read_uid, "key": e.key, "value_json": e.value}
    raise TypeError(f"Cannot store {type(e).__name__} in the reads database.")


def _measurement(r: Any) -> Measurement:
    plane = None if r.plane_json is None else PlaneRef.from_json(json.loads(r.plane_json))
    return Measurement(
        uid=r.uid,
        kind=MeasurementKind(r.kind),
        points=tuple((float(p[0]), float(p[1]), float(p[2])) for p in json.loads(r.points_json)),
        plane=plane,
        series_instance_uid=r.series_instance_uid,
        images=tuple(
            ImageRef(str(s), None if f is None else int(f)) for s, f in json.loads(r.images_json)
        ),
        frame_of_reference_uid=r.frame_of_reference_uid,
        unit=r.unit,
        label=r.label,
        study_instance_uid=r.study_instance_uid,
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling is switched off: the transactions above are explicit.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        # A read-only file cannot switch journal mode; reading it still works.
        with contextlib.suppress(Exception):
            cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before execute() returns, even across a power cut.
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()


def is_writable(path: str | Path) -> bool:
    """Whether the database file (or its folder, before it exists) can be written."""
    p = Path(path)
    return os.access(p if p.exists() else p.parent, os.W_OK)


__all__ = [
    "SCHEMA_VERSION",
    "ConcurrentEditError",
    "DBAPIError",
    "ReadInfo",
    "ReadsDatabase",
    "ReadsDatabaseError",
    "default_database_path",
    "is_writable",
]
