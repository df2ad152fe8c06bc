"""Double read: the second reader's signature routes a disagreeing case to the adjudicator, who
sees both reads side by side and chooses one with a reason; the case becomes adjudicated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.app.worklist import CaseStatus, Task
from namecar_viewer.core.reads.model import LesionStatus, Read
from namecar_viewer.gui.adjudication import AdjudicationView, after_signature
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role
from namecar_viewer.phantom.demo_read import build_demo_read
from read_copies import copy_read as _copy

PASSWORD = "correct horse 42"


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")


@pytest.fixture
def db(tmp_path: Path) -> Any:
    d = ReadsDatabase(tmp_path / "reads.sqlite")
    yield d
    d.close()


def _tp(read: Read, label: str) -> str:
    return next(t.uid for t in read.timepoints if t.label == label)


def test_routing_and_adjudication(
    qtbot: QtBot, db: ReadsDatabase, small_demo: Path, shots_dir: str
) -> None:
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    for name, roles in (
        ("reader1", {Role.READER}),
        ("reader2", {Role.READER}),
        ("adj1", {Role.ADJUDICATOR}),
    ):
        auth.create_user(admin, name, roles, PASSWORD)
    actx = ReviewContext.for_user(db, auth, admin)
    case = actx.worklist.create_case("admin", "NAMECAR-001", "FU03M", "NAMECAR-001")
    a1 = actx.worklist.assign("admin", case, "reader1")
    a2 = actx.worklist.assign("admin", case, "reader2")

    demo = build_demo_read(small_demo)
    # Reader 1 reads the demo as built: FU03M is PR (sum 84 mm vs 168 mm at baseline, -50 %).
    read1 = _copy(demo, "r1", "reader1")
    # Reader 2 calls the bone non-target NT1 unequivocally progressing at FU03M: non-target PD,
    # so overall PD there (RECIST 1.1 Table 1), and a first PD at fu03m instead of fu09m.
    read2 = _copy(demo, "r2", "reader2")
    nt1 = next(x.uid for x in read2.lesions if x.label == "NT1")
    read2 = read2.with_status(nt1, _tp(read2, "fu03m"), LesionStatus.UNEQUIVOCAL_PROGRESSION)
    ctx1 = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    ctx2 = ReviewContext.for_user(db, auth, auth.login("reader2", PASSWORD))
    s1 = ReadSession(read1, db, user="reader1")
    ReadSession(read2, db, user="reader2")
    ctx1.worklist.set_status("reader1", a1, CaseStatus.IN_PROGRESS, read1.uid)
    ctx2.worklist.set_status("reader2", a2, CaseStatus.IN_PROGRESS, read2.uid)

    # reader 1 signs FU03M first: the case waits for the second reader
    ctx1.signing.sign(s1, _tp(read1, "fu03m"), ctx1.user, PASSWORD)
    assert after_signature(ctx1, read1, "fu03m") == "Waiting for the second reader."
    assert [w.status for w in ctx1.worklist.work_of("reader1")] == [CaseStatus.SIGNED]

    # reader 2 signs in the app: compare_reads runs and the case goes to adjudication (adj1)
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.set_review(ctx2)
    w2.reads.open_read(read2.uid)
    w2.review.on_read_switched()
    w2.review.sign(_tp(read2, "fu03m"), PASSWORD)
    assert "the case goes to adjudication (adj1)" in w2.statusBar().currentMessage()
    assert [w.status for w in ctx2.worklist.work_of("reader2")] == [CaseStatus.NEEDS_ADJUDICATION]
    todo = ctx2.worklist.work_of("adj1")
    assert [(w.task, w.status) for w in todo] == [(Task.ADJUDICATE, CaseStatus.NEEDS_ADJUDICATION)]

    # the adjudicator opens the case from the worklist: both reads side by side
    ctxa = ReviewContext.for_user(db, auth, auth.login("adj1", PASSWORD))
    wa = MainWindow()
    qtbot.addWidget(wa)
    wa.resize(1500, 900)
    wa.set_review(ctxa)
    dock = wa.review.show_worklist()
    dock.panel.open_row(0)
    view = wa.review.adjudication_view
    assert isinstance(view, AdjudicationView)
    qtbot.addWidget(view)
    assert {view.first.reader, view.second.reader} == {"reader1", "reader2"}
    assert "overall response at fu03m: PR vs PD" in view.header.text() or (
        "overall response at fu03m: PD vs PR" in view.header.text()
    )
    assert "date of progression" in view.header.text()
    a_col, b_col = view.columns
    # one response row differs (fu03m overall) and one lesion cell (NT1 at fu03m) in each read
    assert (a_col.differing_responses, b_col.differing_responses) == (1, 1)
    assert (a_col.differing_cells, b_col.differing_cells) == (1, 1)
    view.grab().save(f"{shots_dir}/adjudication_side_by_side.png")

    # no reason: refused with a message; then read B (reader 2's, if it is B) with a reason
    pick = view.choice_a if view.first.uid == read2.uid else view.choice_b
    pick.setChecked(True)
    assert not view.decide()
    assert view.message.text() == "An adjudication needs a reason."
    view.reason_edit.setPlainText("NT1: new lytic destruction of the rib at FU03M")
    assert view.decide()
    assert ctxa.adjudication.effective_read(case, read1, read2).uid == read2.uid
    assert [(w.status) for w in ctxa.worklist.work_of("adj1")] == [CaseStatus.ADJUDICATED]
    assert [(w.status) for w in ctx1.worklist.work_of("reader1")] == [CaseStatus.ADJUDICATED]
    adj = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.ADJUDICATE))
    assert [(e.username, e.reason, e.read_uid) for e in adj] == [
        ("adj1", "NT1: new lytic destruction of the rib at FU03M", read2.uid)
    ]


def test_agreeing_reads_sign_the_case(db: ReadsDatabase, small_demo: Path) -> None:
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    for name in ("reader1", "reader2"):
        auth.create_user(admin, name, {Role.READER}, PASSWORD)
    actx = ReviewContext.for_user(db, auth, admin)
    case = actx.worklist.create_case("admin", "NAMECAR-001", "FU06M", "NAMECAR-001")
    demo = build_demo_read(small_demo)
    for n, name in ((1, "reader1"), (2, "reader2")):
        a = actx.worklist.assign("admin", case, name)
        read = _copy(demo, f"r{n}", name)
        ctx = ReviewContext.for_user(db, auth, auth.login(name, PASSWORD))
        s = ReadSession(read, db, user=name)
        ctx.worklist.set_status(name, a, CaseStatus.IN_PROGRESS, read.uid)
        ctx.signing.sign(s, _tp(read, "fu06m"), ctx.user, PASSWORD)
        msg = after_signature(ctx, read, "FU06M")
    assert msg == "Both reads agree: case signed."
    assert [w.status for w in actx.worklist.work_of("reader2")] == [CaseStatus.SIGNED]
