"""Semi-automatic diameter: a click inside a lesion proposes its contour and RECIST diameters.

The displayed 2D slice is segmented by SimpleITK's ConfidenceConnected region growing seeded at
the click (mean +/- ``multiplier`` SD of the neighbourhood, iterated), holes filled, restricted
to ``max_radius_mm`` around the click so a lesion touching tissue of the same density cannot
flood an organ.  The contour is the set of points half-way between each lesion pixel and its
outside 4-neighbours (the edge where the boundary lies), mapped to patient mm through the plane,
so the diameters are exact for anisotropic pixels and oblique planes:

* the long axis is the longest distance between two contour points;
* the short axis is the longest chord perpendicular to it (contour points binned along the long
  axis, the widest bin), both endpoints on the same perpendicular so they are exactly
  perpendicular.

The reader accepts, edits or discards the proposal; nothing is stored until accepted.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry.reslice import Plane
from namecar_viewer.core.measure.record import Point

FloatArray = npt.NDArray[np.float64]

# Region growing settings: typical of ITK's examples for CT lesions; noise-robust with 3 passes.
CONFIDENCE_MULTIPLIER = 2.5
CONFIDENCE_ITERATIONS = 3
CONFIDENCE_RADII_PX = (2, 1)
DEFAULT_MAX_RADIUS_MM = 60.0
# Contour point sets above this size are thinned before the O(n^2) longest-chord search.
_MAX_CONTOUR_POINTS = 3000


@dataclass(frozen=True)
class DiameterProposal:
    """A proposed lesion outline and its long and short axes (LPS mm)."""

    contour: tuple[Point, ...]  # ordered around the centroid, for drawing
    long_axis: tuple[Point, Point]
    short_axis: tuple[Point, Point]
    long_axis_mm: float
    short_axis_mm: float
    n_pixels: int
    area_mm2: float

    @property
    def points(self) -> tuple[Point, Point, Point, Point]:
        """Points of a bidirectional measurement record."""
        return (*self.long_axis, *self.short_axis)


class SegmentationError(ValueError):
    """The click did not give a usable region (outside the image, empty or flooding)."""


def _t(p: Any) -> Point:
    return (float(p[0]), float(p[1]), float(p[2]))


def grow_region(
    pixels: npt.NDArray[Any],
    seed_rc: tuple[int, int],
    pixel_spacing: tuple[float, float],
    max_radius_mm: float = DEFAULT_MAX_RADIUS_MM,
) -> npt.NDArray[np.bool_]:
    """Boolean mask of the region grown from ``seed_rc`` on a 2D slice."""
    # SimpleITK ships without type information; imported on demand (heavy import).
    sitk: Any = importlib.import_module("SimpleITK")

    rows, cols = pixels.shape
    r, c = seed_rc
    if not (0 <= r < rows and 0 <= c < cols):
        raise SegmentationError(f"The click ({r}, {c}) is outside the {rows}x{cols} slice.")
    data = np.asarray(pixels, dtype=np.float32)
    if not np.isfinite(data[r, c]):
        raise SegmentationError("The click is outside the scanned volume.")
    data = np.where(np.isfinite(data), data, np.float32(-1e6))
    # Crop to the search radius: bounds the work and the leak.
    hr = int(np.ceil(max_radius_mm / pixel_spacing[0]))
    hc = int(np.ceil(max_radius_mm / pixel_spacing[1]))
    r0, r1 = max(r - hr, 0), min(r + hr + 1, rows)
    c0, c1 = max(c - hc, 0), min(c + hc + 1, cols)
    crop = np.ascontiguousarray(data[r0:r1, c0:c1])
    img = sitk.GetImageFromArray(crop)
    img.SetSpacing((float(pixel_spacing[1]), float(pixel_spacing[0])))
    seed = (int(c - c0), int(r - r0))
    yy, xx = np.mgrid[r0:r1, c0:c1]
    dist2 = ((yy - r) * pixel_spacing[0]) ** 2 + ((xx - c) * pixel_spacing[1]) ** 2
    local: npt.NDArray[np.bool_] | None = None
    # A 5x5 neighbourhood gives robust statistics on large lesions; a small lesion (a few
    # pixels across) needs the 3x3 one, or its statistics include the surrounding tissue.
    for radius in CONFIDENCE_RADII_PX:
        seg = sitk.ConfidenceConnected(
            img,
            seedList=[seed],
            numberOfIterations=CONFIDENCE_ITERATIONS,
            multiplier=CONFIDENCE_MULTIPLIER,
            initialNeighborhoodRadius=radius,
            replaceValue=1,
        )
        seg = sitk.BinaryFillhole(seg)
        raw = sitk.GetArrayFromImage(seg) > 0
        # Opening by one pixel cuts thin bridges into neighbouring tissue of the same density;
        # a lesion too small to survive the opening keeps its raw region.
        cc = sitk.ConnectedComponent(sitk.BinaryMorphologicalOpening(seg, [1, 1]))
        label = int(cc[seed])
        region = sitk.GetArrayFromImage(cc) == label if label else raw
        if region[seed[1], seed[0]] and not np.any(region & (dist2 > (max_radius_mm * 0.98) ** 2)):
            local = region
            break
    if local is None:
        raise SegmentationError(
            f"The region grown from the click reaches {max_radius_mm:g} mm or is empty: it is "
            "not a separate lesion on this slice (draw the diameter by hand)."
        )
    mask = np.zeros((rows, cols), dtype=bool)
    mask[r0:r1, c0:c1] = local
    if not mask[r, c]:
        raise SegmentationError("No region grows from the click.")
    return mask


def edge_points_rc(mask: npt.NDArray[np.bool_]) -> FloatArray:
    """Fractional (row, col) points half-way between region pixels and outside 4-neighbours."""
    padded = np.pad(mask, 1)
    out: list[FloatArray] = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nb = padded[1 + dr : 1 + dr + mask.shape[0], 1 + dc : 1 + dc + mask.shape[1]]
        rr, cc = np.nonzero(mask & ~nb)
        out.append(np.stack([rr + dr * 0.5, cc + dc * 0.5], axis=1).astype(np.float64))
    return np.concatenate(out) if out else np.zeros((0, 2))


def diameters_from_points(
    pts: FloatArray, normal: Any, bin_mm: float
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Longest chord of LPS contour points and the longest chord perpendicular to it."""
    if pts.shape[0] > _MAX_CONTOUR_POINTS:
        pts = pts[:: int(np.ceil(pts.shape[0] / _MAX_CONTOUR_POINTS))]
    d2 = np.sum((pts[:, None, :] - pts[None, :, :]) ** 2, axis=-1)
    i, j = np.unravel_index(int(np.argmax(d2)), d2.shape)
    a, b = pts[i], pts[j]
    u = (b - a) / np.linalg.norm(b - a)
    n = np.cross(np.asarray(normal, dtype=np.float64), u)
    n /= np.linalg.norm(n)
    s = (pts - a) @ u
    t = (pts - a) @ n
    bins = np.floor(s / bin_mm).astype(int)
    best, best_w = (0.0, 0.0, 0.0), -1.0
    for bidx in np.unique(bins):
        sel = bins == bidx
        lo, hi = float(t[sel].min()), float(t[sel].max())
        if hi - lo > best_w:
            best_w, best = hi - lo, (float(s[sel].mean()), lo, hi)
    sm, lo, hi = best
    c = a + sm * u + lo * n
    d = a + sm * u + hi * n
    return (a, b), (c, d)


