"""load_series maps the volume's memory while it reads headers; a wrong guess costs nothing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dicom_series_factory import write_ct_series
from pydicom import dcmread
from pydicom.data import get_testdata_file

from namecar_viewer.core.dicom import load_series, load_stack, scan
from namecar_viewer.core.dicom import loader as loader_module


@pytest.fixture
def offers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every answer of Destination.take, with the size threshold lifted for small test series."""
    monkeypatch.setattr(loader_module.Destination, "MIN_BYTES", 0)
    seen: list[Any] = []
    take = loader_module.Destination.take

    def spy(self: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        got = take(self, shape, dtype)
        seen.append(got)
        return got

    monkeypatch.setattr(loader_module.Destination, "take", spy)
    return seen


def _reference(folder: Path) -> np.ndarray:
    return load_stack(scan([str(folder)]).stacks[0]).array


def test_the_mapped_array_is_used_when_the_guess_is_right(tmp_path: Path, offers: list) -> None:
    write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(7)])
    v = load_series([tmp_path])
    assert offers and offers[0] is not None and offers[0] is v.array
    assert v.array.dtype == np.int16
    assert np.array_equal(v.array, _reference(tmp_path))
    # HU = stored - 1024, slice n stored 1024 + 10 n (dicom_series_factory)
    assert [int(v.array[k, 3, 3]) for k in range(7)] == [10 * k for k in range(7)]


def test_reversed_files_and_float_values(tmp_path: Path, offers: list) -> None:
    paths = write_ct_series(tmp_path, [(0.0, 0.0, -2.0 * k) for k in range(5)])
    for p in paths:
        ds = dcmread(p)
        ds.RescaleSlope = 0.5  # not int16-exact: float32
        ds.save_as(p, enforce_file_format=True)
    v = load_series([tmp_path])
    assert offers[0] is not None and v.array.dtype == np.float32
    assert np.array_equal(v.array, _reference(tmp_path))
    # the lowest position comes first: file 4, stored 1064 -> 0.5 * 1064 - 1024
    assert float(v.array[0, 0, 0]) == pytest.approx(0.5 * 1064 - 1024)


def test_a_wrong_guess_is_dropped_and_the_volume_is_right(tmp_path: Path, offers: list) -> None:
    write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(6)])
    # two more files of another size: the first-image guess (8 slices) is wrong
    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / "zz_mr1.dcm")
    ds = dcmread(get_testdata_file("MR_small.dcm"))
    ds.SOPInstanceUID = ds.SOPInstanceUID + ".2"
    ds.ImagePositionPatient = [0, 0, 9]
    ds.save_as(tmp_path / "zz_mr2.dcm", enforce_file_format=True)
    v = load_series([tmp_path])
    assert v.shape == (6, 128, 128)
    assert offers[0] is None
    assert np.array_equal(v.array, _reference(tmp_path))


def test_another_series_drops_the_guess_during_the_scan(
    tmp_path: Path, offers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two series of the same size in one folder: told at the first image of the second."""
    write_ct_series(tmp_path / "a", [(0.0, 0.0, 2.0 * k) for k in range(5)])
    write_ct_series(tmp_path / "b", [(0.0, 0.0, 2.0 * k) for k in range(3)])
    told: list[bool] = []
    another = loader_module.Destination.another_series

    def spy(self: Any) -> None:
        told.append(True)
        another(self)

    monkeypatch.setattr(loader_module.Destination, "another_series", spy)
    v = load_series([tmp_path])
    assert told == [True] and offers == [None, None]  # the load's take and the final drop
    assert v.shape == (5, 128, 128)
    assert np.array_equal(v.array, _reference(tmp_path / "a"))


def test_too_big_a_guess_is_not_made(monkeypatch: pytest.MonkeyPatch) -> None:
    from namecar_viewer.core.dicom.model import InstanceRef, PixelInfo

    monkeypatch.setattr(loader_module.Destination, "MIN_BYTES", 0)
    d = loader_module.Destination()
    pixel = PixelInfo("1.2.840.10008.1.2.1")
    first = InstanceRef("x.dcm", "1.2", rows=512, columns=512, pixel=pixel)
    d.first_image(first, "CT", 5000)  # 5000 x 512 x 512 int16 = 2.6 GB: no guess
    assert d._thread is None
    d.first_image(first, "CT", 10)
    assert d._thread is not None and d.take((10, 512, 512), np.dtype(np.int16)) is not None


def test_pages_mapped_without_writing_keep_their_contents() -> None:
    """MADV_POPULATE_WRITE (Linux 5.14) maps pages as a write would, never changing a byte
    already written: what lets a load write slices while the thread still maps the rest."""
    arr = np.empty((64, 256, 256), dtype=np.int16)
    arr[::7] = 1234
    if not loader_module.populate_pages(arr):
        pytest.skip("this system cannot map pages without writing them")  # not Linux >= 5.14
    assert (arr[::7] == 1234).all()
    assert loader_module.populate_pages(arr[:0]) is True  # no whole page: nothing to do


def test_the_load_does_not_wait_for_a_slow_mapping(
    tmp_path: Path, offers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel sometimes takes half a second to map a big array (huge pages to find): the
    load goes on with the slices it reads, and the volume is right."""
    write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(7)])
    release = threading.Event()
    real = loader_module.populate_pages

    def slow(arr: np.ndarray) -> bool:
        if arr.shape[0] > 1:  # the whole array, in the thread: held until the load is done
            release.wait(10)
        return real(arr)

    monkeypatch.setattr(loader_module, "populate_pages", slow)
    if not real(np.empty((1, 4096), np.int16)):
        pytest.skip("this system cannot map pages without writing them")
    v = load_series([tmp_path])
    still_mapping = any(t.name == "volume-memory" and t.is_alive() for t in threading.enumerate())
    release.set()
    assert still_mapping and offers[0] is v.array
    assert np.array_equal(v.array, _reference(tmp_path))


def test_where_pages_cannot_be_mapped_untouched_the_load_waits_for_the_zeros(
    tmp_path: Path, offers: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without MADV_POPULATE_WRITE the thread writes a zero a page: the load waits for it,
    or a zero would land on a slice already read."""
    monkeypatch.setattr(loader_module, "_libc_madvise", lambda: None)
    write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(7)])
    v = load_series([tmp_path])
    assert offers[0] is v.array
    assert not any(t.name == "volume-memory" and t.is_alive() for t in threading.enumerate())
    assert np.array_equal(v.array, _reference(tmp_path))
