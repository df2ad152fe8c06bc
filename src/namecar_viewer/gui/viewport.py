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
from PySide6.QtCore import QCoreApplication, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry.reslice import WindowLevel, apply_window, edge_letters
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import orientation_text
from namecar_viewer.gui.i18n import app_text

VIEWPORT_COLOURS = ("#f0c020", "#30c8f0", "#e060e0", "#60e060")
PAGE_STEP = 10  # slices per Page Up / Page Down
CINE_FPS = 10
_SCALE_BAR_STEPS_MM = (1, 2, 5, 10, 20, 50, 100, 200, 500)
_OVERLAY = QColor(235, 235, 235)
_GREY_TO_RGB32 = (np.arange(256, dtype=np.uint32) * np.uint32(0x010101)) | np.uint32(0xFF000000)
_SHADOW = QColor(0, 0, 0, 200)


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
        self.state.planes_changed.connect(self.update)
        self.state.crosshair_changed.connect(self._on_crosshair)
        self.state.display_changed.connect(self.update)

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
        self.update()

    def disconnect_model(self) -> None:
        """Stop listening to the shared state (before the widget is destroyed)."""
        self.state.planes_changed.disconnect(self.update)
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
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            return
        self.tool.mouse_release(self, event)

    def leaveEvent(self, event: Any) -> None:
        self._cursor = None
        self.update()
        super().leaveEvent(event)

    # --- painting --------------------------------------------------------------------------
    def _ensure_image(self) -> QImage | None:
        if self._image is not None:
            return self._image
        sl = self.model.current_slice()
        if sl is None:
            return None
        # Opaque ARGB32 premultiplied is the backing store format: scaled drawing is fastest.
        px = sl.pixels
        if px.dtype.kind in "iu" and px.dtype.itemsize == 2:
            # 16-bit data (CT HU): one gather through a stored-value -> ARGB table per window
            key = (px.dtype.str, self.model.window, self.model.invert)
            if self._rgb_lut is None or self._rgb_lut[0] != key:
                codes = np.arange(65536, dtype=np.uint16).view(px.dtype)
                grey_lut = apply_window(codes, self.model.window, self.model.invert)
                self._rgb_lut = (key, _GREY_TO_RGB32[grey_lut])
            buf = self._rgb_lut[1][px.view(np.uint16)]
        else:
            buf = _GREY_TO_RGB32[apply_window(px, self.model.window, self.model.invert)]
        h, w = buf.shape
        self._image_buf = buf
        self._image = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        return self._image

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor(0, 0, 0))
            if self.model.error is not None:
                self._paint_message(p, self.model.error, error=True)
            elif self.model.volume is None:
                self._paint_message(p, self.busy_text or self.empty_text)
            else:
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
        if img is None or plane is None:
            return
        rs, cs = plane.pixel_spacing
        top_left = self._mm_to_screen(-0.5 * cs, -0.5 * rs)
        target = QRectF(
            top_left.x(),
            top_left.y(),
            img.width() * cs * self._scale,
            img.height() * rs * self._scale,
        )
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

    def _paint_reference_lines(self, p: QPainter) -> None:
        if not self.state.show_reference_lines:
            return
        plane = self.model.plane
        if plane is None:
            return
        for i, other in enumerate(self.state.viewports):
            if other not in self.state.linked(self.model):
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
            pen = QPen(QColor(VIEWPORT_COLOURS[i % len(VIEWPORT_COLOURS)]), 1, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(seg[0], seg[1])

    def _paint_crosshair(self, p: QPainter) -> None:
        st = self.state
        if not st.show_crosshair or st.crosshair is None:
            return
        point = st.crosshair_in(self.model.frame_of_reference_uid)  # mapped across timepoints
        if point is None:
            return
        s = self.patient_to_screen(point)
        if s is None:
            return
        p.setPen(QPen(QColor(80, 255, 80), 1))
        gap, arm = 6.0, 18.0
        x, y = s.x(), s.y()
        p.drawLine(QPointF(x - gap - arm, y), QPointF(x - gap, y))
        p.drawLine(QPointF(x + gap, y), QPointF(x + gap + arm, y))
        p.drawLine(QPointF(x, y - gap - arm), QPointF(x, y - gap))
        p.drawLine(QPointF(x, y + gap), QPointF(x, y + gap + arm))

    def _text(self, p: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str) -> None:
        p.setPen(_SHADOW)
        p.drawText(rect.translated(1, 1), flags, text)
        p.setPen(_OVERLAY)
        p.drawText(rect, flags, text)

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
            bl.append(self.tr("Unit: {unit}").format(unit=modality_unit(m)))
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
        unit = modality_unit(self.model)
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
        for key in ("top_left", "top_right"):
            t[key] = "\n".join(
                fm.elidedText(line, Qt.TextElideMode.ElideRight, room)
                for line in t[key].split("\n")
            )
        self._text(p, r, AF.AlignLeft | AF.AlignTop, t["top_left"])
        self._text(p, r, AF.AlignRight | AF.AlignTop, t["top_right"])
        self._text(p, r, AF.AlignLeft | AF.AlignBottom, t["bottom_left"])
        self._text(p, r, AF.AlignRight | AF.AlignBottom, t["bottom_right"])
        letters = edge_letters(plane)
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
        p.setPen(QPen(_OVERLAY, 1))
        p.drawLine(QPointF(x0, y), QPointF(x0 + length, y))
        n = 10 if length > 60 else 1
        for i in range(n + 1):
            x = x0 + length * i / n
            tick = 6.0 if i in (0, n) or 2 * i == n else 3.0
            p.drawLine(QPointF(x, y - tick), QPointF(x, y))
        p.setFont(self._font)
        self._text(
            p, QRectF(x0 + length + 6, y - 14, 90, 16), Qt.AlignmentFlag.AlignLeft, f"{mm:g} mm"
        )
