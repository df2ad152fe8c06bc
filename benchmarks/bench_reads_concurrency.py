"""Reads database under a reading centre's load: commit latency of ReadSession.execute.

Runs the workload of ``tests/persistence/test_reading_centre_load.py`` (issue 13): simulated
readers, each a process with its own ``ReadsDatabase`` (separate workstations), edit their own
reads of three patients through ``ReadSession`` (create lesions, add and move measurements, set
statuses and settings, undo, redo) on PostgreSQL.  First one reader alone (the reference, in the
same database and process), then twenty at once; prints p50/p95/max of the commit latency per
edit kind and overall, edits/s, and the ratios against the single reader, then checks the
database as the test does (every acknowledged edit stored in its own read, audit chain).

A throwaway PostgreSQL cluster on loopback is started the way the tests' fixture does, unless
``--db`` names a server (a fresh database there: the checks expect only this run's reads).

    python benchmarks/bench_reads_concurrency.py [--readers 20] [--duration 60]
        [--reference-duration 20] [--think-ms 0] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reading_centre_workload import (
    EDIT_KINDS,
    LoadOutcome,
    check_database,
    latency_table,
    reader_specs,
    run_load,
    throwaway_postgres,
)


def _rate(outcome: LoadOutcome) -> float:
    longest = max((r.elapsed_s for r in outcome.results), default=0.0)
    return len(outcome.timed_edits) / longest if longest else 0.0


def _report(alone: LoadOutcome, many: LoadOutcome, readers: int) -> None:
    a, m = latency_table(alone.timed_edits), latency_table(many.timed_edits)
    print("commit latency of ReadSession.execute / undo / redo (ms):")
    print(
        f"  {'kind':<16}| {'alone: n':>9} {'p50':>7} {'p95':>7} {'max':>7} "
        f"| {f'{readers} readers: n':>14} {'p50':>7} {'p95':>7} {'max':>7} "
        f"| {'p50 ratio':>9} {'p95 ratio':>9}"
    )
    for kind in (*EDIT_KINDS, "overall"):
        ra = a.get(kind)
        rm = m.get(kind)
        left = f"{ra[0]:>9} {ra[1]:>7.1f} {ra[2]:>7.1f} {ra[3]:>7.1f}" if ra else f"{'-':>33}"
        mid = f"{rm[0]:>14} {rm[1]:>7.1f} {rm[2]:>7.1f} {rm[3]:>7.1f}" if rm else f"{'-':>38}"
        ratio = (
            f"{rm[1] / ra[1]:>8.1f}x {rm[2] / ra[2]:>8.1f}x" if ra and rm else f"{'-':>9} {'-':>9}"
        )
        print(f"  {kind:<16}| {left} | {mid} | {ratio}")
    ra_rate, rm_rate = _rate(alone), _rate(many)
    print(
        f"edits/s: one reader alone {ra_rate:.0f}; {readers} readers {rm_rate:.0f} in total "
        f"({rm_rate / max(readers, 1):.1f} per reader) = {rm_rate / ra_rate:.2f}x the single "
        f"reader's rate in total, {rm_rate / readers / ra_rate:.3f}x per reader"
    )


def _run(url: str, args: argparse.Namespace) -> int:
    think = args.think_ms / 1000.0
    pace = "closed loop, no think time" if think == 0 else f"mean think {args.think_ms:g} ms"
    print(
        f"database {url.rsplit('@', 1)[-1]}; {args.readers} readers x {args.patients} reads "
        f"(patients shared: double reads), {pace}"
    )
    solo = reader_specs(url, 1, args.patients, prefix="alone", seed=args.seed, think_s=think)
    t = time.perf_counter()
    alone = run_load(solo, args.reference_duration)
    print(
        f"one reader alone: {args.reference_duration:g} s, {len(alone.timed_edits)} edits "
        f"(set-up {alone.setup_s:.1f} s, {time.perf_counter() - t:.1f} s in all)"
    )
    specs = reader_specs(url, args.readers, args.patients, seed=args.seed, think_s=think)
    t = time.perf_counter()
    many = run_load(specs, args.duration)
    print(
        f"{args.readers} readers at once: {args.duration:g} s, {len(many.timed_edits)} edits "
        f"(set-up {many.setup_s:.1f} s, {time.perf_counter() - t:.1f} s in all)"
    )
    problems = alone.problems + many.problems
    failures = alone.failures + many.failures
    for p in problems:
        print("PROBLEM:", p)
    for f in failures[:20]:
        print(f"FAILED EDIT: {f.reader} {f.kind} on {f.read_uid}: {f.error}")
    print(f"failed edits: {len(failures)} (reported, not acknowledged)")
    if not alone.timed_edits or not many.timed_edits:
        return 1
    _report(alone, many, args.readers)
    t = time.perf_counter()
    rep = check_database(url, alone.results + many.results)
    print(
        f"checks ({time.perf_counter() - t:.1f} s): "
        + ", ".join(f"{k} {v}" for k, v in rep.counts.items())
    )
    for p in rep.problems[:30]:
        print("CHECK FAILED:", p)
    print(f"checks: {'OK' if not rep.problems else f'{len(rep.problems)} problems'}")
    return 0 if not (problems or failures or rep.problems) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readers", type=int, default=20)
    ap.add_argument("--patients", type=int, default=3, help="reads per reader")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of the concurrent run")
    ap.add_argument("--reference-duration", type=float, default=20.0, help="the reader alone")
    ap.add_argument("--think-ms", type=float, default=0.0, help="mean pause between edits")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--db", help="postgresql:// URL of a server to use instead of a throwaway one")
    args = ap.parse_args()
    if args.db:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(args.db)
        name = f"bench_reads_{uuid.uuid4().hex[:8]}"
        conninfo = u.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        print(f"created database {name}")
        return _run(u.set(database=name).render_as_string(hide_password=False), args)
    with throwaway_postgres() as pg:
        print(f"throwaway PostgreSQL ({pg.bin_dir.parent.name}) on 127.0.0.1:{pg.port}")
        return _run(pg.create_database("bench_reads"), args)


if __name__ == "__main__":
    raise SystemExit(main())
