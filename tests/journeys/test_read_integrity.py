"""Issue 13, points 3, 4 and 6, as they were seen with real events on the demo patient:

3. ``--demo --user dr_second`` opened the Demo Reader's read and dr_second's line went into it;
4. a reader who read only baseline and fu09m got PR where the answer is PD, and nothing said that
   three CTs were unread;
6. the Studies search box had the focus: pressing D typed "d", X emptied the study list.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot
from workstation import Workstation

from namecar_viewer.core.reads import read_to_json
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import DEMO_READ_UID


def demo_json_hash(db: Path) -> str:
    """The hash of the demo read as ``namecar-viewer export --format json`` writes it."""
    from namecar_viewer.cli import main

    out = db.parent / "demo_read.json"
    assert (
        main(
            [
                "export",
                "--read",
                DEMO_READ_UID,
                "--format",
                "json",
                "--out",
                str(out),
                "--db",
                str(db),
            ]
        )
        == 0
    )
    d = ReadsDatabase(db)
    try:
        stored = json.dumps(read_to_json(d.load_read(DEMO_READ_UID)), sort_keys=True)
    finally:
        d.close()
    return hashlib.sha256(out.read_bytes() + stored.encode()).hexdigest()


def test_a_second_reader_gets_their_own_read_and_cannot_change_the_demo_read(
    qtbot: QtBot, small_demo: Path, demo_db: Path, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    before = demo_json_hash(demo_db)
    ws = Workstation(qtbot, small_demo, demo_db, "dr_second", shots_dir)
    assert ws.read.reader == "dr_second" and ws.read.uid != DEMO_READ_UID
    assert not ws.reads.session.read_only
    # a line on T1 of the baseline goes into dr_second's own (new) read
    t1 = next(les for les in ground_truth["lesions"] if les["id"] == "T1")["ct"]["baseline"]
    c = np.asarray(t1["centre_mm"], dtype=np.float64)
    vp = ws.w.active
    ws.shortcut("D")
    ws.scroll_to(vp, c)
    ws.drag(vp, c - np.array([30.0, 0, 0]), c + np.array([30.0, 0, 0]))
    ws.choose()
    assert [les.label for les in ws.read.lesions] == ["T1"]
    assert demo_json_hash(demo_db) == before

    # the banner's button shows the Demo Reader's read, view only
    assert ws.reads.banner_bar.isVisible()
    QTest.mouseClick(ws.reads.banner_button, Qt.MouseButton.LeftButton)  # one other read
    assert ws.reads.session.read.uid == DEMO_READ_UID and ws.reads.session.read_only
    assert "view only" in ws.reads.banner.text()
    ws.shot("r3_demo_read_view_only")
    n = len(ws.read.measurements)
    ws.scroll_to(vp, c)
    ws.drag(vp, c - np.array([20.0, 5, 0]), c + np.array([20.0, 5, 0]))
    assert ws.chooser is None  # refused before anything is stored
    assert len(ws.read.measurements) == n
    assert "belongs to Demo Reader" in ws.w.statusBar().currentMessage()
    ws.shortcut("Ctrl+Z")
    assert demo_json_hash(demo_db) == before
    # back to their own read with one click
    QTest.mouseClick(ws.reads.banner_button, Qt.MouseButton.LeftButton)
    assert ws.read.reader == "dr_second" and [les.label for les in ws.read.lesions] == ["T1"]


def test_unread_follow_ups_are_flagged_and_signing_past_them_needs_a_reason(
    qtbot: QtBot, small_demo: Path, demo_db: Path, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    from dataclasses import replace

    from namecar_viewer.phantom.demo_read import build_demo_read
    from read_copies import copy_read

    # dr_skip read baseline and fu09m only (the demo read without inclusion, fu03m, fu06m)
    full = copy_read(build_demo_read(small_demo), "skip", "dr_skip")
    keep = {tp.uid for tp in full.timepoints if tp.label in ("baseline", "fu09m")}
    partial = replace(
        full,
        timepoints=tuple(tp for tp in full.timepoints if tp.uid in keep),
        measurements=tuple(lm for lm in full.measurements if lm.timepoint_uid in keep),
        statuses={k: v for k, v in full.statuses.items() if k[1] in keep},
    )
    db = ReadsDatabase(demo_db)
    db.save_new_read(partial)
    db.close()
    ws = Workstation(qtbot, small_demo, demo_db, "dr_skip", shots_dir)
    assert ws.read.uid == partial.uid
    panel = ws.w.response.panel
    rows = {r.label: r for r in panel.report.rows}
    assert rows["fu09m"].overall_response.value == "PR"  # type: ignore[union-attr]
    text = panel.unread_label.text()
    assert panel.unread_label.isVisible()
    assert "inclusion, fu03m, fu06m are not read: the nadir" in text
    assert ws.w.review.lock_label.text() == "Draft; not read: inclusion, fu03m, fu06m"
    assert "the nadir" in ws.w.review.lock_label.toolTip()
    # the RECIST layout sends the reader back to the first unread CT
    ws.shortcut("Alt+1")
    ws.wait_loads()
    fu = {
        s["timepoint"]: s["study_instance_uid"]
        for s in ground_truth["series"]
        if s.get("timepoint")
    }
    assert ws.w.reading.protocol.slot("current").stack.study_instance_uid == fu["inclusion"]
    ws.shot("r4_unread_flagged")
    # signing fu09m asks why
    ws.shortcut("Ctrl+Shift+G")
    dlg = ws.w.review.sign_dialog
    i = dlg.timepoint_combo.findText("fu09m", Qt.MatchFlag.MatchStartsWith)
    dlg.timepoint_combo.setCurrentIndex(i)
    assert dlg.unread == ["inclusion", "fu03m", "fu06m"] and dlg.reason_edit.isVisible()
    QTest.mouseClick(
        dlg.confirm,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(4, dlg.confirm.height() // 2),
    )
    assert not dlg.sign_button.isEnabled()  # no reason yet
    dlg.reason_edit.setFocus()
    QTest.keyClicks(dlg.reason_edit, "inclusion CT not available at this site")
    assert dlg.sign_button.isEnabled()
    dlg.grab().save(f"{shots_dir}/r4_sign_needs_reason.png")
    QTest.mouseClick(dlg.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible())
    from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog

    (sig,) = AuditLog(ws.reads.db.engine).entries(AuditFilter(action=AuditAction.SIGN))
    assert sig.reason == "inclusion CT not available at this site"
    assert json.loads(sig.new_value or "{}")["unread_earlier"] == ["inclusion", "fu03m", "fu06m"]


def test_single_keys_act_on_the_viewer_and_never_type_into_the_search_box(
    qtbot: QtBot, small_demo: Path, demo_db: Path
) -> None:
    ws = Workstation(qtbot, small_demo, demo_db, "dr_keys")
    search = ws.w.browser.patient_edit
    assert not isinstance(QApplication.focusWidget(), QLineEdit)  # focus starts on the images
    n_studies = len(ws.w.browser.studies)
    ws.key(Qt.Key.Key_D)
    assert ws.w.active.tool.name == "line"
    ws.key(Qt.Key.Key_X)
    assert ws.w.active.tool.name == "crosshair"
    assert search.text() == "" and len(ws.w.browser.studies) == n_studies
    # clicking in the browser tree and on the images: still no typing into the search box
    tree = ws.w.browser.tree
    QTest.mouseClick(
        tree.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        tree.visualItemRect(tree.topLevelItem(0)).center(),
    )
    ws.key(Qt.Key.Key_D)
    assert ws.w.active.tool.name == "line" and search.text() == ""
    # the reader clicks into the search box to type; Escape gives the keys back to the images
    QTest.mouseClick(search, Qt.MouseButton.LeftButton)
    QTest.keyClicks(search, "NAMECAR")
    assert search.text() == "NAMECAR"
    QTest.keyClick(search, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is ws.w.active
    ws.key(Qt.Key.Key_X)
    assert ws.w.active.tool.name == "crosshair" and search.text() == "NAMECAR"
    assert len(ws.w.browser.studies) == n_studies