def propose_diameters(
    pixels: npt.NDArray[Any],
    plane: Plane,
    seed_rc: tuple[float, float],
    max_radius_mm: float = DEFAULT_MAX_RADIUS_MM,
) -> DiameterProposal:
    """Contour, long axis and perpendicular short axis of the lesion under ``seed_rc``."""
    seed = (round(seed_rc[0]), round(seed_rc[1]))
    mask = grow_region(pixels, seed, plane.pixel_spacing, max_radius_mm)
    edge_rc = edge_points_rc(mask)
    pts = plane.pixel_to_patient(edge_rc)
    bin_mm = 0.5 * min(plane.pixel_spacing)
    (a, b), (c, d) = diameters_from_points(pts, plane.normal, bin_mm)
    centroid = pts.mean(axis=0)
    rel = pts - centroid
    ang = np.arctan2(rel @ plane.column_direction, rel @ plane.row_direction)
    order = np.argsort(ang)
    n = int(mask.sum())
    return DiameterProposal(
        contour=tuple(_t(p) for p in pts[order]),
        long_axis=(_t(a), _t(b)),
        short_axis=(_t(c), _t(d)),
        long_axis_mm=float(np.linalg.norm(b - a)),
        short_axis_mm=float(np.linalg.norm(d - c)),
        n_pixels=n,
        area_mm2=n * plane.pixel_spacing[0] * plane.pixel_spacing[1],
    )
