"""ReadSession: one command path, commit per edit, undo/redo, merged drags, kept pending edits."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from namecar_viewer.app.read_session import (
    AddMeasurement,
    ChangeRole,
    ChangeSite,
    CommandError,
    CreateLesion,
    DeleteLesion,
    DeleteMeasurement,
    ReadSaveError,
    ReadSession,
    RelabelLesion,
    SetMeasurementPoints,
    SetStatus,
    next_lesion,
)
from namecar_viewer.core.measure import Measurement, MeasurementKind, bidirectional_from_long_axis
from namecar_viewer.core.reads import (
    ChangeOp,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.reads_db import ReadsDatabase

BASE = ReadTimepoint(
    "tpB", "baseline", dt.date(2025, 1, 15), "1.2.3", TimepointRole.PRE_TREATMENT_BASELINE, 2.5
)


def bidi(uid: str, x0: float, length: float) -> Measurement:
    pts = bidirectional_from_long_axis((x0, 0, 0), (x0 + length, 0, 0), (0, 0, 1), length / 2)
    return Measurement.create(MeasurementKind.BIDIRECTIONAL, pts, uid=uid)


def stored(db: ReadsDatabase, uid: str) -> Read:
    return ReadsDatabase(db.url.removeprefix("sqlite:///")).load_read(uid)


def test_every_edit_committed_and_undo_redo_round_trip(tmp_path: Path) -> None:
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    s = ReadSession(Read.new("P1", "dr-a", uid="R"), db)
    events: list[list] = []
    s.changed.connect(events.append)
    snapshots = [s.read]
    les = next_lesion(s.read, LesionRole.TARGET, Site.LIVER, uid="L1")
    commands = [
        CreateLesion(les, bidi("M1", 0, 30), BASE),
        RelabelLesion("L1", "T7"),
        ChangeSite("L1", Site.LYMPH_NODE, "4R"),
        ChangeRole("L1", LesionRole.NON_TARGET),
        SetStatus("L1", "tpB", LesionStatus.PRESENT),
        AddMeasurement(bidi("M2", 50, 12), None, BASE),
        DeleteMeasurement("M2"),
        DeleteLesion("L1"),
    ]
    for c in commands:
        assert s.execute(c).changed
        snapshots.append(s.read)
        assert stored(db, "R") == s.read  # committed at once
    assert s.read.lesions == ()
    assert [e.op for e in events[0]] == [ChangeOp.ADDED] * 3  # timepoint, lesion, measurement
    # relabel carried the label onto the measurement; role change relabelled T7 -> NT1
    assert snapshots[2].measurement("M1").measurement.label == "T7"
    assert snapshots[4].lesion("L1").label == "NT1"
    assert snapshots[3].lesion("L1").is_lymph_node
    for expected in reversed(snapshots[:-1]):
        assert s.undo()
        assert s.read == expected
        assert stored(db, "R") == expected  # an undo is itself committed
    assert not s.undo()
    for expected in snapshots[1:]:
        assert s.redo()
        assert s.read == expected and stored(db, "R") == expected
    # a new edit after undo drops the redo branch
    s.undo()
    s.execute(SetStatus("L1", "tpB", LesionStatus.ABSENT))
    assert not s.can_redo


def test_handle_drag_merges_into_one_step(tmp_path: Path) -> None:
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    s = ReadSession(Read.new(uid="R"), db)
    s.execute(
        CreateLesion(
            next_lesion(s.read, LesionRole.TARGET, Site.LUNG, uid="L"), bidi("M", 0, 20), BASE
        )
    )
    original = s.read.measurement("M").measurement.points
    for n in range(1, 11):
        pts = bidirectional_from_long_axis((0, 0, 0), (20 + n, 0, 0), (0, 0, 1), 10)
        r = s.execute(SetMeasurementPoints("M", pts, drag_id="drag-1"))
        assert r.merged == (n > 1)
    assert s.read.measurement("M").measurement.long_axis_mm == 30.0
    s.end_merge()
    pts = bidirectional_from_long_axis((0, 0, 0), (40, 0, 0), (0, 0, 1), 10)
    assert not s.execute(SetMeasurementPoints("M", pts, drag_id="drag-1")).merged
    assert s.undo() and s.read.measurement("M").measurement.long_axis_mm == 30.0
    assert s.undo() and s.read.measurement("M").measurement.points == original
    assert stored(db, "R").measurement("M").measurement.points == original


def test_invalid_command_changes_nothing(tmp_path: Path) -> None:
    s = ReadSession(Read.new(uid="R"), ReadsDatabase(tmp_path / "r.sqlite"))
    s.execute(CreateLesion(next_lesion(s.read, LesionRole.TARGET, Site.LUNG, uid="A")))
    s.execute(CreateLesion(next_lesion(s.read, LesionRole.TARGET, Site.LUNG, uid="B")))
    before = s.read
    with pytest.raises(CommandError, match="already used"):
        s.execute(RelabelLesion("B", "T1"))
    with pytest.raises(CommandError, match="not in this read"):
        s.execute(SetStatus("nope", "tpB", LesionStatus.ABSENT))
    assert s.read == before and s.undo_text == "Create lesion T2"


def test_locked_database_keeps_edit_pending_then_saves_it(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    db = ReadsDatabase(path, busy_timeout_s=0.1)
    s = ReadSession(Read.new(uid="R"), db)
    messages: list[str] = []
    s.save_failed.connect(messages.append)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    les = next_lesion(s.read, LesionRole.TARGET, Site.LIVER, uid="L")
    with pytest.raises(ReadSaveError, match="locked"):
        s.execute(CreateLesion(les, bidi("M", 0, 25), BASE))
    assert s.pending and s.read.lesions[0].label == "T1"  # kept in memory, not dropped
    assert messages and "not yet saved" in messages[0]
    with pytest.raises(ReadSaveError):
        s.execute(SetStatus("L", "tpB", LesionStatus.PRESENT))
    holder.execute("ROLLBACK")
    holder.close()
    assert s.retry_save() and not s.pending
    assert stored(db, "R") == s.read  # both edits saved together


def test_read_only_database_reports_and_keeps_edit(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ReadSession(Read.new(uid="R"), ReadsDatabase(path))
    ro = ReadsDatabase(f"sqlite:///file:{path}?mode=ro&uri=true", create=False)
    s = ReadSession.open(ro, "R")
    with pytest.raises(ReadSaveError, match="read-only"):
        s.execute(CreateLesion(next_lesion(s.read, LesionRole.TARGET, Site.LIVER)))
    assert s.pending and len(s.read.lesions) == 1


CHILD = textwrap.dedent(
    """
    import sys
    from namecar_viewer.app.read_session import CreateLesion, ReadSession, next_lesion
    from namecar_viewer.core.measure import Measurement, MeasurementKind
    from namecar_viewer.core.reads import LesionRole, Read, ReadTimepoint, Site, TimepointRole
    from namecar_viewer.persistence.reads_db import ReadsDatabase

    s = ReadSession(Read.new(uid="R"), ReadsDatabase(sys.argv[1]))
    tp = ReadTimepoint("tp", "baseline", None, "1.2", TimepointRole.PRE_TREATMENT_BASELINE)
    n = 0
    while True:
        n += 1
        m = Measurement.create(MeasurementKind.LINE, [(0, 0, 0), (10.0 + n / 8, 0, 0)],
                               uid=f"M{n}")
        les = next_lesion(s.read, LesionRole.TARGET, Site.LUNG, uid=f"L{n}")
        s.execute(CreateLesion(les, m, tp if n == 1 else None))
        print(n, flush=True)  # only after execute() returned: the edit is committed
    """
)


def test_sigkill_right_after_an_edit_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "reads.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    last = 0
    for line in proc.stdout:
        last = int(line)
        if last >= 25:
            break
    os.kill(proc.pid, signal.SIGKILL)  # right after edit 25 was reported committed
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    read = ReadsDatabase(path).load_read("R")
    n = len(read.measurements)
    assert n >= last  # every edit reported committed is there (one more may have landed)
    for k in range(1, n + 1):
        m = read.measurement(f"M{k}").measurement
        assert m.length_mm == 10.0 + k / 8  # exact: k/8 is a binary fraction
        assert read.lesion(f"L{k}").label == f"T{k}"
