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

import math
import struct
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
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
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<L").unpack_from
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
    # (tag, element start, value start, element end) of every top-level element, group 0002
    # included, in file order; the Pixel Data element is not in it
    layout: tuple[tuple[int, int, int, int], ...] = ()


def _parse_meta(
    buf: bytes, layout: list[tuple[int, int, int, int]] | None = None
) -> tuple[dict[int, tuple[str, bytes, int]], int]:
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
        if layout is not None:
            layout.append((tag, pos, vpos, vpos + length))
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
    layout: list[tuple[int, int, int, int]] = []
    try:
        meta, pos = _parse_meta(buf, layout)
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
                start = pos
                pos = (
                    _skip_undefined(buf, vpos, implicit) if length == _UNDEFINED else vpos + length
                )
                layout.append((tag, start, vpos, pos))
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
            layout.append((tag, pos, vpos, vpos + length))
            pos = vpos + length
    except (ValueError, struct.error):
        return None
    ds = FastDataset(raw, meta, implicit)
    return FastHeader(ds, ts, pixel_offset, pixel_length, tuple(skipped), tuple(layout))


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


_MISSING = object()


class FastDataset:
    """The few lookups the scanner needs, decoded straight from the bytes (no pydicom objects).

    Values follow pydicom's shapes: a number or a list of numbers for US/SS/UL/SL/FL/FD, DS and
    IS; a string, or a list of strings when multi-valued, for text VRs.  ``to_pydicom()`` builds
    the full pydicom Dataset (with character sets) when a caller needs more.  Datasets read
    through a ``LayoutMemo`` share the decoded values of the elements whose bytes they share with
    their template (``shared``); only the tags in ``own`` are decoded from this file's bytes.
    """

    def __init__(
        self,
        raw: dict[int, tuple[str | None, bytes, int]],
        meta: dict[int, tuple[str, bytes, int]],
        implicit: bool,
        shared: dict[Any, Any] | None = None,
        own: frozenset[int] = frozenset(),
        relocate: Callable[[int], int] | None = None,
        base: dict[int, tuple[str | None, bytes, int]] | None = None,
    ) -> None:
        # ``raw`` holds every element, or with a ``base`` (the template's elements, shared by
        # the files of a layout) only this file's own ones (None: absent here); a per-file
        # copy of the template's few hundred elements costs its copy and, kept by the scan,
        # the garbage collector's visits
        self._elems = raw
        self._base = base
        self._merged: dict[int, tuple[str | None, bytes, int]] | None = None
        self._meta = meta
        self._file_meta: FileMetaDataset | None = None
        self._implicit = implicit
        self._pydicom: Dataset | None = None
        self._shared = shared
        self._own = own
        self._relocate = relocate
        self._decoded: dict[int, Any] = {}  # this file's own values, decoded once

    @property
    def file_meta(self) -> FileMetaDataset:
        if self._file_meta is None:
            elems = {
                t: RawDataElement(BaseTag(t), vr, len(v), v, self._tell(t, vpos), False, True)
                for t, (vr, v, vpos) in self._meta.items()
            }
            self._file_meta = FileMetaDataset(elems)  # type: ignore[arg-type]
        return self._file_meta

    @property
    def _raw(self) -> dict[int, tuple[str | None, bytes, int]]:
        """Every top-level element (tag -> (VR or None, value bytes, value position))."""
        base = self._base
        if base is None:
            return self._elems
        merged = self._merged
        if merged is None:
            merged = dict(base)
            for t, e in self._elems.items():
                if e is None:
                    merged.pop(t, None)
                else:
                    merged[t] = e
            self._merged = merged
        return merged

    def _entry(self, t: int) -> tuple[str | None, bytes, int] | None:
        e = self._elems.get(t, _MISSING)
        if e is _MISSING:
            base = self._base
            return None if base is None else base.get(t)
        return e  # type: ignore[return-value]

    def meta_bytes(self, tag: int) -> bytes | None:
        """The raw value of a File Meta element (group 0002), None when absent: what a check
        needs without building pydicom's FileMetaDataset (tens of microseconds a file)."""
        entry = self._meta.get(tag)
        return None if entry is None else entry[1]

    def _tell(self, tag: int, vpos: int) -> int:
        """Where the value lies in this file (elements shared with a template are shifted)."""
        if self._relocate is None or tag in self._own:
            return vpos
        return self._relocate(vpos)

    def __contains__(self, keyword: str) -> bool:
        t = _tag(keyword)
        return t is not None and self._entry(t) is not None

    def get(self, keyword: str, default: Any = None) -> Any:
        t = _tag(keyword)
        if t is None:
            return default
        shared = self._shared
        if shared is not None and t not in self._own:
            value = shared.get(t, _MISSING)
            if value is _MISSING:
                value = self._decode(t, keyword)
                shared[t] = value
        else:
            decoded = self._decoded
            value = decoded.get(t, _MISSING)
            if value is _MISSING:
                value = self._decode(t, keyword)
                decoded[t] = value
        if value is None:
            return default
        return list(value) if isinstance(value, tuple) else value

    def memo(self, keywords: tuple[str, ...], compute: Callable[[Any], Any]) -> Any:
        """``compute(self)``, shared by every file whose ``keywords`` have the template's bytes.

        ``compute`` may look up only ``keywords`` (enforced while it runs for the template).
        """
        shared = self._shared
        if shared is None:
            return compute(self)
        try:
            tags = _MEMO_TAGS[compute]
        except KeyError:
            tags = _MEMO_TAGS[compute] = _tags_of(keywords)
            _MEMO_KEYWORDS[compute] = keywords
        if _MEMO_KEYWORDS[compute] is not keywords:
            raise ValueError(f"{compute!r} memoised with two lists of keywords")
        if not tags.isdisjoint(self._own):
            return compute(self)
        # keyed by the function alone (one list of keywords each, checked above): hashing the
        # keywords on every file costs more than the lookup
        try:
            return shared[compute]
        except KeyError:
            value = compute(_OnlyThese(self, keywords))
            shared[compute] = value
            return value

    def _decode(self, t: int, keyword: str) -> Any:
        """The value of tag ``t``: None when absent or empty numeric, tuples for many values."""
        entry = self._entry(t)
        if entry is None:
            return None
        vr, value, _ = entry
        if vr is None:
            vr = _dictionary_vr(t)
        if not value:
            return None if vr in _NUMERIC else ""
        if vr in _NUMERIC:
            fmt = _NUMERIC[vr]
            size = struct.calcsize(fmt)
            n = len(value) // size
            vals = struct.unpack(f"<{n}{fmt}", value[: n * size])
            return vals[0] if n == 1 else vals
        if vr in _BINARY or vr == "SQ":
            return value
        text = value.decode("latin-1").strip(" \x00")
        if vr in ("DS", "IS"):
            try:
                try:
                    parts = list(map(float, text.split("\\")))
                except ValueError:  # an empty value (two backslashes in a row): left out
                    parts = [float(x) for x in text.split("\\") if x.strip()]
                if vr == "IS":
                    # int() of inf raises OverflowError, of nan ValueError: both invalid
                    parts = [int(x) if math.isfinite(x) else int("invalid") for x in parts]
            except ValueError:  # an invalid number: let pydicom decide and warn
                try:
                    v = self.to_pydicom().get(keyword)
                except (ValueError, OverflowError, TypeError):
                    return text  # pydicom gives up too (IS "inf"): the text, for checks to name
                return tuple(v) if isinstance(v, list) else v
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else tuple(parts)
        if vr in ("LT", "ST", "UT"):
            return text
        if "\\" in text:
            return tuple(x.strip(" \x00") for x in text.split("\\"))
        return text

    def pydicom_subset(self, keywords: tuple[str, ...]) -> Dataset:
        """Only these elements (and the File Meta group) as a pydicom Dataset: what one value
        decoded by pydicom needs (PatientName with its SpecificCharacterSet), not the few
        hundred elements ``to_pydicom`` builds."""
        if self._pydicom is not None:
            return self._pydicom
        elems = {}
        for t in _tags_of(keywords):
            e = self._entry(t)
            if e is not None:
                vr, v, vpos = e
                elems[t] = RawDataElement(
                    BaseTag(t), vr, len(v), v, self._tell(t, vpos), self._implicit, True
                )
        ds = Dataset(elems)  # type: ignore[arg-type]
        ds.file_meta = self.file_meta
        ds.set_original_encoding(self._implicit, True, None)
        return ds

    def to_pydicom(self) -> Dataset:
        """The same elements as a pydicom Dataset (decoded by pydicom on access)."""
        if self._pydicom is None:
            elems = {
                t: RawDataElement(
                    BaseTag(t), vr, len(v), v, self._tell(t, vpos), self._implicit, True
                )
                for t, (vr, v, vpos) in self._raw.items()
            }
            ds = Dataset(elems)  # type: ignore[arg-type]
            ds.file_meta = self.file_meta
            ds.set_original_encoding(self._implicit, True, None)
            self._pydicom = ds
        return self._pydicom


