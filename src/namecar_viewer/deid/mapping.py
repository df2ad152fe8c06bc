"""The local, never-sent key of a de-identification: subject IDs, date offsets, UID map.

Kept in SQLite in the user data directory (or a path given by the caller). The same patient
always gets the same trial subject ID and the same date offset, and every original UID always
maps to the same new UID, so the studies of one patient de-identified on different days still
belong together (same new Study/Frame of Reference UIDs, same intervals between dates).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import threading
import uuid
from pathlib import Path

APP_NAME = "namecar-viewer"
DB_NAME = "deid_mapping.sqlite"
# Modified dates (PS3.15 E.3.6): a shift of 1 to 10 years back by a whole number of days, so
# the number of days between any two studies (RECIST intervals, progression dates) stays exact;
# times of day are kept, so uptake intervals (SUV) stay exact too.  (A part of a day would move
# some dates across midnight and not others: intervals in days would change by one.)
MIN_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3650

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    patient_key TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL UNIQUE,
    offset_seconds INTEGER NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uids (
    original TEXT PRIMARY KEY,
    replacement TEXT NOT NULL UNIQUE,
    subject_id TEXT NOT NULL
);
"""


class MappingError(Exception):
    """A subject ID conflicts with the stored mapping, or the mapping cannot be opened."""


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_NAME


def new_uid() -> str:
    """A UID under the 2.25 root from a random UUID (PS3.5 B.2), at most 44 characters."""
    return f"2.25.{uuid.uuid4().int}"


class DeidMapping:
    """Subject IDs, per-subject date offsets and the UID map, in one SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._uid_cache: dict[str, str] = {}
        try:
            self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise MappingError(
                f"{self.path}: cannot open the de-identification mapping: {exc}"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def subject_for(self, patient_key: str, subject_id: str | None) -> tuple[str, int]:
        """The subject ID and date offset (seconds, negative) of a patient.

        A patient seen before keeps its subject ID; asking for another one is an error, as is
        giving a subject ID that already belongs to another patient.
        """
        with self._lock:
            row = self._con.execute(
                "SELECT subject_id, offset_seconds FROM subjects WHERE patient_key = ?",
                (patient_key,),
            ).fetchone()
            if row is not None:
                if subject_id and subject_id != row[0]:
                    raise MappingError(
                        f"this patient is already mapped to trial subject ID {row[0]!r} in "
                        f"{self.path}; refusing to map it to {subject_id!r} as well"
                    )
                return str(row[0]), int(row[1])
            if not subject_id:
                raise MappingError(
                    "no trial subject ID is known for this patient: give one (--subject-id)"
                )
            other = self._con.execute(
                "SELECT 1 FROM subjects WHERE subject_id = ?", (subject_id,)
            ).fetchone()
            if other is not None:
                raise MappingError(
                    f"trial subject ID {subject_id!r} already belongs to another patient in "
                    f"{self.path}"
                )
            days = MIN_SHIFT_DAYS + secrets.randbelow(MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1)
            offset = -days * 86400
            self._con.execute(
                "INSERT INTO subjects VALUES (?, ?, ?, ?)",
                (patient_key, subject_id, offset, dt.datetime.now(dt.UTC).isoformat()),
            )
            return subject_id, offset

    def uid(self, original: str, subject_id: str) -> str:
        """The replacement of a UID, created once and then always the same."""
        cached = self._uid_cache.get(original)
        if cached is not None:
            return cached
        with self._lock:
            row = self._con.execute(
                "SELECT replacement FROM uids WHERE original = ?", (original,)
            ).fetchone()
            if row is None:
                replacement = new_uid()
                self._con.execute(
                    "INSERT INTO uids VALUES (?, ?, ?)", (original, replacement, subject_id)
                )
            else:
                replacement = str(row[0])
        self._uid_cache[original] = replacement
        return replacement

    def original_uid(self, replacement: str) -> str | None:
        """Re-identification for the site that holds the key (never done by the sender)."""
        with self._lock:
            row = self._con.execute(
                "SELECT original FROM uids WHERE replacement = ?", (replacement,)
            ).fetchone()
        return None if row is None else str(row[0])
