"""The canonical measurement record: points in patient LPS mm, the plane, the images it cites.

A drawing tool's annotation is never the measurement (OHIF's MeasurementService split): what
is stored, exported (TID 1500) and redrawn is this record, from which every number is computed
again.  Screen pixels never enter it.

Points per kind (all LPS millimetres):

* ``LINE``: two endpoints.
* ``BIDIRECTIONAL``: long-axis endpoints, then short-axis endpoints (4 points), the short axis
  perpendicular to the long one in the plane.
* ``ELLIPSE``: the centre, the end of the first semi-axis, the end of the second (perpendicular)
  semi-axis (3 points); a circle has equal semi-axes.
* ``POINT``: one point.  ``ARROW``: the tip, then the tail.
* ``SPHERE``: the centre and one point on the surface (a 3D VOI).

Examples
--------
>>> m = Measurement.create(MeasurementKind.LINE, [(0, 0, 0), (3, 4, 0)], label="T1")
>>> m.length_mm
5.0
>>> Measurement.from_json(m.to_json()) == m
True
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

Point = tuple[float, float, float]

# UID root for UUID-derived UIDs (ISO/IEC 9834-8, DICOM PS3.5 B.2): "2.25." + the UUID as integer.
UUID_UID_ROOT = "2.25."


def new_uid() -> str:
    """A new globally unique identifier usable as a DICOM UID (2.25.<uuid as integer>)."""
    return UUID_UID_ROOT + str(uuid.uuid4().int)


class MeasurementKind(enum.Enum):
    """The tools' geometric primitives."""

    LINE = "line"
    BIDIRECTIONAL = "bidirectional"
    ELLIPSE = "ellipse"
    POINT = "point"
    ARROW = "arrow"
    SPHERE = "sphere"


POINT_COUNT: dict[MeasurementKind, int] = {
    MeasurementKind.LINE: 2,
    MeasurementKind.BIDIRECTIONAL: 4,
    MeasurementKind.ELLIPSE: 3,
    MeasurementKind.POINT: 1,
    MeasurementKind.ARROW: 2,
    MeasurementKind.SPHERE: 2,
}

DEFAULT_UNIT: dict[MeasurementKind, str] = {
    MeasurementKind.LINE: "mm",
    MeasurementKind.BIDIRECTIONAL: "mm",
    MeasurementKind.ELLIPSE: "mm2",
    MeasurementKind.POINT: "",
    MeasurementKind.ARROW: "",
    MeasurementKind.SPHERE: "ml",
}


