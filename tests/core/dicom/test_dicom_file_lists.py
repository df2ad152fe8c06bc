"""A series given as a list of files, as a PACS retrieve leaves them, loads as from its folder.

Issue 15 part 6: names not in slice order, vendor headers (private groups, sequences), CT
stored signed or unsigned with RescaleIntercept -1024; no ``zipfile.is_zipfile`` on files
that say DICM; int16 kept exactly where the values fit, float32 where they do not.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dicom_series_factory import write_ct_series
from pydicom import dcmread

from namecar_viewer.core.dicom import load_series, scan
from namecar_viewer.core.dicom import sources as sources_module

loader_module = importlib.import_module("namecar_viewer.core.dicom.loader")
BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _reference(paths: list[Path]) -> np.ndarray:
    """pydicom's stored values plus the intercept (slope 1), slices by position along z."""
    dss = sorted((dcmread(p) for p in paths), key=lambda d: float(d.ImagePositionPatient[2]))
    return np.stack([d.pixel_array.astype(np.int64) + int(d.RescaleIntercept) for d in dss])


def _shuffled_names(folder: Path, n: int, **kw: Any) -> list[Path]:
    names = [f"{random.Random(k).getrandbits(64):016x}.dcm" for k in range(n)]
    paths = write_ct_series(folder, [(0.0, 0.0, 2.0 * k) for k in range(n)], names=names, **kw)
    return [paths[k] for k in random.Random(7).sample(range(n), n)]


def test_a_list_of_dicom_files_never_asks_zipfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _shuffled_names(tmp_path, 6)
    from_folder = load_series([tmp_path]).array

    def no(*_: Any) -> bool:
        raise AssertionError("is_zipfile read a DICOM file's end")

    monkeypatch.setattr(sources_module.zipfile, "is_zipfile", no)
    v = load_series(paths)
    assert np.array_equal(v.array, from_folder)
    assert np.array_equal(v.array, _reference(paths))


def test_a_zip_and_a_file_without_preamble_in_a_list(tmp_path: Path) -> None:
    files = write_ct_series(tmp_path / "src", [(0.0, 0.0, 2.0 * k) for k in range(3)])
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in files:
            zf.write(f, f"DICOM/{f.name}")
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(files[0].read_bytes()[132:])  # no preamble, no DICM: asked of zipfile
    seen: list[tuple[int, int | None, str]] = []
    report = scan([archive, bare], progress=lambda n, total, name: seen.append((n, total, name)))
    assert [len(s.instances) for s in report.stacks] == [3]
    # the archive (told from DICOM as its head is read) then its members, then the bare file
    assert [name for _, _, name in seen] == [
        str(archive),
        *(f"{archive}!DICOM/{f.name}" for f in files),
        str(bare),
        "grouping",
    ]
    assert all(n < total for n, total, _ in seen[:-1] if total) and seen[-1][:2] == (5, 5)
    assert {i.member for i in report.stacks[0].instances} == {f"DICOM/{f.name}" for f in files}
    assert all(not u.reason.startswith("zip") for u in report.unreadable)


def test_an_office_document_in_a_list_is_one_unreadable_file(tmp_path: Path) -> None:
    """An .xlsx is a zip archive: said once, by its own name, not member by member; a zip
    holding a series and a few other files keeps one line per other file."""
    files = write_ct_series(tmp_path / "src", [(0.0, 0.0, 2.0 * k) for k in range(2)])
    sheet = tmp_path / "eligibility.xlsx"
    with zipfile.ZipFile(sheet, "w") as zf:
        for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"):
            zf.writestr(name, "<xml/>")
    mixed = tmp_path / "mixed.zip"
    with zipfile.ZipFile(mixed, "w") as zf:
        zf.write(files[0], "a.dcm")
        zf.writestr("notes.txt", "not DICOM")
        zf.writestr("readme.txt", "nor this")
    report = scan([sheet, mixed, files[1]])
    assert [len(s.instances) for s in report.stacks] == [2]
    assert [u.path for u in report.unreadable] == [
        str(sheet),
        f"{mixed}!notes.txt",
        f"{mixed}!readme.txt",
    ]
    said = report.unreadable[0].reason
    assert said.startswith("a zip archive with no DICOM file in it: none of its 4 files")
    assert "[Content_Types].xml: not a DICOM file" in said
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "docs.zip").write_bytes(sheet.read_bytes())
    assert [u.path for u in scan([folder]).unreadable] == [str(folder / "docs.zip")]


