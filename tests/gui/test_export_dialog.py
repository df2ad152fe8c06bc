"""Review > Export read (gui/export_dialog.py): the extension typed decides the format.

Driven like a reader would: the dialog opened from the Review controller, the file name typed
into Qt's own file dialog with key events, Enter pressed; the file written is checked by its
content (``%PDF``, JSON, CSV).  The proposed name says subject, reader and date.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from namecar_viewer.app.auth import AuthService
from namecar_viewer.app.blinding import BlindingPolicy, blinded_subject_label
from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.core.reads.model import Read
from namecar_viewer.gui.export_dialog import (
    FORMATS,
    ExportDialog,
    ExportNameError,
    default_export_name,
    export_target,
)
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role
from namecar_viewer.phantom.demo_read import build_demo_read
from read_copies import copy_read

PASSWORD = "correct horse 42"
CSV, JSON, SR, PDF = FORMATS


@pytest.fixture
def review(qtbot: QtBot, small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """reader1 logged in, their read of the demo patient on screen; exports go to tmp_path."""
    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, PASSWORD)
    auth.create_user(admin, "reader1", {Role.READER}, PASSWORD)
    read = copy_read(build_demo_read(small_demo), "r1", "reader1")
    ReadSession(read, db, user="reader1")  # stored
    w = MainWindow()
    qtbot.addWidget(w)
    w.set_review(ReviewContext.for_user(db, auth, auth.login("reader1", PASSWORD)))
    w.show()
    w.reads.open_read(read.uid)
    out = tmp_path / "out"
    out.mkdir()
    yield w, db, out
    db.close()


def _open(qtbot: QtBot, w: MainWindow, folder: Path) -> ExportDialog:
    """Review > Export read, as from the menu; the dialog opens without blocking."""
    w.review.actions["export"].trigger()
    dlgs = [d for d in w.findChildren(ExportDialog) if d.isVisible()]
    assert len(dlgs) == 1
    dlg = dlgs[0]
    dlg.setDirectory(str(folder))
    assert QTest.qWaitForWindowExposed(dlg)
    return dlg


def _type_name(dlg: ExportDialog, name: str) -> None:
    edit = dlg.name_edit
    edit.setFocus()
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(edit, name)
    assert edit.text() == name
    QTest.keyClick(edit, Qt.Key.Key_Return)


def test_default_name_says_subject_reader_and_date(review: Any, qtbot: QtBot) -> None:
    w, _db, out = review
    today = dt.date.today().isoformat()
    dlg = _open(qtbot, w, out)
    assert dlg.name_edit.text() == f"NAMECAR-001_reader1_{today}.csv"
    assert dlg.selectedNameFilter() == CSV.name_filter()
    dlg.reject()
    # blinded: the subject's pseudonym, made safe for file systems
    w.review.set_blinded(True, remember=False)
    code = blinded_subject_label("NAMECAR-001").split()[1]
    dlg = _open(qtbot, w, out)
    assert dlg.name_edit.text() == f"Subject-{code}_reader1_{today}.csv"
    assert "NAMECAR-001" not in dlg.name_edit.text()
    dlg.reject()


def test_typed_pdf_with_the_csv_filter_writes_a_pdf(review: Any, qtbot: QtBot) -> None:
    w, db, out = review
    dlg = _open(qtbot, w, out)
    assert dlg.selectedNameFilter() == CSV.name_filter()  # the default filter is kept
    _type_name(dlg, "report.pdf")
    target = out / "report.pdf"
    qtbot.waitUntil(target.exists, timeout=20000)
    assert target.read_bytes().startswith(b"%PDF")
    assert not (out / "report.pdf.csv").exists()
    exports = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.EXPORT))
    assert json.loads(exports[-1].new_value or "{}")["format"] == "pdf"


def test_typed_json_writes_json(review: Any, qtbot: QtBot) -> None:
    w, _db, out = review
    dlg = _open(qtbot, w, out)
    _type_name(dlg, "x.json")
    target = out / "x.json"
    qtbot.waitUntil(target.exists)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert isinstance(data, dict)


def test_name_without_extension_gets_the_chosen_filters(review: Any, qtbot: QtBot) -> None:
    w, _db, out = review
    dlg = _open(qtbot, w, out)
    types = dlg.findChild(QComboBox, "fileTypeCombo")
    assert types is not None
    types.setFocus()
    for _ in range(3):  # CSV -> JSON -> SR -> PDF
        QTest.keyClick(types, Qt.Key.Key_Down)
    assert dlg.selectedNameFilter() == PDF.name_filter()
    _type_name(dlg, "noext")
    target = out / "noext.pdf"
    qtbot.waitUntil(target.exists, timeout=20000)
    assert target.read_bytes().startswith(b"%PDF")
    assert not (out / "noext").exists()


def test_unknown_extension_is_refused_and_nothing_written(
    review: Any, qtbot: QtBot, shots_dir: str
) -> None:
    w, _db, out = review
    dlg = _open(qtbot, w, out)
    _type_name(dlg, "notes.txt")
    assert dlg.isVisible()  # still open: the reader can correct the name
    assert dlg.message.isVisible()
    dlg.grab().save(f"{shots_dir}/export_dialog_refused.png")
    assert "Cannot export to notes.txt" in dlg.message.text()
    assert ".csv, .json, .dcm, .pdf" in dlg.message.text()
    assert list(out.iterdir()) == []
    # corrected, it exports and the message goes
    _type_name(dlg, "notes.csv")
    qtbot.waitUntil((out / "notes.csv").exists)
    assert (out / "notes.csv").read_text(encoding="utf-8").startswith("row_type")


# --- the rules, without the dialog -------------------------------------------------------------


def test_export_target_rules() -> None:
    assert export_target("/d/report.pdf", CSV) == (Path("/d/report.pdf"), PDF)
    assert export_target("/d/REPORT.PDF", CSV) == (Path("/d/REPORT.PDF"), PDF)
    assert export_target("/d/sr.dcm", CSV) == (Path("/d/sr.dcm"), SR)
    assert export_target("/d/noext", JSON) == (Path("/d/noext.json"), JSON)
    assert export_target("/d/noext.", PDF) == (Path("/d/noext.pdf"), PDF)
    with pytest.raises(ExportNameError, match=r"extension \.txt is not an export format"):
        export_target("/d/a.txt", CSV)
    with pytest.raises(ExportNameError, match="Type a file name"):
        export_target("  ", CSV)


def test_default_name_hides_another_readers_name_when_blinded() -> None:
    read = Read.new(patient_id="NAMECAR-001", reader="Dr. Other/Site")
    day = dt.date(2025, 10, 9)
    blind, open_ = BlindingPolicy(), BlindingPolicy.open()
    assert (
        default_export_name(read, open_, "reader1", today=day)
        == "NAMECAR-001_Dr-Other-Site_2025-10-09.csv"
    )
    name = default_export_name(read, blind, "reader1", today=day, extension=".pdf")
    assert name.endswith("_blinded_2025-10-09.pdf") and "Other" not in name
    assert "Dr-Other-Site" in default_export_name(read, blind, "adj1", adjudicating=True, today=day)
    nobody = Read.new(reader="")
    assert default_export_name(nobody, open_, "x", today=day) == "no-subject_reader_2025-10-09.csv"
