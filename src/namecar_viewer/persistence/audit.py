"""The audit trail: append-only, hash-chained record of who did what to a read, and when.

Every create, change, delete, sign, unlock, export, login (and failed login) is one
:class:`AuditEntry`: who, when (UTC), action, entity and key, old and new value (canonical
JSON), reason.  Each entry stores ``hash = SHA-256(canonical content + previous entry's
hash)``, the chain starting at 64 zeros; the ``audit_head`` row holds the last sequence number
and hash, so deleting the newest entries is caught too.  :func:`verify` recomputes the chain
and names every entry that was edited, deleted or inserted (21 CFR 11.10(e): secure,
computer-generated, time-stamped audit trails; ICH E6(R2) 4.9.0).

Entries written with an edit of a read go in that edit's transaction
(``ReadsDatabase.apply(on_commit=...)``): both or neither are saved.  :func:`append` runs last
in such a transaction, after the read's own rows are written (so are the signing, worklist,
adjudication and account writes), and its first statement,
``UPDATE audit_head ... RETURNING seq, hash``, both locks the head row and reads it.  That lock
keeps the chain linear: on PostgreSQL a second writer's ``UPDATE`` of the head waits until the
first writer's transaction ends, then (READ COMMITTED) returns the head that transaction
committed, so its entries follow the first writer's and no two transactions chain onto the
same entry; rolled back, the first writer leaves the head unchanged.  On SQLite the
transaction's first write (the read's rows, or the head update when entries are recorded
alone) takes the database write lock, which serialises appends the same way.  The head stays
locked from the append to the commit only: the read's rows are written before it (their own
conflicts are caught by row versions), the entries' values are serialised before it, and all
entries of the transaction go in one multi-row ``INSERT``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.engine import Connection, Engine

GENESIS_HASH = "0" * 64
SYSTEM_USER = "(system)"

audit_metadata = MetaData()

audit_head_table = Table(
    "audit_head",
    audit_metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_table = Table(
    "audit_log",
    audit_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts_utc", String(40), nullable=False),
    Column("username", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_key", String(300), nullable=False),
    Column("read_uid", String(128), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


class AuditAction(enum.Enum):
    """What an entry records."""

    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    SIGN = "sign"
    UNLOCK = "unlock"
    EXPORT = "export"
    LOGIN = "login"
    LOGIN_FAILED = "login failed"
    LOGOUT = "logout"
    ASSIGN = "assign"
    ADJUDICATE = "adjudicate"
    ACCOUNT = "account"


@dataclass(frozen=True)
class NewEntry:
    """An entry to append (sequence, time and hashes are added by :func:`append`)."""

    username: str
    action: AuditAction
    entity: str
    entity_key: str = ""
    old_value: Any = None
    new_value: Any = None
    reason: str = ""
    detail: str = ""
    read_uid: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts_utc: str
    username: str
    action: str
    entity: str
    entity_key: str
    read_uid: str | None
    old_value: str | None
    new_value: str | None
    reason: str
    detail: str
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """The hashed fields (everything but ``hash``)."""
        d = dataclasses.asdict(self)
        d.pop("hash")
        return d


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for any read entity (dataclasses, enums, dates, fractions)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (Fraction, Decimal)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            ("|".join(map(str, k)) if isinstance(k, tuple) else str(k)): to_jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return str(value)


def canonical_json(value: Any) -> str | None:
    """Sorted keys, no spaces, UTF-8: the same value always gives the same text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's content (which includes ``prev_hash``)."""
    text = json.dumps(dict(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# Bound parameters per multi-row INSERT: SQLite before 3.32 allows 999 per statement.
_MAX_PARAMS = {"sqlite": 999}
_DEFAULT_MAX_PARAMS = 30000


def append(conn: Connection, entries: Sequence[NewEntry]) -> list[AuditEntry]:
    """Append entries in the caller's transaction; returns them with sequence and hashes.

    Call it as the transaction's last step: the head row stays locked from here to the commit.
    """
    if not entries:
        return []
    # Serialised before the head is locked: the values can be large (a whole read).
    values = [(e, canonical_json(e.old_value), canonical_json(e.new_value)) for e in entries]
    head_t = audit_head_table
    # Lock the head row and read it in one statement (waits for another writer's commit).
    lock = head_t.update().where(head_t.c.id == 1).values(seq=head_t.c.seq)
    if conn.dialect.update_returning:
        head = conn.execute(lock.returning(head_t.c.seq, head_t.c.hash)).first()
    else:  # pragma: no cover - SQLite before 3.35
        res = conn.execute(lock)
        head = (
            conn.execute(select(head_t.c.seq, head_t.c.hash).where(head_t.c.id == 1)).first()
            if res.rowcount
            else None
        )
    if head is None:
        conn.execute(head_t.insert().values(id=1, seq=0, hash=GENESIS_HASH))
        seq, prev = 0, GENESIS_HASH
    else:
        seq, prev = int(head.seq), str(head.hash)
    out: list[AuditEntry] = []
    rows: list[dict[str, Any]] = []
    ts = utc_now_text()  # taken under the lock: times never go backwards along the chain
    for e, old_value, new_value in values:
        seq += 1
        content = {
            "seq": seq,
            "ts_utc": ts,
            "username": e.username,
            "action": e.action.value,
            "entity": e.entity,
            "entity_key": e.entity_key,
            "read_uid": e.read_uid,
            "old_value": old_value,
            "new_value": new_value,
            "reason": e.reason,
            "detail": e.detail,
            "prev_hash": prev,
        }
        h = compute_hash(content)
        rows.append({**content, "hash": h})
        out.append(AuditEntry(**content, hash=h))  # type: ignore[arg-type]
        prev = h
    max_params = _MAX_PARAMS.get(conn.dialect.name, _DEFAULT_MAX_PARAMS)
    per_statement = max(1, max_params // len(audit_table.c))
    for i in range(0, len(rows), per_statement):
        conn.execute(audit_table.insert().values(rows[i : i + per_statement]))
    conn.execute(head_t.update().where(head_t.c.id == 1).values(seq=seq, hash=prev))
    return out


_OP_ACTION = {
    "added": AuditAction.CREATE,
    "updated": AuditAction.CHANGE,
    "removed": AuditAction.DELETE,
}


def entries_for_diff(username: str, read_uid: str, diff: Any, detail: str = "") -> list[NewEntry]:
    """One entry per row a read edit adds, changes or removes (old and new values in full).

    ``diff`` is a :class:`~namecar_viewer.core.reads.diff.ReadDiff`; ``detail`` names the
    commands (``"Create lesion T1"``, ``"Undo Move measurement"``).
    """
    from namecar_viewer.core.reads.diff import unwrap

    out = []
    for c in diff.changes:
        out.append(
            NewEntry(
                username=username,
                action=_OP_ACTION[c.op.value],
                entity=c.table,
                entity_key=c.key,
                old_value=None if c.old is None else unwrap(c.old),
                new_value=None if c.new is None else unwrap(c.new),
                detail=detail,
                read_uid=read_uid,
            )
        )
    return out


@dataclass(frozen=True)
class AuditFilter:
    """Filters of the audit view and ``audit list``: all optional, combined with AND."""

    username: str | None = None
    action: AuditAction | None = None
    read_uid: str | None = None
    entity: str | None = None
    since_utc: str | None = None
    until_utc: str | None = None
    text: str | None = None
    limit: int | None = None


def _row(r: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(r.seq),
        ts_utc=r.ts_utc,
        username=r.username,
        action=r.action,
        entity=r.entity,
        entity_key=r.entity_key,
        read_uid=r.read_uid,
        old_value=r.old_value,
        new_value=r.new_value,
        reason=r.reason,
        detail=r.detail,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


@dataclass
class VerifyReport:
    """Result of :func:`verify`: ``ok`` and one message per problem naming the entry."""

    entries: int
    problems: list[str] = field(default_factory=list)
    bad_seqs: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Append and query the audit trail of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, entry: NewEntry) -> AuditEntry:
        """Append one entry in its own transaction."""
        with self.engine.begin() as conn:
            return append(conn, [entry])[0]

    def record_many(self, entries: Iterable[NewEntry]) -> list[AuditEntry]:
        with self.engine.begin() as conn:
            return append(conn, list(entries))

    def entries(self, flt: AuditFilter | None = None) -> list[AuditEntry]:
        flt = flt or AuditFilter()
        t = audit_table
        conds: list[Any] = []
        if flt.username:
            conds.append(t.c.username == flt.username)
        if flt.action is not None:
            conds.append(t.c.action == flt.action.value)
        if flt.read_uid:
            conds.append(t.c.read_uid == flt.read_uid)
        if flt.entity:
            conds.append(t.c.entity == flt.entity)
        if flt.since_utc:
            conds.append(t.c.ts_utc >= flt.since_utc)
        if flt.until_utc:
            conds.append(t.c.ts_utc <= flt.until_utc)
        q = select(t).order_by(t.c.seq)
        if conds:
            q = q.where(and_(*conds))
        with self.engine.connect() as conn:
            rows = [_row(r) for r in conn.execute(q)]
        if flt.text:
            needle = flt.text.lower()
            rows = [
                e
                for e in rows
                if needle
                in " ".join(
                    str(x or "")
                    for x in (e.entity_key, e.old_value, e.new_value, e.reason, e.detail)
                ).lower()
            ]
        if flt.limit is not None:
            rows = rows[-flt.limit :]
        return rows

    def users(self) -> list[str]:
        with self.engine.connect() as conn:
            return [
                str(r[0])
                for r in conn.execute(
                    select(audit_table.c.username).distinct().order_by(audit_table.c.username)
                )
            ]

    def verify(self) -> VerifyReport:
        return verify(self.engine)


def verify(engine: Engine) -> VerifyReport:
    """Recompute the chain; report every edited, deleted or inserted entry by sequence number."""
    with engine.connect() as conn:
        rows = [_row(r) for r in conn.execute(select(audit_table).order_by(audit_table.c.seq))]
        head = conn.execute(select(audit_head_table).where(audit_head_table.c.id == 1)).first()
    rep = VerifyReport(entries=len(rows))
    expected_seq, prev = 1, GENESIS_HASH
    for e in rows:
        if e.seq > expected_seq:
            missing = (
                f"entry {expected_seq}"
                if e.seq == expected_seq + 1
                else f"entries {expected_seq}-{e.seq - 1}"
            )
            rep.problems.append(f"Audit {missing} deleted (the chain jumps to entry {e.seq}).")
            rep.bad_seqs.extend(range(expected_seq, e.seq))
        elif e.seq < expected_seq:
            rep.problems.append(f"Audit entry {e.seq} is duplicated or out of order.")
            rep.bad_seqs.append(e.seq)
        recomputed = compute_hash(e.content())
        if recomputed != e.hash:
            rep.problems.append(
                f"Audit entry {e.seq} ({e.ts_utc}, {e.username}, {e.action} {e.entity}) was "
                "edited: its content does not match its stored hash."
            )
            rep.bad_seqs.append(e.seq)
        elif e.prev_hash != prev and e.seq == expected_seq:
            rep.problems.append(
                f"Audit entry {e.seq} does not follow entry {e.seq - 1}: the previous entry "
                "was edited or replaced (its hash changed)."
            )
            rep.bad_seqs.append(e.seq)
        prev = e.hash
        expected_seq = e.seq + 1
    if head is not None:
        last_seq = rows[-1].seq if rows else 0
        if int(head.seq) > last_seq:
            gone = (
                f"entry {last_seq + 1}"
                if int(head.seq) == last_seq + 1
                else f"entries {last_seq + 1}-{head.seq}"
            )
            rep.problems.append(
                f"Audit {gone} deleted (the chain head records {head.seq} entries)."
            )
            rep.bad_seqs.extend(range(last_seq + 1, int(head.seq) + 1))
        elif int(head.seq) == last_seq and rows and head.hash != rows[-1].hash:
            rep.problems.append(
                f"Audit entry {last_seq} does not match the chain head (edited and re-hashed)."
            )
            rep.bad_seqs.append(last_seq)
        elif int(head.seq) < last_seq:
            rep.problems.append(
                f"Audit entries {int(head.seq) + 1}-{last_seq} were inserted outside the "
                "application (the chain head does not know them)."
            )
            rep.bad_seqs.extend(range(int(head.seq) + 1, last_seq + 1))
    return rep


__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "AuditFilter",
    "AuditLog",
    "NewEntry",
    "VerifyReport",
    "append",
    "canonical_json",
    "compute_hash",
    "entries_for_diff",
    "to_jsonable",
    "verify",
]
