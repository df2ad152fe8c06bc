"""``namecar-viewer import-sr`` on damaged SRs: one line naming the file and what is wrong (the
content item, when one is at fault), exit 2, no traceback, bounded in time and memory; and a
seeded fuzz of 300 mutants of an SR written by the exporter."""

from __future__ import annotations

import dataclasses
import io
import random
import shutil
import zlib
from pathlib import Path

import pydicom
import pytest
from cli_hostile import (
    DEFLATED,
    _nested_container_bytes,
    dataset_start,
    mutate_sr,
    run_cli,
    with_transfer_syntax,
)

from namecar_viewer.core.reads import Read
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.core.reports.sr_export import read_to_sr, write_sr
from namecar_viewer.core.reports.sr_import import MAX_INFLATED_BYTES, import_sr_file
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.phantom.demo_read import build_demo_read

N_MUTANTS = 300
SECONDS_PER_RUN = 10.0
MAX_PEAK_BYTES = 300 * 1024 * 1024


def _small(read: Read) -> Read:
    """Two lesions at two timepoints of the demo read: the same exporter, a quick SR to mutate."""
    others = tuple(les for les in read.lesions if les.role.value != "target")
    lesions = read.lesions[:1] + others[:1]
    tps = read.ordered_timepoints()[:2]
    keep_l = {les.uid for les in lesions}
    keep_t = {tp.uid for tp in tps}
    return dataclasses.replace(
        read,
        lesions=lesions,
        timepoints=tuple(tps),
        measurements=tuple(
            m for m in read.measurements if m.lesion_uid in keep_l and m.timepoint_uid in keep_t
        ),
        statuses={k: v for k, v in read.statuses.items() if k[0] in keep_l and k[1] in keep_t},
    )


