"""Rigid 4x4 transforms in patient LPS millimetres: build, decompose, compare.

Every matrix in this package maps *fixed* LPS points to *moving* LPS points
(``p_moving = M @ p_fixed``), the direction ITK's registration produces and the direction a
resampler needs (for each fixed voxel, where to read the moving image).  For the demo patient
with fixed = MRI and moving = PET this is the ground truth's "MRI->PET" transform
(``p_pet = R p_mri + t``).

Examples
--------
>>> m = rigid_matrix((0.0, 0.0, 3.0), (12.0, -8.0, 20.0))
>>> [round(a, 6) + 0.0 for a in euler_angles_deg(m)], m[:3, 3].tolist()
([0.0, 0.0, 3.0], [12.0, -8.0, 20.0])
>>> round(rotation_angle_deg(m), 6)
3.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def check_matrix(matrix: npt.ArrayLike, name: str = "matrix") -> FloatArray:
    """Return ``matrix`` as a 4x4 float array with last row (0, 0, 0, 1), or raise ValueError."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f'Argument "{name}" must be a 4x4 matrix; got shape {m.shape}.')
    if not np.allclose(m[3], (0.0, 0.0, 0.0, 1.0)):
        raise ValueError(f'Argument "{name}" must have last row (0, 0, 0, 1).')
    if not np.all(np.isfinite(m)):
        raise ValueError(f'Argument "{name}" must hold finite numbers.')
    return m


def rotation_xyz(angles_deg: Sequence[float]) -> FloatArray:
    """Rotation R = Rz @ Ry @ Rx (ITK Euler3DTransform order, ComputeZYX off), angles in degrees."""
    ax, ay, az = (math.radians(float(a)) for a in angles_deg)
    cx, sx, cy, sy, cz, sz = (
        math.cos(ax),
        math.sin(ax),
        math.cos(ay),
        math.sin(ay),
        math.cos(az),
        math.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]], dtype=np.float64)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=np.float64)
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]], dtype=np.float64)
    return np.asarray(rz @ ry @ rx, dtype=np.float64)


def rigid_matrix(
    angles_deg: Sequence[float] = (0.0, 0.0, 0.0),
    translation_mm: Sequence[float] = (0.0, 0.0, 0.0),
    centre_mm: Sequence[float] | npt.NDArray[np.float64] = (0.0, 0.0, 0.0),
) -> FloatArray:
    """``p' = R (p - c) + c + t``: rotation about ``centre_mm`` then translation, as a 4x4."""
    r = rotation_xyz(angles_deg)
    c = np.asarray(centre_mm, dtype=np.float64)
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = c - r @ c + np.asarray(translation_mm, dtype=np.float64)
    return m


def euler_angles_deg(matrix: npt.ArrayLike) -> tuple[float, float, float]:
    """Angles (x, y, z) in degrees with R = Rz @ Ry @ Rx (inverse of :func:`rotation_xyz`)."""
    r = check_matrix(matrix)[:3, :3]
    ay = math.asin(max(-1.0, min(1.0, -float(r[2, 0]))))
    ax = math.atan2(float(r[2, 1]), float(r[2, 2]))
    az = math.atan2(float(r[1, 0]), float(r[0, 0]))
    return (math.degrees(ax), math.degrees(ay), math.degrees(az))


def rotation_angle_deg(matrix: npt.ArrayLike) -> float:
    """Total rotation angle of a rigid matrix in degrees (axis-angle magnitude)."""
    r = check_matrix(matrix)[:3, :3]
    c = (float(np.trace(r)) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def is_rigid(matrix: npt.ArrayLike, tol: float = 1e-6) -> bool:
    """True when the 3x3 part is a proper rotation (orthonormal, determinant +1)."""
    r = check_matrix(matrix)[:3, :3]
    return bool(np.allclose(r.T @ r, np.eye(3), atol=tol) and abs(np.linalg.det(r) - 1.0) < tol)


def transform_points(matrix: npt.ArrayLike, points: npt.ArrayLike) -> FloatArray:
    """Apply a 4x4 to an (n, 3) array of LPS points."""
    m = check_matrix(matrix)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.asarray(p @ m[:3, :3].T + m[:3, 3], dtype=np.float64)


def point_error_mm(a: npt.ArrayLike, b: npt.ArrayLike, points: npt.ArrayLike) -> FloatArray:
    """Distance in mm between where two transforms send each point (a registration error)."""
    return np.asarray(
        np.linalg.norm(transform_points(a, points) - transform_points(b, points), axis=1),
        dtype=np.float64,
    )
