"""Journey A: a central reader starts their own read of the demo patient, picks the targets and
the non-target at baseline with the tools, measures every follow-up in order, adds a new lesion,
signs each timepoint and exports the PDF, all with mouse and keyboard events.

Expected numbers (the phantom's ground truth; the node T5 by its short axis): target sums
baseline 60+30+20+40+18 = 168 mm, inclusion 60+6+4+7+7 = 84 (-50.0 %, PR), fu03m 84 (PR),
fu06m 60+5+4+6+6 = 81 (PR, the nadir), fu09m 60+5+4+24+6 = 99 (+22.2 % and +18 mm from the
nadir: PD), and the new lesion drawn at fu09m makes it PD on its own too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from workstation import Workstation, diameter_line, row_of

from namecar_viewer.core.reads import LesionRole, Site, read_to_json
from namecar_viewer.gui.export_dialog import ExportDialog
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import DEMO_READ_UID

TIMEPOINTS = ("baseline", "inclusion", "fu03m", "fu06m", "fu09m")
SITE_TEXT = {"kidney": "kidney", "lung": "lung", "liver": "liver", "lymph node": "lymph"}


def demo_hash(db: Path) -> str:
    d = ReadsDatabase(db)
    try:
        text = json.dumps(read_to_json(d.load_read(DEMO_READ_UID)), sort_keys=True)
    finally:
        d.close()
    return hashlib.sha256(text.encode()).hexdigest()


def sign_current(ws: Workstation, label: str) -> None:
    """Review > Sign (Ctrl+Shift+G): the current timepoint is proposed; tick, Sign."""
    ws.shortcut("Ctrl+Shift+G")
    dlg = ws.w.review.sign_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.timepoint_combo.currentText().startswith(label)
    assert not dlg.unread  # read in order: nothing earlier is unread
    QTest.mouseClick(
        dlg.confirm,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(4, dlg.confirm.height() // 2),
    )
    assert dlg.sign_button.isEnabled()
    QTest.mouseClick(dlg.sign_button, Qt.MouseButton.LeftButton)
    ws.qtbot.waitUntil(lambda: not dlg.isVisible())
    ws.back_to_window()


def test_central_reader_journey(
    qtbot: QtBot,
    small_demo: Path,
    demo_db: Path,
    ground_truth: dict[str, Any],
    shots_dir: str,
    tmp_path: Path,
) -> None:
    before = demo_hash(demo_db)
    ws = Workstation(qtbot, small_demo, demo_db, "dr_a", shots_dir)
    studies = {
        s["timepoint"]: s["study_instance_uid"]
        for s in ground_truth["series"]
        if s.get("timepoint")
    }
    lesions = {les["id"]: les for les in ground_truth["lesions"]}
    # their own read, empty; the Demo Reader's finished read is named, not opened
    assert ws.read.reader == "dr_a" and ws.read.lesions == ()
    assert "Demo Reader" in ws.reads.banner.text() and ws.reads.banner_bar.isVisible()
    ws.shot("a1_own_empty_read")

    # --- baseline: the RECIST layout (Alt+1), the line tool (D), one target after another
    ws.shortcut("Alt+1")
    ws.wait_loads()
    base_vp = ws.viewport_of(studies["baseline"])
    assert ws.viewport_of(studies["inclusion"])  # the next CT to read beside it
    ws.shortcut("D")
    assert base_vp.tool.name == "line"
    for lid in ("T1", "T2", "T3", "T4", "T5"):
        les = lesions[lid]
        a, b = diameter_line(les, "baseline")
        ws.scroll_to(base_vp, (a + b) / 2)
        ws.drag(base_vp, a, b)
        assert ws.chooser is not None
        assert ws.chooser_options()[ws.chooser.list.currentRow()] == "New target lesion"
        if les["organ"] == "lung":  # guessed from the air around it
            assert ws.chooser.site_combo.currentData() is Site.LUNG
        ws.choose(site=SITE_TEXT[les["organ"]], primary=lid == "T1")
        if lid == "T1":
            ws.shot("a2_baseline_first_target")
    ws.shortcut("Shift+P")  # point: the bone lesion as a non-target
    nt1 = lesions["NT1"]["ct"]["baseline"]["centre_mm"]
    ws.scroll_to(base_vp, nt1)
    ws.click_at(base_vp, nt1)
    assert ws.chooser_options()[ws.chooser.list.currentRow()] == "New non-target lesion"
    ws.choose(site="bone")
    read = ws.read
    got = {les.label: (les.role, les.site) for les in read.lesions}
    assert got == {
        "T1": (LesionRole.TARGET, Site.KIDNEY),
        "T2": (LesionRole.TARGET, Site.LUNG),
        "T3": (LesionRole.TARGET, Site.LUNG),
        "T4": (LesionRole.TARGET, Site.LIVER),
        "T5": (LesionRole.TARGET, Site.LYMPH_NODE),
        "NT1": (LesionRole.NON_TARGET, Site.BONE),
    }
    assert [les.label for les in read.lesions if les.is_primary_renal] == ["T1"]
    ws.shot("a3_baseline_done")
    sign_current(ws, "baseline")

    # --- follow-ups, in order: Alt+1 brings the next CT beside the previous one and the nadir
    for n, tp in enumerate(TIMEPOINTS[1:], start=1):
        ws.shortcut("Alt+1")
        ws.wait_loads()
        cur = ws.viewport_of(studies[tp])
        assert ws.w.reading.protocol.slot("current").stack.study_instance_uid == studies[tp]
        ws.viewport_of(studies[TIMEPOINTS[n - 1]])  # the previous CT is on screen too
        ws.shortcut("D")
        for lid in ("T1", "T2", "T3", "T4", "T5"):
            les = lesions[lid]
            a, b = diameter_line(les, tp)
            if lid == "T1":
                # no row selected (the last lesion touched was NT1): the chooser asks, T1 first
                ws.scroll_to(cur, (a + b) / 2)
                ws.drag(cur, a, b)
                options = ws.chooser_options()
                assert options[ws.chooser.list.currentRow()].startswith("T1 kidney, expected")
                assert not any(o.startswith("New target") for o in options)
                if tp == "inclusion":
                    ws.shot("a4_follow_up_chooser")
                ws.choose()
            else:
                # the reader selects the lesion's row, scrolls to it and measures: attached
                ws.click_cell(ws.reads.panel.table, row_of(ws, lid), 0)
                ws.scroll_to(cur, (a + b) / 2)
                ws.drag(cur, a, b)
                assert ws.chooser is None, ws.chooser_options()
                assert ws.reads.layer.last_announcement.startswith(f"{lid} (target")
        ws.shortcut("Shift+P")
        nt = lesions["NT1"]["ct"][tp]["centre_mm"]
        ws.click_cell(ws.reads.panel.table, row_of(ws, "NT1"), 0)
        ws.scroll_to(cur, nt)
        ws.click_at(cur, nt)
        assert ws.reads.layer.last_announcement.startswith("NT1 (non-target")
        if tp == "fu09m":
            # a new finding, far from every lesion: the chooser proposes a new lesion
            ws.shortcut("D")
            t4 = np.asarray(lesions["T4"]["ct"][tp]["centre_mm"])
            a, b = t4 + np.array([-6.0, 45.0, 0.0]), t4 + np.array([6.0, 45.0, 0.0])
            ws.scroll_to(cur, a)
            ws.drag(cur, a, b)
            assert ws.chooser_options()[ws.chooser.list.currentRow()].startswith("New lesion")
            ws.choose(site="liver")
            ws.shot("a5_fu09m_new_lesion")
        sign_current(ws, tp)

    # --- the response the read gives, timepoint by timepoint
    rep = ws.w.response.panel.report
    assert not rep.errors, rep.errors
    rows = {r.label: r for r in rep.rows}
    assert [r.label for r in rep.rows] == list(TIMEPOINTS)
    assert rows["baseline"].sum_mm == 168
    overall = {k: rows[k].overall_response.value for k in TIMEPOINTS[1:]}  # type: ignore[union-attr]
    assert overall == {"inclusion": "PR", "fu03m": "PR", "fu06m": "PR", "fu09m": "PD"}
    assert (rows["fu06m"].sum_mm, rows["fu09m"].sum_mm) == (81, 99)
    assert rows["fu09m"].nadir_mm == 81
    assert [les.label for les in ws.read.lesions if les.role is LesionRole.NEW] == ["N1"]
    assert not ws.w.response.panel.unread_label.isVisible()  # every CT read
    ws.shot("a6_read_signed")

    # --- Review > Export read: a PDF, named as typed
    ws.w.review.actions["export"].trigger()
    dlg = next(d for d in ws.w.findChildren(ExportDialog) if d.isVisible())
    assert dlg.name_edit.text().startswith("NAMECAR-001_dr-a_")  # subject_reader_date
    dlg.setDirectory(str(tmp_path))
    dlg.name_edit.setFocus()
    QTest.keyClick(dlg.name_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(dlg.name_edit, "journey_a.pdf")
    QTest.keyClick(dlg.name_edit, Qt.Key.Key_Return)
    out = tmp_path / "journey_a.pdf"
    qtbot.waitUntil(out.exists, timeout=30000)
    assert out.read_bytes().startswith(b"%PDF")

    # --- every edit is dr_a's, in dr_a's read; the Demo Reader's read did not change
    mine = ws.read.uid
    entries = [e for e in AuditLog(ws.reads.db.engine).entries() if e.read_uid == mine]
    assert entries and {e.username for e in entries} == {"dr_a"}
    assert demo_hash(demo_db) == before
