"""Series loading speed and memory against SimpleITK and a plain read of the same bytes.

Writes a 400-slice 512x512 int16 CT series (and 100 slices of it as RLE and as JPEG 2000
lossless), warms the page cache, then prints median times of ``load_series``, SimpleITK's
ImageSeriesReader and a plain read of every file's bytes, all in this process, with the ratios.
Peak memory is measured in a fresh subprocess (VmHWM above the interpreter's baseline after
imports) and compared with the volume's bytes.

Goals (issue 2): uncompressed within 3x of the plain read and at least 6x faster than SimpleITK;
compressed at most 0.6x SimpleITK's time; peak memory at most 1.2x the volume's bytes.

    python benchmarks/bench_load.py [--slices 400] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MEMORY_PROBE = """
import sys, json
import numpy, pydicom
from namecar_viewer.core.dicom import load_series
import namecar_viewer.core.dicom.loader, namecar_viewer.core.dicom.scan

def hwm_kb():
    # VmHWM is the peak RSS of this program image (ru_maxrss survives exec from a big parent)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

base = hwm_kb()
v = load_series([sys.argv[1]])
peak = hwm_kb()
print(json.dumps({"base_kb": base, "peak_kb": peak, "volume_bytes": int(v.array.nbytes)}))
"""


def write_series(folder: Path, n: int, transfer_syntax: str | None = None) -> list[Path]:
    """A synthetic abdomen-like CT: body ellipse, organs, noise; int16 stored, HU = stored."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:512, 0:512]
    body = ((xx - 256) / 220.0) ** 2 + ((yy - 256) / 160.0) ** 2 <= 1
    organ = ((xx - 200) / 60.0) ** 2 + ((yy - 230) / 50.0) ** 2 <= 1
    base = np.where(body, 40, -1000).astype(np.int16)
    base[organ] = 120
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for k in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        sop = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
        ds.PatientName, ds.PatientID = "BENCH^CT", "BENCH"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, k + 1
        ds.ImagePositionPatient = [-200.0, -200.0, -500.0 + 1.25 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.78125, 0.78125]
        ds.SliceThickness = 1.25
        ds.Rows = ds.Columns = 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, 0, "HU"
        noise = rng.normal(0, 12, (512, 512)).astype(np.int16)
        ds.PixelData = (base + np.where(body, noise, 0)).astype("<i2").tobytes()
        if transfer_syntax is not None:
            ds.compress(transfer_syntax)
        path = folder / f"CT{k:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: page cache, imports, thread pools
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def plain_read(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        with open(p, "rb") as f:
            total += len(f.read())
    return total


def floor_read(paths: list[Path]) -> object:
    """The least any loader pays: each file's pixel bytes read into one new array.

    The offsets are known in advance (these files end with their 512x512 int16 Pixel Data), so
    no header is parsed and nothing is sorted; the time is the page cache copy plus the kernel
    mapping the array's new pages.
    """
    import os

    nbytes = 512 * 512 * 2
    out = np.empty((len(paths), 512, 512), dtype=np.int16)
    for k, p in enumerate(paths):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.preadv(fd, [out[k].data.cast("B")], os.fstat(fd).st_size - nbytes)
        finally:
            os.close(fd)
    return out


def sitk_read(paths: list[Path]) -> object:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(p) for p in paths])
    return reader.Execute()


def ours(folder: Path) -> object:
    from namecar_viewer.core.dicom import load_series

    return load_series([folder]).array


def memory(folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(out.stdout)
    above = (d["peak_kb"] - d["base_kb"]) * 1024
    return {"peak_above_baseline_mb": above / 2**20, "ratio": above / d["volume_bytes"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=400)
    ap.add_argument("--compressed-slices", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="write the series here and keep them")
    args = ap.parse_args()
    from pydicom.uid import JPEG2000Lossless, RLELossless

    tmp = tempfile.TemporaryDirectory()
    root = args.keep or Path(tmp.name)
    cases = [
        ("uncompressed", None, args.slices),
        ("RLE", RLELossless, args.compressed_slices),
        ("JPEG 2000 lossless", JPEG2000Lossless, args.compressed_slices),
    ]
    results = {}
    for name, ts, n in cases:
        folder = root / name.replace(" ", "_")
        t = time.perf_counter()
        paths = sorted(folder.glob("*.dcm")) if folder.exists() else []
        if len(paths) != n:
            paths = write_series(folder, n, ts)
        print(f"{name}: {n} slices of 512x512 written in {time.perf_counter() - t:.1f} s")
        t_plain = median_time(lambda p=paths: plain_read(p), args.repeat)
        t_sitk = median_time(lambda p=paths: sitk_read(p), args.repeat)
        t_ours = median_time(lambda f=folder: ours(f), args.repeat)
        import SimpleITK as sitk

        a, b = np.asarray(ours(folder)), sitk.GetArrayFromImage(sitk_read(paths))
        same = bool(np.array_equal(a, b))
        results[name] = (t_ours, t_sitk, t_plain)
        print(
            f"  ours {t_ours * 1e3:8.1f} ms | SimpleITK {t_sitk * 1e3:8.1f} ms | plain read "
            f"{t_plain * 1e3:8.1f} ms | ours/plain {t_ours / t_plain:5.2f}x | "
            f"SimpleITK/ours {t_sitk / t_ours:5.2f}x | ours/SimpleITK {t_ours / t_sitk:5.2f} | "
            f"voxels identical to SimpleITK: {same}"
        )
        if name == "uncompressed":
            t_floor = median_time(lambda p=paths: floor_read(p), args.repeat)
            print(
                f"  floor (pixel bytes into a new array, no header read) {t_floor * 1e3:.1f} ms = "
                f"{t_floor / t_plain:.2f}x plain read; ours = {t_ours / t_floor:.2f}x the floor"
            )
            m = memory(folder)
            print(
                f"  peak memory above baseline {m['peak_above_baseline_mb']:.0f} MB = "
                f"{m['ratio']:.2f}x the volume's bytes"
            )
    t_ours, t_sitk, t_plain = results["uncompressed"]
    print("Goals:")
    print(f"  uncompressed within 3x of plain read: {t_ours / t_plain:.2f}x")
    print(f"  uncompressed at least 6x faster than SimpleITK: {t_sitk / t_ours:.2f}x")
    for name in ("RLE", "JPEG 2000 lossless"):
        o, s, _ = results[name]
        print(f"  {name} at most 0.6x SimpleITK's time: {o / s:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
