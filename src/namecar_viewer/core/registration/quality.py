"""Helpers for judging a registration by eye: checkerboard and edge overlays of two slices.

Both work on two slices already on the same pixel grid (the fixed slice and the moving volume
resampled through the candidate transform), each scaled to 0..1 for display.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float2D = npt.NDArray[np.float32]


def normalise(slice_: npt.ArrayLike, lower: float, upper: float) -> Float2D:
    """Scale values to 0..1 between ``lower`` and ``upper`` (NaN -> 0)."""
    a = np.asarray(slice_, dtype=np.float32)
    if upper <= lower:
        raise ValueError('Argument "upper" must be greater than "lower".')
    out = np.clip((a - np.float32(lower)) / np.float32(upper - lower), 0.0, 1.0)
    return np.asarray(np.nan_to_num(out, nan=0.0), dtype=np.float32)


def checkerboard(a: npt.ArrayLike, b: npt.ArrayLike, squares: int = 8) -> Float2D:
    """Alternate squares of ``a`` and ``b`` (``squares`` per side); misregistration breaks edges.

    >>> checkerboard(np.zeros((4, 4)), np.ones((4, 4)), squares=2).tolist()[0]
    [0.0, 0.0, 1.0, 1.0]
    """
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"Slices must be 2D and the same shape; got {x.shape} and {y.shape}.")
    if squares < 1:
        raise ValueError('Argument "squares" must be at least 1.')
    rows, cols = x.shape
    r = (np.arange(rows) * squares // max(rows, 1))[:, None]
    c = (np.arange(cols) * squares // max(cols, 1))[None, :]
    return np.where((r + c) % 2 == 0, x, y).astype(np.float32)


def edges(a: npt.ArrayLike) -> Float2D:
    """Gradient magnitude (central differences), scaled to 0..1."""
    x = np.asarray(a, dtype=np.float32)
    gy, gx = np.gradient(x)
    mag = np.hypot(gx, gy)
    top = float(mag.max()) if mag.size else 0.0
    return np.asarray(mag / top if top > 0 else mag, dtype=np.float32)


def edge_overlay(base: npt.ArrayLike, moving: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """RGB uint8 image (rows, cols, 3): ``base`` in grey, the edges of ``moving`` in green."""
    b = np.asarray(base, dtype=np.float32)
    e = edges(moving)
    if b.shape != e.shape:
        raise ValueError(f"Slices must be the same shape; got {b.shape} and {e.shape}.")
    grey = np.clip(b, 0.0, 1.0) * 255.0
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    strong = np.clip(e * 2.0, 0.0, 1.0)
    rgb[:, :, 0] *= 1.0 - strong
    rgb[:, :, 2] *= 1.0 - strong
    rgb[:, :, 1] = np.maximum(rgb[:, :, 1], strong * 255.0)
    return np.rint(rgb).astype(np.uint8)
