"""Linking two timepoints by hand: click the same anatomy in both viewports.

The first click (viewport A, frame of reference A) and the second (viewport B, another frame of
reference) give a translation stored in the shared ``ViewState`` as the 4x4 transform A->B;
from then on the crosshair and linked scrolling map between the two.  A rigid registration (the
PET/MRI work) replaces the translation through ``ViewState.set_transform`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QMouseEvent

from namecar_viewer.app.view_state import ViewState
from namecar_viewer.gui import i18n
from namecar_viewer.gui.viewport import SliceViewport, ViewportTool


class OffsetPicker:
    """The two clicks shared by every viewport's :class:`OffsetTool`.

    ``on_message(text)`` tells the reader what to do next; ``on_done(for_a, for_b, matrix)`` is
    called with the transform (``p_b = matrix @ p_a``) once both points are placed.
    """

    def __init__(
        self,
        state: ViewState,
        on_message: Callable[[str], None] | None = None,
        on_done: Callable[[str, str, npt.NDArray[np.float64]], None] | None = None,
    ) -> None:
        self.state = state
        self.on_message = on_message
        self.on_done = on_done
        self.first: tuple[str, npt.NDArray[np.float64]] | None = None

    def _say(self, text: str) -> None:
        if self.on_message is not None:
            self.on_message(text)

    def click(self, for_uid: str | None, point: npt.NDArray[np.float64]) -> None:
        if for_uid is None:
            self._say(
                QCoreApplication.translate(
                    "OffsetPicker", "This series has no frame of reference: it cannot be linked."
                )
            )
            return
        if self.first is None or self.first[0] == for_uid:
            self.first = (for_uid, point)
            self._say(
                i18n.fmt(
                    QCoreApplication.translate(
                        "OffsetPicker",
                        "Offset: now click the same anatomy in a viewport of the other "
                        "timepoint (first point {x:.1f}, {y:.1f}, {z:.1f} mm).",
                    ),
                    x=float(point[0]),
                    y=float(point[1]),
                    z=float(point[2]),
                )
            )
            return
        for_a, pa = self.first
        self.first = None
        m = self.state.set_offset_from_points(for_a, pa, for_uid, point)
        t = m[:3, 3]
        self._say(
            i18n.fmt(
                QCoreApplication.translate(
                    "OffsetPicker",
                    "Timepoints linked: offset ({x:.1f}, {y:.1f}, {z:.1f}) mm LPS "
                    "(|t| = {norm:.1f} mm).",
                ),
                x=float(t[0]),
                y=float(t[1]),
                z=float(t[2]),
                norm=float(np.linalg.norm(t)),
            )
        )
        # the crosshair follows to the clicked anatomy in both
        self.state.set_crosshair(point, for_uid)
        if self.on_done is not None:
            self.on_done(for_a, for_uid, m)


class OffsetTool(ViewportTool):
    """Left click places one of the two matching points (see :class:`OffsetPicker`)."""

    name = "offset"
    cursor = Qt.CursorShape.PointingHandCursor

    def __init__(self, picker: OffsetPicker) -> None:
        self.picker = picker

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        point = vp.screen_to_patient(event.position())
        if point is not None:
            self.picker.click(vp.model.frame_of_reference_uid, point)
        return True
