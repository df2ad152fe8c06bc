"""Issue 4, bad input: "A measurement referencing a series that is no longer in the store stays in
the read, flagged, with its numbers".  The demo read opened in the main window after the fu03m CT
study was forgotten by the study index: the fu03m cells keep their numbers and are flagged, the
Checks column says why, and the read still has all its measurements."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.panels.lesion_table import _ERROR_BG, FIXED_COLUMNS
from namecar_viewer.phantom.demo_read import build_demo_read, save_demo_read


def test_measurements_of_a_removed_series_stay_flagged_with_their_numbers(
    qtbot: QtBot,
    small_demo: Path,
    ground_truth: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shots_dir: str,
) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    monkeypatch.setenv("NAMECAR_READS_DB", str(tmp_path / "reads.sqlite"))
    monkeypatch.setenv("NAMECAR_READER", "dr-test")
    demo = build_demo_read(small_demo)
    assert save_demo_read(demo, tmp_path / "reads.sqlite")

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    w.open_paths([str(small_demo)])
    fu03 = next(s for s in ground_truth["series"] if s.get("timepoint") == "fu03m")
    gone = fu03["series_instance_uid"]
    assert gone in w.index.series_instance_uids()
    study = next(
        st.study_instance_uid
        for st in w.index.search()
        if any(x.series_instance_uid == gone for x in st.stacks)
    )
    w.index.remove_study(study)  # the store forgets the fu03m CT
    w.browser.refresh()
    assert gone not in w.index.series_instance_uids()
    w.actions_by_name["protocol_recist"].trigger()  # baseline beside the latest follow-up
    w.reading.wait_loads()
    qtbot.wait(50)

    # dr-test's own read opens (empty); the demo's finished read is another reader's: view only
    assert w.reads.session.read.reader == "dr-test" and not w.reads.session.read.lesions
    w.reads.view_read(demo.uid)
    assert w.reads.session.read_only
    panel = w.reads.panel
    panel.rebuild()
    read = w.reads.session.read
    assert read.uid == demo.uid
    assert len(read.measurements) == len(demo.measurements) == 25  # nothing dropped
    t = panel.table
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    col = next(c for c, h in enumerate(headers) if h.startswith("fu03m"))
    ok = next(c for c, h in enumerate(headers) if h.startswith("fu06m"))
    checks = t.columnCount() - 1
    rows = {t.item(r, 0).text(): r for r in range(t.rowCount())}
    # T1 (primary kidney tumour) at fu03m: 60 x 48 mm in the ground truth, still shown
    t1 = next(x for x in ground_truth["lesions"] if x["id"] == "T1")["ct"]["fu03m"]
    cell = t.item(rows["T1"], col)
    assert cell.text().startswith(f"{t1['long_axis_mm']:.1f} x {t1['short_axis_mm']:.1f}")
    assert cell.background().color() == _ERROR_BG
    assert gone in cell.toolTip() and "kept" in cell.toolTip()
    assert t.item(rows["T1"], ok).background().color() != _ERROR_BG  # fu06m is in the store
    for label in ("T1", "T2", "T3", "T4", "T5"):
        assert "no longer in the store" in t.item(rows[label], checks).text(), label
        assert t.item(rows[label], col).text() not in ("", "-"), label
    # the non-target has no measurement: nothing to flag
    assert "no longer in the store" not in t.item(rows["NT1"], checks).text()
    assert len(FIXED_COLUMNS) == 3
    w.reads.dock.raise_()
    w.grab().save(f"{shots_dir}/missing_series_flag.png")
