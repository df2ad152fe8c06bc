"""Journey D (issue 16, "Measured by"): the demo patient's four follow-ups read with the proposed
measurements, every mouse click and key press of the reader counted by the driver.

The baseline is read first, as journey A reads it (line tool, the chooser, signed): not
counted.  Meanwhile the window aligns the other CT timepoints to the baseline by itself (the
automatic alignment, in its worker thread, as a reader gets it: nothing of the phantom's truth
is given to it); the reader waits for it (no action).  Then, per
follow-up: Alt+1 brings the next CT beside the previous one and the nadir; the first time, G
chooses the proposed measurements; each lesion is proposed on the best slice near where it is
expected, the reader accepts it with Enter (or drags a handle first when it is off by more than
a pixel), NT1's "present" is confirmed with Enter; Ctrl+Shift+G, tick, Sign.  Goal: at most 2
actions per lesion per follow-up, at most 60 for the 6 lesions x 4 follow-ups, every value
within one pixel spacing of the phantom's truth, responses PR, PR, PR, PD.

``test_todays_follow_up_actions`` counts journey A's follow-up steps (the flow before the
proposals: select the row, scroll to the lesion, draw the line) with the same driver.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot
from workstation import Workstation, diameter_line, row_of

from namecar_viewer.core.reads import LesionRole, LesionStatus, Site

TIMEPOINTS = ("baseline", "inclusion", "fu03m", "fu06m", "fu09m")
FOLLOW_UPS = TIMEPOINTS[1:]
LESIONS = ("T1", "T2", "T3", "T4", "T5", "NT1")
SITE_TEXT = {"kidney": "kidney", "lung": "lung", "liver": "liver", "lymph node": "lymph"}
SHOTS = "/tmp/shots/proposals"


class CountingWorkstation(Workstation):
    """The journey driver, counting the reader's actions while ``counting`` is on: one per key
    press (typed text: one per character), one per mouse click, one per drag (press, move,
    release)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.counting = False
        self.log: list[tuple[str, str]] = []  # (phase, action)
        self.phase = ""
        super().__init__(*args, **kwargs)

    def count(self, what: str, n: int = 1) -> None:
        if self.counting:
            self.log.extend([(self.phase, what)] * n)

    def actions(self, prefix: str = "") -> int:
        return sum(1 for phase, _w in self.log if phase.startswith(prefix))

    def key(self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier):  # type: ignore[no-untyped-def]
        self.count(f"key {key.name}")
        super().key(key, modifier)

    def shortcut(self, text: str) -> None:
        self.count(f"key {text}")
        super().shortcut(text)

    def type(self, text: str) -> None:
        self.count(f"type {text!r}", len(text))
        super().type(text)

    def drag(self, vp: Any, a: Any, b: Any, steps: int = 6) -> None:
        self.count("drag")
        super().drag(vp, a, b, steps)

    def click_at(self, vp: Any, a: Any) -> None:
        self.count("click")
        super().click_at(vp, a)

    def click_widget(self, widget: Any, pos: QPoint | None = None) -> None:
        self.count(f"click {widget.objectName() or type(widget).__name__}")
        super().click_widget(widget, pos)

    def click_cell(self, table: Any, row: int, column: int) -> None:
        self.count("click cell")
        super().click_cell(table, row, column)

    def scroll_to(self, vp: Any, lps: Any) -> None:
        # a middle click (the viewport takes the keyboard), then one arrow key per slice
        before = vp.model.index
        target = vp.model.geometry.index_of(np.asarray(lps, dtype=np.float64))
        self.count("middle click")
        self.count("arrow key", abs(target - before))
        super().scroll_to(vp, lps)

    def choose(
        self,
        starts_with: str | None = None,
        site: str | None = None,
        primary: bool = False,
        link: str | None = None,
    ) -> None:
        ch = self.chooser
        moves = 0
        if starts_with is not None:
            texts = self.chooser_options()
            want = next(i for i, t in enumerate(texts) if t.startswith(starts_with))
            moves = abs(want - ch.list.currentRow())
        n = moves + 1  # arrows, then Enter
        if site is not None:
            n += 1 + len(site)  # Tab, the site typed
        if primary:
            n += 2  # Tab, Space
        if link is not None:
            n += 1 + len(link)
        self.count("chooser keys", n)
        super().choose(starts_with, site, primary, link)


def truth_mm(les: dict[str, Any], tp: str) -> float:
    at = les["ct"][tp]
    return float(at["short_axis_mm"] if les["is_lymph_node"] else at["long_axis_mm"])