@pytest.fixture(scope="module")
def sr_file(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    read = _small(build_demo_read(small_demo))
    export = read_to_sr(read, HeaderIndex.from_folders([small_demo]))
    out = tmp_path_factory.mktemp("sr") / "small_read_sr.dcm"
    write_sr(export, out)
    imported = import_sr_file(out).read
    assert len(imported.lesions) == 2 and len(imported.timepoints) == 2
    assert imported.measurements
    return out


def _import(tmp_path: Path, data: bytes, *extra: str) -> tuple[int, str, Path]:
    path = tmp_path / "report.dcm"
    path.write_bytes(data)
    r = run_cli(["import-sr", str(path), "--dry-run", *extra], seconds=SECONDS_PER_RUN)
    assert "Traceback" not in r.err
    return r.code, r.err, path


def _one_line(err: str, path: Path, *needles: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"namecar-viewer import-sr: {path}"), err
    for n in needles:
        assert n in lines[0], err


def _dataset(sr_file: Path) -> pydicom.Dataset:
    return pydicom.dcmread(sr_file)


def _bytes(ds: pydicom.Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _items(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    out, stack = [], list(ds.ContentSequence)
    while stack:
        item = stack.pop(0)
        out.append(item)
        stack.extend(item.get("ContentSequence", []))
    return out


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.8, 0.99])
def test_truncated_sr(sr_file: Path, tmp_path: Path, fraction: float) -> None:
    data = sr_file.read_bytes()
    code, err, path = _import(tmp_path, data[: int(len(data) * fraction)])
    assert code == 2
    _one_line(err, path, "the file is cut short")


def test_a_text_file(tmp_path: Path) -> None:
    code, err, path = _import(tmp_path, b"notes about the patient\n")
    assert code == 2
    _one_line(err, path, "not a DICOM file (no 'DICM' marker")
    assert "force" not in err


def test_an_empty_file(tmp_path: Path) -> None:
    code, err, path = _import(tmp_path, b"")
    assert code == 2
    _one_line(err, path, "the file is empty")


def test_nan_time_point_order(sr_file: Path, tmp_path: Path) -> None:
    ds = _dataset(sr_file)
    order = next(
        i
        for i in _items(ds)
        if i.get("ConceptNameCodeSequence")
        and i.ConceptNameCodeSequence[0].CodeValue == "126073"
        and i.get("MeasuredValueSequence")
    )
    order.MeasuredValueSequence[0].NumericValue = "7777777.77777777"
    data = _bytes(ds).replace(b"7777777.77777777", b"NaN".ljust(16), 1)
    code, err, path = _import(tmp_path, data)
    assert code == 2
    _one_line(err, path, "(NUM 'Time Point Order'): Numeric Value is nan, not a finite number")


def test_missing_value_type(sr_file: Path, tmp_path: Path) -> None:
    ds = _dataset(sr_file)
    group = ds.ContentSequence[-1].ContentSequence[0]  # a measurement group's first item
    del group.ContentSequence[0].ValueType
    code, err, path = _import(tmp_path, _bytes(ds))
    assert code == 2
    _one_line(err, path, "content item ", "no Value Type (0040,A040)")


def test_empty_graphic_data(sr_file: Path, tmp_path: Path) -> None:
    ds = _dataset(sr_file)
    coord = next(i for i in _items(ds) if i.get("ValueType") == "SCOORD3D")
    coord.GraphicData = []
    code, err, path = _import(tmp_path, _bytes(ds))
    assert code == 2
    _one_line(err, path, "(SCOORD3D", "no Graphic Data")


def test_4000_nested_containers(sr_file: Path, tmp_path: Path) -> None:
    ds = _dataset(sr_file)
    del ds.ContentSequence
    code, err, path = _import(tmp_path, _bytes(ds) + _nested_container_bytes(4000))
    assert code == 2
    _one_line(err, path, "nested too deeply")


def test_declared_deflated_but_not(sr_file: Path, tmp_path: Path) -> None:
    code, err, path = _import(tmp_path, with_transfer_syntax(sr_file.read_bytes(), DEFLATED))
    assert code == 2
    _one_line(err, path, "the Deflated Explicit VR Little Endian data set does not inflate")


def test_deflate_bomb_is_refused_before_inflating(sr_file: Path, tmp_path: Path) -> None:
    data = sr_file.read_bytes()
    body = data[dataset_start(data) :]
    zeros = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = zeros.compress(body)
    chunk = bytes(1024 * 1024)
    for _ in range(MAX_INFLATED_BYTES // len(chunk) + 8):  # past the limit, in ~70 kB
        stream += zeros.compress(chunk)
    stream += zeros.flush()
    assert len(stream) < MAX_INFLATED_BYTES // 100
    bomb = with_transfer_syntax(data, DEFLATED, body=stream)
    path = tmp_path / "bomb.dcm"
    path.write_bytes(bomb)
    r = run_cli(["import-sr", str(path), "--dry-run"], trace_memory=True)
    assert r.code == 2
    _one_line(r.err, path, f"inflates past {MAX_INFLATED_BYTES} bytes")
    # counted 1 MiB at a time, never held whole (the rest of the peak: modules imported)
    assert r.peak_bytes < MAX_INFLATED_BYTES * 3 // 4


def test_the_exported_sr_itself_imports(sr_file: Path, tmp_path: Path) -> None:
    code, err, _ = _import(tmp_path, sr_file.read_bytes())
    assert (code, err) == (0, "")


def test_mutated_srs_end_with_a_message(sr_file: Path, tmp_path: Path) -> None:
    valid = sr_file.read_bytes()
    path = tmp_path / "mutant.dcm"
    db = tmp_path / "reads.sqlite"
    template = tmp_path / "empty.sqlite"
    ReadsDatabase(template).close()  # made once; each saving run gets a fresh copy
    kinds: set[str] = set()
    slowest = 0.0
    for seed in range(N_MUTANTS):
        kind, data = mutate_sr(valid, random.Random(seed))
        kinds.add(kind.split(":")[0])
        what = f"seed {seed} ({kind})"
        path.write_bytes(data)
        # every 10th mutant is saved too (a new database per run: no 'already there')
        argv = ["import-sr", str(path), "--dry-run"]
        if seed % 10 == 0:
            shutil.copyfile(template, db)
            argv = ["import-sr", str(path), "--db", str(db), "--user", "fuzz"]
        r = run_cli(argv, seconds=SECONDS_PER_RUN, trace_memory=seed % 25 == 0)
        assert r.code in (0, 1, 2), f"{what}: exit {r.code}\n{r.err}"
        assert "Traceback" not in r.err, f"{what}:\n{r.err}"
        if r.code == 2:
            lines = r.err.splitlines()
            assert len(lines) == 1 and str(path) in lines[0], f"{what}: {r.err}"
        assert r.peak_bytes < MAX_PEAK_BYTES, f"{what}: {r.peak_bytes} bytes"
        slowest = max(slowest, r.seconds)
    assert kinds >= {"truncate", "flip", "dataset", "deflate", "nested"}
    assert slowest < SECONDS_PER_RUN


def test_an_endless_device_is_read_to_the_limit_only() -> None:
    r = run_cli(["import-sr", "/dev/zero", "--dry-run"])
    assert r.code == 2
    _one_line(r.err, Path("/dev/zero"), "more than 67108864 bytes: not an SR of a read")
