"""``namecar-viewer deid`` of a folder holding damaged files: each named with its problem, the
good files still de-identified, a summary and a documented exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest

from namecar_viewer.cli import main


@pytest.fixture
def site_folder(small_demo: Path, tmp_path: Path) -> Path:
    """Four slices of the baseline CT as a site sends them, two of them cut short, and a note."""
    ct = sorted(next(small_demo.glob("CT_2025-01-15*")).glob("*.dcm"))[:4]
    folder = tmp_path / "site"
    folder.mkdir()
    for f in ct:
        shutil.copy(f, folder / f.name)
    data = ct[1].read_bytes()
    # cut before the patient's identity (pydicom reads what is left without a word)
    (folder / ct[1].name).write_bytes(data[: data.index(b"NAMECAR-001") - 40])
    # cut inside the pixels
    (folder / ct[2].name).write_bytes(ct[2].read_bytes()[:40000])
    (folder / "scanner.log").write_bytes(b"acquisition log, not DICOM\n")
    return folder


def _run(folder: Path, out: Path, *extra: str) -> int:
    mapping = str(out.parent / "map.sqlite")
    return main(["deid", str(folder), str(out), "--mapping", mapping, *extra])


def test_damaged_files_are_named_and_the_rest_is_written(
    site_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    names = sorted(p.name for p in site_folder.glob("*.dcm"))
    assert _run(site_folder, out, "--subject-id", "NC-7") == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {site_folder / names[1]}: the file is cut short: "
        + errors[0].split("the file is cut short: ", 1)[1],
        f"error: {site_folder / names[2]}: the file is cut short: its Pixel Data needs "
        + errors[1].split("its Pixel Data needs ", 1)[1],
    ]
    assert "PatientID" not in captured.err and "another patient" not in captured.err
    assert f"skipped: {site_folder / 'scanner.log'}: not a DICOM file" in captured.err
    assert captured.out.strip().startswith(f"2 of 4 DICOM files de-identified into {out}")
    assert "2 could not be (listed above): not sent" in captured.out
    assert "1 files skipped (not DICOM)" in captured.out
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == 2
    for f in written:
        ds = pydicom.dcmread(f)
        assert ds.PatientID != "NAMECAR-001" and len(ds.PixelData) == ds.Rows * ds.Columns * 2


def test_json_lists_failed_and_skipped_files(
    site_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _run(site_folder, out, "--json", "--subject-id", "NC-7") == 1
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["written"]) == 2
    assert [Path(f["path"]).parent for f in rep["failed"]] == [site_folder] * 2
    assert all("cut short" in f["reason"] for f in rep["failed"])
    assert rep["skipped"] == [
        {
            "path": str(site_folder / "scanner.log"),
            "reason": "not a DICOM file (no 'DICM' marker after the preamble)",
        }
    ]


def test_every_file_good_exits_0(
    site_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in site_folder.glob("*.dcm"):
        if f.stat().st_size < 70000:
            f.unlink()
    assert _run(site_folder, tmp_path / "out", "--subject-id", "NC-7") == 0
    assert "2 of 2 DICOM files de-identified" in capsys.readouterr().out


def test_no_dicom_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.dat").write_bytes(b"hello")
    assert _run(folder, tmp_path / "out") == 2
    assert f"error: {folder}: no DICOM file to de-identify" in capsys.readouterr().err


def test_a_mapping_conflict_is_named_once_for_many_files(
    site_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    for f in site_folder.glob("*.dcm"):
        if f.stat().st_size < 70000:
            f.unlink()
    for i in range(6):  # eight good slices of one patient
        shutil.copy(sorted(site_folder.glob("*.dcm"))[0], site_folder / f"copy{i}.dcm")
    assert _run(site_folder, out, "--subject-id", "NC-1") == 0
    capsys.readouterr()
    assert _run(site_folder, tmp_path / "out2", "--subject-id", "NC-2") == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(err) == 6
    assert err[-1].startswith("error: and 3 more files: patient 'NAMECAR-001': ")
