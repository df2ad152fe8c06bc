"""Issue 13: the reading centre under load, 20 readers editing their own reads on PostgreSQL.

Twenty simulated readers, each a process of its own with its own ``ReadsDatabase`` (separate
workstations), edit their reads of three patients each (every patient is read by six readers)
through ``ReadSession`` at once for ``$NAMECAR_LOAD_SECONDS`` (default 60 s): create lesions,
add and move measurements, set statuses and settings, undo, redo.  Afterwards a fresh connection
checks that every acknowledged edit is in its reader's read and nowhere else, that each read
belongs to its creator, that the audit chain verifies and names the right reader, and that no
measurement was lost.  The workload and the checks live in ``tests/reading_centre_workload.py``
(shared with ``benchmarks/bench_reads_concurrency.py``).  Nothing here is timed against a goal.
"""

from __future__ import annotations

import os
import time

from reading_centre_workload import (
    EDIT_KINDS,
    check_database,
    reader_specs,
    run_load,
    summary,
)

READERS = 20
PATIENTS_PER_READER = 3
DURATION_ENV = "NAMECAR_LOAD_SECONDS"


def _duration() -> float:
    value = float(os.environ.get(DURATION_ENV, "60"))
    assert 0 < value <= 60, f"{DURATION_ENV}={value}: the test must end well within 120 s"
    return value


def test_twenty_readers_edit_their_own_reads_at_once(pg_url: str) -> None:
    duration = _duration()
    t0 = time.monotonic()
    outcome = run_load(reader_specs(pg_url, READERS, PATIENTS_PER_READER), duration)
    print(summary(outcome))
    assert not outcome.problems, "\n".join(outcome.problems)
    assert len(outcome.results) == READERS
    # Readers edit only their own rows, so nothing may fail: any failure is listed here.
    assert not outcome.failures, "\n".join(
        f"{f.reader} {f.kind} on {f.read_uid}: {f.error}" for f in outcome.failures
    )
    for r in outcome.results:
        assert len(r.reads) == PATIENTS_PER_READER
        assert r.elapsed_s >= duration * 0.95, (r.name, r.elapsed_s)
        assert sum(e.timed for e in r.edits) > 0, f"{r.name} made no edit"
    kinds = {e.kind for e in outcome.timed_edits}
    assert kinds == set(EDIT_KINDS), f"edit kinds never exercised: {set(EDIT_KINDS) - kinds}"

    report = check_database(pg_url, outcome.results)
    print("checks:", ", ".join(f"{k} {v}" for k, v in report.counts.items()))
    print(f"total {time.monotonic() - t0:.1f} s")
    assert not report.problems, "\n".join(report.problems[:30])
    assert report.counts["acknowledged measurements"] == report.counts["stored measurements"]
    assert report.counts["acknowledged lesions"] == report.counts["stored lesions"]
    assert report.counts["audited commits"] == report.counts["acknowledged edits"]


def test_the_checks_catch_misplaced_lost_and_misattributed_rows(pg_url: str) -> None:
    """The checks above are not vacuous: tampering behind the application is caught."""
    from sqlalchemy import create_engine, text

    from namecar_viewer.persistence.engine import resolve_url

    outcome = run_load(reader_specs(pg_url, 2, 2, prefix="check"), 2.0)
    assert not outcome.problems and not outcome.failures
    assert check_database(pg_url, outcome.results).problems == []
    a, b = outcome.results
    read_a, read_b = next(iter(a.reads)), next(iter(b.reads))
    ms = sorted(a.expected[read_a].measurements)
    assert len(ms) >= 2, "reader A made too few measurements to tamper with"
    engine = create_engine(resolve_url(pg_url).url)
    try:
        with engine.begin() as conn:
            # a measurement of A's read moved into B's read, B's read handed to someone else,
            # another of A's measurements deleted, an audit entry of A's read re-attributed
            conn.execute(
                text("UPDATE read_measurements SET read_uid = :b WHERE uid = :m"),
                {"b": read_b, "m": ms[0]},
            )
            conn.execute(text("UPDATE reads SET reader = 'intruder' WHERE uid = :b"), {"b": read_b})
            conn.execute(text("DELETE FROM read_measurements WHERE uid = :m"), {"m": ms[1]})
            conn.execute(
                text(
                    "UPDATE audit_log SET username = 'intruder' WHERE seq = "
                    "(SELECT max(seq) FROM audit_log WHERE read_uid = :a)"
                ),
                {"a": read_a},
            )
    finally:
        engine.dispose()
    problems = check_database(pg_url, outcome.results).problems
    text_all = "\n".join(problems)
    print("tampering caught:\n" + text_all)
    for tag in ("(a)", "(b)", "(c)", "(d)", "(e)"):
        assert tag in text_all, f"{tag} missed:\n{text_all}"
    assert ms[0] in text_all and ms[1] in text_all and "intruder" in text_all