_TAGS_OF: dict[tuple[str, ...], frozenset[int]] = {}
_MEMO_TAGS: dict[Callable[[Any], Any], frozenset[int]] = {}
_MEMO_KEYWORDS: dict[Callable[[Any], Any], tuple[str, ...]] = {}


def _tags_of(keywords: tuple[str, ...]) -> frozenset[int]:
    try:
        return _TAGS_OF[keywords]
    except KeyError:
        tags = frozenset(t for k in keywords if (t := _tag(k)) is not None)
        _TAGS_OF[keywords] = tags
        return tags


class _OnlyThese:
    """A FastDataset seen through a list of keywords: a memoised computation must declare
    every element it reads, or files differing in an undeclared element would share a result."""

    def __init__(self, ds: FastDataset, keywords: tuple[str, ...]) -> None:
        self._ds = ds
        self._keywords = frozenset(keywords)

    def _check(self, keyword: str) -> None:
        if keyword not in self._keywords:
            raise KeyError(f"{keyword} read by a memoised computation that did not declare it")

    def get(self, keyword: str, default: Any = None) -> Any:
        self._check(keyword)
        return self._ds.get(keyword, default)

    def __contains__(self, keyword: str) -> bool:
        self._check(keyword)
        return keyword in self._ds


def _shifted(starts: tuple[int, ...], shifts: tuple[int, ...], vpos: int) -> int:
    return vpos + shifts[bisect_left(starts, vpos)]


