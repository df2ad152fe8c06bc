"""Turn a scanned stack into a ``Volume``: modality values, an exact affine, problems named.

Native little-endian files are read straight into the final array (no intermediate copies, both
cores through a thread pool, since file reads and numpy release the GIL); everything else goes
through pydicom's pixel handlers (RLE, JPEG, JPEG-LS, JPEG 2000, deflate, big endian), decoded in
worker processes when there are enough files to repay the start-up.  Rescale slope and intercept
are applied per frame (PET slices carry their own slopes); CT stays int16 when that is exact.
"""

from __future__ import annotations

import ctypes
import functools
import io
import mmap
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.dicom.geometry_plan import GeometryPlan, plan_geometry
from namecar_viewer.core.dicom.model import InstanceRef, Stack
from namecar_viewer.core.dicom.scan import scan
from namecar_viewer.core.geometry.volume import Volume
from namecar_viewer.core.problems import DicomInputError, Problem, Severity

LoadProgress = Callable[[int, int], None]
NATIVE_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
INT16_MIN, INT16_MAX = -32768, 32767


class LoadCancelled(Exception):
    """The reader cancelled a load; nothing partial is returned."""


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _is_native(inst: InstanceRef) -> bool:
    p = inst.pixel
    return bool(
        p is not None
        and p.transfer_syntax in NATIVE_LE
        and p.pixel_offset is not None
        and p.pixel_length is not None
        and p.samples_per_pixel == 1
        and p.bits_allocated in (8, 16, 32)
        and inst.member is None
        and (inst.frame is None or _frame_fits(inst))
        and inst.tile is None
    )


