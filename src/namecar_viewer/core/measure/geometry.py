"""Editing geometry of measurements in patient mm: perpendicular bidirectional axes, handles, moves.

Everything here works on LPS points and a plane normal, so it is the same for anisotropic
pixels, reformatted and oblique planes: the screen is never consulted.

Bidirectional editing follows the behaviour radiologists know from Cornerstone/OHIF:

* moving a long-axis endpoint keeps the short axis perpendicular, crossing the long axis at the
  same fraction of its length and with the same lengths on each side;
* moving a short-axis endpoint slides it along the perpendicular through the crossing point
  (only that side's length changes), the long axis stays put.

Examples
--------
>>> pts = bidirectional_from_long_axis((0, 0, 0), (10, 0, 0), (0, 0, 1), short_mm=4)
>>> [tuple(round(c, 6) for c in p) for p in pts]
[(0.0, 0.0, 0.0), (10.0, 0.0, 0.0), (5.0, -2.0, 0.0), (5.0, 2.0, 0.0)]
>>> moved = move_handle(MeasurementKind.BIDIRECTIONAL, pts, 1, (0, 10, 0), (0, 0, 1))
>>> [tuple(round(c, 6) for c in p) for p in moved[2:]]
[(2.0, 5.0, 0.0), (-2.0, 5.0, 0.0)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.measure.record import Measurement, MeasurementKind, Point

FloatArray = npt.NDArray[np.float64]


def _a(p: Any) -> FloatArray:
    return np.asarray(p, dtype=np.float64).reshape(3)


def _t(p: FloatArray) -> Point:
    return (float(p[0]), float(p[1]), float(p[2]))


def _unit(v: FloatArray) -> FloatArray:
    n = float(np.linalg.norm(v))
    if n == 0.0:
        raise ValueError("Degenerate direction (zero length).")
    return np.asarray(v / n, dtype=np.float64)


def perpendicular_in_plane(direction: Any, normal: Any) -> FloatArray:
    """Unit vector in the plane (normal given) perpendicular to ``direction``: normal x dir."""
    return _unit(np.cross(_unit(_a(normal)), _unit(_a(direction))))


def bidirectional_from_long_axis(
    a: Any, b: Any, normal: Any, short_mm: float | None = None, fraction: float = 0.5
) -> tuple[Point, Point, Point, Point]:
    """Long axis a-b with a perpendicular short axis centred at ``fraction`` along it.

    The short axis defaults to half the long axis (the starting shape the reader then edits).
    """
    pa, pb = _a(a), _a(b)
    length = float(np.linalg.norm(pb - pa))
    if length == 0.0:
        raise ValueError("The long axis has zero length.")
    s = length / 2.0 if short_mm is None else float(short_mm)
    n = perpendicular_in_plane(pb - pa, normal)
    m = pa + fraction * (pb - pa)
    return _t(pa), _t(pb), _t(m - n * s / 2.0), _t(m + n * s / 2.0)


def _bidi_frame(
    pts: Sequence[Any], normal: Any
) -> tuple[FloatArray, FloatArray, float, float, float]:
    """(a, b, fraction of the crossing along a-b, signed offsets of c and d along n)."""
    a, b, c, d = (_a(p) for p in pts)
    u = b - a
    length2 = float(u @ u)
    if length2 == 0.0:
        raise ValueError("The long axis has zero length.")
    n = perpendicular_in_plane(u, normal)
    mid = (c + d) / 2.0
    t = float((mid - a) @ u) / length2
    return a, b, t, float((c - a - t * u) @ n), float((d - a - t * u) @ n)


def move_handle(
    kind: MeasurementKind,
    points: Sequence[Any],
    handle: int,
    new_point: Any,
    normal: Any,
) -> tuple[Point, ...]:
    """New points after dragging handle ``handle`` to ``new_point`` (projected onto the plane).

    ``normal`` is the unit normal of the measurement's plane; the dragged point is projected
    onto the plane through the old handle so a measurement never leaves its plane.
    """
    pts = [_a(p) for p in points]
    if not 0 <= handle < len(pts):
        raise IndexError(f"Handle {handle} does not exist on a {kind.value} measurement.")
    nrm = _unit(_a(normal))
    q = _a(new_point)
    q = q - float((q - pts[handle]) @ nrm) * nrm
    if kind is MeasurementKind.BIDIRECTIONAL:
        a, b, t, dc, dd = _bidi_frame(pts, nrm)
        if handle in (0, 1):
            a2, b2 = (q, b) if handle == 0 else (a, q)
            if float(np.linalg.norm(b2 - a2)) == 0.0:
                return tuple(_t(p) for p in pts)
            n2 = perpendicular_in_plane(b2 - a2, nrm)
            m2 = a2 + t * (b2 - a2)
            return _t(a2), _t(b2), _t(m2 + dc * n2), _t(m2 + dd * n2)
        n = perpendicular_in_plane(b - a, nrm)
        m = a + t * (b - a)
        off = float((q - m) @ n)
        c2, d2 = (m + off * n, m + dd * n) if handle == 2 else (m + dc * n, m + off * n)
        return _t(a), _t(b), _t(c2), _t(d2)
    if kind is MeasurementKind.ELLIPSE:
        c, p1, p2 = pts
        if handle == 0:  # dragging the centre moves the whole ellipse
            d = q - c
            return _t(q), _t(p1 + d), _t(p2 + d)
        # Resizing one semi-axis keeps the other perpendicular with its length.
        r_other = float(np.linalg.norm((p2 if handle == 1 else p1) - c))
        axis = q - c
        if float(np.linalg.norm(axis)) == 0.0:
            return tuple(_t(p) for p in pts)
        perp = perpendicular_in_plane(axis, nrm)
        other = c + r_other * perp
        return (_t(c), _t(q), _t(other)) if handle == 1 else (_t(c), _t(other), _t(q))
    if kind is MeasurementKind.SPHERE and handle == 0:
        d = q - pts[0]
        return _t(q), _t(pts[1] + d)
    pts[handle] = q
    return tuple(_t(p) for p in pts)


def translate(points: Sequence[Any], delta: Any) -> tuple[Point, ...]:
    """Every point moved by ``delta`` (mm)."""
    d = _a(delta)
    return tuple(_t(_a(p) + d) for p in points)


def ellipse_from_corners(corner_a: Any, corner_b: Any, plane: Any) -> tuple[Point, Point, Point]:
    """Ellipse inscribed in the box with opposite corners a, b, sides along the plane's axes."""
    a, b = _a(corner_a), _a(corner_b)
    rd, cd = _a(plane.row_direction), _a(plane.column_direction)
    centre = (a + b) / 2.0
    half = (b - a) / 2.0
    return _t(centre), _t(centre + float(half @ rd) * rd), _t(centre + float(half @ cd) * cd)


