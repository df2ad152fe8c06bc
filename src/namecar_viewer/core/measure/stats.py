"""Statistics of ROIs and VOIs in a Volume's modality values, and the images a measurement cites.

An ellipse ROI is evaluated on the pixel grid of the plane it was drawn on (the displayed
slice): a pixel belongs to the ROI when its centre, mapped to patient mm through the plane,
lies inside the ellipse measured in mm.  Values are read from the volume at those patient
points: exact voxel values where the plane runs through voxel centres (axial, coronal and
sagittal views of an aligned stack), trilinear interpolation on oblique planes, exactly the
values the viewport displays.  The area is the ellipse's (pi a b), not a pixel count.

Examples
--------
>>> import numpy as np
>>> from namecar_viewer.core.geometry import Volume, affine_from_dicom
>>> from namecar_viewer.core.geometry.reslice import SliceOrientation, slice_geometry
>>> v = Volume(np.arange(5 * 5, dtype=np.int16).reshape(1, 5, 5),
...            affine_from_dicom([1, 0, 0, 0, 1, 0], (1.0, 1.0), (0, 0, 0)))
>>> plane = slice_geometry(v, SliceOrientation.AXIAL).plane(0)
>>> s = ellipse_stats(v, [(2, 2, 0), (1, 2, 0), (2, 1, 0)], plane)  # a circle of radius 1 mm
>>> s.n_pixels, s.mean, s.minimum, s.maximum  # pixels 7, 11, 12, 13, 17
(5, 12.0, 7.0, 17.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import Plane, sample_trilinear
from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind

FloatArray = npt.NDArray[np.float64]

# Indices this close to an integer are voxel centres (affine round-off), read without blending.
_SNAP = 1e-6


@dataclass(frozen=True)
class RoiStats:
    """Statistics of the modality values inside an ROI or VOI (population SD)."""

    n_pixels: int
    area_mm2: float  # analytic area of an ellipse; 0 for a VOI
    volume_ml: float  # analytic volume of a sphere; 0 for an ROI
    mean: float
    sd: float
    minimum: float
    maximum: float
    unit: str


def sample_volume(volume: Volume, points: FloatArray) -> npt.NDArray[np.float64]:
    """Volume values at (n, 3) LPS points: exact at voxel centres, trilinear elsewhere."""
    idx = volume.patient_to_index(points)
    near = np.rint(idx)
    idx = np.where(np.abs(idx - near) < _SNAP, near, idx)
    return np.asarray(sample_trilinear(volume.array, idx), dtype=np.float64)


def _stats(values: npt.NDArray[np.float64], unit: str, area: float, vol: float) -> RoiStats:
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("The ROI holds no pixel of the image.")
    return RoiStats(
        n_pixels=int(values.size),
        area_mm2=area,
        volume_ml=vol,
        mean=float(values.mean()),
        sd=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
        unit=unit,
    )


def ellipse_mask_points(points: Sequence[Any], plane: Plane) -> FloatArray:
    """LPS centres of the plane's pixels inside the ellipse (centre, semi-axis 1, semi-axis 2)."""
    c, p1, p2 = (np.asarray(p, dtype=np.float64) for p in points)
    e1, e2 = p1 - c, p2 - c
    a, b = float(np.linalg.norm(e1)), float(np.linalg.norm(e2))
    if a == 0.0 or b == 0.0:
        raise ValueError("The ellipse has a zero-length axis.")
    # Pixel bounding box of the ellipse, then an exact in-mm test of each pixel centre.
    outline = np.stack([c + e1, c - e1, c + e2, c - e2, c + e1 + e2, c - e1 - e2, c + e1 - e2])
    rc = plane.patient_to_pixel(outline)
    r0, c0 = np.floor(rc.min(axis=0)).astype(int) - 1
    r1, c1 = np.ceil(rc.max(axis=0)).astype(int) + 1
    rows, cols = plane.shape
    if rows and cols:
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, rows - 1), min(c1, cols - 1)
    rr, cc = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
    pts = plane.pixel_to_patient(np.stack([rr.ravel(), cc.ravel()], axis=1))
    d = pts - c
    # (u, v): coordinates along the semi-axes in units of their lengths.
    u, v = d @ e1 / a**2, d @ e2 / b**2
    inside = u * u + v * v <= 1.0 + 1e-9
    return np.asarray(pts[inside], dtype=np.float64)


