"""Rotating MIP of the PET: a click moves every linked viewport to the hottest voxel on that ray."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from namecar_viewer.app.pet import value_unit
from namecar_viewer.app.view_state import ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.mip import MipImage, RayHit, mip
from namecar_viewer.gui import i18n
from namecar_viewer.gui.fusion.colormaps import ColourMap, argb_table, suv_to_index

ANGLE_STEP_DEG = 10.0
ROTATE_FPS = 8


class MipViewport(QWidget):
    """Shows the PET MIP at ``angle``; wheel/arrows turn it, Space rotates, click picks."""

    picked = Signal(object)  # RayHit

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.volume: Volume | None = None
        self.angle = 0.0
        self.suv_window = (0.0, 10.0)
        self.colour_map = ColourMap.INVERTED_GREY
        self._cache: dict[float, MipImage] = {}
        self._image: QImage | None = None
        self._buf: npt.NDArray[np.uint32] | None = None
        self.last_hit: RayHit | None = None
        self.setMinimumSize(160, 160)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / ROTATE_FPS))
        self._timer.timeout.connect(lambda: self.set_angle(self.angle + ANGLE_STEP_DEG))
        state.crosshair_changed.connect(lambda *_: self.update())

    def set_volume(self, volume: Volume | None) -> None:
        self.volume = volume
        self._cache.clear()
        self._image = None
        self.update()

    def set_angle(self, angle: float) -> None:
        self.angle = float(angle) % 360.0
        self._image = None
        self.update()

    def toggle_rotation(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
        else:
            self._timer.start()

    @property
    def rotating(self) -> bool:
        return self._timer.isActive()

    def current(self) -> MipImage | None:
        if self.volume is None:
            return None
        key = round(self.angle, 3)
        m = self._cache.get(key)
        if m is None:
            m = mip(self.volume, key)
            if len(self._cache) > 72:
                self._cache.clear()
            self._cache[key] = m
        return m

    # --- geometry of the drawn image -------------------------------------------------------
    def _target(self, m: MipImage) -> QRectF:
        rows, cols = m.image.shape
        scale = min(self.width() / cols, self.height() / rows)
        w, h = cols * scale, rows * scale
        return QRectF((self.width() - w) / 2.0, (self.height() - h) / 2.0, w, h)

    def screen_to_pixel(self, p: QPointF) -> tuple[float, float] | None:
        m = self.current()
        if m is None:
            return None
        t = self._target(m)
        rows, cols = m.image.shape
        return (p.y() - t.top()) * rows / t.height() - 0.5, (
            p.x() - t.left()
        ) * cols / t.width() - 0.5

    def pixel_to_screen(self, row: float, col: float) -> QPointF | None:
        m = self.current()
        if m is None:
            return None
        t = self._target(m)
        rows, cols = m.image.shape
        return QPointF(
            t.left() + (col + 0.5) * t.width() / cols, t.top() + (row + 0.5) * t.height() / rows
        )

    def pick(self, row: float, col: float) -> RayHit | None:
        """Hottest voxel on the ray through (row, col); moves the linked crosshair there."""
        m = self.current()
        if m is None or self.volume is None:
            return None
        hit = m.hottest_along_ray(self.volume, row, col)
        if hit is not None:
            self.last_hit = hit
            self.state.set_crosshair(hit.point_lps, self.volume.frame_of_reference_uid)
            self.picked.emit(hit)
        return hit

    # --- events ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if event.button() == Qt.MouseButton.LeftButton:
            rc = self.screen_to_pixel(event.position())
            if rc is not None:
                self.pick(*rc)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_angle(self.angle + (ANGLE_STEP_DEG if steps > 0 else -ANGLE_STEP_DEG))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.set_angle(self.angle + ANGLE_STEP_DEG)
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.set_angle(self.angle - ANGLE_STEP_DEG)
        elif event.key() == Qt.Key.Key_Space:
            self.toggle_rotation()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        try:
            p.fillRect(
                self.rect(),
                QColor(255, 255, 255)
                if self.colour_map is ColourMap.INVERTED_GREY
                else QColor(0, 0, 0),
            )
            m = self.current()
            if m is None:
                p.fillRect(self.rect(), QColor(24, 24, 28))
                p.setPen(QColor(170, 170, 180))
                p.drawText(
                    self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No PET loaded for the MIP.")
                )
                return
            if self._image is None:
                idx = suv_to_index(m.image, *self.suv_window)
                self._buf = np.ascontiguousarray(argb_table(self.colour_map)[idx])
                h, w = self._buf.shape
                self._image = QImage(self._buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(self._target(m), self._image)
            point = None
            if self.volume is not None:
                point = self.state.crosshair_in(self.volume.frame_of_reference_uid)
            if point is not None:
                s = self.pixel_to_screen(*m.project(point))
                if s is not None:
                    p.setPen(QPen(QColor(0, 170, 0), 1.5))
                    p.drawEllipse(s, 7.0, 7.0)
            p.setPen(
                QColor(30, 30, 200)
                if self.colour_map is ColourMap.INVERTED_GREY
                else QColor(230, 230, 230)
            )
            unit = value_unit(self.volume)
            lo, hi = self.suv_window
            p.drawText(
                QRectF(self.rect()).adjusted(8, 6, -8, -6),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                self.tr("PET MIP {angle}°").format(angle=i18n.num(self.angle, 0))
                + (self.tr(" (rotating)") if self.rotating else "")
                + "\n"
                + i18n.fmt("{lo:g}-{hi:g} {unit}", lo=float(lo), hi=float(hi), unit=unit),
            )
            if self.last_hit is not None:
                h = self.last_hit
                p.drawText(
                    QRectF(self.rect()).adjusted(8, 6, -8, -6),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                    i18n.fmt(
                        self.tr("Hottest on ray: {value:.2f} {unit}"),
                        value=float(h.value),
                        unit=unit,
                    )
                    + "\n"
                    + i18n.fmt(
                        self.tr("({x:.1f}, {y:.1f}, {z:.1f}) mm LPS"),
                        x=float(h.point_lps[0]),
                        y=float(h.point_lps[1]),
                        z=float(h.point_lps[2]),
                    ),
                )
        finally:
            p.end()
