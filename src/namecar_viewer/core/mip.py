"""Rotating maximum intensity projection (MIP) of a PET, and the hottest voxel under a click.

The projection turns about the patient's vertical (S) axis.  At angle 0 the viewer looks from
the front (anterior to posterior), with the patient's right on the image's left and the head at
the top, as a coronal slice is shown; a positive angle turns the viewpoint towards the patient's
left (90 degrees: a left lateral view, anterior on the image's left).  In LPS:

* image columns run along ``u = (cos a, sin a, 0)``,
* rays run along ``d = (-sin a, cos a, 0)`` (away from the viewer),
* image rows run towards the feet ``(0, 0, -1)``,

on an isotropic grid of the volume's finest spacing, centred on the volume, wide enough for any
angle.  The image is resampled with trilinear interpolation (SimpleITK); picking a point goes
back to the stored voxels: every voxel whose cell the ray crosses is a candidate and the one with
the highest stored value wins.

Examples
--------
>>> import numpy as np
>>> from namecar_viewer.core.geometry import Volume
>>> a = np.zeros((9, 9, 9), np.float32); a[4, 2, 6] = 5.0
>>> v = Volume(a, np.diag([2.0, 2.0, 2.0, 1.0]))
>>> m = mip(v, 0.0)
>>> r, c = np.unravel_index(int(np.argmax(m.image)), m.image.shape)
>>> hit = m.hottest_along_ray(v, r, c)
>>> hit.index, hit.value
((4, 2, 6), 5.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.resample import Interpolation, resample_array

FloatArray = npt.NDArray[np.float64]
# Ray sampling step for picking, as a fraction of the finest voxel spacing: small enough that no
# voxel cell the ray crosses is skipped by more than a sliver.
PICK_STEP_FRACTION = 0.2


@dataclass(frozen=True)
class RayHit:
    """The hottest stored voxel along a MIP ray."""

    index: tuple[int, int, int]
    point_lps: tuple[float, float, float]
    value: float


@dataclass(frozen=True)
class MipImage:
    """One projection: ``image[row, col]`` and the grid its rays were cast on.

    ``grid_affine`` maps (depth k, row j, column i) to LPS; ``depth`` is the number of samples
    along each ray.
    """

    image: npt.NDArray[np.float32]
    angle_deg: float
    grid_affine: FloatArray
    depth: int
    pixel_mm: float

    @property
    def ray_direction(self) -> FloatArray:
        d = self.grid_affine[:3, 0]
        return np.asarray(d / np.linalg.norm(d), dtype=np.float64)

    def ray(self, row: float, col: float) -> tuple[FloatArray, FloatArray, float]:
        """Start point (LPS), unit direction and length (mm) of the ray through (row, col)."""
        start = self.grid_affine[:3, :3] @ np.array([0.0, row, col]) + self.grid_affine[:3, 3]
        return (
            np.asarray(start, dtype=np.float64),
            self.ray_direction,
            (self.depth - 1) * self.pixel_mm,
        )

    def project(self, point_lps: npt.ArrayLike) -> tuple[float, float]:
        """(row, col) where an LPS point appears on this projection."""
        p = np.asarray(point_lps, dtype=np.float64).reshape(3)
        kji = np.linalg.solve(self.grid_affine[:3, :3], p - self.grid_affine[:3, 3])
        return float(kji[1]), float(kji[2])

    def hottest_along_ray(self, volume: Volume, row: float, col: float) -> RayHit | None:
        """The stored voxel of highest value among those the ray through (row, col) crosses.

        None when the ray misses the volume.  Ties go to the voxel nearest the viewer.
        """
        start, direction, length = self.ray(row, col)
        step = min(volume.spacing) * PICK_STEP_FRACTION
        t = np.arange(0.0, length + step, step)
        pts = start[None, :] + t[:, None] * direction[None, :]
        idx = np.rint(volume.patient_to_index(pts)).astype(np.int64)
        shape = np.asarray(volume.shape)
        inside = np.all((idx >= 0) & (idx < shape), axis=1)
        idx = idx[inside]
        if idx.size == 0:
            return None
        # keep the first occurrence of each voxel, in order along the ray
        _, first = np.unique(idx, axis=0, return_index=True)
        idx = idx[np.sort(first)]
        values = np.asarray(volume.array[idx[:, 0], idx[:, 1], idx[:, 2]], dtype=np.float64)
        if np.all(np.isnan(values)):
            return None
        best = int(np.nanargmax(values))
        k, j, i = (int(v) for v in idx[best])
        p = volume.index_to_patient([[k, j, i]])[0]
        return RayHit((k, j, i), (float(p[0]), float(p[1]), float(p[2])), float(values[best]))


def mip_grid(volume: Volume, angle_deg: float) -> tuple[FloatArray, tuple[int, int, int], float]:
    """Affine, shape (depth, rows, cols) and pixel size of the projection grid at an angle."""
    s = float(min(volume.spacing))
    nk, nj, ni = volume.shape
    corners = np.array(
        [[k, j, i] for k in (0, nk - 1) for j in (0, nj - 1) for i in (0, ni - 1)],
        dtype=np.float64,
    )
    pts = volume.index_to_patient(corners)
    cx, cy = (pts[:, 0].min() + pts[:, 0].max()) / 2.0, (pts[:, 1].min() + pts[:, 1].max()) / 2.0
    radius = float(np.max(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy)))
    z_top, z_bottom = float(pts[:, 2].max()), float(pts[:, 2].min())
    n_h = math.ceil(2.0 * radius / s) + 1
    n_rows = math.ceil((z_top - z_bottom) / s) + 1
    a = math.radians(angle_deg)
    u = np.array([math.cos(a), math.sin(a), 0.0])
    d = np.array([-math.sin(a), math.cos(a), 0.0])
    half = (n_h - 1) / 2.0 * s
    origin = np.array([cx, cy, z_top]) - half * u - half * d
    affine = np.eye(4)
    affine[:3, 0] = d * s
    affine[:3, 1] = np.array([0.0, 0.0, -s])
    affine[:3, 2] = u * s
    affine[:3, 3] = origin
    return affine, (n_h, n_rows, n_h), s


def mip(volume: Volume, angle_deg: float) -> MipImage:
    """The maximum intensity projection of ``volume`` seen from ``angle_deg`` (see module doc)."""
    if volume.is_colour:
        raise ValueError("A MIP needs a grey-scale volume.")
    affine, shape, s = mip_grid(volume, angle_deg)
    finite = np.asarray(volume.array)
    background = float(np.nanmin(finite)) if finite.size else 0.0
    samples = resample_array(
        volume, affine, shape, None, Interpolation.LINEAR, default_value=background
    )
    image = np.asarray(samples.max(axis=0), dtype=np.float32)
    return MipImage(image, float(angle_deg), affine, shape[0], s)
