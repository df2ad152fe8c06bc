"""A finished read of the demo patient, built from its ground truth, so every export works at once.

Lesions T1-T5 (targets) and NT1 (non-target) with the roles, sites and flags of
``ground_truth.json``; at each CT timepoint every target has a bidirectional measurement whose
endpoints are the lesion's long- and short-axis endpoints in that study's LPS coordinates (the
long axis along ``long_axis_direction`` rotated into the study, the short axis perpendicular to it
in the axial plane, both through the lesion centre), drawn on the axial slice through the centre
and referencing that slice's SOP instance UID.  NT1 is "present" at every timepoint.

Identifiers are derived from fixed names (UUID version 5 under :data:`DEMO_NAMESPACE`) so that the
demo read is the same read every time it is built: re-saving it changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind, PlaneRef
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

DEMO_NAMESPACE = uuid.UUID("6f1c2d0e-6b1a-5d7e-9a55-4e414d454341")
DEMO_READER = "Demo Reader"

_ROLES = {
    "baseline": TimepointRole.PRE_TREATMENT_BASELINE,
    "inclusion": TimepointRole.INCLUSION,
}


def demo_uid(*parts: object) -> str:
    """A stable DICOM UID (2.25.<uuid5 as integer>) for a named part of the demo read."""
    name = "/".join(str(p) for p in parts)
    return "2.25." + str(uuid.uuid5(DEMO_NAMESPACE, name).int)


DEMO_READ_UID = demo_uid("read", "full")
"""The demo read of the full-size demo patient (the one the app writes); the small test
patient's read is ``demo_read_uid("small")``: their images differ, so their reads do too."""


def demo_read_uid(size: str = "full") -> str:
    return demo_uid("read", size)


def _header(path: Path) -> Any:
    import pydicom

    return pydicom.dcmread(path, stop_before_pixels=True)


def build_demo_read(demo_dir: str | Path, ground_truth: Mapping[str, Any] | None = None) -> Read:
    """The finished demo read for the demo patient written in ``demo_dir``.

    Reads ``ground_truth.json`` (unless given) and the header of the CT slice through every
    lesion centre (SOP instance UID, plane).  Raises ``FileNotFoundError`` naming the missing file.
    """
    root = Path(demo_dir)
    if ground_truth is None:
        gt_path = root / "ground_truth.json"
        if not gt_path.is_file():
            raise FileNotFoundError(f"{gt_path} is missing: write the demo patient first.")
        ground_truth = json.loads(gt_path.read_text(encoding="utf-8"))
    gt = ground_truth
    folders = {t["label"]: t["folder"] for t in gt["ct_timepoints"]}
    studies = {s["timepoint"]: s for s in gt["series"] if s.get("timepoint")}
    read = Read(uid=DEMO_READ_UID, patient_id=str(gt["patient"]["id"]), reader=DEMO_READER)
    tps: dict[str, ReadTimepoint] = {}
    for t in gt["ct_timepoints"]:
        label = t["label"]
        tp = ReadTimepoint(
            uid=demo_uid("timepoint", label),
            label=label,
            date=dt.date.fromisoformat(t["date"]),
            study_instance_uid=studies[label]["study_instance_uid"],
            role=_ROLES.get(label, TimepointRole.FOLLOW_UP),
            slice_thickness_mm=2.5,
        )
        tps[label] = tp
        read = read.with_timepoint(tp)
    for les in gt["lesions"]:
        role = LesionRole.TARGET if les["role"] == "target" else LesionRole.NON_TARGET
        lesion = Lesion(
            uid=demo_uid("lesion", les["id"]),
            label=les["id"],
            role=role,
            site=Site(les["organ"]),
            is_lymph_node=bool(les["is_lymph_node"]),
            is_primary_renal=bool(les["is_primary_renal"]),
            description=str(les.get("description", "")),
        )
        read = read.with_lesion(lesion)
        for tp_label, tp in tps.items():
            if role is LesionRole.NON_TARGET:
                read = read.with_status(lesion.uid, tp.uid, LesionStatus.PRESENT)
                continue
            at = les["ct"][tp_label]
            path = root / folders[tp_label] / f"IMG{int(at['instance_number']):04d}.dcm"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: the demo patient is incomplete.")
            ds = _header(path)
            m = _bidirectional(les, at, gt, tp_label, ds, lesion.label)
            read = read.with_measurement(LesionMeasurement(m, lesion.uid, tp.uid))
    return read


def _bidirectional(
    les: Mapping[str, Any],
    at: Mapping[str, Any],
    gt: Mapping[str, Any],
    tp_label: str,
    ds: Any,
    label: str,
) -> Measurement:
    study_from_body = next(
        np.asarray(t["study_from_body"], dtype=float)
        for t in gt["ct_timepoints"]
        if t["label"] == tp_label
    )
    c = np.asarray(at["centre_mm"], dtype=float)
    d = study_from_body[:3, :3] @ np.asarray(les["long_axis_direction"], dtype=float)
    d /= np.linalg.norm(d)
    iop = np.asarray([float(x) for x in ds.ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    s = np.cross(normal, d)
    s /= np.linalg.norm(s)
    half_l, half_s = float(at["long_axis_mm"]) / 2.0, float(at["short_axis_mm"]) / 2.0
    points = [c - half_l * d, c + half_l * d, c - half_s * s, c + half_s * s]
    plane = PlaneRef(
        origin=tuple(float(x) for x in ds.ImagePositionPatient),  # type: ignore[arg-type]
        row_direction=(float(iop[0]), float(iop[1]), float(iop[2])),
        column_direction=(float(iop[3]), float(iop[4]), float(iop[5])),
        pixel_spacing=(float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])),
        shape=(int(ds.Rows), int(ds.Columns)),
        slice_spacing_mm=float(ds.SliceThickness),
    )
    return Measurement.create(
        MeasurementKind.BIDIRECTIONAL,
        points,
        uid=demo_uid("measurement", les["id"], tp_label),
        plane=plane,
        series_instance_uid=str(ds.SeriesInstanceUID),
        images=(ImageRef(str(ds.SOPInstanceUID)),),
        frame_of_reference_uid=str(ds.FrameOfReferenceUID),
        label=label,
        study_instance_uid=str(ds.StudyInstanceUID),
    )


def save_demo_read(read: Read, db_location: str | Path | None = None) -> bool:
    """Store the demo read in a reads database (default: the user's); False if already there.

    An existing demo read is left alone: the reader may have edited it.
    """
    from namecar_viewer.persistence.reads_db import ReadsDatabase

    db = ReadsDatabase(db_location)
    try:
        try:
            db.load_read(read.uid)
            return False
        except KeyError:
            db.save_new_read(read)
            return True
    finally:
        db.close()


def ensure_demo_read(
    demo_dir: str | Path, db_location: str | Path | None = None
) -> tuple[str | None, str]:
    """Save the demo read of the demo patient in ``demo_dir`` once: (its uid, "") or (None, why).

    Never raises: the app and ``namecar-viewer demo`` report the reason and carry on.
    """
    try:
        read = build_demo_read(demo_dir)
        save_demo_read(read, db_location)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as text
        return None, f"the demo read could not be saved: {exc}"
    return read.uid, ""
