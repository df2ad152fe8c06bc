"""A lean parser of a DICOM file's top-level header, so scans and loads stay fast on big series.

pydicom's reader costs about 1 ms a file; a 400-slice CT would spend most of its load time there.
This parser walks only the top-level elements of little-endian files (explicit or implicit VR),
skipping sequences by their lengths, records where the Pixel Data value starts, and hands the
elements to pydicom as raw elements, so values are decoded by pydicom on access exactly as
``dcmread`` would decode them.  Anything it does not understand (big endian, deflate, no preamble
and no group 0002, malformed lengths) makes it return ``None`` and the caller falls back to
``pydicom.dcmread``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag

PIXEL_DATA_TAG = 0x7FE00010
FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)
_ITEM = 0xFFFEE000
_ITEM_DELIM = 0xFFFEE00D
_SEQ_DELIM = 0xFFFEE0DD
_LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"SV",
    b"UV",
}
_UNDEFINED = 0xFFFFFFFF
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
ENCAPSULATED_CANDIDATES_SKIP = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}  # deflate, BE


class NeedMoreBytes(Exception):
    """The buffer ended before the header did; read a larger head of the file."""


class TruncatedFile(Exception):
    """The file itself ends inside an element: it was cut short in transfer or on disk."""


@dataclass
class FastHeader:
    """Top-level elements of a file (no sequence contents) and where its pixel data lies."""

    dataset: FastDataset
    transfer_syntax: str
    pixel_offset: int | None  # byte offset of the Pixel Data value in the file
    pixel_length: int | None  # its length in bytes; None when undefined (encapsulated)
    skipped_sequences: tuple[int, ...]


def _parse_meta(buf: bytes) -> tuple[dict[int, tuple[str, bytes, int]], int]:
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise ValueError("no DICOM preamble")
    pos = 132
    meta: dict[int, tuple[str, bytes, int]] = {}
    end = None
    while True:
        if end is not None and pos >= end:
            break
        if pos + 8 > len(buf):
            raise NeedMoreBytes
        group, elem = struct.unpack_from("<HH", buf, pos)
        if group != 0x0002:
            break
        vr = buf[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(buf):
                raise NeedMoreBytes
            (length,) = struct.unpack_from("<L", buf, pos + 8)
            vpos = pos + 12
        else:
            (length,) = struct.unpack_from("<H", buf, pos + 6)
            vpos = pos + 8
        if length == _UNDEFINED or vpos + length > len(buf):
            raise NeedMoreBytes if length != _UNDEFINED else ValueError("undefined meta length")
        tag = (group << 16) | elem
        value = buf[vpos : vpos + length]
        meta[tag] = (vr.decode("ascii"), value, vpos)
        if tag == 0x00020000:
            (glen,) = struct.unpack_from("<L", value, 0)
            end = vpos + length + glen
        pos = vpos + length
    return meta, pos


def _skip_undefined(buf: bytes, pos: int, implicit: bool) -> int:
    """Return the position after a sequence of undefined length that starts at ``pos``."""
    while True:
        if pos + 8 > len(buf):
            raise NeedMoreBytes
        group, elem, length = struct.unpack_from("<HHL", buf, pos)
        tag = (group << 16) | elem
        pos += 8
        if tag == _SEQ_DELIM:
            return pos
        if tag != _ITEM:
            raise ValueError("malformed sequence")
        if length != _UNDEFINED:
            pos += length
            continue
        # item of undefined length: walk its elements until the item delimiter
        while True:
            if pos + 8 > len(buf):
                raise NeedMoreBytes
            group, elem = struct.unpack_from("<HH", buf, pos)
            tag = (group << 16) | elem
            if tag == _ITEM_DELIM:
                pos += 8
                break
            pos, _vr, vlen, _vpos = _element_header(buf, pos, implicit)
            pos = _skip_undefined(buf, pos, implicit) if vlen == _UNDEFINED else pos + vlen


def _element_header(buf: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
    """Return (value position, VR or None, value length, element start)."""
    if implicit:
        if pos + 8 > len(buf):
            raise NeedMoreBytes
        (length,) = struct.unpack_from("<L", buf, pos + 4)
        return pos + 8, None, length, pos
    if pos + 8 > len(buf):
        raise NeedMoreBytes
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        if pos + 12 > len(buf):
            raise NeedMoreBytes
        (length,) = struct.unpack_from("<L", buf, pos + 8)
        return pos + 12, vr.decode("ascii"), length, pos
    if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
        raise ValueError("bad VR")
    (length,) = struct.unpack_from("<H", buf, pos + 6)
    return pos + 8, vr.decode("ascii"), length, pos


def parse_fast_header(buf: bytes, file_size: int) -> FastHeader | None:
    """Parse the head of a file; ``None`` when the file needs pydicom's full reader.

    Raises ``NeedMoreBytes`` when ``buf`` ends before the Pixel Data element was reached.
    """
    try:
        meta, pos = _parse_meta(buf)
    except NeedMoreBytes:
        raise
    except (ValueError, struct.error):
        return None
    ts_elem = meta.get(0x00020010)
    ts = ts_elem[1].decode("ascii", "replace").strip("\x00 ") if ts_elem else ""
    if ts in ENCAPSULATED_CANDIDATES_SKIP or ts == "":
        return None
    implicit = ts == IMPLICIT_LE
    raw: dict[int, tuple[str | None, bytes, int]] = {}
    skipped: list[int] = []
    pixel_offset: int | None = None
    pixel_length: int | None = None
    unpack = struct.unpack_from
    n = len(buf)
    try:
        while pos < file_size:
            if pos + 8 > n:
                if n >= file_size:
                    if pos < file_size:
                        raise TruncatedFile(f"the file ends inside an element header at byte {pos}")
                    break
                raise NeedMoreBytes
            group, elem = unpack("<HH", buf, pos)
            tag = (group << 16) | elem
            if implicit:
                vr = None
                (length,) = unpack("<L", buf, pos + 4)
                vpos = pos + 8
            else:
                vrb = buf[pos + 4 : pos + 6]
                if vrb in _LONG_VRS:
                    if pos + 12 > n:
                        raise NeedMoreBytes
                    (length,) = unpack("<L", buf, pos + 8)
                    vpos = pos + 12
                else:
                    if not (65 <= vrb[0] <= 90 and 65 <= vrb[1] <= 90):
                        return None
                    (length,) = unpack("<H", buf, pos + 6)
                    vpos = pos + 8
                vr = vrb.decode("ascii")
            if tag == PIXEL_DATA_TAG or tag in FLOAT_PIXEL_TAGS:
                if tag in FLOAT_PIXEL_TAGS:
                    return None
                pixel_offset = vpos
                pixel_length = None if length == _UNDEFINED else length
                break
            if vr == "SQ" or (implicit and length == _UNDEFINED):
                skipped.append(tag)
                pos = (
                    _skip_undefined(buf, vpos, implicit) if length == _UNDEFINED else vpos + length
                )
                continue
            if length == _UNDEFINED:
                return None
            if vpos + length > n:
                if vpos + length > file_size:
                    raise TruncatedFile(
                        f"the file ends at byte {file_size} inside element "
                        f"({group:04X},{elem:04X}), whose value needs {length} bytes "
                        f"from byte {vpos}"
                    )
                raise NeedMoreBytes
            raw[tag] = (vr, buf[vpos : vpos + length], vpos)
            pos = vpos + length
    except (ValueError, struct.error):
        return None
    ds = FastDataset(raw, meta, implicit)
    return FastHeader(ds, ts, pixel_offset, pixel_length, tuple(skipped))


_NUMERIC = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"}
_BINARY = {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "SV", "UV", "AT"}
_TAG_CACHE: dict[str, int | None] = {}
_VR_CACHE: dict[int, str] = {}


def _tag(keyword: str) -> int | None:
    try:
        return _TAG_CACHE[keyword]
    except KeyError:
        t = tag_for_keyword(keyword)
        _TAG_CACHE[keyword] = t
        return t


def _dictionary_vr(tag: int) -> str:
    try:
        return _VR_CACHE[tag]
    except KeyError:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            vr = "UN"
        _VR_CACHE[tag] = vr
        return vr


class FastDataset:
    """The few lookups the scanner needs, decoded straight from the bytes (no pydicom objects).

    Values follow pydicom's shapes: a number or a list of numbers for US/SS/UL/SL/FL/FD, DS and
    IS; a string, or a list of strings when multi-valued, for text VRs.  ``to_pydicom()`` builds
    the full pydicom Dataset (with character sets) when a caller needs more.
    """

    def __init__(
        self,
        raw: dict[int, tuple[str | None, bytes, int]],
        meta: dict[int, tuple[str, bytes, int]],
        implicit: bool,
    ) -> None:
        self._raw = raw
        self._meta = meta
        self._file_meta: FileMetaDataset | None = None
        self._implicit = implicit
        self._pydicom: Dataset | None = None

    @property
    def file_meta(self) -> FileMetaDataset:
        if self._file_meta is None:
            elems = {
                t: RawDataElement(BaseTag(t), vr, len(v), v, vpos, False, True)
                for t, (vr, v, vpos) in self._meta.items()
            }
            self._file_meta = FileMetaDataset(elems)  # type: ignore[arg-type]
        return self._file_meta

    def __contains__(self, keyword: str) -> bool:
        t = _tag(keyword)
        return t is not None and t in self._raw

    def get(self, keyword: str, default: Any = None) -> Any:
        t = _tag(keyword)
        if t is None or t not in self._raw:
            return default
        vr, value, _ = self._raw[t]
        if vr is None:
            vr = _dictionary_vr(t)
        if not value:
            return default if vr in _NUMERIC else ""
        if vr in _NUMERIC:
            fmt = _NUMERIC[vr]
            n = len(value) // struct.calcsize(fmt)
            vals = struct.unpack(f"<{n}{fmt}", value[: n * struct.calcsize(fmt)])
            return vals[0] if n == 1 else list(vals)
        if vr in _BINARY or vr == "SQ":
            return value
        text = value.decode("latin-1").strip(" \x00")
        if vr in ("DS", "IS"):
            try:
                parts = [float(x) for x in text.split("\\") if x.strip()]
            except ValueError:  # an invalid number: let pydicom decide and warn
                return self.to_pydicom().get(keyword, default)
            if vr == "IS":
                parts = [int(x) for x in parts]
            if not parts:
                return default
            return parts[0] if len(parts) == 1 else parts
        if vr in ("LT", "ST", "UT"):
            return text
        if "\\" in text:
            return [x.strip(" \x00") for x in text.split("\\")]
        return text

    def to_pydicom(self) -> Dataset:
        """The same elements as a pydicom Dataset (decoded by pydicom on access)."""
        if self._pydicom is None:
            elems = {
                t: RawDataElement(BaseTag(t), vr, len(v), v, vpos, self._implicit, True)
                for t, (vr, v, vpos) in self._raw.items()
            }
            ds = Dataset(elems)  # type: ignore[arg-type]
            ds.file_meta = self.file_meta
            ds.set_original_encoding(self._implicit, True, None)
            self._pydicom = ds
        return self._pydicom
