"""Render the application icon's PNG sizes from its SVG (Qt's own SVG renderer, offscreen).

    .venv/bin/python packaging/render_icons.py          # rewrite every PNG from the SVG
    .venv/bin/python packaging/render_icons.py --check  # exit 1 if a PNG is missing or stale

The SVG (resources/icons/hicolor/scalable/apps/namecar-viewer.svg) is the source; the PNGs sit
beside it in the freedesktop hicolor layout (NxN/apps/namecar-viewer.png) so that the .deb copies
the tree as it is.  They are committed: the window icon and the bundle need no renderer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HICOLOR = ROOT / "resources" / "icons" / "hicolor"
SVG = HICOLOR / "scalable" / "apps" / "namecar-viewer.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return HICOLOR / f"{size}x{size}" / "apps" / "namecar-viewer.png"


def render(size: int):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG}: not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    check = "--check" in argv
    stale = []
    for size in SIZES:
        image = render(size)
        out = png_path(size)
        if check:
            old = QImage(str(out))
            if old.isNull() or old.convertToFormat(image.format()) != image:
                stale.append(str(out.relative_to(ROOT)))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise SystemExit(f"cannot write {out}")
        print(f"{out.relative_to(ROOT)}  {out.stat().st_size} bytes")
    if stale:
        print("stale or missing (run packaging/render_icons.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
