"""Header values checked for type and range before anything is computed from them or allocated.

Sites send whatever their scanners (or their anonymisers) write, and a hostile file can declare
anything: a NaN position, a frame count of a billion, Rows written as text, a rescale of 1e300,
a 5 KB codestream that says it is 65000 x 65000, a deflated stream that inflates to gigabytes.
Every check here returns the reason a file cannot be used, naming the element (tag and keyword)
and the value, so the scan lists that file as unreadable and its neighbours still load; decoding
and inflating are bounded by the file's own declared sizes and a memory budget.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

from namecar_viewer.core.dicom.fastheader import FastDataset

# Image size limits: US values (PS3.5) and a budget for one file's decoded pixels.
MAX_ROWS_COLUMNS = 65535
MAX_FRAMES = 100_000  # enhanced multi-frame objects hold thousands of frames, never more
MEMORY_BUDGET_BYTES = 4 * 1024**3  # decoded pixels of one file
MAX_ABS_POSITION_MM = 1.0e5  # 100 m: any real patient coordinate is far inside
MAX_PIXEL_SPACING_MM = 1.0e4
MAX_ABS_RESCALE = 1.0e15  # slope or intercept beyond this is not a modality value
ORIENTATION_TOLERANCE = 0.05  # row/column cosines: unit length and orthogonal within this
# A deflated file's inflated size is capped by what its header declares plus this margin.
INFLATE_MARGIN_BYTES = 64 * 1024**2
INFLATE_HEADER_CAP_BYTES = 16 * 1024**2  # enough for any header when only the header is read
DEFLATED_TS = "1.2.840.10008.1.2.1.99"

_TAGS = {
    "Rows": "(0028,0010)",
    "Columns": "(0028,0011)",
    "NumberOfFrames": "(0028,0008)",
    "BitsAllocated": "(0028,0100)",
    "BitsStored": "(0028,0101)",
    "PixelRepresentation": "(0028,0103)",
    "SamplesPerPixel": "(0028,0002)",
    "RescaleSlope": "(0028,1053)",
    "RescaleIntercept": "(0028,1052)",
    "ImagePositionPatient": "(0020,0032)",
    "ImageOrientationPatient": "(0020,0037)",
    "PixelSpacing": "(0028,0030)",
    "SliceThickness": "(0018,0050)",
}


def _pydicom_read_failures() -> tuple[type[BaseException], ...]:
    from pydicom.errors import BytesLengthException

    return (
        OSError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        NotImplementedError,
        OverflowError,
        RecursionError,
        struct.error,
        zlib.error,
        BytesLengthException,
    )


# What pydicom may raise while reading a damaged file or element: every reader of outside files
# (SR import, de-identification) turns these into its own named error, never a traceback.
PYDICOM_READ_FAILURES: tuple[type[BaseException], ...] = _pydicom_read_failures()


class _Bad(ValueError):
    """An element whose value cannot be read as the type its keyword needs."""


def named(keyword: str) -> str:
    return f"{keyword} {_TAGS.get(keyword, '')}".strip()


def _raw(ds: Any, keyword: str) -> Any:
    try:
        return ds.get(keyword)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds for garbage values
        raise _Bad(f"{named(keyword)} cannot be read ({exc})") from None


def _values(value: Any) -> list[Any]:
    """The element's values, empty ones left out (an empty DS is "absent", not garbage)."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        out = [value]
    else:
        try:
            out = list(value)
        except TypeError:
            out = [value]
    return [
        v for v in out if v not in ("", b"", None) and not (isinstance(v, str) and not v.strip())
    ]


