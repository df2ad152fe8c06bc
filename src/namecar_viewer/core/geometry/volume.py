"""One image volume in patient coordinates: the single type every layer above shares.

The convention is highdicom's ``Volume``: ``array`` has shape (slices, rows, columns) and
``affine`` maps homogeneous voxel indices (k, j, i, 1) = (slice, row, column, 1) to DICOM
patient coordinates (LPS, millimetres).  Column 0 of the affine is the step from one slice to
the next (which need not be normal to the slices when the gantry was tilted), column 1 the step
down one row (PixelSpacing[0] along the column direction cosine) and column 2 the step along one
row (PixelSpacing[1] along the row direction cosine).

Examples
--------
>>> import numpy as np
>>> v = Volume(np.zeros((3, 4, 5), np.int16), affine_from_dicom(
...     [1, 0, 0, 0, 1, 0], pixel_spacing=(0.5, 0.7), first_position=(10, 20, 30),
...     slice_step=(0, 0, 2.5)), frame_of_reference_uid="1.2.3", modality="CT")
>>> v.index_to_patient([[2, 1, 3]]).tolist()
[[12.1, 20.5, 35.0]]
>>> v.spacing
(2.5, 0.5, 0.7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


Vector = Sequence[float] | npt.NDArray[np.float64]


def affine_from_dicom(
    image_orientation: Vector,
    pixel_spacing: Vector,
    first_position: Vector,
    slice_step: Vector | None = None,
) -> FloatArray:
    """Build the (k, j, i) -> LPS affine from DICOM Image Plane tags (PS3.3 C.7.6.2.1.1).

    ``slice_step`` is the vector from the first slice's ImagePositionPatient to the next one's;
    for a single slice it defaults to the slice normal with unit length.
    """
    iop = np.asarray(image_orientation, dtype=np.float64)
    if iop.shape != (6,):
        raise ValueError('Argument "image_orientation" must have 6 values.')
    row_cos, col_cos = iop[:3], iop[3:]
    if slice_step is None:
        step = np.cross(row_cos, col_cos)
    else:
        step = np.asarray(slice_step, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = step
    affine[:3, 1] = col_cos * float(pixel_spacing[0])
    affine[:3, 2] = row_cos * float(pixel_spacing[1])
    affine[:3, 3] = np.asarray(first_position, dtype=np.float64)
    return affine


@dataclass(eq=False)
class Volume:
    """A 3D image (slices, rows, columns) with its affine to patient LPS millimetres.

    ``array`` holds modality values after rescale (HU for CT, stored values times the per-slice
    rescale for PET).  ``sop_instance_uids[k]`` is the instance that slice ``k`` came from, so
    that every measurement can cite the image it was made on.  ``frame_numbers[k]`` is the frame
    of a multi-frame instance (1-based) or ``None``.
    """

    array: npt.NDArray[Any]
    affine: FloatArray
    frame_of_reference_uid: str | None = None
    modality: str = "OT"
    sop_instance_uids: tuple[str, ...] = ()
    series_instance_uid: str | None = None
    study_instance_uid: str | None = None
    frame_numbers: tuple[int | None, ...] = ()
    files: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.array.ndim != 3 and not (self.array.ndim == 4 and self.array.shape[3] in (3, 4)):
            raise ValueError(
                f'Argument "array" must be three-dimensional (slices, rows, columns), or four-'
                f"dimensional with colour samples last; got shape {self.array.shape}."
            )
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.affine.shape != (4, 4):
            raise ValueError('Argument "affine" must be a 4x4 array.')
        n = self.array.shape[0]
        for name in ("sop_instance_uids", "frame_numbers", "files"):
            value = getattr(self, name)
            if value and len(value) != n:
                raise ValueError(f'Argument "{name}" must have one entry per slice ({n}).')

    @property
    def is_colour(self) -> bool:
        return self.array.ndim == 4

    @property
    def shape(self) -> tuple[int, int, int]:
        s = self.array.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Distances in mm between neighbouring voxel centres along k, j and i."""
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (round(float(norms[0]), 6), round(float(norms[1]), 6), round(float(norms[2]), 6))

    @property
    def direction(self) -> FloatArray:
        """Unit vectors (columns) of the k, j, i axes in LPS."""
        m = self.affine[:3, :3]
        return np.asarray(m / np.linalg.norm(m, axis=0), dtype=np.float64)

    @property
    def slice_normal(self) -> FloatArray:
        """Unit normal of the image planes (row x column cosines), independent of gantry tilt."""
        n = np.cross(self.affine[:3, 2], self.affine[:3, 1])
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    @property
    def is_sheared(self) -> bool:
        """True when slices are not stacked along their normal (gantry tilt)."""
        k = self.affine[:3, 0] / np.linalg.norm(self.affine[:3, 0])
        return bool(abs(abs(float(np.dot(k, self.slice_normal))) - 1.0) > 1e-4)

    def index_to_patient(self, indices: npt.ArrayLike) -> FloatArray:
        """Map an (n, 3) array of (k, j, i) indices (fractional allowed) to (n, 3) LPS mm."""
        idx = np.asarray(indices, dtype=np.float64)
        if idx.ndim != 2 or idx.shape[1] != 3:
            raise ValueError(
                'Argument "indices" must be a two-dimensional array with shape [n, 3].'
            )
        return np.asarray(idx @ self.affine[:3, :3].T + self.affine[:3, 3], dtype=np.float64)

    def patient_to_index(self, points: npt.ArrayLike) -> FloatArray:
        """Map an (n, 3) array of LPS mm points to fractional (k, j, i) indices."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError('Argument "points" must be a two-dimensional array with shape [n, 3].')
        inv = np.linalg.inv(self.affine)
        return np.asarray(pts @ inv[:3, :3].T + inv[:3, 3], dtype=np.float64)

    def center_of_voxels(self) -> FloatArray:
        """Patient coordinates of the volume's centre."""
        c = (np.asarray(self.shape, dtype=np.float64) - 1.0) / 2.0
        return np.asarray(self.index_to_patient(c[None, :])[0], dtype=np.float64)

    def slice_position_mm(self, k: int) -> float:
        """Signed distance of slice k along the slice normal, as shown beside a slice number."""
        origin = self.index_to_patient([[k, 0, 0]])[0]
        return float(np.dot(origin, self.slice_normal))

    def nbytes(self) -> int:
        return int(self.array.nbytes)
