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
from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from namecar_viewer.app.lesion_assignment import (
    NewLesionDetails,
    Option,
    assignment_command,
    guess_site,
    plan_assignment,
    record_for_study,
)
from namecar_viewer.app.read_session import (
    AddMeasurement,
    DeleteMeasurement,
    SetMeasurementPoints,
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
from namecar_viewer.core.reads import (
    LesionMeasurement,
    LesionRole,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
)
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import enum_text, kind_text, lesion_role_text, summary_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.overlay_text import draw_outlined_text
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.gui.viewport import SliceViewport, modality_unit

translate = QCoreApplication.translate

HANDLE_PX = 4.0  # half-size of a drawn handle
HIT_PX = 7.0  # how close a press must be to grab a handle or a line
_ROLE_COLOURS = {
    LesionRole.TARGET: QColor(255, 170, 40),
    LesionRole.NON_TARGET: QColor(60, 200, 255),
    LesionRole.NEW: QColor(255, 80, 80),
    LesionRole.ANCILLARY: QColor(200, 130, 255),
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
    """The records' measurements on the viewports, the active lesion and the semi-auto proposal.

    Two records are drawn and edited: the RECIST read (``undo``) and the ancillary MRI-PET
    record of the same patient and reader (``ancillary_undo``).  A new measurement goes to the
    record its study belongs to (:func:`~namecar_viewer.app.lesion_assignment.
    record_for_study`), is stored at once unassigned, then given its lesion by the reader's
    explicit choice (:meth:`add`); an edit of an existing one goes to the record that holds it.
    """

    def __init__(
        self,
        undo: ReadUndoStack,
        stack_info: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.undo = undo
        self.ancillary_undo: ReadUndoStack | None = None
        # what the window shows for a message, and the RECIST lesions an ancillary lesion may be
        # linked to (labels); set by the read controller
        self.on_message: Callable[[str], None] = lambda _t: None
        self.link_labels: Callable[[], list[str]] = lambda: []
        # a RECIST measurement was given its lesion: the lesion table shows that row selected
        self.on_assigned: Callable[[str, str], None] = lambda _lesion, _tp: None
        self.chooser: Any = None  # the open AssignmentChooser, if any
        self.toasts: dict[int, Any] = {}
        self.last_announcement = ""
        self.viewports: list[SliceViewport] = []
        self.selected: str | None = None
        self.active_lesion: str | None = None
        self.default_site = Site.OTHER
        # (viewport, contour LPS, points LPS) of a semi-automatic proposal awaiting acceptance
        self.proposal: tuple[SliceViewport, tuple[Any, ...], tuple[Any, ...]] | None = None
        self.proposals: Any = None  # the follow-up proposal flow (gui/tools/proposals.py)
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
        """The RECIST read."""
        r: Read = self.undo.session.read
        return r

    def set_undo(self, undo: ReadUndoStack, ancillary: ReadUndoStack | None = None) -> None:
        """Switch to another read (another patient) and its ancillary record."""
        self.close_chooser()
        self.undo = undo
        self.ancillary_undo = ancillary
        self.selected = None
        self.active_lesion = None
        self.proposal = None
        for st in self.stacks():
            st.session.changed.connect(lambda _events: self.refresh())
        self.refresh()

    def stacks(self) -> list[ReadUndoStack]:
        """The records drawn: the RECIST read, then the ancillary record."""
        out = [self.undo]
        if self.ancillary_undo is not None:
            out.append(self.ancillary_undo)
        return out

    def stack_of(self, uid: str) -> ReadUndoStack | None:
        """The record that holds measurement ``uid``."""
        for st in self.stacks():
            if st.session.read.has_measurement(uid):
                return st
        return None

    def read_of(self, uid: str) -> Read:
        st = self.stack_of(uid)
        r: Read = (st or self.undo).session.read
        return r

    def stack_for(self, vp: SliceViewport) -> ReadUndoStack | None:
        """The record a new measurement on ``vp`` belongs to (None: nothing shown)."""
        vol = vp.model.volume
        if vol is None:
            return None
        kind = record_for_study(self.read, str(vol.modality or ""), vol.study_instance_uid)
        if kind is ReadKind.RECIST:
            return self.undo
        return self.ancillary_undo

    def end_drag(self) -> None:
        for st in self.stacks():
            st.end_merge()

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
        for lm in (x for st in self.stacks() for x in st.session.read.measurements):
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
        for lm in self.visible(vp):
            m = lm.measurement
            read = self.read_of(lm.uid)
            colour = _FREE_COLOUR
            suffix = ""
            if lm.lesion_uid is not None:
                with contextlib.suppress(KeyError):
                    colour = _ROLE_COLOURS[read.lesion(lm.lesion_uid).role]
            elif read.kind is ReadKind.RECIST:
                suffix = translate("MeasurementLayer", " (no lesion)")
            if lm.uid == self.selected:
                colour = _SELECTED
            self._paint_measurement(vp, p, m, colour, lm.uid == self.selected, suffix=suffix)
        if self.proposal is not None and self.proposal[0] is vp:
            _, contour, points = self.proposal
            pen = QPen(_PROPOSAL, 1.5, Qt.PenStyle.DashLine)
            p.setPen(pen)
            poly = QPolygonF([_qp(vp.patient_to_screen(c)) for c in contour])
            p.drawPolygon(poly)
            preview = Measurement.create(MeasurementKind.BIDIRECTIONAL, points, label="proposal")
            self._paint_measurement(
                vp,
                p,
                preview,
                _PROPOSAL,
                False,
                suffix=translate("MeasurementLayer", " (Enter: accept)"),
            )
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
            # outlined: legible on a white (inverted PET) as on a black image
            draw_outlined_text(p, rect, Qt.AlignmentFlag.AlignLeft, text, colour)

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
        text = summary_text(m)
        if m.kind in (MeasurementKind.ELLIPSE, MeasurementKind.SPHERE):
            s = self.stats(vp, m)
            if isinstance(s, RoiStats):
                u = f" {s.unit}" if s.unit else ""
                text += "\n" + i18n.fmt(
                    translate("MeasurementLayer", "mean {mean:.1f} SD {sd:.1f}{unit}"),
                    mean=float(s.mean),
                    sd=float(s.sd),
                    unit=u,
                )
                text += "\n" + i18n.fmt(
                    translate("MeasurementLayer", "min {low:.1f} max {high:.1f}{unit}"),
                    low=float(s.minimum),
                    high=float(s.maximum),
                    unit=u,
                )
                peak = self.suv_peak(vp, m)
                if peak is not None:  # PET in SUV: the PERCIST peak beside max and mean
                    text += "\n" + i18n.fmt(
                        translate("MeasurementLayer", "SUVpeak {peak:.2f}{unit} (1 cm3 sphere)"),
                        peak=float(peak),
                        unit=u,
                    )
            elif s:
                text += f"\n{app_text(s)}"
        return text

    def suv_peak(self, vp: SliceViewport, m: Measurement) -> float | None:
        """PERCIST SUVpeak of an ellipse/sphere on a PET in SUV or on a view fused with one
        (cached like the statistics); None elsewhere."""
        from namecar_viewer.app.pet_lesions import measurement_suv_peak

        fusion = getattr(vp, "fusion", None)
        if fusion is not None and not getattr(vp, "candidate", False):
            pet, matrix = fusion.pet, fusion.matrix
        else:
            pet, matrix = vp.model.volume, None
        if pet is None or pet.modality != "PT":
            return None
        cache: dict[tuple[Any, ...], float | None] = self.__dict__.setdefault("_peaks", {})
        key = (m.uid, m.points, m.radius_mm, id(pet), id(fusion))
        if key not in cache:
            if len(cache) > 256:
                cache.clear()
            try:
                cache[key] = measurement_suv_peak(pet, m, matrix)
            except ValueError:
                cache[key] = None
        return cache[key]

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
    def timepoint(self, vp: SliceViewport, read: Read | None = None) -> ReadTimepoint | None:
        """The read's timepoint for the viewport's study (a new one when the study is new)."""
        vol = vp.model.volume
        if vol is None:
            return None
        read = read if read is not None else self.read
        info = self.stack_info(vol)
        label = info.get("label") or info.get("study_date") or "timepoint"
        existing = read.timepoint_for_study(vol.study_instance_uid)
        if existing is not None:
            return existing
        if read.kind is not ReadKind.RECIST and vol.modality:
            label = f"{vol.modality} {label}".strip()
        used = {t.label for t in read.timepoints}
        base, n = str(label), 2
        while label in used:
            label = f"{base} ({n})"
            n += 1
        thickness = vol.metadata.get("slice_thickness")
        tp = timepoint_for(
            read,
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
        """Store a new measurement, unassigned, in the record its study belongs to; then give it
        its lesion: at once when the choice is unambiguous (announced with Undo), else by the
        reader in the chooser.  Returns the measurement uid ("" when refused)."""
        self.close_chooser()
        stack = self.stack_for(vp)
        if stack is None:
            self.on_message(
                translate(
                    "MeasurementLayer", "No read is open for this study: nothing was recorded."
                )
            )
            return ""
        session = stack.session
        if session.read_only:
            self.on_message(
                app_text(session.read_only_reason)
                or translate("MeasurementLayer", "This read is view only.")
            )
            return ""
        m = self.make_record(vp, kind, points)
        read = session.read
        tp = self.timepoint(vp, read)
        site = self._guess_site(vp, m) or self.default_site
        selected = (
            self.active_lesion if self.active_lesion in {x.uid for x in read.lesions} else None
        )
        plan = plan_assignment(read, tp, m, selected, vp.state.map_point, site)
        start = stack.index()
        stack.push_command(AddMeasurement(m, None, tp))
        if not session.read.has_measurement(m.uid):
            return ""  # refused (a signed timepoint): the stack reported why
        self.selected = m.uid
        tp_uid = tp.uid if tp is not None else None
        if plan.automatic:
            self.apply_choice(vp, stack, plan.chosen, m.uid, tp_uid, NewLesionDetails(site), start)
        else:
            self.open_chooser(vp, stack, plan, m.uid, tp_uid, site, start)
        return m.uid

    def _guess_site(self, vp: SliceViewport, m: Measurement) -> Site | None:
        vol = vp.model.volume
        if vol is None or m.kind not in (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL):
            return None
        try:
            from namecar_viewer.core.measure.stats import ring_values

            values = ring_values(vol, m)
        except (ImportError, ValueError, IndexError):
            return None
        return guess_site(values, str(vol.modality or ""))

    def _title(self, stack: ReadUndoStack, uid: str, tp_uid: str | None) -> str:
        read = stack.session.read
        m = read.measurement(uid).measurement
        where = ""
        if tp_uid is not None:
            with contextlib.suppress(KeyError):
                where = translate("MeasurementLayer", " at {label}").format(
                    label=read.timepoint(tp_uid).label
                )
        record = (
            translate("MeasurementLayer", "RECIST read")
            if read.kind is ReadKind.RECIST
            else translate("MeasurementLayer", "MRI-PET record")
        )
        size = summary_text(m) or kind_text(m.kind)
        return translate(
            "MeasurementLayer", "<b>{size}{where}</b> ({record}): which lesion?"
        ).format(size=size, where=where, record=record)

    def open_chooser(
        self,
        vp: SliceViewport,
        stack: ReadUndoStack,
        plan: Any,
        uid: str,
        tp_uid: str | None,
        site: Site,
        start: int,
    ) -> Any:
        from namecar_viewer.gui.tools.assign_popup import AssignmentChooser

        links = self.link_labels() if stack is not self.undo else []

        def done(option: Option | None, details: NewLesionDetails) -> None:
            if self.chooser is chooser:
                self.chooser = None
            if option is None:
                self._announce(
                    vp,
                    translate(
                        "MeasurementLayer",
                        "Left unassigned: part of no lesion (Enter on it to assign).",
                    ),
                )
                return
            if not stack.session.read.has_measurement(uid):
                return  # undone meanwhile
            self.apply_choice(vp, stack, option, uid, tp_uid, details, start)

        chooser = AssignmentChooser(vp, self._title(stack, uid, tp_uid), plan, site, done, links)
        m = stack.session.read.measurement(uid).measurement
        anchor = max(self.screen_points(vp, m), key=lambda q: q.x())
        chooser.place_near(anchor.toPoint())
        self.chooser = chooser
        chooser.open()
        return chooser

    def reassign_selected(self, vp: SliceViewport) -> bool:
        """Open the chooser for the selected measurement (Enter on a measurement)."""
        uid = self.selected
        stack = self.stack_of(uid) if uid else None
        if uid is None or stack is None or stack.session.read_only:
            return False
        read = stack.session.read
        lm = read.measurement(uid)
        tp = read.timepoint(lm.timepoint_uid) if lm.timepoint_uid else None
        if lm.lesion_uid is not None:
            return False
        plan = plan_assignment(read, tp, lm.measurement, None, vp.state.map_point)
        self.open_chooser(vp, stack, plan, uid, lm.timepoint_uid, self.default_site, stack.index())
        return True

    def close_chooser(self) -> None:
        chooser, self.chooser = self.chooser, None
        if chooser is not None:
            with contextlib.suppress(RuntimeError):
                chooser.leave()

    def apply_choice(
        self,
        vp: SliceViewport,
        stack: ReadUndoStack,
        option: Option,
        uid: str,
        tp_uid: str | None,
        details: NewLesionDetails,
        start: int,
    ) -> None:
        """Give the stored measurement its place (one undo step) and announce it with Undo."""
        read = stack.session.read
        cmd = assignment_command(read, option, uid, tp_uid, details)
        if cmd is not None:
            stack.push_command(cmd)
        read = stack.session.read
        if not read.has_measurement(uid):
            return
        lm = read.measurement(uid)
        where = ""
        if tp_uid is not None:
            with contextlib.suppress(KeyError):
                where = translate("MeasurementLayer", " at {label}").format(
                    label=read.timepoint(tp_uid).label
                )
        if lm.lesion_uid is None:
            text = (
                translate("MeasurementLayer", "Kept as an annotation: not part of the RECIST read.")
                if read.kind is ReadKind.RECIST
                else translate("MeasurementLayer", "Kept as an annotation of the MRI-PET record.")
            )
        else:
            les = read.lesion(lm.lesion_uid)
            self.active_lesion = les.uid
            if stack is self.undo and tp_uid is not None:
                self.on_assigned(les.uid, tp_uid)
            role = lesion_role_text(les.role)
            size = summary_text(lm.measurement).removeprefix(les.label).strip() or (
                kind_text(lm.measurement.kind)
            )
            text = translate("MeasurementLayer", "{label} ({role}, {site}){where}: {size}").format(
                label=les.label, role=role, site=enum_text(les.site), where=where, size=size
            )
        end = stack.index()
        if stack.session.pending:
            # the save failed: the window already says why; this must not cover it
            text += translate("MeasurementLayer", " (kept here, not yet saved)")

        def undo_all() -> None:
            if stack.index() != end:
                self.on_message(
                    translate(
                        "MeasurementLayer", "Other edits came since: use Edit > Undo step by step."
                    )
                )
                return
            while stack.index() > start and stack.canUndo():
                before = stack.index()
                stack.undo()
                if stack.index() == before:
                    break

        self._announce(vp, text, undo_all, status=not stack.session.pending)
        self.refresh()

    def _announce(
        self,
        vp: SliceViewport,
        text: str,
        undo: Callable[[], None] | None = None,
        status: bool = True,
    ) -> None:
        from namecar_viewer.gui.tools.assign_popup import UndoToast

        self.last_announcement = text
        if status:
            self.on_message(text)
        toast = self.toasts.get(id(vp))
        if toast is None:
            toast = UndoToast(vp)
            self.toasts[id(vp)] = toast
        toast.announce(text, undo)

    def set_points(self, uid: str, points: Sequence[Any], drag_id: str) -> None:
        pts = tuple((float(q[0]), float(q[1]), float(q[2])) for q in points)
        stack = self.stack_of(uid)
        if stack is not None:
            stack.push_command(SetMeasurementPoints(uid, pts, drag_id))

    def delete_selected(self) -> bool:
        stack = self.stack_of(self.selected) if self.selected is not None else None
        if stack is None or self.selected is None:
            return False
        stack.push_command(DeleteMeasurement(self.selected))
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
