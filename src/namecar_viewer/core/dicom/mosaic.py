"""Mosaics: one stored image holding the slices of a volume as tiles of a grid.

Siemens EPI ("MOSAIC" in ImageType (0008,0008)): ``NumberOfImagesInMosaic`` slices (CSA image
header, or the older (0019,xx0A) of "SIEMENS MR HEADER") fill a square grid of
ceil(sqrt(n)) x ceil(sqrt(n)) tiles, row by row.  ImagePositionPatient is the corner of the whole
mosaic as if it were one slice: the first tile's corner lies half the difference in size further
along the row and column directions (NiBabel's "Siemens mosaic format" note).  Slice k lies k x
SpacingBetweenSlices along the CSA ``SliceNormalVector``, which may point against
row x column: the tiles are stored in that order.

UIH ("VFRAME"): the grid need not be square; (0065,xx50) gives the number of slices and each
item of (0065,xx51) the position of its slice, in tile order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from namecar_viewer.core.dicom.vendor import (
    SIEMENS_CSA,
    SIEMENS_MR,
    UIH_IMAGE,
    csa_floats,
    number,
    numbers,
    parse_csa,
    private_value,
)

MAX_TILES = 4096


class MosaicError(ValueError):
    """A mosaic whose tiles cannot be found from its header (the reason is the message)."""


@dataclass(frozen=True)
class TileSpec:
    """Where one slice lies in the stored image, and where it lies in the patient."""

    index: int  # 0-based, in storage order
    row: int  # first row of the tile in the stored image
    col: int  # first column
    position: tuple[float, float, float] | None


@dataclass
class MosaicPlan:
    """The tiles of one mosaic image: their size, offsets and positions."""

    tile_rows: int
    tile_cols: int
    tiles: list[TileSpec]
    kind: str  # "Siemens mosaic" or "UIH VFRAME"
    notes: list[str] = field(default_factory=list)  # what was assumed, for the scan report
    csa: dict[str, list[str]] = field(default_factory=dict)


def image_type(ds: Any) -> tuple[str, ...]:
    it = ds.get("ImageType")
    if it is None:
        return ()
    if isinstance(it, str):
        return tuple(x.strip().upper() for x in it.split("\\"))
    try:
        return tuple(str(x).strip().upper() for x in it)
    except TypeError:
        return ()


def is_siemens_mosaic(ds: Any) -> bool:
    return "MOSAIC" in image_type(ds)


def is_uih_vframe(ds: Any) -> bool:
    return "VFRAME" in image_type(ds)


def siemens_mosaic(
    ds: Any,
    rows: int,
    cols: int,
    orientation: tuple[float, ...] | None,
    position: tuple[float, ...] | None,
    pixel_spacing: tuple[float, ...] | None,
) -> MosaicPlan:
    """The tiles of a Siemens mosaic; raises MosaicError when the header does not tell them."""
    csa = parse_csa(private_value(ds, 0x0029, SIEMENS_CSA, 0x10, "OB"))
    n_raw = csa_floats(csa, "NumberOfImagesInMosaic")
    n = n_raw[0] if n_raw else number(private_value(ds, 0x0019, SIEMENS_MR, 0x0A, "US"))
    if n is None or n != int(n) or not 1 <= n <= MAX_TILES:
        raise MosaicError(
            "ImageType says MOSAIC but NumberOfImagesInMosaic (CSA image header (0029,1010) "
            "or (0019,100A)) is missing or invalid"
        )
    n_tiles = int(n)
    grid = math.ceil(math.sqrt(n_tiles))
    if rows % grid or cols % grid:
        raise MosaicError(
            f"a mosaic of {n_tiles} images needs a {grid} x {grid} grid, but Rows {rows} x "
            f"Columns {cols} do not divide into it"
        )
    tile_rows, tile_cols = rows // grid, cols // grid
    notes: list[str] = []
    if orientation is None or position is None:
        tiles = [
            TileSpec(k, (k // grid) * tile_rows, (k % grid) * tile_cols, None)
            for k in range(n_tiles)
        ]
        return MosaicPlan(tile_rows, tile_cols, tiles, "Siemens mosaic", notes, csa)
    iop = np.asarray(orientation, dtype=np.float64)
    row_dir, col_dir = iop[:3], iop[3:]
    ps = pixel_spacing or (1.0, 1.0)
    ps_row, ps_col = float(ps[0]), float(ps[1])  # between rows, between columns
    normal_csa = csa_floats(csa, "SliceNormalVector")
    cross = np.cross(row_dir, col_dir)
    if normal_csa is not None and len(normal_csa) == 3 and np.linalg.norm(normal_csa) > 0.5:
        normal = np.asarray(normal_csa, dtype=np.float64)
        normal = normal / np.linalg.norm(normal)
    else:
        normal = cross / np.linalg.norm(cross)
        notes.append(
            "SliceNormalVector missing from the CSA header: slices assumed in the direction "
            "of row x column"
        )
    spacing = number(ds.get("SpacingBetweenSlices"))
    if spacing is None or spacing <= 0:
        spacing = number(ds.get("SliceThickness"))
        if spacing is None or spacing <= 0:
            spacing = 1.0
            notes.append("no SpacingBetweenSlices nor SliceThickness: 1 mm assumed")
        else:
            notes.append("SpacingBetweenSlices missing: SliceThickness used as the spacing")
    corner = (
        np.asarray(position, dtype=np.float64)
        + row_dir * ps_col * (cols - tile_cols) / 2.0
        + col_dir * ps_row * (rows - tile_rows) / 2.0
    )
    tiles = []
    for k in range(n_tiles):
        p = corner + normal * (spacing * k)
        tiles.append(
            TileSpec(
                k,
                (k // grid) * tile_rows,
                (k % grid) * tile_cols,
                (float(p[0]), float(p[1]), float(p[2])),
            )
        )
    return MosaicPlan(tile_rows, tile_cols, tiles, "Siemens mosaic", notes, csa)


def _grid(rows: int, cols: int, n: int, aspect: float) -> tuple[int, int]:
    """Tiles per column and per row: fewest unused tiles, then tiles shaped like ``aspect``."""
    best: tuple[float, float, int, int] | None = None
    row_counts = [g for g in range(1, min(rows, n) + 1) if rows % g == 0]
    col_counts = [g for g in range(1, min(cols, n) + 1) if cols % g == 0]
    for gr in row_counts:
        for gc in col_counts:
            if gr * gc < n:
                continue
            shape = (rows / gr) / (cols / gc)
            score = (gr * gc - n, abs(math.log(shape / aspect)), gr, gc)
            if best is None or score < best:
                best = score
    if best is None:
        raise MosaicError(f"Rows {rows} x Columns {cols} cannot hold {n} tiles")
    return best[2], best[3]


def uih_vframe(ds: Any, rows: int, cols: int) -> MosaicPlan:
    """The tiles of a UIH VFRAME image (``ds`` read with its sequences)."""
    items = private_value(ds, 0x0065, UIH_IMAGE, 0x51, "SQ")
    n_raw = number(private_value(ds, 0x0065, UIH_IMAGE, 0x50, "DS"))
    try:
        seq = list(items) if items is not None and not isinstance(items, bytes) else []
    except TypeError:
        seq = []
    n = len(seq)
    if n == 0 or (n_raw is not None and int(n_raw) != n) or n > MAX_TILES:
        raise MosaicError(
            "ImageType says VFRAME but the per-slice positions (0065,1051) are missing or "
            f"disagree with the number of slices (0065,1050) {n_raw}"
        )
    aspect = 1.0
    matrix = ds.get("AcquisitionMatrix")
    try:
        nonzero = [int(v) for v in (matrix or []) if int(v) > 0]
        if len(nonzero) == 2:
            aspect = nonzero[0] / nonzero[1]
    except (TypeError, ValueError):
        pass
    gr, gc = _grid(rows, cols, n, aspect)
    tile_rows, tile_cols = rows // gr, cols // gc
    tiles = []
    for k, item in enumerate(seq):
        pos = numbers(item.get("ImagePositionPatient"), 3)
        if pos is None:
            raise MosaicError(f"VFRAME slice {k + 1} has no ImagePositionPatient in (0065,1051)")
        xyz = (pos[0], pos[1], pos[2])
        tiles.append(TileSpec(k, (k // gc) * tile_rows, (k % gc) * tile_cols, xyz))
    return MosaicPlan(tile_rows, tile_cols, tiles, "UIH VFRAME")
