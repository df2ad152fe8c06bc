"""Import: bad files reported with the rest imported, copy into the store, zip, cancel."""

from __future__ import annotations

import os
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from namecar_viewer.app.importer import ImportMode, import_paths
from namecar_viewer.core.dicom import load_stack
from namecar_viewer.persistence.study_index import StudyIndex


@pytest.fixture
def ct_folder(small_demo: Path, ground_truth: dict, tmp_path: Path) -> Path:
    src = small_demo / ground_truth["series"][0]["folder"]
    dst = tmp_path / "ct"
    shutil.copytree(src, dst)
    return dst


def test_corrupt_files_reported_rest_imported(ct_folder: Path, tmp_path: Path) -> None:
    files = sorted(ct_folder.glob("*.dcm"))
    assert len(files) == 84
    # a truncated copy: the last 1000 bytes of one image's pixels are gone
    victim = files[40]
    data = victim.read_bytes()
    victim.write_bytes(data[:-1000])
    # garbage with a DICOM-looking name
    junk = ct_folder / "IMG9999.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + os.urandom(300))
    idx = StudyIndex(tmp_path / "i.sqlite")
    s = import_paths(idx, [ct_folder])
    skipped = {Path(x.path).name: x.reason for x in s.skipped}
    assert set(skipped) == {victim.name, junk.name}
    assert "truncated" in skipped[victim.name]
    assert s.instances_added == 83
    assert idx.counts()["instances"] == 83
    assert victim.name in s.text() and junk.name in s.text()
    row = idx.stack_rows()[0]
    vol = load_stack(idx.stack(row.id))
    assert vol.shape == (84, 192, 192)  # the missing slice is a gap, not a shorter volume
    assert idx.thumbnail(row.id) is not None


def test_copy_into_store_and_zip(ct_folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "ct.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(ct_folder.glob("*.dcm")):
            zf.write(f, f"study/{f.name}")
    store = tmp_path / "store"
    idx = StudyIndex(tmp_path / "i.sqlite")
    s = import_paths(idx, [archive], ImportMode.COPY, store_dir=store)
    assert s.files_copied == 84 and s.instances_added == 84
    copied = sorted(store.rglob("*.dcm"))
    assert len(copied) == 84
    stack = idx.stack(idx.stack_rows()[0].id)
    assert all(i.member is None and i.path.startswith(str(store)) for i in stack.instances)
    from_store = load_stack(stack)
    archive.unlink()  # the copies stand on their own
    from namecar_viewer.core.dicom import scan

    direct = load_stack(scan([str(ct_folder)]).stacks[0])
    assert np.array_equal(from_store.array, direct.array)
    # importing the folder (same instances) copies and adds nothing
    s2 = import_paths(idx, [ct_folder], ImportMode.COPY, store_dir=store)
    assert s2.files_copied == 0 and s2.instances_added == 0
    assert len(sorted(store.rglob("*.dcm"))) == 84


def _consistent(idx: StudyIndex, expected_per_stack: dict[str, int]) -> None:
    """Every indexed stack is whole (all its instances), and every instance's file exists."""
    for row in idx.stack_rows():
        key = f"{row.series_instance_uid}#{row.label}"
        assert row.n_images == expected_per_stack[key], key
        for f in idx.files_of_stack(row.id):
            assert Path(f).is_file()


def test_cancelled_import_leaves_index_consistent(small_demo: Path, tmp_path: Path) -> None:
    full = StudyIndex(":memory:")
    import_paths(full, [small_demo], thumbnails=False)
    expected = {f"{r.series_instance_uid}#{r.label}": r.n_images for r in full.stack_rows()}
    assert len(expected) == 15

    idx = StudyIndex(tmp_path / "i.sqlite")
    store = tmp_path / "store"
    cancel = threading.Event()
    seen: list[str] = []

    def progress(done: int, total: int, what: str) -> None:
        if what.startswith("Indexing"):
            seen.append(what)
            if len(seen) == 4:  # cancel while the 4th stack is about to be indexed
                cancel.set()

    s = import_paths(
        idx, [small_demo], ImportMode.COPY, store_dir=store, progress=progress, cancel=cancel
    )
    assert s.cancelled
    counts = idx.counts()
    assert 1 <= counts["stacks"] < 15
    _consistent(idx, expected)
    # no stray copies: every file in the store is indexed
    indexed = {f for r in idx.stack_rows() for f in idx.files_of_stack(r.id)}
    assert {str(p) for p in store.rglob("*") if p.is_file()} == indexed
    # the next import completes it
    s2 = import_paths(idx, [small_demo], ImportMode.COPY, store_dir=store)
    assert not s2.cancelled
    assert idx.counts()["stacks"] == 15
    _consistent(idx, expected)


def test_cancel_during_scan_writes_nothing(small_demo: Path) -> None:
    idx = StudyIndex(":memory:")
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if done > 10:
            cancel.set()

    s = import_paths(idx, [small_demo], progress=progress, cancel=cancel)
    assert s.cancelled
    assert idx.counts()["instances"] == 0
