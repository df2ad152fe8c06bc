"""The difference between two reads as row changes: what a save writes and what views redraw.

Every entity of a read has a table name and a key; :func:`diff_reads` lists the rows added,
changed and removed between two reads.  The reads database applies exactly these rows in one
transaction, and the session turns them into added/updated/removed events.

Examples
--------
>>> from namecar_viewer.core.reads.model import Lesion, LesionRole, Read, Site
>>> a = Read.new(uid="R")
>>> b = a.with_lesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LUNG))
>>> [(c.table, c.key, c.op.value) for c in diff_reads(a, b).changes]
[('lesions', 'L1', 'added')]
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from namecar_viewer.core.reads.model import (
    Lesion,
    LesionMeasurement,
    LesionStatus,
    Read,
    ReadTimepoint,
)


class ChangeOp(enum.Enum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


@dataclass(frozen=True)
class StatusRow:
    """A lesion's status at a timepoint (key ``lesion_uid|timepoint_uid``)."""

    lesion_uid: str
    timepoint_uid: str
    status: LesionStatus


@dataclass(frozen=True)
class SettingRow:
    """A read-level setting (key ``key``): JSON text."""

    key: str
    value: str


@dataclass(frozen=True)
class HeaderRow:
    """The read's own fields."""

    uid: str
    patient_id: str
    reader: str
    kind: str = "recist"


@dataclass(frozen=True)
class Change:
    """One row: table, key, operation, old and new value (``None`` when absent)."""

    table: str
    key: str
    op: ChangeOp
    old: Any
    new: Any


@dataclass(frozen=True)
class ReadDiff:
    """Row changes from one read to the next, in an order safe for foreign keys."""

    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes


def status_key(lesion_uid: str, timepoint_uid: str) -> str:
    return f"{lesion_uid}|{timepoint_uid}"


def entity_rows(read: Read) -> dict[str, dict[str, Any]]:
    """Every entity of ``read`` by table, then key; ``sort_order`` kept for lesions/timepoints."""
    return {
        "reads": {read.uid: HeaderRow(read.uid, read.patient_id, read.reader, read.kind.value)},
        "timepoints": {tp.uid: (n, tp) for n, tp in enumerate(read.timepoints)},
        "lesions": {les.uid: (n, les) for n, les in enumerate(read.lesions)},
        "measurements": {lm.uid: (n, lm) for n, lm in enumerate(read.measurements)},
        "statuses": {
            status_key(lu, tu): StatusRow(lu, tu, s) for (lu, tu), s in read.statuses.items()
        },
        "settings": {k: SettingRow(k, v) for k, v in read.settings.items()},
    }


# Parents before children when adding, children before parents when removing.
TABLE_ORDER = ("reads", "timepoints", "lesions", "measurements", "statuses", "settings")


def diff_reads(old: Read | None, new: Read | None) -> ReadDiff:
    """Row changes turning ``old`` into ``new`` (``None`` = no read at all)."""
    a = entity_rows(old) if old is not None else {t: {} for t in TABLE_ORDER}
    b = entity_rows(new) if new is not None else {t: {} for t in TABLE_ORDER}
    adds: list[Change] = []
    removes: list[Change] = []
    for table in TABLE_ORDER:
        ra, rb = a[table], b[table]
        for key, value in rb.items():
            if key not in ra:
                adds.append(Change(table, key, ChangeOp.ADDED, None, value))
            elif ra[key] != value:
                adds.append(Change(table, key, ChangeOp.UPDATED, ra[key], value))
        for key, value in ra.items():
            if key not in rb:
                removes.append(Change(table, key, ChangeOp.REMOVED, value, None))
    removes.sort(key=lambda c: -TABLE_ORDER.index(c.table))
    return ReadDiff(tuple(removes + adds))


def unwrap(value: Any) -> Any:
    """The entity of a row value (rows of ordered tables are (sort_order, entity))."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        return value[1]
    return value


__all__ = [
    "Change",
    "ChangeOp",
    "HeaderRow",
    "Lesion",
    "LesionMeasurement",
    "ReadDiff",
    "ReadTimepoint",
    "SettingRow",
    "StatusRow",
    "diff_reads",
    "entity_rows",
    "status_key",
    "unwrap",
]
