"""Text drawn over images that stays legible on any grey level: light glyphs with a dark outline.

A shadow offset by one pixel disappears where the image is white (an inverted-grey PET, a bone
window); an outline on every side does not.  Each text block is rendered once into a small
premultiplied ARGB image (the glyphs in the outline colour stamped at the eight neighbouring
offsets, then the glyphs in the text colour) and kept in a small cache, so a frame that redraws
the same corner text only blits it: scrolling changes one corner, the other three come from the
cache.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

OUTLINE = QColor(0, 0, 0, 235)
_OFFSETS = ((-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1))
_PAD = 2
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[object, ...], tuple[QImage, QPointF]] = OrderedDict()


_HORIZONTAL = (
    Qt.AlignmentFlag.AlignLeft.value
    | Qt.AlignmentFlag.AlignRight.value
    | Qt.AlignmentFlag.AlignHCenter.value
    | Qt.AlignmentFlag.AlignJustify.value
)
_VERTICAL = (
    Qt.AlignmentFlag.AlignTop.value
    | Qt.AlignmentFlag.AlignBottom.value
    | Qt.AlignmentFlag.AlignVCenter.value
    | Qt.AlignmentFlag.AlignBaseline.value
)
_TOP = Qt.AlignmentFlag.AlignTop.value


_WRAP = Qt.TextFlag.TextWordWrap.value
_BOTTOM = Qt.AlignmentFlag.AlignBottom.value
_VCENTER = Qt.AlignmentFlag.AlignVCenter.value
_RIGHT = Qt.AlignmentFlag.AlignRight.value
_HCENTER = Qt.AlignmentFlag.AlignHCenter.value
_LEFT = Qt.AlignmentFlag.AlignLeft.value


def _flags_int(flags: Qt.AlignmentFlag | int) -> int:
    """A plain int: Qt's flags are Python enums whose ``&`` costs microseconds a test."""
    if isinstance(flags, int):
        return int(flags)
    return int(flags.value)


def _render(
    text: str, font: QFont, colour: QColor, outline: QColor, flags: int, width: float, dpr: float
) -> tuple[QImage, QPointF]:
    """The outlined text image and the size of the text's box (x: width, y: height)."""
    fm = QFontMetricsF(font)
    wrap = bool(flags & _WRAP)
    box_w = width if wrap else 100000.0
    br = fm.boundingRect(QRectF(0, 0, box_w, 100000.0), flags & ~_VERTICAL, text)
    w = int(br.width()) + 2 * _PAD + 2
    h = int(br.height()) + 2 * _PAD + 2
    img = QImage(int(w * dpr), int(h * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    img.setDevicePixelRatio(dpr)
    img.fill(0)
    # glyph mask in the outline colour, stamped around to make the outline
    mask = QImage(img.size(), QImage.Format.Format_ARGB32_Premultiplied)
    mask.setDevicePixelRatio(dpr)
    mask.fill(0)
    inner = QRectF(_PAD, _PAD, br.width() + 2, br.height() + 2)
    draw_flags = (flags & ~_VERTICAL & ~_HORIZONTAL) | _horizontal(flags) | _TOP
    mp = QPainter(mask)
    mp.setFont(font)
    mp.setPen(outline)
    mp.drawText(inner, draw_flags, text)
    mp.end()
    p = QPainter(img)
    for dx, dy in _OFFSETS:
        p.drawImage(QPointF(dx, dy), mask)
    p.setFont(font)
    p.setPen(colour)
    p.drawText(inner, draw_flags, text)
    p.end()
    return img, QPointF(br.width(), br.height())


def _horizontal(flags: int) -> int:
    return flags & _HORIZONTAL or _LEFT


def text_image(
    text: str,
    font: QFont,
    colour: QColor,
    flags: Qt.AlignmentFlag | int = Qt.AlignmentFlag.AlignLeft,
    width: float = 0.0,
    outline: QColor = OUTLINE,
    dpr: float = 1.0,
) -> tuple[QImage, QPointF]:
    """The cached outlined image of ``text`` and the size of its box (``width``: the layout
    width, only used by word-wrapped text)."""
    f = _flags_int(flags)
    wrap_w = int(width) if f & _WRAP else 0
    key = (text, font.key(), colour.rgba(), outline.rgba(), f, wrap_w, dpr)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    out = _render(text, font, colour, outline, f, float(width), float(dpr))
    _cache[key] = out
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return out


def draw_outlined_text(
    p: QPainter,
    rect: QRectF | QRect,
    flags: Qt.AlignmentFlag | int,
    text: str,
    colour: QColor,
    outline: QColor = OUTLINE,
) -> QRectF:
    """Draw ``text`` inside ``rect`` aligned by ``flags`` with the painter's font, light glyphs
    in a dark outline; returns the rectangle covered (empty for an empty text)."""
    if not text:
        return QRectF()
    r = QRectF(rect)
    dev = p.device()
    dpr = float(dev.devicePixelRatioF()) if dev is not None else 1.0
    f = _flags_int(flags)
    img, box = text_image(text, p.font(), colour, f, r.width(), outline, dpr)
    h = img.height() / dpr
    w = img.width() / dpr
    if f & _BOTTOM:
        y = r.bottom() - box.y()
    elif f & _VCENTER:
        y = r.top() + (r.height() - box.y()) / 2.0
    else:
        y = r.top()
    if f & _WRAP:
        x = r.left()
    elif f & _RIGHT:
        x = r.right() - box.x()
    elif f & _HCENTER:
        x = r.left() + (r.width() - box.x()) / 2.0
    else:
        x = r.left()
    top_left = QPointF(x - _PAD, y - _PAD)
    p.drawImage(top_left, img)
    return QRectF(top_left, QPointF(top_left.x() + w, top_left.y() + h))


def outline_at(p: QPainter, point: QPointF | QPoint, text: str, colour: QColor) -> QRectF:
    """``drawText(point, text)`` with an outline: ``point`` is the left end of the baseline."""
    fm = QFontMetricsF(p.font())
    pt = QPointF(point)
    rect = QRectF(pt.x(), pt.y() - fm.ascent(), 100000.0, fm.height() * (text.count("\n") + 1))
    return draw_outlined_text(p, rect, Qt.AlignmentFlag.AlignLeft, text, colour)


def clear_cache() -> None:
    _cache.clear()


__all__ = ["OUTLINE", "clear_cache", "draw_outlined_text", "outline_at", "text_image"]