def _point(p: Any) -> Point:
    a = np.asarray(p, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ValueError(f"A measurement point must be 3 finite LPS coordinates, got {p!r}.")
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True)
class PlaneRef:
    """The image plane a measurement was drawn on: origin and unit row/column directions (LPS).

    ``pixel_spacing`` (between rows, between columns) and ``shape`` describe the pixel grid of
    the displayed slice, so ROI statistics sample the same pixels the reader saw;
    ``slice_spacing_mm`` is the distance between neighbouring planes of that view.
    """

    origin: Point
    row_direction: Point
    column_direction: Point
    pixel_spacing: tuple[float, float] = (1.0, 1.0)
    shape: tuple[int, int] = (0, 0)
    slice_spacing_mm: float | None = None

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        n = np.cross(np.asarray(self.row_direction), np.asarray(self.column_direction))
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    @classmethod
    def from_plane(cls, plane: Any, slice_spacing_mm: float | None = None) -> PlaneRef:
        """From a :class:`~namecar_viewer.core.geometry.reslice.Plane` (duck-typed)."""
        return cls(
            origin=_point(plane.origin),
            row_direction=_point(plane.row_direction),
            column_direction=_point(plane.column_direction),
            pixel_spacing=(float(plane.pixel_spacing[0]), float(plane.pixel_spacing[1])),
            shape=(int(plane.shape[0]), int(plane.shape[1])),
            slice_spacing_mm=slice_spacing_mm,
        )

    def to_plane(self) -> Any:
        """The :class:`Plane` this describes (imported lazily: geometry stays optional here)."""
        from namecar_viewer.core.geometry.reslice import Plane

        return Plane(
            origin=np.asarray(self.origin, dtype=np.float64),
            row_direction=np.asarray(self.row_direction, dtype=np.float64),
            column_direction=np.asarray(self.column_direction, dtype=np.float64),
            pixel_spacing=self.pixel_spacing,
            shape=self.shape,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": list(self.origin),
            "row_direction": list(self.row_direction),
            "column_direction": list(self.column_direction),
            "pixel_spacing": list(self.pixel_spacing),
            "shape": list(self.shape),
            "slice_spacing_mm": self.slice_spacing_mm,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PlaneRef:
        ps = d.get("pixel_spacing", [1.0, 1.0])
        sh = d.get("shape", [0, 0])
        ss = d.get("slice_spacing_mm")
        return cls(
            origin=_point(d["origin"]),
            row_direction=_point(d["row_direction"]),
            column_direction=_point(d["column_direction"]),
            pixel_spacing=(float(ps[0]), float(ps[1])),
            shape=(int(sh[0]), int(sh[1])),
            slice_spacing_mm=None if ss is None else float(ss),
        )


@dataclass(frozen=True)
class ImageRef:
    """One image a measurement was made on: SOP instance UID and frame number (multi-frame)."""

    sop_instance_uid: str
    frame_number: int | None = None


@dataclass(frozen=True)
class Measurement:
    """One measurement as stored: the source of every number shown or exported."""

    uid: str
    kind: MeasurementKind
    points: tuple[Point, ...]
    plane: PlaneRef | None = None
    series_instance_uid: str | None = None
    images: tuple[ImageRef, ...] = ()
    frame_of_reference_uid: str | None = None
    unit: str = "mm"
    label: str = ""
    study_instance_uid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = POINT_COUNT[self.kind]
        if len(self.points) != n:
            raise ValueError(
                f"A {self.kind.value} measurement takes {n} points, got {len(self.points)}."
            )

    @classmethod
    def create(
        cls,
        kind: MeasurementKind,
        points: Sequence[Any],
        *,
        uid: str | None = None,
        plane: PlaneRef | None = None,
        series_instance_uid: str | None = None,
        images: Sequence[ImageRef] = (),
        frame_of_reference_uid: str | None = None,
        unit: str | None = None,
        label: str = "",
        study_instance_uid: str | None = None,
    ) -> Measurement:
        """Build a record, checking the points (3 finite coordinates each)."""
        return cls(
            uid=uid or new_uid(),
            kind=kind,
            points=tuple(_point(p) for p in points),
            plane=plane,
            series_instance_uid=series_instance_uid,
            images=tuple(images),
            frame_of_reference_uid=frame_of_reference_uid,
            unit=DEFAULT_UNIT[kind] if unit is None else unit,
            label=label,
            study_instance_uid=study_instance_uid,
        )

    def with_points(self, points: Sequence[Any]) -> Measurement:
        return replace(self, points=tuple(_point(p) for p in points))

    @property
    def array(self) -> npt.NDArray[np.float64]:
        """Points as an (n, 3) array."""
        return np.asarray(self.points, dtype=np.float64)

    @property
    def length_mm(self) -> float | None:
        """Line length, or the long axis of a bidirectional measurement."""
        if self.kind in (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL):
            return _dist(self.points[0], self.points[1])
        return None

    @property
    def long_axis_mm(self) -> float | None:
        return self.length_mm

    @property
    def short_axis_mm(self) -> float | None:
        """Short axis of a bidirectional measurement (``None`` for the other kinds)."""
        if self.kind is MeasurementKind.BIDIRECTIONAL:
            return _dist(self.points[2], self.points[3])
        return None

    @property
    def radius_mm(self) -> float | None:
        if self.kind is MeasurementKind.SPHERE:
            return _dist(self.points[0], self.points[1])
        return None

    @property
    def semi_axes_mm(self) -> tuple[float, float] | None:
        if self.kind is MeasurementKind.ELLIPSE:
            return _dist(self.points[0], self.points[1]), _dist(self.points[0], self.points[2])
        return None

    @property
    def area_mm2(self) -> float | None:
        """Area of the ellipse (pi a b), exact from the points in mm."""
        ax = self.semi_axes_mm
        return None if ax is None else math.pi * ax[0] * ax[1]

    @property
    def volume_ml(self) -> float | None:
        r = self.radius_mm
        return None if r is None else 4.0 / 3.0 * math.pi * r**3 / 1000.0

    @property
    def centre(self) -> Point:
        """A point to navigate to: the centre of the drawn shape."""
        if self.kind in (MeasurementKind.ELLIPSE, MeasurementKind.SPHERE, MeasurementKind.POINT):
            return self.points[0]
        if self.kind is MeasurementKind.ARROW:
            return self.points[0]
        a = self.array[:2].mean(axis=0)
        return (float(a[0]), float(a[1]), float(a[2]))

    def summary(self) -> str:
        """The text drawn beside the measurement ("T1 60.0 x 48.0 mm")."""
        k = self.kind
        if k is MeasurementKind.BIDIRECTIONAL:
            text = f"{self.long_axis_mm:.1f} x {self.short_axis_mm:.1f} mm"
        elif k is MeasurementKind.LINE:
            text = f"{self.length_mm:.1f} mm"
        elif k is MeasurementKind.ELLIPSE:
            text = f"{self.area_mm2:.1f} mm²"
        elif k is MeasurementKind.SPHERE:
            text = f"r {self.radius_mm:.1f} mm, {self.volume_ml:.2f} ml"
        else:
            text = ""
        return f"{self.label} {text}".strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "kind": self.kind.value,
            "points": [list(p) for p in self.points],
            "plane": None if self.plane is None else self.plane.to_json(),
            "series_instance_uid": self.series_instance_uid,
            "images": [[i.sop_instance_uid, i.frame_number] for i in self.images],
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "unit": self.unit,
            "label": self.label,
            "study_instance_uid": self.study_instance_uid,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Measurement:
        try:
            kind = MeasurementKind(d["kind"])
        except (KeyError, ValueError) as exc:
            raise ValueError(
                f"Measurement {d.get('uid')!r}: unknown kind {d.get('kind')!r}"
            ) from exc
        plane = d.get("plane")
        return cls(
            uid=str(d["uid"]),
            kind=kind,
            points=tuple(_point(p) for p in d["points"]),
            plane=None if plane is None else PlaneRef.from_json(plane),
            series_instance_uid=d.get("series_instance_uid"),
            images=tuple(
                ImageRef(str(s), None if f is None else int(f)) for s, f in d.get("images", [])
            ),
            frame_of_reference_uid=d.get("frame_of_reference_uid"),
            unit=str(d.get("unit", "")),
            label=str(d.get("label", "")),
            study_instance_uid=d.get("study_instance_uid"),
        )


def _dist(a: Point, b: Point) -> float:
    return math.dist(a, b)
