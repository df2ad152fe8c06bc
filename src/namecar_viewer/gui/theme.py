"""Reading-room display: a dark theme by default, the light one selectable (View > Theme).

Reading rooms are dim; a bright window around the images dazzles and changes how grey levels are
perceived, so the workstation starts dark.  The choice is remembered in the workstation's
settings (``ui/theme`` in :func:`namecar_viewer.gui.i18n.settings`, beside the language) and
applied to the whole application at once: Qt's Fusion style with a dark or light palette.
Widgets that paint their own colours (charts, response colours, warnings) ask :func:`colour` for
the role's colour in the current theme instead of hard-coding one.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

SETTINGS_KEY = "ui/theme"
DARK = "dark"
LIGHT = "light"
DEFAULT = DARK
THEMES = {
    DARK: QT_TRANSLATE_NOOP("Theme", "Dark (reading room)"),
    LIGHT: QT_TRANSLATE_NOOP("Theme", "Light"),
}

# colours of the roles the workstation paints itself, per theme
_ROLES: dict[str, dict[str, str]] = {
    DARK: {
        "chart_bg": "#1e1f23",
        "chart_fg": "#d8d8dc",
        "chart_grid": "#3a3b41",
        "chart_line": "#e6e6ea",
        "warning": "#e8c35a",
        "error": "#ff7a6e",
        "ok": "#6fd08c",
        "muted": "#9a9aa2",
        "banner_bg": "#24466e",
        "banner_fg": "#eef4ff",
    },
    LIGHT: {
        "chart_bg": "#ffffff",
        "chart_fg": "#303030",
        "chart_grid": "#e4e4e4",
        "chart_line": "#303030",
        "warning": "#6a5a00",
        "error": "#b00000",
        "ok": "#1b7f3b",
        "muted": "#606060",
        "banner_bg": "#24466e",
        "banner_fg": "#eef4ff",
    },
}

_current = DEFAULT


class _Notifier(QObject):
    changed = Signal(str)


notifier = _Notifier()


def saved_theme() -> str:
    """The theme chosen in View > Theme (the dark one when none was chosen)."""
    from namecar_viewer.gui.i18n import settings

    value = str(settings().value(SETTINGS_KEY, DEFAULT) or DEFAULT)
    return value if value in THEMES else DEFAULT


def save_theme(name: str) -> None:
    from namecar_viewer.gui.i18n import settings

    s = settings()
    s.setValue(SETTINGS_KEY, name if name in THEMES else DEFAULT)
    s.sync()


def current() -> str:
    return _current


def colour(role: str) -> str:
    """The colour (``#rrggbb``) of a painted role in the current theme."""
    return _ROLES[_current][role]


def qcolour(role: str) -> QColor:
    return QColor(colour(role))


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(40, 41, 46), QColor(28, 29, 33), QColor(222, 222, 226)
    disabled = QColor(120, 120, 128)
    CR, CG = QPalette.ColorRole, QPalette.ColorGroup
    p.setColor(CR.Window, window)
    p.setColor(CR.WindowText, text)
    p.setColor(CR.Base, base)
    p.setColor(CR.AlternateBase, QColor(36, 37, 42))
    p.setColor(CR.ToolTipBase, QColor(52, 53, 60))
    p.setColor(CR.ToolTipText, text)
    p.setColor(CR.PlaceholderText, QColor(140, 140, 148))
    p.setColor(CR.Text, text)
    p.setColor(CR.Button, QColor(50, 51, 57))
    p.setColor(CR.ButtonText, text)
    p.setColor(CR.BrightText, QColor(255, 110, 100))
    p.setColor(CR.Light, QColor(70, 71, 78))
    p.setColor(CR.Midlight, QColor(58, 59, 66))
    p.setColor(CR.Mid, QColor(44, 45, 50))
    p.setColor(CR.Dark, QColor(22, 22, 26))
    p.setColor(CR.Shadow, QColor(10, 10, 12))
    p.setColor(CR.Highlight, QColor(52, 104, 170))
    p.setColor(CR.HighlightedText, QColor(255, 255, 255))
    p.setColor(CR.Link, QColor(110, 170, 255))
    p.setColor(CR.LinkVisited, QColor(170, 140, 255))
    for role in (CR.WindowText, CR.Text, CR.ButtonText):
        p.setColor(CG.Disabled, role, disabled)
    return p


def apply(name: str | None = None, app: QApplication | None = None) -> str:
    """Apply ``name`` (default: the saved choice) to the application; returns the theme used."""
    global _current
    app = app or QApplication.instance()  # type: ignore[assignment]
    theme = name if name in THEMES else saved_theme()
    assert theme is not None
    _current = theme
    if isinstance(app, QApplication):
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        app.setPalette(dark_palette() if theme == DARK else fusion.standardPalette())
        app.setProperty("namecar_theme", theme)
    notifier.changed.emit(theme)
    return theme


def ensure_applied() -> str:
    """Apply the saved theme once per application (windows built in tests get it too)."""
    app = QApplication.instance()
    if isinstance(app, QApplication) and app.property("namecar_theme") in THEMES:
        return str(app.property("namecar_theme"))
    return apply()


__all__ = [
    "DARK",
    "DEFAULT",
    "LIGHT",
    "THEMES",
    "apply",
    "colour",
    "current",
    "ensure_applied",
    "notifier",
    "qcolour",
    "save_theme",
    "saved_theme",
]
