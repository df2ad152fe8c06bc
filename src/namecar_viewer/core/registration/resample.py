"""Resample one Volume onto another's voxel grid through a 4x4 LPS transform (SimpleITK).

For each voxel of the *target* (fixed) grid, the value is read from the *moving* volume at
``M @ p_fixed``, ``M`` mapping fixed LPS to moving LPS (see :mod:`.transforms`).  The whole chain
``fixed index -> fixed LPS -> moving LPS -> moving index`` is one affine map on voxel indices,
so SimpleITK resamples in index space with a single :class:`SimpleITK.AffineTransform`: exact for
any geometry, gantry tilt (sheared grids) included, and multi-threaded.

Examples
--------
>>> import numpy as np
>>> from namecar_viewer.core.geometry import Volume
>>> a = np.zeros((4, 4, 4), np.float32); a[1, 2, 3] = 8.0
>>> v = Volume(a, np.diag([2.0, 2.0, 2.0, 1.0]))
>>> shifted = resample_volume(v, v, np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2.0],
...                                             [0, 0, 0, 1]]))
>>> float(shifted.array[1, 2, 2])  # i runs along z here: fixed z = 4 mm reads z = 6 mm (i = 3)
8.0
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.transforms import FloatArray, check_matrix

# (k, j, i) <-> (x, y, z) = (i, j, k): numpy's axis order against ITK's index order.
_SWAP_KI = np.array(
    [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    dtype=np.float64,
)


class Interpolation(enum.Enum):
    """How moving values between voxel centres are obtained."""

    NEAREST = "nearest"
    LINEAR = "linear"
    BSPLINE = "bspline"


def _sitk() -> Any:
    import SimpleITK as sitk  # lazily: start-up stays fast

    return sitk


def _interpolator(kind: Interpolation) -> Any:
    sitk = _sitk()
    return {
        Interpolation.NEAREST: sitk.sitkNearestNeighbor,
        Interpolation.LINEAR: sitk.sitkLinear,
        Interpolation.BSPLINE: sitk.sitkBSpline,
    }[kind]


def index_map(
    target_affine: npt.ArrayLike, moving_affine: npt.ArrayLike, matrix: npt.ArrayLike | None
) -> FloatArray:
    """4x4 mapping target (k, j, i, 1) to moving (k, j, i, 1): ``inv(A_m) @ M @ A_t``."""
    m = np.eye(4) if matrix is None else check_matrix(matrix)
    a_t = check_matrix(target_affine, "target_affine")
    a_m = check_matrix(moving_affine, "moving_affine")
    return np.asarray(np.linalg.inv(a_m) @ m @ a_t, dtype=np.float64)


def resample_array(
    moving: Volume,
    target_affine: npt.ArrayLike,
    target_shape: tuple[int, int, int],
    matrix: npt.ArrayLike | None = None,
    interpolation: Interpolation = Interpolation.LINEAR,
    default_value: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Values of ``moving`` on the grid (``target_affine``, ``target_shape``), float32.

    ``matrix`` maps target-grid LPS points to moving LPS points (identity when None: both in
    the same frame of reference).  Points outside ``moving`` get ``default_value``.
    """
    if moving.is_colour:
        raise ValueError("Colour volumes cannot be resampled for fusion.")
    if len(target_shape) != 3 or min(target_shape) < 1:
        raise ValueError(f'Argument "target_shape" must be 3 positive sizes; got {target_shape}.')
    sitk = _sitk()
    n_kji = index_map(target_affine, moving.affine, matrix)
    n_xyz = _SWAP_KI @ n_kji @ _SWAP_KI
    src = np.asarray(moving.array)
    if src.dtype != np.float32:
        src = src.astype(np.float32)
    image = sitk.GetImageFromArray(src, isVector=False)
    transform = sitk.AffineTransform(3)
    transform.SetMatrix([float(v) for v in n_xyz[:3, :3].ravel()])
    transform.SetTranslation([float(v) for v in n_xyz[:3, 3]])
    nk, nj, ni = (int(s) for s in target_shape)
    out = sitk.Resample(
        image,
        [ni, nj, nk],
        transform,
        _interpolator(interpolation),
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 1.0),
        (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
        float(default_value),
        sitk.sitkFloat32,
    )
    return np.asarray(sitk.GetArrayViewFromImage(out), dtype=np.float32).copy()


def resample_volume(
    moving: Volume,
    fixed: Volume,
    matrix: npt.ArrayLike | None = None,
    interpolation: Interpolation = Interpolation.LINEAR,
    default_value: float = 0.0,
) -> Volume:
    """``moving`` on ``fixed``'s grid and in ``fixed``'s frame of reference.

    The result has no SOP instance UIDs (its slices are not stored images); its metadata keeps
    the moving series' units and records where it came from.
    """
    array = resample_array(moving, fixed.affine, fixed.shape, matrix, interpolation, default_value)
    m = np.eye(4) if matrix is None else check_matrix(matrix)
    return Volume(
        array=array,
        affine=fixed.affine.copy(),
        frame_of_reference_uid=fixed.frame_of_reference_uid,
        modality=moving.modality,
        series_instance_uid=moving.series_instance_uid,
        study_instance_uid=moving.study_instance_uid,
        metadata={
            **{k: v for k, v in moving.metadata.items() if k in ("units", "unit", "label")},
            "series_description": moving.metadata.get("series_description", ""),
            "resampled_from_series": moving.series_instance_uid,
            "resampled_from_frame_of_reference": moving.frame_of_reference_uid,
            "transform_fixed_to_moving": m.tolist(),
        },
    )


def volume_to_sitk(volume: Volume, dtype: Any = np.float32) -> Any:
    """A SimpleITK image with the volume's physical geometry (origin, spacing, direction in LPS).

    ITK's physical space is DICOM LPS, so transforms found on these images are LPS transforms.

    Raises
    ------
    ValueError
        For a sheared (gantry-tilted) grid, which an ITK image cannot describe.
    """
    if volume.is_sheared:
        raise ValueError(
            "The volume's slices are sheared (gantry tilt): resample it to an orthogonal grid "
            "before registration."
        )
    sitk = _sitk()
    image = sitk.GetImageFromArray(np.asarray(volume.array, dtype=dtype), isVector=False)
    a = volume.affine
    cols = [a[:3, 2], a[:3, 1], a[:3, 0]]  # x = i, y = j, z = k
    spacing = [float(np.linalg.norm(c)) for c in cols]
    direction = np.stack([c / s for c, s in zip(cols, spacing, strict=True)], axis=1)
    image.SetSpacing(spacing)
    image.SetOrigin([float(v) for v in a[:3, 3]])
    image.SetDirection([float(v) for v in direction.ravel()])
    return image
