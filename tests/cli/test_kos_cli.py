"""``export --format kos`` and ``import-kos``: the read's key images out as a DICOM KOS and back
in (the reader's flags come back, audited), another user refused, dry run, bad files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pydicom
import pytest

from namecar_viewer.app.read_session import ReadSession, SetReadSetting
from namecar_viewer.cli import main
from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.key_images import FLAGGED_SETTING, FlaggedImage, flagged_images
from namecar_viewer.persistence.audit import AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import DEMO_READER, build_demo_read, save_demo_read
from testsupport import require_tool


def _flags(small_demo: Path) -> list[FlaggedImage]:
    """fu06m image 30 and inclusion image 60: slices no lesion is measured on."""
    out = []
    for folder, number in (("CT_2026-01-08_fu06m", 30), ("CT_2025-07-10_inclusion", 60)):
        for f in sorted((small_demo / folder).glob("*.dcm")):
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            if int(ds.InstanceNumber) == number:
                out.append(
                    FlaggedImage(
                        ImageRef(str(ds.SOPInstanceUID)),
                        str(ds.StudyInstanceUID),
                        str(ds.SeriesInstanceUID),
                    )
                )
    assert len(out) == 2
    return out


def _set_flags(db_path: Path, uid: str, value: str | None) -> None:
    db = ReadsDatabase(db_path)
    try:
        ReadSession(db.load_read(uid), db, stored=True, user=DEMO_READER).execute(
            SetReadSetting(FLAGGED_SETTING, value, "test")
        )
    finally:
        db.close()


def _stored_flags(db_path: Path, uid: str) -> tuple[FlaggedImage, ...]:
    db = ReadsDatabase(db_path)
    try:
        return flagged_images(db.load_read(uid))
    finally:
        db.close()


@pytest.fixture
def flagged_db(small_demo: Path, tmp_path: Path) -> tuple[Path, str, list[FlaggedImage]]:
    db = tmp_path / "reads.sqlite"
    read = build_demo_read(small_demo)
    assert save_demo_read(read, db) is True
    flags = _flags(small_demo)
    _set_flags(db, read.uid, json.dumps([f.to_json() for f in flags]))
    return db, read.uid, flags


def test_export_kos_then_import_gives_the_flags_back(
    flagged_db: tuple[Path, str, list[FlaggedImage]],
    small_demo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, uid, flags = flagged_db
    out = tmp_path / "read_kos.dcm"
    argv = ["export", "--read", uid, "--format", "kos", "--out", str(out), "--db", str(db)]
    assert main([*argv, "--images", str(small_demo)]) == 0
    assert f"Wrote KOS of read {uid}" in capsys.readouterr().out
    ds = pydicom.dcmread(out)
    assert ds.Modality == "KO" and ds.SeriesNumber == 901
    images = [it for it in ds.ContentSequence if it.ValueType == "IMAGE"]
    assert len(images) == 20 + 2  # the measured slices and the two flags
    dciodvfy = require_tool("dciodvfy", "dicom3tools")
    proc = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert [ln for ln in lines if ln.startswith(("Error", "Warning"))] == []

    # the reader unflags both, then imports the KOS: the flags are back, audited
    _set_flags(db, uid, None)
    assert _stored_flags(db, uid) == ()
    argv = ["import-kos", str(out), "--db", str(db), "--user", DEMO_READER]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "20 measured key images of the read, 2 to flag" in text
    assert "+ flag fu06m image" in text and "+ flag inclusion image" in text
    assert f"Flagged 2 key images in read {uid}" in text
    assert _stored_flags(db, uid) == tuple(flags)
    engine = ReadsDatabase(db).engine
    entries = [e for e in AuditLog(engine).entries() if e.entity_key == FLAGGED_SETTING]
    assert entries[-1].username == DEMO_READER
    assert "Import key images from" in (entries[-1].detail or "")

    # imported again: nothing to add, nothing written
    assert main(argv) == 0
    assert "Nothing to flag" in capsys.readouterr().out
    assert len([e for e in AuditLog(engine).entries() if e.entity_key == FLAGGED_SETTING]) == len(
        entries
    )


def test_another_user_and_dry_run_change_nothing(
    flagged_db: tuple[Path, str, list[FlaggedImage]],
    small_demo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, uid, _ = flagged_db
    out = tmp_path / "k.dcm"
    argv = ["export", "--read", uid, "--format", "kos", "--out", str(out), "--db", str(db)]
    assert main([*argv, "--images", str(small_demo)]) == 0
    _set_flags(db, uid, None)
    capsys.readouterr()
    assert main(["import-kos", str(out), "--db", str(db), "--dry-run"]) == 0
    assert "2 to flag" in capsys.readouterr().out
    assert _stored_flags(db, uid) == ()
    assert main(["import-kos", str(out), "--db", str(db), "--user", "someone-else"]) == 1
    assert "belongs to Demo Reader" in capsys.readouterr().err
    assert _stored_flags(db, uid) == ()


def test_bad_input(
    flagged_db: tuple[Path, str, list[FlaggedImage]],
    small_demo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, uid, _ = flagged_db
    sr = tmp_path / "r.dcm"
    argv = ["export", "--read", uid, "--format", "sr", "--out", str(sr), "--db", str(db)]
    assert main([*argv, "--images", str(small_demo)]) == 0
    capsys.readouterr()
    assert main(["import-kos", str(sr), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Key Object Selection document" in err
    kos = tmp_path / "k.dcm"
    argv = ["export", "--read", uid, "--format", "kos", "--out", str(kos), "--db", str(db)]
    assert main([*argv, "--images", str(small_demo)]) == 0
    capsys.readouterr()
    assert main(["import-kos", str(kos), "--db", str(db), "--read", "2.25.1"]) == 2
    assert "no read 2.25.1" in capsys.readouterr().err
    assert main(["import-kos", str(kos), "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no reads database" in capsys.readouterr().err
    # a read with no key image: exit 1, said in one line, no file
    empty = Read.new(patient_id="NAMECAR-002", reader="reader2")
    store = ReadsDatabase(db)
    store.save_new_read(empty)
    store.close()
    out = tmp_path / "empty_kos.dcm"
    argv = ["export", "--read", empty.uid, "--format", "kos", "--out", str(out)]
    assert main([*argv, "--db", str(db), "--images", str(small_demo)]) == 1
    assert "has no key image" in capsys.readouterr().err
    assert not out.exists()
