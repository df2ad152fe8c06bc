"""A TID 1500 Measurement Report back into a read: ours exactly, other tools' as far as it goes.

Our own SR (:mod:`.sr_export`) comes back as an equal read: lesions (uid = Tracking UID, label,
role, site, flags, station, description), timepoints (uid = Subject Time Point Identifier, label,
role, date from the image library's Study Date or the offset from baseline, study from the
evidence, slice thickness from the image library), measurements (uid = the NUM's Tracking UID,
points from SCOORD3D, else from SCOORD through the image's geometry; plane = the referenced
image's plane), statuses.

Any other TID 1500 report (dcmqi, 3D Slicer, OHIF...) is read group by group: tracking
identifier and UID, time point, finding and site, and every numeric measurement with its unit and
derivation (``groups``; SUVbw max/mean/peak land in ``pet_uptake``).  Every content item that
does not become part of the read is listed in ``not_imported`` with its place and value, never
dropped silently.

A damaged file is refused with an :class:`SrImportError` naming the file and what is wrong:
not DICOM, cut short, a deflated data set that does not inflate (or inflates past
``MAX_INFLATED_BYTES``), content nested deeper than ``MAX_NESTING``, an element whose value
cannot be decoded, or a content item that lacks what its value type needs (no Value Type, no
Numeric Value, a NaN Time Point Order, coordinates that are not whole points...), named by its
place in the content tree (``content item 1.4.2.3 (NUM 'Long Axis')``).  Every element is
decoded and every content item used is checked before any value is used.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import struct
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from namecar_viewer.core.dicom.header_checks import PYDICOM_READ_FAILURES
from namecar_viewer.core.measure.record import (
    DEFAULT_UNIT,
    ImageRef,
    Measurement,
    MeasurementKind,
    PlaneRef,
    new_uid,
)
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.core.reports import codes as c
from namecar_viewer.core.reports.sr_export import PetUptake


class SrImportError(ValueError):
    """The file is not an SR we can read at all (the message says why)."""


MAX_SR_BYTES = 64 * 1024 * 1024  # an SR of a whole trial read is well under 1 MiB
MAX_INFLATED_BYTES = 64 * 1024 * 1024
MAX_NESTING = 64  # sequence levels; a TID 1500 report nests about 8


class _ItemError(Exception):
    """A content item lacks what its value type needs (the place is added by the caller)."""


class _Loc:
    """The content item being read, for messages: its place in the tree and the item."""

    def __init__(self) -> None:
        self.path = ""
        self.item: Dataset | None = None

    def at(self, path: str, item: Dataset | None) -> _Loc:
        self.path, self.item = path, item
        return self

    def __str__(self) -> str:
        if self.item is None:
            return "the document"
        vt = str(self.item.get("ValueType", "") or "")
        try:
            meaning = str(self.item.ConceptNameCodeSequence[0].get("CodeMeaning", ""))
        except (AttributeError, IndexError, TypeError):
            meaning = ""
        what = " ".join(x for x in (vt, f"'{meaning}'" if meaning else "") if x)
        return f"content item {self.path}" + (f" ({what})" if what else "")


# What reading a content item may raise when the item is malformed: turned into SrImportError.
_ITEM_FAILURES = (
    _ItemError,
    AttributeError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    OverflowError,
)


def _item_failure(source: str, loc: _Loc, exc: BaseException) -> SrImportError:
    if isinstance(exc, _ItemError):
        reason = str(exc)
    elif isinstance(exc, AttributeError) and getattr(exc, "name", None):
        reason = f"no {exc.name}"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return SrImportError(f"{source or 'The SR'}: {loc}: {reason}")


def _vt(item: Dataset) -> str:
    vt = item.get("ValueType")
    if not vt:
        raise _ItemError("no Value Type (0040,A040)")
    return str(vt)


def _text(item: Dataset, keyword: str) -> str:
    value = item.get(keyword)
    if value is None:
        raise _ItemError(f"no {keyword}")
    return str(value)


def _ref_uid(item: Dataset) -> str:
    """The Referenced SOP Instance UID of an IMAGE or COMPOSITE item."""
    seq = item.get("ReferencedSOPSequence")
    if not seq:
        raise _ItemError("no Referenced SOP Sequence (0008,1199)")
    return _text(seq[0], "ReferencedSOPInstanceUID")


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise _ItemError(f"{what} is {value}, not a finite number")
    return value


def _graphic(item: Dataset, dims: int) -> np.ndarray:
    """Graphic Data as whole points of ``dims`` coordinates, every one finite."""
    raw = item.get("GraphicData")
    if raw is None:
        raise _ItemError("no Graphic Data (0070,0022)")
    values = [raw] if isinstance(raw, int | float) else list(raw)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise _ItemError("Graphic Data is not a list of numbers") from None
    if arr.size == 0 or arr.size % dims:
        raise _ItemError(f"Graphic Data holds {arr.size} values, not whole {dims}D points")
    if not np.all(np.isfinite(arr)):
        raise _ItemError("Graphic Data holds a value that is not finite (NaN or infinity)")
    return arr.reshape(-1, dims)


@dataclass(frozen=True)
class ImportedValue:
    """One numeric measurement of a group, as the SR states it."""

    name: str
    value: float
    unit: str
    derivation: str = ""
    method: str = ""
    code: tuple[str, str] = ("", "")


@dataclass
class ImportedGroup:
    """One TID 1501/1410/1411 measurement group."""

    tracking_identifier: str
    tracking_uid: str
    time_point: str
    finding: str
    finding_site: str
    values: list[ImportedValue] = field(default_factory=list)
    qualitative: list[tuple[str, str]] = field(default_factory=list)
    lesion_uid: str | None = None


@dataclass
class SrImport:
    """What an SR gave: a read, its groups and values, and what was not imported."""

    read: Read
    groups: list[ImportedGroup]
    pet_uptake: list[PetUptake]
    responses: dict[str, dict[str, str | float]]
    not_imported: list[str]
    title: str
    source: str


# --- content-item helpers ------------------------------------------------------------------


def _name(item: Dataset) -> tuple[tuple[str, str], str]:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return ("", ""), ""
    code = seq[0]
    return c.key(code), str(code.get("CodeMeaning", ""))


def _code_value(item: Dataset) -> tuple[tuple[str, str], str]:
    seq = item.get("ConceptCodeSequence")
    if not seq:
        return ("", ""), ""
    return c.key(seq[0]), str(seq[0].get("CodeMeaning", ""))


def _num(item: Dataset) -> tuple[float, str]:
    """The value and unit of a NUM; NaN when it has no value (a Numeric Value Qualifier)."""
    mv = item.get("MeasuredValueSequence")
    if not mv:
        return math.nan, ""
    v = mv[0]
    unit = ""
    if v.get("MeasurementUnitsCodeSequence"):
        unit = str(v.MeasurementUnitsCodeSequence[0].get("CodeValue", ""))
    value = v.get("NumericValue")
    if value is None or value == "":
        raise _ItemError("its Measured Value Sequence has no Numeric Value (0040,A30A)")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _ItemError(f"Numeric Value {str(value)[:30]!r} is not a number") from None
    return _finite(number, "Numeric Value"), unit


def _describe(item: Dataset) -> str:
    vt = str(item.get("ValueType", "?"))
    _, meaning = _name(item)
    if vt == "NUM":
        v, u = _num(item)
        val = f"{v:g} {u}".strip()
    elif vt == "CODE":
        val = _code_value(item)[1]
    elif vt in ("TEXT", "UIDREF", "DATE", "TIME", "DATETIME", "PNAME"):
        val = str(
            item.get("TextValue")
            or item.get("UID")
            or item.get("Date")
            or item.get("Time")
            or item.get("DateTime")
            or item.get("PersonName")
            or ""
        )
    elif vt in ("IMAGE", "COMPOSITE"):
        ref = item.ReferencedSOPSequence[0] if item.get("ReferencedSOPSequence") else None
        val = "" if ref is None else str(ref.get("ReferencedSOPInstanceUID", ""))
        if ref is not None and ref.get("ReferencedSegmentNumber") is not None:
            val += f" segment {ref.ReferencedSegmentNumber}"
    elif vt == "CONTAINER":
        val = f"{len(item.get('ContentSequence', []))} items"
    else:
        val = ""
    return f"{vt} '{meaning}'" + (f" = {val}" if val else "")


# Concept names (scheme, value) we consume; old SRT aliases used by dcmqi and others beside.
TRACKING_ID = {("DCM", "112039")}
TRACKING_UID = {("DCM", "112040")}
TIME_POINT = {("UMLS", "C2348792")}
TIME_POINT_TYPE = {("DCM", "126072")}
TIME_POINT_ORDER = {("DCM", "126073")}
SUBJECT_TP = {("DCM", "126070")}
PROTOCOL_TP = {("DCM", "126071")}
TEMPORAL_OFFSET = {("DCM", "128740")}
FINDING = {("DCM", "121071")}
FINDING_SITE = {("SCT", "363698007"), ("SRT", "G-C0E3")}
DERIVATION = {("DCM", "121401")}
METHOD = {("SCT", "370129005"), ("SRT", "G-C036")}
SESSION = {("NCIt", "C67447")}
SOURCE_OF_MEASUREMENT = {("DCM", "121112")}
MEASUREMENT_GROUP = {("DCM", "125007")}
IMAGING_MEASUREMENTS = {("DCM", "126010")}
IMAGE_LIBRARY = {("DCM", "111028")}
STUDY_DATE = {("DCM", "111060")}
OBSERVER_NAME = {("DCM", "121008")}

_SITES = c.reverse(c.SITE_CODES)  # type: ignore[arg-type]
_ROLES = c.reverse(c.ROLE_CODES)  # type: ignore[arg-type]
_STATUSES = c.reverse(c.STATUS_CODES)  # type: ignore[arg-type]
_TP_ROLE_BY_TYPE = c.reverse(c.TIMEPOINT_TYPE)  # type: ignore[arg-type]

# Library geometry descriptors (TID 1604), DCM codes.
_GEOM = {
    "110910": "rows",
    "110911": "columns",
    "111026": "h_spacing",
    "111066": "v_spacing",
    "112225": "thickness",
    "110901": "ipp_x",
    "110902": "ipp_y",
    "110903": "ipp_z",
    "110904": "row_x",
    "110905": "row_y",
    "110906": "row_z",
    "110907": "col_x",
    "110908": "col_y",
    "110909": "col_z",
}


@dataclass
class _LibraryEntry:
    values: dict[str, float] = field(default_factory=dict)
    study_date: dt.date | None = None

    def plane(self) -> PlaneRef | None:
        v = self.values
        need = ("ipp_x", "ipp_y", "ipp_z", "row_x", "row_y", "row_z", "col_x", "col_y", "col_z")
        if not all(k in v for k in (*need, "h_spacing", "v_spacing")):
            return None
        th = v.get("thickness")
        return PlaneRef(
            origin=(v["ipp_x"], v["ipp_y"], v["ipp_z"]),
            row_direction=(v["row_x"], v["row_y"], v["row_z"]),
            column_direction=(v["col_x"], v["col_y"], v["col_z"]),
            pixel_spacing=(v["v_spacing"], v["h_spacing"]),
            shape=(int(v.get("rows", 0)), int(v.get("columns", 0))),
            slice_spacing_mm=th,
        )


def _da(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


MAX_OFFSET_DAYS = 100 * 366  # a temporal offset from baseline beyond a century is damage


def _order(value: float) -> int:
    """A Time Point Order: a whole number (NaN, infinity or 2.5 are refused)."""
    if not math.isfinite(value) or value != int(value) or abs(value) > 1_000_000:
        raise _ItemError(f"Time Point Order is {value:g}, not a whole number")
    return int(value)


def _image_library(root: Dataset, loc: _Loc) -> dict[str, _LibraryEntry]:
    out: dict[str, _LibraryEntry] = {}
    for ri, item in enumerate(root.get("ContentSequence", []), start=1):
        if _name(item)[0] not in IMAGE_LIBRARY:
            continue
        for gi, group in enumerate(item.get("ContentSequence", []), start=1):
            group_date: dt.date | None = None
            group_values: dict[str, float] = {}
            images = []
            for si, sub in enumerate(group.get("ContentSequence", []), start=1):
                path = f"{ri}.{gi}.{si}"
                loc.at(path, sub)
                vt = _vt(sub)
                if vt == "IMAGE":
                    images.append((path, sub))
                else:
                    k, _ = _name(sub)
                    if k in STUDY_DATE:
                        group_date = _da(_text(sub, "Date"))
                    elif vt == "NUM" and k[0] == "DCM" and k[1] in _GEOM:
                        group_values[_GEOM[k[1]]] = _num(sub)[0]
            for path, img in images:
                loc.at(path, img)
                uid = _ref_uid(img)
                e = _LibraryEntry(dict(group_values), group_date)
                for di, d in enumerate(img.get("ContentSequence", []), start=1):
                    loc.at(f"{path}.{di}", d)
                    k, _ = _name(d)
                    if k in STUDY_DATE:
                        e.study_date = _da(_text(d, "Date"))
                    elif _vt(d) == "NUM" and k[0] == "DCM" and k[1] in _GEOM:
                        e.values[_GEOM[k[1]]] = _num(d)[0]
                out[uid] = e
    return out


def _evidence(ds: Dataset) -> dict[str, tuple[str, str]]:
    """SOP instance UID -> (study, series) from the evidence sequences (incomplete refs left)."""
    out: dict[str, tuple[str, str]] = {}
    for kw in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for st in ds.get(kw) or []:
            for se in st.get("ReferencedSeriesSequence") or []:
                for sop in se.get("ReferencedSOPSequence") or []:
                    uid = sop.get("ReferencedSOPInstanceUID")
                    study, series = st.get("StudyInstanceUID"), se.get("SeriesInstanceUID")
                    if uid and study and series:
                        out[str(uid)] = (str(study), str(series))
    return out


# --- measurements --------------------------------------------------------------------------


@dataclass
class _Num:
    name_key: tuple[str, str]
    name: str
    value: float
    unit: str
    derivation: str = ""
    derivation_key: tuple[str, str] = ("", "")
    method: str = ""
    tracking_uid: str = ""
    tracking_id: str = ""
    points3d: np.ndarray | None = None
    frame_of_reference_uid: str | None = None
    points2d: np.ndarray | None = None
    image2d: str | None = None
    images: list[tuple[str, int | None]] = field(default_factory=list)


def _parse_num(item: Dataset, where: str, missing: list[str], loc: _Loc) -> _Num:
    k, meaning = _name(item)
    value, unit = _num(item)
    n = _Num(k, meaning, value, unit)
    path = loc.path
    for si, sub in enumerate(item.get("ContentSequence", []), start=1):
        loc.at(f"{path}.{si}", sub)
        sk, _ = _name(sub)
        vt = _vt(sub)
        if sk in DERIVATION and vt == "CODE":
            n.derivation_key, n.derivation = _code_value(sub)
        elif sk in METHOD and vt == "CODE":
            n.method = _code_value(sub)[1]
        elif sk in TRACKING_UID:
            n.tracking_uid = _text(sub, "UID")
        elif sk in TRACKING_ID:
            n.tracking_id = _text(sub, "TextValue")
        elif vt == "SCOORD3D":
            n.points3d = _graphic(sub, 3)
            n.frame_of_reference_uid = _text(sub, "ReferencedFrameOfReferenceUID")
        elif vt == "SCOORD":
            n.points2d = _graphic(sub, 2)
            scoord_path = loc.path
            for ii, img in enumerate(sub.get("ContentSequence", []), start=1):
                loc.at(f"{scoord_path}.{ii}", img)
                if _vt(img) == "IMAGE":
                    n.image2d = _ref_uid(img)
        elif vt == "IMAGE" and (sk in SOURCE_OF_MEASUREMENT or not sk[0]):
            uid = _ref_uid(sub)
            frames = sub.ReferencedSOPSequence[0].get("ReferencedFrameNumber")
            frame = None
            if frames is not None:
                frame = int(frames[0] if isinstance(frames, (list, tuple)) else frames)
            n.images.append((uid, frame))
        else:
            missing.append(f"{where}: {meaning}: {_describe(sub)}")
    return n


def _points_from_2d(n: _Num, library: dict[str, _LibraryEntry]) -> np.ndarray | None:
    if n.points2d is None or n.image2d is None or n.image2d not in library:
        return None
    plane = library[n.image2d].plane()
    if plane is None:
        return None
    o = np.asarray(plane.origin)
    r = np.asarray(plane.row_direction)
    col = np.asarray(plane.column_direction)
    sr, sc = plane.pixel_spacing
    pts = [o + (x - 0.5) * sc * r + (y - 0.5) * sr * col for x, y in n.points2d]
    return np.asarray(pts)


def _measurement_from_nums(
    nums: Sequence[_Num],
    library: dict[str, _LibraryEntry],
    evidence: dict[str, tuple[str, str]],
) -> Measurement | None:
    by = {x.name_key: x for x in nums}

    def pts(n: _Num) -> np.ndarray | None:
        return n.points3d if n.points3d is not None else _points_from_2d(n, library)

    kind: MeasurementKind
    points: list[Any]
    long_, short = by.get(c.key(c.LONG_AXIS)), by.get(c.key(c.SHORT_AXIS))
    first = nums[0]
    if long_ is not None and short is not None:
        a, b = pts(long_), pts(short)
        if a is None or b is None or len(a) < 2 or len(b) < 2:
            return None
        kind, points = MeasurementKind.BIDIRECTIONAL, [a[0], a[1], b[0], b[1]]
    elif c.key(c.LENGTH) in by or long_ is not None:
        n = by.get(c.key(c.LENGTH)) or long_
        assert n is not None
        a = pts(n)
        if a is None or len(a) < 2:
            return None
        kind, points = MeasurementKind.LINE, [a[0], a[1]]
    elif c.key(c.VOLUME) in by and by[c.key(c.VOLUME)].points3d is not None:
        a = by[c.key(c.VOLUME)].points3d
        assert a is not None
        if len(a) != 6:
            return None
        kind, points = MeasurementKind.SPHERE, [(a[0] + a[1]) / 2.0, a[1]]
    elif c.key(c.AREA) in by and by[c.key(c.AREA)].points3d is not None:
        a = by[c.key(c.AREA)].points3d
        assert a is not None
        if len(a) != 4:
            return None
        kind, points = MeasurementKind.ELLIPSE, [(a[0] + a[1]) / 2.0, a[1], a[3]]
    else:
        return None
    images = []
    seen = set()
    for n in nums:
        for uid, frame in n.images or ([(n.image2d, None)] if n.image2d else []):
            if uid not in seen:
                seen.add(uid)
                images.append(ImageRef(uid, frame))
    plane = None
    study = series = None
    if images:
        entry = library.get(images[0].sop_instance_uid)
        plane = entry.plane() if entry else None
        study, series = evidence.get(images[0].sop_instance_uid, (None, None))
    for_uid = next((n.frame_of_reference_uid for n in nums if n.frame_of_reference_uid), None)
    return Measurement.create(
        kind,
        points,
        uid=first.tracking_uid or new_uid(),
        plane=plane,
        series_instance_uid=series,
        images=images,
        frame_of_reference_uid=for_uid,
        unit=DEFAULT_UNIT[kind],
        label=first.tracking_id if first.tracking_id not in ("", first.name) else "",
        study_instance_uid=study,
    )


# --- the import ----------------------------------------------------------------------------

_SUV = {
    c.key(c.MAXIMUM): "max",
    ("SRT", "G-A437"): "max",
    c.key(c.MEAN): "mean",
    ("SRT", "R-00317"): "mean",
    c.key(c.PEAK): "peak",
}


def _reader_name(pn: str) -> str:
    parts = pn.split("^")
    if len(parts) >= 2 and parts[0] and parts[1]:
        return f"{parts[1]} {parts[0]}"
    return pn.replace("^", " ").strip()


def sr_to_read(ds: Dataset, source: str = "") -> SrImport:
    """Import a TID 1500 Measurement Report dataset (see the module docstring).

    A content item that lacks what its value type needs raises :class:`SrImportError` naming
    ``source`` and the item's place in the content tree.
    """
    if str(ds.get("Modality", "")) != "SR" or not ds.get("ContentSequence"):
        raise SrImportError(f"{source or 'The file'} is not a DICOM Structured Report.")
    loc = _Loc()
    try:
        return _sr_to_read(ds, source, loc)
    except SrImportError:
        raise
    except _ITEM_FAILURES as exc:
        raise _item_failure(source, loc, exc) from exc


def _sr_to_read(ds: Dataset, source: str, loc: _Loc) -> SrImport:
    root_key, title = _name(ds)
    missing: list[str] = []
    if root_key != ("DCM", "126000"):
        missing.append(
            f"document title '{title}' is not a TID 1500 Imaging Measurement Report; "
            "only its measurement groups are read"
        )
    library = _image_library(ds, loc)
    loc.at("", None)
    evidence = _evidence(ds)
    reader = ""
    groups_items: list[tuple[str, Dataset]] = []
    for ri, item in enumerate(ds.ContentSequence, start=1):
        loc.at(str(ri), item)
        k, meaning = _name(item)
        if k in OBSERVER_NAME:
            reader = _reader_name(_text(item, "PersonName"))
        elif k in IMAGING_MEASUREMENTS:
            for mi, g in enumerate(item.get("ContentSequence", []), start=1):
                if _name(g)[0] in MEASUREMENT_GROUP:
                    groups_items.append((f"{ri}.{mi}", g))
                else:
                    missing.append(f"Imaging Measurements: {_describe(g)}")
        elif k in IMAGE_LIBRARY or k in {("DCM", "121049"), ("DCM", "121005"), ("DCM", "121058")}:
            continue  # image library (used above), language, observer type, procedure
        else:
            missing.append(f"report: {_describe(item)}")

    lesions: dict[str, Lesion] = {}
    timepoints: dict[str, ReadTimepoint] = {}
    tp_meta: dict[str, tuple[int, float | None, TimepointRole | None]] = {}
    measurements: list[LesionMeasurement] = []
    statuses: dict[tuple[str, str], LesionStatus] = {}
    groups: list[ImportedGroup] = []
    uptake: list[PetUptake] = []
    responses: dict[str, dict[str, str | float]] = {}

    for gi, (gpath, g) in enumerate(groups_items, start=1):
        loc.at(gpath, g)
        tid = tuid = tp_label = tp_uid = protocol_tp = ""
        tp_type: tuple[str, str] = ("", "")
        tp_order = 0
        offset: float | None = None
        finding = finding_site = ""
        finding_key = site_key = ("", "")
        role: LesionRole | None = None
        status: LesionStatus | None = None
        node_flag: bool | None = None
        station = description = ""
        nums: list[_Num] = []
        quals: list[tuple[str, str]] = []
        qual_keys: list[tuple[tuple[str, str], tuple[str, str], str, str]] = []
        where = f"group {gi}"
        local_missing: list[str] = []
        for si, sub in enumerate(g.get("ContentSequence", []), start=1):
            loc.at(f"{gpath}.{si}", sub)
            k, meaning = _name(sub)
            vt = _vt(sub)
            if k in TRACKING_ID:
                tid = _text(sub, "TextValue")
                where = f"group {gi} '{tid}'"
            elif k in TRACKING_UID:
                tuid = _text(sub, "UID")
            elif k in TIME_POINT:
                tp_label = _text(sub, "TextValue")
            elif k in SUBJECT_TP:
                tp_uid = _text(sub, "TextValue")
            elif k in PROTOCOL_TP:
                protocol_tp = _text(sub, "TextValue")
            elif k in TIME_POINT_TYPE:
                tp_type = _code_value(sub)[0]
            elif k in TIME_POINT_ORDER:
                tp_order = _order(_num(sub)[0])
            elif k in TEMPORAL_OFFSET:
                v, unit = _num(sub)
                if abs(v) > MAX_OFFSET_DAYS:
                    raise _ItemError(f"a temporal offset of {v:g} {unit} is out of range")
                offset = v if unit == "d" else None
            elif k in FINDING and vt == "CODE":
                finding_key, finding = _code_value(sub)
            elif k in FINDING_SITE and vt == "CODE":
                site_key, finding_site = _code_value(sub)
            elif vt == "NUM":
                nums.append(_parse_num(sub, f"{where}: {meaning}", local_missing, loc))
            elif vt == "CODE" and k == c.key(c.LESION_ROLE_NAME):
                role = _ROLES.get(_code_value(sub)[0])  # type: ignore[assignment]
            elif vt == "CODE" and k == c.key(c.LESION_STATUS_NAME):
                status = _STATUSES.get(_code_value(sub)[0])  # type: ignore[assignment]
            elif vt == "CODE" and k == c.key(c.LYMPH_NODE_FLAG):
                node_flag = _code_value(sub)[0] == c.key(c.YES)
            elif vt == "TEXT" and k == c.key(c.STATION):
                station = _text(sub, "TextValue")
            elif vt == "TEXT" and k == c.key(c.DESCRIPTION):
                description = _text(sub, "TextValue")
            elif vt == "CODE":
                vk, vmeaning = _code_value(sub)
                quals.append((meaning, vmeaning))
                qual_keys.append((k, vk, meaning, vmeaning))
            elif k in SESSION:
                quals.append((meaning, str(sub.get("TextValue", ""))))
                local_missing.append(f"{where}: {_describe(sub)} (session not kept in the read)")
            else:
                local_missing.append(f"{where}: {_describe(sub)}")
        loc.at(gpath, g)

        # timepoint
        tp: ReadTimepoint | None = None
        if tp_label or tp_uid:
            key_ = tp_uid or f"tp:{tp_label}"
            if key_ not in timepoints:
                tp_role: TimepointRole | None = None
                try:
                    tp_role = TimepointRole(protocol_tp)
                except ValueError:
                    tp_role = _TP_ROLE_BY_TYPE.get(tp_type)  # type: ignore[assignment]
                timepoints[key_] = ReadTimepoint(
                    uid=tp_uid or new_uid(),
                    label=tp_label or tp_uid,
                    date=None,
                    study_instance_uid=None,
                    role=tp_role or TimepointRole.FOLLOW_UP,
                )
                tp_meta[key_] = (tp_order, offset, tp_role)
            tp = timepoints[key_]

        value_list = [
            ImportedValue(n.name, n.value, n.unit, n.derivation, n.method, n.name_key) for n in nums
        ]
        ig = ImportedGroup(tid, tuid, tp.label if tp else "", finding, finding_site, value_list)
        ig.qualitative = quals
        groups.append(ig)

        if tid.startswith(c.RESPONSE_GROUP_PREFIX) and tp is not None and not finding:
            resp: dict[str, str | float] = {}
            for qk, vk, qmeaning, vmeaning in qual_keys:
                resp[qmeaning] = _response_text(qk, vk, vmeaning)
            for n in nums:
                resp[n.name] = n.value
            responses[tp.label] = resp
            continue

        if finding_key == c.key(c.FINDING_FREE) and role is None:
            for m in _group_measurements(nums, library, evidence, where, local_missing):
                measurements.append(LesionMeasurement(m, None, tp.uid if tp else None))
            missing.extend(local_missing)
            continue

        # lesion
        lesion_uid = tuid or new_uid()
        ig.lesion_uid = lesion_uid
        if lesion_uid not in lesions:
            found = _SITES.get(site_key)
            site = found if isinstance(found, Site) else None
            if site is None:
                site = Site.OTHER
                if finding_site:
                    missing.append(
                        f"{where}: finding site '{finding_site}' ({site_key[1]}, {site_key[0]}) is "
                        "not in the NAMECAR organ list; lesion site set to 'other'"
                    )
            if role is None:
                missing.append(
                    f"{where}: no RECIST lesion role in the SR; imported as a non-target lesion"
                )
            lesions[lesion_uid] = Lesion(
                uid=lesion_uid,
                label=tid or f"L{len(lesions) + 1}",
                role=role or LesionRole.NON_TARGET,
                site=site,
                station=station,
                is_lymph_node=bool(node_flag) if node_flag is not None else site is Site.LYMPH_NODE,
                is_primary_renal=finding_key == c.key(c.FINDING_PRIMARY),
                description=description,
            )
        les = lesions[lesion_uid]
        if status is not None and tp is not None:
            statuses[(lesion_uid, tp.uid)] = status
        suv: dict[str, float | None] = {"max": None, "mean": None, "peak": None}
        rest: list[_Num] = []
        for n in nums:
            if n.name_key == c.key(c.SUVBW) and n.derivation_key in _SUV:
                suv[_SUV[n.derivation_key]] = n.value
            else:
                rest.append(n)
        if suv["max"] is not None or suv["mean"] is not None or suv["peak"] is not None:
            uptake.append(
                PetUptake(
                    les.uid,
                    tp.uid if tp else None,
                    suv_max=suv["max"] if suv["max"] is not None else math.nan,
                    suv_mean=suv["mean"],
                    suv_peak=suv["peak"],
                )
            )
        for m in _group_measurements(rest, library, evidence, where, local_missing):
            measurements.append(LesionMeasurement(m, les.uid, tp.uid if tp else None))
        missing.extend(local_missing)

    # timepoint dates, studies, slice thickness from the images their measurements cite
    loc.at("", None)
    tps = _finish_timepoints(timepoints, tp_meta, measurements, library, evidence)
    uid_map = {k: tps[k].uid for k in tps}
    del uid_map
    read_uid = str(ds.get("SeriesInstanceUID", "")) or new_uid()
    read = Read(
        uid=read_uid,
        patient_id=str(ds.get("PatientID", "")),
        reader=reader,
        lesions=tuple(lesions.values()),
        timepoints=tuple(sorted(tps.values(), key=lambda t: tp_meta_order(t, tp_meta, tps))),
        measurements=tuple(measurements),
        statuses=statuses,
    )
    return SrImport(
        read=read,
        groups=groups,
        pet_uptake=uptake,
        responses=responses,
        not_imported=missing,
        title=title,
        source=source,
    )


def tp_meta_order(
    tp: ReadTimepoint,
    meta: dict[str, tuple[int, float | None, TimepointRole | None]],
    tps: dict[str, ReadTimepoint],
) -> int:
    for k, t in tps.items():
        if t.uid == tp.uid:
            return meta[k][0]
    return 0


def _response_text(qk: tuple[str, str], vk: tuple[str, str], meaning: str) -> str:
    tables = {
        c.key(c.TARGET_RESPONSE_NAME): c.TARGET_RESPONSE,
        c.key(c.NON_TARGET_RESPONSE_NAME): c.NON_TARGET_RESPONSE,
        c.key(c.OVERALL_RESPONSE_NAME): c.OVERALL_RESPONSE,
        c.key(c.NEW_LESIONS_NAME): c.NEW_LESIONS,
    }
    table = tables.get(qk)
    if table is not None:
        for text, code in table.items():
            if c.key(code) == vk:
                return text
    if qk == c.key(c.ELIGIBILITY_NAME):
        return "yes" if vk == c.key(c.YES) else "no"
    return meaning


def _group_measurements(
    nums: Sequence[_Num],
    library: dict[str, _LibraryEntry],
    evidence: dict[str, tuple[str, str]],
    where: str,
    missing: list[str],
) -> list[Measurement]:
    """Measurement records from NUMs grouped by their tracking UID; the rest listed."""
    by_uid: dict[str, list[_Num]] = {}
    order: list[str] = []
    loose: list[_Num] = []
    for n in nums:
        geometric = n.points3d is not None or n.points2d is not None
        if not geometric:
            loose.append(n)
            continue
        key_ = n.tracking_uid or f"anon{len(order)}"
        if key_ not in by_uid:
            by_uid[key_] = []
            order.append(key_)
        by_uid[key_].append(n)
    out = []
    for key_ in order:
        m = _measurement_from_nums(by_uid[key_], library, evidence)
        if m is None:
            for n in by_uid[key_]:
                missing.append(
                    f"{where}: {n.name} = {n.value:g} {n.unit}: its coordinates do not form a "
                    "line, bidirectional, ellipse or sphere; value listed, no measurement record"
                )
        else:
            out.append(m)
    for n in loose:
        extra = f" ({n.derivation})" if n.derivation else ""
        missing.append(
            f"{where}: {n.name}{extra} = {n.value:g} {n.unit}: no coordinates; value listed, "
            "not a measurement of the read"
        )
    return out


def _finish_timepoints(
    tps: dict[str, ReadTimepoint],
    meta: dict[str, tuple[int, float | None, TimepointRole | None]],
    measurements: Iterable[LesionMeasurement],
    library: dict[str, _LibraryEntry],
    evidence: dict[str, tuple[str, str]],
) -> dict[str, ReadTimepoint]:
    from dataclasses import replace

    images_of: dict[str, list[str]] = {}
    for lm in measurements:
        if lm.timepoint_uid is None:
            continue
        images_of.setdefault(lm.timepoint_uid, []).extend(
            r.sop_instance_uid for r in lm.measurement.images
        )
    out: dict[str, ReadTimepoint] = {}
    for k, tp in tps.items():
        date = study = None
        thickness = None
        for uid in images_of.get(tp.uid, []):
            e = library.get(uid)
            if e is not None:
                date = date or e.study_date
                thickness = thickness or e.values.get("thickness")
            if uid in evidence:
                study = study or evidence[uid][0]
        out[k] = replace(tp, date=date, study_instance_uid=study, slice_thickness_mm=thickness)
    # Dates from the offset to the baseline when the images gave none.
    base_date = next(
        (t.date for k, t in out.items() if t.date is not None and meta[k][1] == 0.0),
        None,
    )
    if base_date is not None:
        for k, t in out.items():
            off = meta[k][1]
            if t.date is None and off is not None and not math.isnan(off):
                out[k] = replace(t, date=base_date + dt.timedelta(days=round(off)))
    return out


# What pydicom may raise on a damaged file or element (all become SrImportError).
_READ_FAILURES = PYDICOM_READ_FAILURES
_DEFLATED = b"1.2.840.10008.1.2.1.99"


def _check_deflate(raw: bytes, where: str) -> None:
    """A deflated data set must inflate, to at most ``MAX_INFLATED_BYTES``, before pydicom
    inflates it whole."""
    if len(raw) < 144 or raw[128:132] != b"DICM" or raw[132:136] != b"\x02\x00\x00\x00":
        return  # no group length: pydicom's own reading decides
    (group_length,) = struct.unpack_from("<L", raw, 140)
    start = 144 + group_length
    if _DEFLATED not in raw[144:start]:
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending, total = raw[start:], 0
    try:
        while pending and not inflater.eof:  # 1 MiB at a time: only counted, never kept
            total += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
            if total > MAX_INFLATED_BYTES:
                raise SrImportError(
                    f"{where}: the deflated data set inflates past {MAX_INFLATED_BYTES} bytes"
                )
    except zlib.error as exc:
        raise SrImportError(
            f"{where}: the Deflated Explicit VR Little Endian data set does not inflate ({exc})"
        ) from None


def _check_complete(raw: bytes, where: str) -> None:
    """A file cut short (in transfer or on disk) is named as such: pydicom reads what there is
    without a word, and the import would then complain about whatever the cut removed."""
    from namecar_viewer.core.dicom.fastheader import (
        NeedMoreBytes,
        TruncatedFile,
        parse_fast_header,
    )

    try:
        fast = parse_fast_header(raw, len(raw))
    except TruncatedFile as exc:
        raise SrImportError(f"{where}: the file is cut short: {exc}") from None
    except NeedMoreBytes:
        raise SrImportError(
            f"{where}: the file is cut short: it ends at byte {len(raw)}, inside a sequence"
        ) from None
    except (RecursionError, ValueError, struct.error, IndexError):
        return  # damaged otherwise: pydicom's reading names it
    if fast is not None:
        for tag, _start, _value, end in fast.layout:
            if end > len(raw):
                raise SrImportError(
                    f"{where}: the file is cut short: it ends at byte {len(raw)}, inside element "
                    f"({tag >> 16:04X},{tag & 0xFFFF:04X}) that needs {end} bytes"
                )


def _decode_all(ds: Dataset, where: str) -> None:
    """Decode every element (pydicom decodes on first use) and bound the nesting, so that no
    value fails later, half-way through the import."""
    stack: list[tuple[Dataset, int]] = [(ds, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise SrImportError(f"{where}: content nested deeper than {MAX_NESTING} levels")
        for tag in list(item.keys()):
            try:
                elem = item[tag]
                value = elem.value
            except _READ_FAILURES as exc:
                raise SrImportError(
                    f"{where}: element {tag} cannot be decoded ({type(exc).__name__}: "
                    f"{str(exc)[:200]})"
                ) from None
            if elem.VR == "SQ":
                stack.extend((child, depth + 1) for child in value)


def import_sr_file(path: str | Path) -> SrImport:
    """Read an SR file and import it; :class:`SrImportError` names the file when it cannot."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_SR_BYTES:
                raise SrImportError(f"{p}: {size} bytes, more than an SR of a read can be")
            # a pipe or a device has no size: read it 1 MiB at a time, to the limit only
            chunks: list[bytes] = []
            total = 0
            while chunk := fh.read(min(1 << 20, MAX_SR_BYTES + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > MAX_SR_BYTES:
                    raise SrImportError(f"{p}: more than {MAX_SR_BYTES} bytes: not an SR of a read")
            raw = b"".join(chunks)
    except OSError as exc:
        raise SrImportError(f"Cannot read {p}: {exc.strerror or exc}") from None
    if not raw:
        raise SrImportError(f"{p}: the file is empty")
    _check_deflate(raw, str(p))
    _check_complete(raw, str(p))
    # pydicom warns about each odd element it meets; the import names what it cannot use
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(io.BytesIO(raw))
        except InvalidDicomError:
            raise SrImportError(
                f"{p}: not a DICOM file (no 'DICM' marker after the 128-byte preamble)"
            ) from None
        except RecursionError:
            raise SrImportError(
                f"{p}: sequences nested too deeply to read (a report nests about 8 levels)"
            ) from None
        except _READ_FAILURES as exc:
            raise SrImportError(
                f"{p}: damaged DICOM file, cut short or corrupted ({type(exc).__name__}: "
                f"{str(exc)[:200]})"
            ) from None
        _decode_all(ds, str(p))
        return sr_to_read(ds, source=str(p))
