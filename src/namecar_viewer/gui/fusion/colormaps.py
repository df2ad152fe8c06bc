"""PET colour maps as 256-entry ARGB32 tables (hot iron, rainbow, inverted grey)."""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication


class ColourMap(enum.Enum):
    HOT_IRON = QT_TRANSLATE_NOOP("ColourMap", "Hot iron")
    RAINBOW = QT_TRANSLATE_NOOP("ColourMap", "Rainbow")
    INVERTED_GREY = QT_TRANSLATE_NOOP("ColourMap", "Inverted grey")


def colour_map_text(cmap: ColourMap) -> str:
    """The colour map's name in the reader's language."""
    return QCoreApplication.translate("ColourMap", cmap.value)


def _interp(stops: list[tuple[float, tuple[int, int, int]]]) -> npt.NDArray[np.float64]:
    x = np.linspace(0.0, 1.0, 256)
    pos = [s[0] for s in stops]
    return np.stack([np.interp(x, pos, [s[1][c] for s in stops]) for c in range(3)], axis=1)


def rgb_table(cmap: ColourMap) -> npt.NDArray[np.uint8]:
    """(256, 3) uint8 RGB of a colour map, index 0 = the bottom of the SUV window."""
    if cmap is ColourMap.HOT_IRON:
        # black -> red -> orange -> yellow -> white (the "hot iron" PET map)
        rgb = _interp(
            [
                (0.0, (0, 0, 0)),
                (0.35, (190, 0, 0)),
                (0.6, (255, 110, 0)),
                (0.85, (255, 230, 60)),
                (1.0, (255, 255, 255)),
            ]
        )
    elif cmap is ColourMap.RAINBOW:
        rgb = _interp(
            [
                (0.0, (0, 0, 0)),
                (0.15, (60, 0, 140)),
                (0.3, (0, 0, 255)),
                (0.45, (0, 200, 255)),
                (0.6, (0, 220, 0)),
                (0.75, (255, 255, 0)),
                (0.9, (255, 90, 0)),
                (1.0, (255, 0, 0)),
            ]
        )
    else:
        g = np.linspace(255.0, 0.0, 256)
        rgb = np.stack([g, g, g], axis=1)
    return np.asarray(np.rint(rgb), dtype=np.uint8)


def argb_table(cmap: ColourMap) -> npt.NDArray[np.uint32]:
    rgb = rgb_table(cmap).astype(np.uint32)
    return np.asarray(
        np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], dtype=np.uint32
    )


def suv_to_index(
    values: npt.NDArray[np.floating], lower: float, upper: float
) -> npt.NDArray[np.uint8]:
    """SUV -> 0..255 across the SUV window (NaN -> 0)."""
    span = max(upper - lower, 1e-6)
    scaled = np.clip((np.nan_to_num(values, nan=lower) - lower) * (255.0 / span), 0, 255)
    return np.asarray(np.rint(scaled), dtype=np.uint8)
