"""Fusion geometry: rigid registration, resampling through LPS transforms, frame checks.

Every matrix here maps *fixed* (base) LPS points to *moving* (overlay) LPS points.
SimpleITK is imported only when a function needs it.
"""

from namecar_viewer.core.registration.frames import (
    FrameOfReferenceMismatch,
    FusionGeometry,
    fusion_geometry,
    same_frame_of_reference,
)
from namecar_viewer.core.registration.optimiser import RegistrationCancelled
from namecar_viewer.core.registration.quality import checkerboard, edge_overlay, normalise
from namecar_viewer.core.registration.resample import (
    Interpolation,
    index_map,
    resample_array,
    resample_volume,
    volume_to_sitk,
)
from namecar_viewer.core.registration.rigid import (
    Initialisation,
    RigidResult,
    metric_value,
    register_rigid,
)
from namecar_viewer.core.registration.transforms import (
    euler_angles_deg,
    is_rigid,
    point_error_mm,
    rigid_matrix,
    rotation_angle_deg,
    rotation_xyz,
    transform_points,
)

__all__ = [
    "FrameOfReferenceMismatch",
    "FusionGeometry",
    "Initialisation",
    "Interpolation",
    "RegistrationCancelled",
    "RigidResult",
    "checkerboard",
    "edge_overlay",
    "euler_angles_deg",
    "fusion_geometry",
    "index_map",
    "is_rigid",
    "metric_value",
    "normalise",
    "point_error_mm",
    "register_rigid",
    "resample_array",
    "resample_volume",
    "rigid_matrix",
    "rotation_angle_deg",
    "rotation_xyz",
    "same_frame_of_reference",
    "transform_points",
    "volume_to_sitk",
]
