"""Reading-centre load: simulated readers editing their own reads at once through ReadSession.

Shared by ``tests/persistence/test_reading_centre_load.py`` (correctness under load) and
``benchmarks/bench_reads_concurrency.py`` (commit latency).  Each simulated reader is a process
of its own (spawned: a separate workstation with its own :class:`ReadsDatabase` and engine) that
creates one read per assigned patient with ``ReadSession(read, db, user=reader)`` and then, until
its deadline, edits them through ``ReadSession.execute`` / ``undo`` / ``redo``: create lesions,
add measurements (LPS points), move points (single moves and handle drags merged into one undo
step), set statuses, set and clear read settings, undo, redo.

Every acknowledged edit (the call returned without raising and changed the read) goes into the
reader's ledger with the rows it expects the commit to have written, taken from the reader's own
model of the read (plain dicts, kept apart from ``Read`` and from the session's undo stack).
Failures (any exception) are recorded with their message and never acknowledged; the read they
happened in is not edited any more.  :func:`check_database` then loads everything through a
fresh connection and compares it with the ledgers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import glob
import json
import math
import os
import queue
import random
import shutil
import socket
import subprocess
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Point = tuple[float, float, float]
# (entity, key) -> (audit action, expected value or None for a delete)
Changes = dict[tuple[str, str], tuple[str, Any]]

EDIT_KINDS = (
    "create_lesion",
    "add_measurement",
    "move_points",
    "set_status",
    "set_setting",
    "undo",
    "redo",
)
# Relative frequency of each kind (a kind that cannot run falls back to another, see _choose).
WEIGHTS = {
    "create_lesion": 12,
    "add_measurement": 18,
    "move_points": 30,
    "set_status": 15,
    "set_setting": 10,
    "undo": 8,
    "redo": 7,
}
MAX_LESIONS = 12  # per read: beyond it create_lesion becomes add_measurement
MAX_MEASUREMENTS = 40  # per read: beyond it add_measurement becomes move_points
PATIENTS = 10  # patient pool: reader i reads patients i, i+1, ... (mod PATIENTS)
SETUP_TIMEOUT_S = 90.0  # every reader process started, connected and its reads created
GRACE_S = 30.0  # after the deadline: the last edit, the reader's own checks, the result
# Imported once by the fork server (this module itself is not: on Python 3.11 the fork server
# ignores sys.path, so each reader imports it, a few milliseconds).
PRELOAD = [
    "namecar_viewer.app.read_session",
    "namecar_viewer.persistence.reads_db",
    "namecar_viewer.persistence.audit",
    "namecar_viewer.persistence.migrations",
    "sqlalchemy.dialects.postgresql.psycopg",
]
# Bounds any single statement (a lock wait included) on the server: nothing hangs forever.
STATEMENT_TIMEOUT_MS = 20_000


# --- the reader's own model of a read ----------------------------------------------------------


@dataclass
class ExpectedRead:
    """A read as plain values: what the reader expects the database to hold."""

    uid: str
    patient_id: str
    reader: str
    timepoints: dict[str, str] = field(default_factory=dict)  # uid -> label
    lesions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # label, role, site
    # uid -> (kind, points, lesion uid, timepoint uid, label)
    measurements: dict[str, tuple[str, tuple[Point, ...], str | None, str | None, str]] = field(
        default_factory=dict
    )
    statuses: dict[str, str] = field(default_factory=dict)  # "lesion|timepoint" -> status
    settings: dict[str, str] = field(default_factory=dict)  # key -> JSON text

    def copy(self) -> ExpectedRead:
        return dataclasses.replace(
            self,
            timepoints=dict(self.timepoints),
            lesions=dict(self.lesions),
            measurements=dict(self.measurements),
            statuses=dict(self.statuses),
            settings=dict(self.settings),
        )

    @classmethod
    def from_read(cls, read: Any) -> ExpectedRead:
        """The same projection of a stored :class:`~namecar_viewer.core.reads.Read`."""
        return cls(
            uid=read.uid,
            patient_id=read.patient_id,
            reader=read.reader,
            timepoints={tp.uid: tp.label for tp in read.timepoints},
            lesions={les.uid: (les.label, les.role.value, les.site.value) for les in read.lesions},
            measurements={
                lm.uid: (
                    lm.measurement.kind.value,
                    tuple(lm.measurement.points),
                    lm.lesion_uid,
                    lm.timepoint_uid,
                    lm.measurement.label,
                )
                for lm in read.measurements
            },
            statuses={f"{lu}|{tu}": s.value for (lu, tu), s in read.statuses.items()},
            settings=dict(read.settings),
        )


_MODEL_TABLES = ("timepoints", "lesions", "measurements", "statuses", "settings")


def model_changes(before: ExpectedRead, after: ExpectedRead) -> Changes:
    """The audit entries a commit from ``before`` to ``after`` must write (entity, key)."""
    out: Changes = {}
    for table in _MODEL_TABLES:
        a, b = getattr(before, table), getattr(after, table)
        for key, value in b.items():
            if key not in a:
                out[(table, key)] = ("create", value)
            elif a[key] != value:
                out[(table, key)] = ("change", value)
        for key in a:
            if key not in b:
                out[(table, key)] = ("delete", None)
    return out


def audit_value(entity: str, new_value: str | None) -> Any:
    """An audit entry's new value in the model's terms (see :class:`ExpectedRead`)."""
    if new_value is None:
        return None
    j = json.loads(new_value)
    if entity == "reads":
        return (j["uid"], j["patient_id"], j["reader"])
    if entity == "timepoints":
        return j["label"]
    if entity == "lesions":
        return (j["label"], j["role"], j["site"])
    if entity == "measurements":
        m = j["measurement"]
        points = tuple((float(p[0]), float(p[1]), float(p[2])) for p in m["points"])
        return (m["kind"], points, j["lesion_uid"], j["timepoint_uid"], m["label"])
    if entity == "statuses":
        return j["status"]
    if entity == "settings":
        return j["value"]
    return j


# --- ledger ------------------------------------------------------------------------------------


@dataclass
class Edit:
    """One acknowledged edit: the call returned without raising and changed the read."""

    read_uid: str
    kind: str  # an EDIT_KINDS entry, or "create_read" / "add_timepoint" (set-up)
    text: str  # the command text, which the audit entries carry as their detail
    latency_s: float  # ReadSession.execute (or undo/redo, or the creating constructor)
    changes: Changes  # what the reader expects this commit to have written
    timed: bool  # made in the concurrent phase (set-up edits are not)


@dataclass
class Failure:
    """An edit that raised: reported, never acknowledged."""

    reader: str
    read_uid: str
    kind: str
    error: str


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    patients: tuple[str, ...]
    seed: int
    db_url: str
    think_s: float = 0.0  # mean pause between edits (0: edit as fast as the commits return)


@dataclass
class ReaderResult:
    name: str
    reads: dict[str, str]  # read uid -> patient id
    edits: list[Edit]
    failures: list[Failure]
    expected: dict[str, ExpectedRead]  # read uid -> the final expected read
    tainted: set[str]  # reads a failure stopped editing: not compared row by row
    noops: int  # edits that changed nothing (not committed, not in the ledger)
    elapsed_s: float  # the concurrent phase, this reader's own clock
    setup_s: float


# --- one simulated reader ----------------------------------------------------------------------


@dataclass
class _Step:
    before: ExpectedRead
    after: ExpectedRead
    text: str


@dataclass
class _ReadState:
    session: Any  # ReadSession
    model: ExpectedRead
    baseline: Any  # ReadTimepoint
    follow_up: Any
    steps: list[_Step] = field(default_factory=list)
    index: int = 0  # steps[:index] are done (the model's own undo stack)


def _geometry(rng: random.Random, kind: Any) -> list[Point]:
    """LPS points (mm) of a plausible axial measurement of ``kind``."""
    from namecar_viewer.core.measure.record import MeasurementKind

    cx, cy, z = rng.uniform(-150, 150), rng.uniform(-150, 150), rng.uniform(-400, 0)
    a = rng.uniform(5.0, 60.0)
    b = a * rng.uniform(0.4, 0.9)
    ang = rng.uniform(0.0, math.pi)
    ux, uy = math.cos(ang), math.sin(ang)
    vx, vy = -uy, ux
    if kind is MeasurementKind.LINE:
        return [(cx - a / 2 * ux, cy - a / 2 * uy, z), (cx + a / 2 * ux, cy + a / 2 * uy, z)]
    if kind is MeasurementKind.BIDIRECTIONAL:
        return [
            (cx - a / 2 * ux, cy - a / 2 * uy, z),
            (cx + a / 2 * ux, cy + a / 2 * uy, z),
            (cx - b / 2 * vx, cy - b / 2 * vy, z),
            (cx + b / 2 * vx, cy + b / 2 * vy, z),
        ]
    if kind is MeasurementKind.ELLIPSE:
        return [
            (cx, cy, z),
            (cx + a / 2 * ux, cy + a / 2 * uy, z),
            (cx + b / 2 * vx, cy + b / 2 * vy, z),
        ]
    raise ValueError(kind)


class SimulatedReader:
    """One reader at one workstation: its own engine, its own reads, its own ledger."""

    def __init__(self, spec: ReaderSpec) -> None:
        from namecar_viewer.persistence.reads_db import ReadsDatabase

        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.db = ReadsDatabase(with_statement_timeout(spec.db_url))
        self.reads: dict[str, _ReadState] = {}
        self.edits: list[Edit] = []
        self.failures: list[Failure] = []
        self.tainted: set[str] = set()
        self.noops = 0
        self.timed = False
        self._n = 0

    # --- set-up: one read per patient, two timepoints ----------------------------------------
    def create_reads(self) -> None:
        from namecar_viewer.app.read_session import AddTimepoint, ReadSession
        from namecar_viewer.core.measure.record import new_uid
        from namecar_viewer.core.reads import Read, ReadTimepoint, TimepointRole

        name = self.spec.name
        for patient in self.spec.patients:
            read = Read.new(patient_id=patient, reader=name)
            t = time.perf_counter()
            session = ReadSession(read, self.db, user=name)  # commits the new read
            lat = time.perf_counter() - t
            model = ExpectedRead(read.uid, patient, name)
            self.edits.append(
                Edit(
                    read.uid,
                    "create_read",
                    "",
                    lat,
                    {("reads", read.uid): ("create", (read.uid, patient, name))},
                    False,
                )
            )
            tps = (
                ReadTimepoint(
                    new_uid(),
                    "baseline",
                    dt.date(2025, 1, 15),
                    new_uid(),
                    TimepointRole.PRE_TREATMENT_BASELINE,
                    1.25,
                ),
                ReadTimepoint(
                    new_uid(), "week 12", dt.date(2025, 4, 9), new_uid(), TimepointRole.FOLLOW_UP
                ),
            )
            state = _ReadState(session, model, tps[0], tps[1])
            self.reads[read.uid] = state
            for tp in tps:
                cmd = AddTimepoint(tp)
                after = state.model.copy()
                after.timepoints[tp.uid] = tp.label
                self._execute(state, "add_timepoint", cmd, after)
            # the timepoints are not part of the reader's undo history
            state.steps.clear()
            state.index = 0
            session.clear_history()

    # --- the concurrent phase ------------------------------------------------------------------
    def run(self, duration_s: float) -> float:
        self.timed = True
        t0 = time.monotonic()
        deadline = t0 + duration_s
        while time.monotonic() < deadline:
            live = [u for u in self.reads if u not in self.tainted]
            if not live:
                break
            self.step(self.reads[self.rng.choice(live)])
            if self.spec.think_s > 0:
                time.sleep(self.rng.expovariate(1.0 / self.spec.think_s))
        elapsed = time.monotonic() - t0
        self.timed = False
        self.self_check()
        return elapsed

    def step(self, st: _ReadState) -> None:
        kind = self._choose(st)
        getattr(self, f"_do_{kind}")(st)

    def _choose(self, st: _ReadState) -> str:
        kinds = list(WEIGHTS)
        kind = self.rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        m = st.model
        if kind == "create_lesion" and len(m.lesions) >= MAX_LESIONS:
            kind = "add_measurement"
        if kind == "add_measurement" and (not m.lesions or len(m.measurements) >= MAX_MEASUREMENTS):
            kind = "create_lesion" if len(m.lesions) < MAX_LESIONS else "move_points"
        if kind == "redo" and st.index >= len(st.steps):
            kind = "undo"
        if kind == "undo" and st.index == 0:
            kind = "create_lesion" if len(m.lesions) < MAX_LESIONS else "set_status"
        if kind in ("move_points",) and not m.measurements:
            kind = "create_lesion" if len(m.lesions) < MAX_LESIONS else "set_setting"
        if kind == "set_status" and not m.lesions:
            kind = "create_lesion"
        return kind

    def _measurement(self, kind: Any, tp: Any) -> Any:
        from namecar_viewer.core.measure.record import ImageRef, Measurement, new_uid

        return Measurement.create(
            kind,
            _geometry(self.rng, kind),
            series_instance_uid=new_uid(),
            images=(ImageRef(new_uid()),),
            frame_of_reference_uid=new_uid(),
            study_instance_uid=tp.study_instance_uid,
        )

    def _do_create_lesion(self, st: _ReadState) -> None:
        from namecar_viewer.app.read_session import CreateLesion, next_lesion
        from namecar_viewer.core.measure.record import MeasurementKind
        from namecar_viewer.core.reads import LesionRole, Site

        roles = [LesionRole.TARGET, LesionRole.NON_TARGET, LesionRole.NEW]
        role = self.rng.choices(roles, weights=[6, 3, 1])[0]
        site = self.rng.choice(list(Site))
        lesion = next_lesion(st.session.read, role, site)
        kind = MeasurementKind.BIDIRECTIONAL if lesion.nodal else MeasurementKind.LINE
        tp = st.baseline
        m = self._measurement(kind, tp)
        after = st.model.copy()
        after.lesions[lesion.uid] = (lesion.label, role.value, site.value)
        after.measurements[m.uid] = (kind.value, m.points, lesion.uid, tp.uid, lesion.label)
        self._execute(st, "create_lesion", CreateLesion(lesion, m, tp), after)

    def _do_add_measurement(self, st: _ReadState) -> None:
        from namecar_viewer.app.read_session import AddMeasurement
        from namecar_viewer.core.measure.record import MeasurementKind

        lesion_uid = self.rng.choice(sorted(st.model.lesions))
        label = st.model.lesions[lesion_uid][0]
        tp = self.rng.choice((st.baseline, st.follow_up))
        kind = self.rng.choice(
            (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL, MeasurementKind.ELLIPSE)
        )
        m = self._measurement(kind, tp)
        after = st.model.copy()
        after.measurements[m.uid] = (kind.value, m.points, lesion_uid, tp.uid, label)
        self._execute(st, "add_measurement", AddMeasurement(m, lesion_uid, tp), after)

    def _do_move_points(self, st: _ReadState) -> None:
        """One move, or a handle drag: 2-5 moves with one drag id, one undo step."""
        from namecar_viewer.app.read_session import SetMeasurementPoints

        uid = self.rng.choice(sorted(st.model.measurements))
        moves = 1 if self.rng.random() < 0.7 else self.rng.randint(2, 5)
        drag_id = None if moves == 1 else uuid.uuid4().hex
        for k in range(moves):
            if st.model.uid in self.tainted:  # an earlier move of this drag failed
                return
            kind, points, lesion_uid, tp_uid, label = st.model.measurements[uid]
            d = (self.rng.uniform(-3, 3), self.rng.uniform(-3, 3), self.rng.choice((0.0, 1.25)))
            new = tuple((p[0] + d[0], p[1] + d[1], p[2] + d[2]) for p in points)
            after = st.model.copy()
            after.measurements[uid] = (kind, new, lesion_uid, tp_uid, label)
            cmd = SetMeasurementPoints(uid, new, drag_id=drag_id)
            self._execute(st, "move_points", cmd, after, merge=k > 0)
        if drag_id is not None:
            st.session.end_merge()

    def _do_set_status(self, st: _ReadState) -> None:
        from namecar_viewer.app.read_session import SetStatus
        from namecar_viewer.core.reads import LesionStatus

        lesion_uid = self.rng.choice(sorted(st.model.lesions))
        tp = self.rng.choice((st.baseline, st.follow_up))
        key = f"{lesion_uid}|{tp.uid}"
        current = st.model.statuses.get(key)
        status = self.rng.choice([s for s in LesionStatus if s.value != current])
        after = st.model.copy()
        after.statuses[key] = status.value
        self._execute(st, "set_status", SetStatus(lesion_uid, tp.uid, status), after)

    def _do_set_setting(self, st: _ReadState) -> None:
        from namecar_viewer.app.read_session import SetReadSetting

        key = self.rng.choice(["recist/baseline", *(f"eligibility/I{n}" for n in range(1, 7))])
        after = st.model.copy()
        if key in st.model.settings and self.rng.random() < 0.2:
            cmd = SetReadSetting(key, None, f"Clear {key}")
            del after.settings[key]
        else:
            self._n += 1
            if key == "recist/baseline":
                value = json.dumps({"timepoint": st.baseline.uid, "n": self._n})
            else:
                answer = self.rng.choice(("yes", "no", "unknown"))
                value = json.dumps({"answer": answer, "n": self._n})
            cmd = SetReadSetting(key, value, f"Answer {key}")
            after.settings[key] = value
        self._execute(st, "set_setting", cmd, after)

    def _do_undo(self, st: _ReadState) -> None:
        step = st.steps[st.index - 1]
        self._history(st, "undo", f"Undo {step.text}", step.before, st.session.undo)

    def _do_redo(self, st: _ReadState) -> None:
        step = st.steps[st.index]
        self._history(st, "redo", f"Redo {step.text}", step.after, st.session.redo)

    # --- running one edit ----------------------------------------------------------------------
    def _execute(
        self, st: _ReadState, kind: str, cmd: Any, after: ExpectedRead, *, merge: bool = False
    ) -> None:
        before = st.model
        try:
            t = time.perf_counter()
            result = st.session.execute(cmd)
            lat = time.perf_counter() - t
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none acknowledged
            self._fail(st, kind, exc)
            return
        if not result.changed:
            self.noops += 1
            return
        if result.merged != merge:
            self._fail(st, kind, AssertionError(f"merged={result.merged}, expected {merge}"))
            return
        self.edits.append(
            Edit(before.uid, kind, cmd.text, lat, model_changes(before, after), self.timed)
        )
        st.model = after
        if merge:
            st.steps[st.index - 1].after = after
            st.steps[st.index - 1].text = cmd.text
        elif kind != "add_timepoint":
            del st.steps[st.index :]
            st.steps.append(_Step(before, after, cmd.text))
            st.index = len(st.steps)

    def _history(
        self, st: _ReadState, kind: str, text: str, target: ExpectedRead, call: Any
    ) -> None:
        before = st.model
        try:
            t = time.perf_counter()
            done = call()
            lat = time.perf_counter() - t
        except Exception as exc:  # noqa: BLE001
            self._fail(st, kind, exc)
            return
        if not done:
            self._fail(st, kind, AssertionError(f"{kind} refused, the reader's model had a step"))
            return
        self.edits.append(
            Edit(before.uid, kind, text, lat, model_changes(before, target), self.timed)
        )
        st.model = target
        st.index += -1 if kind == "undo" else 1

    def _fail(self, st: _ReadState, kind: str, exc: BaseException) -> None:
        uid = st.model.uid
        self.failures.append(
            Failure(self.spec.name, uid, kind, f"{type(exc).__name__}: {exc}".strip())
        )
        self.tainted.add(uid)
        # Whatever stayed pending is written if the database takes it (bounded retries); it is
        # never acknowledged, and the read is not compared row by row.
        for _ in range(3):
            try:
                if st.session.retry_save():
                    break
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.2)

    def self_check(self) -> None:
        """The session's read in memory must equal the reader's model (else the model is off)."""
        for uid, st in self.reads.items():
            if uid in self.tainted:
                continue
            mine = ExpectedRead.from_read(st.session.read)
            if mine != st.model:
                self.failures.append(
                    Failure(
                        self.spec.name,
                        uid,
                        "self-check",
                        "the session's read differs from "
                        "the reader's model: " + describe_difference(st.model, mine),
                    )
                )
                self.tainted.add(uid)

    def result(self, elapsed_s: float, setup_s: float) -> ReaderResult:
        return ReaderResult(
            name=self.spec.name,
            reads={u: st.model.patient_id for u, st in self.reads.items()},
            edits=self.edits,
            failures=self.failures,
            expected={u: st.model for u, st in self.reads.items()},
            tainted=set(self.tainted),
            noops=self.noops,
            elapsed_s=elapsed_s,
            setup_s=setup_s,
        )

    def close(self) -> None:
        self.db.close()


def describe_difference(expected: ExpectedRead, stored: ExpectedRead, limit: int = 4) -> str:
    """The first few rows in which two reads differ."""
    out = []
    for name in ("patient_id", "reader"):
        if getattr(expected, name) != getattr(stored, name):
            out.append(
                f"{name}: expected {getattr(expected, name)!r}, got {getattr(stored, name)!r}"
            )
    for table in _MODEL_TABLES:
        a, b = getattr(expected, table), getattr(stored, table)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                out.append(f"{table} {key}: expected {a.get(key)!r}, got {b.get(key)!r}")
    more = f" (+{len(out) - limit} more)" if len(out) > limit else ""
    return "; ".join(out[:limit]) + more


# --- running the readers -----------------------------------------------------------------------


def with_statement_timeout(url: str) -> str:
    """``url`` with a server-side statement timeout (PostgreSQL): no edit waits forever."""
    if not url.startswith("postgresql"):
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-c%20statement_timeout%3D{STATEMENT_TIMEOUT_MS}"


def reader_specs(
    db_url: str,
    readers: int,
    patients_per_reader: int = 3,
    *,
    prefix: str = "reader",
    seed: int = 13,
    think_s: float = 0.0,
) -> list[ReaderSpec]:
    """``readers`` readers; reader i reads patients i .. i+n-1 of the pool (double reads)."""
    return [
        ReaderSpec(
            name=f"{prefix}-{i:02d}",
            patients=tuple(
                f"NAMECAR-{(i + j) % PATIENTS + 1:03d}" for j in range(patients_per_reader)
            ),
            seed=seed * 1000 + i,
            db_url=db_url,
            think_s=think_s,
        )
        for i in range(readers)
    ]


def _reader_main(spec: ReaderSpec, duration_s: float, ready: Any, go: Any, results: Any) -> None:
    """A reader process: connect, create the reads, wait for the start, edit, send the ledger."""
    reader = None
    try:
        t = time.monotonic()
        reader = SimulatedReader(spec)
        reader.create_reads()
        setup_s = time.monotonic() - t
        ready.put(("ready", spec.name, ""))
        if not go.wait(SETUP_TIMEOUT_S):
            results.put(("error", spec.name, "never told to start"))
            return
        elapsed = reader.run(duration_s)
        results.put(("result", spec.name, reader.result(elapsed, setup_s)))
    except BaseException:  # noqa: BLE001 - the parent must hear about it, whatever it is
        msg = traceback.format_exc()
        with contextlib.suppress(Exception):
            ready.put(("error", spec.name, msg))
            results.put(("error", spec.name, msg))
    finally:
        if reader is not None:
            with contextlib.suppress(Exception):
                reader.close()


@dataclass
class LoadOutcome:
    results: list[ReaderResult]
    problems: list[str]  # readers that did not start, crashed, or overran their deadline
    duration_s: float
    setup_s: float  # parent's clock: first process started -> all readers ready
    wall_s: float  # parent's clock: start signal -> last result

    @property
    def failures(self) -> list[Failure]:
        return [f for r in self.results for f in r.failures]

    @property
    def timed_edits(self) -> list[Edit]:
        return [e for r in self.results for e in r.edits if e.timed]


def _collect(q: Any, procs: list[Any], until: float) -> Iterator[tuple[str, str, Any]]:
    """One message per process until ``until``; a process that died silently is reported."""
    pending = {p.name: p for p in procs}
    while pending and time.monotonic() < until:
        try:
            item = q.get(timeout=min(0.5, max(0.05, until - time.monotonic())))
        except queue.Empty:
            for name, p in list(pending.items()):
                if p.exitcode is not None:  # its message, if any, was flushed before it exited
                    del pending[name]
                    yield ("error", name, f"the process exited with code {p.exitcode}")
            continue
        if pending.pop(item[1], None) is not None:
            yield item


def run_load(specs: list[ReaderSpec], duration_s: float) -> LoadOutcome:
    """Run every reader in its own spawned process at once for ``duration_s``; bounded.

    Readers connect and create their reads first; all start editing together.  Everything is
    bounded: the set-up (SETUP_TIMEOUT_S), each reader's own deadline, the results (deadline
    plus GRACE_S), the joins; a process still alive then is terminated and reported.
    """
    import multiprocessing as mp

    from namecar_viewer.persistence.reads_db import ReadsDatabase

    if specs:  # the schema exists before the workstations open it (an administrator's job)
        ReadsDatabase(specs[0].db_url).close()
    # Fresh processes forked from a server that imported the modules once: no engine, thread or
    # lock is inherited from this process, and twenty start-ups cost one import.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    ready_q, result_q = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(
            target=_reader_main,
            args=(s, duration_s, ready_q, go, result_q),
            name=s.name,
            daemon=True,
        )
        for s in specs
    ]
    problems: list[str] = []
    results: dict[str, ReaderResult] = {}
    t_start = time.monotonic()
    for p in procs:
        p.start()
    try:
        ready: set[str] = set()
        until = t_start + SETUP_TIMEOUT_S
        for what, name, msg in _collect(ready_q, procs, until):
            if what == "ready":
                ready.add(name)
            else:
                problems.append(f"{name} failed to set up:\n{msg}")
                break
        setup_s = time.monotonic() - t_start
        if len(ready) < len(specs):
            missing = sorted({s.name for s in specs} - ready)
            problems.append(f"not ready within {SETUP_TIMEOUT_S:g} s: {', '.join(missing)}")
            return LoadOutcome([], problems, duration_s, setup_s, 0.0)
        t_go = time.monotonic()
        go.set()
        until = t_go + duration_s + GRACE_S
        done: set[str] = set()
        for what, name, payload in _collect(result_q, procs, until):
            done.add(name)
            if what == "result":
                results[name] = payload
            else:
                problems.append(f"{name} crashed:\n{payload}")
        wall_s = time.monotonic() - t_go
        missing = sorted({s.name for s in specs} - done)
        if missing:
            problems.append(
                f"no result within the deadline plus {GRACE_S:g} s: {', '.join(missing)}"
            )
    finally:
        go.set()
        for p in procs:
            p.join(timeout=10)
        for p in procs:
            if p.is_alive():
                problems.append(f"{p.name} still running after its deadline: terminated")
                p.terminate()
                p.join(timeout=5)
    ordered = [results[s.name] for s in specs if s.name in results]
    return LoadOutcome(ordered, problems, duration_s, setup_s, wall_s)


# --- checking the database afterwards ----------------------------------------------------------


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def check_database(db_url: str, results: list[ReaderResult]) -> CheckReport:
    """Load everything through a fresh connection and hold it against the readers' ledgers.

    (a) every acknowledged edit is in its reader's read: per read, the audit trail holds one
        transaction per acknowledged edit, in order, by that reader, with the command text and
        exactly the rows (and values) the reader expected; the stored read equals the reader's
        final model row by row;
    (b) nowhere else: every lesion and measurement uid is stored only in the read whose reader
        created it, and the tables hold no rows beyond the reads' own;
    (c) each read's ``reader`` and ``patient_id`` are its creator's;
    (d) the audit chain verifies and every entry of a read names the read's reader;
    (e) the acknowledged measurement uids are exactly the stored ones.
    """
    from sqlalchemy import func, select

    from namecar_viewer.persistence.audit import AuditLog, verify
    from namecar_viewer.persistence.reads_db import (
        ReadsDatabase,
        lesions_table,
        measurements_table,
    )

    rep = CheckReport()
    owner: dict[str, ReaderResult] = {}
    for r in results:
        for uid in r.reads:
            owner[uid] = r
    created_in: dict[str, str] = {}  # lesion/measurement uid -> read uid, from the ledgers
    for r in results:
        for ed in r.edits:
            for (table, key), (action, _) in ed.changes.items():
                if table in ("lesions", "measurements") and action == "create":
                    created_in.setdefault(key, ed.read_uid)

    db = ReadsDatabase(db_url)
    try:
        infos = {i.uid: i for i in db.list_reads()}
        stored: dict[str, ExpectedRead] = {}
        for uid in infos:
            stored[uid] = ExpectedRead.from_read(db.load_read(uid))
        # (c) the reads: all there, each its creator's and its patient's
        for uid, r in owner.items():
            if uid not in infos:
                rep.problem(f"(a) read {uid} of {r.name} ({r.reads[uid]}) is not in the database")
                continue
            if infos[uid].reader != r.name or stored[uid].reader != r.name:
                rep.problem(
                    f"(c) read {uid} was created by {r.name}, stored reader {infos[uid].reader!r}"
                )
            if stored[uid].patient_id != r.reads[uid]:
                rep.problem(
                    f"(c) read {uid} of {r.name} is for {r.reads[uid]}, stored patient "
                    f"{stored[uid].patient_id!r}"
                )
        # (b) every lesion and measurement only in the read that created it
        where: dict[str, str] = {}
        for uid, s in stored.items():
            for table in ("lesions", "measurements"):
                for key in getattr(s, table):
                    if key in where:
                        rep.problem(f"(b) {table[:-1]} {key} is in reads {where[key]} and {uid}")
                    where[key] = uid
                    home = created_in.get(key)
                    if home is None and uid in owner:
                        rep.problem(
                            f"(b) {table[:-1]} {key} in {owner[uid].name}'s read {uid} "
                            "was never acknowledged by anyone"
                        )
                    elif home is not None and home != uid:
                        who = owner[uid].name if uid in owner else "a foreign read"
                        rep.problem(
                            f"(b) {table[:-1]} {key} of {owner[home].name}'s read {home} "
                            f"is stored in {who}'s read {uid}"
                        )
            for key, value in s.measurements.items():
                if value[2] is not None and value[2] not in s.lesions:
                    rep.problem(
                        f"(b) measurement {key} of read {uid} points at lesion "
                        f"{value[2]} of another read"
                    )
        # (a)/(b) row by row and counts: the stored read is the reader's final model
        for uid, r in owner.items():
            if uid not in stored or uid in r.tainted:
                continue
            exp, have = r.expected[uid], stored[uid]
            if exp != have:
                rep.problem(
                    f"(a) read {uid} of {r.name} differs from what the reader expects: "
                    + describe_difference(exp, have)
                )
        with db.engine.connect() as conn:
            for name, sql_table in (
                ("lesions", lesions_table),
                ("measurements", measurements_table),
            ):
                rows = conn.execute(select(func.count()).select_from(sql_table)).scalar_one()
                loaded = sum(len(getattr(s, name)) for s in stored.values())
                rep.counts[f"{name} rows"] = int(rows)
                if rows != loaded:
                    rep.problem(f"(b) {rows} {name} rows in the table, {loaded} in the reads")
        # (e) no measurement lost, none extra
        acked = {m for uid, r in owner.items() for m in r.expected[uid].measurements}
        kept = {m for uid in owner if uid in stored for m in stored[uid].measurements}
        rep.counts["acknowledged measurements"] = len(acked)
        rep.counts["stored measurements"] = len(kept)
        rep.counts["acknowledged lesions"] = sum(
            len(r.expected[u].lesions) for u, r in owner.items()
        )
        rep.counts["stored lesions"] = sum(len(stored[u].lesions) for u in owner if u in stored)
        if acked != kept:
            rep.problem(
                f"(e) acknowledged measurements not stored: {sorted(acked - kept)[:5]} "
                f"({len(acked - kept)}); stored but not acknowledged: {sorted(kept - acked)[:5]} "
                f"({len(kept - acked)})"
            )
        # (d) the audit chain, and who each entry names
        report = verify(db.engine)
        rep.counts["audit entries"] = report.entries
        for p in report.problems[:10]:
            rep.problem(f"(d) audit chain: {p}")
        entries = AuditLog(db.engine).entries()
        groups: dict[str, list[list[Any]]] = {}
        last_key: tuple[Any, ...] | None = None
        for x in entries:
            if x.read_uid in owner and x.username != owner[x.read_uid].name:
                rep.problem(
                    f"(d) audit entry {x.seq} on {owner[x.read_uid].name}'s read "
                    f"{x.read_uid} names {x.username!r}"
                )
            tx_key = (x.read_uid, x.ts_utc, x.username, x.detail)
            if tx_key != last_key:
                groups.setdefault(str(x.read_uid), []).append([])
            groups[str(x.read_uid)][-1].append(x)
            last_key = tx_key
        # (a) one audit transaction per acknowledged edit, in order, with the expected rows
        commits = 0
        for r in results:
            per_read: dict[str, list[Edit]] = {}
            for ed in r.edits:
                per_read.setdefault(ed.read_uid, []).append(ed)
            for uid, edits in per_read.items():
                txs = groups.get(uid, [])
                commits += len(txs)
                if uid in r.tainted:
                    continue
                if len(txs) != len(edits):
                    rep.problem(
                        f"(a) read {uid} of {r.name}: {len(edits)} acknowledged edits, "
                        f"{len(txs)} audited commits"
                    )
                for n, (ed, tx) in enumerate(zip(edits, txs, strict=False)):
                    audited = {
                        (x.entity, x.entity_key): (x.action, audit_value(x.entity, x.new_value))
                        for x in tx
                    }
                    if tx[0].detail != ed.text or audited != ed.changes:
                        rep.problem(
                            f"(a) read {uid} of {r.name}, edit {n} ({ed.kind}, {ed.text!r}): "
                            f"audited {tx[0].detail!r} with {_short(audited)}, expected "
                            f"{_short(ed.changes)}"
                        )
                        break
        rep.counts["audited commits"] = commits
        rep.counts["reads"] = len(owner)
        rep.counts["acknowledged edits"] = sum(len(r.edits) for r in results)
    finally:
        db.close()
    return rep


def _short(changes: Changes, limit: int = 3) -> str:
    items = sorted(changes.items())
    text = ", ".join(f"{a} {t} {k}" for (t, k), (a, _) in items[:limit])
    return f"[{text}{', ...' if len(items) > limit else ''}] ({len(items)} rows)"


# --- summaries ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def latency_table(edits: list[Edit]) -> dict[str, tuple[int, float, float, float]]:
    """Per kind and ``overall``: count, p50, p95, max of the commit latency in ms."""
    by: dict[str, list[float]] = {}
    for e in edits:
        by.setdefault(e.kind, []).append(e.latency_s * 1e3)
        by.setdefault("overall", []).append(e.latency_s * 1e3)
    return {k: (len(v), percentile(v, 50), percentile(v, 95), max(v)) for k, v in by.items()}


def summary(outcome: LoadOutcome) -> str:
    """Readers, edits per kind, rate, failures: one paragraph for a test log."""
    edits = outcome.timed_edits
    kinds = Counter(e.kind for e in edits)
    longest = max((r.elapsed_s for r in outcome.results), default=0.0)
    rate = len(edits) / longest if longest else 0.0
    lat = latency_table(edits).get("overall", (0, 0.0, 0.0, 0.0))
    return (
        f"{len(outcome.results)} readers, {sum(len(r.reads) for r in outcome.results)} reads, "
        f"{outcome.duration_s:g} s (set-up {outcome.setup_s:.1f} s, wall {outcome.wall_s:.1f} s): "
        f"{len(edits)} acknowledged edits ({rate:.0f}/s; "
        + ", ".join(f"{k} {kinds[k]}" for k in EDIT_KINDS)
        + f"), {sum(r.noops for r in outcome.results)} no-ops, "
        f"{len(outcome.failures)} failures; commit p50 {lat[1]:.1f} ms, p95 {lat[2]:.1f} ms, "
        f"max {lat[3]:.1f} ms"
    )


# --- a throwaway PostgreSQL for the benchmark (the same steps as tests/persistence/conftest.py) --


@dataclass
class ThrowawayPostgres:
    port: int
    data_dir: Path
    bin_dir: Path
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A private cluster on loopback in a temporary directory (as ``postgres`` when root)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    bin_dir = Path(bins[-1]).parent
    as_user: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="namecar-bench-pg-"))
    try:
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is not available")
            as_user = [runuser, "-u", "postgres", "--"]
            shutil.chown(tmp, "postgres")
        data = tmp / "data"
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
        pg_ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
        subprocess.run(
            [*pg_ctl, "start", "-w", "-o", opts, "-l", str(data / "server.log")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        try:
            yield ThrowawayPostgres(port, data, bin_dir, as_user)
        finally:
            subprocess.run([*pg_ctl, "stop", "-m", "fast", "-w"], capture_output=True, timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
