"""A read as plain JSON (export, tests, the SR round trip of the results issue)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from namecar_viewer.core.measure.record import Measurement
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
)


def lesion_to_json(les: Lesion) -> dict[str, Any]:
    return {
        "uid": les.uid,
        "label": les.label,
        "role": les.role.value,
        "site": les.site.value,
        "station": les.station,
        "is_lymph_node": les.is_lymph_node,
        "is_primary_renal": les.is_primary_renal,
        "description": les.description,
    }


def lesion_from_json(d: dict[str, Any]) -> Lesion:
    return Lesion(
        uid=str(d["uid"]),
        label=str(d["label"]),
        role=LesionRole(d["role"]),
        site=Site(d["site"]),
        station=str(d.get("station", "")),
        is_lymph_node=bool(d.get("is_lymph_node", False)),
        is_primary_renal=bool(d.get("is_primary_renal", False)),
        description=str(d.get("description", "")),
    )


def timepoint_to_json(tp: ReadTimepoint) -> dict[str, Any]:
    return {
        "uid": tp.uid,
        "label": tp.label,
        "date": tp.date.isoformat() if tp.date else None,
        "study_instance_uid": tp.study_instance_uid,
        "role": tp.role.value,
        "slice_thickness_mm": tp.slice_thickness_mm,
    }


def timepoint_from_json(d: dict[str, Any]) -> ReadTimepoint:
    date = d.get("date")
    st = d.get("slice_thickness_mm")
    return ReadTimepoint(
        uid=str(d["uid"]),
        label=str(d["label"]),
        date=dt.date.fromisoformat(date) if date else None,
        study_instance_uid=d.get("study_instance_uid"),
        role=TimepointRole(d["role"]),
        slice_thickness_mm=None if st is None else float(st),
    )


def read_to_json(read: Read) -> dict[str, Any]:
    """Every field of the read; :func:`read_from_json` gives back an equal read.

    ``kind`` is written only for a record other than a RECIST read, so RECIST exports keep the
    format (and the bytes) they always had.
    """
    kind = {} if read.kind is ReadKind.RECIST else {"kind": read.kind.value}
    return {
        **kind,
        "uid": read.uid,
        "patient_id": read.patient_id,
        "reader": read.reader,
        "lesions": [lesion_to_json(les) for les in read.lesions],
        "timepoints": [timepoint_to_json(tp) for tp in read.timepoints],
        "measurements": [
            {
                "lesion_uid": lm.lesion_uid,
                "timepoint_uid": lm.timepoint_uid,
                "measurement": lm.measurement.to_json(),
            }
            for lm in read.measurements
        ],
        "statuses": [
            {"lesion_uid": lu, "timepoint_uid": tu, "status": s.value}
            for (lu, tu), s in read.statuses.items()
        ],
        "settings": dict(read.settings),
    }


def read_from_json(d: dict[str, Any]) -> Read:
    return Read(
        uid=str(d["uid"]),
        patient_id=str(d.get("patient_id", "")),
        reader=str(d.get("reader", "")),
        lesions=tuple(lesion_from_json(x) for x in d.get("lesions", [])),
        timepoints=tuple(timepoint_from_json(x) for x in d.get("timepoints", [])),
        measurements=tuple(
            LesionMeasurement(
                Measurement.from_json(x["measurement"]), x.get("lesion_uid"), x.get("timepoint_uid")
            )
            for x in d.get("measurements", [])
        ),
        statuses={
            (str(x["lesion_uid"]), str(x["timepoint_uid"])): LesionStatus(x["status"])
            for x in d.get("statuses", [])
        },
        settings={str(k): str(v) for k, v in d.get("settings", {}).items()},
        kind=ReadKind(d.get("kind", ReadKind.RECIST.value)),
    )
