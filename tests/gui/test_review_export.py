"""Review > Export read of a double-read case (issue 8): refused with the case named while the two
reads disagree and nobody has adjudicated; then the adjudicated read is what is written, with
its signature status; blinded, the other reader's name is hidden (BlindingPolicy).

The two reads are those of tests/cli/test_export_adjudication.py: reader 2 measures T1 at fu03m
as 80 mm instead of 60 mm, so fu03m is PD (104 mm vs nadir 84 mm, +23.8 %, +20 mm) instead of PR.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from test_export_adjudication import PASSWORD, double_read_db

from namecar_viewer.app.adjudication import AdjudicationError, AdjudicationService
from namecar_viewer.app.signing import SigningService
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_export_read_carries_the_adjudicated_result(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, shots_dir: str
) -> None:
    env: dict[str, Any] = double_read_db(tmp_path / "reads.sqlite", small_demo)
    db, auth = env["db"], env["auth"]
    read1, read2 = env["read1"], env["read2"]
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.set_review(ctx)
    w.show()
    w.open_paths([str(small_demo)])  # the images (the SR references them)
    w.reads.open_read(read1.uid)

    out = tmp_path / "read.csv"
    with pytest.raises(AdjudicationError) as err:
        w.review.export_read(out, "csv")
    assert "Cannot export case NAMECAR-001 FU03M" in str(err.value)
    assert "awaits adjudication" in str(err.value)
    assert not out.exists()
    # through the menu's dialog the reader gets the message in the status bar
    monkey_path = tmp_path / "menu.csv"
    dlg = w.review.show_export_dialog()
    dlg.setDirectory(str(tmp_path))
    dlg.selectFile("menu.csv")
    dlg.accept()
    msg = w.statusBar().currentMessage()
    assert msg.startswith("Export failed: Cannot export case NAMECAR-001 FU03M")
    assert not monkey_path.exists()

    # reader 2 signs fu03m; the adjudicator chooses reader 2's read
    fu03 = next(t.uid for t in read2.timepoints if t.label == "fu03m")
    SigningService(auth).sign(env["s2"], fu03, auth.login("reader2", PASSWORD), PASSWORD)
    AdjudicationService(db.engine).decide(
        env["case"], auth.login("adj1", PASSWORD), read1, read2, read2.uid, "T1 is 80 mm"
    )
    w.review.export_read(out, "csv")
    rows = _rows(out)
    assert {r["read_uid"] for r in rows} == {read2.uid}
    resp = {r["timepoint"]: r for r in rows if r["row_type"] == "response"}
    assert resp["fu03m"]["overall_response"] == "PD" and resp["fu03m"]["sum_mm"] == "104.0"
    assert {r["reader"] for r in rows} == {"reader2"}  # not blinded: names shown
    assert {r["signed_by"] for r in rows if r["timepoint"] == "fu03m"} == {"reader2"}
    assert "(adjudicated)" in w.statusBar().currentMessage()
    exports = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.EXPORT))
    assert exports[-1].entity_key == read2.uid and exports[-1].username == "reader1"
    assert "FU03M" in (exports[-1].new_value or "")  # the case it came from

    # blinded: reader 1 must not learn reader 2's name (the result is the case's, adjudicated)
    w.review.set_blinded(True)
    assert w.review.policy.enabled
    w.review.export_read(out, "csv")
    rows = _rows(out)
    assert {r["reader"] for r in rows} == {"(blinded)"}
    assert {r["signed_by"] for r in rows if r["timepoint"] == "fu03m"} == {"(blinded)"}
    assert "reader2" not in out.read_text(encoding="utf-8")
    sr = tmp_path / "read.dcm"
    w.review.export_read(sr, "sr")
    import pydicom

    ds = pydicom.dcmread(sr)
    assert ds.VerificationFlag == "UNVERIFIED"  # only fu03m of five timepoints is signed
    assert "reader2" not in str(ds.ContentSequence)
    w.grab().save(f"{shots_dir}/review_export_adjudicated.png")
    db.close()
