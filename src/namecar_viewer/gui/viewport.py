"""One MPR slice viewport: draws its ViewportModel's slice in physical millimetres, with overlays.

The widget only renders and turns mouse/keys into model changes; linked navigation goes through
the shared :class:`~namecar_viewer.app.view_state.ViewState`.  Left-button behaviour is a
pluggable :class:`ViewportTool` (crosshair, pan, window/level here; the measurement tools of the
lesion-marking work plug in the same way and use :meth:`SliceViewport.screen_to_patient` /
:meth:`SliceViewport.patient_to_screen`, so every point they store is in patient mm).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, QLineF, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QRegion,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry.reslice import WindowLevel, apply_window, edge_letters
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import orientation_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.overlay_text import draw_outlined_text

VIEWPORT_COLOURS = ("#f0c020", "#30c8f0", "#e060e0", "#60e060")
PAGE_STEP = 10  # slices per Page Up / Page Down
CINE_FPS = 10
_SCALE_BAR_STEPS_MM = (1, 2, 5, 10, 20, 50, 100, 200, 500)
_OVERLAY = QColor(235, 235, 235)
_GREY_TO_RGB32 = (np.arange(256, dtype=np.uint32) * np.uint32(0x010101)) | np.uint32(0xFF000000)
# Opaque ARGB32 premultiplied is the backing store's format: its scaled (bilinear) drawing is the
# fastest (measured faster than RGB32, which Qt converts while it filters)
_SLICE_FORMAT = QImage.Format.Format_ARGB32_Premultiplied
_OUTLINE_LINE = QColor(0, 0, 0, 200)


class ViewportTool:
    """Left-button interaction hook; return True from a handler to consume the event.

    ``paint`` draws the tool's graphics after the image and before the text overlays.
    """

    name = "tool"
    cursor = Qt.CursorShape.ArrowCursor

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        return False

    def mouse_move(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        return False

    def mouse_release(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        return False

    def paint(self, vp: SliceViewport, painter: QPainter) -> None:
        return None

    def key_press(self, vp: SliceViewport, event: QKeyEvent) -> bool:
        """Keys for the tool (Delete, Escape, Enter) before the viewport's own keys."""
        return False