def _float(keyword: str, v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise _Bad(f"{named(keyword)} is {str(v)[:40]!r}, not a number") from None
    if not math.isfinite(f):
        raise _Bad(f"{named(keyword)} is {str(v)[:40]!r}, not a finite number")
    return f


def _int(keyword: str, v: Any) -> int:
    f = _float(keyword, v)
    if f != int(f):
        raise _Bad(f"{named(keyword)} is {str(v)[:40]!r}, not a whole number")
    return int(f)


def int_value(ds: Any, keyword: str) -> int | None:
    """An integer element, None when absent; ``ValueError`` naming it when it is not one."""
    vals = _values(_raw(ds, keyword))
    if not vals or vals[0] in ("", None):
        return None
    return _int(keyword, vals[0])


def float_values(ds: Any, keyword: str, n: int) -> list[float] | None:
    """``n`` numbers, None when absent, of another count or not numbers (the geometry then
    treats the element as missing and says so); ``_Bad`` naming the element when a number is
    not finite (NaN, infinity), which nothing downstream can use."""
    vals = _values(_raw(ds, keyword))
    if len(vals) != n:
        return None
    out = []
    for v in vals:
        try:
            f = float(v)
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(f):
            raise _Bad(f"{named(keyword)} is {str(v)[:40]!r}, not a finite number")
        out.append(f)
    return out


# Elements most files of a series share byte for byte: checked once per layout (see
# ``FastDataset.memo``); the position and the rescale are checked for every file.
STRUCTURE_KEYWORDS = (
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "SamplesPerPixel",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
)
_NATIVE = ("", "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2")


def image_header_problem(ds: Any, file_size: int, transfer_syntax: str = "") -> str | None:
    """Why this image's header cannot be used (naming the element), or None when it can."""
    try:
        if isinstance(ds, FastDataset):
            why, decoded, frames = ds.memo(STRUCTURE_KEYWORDS, _structure)
        else:
            why, decoded, frames = _structure(ds)
        if why is not None:
            return str(why)
        if transfer_syntax in _NATIVE and frames > 1 and decoded > file_size:
            return (
                f"{named('NumberOfFrames')} {frames} frames need {decoded} bytes of pixels; "
                f"the file has {file_size}"
            )
        if transfer_syntax not in _NATIVE and frames > max(1, file_size // 2):
            return (
                f"{named('NumberOfFrames')} {frames} frames cannot fit in a {file_size}-byte file"
            )
        return _per_file(ds)
    except _Bad as bad:
        return str(bad)


def _structure(ds: Any) -> tuple[str | None, int, int]:
    """(reason or None, decoded pixel bytes, frames) from the elements in STRUCTURE_KEYWORDS."""
    try:
        return _structure_checked(ds)
    except _Bad as bad:
        return str(bad), 0, 1


def _structure_checked(ds: Any) -> tuple[str | None, int, int]:
    rows = int_value(ds, "Rows")
    cols = int_value(ds, "Columns")
    if rows is None or cols is None:
        missing = " and ".join(
            named(k) for k, v in (("Rows", rows), ("Columns", cols)) if v is None
        )
        return f"an image without {missing}: the header is cut short or damaged", 0, 1
    for k, v in (("Rows", rows), ("Columns", cols)):
        if not 1 <= v <= MAX_ROWS_COLUMNS:
            return f"{named(k)} is {v}: an image needs 1 to {MAX_ROWS_COLUMNS}", 0, 1
    try:
        frames = int_value(ds, "NumberOfFrames")
    except _Bad:
        # text that is no number at all ('1A' in a single-frame file): read as absent, as
        # pydicom does; a number out of range (inf, 1e9) is refused below or here
        raw = _values(_raw(ds, "NumberOfFrames"))
        try:
            float(raw[0])
        except (TypeError, ValueError, IndexError):
            frames = None
        else:
            raise
    if frames is not None and not 1 <= frames <= MAX_FRAMES:
        return f"{named('NumberOfFrames')} is {frames}: 1 to {MAX_FRAMES} expected", 0, 1
    frames = frames or 1
    bits = int_value(ds, "BitsAllocated")
    if bits is not None and bits not in (1, 8, 16, 32, 64):
        return f"{named('BitsAllocated')} is {bits}: 1, 8, 16, 32 or 64 expected", 0, 1
    bits = bits or 16
    stored = int_value(ds, "BitsStored")
    if stored is not None and not 1 <= stored <= bits:
        return f"{named('BitsStored')} is {stored} with {named('BitsAllocated')} {bits}", 0, 1
    rep = int_value(ds, "PixelRepresentation")
    if rep is not None and rep not in (0, 1):
        return f"{named('PixelRepresentation')} is {rep}: 0 or 1 expected", 0, 1
    spp = int_value(ds, "SamplesPerPixel")
    if spp is not None and spp not in (1, 3, 4):
        return f"{named('SamplesPerPixel')} is {spp}: 1, 3 or 4 expected", 0, 1
    spp = spp or 1
    decoded = rows * cols * frames * spp * max(bits, 8) // 8
    if decoded > MEMORY_BUDGET_BYTES:
        return (
            f"{named('Rows')} {rows} x {named('Columns')} {cols} x {frames} frame(s) x "
            f"{spp} sample(s) x {bits} bits is {decoded / 1024**3:.1f} GiB of pixels, beyond "
            f"the {MEMORY_BUDGET_BYTES / 1024**3:.0f} GiB budget of one file",
            decoded,
            frames,
        )
    iop = float_values(ds, "ImageOrientationPatient", 6)
    if iop is not None:
        r, c = iop[:3], iop[3:]
        nr = math.sqrt(sum(x * x for x in r))
        nc = math.sqrt(sum(x * x for x in c))
        dot = sum(a * b for a, b in zip(r, c, strict=True))
        if abs(nr - 1) > ORIENTATION_TOLERANCE or abs(nc - 1) > ORIENTATION_TOLERANCE:
            why = f"{named('ImageOrientationPatient')} is {iop}: not unit direction cosines"
            return why, decoded, frames
        if abs(dot) > ORIENTATION_TOLERANCE:
            why = f"{named('ImageOrientationPatient')} is {iop}: rows and columns not orthogonal"
            return why, decoded, frames
    ps = float_values(ds, "PixelSpacing", 2)
    # 0 or negative spacings (seen in real radiographs) are the geometry plan's to report
    if ps is not None and max(abs(x) for x in ps) > MAX_PIXEL_SPACING_MM:
        return f"{named('PixelSpacing')} is {ps}: beyond {MAX_PIXEL_SPACING_MM:g} mm", decoded, 1
    float_values(ds, "SliceThickness", 1)  # only a non-finite thickness is refused
    return None, decoded, frames


RESCALE_KEYWORDS = ("RescaleSlope", "RescaleIntercept")


def _rescale(ds: Any) -> str | None:
    """Why the rescale cannot be used, from the elements in RESCALE_KEYWORDS."""
    try:
        for k in RESCALE_KEYWORDS:
            v = float_values(ds, k, 1)
            if v is not None and abs(v[0]) > MAX_ABS_RESCALE:
                return (
                    f"{named(k)} is {v[0]:g}: beyond +/-{MAX_ABS_RESCALE:g}, not a modality value"
                )
    except _Bad as bad:
        return str(bad)
    return None


def _per_file(ds: Any) -> str | None:
    # the rescale is shared by most files of a series (checked once per layout), not by PET's
    why = ds.memo(RESCALE_KEYWORDS, _rescale) if isinstance(ds, FastDataset) else _rescale(ds)
    if why is not None:
        return str(why)
    pos = _plain_position(ds)
    if pos is None:
        pos = float_values(ds, "ImagePositionPatient", 3)
    if pos is not None and max(map(abs, pos)) > MAX_ABS_POSITION_MM:
        return f"{named('ImagePositionPatient')} is {pos}: beyond {MAX_ABS_POSITION_MM:g} mm"
    return None


def _plain_position(ds: Any) -> list[float] | None:
    """The position of a fast header when it is three finite floats (every file of a sane
    series), else None for ``float_values`` to judge: checked for each file, so the common
    case skips the generic path (a third of the checks' time)."""
    if not isinstance(ds, FastDataset):
        return None
    try:
        pos = ds.get("ImagePositionPatient")
    except Exception:  # noqa: BLE001 - the generic path names what is wrong
        return None
    if type(pos) is list and len(pos) == 3:
        x, y, z = pos
        floats = type(x) is float and type(y) is float and type(z) is float
        if floats and math.isfinite(x) and math.isfinite(y) and math.isfinite(z):
            return pos
    return None


# --- compressed frames: the size the codestream declares, read before decoding -------------


def codestream_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) a JPEG / JPEG-LS / JPEG 2000 / HTJ2K codestream declares, or None."""
    if frame[:2] == b"\xff\xd8":  # JPEG family: the first SOFn (or SOF55 for JPEG-LS)
        i = 2
        while i + 4 <= len(frame):
            if frame[i] != 0xFF:
                i += 1
                continue
            marker = frame[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            if i + 4 > len(frame):
                return None
            (length,) = struct.unpack(">H", frame[i + 2 : i + 4])
            sof = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
            if sof or marker == 0xF7:
                if i + 9 > len(frame):
                    return None
                height, width = struct.unpack(">HH", frame[i + 5 : i + 9])
                return height, width
            i += 2 + length
        return None
    start = frame.find(b"\xff\x4f\xff\x51")  # J2K SOC + SIZ (HTJ2K too)
    if start in (0, 8) or (start > 0 and frame[:12].find(b"jP") >= 0):
        siz = start + 4
        if siz + 20 > len(frame):
            return None
        lsiz, rsiz = struct.unpack(">HH", frame[siz : siz + 4])
        # Rsiz bits 12-13 are used by no defined capability: such a SIZ is not trusted
        if rsiz & 0x3000 or lsiz < 41:
            return None
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", frame[siz + 4 : siz + 20])
        if xo > xsiz or yo > ysiz:
            return None
        return ysiz - yo, xsiz - xo
    return None


def check_codestream(frame: bytes, rows: int, cols: int, where: str) -> str | None:
    """Why a compressed frame must not be decoded (its declared size is not the header's)."""
    size = codestream_size(frame)
    if size is None:
        return None
    if size != (rows, cols):
        return (
            f"{where}: the compressed frame declares {size[0]} x {size[1]} pixels, the header "
            f"{named('Rows')} x {named('Columns')} says {rows} x {cols}: not decoded"
        )
    return None


# --- deflated transfer syntax: inflate with a cap ------------------------------------------


def meta_end(raw: bytes) -> int:
    """Offset of the first byte after the File Meta group (explicit VR little endian)."""
    if raw[128:132] != b"DICM":
        raise ValueError("no DICM prefix")
    i = 132
    while i + 8 <= len(raw):
        group, _elem = struct.unpack("<HH", raw[i : i + 4])
        if group != 0x0002:
            return i
        vr = raw[i + 4 : i + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            (n,) = struct.unpack("<I", raw[i + 8 : i + 12])
            i += 12 + n
        else:
            (n,) = struct.unpack("<H", raw[i + 6 : i + 8])
            i += 8 + n
    raise ValueError("the File Meta group does not end")


def inflated_file(raw: bytes, cap: int, where: str, header_only: bool = False) -> bytes:
    """A deflated file as the same file in explicit VR little endian, inflating at most ``cap``
    bytes (``header_only``: stop there quietly, the header is what is wanted)."""
    from pydicom.uid import ExplicitVRLittleEndian

    end = meta_end(raw)
    meta = raw[:end]
    data = inflate_capped(raw, end, cap, where, truncate=header_only)
    old = DEFLATED_TS.encode()
    i = meta.find(old)
    if i < 0:
        raise ValueError(f"{where}: no deflated transfer syntax in the File Meta group")
    new = ExplicitVRLittleEndian.encode()
    # padded with NULs (a UI pad) to the old value's length: no length in the group changes
    new = new + b"\x00" * (len(old) - len(new))
    return meta[:i] + new + meta[i + len(old) :] + data


def inflate_capped(raw: bytes, start: int, cap: int, where: str, truncate: bool = False) -> bytes:
    """Inflate the deflated dataset that begins at ``start`` (after the File Meta group), never
    producing more than ``cap`` bytes: ``ValueError`` naming the file beyond it (or, with
    ``truncate``, the first ``cap`` bytes)."""
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    data = memoryview(raw)[start:]
    step = 1 << 20
    pos = 0
    while pos < len(data) or d.unconsumed_tail:
        chunk = d.unconsumed_tail or data[pos : pos + step]
        if not d.unconsumed_tail:
            pos += step
        out += d.decompress(chunk, max(1, cap + 1 - len(out)))
        if len(out) > cap:
            if truncate:
                return bytes(out[:cap])
            raise ValueError(
                f"{where}: the deflated data inflates beyond {cap / 1024**2:.0f} MiB "
                f"({len(raw)} bytes in the file): refused as a decompression bomb"
            )
        if d.eof:
            break
    return bytes(out)


__all__ = [
    "MAX_FRAMES",
    "MEMORY_BUDGET_BYTES",
    "PYDICOM_READ_FAILURES",
    "check_codestream",
    "codestream_size",
    "float_values",
    "image_header_problem",
    "inflate_capped",
    "inflated_file",
    "int_value",
]
