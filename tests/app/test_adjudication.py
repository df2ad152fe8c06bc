"""Adjudication routing by example cases, the adjudicator's decision and the effective read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from namecar_viewer.app.adjudication import (
    AdjudicationError,
    AdjudicationService,
    compare_reads,
    needs_adjudication,
)
from namecar_viewer.app.worklist import CaseStatus, Task, WorklistService
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.reads import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role, User

DATES = [dt.date(2025, 1, 15), dt.date(2025, 4, 15), dt.date(2025, 7, 15)]
LABELS = ["baseline", "fu03m", "fu06m"]


def read_of(reader: str, liver_mm: list[float]) -> Read:
    """One liver target measured by a line of the given length at each timepoint."""
    r = Read.new(patient_id="P1", reader=reader, uid=f"R-{reader}")
    r = r.with_lesion(Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER))
    for n, (label, date, mm) in enumerate(zip(LABELS, DATES, liver_mm, strict=False)):
        role = TimepointRole.PRE_TREATMENT_BASELINE if n == 0 else TimepointRole.FOLLOW_UP
        r = r.with_timepoint(ReadTimepoint(f"tp{n}", label, date, None, role))
        m = Measurement.create(MeasurementKind.LINE, [(0, 0, 0), (mm, 0, 0)], uid=f"{reader}{n}")
        r = r.with_measurement(LesionMeasurement(m, "L1", f"tp{n}"))
    return r


def test_same_responses_need_no_adjudication() -> None:
    # 50 -> 45 (-10 %) and 50 -> 40 (-20 %): both SD (PR needs -30 %, RECIST 1.1 4.3.1)
    a, b = read_of("a", [50, 45]), read_of("b", [50, 40])
    assert compare_reads(a, b) == []
    assert not needs_adjudication(a, b)


def test_different_overall_response_at_one_timepoint() -> None:
    # 50 -> 45: SD;  50 -> 30: -40 %, PR
    a, b = read_of("a", [50, 45]), read_of("b", [50, 30])
    diffs = compare_reads(a, b)
    assert [str(d) for d in diffs] == ["overall response at fu03m: SD vs PR"]


def test_different_progression_date() -> None:
    # a: 50 -> 61 (+22 %, +11 mm): PD at fu03m.  b: 50 -> 50 (SD) -> 62 (+24 %): PD at fu06m
    a, b = read_of("a", [50, 61, 61]), read_of("b", [50, 50, 62])
    diffs = compare_reads(a, b)
    assert "date of progression: fu03m (2025-04-15) vs fu06m (2025-07-15)" in map(str, diffs)
    assert needs_adjudication(a, b)


def test_adjudicator_chooses_with_reason_and_effective_read(tmp_path: Path) -> None:
    db = ReadsDatabase(tmp_path / "r.sqlite")
    svc = AdjudicationService(db.engine)
    wl = WorklistService(db.engine)
    case = wl.create_case("admin", "NAMECAR-001", "fu03m", "P1")
    other = wl.create_case("admin", "NAMECAR-002", "fu03m", "P2")
    wl.assign("admin", case, "a")
    wl.assign("admin", case, "b")
    wl.assign("admin", case, "judge", Task.ADJUDICATE)
    assert [w.task for w in wl.work_of("a")] == [Task.READ]  # only their own work
    assert wl.work_of("nobody") == []
    wl.set_case_status("admin", case, CaseStatus.NEEDS_ADJUDICATION)
    assert wl.work_of("judge")[0].status is CaseStatus.NEEDS_ADJUDICATION
    a, b = read_of("a", [50, 45]), read_of("b", [50, 30])
    with pytest.raises(AdjudicationError, match="awaits adjudication"):
        svc.effective_read(case, a, b)
    judge = User("judge", "Judge", frozenset({Role.ADJUDICATOR}))
    with pytest.raises(AdjudicationError, match="reason"):
        svc.decide(case, judge, a, b, b.uid, " ")
    with pytest.raises(AdjudicationError, match="not an adjudicator"):
        svc.decide(case, User("a", "a", frozenset({Role.READER})), a, b, b.uid, "x")
    svc.decide(case, judge, a, b, b.uid, "T1 at fu03m is 30 mm on the portal phase")
    assert svc.effective_read(case, a, b) is b
    # agreeing reads: the first read is the result without adjudication
    assert svc.effective_read(other, a, read_of("c", [50, 44])) is a
    assert AuditLog(db.engine).entries()[-1].action == "adjudicate"
    db.close()
