"""The layout memo reads a series' headers exactly as the full parser does, only faster.

Every comparison is against ``parse_fast_header`` run on the same bytes, over real files
(pydicom's and pydicom-data's test files, tests/data/real, the demo phantom) and over series
made to differ where a memo could go wrong.
"""

from __future__ import annotations

import copy
import importlib
import struct
from pathlib import Path
from typing import Any

import pytest
from dicom_series_factory import write_ct_series
from pydicom import dcmread
from pydicom.data import get_testdata_files

from namecar_viewer.core.dicom.fastheader import (
    FastDataset,
    FastHeader,
    LayoutMemo,
    NeedMoreBytes,
    TruncatedFile,
    parse_fast_header,
)
from namecar_viewer.core.dicom.sources import Source, iter_sources

scan_module = importlib.import_module("namecar_viewer.core.dicom.scan")

KEYWORDS = (
    "SOPInstanceUID",
    "SOPClassUID",
    "SeriesInstanceUID",
    "InstanceNumber",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "Rows",
    "Columns",
    "BitsAllocated",
    "RescaleSlope",
    "RescaleIntercept",
    "WindowCenter",
    "ImageType",
    "PatientName",
    "AcquisitionTime",
    "Units",
)


def _read(path: Path) -> tuple[bytes, int]:
    data = path.read_bytes()
    return data[: 1 << 20], len(data)


def _outcome(fn: Any, buf: bytes, size: int) -> Any:
    try:
        return fn(buf, size)
    except (NeedMoreBytes, TruncatedFile) as exc:
        return type(exc)


def assert_same_header(full: FastHeader, memo: FastHeader, where: str) -> None:
    a, b = full.dataset, memo.dataset
    assert a._raw.keys() == b._raw.keys(), where
    for tag, (vr, value, vpos) in a._raw.items():
        vr2, value2, vpos2 = b._raw[tag]
        assert (vr, value) == (vr2, value2), f"{where} ({tag:08X})"
        assert b._tell(tag, vpos2) == vpos, f"{where} ({tag:08X}) value position"
    assert {t: v[:2] for t, v in a._meta.items()} == {t: v[:2] for t, v in b._meta.items()}
    assert (full.transfer_syntax, full.pixel_offset, full.pixel_length) == (
        memo.transfer_syntax,
        memo.pixel_offset,
        memo.pixel_length,
    ), where
    assert set(full.skipped_sequences) == set(memo.skipped_sequences), where
    for kw in KEYWORDS:
        assert a.get(kw) == b.get(kw), f"{where}: {kw}"
    ra, rb = a.to_pydicom(), b.to_pydicom()
    for elem in ra:
        assert rb[elem.tag].value == elem.value, f"{where}: {elem.tag}"
        assert rb[elem.tag].file_tell == elem.file_tell, f"{where}: {elem.tag} position"


def _compare_all(paths: list[Path]) -> LayoutMemo:
    memo = LayoutMemo()
    for path in paths:
        buf, size = _read(path)
        full = _outcome(parse_fast_header, buf, size)
        got = _outcome(memo.parse, buf, size)
        if not isinstance(full, FastHeader):
            assert got == full, path
            continue
        assert isinstance(got, FastHeader), path
        assert_same_header(full, got, str(path))
    return memo


def _files(root: Path) -> list[Path]:
    return [Path(s.path) for s in iter_sources([str(root)]) if isinstance(s, Source)]


def test_every_real_test_file_reads_the_same_through_the_memo(real_data: Path) -> None:
    files = sorted(Path(p) for p in get_testdata_files("*") if Path(p).is_file())
    files += sorted(p for p in real_data.rglob("*") if p.is_file())
    memo = _compare_all(files)
    assert memo.parsed + memo.matched >= 100


def test_demo_series_are_read_through_remembered_layouts(small_demo: Path) -> None:
    files = _files(small_demo)
    memo = _compare_all(files)
    # CT, MR and PET series of the phantom: all but the first two files of a layout match
    assert memo.matched > 0.8 * len(files), (memo.matched, memo.parsed, len(files))