class CrosshairTool(ViewportTool):
    """A left click (or drag) places the crosshair at that patient point."""

    name = "crosshair"
    cursor = Qt.CursorShape.CrossCursor

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        vp.place_crosshair(event.position())
        return True

    def mouse_move(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.buttons() & Qt.MouseButton.LeftButton:
            vp.place_crosshair(event.position())
            return True
        return False


class PanTool(ViewportTool):
    """Left drag pans (the middle button always does)."""

    name = "pan"
    cursor = Qt.CursorShape.OpenHandCursor

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        vp.begin_drag("pan", event.position())
        return True


class WindowLevelTool(ViewportTool):
    """Left drag changes window/level (the right button always does)."""

    name = "window"
    cursor = Qt.CursorShape.SizeAllCursor

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        vp.begin_drag("window", event.position())
        return True


def _nice_scale_length(px_per_mm: float, max_px: float) -> float:
    best = float(_SCALE_BAR_STEPS_MM[0])
    for mm in _SCALE_BAR_STEPS_MM:
        if mm * px_per_mm <= max_px:
            best = float(mm)
    return best


def modality_unit(model: ViewportModel) -> str:
    """Unit of the displayed values: HU for CT, the PET Units tag, the unit a quantitative MR
    map states (Real World Value Mapping, e.g. an ADC map in 10^-3 mm2/s), nothing otherwise."""
    vol = model.volume
    if vol is None:
        return ""
    if vol.modality == "CT":
        return "HU"
    units = str(vol.metadata.get("units", "") or "")
    if vol.modality == "PT":
        return units or QCoreApplication.translate("SliceViewport", "stored values (raw, not SUV)")
    return units


class SliceViewport(QWidget):
    """Draws one slice with overlays and handles scroll, zoom, pan, window/level and cine."""

    activated = Signal(object)  # emitted with self when clicked or focused
    tool_changed = Signal(object)

    def __init__(
        self,
        model: ViewportModel,
        state: ViewState | None = None,
        parent: QWidget | None = None,
        colour: str = VIEWPORT_COLOURS[0],
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.state = state if state is not None else ViewState()
        if model not in self.state.viewports:
            self.state.add_viewport(model)
        self.colour = QColor(colour)
        self.active = False
        self.patient_text: list[str] = []
        self.busy_text: str | None = None  # "Loading ... 120/400 images" while a load runs
        self.empty_text = self.tr("No series loaded.\nDouble-click a series in the study browser.")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._image: QImage | None = None
        self._image_buf: npt.NDArray[np.uint32] | None = None
        self._rgb_lut: tuple[Any, npt.NDArray[np.uint32]] | None = None
        self._fit = True
        self._scale = 1.0  # screen pixels per mm
        self._centre = (0.0, 0.0)  # plane mm (u along the row direction, v down) at widget centre
        self._drag: tuple[str, QPointF, Any] | None = None
        self._cursor: QPointF | None = None
        self._readout_rect: QRect | None = None
        self._letters: tuple[Any, dict[str, str]] | None = None
        self.tool: ViewportTool = CrosshairTool()
        # Layers drawn under the tool whatever the tool (measurements): objects with
        # ``paint(viewport, painter)``.
        self.overlay_layers: list[Any] = []
        self.setCursor(self.tool.cursor)
        self._cine = QTimer(self)
        self._cine.setInterval(int(1000 / CINE_FPS))
        self._cine.timeout.connect(self._cine_step)
        self._font = QFont()
        self._font.setPixelSize(12)
        self._letter_font = QFont()
        self._letter_font.setPixelSize(15)
        self._letter_font.setBold(True)
        model.volume_changed.connect(self._on_volume_changed)
        model.slice_changed.connect(self._on_slice_changed)
        model.window_changed.connect(self._on_window_changed)
        self.state.planes_changed.connect(self._on_planes_changed)
        self.state.crosshair_changed.connect(self._on_crosshair)
        self.state.display_changed.connect(self.update)
        # what the last frame drew of the other viewports' planes and of the crosshair: a change
        # elsewhere repaints only where those were and will be, not the whole slice
        self._ref_drawn: list[tuple[float, float, float, float, int]] = []
        self._crosshair_drawn: QRect | None = None

    # --- model events ----------------------------------------------------------------------
    def _on_volume_changed(self) -> None:
        self._image = None
        self._fit = True
        self._fit_view()
        self.update()

    def _on_slice_changed(self, _index: int) -> None:
        self._image = None
        self.update()

    def _on_window_changed(self, *_: Any) -> None:
        self._image = None
        self.update()

    def _on_crosshair(self, *_: Any) -> None:
        if self._image is None or not self.isVisible():
            self.update()
            return
        new = self._crosshair_rect()
        region = QRegion()
        for r in (self._crosshair_drawn, new):
            if r is not None:
                region = region.united(QRegion(r))
        if not region.isEmpty():
            self.update(region)

    def _on_planes_changed(self) -> None:
        """Another viewport moved: repaint along its old and new reference line only."""
        if self._image is None or not self.isVisible():
            self.update()
            return
        new = self._reference_segments()
        if new == self._ref_drawn:
            return
        moved = [s for s in new if s not in self._ref_drawn]
        moved += [s for s in self._ref_drawn if s not in new]
        region = QRegion()
        for x0, y0, x1, y1, _ in moved:
            r = QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized().toAlignedRect()
            region = region.united(QRegion(r.adjusted(-3, -3, 3, 3)))
        self.update(region)

    def disconnect_model(self) -> None:
        """Stop listening to the shared state (before the widget is destroyed)."""
        self.state.planes_changed.disconnect(self._on_planes_changed)
        self.state.crosshair_changed.disconnect(self._on_crosshair)
        self.state.display_changed.disconnect(self.update)

    # --- tools -----------------------------------------------------------------------------
    def set_tool(self, tool: ViewportTool) -> None:
        """Install the left-button tool (crosshair, pan, window, or a measurement tool)."""
        self.tool = tool
        self.setCursor(tool.cursor)
        self.tool_changed.emit(tool)
        self.update()

    # --- view transform --------------------------------------------------------------------
    def _extent_mm(self) -> tuple[float, float] | None:
        plane = self.model.plane
        if plane is None:
            return None
        rows, cols = plane.shape
        return cols * plane.pixel_spacing[1], rows * plane.pixel_spacing[0]

    def _fit_view(self) -> None:
        plane = self.model.plane
        ext = self._extent_mm()
        if plane is None or ext is None:
            return
        w, h = max(self.width(), 1), max(self.height(), 1)
        self._scale = min(w / ext[0], h / ext[1])
        rows, cols = plane.shape
        self._centre = (
            (cols - 1) / 2.0 * plane.pixel_spacing[1],
            (rows - 1) / 2.0 * plane.pixel_spacing[0],
        )

    def fit(self) -> None:
        """Zoom so the whole slice fits the viewport."""
        self._fit = True
        self._fit_view()
        self.update()

    def one_to_one(self) -> None:
        """One screen pixel per image pixel (along the finer pixel spacing)."""
        plane = self.model.plane
        if plane is None:
            return
        self._fit = False
        self._scale = 1.0 / min(plane.pixel_spacing)
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the patient point under ``anchor`` (default: the centre) in place."""
        if self.model.plane is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2.0, self.height() / 2.0)
        u, v = self._screen_to_mm(anchor)
        self._fit = False
        self._scale = min(max(self._scale * factor, 0.02), 200.0)
        # keep (u, v) under the anchor
        self._centre = (
            u - (anchor.x() - self.width() / 2.0) / self._scale,
            v - (anchor.y() - self.height() / 2.0) / self._scale,
        )
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        self._fit = False
        self._centre = (self._centre[0] - dx / self._scale, self._centre[1] - dy / self._scale)
        self.update()

    @property
    def scale(self) -> float:
        """Screen pixels per millimetre."""
        return self._scale

    def _screen_to_mm(self, p: QPointF) -> tuple[float, float]:
        return (
            self._centre[0] + (p.x() - self.width() / 2.0) / self._scale,
            self._centre[1] + (p.y() - self.height() / 2.0) / self._scale,
        )

    def _mm_to_screen(self, u: float, v: float) -> QPointF:
        return QPointF(
            self.width() / 2.0 + (u - self._centre[0]) * self._scale,
            self.height() / 2.0 + (v - self._centre[1]) * self._scale,
        )

    def screen_to_pixel(self, p: QPointF) -> tuple[float, float] | None:
        """Fractional (row, column) of the slice under a widget point."""
        plane = self.model.plane
        if plane is None:
            return None
        u, v = self._screen_to_mm(p)
        return v / plane.pixel_spacing[0], u / plane.pixel_spacing[1]

    def pixel_to_screen(self, row: float, col: float) -> QPointF | None:
        plane = self.model.plane
        if plane is None:
            return None
        return self._mm_to_screen(col * plane.pixel_spacing[1], row * plane.pixel_spacing[0])

    def screen_to_patient(self, p: QPointF) -> npt.NDArray[np.float64] | None:
        """Patient LPS mm of a widget point, on the displayed plane."""
        plane = self.model.plane
        rc = self.screen_to_pixel(p)
        if plane is None or rc is None:
            return None
        return plane.pixel_to_patient([rc])[0]

    def patient_to_screen(self, point: npt.ArrayLike) -> QPointF | None:
        """Widget point of an LPS point projected onto the displayed plane."""
        plane = self.model.plane
        if plane is None:
            return None
        r, c = plane.patient_to_pixel(np.asarray(point, dtype=np.float64).reshape(1, 3))[0]
        return self.pixel_to_screen(float(r), float(c))

    # --- actions ---------------------------------------------------------------------------
    def place_crosshair(self, p: QPointF) -> None:
        point = self.screen_to_patient(p)
        if point is not None:
            self.state.set_crosshair(point, self.model.frame_of_reference_uid)

    def begin_drag(self, kind: str, p: QPointF) -> None:
        payload: Any = self.model.window if kind == "window" else None
        self._drag = (kind, QPointF(p), payload)

    def toggle_cine(self) -> None:
        if self._cine.isActive():
            self._cine.stop()
        elif self.model.count > 1:
            self._cine.start()

    @property
    def cine_running(self) -> bool:
        return self._cine.isActive()

    def _cine_step(self) -> None:
        n = self.model.count
        if n <= 1:
            self._cine.stop()
            return
        self.model.set_index((self.model.index + 1) % n)

    # --- Qt events -------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._fit:
            self._fit_view()
        super().resizeEvent(event)

    def focusInEvent(self, event: Any) -> None:
        self.activated.emit(self)
        super().focusInEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.15**steps, event.position())
        else:
            # wheel towards the user (negative delta) moves to the next slice, as in most PACS
            self.model.scroll(-round(steps) if abs(steps) >= 1 else (-1 if steps > 0 else 1))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.tool.key_press(self, event):
            event.accept()
            return
        key = event.key()
        m = self.model
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Right):
            m.scroll(1)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Left):
            m.scroll(-1)
        elif key == Qt.Key.Key_PageDown:
            m.scroll(PAGE_STEP)
        elif key == Qt.Key.Key_PageUp:
            m.scroll(-PAGE_STEP)
        elif key == Qt.Key.Key_Home:
            m.set_index(0)
        elif key == Qt.Key.Key_End:
            m.set_index(m.count - 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.activated.emit(self)
        if self.tool.mouse_press(self, event):
            return
        if event.button() == Qt.MouseButton.RightButton:
            self.begin_drag("window", event.position())
        elif event.button() == Qt.MouseButton.MiddleButton:
            self.begin_drag("pan", event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor = QPointF(event.position())
        if self._drag is not None:
            kind, start, payload = self._drag
            d = event.position() - start
            if kind == "pan":
                self.pan_by(d.x(), d.y())
                self._drag = (kind, QPointF(event.position()), payload)
            elif kind == "window" and isinstance(payload, WindowLevel):
                # horizontal drag widens the window, vertical drag raises the level; the step
                # scales with the starting width so CT (HU) and PET (SUV) both feel the same
                step = max(payload.width, 1e-3) / 256.0
                width = max(payload.width + d.x() * step, 1e-3)
                self.model.set_window(WindowLevel(width, payload.center + d.y() * step))
            return
        if self.tool.mouse_move(self, event):
            return
        self.update_readout()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            return
        self.tool.mouse_release(self, event)

    def leaveEvent(self, event: Any) -> None:
        self._cursor = None
        self.update_readout()
        super().leaveEvent(event)

    def readout_rect(self) -> QRect:
        """The bottom-right corner the cursor readout is written in (with the zoom line)."""
        if not self.state.show_overlays:
            return QRect()
        lines = self.overlay_texts()["bottom_right"].split("\n")
        fm = QFontMetrics(self._font)
        w = max((fm.horizontalAdvance(t) for t in lines), default=0) + 16
        h = fm.lineSpacing() * len(lines) + 14
        return QRect(self.width() - w, self.height() - h, w, h)

    def update_readout(self) -> None:
        """Repaint only the readout corner (the old text's place and the new one's): moving the
        mouse over a large viewport does not redraw the whole slice."""
        new = self.readout_rect()
        old = self._readout_rect
        self._readout_rect = new
        region = QRegion(new.adjusted(-3, -3, 3, 3)) if not new.isEmpty() else QRegion()
        if old is not None and not old.isEmpty():
            region = region.united(QRegion(old.adjusted(-3, -3, 3, 3)))
        if not region.isEmpty():
            self.update(region)

    # --- painting --------------------------------------------------------------------------
    def _ensure_image(self) -> QImage | None:
        if self._image is not None:
            return self._image
        sl = self.model.current_slice()
        if sl is None:
            return None
        px = sl.pixels
        buf = self._image_buf
        if buf is None or buf.shape != px.shape:
            buf = np.empty(px.shape, dtype=np.uint32)
        if px.dtype.kind in "iu" and px.dtype.itemsize == 2:
            # 16-bit data (CT HU): one gather through a stored-value -> RGB32 table per window,
            # written into the buffer of the previous frame (np.take "wrap": no bounds pass)
            key = (px.dtype.str, self.model.window, self.model.invert)
            if self._rgb_lut is None or self._rgb_lut[0] != key:
                codes = np.arange(65536, dtype=np.uint16).view(px.dtype)
                grey_lut = apply_window(codes, self.model.window, self.model.invert)
                self._rgb_lut = (key, _GREY_TO_RGB32[grey_lut])
            np.take(self._rgb_lut[1], px.view(np.uint16), out=buf, mode="wrap")
        else:
            np.take(
                _GREY_TO_RGB32,
                apply_window(px, self.model.window, self.model.invert),
                out=buf,
                mode="wrap",
            )
        h, w = buf.shape
        self._image_buf = buf
        # the QImage shares the buffer (no copy); it is dropped before the buffer is rewritten
        self._image = QImage(buf.data, w, h, 4 * w, _SLICE_FORMAT)
        return self._image

    def image_target(self) -> QRectF | None:
        """Where the slice is drawn, in widget coordinates."""
        plane = self.model.plane
        if plane is None:
            return None
        rows, cols = plane.shape
        rs, cs = plane.pixel_spacing
        top_left = self._mm_to_screen(-0.5 * cs, -0.5 * rs)
        return QRectF(top_left.x(), top_left.y(), cols * cs * self._scale, rows * rs * self._scale)

    def _fill_background(self, p: QPainter, target: QRectF | None) -> None:
        """Black where the slice does not cover the widget (the slice itself is opaque)."""
        black = QColor(0, 0, 0)
        full = QRectF(self.rect())
        if target is None or not target.intersects(full):
            p.fillRect(self.rect(), black)
            return
        inner = target.intersected(full).toAlignedRect().adjusted(1, 1, -1, -1)
        w, h = self.width(), self.height()
        # above, below, left and right of the slice
        for r in (
            QRect(0, 0, w, inner.top()),
            QRect(0, inner.bottom() + 1, w, h - inner.bottom() - 1),
            QRect(0, inner.top(), inner.left(), inner.height()),
            QRect(inner.right() + 1, inner.top(), w - inner.right() - 1, inner.height()),
        ):
            if r.width() > 0 and r.height() > 0:
                p.fillRect(r, black)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            if self.model.error is not None:
                self._paint_message(p, self.model.error, error=True)
            elif self.model.volume is None:
                self._paint_message(p, self.busy_text or self.empty_text)
            else:
                self._fill_background(p, self.image_target())
                self._paint_image(p)
                self._paint_reference_lines(p)
                self._paint_crosshair(p)
                for layer in self.overlay_layers:
                    layer.paint(self, p)
                self.tool.paint(self, p)
                if self.state.show_overlays:
                    self._paint_overlays(p)
                if self.busy_text:
                    p.setFont(self._font)
                    self._text(
                        p,
                        QRectF(self.rect()).adjusted(8, 26, -8, -6),
                        Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                        self.busy_text,
                    )
            if self.active:
                p.setPen(QPen(self.colour, 2))
                p.drawRect(QRectF(1, 1, self.width() - 2, self.height() - 2))
        finally:
            p.end()

    def _paint_message(self, p: QPainter, text: str, error: bool = False) -> None:
        p.fillRect(self.rect(), QColor(40, 16, 16) if error else QColor(24, 24, 28))
        p.setFont(self._font)
        p.setPen(QColor(255, 160, 140) if error else QColor(170, 170, 180))
        title = self.model.title
        body = (f"{title}\n\n" if title else "") + (
            self.tr("Cannot show this stack:\n{reason}").format(reason=app_text(text))
            if error
            else text
        )
        p.drawText(
            self.rect().adjusted(16, 16, -16, -16),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            body,
        )

    def _paint_image(self, p: QPainter) -> None:
        img = self._ensure_image()
        plane = self.model.plane
        target = self.image_target()
        if img is None or plane is None or target is None:
            return
        rs, cs = plane.pixel_spacing
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale * min(rs, cs) < 4.0)
        p.drawImage(target, img, QRectF(0, 0, img.width(), img.height()))

    def _line_in_image(self, a: float, b: float, c: float) -> tuple[QPointF, QPointF] | None:
        """Clip a*row + b*col + c = 0 to the image rectangle, in screen points."""
        plane = self.model.plane
        if plane is None:
            return None
        rows, cols = plane.shape
        r0, r1, c0, c1 = -0.5, rows - 0.5, -0.5, cols - 0.5
        pts: list[tuple[float, float]] = []
        if abs(b) > 1e-12:
            for r in (r0, r1):
                col = -(a * r + c) / b
                if c0 - 1e-9 <= col <= c1 + 1e-9:
                    pts.append((r, col))
        if abs(a) > 1e-12:
            for col in (c0, c1):
                r = -(b * col + c) / a
                if r0 - 1e-9 <= r <= r1 + 1e-9:
                    pts.append((r, col))
        if len(pts) < 2:
            return None
        pts.sort()
        s0 = self.pixel_to_screen(*pts[0])
        s1 = self.pixel_to_screen(*pts[-1])
        if s0 is None or s1 is None:
            return None
        return s0, s1

    def _reference_segments(self) -> list[tuple[float, float, float, float, int]]:
        """The other linked viewports' planes across this one: (x0, y0, x1, y1, colour index)."""
        if not self.state.show_reference_lines:
            return []
        plane = self.model.plane
        if plane is None:
            return []
        out = []
        linked = self.state.linked(self.model)
        for i, other in enumerate(self.state.viewports):
            if other not in linked:
                continue
            op = other.plane
            if op is None:
                continue
            line = plane.intersection_line(op)
            if line is None:
                continue
            seg = self._line_in_image(*line)
            if seg is None:
                continue
            out.append((seg[0].x(), seg[0].y(), seg[1].x(), seg[1].y(), i))
        return out

    def _paint_reference_lines(self, p: QPainter) -> None:
        segs = self._reference_segments()
        self._ref_drawn = segs
        for x0, y0, x1, y1, i in segs:
            pen = QPen(QColor(VIEWPORT_COLOURS[i % len(VIEWPORT_COLOURS)]), 1, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(x0, y0), QPointF(x1, y1))

    def _crosshair_point(self) -> QPointF | None:
        st = self.state
        if not st.show_crosshair or st.crosshair is None:
            return None
        point = st.crosshair_in(self.model.frame_of_reference_uid)  # mapped across timepoints
        if point is None:
            return None
        return self.patient_to_screen(point)

    _CROSSHAIR_GAP, _CROSSHAIR_ARM = 6.0, 18.0

    def _crosshair_rect(self) -> QRect | None:
        s = self._crosshair_point()
        if s is None:
            return None
        half = int(self._CROSSHAIR_GAP + self._CROSSHAIR_ARM) + 3
        return QRect(int(s.x()) - half, int(s.y()) - half, 2 * half + 1, 2 * half + 1)

    def _paint_crosshair(self, p: QPainter) -> None:
        s = self._crosshair_point()
        self._crosshair_drawn = self._crosshair_rect() if s is not None else None
        if s is None:
            return
        p.setPen(QPen(QColor(80, 255, 80), 1))
        gap, arm = self._CROSSHAIR_GAP, self._CROSSHAIR_ARM
        x, y = s.x(), s.y()
        p.drawLine(QPointF(x - gap - arm, y), QPointF(x - gap, y))
        p.drawLine(QPointF(x + gap, y), QPointF(x + gap + arm, y))
        p.drawLine(QPointF(x, y - gap - arm), QPointF(x, y - gap))
        p.drawLine(QPointF(x, y + gap), QPointF(x, y + gap + arm))

    def _text(self, p: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str) -> QRectF:
        """Overlay text, light with a dark outline: legible on white (inverted PET, bone) as on
        black; returns the rectangle it covers."""
        return draw_outlined_text(p, rect, flags, text, _OVERLAY)

    def overlay_texts(self) -> dict[str, str]:
        """The four corner texts, as drawn (tests and blinding checks read these)."""
        m = self.model
        vol = m.volume
        out = {"top_left": "", "top_right": "", "bottom_left": "", "bottom_right": ""}
        if vol is None:
            return out
        if not self.state.blinded:
            out["top_left"] = "\n".join(self.patient_text)
        desc = [vol.modality, app_text(m.title), orientation_text(m.orientation)]
        out["top_right"] = "\n".join(t for t in desc if t)
        pos = m.position_mm()
        bl = [self.tr("Im: {index}/{count}").format(index=m.index + 1, count=m.count)]
        if pos is not None:
            bl.append(i18n.fmt(self.tr("Pos: {mm:.1f} mm"), mm=float(pos)))
        bl.append(
            i18n.fmt(
                self.tr("W: {width:.0f} L: {level:.0f}"),
                width=float(m.window.width),
                level=float(m.window.center),
            )
            + (self.tr(" inv") if m.invert else "")
        )
        if vol.modality == "PT":
            # PET values are SUV or labelled raw, never unlabelled
            bl.append(self.tr("Unit: {unit}").format(unit=app_text(modality_unit(m))))
        if self._cine.isActive():
            bl.append(self.tr("Cine {fps} fps").format(fps=CINE_FPS))
        out["bottom_left"] = "\n".join(bl)
        zoom = self._scale * min(m.plane.pixel_spacing) if m.plane else 0
        br = [i18n.fmt(self.tr("Zoom: {zoom:.2f}"), zoom=float(zoom))]
        readout = self.readout()
        if readout:
            br.append(readout)
        out["bottom_right"] = "\n".join(br)
        return out

    def readout(self) -> str:
        """Value under the cursor in modality units and its patient coordinate."""
        if self._cursor is None:
            return ""
        sl = self.model.current_slice()
        rc = self.screen_to_pixel(self._cursor)
        if sl is None or rc is None:
            return ""
        r, c = round(rc[0]), round(rc[1])
        rows, cols = sl.pixels.shape
        if not (0 <= r < rows and 0 <= c < cols):
            return ""
        value = float(sl.pixels[r, c])
        pt = sl.plane.pixel_to_patient([rc])[0]
        unit = app_text(modality_unit(self.model))  # a raw PET's label, in words
        val = (
            self.tr("outside volume")
            if math.isnan(value)
            else i18n.fmt("{value:.4g} {unit}", value=value, unit=unit).strip()
        )
        return (
            val
            + "\n"
            + i18n.fmt(
                self.tr("({x:.1f}, {y:.1f}, {z:.1f}) mm LPS"),
                x=float(pt[0]),
                y=float(pt[1]),
                z=float(pt[2]),
            )
        )

    def _paint_overlays(self, p: QPainter) -> None:
        plane = self.model.plane
        if plane is None:
            return
        p.setFont(self._font)
        r = QRectF(self.rect()).adjusted(8, 6, -8, -6)
        AF = Qt.AlignmentFlag
        t = self.overlay_texts()
        # Corner texts share the top edge with the orientation letter: each keeps to its side.
        fm = p.fontMetrics()
        room = max(40, int(r.width() / 2) - fm.horizontalAdvance("WW"))
        # elided in the middle: the volumes of a series differ at the end of the title
        # ("... echo 0, FIELD_MAP"), names at both ends
        for key in ("top_left", "top_right"):
            t[key] = "\n".join(
                fm.elidedText(line, Qt.TextElideMode.ElideMiddle, room)
                for line in t[key].split("\n")
            )
        self._text(p, r, AF.AlignLeft | AF.AlignTop, t["top_left"])
        self._text(p, r, AF.AlignRight | AF.AlignTop, t["top_right"])
        self._text(p, r, AF.AlignLeft | AF.AlignBottom, t["bottom_left"])
        self._text(p, r, AF.AlignRight | AF.AlignBottom, t["bottom_right"])
        geo = self.model.geometry
        if self._letters is None or self._letters[0] is not geo:
            self._letters = (geo, edge_letters(plane))  # the same on every slice of a stack
        letters = self._letters[1]
        p.setFont(self._letter_font)
        self._text(p, r, AF.AlignLeft | AF.AlignVCenter, letters["left"])
        self._text(p, r, AF.AlignRight | AF.AlignVCenter, letters["right"])
        self._text(p, r, AF.AlignHCenter | AF.AlignTop, letters["top"])
        self._text(p, r, AF.AlignHCenter | AF.AlignBottom, letters["bottom"])
        self._paint_scale_bar(p)

    def _paint_scale_bar(self, p: QPainter) -> None:
        mm = _nice_scale_length(self._scale, self.width() / 4.0)
        length = mm * self._scale
        x0 = self.width() / 2.0 - length / 2.0
        y = self.height() - 30.0
        n = 10 if length > 60 else 1
        lines = [QLineF(x0, y, x0 + length, y)]
        for i in range(n + 1):
            x = x0 + length * i / n
            tick = 6.0 if i in (0, n) or 2 * i == n else 3.0
            lines.append(QLineF(x, y - tick, x, y))
        # a dark line under the light one: the bar stays visible on a white image
        for pen in (QPen(_OUTLINE_LINE, 3), QPen(_OVERLAY, 1)):
            p.setPen(pen)
            p.drawLines(lines)
        p.setFont(self._font)
        self._text(
            p, QRectF(x0 + length + 6, y - 14, 90, 16), Qt.AlignmentFlag.AlignLeft, f"{mm:g} mm"
        )
