"""The key images of a read as a DICOM Key Object Selection document (KOS, PS3.16 TID 2010).

Written beside the TID 1500 SR (:mod:`.sr_export`) so that a PACS or another viewer shows the
images the read rests on as key images, and read back by :mod:`.kos_import`.

Content tree (TID 2010 "Key Object Selection"):

* document title (CID 7010): (113020, DCM, "For Report Attachment") by default: the images are
  the ones attached to the read's report (the SR's measurements and the PDF's key images);
  "Of Interest" (113000) and the other CID 7010 titles can be given instead;
* observer: the reader (TID 1002 person observer), as in the SR;
* Key Object Description (113012, DCM): what the selection is, in English, e.g. ``NAMECAR read
  2.25.1234: key images of T1 at baseline, inclusion ...; 2 flagged by the reader``;
* one IMAGE item per key image (:func:`~.key_images.key_images`: each lesion's measured slice
  at each timepoint, then the reader's flagged images), in that order, each image once; a frame
  of a multi-frame image carries its Referenced Frame Number.

Evidence: the Current Requested Procedure Evidence Sequence lists every referenced instance by
study and series (PS3.3 C.17.6.2: the full set of instances the content refers to).  A read has
several timepoints, so the document references several studies; it belongs to the latest
timepoint's study, as the SR does (one document, no copies: Identical Documents Sequence is
not needed).  highdicom builds the modules and the content; it writes the evidence of the
document's own study only, so the evidence of the other studies is completed here.

Blinding: as the SR (the same identifiers hidden, :func:`.sr_export._blind`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.core.measure.record import ImageRef
from namecar_viewer.core.reads.model import Read
from namecar_viewer.core.reports import codes as c
from namecar_viewer.core.reports.key_images import (
    KeyImageItem,
    KeyImageSource,
    key_images,
    ordered_timepoints,
)
from namecar_viewer.core.reports.sr_export import (
    MANUFACTURER,
    Blinding,
    HeaderLookup,
    _blind,
    _derived_uid,
    _person_name,
)

KOS_SERIES_NUMBER = 901
KOS_SERIES_DESCRIPTION = "NAMECAR key images (KOS)"
FOR_REPORT_ATTACHMENT = c.dcm("113020", "For Report Attachment")
OF_INTEREST = c.dcm("113000", "Of Interest")
KEY_OBJECT_DESCRIPTION = c.dcm("113012", "Key Object Description")
DESCRIPTION_PREFIX = "NAMECAR read "


class KosExportError(ValueError):
    """The read's key images cannot be written as a KOS (the message says why)."""


@dataclass
class KosExport:
    """The KOS dataset, the images it references and what could not be put in it."""

    dataset: Dataset
    images: list[ImageRef] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def kos_series_uid(read_uid: str) -> str:
    """The KOS series of a read: the same for every export of that read."""
    return _derived_uid("kos", read_uid)


def describe(read: Read, items: Sequence[KeyImageItem]) -> str:
    """The Key Object Description: the read, whose key images these are, how many flagged."""
    labels = {les.uid: les.label for les in read.lesions}
    tp_labels = {tp.uid: tp.label for tp in ordered_timepoints(read)}
    per_lesion: dict[str, list[str]] = {}
    for k in items:
        if k.source is KeyImageSource.MEASURED and k.lesion_uid is not None:
            tps = per_lesion.setdefault(labels.get(k.lesion_uid, "?"), [])
            tp = tp_labels.get(k.timepoint_uid or "", "?")
            if tp not in tps:
                tps.append(tp)
    parts = [f"{lbl} at {', '.join(tps)}" for lbl, tps in per_lesion.items()]
    flagged = sum(1 for k in items if k.source is KeyImageSource.FLAGGED)
    text = f"{DESCRIPTION_PREFIX}{read.uid}: key images"
    if parts:
        text += " of " + "; ".join(parts)
    if flagged:
        text += f"; {flagged} flagged by the reader"
    return text


def _evidence_sequence(headers: Sequence[Dataset]) -> list[Dataset]:
    """Study > series > instance items for every header (first-seen order kept)."""
    studies: dict[str, dict[str, list[Dataset]]] = {}
    for h in headers:
        studies.setdefault(str(h.StudyInstanceUID), {}).setdefault(
            str(h.SeriesInstanceUID), []
        ).append(h)
    out = []
    for study_uid, series in studies.items():
        study_item = Dataset()
        study_item.ReferencedSeriesSequence = []
        for series_uid, instances in series.items():
            series_item = Dataset()
            series_item.ReferencedSOPSequence = []
            for h in instances:
                ref = Dataset()
                ref.ReferencedSOPClassUID = str(h.SOPClassUID)
                ref.ReferencedSOPInstanceUID = str(h.SOPInstanceUID)
                series_item.ReferencedSOPSequence.append(ref)
            series_item.SeriesInstanceUID = series_uid
            study_item.ReferencedSeriesSequence.append(series_item)
        study_item.StudyInstanceUID = study_uid
        out.append(study_item)
    return out


