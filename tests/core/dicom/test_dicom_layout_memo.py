"""The layout memo reads a series' headers exactly as the full parser does, only faster.

Every comparison is against ``parse_fast_header`` run on the same bytes, over real files
(pydicom's and pydicom-data's test files, tests/data/real, the demo phantom) and over series
made to differ where a memo could go wrong.
"""

from __future__ import annotations

import copy
import importlib
import random
import struct
from pathlib import Path
from typing import Any

import pytest
from dicom_series_factory import write_ct_series
from pydicom import dcmread
from pydicom.data import get_testdata_files

from namecar_viewer.core.dicom import fastheader
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
    assert_same_elements(full, memo, where)
    a, b = full.dataset, memo.dataset
    for kw in KEYWORDS:
        assert a.get(kw) == b.get(kw), f"{where}: {kw}"
    ra, rb = a.to_pydicom(), b.to_pydicom()
    for elem in ra:
        assert rb[elem.tag].value == elem.value, f"{where}: {elem.tag}"
        assert rb[elem.tag].file_tell == elem.file_tell, f"{where}: {elem.tag} position"


def assert_same_elements(full: FastHeader, memo: FastHeader, where: str) -> None:
    """The same elements with the same bytes at the same places (values not decoded)."""
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


def _sized_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each header built from a layout remembered by its lengths was accepted."""
    reads: list[bool] = []
    build = fastheader._SizedLayout.header

    def counted(self: Any, buf: bytes, values: tuple[bytes, ...]) -> FastHeader | None:
        header = build(self, buf, values)
        reads.append(header is not None)
        return header

    monkeypatch.setattr(fastheader._SizedLayout, "header", counted)
    return reads


def _lengths_vary(tmp_path: Path, n: int = 24) -> list[Path]:
    """A series whose UIDs, positions and instance numbers come in several lengths."""
    paths = write_ct_series(tmp_path, [(0.0, 0.0, -7.5 * k) for k in range(n)])
    for k, path in enumerate(paths):
        ds = dcmread(path)
        ds.SOPInstanceUID = ds.SOPInstanceUID[: 40 + 2 * (k % 3)]
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(path, enforce_file_format=True)
    return paths


def test_files_laid_out_as_one_seen_before_are_read_by_their_lengths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _lengths_vary(tmp_path)
    reads = _sized_reads(monkeypatch)
    memo = LayoutMemo()
    for _ in range(2):  # the second time round, every file's lengths have been seen
        for path in paths:
            buf, size = _read(path)
            full = parse_fast_header(buf, size)
            got = memo.parse(buf, size)
            assert full is not None and got is not None, path
            assert_same_header(full, got, str(path))
    template = memo._templates[0]
    assert len(template.resized) >= 3  # UIDs (meta and dataset), position, number...
    assert len(template._sized) >= 6, "several layouts remembered by their lengths"
    assert sum(reads) >= len(paths), "the second round read by lengths"


def test_mutated_headers_read_by_remembered_lengths_equal_the_full_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeded mutants of a file whose layout is remembered by its lengths: a changed byte in
    a value is read as the full parser reads it, anywhere else the file is not taken for the
    remembered layout (whatever the memo then makes of it, the full parser agrees)."""
    paths = _lengths_vary(tmp_path)
    learned = LayoutMemo()
    for path in paths * 2:
        learned.parse(*_read(path))
    original = paths[7].read_bytes()
    header = parse_fast_header(original, len(original))
    assert header is not None and header.pixel_offset is not None
    end = header.pixel_offset
    # half the mutants hit the values that vary between files (a few percent of the header)
    own = learned._templates[0].own
    values = [i for t, _, vpos, e in header.layout if t in own for i in range(vpos, e)]
    assert len(values) > 100
    reads = _sized_reads(monkeypatch)
    rng = random.Random(20261207)
    kinds = ("byte", "plus-one", "insert", "delete", "truncate")
    (group_length,) = struct.unpack_from("<L", original, 140)
    for i in range(304):
        data = bytearray(original)
        at = rng.choice(values) if i % 2 else rng.randrange(128, end)
        kind = kinds[i % len(kinds)] if i < 300 else "group length"
        if kind == "group length":  # (0002,0000) first, as written: the meta group ends elsewhere
            struct.pack_into("<L", data, 140, group_length + (-4, -2, 2, 4)[i - 300])
        elif kind == "byte":
            data[at] = rng.randrange(256)
        elif kind == "plus-one":
            data[at] = (data[at] + 1) % 256
        elif kind == "insert":
            data[at:at] = bytes([rng.randrange(256)])
        elif kind == "delete":
            del data[at]
        else:
            del data[at:]
        buf = bytes(data)
        memo = copy.deepcopy(learned)
        full = _outcome(parse_fast_header, buf, len(buf))
        got = _outcome(memo.parse, buf, len(buf))
        where = f"mutant {i} ({kind} at {at})"
        if isinstance(full, FastHeader):
            assert isinstance(got, FastHeader), where
            # a mutated VR or value may not decode: the bytes and places must be the same
            assert_same_elements(full, got, where)
        else:
            assert got == full, where
    assert 30 <= sum(reads) < 300, sum(reads)  # values changed were read by lengths, not all
    assert reads.count(False) == 4  # the group lengths: laid out alike, refused by the check
