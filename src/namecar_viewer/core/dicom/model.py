"""What a header-only scan finds: stacks to display, non-image objects, unreadable files."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from namecar_viewer.core.problems import Problem, Severity


class ObjectKind(enum.Enum):
    """Non-image DICOM objects the browser lists apart from image stacks."""

    SR = "SR"
    SEG = "SEG"
    RTSTRUCT = "RTSTRUCT"
    RT = "RT"
    PR = "PR"
    KO = "KO"
    PDF = "PDF"
    OTHER = "OTHER"


@dataclass(frozen=True)
class PixelInfo:
    """How to turn one frame's stored pixels into modality values."""

    transfer_syntax: str
    bits_allocated: int = 16
    pixel_representation: int = 0
    samples_per_pixel: int = 1
    photometric: str = "MONOCHROME2"
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    pixel_offset: int | None = None  # byte offset of native little-endian pixel data in the file
    pixel_length: int | None = None
    file_size: int | None = None
    # BitsStored when fewer than BitsAllocated (HighBit its top bit): the bits above are not the
    # value's (overlays, or garbage some scanners leave) and are cleared, or carry the sign
    bits_stored: int | None = None
    # stored last row first though the header does not say so (GE's epi_pepolar volumes of
    # reversed phase-encoding polarity): the rows are put back in the header's order when read
    rows_reversed: bool = False


@dataclass(frozen=True)
class Tile:
    """One slice stored as a tile of a mosaic image (Siemens MOSAIC, UIH VFRAME).

    The decoded frame is ``frame_rows`` x ``frame_cols``; the slice is the block of the
    instance's ``rows`` x ``columns`` starting at (``row``, ``col``).
    """

    index: int  # 0-based, in storage order
    row: int
    col: int
    frame_rows: int
    frame_cols: int


@dataclass(frozen=True)
class InstanceRef:
    """One displayable 2D image: a single-frame file, or one frame of a multi-frame file."""

    path: str
    sop_instance_uid: str
    frame: int | None = None  # 1-based frame number in a multi-frame instance
    position: tuple[float, ...] | None = None
    orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, ...] | None = None
    rows: int = 0
    columns: int = 0
    instance_number: int | None = None
    member: str | None = None  # member name inside a zip archive
    pixel: PixelInfo | None = None
    slice_thickness: float | None = None
    tile: Tile | None = None  # a slice cut from a mosaic image; rows/columns are the tile's


@dataclass
class Stack:
    """A set of images a reader views as one volume: one series, or one part of a split series."""

    key: str
    series_instance_uid: str
    modality: str
    label: str  # what distinguishes this stack inside its series ("b=800", "phase 3", "")
    instances: list[InstanceRef]
    patient_id: str = ""
    patient_name: str = ""
    study_instance_uid: str = ""
    study_date: str = ""
    study_description: str = ""
    series_number: int | None = None
    series_description: str = ""
    frame_of_reference_uid: str | None = None
    transfer_syntaxes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    is_localizer: bool = False
    spacing_mm: tuple[float, float, float] | None = None  # slice, row, column
    orientation: tuple[float, ...] | None = None
    header: dict[str, Any] = field(default_factory=dict)
    units: str = ""  # unit of the loaded values when the files state one (e.g. "Hz", "mm2/s")
    values: str = ""  # how stored values become the loaded values, when not a plain rescale
    # the scan's geometry plan of ``instances`` (that very list, in plan order), so a load
    # does not plan again; any other list is planned afresh
    planned: tuple[list[InstanceRef], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def files(self) -> list[str]:
        seen: dict[str, None] = {}
        for inst in self.instances:
            seen.setdefault(inst.path if inst.member is None else f"{inst.path}!{inst.member}")
        return list(seen)

    @property
    def shape(self) -> tuple[int, int, int]:
        if not self.instances:
            return (0, 0, 0)
        first = self.instances[0]
        return (len(self.instances), first.rows, first.columns)

    @property
    def loadable(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "patient_id": self.patient_id,
            "study_instance_uid": self.study_instance_uid,
            "study_date": self.study_date,
            "series_instance_uid": self.series_instance_uid,
            "series_number": self.series_number,
            "series_description": self.series_description,
            "label": self.label,
            "modality": self.modality,
            "shape": list(self.shape),
            "spacing_mm": list(self.spacing_mm) if self.spacing_mm else None,
            "orientation": list(self.orientation) if self.orientation else None,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "transfer_syntaxes": self.transfer_syntaxes,
            "is_localizer": self.is_localizer,
            "units": self.units,
            "values": self.values,
            "loadable": self.loadable,
            "files": self.files,
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(frozen=True)
class NonImageObject:
    """An SR, SEG, RT, presentation state or key-object note found during a scan."""

    path: str
    kind: ObjectKind
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    modality: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind.value,
            "sop_class_uid": self.sop_class_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "study_instance_uid": self.study_instance_uid,
            "patient_id": self.patient_id,
            "modality": self.modality,
            "description": self.description,
        }


@dataclass(frozen=True)
class UnreadableFile:
    """A file that is not usable DICOM, with the reason in words."""

    path: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class ScanReport:
    """Everything a scan found, in the order a browser shows it."""

    stacks: list[Stack] = field(default_factory=list)
    non_image: list[NonImageObject] = field(default_factory=list)
    unreadable: list[UnreadableFile] = field(default_factory=list)
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "stacks": [s.to_json() for s in self.stacks],
            "unreadable": [u.to_json() for u in self.unreadable],
            "non_image": [n.to_json() for n in self.non_image],
            "cancelled": self.cancelled,
        }
