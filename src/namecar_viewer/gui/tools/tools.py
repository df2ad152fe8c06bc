"""Measurement tools: viewport tools that draw, edit, move and delete measurements.

Every tool shares the editing gestures: press on a handle and drag to edit it (a bidirectional
keeps its axes perpendicular), press on a measurement's outline and drag to move it, Delete
removes the selected one, Escape cancels what is being drawn.  On empty image the tool draws
its own kind.  Each drag is one undo step (commands share the drag's merge id).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen

from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    SegmentationError,
    bidirectional_from_long_axis,
    ellipse_from_corners,
    move_handle,
    propose_diameters,
    translate,
)
from namecar_viewer.gui.i18n import error_text
from namecar_viewer.gui.tools.layer import Hit, MeasurementLayer
from namecar_viewer.gui.viewport import SliceViewport, ViewportTool

MIN_DRAG_PX = 3.0  # shorter drags are clicks (nothing drawn, except a point)
_PREVIEW = QColor(255, 255, 255)


class MeasureTool(ViewportTool):
    """Base of the measurement tools; subclasses set ``kind`` and build the new points."""

    kind = MeasurementKind.LINE
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, layer: MeasurementLayer) -> None:
        self.layer = layer
        self._edit: tuple[Hit, str, Any] | None = None  # hit, drag id, last LPS point
        self._start: tuple[SliceViewport, Any, QPointF] | None = None
        self._current: Any = None

    # --- gestures --------------------------------------------------------------------------
    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.position()
        p = vp.screen_to_patient(pos)
        if p is None:
            return False
        hit = self.layer.hit(vp, pos)
        if hit is not None:
            self.layer.selected = hit.uid
            self._edit = (hit, uuid.uuid4().hex, p)
            vp.update()
            return True
        self.layer.selected = None
        self._start = (vp, p, QPointF(pos))
        self._current = p
        vp.update()
        return True

    def mouse_move(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return False
        p = vp.screen_to_patient(event.position())
        if p is None:
            return True
        if self._edit is not None:
            hit, drag_id, last = self._edit
            read = self.layer.read_of(hit.uid)
            if not read.has_measurement(hit.uid):
                self._edit = None
                return True
            m = read.measurement(hit.uid).measurement
            normal = m.plane.normal if m.plane is not None else vp.model.plane.normal  # type: ignore[union-attr]
            if hit.handle < 0:
                pts = translate(m.points, np.asarray(p) - np.asarray(last))
            else:
                pts = move_handle(m.kind, m.points, hit.handle, p, normal)
            self.layer.set_points(hit.uid, pts, drag_id)
            self._edit = (hit, drag_id, p)
            return True
        if self._start is not None:
            self._current = p
            vp.update()
            return True
        return False

    def mouse_release(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if self._edit is not None:
            self._edit = None
            self.layer.end_drag()
            return True
        if self._start is None:
            return False
        svp, start, spos = self._start
        self._start = None
        end = vp.screen_to_patient(event.position())
        dist = (event.position() - spos).manhattanLength()
        if end is not None and (dist >= MIN_DRAG_PX or self.click_creates):
            pts = self.new_points(svp, start, end)
            if pts is not None:
                self.layer.add(svp, self.kind, pts)
        vp.update()
        return True

    def key_press(self, vp: SliceViewport, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            return self.layer.delete_selected()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.layer.selected is not None:
            return self.layer.reassign_selected(vp)
        if key == Qt.Key.Key_Escape and (
            self._start is not None or self.layer.selected is not None
        ):
            self._start = None
            self.layer.selected = None
            vp.update()
            return True
        return False

    # --- shapes ----------------------------------------------------------------------------
    click_creates = False

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        return (start, end)

    def paint(self, vp: SliceViewport, painter: QPainter) -> None:
        if self._start is None or self._start[0] is not vp or self._current is None:
            return
        pts = self.new_points(vp, self._start[1], self._current)
        if pts is None:
            return
        try:
            m = Measurement.create(self.kind, pts)
        except ValueError:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.layer._paint_measurement(vp, painter, m, _PREVIEW, True)
        painter.setPen(QPen(_PREVIEW, 1))


class LineTool(MeasureTool):
    """Length in mm between two points (drag from one end to the other)."""

    name = "line"
    kind = MeasurementKind.LINE


class BidirectionalTool(MeasureTool):
    """Long axis by dragging; a perpendicular short axis (half as long) to adjust by its handles."""

    name = "bidirectional"
    kind = MeasurementKind.BIDIRECTIONAL

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        plane = vp.model.plane
        if plane is None or float(np.linalg.norm(np.asarray(end) - np.asarray(start))) == 0.0:
            return None
        return bidirectional_from_long_axis(start, end, plane.normal)


class EllipseTool(MeasureTool):
    """Ellipse ROI in the box dragged (Shift: circle); area, mean, SD, min, max."""

    name = "ellipse"
    kind = MeasurementKind.ELLIPSE
    circle = False

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        plane = vp.model.plane
        if plane is None:
            return None
        a, b = np.asarray(start), np.asarray(end)
        if self.circle:
            d = b - a
            r = float(np.linalg.norm(d))
            if r == 0.0:
                return None
            c = a
            return (
                tuple(c),
                tuple(c + r * plane.row_direction),
                tuple(c + r * plane.column_direction),
            )
        centre, p1, p2 = ellipse_from_corners(a, b, plane)
        if np.allclose(centre, p1) or np.allclose(centre, p2):
            return None
        return centre, p1, p2


class CircleTool(EllipseTool):
    """Circle ROI: press at the centre and drag to the radius."""

    name = "circle"
    circle = True


class PointTool(MeasureTool):
    """A marked point (click)."""

    name = "point"
    kind = MeasurementKind.POINT
    click_creates = True

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        return (end,)


class ArrowTool(MeasureTool):
    """An arrow: press at the tip, drag to the tail."""

    name = "arrow"
    kind = MeasurementKind.ARROW


class SphereTool(MeasureTool):
    """A 3D sphere VOI: press at the centre, drag to the radius (statistics in the volume)."""

    name = "sphere"
    kind = MeasurementKind.SPHERE

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        if float(np.linalg.norm(np.asarray(end) - np.asarray(start))) == 0.0:
            return None
        return (start, end)


class SemiAutoTool(MeasureTool):
    """Click inside a lesion: its contour and RECIST axes are proposed; Enter accepts, Esc drops.

    After acceptance the measurement is an ordinary bidirectional one, edited by its handles.
    """

    name = "semi-auto"
    kind = MeasurementKind.BIDIRECTIONAL
    click_creates = True
    last_error = ""

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        sl = vp.model.current_slice()
        if sl is None:
            return None
        rc = sl.plane.patient_to_pixel(np.asarray(end, dtype=np.float64).reshape(1, 3))[0]
        try:
            prop = propose_diameters(sl.pixels, sl.plane, (float(rc[0]), float(rc[1])))
        except SegmentationError as exc:
            self.last_error = error_text(exc)  # the tooltip, in the reader's language
            self.layer.proposal = None
            vp.setToolTip(self.last_error)
            return None
        self.last_error = ""
        self.layer.proposal = (vp, prop.contour, prop.points)
        vp.update()
        return None  # nothing stored until the reader accepts

    def paint(self, vp: SliceViewport, painter: QPainter) -> None:
        return None  # the proposal is drawn by the layer

    def accept(self) -> str | None:
        """Store the proposal as a bidirectional measurement."""
        prop = self.layer.proposal
        if prop is None:
            return None
        vp, _contour, points = prop
        self.layer.proposal = None
        return self.layer.add(vp, MeasurementKind.BIDIRECTIONAL, points)

    def key_press(self, vp: SliceViewport, event: QKeyEvent) -> bool:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.layer.proposal is not None:
            self.accept()
            vp.update()
            return True
        if key == Qt.Key.Key_Escape and self.layer.proposal is not None:
            self.layer.proposal = None
            self.layer.refresh()
            return True
        return super().key_press(vp, event)


TOOL_TYPES: tuple[type[MeasureTool], ...] = (
    LineTool,
    BidirectionalTool,
    EllipseTool,
    CircleTool,
    PointTool,
    ArrowTool,
    SphereTool,
    SemiAutoTool,
)
