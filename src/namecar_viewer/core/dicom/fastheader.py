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

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag, Tag

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

    dataset: Dataset
    transfer_syntax: str
    pixel_offset: int | None  # byte offset of the Pixel Data value in the file
    pixel_length: int | None  # its length in bytes; None when undefined (encapsulated)
    skipped_sequences: tuple[int, ...]


def _parse_meta(buf: bytes) -> tuple[FileMetaDataset, int]:
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise ValueError("no DICOM preamble")
    pos = 132
    meta: dict[int, RawDataElement] = {}
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
        meta[tag] = RawDataElement(Tag(tag), vr.decode("ascii"), length, value, vpos, False, True)
        if tag == 0x00020000:
            (glen,) = struct.unpack_from("<L", value, 0)
            end = vpos + length + glen
        pos = vpos + length
    fm = FileMetaDataset(meta)  # type: ignore[arg-type]
    return fm, pos


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
    ts = str(meta.get("TransferSyntaxUID", "") or "").strip("\x00 ")
    if ts in ENCAPSULATED_CANDIDATES_SKIP or ts == "":
        return None
    implicit = ts == IMPLICIT_LE
    raw: dict[int, RawDataElement] = {}
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
            raw[tag] = RawDataElement(
                BaseTag(tag), vr, length, buf[vpos : vpos + length], vpos, implicit, True
            )
            pos = vpos + length
    except (ValueError, struct.error):
        return None
    ds = Dataset(raw)  # type: ignore[arg-type]
    ds.file_meta = meta
    ds.set_original_encoding(implicit, True, None)
    return FastHeader(ds, ts, pixel_offset, pixel_length, tuple(skipped))
