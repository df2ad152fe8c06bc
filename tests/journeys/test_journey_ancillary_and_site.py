"""Journey B: an ancillary-study imager measures the kidney tumour on the renal MRI and its SUV
on the PSMA PET in the MRI-PET layout; every RECIST read of the patient is byte-identical before
and after.  Journey C: a site investigator fills the eligibility checklist; the answers carry
their name.  Keys and mouse only, on the real widgets.

Expected values from the phantom's ground truth: T1 (the kidney tumour) is 60 mm long on the
MRI (inclusion size) and every PET voxel inside it holds SUV 11.5.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from workstation import Workstation

from namecar_viewer.app.eligibility import answers
from namecar_viewer.app.pet import SUV_UNIT
from namecar_viewer.core.reads import LesionRole, ReadKind, read_to_json
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase


def recist_reads_hash(db_path: Path) -> tuple[int, str]:
    """How many RECIST reads the database holds, and a hash of all of them (JSON, sorted)."""
    db = ReadsDatabase(db_path)
    try:
        infos = db.list_reads()
        text = json.dumps(
            [read_to_json(db.load_read(i.uid)) for i in sorted(infos, key=lambda i: i.uid)],
            sort_keys=True,
        )
    finally:
        db.close()
    return len(infos), hashlib.sha256(text.encode()).hexdigest()


def test_ancillary_imager_journey_leaves_the_recist_reads_untouched(
    qtbot: QtBot, small_demo: Path, demo_db: Path, ground_truth: dict[str, Any], shots_dir: str
) -> None:
    before = recist_reads_hash(demo_db)
    assert before[0] == 1  # the Demo Reader's read
    ws = Workstation(qtbot, small_demo, demo_db, "imager", shots_dir)
    t1 = next(les for les in ground_truth["lesions"] if les["id"] == "T1")
    ws.shortcut("Alt+3")  # MRI-PET layout: MRI, PET in SUV, fusion, MIP
    ws.wait_loads()
    mri_vp, pet_vp = ws.w.visible_viewports()[:2]
    assert mri_vp.model.volume.modality == "MR" and pet_vp.model.volume.modality == "PT"

    # the kidney tumour's long axis on the MRI: a line (D), a new lesion of the MRI-PET record
    c = np.asarray(t1["mri"]["centre_mm"], dtype=np.float64)
    d = np.asarray(t1["long_axis_direction"], dtype=np.float64)
    half = t1["mri"]["long_axis_mm"] / 2.0
    ws.shortcut("D")
    ws.scroll_to(mri_vp, c)
    ws.drag(mri_vp, c - half * d, c + half * d)
    options = ws.chooser_options()
    assert options[ws.chooser.list.currentRow()] == "New lesion of the MRI-PET record"
    assert not any(o.startswith(("New target", "New non-target")) for o in options)
    assert "MRI-PET record" in ws.chooser.title.text()
    ws.shot("b1_mri_line_chooser")
    ws.choose(site="kidney", link="T1")
    anc = ws.reads.ancillary_session.read
    assert anc.kind is ReadKind.ANCILLARY_MRI_PET and anc.reader == "imager"
    (a1,) = anc.lesions
    assert (a1.label, a1.role, a1.description) == (
        "A1",
        LesionRole.ANCILLARY,
        "same lesion as T1 kidney",
    )
    (mri_line,) = anc.measurements
    assert abs(mri_line.measurement.length_mm - 60.0) <= max(mri_vp.model.plane.pixel_spacing)

    # its uptake: a sphere (Shift+V) on the PET, given to A1 in the chooser
    p = np.asarray(t1["pet"]["centre_mm"], dtype=np.float64)
    ws.shortcut("Shift+V")
    ws.scroll_to(pet_vp, p)
    ws.drag(pet_vp, p, p + np.array([10.0, 0.0, 0.0]))
    # A1 is the selected lesion and expected there (25 mm away in the PET's own coordinates,
    # no registration accepted: within half its 60 mm plus the unaligned margin): attached
    assert ws.chooser is None
    assert ws.reads.layer.last_announcement.startswith("A1 (ancillary, kidney)")
    sphere = ws.reads.ancillary_session.read.measurements[-1]
    assert sphere.lesion_uid == a1.uid
    stats = ws.reads.layer.stats(pet_vp, sphere.measurement)
    assert stats.unit == SUV_UNIT
    # stored as scaled integers in the PET files: SUV 11.5 to within 1e-3
    assert t1["pet"]["suv_max"] == 11.5
    assert stats.maximum == pytest.approx(11.5, abs=1e-3)
    assert f"max {stats.maximum:.1f} {SUV_UNIT}" in ws.reads.layer.label_text(
        pet_vp, sphere.measurement
    )
    ws.shot("b2_pet_sphere_suv")

    # nothing of this is in a RECIST read: not the imager's (none was ever stored), not the
    # Demo Reader's; the ancillary record is stored under the imager's name
    assert recist_reads_hash(demo_db) == before
    db = ReadsDatabase(demo_db)
    try:
        assert db.list_reads(reader="imager") == []
        (info,) = db.list_reads(kind=ReadKind.ANCILLARY_MRI_PET)
        assert info.reader == "imager" and info.uid == anc.uid
        stored = db.load_read(info.uid)
        assert len(stored.measurements) == 2 and stored.lesions == (a1,)
        entries = [e for e in AuditLog(db.engine).entries() if e.read_uid == anc.uid]
        assert entries and {e.username for e in entries} == {"imager"}
    finally:
        db.close()
    # the record exports on its own (JSON, CSV), never as a RECIST report
    from namecar_viewer.cli import main
    from namecar_viewer.core.reads import read_from_json

    out = demo_db.parent / "mri_pet.json"
    assert (
        main(
            [
                "export",
                "--read",
                anc.uid,
                "--format",
                "json",
                "--out",
                str(out),
                "--db",
                str(demo_db),
            ]
        )
        == 0
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert read_from_json(data["record"]) == stored
    assert [(r["lesion_label"], r["same_as_recist_lesion"], r["kind"]) for r in data["rows"]] == [
        ("A1", "T1 kidney", "line"),
        ("A1", "T1 kidney", "sphere"),
    ]
    assert data["rows"][0]["long_axis_mm"] == f"{mri_line.measurement.length_mm:.1f}"
    csv_out = demo_db.parent / "mri_pet.csv"
    assert (
        main(
            [
                "export",
                "--read",
                anc.uid,
                "--format",
                "csv",
                "--out",
                str(csv_out),
                "--db",
                str(demo_db),
            ]
        )
        == 0
    )
    assert csv_out.read_text(encoding="utf-8").splitlines()[0].startswith("subject_id,record_uid")
    assert (
        main(
            [
                "export",
                "--read",
                anc.uid,
                "--format",
                "pdf",
                "--out",
                str(demo_db.parent / "x.pdf"),
                "--db",
                str(demo_db),
            ]
        )
        == 2
    )
    assert not (demo_db.parent / "x.pdf").exists()


def test_site_investigator_answers_carry_their_name(
    qtbot: QtBot, small_demo: Path, demo_db: Path, shots_dir: str
) -> None:
    ws = Workstation(qtbot, small_demo, demo_db, "site_inv", shots_dir)
    ws.shortcut("Ctrl+Shift+E")  # View > Eligibility
    view = ws.w.response.eligibility
    assert view is not None and view.isVisible()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view)
    assert view.user_label.text().endswith("site_inv")
    manual = list(view.combos)
    assert len(manual) >= 10
    for cid in manual:
        box = view.combos[cid]
        box.setFocus()  # the reader tabs or clicks to the criterion
        QTest.keyClick(box, Qt.Key.Key_Down)  # "yes"
        QTest.keyClick(box, Qt.Key.Key_Return)
    read = ws.read
    assert read.reader == "site_inv"  # their own read, never the Demo Reader's
    got = answers(read)
    assert set(manual) <= set(got)
    assert {got[cid].by for cid in manual} == {"site_inv"}
    entries = [
        e
        for e in AuditLog(ws.reads.db.engine).entries()
        if e.read_uid == read.uid and e.entity_key.startswith("eligibility/")
    ]
    assert len(entries) == len(manual)  # one audited change per answer
    assert {e.username for e in entries} == {"site_inv"}
    # Ctrl+Z in the window takes the last answer back
    last = manual[-1]
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert last not in answers(ws.read)
    view.grab().save(f"{shots_dir}/c1_eligibility_site_investigator.png")
