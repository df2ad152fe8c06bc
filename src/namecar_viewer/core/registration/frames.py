"""Frame of reference check before fusion: the same frame fuses directly, another never silently.

Two volumes share patient coordinates only when they share a FrameOfReferenceUID (PS3.3
C.7.4.1.1.1).  Between frames, the only way to fuse is a transform the reader has accepted
(automatic registration, a manual alignment, or both); without one, fusion is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.transforms import FloatArray, check_matrix


class FrameOfReferenceMismatch(ValueError):
    """Fusion of two frames of reference was asked for without an accepted transform."""


@dataclass(frozen=True)
class FusionGeometry:
    """How to bring the overlay into the base volume's space: fixed LPS -> moving LPS matrix."""

    matrix: FloatArray
    same_frame: bool
    base_frame: str | None
    overlay_frame: str | None


def same_frame_of_reference(a: Volume, b: Volume) -> bool:
    """True when both volumes carry the same, non-empty FrameOfReferenceUID."""
    fa, fb = a.frame_of_reference_uid, b.frame_of_reference_uid
    return bool(fa) and fa == fb


def fusion_geometry(
    base: Volume, overlay: Volume, accepted: npt.ArrayLike | None = None
) -> FusionGeometry:
    """The matrix to resample ``overlay`` onto ``base``, or raise when that would be silent.

    ``accepted`` maps base LPS to overlay LPS and is required when the frames differ (or a
    frame of reference UID is missing).  In the same frame an accepted matrix is still honoured
    (a reader may correct patient motion between two series of one study).

    Raises
    ------
    FrameOfReferenceMismatch
        When the frames differ and no transform has been accepted.
    """
    same = same_frame_of_reference(base, overlay)
    if accepted is not None:
        return FusionGeometry(
            check_matrix(accepted, "accepted"),
            same,
            base.frame_of_reference_uid,
            overlay.frame_of_reference_uid,
        )
    if same:
        return FusionGeometry(
            np.eye(4), True, base.frame_of_reference_uid, overlay.frame_of_reference_uid
        )
    raise FrameOfReferenceMismatch(
        f"{overlay.modality} frame of reference {overlay.frame_of_reference_uid or '(missing)'} "
        f"differs from the {base.modality} frame {base.frame_of_reference_uid or '(missing)'}: "
        "the series are not registered. Register them (automatic or manual) and accept the "
        "result before fusing."
    )
