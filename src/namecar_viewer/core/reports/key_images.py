"""Key images of a read: the images its findings rest on, and those the reader flagged (Qt-free).

Two kinds, both exported in the Key Object Selection document (:mod:`.kos_export`) and shown in
the PDF report:

* **measured**: for each lesion at each timepoint, the image its record was made on.  The
  diameter record (line or bidirectional) when there is one, else every record of the lesion at
  that timepoint: a new lesion or a non-target marked by a point, an arrow, an ellipse or a
  sphere gets its key image too.  A record drawn on a reformat cites every source image its
  points fall on (:func:`namecar_viewer.core.measure.stats.images_for_points`); each is a key
  image.  These follow the read: moving, deleting or re-measuring a lesion changes them, and
  the reader never has to flag them;
* **flagged**: any other image of a timepoint of the read that the reader flagged (and may
  unflag).  They are a read setting, :data:`FLAGGED_SETTING`, a JSON list of
  ``{"sop_instance_uid", "frame_number", "study_instance_uid", "series_instance_uid"}``
  objects in the order they were flagged, so that they are saved, audited, undone and signed
  with the read like every other edit (the GUI sets them with ``SetReadSetting``).

An image measured for a lesion is never also a flagged one: flagging it says so
(:func:`toggle_flag` returns ``MEASURED``) and a flag whose image becomes measured later is
listed once, as measured.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind
from namecar_viewer.core.reads.model import Read, ReadTimepoint

FLAGGED_SETTING = "key_images/flagged"
"""The read setting holding the reader's flagged key images (a JSON list, see the module)."""

SMALL_LESION_MM = 10.0
"""A lesion of at most this size (its long axis) is shown enlarged in the PDF, its calipers
beside it rather than over it."""


class KeyImageSource(enum.Enum):
    """Why an image is a key image."""

    MEASURED = "measured"
    FLAGGED = "flagged"


@dataclass(frozen=True)
class FlaggedImage:
    """An image the reader flagged: where it is (study and series, for the KOS evidence)."""

    image: ImageRef
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "sop_instance_uid": self.image.sop_instance_uid,
            "frame_number": self.image.frame_number,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
        }

    @classmethod
    def from_json(cls, d: Any) -> FlaggedImage | None:
        """One stored entry, or None when it is not one (never raises on a bad entry)."""
        if not isinstance(d, dict):
            return None
        uid = d.get("sop_instance_uid")
        if not isinstance(uid, str) or not uid:
            return None
        frame = d.get("frame_number")
        if not (frame is None or (isinstance(frame, int) and not isinstance(frame, bool))):
            return None
        study = d.get("study_instance_uid")
        series = d.get("series_instance_uid")
        return cls(
            ImageRef(uid, frame),
            study if isinstance(study, str) and study else None,
            series if isinstance(series, str) and series else None,
        )


@dataclass(frozen=True)
class KeyImageItem:
    """One key image of a read and why it is one.

    ``lesion_uid`` and ``measurement_uid`` are set for a measured image; ``timepoint_uid`` for
    both kinds when the image belongs to a timepoint of the read (a flag: by its study).
    """

    image: ImageRef
    source: KeyImageSource
    timepoint_uid: str | None = None
    lesion_uid: str | None = None
    measurement_uid: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None


_DIAMETER_KINDS = (MeasurementKind.BIDIRECTIONAL, MeasurementKind.LINE)


def ordered_timepoints(read: Read) -> list[ReadTimepoint]:
    """Timepoints in report order: the baseline first, then by date (as the PDF and SR)."""
    tps = list(read.ordered_timepoints())
    base = read.baseline()
    if base is not None and tps and tps[0].uid != base.uid:
        tps.remove(base)
        tps.insert(0, base)
    return tps


def key_records(read: Read, lesion_uid: str, timepoint_uid: str) -> list[Measurement]:
    """The records whose images are the lesion's key images at the timepoint.

    The diameter records (line, bidirectional) when there are any, else every record of the
    lesion at that timepoint (a point, an arrow, an ROI).
    """
    records = [
        lm.measurement
        for lm in read.measurements
        if lm.lesion_uid == lesion_uid and lm.timepoint_uid == timepoint_uid
    ]
    diameters = [m for m in records if m.kind in _DIAMETER_KINDS]
    return diameters or records


def measured_key_images(read: Read) -> list[KeyImageItem]:
    """Each lesion's measured image(s) at each timepoint: lesions in read order, then
    timepoints in report order."""
    out: list[KeyImageItem] = []
    tps = ordered_timepoints(read)
    for les in read.lesions:
        for tp in tps:
            for m in key_records(read, les.uid, tp.uid):
                for ref in m.images:
                    out.append(
                        KeyImageItem(
                            image=ref,
                            source=KeyImageSource.MEASURED,
                            timepoint_uid=tp.uid,
                            lesion_uid=les.uid,
                            measurement_uid=m.uid,
                            study_instance_uid=m.study_instance_uid or tp.study_instance_uid,
                            series_instance_uid=m.series_instance_uid,
                        )
                    )
    return out


