"""First run of the demo: its own ground_truth.json is not reported as a problem, ``demo`` writes
once (``--force`` writes again) and shows its progress."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from namecar_viewer.app.importer import import_paths
from namecar_viewer.cli import main
from namecar_viewer.cli.demo import ProgressLine
from namecar_viewer.core.dicom import scan
from namecar_viewer.persistence.study_index import StudyIndex
from namecar_viewer.phantom.demo import (
    GROUND_TRUTH_FILE,
    complete_marker,
    expected_files,
    read_demo_manifest,
)

SMALL_FILES = 746  # tests/phantom/test_phantom_files.py EXPECTED_FILES


def test_opening_the_demo_folder_reports_no_skipped_file(small_demo: Path, tmp_path: Path) -> None:
    assert (small_demo / GROUND_TRUTH_FILE).is_file()
    report = scan([str(small_demo)])
    assert report.unreadable == [] and report.non_image == []
    assert sum(len(s.files) for s in report.stacks) == SMALL_FILES
    summary = import_paths(StudyIndex(tmp_path / "index.sqlite"), [small_demo])
    assert summary.skipped == []
    assert "skipped" not in summary.text().lower()


def test_the_window_opening_the_demo_says_nothing_was_skipped(
    qtbot: QtBot, small_demo: Path
) -> None:
    from namecar_viewer.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.open_paths([str(small_demo)])
    assert w.volume is not None
    assert "skipped" not in w.browser.status.text()
    assert GROUND_TRUTH_FILE not in w.browser.status.text()


def test_another_ground_truth_json_is_still_reported(small_demo: Path, tmp_path: Path) -> None:
    ct = next(small_demo.glob("CT_*/IMG0001.dcm"))
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(ct, folder / "IMG0001.dcm")
    (folder / GROUND_TRUTH_FILE).write_text('{"generator": "someone else"}', encoding="utf-8")
    (folder / "notes.txt").write_text("not DICOM", encoding="utf-8")
    report = scan([str(folder)])
    assert sorted(Path(u.path).name for u in report.unreadable) == [GROUND_TRUTH_FILE, "notes.txt"]
    # the demo's own ground truth is known in a zip too
    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ct, "demo/CT/IMG0001.dcm")
        zf.write(small_demo / GROUND_TRUTH_FILE, f"demo/{GROUND_TRUTH_FILE}")
    report = scan([str(archive)])
    assert report.unreadable == [] and len(report.stacks) == 1


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_demo_is_written_once_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "patient"
    assert main(["demo", str(out), "--small"]) == 0
    first = capsys.readouterr()
    assert "Demo patient written to" in first.out
    assert complete_marker(out).is_file()
    before = _mtimes(out)
    assert len([k for k in before if k.endswith(".dcm")]) == SMALL_FILES

    # the progress: plain lines (stderr is not a terminal here), one per series and the end
    lines = first.err.splitlines()
    assert (
        lines[0]
        == f"Writing the demo patient: 0%, 0/{SMALL_FILES} files, now CT_2025-01-15_baseline"
    )
    assert len(lines) == 9 + 1 and "\r" not in first.err
    assert lines[-1] == f"Writing the demo patient: 100%, {SMALL_FILES}/{SMALL_FILES} files"

    # again: kept, nothing rewritten, no progress
    assert main(["demo", str(out), "--small"]) == 0
    again = capsys.readouterr()
    assert "already complete" in again.out and "--force writes it again" in again.out
    assert again.err == ""
    assert _mtimes(out) == before

    # --force: every file written again
    assert main(["demo", str(out), "--small", "--force"]) == 0
    forced = capsys.readouterr()
    assert "Demo patient written to" in forced.out and forced.err
    after = _mtimes(out)
    assert after.keys() == before.keys()
    assert all(after[k] > before[k] for k in before if k.endswith((".dcm", ".json")))


def test_an_incomplete_demo_is_not_kept(small_demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(small_demo, out)
    assert read_demo_manifest(out) is None  # no marker beside it: never finished
    complete_marker(out).write_text("ok\n", encoding="utf-8")  # as the app's --demo writes it
    kept = read_demo_manifest(out)
    assert kept is not None and kept.size == "small"
    assert sum(s.n_files for s in kept.series) == expected_files("small") == SMALL_FILES
    next(out.glob("PT_*/IMG0003.dcm")).unlink()  # a file lost
    assert read_demo_manifest(out) is None
    shutil.copy(next(small_demo.glob("PT_*/IMG0003.dcm")), next(out.glob("PT_*")))
    gt = json.loads((out / GROUND_TRUTH_FILE).read_text(encoding="utf-8"))
    gt["size"] = "full"  # a ground truth that does not match the files
    (out / GROUND_TRUTH_FILE).write_text(json.dumps(gt), encoding="utf-8")
    assert read_demo_manifest(out) is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_updating_line() -> None:
    term = _Terminal()
    progress = ProgressLine(term, interval_s=3600.0)  # only series changes and the end show
    total = 6
    for done, folder in enumerate(["CT_a", "CT_a", "CT_a", "MR_b", "MR_b", "MR_b"], start=1):
        progress(done, total, folder)
        if done < total:
            assert "\n" not in term.getvalue()
    text = term.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    shown = [s.removesuffix("\x1b[K\n").removesuffix("\x1b[K") for s in text.split("\r")[1:]]
    assert shown == [
        "Writing the demo patient:  16%  1/6 files  CT_a",
        "Writing the demo patient:  66%  4/6 files  MR_b",
        "Writing the demo patient: 100%  6/6 files  MR_b",
    ]
    progress.end()  # nothing left open
    assert term.getvalue() == text
