"""The demo patient's read built from the phantom's ground truth, as a reader would measure it.

Every target gets a bidirectional measurement at each CT timepoint: long axis along the
ground truth's ``long_axis_direction`` through the lesion centre, short axis perpendicular to it
in the axial plane, lengths the true diameters.  The non-target is recorded present.  Other
test modules import :func:`demo_read` from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from namecar_viewer.core.measure.record import Measurement, MeasurementKind
from namecar_viewer.core.reads import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
)

ROLES = {"baseline": TimepointRole.PRE_TREATMENT_BASELINE, "inclusion": TimepointRole.INCLUSION}


def bidirectional(centre: Any, direction: Any, long_mm: float, short_mm: float, uid: str) -> Any:
    c = np.asarray(centre, float)
    d = np.asarray(direction, float)
    d = d / np.linalg.norm(d)
    p = np.array([-d[1], d[0], 0.0])
    p = p / np.linalg.norm(p)
    pts = [c - d * long_mm / 2, c + d * long_mm / 2, c - p * short_mm / 2, c + p * short_mm / 2]
    return Measurement.create(MeasurementKind.BIDIRECTIONAL, pts, uid=uid)


def demo_read(gt: dict[str, Any], uid: str = "READ-DEMO") -> Read:
    """The read of the demo patient, every lesion measured at its true size."""
    read = Read.new(patient_id=gt["patient"]["id"], reader="test reader", uid=uid)
    thickness = gt["recist_case"]["imaging"]["slice_thickness_mm"]
    for tp in gt["ct_timepoints"]:
        read = read.with_timepoint(
            ReadTimepoint(
                f"TP-{tp['label']}",
                tp["label"],
                dt.date.fromisoformat(tp["date"]),
                None,
                ROLES.get(tp["label"], TimepointRole.FOLLOW_UP),
                thickness,
            )
        )
    for les in gt["lesions"]:
        role = LesionRole.TARGET if les["role"] == "target" else LesionRole.NON_TARGET
        read = read.with_lesion(
            Lesion(
                f"L-{les['id']}",
                les["id"],
                role,
                Site(les["organ"]),
                is_lymph_node=les["is_lymph_node"],
                is_primary_renal=les["is_primary_renal"],
            )
        )
        for tp in gt["ct_timepoints"]:
            label = tp["label"]
            if role is LesionRole.NON_TARGET:
                read = read.with_status(f"L-{les['id']}", f"TP-{label}", LesionStatus.PRESENT)
                continue
            ct = les["ct"][label]
            m = bidirectional(
                ct["centre_mm"],
                les["long_axis_direction"],
                ct["long_axis_mm"],
                ct["short_axis_mm"],
                f"M-{les['id']}-{label}",
            )
            read = read.with_measurement(LesionMeasurement(m, f"L-{les['id']}", f"TP-{label}"))
    return read


def test_demo_read_measures_the_true_diameters(ground_truth: dict[str, Any]) -> None:
    read = demo_read(ground_truth)
    for les in ground_truth["lesions"]:
        if les["role"] != "target":
            continue
        for label, ct in les["ct"].items():
            a = read.assessment(f"L-{les['id']}", f"TP-{label}")
            assert a.long_axis_mm is not None and a.short_axis_mm is not None
            assert abs(a.long_axis_mm - ct["long_axis_mm"]) < 1e-9
            assert abs(a.short_axis_mm - ct["short_axis_mm"]) < 1e-9
            assert a.recist_diameter_mm is not None
            assert abs(a.recist_diameter_mm - ct["recist_diameter_mm"]) < 1e-9
