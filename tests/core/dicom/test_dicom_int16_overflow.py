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


@pytest.mark.parametrize(
    ("modality", "signed"),
    [("CT", False), ("CT", True), ("MR", False), ("MR", True)],
    ids=["CT-unsigned", "CT-signed", "MR-unsigned", "MR-signed"],
)
def test_bits_above_bits_stored_are_not_the_value(
    tmp_path: Path, modality: str, signed: bool
) -> None:
    """BitsStored 12 of 16 allocated (dcm_qa_sag's gre field map has words 0xFFFF, read as 4095
    by dcm2niix and pydicom): the 4 high bits are cleared, or for signed data carry the sign of
    bit 11; CT through the int16 path (HU = value - 1024), MR through the float one; the values
    equal pydicom's."""
    paths = write_ct_series(tmp_path, [(0, 0, z) for z in (0.0, 2.0, 4.0)])
    values = np.array([[0, 1, 2047, 4095], [2048, 100, 4000, 7]], dtype=np.uint16)
    junk = np.array([[0xF000, 0x5000, 0xA000, 0xF000], [0x1000, 0x0000, 0xF000, 0x3000]])
    for p in paths:
        ds = dcmread(p)
        ds.Modality = modality
        ds.Rows, ds.Columns = values.shape
        ds.BitsStored, ds.HighBit = 12, 11
        ds.PixelRepresentation = int(signed)
        ds.PixelData = (values | junk).astype("<u2").tobytes()
        ds.save_as(p, enforce_file_format=True)
    twelve = values.astype(np.int64)
    if signed:
        twelve = np.where(twelve >= 2048, twelve - 4096, twelve)  # bit 11 is the sign
    expected = twelve - 1024
    volume = load_series([str(p) for p in paths])
    assert volume.array.dtype == (np.int16 if modality == "CT" else np.float32)
    for k in range(3):
        np.testing.assert_array_equal(volume.array[k], expected)
    reference = dcmread(paths[0])
    np.testing.assert_array_equal(
        reference.pixel_array.astype(np.int64) - 1024, expected
    )  # pydicom reads the same values
