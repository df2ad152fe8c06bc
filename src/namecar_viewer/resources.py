"""Where the application's resource files are: icon, desktop entry, criteria text, schema, i18n.

Their one source is the top-level ``resources/`` folder of the repository (see its README).  They
are found in the first of these folders that exists:

1. ``namecar_viewer/_resources/`` beside this module: the copy a build puts there (a wheel, by
   the ``build_py`` step of ``setup.py``; the PyInstaller bundle, by
   ``packaging/namecar-viewer.spec``);
2. ``resources/`` of the source checkout this module runs from (``src/namecar_viewer/..`` next to
   ``pyproject.toml``): a checkout run in place or installed with ``pip install -e .``.

Nothing here imports Qt except :func:`window_icon`, which does so when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

HERE = Path(__file__).resolve().parent
PACKAGED = HERE / "_resources"
CHECKOUT = HERE.parents[1] / "resources"

ICON_NAME = "namecar-viewer"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICON_SVG = f"icons/hicolor/scalable/apps/{ICON_NAME}.svg"
DESKTOP_ENTRY = f"{ICON_NAME}.desktop"
ELIGIBILITY_CRITERIA = "namecar_eligibility_criteria.json"
CASE_SCHEMA = "case.schema.json"
I18N = "i18n"


def icon_png(size: int) -> str:
    """The icon's PNG of ``size`` pixels, relative to the resources folder."""
    return f"icons/hicolor/{size}x{size}/apps/{ICON_NAME}.png"


def resources_dir() -> Path:
    """The folder the resources are read from; :class:`FileNotFoundError` names both places."""
    if PACKAGED.is_dir():
        return PACKAGED
    if CHECKOUT.is_dir() and (CHECKOUT.parent / "pyproject.toml").is_file():
        return CHECKOUT
    raise FileNotFoundError(
        f"NAMECAR Viewer's resources are missing: neither {PACKAGED} (installed package or "
        f"bundle) nor {CHECKOUT} (source checkout) exists. Reinstall the application."
    )


def resource_path(name: str) -> Path:
    """The resource ``name`` (a path relative to ``resources/``), which must exist."""
    path = resources_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"NAMECAR Viewer's resource {name} is missing: {path}")
    return path


def window_icon() -> QIcon:
    """The application icon for Qt windows (every PNG size); an empty icon if none is found."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    try:
        root = resources_dir()
    except FileNotFoundError:
        return icon  # the window opens without its icon rather than not at all
    for size in ICON_SIZES:
        png = root / icon_png(size)
        if png.is_file():
            icon.addFile(str(png))
    svg = root / ICON_SVG
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon
