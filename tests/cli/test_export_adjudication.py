"""``namecar-viewer export`` of a double-read case carries the adjudicated result (issue 8): two
reads of the demo patient that differ at one timepoint are refused (exit 1, the case named)
until the adjudicator chooses; then the chosen read is exported, with its signature status.

Reader 1 reads the demo as built.  Reader 2 measures the primary kidney tumour T1 at fu03m as
80 mm instead of 60 mm: the fu03m sum becomes 84 - 60 + 80 = 104 mm against a nadir of 84 mm
(the inclusion scan), +23.8 % and +20 mm, so PD (RECIST 1.1 sec. 4.3.1: >= 20 % and >= 5 mm)
where reader 1 has PR (-50 % from 168 mm).  fu06m (81 mm, nadir still 84 mm) and fu09m (99 mm vs
nadir 81 mm, PD) are the same in both reads.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.app.adjudication import compare_reads
from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.app.signing import SigningService
from namecar_viewer.app.worklist import CaseStatus, WorklistService
from namecar_viewer.cli import main
from namecar_viewer.core.reads.model import Read
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role
from namecar_viewer.phantom.demo_read import build_demo_read
from read_copies import copy_read
from testsupport import require_tool

PASSWORD = "correct horse 42"


def with_long_axis(read: Read, lesion: str, timepoint: str, long_mm: float) -> Read:
    """``read`` with one bidirectional measurement's long axis set to ``long_mm`` (same centre,
    direction and short axis)."""
    les = next(x.uid for x in read.lesions if x.label == lesion)
    tp = next(t.uid for t in read.timepoints if t.label == timepoint)
    lm = next(x for x in read.measurements if x.lesion_uid == les and x.timepoint_uid == tp)
    p = lm.measurement.array
    c = (p[0] + p[1]) / 2.0
    d = (p[1] - p[0]) / np.linalg.norm(p[1] - p[0])
    pts = [c - long_mm / 2 * d, c + long_mm / 2 * d, p[2], p[3]]
    new = dataclasses.replace(lm, measurement=lm.measurement.with_points(pts))
    return read.with_measurement(new)


def double_read_db(db_path: Path, demo_dir: Path, t1_fu03m_mm: float = 80.0) -> dict[str, Any]:
    """A reads database with a worklist case NAMECAR-001 FU03M read by reader1 and reader2."""
    db = ReadsDatabase(db_path)
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    for name, roles in (
        ("reader1", {Role.READER}),
        ("reader2", {Role.READER}),
        ("adj1", {Role.ADJUDICATOR}),
    ):
        auth.create_user(admin, name, roles, PASSWORD)
    wl = WorklistService(db.engine)
    case = wl.create_case("admin", "NAMECAR-001", "FU03M", "NAMECAR-001")
    a1 = wl.assign("admin", case, "reader1")
    a2 = wl.assign("admin", case, "reader2")
    demo = build_demo_read(demo_dir)
    read1 = copy_read(demo, "r1", "reader1")
    read2 = with_long_axis(copy_read(demo, "r2", "reader2"), "T1", "fu03m", t1_fu03m_mm)
    s1 = ReadSession(read1, db, user="reader1")
    s2 = ReadSession(read2, db, user="reader2")
    wl.set_status("reader1", a1, CaseStatus.IN_PROGRESS, read1.uid)
    wl.set_status("reader2", a2, CaseStatus.IN_PROGRESS, read2.uid)
    return {
        "db": db,
        "auth": auth,
        "case": case,
        "read1": read1,
        "read2": read2,
        "s1": s1,
        "s2": s2,
    }


@pytest.fixture
def setup(tmp_path: Path, small_demo: Path) -> Any:
    env = double_read_db(tmp_path / "reads.sqlite", small_demo)
    yield env
    env["db"].close()


def _argv(env: dict[str, Any], out: Path, fmt: str = "csv", *which: str) -> list[str]:
    which = which or ("--patient", "NAMECAR-001")
    return ["export", *which, "--format", fmt, "--out", str(out), "--db", str(env["db"].where)]


def _responses(path: Path) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(path.open(encoding="utf-8"))
    return {r["timepoint"]: r for r in rows if r["row_type"] == "response"}


def test_the_two_reads_differ_at_fu03m_only(setup: dict[str, Any]) -> None:
    diffs = [str(d) for d in compare_reads(setup["read1"], setup["read2"])]
    assert diffs == [
        "overall response at fu03m: PR vs PD",
        "date of progression: fu09m (2026-04-09) vs fu03m (2025-10-09)",
    ]


def test_undecided_disagreement_is_refused(
    setup: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "case.csv"
    assert main(_argv(setup, out)) == 1
    err = capsys.readouterr().err
    assert "Cannot export case NAMECAR-001 FU03M" in err
    # the two reads in the case's assignment order: PR vs PD or PD vs PR
    assert (
        "overall response at fu03m: PR vs PD" in err or "overall response at fu03m: PD vs PR" in err
    )
    assert "awaits adjudication" in err
    assert not out.exists()
    # the same for one of the two reads asked by its uid, and blinded the subject is pseudonymised
    assert main(_argv(setup, out, "json", "--read", setup["read1"].uid, "--blinded")) == 1
    err = capsys.readouterr().err
    assert "Cannot export case Subject " in err and "NAMECAR-001" not in err
    assert not out.exists()


def test_adjudicated_read_is_exported_with_its_signature(
    setup: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth: AuthService = setup["auth"]
    read2: Read = setup["read2"]
    fu03 = next(t.uid for t in read2.timepoints if t.label == "fu03m")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    reader2 = auth.login("reader2", PASSWORD)
    sig = SigningService(auth).sign(setup["s2"], fu03, reader2, PASSWORD)
    after = dt.datetime.now(dt.UTC)
    from namecar_viewer.app.adjudication import AdjudicationService

    AdjudicationService(setup["db"].engine).decide(
        setup["case"],
        auth.login("adj1", PASSWORD),
        setup["read1"],
        read2,
        read2.uid,
        "T1 at fu03m is 80 mm on the inclusion-matched slice",
    )
    out = tmp_path / "case.csv"
    assert main(_argv(setup, out)) == 0
    assert f"exporting read {read2.uid} (adjudicated)" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["read_uid"] for r in rows} == {read2.uid} and {r["reader"] for r in rows} == {
        "reader2"
    }
    resp = _responses(out)
    assert resp["fu03m"]["overall_response"] == "PD"
    assert resp["fu03m"]["sum_mm"] == "104.0"
    assert resp["fu03m"]["pct_change_from_nadir"] == "23.8"  # (104 - 84) / 84
    t1 = next(r for r in rows if r["lesion_label"] == "T1" and r["timepoint"] == "fu03m")
    assert t1["long_axis_mm"] == "80.0"
    # status: fu03m signed by reader2, version 1, at the signature's UTC time; the rest drafts
    fu03_rows = [r for r in rows if r["timepoint"] == "fu03m"]
    assert {r["read_status"] for r in fu03_rows} == {"signed"}
    assert {r["signed_by"] for r in fu03_rows} == {"reader2"}
    assert {r["signature_version"] for r in fu03_rows} == {str(sig.version)} == {"1"}
    when = dt.datetime.fromisoformat(fu03_rows[0]["signed_at_utc"].replace("Z", "+00:00"))
    assert before <= when <= after
    assert {r["read_status"] for r in rows if r["timepoint"] != "fu03m"} == {"draft"}

    # reader 1's read asked by uid: the case's adjudicated result is what leaves the workstation
    out_json = tmp_path / "r1.json"
    assert main(_argv(setup, out_json, "json", "--read", setup["read1"].uid)) == 0
    data = json.loads(out_json.read_text(encoding="utf-8"))
    fu03_result = next(t for t in data["result"]["timepoints"] if t["label"] == "fu03m")
    assert fu03_result["overall_response"] == "PD"
    status = {x["timepoint"]: x for x in data["read_status"]}
    assert status["fu03m"]["signed_by"] == "reader2" and status["baseline"]["status"] == "draft"

    # the PDF header says who signed fu03m and when
    import subprocess

    pdf = tmp_path / "case.pdf"
    assert main(_argv(setup, pdf, "pdf")) == 0
    text = subprocess.run(
        [require_tool("pdftotext", "poppler-utils"), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stamp = f"{sig.signed_utc.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    assert f"fu03m: signed by reader2 on {stamp}, version 1" in " ".join(text.split())


def test_agreeing_reads_export_the_first(
    tmp_path: Path, small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # reader 2 measures T1 at fu03m as 60 mm like reader 1: the reads agree, no adjudication
    env = double_read_db(tmp_path / "agree.sqlite", small_demo, t1_fu03m_mm=60.0)
    try:
        assert compare_reads(env["read1"], env["read2"]) == []
        out = tmp_path / "agree.csv"
        assert main(_argv(env, out)) == 0
        assert "(both reads agree)" in capsys.readouterr().out
        # either read carries the same result (the first in the case's assignment order is used)
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert len({r["reader"] for r in rows}) == 1
        assert _responses(out)["fu03m"]["overall_response"] == "PR"
    finally:
        env["db"].close()


def test_single_read_exports_as_it_is(
    tmp_path: Path, small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ReadsDatabase(tmp_path / "single.sqlite")
    try:
        wl = WorklistService(db.engine)
        case = wl.create_case("admin", "NAMECAR-001", "FU03M", "NAMECAR-001")
        a1 = wl.assign("admin", case, "reader1")
        read = copy_read(build_demo_read(small_demo), "r1", "reader1")
        ReadSession(read, db, user="reader1")
        wl.set_status("reader1", a1, CaseStatus.IN_PROGRESS, read.uid)
        out = tmp_path / "single.csv"
        argv = ["export", "--patient", "NAMECAR-001", "--format", "csv", "--out", str(out)]
        assert main([*argv, "--db", str(db.where)]) == 0
        resp = _responses(out)
        assert resp["fu03m"]["overall_response"] == "PR" and resp["fu03m"]["reader"] == "reader1"
    finally:
        db.close()
