"""The ancillary MRI-PET record as JSON and CSV: its lesions, the RECIST lesion each is linked
to, and every measurement with its geometry in patient millimetres.

The record never feeds a RECIST sum, so these exports carry no response; the RECIST read of the
same patient exports as before (``csv_export``, ``sr_export``).  ROI statistics (SUV) need the
images and are not stored with the record; the exports give each measurement's series and image
UIDs so they can be measured again.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Protocol

from namecar_viewer.core.reads.json_io import read_to_json
from namecar_viewer.core.reads.model import Read, ReadKind

LINK_PREFIX = "same lesion as "

CSV_COLUMNS = (
    "subject_id",
    "record_uid",
    "reader",
    "lesion_label",
    "site",
    "same_as_recist_lesion",
    "timepoint",
    "date",
    "study_instance_uid",
    "series_instance_uid",
    "kind",
    "long_axis_mm",
    "short_axis_mm",
    "area_mm2",
    "radius_mm",
    "volume_ml",
    "unit",
)


class Blinding(Protocol):
    """What the exports need of a blinding policy (``app/blinding.BlindingPolicy``)."""

    enabled: bool

    def subject(self, patient_id: str) -> str: ...


def _linked(description: str) -> str:
    return description[len(LINK_PREFIX) :] if description.startswith(LINK_PREFIX) else ""


def _num(v: float | None, nd: int = 1) -> str:
    return "" if v is None else f"{v:.{nd}f}"


def _check(read: Read) -> None:
    if read.kind is not ReadKind.ANCILLARY_MRI_PET:
        raise ValueError(f"Read {read.uid} is a {read.kind.value} read, not the MRI-PET record.")


def ancillary_rows(read: Read, blinding: Blinding | None = None) -> list[dict[str, str]]:
    """One row per measurement of the record (lesions in their order, then annotations)."""
    _check(read)
    subject = read.patient_id
    if blinding is not None and blinding.enabled:
        subject = blinding.subject(read.patient_id)
    order = {les.uid: n for n, les in enumerate(read.lesions)}
    rows = []
    for lm in sorted(read.measurements, key=lambda x: order.get(x.lesion_uid or "", len(order))):
        m = lm.measurement
        les = read.lesion(lm.lesion_uid) if lm.lesion_uid is not None else None
        tp = read.timepoint(lm.timepoint_uid) if lm.timepoint_uid is not None else None
        blinded = blinding is not None and blinding.enabled
        rows.append(
            {
                "subject_id": subject,
                "record_uid": read.uid,
                "reader": read.reader,
                "lesion_label": les.label if les else "",
                "site": les.site.value if les else "",
                "same_as_recist_lesion": _linked(les.description) if les else "",
                "timepoint": tp.label if tp else "",
                "date": "" if blinded or tp is None or tp.date is None else tp.date.isoformat(),
                "study_instance_uid": m.study_instance_uid or "",
                "series_instance_uid": m.series_instance_uid or "",
                "kind": m.kind.value,
                "long_axis_mm": _num(m.long_axis_mm),
                "short_axis_mm": _num(m.short_axis_mm),
                "area_mm2": _num(m.area_mm2),
                "radius_mm": _num(m.radius_mm),
                "volume_ml": _num(m.volume_ml, 2),
                "unit": m.unit or "",
            }
        )
    return rows


def ancillary_to_csv(read: Read, blinding: Blinding | None = None) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(ancillary_rows(read, blinding))
    return buf.getvalue()


def ancillary_to_json(read: Read, blinding: Blinding | None = None) -> dict[str, Any]:
    """The record (its own JSON, which ``read_from_json`` reads back) and the rows; blinded,
    the patient ID is the pseudonym and dates are left out of the rows."""
    _check(read)
    record = read_to_json(read)
    if blinding is not None and blinding.enabled:
        record["patient_id"] = blinding.subject(read.patient_id)
        for tp in record["timepoints"]:
            tp["date"] = None
    return {"kind": read.kind.value, "record": record, "rows": ancillary_rows(read, blinding)}


__all__ = ["CSV_COLUMNS", "ancillary_rows", "ancillary_to_csv", "ancillary_to_json"]