def _frame_fits(inst: InstanceRef) -> bool:
    """Frame ``inst.frame`` of a native multi-frame file lies whole inside its Pixel Data, so it
    is read at its offset (a volume of an enhanced 4D object without decoding the others)."""
    p = inst.pixel
    if p is None or p.pixel_length is None or inst.frame is None or inst.frame < 1:
        return False
    return inst.frame * inst.rows * inst.columns * (p.bits_allocated // 8) <= p.pixel_length


def _stored_dtype(inst: InstanceRef) -> np.dtype[Any]:
    p = inst.pixel
    assert p is not None
    key = (p.pixel_representation == 1, p.bits_allocated)
    dt = _STORED.get(key)
    if dt is None:
        dt = _STORED[key] = np.dtype(f"<{'i' if key[0] else 'u'}{p.bits_allocated // 8}")
    return dt


_STORED: dict[tuple[bool, int], np.dtype[Any]] = {}


def _int16_exact(instances: list[InstanceRef], modality: str) -> bool:
    """CT HU stay int16 when every slope is 1 and every intercept an integer (checked per slice)."""
    if modality != "CT":
        return False
    for inst in instances:
        p = inst.pixel
        if p is None or p.samples_per_pixel != 1 or p.bits_allocated > 16:
            return False
        if p.rescale_slope != 1.0 or p.rescale_intercept != int(p.rescale_intercept):
            return False
        if abs(p.rescale_intercept) > INT16_MAX - INT16_MIN:
            return False  # no stored value lands in int16 with such an offset: float32
    return True


HTJ2K_SYNTAXES = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
J2K_SYNTAXES = {
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201",  # HTJ2K lossless
    "1.2.840.10008.1.2.4.202",  # HTJ2K lossless RPCL
    "1.2.840.10008.1.2.4.203",  # HTJ2K
}


def _decode_one(inst: InstanceRef, n_frames_wanted: int) -> npt.NDArray[Any]:
    """Decode one file: JPEG 2000 frames straight through imagecodecs when it can, else pydicom."""
    fast = _decode_j2k_imagecodecs(inst) if n_frames_wanted == 1 else None
    return fast if fast is not None else decode_file(inst.path, inst.member)


def _decode_j2k_imagecodecs(inst: InstanceRef) -> npt.NDArray[Any] | None:
    """JPEG 2000 / HTJ2K single frame with imagecodecs (OpenJPEG, releases the GIL).

    Used only where the result is unambiguous: one grey sample, the codestream's signedness
    equal to PixelRepresentation (0028,0103); anything else goes through pydicom, which applies
    its corrections for such mismatches.
    """
    p = inst.pixel
    if (
        p is None
        or p.transfer_syntax not in J2K_SYNTAXES
        or p.pixel_offset is None
        or p.pixel_length is not None  # encapsulated data has undefined length
        or p.samples_per_pixel != 1
        or inst.member is not None
        or inst.frame not in (None, 1)
    ):
        return None
    try:
        import imagecodecs
        from pydicom.encaps import generate_frames
    except ImportError:
        return None
    with open(inst.path, "rb") as f:
        f.seek(p.pixel_offset)
        data = f.read()
    try:
        frame = next(generate_frames(data, number_of_frames=1))
        if p.transfer_syntax in HTJ2K_SYNTAXES:
            arr = imagecodecs.htj2k_decode(frame)
        else:
            arr = imagecodecs.jpeg2k_decode(frame, numthreads=1)
    except Exception:  # noqa: BLE001 - pydicom's path will report the real reason
        return None
    signed = arr.dtype.kind == "i"
    if arr.ndim != 2 or signed != (p.pixel_representation == 1) or arr.itemsize > 2:
        return None
    return np.asarray(arr[None, ...])


def decode_file(path: str, member: str | None) -> npt.NDArray[Any]:
    """Decode every frame of one file with pydicom: shape (frames, rows, cols[, samples])."""
    from pydicom import dcmread

    where = path if member is None else f"{path}!{member}"
    if member is not None:
        import zipfile

        with zipfile.ZipFile(path) as zf:
            fp: Any = io.BytesIO(zf.read(member))
    else:
        fp = path
    fp = _inflated_if_deflated(fp, where)
    ds = dcmread(fp, force=True)
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DicomInputError(f"{path}: no pixel data")
    _check_codestreams(ds, where)
    if "TransferSyntaxUID" not in ds.file_meta:
        # Files without a File Meta header (ACR-NEMA style): say what pydicom read them as.
        from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

        implicit = ds.original_encoding[0]
        ds.file_meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        )
    try:
        arr = ds.pixel_array
    except BaseException as exc:
        # a decoder written in Rust (pylibjpeg-rle) panics on some corrupt fragments, and its
        # PanicException is a BaseException: said as the file's problem like any other
        if isinstance(exc, (Exception, KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DicomInputError(
            f"{where}: pixel data cannot be decoded ({type(exc).__name__}: {exc})"
        ) from None
    if str(ds.get("PhotometricInterpretation", "")) == "PALETTE COLOR":
        from pydicom.pixels.processing import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        arr = (rgb >> 8).astype(np.uint8) if rgb.dtype.itemsize > 1 else rgb.astype(np.uint8)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    spp = (
        3
        if arr.ndim >= 3 and arr.shape[-1] == 3 and frames == 1
        else int(ds.get("SamplesPerPixel", 1) or 1)
    )
    if frames == 1 and (arr.ndim == 2 or (spp > 1 and arr.ndim == 3)):
        arr = arr[None, ...]
    return np.asarray(arr)


def _inflated_if_deflated(fp: Any, where: str) -> Any:
    """A deflated file inflated with a cap from its own header (never a decompression bomb)."""
    from pydicom import dcmread

    from namecar_viewer.core.dicom.header_checks import (
        DEFLATED_TS,
        INFLATE_HEADER_CAP_BYTES,
        INFLATE_MARGIN_BYTES,
        MEMORY_BUDGET_BYTES,
        inflated_file,
    )

    if isinstance(fp, io.BytesIO):
        raw = fp.getvalue()
    else:
        with open(fp, "rb") as f:
            head = f.read(2048)
            if DEFLATED_TS.encode() not in head:
                return fp
            raw = head + f.read()
    if DEFLATED_TS.encode() not in raw[:2048]:
        return fp if not isinstance(fp, io.BytesIO) else io.BytesIO(raw)
    try:
        header = dcmread(
            io.BytesIO(inflated_file(raw, INFLATE_HEADER_CAP_BYTES, where, True)),
            stop_before_pixels=True,
            force=True,
        )
        rows = int(header.get("Rows", 0) or 0)
        cols = int(header.get("Columns", 0) or 0)
        frames = int(header.get("NumberOfFrames", 1) or 1)
        spp = int(header.get("SamplesPerPixel", 1) or 1)
        bits = int(header.get("BitsAllocated", 16) or 16)
        expected = rows * cols * frames * spp * max(bits, 8) // 8
        cap = min(expected + INFLATE_MARGIN_BYTES, MEMORY_BUDGET_BYTES)
        return io.BytesIO(inflated_file(raw, cap, where))
    except ValueError as exc:
        raise DicomInputError(str(exc) if where in str(exc) else f"{where}: {exc}") from exc


def _check_codestreams(ds: Any, where: str) -> None:
    """Refuse before decoding a compressed frame whose codestream declares another size than
    Rows x Columns (a few kilobytes can declare gigabytes)."""
    from namecar_viewer.core.dicom.header_checks import check_codestream

    ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
    if not ts or not getattr(ds.file_meta.TransferSyntaxUID, "is_compressed", False):
        return
    from pydicom.encaps import generate_frames

    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        # every frame: one changed frame 13 of 30 declaring 65535 x 65535 (a seeded fuzz) is
        # 12 GiB to decode; reading a frame's markers up to its size costs microseconds
        for n, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=frames)):
            why = check_codestream(frame, rows, cols, where)
            if why:
                raise DicomInputError(f"{why} (frame {n + 1})")
    except DicomInputError:
        raise
    except Exception:  # noqa: BLE001 - pydicom's decoder reports malformed encapsulation
        return


