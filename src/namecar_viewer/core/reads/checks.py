"""Checks shown beside each lesion while the reader works (RECIST 1.1 baseline rules and more).

The measurability, count and per-organ rules come from the engine's own validation
(:func:`namecar_viewer.core.recist.validate_baseline`), so the table and the engine never
disagree; this module adds what only the read knows: the lymph-node size bands, the plane of the
measurement, and measurements whose series is no longer in the store.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from namecar_viewer.core.measure.geometry import angle_to_axial_deg
from namecar_viewer.core.reads.model import LesionRole, Read
from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
from namecar_viewer.core.recist.constants import (
    MIN_MEASURABLE_NODE_SHORT_AXIS_MM,
    NODE_NORMAL_SHORT_AXIS_MM,
)
from namecar_viewer.core.recist.validation import validate_baseline

# RECIST 1.1 sec. 3.1.1 / 4.3.2: diameters are measured in the axial plane on CT.  A measurement
# plane whose normal is within this angle of the head-feet axis counts as axial (covers gantry
# tilt up to about 30 degrees, the largest in routine use); beyond it the reader is warned.
AXIAL_PLANE_MAX_ANGLE_DEG = 30.0


class Severity(enum.Enum):
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class ReadWarning:
    """One finding about a lesion (or the whole read when ``lesion_uid`` is ``None``)."""

    lesion_uid: str | None
    lesion_label: str | None
    timepoint_label: str | None
    rule: str
    message: str
    severity: Severity = Severity.WARNING

    def __str__(self) -> str:
        where = " ".join(x for x in (self.lesion_label, self.timepoint_label) if x)
        return (
            f"{where}: {self.message} [{self.rule}]" if where else f"{self.message} [{self.rule}]"
        )


def baseline_warnings(read: Read) -> list[ReadWarning]:
    """RECIST 1.1 baseline checks of ``read``; each names the lesion and the rule."""
    base = read.baseline()
    if base is None:
        return []
    by_label = {les.label: les for les in read.lesions}
    out: list[ReadWarning] = []
    for v in validate_baseline(read_to_recist_case(read)):
        les = by_label.get(v.lesion) if v.lesion else None
        out.append(
            ReadWarning(
                les.uid if les else None,
                v.lesion,
                v.timepoint,
                v.rule,
                v.message,
            )
        )
    for les in read.lesions:
        a = read.assessment(les.uid, base.uid)
        if les.nodal and les.role is LesionRole.NON_TARGET:
            sa = a.short_axis_mm
            if sa is not None and sa < float(NODE_NORMAL_SHORT_AXIS_MM):
                out.append(
                    ReadWarning(
                        les.uid,
                        les.label,
                        base.label,
                        "nodes < 10 mm short axis are non-pathological (sec. 3.1.1)",
                        f"node short axis {sa:.1f} mm is below 10 mm: not a lesion",
                    )
                )
        if les.nodal and les.role is LesionRole.TARGET:
            sa = a.short_axis_mm
            if sa is not None and float(NODE_NORMAL_SHORT_AXIS_MM) <= sa < float(
                MIN_MEASURABLE_NODE_SHORT_AXIS_MM
            ):
                out.append(
                    ReadWarning(
                        les.uid,
                        les.label,
                        base.label,
                        "nodes 10-15 mm short axis are non-target only (sec. 3.1.1)",
                        f"node short axis {sa:.1f} mm is pathological but not measurable: "
                        "record it as a non-target",
                    )
                )
            elif a.measurement is not None and sa is None:
                out.append(
                    ReadWarning(
                        les.uid,
                        les.label,
                        base.label,
                        "nodal targets are measured by their short axis (sec. 3.1.1)",
                        "measured with a line: use the bidirectional tool for the short axis",
                    )
                )
    out.extend(plane_warnings(read))
    return out


def plane_warnings(read: Read) -> list[ReadWarning]:
    """Target and non-target diameters not measured in the axial plane (sec. 3.1.1)."""
    out: list[ReadWarning] = []
    for lm in read.measurements:
        if lm.lesion_uid is None or lm.measurement.plane is None:
            continue
        les = read.lesion(lm.lesion_uid)
        if les.role is LesionRole.NEW:
            continue
        angle = angle_to_axial_deg(lm.measurement.plane.normal)
        if angle > AXIAL_PLANE_MAX_ANGLE_DEG:
            tp = read.timepoint(lm.timepoint_uid).label if lm.timepoint_uid else None
            out.append(
                ReadWarning(
                    les.uid,
                    les.label,
                    tp,
                    "RECIST diameters are measured in the axial plane (sec. 3.1.1)",
                    f"measured on a plane {angle:.0f} degrees from axial",
                )
            )
    return out


def missing_series_warnings(read: Read, available_series: Collection[str]) -> list[ReadWarning]:
    """Measurements whose series is not in the store: kept, with their numbers, and flagged."""
    out: list[ReadWarning] = []
    for lm in read.measurements:
        uid = lm.measurement.series_instance_uid
        if uid is None or uid in available_series:
            continue
        les = read.lesion(lm.lesion_uid) if lm.lesion_uid else None
        tp = read.timepoint(lm.timepoint_uid).label if lm.timepoint_uid else None
        out.append(
            ReadWarning(
                les.uid if les else None,
                les.label if les else lm.measurement.label or None,
                tp,
                "measurements reference images in the store",
                f"series {uid} is no longer in the store; the measurement "
                f"({lm.measurement.summary() or lm.measurement.kind.value}) is kept but its "
                "images cannot be shown",
                Severity.ERROR,
            )
        )
    return out


def warnings_by_lesion(warnings: list[ReadWarning]) -> dict[str | None, list[ReadWarning]]:
    out: dict[str | None, list[ReadWarning]] = {}
    for w in warnings:
        out.setdefault(w.lesion_uid, []).append(w)
    return out
