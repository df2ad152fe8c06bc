"""Vendor-private facts the standard attributes leave out: Siemens CSA headers, private elements.

Siemens writes acquisition details (mosaic size, slice normal, diffusion b-value and gradient)
in its CSA headers, (0029,1010) "CSA Image Header Info" and (0029,1020) "CSA Series Header
Info", in a small binary format (documented by NiBabel, "Siemens format DICOM with CSA header"):

* CSA2 starts with ``SV10`` and four unused bytes; CSA1 has no such prefix.
* Then ``n_tags`` (uint32) and one unused uint32 (77).
* Each tag: a 64-byte NUL-terminated name, vm (int32), a 4-byte VR, syngodt (int32),
  ``n_items`` (int32) and one unused int32.
* Each item: four int32, then the value.  Its length is the second int32 in CSA2 and the first
  minus the first tag's ``n_items`` in CSA1; values are padded to 4 bytes and hold text.

Everything is little-endian.  A malformed header gives what could be read before the fault and
never raises.  Private elements are found through their private creator (PS3.5 7.8.1), never by
a fixed element number alone: a block may be reserved at another element number in each file.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from namecar_viewer.core.dicom.fastheader import FastDataset

MAX_CSA_TAGS = 1000
MAX_CSA_ITEMS = 1000

SIEMENS_CSA = "SIEMENS CSA HEADER"
SIEMENS_MR = "SIEMENS MR HEADER"
GE_PARAMS = "GEMS_PARM_01"
GE_ACQU = "GEMS_ACQU_01"
PHILIPS_IMAGING = "Philips Imaging DD 001"
PHILIPS_MR = "Philips MR Imaging DD 001"
PHILIPS_MR_005 = "Philips MR Imaging DD 005"
UIH_IMAGE = "Image Private Header"


def parse_csa(data: bytes | None) -> dict[str, list[str]]:
    """The tags of a Siemens CSA header (CSA1 or CSA2) with their non-empty text items."""
    out: dict[str, list[str]] = {}
    if not data or len(data) < 16:
        return out
    csa2 = data[:4] == b"SV10"
    pos = 8 if csa2 else 0
    end = len(data)
    try:
        n_tags, _unused = struct.unpack_from("<II", data, pos)
        pos += 8
        if not 0 < n_tags <= MAX_CSA_TAGS:
            return out
        first_n_items: int | None = None
        for _ in range(n_tags):
            if pos + 84 > end:
                break
            name = data[pos : pos + 64].split(b"\0", 1)[0].decode("latin-1")
            pos += 64
            _vm, _vr, _syngodt, n_items, _xx = struct.unpack_from("<i4siii", data, pos)
            pos += 20
            if first_n_items is None:
                first_n_items = n_items
            if not 0 <= n_items <= MAX_CSA_ITEMS:
                break
            values: list[str] = []
            for _ in range(n_items):
                if pos + 16 > end:
                    return out
                x0, x1, _x2, _x3 = struct.unpack_from("<4i", data, pos)
                pos += 16
                length = x1 if csa2 else x0 - first_n_items
                if length < 0 or length > end - pos:
                    return out
                text = data[pos : pos + length].split(b"\0", 1)[0].decode("latin-1").strip()
                pos += (length + 3) // 4 * 4
                if text:
                    values.append(text)
            out[name] = values
    except struct.error:
        return out
    return out


def csa_floats(csa: dict[str, list[str]], name: str) -> tuple[float, ...] | None:
    """The items of a CSA tag as finite numbers, or None."""
    items = csa.get(name)
    if not items:
        return None
    try:
        values = tuple(float(v) for v in items)
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def csa_float(csa: dict[str, list[str]], name: str) -> float | None:
    values = csa_floats(csa, name)
    return values[0] if values else None


def pydicom_of(ds: Any) -> Dataset | None:
    """The pydicom Dataset behind ``ds`` (built on demand for a fast header)."""
    if isinstance(ds, FastDataset):
        return ds.to_pydicom()
    return ds if isinstance(ds, Dataset) else None


_STRUCT = {"FL": "f", "FD": "d", "US": "H", "SS": "h", "UL": "L", "SL": "l"}
_TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UT"}


def decode_raw(vr: str, value: bytes) -> Any:
    """A little-endian element value as pydicom would give it (one value, or a tuple)."""
    if vr in _STRUCT:
        fmt = _STRUCT[vr]
        size = struct.calcsize(fmt)
        n = len(value) // size
        if n == 0:
            return None
        vals = struct.unpack(f"<{n}{fmt}", value[: n * size])
        return vals[0] if n == 1 else vals
    if vr in ("DS", "IS"):
        parts = [p.strip() for p in value.decode("latin-1").strip(" \x00").split("\\")]
        try:
            nums = [float(p) for p in parts if p]
        except ValueError:
            return None
        if not nums:
            return None
        return nums[0] if len(nums) == 1 else tuple(nums)
    if vr in _TEXT_VRS:
        s = value.decode("latin-1").strip(" \x00")
        return tuple(x.strip(" \x00") for x in s.split("\\")) if "\\" in s else s
    return value


def _fast_private(
    raw: dict[int, tuple[str | None, bytes, int]], group: int, creator: str, element: int, vr: str
) -> Any:
    want = creator.upper()
    for block in range(0x10, 0x100):
        entry = raw.get((group << 16) | block)
        if entry is None:
            continue
        if entry[1].decode("latin-1").strip(" \x00").upper() != want:
            continue
        found = raw.get((group << 16) | (block << 8) | element)
        if found is None:
            return None
        file_vr, value, _ = found
        return decode_raw(vr if file_vr in (None, "UN") else file_vr, value)
    return None


def private_value(ds: Any, group: int, creator: str, element: int, vr: str = "UN") -> Any:
    """The value of private element (group, xx``element``) of ``creator``'s block, or None.

    ``element`` is the low byte (0x00-0xFF) of the element number within the block; ``vr`` is
    the value representation to decode it with when the file does not say (implicit VR, UN).
    Fast headers are read from their raw elements (no pydicom Dataset is built).
    """
    if isinstance(ds, FastDataset):
        raw = getattr(ds, "_raw", None)
        if isinstance(raw, dict):
            try:
                return _fast_private(raw, group, creator.strip(), element, vr)
            except (struct.error, UnicodeDecodeError, ValueError):
                return None
    pds = pydicom_of(ds)
    if pds is None:
        return None
    want = creator.strip().upper()
    try:
        for block in range(0x10, 0x100):
            tag = (group << 16) | block
            if tag not in pds:
                continue
            name = pds[tag].value
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if str(name).strip().upper() == want:
                el = pds.get((group << 16) | (block << 8) | element)
                if el is None:
                    return None
                value = el.value
                if isinstance(value, bytes) and vr != "UN" and el.VR in ("UN", "OB"):
                    return decode_raw(vr, value)
                return value
    except Exception:  # noqa: BLE001 - an undecodable private element counts as absent
        return None
    return None


def number(value: Any) -> float | None:
    """A finite float from a DICOM value (first of several), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0] if len(value) else None
        if value is None:
            return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def numbers(value: Any, n: int) -> tuple[float, ...] | None:
    """``n`` finite floats from a multi-valued DICOM value, or None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        return None
    return out


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def manufacturer(ds: Any) -> str:
    """An upper-case vendor word: SIEMENS, GE, PHILIPS, TOSHIBA (Canon), UIH, or as written."""
    m = text(ds.get("Manufacturer")).upper()
    for key, name in (
        ("SIEMENS", "SIEMENS"),
        ("GE ", "GE"),
        ("GE MEDICAL", "GE"),
        ("PHILIPS", "PHILIPS"),
        ("TOSHIBA", "TOSHIBA"),
        ("CANON", "TOSHIBA"),
        ("UIH", "UIH"),
        ("UNITED IMAGING", "UIH"),
    ):
        if m.startswith(key) or m == key.strip():
            return name
    return m


GE_PEPOLAR_MODES = {
    0: "forward",
    1: "reversed",
    2: "reversed then forward",
    3: "forward then reversed",
}


def ge_pepolar_rows(ds: Any) -> tuple[bool, str] | None:
    """Whether a GE ``epi_pepolar`` image is stored with its rows reversed, and what to say.

    This research sequence (PulseSequenceName (0019,xx9C)) stores the volumes of reversed
    phase-encoding polarity last row first, with the header of the others: viewed as the
    header says, they are upside down.  UserData12 (0019,xxB3) holds the mode: 0 every
    volume forward, 1 every one reversed, 2 reversed then forward (odd volumes reversed), 3
    forward then reversed (even ones); a volume is told by TemporalPositionIdentifier
    (0020,0100).  dcm2niix puts such rows back in order (its dcm_qa_polar set shows all four
    modes).  None for any other image; (False, why) when the image's order cannot be told.
    """
    if "epi_pepolar" not in text(private_value(ds, 0x0019, GE_ACQU, 0x9C, "LO")).lower():
        return None
    mode_value = number(private_value(ds, 0x0019, GE_ACQU, 0xB3, "DS"))
    mode = int(mode_value) if mode_value is not None and mode_value.is_integer() else None
    if mode not in GE_PEPOLAR_MODES:
        return False, (
            "GE epi_pepolar image without a known polarity mode in UserData12 (0019,10B3): "
            "volumes of reversed phase encoding, stored upside down, cannot be told; shown as "
            "stored"
        )
    said = f"GE epi_pepolar, UserData12 (0019,10B3) = {mode} ({GE_PEPOLAR_MODES[mode]})"
    if mode in (0, 1):
        flip = mode == 1
    else:
        t = number(ds.get("TemporalPositionIdentifier"))
        if t is None or not t.is_integer():
            return False, (
                f"{said}: without TemporalPositionIdentifier (0020,0100) the volumes of "
                "reversed phase encoding, stored upside down, cannot be told; shown as stored"
            )
        flip = int(t) % 2 == (1 if mode == 2 else 0)
    if not flip:
        return False, ""
    return True, (
        f"{said}: this volume, of reversed phase encoding, is stored with its rows in reverse "
        "order, which the header does not say; its rows are put back in the header's order, "
        "as dcm2niix does"
    )


def ge_b_value(raw: Any) -> float | None:
    """GE's b-value, the first value of (0043,1039); some versions add 10^9 to it."""
    b = number(raw)
    if b is None:
        return None
    if b >= 1e9:
        b = b % 1e9
    return b