def ellipse_stats(volume: Volume, points: Sequence[Any], plane: Plane, unit: str = "") -> RoiStats:
    """Area (mm²), mean, SD, min and max of the values inside an ellipse drawn on ``plane``."""
    c, p1, p2 = (np.asarray(p, dtype=np.float64) for p in points)
    area = math.pi * float(np.linalg.norm(p1 - c)) * float(np.linalg.norm(p2 - c))
    pts = ellipse_mask_points(points, plane)
    return _stats(sample_volume(volume, pts), unit, area, 0.0)


def sphere_stats(volume: Volume, centre: Any, radius_mm: float, unit: str = "") -> RoiStats:
    """Statistics of the voxels whose centres lie within the sphere (distances in mm).

    The voxel selection is :func:`namecar_viewer.core.suv.quantify.sphere_mask`, the one the
    PET quantification uses, so a sphere VOI on an SUV volume gives the same SUVmax/mean.
    """
    from namecar_viewer.core.suv.quantify import SphereVoi, sphere_mask

    c = np.asarray(centre, dtype=np.float64).reshape(3)
    mask = sphere_mask(volume, SphereVoi((float(c[0]), float(c[1]), float(c[2])), radius_mm))
    values = np.asarray(volume.array[mask], dtype=np.float64)
    vol = 4.0 / 3.0 * math.pi * radius_mm**3 / 1000.0
    return _stats(values, unit, 0.0, vol)


def measurement_stats(volume: Volume, measurement: Measurement, unit: str = "") -> RoiStats | None:
    """Statistics of an ellipse or sphere record on ``volume``; ``None`` for the other kinds."""
    if measurement.kind is MeasurementKind.ELLIPSE:
        if measurement.plane is None:
            raise ValueError(f"Ellipse {measurement.uid} has no plane to sample.")
        return ellipse_stats(volume, measurement.points, measurement.plane.to_plane(), unit)
    if measurement.kind is MeasurementKind.SPHERE:
        return sphere_stats(volume, measurement.points[0], measurement.radius_mm or 0.0, unit)
    return None


def images_for_points(volume: Volume, points: Sequence[Any]) -> tuple[ImageRef, ...]:
    """The stored images (SOP instance UID, frame) holding the points: the nearest slice each.

    A measurement on an acquisition-plane slice cites that one image; on a reformat it cites
    every source slice its points fall on.
    """
    if not volume.sop_instance_uids:
        return ()
    idx = volume.patient_to_index(np.asarray(points, dtype=np.float64).reshape(-1, 3))
    ks = sorted({int(min(max(round(float(k)), 0), volume.shape[0] - 1)) for k in idx[:, 0]})
    frames = volume.frame_numbers or (None,) * volume.shape[0]
    return tuple(ImageRef(volume.sop_instance_uids[k], frames[k]) for k in ks)


# The ring around a diameter measurement that tells what surrounds a lesion (site guess).
RING_GAP_MM = 3.0
RING_WIDTH_MM = 15.0


def ring_values(
    volume: Volume, measurement: Measurement, width_mm: float = RING_WIDTH_MM
) -> npt.NDArray[np.float64]:
    """Values in the measurement's plane on a ring just outside the lesion (inside the volume).

    The ring starts ``RING_GAP_MM`` beyond half the long axis and is ``width_mm`` wide, sampled
    every 2 mm on 24 directions; points outside the volume are left out.
    """
    long_axis = measurement.long_axis_mm
    if long_axis is None:
        raise ValueError("A ring needs a diameter measurement.")
    normal = measurement.plane.normal if measurement.plane is not None else volume.slice_normal
    n = np.asarray(normal, dtype=np.float64)
    n /= np.linalg.norm(n)
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(n, helper)
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    centre = np.asarray(measurement.centre, dtype=np.float64)
    radii = np.arange(long_axis / 2.0 + RING_GAP_MM, long_axis / 2.0 + RING_GAP_MM + width_mm, 2.0)
    angles = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
    rr, aa = np.meshgrid(radii, angles)
    pts = centre + (rr * np.cos(aa)).reshape(-1, 1) * u + (rr * np.sin(aa)).reshape(-1, 1) * v
    idx = volume.patient_to_index(pts)
    shape = np.asarray(volume.shape, dtype=np.float64)
    inside = np.all((idx >= 0) & (idx <= shape - 1), axis=1)
    if not inside.any():
        return np.empty(0, dtype=np.float64)
    return sample_volume(volume, pts[inside])
