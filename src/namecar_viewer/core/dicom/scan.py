"""Header-only scan: find every image stack, non-image object and unreadable file under some paths.

A series is split into display stacks where a reader needs them apart (PS3.3 attributes):
orientation, matrix size, DWI b-value (0018,9087), temporal position (0020,0100 / 0020,9128),
echo (0018,0086), stack (0020,9056), localizer ImageType, and repeated acquisitions at the same
positions.  Pixel data is never read here.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import math
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydicom import dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.errors import InvalidDicomError

from namecar_viewer.core.dicom.fastheader import (
    FastDataset,
    FastHeader,
    LayoutMemo,
    NeedMoreBytes,
    TruncatedFile,
    parse_fast_header,
)
from namecar_viewer.core.dicom.frame_keys import (
    classic_values,
    enhanced_values,
    frame_dims,
    philips_frame_item,
    volume_dimensions,
)
from namecar_viewer.core.dicom.geometry_plan import plan_geometry
from namecar_viewer.core.dicom.header_checks import (
    DEFLATED_TS,
    INFLATE_HEADER_CAP_BYTES,
    MAX_ABS_POSITION_MM,
    image_header_problem,
    inflated_file,
)
from namecar_viewer.core.dicom.model import (
    InstanceRef,
    NonImageObject,
    ObjectKind,
    PixelInfo,
    ScanReport,
    Stack,
    Tile,
    UnreadableFile,
)
from namecar_viewer.core.dicom.mosaic import (
    is_siemens_mosaic,
    is_uih_vframe,
    siemens_mosaic,
    uih_vframe,
)
from namecar_viewer.core.dicom.sources import (
    HEAD_BYTES,
    NO_SUCH_FILE,
    Source,
    folder_sources,
    iter_sources,
    looks_like_zip,
    zip_members,
)
from namecar_viewer.core.dicom.value_mapping import (
    RESCALE,
    ValueMap,
    classic_value_map,
    frame_value_map,
)
from namecar_viewer.core.dicom.vendor import ge_pepolar_rows, manufacturer
from namecar_viewer.core.dicom.volumes import Volume, position_clusters, split_volumes
from namecar_viewer.core.problems import Problem, Severity

ProgressCallback = Callable[[int, int | None, str], None]


class ScanWatcher(Protocol):
    """Told what a scan finds as it goes (``load_series`` prepares the volume's memory)."""

    def first_image(self, ref: InstanceRef, modality: str, n_files: int) -> None:
        """The first image found, its modality, and how many files the scan will read."""

    def another_series(self) -> None:
        """An image of another series or size than the first: the folder holds several."""


_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_KO = "1.2.840.10008.5.1.4.1.1.88.59"
_SEG = ("1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7")  # SEG, label map SEG
_RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
_RTDOSE = "1.2.840.10008.5.1.4.1.1.481.2"
_RT_PREFIX = "1.2.840.10008.5.1.4.1.1.481."
_PR_PREFIX = "1.2.840.10008.5.1.4.1.1.11."
_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
_DICOMDIR = "1.2.840.10008.1.3.10"
ORIENTATION_DECIMALS = 3


@dataclass
class _Frame:
    """An image with the attributes that decide which stack it belongs to."""

    ref: InstanceRef
    series_uid: str
    split: tuple[tuple[str, Any], ...]
    extra: dict[str, Any]
    ds: Any  # FastDataset or pydicom Dataset
    # acquisition order: InstanceNumber, then (tile,) or (dimension indices..., frame), file name
    order: tuple[Any, ...] = ()
    values: ValueMap | None = None  # how stored values become the loaded values


def _undecodable_element(ds: Any) -> str | None:
    """The first standard element of a pydicom-read header whose value cannot be decoded,
    named with the reason; undecodable private elements are dropped.

    pydicom decodes on first access and raises then (an unknown VR: NotImplementedError; a
    length that is no multiple of the value size: BytesLengthException; IS "inf"), anywhere
    later in the scan: decoded here once, so the file is said unreadable by the element.
    """
    for tag in list(ds.keys()):
        try:
            ds[tag]
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the file's problem
            if tag.is_private:
                del ds[tag]
                continue
            name = keyword_for_tag(tag)
            where = f"({tag.group:04X},{tag.element:04X})" + (f" {name}" if name else "")
            return f"{where}: {type(exc).__name__}: {str(exc)[:200]}"
    return None


def _get(ds: Any, keyword: str) -> Any:
    """``ds.get(keyword)``, None when the value cannot be decoded: pydicom decodes on access
    and raises for some invalid values (IS "inf": OverflowError)."""
    try:
        return ds.get(keyword)
    except (ValueError, OverflowError, TypeError, AttributeError):
        return None


def _str(ds: Any, keyword: str) -> str:
    v = _get(ds, keyword)
    return "" if v is None else str(v).strip()


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        if value is None:
            return None
        out = tuple(map(float, value))
    except (TypeError, ValueError):
        return None
    # geometry is finite or absent: a position of inf (an enhanced file's per-frame item,
    # which the per-file checks do not read) once stopped the plan of its whole series
    return out if len(out) == n and all(map(math.isfinite, out)) else None


def _position(value: Any) -> tuple[float, ...] | None:
    """An enhanced frame's position, None when not three numbers within the range the per-file
    checks allow a classic image's (a per-frame item is read after them)."""
    p = _floats(value, 3)
    return p if p is not None and max(map(abs, p)) <= MAX_ABS_POSITION_MM else None


def _num(value: Any) -> float | None:
    """A finite number, or None (absent, empty, not a number, NaN or infinite)."""
    try:
        f = None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None
    return f if f is not None and math.isfinite(f) else None


class _ZipArchive:
    """What ``read_header`` says of a file of a list that is a zip archive."""


ZIP_ARCHIVE = _ZipArchive()


class _Folder:
    """What ``read_header`` says of a name of a list that is a folder."""


FOLDER = _Folder()


def read_header(
    src: Source, memo: LayoutMemo | None = None
) -> tuple[Any, FastHeader | None, int] | UnreadableFile | _ZipArchive | _Folder:
    """Read one file's header (never its pixels): the fast parser first, pydicom when needed.

    ``memo`` remembers the layouts of files already read, so the rest of a series is read
    faster (see ``LayoutMemo``); pass one per scan.  A ``maybe_zip`` source that turns out to
    be a zip archive gives ``ZIP_ARCHIVE`` (its members are the caller's to read), a
    ``maybe_folder`` one that is a folder ``FOLDER`` (its files are the caller's to walk).
    """
    try:
        if src.member is None:
            size, head = src.size_and_head(memo.head_size(HEAD_BYTES) if memo else HEAD_BYTES)
            if src.maybe_zip and looks_like_zip(src, head):
                return ZIP_ARCHIVE
        else:
            size = src.size()
            head = src.read_all()
        if size == 0:
            return UnreadableFile(src.display, "empty file")
        if head[:2] == _GZIP_MAGIC:
            # research sets ship DICOM as .dcm.gz; a PACS never does: say what it is
            return UnreadableFile(src.display, GZIP_REASON)
        fast: FastHeader | None
        while True:
            try:
                fast = memo.parse(head, size) if memo else parse_fast_header(head, size)
                break
            except NeedMoreBytes:
                if len(head) >= size:
                    raise TruncatedFile(
                        f"the file ends at byte {size}, inside its header"
                    ) from None
                head = src.read_head(max(len(head) * 4, size if len(head) * 4 > size else 0))
        if fast is not None:
            return fast.dataset, fast, size
        fp: Any = io.BytesIO(src.read_all()) if src.member is not None else src.path
        if DEFLATED_TS.encode() in head[:2048]:
            # pydicom inflates a deflated file whole: read its header from a capped inflation
            fp = io.BytesIO(
                inflated_file(src.read_all(), INFLATE_HEADER_CAP_BYTES, src.display, True)
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = dcmread(fp, stop_before_pixels=True)
            except InvalidDicomError:
                fp = io.BytesIO(src.read_all())
                ds = dcmread(fp, stop_before_pixels=True, force=True)
                if not any(
                    k in ds for k in ("SOPClassUID", "Modality", "Rows", "StudyInstanceUID")
                ):
                    return UnreadableFile(
                        src.display, "not a DICOM file (no preamble, no DICOM tags)"
                    )
        if "SOPClassUID" not in ds and "Rows" not in ds and caught:
            return UnreadableFile(
                src.display,
                "corrupt DICOM header: no SOPClassUID (0008,0016) nor image attributes "
                f"could be read ({caught[0].message})",
            )
        bad = _undecodable_element(ds)
        if bad:
            return UnreadableFile(src.display, f"corrupt DICOM header: {bad}")
        return ds, None, size
    except TruncatedFile as exc:
        return UnreadableFile(src.display, f"truncated file: {exc}")
    except OSError as exc:
        if src.maybe_folder and isinstance(exc, IsADirectoryError):
            return FOLDER
        if src.maybe_folder and isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            return UnreadableFile(src.display, NO_SUCH_FILE)
        return UnreadableFile(src.display, f"cannot be read: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a corrupt header is reported, never fatal
        return UnreadableFile(src.display, f"corrupt DICOM header: {exc}")


_GZIP_MAGIC = b"\x1f\x8b"
GZIP_REASON = (
    "a gzip-compressed file, not DICOM itself: decompress it (gunzip) and load what it holds"
)
DAMAGED_MIN_BYTES = 64 * 1024
_UID_CHARS = frozenset("0123456789.")


def _is_image_class(sop_class: str, ds: Any) -> bool:
    """An image object: an image storage SOP class, or an unknown class with pixels."""
    if sop_class == _DICOMDIR or _kind(sop_class, ("Rows", "Columns")) is not None:
        return False
    if "Image Storage" in _uid_name(sop_class):
        return True
    return "Rows" in ds or "PixelData" in ds


@functools.lru_cache(maxsize=256)
def _uid_name(uid: str) -> str:
    """pydicom's name of a UID (validated on creation, so asked once per class)."""
    from pydicom.uid import UID

    return UID(uid).name if uid else ""


def _uid_text(value: Any) -> str:
    """A UI value as text (bytes of an UN element decoded, NUL and space padding removed)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip().strip("\x00").strip()


@functools.lru_cache(maxsize=256)
def _meta_uid_text(raw: bytes) -> str:
    """``_uid_text`` of a File Meta value's bytes; the files of a series share them."""
    return _uid_text(raw)


_CLASS_KEYWORDS = ("SOPClassUID", "Rows", "Columns", "Modality", "PixelData")


def _class_of(ds: Any) -> tuple[str, bool, bool]:
    """(SOP class, says nothing of what it is, an image object) from _CLASS_KEYWORDS."""
    sop_class = _uid_text(ds.get("SOPClassUID", ""))
    silent = not sop_class and "Rows" not in ds and "Modality" not in ds
    return sop_class, silent, _is_image_class(sop_class, ds)


def _header_problem(ds: Any, fast: FastHeader | None, size: int) -> str | None:
    """Why an image's header cannot be used (``header_checks``), None for non-images."""
    try:
        if isinstance(ds, FastDataset):
            # once per layout; the File Meta class from its bytes, as pydicom would decode them
            sop_class, silent, image = ds.memo(_CLASS_KEYWORDS, _class_of)
            meta_class = _meta_uid_text(ds.meta_bytes(0x00020002) or b"")
        else:
            sop_class, silent, image = _class_of(ds)
            fm = getattr(ds, "file_meta", None)
            meta_class = _uid_text(getattr(fm, "MediaStorageSOPClassUID", "")) if fm else ""
    except Exception:  # noqa: BLE001 - an unreadable SOP class is a corrupt header
        return "SOPClassUID (0008,0016) cannot be read"
    for value in (sop_class, meta_class):
        if value and not _UID_CHARS.issuperset(value):
            # flipped bytes in the File Meta group or the dataset
            return f"corrupt DICOM header: the SOP class {value[:64]!r} is not a UID"
    if silent and size > DAMAGED_MIN_BYTES:
        # a large file that says nothing of what it is: its header is damaged
        return (
            "corrupt DICOM header: neither SOPClassUID (0008,0016) nor Modality (0008,0060) "
            "nor Rows (0028,0010) could be read"
        )
    if not image:
        return None
    ts = fast.transfer_syntax if fast else ""
    if not ts:
        fm = getattr(ds, "file_meta", None)
        if fm is not None and "TransferSyntaxUID" in fm:
            ts = str(fm.TransferSyntaxUID)
    return image_header_problem(ds, size, ts)


def _kind(sop_class: str, ds: Any) -> ObjectKind | None:
    """The non-image kind of an object, or None for an image."""
    if sop_class == _KO:
        return ObjectKind.KO
    if sop_class.startswith(_SR_PREFIX):
        return ObjectKind.SR
    if sop_class in _SEG:
        return ObjectKind.SEG
    if sop_class == _RTSTRUCT:
        return ObjectKind.RTSTRUCT
    if sop_class.startswith(_RT_PREFIX) and sop_class != _RTDOSE:
        return ObjectKind.RT
    if sop_class.startswith(_PR_PREFIX):
        return ObjectKind.PR
    if sop_class == _PDF:
        return ObjectKind.PDF
    if "Rows" not in ds or "Columns" not in ds:
        return ObjectKind.OTHER
    return None


def _pixel_info(
    ds: Any,
    fast: FastHeader | None,
    size: int,
    slope: float,
    intercept: float,
    facts: _ImageFacts,
) -> PixelInfo:
    ts = fast.transfer_syntax if fast else ""
    if not ts:
        fm = getattr(ds, "file_meta", None)
        if fm is not None and "TransferSyntaxUID" in fm:
            ts = str(fm.TransferSyntaxUID)
    offset = fast.pixel_offset if fast else None
    length = fast.pixel_length if fast else None
    # the files of a series share these (offsets differ by a few values): one object each
    bits, rep, spp, photometric = (
        facts.bits,
        facts.pixel_representation,
        facts.samples,
        facts.photometric,
    )
    bits_stored = facts.bits_stored
    key = (ts, bits, bits_stored, rep, spp, photometric, slope, intercept, offset, length, size)
    info = _PIXEL_INFOS.get(key)
    if info is None:
        info = PixelInfo(
            transfer_syntax=ts,
            bits_allocated=bits,
            pixel_representation=rep,
            samples_per_pixel=spp,
            photometric=photometric,
            rescale_slope=slope,
            rescale_intercept=intercept,
            pixel_offset=offset,
            pixel_length=length,
            file_size=size,
            bits_stored=bits_stored,
        )
        if len(_PIXEL_INFOS) >= 4096:
            _PIXEL_INFOS.clear()
        _PIXEL_INFOS[key] = info
    return info


_PIXEL_INFOS: dict[tuple[Any, ...], PixelInfo] = {}


def _first(seq: Any) -> Any:
    try:
        return seq[0] if seq else None
    except (TypeError, IndexError):
        return None


def _fg(frame_fg: Any, shared: Any, seq_kw: str) -> Any:
    """An item of a functional group macro, per-frame first, then shared (PS3.3 C.7.6.16)."""
    for source in (frame_fg, shared):
        if source is not None and seq_kw in source:
            item = _first(source.get(seq_kw))
            if item is not None:
                return item
    return None


def _is_localizer(ds: Any) -> bool:
    it = ds.get("ImageType")
    if it is None:
        return False
    values = [it.upper()] if isinstance(it, str) else [str(v).upper() for v in it]
    return "LOCALIZER" in values or "SCOUT" in values


@dataclass(frozen=True)
class _ImageFacts:
    """What a file's header says about its kind and pixels, the same for most of a series."""

    sop_class: str
    modality: str
    kind: ObjectKind | None
    series_uid: str
    rows: int
    cols: int
    n_frames: int
    bits: int
    bits_stored: int | None  # fewer than ``bits`` with HighBit at its top, else None
    pixel_representation: int
    samples: int
    photometric: str
    slope: float
    intercept: float
    localizer: bool
    orientation: tuple[float, ...] | None
    spacing: tuple[float, ...] | None
    thickness: float | None
    split: tuple[tuple[str, Any], ...]  # the single-frame split attributes


_FACT_KEYWORDS = (
    "SOPClassUID",
    "Modality",
    "Rows",
    "Columns",
    "SeriesInstanceUID",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "RescaleSlope",
    "RescaleIntercept",
    "ImageType",
    "ImageOrientationPatient",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "SliceThickness",
)


def _image_facts(ds: Any) -> _ImageFacts:
    sop_class = _str(ds, "SOPClassUID")
    rows = int(ds.get("Rows", 0) or 0)
    cols = int(ds.get("Columns", 0) or 0)
    slope = _num(ds.get("RescaleSlope"))
    intercept = _num(ds.get("RescaleIntercept"))
    localizer = _is_localizer(ds)
    orientation = _floats(ds.get("ImageOrientationPatient"), 6)
    # images of a series in another geometry are other stacks; what tells apart volumes at the
    # same positions (time, b-value, echo...) is read only where positions repeat (volumes.py)
    split: tuple[tuple[str, Any], ...] = (
        ("size", (rows, cols)),
        ("localizer", localizer),
        ("orientation", _rounded(orientation) if orientation else None),
    )
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = _str(ds, "PhotometricInterpretation") or "MONOCHROME2"
    if samples != 1 or not photometric.startswith("MONOCHROME"):
        # colour images are another stack than the grey ones of their series: a stack's pixel
        # layout is its first image's, and one colour slice once made its grey neighbours
        # unloadable (a seeded fuzz: PALETTE COLOR without its table)
        split = (*split, ("colour", photometric))
    bits = int(ds.get("BitsAllocated", 16) or 16)
    return _ImageFacts(
        sop_class=sop_class,
        modality=_str(ds, "Modality"),
        kind=_kind(sop_class, ds),
        series_uid=_str(ds, "SeriesInstanceUID"),
        rows=rows,
        cols=cols,
        n_frames=int(_num(ds.get("NumberOfFrames")) or 1),
        bits=bits,
        bits_stored=_bits_stored(ds, bits),
        pixel_representation=int(ds.get("PixelRepresentation", 0) or 0),
        samples=samples,
        photometric=photometric,
        slope=1.0 if slope is None else slope,
        intercept=0.0 if intercept is None else intercept,
        localizer=localizer,
        orientation=orientation,
        spacing=_floats(ds.get("PixelSpacing"), 2) or _floats(ds.get("ImagerPixelSpacing"), 2),
        thickness=_num(ds.get("SliceThickness")),
        split=split,
    )


def _bits_stored(ds: Any, bits: int) -> int | None:
    """BitsStored when the value uses fewer bits than allocated, its top bit HighBit (the
    usual layout; another HighBit is left as stored), else None."""
    stored = _num(ds.get("BitsStored"))
    if stored is None or not 1 <= stored < bits or stored != int(stored):
        return None
    high = _num(ds.get("HighBit"))
    if high is not None and high != stored - 1:
        return None
    return int(stored)


def facts_of(ds: Any) -> _ImageFacts:
    """The image facts of a header, computed once per layout for files read through a memo."""
    if isinstance(ds, FastDataset):
        return ds.memo(_FACT_KEYWORDS, _image_facts)  # type: ignore[no-any-return]
    return _image_facts(ds)


def _frames_of(
    src: Source, ds: Any, fast: FastHeader | None, size: int, facts: _ImageFacts | None = None
) -> list[_Frame]:
    """Expand one image file into its frames (or mosaic tiles) with their geometry and values."""
    facts = facts or facts_of(ds)
    sop_uid = _str(ds, "SOPInstanceUID") or src.display
    series_uid = facts.series_uid or f"no-series:{src.path}"
    if "PerFrameFunctionalGroupsSequence" in ds or (fast and 0x52009230 in fast.skipped_sequences):
        return _enhanced_frames(src, ds, fast, size, facts, sop_uid, series_uid)
    rows, cols, n_frames = facts.rows, facts.cols, facts.n_frames
    localizer = facts.localizer
    extra: dict[str, Any] = {"localizer": localizer, "classic": True}
    frames: list[_Frame] = []
    position = _floats(ds.get("ImagePositionPatient"), 3)
    orientation = facts.orientation
    spacing = facts.spacing
    vm = classic_value_map(src, ds, fast, facts.modality, facts.slope, facts.intercept, series_uid)
    pixel = _pixel_info(ds, fast, size, vm.slope, vm.intercept, facts)
    inst_no = _num(ds.get("InstanceNumber"))
    order_base = inst_no if inst_no is not None else 0.0
    thickness = facts.thickness
    if n_frames == 1 and _is_mosaic(ds):
        return _mosaic_frames(
            src, ds, fast, facts, pixel, vm, sop_uid, series_uid, position, extra, order_base
        )
    if n_frames > 1:
        import numpy as np

        offsets = ds.get("GridFrameOffsetVector")
        normal = None
        if orientation:
            o = np.asarray(orientation)
            normal = np.cross(o[:3], o[3:])
        for f in range(n_frames):
            pos_f = None
            if position and normal is not None and offsets is not None and len(offsets) == n_frames:
                # RT Dose / NM style: GridFrameOffsetVector along the normal (PS3.3 C.8.8.3.2)
                pos_f = tuple(float(v) for v in np.asarray(position) + normal * float(offsets[f]))
            ref = InstanceRef(
                path=src.path,
                member=src.member,
                sop_instance_uid=sop_uid,
                frame=f + 1,
                position=pos_f,
                orientation=orientation if pos_f else None,
                pixel_spacing=spacing,
                rows=rows,
                columns=cols,
                instance_number=f + 1,
                pixel=pixel,
                slice_thickness=thickness,
            )
            order = (order_base, (f,), src.display)
            frames.append(_Frame(ref, series_uid, facts.split, extra, ds, order, vm))
        return frames
    if facts.modality == "MR" and manufacturer(ds) == "GE":
        pepolar = ge_pepolar_rows(ds)
        if pepolar is not None:
            flip, note = pepolar
            if flip:
                pixel = replace(pixel, rows_reversed=True)
            if note:
                quirk = (
                    ("rows-reversed", Severity.INFO) if flip else ("rows-order", Severity.WARNING)
                )
                extra = {**extra, "quirks": [(*quirk, note)]}
    ref = InstanceRef(
        path=src.path,
        member=src.member,
        sop_instance_uid=sop_uid,
        frame=None,
        position=position,
        orientation=orientation,
        pixel_spacing=spacing,
        rows=rows,
        columns=cols,
        instance_number=int(inst_no) if inst_no is not None else None,
        pixel=pixel,
        slice_thickness=thickness,
    )
    return [_Frame(ref, series_uid, facts.split, extra, ds, (order_base, (0,), src.display), vm)]


def _mosaic_test(ds: Any) -> bool:
    return is_siemens_mosaic(ds) or is_uih_vframe(ds)


def _is_mosaic(ds: Any) -> bool:
    """A Siemens MOSAIC or UIH VFRAME image (ImageType), once per layout for fast headers."""
    if isinstance(ds, FastDataset):
        return bool(ds.memo(("ImageType",), _mosaic_test))
    return _mosaic_test(ds)


def _enhanced_frames(
    src: Source,
    ds: Any,
    fast: FastHeader | None,
    size: int,
    facts: _ImageFacts,
    sop_uid: str,
    series_uid: str,
) -> list[_Frame]:
    """The frames of an enhanced multi-frame object, from its functional groups (C.7.6.16)."""
    first_read = fast  # where its native pixel data lies, so frames can be read one by one
    if fast is not None:  # sequences were skipped by the fast parser: read them properly
        fp: Any = io.BytesIO(src.read_all()) if src.member else src.path
        ds = dcmread(fp, stop_before_pixels=True)
    rows, cols, n_frames = facts.rows, facts.cols, facts.n_frames
    localizer = facts.localizer
    common_split: list[tuple[str, Any]] = [("size", (rows, cols)), ("localizer", localizer)]
    shared = _first(ds.get("SharedFunctionalGroupsSequence"))
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    vendor = manufacturer(ds)
    philips = vendor == "PHILIPS"
    keep_dims = volume_dimensions(ds)
    inst_no = _num(ds.get("InstanceNumber"))
    order_base = inst_no if inst_no is not None else 0.0
    frames: list[_Frame] = []
    for f in range(n_frames):
        pf = per_frame[f] if f < len(per_frame) else None
        pos_item = _fg(pf, shared, "PlanePositionSequence")
        ori_item = _fg(pf, shared, "PlaneOrientationSequence")
        pm_item = _fg(pf, shared, "PixelMeasuresSequence")
        pvt = _fg(pf, shared, "PixelValueTransformationSequence")
        content = _fg(pf, None, "FrameContentSequence")
        orientation = _floats(ori_item.get("ImageOrientationPatient") if ori_item else None, 6)
        f_slope = _num(pvt.get("RescaleSlope")) if pvt else None
        f_int = _num(pvt.get("RescaleIntercept")) if pvt else None
        split = [
            *common_split,
            ("orientation", _rounded(orientation) if orientation else None),
            ("stack", content.get("StackID") if content else None),
        ]
        dims = frame_dims(content, keep_dims)
        vm = frame_value_map(
            facts.modality,
            philips,
            facts.slope if f_slope is None else f_slope,
            facts.intercept if f_int is None else f_int,
            pf,
            shared,
            philips_frame_item(pf) if philips else None,
        )
        ref = InstanceRef(
            path=src.path,
            member=src.member,
            sop_instance_uid=sop_uid,
            frame=f + 1,
            position=_position(pos_item.get("ImagePositionPatient") if pos_item else None),
            orientation=orientation,
            pixel_spacing=_floats(pm_item.get("PixelSpacing") if pm_item else None, 2),
            rows=rows,
            columns=cols,
            instance_number=(content.get("InStackPositionNumber") if content else None) or f + 1,
            pixel=_pixel_info(ds, first_read, size, vm.slope, vm.intercept, facts),
            slice_thickness=_num(pm_item.get("SliceThickness")) if pm_item else None,
        )
        extra = {"localizer": localizer, "pf": pf, "shared": shared, "dims": dims, "vendor": vendor}
        order = (order_base, (*(dims or ()), f), src.display)
        frames.append(_Frame(ref, series_uid, tuple(split), extra, ds, order, vm))
    return frames


def _mosaic_frames(
    src: Source,
    ds: Any,
    fast: FastHeader | None,
    facts: _ImageFacts,
    pixel: PixelInfo,
    vm: ValueMap,
    sop_uid: str,
    series_uid: str,
    position: tuple[float, ...] | None,
    extra: dict[str, Any],
    order_base: float,
) -> list[_Frame]:
    """The slices of a mosaic image (Siemens MOSAIC, UIH VFRAME) as tiles of its one frame."""
    rows, cols = facts.rows, facts.cols
    orientation, spacing = facts.orientation, facts.spacing
    if is_uih_vframe(ds):
        full = ds
        if fast is not None:  # the per-slice positions are in a sequence the fast parser skips
            fp: Any = io.BytesIO(src.read_all()) if src.member else src.path
            full = dcmread(fp, stop_before_pixels=True)
        plan = uih_vframe(full, rows, cols)
    else:
        plan = siemens_mosaic(ds, rows, cols, orientation, position, spacing)
    extra = {
        **extra,
        "csa": plan.csa,
        "quirks": [("mosaic", Severity.WARNING, f"{plan.kind}: {n}") for n in plan.notes],
    }
    split = (
        ("size", (plan.tile_rows, plan.tile_cols)),
        ("localizer", facts.localizer),
        ("orientation", _rounded(orientation) if orientation else None),
    )
    inst_no = _num(ds.get("InstanceNumber"))
    frames = []
    for t in plan.tiles:
        ref = InstanceRef(
            path=src.path,
            member=src.member,
            sop_instance_uid=sop_uid,
            frame=None,
            position=t.position,
            orientation=orientation if t.position else None,
            pixel_spacing=spacing,
            rows=plan.tile_rows,
            columns=plan.tile_cols,
            instance_number=int(inst_no) if inst_no is not None else None,
            pixel=pixel,
            slice_thickness=facts.thickness,
            tile=Tile(t.index, t.row, t.col, rows, cols),
        )
        order = (order_base, (t.index,), src.display)
        frames.append(_Frame(ref, series_uid, split, extra, ds, order, vm))
    return frames


_ROUNDED: dict[tuple[float, ...], tuple[float, ...]] = {}


def _rounded(orientation: tuple[float, ...]) -> tuple[float, ...]:
    """Orientation rounded for grouping; memoised since a series repeats the same values."""
    r = _ROUNDED.get(orientation)
    if r is None:
        r = tuple(round(v, ORIENTATION_DECIMALS) for v in orientation)
        if len(_ROUNDED) < 4096:
            _ROUNDED[orientation] = r
    return r


def _label(split: tuple[tuple[str, Any], ...], varying: set[str]) -> str:
    parts: list[str] = []
    d = dict(split)
    if d.get("localizer"):
        parts.append("localizer")
    for key in ("stack", "orientation", "size", "colour"):
        if key not in varying or d.get(key) is None:
            continue
        v = d[key]
        if key == "colour":
            parts.append(str(v).lower())
        elif key == "stack":
            parts.append(f"stack {v}")
        elif key == "orientation":
            parts.append(orientation_name(v))
        elif key == "size":
            parts.append(f"{v[0]}x{v[1]}")
    return ", ".join(parts)


def orientation_name(iop: tuple[float, ...]) -> str:
    """Axial, coronal, sagittal or oblique, from the slice normal's main component."""
    import numpy as np

    o = np.asarray(iop, dtype=float)
    n = np.abs(np.cross(o[:3], o[3:]))
    main = int(np.argmax(n))
    if n[main] < 0.9:
        return "oblique"
    return ("sagittal", "coronal", "axial")[main]


def _volume_values(frame: _Frame) -> dict[str, Any]:
    """What may tell this image's volume apart (read only where positions repeat)."""
    extra = frame.extra
    values = extra.get("volume_values")
    if values is None:  # one read per file: mosaic tiles share their file's
        try:
            if "pf" in extra:
                values = enhanced_values(
                    extra["pf"], extra["shared"], extra["dims"], extra["vendor"]
                )
            else:
                values = classic_values(frame.ds, extra.get("csa"))
        except Exception:  # noqa: BLE001 - unreadable attributes tell nothing apart
            values = {}
        extra["volume_values"] = values
    return values


def _names(frames: list[_Frame], idx: list[int]) -> tuple[str, ...]:
    out = []
    for i in idx:
        r = frames[i].ref
        name = r.path if r.member is None else f"{r.path}!{r.member}"
        if r.frame is not None:
            name = f"{name} (frame {r.frame})"
        elif r.tile is not None:
            name = f"{name} (tile {r.tile.index + 1})"
        out.append(name)
    return tuple(out)


def _split_volumes(frames: list[_Frame]) -> list[tuple[str, list[_Frame], Volume]]:
    """Split images of one geometry that repeat positions into volumes (see ``volumes``)."""
    import numpy as np

    ori = next((f.ref.orientation for f in frames if f.ref.orientation), None)
    if ori is None:
        clusters: list[int | None] = [None] * len(frames)
    else:
        o = np.asarray(ori, dtype=np.float64)
        clusters = position_clusters([f.ref.position for f in frames], np.cross(o[:3], o[3:]))
    try:
        ntp = _num(frames[0].ds.get("NumberOfTemporalPositions")) if frames[0].ds else None
    except Exception:  # noqa: BLE001 - an unreadable count is no count
        ntp = None
    try:
        found = split_volumes(
            clusters,
            lambda i: _volume_values(frames[i]),
            [f.order for f in frames],
            int(ntp) if ntp is not None and 1 <= ntp <= 1e6 else None,
            lambda idx: _names(frames, idx),
        )
    except Exception as exc:  # noqa: BLE001 - one odd series must not stop the scan
        whole = Volume(list(range(len(frames))))
        whole.problems.append(
            Problem(
                "volumes-not-split",
                f"images repeating slice positions could not be told apart ({exc}): "
                "kept as one stack",
                Severity.WARNING,
                _names(frames, [0]),
            )
        )
        found = [whole]
    return [(v.label, [frames[i] for i in v.members], v) for v in found]


def _patient_name(ds: Any) -> str:
    """PatientName decoded by pydicom, which honours SpecificCharacterSet (0008,0005)."""
    if isinstance(ds, FastDataset):
        return _str(ds.pydicom_subset(("SpecificCharacterSet", "PatientName")), "PatientName")
    return _str(ds, "PatientName")


def _stack_from(
    frames: list[_Frame], label: str, key: str, patient_name: str | None = None
) -> Stack:
    ds = frames[0].ds
    refs = [f.ref for f in frames]
    stack = Stack(
        key=key,
        series_instance_uid=frames[0].series_uid,
        modality=_str(ds, "Modality") or "OT",
        label=label,
        instances=refs,
        patient_id=_str(ds, "PatientID"),
        patient_name=_patient_name(ds) if patient_name is None else patient_name,
        study_instance_uid=_str(ds, "StudyInstanceUID"),
        study_date=_str(ds, "StudyDate"),
        study_description=_str(ds, "StudyDescription"),
        series_number=int(_num(_get(ds, "SeriesNumber")) or 0) or None,
        series_description=_str(ds, "SeriesDescription"),
        frame_of_reference_uid=_str(ds, "FrameOfReferenceUID") or None,
        transfer_syntaxes=sorted(
            {r.pixel.transfer_syntax for r in refs if r.pixel and r.pixel.transfer_syntax}
        ),
        is_localizer=bool(frames[0].extra.get("localizer")),
        header={
            "study_time": _str(ds, "StudyTime"),
            "body_part": _str(ds, "BodyPartExamined"),
            "accession_number": _str(ds, "AccessionNumber"),
            "patient_birth_date": _str(ds, "PatientBirthDate"),
            "institution": _str(ds, "InstitutionName"),
            "series_date": _str(ds, "SeriesDate"),
        },
    )
    plan = plan_geometry(refs)
    # Images left out (duplicates, no position) are named in the plan's problems.
    stack.instances = [refs[i] for i in plan.order]
    stack.planned = (stack.instances, replace(plan, order=list(range(len(plan.order)))))
    stack.problems.extend(plan.problems)
    _state_values(stack, frames)
    # what a vendor's quirk did to these images (mosaic notes, GE epi_pepolar): once a stack
    quirks = {q for f in frames for q in f.extra.get("quirks", ())}
    for code, severity, note in sorted(quirks, key=lambda q: (q[0], q[2])):
        stack.problems.append(Problem(code, note, severity, tuple(stack.files[:1])))
    ps = refs[0].pixel_spacing or (1.0, 1.0)
    stack.spacing_mm = (round(plan.slice_spacing, 6), float(ps[0]), float(ps[1]))
    stack.orientation = refs[plan.order[0]].orientation
    stack.header["n_slices"] = plan.n_slices
    return stack


def _state_values(stack: Stack, frames: list[_Frame]) -> None:
    """The stack's unit and value mapping, as the scan report states them."""
    maps = [f.values for f in frames if f.values is not None]
    if not maps:
        return
    kinds = {m.source for m in maps}
    units = {m.units for m in maps}
    if len(units) == 1:
        stack.units = next(iter(units))
    described = sorted({m.description for m in maps if m.source != RESCALE})
    stack.values = "; ".join(described)
    if stack.units:  # the header travels with a stack through the study index
        stack.header["units"] = stack.units
    if stack.values:
        stack.header["values"] = stack.values
    if len(kinds) > 1:
        stack.problems.append(
            Problem(
                "mixed-value-mapping",
                "the images of this stack map their stored values differently ("
                + ", ".join(sorted(kinds))
                + "): values may not be comparable between slices",
                Severity.WARNING,
                tuple(stack.files[:1]),
            )
        )


def _make_labels_unique(stacks: list[Stack]) -> None:
    """Number stacks whose labels collide (e.g. radial slices that all read "sagittal")."""
    by_label: dict[str, list[Stack]] = defaultdict(list)
    for st in stacks:
        by_label[st.label].append(st)
    for label, same in by_label.items():
        if len(same) < 2:
            continue
        same.sort(key=lambda st: (st.instances[0].instance_number or 0, st.key))
        for n, st in enumerate(same, 1):
            st.label = f"{label} #{n}" if label else f"#{n}"


def group_frames(frames: list[_Frame]) -> list[Stack]:
    """Group frames into series, then split each series into display stacks (one a volume)."""
    by_series: dict[str, list[_Frame]] = defaultdict(list)
    for f in frames:
        by_series[f.series_uid].append(f)
    ordered: list[tuple[tuple[Any, ...], Stack]] = []
    for series_uid, series_frames in by_series.items():
        try:
            ordered.extend(_series_stacks(series_uid, series_frames))
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError) as exc:
            # a value no check foresaw: this series is said unloadable, the others still load
            ordered.append(((), _series_not_understood(series_uid, series_frames, exc)))
    ordered.sort(
        key=lambda t: (
            t[1].patient_id,
            t[1].study_date,
            t[1].study_instance_uid,
            t[1].series_number or 0,
            t[1].series_instance_uid,
            t[0],
        )
    )
    return [st for _, st in ordered]


def _series_stacks(
    series_uid: str, series_frames: list[_Frame]
) -> list[tuple[tuple[Any, ...], Stack]]:
    """The display stacks of one series (one a volume), with their sort keys."""
    parts: dict[tuple[tuple[str, Any], ...], list[_Frame]] = defaultdict(list)
    for f in series_frames:
        parts[f.split].append(f)
    varying = {
        k
        for k in ("size", "orientation", "stack", "colour")
        if len({dict(s).get(k) for s in parts}) > 1
    }
    sizes = {dict(s).get("size") for s in parts}
    n = 0
    series_stacks: list[tuple[tuple[Any, ...], Stack]] = []
    largest = max(len(v) for v in parts.values())
    patient_name = _patient_name(series_frames[0].ds)  # once a series: it costs a decode
    for split, part in parts.items():
        base = _label(split, varying)
        part_order = min(f.order for f in part)
        for extra_label, sub, volume in _split_volumes(part):
            label = ", ".join(x for x in (base, extra_label) if x)
            n += 1
            stack = _stack_from(sub, label, f"{series_uid}#{n}", patient_name)
            stack.problems.extend(volume.problems)
            if volume.values and extra_label:
                stack.header["volume"] = dict(volume.values)
            if (
                not stack.is_localizer
                and len(parts) > 1
                and len(sub) <= 3
                and largest > 10
                and "orientation" in varying
            ):
                stack.is_localizer = True  # a few images across the main stack: a scout
            if len(sizes) > 1:
                stack.problems.append(
                    Problem(
                        "mixed-sizes",
                        f"series mixes image sizes {sorted(z for z in sizes if z)}: "
                        "split into one stack per size",
                        Severity.INFO,
                        tuple(stack.files[:1]),
                    )
                )
            series_stacks.append(((part_order, volume.order), stack))
    _make_labels_unique([st for _, st in series_stacks])
    return series_stacks


def _series_not_understood(series_uid: str, series_frames: list[_Frame], exc: Exception) -> Stack:
    """One unloadable stack for a series whose images could not be put together."""
    refs = [f.ref for f in series_frames]
    files = _names(series_frames, list(range(min(5, len(series_frames)))))
    return Stack(
        key=f"{series_uid}#0",
        series_instance_uid=series_uid,
        modality=_str(series_frames[0].ds, "Modality") or "OT",
        label="",
        instances=refs,
        problems=[
            Problem(
                "series-not-understood",
                f"the {len(refs)} images of this series could not be put together "
                f"({type(exc).__name__}: {exc})",
                Severity.ERROR,
                files,
            )
        ],
    )


def scan(
    paths: Iterable[str],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    watcher: ScanWatcher | None = None,
) -> ScanReport:
    """Scan folders, DICOMDIRs or zips (header-only) into a report of stacks and problems."""
    with _collector_paused():
        return _scan(paths, progress, cancel, watcher)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while headers are read.

    A scan keeps tens of container objects a file until it groups them, so the collector
    runs every few dozen files and, now and then, walks every object of the process (20-30
    ms in a viewer holding volumes and Qt objects); nothing a scan makes needs it (no cycles).
    Restored as it was (a caller that paused it keeps it paused).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _scan(
    paths: Iterable[str],
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    watcher: ScanWatcher | None,
) -> ScanReport:
    report = ScanReport()
    frames: list[_Frame] = []
    # names of a list are told from zips and folders as their heads are read (one open a file)
    seen: set[tuple[str, str | None]] = set()
    sources = list(iter_sources(paths, defer_checks=True, seen=seen))
    total = len(sources)
    expanded = 0  # zip archives and folders of the list, replaced by their files
    memo = LayoutMemo()
    first_kind: tuple[str, int, int] | None = None
    for n, item in enumerate(sources):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        if isinstance(item, UnreadableFile):
            report.unreadable.append(item)
            continue
        if progress is not None:
            progress(n, total, item.display)
        result = read_header(item, memo)
        if isinstance(result, _ZipArchive):
            members = zip_members(item)
            sources[n + 1 : n + 1] = members  # read next, in the archive's order
            total += len(members)
            expanded += 1
            continue
        if isinstance(result, _Folder):
            walked = folder_sources(item.path, seen)
            sources[n + 1 : n + 1] = walked  # read next, in name order
            total += len(walked)
            expanded += 1
            continue
        if isinstance(result, UnreadableFile):
            report.unreadable.append(result)
            continue
        ds, fast, size = result
        why = _header_problem(ds, fast, size)
        if why:
            report.unreadable.append(UnreadableFile(item.display, why))
            continue
        try:
            facts = facts_of(ds)
        except (ValueError, TypeError, OverflowError) as exc:  # a value checks did not foresee
            report.unreadable.append(UnreadableFile(item.display, f"corrupt header: {exc}"))
            continue
        sop_class = facts.sop_class
        if sop_class == _DICOMDIR:
            continue
        kind = facts.kind
        if kind is None and fast is not None and fast.pixel_offset is None:
            kind = _pixel_less_kind(sop_class)
        if kind is not None:
            report.non_image.append(
                NonImageObject(
                    item.display,
                    kind,
                    sop_class,
                    _str(ds, "SOPInstanceUID"),
                    _str(ds, "SeriesInstanceUID"),
                    _str(ds, "StudyInstanceUID"),
                    _str(ds, "PatientID"),
                    _str(ds, "Modality"),
                    _str(ds, "SeriesDescription") or _str(ds, "ContentLabel"),
                )
            )
            continue
        bad = _pixel_problem(facts, fast, size)
        if bad:
            report.unreadable.append(UnreadableFile(item.display, bad))
            continue
        try:
            found = _frames_of(item, ds, fast, size, facts)
            if watcher is not None and found:
                if not frames:
                    watcher.first_image(found[0].ref, facts.modality, total - expanded)
                    first_kind = (facts.series_uid, facts.rows, facts.cols)
                elif first_kind != (facts.series_uid, facts.rows, facts.cols):
                    watcher.another_series()
                    watcher = None  # told once
            frames.extend(found)
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the scan
            report.unreadable.append(
                UnreadableFile(item.display, f"image header not understood: {exc}")
            )
    if progress is not None:
        progress(total, total, "grouping")
    report.stacks = group_frames(frames)
    report.unreadable = _archives_said_once(report, sources)
    return report


def _archives_said_once(report: ScanReport, sources: list[Any]) -> list[UnreadableFile]:
    """The unreadable files, where a zip archive with nothing DICOM in it is one line.

    Office documents (.xlsx, .docx) are zip archives: one sent with a series would otherwise
    be said member by member ("[Content_Types].xml: not a DICOM file", and twenty more).
    """
    archive_of = {
        s.display: s.path for s in sources if isinstance(s, Source) and s.member is not None
    }
    if not archive_of:
        return report.unreadable
    useful = {i.path for st in report.stacks for i in st.instances if i.member is not None}
    useful |= {archive_of[o.path] for o in report.non_image if o.path in archive_of}
    members: dict[str, list[UnreadableFile]] = defaultdict(list)
    for u in report.unreadable:
        archive = archive_of.get(u.path)
        if archive is not None and archive not in useful:
            members[archive].append(u)
    out: list[UnreadableFile] = []
    for u in report.unreadable:
        archive = archive_of.get(u.path)
        if archive is None or archive not in members or len(members[archive]) < 2:
            out.append(u)
        elif u is members[archive][0]:
            out.append(
                UnreadableFile(
                    archive,
                    f"a zip archive with no DICOM file in it: none of its "
                    f"{len(members[archive])} files can be read (the first, "
                    f"{u.path[len(archive) + 1 :]}: {u.reason})",
                )
            )
    return out


def _pixel_less_kind(sop_class: str) -> ObjectKind | None:
    """A complete file of a class that is not an image storage class (a vendor's private
    object: Philips' 1.3.46.670589.11.0.0.12.x) with image attributes but no Pixel Data is
    some other object, not an image cut short; an image class without pixels stays an image
    for ``_pixel_problem`` to call truncated."""
    return None if "Image Storage" in _uid_name(sop_class) else ObjectKind.OTHER


def _pixel_problem(facts: _ImageFacts, fast: FastHeader | None, size: int) -> str | None:
    """Detect files whose pixel data cannot be complete, from the header alone."""
    if fast is None:
        return None
    if fast.pixel_offset is None:
        return "no Pixel Data (7FE0,0010) element: file truncated before the pixels"
    if fast.pixel_length is None:
        return None  # encapsulated: checked when decoded
    rows, cols, bits = facts.rows, facts.cols, facts.bits
    spp, frames = facts.samples, facts.n_frames
    expected = rows * cols * spp * frames * bits // 8
    available = size - fast.pixel_offset
    if available < min(expected, fast.pixel_length):
        return (
            f"truncated pixel data: Rows {rows} x Columns {cols} x {bits} bits x {frames} frame(s) "
            f"needs {expected} bytes, the file holds {max(available, 0)}"
        )
    return None