def sign(ws: CountingWorkstation, label: str) -> None:
    """Review > Sign (Ctrl+Shift+G): the current timepoint proposed; tick the box, Sign."""
    ws.shortcut("Ctrl+Shift+G")
    dlg = ws.w.review.sign_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.timepoint_combo.currentText().startswith(label)
    assert not dlg.unread
    ws.click_widget(dlg.confirm, QPoint(4, dlg.confirm.height() // 2))
    assert dlg.sign_button.isEnabled()
    ws.click_widget(dlg.sign_button, dlg.sign_button.rect().center())
    ws.qtbot.waitUntil(lambda: not dlg.isVisible())
    ws.back_to_window()


def read_baseline(
    ws: CountingWorkstation, lesions: dict[str, Any], studies: dict[str, str]
) -> None:
    """Journey A's baseline: the RECIST layout, the line tool, five targets, the bone point."""
    ws.shortcut("Alt+1")
    ws.wait_loads()
    base_vp = ws.viewport_of(studies["baseline"])
    ws.shortcut("D")
    for lid in ("T1", "T2", "T3", "T4", "T5"):
        a, b = diameter_line(lesions[lid], "baseline")
        ws.scroll_to(base_vp, (a + b) / 2)
        ws.drag(base_vp, a, b)
        assert ws.chooser_options()[ws.chooser.list.currentRow()] == "New target lesion"
        ws.choose(site=SITE_TEXT[lesions[lid]["organ"]], primary=lid == "T1")
    ws.shortcut("Shift+P")
    nt1 = lesions["NT1"]["ct"]["baseline"]["centre_mm"]
    ws.scroll_to(base_vp, nt1)
    ws.click_at(base_vp, nt1)
    ws.choose(site="bone")
    assert [les.label for les in ws.read.lesions] == list(LESIONS)
    sign(ws, "baseline")


def wait_for_alignment(ws: Workstation, ground_truth: dict[str, Any]) -> list[float]:
    """Wait until the window's automatic alignment has aligned every follow-up to the baseline;
    returns each lesion's error through it (mm), at every follow-up, against the phantom."""
    ctl = ws.w.reading.alignment
    frames = {
        s["timepoint"]: s["frame_of_reference_uid"]
        for s in ground_truth["series"]
        if s.get("timepoint") and s["modality"] == "CT"
    }

    def linked() -> bool:
        return not ctl.running and all(
            ws.w.state.map_point((0.0, 0.0, 0.0), frames["baseline"], frames[tp]) is not None
            for tp in FOLLOW_UPS
        )

    ws.qtbot.waitUntil(linked, timeout=180000)
    errors = []
    for les in ground_truth["lesions"]:
        for tp in FOLLOW_UPS:
            q = ws.w.state.map_point(
                les["ct"]["baseline"]["centre_mm"], frames["baseline"], frames[tp]
            )
            assert q is not None
            errors.append(float(np.linalg.norm(q - np.asarray(les["ct"][tp]["centre_mm"]))))
    return errors


def check_responses(ws: Workstation) -> dict[str, str]:
    rep = ws.w.response.panel.report
    assert not rep.errors, rep.errors
    rows = {r.label: r for r in rep.rows}
    assert [r.label for r in rep.rows] == list(TIMEPOINTS)
    overall = {k: rows[k].overall_response.value for k in FOLLOW_UPS}  # type: ignore[union-attr]
    assert overall == {"inclusion": "PR", "fu03m": "PR", "fu06m": "PR", "fu09m": "PD"}
    return overall


def write_counts(name: str, data: dict[str, Any]) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    path = Path(SHOTS) / "counts.json"
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc[name] = data
    path.write_text(json.dumps(doc, indent=1, sort_keys=True))


@pytest.fixture
def setup(
    qtbot: QtBot,
    small_demo: Path,
    demo_db: Path,
    ground_truth: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[CountingWorkstation, dict[str, Any], dict[str, str]]:
    os.makedirs(SHOTS, exist_ok=True)
    monkeypatch.setenv("NAMECAR_AUTO_ALIGN", "1")  # the workstation's default (tests turn it off)
    ws = CountingWorkstation(qtbot, small_demo, demo_db, "dr_d", SHOTS)
    studies = {
        s["timepoint"]: s["study_instance_uid"]
        for s in ground_truth["series"]
        if s.get("timepoint")
    }
    lesions = {les["id"]: les for les in ground_truth["lesions"]}
    read_baseline(ws, lesions, studies)
    errors = wait_for_alignment(ws, ground_truth)
    print(f"automatic alignment: lesion centres within {max(errors):.2f} mm at every follow-up")
    assert max(errors) <= 3.0
    return ws, lesions, studies


def test_follow_ups_with_proposals_in_two_actions_per_lesion(
    setup: tuple[CountingWorkstation, dict[str, Any], dict[str, str]],
    ground_truth: dict[str, Any],
) -> None:
    from namecar_viewer.app.proposals import records_in
    from namecar_viewer.gui.tools.proposals import ProposalTool

    ws, lesions, studies = setup
    flow = ws.reads.proposals
    spacing = None
    per_lesion: dict[str, dict[str, int]] = {}
    proposed: dict[str, dict[str, float | str]] = {}
    ws.counting = True
    for n, tp in enumerate(FOLLOW_UPS):
        ws.phase = f"{tp} open"
        ws.shortcut("Alt+1")
        ws.wait_loads()
        cur = ws.viewport_of(studies[tp])
        if n == 0:
            ws.shortcut("G")  # Tools > Proposed measurements, once
        try:
            ws.qtbot.waitUntil(
                lambda t=tp: flow.active and flow.tp is not None and flow.tp.label == t
            )
        except Exception as exc:
            raise AssertionError(
                (tp, ws.w.statusBar().currentMessage(), ws.focus(), ws.reads.current_tool)
            ) from exc
        assert flow.vp is cur and isinstance(cur.tool, ProposalTool)
        spacing = min(cur.model.geometry.pixel_spacing)
        ws.viewport_of(studies[TIMEPOINTS[n]])  # the previous CT beside it
        per_lesion[tp] = {}
        proposed[tp] = {}
        for lid in LESIONS:
            ws.phase = f"{tp} {lid}"
            p = flow.proposal
            assert flow.lesions[flow.index] == ws.read.lesions[LESIONS.index(lid)].uid
            assert p is not None and p.label == lid
            # every viewport is on the lesion: the current CT on the proposal's slice, the
            # previous CT on its own measurement of it (drawn there)
            prev = ws.viewport_of(studies[TIMEPOINTS[n]])
            prev_tp = ws.read.timepoint_for_study(studies[TIMEPOINTS[n]])
            ms = [
                lm.measurement
                for lm in ws.read.measurements
                if lm.lesion_uid == p.lesion_uid and lm.timepoint_uid == prev_tp.uid
            ]
            if ms:  # NT1 is confirmed by its status after the baseline: nothing to draw
                shown = {lm.uid for lm in ws.reads.layer.visible(prev)}
                assert any(m.uid in shown for m in ms), (tp, lid)
            if lid == "NT1":
                assert p.status is LesionStatus.PRESENT and p.status_from == TIMEPOINTS[n]
                proposed[tp][lid] = "present"
                if tp == "inclusion":
                    ws.shot("d3_inclusion_nt1_previous_answer")
                ws.key(Qt.Key.Key_Return)  # confirm "present"
            else:
                c = flow.candidate
                assert c is not None, (tp, lid, p.kind)
                assert cur.model.index == p.finding.slice_index
                got = p.recist_diameter_mm
                proposed[tp][lid] = round(float(got), 2)
                if tp == "inclusion" and lid in ("T1", "T2"):
                    ws.shot(f"d2_inclusion_{lid}_proposed")
                if abs(got - truth_mm(lesions[lid], tp)) > spacing:
                    # off by more than a pixel: drag the far end of the axis RECIST sums
                    a, b = diameter_line(lesions[lid], tp)
                    i = 2 if lesions[lid]["is_lymph_node"] else 0
                    ws.drag(
                        cur,
                        c.points[i],
                        a
                        if np.linalg.norm(c.points[i] - a) < np.linalg.norm(c.points[i] - b)
                        else b,
                    )
                ws.key(Qt.Key.Key_Return)  # accept
            per_lesion[tp][lid] = ws.actions(f"{tp} {lid}")
            assert per_lesion[tp][lid] <= 2, (tp, lid, ws.log)
        assert flow._next_open(flow.index) is None  # every lesion of the timepoint assessed
        ws.shot(f"d4_{tp}_assessed")
        ws.phase = f"{tp} sign"
        sign(ws, tp)
    ws.counting = False

    # the values: within one pixel spacing of the phantom's truth, the responses right
    read = ws.read
    by_label = {les.label: les for les in read.lesions}
    measured: dict[str, dict[str, float]] = {}
    for tp in FOLLOW_UPS:
        t = read.timepoint_for_study(studies[tp])
        measured[tp] = {}
        for lid in LESIONS[:5]:
            a = read.assessment(by_label[lid].uid, t.uid)
            assert a.status is None and a.recist_diameter_mm is not None
            measured[tp][lid] = round(float(a.recist_diameter_mm), 2)
            assert abs(a.recist_diameter_mm - truth_mm(lesions[lid], tp)) <= spacing, (tp, lid)
        assert read.statuses[(by_label["NT1"].uid, t.uid)] is LesionStatus.PRESENT
    overall = check_responses(ws)
    assert not [les for les in read.lesions if les.role is LesionRole.NEW]
    assert all(les.role is not LesionRole.TARGET or les.label in LESIONS for les in read.lesions)
    # the read keeps what was proposed and what the reader made of it
    records = records_in(read.settings)
    assert len(records) == 24
    outcomes = sorted({r["outcome"] for r in records.values()})
    assert outcomes == ["accepted"] or "edited" in outcomes
    ws.shot("d5_read_signed")

    lesion_actions = sum(v for tp in FOLLOW_UPS for v in per_lesion[tp].values())
    total = ws.actions()
    counts = {
        "total": total,
        "per_lesion": per_lesion,
        "lesion_actions": lesion_actions,
        "open_timepoint": {tp: ws.actions(f"{tp} open") for tp in FOLLOW_UPS},
        "sign": {tp: ws.actions(f"{tp} sign") for tp in FOLLOW_UPS},
        "proposed_mm": proposed,
        "measured_mm": measured,
        "pixel_spacing_mm": spacing,
        "responses": overall,
        "outcomes": {f"{r['timepoint']} {r['lesion']}": r["outcome"] for r in records.values()},
    }
    write_counts("with_proposals", counts)
    assert total <= 60, (total, ws.log)
    assert max(v for tp in FOLLOW_UPS for v in per_lesion[tp].values()) <= 2


def test_todays_follow_up_actions(
    setup: tuple[CountingWorkstation, dict[str, Any], dict[str, str]],
) -> None:
    """Journey A's follow-up steps, counted: the flow without proposals (for the report)."""
    ws, lesions, studies = setup
    ws.counting = True
    for tp in FOLLOW_UPS:
        ws.phase = f"{tp} open"
        ws.shortcut("Alt+1")
        ws.wait_loads()
        cur = ws.viewport_of(studies[tp])
        ws.shortcut("D")
        for lid in ("T1", "T2", "T3", "T4", "T5"):
            ws.phase = f"{tp} {lid}"
            a, b = diameter_line(lesions[lid], tp)
            if lid == "T1":
                ws.scroll_to(cur, (a + b) / 2)
                ws.drag(cur, a, b)
                ws.choose()
            else:
                ws.click_cell(ws.reads.panel.table, row_of(ws, lid), 0)
                ws.scroll_to(cur, (a + b) / 2)
                ws.drag(cur, a, b)
                assert ws.chooser is None
        ws.phase = f"{tp} NT1"
        ws.shortcut("Shift+P")
        nt = lesions["NT1"]["ct"][tp]["centre_mm"]
        ws.click_cell(ws.reads.panel.table, row_of(ws, "NT1"), 0)
        ws.scroll_to(cur, nt)
        ws.click_at(cur, nt)
        ws.phase = f"{tp} sign"
        sign(ws, tp)
    ws.counting = False
    check_responses(ws)
    per_lesion = {tp: {lid: ws.actions(f"{tp} {lid}") for lid in LESIONS} for tp in FOLLOW_UPS}
    scrolling = sum(1 for _p, what in ws.log if what == "arrow key")
    write_counts(
        "today",
        {
            "total": ws.actions(),
            "arrow_keys_scrolling": scrolling,
            "total_without_arrow_keys": ws.actions() - scrolling,
            "per_lesion_without_arrow_keys": {
                tp: {
                    lid: sum(1 for p, what in ws.log if p == f"{tp} {lid}" and what != "arrow key")
                    for lid in LESIONS
                }
                for tp in FOLLOW_UPS
            },
            "per_lesion": per_lesion,
            "lesion_actions": sum(v for tp in FOLLOW_UPS for v in per_lesion[tp].values()),
            "open_timepoint": {tp: ws.actions(f"{tp} open") for tp in FOLLOW_UPS},
            "sign": {tp: ws.actions(f"{tp} sign") for tp in FOLLOW_UPS},
        },
    )
    assert ws.actions() > 60
    assert Site.BONE in {les.site for les in ws.read.lesions}
