"""Draws a read's measurements on every viewport and turns tool gestures into session commands.

Each measurement is redrawn from its LPS points through the viewport's plane mapping, and only
on a plane it lies on (every point within half the viewport's slice spacing; a sphere on every
plane that cuts it), in the viewport's frame of reference.  Screen pixels are never stored.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from namecar_viewer.app.read_session import (
    AddMeasurement,
    Command,
    CreateLesion,
    DeleteMeasurement,
    SetMeasurementPoints,
    next_lesion,
    timepoint_for,
)
from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    PlaneRef,
    RoiStats,
    ellipse_outline,
    images_for_points,
    lies_on_plane,
    measurement_stats,
    sphere_section_radius,
)
from namecar_viewer.core.reads import LesionMeasurement, LesionRole, Read, ReadTimepoint, Site
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.gui.viewport import SliceViewport, modality_unit

HANDLE_PX = 4.0  # half-size of a drawn handle
HIT_PX = 7.0  # how close a press must be to grab a handle or a line
_ROLE_COLOURS = {
    LesionRole.TARGET: QColor(255, 170, 40),
    LesionRole.NON_TARGET: QColor(60, 200, 255),
    LesionRole.NEW: QColor(255, 80, 80),
}
_FREE_COLOUR = QColor(120, 230, 120)
_SELECTED = QColor(255, 255, 90)
_PROPOSAL = QColor(255, 120, 255)


@dataclass(frozen=True)
class Hit:
    """What a press landed on: a measurement and a handle index (``-1`` = its body)."""

    uid: str
    handle: int


def _qp(p: QPointF | None) -> QPointF:
    assert p is not None
    return p


def half_thickness(vp: SliceViewport) -> float:
    """Half the distance between the viewport's planes (a measurement shows within it)."""
    geo = vp.model.geometry
    return 0.5 * geo.slice_spacing if geo is not None else 0.5