def ellipse_outline(points: Sequence[Any], n: int = 72) -> FloatArray:
    """``n`` LPS points around the ellipse (centre, semi-axis end 1, semi-axis end 2)."""
    c, p1, p2 = (_a(p) for p in points)
    ang = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.asarray(
        c[None, :]
        + np.cos(ang)[:, None] * (p1 - c)[None, :]
        + np.sin(ang)[:, None] * (p2 - c)[None, :],
        dtype=np.float64,
    )


def distance_to_segment(p: Any, a: Any, b: Any) -> float:
    """Euclidean distance from ``p`` to the segment a-b (same units as the inputs)."""
    pa, pb, pp = _a(a), _a(b), _a(p)
    u = pb - pa
    l2 = float(u @ u)
    t = 0.0 if l2 == 0.0 else min(max(float((pp - pa) @ u) / l2, 0.0), 1.0)
    return float(np.linalg.norm(pp - (pa + t * u)))


def max_distance_from_plane(measurement: Measurement, plane: Any) -> float:
    """Largest |distance| in mm of the measurement's points from ``plane`` (a reslice Plane)."""
    d = plane.distance(measurement.array)
    return float(np.max(np.abs(d)))


def lies_on_plane(measurement: Measurement, plane: Any, half_thickness_mm: float) -> bool:
    """True when every point is within ``half_thickness_mm`` of the plane (shown on that slice).

    A sphere is shown on every plane that cuts it (see :func:`sphere_section_radius`).
    """
    if measurement.kind is MeasurementKind.SPHERE:
        return sphere_section_radius(measurement, plane) is not None
    return max_distance_from_plane(measurement, plane) <= half_thickness_mm + 1e-6


def sphere_section_radius(measurement: Measurement, plane: Any) -> float | None:
    """Radius of the circle where the plane cuts the sphere, ``None`` when it misses it."""
    c = measurement.points[0]
    r = measurement.radius_mm or 0.0
    d = float(plane.distance([c])[0])
    if abs(d) > r:
        return None
    return math.sqrt(max(r * r - d * d, 0.0))


def angle_to_axial_deg(normal: Any) -> float:
    """Angle in degrees between a plane's normal and the patient's head-feet (z) axis."""
    n = _unit(_a(normal))
    return math.degrees(math.acos(min(1.0, abs(float(n[2])))))