def _read_native_into(
    inst: InstanceRef, dest: npt.NDArray[Any], scratch_dtype: np.dtype[Any]
) -> tuple[float, float]:
    """Read one native frame straight from disk into ``dest`` (rescaled); return its min/max.

    For an int16 ``dest`` the min/max are those of the values after the intercept (only the
    bound the intercept can push out of int16 is computed; the other is the stored type's
    limit); when one is out of int16 the caller reloads the stack as float32 and ``dest`` is
    left as it is.
    """
    p = inst.pixel
    assert p is not None and p.pixel_offset is not None
    stored = _stored_dtype(inst)
    nbytes = dest.size * stored.itemsize
    offset = p.pixel_offset + ((inst.frame or 1) - 1) * nbytes
    int16 = dest.dtype.num == _INT16_NUM
    aliased = stored.itemsize == dest.itemsize and dest.flags.c_contiguous
    if aliased:
        got = _read_at(inst.path, dest.data.cast("B"), offset)
    else:
        buf = bytearray(nbytes)
        got = _read_at(inst.path, memoryview(buf), offset)
    if got != nbytes:
        raise DicomInputError(f"{inst.path}: truncated pixel data ({got} of {nbytes} bytes)")
    raw = dest.view(stored) if aliased else np.frombuffer(buf, dtype=stored).reshape(dest.shape)
    if p.bits_stored is not None:
        _keep_stored_bits(raw, p.bits_stored)
    if int16:
        if not aliased:
            dest[...] = raw  # 8-bit: exact
        bounds = _to_int16(dest, stored, int(p.rescale_intercept), p.bits_stored)
        if p.rows_reversed:
            dest[...] = dest[::-1].copy()
        return bounds
    vals = raw.astype(np.float32)  # a copy even when ``raw`` aliases ``dest``
    slope, intercept = p.rescale_slope, p.rescale_intercept
    if slope != 1.0:
        vals *= np.float32(slope)
    if intercept != 0.0:
        vals += np.float32(intercept)
    dest[...] = vals[::-1] if p.rows_reversed else vals
    return 0.0, 0.0


_INT16_NUM = np.dtype(np.int16).num
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_PREADV: Callable[[int, list[memoryview], int], int] | None = getattr(os, "preadv", None)


