"""Slice viewports for PET work: a crosshair that follows accepted transforms, and a fused view.

:class:`LinkedSliceViewport` draws the crosshair wherever the shared ViewState can map it (same
frame of reference, or another one through an accepted transform).  :class:`FusedViewport` shows
the base volume (CT/MRI) in grey with the SUV PET resampled onto it in colour; its readout gives
both values, the PET one in SUV with the unit.  Without an accepted transform between different
frames of reference it shows the base alone and says so: never a silent fusion.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QWidget

from namecar_viewer.app.pet import PetFusion, value_unit
from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import WindowLevel, apply_window, reslice
from namecar_viewer.core.registration import FrameOfReferenceMismatch
from namecar_viewer.gui import i18n
from namecar_viewer.gui.fusion.colormaps import ColourMap, colour_map_text, rgb_table
from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.overlay_text import draw_outlined_text
from namecar_viewer.gui.viewport import VIEWPORT_COLOURS, SliceViewport

DEFAULT_SUV_WINDOW = (0.0, 10.0)  # PSMA: liver about 5, lesions 5-50 (see reslice.pet_window)
DEFAULT_OPACITY = 0.5


class LinkedSliceViewport(SliceViewport):
    """A slice viewport whose crosshair is drawn in any frame the view state can map to.

    Overlay text sits on a translucent dark box so it stays legible on an inverted-grey PET
    (white background).
    """

    def _text(self, p: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str) -> QRectF:
        if text:
            box = p.boundingRect(rect, flags, text).adjusted(-3, -1, 3, 1)
            p.fillRect(box, QColor(0, 0, 0, 150))
        return super()._text(p, rect, flags, text)


class FusedViewport(LinkedSliceViewport):
    """Base volume in grey with the SUV PET over it (colour map, opacity, SUV window)."""

    def __init__(
        self,
        model: ViewportModel,
        state: ViewState | None = None,
        parent: QWidget | None = None,
        colour: str = VIEWPORT_COLOURS[2],
    ) -> None:
        super().__init__(model, state, parent, colour)
        self.fusion: PetFusion | None = None
        self.pet: Volume | None = None
        self.candidate = False  # True while showing an unaccepted registration
        self.colour_map = ColourMap.HOT_IRON
        self.opacity = DEFAULT_OPACITY
        self.suv_window = DEFAULT_SUV_WINDOW
        self.message = ""
        # Registration panel the mouse nudge drives (Shift+left-drag translates in the view
        # plane; Shift+right-drag or Ctrl+left-drag rotates about the view normal through the
        # crosshair); None: no nudge.
        self.nudge_panel: Any = None
        self._nudge: tuple[str, QPointF, npt.NDArray[np.float64], Any] | None = None
        self._blend: tuple[Any, npt.NDArray[np.uint32]] | None = None

    # --- manual nudge by mouse ---------------------------------------------------------------
    @staticmethod
    def nudge_kind(event: QMouseEvent) -> str | None:
        mods = event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        button = event.button()
        if shift and button == Qt.MouseButton.LeftButton:
            return "translate"
        if (shift and button == Qt.MouseButton.RightButton) or (
            ctrl and button == Qt.MouseButton.LeftButton
        ):
            return "rotate"
        return None

    def _plane_axes(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """Unit LPS vectors of the screen's x (along a row) and y (down a column)."""
        plane = self.model.plane
        if plane is None:
            return None
        p = plane.pixel_to_patient([(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)])
        eu = np.asarray(p[1] - p[0], dtype=np.float64)
        ev = np.asarray(p[2] - p[0], dtype=np.float64)
        return eu / np.linalg.norm(eu), ev / np.linalg.norm(ev)

    def nudge_step(self, start: QPointF, now: QPointF, kind: str, centre: Any) -> Any:
        """The rigid step (4x4, base LPS) a drag from ``start`` to ``now`` makes."""
        axes = self._plane_axes()
        step = np.eye(4)
        if axes is None:
            return step
        eu, ev = axes
        if kind == "translate":
            # screen pixels / (screen pixels per mm) = mm along the plane's axes
            d = (now.x() - start.x()) / self.scale * eu + (now.y() - start.y()) / self.scale * ev
            step[:3, 3] = d
            return step
        c = np.asarray(centre, dtype=np.float64).reshape(3)
        cs = self.patient_to_screen(c)
        if cs is None:
            return step
        a0 = math.atan2(start.y() - cs.y(), start.x() - cs.x())
        a1 = math.atan2(now.y() - cs.y(), now.x() - cs.x())
        theta = a1 - a0
        # a turn by theta on screen (x right, y down) is a turn about n = eu x ev
        n = np.cross(eu, ev)
        k = np.array([[0, -n[2], n[1]], [n[2], 0, -n[0]], [-n[1], n[0], 0]])
        r = np.eye(3) + math.sin(theta) * k + (1 - math.cos(theta)) * (k @ k)
        step[:3, :3] = r
        step[:3, 3] = c - r @ c
        return step

    def _nudge_centre(self) -> Any:
        point = self.state.crosshair_in(self.model.frame_of_reference_uid)
        if point is None:
            point = self.screen_to_patient(QPointF(self.width() / 2.0, self.height() / 2.0))
        return point

    def mousePressEvent(self, event: QMouseEvent) -> None:
        kind = self.nudge_kind(event)
        if kind is not None and self.nudge_panel is not None and self.model.plane is not None:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.activated.emit(self)
            start = self.nudge_panel.current_matrix()
            self._nudge = (kind, QPointF(event.position()), start, self._nudge_centre())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._nudge is not None:
            kind, p0, start, centre = self._nudge
            step = self.nudge_step(p0, event.position(), kind, centre)
            self.nudge_panel.apply_step(start, step, compute_metric=False)
            self._cursor = QPointF(event.position())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._nudge is not None:
            kind, p0, start, centre = self._nudge
            self._nudge = None
            step = self.nudge_step(p0, event.position(), kind, centre)
            self.nudge_panel.apply_step(start, step, compute_metric=True)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # --- ROI statistics on the PET layer ---------------------------------------------------
    def measurement_stats(self, m: Any) -> Any:
        """SUV statistics of an ellipse/sphere drawn here (the measurement layer asks first).

        ``None`` lets the layer measure the base volume (no PET fused); a text says why SUV
        cannot be given (an unaccepted registration is only a candidate).
        """
        if self.fusion is None:
            return None
        if self.candidate:
            return self.tr("SUV after the registration is accepted")
        try:
            return self.fusion.measurement_stats(m)
        except ValueError as exc:
            return error_text(exc)

    def stats_key(self) -> int:
        """Changes when the fused PET or its transform change (the layer's cache key)."""
        return id(self.fusion)

    # --- configuration ---------------------------------------------------------------------
    def set_pet(
        self, pet: Volume | None, matrix: npt.ArrayLike | None = None, candidate: bool = False
    ) -> None:
        """Fuse ``pet`` over the model's volume; ``matrix`` maps base LPS to PET LPS.

        Different frames of reference without ``matrix`` leave the base alone with a message.
        """
        self.pet = pet
        self.candidate = candidate and matrix is not None
        self.fusion = None
        self.message = ""
        base = self.model.volume
        if pet is not None and base is not None:
            try:
                self.fusion = PetFusion(base, pet, matrix)
            except FrameOfReferenceMismatch:
                self.message = self.tr(
                    "PET NOT FUSED: different frame of reference.\n"
                    "Register (automatic or manual) and accept first."
                )
            except ValueError as exc:
                self.message = self.tr("PET not fused: {reason}").format(reason=app_text(str(exc)))
        self._image = None
        self.update()

    def set_colour_map(self, cmap: ColourMap) -> None:
        self.colour_map = cmap
        self._image = None
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(max(float(opacity), 0.0), 1.0)
        self._image = None
        self.update()

    def set_suv_window(self, lower: float, upper: float) -> None:
        if upper <= lower:
            raise ValueError(self.tr("The SUV window's upper end must exceed its lower end."))
        self.suv_window = (float(lower), float(upper))
        self._image = None
        self.update()

    # --- rendering -------------------------------------------------------------------------
    def overlay_pixels(self) -> npt.NDArray[np.float32] | None:
        """The SUV PET on the displayed slice (same pixels as the base slice), or None."""
        m = self.model
        if self.fusion is None or m.geometry is None:
            return None
        sl = reslice(self.fusion.overlay, m.orientation, m.index, m.geometry)
        return np.asarray(sl.pixels, dtype=np.float32)

    def _blend_table(self) -> npt.NDArray[np.uint32]:
        """grey (0-255) x PET colour index (0-255) -> the fused RGB32 pixel, for the current
        colour map and opacity: a frame is then one gather (index 0, below the SUV window, is
        the grey alone so the anatomy shows where there is no uptake)."""
        key = (self.colour_map, self.opacity)
        if self._blend is None or self._blend[0] != key:
            rgb = rgb_table(self.colour_map).astype(np.float64)
            grey = np.arange(256, dtype=np.float64)[:, None, None]
            alpha = np.full((1, 256, 1), self.opacity)
            alpha[0, 0, 0] = 0.0
            out = np.clip(np.rint(grey * (1.0 - alpha) + rgb[None, :, :] * alpha), 0, 255)
            out = out.astype(np.uint32)
            table = np.uint32(0xFF000000) | (out[..., 0] << 16) | (out[..., 1] << 8) | out[..., 2]
            self._blend = (key, np.ascontiguousarray(table.reshape(-1), dtype=np.uint32))
        return self._blend[1]

    def _ensure_image(self) -> QImage | None:
        if self._image is not None:
            return self._image
        sl = self.model.current_slice()
        if sl is None:
            return None
        grey = apply_window(sl.pixels, self.model.window, self.model.invert)
        key = grey.astype(np.uint16) << 8
        overlay = self.overlay_pixels()
        if overlay is not None:
            key |= _suv_index(overlay, *self.suv_window)
        buf = np.empty(grey.shape, dtype=np.uint32)
        np.take(self._blend_table(), key, out=buf, mode="wrap")
        h, w = buf.shape
        self._image_buf = buf
        self._image = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        return self._image

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        banner = self.message or (
            self.tr("CANDIDATE REGISTRATION - not accepted") if self.candidate else ""
        )
        if banner and self.model.volume is not None:
            p = QPainter(self)
            try:
                p.setFont(self._font)
                colour = QColor(255, 120, 100) if self.message else QColor(255, 210, 80)
                draw_outlined_text(
                    p,
                    QRectF(self.rect()).adjusted(8, 70, -8, -8),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    banner,
                    colour,
                )
            finally:
                p.end()

    def overlay_texts(self) -> dict[str, str]:
        out = super().overlay_texts()
        if self.fusion is not None:
            lo, hi = self.suv_window
            out["top_right"] += "\n" + i18n.fmt(
                self.tr("+ PET {cmap} {lo:g}-{hi:g} {unit} ({opacity:.0%})"),
                cmap=colour_map_text(self.colour_map),
                lo=float(lo),
                hi=float(hi),
                unit=self.fusion.unit,
                opacity=float(self.opacity),
            )
        return out

    def readout(self) -> str:
        """Base value and the PET's SUV (with its unit) under the cursor."""
        text = super().readout()
        if not text or self.fusion is None or self._cursor is None:
            return text
        point = self.screen_to_patient(self._cursor)
        if point is None:
            return text
        suv = self.fusion.suv_at(point)
        pet_text = (
            self.tr("PET: outside")
            if math.isnan(suv)
            else i18n.fmt(
                self.tr("PET: {value:.2f} {unit}"), value=float(suv), unit=self.fusion.unit
            )
        )
        return pet_text + "\n" + text

    def window_text(self) -> str:
        return i18n.fmt(
            self.tr("SUV window {lo:g}-{hi:g} {unit}"),
            lo=float(self.suv_window[0]),
            hi=float(self.suv_window[1]),
            unit=value_unit(self.pet),
        )


def _suv_index(values: npt.NDArray[Any], lower: float, upper: float) -> npt.NDArray[np.uint8]:
    """:func:`suv_to_index` in float32, in place (the fused view's frames): SUV -> 0..255
    across the SUV window, NaN -> 0."""
    span = max(upper - lower, 1e-6)
    t = np.subtract(values, np.float32(lower), dtype=np.float32)
    np.multiply(t, np.float32(255.0 / span), out=t)
    np.clip(t, 0.0, 255.0, out=t)
    np.nan_to_num(t, copy=False, nan=0.0)
    np.rint(t, out=t)
    return t.astype(np.uint8)


def pet_window_level(lower: float, upper: float) -> WindowLevel:
    return WindowLevel(upper - lower, (upper + lower) / 2.0)