class _Template:
    """A fully parsed header, and which of its elements vary between files written alike.

    ``match`` checks a new file's header against it with one byte comparison per run of
    elements that did not vary (``bytes.startswith`` at an offset: no copy, no Python loop per
    element) and reads only the varying elements.  Identical bytes from an element boundary
    parse identically, so a match is exactly what the full parser would have returned.  Once a
    file has matched, its layout is also remembered by the lengths of its varying values: a
    later file with the same lengths is read and checked by one ``struct`` unpacking (see
    ``_match_sized``): the 400 headers of the benchmark's vendor-like CT (27 varying
    elements, 15 layouts by length) are matched in 10-11 ms instead of 12-14 ms.
    """

    def __init__(self, buf: bytes, header: FastHeader) -> None:
        assert header.pixel_offset is not None
        self.buf = buf[: header.pixel_offset]
        self.header = header
        self.tags = tuple(e[0] for e in header.layout)
        self.implicit = header.dataset._implicit
        self.hot: set[int] = set()  # indices into the layout of elements that vary
        self.shared: dict[Any, Any] = {}  # tag or memo key -> decoded value
        # the file meta group must end where its group length (0002,0000) says, as the full
        # parser reads it; files are checked for the same in ``match``
        meta = [e for e in header.layout if e[0] >> 16 == 0x0002]
        gl = header.dataset._meta.get(0x00020000)
        self.meta_end = meta[-1][3] if meta else 132
        self.group_length_vpos = gl[2] if gl is not None and len(gl[1]) == 4 else None
        self.usable = gl is None or (
            self.group_length_vpos is not None
            and self.group_length_vpos + 4 + struct.unpack_from("<L", gl[1])[0] == self.meta_end
        )
        self._build_steps()

    def _build_steps(self) -> None:
        layout = self.header.layout
        hot = sorted(self.hot)
        steps = []
        plain: list[tuple[int, int, str | None]] = []
        meta: list[tuple[int, int, str]] = []
        implicit: list[tuple[int, int]] = []
        prev = 128
        for k, i in enumerate(hot):
            tag, start, vpos, end = layout[i]
            is_meta = tag >> 16 == 0x0002
            head = self.buf[start:vpos]
            long_length = vpos - start == 12 or (not is_meta and self.implicit)
            vr = None if (self.implicit and not is_meta) else head[4:6].decode("ascii")
            prefix = head[:-4] if long_length else head[:-2]
            # the bytes that must be equal before the length: the run of elements that did not
            # vary, then this element's tag (and VR); one ``startswith`` checks them all
            literal = self.buf[prev:start] + prefix
            # skipped as the full parser skips: explicit SQ, implicit undefined length
            steps.append((literal, len(literal), long_length, vr == "SQ" or vr is None))
            if is_meta:
                assert vr is not None
                meta.append((k, tag, vr))
            elif vr is None:
                implicit.append((k, tag))
            elif vr != "SQ":  # an explicit sequence stays skipped, as in the template
                plain.append((k, tag, vr))
            prev = end
        self.steps = steps
        self.plain_steps = plain
        self.meta_steps = meta
        self.implicit_steps = implicit
        self.tail = self.buf[prev:]
        self.own = frozenset(layout[i][0] for i in hot)
        self.hot_starts = tuple(layout[i][1] for i in hot)
        self.hot_ends = tuple(layout[i][3] for i in hot)
        # the length fields of the varying elements in the template; an undefined one (a
        # sequence to walk) leaves every file to the element-by-element ``match``
        length_fields = []
        for (_, _, long_length, _), i in zip(steps, hot, strict=True):
            vpos = layout[i][2]
            (n,) = (_U32 if long_length else _U16)(self.buf, vpos - (4 if long_length else 2))
            length_fields.append(n)
        self.length_fields = tuple(length_fields)
        self.sized_usable = _UNDEFINED not in length_fields
        # layouts remembered by the value lengths of the resized steps; those of the steps
        # before (fewer varying elements) are forgotten
        self._sized: dict[tuple[int, ...], _SizedLayout] = {}
        self._set_resized(())

    def widen(self, buf: bytes, header: FastHeader) -> None:
        """Mark the elements whose bytes differ in ``header`` (same tags) as varying."""
        before = len(self.hot)
        for i, ((tag, s1, _, e1), (_, s2, _, e2)) in enumerate(
            zip(self.header.layout, header.layout, strict=True)
        ):
            if self.buf[s1:e1] != buf[s2:e2]:
                if tag == 0x00020010:  # another transfer syntax: parse such files in full
                    self.usable = False
                self.hot.add(i)
        if len(self.hot) != before:
            self._build_steps()

    def _set_resized(self, steps: tuple[int, ...]) -> None:
        """Which varying elements have been seen with a value length other than the
        template's (``steps``, sorted); the layouts remembered are keyed by those lengths."""
        self.resized = steps
        kept = self._sized.values()
        self._sized = {tuple(layout.length_fields[k] for k in steps): layout for layout in kept}
        # the walk to the length of each resized element: from where the previous one ends
        # (offset 128 for the first), the bytes of the elements between at the template's
        # lengths, then this element's tag and VR
        walk: list[tuple[int, bool]] = []
        gap = 0
        resized = set(steps)
        for k, (_, n_literal, long_length, _) in enumerate(self.steps):
            gap += n_literal
            if k in resized:
                walk.append((gap, long_length))
                gap = 0
            else:
                gap += (4 if long_length else 2) + self.length_fields[k]
        self._walk = tuple(walk)

    def match(self, buf: bytes) -> FastHeader | None:
        if not self.usable:
            return None
        if self._sized:
            header = self._match_sized(buf)
            if header is not None:
                return header
        pn = 128
        startswith = buf.startswith
        u16, u32 = _U16, _U32
        vposs: list[int] = []
        ends: list[int] = []
        undefined: list[int] = []  # steps of undefined length (sequences)
        try:
            # a file that ends early fails a later ``startswith`` (the tail is never empty)
            for literal, n_literal, long_length, may_be_sequence in self.steps:
                if not startswith(literal, pn):
                    return None
                pn += n_literal
                if long_length:
                    (length,) = u32(buf, pn)
                    pn += 4
                else:
                    (length,) = u16(buf, pn)
                    pn += 2
                vposs.append(pn)
                if length == _UNDEFINED:
                    if not may_be_sequence:
                        return None
                    undefined.append(len(ends))
                    pn = _skip_undefined(buf, pn, self.implicit)
                else:
                    pn += length
                ends.append(pn)
        except (NeedMoreBytes, ValueError, struct.error):
            return None
        if not startswith(self.tail, pn):
            return None
        header = self._header(buf, vposs, ends, undefined, pn + len(self.tail))
        if header is not None and not undefined and self.sized_usable:
            self._remember_sized(vposs, ends, header)
        return header

    def _header(
        self, buf: bytes, vposs: list[int], ends: list[int], undefined: list[int], pixel_offset: int
    ) -> FastHeader | None:
        """The header of a file whose bytes matched, from where its varying values lie."""
        u32 = _U32
        shifts = (0, *map(int.__sub__, ends, self.hot_ends))
        if self.group_length_vpos is not None:
            gl_at = _shifted(self.hot_starts, shifts, self.group_length_vpos)
            (group_length,) = u32(buf, gl_at)
            if gl_at + 4 + group_length != _shifted(self.hot_starts, shifts, self.meta_end):
                return None
        template = self.header
        ds_t = template.dataset
        raw: dict[int, Any] = {
            tag: (vr, buf[vposs[k] : ends[k]], vposs[k]) for k, tag, vr in self.plain_steps
        }
        meta = ds_t._meta
        if self.meta_steps:
            meta = dict(meta)
            for k, tag, vr in self.meta_steps:
                meta[tag] = (vr, buf[vposs[k] : ends[k]], vposs[k])
        skipped = template.skipped_sequences
        for k, tag in self.implicit_steps:
            if k in undefined:  # a sequence: skipped as the full parser skips it
                raw[tag] = None
                if tag not in skipped:
                    skipped = (*skipped, tag)
            else:
                raw[tag] = (None, buf[vposs[k] : ends[k]], vposs[k])
                if tag in skipped:
                    skipped = tuple(t for t in skipped if t != tag)
        relocate = partial(_shifted, self.hot_starts, shifts) if any(shifts) else None
        return self.file_header(raw, meta, relocate, skipped, pixel_offset)

    def file_header(
        self,
        raw: dict[int, Any],
        meta: dict[int, tuple[str, bytes, int]],
        relocate: Callable[[int], int] | None,
        skipped: tuple[int, ...],
        pixel_offset: int,
    ) -> FastHeader:
        """A matched file's header: its own elements over the template's shared ones."""
        template = self.header
        ds = FastDataset(
            raw, meta, self.implicit, self.shared, self.own, relocate, template.dataset._elems
        )
        return FastHeader(
            ds, template.transfer_syntax, pixel_offset, template.pixel_length, skipped, ()
        )

    _MAX_SIZED = 64  # value lengths vary more than that: ``match`` element by element

    def _remember_sized(self, vposs: list[int], ends: list[int], header: FastHeader) -> None:
        """After a file matched element by element: note which elements came with another
        value length than the template's, and remember this file's layout by those lengths."""
        lengths = tuple(map(int.__sub__, ends, vposs))
        fields = self.length_fields
        resized = self.resized
        new = [k for k, n in enumerate(lengths) if n != fields[k] and k not in resized]
        if new:
            self._set_resized(tuple(sorted((*resized, *new))))
        key = tuple(lengths[k] for k in self.resized)
        if key not in self._sized and len(self._sized) < self._MAX_SIZED:
            self._sized[key] = _SizedLayout(self, lengths, header)

    def _match_sized(self, buf: bytes) -> FastHeader | None:
        """``match`` for a file whose value lengths are those of a file matched before: its
        elements then lie where that file's lay, so one ``struct`` unpacking reads them all and
        two tuple comparisons check every byte ``match`` would check (the runs that did not
        vary, each varying element's tag, VR and length, the tail); None when that is not
        so (``match`` then goes element by element)."""
        pos = 128
        key = []
        try:
            for gap, long_length in self._walk:
                pos += gap
                if long_length:
                    (n,) = _U32(buf, pos)
                    pos += 4 + n
                else:
                    (n,) = _U16(buf, pos)
                    pos += 2 + n
                key.append(n)
            layout = self._sized.get(tuple(key))
            if layout is None:
                return None
            fields = layout.unpack(buf, 128)
        except struct.error:
            return None
        if fields[0::3] != layout.literals or fields[1::3] != layout.length_fields:
            return None
        return layout.header(buf, fields[2::3])


