"""Compare loaded volumes with dcm2niix's reference NIfTI-1 files (header parsed here).

A NIfTI-1 header is 348 bytes (then 4 extension bytes): ``dim`` at byte 40, ``datatype`` at
70, ``pixdim`` at 76, ``vox_offset``, ``scl_slope`` and ``scl_inter`` at 108, ``sform_code`` at
254 and the three ``srow`` rows at 280.  Voxel (i, j, k) of the file maps through the sform to
RAS millimetres; i runs fastest.  Our volumes are (slice, row, column) to LPS: the comparison
flips x and y, then finds which of our axes (and in which direction) each NIfTI axis is, since
dcm2niix reverses rows and may reverse slices.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}


@dataclass(frozen=True)
class NiftiHeader:
    dim: tuple[int, ...]  # nx, ny, nz[, nt]
    datatype: int
    vox_offset: int
    scl_slope: float
    scl_inter: float
    sform_code: int
    affine: npt.NDArray[np.float64]  # 4x4, voxel (i, j, k) -> RAS mm
    endian: str

    @property
    def n_volumes(self) -> int:
        return self.dim[3] if len(self.dim) > 3 else 1


def read_header(data: bytes) -> NiftiHeader:
    """Parse the first 348 bytes of a NIfTI-1 file."""
    if len(data) < 348:
        raise ValueError("a NIfTI-1 header has 348 bytes")
    endian = "<" if struct.unpack("<i", data[:4])[0] == 348 else ">"
    if struct.unpack(endian + "i", data[:4])[0] != 348:
        raise ValueError("not a NIfTI-1 header (sizeof_hdr is not 348)")
    dims = struct.unpack(endian + "8h", data[40:56])
    datatype = struct.unpack(endian + "h", data[70:72])[0]
    vox_offset, slope, inter = struct.unpack(endian + "3f", data[108:120])
    sform_code = struct.unpack(endian + "h", data[254:256])[0]
    srow = np.array(struct.unpack(endian + "12f", data[280:328]), dtype=np.float64).reshape(3, 4)
    affine = np.eye(4)
    affine[:3] = srow
    return NiftiHeader(
        tuple(int(d) for d in dims[1 : dims[0] + 1]),
        int(datatype),
        int(vox_offset),
        float(slope),
        float(inter),
        int(sform_code),
        affine,
        endian,
    )


def read_volumes(path: Path) -> tuple[NiftiHeader, npt.NDArray[np.float64]]:
    """A whole reference file: header and scaled values, shape (nx, ny, nz, nt)."""
    raw = path.read_bytes()
    h = read_header(raw)
    dtype = np.dtype(h.endian + _DTYPES[h.datatype])
    shape = (*h.dim[:3], h.n_volumes)
    n = int(np.prod(shape))
    arr = np.frombuffer(raw, dtype=dtype, count=n, offset=h.vox_offset).reshape(shape, order="F")
    slope = h.scl_slope if h.scl_slope not in (0.0,) and np.isfinite(h.scl_slope) else 1.0
    return h, arr.astype(np.float64) * slope + h.scl_inter


@dataclass(frozen=True)
class Alignment:
    """How our (slice, row, column) array maps onto the reference's (i, j, k)."""

    axes: tuple[int, int, int]  # for reference axis a, our axis axes[a] (0 slice, 1 row, 2 col)
    flips: tuple[bool, bool, bool]  # reference axis a runs against our axis
    affine: npt.NDArray[np.float64]  # our affine re-expressed for the reference's voxel order

    def to_reference(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Our (slice, row, column) array in the reference's (i, j, k) voxel order."""
        out = np.transpose(array, self.axes)
        for a, flip in enumerate(self.flips):
            if flip:
                out = np.flip(out, axis=a)
        return out


def align(
    affine_lps: npt.NDArray[np.float64], shape: tuple[int, ...], ref: NiftiHeader
) -> Alignment:
    """Match our axes with the reference's; raises AssertionError when no axis matches."""
    ours = LPS_TO_RAS @ np.asarray(affine_lps, dtype=np.float64)
    axes: list[int] = []
    flips: list[bool] = []
    out = np.eye(4)
    origin = ours[:3, 3].copy()
    for a in range(3):
        ref_col = ref.affine[:3, a]
        best = max(
            range(3),
            key=lambda b: (
                abs(float(np.dot(ref_col, ours[:3, b])))
                / (np.linalg.norm(ours[:3, b]) * np.linalg.norm(ref_col) or 1.0)
            ),
        )
        cos = float(np.dot(ref_col, ours[:3, best])) / (
            np.linalg.norm(ours[:3, best]) * np.linalg.norm(ref_col)
        )
        assert abs(cos) > 0.9, f"no axis of ours runs along the reference's axis {a}"
        flip = cos < 0
        axes.append(best)
        flips.append(flip)
        col = ours[:3, best]
        if flip:
            origin = origin + col * (shape[best] - 1)
            col = -col
        out[:3, a] = col
    out[:3, 3] = origin
    assert len(set(axes)) == 3, f"two reference axes matched one of ours: {axes}"
    return Alignment((axes[0], axes[1], axes[2]), (flips[0], flips[1], flips[2]), out)


def locate(
    alignment: Alignment, ref: NiftiHeader, shape: tuple[int, ...]
) -> tuple[tuple[int, int, int], float]:
    """Where our volume lies in the reference's voxels, and how far off it is (mm).

    Our volume may hold only some of the reference's slices (test data keep a few files):
    its first voxel is reference voxel ``offset``; the error is the largest distance between
    where ours and the reference put our volume's eight corners.
    """
    inv = np.linalg.inv(ref.affine)
    start = inv @ alignment.affine[:, 3]
    offset = tuple(round(float(v)) for v in start[:3])
    dims = [shape[b] for b in alignment.axes]
    corners = np.array(
        [
            [i, j, k, 1.0]
            for i in (0, dims[0] - 1)
            for j in (0, dims[1] - 1)
            for k in (0, dims[2] - 1)
        ]
    )
    ours = corners @ alignment.affine.T
    shifted = corners.copy()
    shifted[:, :3] += np.asarray(offset, dtype=np.float64)
    theirs = shifted @ ref.affine.T
    error = float(np.max(np.linalg.norm(ours[:, :3] - theirs[:, :3], axis=1)))
    return (offset[0], offset[1], offset[2]), error