class MeasurementLayer:
    """The read's measurements on the viewports, the active lesion and the semi-auto proposal."""

    def __init__(
        self,
        undo: ReadUndoStack,
        stack_info: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.undo = undo
        self.viewports: list[SliceViewport] = []
        self.selected: str | None = None
        self.active_lesion: str | None = None
        self.default_site = Site.OTHER
        # (viewport, contour LPS, points LPS) of a semi-automatic proposal awaiting acceptance
        self.proposal: tuple[SliceViewport, tuple[Any, ...], tuple[Any, ...]] | None = None
        self.stack_info = stack_info or (lambda _v: {})
        self._stats_cache: dict[tuple[Any, ...], RoiStats | str] = {}
        self._placed: dict[int, list[QRectF]] = {}  # label rectangles drawn in this paint
        self._font = QFont()
        self._font.setPixelSize(12)
        self._font.setBold(True)
        undo.session.changed.connect(lambda _events: self.refresh())

    @property
    def session(self) -> Any:
        return self.undo.session

    @property
    def read(self) -> Read:
        r: Read = self.undo.session.read
        return r

    def set_undo(self, undo: ReadUndoStack) -> None:
        """Switch to another read (another patient)."""
        self.undo = undo
        self.selected = None
        self.active_lesion = None
        self.proposal = None
        undo.session.changed.connect(lambda _events: self.refresh())
        self.refresh()

    def attach(self, vp: SliceViewport) -> None:
        if self not in vp.overlay_layers:
            vp.overlay_layers.append(self)
        if vp not in self.viewports:
            self.viewports.append(vp)

    def refresh(self) -> None:
        for vp in self.viewports:
            vp.update()

    # --- which measurements a viewport shows -----------------------------------------------
    def visible(self, vp: SliceViewport) -> list[LesionMeasurement]:
        plane = vp.model.plane
        if plane is None:
            return []
        for_uid = vp.model.frame_of_reference_uid
        half = half_thickness(vp)
        out = []
        for lm in self.read.measurements:
            m = lm.measurement
            if m.frame_of_reference_uid and for_uid and m.frame_of_reference_uid != for_uid:
                continue
            if lies_on_plane(m, plane, half):
                out.append(lm)
        return out

    def screen_points(self, vp: SliceViewport, m: Measurement) -> list[QPointF]:
        return [_qp(vp.patient_to_screen(p)) for p in m.points]

    def hit(self, vp: SliceViewport, pos: QPointF) -> Hit | None:
        """The handle (or else the outline) under ``pos``; the selected measurement first."""
        best: tuple[float, Hit] | None = None
        for lm in self.visible(vp):
            m = lm.measurement
            pts = self.screen_points(vp, m)
            handles = self._handle_indices(vp, m)
            for i in handles:
                d = math.hypot(pts[i].x() - pos.x(), pts[i].y() - pos.y())
                bonus = -0.5 if lm.uid == self.selected else 0.0
                if d <= HIT_PX and (best is None or d + bonus < best[0]):
                    best = (d + bonus, Hit(lm.uid, i))
        if best is not None:
            return best[1]
        for lm in self.visible(vp):
            if self._near_body(vp, lm.measurement, pos):
                return Hit(lm.uid, -1)
        return None

    def _handle_indices(self, vp: SliceViewport, m: Measurement) -> list[int]:
        if m.kind is MeasurementKind.SPHERE:
            plane = vp.model.plane
            # the surface handle only on the plane it lies on
            ok = plane is not None and abs(float(plane.distance([m.points[1]])[0])) <= (
                half_thickness(vp)
            )
            return [0, 1] if ok else [0]
        if m.kind is MeasurementKind.ELLIPSE:
            return [1, 2]  # the centre moves with the body
        return list(range(len(m.points)))

    def _near_body(self, vp: SliceViewport, m: Measurement, pos: QPointF) -> bool:
        pts = self.screen_points(vp, m)
        segs: list[tuple[QPointF, QPointF]] = []
        if m.kind in (MeasurementKind.LINE, MeasurementKind.ARROW):
            segs = [(pts[0], pts[1])]
        elif m.kind is MeasurementKind.BIDIRECTIONAL:
            segs = [(pts[0], pts[1]), (pts[2], pts[3])]
        elif m.kind is MeasurementKind.ELLIPSE:
            outline = [_qp(vp.patient_to_screen(p)) for p in ellipse_outline(m.points, 48)]
            segs = list(zip(outline, outline[1:] + outline[:1], strict=True))
        elif m.kind is MeasurementKind.SPHERE:
            r = self._sphere_px(vp, m)
            c = pts[0]
            return r is not None and abs(math.hypot(c.x() - pos.x(), c.y() - pos.y()) - r) <= HIT_PX
        elif m.kind is MeasurementKind.POINT:
            return math.hypot(pts[0].x() - pos.x(), pts[0].y() - pos.y()) <= HIT_PX
        return any(_seg_dist(pos, a, b) <= HIT_PX for a, b in segs)

    def _sphere_px(self, vp: SliceViewport, m: Measurement) -> float | None:
        plane = vp.model.plane
        r = sphere_section_radius(m, plane) if plane is not None else None
        return None if r is None else r * vp.scale

    # --- painting --------------------------------------------------------------------------
    def paint(self, vp: SliceViewport, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._placed[id(vp)] = []
        read = self.read
        for lm in self.visible(vp):
            m = lm.measurement
            colour = _FREE_COLOUR
            if lm.lesion_uid is not None:
                with contextlib.suppress(KeyError):
                    colour = _ROLE_COLOURS[read.lesion(lm.lesion_uid).role]
            if lm.uid == self.selected:
                colour = _SELECTED
            self._paint_measurement(vp, p, m, colour, lm.uid == self.selected)
        if self.proposal is not None and self.proposal[0] is vp:
            _, contour, points = self.proposal
            pen = QPen(_PROPOSAL, 1.5, Qt.PenStyle.DashLine)
            p.setPen(pen)
            poly = QPolygonF([_qp(vp.patient_to_screen(c)) for c in contour])
            p.drawPolygon(poly)
            preview = Measurement.create(MeasurementKind.BIDIRECTIONAL, points, label="proposal")
            self._paint_measurement(vp, p, preview, _PROPOSAL, False, suffix=" (Enter: accept)")
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _paint_measurement(
        self,
        vp: SliceViewport,
        p: QPainter,
        m: Measurement,
        colour: QColor,
        selected: bool,
        suffix: str = "",
    ) -> None:
        pts = self.screen_points(vp, m)
        pen = QPen(colour, 2.0 if selected else 1.5)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        k = m.kind
        label_at = pts[0]
        if k in (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL):
            p.drawLine(pts[0], pts[1])
            if k is MeasurementKind.BIDIRECTIONAL:
                p.drawLine(pts[2], pts[3])
            label_at = max(pts, key=lambda q: q.x())
        elif k is MeasurementKind.ARROW:
            p.drawLine(pts[1], pts[0])
            self._arrow_head(p, pts[1], pts[0])
            label_at = pts[1]
        elif k is MeasurementKind.POINT:
            c = pts[0]
            p.drawLine(QPointF(c.x() - 6, c.y()), QPointF(c.x() + 6, c.y()))
            p.drawLine(QPointF(c.x(), c.y() - 6), QPointF(c.x(), c.y() + 6))
        elif k is MeasurementKind.ELLIPSE:
            outline = [_qp(vp.patient_to_screen(q)) for q in ellipse_outline(m.points, 96)]
            p.drawPolygon(QPolygonF(outline))
            label_at = max(outline, key=lambda q: q.x())
        elif k is MeasurementKind.SPHERE:
            r = self._sphere_px(vp, m)
            if r is not None:
                p.drawEllipse(pts[0], r, r)
                label_at = QPointF(pts[0].x() + r, pts[0].y())
        if selected or k is not MeasurementKind.POINT:
            for i in self._handle_indices(vp, m):
                q = pts[i]
                p.drawRect(
                    QRectF(q.x() - HANDLE_PX, q.y() - HANDLE_PX, 2 * HANDLE_PX, 2 * HANDLE_PX)
                )
        text = self.label_text(vp, m) + suffix
        if text:
            p.setFont(self._font)
            flags = int(Qt.AlignmentFlag.AlignLeft)
            rect = p.boundingRect(QRectF(label_at.x() + 8, label_at.y() - 8, 420, 60), flags, text)
            # labels never cover each other: move down past any label already drawn
            placed = self._placed.setdefault(id(vp), [])
            moved = True
            while moved:
                moved = False
                for other in placed:
                    if rect.intersects(other):
                        rect.moveTop(other.bottom() + 2)
                        moved = True
            placed.append(QRectF(rect))
            p.setPen(QColor(0, 0, 0, 220))
            p.drawText(rect.translated(1, 1), Qt.AlignmentFlag.AlignLeft, text)
            p.setPen(colour)
            p.drawText(rect, Qt.AlignmentFlag.AlignLeft, text)

    @staticmethod
    def _arrow_head(p: QPainter, tail: QPointF, tip: QPointF) -> None:
        ang = math.atan2(tip.y() - tail.y(), tip.x() - tail.x())
        path = QPainterPath(tip)
        for da in (2.6, -2.6):
            path.moveTo(tip)
            path.lineTo(
                QPointF(tip.x() + 12 * math.cos(ang + da), tip.y() + 12 * math.sin(ang + da))
            )
        p.drawPath(path)

    def label_text(self, vp: SliceViewport, m: Measurement) -> str:
        """The text beside a measurement: label and size, and the ROI statistics."""
        text = m.summary()
        if m.kind in (MeasurementKind.ELLIPSE, MeasurementKind.SPHERE):
            s = self.stats(vp, m)
            if isinstance(s, RoiStats):
                u = f" {s.unit}" if s.unit else ""
                text += f"\nmean {s.mean:.1f} SD {s.sd:.1f}{u}"
                text += f"\nmin {s.minimum:.1f} max {s.maximum:.1f}{u}"
            elif s:
                text += f"\n{s}"
        return text

    def stats(self, vp: SliceViewport, m: Measurement) -> RoiStats | str:
        """Statistics of an ellipse/sphere on the viewport's volume (cached), or the reason."""
        vol = vp.model.volume
        if vol is None:
            return ""
        own = getattr(vp, "measurement_stats", None)  # a fused view measures its PET layer
        key = (m.uid, m.points, id(vol), getattr(vp, "stats_key", lambda: 0)())
        cached = self._stats_cache.get(key)
        if cached is None:
            try:
                s = own(m) if own is not None else None
                if s is None:
                    s = measurement_stats(vol, m, modality_unit(vp.model))
                cached = s if s is not None else ""
            except ValueError as exc:
                cached = str(exc)
            if len(self._stats_cache) > 256:
                self._stats_cache.clear()
            self._stats_cache[key] = cached
        return cached

    # --- building records and commands -----------------------------------------------------
    def timepoint(self, vp: SliceViewport) -> ReadTimepoint | None:
        """The read's timepoint for the viewport's study (a new one when the study is new)."""
        vol = vp.model.volume
        if vol is None:
            return None
        info = self.stack_info(vol)
        label = info.get("label") or info.get("study_date") or "timepoint"
        existing = self.read.timepoint_for_study(vol.study_instance_uid)
        if existing is not None:
            return existing
        used = {t.label for t in self.read.timepoints}
        base, n = str(label), 2
        while label in used:
            label = f"{base} ({n})"
            n += 1
        thickness = vol.metadata.get("slice_thickness")
        tp = timepoint_for(
            self.read,
            vol.study_instance_uid,
            str(label),
            info.get("date"),
            None if thickness is None else float(thickness),
        )
        role = info.get("role")
        return tp if role is None else replace(tp, role=role)

    def make_record(
        self, vp: SliceViewport, kind: MeasurementKind, points: Sequence[Any]
    ) -> Measurement:
        """A measurement record of points drawn on the viewport's current plane."""
        vol = vp.model.volume
        plane = vp.model.plane
        geo = vp.model.geometry
        assert vol is not None and plane is not None
        return Measurement.create(
            kind,
            points,
            plane=PlaneRef.from_plane(plane, geo.slice_spacing if geo is not None else None),
            series_instance_uid=vol.series_instance_uid,
            images=images_for_points(vol, points),
            frame_of_reference_uid=vol.frame_of_reference_uid,
            unit=modality_unit(vp.model) if kind is MeasurementKind.SPHERE else None,
            study_instance_uid=vol.study_instance_uid,
        )

    def add(self, vp: SliceViewport, kind: MeasurementKind, points: Sequence[Any]) -> str:
        """Store a new measurement; diameters start a lesion or re-measure the active one."""
        m = self.make_record(vp, kind, points)
        tp = self.timepoint(vp)
        read = self.read
        diameter = kind in (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL)
        active = self.active_lesion if self.active_lesion in {x.uid for x in read.lesions} else None
        if active is not None and tp is not None:
            # re-measuring the lesion chosen in the lesion panel (a follow-up, or a non-target
            # marked by a point or arrow) when it has nothing at this timepoint yet
            has = any(
                lm.lesion_uid == active and lm.timepoint_uid == tp.uid for lm in read.measurements
            )
            if not has:
                self.undo.push_command(AddMeasurement(m, active, tp))
                self.selected = m.uid
                return m.uid
        cmd: Command
        if diameter:
            les = next_lesion(read, LesionRole.TARGET, self.default_site)
            cmd = CreateLesion(les, m, tp)
            self.undo.push_command(cmd)
            self.active_lesion = les.uid
        else:
            self.undo.push_command(AddMeasurement(m, None, tp))
        self.selected = m.uid
        return m.uid

    def set_points(self, uid: str, points: Sequence[Any], drag_id: str) -> None:
        pts = tuple((float(q[0]), float(q[1]), float(q[2])) for q in points)
        self.undo.push_command(SetMeasurementPoints(uid, pts, drag_id))

    def delete_selected(self) -> bool:
        if self.selected is None or not self.read.has_measurement(self.selected):
            return False
        self.undo.push_command(DeleteMeasurement(self.selected))
        self.selected = None
        return True


def _seg_dist(p: QPointF, a: QPointF, b: QPointF) -> float:
    ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    t = 0.0 if l2 == 0 else max(0.0, min(1.0, ((p.x() - ax) * dx + (p.y() - ay) * dy) / l2))
    return math.hypot(p.x() - (ax + t * dx), p.y() - (ay + t * dy))


def as_array(p: Any) -> npt.NDArray[np.float64]:
    return np.asarray(p, dtype=np.float64).reshape(3)
