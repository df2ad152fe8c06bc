"""Tools > Flag key image (K): real key presses flag and unflag the slice on screen; the flags
are a read setting (saved, audited, undone with Ctrl+Z) and the KOS export carries them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from namecar_viewer.core.reports.key_images import FLAGGED_SETTING, flagged_images
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.study_index import StudyIndex


def _window(qtbot: QtBot, index: StudyIndex) -> MainWindow:
    w = MainWindow(index=index)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    w.browser.refresh()
    w.actions_by_name["protocol_eligibility"].trigger()
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    return w


def _press(w: MainWindow, key: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier):
    """A real key press on the active viewport (window shortcuts need the window active)."""
    if not w.isActiveWindow():
        w.activateWindow()
        assert QTest.qWaitForWindowActive(w)
    vp = w.active
    vp.setFocus()
    QTest.keyClick(vp, key, mod)


def test_k_flags_and_unflags_the_slice_on_screen(
    qtbot: QtBot, demo_index: StudyIndex, reader_env: Callable[[str], Path]
) -> None:
    db_path = reader_env("dr-keys")
    w = _window(qtbot, demo_index)
    w.set_active(w.viewports[0])
    vol = w.active.model.volume
    assert vol is not None and vol.modality == "CT"
    action = w.key_images.action
    assert action.shortcut().toString() == "K"
    assert any(e.key == "K" for e in w.shortcut_rows)  # listed in Help > Keyboard shortcuts
    # no other action of the window answers to K
    keys = [a.shortcut().toString() for a in w.findChildren(type(action))]
    assert keys.count("K") == 1, keys

    w.active.model.set_index(20)
    _press(w, Qt.Key.Key_K)
    first = vol.sop_instance_uids[20]
    read = w.reads.session.read
    assert [f.image.sop_instance_uid for f in flagged_images(read)] == [first]
    assert read.timepoint_for_study(vol.study_instance_uid) is not None  # made a timepoint
    assert "Key image flagged" in w.statusBar().currentMessage()
    assert action.isChecked()

    _press(w, Qt.Key.Key_Down)  # next slice: not a key image
    assert not action.isChecked()
    _press(w, Qt.Key.Key_K)
    second = vol.sop_instance_uids[w.active.model.index]
    assert [f.image.sop_instance_uid for f in flagged_images(w.reads.session.read)] == [
        first,
        second,
    ]

    # K again on the first slice unflags it; Ctrl+Z brings the flag back
    w.active.model.set_index(20)
    assert action.isChecked()
    _press(w, Qt.Key.Key_K)
    assert [f.image.sop_instance_uid for f in flagged_images(w.reads.session.read)] == [second]
    assert "Key image unflagged" in w.statusBar().currentMessage()
    assert not action.isChecked()
    _press(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {f.image.sop_instance_uid for f in flagged_images(w.reads.session.read)} == {
        first,
        second,
    }
    assert action.isChecked()

    # saved and audited as an edit of the read
    uid = w.reads.session.read.uid
    stored = ReadsDatabase(db_path).load_read(uid)
    assert len(flagged_images(stored)) == 2
    entries = [e for e in AuditLog(w.reads.db.engine).entries() if e.entity_key == FLAGGED_SETTING]
    assert len(entries) >= 4, entries  # flag, flag, unflag, undo
    w.close()


def test_a_reformat_cannot_be_flagged(qtbot: QtBot, demo_index: StudyIndex, reader_env) -> None:
    reader_env("dr-keys-2")
    w = _window(qtbot, demo_index)
    w.set_active(w.viewports[0])
    from namecar_viewer.core.geometry.reslice import SliceOrientation

    w.active.model.set_orientation(SliceOrientation.CORONAL)
    _press(w, Qt.Key.Key_K)
    assert flagged_images(w.reads.session.read) == ()
    assert "reformat" in w.statusBar().currentMessage()
    w.close()


def test_review_export_of_the_sr_writes_the_kos_beside_it(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, monkeypatch
) -> None:
    """Review > Export read as .dcm: the SR and, beside it, NAME_kos.dcm with the key images
    (the flag made with K included), one audit entry naming both; blinded, no identifier."""
    import json

    import pydicom

    monkeypatch.setenv("NAMECAR_NO_DIALOGS", "1")
    from namecar_viewer.app.auth import AuthService
    from namecar_viewer.app.read_session import ReadSession
    from namecar_viewer.gui.login import ReviewContext
    from namecar_viewer.persistence.audit import AuditAction, AuditFilter
    from namecar_viewer.persistence.users import Role
    from namecar_viewer.phantom.demo_read import build_demo_read
    from read_copies import copy_read

    password = "correct horse 42"
    db = ReadsDatabase(tmp_path / "reads.sqlite")
    auth = AuthService(db.engine)
    admin = auth.first_run("admin")
    auth.set_password(admin, password)
    auth.create_user(admin, "reader1", {Role.READER}, password)
    read1 = copy_read(build_demo_read(small_demo), "r1", "reader1")
    ReadSession(read1, db, user="reader1")  # saved
    ctx = ReviewContext.for_user(db, auth, auth.login("reader1", password))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.set_review(ctx)
    w.show()
    w.open_paths([str(small_demo)])  # every image in the study index (the exports need them)
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    w.open_paths([str(small_demo / "CT_2025-10-09_fu03m")])  # fu03m on screen
    qtbot.waitUntil(lambda: w.active.model.volume is not None, timeout=30000)
    qtbot.waitUntil(lambda: not w.reading.loading, timeout=30000)
    w.reads.open_read(read1.uid)
    w.set_active(w.viewports[0])
    w.active.model.set_index(40)
    _press(w, Qt.Key.Key_K)
    (flag,) = flagged_images(w.reads.session.read)
    assert "fu03m" in w.statusBar().currentMessage()

    out = tmp_path / "NAMECAR-001_reader1.dcm"
    assert w.review.export_read(out, "sr") == []
    kos_path = tmp_path / "NAMECAR-001_reader1_kos.dcm"
    assert pydicom.dcmread(out).Modality == "SR"
    kos = pydicom.dcmread(kos_path)
    refs = [
        it.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for it in kos.ContentSequence
        if it.ValueType == "IMAGE"
    ]
    assert len(refs) == 21 and refs[-1] == flag.image.sop_instance_uid
    assert "key images to" in w.statusBar().currentMessage()
    (entry,) = AuditLog(db.engine).entries(AuditFilter(action=AuditAction.EXPORT))
    value = json.loads(entry.new_value or "{}")
    assert value["format"] == "sr" and value["kos_path"] == str(kos_path)

    w.review.set_blinded(True)
    w.review.export_read(out, "sr")
    raw = kos_path.read_bytes()
    for identifier in (b"NAMECAR^DEMO", b"19630412", b"20251009"):
        assert identifier not in raw
    w.close()
    db.close()
