"""Measurements in patient LPS mm: records, editing geometry, ROI/VOI stats, semi-auto diameter.

Qt-free; the GUI tools in ``gui/tools`` draw and edit these records through the viewport's
plane mapping, and the read model in ``core/reads`` attaches them to lesions and timepoints.
"""

from namecar_viewer.core.measure.geometry import (
    angle_to_axial_deg,
    bidirectional_from_long_axis,
    ellipse_from_corners,
    ellipse_outline,
    lies_on_plane,
    move_handle,
    sphere_section_radius,
    translate,
)
from namecar_viewer.core.measure.record import (
    ImageRef,
    Measurement,
    MeasurementKind,
    PlaneRef,
    Point,
    new_uid,
)
from namecar_viewer.core.measure.semiauto import (
    DiameterProposal,
    SegmentationError,
    propose_diameters,
)
from namecar_viewer.core.measure.stats import (
    RoiStats,
    ellipse_stats,
    images_for_points,
    measurement_stats,
    sphere_stats,
)

__all__ = [
    "DiameterProposal",
    "ImageRef",
    "Measurement",
    "MeasurementKind",
    "PlaneRef",
    "Point",
    "RoiStats",
    "SegmentationError",
    "angle_to_axial_deg",
    "bidirectional_from_long_axis",
    "ellipse_from_corners",
    "ellipse_outline",
    "ellipse_stats",
    "images_for_points",
    "lies_on_plane",
    "measurement_stats",
    "move_handle",
    "new_uid",
    "propose_diameters",
    "sphere_section_radius",
    "sphere_stats",
    "translate",
]
