"""load_series maps the volume's memory while it reads headers; a wrong guess costs nothing."""

from __future__ import annotations

import shutil
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