def flagged_images(read: Read) -> tuple[FlaggedImage, ...]:
    """The reader's flagged images as stored (a bad setting or entry is left out)."""
    raw = read.settings.get(FLAGGED_SETTING)
    if not raw:
        return ()
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return ()
    if not isinstance(data, list):
        return ()
    out: list[FlaggedImage] = []
    seen: set[ImageRef] = set()
    for d in data:
        f = FlaggedImage.from_json(d)
        if f is not None and f.image not in seen:
            seen.add(f.image)
            out.append(f)
    return tuple(out)


def flagged_setting(flags: Sequence[FlaggedImage]) -> str | None:
    """The setting's value for these flags (None: no flag left, the setting is removed)."""
    if not flags:
        return None
    return json.dumps([f.to_json() for f in flags], sort_keys=True)


def key_images(read: Read) -> list[KeyImageItem]:
    """Every key image: the measured ones (:func:`measured_key_images`), then the flagged ones
    not measured, in the order they were flagged."""
    measured = measured_key_images(read)
    seen = {k.image for k in measured}
    out = list(measured)
    for f in flagged_images(read):
        if f.image in seen:
            continue
        seen.add(f.image)
        tp = read.timepoint_for_study(f.study_instance_uid)
        out.append(
            KeyImageItem(
                image=f.image,
                source=KeyImageSource.FLAGGED,
                timepoint_uid=None if tp is None else tp.uid,
                study_instance_uid=f.study_instance_uid,
                series_instance_uid=f.series_instance_uid,
            )
        )
    return out


def unique_images(items: Iterable[KeyImageItem]) -> list[ImageRef]:
    """The distinct images of ``items`` in first-seen order (a slice measured for two lesions
    is one key image)."""
    out: list[ImageRef] = []
    seen: set[ImageRef] = set()
    for k in items:
        if k.image not in seen:
            seen.add(k.image)
            out.append(k.image)
    return out


def key_image_source(read: Read, image: ImageRef) -> KeyImageSource | None:
    """Whether ``image`` is a key image of the read, and why (measured wins)."""
    if any(k.image == image for k in measured_key_images(read)):
        return KeyImageSource.MEASURED
    if any(f.image == image for f in flagged_images(read)):
        return KeyImageSource.FLAGGED
    return None


def lesions_measured_on(read: Read, image: ImageRef) -> list[str]:
    """Labels of the lesions whose key image ``image`` is (for the reader's messages)."""
    labels: list[str] = []
    for k in measured_key_images(read):
        if k.image == image and k.lesion_uid is not None:
            label = read.lesion(k.lesion_uid).label
            if label not in labels:
                labels.append(label)
    return labels


@dataclass(frozen=True)
class FlagChange:
    """What flagging (or unflagging) an image does: the setting's new value and the outcome.

    ``source`` is the image's state afterwards: ``FLAGGED`` (just flagged), None (just
    unflagged) or ``MEASURED`` (a measured key image: nothing to change, ``changed`` False).
    """

    value: str | None
    source: KeyImageSource | None
    changed: bool


def toggle_flag(read: Read, flag: FlaggedImage) -> FlagChange:
    """Flag ``flag.image`` when it is not a key image, unflag it when the reader flagged it."""
    current = read.settings.get(FLAGGED_SETTING)
    if key_image_source(read, flag.image) is KeyImageSource.MEASURED:
        return FlagChange(current, KeyImageSource.MEASURED, False)
    flags = list(flagged_images(read))
    if any(f.image == flag.image for f in flags):
        kept = [f for f in flags if f.image != flag.image]
        return FlagChange(flagged_setting(kept), None, True)
    return FlagChange(flagged_setting([*flags, flag]), KeyImageSource.FLAGGED, True)


def add_flags(read: Read, flags: Iterable[FlaggedImage]) -> tuple[str | None, list[FlaggedImage]]:
    """The setting's value with ``flags`` added (measured and already flagged images skipped)
    and the flags that are new (what an import of a KOS adds to the read)."""
    have = list(flagged_images(read))
    known = {f.image for f in have} | {k.image for k in measured_key_images(read)}
    added: list[FlaggedImage] = []
    for f in flags:
        if f.image in known:
            continue
        known.add(f.image)
        added.append(f)
    if not added:
        return read.settings.get(FLAGGED_SETTING), []
    return flagged_setting([*have, *added]), added