def test_a_folder_a_missing_name_and_a_file_named_twice_in_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names of a list are not stat'ed: opening each tells a folder (walked in place, a file
    named in the list too read once) and a missing name (said as before) from a file."""
    series = _shuffled_names(tmp_path / "series", 5)
    other = write_ct_series(tmp_path / "other", [(0.0, 0.0, 2.0 * k) for k in range(3)])
    stats: list[str] = []
    real_stat = os.stat

    def counted(path: Any, *a: Any, **kw: Any) -> os.stat_result:
        if str(path).startswith(str(tmp_path)):  # not the imports' own
            stats.append(str(path))
        return real_stat(path, *a, **kw)

    monkeypatch.setattr(sources_module.os, "stat", counted)
    missing = tmp_path / "gone.dcm"
    names = [*series[:2], tmp_path / "series", series[0], missing, *other]
    report = scan(names)
    assert stats == []
    assert sorted(len(s.instances) for s in report.stacks) == [3, 5]
    files = sorted(i.path for s in report.stacks for i in s.instances)
    assert files == sorted(str(p) for p in [*series, *other])  # each file once
    assert [(u.path, u.reason) for u in report.unreadable] == [
        (str(missing), "no such file or folder")
    ]
    assert np.array_equal(load_series([tmp_path / "series"]).array, _reference(series))


@pytest.mark.parametrize(
    ("signed", "values", "dtype"),
    [
        (True, [-31744, -2000, 0, 32767], np.int16),  # -31744 - 1024 is int16's minimum
        (True, [-31745, 0, 40, 1000], np.float32),  # one value below int16 after the intercept
        (False, [0, 1024, 4095, 33791], np.int16),  # 33791 - 1024 is int16's maximum
        (False, [0, 1024, 33792, 65535], np.float32),
    ],
)
def test_signed_and_unsigned_storage_with_intercept(
    tmp_path: Path, signed: bool, values: list[int], dtype: type
) -> None:
    paths = _shuffled_names(tmp_path, len(values), values=[0] * len(values))
    by_z = sorted(paths, key=lambda p: float(dcmread(p).ImagePositionPatient[2]))
    for p, v in zip(by_z, values, strict=True):
        ds = dcmread(p)
        ds.PixelRepresentation = 1 if signed else 0
        ds.BitsStored, ds.HighBit = 16, 15
        stored = np.full((ds.Rows, ds.Columns), v, dtype="<i2" if signed else "<u2")
        stored[0, 0] = 0 if v else 1  # not a constant slice
        ds.PixelData = stored.tobytes()
        ds.save_as(p, enforce_file_format=True)
    got = load_series(paths).array
    assert got.dtype == dtype
    assert np.array_equal(got, _reference(paths))


def test_the_native_read_without_preadv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _shuffled_names(tmp_path, 4)
    expected = load_series(paths).array
    monkeypatch.setattr(loader_module, "_PREADV", None)  # as on Windows
    assert np.array_equal(load_series(paths).array, expected)


@pytest.fixture(scope="module")
def bench_load() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("bench_load")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("signed", [True, False], ids=["GE-like signed", "Siemens-like unsigned"])
def test_the_benchmark_realistic_ct_equals_simpleitk(
    tmp_path: Path, bench_load: Any, signed: bool
) -> None:
    """The benchmark's vendor-like CT (private groups, sequences, names not in slice order)."""
    sitk = pytest.importorskip("SimpleITK")
    paths = bench_load.write_realistic_ct(tmp_path, 5, signed)
    listed = [Path(e.path) for e in os.scandir(tmp_path)]
    assert sorted(p.name for p in listed) != [p.name for p in paths]  # names not in slice order
    v = load_series(listed)
    assert v.array.dtype == np.int16 and v.shape == (5, 512, 512)
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tmp_path))
    assert np.array_equal(v.array, sitk.GetArrayFromImage(sitk.ReadImage(names)))
    assert np.array_equal(v.array, _reference(listed))
    # the same bytes again: the headers are read through the layout memo (vendor elements,
    # sequences of undefined length, a private CSA header varying per slice)
    assert write_and_compare_memo(listed)


def write_and_compare_memo(paths: list[Path]) -> bool:
    from namecar_viewer.core.dicom.fastheader import LayoutMemo, parse_fast_header

    memo = LayoutMemo()
    for p in paths:
        data = p.read_bytes()
        full = parse_fast_header(data, len(data))
        got = memo.parse(data, len(data))
        assert full is not None and got is not None
        assert full.pixel_offset == got.pixel_offset
        for kw in ("SOPInstanceUID", "ImagePositionPatient", "InstanceNumber", "XRayTubeCurrent"):
            assert full.dataset.get(kw) == got.dataset.get(kw), kw
        assert full.dataset._raw.keys() == got.dataset._raw.keys()
    return memo.matched == len(paths) - 2


@pytest.mark.parametrize(
    ("charset", "name"), [("ISO_IR 192", "Ωμέγα^Ψάρι"), ("ISO_IR 100", "Müller^Jörg")]
)
def test_the_patient_name_is_decoded_in_its_character_set(
    tmp_path: Path, charset: str, name: str
) -> None:
    """Decoded from only SpecificCharacterSet and PatientName, not the whole header."""
    paths = _shuffled_names(tmp_path, 3)
    for p in paths:
        ds = dcmread(p)
        ds.SpecificCharacterSet = charset
        ds.PatientName = name
        ds.save_as(p, enforce_file_format=True)
    (stack,) = scan(paths).stacks
    assert stack.patient_name == name == str(dcmread(paths[0]).PatientName)
