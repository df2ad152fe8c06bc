"""CT values stay int16 only when they fit: stored 40000 with intercept -1024 is 38976 HU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dicom_series_factory import write_ct_series
from pydicom import dcmread
from pydicom.uid import RLELossless

from namecar_viewer.core.dicom import load_series

VALUES = [1024, 40000, 1034, 65535]  # stored uint16; HU = stored - 1024


@pytest.mark.parametrize("compressed", [False, True], ids=["native", "RLE"])
def test_hu_beyond_int16_load_as_float32_unclipped(tmp_path: Path, compressed: bool) -> None:
    paths = write_ct_series(tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(4)], values=VALUES)
    if compressed:
        for p in paths:
            ds = dcmread(p)
            ds.compress(RLELossless)
            ds.save_as(p, enforce_file_format=True)
    v = load_series([tmp_path])
    assert v.array.dtype == np.float32
    assert [float(v.array[k, 5, 5]) for k in range(4)] == [s - 1024.0 for s in VALUES]


def test_mixed_native_and_compressed_fitting_values_stay_int16(tmp_path: Path) -> None:
    paths = write_ct_series(
        tmp_path, [(0.0, 0.0, 2.0 * k) for k in range(4)], values=[0, 1024, 2048, 4095]
    )
    ds = dcmread(paths[2])
    ds.compress(RLELossless)
    ds.save_as(paths[2], enforce_file_format=True)
    v = load_series([tmp_path])
    assert v.array.dtype == np.int16
    assert [int(v.array[k, 0, 0]) for k in range(4)] == [-1024, 0, 1024, 3071]