def _read_at(path: str, into: memoryview, offset: int) -> int:
    """Read ``len(into)`` bytes of ``path`` from ``offset`` into ``into``; the count read."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if _PREADV is not None:
            want = len(into)
            got = _PREADV(fd, [into], offset)
            while 0 < got < want:  # a short read happens only at the end of the file
                n = _PREADV(fd, [into[got:]], offset + got)
                if n == 0:
                    break
                got += n
            return got
        os.lseek(fd, offset, os.SEEK_SET)
        with open(fd, "rb", buffering=0, closefd=False) as f:
            return f.readinto(into) or 0
    finally:
        os.close(fd)


def _keep_stored_bits(raw: npt.NDArray[Any], bits_stored: int) -> None:
    """The value of each stored word is its low ``bits_stored`` bits (PS3.5 8.1.1): the bits
    above are cleared, or for signed data set from the value's sign bit (sign extension)."""
    width = raw.dtype.itemsize * 8
    if not 0 < bits_stored < width:
        return
    if raw.dtype.kind == "i":
        shift = raw.dtype.type(width - bits_stored)
        np.left_shift(raw, shift, out=raw)
        np.right_shift(raw, shift, out=raw)  # arithmetic: the sign comes back down
    else:
        np.bitwise_and(raw, raw.dtype.type((1 << bits_stored) - 1), out=raw)


def _to_int16(
    dest: npt.NDArray[Any], stored: np.dtype[Any], intercept: int, bits_stored: int | None = None
) -> tuple[float, float]:
    """Add ``intercept`` in place to the stored values in the int16 ``dest``, exactly.

    ``dest`` holds the stored values (their bits for 16-bit storage, signed or not).  The
    stored type's bounds say which side the intercept can push out of int16 (stored int16 with
    intercept -1024: only the minimum; uint16: only the maximum); only that reduction is
    computed, and none when ``bits_stored`` (the values already reduced to those bits) bounds
    them inside int16.  When the results fit, the sum is a 16-bit wrap-around add on the bits,
    exact for every result inside int16: no int32 temporary, one pass.  Returns the results'
    min/max (a bound that cannot be passed is given as the stored range's limit plus the
    intercept); when out of int16 ``dest`` is left unchanged and the caller reloads the stack as
    float32.
    """
    limits = _LIMITS.get((stored, bits_stored))
    if limits is None:
        info = np.iinfo(stored)
        limits = (int(info.min), int(info.max))
        if bits_stored is not None and 0 < bits_stored < stored.itemsize * 8:
            if stored.kind == "i":
                limits = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1)
            else:
                limits = (0, (1 << bits_stored) - 1)
        _LIMITS[(stored, bits_stored)] = limits
    lo = limits[0] + intercept
    hi = limits[1] + intercept
    values = dest.view(stored) if stored.itemsize == 2 else dest
    if lo < INT16_MIN:
        lo = int(values.min()) + intercept
    if hi > INT16_MAX:
        hi = int(values.max()) + intercept
    if lo < INT16_MIN or hi > INT16_MAX:
        return float(lo), float(hi)
    if intercept:
        bits = dest.view(np.uint16)
        np.add(bits, np.uint16(intercept & 0xFFFF), out=bits)
    return float(lo), float(hi)


_LIMITS: dict[tuple[np.dtype[Any], int | None], tuple[int, int]] = {}