def _set_frames(content: Any, frames: Mapping[str, list[int]]) -> None:
    """Referenced Frame Number on the IMAGE items of multi-frame key images."""
    for item in content[0].ContentSequence:
        if getattr(item, "ValueType", "") != "IMAGE":
            continue
        ref = item.ReferencedSOPSequence[0]
        numbers = frames.get(str(ref.ReferencedSOPInstanceUID))
        if numbers:
            ref.ReferencedFrameNumber = numbers if len(numbers) > 1 else numbers[0]


def read_to_kos(
    read: Read,
    headers: HeaderLookup,
    *,
    blinding: Blinding | None = None,
    document_title: Any = FOR_REPORT_ATTACHMENT,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = KOS_SERIES_NUMBER,
    instance_number: int = 1,
) -> KosExport:
    """The read's key images as a KOS; see the module docstring for the tree.

    ``headers`` gives the images' headers (SOP class, study, series, patient).  A key image
    whose header is not found is left out with a warning; raises :class:`KosExportError` when
    the read has no key image or none is found.
    """
    import highdicom as hd

    items = key_images(read)
    if not items:
        raise KosExportError(
            f"Read {read.uid} has no key image: no lesion is measured or marked on an image and "
            "no image is flagged."
        )
    warnings: list[str] = []
    found: dict[str, Dataset] = {}
    missing: set[str] = set()
    frames: dict[str, list[int]] = {}
    whole: set[str] = set()
    images: list[ImageRef] = []
    for k in items:
        uid = k.image.sop_instance_uid
        if uid in missing:
            continue
        if uid not in found:
            h = headers(uid)
            if h is None:
                missing.add(uid)
                warnings.append(f"Key image {uid} not found; not in the KOS.")
                continue
            # a copy: blinding the document must never change the caller's (cached) headers
            found[uid] = copy.deepcopy(h)
        if k.image in images:
            continue
        images.append(k.image)
        if k.image.frame_number is None:
            whole.add(uid)
        else:
            frames.setdefault(uid, []).append(int(k.image.frame_number))
    if not found:
        raise KosExportError(
            f"Read {read.uid}: none of its key images was found; the KOS needs their headers "
            "(give the folder of the images or import them into the study browser)."
        )
    for uid in whole:
        frames.pop(uid, None)  # the whole image is a key image: no frame list
    images = [i for i in images if i.frame_number is None or i.sop_instance_uid not in whole]

    # The document belongs to the latest timepoint's study (as the SR): its images first.
    rank = {tp.study_instance_uid: n for n, tp in enumerate(ordered_timepoints(read))}
    referenced = list(found.values())
    own_study = max((str(h.StudyInstanceUID) for h in referenced), key=lambda s: rank.get(s, -1))
    evidence = sorted(referenced, key=lambda h: str(h.StudyInstanceUID) != own_study)

    observer = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=_person_name(read.reader or "Unknown reader")
        ),
    )
    kept = [k for k in items if k.image.sop_instance_uid in found]

    def content(objects: Sequence[Dataset]) -> Any:
        return hd.ko.KeyObjectSelection(
            document_title=document_title,
            referenced_objects=objects,
            observer_person_context=observer,
            description=describe(read, kept),
        )

    full = content(referenced)
    _set_frames(full, frames)
    own = [h for h in evidence if str(h.StudyInstanceUID) == own_study]
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=own,
        content=content(own),
        series_instance_uid=series_instance_uid or kos_series_uid(read.uid),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or hd.UID(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
    )
    # every study's images in the content and the evidence (highdicom keeps one study)
    kos.ContentSequence = full[0].ContentSequence
    kos.CurrentRequestedProcedureEvidenceSequence = _evidence_sequence(evidence)
    kos.SeriesDescription = KOS_SERIES_DESCRIPTION
    subject = str(getattr(evidence[0], "ClinicalTrialSubjectID", "") or read.patient_id or "")
    if blinding is not None and blinding.enabled:
        _blind(kos, blinding.subject(subject) if subject else "")
    return KosExport(kos, images, warnings)


def write_kos(export: KosExport, path: Any) -> Any:
    """Write the KOS atomically (temporary file, then rename); returns the path."""
    from namecar_viewer.core.reports.atomic import atomic_write

    def _w(tmp: Any) -> None:
        export.dataset.save_as(tmp, enforce_file_format=True)

    return atomic_write(path, _w)


def kos_path_beside(sr_path: Any) -> Any:
    """Where the KOS goes beside an SR: ``NAME.dcm`` -> ``NAME_kos.dcm``."""
    from pathlib import Path

    p = Path(sr_path)
    return p.with_name(f"{p.stem}_kos{p.suffix or '.dcm'}")


def write_kos_beside(
    read: Read,
    sr_path: Any,
    headers: HeaderLookup,
    *,
    blinding: Blinding | None = None,
) -> tuple[Any, list[str]]:
    """The KOS written beside an SR just exported (:func:`kos_path_beside`): its path (None
    when the read has no key image to reference, said in the warnings) and warnings.

    Raises ``ExportError`` when the file cannot be written."""
    try:
        export = read_to_kos(read, headers, blinding=blinding)
    except KosExportError as exc:
        return None, [f"No key images (KOS) written: {exc}"]
    path = kos_path_beside(sr_path)
    write_kos(export, path)
    return path, list(export.warnings)
