"""Seeded mutants of real-looking DICOM slices, and a bounded runner for scan + load.

A mutant is one slice of a small series (CT, MR or PET of the demo phantom) changed in one way
that sites' files and hostile files show: non-finite or absurd header values, wrong value
representations, frame counts and sizes that do not fit the file, truncation, flipped bytes,
a compressed frame whose codestream declares an enormous image, a deflated dataset that
inflates far beyond its file.  The runner scans and loads the folder (the mutant and its good
neighbours) in a child process with a time limit and an address-space limit, and says what
happened: only documented outcomes are allowed (a loaded volume, a problem or an unreadable
file naming the mutant, a ``DicomInputError`` naming it), and the neighbours must still load.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import random
import shutil
import struct
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEGLosslessSV1

# Each run gets this much address space and time; a decompression bomb must be refused below.
MEMORY_LIMIT_BYTES = 2 * 1024**3
TIME_LIMIT_S = 20.0

Mutation = Callable[[Dataset, random.Random], Dataset | bytes]


def _set(tag: str, value: Any, vr: str | None = None) -> Mutation:
    def m(ds: Dataset, _r: random.Random) -> Dataset:
        if vr is not None:
            ds.add_new(tag, vr, value)
        else:
            setattr(ds, tag, value)
        return ds

    m.__name__ = f"{tag}={value!r}"
    return m


def _raw_value(keyword: str, vr: str, raw: bytes) -> Mutation:
    """Replace an element by raw bytes of another VR (e.g. Rows as DS 'abc')."""

    def m(ds: Dataset, _r: random.Random) -> Dataset:
        from pydicom.datadict import tag_for_keyword
        from pydicom.dataelem import RawDataElement
        from pydicom.tag import Tag

        tag = tag_for_keyword(keyword)
        assert tag is not None
        t = Tag(tag)
        ds._dict[t] = RawDataElement(t, vr, len(raw), raw, 0, False, True)  # type: ignore[attr-defined]
        return ds

    m.__name__ = f"{keyword} as {vr} {raw!r}"
    return m


def _truncate(ds: Dataset, r: random.Random) -> bytes:
    data = _bytes(ds)
    return data[: r.randrange(132, len(data) - 1)]


def _truncate_before_rows(ds: Dataset, _r: random.Random) -> bytes:
    data = _bytes(ds)
    at = data.find(b"\x28\x00\x10\x00")  # (0028,0010) Rows, little endian
    return data[: max(at, 200)]


def _flip_header_bytes(ds: Dataset, r: random.Random) -> bytes:
    data = bytearray(_bytes(ds))
    end = data.find(b"\xe0\x7f\x10\x00")  # pixel data: flip only in the header
    for _ in range(r.randint(1, 8)):
        i = r.randrange(132, max(133, end))
        data[i] = r.randrange(256)
    return bytes(data)


def _jpeg_sof_bomb(ds: Dataset, _r: random.Random) -> Dataset:
    """A lossless JPEG frame whose SOF declares 65000 x 65000 (a few bytes of codestream)."""
    sof = struct.pack(">HHBHHB", 0xFFC3, 11, 16, 65000, 65000, 1) + bytes([1, 0x11, 0])
    dht = bytes.fromhex("FFC4001400") + bytes([1] + [0] * 15) + bytes([0])
    sos = bytes.fromhex("FFDA0008010100010000")
    codestream = b"\xff\xd8" + sof + dht + sos + b"\x00" * 4096 + b"\xff\xd9"
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([codestream])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    return ds


def _deflate_bomb(ds: Dataset, _r: random.Random) -> bytes:
    """A deflated dataset that inflates to 0.6 GiB (a huge private OB element of zeros)."""
    ds.add_new(0x00091010, "LO", "NAMECAR")
    size = 600 * 1024**2
    from pydicom.filebase import DicomBytesIO

    body = DicomBytesIO()
    body.is_little_endian = True
    body.is_implicit_VR = False
    clean = Dataset()
    for el in ds:
        clean.add(el)
    clean.add_new(0x00091000, "LO", "BOMB")
    pydicom.filewriter.write_dataset(body, clean)  # type: ignore[attr-defined]
    # then one more element, written by hand: (0009,1001) OB of `size` zeros
    head = struct.pack("<HH2sHI", 0x0009, 0x1001, b"OB", 0, size)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = comp.compress(body.getvalue() + head)
    chunk = b"\x00" * (16 * 1024**2)
    for _ in range(size // len(chunk)):
        payload += comp.compress(chunk)
    payload += comp.flush()
    meta = DicomBytesIO()
    meta.is_little_endian = True
    meta.is_implicit_VR = False
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    pydicom.filewriter.write_file_meta_info(meta, ds.file_meta)  # type: ignore[attr-defined]
    return b"\x00" * 128 + b"DICM" + meta.getvalue() + payload


def _bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


MUTATIONS: list[Mutation] = [
    _set("ImagePositionPatient", ["nan", "nan", "nan"]),
    _set("ImagePositionPatient", ["inf", "0", "0"]),
    _set("ImagePositionPatient", ["1e308", "1e308", "-1e308"]),
    _set("ImagePositionPatient", ["0", "0"]),
    _raw_value("ImagePositionPatient", "DS", b"abc\\def\\ghi "),
    _set("ImageOrientationPatient", ["0", "0", "0", "0", "0", "0"]),
    _set("ImageOrientationPatient", ["1", "0", "0", "1", "0", "0"]),
    _set("ImageOrientationPatient", ["nan", "0", "0", "0", "1", "0"]),
    _set("PixelSpacing", ["0", "0"]),
    _set("PixelSpacing", ["-1", "0.7"]),
    _set("PixelSpacing", ["nan", "0.7"]),
    _set("PixelSpacing", ["1e300", "1e300"]),
    _raw_value("PixelSpacing", "DS", b"abc "),
    _set("Rows", 0),
    _set("Columns", 65535),
    _raw_value("Rows", "DS", b"abc "),
    _raw_value("Columns", "US", b"\x01"),
    _raw_value("NumberOfFrames", "IS", b"inf "),
    _set("NumberOfFrames", "1000000000", "IS"),
    _set("NumberOfFrames", "-1", "IS"),
    _raw_value("NumberOfFrames", "IS", b"abc "),
    _raw_value("NumberOfFrames", "IS", b"1e9 "),
    _set("BitsAllocated", 0),
    _set("BitsAllocated", 7),
    _set("BitsAllocated", 64),
    _set("BitsStored", 40),
    _set("PixelRepresentation", 2),
    _set("SamplesPerPixel", 3),
    _set("SamplesPerPixel", 0),
    _set("PhotometricInterpretation", "GARBAGE"),
    _set("RescaleSlope", "0", "DS"),
    _set("RescaleSlope", "nan", "DS"),
    _set("RescaleSlope", "1e30", "DS"),
    _set("RescaleIntercept", "1e10", "DS"),
    _set("RescaleIntercept", "inf", "DS"),
    _set("RescaleIntercept", "-1e300", "DS"),
    _set("SliceThickness", "nan", "DS"),
    _set("WindowWidth", "nan", "DS"),
    _set("WindowCenter", "1e400", "DS"),
    _set("InstanceNumber", "99999999999999999999", "IS"),
    # IS values that float() reads and int() cannot: read after the per-file checks, when the
    # series are grouped (a seeded fuzz of real vendor files found SeriesNumber inf)
    _raw_value("SeriesNumber", "IS", b"inf "),
    _raw_value("InstanceNumber", "IS", b"nan "),
    _raw_value("AcquisitionNumber", "IS", b"-inf"),
    _raw_value("TemporalPositionIdentifier", "IS", b"inf "),
    _raw_value("NumberOfTemporalPositions", "IS", b"nan "),
    _set("FrameOfReferenceUID", ""),
    _set("SOPClassUID", "1.2.3.4"),
    _truncate,
    _truncate_before_rows,
    _flip_header_bytes,
    _jpeg_sof_bomb,
]
SLOW_MUTATIONS: list[Mutation] = [_deflate_bomb]


@dataclass(frozen=True)
class Outcome:
    """What scanning and loading a folder with one mutant did."""

    mutation: str
    kind: str  # "loaded", "reported", "error", "crash", "timeout", "memory"
    detail: str
    neighbours_loaded: bool

    @property
    def ok(self) -> bool:
        return self.kind in ("loaded", "reported", "error") and self.neighbours_loaded


def write_case(series: list[Path], folder: Path, index: int, mutation: Mutation, seed: int) -> str:
    """The series' first files copied to ``folder``, file ``index`` replaced by its mutant."""
    folder.mkdir(parents=True)
    for n, src in enumerate(series):
        if n != index:
            shutil.copy(src, folder / src.name)
    ds = pydicom.dcmread(series[index])
    out = mutation(ds, random.Random(seed))
    target = folder / series[index].name
    if isinstance(out, bytes):
        target.write_bytes(out)
    else:
        out.save_as(target, enforce_file_format=True)
    return str(target)


