"""Study browser on the index, import dialog, background loading with a first image, drops."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from pytestqt.qtbot import QtBot

from namecar_viewer.app.importer import import_paths
from namecar_viewer.gui.main_window import MainWindow
from namecar_viewer.gui.study_browser import STACK_MIME, ImportDialog, StudyBrowser
from namecar_viewer.persistence.study_index import StudyIndex


def _tree_texts(b: StudyBrowser) -> list[list[str]]:
    out = []
    for i in range(b.tree.topLevelItemCount()):
        p = b.tree.topLevelItem(i)
        out.append([p.text(0)] + [p.child(j).text(0) for j in range(p.childCount())])
    return out


def test_browser_shows_demo_studies(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict, shots_dir: str
) -> None:
    b = StudyBrowser(demo_index)
    qtbot.addWidget(b)
    b.resize(480, 900)
    b.refresh()
    b.show()
    texts = _tree_texts(b)
    assert len(texts) == 1 and texts[0][0] == "NAMECAR DEMO [NAMECAR-001]"
    dates = [t.split()[0] for t in texts[0][1:]]
    ct_dates = [tp["date"] for tp in ground_truth["ct_timepoints"]]
    expected = sorted([*ct_dates, ground_truth["mri"]["date"], ground_truth["pet"]["date"]])
    assert dates == expected
    patient = b.tree.topLevelItem(0)
    mods = [patient.child(j).text(1) for j in range(patient.childCount())]
    assert mods == ["CT", "CT", "MR", "PT", "CT", "CT", "CT"]
    t2 = patient.child(2).child(0)
    assert t2.text(0) == "3 T2 TSE AX" and t2.text(2) == "30"
    assert not t2.icon(0).isNull()  # thumbnail
    b.grab().save(f"{shots_dir}/browser_demo.png")
    # search: modality, date range, patient
    b.modality_combo.setCurrentIndex(b.modality_combo.findData("PT"))
    assert [st.study_date for st in b.studies] == ["20250724"]
    b.modality_combo.setCurrentIndex(0)
    b.date_edit.setText("2026")
    assert [st.study_date for st in b.studies] == ["20260108", "20260409"]
    b.date_edit.setText("")
    b.patient_edit.setText("somebody else")
    assert b.tree.topLevelItemCount() == 0
    b.patient_edit.setText("")
    # blinded: no name, no calendar date; days from the first study instead
    b.set_blinded(True)
    texts = _tree_texts(b)
    # the subject's pseudonym (as in the worklist), never the name or the patient ID
    from namecar_viewer.app.blinding import blinded_subject_label

    pid = b.studies[0].patient_id
    assert texts[0][0] == f"{blinded_subject_label(pid)} (blinded)" and pid not in texts[0][0]
    # 2025-01-15 -> 2025-07-10: 16 + 28 + 31 + 30 + 31 + 30 + 10 = 176 days
    assert texts[0][1].startswith("Day 0 ") and texts[0][2].startswith("Day 176 ")
    assert not any("2025" in t or "NAMECAR DEMO" in t for t in texts[0])
    b.grab().save(f"{shots_dir}/browser_demo_blinded.png")


def test_import_dialog_reports_corrupt_file(
    qtbot: QtBot, small_demo: Path, ground_truth: dict, tmp_path: Path, shots_dir: str
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(small_demo / ground_truth["series"][5]["folder"], folder)  # T2, 30 files
    bad = folder / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + os.urandom(200))
    idx = StudyIndex(tmp_path / "i.sqlite")
    dlg = ImportDialog(idx)
    qtbot.addWidget(dlg)
    dlg.show()
    with qtbot.waitSignal(dlg.imported, timeout=30000) as sig:
        assert dlg.start([str(folder)])
    summary = sig.args[0]
    assert not summary.cancelled
    assert [Path(s.path).name for s in summary.skipped] == ["broken.dcm"]
    assert summary.instances_added == 30
    assert "broken.dcm" in dlg.summary_text.toPlainText()
    assert dlg.progress_bar.value() == 100
    dlg.grab().save(f"{shots_dir}/import_dialog.png")
    # cancelled straight away: nothing half-written
    idx2 = StudyIndex(tmp_path / "j.sqlite")
    dlg2 = ImportDialog(idx2)
    qtbot.addWidget(dlg2)
    with qtbot.waitSignal(dlg2.imported, timeout=30000) as sig2:
        dlg2.start([str(small_demo)])
        dlg2.cancel()
    assert sig2.args[0].cancelled
    assert idx2.counts()["instances"] == 0


def test_first_image_before_volume(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict, shots_dir: str
) -> None:
    w = MainWindow(index=demo_index)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.browser.refresh()
    base_uid = ground_truth["series"][0]["series_instance_uid"]
    row = next(r for r in demo_index.stack_rows() if r.series_instance_uid == base_uid)
    vp = w.viewports[0]
    loader = w.reading.loader_of(vp)
    events: list[tuple[str, int, bool]] = []
    loader.first_image.connect(lambda v: events.append(("first", v.shape[0], loader.busy)))
    loader.finished.connect(lambda v: events.append(("volume", v.shape[0], loader.busy)))
    with qtbot.waitSignal(loader.finished, timeout=30000):
        w.load_stack_id(row.id, vp)
    # the middle image alone was on screen first, while the load was still running
    assert events[0] == ("first", 1, True)
    assert events[-1] == ("volume", 84, False)
    # the volume opens on the slice of the preview: the middle instance (84 // 2 = 42)
    assert vp.model.index == 42
    assert vp.busy_text is None


def test_unloadable_stack_shows_reason(
    qtbot: QtBot, small_demo: Path, ground_truth: dict, tmp_path: Path, shots_dir: str
) -> None:
    folder = tmp_path / "t2"
    shutil.copytree(small_demo / ground_truth["series"][5]["folder"], folder)
    idx = StudyIndex(":memory:")
    import_paths(idx, [folder], thumbnails=False)
    shutil.rmtree(folder)  # the referenced files are gone (unplugged disk)
    w = MainWindow(index=idx)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    vp = w.viewports[0]
    loader = w.reading.loader_of(vp)
    with qtbot.waitSignal(loader.failed, timeout=30000) as sig:
        w.load_stack_id(idx.stack_rows()[0].id, vp)
    assert "t2" in sig.args[0]  # the reason names the missing file
    assert vp.model.error == sig.args[0]
    w.grab().save(f"{shots_dir}/viewport_load_error.png")


def test_drag_from_browser_drop_on_viewport(
    qtbot: QtBot, demo_index: StudyIndex, ground_truth: dict
) -> None:
    w = MainWindow(index=demo_index)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.browser.refresh()
    pet_uid = next(s for s in ground_truth["series"] if s["modality"] == "PT")[
        "series_instance_uid"
    ]
    row = next(r for r in demo_index.stack_rows() if r.series_instance_uid == pet_uid)
    item = w.browser.item_of_stack(row.id)
    assert item is not None
    mime = w.browser.tree.mimeData([item])
    assert bytes(mime.data(STACK_MIME).data()).decode() == str(row.id)
    vp = w.viewports[1]
    data = QMimeData()
    data.setData(STACK_MIME, mime.data(STACK_MIME))
    ev = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    loader = w.reading.loader_of(vp)
    # Qt delivers drops only inside a real drag session (none offscreen): hand the drop event
    # to the viewport's event filter as Qt's dispatcher would
    with warnings.catch_warnings():  # PySide marks the only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            QPoint(50, 50),
            Qt.DropAction.CopyAction,
            data,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    assert w.reading.eventFilter(vp, enter) and enter.isAccepted()
    with qtbot.waitSignal(loader.finished, timeout=30000):
        assert w.reading.eventFilter(vp, ev)
    assert vp.model.volume is not None
    assert vp.model.volume.series_instance_uid == pet_uid
    assert w.active is vp


def test_volumes_of_one_series_are_one_series_row(
    qtbot: QtBot, tmp_path: Path, shots_dir: str
) -> None:
    """The 8 phases of a real Philips multi-phase ASL series (dcm2niix's dcm_qa_philips_asl,
    BSD-2) are one series row (8 x 2 images) holding 8 rows named by their phase, each with
    its whole name in its tooltip; double-clicking the series row opens its first volume, and
    dragging it carries that volume."""
    data = Path(__file__).parents[1] / "data" / "dicom" / "dcm_qa_philips_asl"
    idx = StudyIndex(":memory:")
    import_paths(idx, [data / "Philips_ASL_MultiPhase_301"], thumbnails=False)
    w = _window(qtbot, idx)
    b = w.browser
    study = b.tree.topLevelItem(0).child(0)
    assert study.childCount() == 1
    series = study.child(0)
    assert (series.text(0), series.text(1), series.text(2)) == (
        "301 ASL_MultiPhase",
        "MR",
        "8 x 2",
    )
    assert series.isExpanded()
    phases = [series.child(j) for j in range(series.childCount())]
    assert [r.text(0) for r in phases] == [f"Philips phase {k}" for k in range(1, 9)]
    assert [r.toolTip(0).splitlines()[0] for r in phases] == [
        f"301 ASL_MultiPhase Philips phase {k}" for k in range(1, 9)
    ]
    assert "8 volumes (Philips phase 1, Philips phase 2" in series.toolTip(0)
    assert b.status.text() == "1 patient, 1 study, 1 series"
    first = next(r for r in idx.stack_rows() if r.label == "Philips phase 1")
    assert bytes(b.tree.mimeData([series]).data(STACK_MIME).data()).decode() == str(first.id)
    loader = w.reading.loader_of(w.active)
    at = b.tree.visualItemRect(series).center()
    with qtbot.waitSignal(loader.finished, timeout=30000):
        qtbot.mouseClick(b.tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
        qtbot.mouseDClick(b.tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert w.active.model.title == "ASL_MultiPhase Philips phase 1"
    assert series.isExpanded()  # a double-click opens, it does not fold
    b.grab().save(f"{shots_dir}/browser_asl_phases.png")


def _window(qtbot: QtBot, idx: StudyIndex) -> MainWindow:
    """The main window on ``idx``, shown, its browser filled."""
    w = MainWindow(index=idx)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.browser.refresh()
    return w


def _open_from_browser(qtbot: QtBot, w: MainWindow, stack_id: int) -> list[tuple[str, int]]:
    """Double-click a stack's row as a reader does; the loader's first images and volumes."""
    events: list[tuple[str, int]] = []
    loader = w.reading.loader_of(w.active)
    loader.first_image.connect(lambda v: events.append(("first", v.shape[0])))
    item = w.browser.item_of_stack(stack_id)
    assert item is not None
    tree = w.browser.tree
    at = tree.visualItemRect(item).center()
    with qtbot.waitSignal(loader.finished, timeout=30000):
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=at)
    loader.first_image.disconnect()
    return events


def test_another_volume_of_the_patient_space_opens_where_the_reader_is(
    qtbot: QtBot, small_demo: Path, tmp_path: Path, shots_dir: str
) -> None:
    """Switching a viewport to another volume of the frame of reference shown (the field map
    after its magnitude, b800 after b0, another series of the exam) keeps the slice the reader
    was on, with no preview of another slice in between; a volume that does not reach that
    point, or of another frame of reference, opens at its middle."""
    import pydicom
    from pydicom.uid import generate_uid

    fmap = Path(__file__).parents[1] / "data" / "dicom" / "dcm_qa_enh" / "Philips_B0_fMAP"
    mr = small_demo / "MR_2025-07-22_T2_TSE_AX"
    # a short series of the same MR exam (frame of reference), z -130 to -110 mm: copies of
    # T2's lowest 5 slices under new UIDs (the demo's own files are not touched)
    short = tmp_path / "short"
    short.mkdir()
    series_uid = generate_uid()
    lowest = sorted(mr.iterdir(), key=lambda f: float(pydicom.dcmread(f).ImagePositionPatient[2]))
    for k, f in enumerate(lowest[:5]):
        ds = pydicom.dcmread(f)
        assert float(ds.ImagePositionPatient[2]) == -130.0 + 5.0 * k
        ds.SeriesInstanceUID, ds.SeriesDescription, ds.SeriesNumber = series_uid, "SHORT", 99
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(short / f.name)
    idx = StudyIndex(":memory:")
    import_paths(idx, [fmap, mr, short, small_demo / "CT_2025-01-15_baseline"], thumbnails=False)
    rows = {r.series_description + " " + r.label: r.id for r in idx.stack_rows()}
    w = _window(qtbot, idx)
    vp = w.active
    m = vp.model

    # the real Philips field map: magnitude, 7 slices up, then the field map itself
    assert _open_from_browser(qtbot, w, rows["B0 NS echo 1.52, M"]) == [
        ("first", 1),  # the preview of the middle image, the viewport being empty
    ]
    assert m.index == 16
    vp.setFocus()
    for _ in range(7):
        qtbot.keyClick(vp, Qt.Key.Key_Down)
    assert m.index == 23
    at = m.position_mm()
    assert _open_from_browser(qtbot, w, rows["B0 NS echo 0, FIELD_MAP"]) == [("first", 32)]
    assert "FIELD_MAP" in m.title and m.index == 23 and m.position_mm() == at
    assert m.window.width < 1000  # the field map's own window (Hz), not the magnitude's
    w.grab().save(f"{shots_dir}/switch_volume_same_frame.png")

    # T2 at z -120 mm, then the short series of its exam: the same z
    _open_from_browser(qtbot, w, rows["T2 TSE AX "])
    vp.setFocus()
    qtbot.keyClick(vp, Qt.Key.Key_Home)
    for _ in range(2):
        qtbot.keyClick(vp, Qt.Key.Key_Down)
    assert m.position_mm() == -120.0
    _open_from_browser(qtbot, w, rows["SHORT "])
    assert m.count == 5 and m.position_mm() == -120.0
    # T2 at its top (z 15 mm), which the short series does not reach: its middle
    _open_from_browser(qtbot, w, rows["T2 TSE AX "])
    vp.setFocus()
    qtbot.keyClick(vp, Qt.Key.Key_End)
    assert m.position_mm() == 15.0
    _open_from_browser(qtbot, w, rows["SHORT "])
    assert m.index == 2 and m.position_mm() == -120.0
    # another frame of reference (the CT): its middle, after a preview
    assert _open_from_browser(qtbot, w, rows["CAP portal venous 2.5mm "]) == [("first", 1)]
    assert m.index == m.count // 2


def test_ctrl_arrows_step_through_the_volumes_of_a_series(
    qtbot: QtBot, small_demo: Path, shots_dir: str
) -> None:
    """Ctrl+Right / Ctrl+Left show the next / previous phase of the demo's dynamic T1 (6
    phases of 30 slices) at the slice the reader is on; past the last one the status bar says
    so and nothing loads."""
    idx = StudyIndex(":memory:")
    import_paths(idx, [small_demo / "MR_2025-07-22_DYN_T1"], thumbnails=False)
    phases = [r.id for r in idx.stack_rows()]
    assert [r.label for r in idx.stack_rows()] == [f"phase {k}" for k in range(1, 7)]
    w = _window(qtbot, idx)
    vp = w.active
    m = vp.model
    loader = w.reading.loader_of(vp)
    _open_from_browser(qtbot, w, phases[4])  # phase 5
    vp.setFocus()
    for _ in range(5):
        qtbot.keyClick(vp, Qt.Key.Key_Up)
    index, at = m.index, m.position_mm()
    assert index == 10
    ctrl = Qt.KeyboardModifier.ControlModifier
    with qtbot.waitSignal(loader.finished, timeout=30000):
        qtbot.keyClick(vp, Qt.Key.Key_Right, ctrl)
    assert m.title.endswith("phase 6") and (m.index, m.position_mm()) == (index, at)
    # no phase 7: nothing loads, the reader is told
    qtbot.keyClick(vp, Qt.Key.Key_Right, ctrl)
    assert not loader.busy and m.title.endswith("phase 6")
    assert w.statusBar().currentMessage() == "This series has no next volume"
    for k in (5, 4):
        with qtbot.waitSignal(loader.finished, timeout=30000):
            qtbot.keyClick(vp, Qt.Key.Key_Left, ctrl)
        assert m.title.endswith(f"phase {k}") and (m.index, m.position_mm()) == (index, at)
        assert w.browser.tree.currentItem() is w.browser.item_of_stack(phases[k - 1])
    # the plain arrows still move through the slices
    qtbot.keyClick(vp, Qt.Key.Key_Right)
    assert m.index == index + 1
    w.grab().save(f"{shots_dir}/step_volumes.png")


def test_a_series_of_many_volumes_starts_folded(
    qtbot: QtBot, small_demo: Path, tmp_path: Path
) -> None:
    """A dynamic series of 14 phases (2 slices of the demo's T2 written 14 times, each with its
    TemporalPositionIdentifier) is one folded row that unfolds to its 14 phases."""
    import pydicom
    from pydicom.uid import generate_uid

    folder = tmp_path / "dyn"
    folder.mkdir()
    series_uid = generate_uid()
    sources = sorted((small_demo / "MR_2025-07-22_T2_TSE_AX").iterdir())[:2]
    for t in range(1, 15):
        for k, f in enumerate(sources):
            ds = pydicom.dcmread(f)
            ds.SeriesInstanceUID, ds.SeriesDescription, ds.SeriesNumber = series_uid, "DYN", 9
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.TemporalPositionIdentifier, ds.NumberOfTemporalPositions = t, 14
            ds.InstanceNumber = (t - 1) * 2 + k + 1
            ds.save_as(folder / f"t{t:02d}_{k}.dcm")
    idx = StudyIndex(":memory:")
    import_paths(idx, [folder], thumbnails=False)
    b = StudyBrowser(idx)
    qtbot.addWidget(b)
    b.show()
    b.refresh()
    study = b.tree.topLevelItem(0).child(0)
    assert study.childCount() == 1
    series = study.child(0)
    assert (series.text(0), series.text(2)) == ("9 DYN", "14 x 2")
    assert series.childCount() == 14 and not series.isExpanded()
    qtbot.mouseClick(
        b.tree.viewport(), Qt.MouseButton.LeftButton, pos=b.tree.visualItemRect(series).center()
    )
    qtbot.keyClick(b.tree, Qt.Key.Key_Right)  # unfolds, as the arrow does
    assert series.isExpanded()


def test_a_narrow_panel_shows_every_column(
    qtbot: QtBot, demo_index: StudyIndex, shots_dir: str
) -> None:
    """At the width the window gives its browser (about 340 px), the modality and image count
    of every series are drawn whole, with no sideways scrolling; the names take what is left."""
    b = StudyBrowser(demo_index)
    qtbot.addWidget(b)
    b.resize(340, 700)
    b.show()
    b.refresh()
    tree = b.tree
    header = tree.header()
    room = tree.viewport().width()
    assert header.sectionPosition(2) + header.sectionSize(2) <= room
    assert not tree.horizontalScrollBar().isVisible()
    dwi = next(r for r in demo_index.stack_rows() if r.label == "b=800")
    series = b.item_of_stack(dwi.id).parent()
    assert series.text(2) == "2 x 30"
    fm = tree.fontMetrics()
    for col in (1, 2):
        assert header.sectionSize(col) >= fm.horizontalAdvance(series.text(col))
    b.grab().save(f"{shots_dir}/browser_narrow.png")


def test_ctrl_shift_c_plays_the_volumes_of_a_series_in_a_loop(
    qtbot: QtBot, small_demo: Path
) -> None:
    """Ctrl+Shift+C plays the demo's 6 T1 phases one after the other at the reader's slice,
    from the last back to the first, until pressed again; a series of one volume says so."""
    idx = StudyIndex(":memory:")
    import_paths(
        idx,
        [small_demo / "MR_2025-07-22_DYN_T1", small_demo / "MR_2025-07-22_T2_TSE_AX"],
        thumbnails=False,
    )
    rows = idx.stack_rows()
    phases = [r.id for r in rows if r.label.startswith("phase")]
    t2 = next(r.id for r in rows if r.series_description == "T2 TSE AX")
    w = _window(qtbot, idx)
    vp = w.active
    m = vp.model
    _open_from_browser(qtbot, w, phases[3])  # phase 4
    vp.setFocus()
    qtbot.keyClick(vp, Qt.Key.Key_PageUp)
    index = m.index
    seen: list[tuple[str, int]] = []
    w.reading.loader_of(vp).finished.connect(lambda v: seen.append((v.metadata["label"], m.index)))
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(vp, Qt.Key.Key_C, shift_ctrl)
    assert w.reading.volumes.playing
    qtbot.waitUntil(lambda: len(seen) >= 4, timeout=20000)
    qtbot.keyClick(vp, Qt.Key.Key_C, shift_ctrl)
    assert not w.reading.volumes.playing
    assert seen[:4] == [
        ("phase 5", index),
        ("phase 6", index),
        ("phase 1", index),
        ("phase 2", index),
    ]
    # playing stops when the reader opens another series in that viewport
    qtbot.keyClick(vp, Qt.Key.Key_C, shift_ctrl)
    assert w.reading.volumes.playing
    _open_from_browser(qtbot, w, t2)
    qtbot.waitUntil(lambda: not w.reading.volumes.playing, timeout=5000)
    assert m.title == "T2 TSE AX"
    # one volume: nothing to play
    qtbot.keyClick(vp, Qt.Key.Key_C, shift_ctrl)
    assert not w.reading.volumes.playing
    assert w.statusBar().currentMessage() == "This series has one volume: nothing to play"
