"""Reads database: exact round trip, WAL, schema version, row versions, clear write errors."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from namecar_viewer.core.measure import ImageRef, Measurement, MeasurementKind, PlaneRef
from namecar_viewer.core.reads import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
    diff_reads,
)
from namecar_viewer.persistence.reads_db import (
    SCHEMA_VERSION,
    ConcurrentEditError,
    ReadsDatabase,
    ReadsDatabaseError,
)


def sample_read() -> Read:
    r = Read.new(patient_id="NAMECAR-0042", reader="dr-a", uid="2.25.1")
    r = r.with_timepoint(
        ReadTimepoint(
            "tpB",
            "baseline",
            dt.date(2025, 1, 15),
            "1.2.3.1",
            TimepointRole.PRE_TREATMENT_BASELINE,
            2.5,
        )
    )
    r = r.with_timepoint(ReadTimepoint("tpF", "fu03m", None, None, TimepointRole.FOLLOW_UP))
    les = Lesion("L1", "T1", LesionRole.TARGET, Site.LYMPH_NODE, "4R", True, False, "node")
    r = r.with_lesion(les).with_lesion(
        Lesion("L2", "NT1", LesionRole.NON_TARGET, Site.BONE, is_primary_renal=False)
    )
    m = Measurement.create(
        MeasurementKind.BIDIRECTIONAL,
        # awkward floats: the database must give back the same bits
        [
            (-85.12345678901234, 45.1, -100.0),
            (-25.0, 45.0, -100.0),
            (-55.0, 21.000000000000004, -100.0),
            (-55.0, 69.0, -100.0),
        ],
        uid="M1",
        plane=PlaneRef((-250.0, -250.0, -100.0), (1, 0, 0), (0, 1, 0), (0.7, 0.7), (512, 512), 2.5),
        series_instance_uid="1.2.3.1.1",
        images=[ImageRef("1.2.3.1.1.72"), ImageRef("1.2.3.1.1.73", 4)],
        frame_of_reference_uid="1.2.3.9",
        label="T1",
        study_instance_uid="1.2.3.1",
    )
    r = r.with_measurement(LesionMeasurement(m, "L1", "tpB"))
    free = Measurement.create(MeasurementKind.POINT, [(1, 2, 3)], uid="M2", label="note")
    r = r.with_measurement(LesionMeasurement(free, None, None))
    r = r.with_status("L2", "tpB", LesionStatus.PRESENT)
    return r.with_status("L1", "tpF", LesionStatus.TOO_SMALL)


def test_round_trip_is_exact_and_sqlite_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "reads.sqlite"
    db = ReadsDatabase(path)
    read = sample_read()
    db.save_new_read(read)
    db.close()
    again = ReadsDatabase(path)
    assert again.load_read(read.uid) == read
    assert again.schema_version() == SCHEMA_VERSION
    assert [i.uid for i in again.list_reads("NAMECAR-0042")] == [read.uid]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT row_version FROM read_lesions WHERE uid='L1'").fetchone() == (1,)


def test_edit_is_one_transaction_and_bumps_row_version(tmp_path: Path) -> None:
    db = ReadsDatabase(tmp_path / "r.sqlite")
    read = sample_read()
    db.save_new_read(read)
    les = read.lesion("L1")
    from dataclasses import replace

    edited = read.with_lesion(replace(les, label="T9"))
    db.apply(read.uid, diff_reads(read, edited))
    with sqlite3.connect(tmp_path / "r.sqlite") as con:
        assert con.execute(
            "SELECT label, row_version FROM read_lesions WHERE uid='L1'"
        ).fetchone() == ("T9", 2)
    # a failing edit (a measurement of an unknown lesion breaks the foreign key) writes nothing
    bad = Measurement.create(MeasurementKind.LINE, [(0, 0, 0), (1, 0, 0)], uid="M3")
    broken = edited.with_lesion(Lesion("L3", "T3", LesionRole.TARGET, Site.LUNG))
    broken = broken.with_measurement(LesionMeasurement(bad, "L3", "tpB"))
    changes = diff_reads(edited, broken)
    only_measurement = type(changes)(tuple(c for c in changes.changes if c.table != "lesions"))
    with pytest.raises(ReadsDatabaseError):
        db.apply(read.uid, only_measurement)
    assert ReadsDatabase(tmp_path / "r.sqlite").load_read(read.uid) == edited


def test_concurrent_update_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ReadsDatabase(path).save_new_read(sample_read())
    a, b = ReadsDatabase(path), ReadsDatabase(path)
    ra, rb = a.load_read("2.25.1"), b.load_read("2.25.1")
    from dataclasses import replace

    a.apply(ra.uid, diff_reads(ra, ra.with_lesion(replace(ra.lesion("L1"), label="TA"))))
    with pytest.raises(ConcurrentEditError, match="changed by another session"):
        b.apply(rb.uid, diff_reads(rb, rb.with_lesion(replace(rb.lesion("L1"), label="TB"))))
    assert ReadsDatabase(path).load_read("2.25.1").lesion("L1").label == "TA"


def test_concurrent_status_edit_names_a_status(tmp_path: Path) -> None:
    # the message names the row as a reader reads it: "status L2|tpB", not "statuse"
    path = tmp_path / "r.sqlite"
    ReadsDatabase(path).save_new_read(sample_read())
    a, b = ReadsDatabase(path), ReadsDatabase(path)
    ra, rb = a.load_read("2.25.1"), b.load_read("2.25.1")
    a.apply(ra.uid, diff_reads(ra, ra.with_status("L2", "tpB", LesionStatus.ABSENT)))
    with pytest.raises(ConcurrentEditError) as caught:
        b.apply(rb.uid, diff_reads(rb, rb.with_status("L2", "tpB", LesionStatus.TOO_SMALL)))
    assert str(caught.value).startswith("status ") and "statuse" not in str(caught.value)


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ReadsDatabase(path).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE schema_version SET version = 7")
    with pytest.raises(ReadsDatabaseError, match="schema version 7, newer"):
        ReadsDatabase(path)
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT version FROM schema_version").fetchone() == (7,)


def test_read_only_database_gives_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ReadsDatabase(path).close()
    # SQLite's read-only open mode (file permissions do not bind the root user of CI machines)
    ro = ReadsDatabase(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)
    with pytest.raises(ReadsDatabaseError) as info:
        ro.save_new_read(sample_read())
    msg = str(info.value)
    assert str(path) in msg and "read-only" in msg
    assert "Traceback" not in msg


def test_locked_database_gives_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    db = ReadsDatabase(path, busy_timeout_s=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(ReadsDatabaseError, match="locked by another program"):
            db.save_new_read(sample_read())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    db.save_new_read(sample_read())
    assert db.load_read("2.25.1") == sample_read()