def _child(folder: str, mutant: str, queue: Any) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    try:
        from namecar_viewer.core.dicom import load_stack, scan
        from namecar_viewer.core.problems import DicomInputError

        report = scan([folder])
        named = any(mutant in u.path for u in report.unreadable)
        reasons = [u.reason for u in report.unreadable if mutant in u.path]
        misfiled = [n for n in report.non_image if mutant in n.path]
        neighbours = False
        kind, detail = "loaded", ""
        for st in report.stacks:
            named = named or any(any(mutant in f for f in p.files) for p in st.problems)
            if not st.loadable:
                continue
            try:
                vol = load_stack(st)
                neighbours = neighbours or vol.shape[0] >= 2
                for prob in vol.metadata.get("problems", []):
                    named = named or any(mutant in f for f in prob.files) or mutant in str(prob)
            except DicomInputError as exc:
                kind, detail = "error", str(exc)
                if mutant not in str(exc):
                    kind, detail = "crash", f"DicomInputError not naming the file: {exc}"
        if kind == "loaded" and named:
            kind, detail = "reported", "; ".join(reasons)
        if misfiled and kind != "crash":
            # an image listed as a non-image object with no reason hides the problem
            kind, detail = "misfiled", f"listed as {misfiled[0].kind.value}, no reason given"
        queue.put((kind, detail, neighbours))
    except MemoryError:
        queue.put(("memory", "MemoryError", False))
    except BaseException:  # noqa: BLE001 - every other exception is what the fuzz looks for
        queue.put(("crash", traceback.format_exc(limit=6), False))


_CTX: Any = None


def _context() -> Any:
    """A forkserver started once, with the DICOM code imported (children start in ms, and
    never inherit a test process's threads)."""
    global _CTX
    if _CTX is None:
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(["numpy", "pydicom", "namecar_viewer.core.dicom"])
    return _CTX


def run_case(folder: Path, mutant: str, mutation: str) -> Outcome:
    ctx = _context()
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(str(folder), mutant, q))
    p.start()
    p.join(TIME_LIMIT_S)
    if p.is_alive():
        p.kill()
        p.join()
        return Outcome(mutation, "timeout", f"more than {TIME_LIMIT_S:g} s", False)
    try:
        kind, detail, neighbours = q.get(timeout=5)
    except Exception:  # noqa: BLE001 - the child died without a word (killed by the limit)
        return Outcome(mutation, "memory", f"child exit code {p.exitcode}", False)
    return Outcome(mutation, kind, detail, neighbours)