def load_stack(
    stack: Stack,
    progress: LoadProgress | None = None,
    cancel: threading.Event | None = None,
    destination: Destination | None = None,
) -> Volume:
    """Load one scanned stack as a Volume; raises DicomInputError naming the file when it cannot.

    ``destination`` may offer memory already mapped for the array (see ``Destination``).
    """
    if not stack.loadable:
        reasons = "; ".join(str(p) for p in stack.problems if p.severity is Severity.ERROR)
        raise DicomInputError(
            f"stack {stack.series_description or stack.key} is not loadable: {reasons}"
        )
    instances = stack.instances
    planned = stack.planned
    if planned is not None and planned[0] is instances and len(planned[1].order) == len(instances):
        plan: GeometryPlan = planned[1]
    else:
        plan = plan_geometry(instances)
    src = [instances[i] for i in plan.order]
    m = len(src)
    first = src[0]
    rows, cols = first.rows, first.columns
    spp = first.pixel.samples_per_pixel if first.pixel else 1
    if first.pixel and first.pixel.photometric == "PALETTE COLOR":
        spp = 3  # indices become RGB through the palette in decode_file
    problems = list(stack.problems)
    int16 = _int16_exact(src, stack.modality)
    if spp > 1:
        eight_bit = first.pixel is None or first.pixel.bits_allocated == 8
        palette = first.pixel is not None and first.pixel.photometric == "PALETTE COLOR"
        dtype: np.dtype[Any] = np.dtype(np.uint8) if eight_bit or palette else np.dtype(np.float32)
        shape: tuple[int, ...] = (m, rows, cols, spp)
    else:
        dtype = np.dtype(np.int16) if int16 else np.dtype(np.float32)
        shape = (m, rows, cols)
    offered = destination.take(shape, dtype) if destination is not None else None
    data = offered if offered is not None else np.empty(shape, dtype=dtype)
    done = 0
    lock = threading.Lock()
    failures: list[tuple[int, str]] = []
    overflow = False

    def tick() -> None:
        nonlocal done
        with lock:
            done += 1
            d = done
        if progress is not None:
            progress(d, m)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise LoadCancelled

    native = [k for k, inst in enumerate(src) if _is_native(inst) and spp == 1]
    native_set = set(native)
    other = [k for k in range(m) if k not in native_set]

    def do_native(k: int) -> None:
        nonlocal overflow
        check_cancel()
        try:
            lo, hi = _read_native_into(src[k], data[k], dtype)
            if dtype == np.int16 and (lo < INT16_MIN or hi > INT16_MAX):
                overflow = True
        except (OSError, DicomInputError, ValueError) as exc:
            failures.append((k, _failure(src[k], exc)))
        tick()

    # one task per worker, not per slice (a task costs more than a slice's read); the workers
    # take the slices one by one from a shared iterator, so a worker on a core that is held up
    # reads fewer (on the project's VM the second core stalls now and then for tenths of a
    # second, and with a fixed half each the load waited for it)
    slices = iter(native)
    taking = threading.Lock()  # next() alone is atomic only under the GIL

    def do_natives(_: int) -> None:
        while True:
            with taking:
                k = next(slices, None)
            if k is None:
                return
            do_native(k)

    workers = _workers()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(do_natives, range(workers)))
    if other and _decode_other(src, other, data, dtype, failures, tick, check_cancel):
        overflow = True
    if overflow:
        # HU beyond int16: reload as float32 so no value is clipped.
        data = np.empty(shape, dtype=np.float32)
        failures.clear()
        for k in native:
            try:
                _read_native_into(src[k], data[k], data.dtype)
            except (OSError, DicomInputError, ValueError) as exc:
                failures.append((k, _failure(src[k], exc)))
        if other:
            _decode_other(src, other, data, data.dtype, failures, lambda: None, check_cancel)
    for k, reason in failures:
        problems.append(
            Problem(
                "unreadable-pixels",
                f"pixel data cannot be decoded: {reason}",
                Severity.WARNING,
                (_name(src[k]),),
            )
        )
    if len(failures) == m:
        raise DicomInputError(
            f"no image of stack {stack.series_description or stack.key} could be decoded: "
            f"{failures[0][1]}"
        )
    fill = _fill_value(data, {k for k, _ in failures})
    for k, _ in failures:
        data[k] = fill
    volume_array = data if plan.is_direct else _apply_slots(data, plan, fill)
    return _volume(stack, plan, src, volume_array, problems)


def _volume(
    stack: Stack,
    plan: GeometryPlan,
    src: list[InstanceRef],
    array: npt.NDArray[Any],
    problems: list[Problem],
) -> Volume:
    first = src[0]
    sop_uids = _per_slot(plan, [s.sop_instance_uid for s in src], "")
    frames = _per_slot(plan, [s.frame for s in src], None)
    files = _per_slot(plan, [_name(s) for s in src], "")
    photometric = first.pixel.photometric if first.pixel else "MONOCHROME2"
    return Volume(
        array=array,
        affine=plan.affine,
        frame_of_reference_uid=stack.frame_of_reference_uid,
        modality=stack.modality,
        sop_instance_uids=tuple(sop_uids),
        series_instance_uid=stack.series_instance_uid,
        study_instance_uid=stack.study_instance_uid,
        frame_numbers=tuple(frames),
        files=tuple(files),
        metadata={
            "problems": problems,
            "calibrated": plan.calibrated,
            "photometric": photometric,
            "blank_slices": [k for k, sl in enumerate(plan.slots) if not sl],
            "label": stack.label,
            "series_description": stack.series_description,
            "stack_key": stack.key,
            "slice_thickness": first.slice_thickness,
            **_value_metadata(stack),
        },
    )