class _SizedLayout:
    """Where everything lies in the files of a template whose varying values have given
    lengths: a ``struct`` format of the whole header (literal run, length, value for each
    varying element, then the tail) and the per-file header's constant parts."""

    def __init__(self, template: _Template, lengths: tuple[int, ...], seen: FastHeader) -> None:
        parts = ["<"]
        literals: list[bytes] = []
        vposs: list[int] = []
        pos = 128
        for (literal, n_literal, long_length, _), n in zip(template.steps, lengths, strict=True):
            parts.append(f"{n_literal}s{'L' if long_length else 'H'}{n}s")
            literals.append(literal)
            pos += n_literal + (4 if long_length else 2)
            vposs.append(pos)
            pos += n
        parts.append(f"{len(template.tail)}s")
        literals.append(template.tail)
        self.unpack = struct.Struct("".join(parts)).unpack_from
        self.literals = tuple(literals)
        self.length_fields = lengths
        self.template = template
        ends = [v + n for v, n in zip(vposs, lengths, strict=True)]
        shifts = (0, *map(int.__sub__, ends, template.hot_ends))
        # what ``_Template._header`` computes per file, fixed by the lengths
        self.group_length_at = (
            None
            if template.group_length_vpos is None
            else _shifted(template.hot_starts, shifts, template.group_length_vpos)
        )
        self.meta_end = _shifted(template.hot_starts, shifts, template.meta_end)
        plain = [(tag, vr, k) for k, tag, vr in template.plain_steps]
        plain += [(tag, None, k) for k, tag in template.implicit_steps]
        # a file's own elements are built by C loops (zip, itemgetter): a dict comprehension
        # of twenty-odd elements cost as much as the rest of the match
        self.plain_tags = tuple(tag for tag, _, _ in plain)
        self.plain_vrs = tuple(vr for _, vr, _ in plain)
        self.plain_vposs = tuple(vposs[k] for _, _, k in plain)
        steps = [k for _, _, k in plain]
        self.plain_values: Callable[[tuple[bytes, ...]], tuple[bytes, ...]] = (
            itemgetter(*steps) if len(steps) > 1 else lambda values: tuple(values[k] for k in steps)
        )
        self.meta = [(tag, vr, k, vposs[k]) for k, tag, vr in template.meta_steps]
        self.relocate = partial(_shifted, template.hot_starts, shifts) if any(shifts) else None
        self.skipped = seen.skipped_sequences  # no sequence of undefined length among them
        self.pixel_offset = pos + len(template.tail)
        assert seen.pixel_offset == self.pixel_offset

    def header(self, buf: bytes, values: tuple[bytes, ...]) -> FastHeader | None:
        """The header of a file laid out so, from its varying values (in step order)."""
        at = self.group_length_at
        if at is not None and at + 4 + _U32(buf, at)[0] != self.meta_end:
            return None
        raw: dict[int, Any] = dict(
            zip(
                self.plain_tags,
                zip(self.plain_vrs, self.plain_values(values), self.plain_vposs, strict=True),
                strict=True,
            )
        )
        template = self.template
        meta = template.header.dataset._meta
        if self.meta:
            meta = dict(meta)
            for tag, vr, k, vpos in self.meta:
                meta[tag] = (vr, values[k], vpos)
        return template.file_header(raw, meta, self.relocate, self.skipped, self.pixel_offset)


