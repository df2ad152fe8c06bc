"""A Key Object Selection document (KOS, TID 2010) read back: its images, and the flags a read
gets from it.

Any KOS is read (ours from :mod:`.kos_export`, or one a PACS or another viewer wrote): its
title, description and observer, and every referenced image with its study and series from the
evidence.  Put against a read (:func:`flags_for_read`), the images that are not that read's
measured key images become its flagged key images (added; flags the read has are kept), so an
export followed by an import gives the reader's flags back.  Images of a study that is not a
timepoint of the read are listed, not flagged.  A rejection note (a KOS titled "Rejected for
Quality Reasons" and the like, CID 7010) is not a selection of key images and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reads.model import Read
from namecar_viewer.core.reports.key_images import (
    FlaggedImage,
    KeyImageSource,
    add_flags,
    measured_key_images,
)

KOS_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.88.59"
# CID 7010 titles of rejection notes (PS3.16): instances to delete, never key images.
REJECTION_TITLES = {
    ("DCM", "113001"),  # Rejected for Quality Reasons
    ("DCM", "113037"),  # Rejected for Patient Safety Reasons
    ("DCM", "113038"),  # Incorrect Modality Worklist Entry
    ("DCM", "113039"),  # Data Retention Policy Expired
}
_READ_UID = re.compile(r"^NAMECAR read ([0-9.]+):")


class KosImportError(ValueError):
    """The file is not a KOS that can be read (the message names the file and the reason)."""


@dataclass(frozen=True)
class KosImage:
    """One referenced image: the instance (and frame), its SOP class, study and series."""

    image: ImageRef
    sop_class_uid: str
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None


@dataclass
class KosImport:
    """What a KOS says."""

    title: str
    title_code: tuple[str, str]
    description: str
    observer: str
    patient_id: str
    study_instance_uid: str
    images: list[KosImage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def read_uid(self) -> str | None:
        """The read the KOS was exported from, when NAMECAR Viewer wrote it (its description)."""
        m = _READ_UID.match(self.description)
        return m.group(1) if m else None


def _code(item: Dataset, keyword: str) -> tuple[str, str, str]:
    seq = item.get(keyword)
    if not seq:
        return ("", "", "")
    code = seq[0]
    return (
        str(code.get("CodingSchemeDesignator", "")),
        str(code.get("CodeValue", "")),
        str(code.get("CodeMeaning", "")),
    )


def _frames(ref: Dataset) -> list[int | None]:
    """The referenced frame numbers of an image reference ([None]: the whole image)."""
    from pydicom.multival import MultiValue

    value = ref.get("ReferencedFrameNumber")
    if value is None or value == "":
        return [None]
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    out: list[int | None] = []
    for v in values:
        try:
            n = int(v)
        except (TypeError, ValueError):
            continue
        if n >= 1:
            out.append(n)
    return out or [None]


def kos_from_dataset(ds: Dataset, name: str = "KOS") -> KosImport:
    """The content of a KOS dataset; raises :class:`KosImportError` naming ``name``."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class != KOS_SOP_CLASS_UID:
        raise KosImportError(
            f"{name}: not a Key Object Selection document (SOP class {sop_class or 'missing'})"
        )
    scheme, value, meaning = _code(ds, "ConceptNameCodeSequence")
    if (scheme, value) in REJECTION_TITLES:
        raise KosImportError(
            f"{name}: a rejection note ({meaning or value}), not a selection of key images"
        )
    where: dict[str, tuple[str | None, str | None]] = {}
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence", []) or []:
        study_uid = str(study.get("StudyInstanceUID", "")) or None
        for series in study.get("ReferencedSeriesSequence", []) or []:
            series_uid = str(series.get("SeriesInstanceUID", "")) or None
            for inst in series.get("ReferencedSOPSequence", []) or []:
                uid = str(inst.get("ReferencedSOPInstanceUID", ""))
                if uid:
                    where[uid] = (study_uid, series_uid)
    description = ""
    observer = ""
    images: list[KosImage] = []
    problems: list[str] = []
    seen: set[ImageRef] = set()
    for n, item in enumerate(ds.get("ContentSequence", []) or [], 1):
        vt = str(item.get("ValueType", ""))
        concept = _code(item, "ConceptNameCodeSequence")
        if vt == "TEXT" and concept[:2] == ("DCM", "113012"):
            description = str(item.get("TextValue", ""))
        elif vt == "PNAME" and concept[:2] == ("DCM", "121008"):
            observer = str(item.get("PersonName", ""))
        elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
            refs = item.get("ReferencedSOPSequence") or []
            if not refs or not refs[0].get("ReferencedSOPInstanceUID"):
                problems.append(f"content item {n}: a {vt} reference without an instance UID")
                continue
            ref = refs[0]
            uid = str(ref.ReferencedSOPInstanceUID)
            study_uid, series_uid = where.get(uid, (None, None))
            if uid not in where:
                problems.append(f"content item {n}: image {uid} is not in the evidence")
            for frame in _frames(ref):
                image = ImageRef(uid, frame)
                if image in seen:
                    continue
                seen.add(image)
                images.append(
                    KosImage(
                        image, str(ref.get("ReferencedSOPClassUID", "")), study_uid, series_uid
                    )
                )
    if not images:
        raise KosImportError(f"{name}: the document references no image")
    return KosImport(
        title=meaning,
        title_code=(scheme, value),
        description=description,
        observer=observer,
        patient_id=str(ds.get("PatientID", "")),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        images=images,
        problems=problems,
    )


