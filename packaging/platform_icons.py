"""Write the Windows .ico and macOS .icns of the application icon from its PNG sizes (Pillow).

    .venv/bin/python packaging/platform_icons.py    # build/icons/namecar-viewer.ico and .icns

packaging/namecar-viewer.spec gives them to PyInstaller on Windows and macOS (packaging/README.md);
the Linux build uses the PNGs and SVG as they are.  Pillow comes with highdicom.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HICOLOR = ROOT / "resources" / "icons" / "hicolor"
OUT = ROOT / "build" / "icons"


def png(size: int) -> Path:
    return HICOLOR / f"{size}x{size}" / "apps" / "namecar-viewer.png"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    # .ico: up to 256 px, each size from its own PNG (not scaled down from the largest)
    ico_sizes = [16, 24, 32, 48, 64, 128, 256]
    images = [Image.open(png(s)).convert("RGBA") for s in ico_sizes]
    ico = OUT / "namecar-viewer.ico"
    images[-1].save(ico, format="ICO", append_images=images[:-1], sizes=[(s, s) for s in ico_sizes])
    # .icns: Pillow writes the standard sizes from the 512 px image and the ones given
    icns = OUT / "namecar-viewer.icns"
    big = Image.open(png(512)).convert("RGBA")
    others = [Image.open(png(s)).convert("RGBA") for s in (16, 32, 64, 128, 256)]
    big.save(icns, format="ICNS", append_images=others)
    for f in (ico, icns):
        print(f"{f.relative_to(ROOT)}  {f.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
