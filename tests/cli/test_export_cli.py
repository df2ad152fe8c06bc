"""``namecar-viewer export`` and ``import-sr``: every format of the demo read, exit codes, an
unwritable destination (clear message, no file), SR round trip through the reads database."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from namecar_viewer.cli import main
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import build_demo_read, save_demo_read


@pytest.fixture(scope="module")
def demo_db(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("reads") / "reads.sqlite"
    read = build_demo_read(small_demo)
    assert save_demo_read(read, db) is True
    assert save_demo_read(read, db) is False  # already there: left alone
    return db, read.uid


def _export(demo_db: tuple[Path, str], small_demo: Path, fmt: str, out: Path, *extra: str) -> int:
    db, uid = demo_db
    return main(
        [
            "export",
            "--read",
            uid,
            "--format",
            fmt,
            "--out",
            str(out),
            "--db",
            str(db),
            "--images",
            str(small_demo),
            *extra,
        ]
    )


def test_export_every_format(demo_db: tuple[Path, str], small_demo: Path, tmp_path: Path) -> None:
    for fmt, name in (("csv", "r.csv"), ("json", "r.json"), ("sr", "r.dcm"), ("pdf", "r.pdf")):
        assert _export(demo_db, small_demo, fmt, tmp_path / name) == 0, fmt
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8")))
    assert len(rows) == 30 + 5  # 6 lesions x 5 timepoints + 5 response rows
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["result"]["timepoints"][-1]["overall_response"] == "PD"
    # The JSON is a valid input of the recist command.
    assert main(["recist", str(tmp_path / "r.json")]) == 0
    assert pydicom.dcmread(tmp_path / "r.dcm").Modality == "SR"
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    # nothing else (no temporary files) in the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.dcm", "r.json", "r.pdf"]


def test_export_by_patient(demo_db: tuple[Path, str], tmp_path: Path) -> None:
    db, _ = demo_db
    out = tmp_path / "p.csv"
    argv = ["export", "--patient", "NAMECAR-001", "--format", "csv", "--out", str(out)]
    assert main([*argv, "--db", str(db)]) == 0
    assert out.is_file()


def test_unknown_read_and_patient_exit_2(
    demo_db: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = demo_db
    assert (
        main(
            [
                "export",
                "--read",
                "2.25.1",
                "--format",
                "csv",
                "--out",
                str(tmp_path / "x.csv"),
                "--db",
                str(db),
            ]
        )
        == 2
    )
    assert "no read 2.25.1" in capsys.readouterr().err
    assert (
        main(
            [
                "export",
                "--patient",
                "NOBODY",
                "--format",
                "csv",
                "--out",
                str(tmp_path / "x.csv"),
                "--db",
                str(db),
            ]
        )
        == 2
    )
    assert not (tmp_path / "x.csv").exists()


def test_unwritable_destination(
    demo_db: tuple[Path, str], small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() == 0:
        folder = Path("/sys")  # even root cannot create files there
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    before = sorted(p.name for p in folder.iterdir())
    for fmt in ("csv", "sr", "pdf"):
        out = folder / f"report.{fmt}"
        assert _export(demo_db, small_demo, fmt, out) == 1, fmt
        err = capsys.readouterr().err
        assert f"Cannot write {out}: permission denied" in err, err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_import_sr_round_trip(
    demo_db: tuple[Path, str], small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sr = tmp_path / "read.dcm"
    assert _export(demo_db, small_demo, "sr", sr) == 0
    fresh = tmp_path / "fresh.sqlite"
    assert main(["import-sr", str(sr), "--db", str(fresh), "--create-db"]) == 0
    out = capsys.readouterr().out
    assert "6 lesions, 5 timepoints, 25 measurements, 5 statuses" in out
    db, uid = demo_db
    original = ReadsDatabase(db).load_read(uid)
    imported = ReadsDatabase(fresh).load_read(uid)
    assert imported.lesions == original.lesions
    assert imported.timepoints == original.timepoints
    assert dict(imported.statuses) == dict(original.statuses)
    assert {m.uid for m in imported.measurements} == {m.uid for m in original.measurements}
    # A second import of the same read changes nothing and says so.
    assert main(["import-sr", str(sr), "--db", str(fresh)]) == 1
    assert "already in" in capsys.readouterr().err


def test_import_sr_of_another_tool_lists_what_is_left(
    real_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sr = real_data / "dcmqi" / "sr-example" / "sr.dcm"
    assert main(["import-sr", str(sr), "--db", str(tmp_path / "r.sqlite"), "--create-db"]) == 0
    out = capsys.readouterr().out
    assert "group primary tumor @ 1" in out
    assert "SUVbw (Maximum) = 10.3814 {SUVbw}g/ml" in out
    assert "Not imported into the read" in out and "Referenced Segment" in out


def test_import_sr_bad_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "not.dcm"
    bad.write_text("hello", encoding="utf-8")
    assert main(["import-sr", str(bad), "--db", str(tmp_path / "r.sqlite")]) == 2
    assert str(bad) in capsys.readouterr().err


def test_console_script_exit_code(tmp_path: Path) -> None:
    """The installed entry point returns the same codes (no traceback on bad arguments)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "namecar_viewer",
            "export",
            "--read",
            "x",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "a.csv"),
            "--db",
            str(tmp_path / "none.sqlite"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