def import_kos_file(path: str | Path) -> KosImport:
    """Read a KOS file; raises :class:`KosImportError` (one line: the file and the reason)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    p = Path(path)
    try:
        ds = pydicom.dcmread(p)
    except FileNotFoundError:
        raise KosImportError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise KosImportError(f"{p}: a folder, not a file") from None
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise KosImportError(f"{p}: not a readable DICOM file ({exc})") from None
    try:
        return kos_from_dataset(ds, str(p))
    except KosImportError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise KosImportError(f"{p}: a malformed KOS ({exc})") from None


@dataclass
class KosMatch:
    """A KOS put against a read: the read's new flag setting and what was found.

    ``measured``: images of the KOS that are the read's measured key images; ``added``: the
    flags this import adds; ``already``: images already flagged; ``outside``: images of a study
    that is not a timepoint of the read (not flagged); ``not_in_kos``: the read's measured key
    images the KOS lacks (a KOS of another system, or an older export).
    """

    value: str | None
    measured: list[ImageRef] = field(default_factory=list)
    added: list[FlaggedImage] = field(default_factory=list)
    already: list[ImageRef] = field(default_factory=list)
    outside: list[KosImage] = field(default_factory=list)
    not_in_kos: list[ImageRef] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added)


def flags_for_read(read: Read, kos: KosImport) -> KosMatch:
    """The flags ``read`` gets from ``kos`` (see the module docstring)."""
    from namecar_viewer.core.reports.key_images import key_image_source

    measured = [k.image for k in measured_key_images(read)]
    studies = {tp.study_instance_uid for tp in read.timepoints if tp.study_instance_uid}
    candidates: list[FlaggedImage] = []
    match = KosMatch(value=None)
    for img in kos.images:
        source = key_image_source(read, img.image)
        if source is KeyImageSource.MEASURED:
            match.measured.append(img.image)
        elif source is KeyImageSource.FLAGGED:
            match.already.append(img.image)
        elif img.study_instance_uid not in studies:
            match.outside.append(img)
        else:
            candidates.append(
                FlaggedImage(img.image, img.study_instance_uid, img.series_instance_uid)
            )
    in_kos = {i.image for i in kos.images}
    match.not_in_kos = [m for m in dict.fromkeys(measured) if m not in in_kos]
    match.value, match.added = add_flags(read, candidates)
    return match


def describe_image(read: Read, image: ImageRef, study_uid: str | None = None) -> str:
    """``fu03m image 1.2.3`` (frame 2): a short name of an image for the reader's messages."""
    tp = read.timepoint_for_study(study_uid) if study_uid else None
    frame = f" frame {image.frame_number}" if image.frame_number else ""
    where = f"{tp.label} " if tp is not None else ""
    return f"{where}image {image.sop_instance_uid}{frame}"