class LayoutMemo:
    """Reads the headers of a series quickly by remembering how its first files were laid out.

    The files of one series come from one writer: the same elements in the same order, most of
    them with the same bytes (patient, study, pixel description); only a few vary (SOP Instance
    UID, position, instance number).  After two files of a layout have been parsed in full, the
    next ones are checked against it and only their varying elements are read
    (see ``_Template.match``); a file that differs anywhere else is parsed in full and widens or
    adds a layout.  Keep one memo per scan.
    """

    def __init__(self, capacity: int = 4) -> None:
        self._templates: list[_Template] = []
        self._capacity = capacity
        self._pending: tuple[bytes, FastHeader, tuple[int, ...]] | None = None
        self._head_size = 0  # bytes that hold any remembered layout's header, 0: none yet
        self.matched = 0  # headers read through a remembered layout
        self.parsed = 0  # headers parsed in full

    def head_size(self, default: int) -> int:
        """How many bytes to read of the next file: its header, if laid out as the last ones."""
        return self._head_size or default

    def parse(self, buf: bytes, file_size: int) -> FastHeader | None:
        """Like ``parse_fast_header``, reusing a remembered layout when the bytes allow it."""
        for i, t in enumerate(self._templates):
            h = t.match(buf)
            if h is not None:
                if i:
                    self._templates.insert(0, self._templates.pop(i))
                self.matched += 1
                return h
        self.parsed += 1
        h = parse_fast_header(buf, file_size)
        if h is not None and h.pixel_offset is not None:
            self._learn(buf, h)
        return h

    def _learn(self, buf: bytes, header: FastHeader) -> None:
        tags = tuple(e[0] for e in header.layout)
        implicit = header.dataset._implicit
        for i, t in enumerate(self._templates):
            if t.tags == tags and t.implicit == implicit:
                t.widen(buf, header)
                self._templates.insert(0, self._templates.pop(i))
                return
        # a layout becomes a template when a second file shows it: one-off files cost nothing
        pending = self._pending
        if pending is not None and pending[2] == tags and pending[1].dataset._implicit == implicit:
            template = _Template(pending[0], pending[1])
            template.widen(buf, header)
            self._templates.insert(0, template)
            del self._templates[self._capacity :]
            self._head_size = max(len(t.buf) for t in self._templates) + 1024
            self._pending = None
        else:
            self._pending = (buf, header, tags)