def _value_metadata(stack: Stack) -> dict[str, Any]:
    """The unit and value mapping of a stack's values, when its files state them (MR maps)."""
    out: dict[str, Any] = {}
    units = stack.units or str(stack.header.get("units", "") or "")
    values = stack.values or str(stack.header.get("values", "") or "")
    if units:
        out["units"] = units
    if values:
        out["values"] = values
    return out


def _failure(inst: InstanceRef, exc: BaseException, named: bool = True) -> str:
    """Why one image could not be read, naming its file.  A file that cannot be opened is said
    by the system's reason ("No such file or directory"), not in Python's "[Errno 2] ...: path"
    form; other errors name the file already when ``named``."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{_name(inst)}: cannot be read: {exc.strerror}"
    return str(exc) if named else f"{_name(inst)}: {exc}"


def _name(inst: InstanceRef) -> str:
    name = inst.path if inst.member is None else f"{inst.path}!{inst.member}"
    if inst.tile is not None:
        return f"{name} (tile {inst.tile.index + 1})"
    return name if inst.frame is None else f"{name} (frame {inst.frame})"


def _slice_of(frame: npt.NDArray[Any], inst: InstanceRef) -> npt.NDArray[Any]:
    """The instance's slice of a decoded frame: the frame itself, or its tile of a mosaic;
    its rows put back in order when they are stored reversed (``PixelInfo.rows_reversed``)."""
    t = inst.tile
    if t is None:
        return frame[::-1] if inst.pixel is not None and inst.pixel.rows_reversed else frame
    if frame.shape[:2] != (t.frame_rows, t.frame_cols):
        raise DicomInputError(
            f"{_name(inst)}: decoded mosaic size {frame.shape[:2]} differs from Rows/Columns "
            f"{(t.frame_rows, t.frame_cols)}"
        )
    return frame[t.row : t.row + inst.rows, t.col : t.col + inst.columns]


def _per_slot(plan: GeometryPlan, values: list[Any], blank: Any) -> list[Any]:
    out = []
    for sl in plan.slots:
        if len(sl) == 1 and sl[0][1] == 1.0:
            out.append(values[sl[0][0]])
        elif sl:
            best = max(sl, key=lambda t: t[1])  # nearest source of an interpolated slice
            out.append(values[best[0]])
        else:
            out.append(blank)
    return out


def _fill_value(data: npt.NDArray[Any], skip: set[int]) -> Any:
    good = [k for k in range(data.shape[0]) if k not in skip]
    if not good:
        return 0
    return min(data[k].min() for k in good[:: max(1, len(good) // 16)])


def _apply_slots(data: npt.NDArray[Any], plan: GeometryPlan, fill: Any) -> npt.NDArray[Any]:
    out = np.empty(
        (plan.n_slices, *data.shape[1:]),
        dtype=data.dtype if all(len(s) <= 1 for s in plan.slots) else np.float32,
    )
    for k, sl in enumerate(plan.slots):
        if not sl:
            out[k] = fill
        elif len(sl) == 1:
            out[k] = data[sl[0][0]]
        else:
            (a, wa), (b, wb) = sl
            out[k] = data[a].astype(np.float32) * wa + data[b].astype(np.float32) * wb
    return out


def _store_frame(
    data: npt.NDArray[Any], k: int, frame: npt.NDArray[Any], inst: InstanceRef
) -> bool:
    """Put one decoded frame into slot ``k`` as modality values; True if int16 overflowed."""
    if frame.shape[:2] != data.shape[1:3]:
        raise DicomInputError(
            f"{_name(inst)}: decoded size {frame.shape[:2]} differs from "
            f"Rows/Columns {data.shape[1:3]}"
        )
    p = inst.pixel
    slope = p.rescale_slope if p else 1.0
    intercept = p.rescale_intercept if p else 0.0
    dtype = data.dtype
    if dtype == np.int16:
        if intercept == 0 and frame.dtype in (np.int16, np.int8, np.uint8):
            data[k] = frame  # already exact int16 values
            return False
        wide = frame.astype(np.int32)
        wide += int(intercept)
        if int(wide.min()) < INT16_MIN or int(wide.max()) > INT16_MAX:
            return True  # the caller reloads the stack as float32
        data[k] = wide
    elif dtype == np.uint8:
        data[k] = frame
    else:
        vals = frame.astype(np.float32)
        if slope != 1.0:
            vals *= np.float32(slope)
        if intercept != 0.0:
            vals += np.float32(intercept)
        data[k] = vals
    return False


def _decode_other(
    src: list[InstanceRef],
    ks: list[int],
    data: npt.NDArray[Any],
    dtype: np.dtype[Any],
    failures: list[tuple[int, str]],
    tick: Callable[[], None],
    check_cancel: Callable[[], None],
) -> bool:
    """Decode compressed or unusual files, one task per file; each task stores its frames.

    Returns True when values do not fit the int16 array (the caller reloads as float32).

    Decoding and rescaling both run in the workers (the decoders and numpy release the GIL),
    so both cores do the work and this thread only waits.
    """
    by_file: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for k in ks:
        by_file[(src[k].path, src[k].member)].append(k)
    keys = list(by_file)

    overflow = False

    def decode_and_store(slots: list[int]) -> list[tuple[int, str]]:
        nonlocal overflow
        arr = _decode_one(src[slots[0]], len(slots))
        failed = []
        for k in slots:
            inst = src[k]
            try:
                if _store_frame(data, k, _slice_of(arr[(inst.frame or 1) - 1], inst), inst):
                    overflow = True
            except Exception as exc:  # noqa: BLE001 - a bad frame is reported, the rest loads
                failed.append((k, str(exc)))
        return failed

    # Threads, not processes: the decoders used release the GIL, and forking a process that
    # runs Qt threads is unsafe.
    executor: Executor = ThreadPoolExecutor(_workers() if len(keys) > 1 else 1)
    with executor as pool:
        futures = {key: pool.submit(decode_and_store, by_file[key]) for key in keys}
        try:
            for key in keys:
                check_cancel()
                try:
                    failures.extend(futures[key].result())
                except Exception as exc:  # noqa: BLE001 - a bad file is reported, the rest loads
                    for k in by_file[key]:
                        failures.append((k, _failure(src[k], exc, named=False)))
                for _ in by_file[key]:
                    tick()
        except LoadCancelled:
            for f in futures.values():
                f.cancel()  # files not started yet are not decoded
            raise
    return overflow


class Destination:
    """The volume's memory, mapped on the other core while the headers are still being read.

    Reading 200 MB into a new array costs a third more than into mapped memory: the kernel
    zeroes every page on first touch.  When a scan meets its first image it knows the likely
    shape (every file one slice of that size) and dtype, so this maps that array in a thread
    and ``load_stack`` uses it if the stack turns out to have exactly that shape and dtype;
    otherwise it is dropped before the real array is allocated, so peak memory never holds
    both.  Where the kernel can map pages without writing them (``MADV_POPULATE_WRITE``,
    Linux 5.14), the load never waits for the thread: now and then the kernel takes half a
    second to find huge pages, and the slices read meanwhile map their own.
    """

    MIN_BYTES = 32 * 2**20  # below this the thread costs more than the page faults
    MAX_BYTES = 2**30  # a folder this big likely holds several series: no guess

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._array: npt.NDArray[Any] | None = None
        self._wrong = False
        self._untouched = False  # pages mapped without writing: usable while it runs

    def first_image(self, first: InstanceRef, modality: str, n_files: int) -> None:
        """Start mapping (n_files, rows, columns) of the dtype ``load_stack`` would choose."""
        p = first.pixel
        if self._thread is not None or p is None or p.samples_per_pixel != 1 or first.frame:
            return
        dtype = np.dtype(np.int16) if _int16_exact([first], modality) else np.dtype(np.float32)
        shape = (n_files, first.rows, first.columns)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if not self.MIN_BYTES <= nbytes <= self.MAX_BYTES:
            return
        arr = np.empty(shape, dtype=dtype)  # address space only: no page is mapped yet
        self._array = arr
        self._untouched = populate_pages(arr[:1])  # one slice now: can the kernel do it?

        def touch() -> None:
            if not self._untouched:
                # one write per 4 KiB page maps the page (the kernel zeroes it); numpy
                # releases the GIL for a loop this long, so the scan goes on meanwhile
                arr.reshape(-1)[:: max(1, 4096 // dtype.itemsize)] = 0
            else:
                populate_pages(arr)  # in the kernel, the GIL released
            if self._wrong:
                self._array = None  # a wrong guess is let go at once

        self._thread = threading.Thread(target=touch, name="volume-memory", daemon=True)
        self._thread.start()

    def another_series(self) -> None:
        """The guess is wrong (every file is not one slice of one series): drop it."""
        self._wrong = True
        if self._thread is not None and not self._thread.is_alive():
            self._array = None  # touched already: let it go now, not after the scan

    def take(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> npt.NDArray[Any] | None:
        """The mapped array if it has this shape and dtype; None (and freed) otherwise."""
        if self._thread is None:
            return None
        arr = self._array
        fits = arr is not None and not self._wrong and arr.shape == shape and arr.dtype == dtype
        if not (fits and self._untouched):
            # zeros still being written, or a wrong guess: freed before the real array exists
            self._thread.join()
        self._array, self._thread = None, None
        return arr if fits else None


_MADV_POPULATE_WRITE = 23  # Linux 5.14: map pages writable as a write would, contents kept


@functools.lru_cache(maxsize=1)
def _libc_madvise() -> Callable[[int, int, int], int] | None:
    """The C library's madvise, on Linux; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def populate_pages(arr: npt.NDArray[Any]) -> bool:
    """Map the whole pages of ``arr``'s memory now, without writing to them; False where the
    system cannot (not Linux, a kernel before 5.14): nothing is done then."""
    madvise = _libc_madvise()
    if madvise is None:
        return False
    address = arr.ctypes.data
    start = -(-address // mmap.PAGESIZE) * mmap.PAGESIZE
    end = (address + arr.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    if end <= start:
        return True  # no whole page: the read maps it
    # a ctypes call releases the GIL for as long as the kernel works
    return bool(madvise(start, end - start, _MADV_POPULATE_WRITE) == 0)


def load_series(paths: Iterable[str | os.PathLike[str]]) -> Volume:
    """Scan ``paths`` and load the largest image stack found there as a Volume.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> v = load_series([get_testdata_file("CT_small.dcm")])
    >>> v.shape, v.modality, v.array.dtype.name
    ((1, 128, 128), 'CT', 'int16')
    """
    destination = Destination()
    report = scan([str(p) for p in paths], watcher=destination)
    candidates = [s for s in report.stacks if s.loadable]
    if not candidates:
        reasons = "; ".join(f"{u.path}: {u.reason}" for u in report.unreadable[:5])
        raise DicomInputError(f"no loadable image stack found{': ' + reasons if reasons else ''}")
    candidates.sort(key=lambda s: (not s.is_localizer, len(s.instances)), reverse=True)
    volume = load_stack(candidates[0], destination=destination)
    destination.take((), np.dtype(np.int16))  # not used: free it
    problems: list[Problem] = volume.metadata["problems"]
    for u in report.unreadable:
        problems.append(Problem("unreadable-file", u.reason, Severity.WARNING, (u.path,)))
    if len(candidates) > 1:
        problems.append(
            Problem(
                "other-stacks",
                f"{len(candidates) - 1} other stack(s) found and not loaded: "
                + ", ".join(f"{s.series_description} {s.label}".strip() for s in candidates[1:5]),
                Severity.INFO,
            )
        )
    return volume
