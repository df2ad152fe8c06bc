"""``--db`` never creates a database that does not exist unless asked (``--create-db``); every
command-line export is in the audit trail; exported files follow the umask (0644, not 0600)."""

from __future__ import annotations

import getpass
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from namecar_viewer.cli import main
from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import build_demo_read, save_demo_read


@pytest.fixture(scope="module")
def demo_db(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("reads") / "reads.sqlite"
    read = build_demo_read(small_demo)
    assert save_demo_read(read, db) is True
    return db, read.uid


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _exports(db: Path) -> list[object]:
    d = ReadsDatabase(db, create=False)
    try:
        return list(AuditLog(d.engine).entries(AuditFilter(action=AuditAction.EXPORT)))
    finally:
        d.close()


def _export(db: Path, uid: str, out: Path, *extra: str) -> int:
    argv = ["export", "--read", uid, "--format", "csv", "--out", str(out), "--db", str(db)]
    return main([*argv, *extra])


@pytest.mark.parametrize("where", ["typo.sqlite", "no/such/folder/path.sqlite"])
def test_export_with_a_mistyped_db_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    db = tmp_path / where
    assert _export(db, "2.25.1", tmp_path / "r.csv") == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"namecar-viewer export: no reads database at {db} "
        "(check the path, or add --create-db to make a new one)"
    )
    assert list(tmp_path.iterdir()) == []  # no database, no folder, no export


def test_no_command_creates_a_database_it_is_pointed_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "typo.sqlite"
    sr = get_testdata_file("test-SR.dcm")
    for argv in (
        ["export", "--patient", "P1", "--format", "json", "--out", str(tmp_path / "p.json")],
        ["import-sr", sr],
        ["audit", "verify"],
        ["audit", "list"],
    ):
        assert main([*argv, "--db", str(typo)]) == 2, argv
        assert f"no reads database at {typo}" in capsys.readouterr().err
        assert main([*argv, "--db", f"sqlite:///{typo}"]) == 2, argv
        capsys.readouterr()
        monkeypatch.setenv("NAMECAR_DB", str(typo))  # the environment names it the same way
        assert main(argv) == 2, argv
        assert f"no reads database at {typo}" in capsys.readouterr().err
        monkeypatch.delenv("NAMECAR_DB")
    assert list(tmp_path.iterdir()) == []


def test_import_sr_creates_a_database_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "central" / "new.sqlite"
    sr = get_testdata_file("test-SR.dcm")
    assert main(["import-sr", sr, "--db", str(db)]) == 2
    assert not db.parent.exists()
    assert main(["import-sr", sr, "--db", str(db), "--create-db", "--user", "ines"]) == 0
    assert db.is_file()
    assert "Saved read " in capsys.readouterr().out
    # the import is in the audit trail too (one 'create' entry per row of the new read)
    d = ReadsDatabase(db, create=False)
    try:
        created = AuditLog(d.engine).entries(AuditFilter(action=AuditAction.CREATE))
    finally:
        d.close()
    assert created and {e.username for e in created} == {"ines"}
    assert all(e.detail == f"Import SR {sr}" for e in created)


def test_the_workstations_own_database_is_made_on_first_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "user-data" / "reads.sqlite"
    monkeypatch.setenv("NAMECAR_READS_DB", str(own))
    monkeypatch.delenv("NAMECAR_DB", raising=False)
    assert main(["import-sr", get_testdata_file("test-SR.dcm")]) == 0
    assert own.is_file()


def test_command_line_export_is_audited(
    demo_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, uid = demo_db
    before = len(_exports(db))
    out = tmp_path / "r.csv"
    assert _export(db, uid, out, "--user", "dr-martin") == 0
    assert _export(db, uid, tmp_path / "b.csv", "--blinded") == 0
    entries = _exports(db)[before:]
    assert [e.username for e in entries] == ["dr-martin", getpass.getuser()]
    first = entries[0]
    assert (first.action, first.entity, first.entity_key, first.read_uid) == (
        "export",
        "read",
        uid,
        uid,
    )
    value = json.loads(first.new_value)
    assert value == {"format": "csv", "path": str(out.resolve()), "blinded": False, "case": None}
    assert json.loads(entries[1].new_value)["blinded"] is True
    assert first.detail == "command line: namecar-viewer export"
    assert main(["audit", "verify", "--db", str(db)]) == 0
    assert "hash chain intact" in capsys.readouterr().out


def test_an_export_that_cannot_be_audited_is_removed(
    demo_db: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, uid = demo_db

    def refuse(self: AuditLog, entry: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(AuditLog, "record", refuse)
    out = tmp_path / "r.csv"
    assert _export(db, uid, out) == 1
    err = capsys.readouterr().err
    assert "could not be recorded in the audit trail" in err and "was removed" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("fmt", ["csv", "json", "sr"])
def test_exported_files_follow_the_umask(
    demo_db: tuple[Path, str], small_demo: Path, tmp_path: Path, fmt: str
) -> None:
    db, uid = demo_db
    out = tmp_path / f"r.{fmt}"
    argv = ["export", "--read", uid, "--format", fmt, "--out", str(out), "--db", str(db)]
    assert main([*argv, "--images", str(small_demo)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    os.umask(0o077)  # a user who keeps files private gets that too
    assert main([*argv, "--images", str(small_demo)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