def _series(tmp_path: Path, n: int = 8) -> list[Path]:
    return write_ct_series(tmp_path, [(0.0, 0.0, 2.5 * k) for k in range(n)])


def test_a_file_differing_in_an_element_that_never_varied_gets_its_own_value(
    tmp_path: Path,
) -> None:
    paths = _series(tmp_path)
    ds = dcmread(paths[6])
    ds.WindowCenter = "77"  # constant in the first six files: not among the varying ones
    ds.PatientName = "OTHER^NAME"
    ds.save_as(paths[6], enforce_file_format=True)
    memo = _compare_all(paths)
    got = memo.parse(*_read(paths[6]))
    assert got is not None
    assert got.dataset.get("WindowCenter") == 77.0
    assert got.dataset.to_pydicom().PatientName == "OTHER^NAME"
    assert memo.matched >= 4


def test_values_of_other_lengths_shift_the_rest_and_the_pixel_data(tmp_path: Path) -> None:
    paths = _series(tmp_path)
    for k, path in enumerate(paths):
        ds = dcmread(path)
        ds.SOPInstanceUID = ds.SOPInstanceUID[: 20 + 2 * k]  # lengths vary file to file
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(path, enforce_file_format=True)
    memo = _compare_all(paths)
    assert memo.matched >= len(paths) - 3


def test_a_wrong_group_length_is_parsed_in_full(tmp_path: Path) -> None:
    paths = _series(tmp_path, 5)
    data = bytearray(paths[4].read_bytes())
    assert data[132:136] == b"\x02\x00\x00\x00"  # (0002,0000) first, as written
    (length,) = struct.unpack_from("<L", data, 140)
    struct.pack_into("<L", data, 140, length - 2)
    paths[4].write_bytes(bytes(data))
    memo = LayoutMemo()
    for p in paths[:4]:
        memo.parse(*_read(p))
    matched = memo.matched
    _compare_all(paths)  # same answers as the full parser, whatever it makes of the file
    memo.parse(*_read(paths[4]))
    assert memo.matched == matched, "a file whose meta group ends elsewhere must not match"


def test_another_transfer_syntax_in_the_same_layout_is_not_matched(tmp_path: Path) -> None:
    paths = _series(tmp_path, 4)
    data = paths[3].read_bytes()
    explicit = b"1.2.840.10008.1.2.1\x00"
    assert data.count(explicit) == 1
    # Big Endian has a UID of the same length: the layout is the same, the meaning is not
    paths[3].write_bytes(data.replace(explicit, b"1.2.840.10008.1.2.2\x00"))
    memo = LayoutMemo()
    for p in paths[:3]:
        assert memo.parse(*_read(p)) is not None
    assert memo.parse(*_read(paths[3])) is None  # the full parser leaves big endian to pydicom
    _compare_all(paths)


def test_a_memoised_computation_must_declare_what_it_reads(tmp_path: Path) -> None:
    paths = _series(tmp_path, 3)
    memo = LayoutMemo()
    for p in paths:
        memo.parse(*_read(p))
    # read again once the memo has seen them all: through the template, whatever the random
    # UIDs' lengths (the third file's group length may differ from the first two's)
    ds = memo.parse(*_read(paths[-1]))
    assert ds is not None and isinstance(ds.dataset, FastDataset)
    assert ds.dataset._shared is not None

    def sneaky(d: Any) -> Any:
        return d.get("PatientName")

    with pytest.raises(KeyError, match="PatientName"):
        ds.dataset.memo(("Rows",), sneaky)


def test_scan_with_the_memo_equals_scan_without(
    small_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_memo = scan_module.scan([str(small_demo)])
    monkeypatch.setattr(
        scan_module.LayoutMemo, "parse", lambda self, buf, size: parse_fast_header(buf, size)
    )
    without = scan_module.scan([str(small_demo)])
    assert [s.to_json() for s in with_memo.stacks] == [s.to_json() for s in without.stacks]
    assert [s.instances for s in with_memo.stacks] == [s.instances for s in without.stacks]
    assert with_memo.non_image == without.non_image
    assert copy.copy(with_memo.unreadable) == without.unreadable
