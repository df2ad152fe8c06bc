"""Slices of a Volume in any display plane, each with its exact pixel <-> patient mapping.

Viewports draw these slices and measurement tools convert screen points through
:class:`Plane`, so every coordinate a reader clicks is known in patient LPS millimetres.

Display convention (radiological, as every PACS shows it): on an axial slice the patient's left
is on the screen's right and posterior at the bottom; on a coronal slice left is on the right and
the feet at the bottom; on a sagittal slice posterior is on the right and the feet at the bottom.
The acquisition plane shows the stored rows and columns unchanged.  Reformatted slices are
numbered in the stored stack's order along the nearest axis.

When the volume's axes are parallel to the patient axes (nearly every CT and most MR), an
axial, coronal or sagittal slice is a numpy view of the array: no copy, no interpolation, exact
voxel values.  Otherwise (oblique stacks, gantry tilt) the plane is sampled with trilinear
interpolation on a grid whose spacing is the finest the volume resolves along each direction;
samples outside the volume are NaN.

Examples
--------
>>> import numpy as np
>>> from namecar_viewer.core.geometry import Volume, affine_from_dicom
>>> a = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
>>> v = Volume(a, affine_from_dicom([1, 0, 0, 0, 1, 0], (0.5, 0.7), (0, 0, 0), (0, 0, 2.0)))
>>> s = reslice(v, SliceOrientation.CORONAL, 1)
>>> s.pixels.tolist()  # row 1 of both slices, head (k=1) at the top
[[16, 17, 18, 19], [4, 5, 6, 7]]
>>> s.plane.pixel_to_patient([[0, 3]]).round(3).tolist()
[[2.1, 0.5, 2.0]]
>>> edge_letters(s.plane)
{'left': 'R', 'right': 'L', 'top': 'H', 'bottom': 'F'}
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry.volume import FloatArray, Volume

# A direction component smaller than this (the direction is within about 14.5 degrees of
# perpendicular to that patient axis, asin(0.25)) is left out of the edge letters, so a slightly
# tilted axial still reads "L"/"A" while a 45-degree oblique reads "LA".  Viewers differ here
# (OHIF keeps any non-zero component); this is a display choice, not a standard.
OBLIQUE_LETTER_THRESHOLD = 0.25

# Directions within this cosine distance of a patient axis count as aligned (numpy view path).
_ALIGNED_TOLERANCE = 1e-4


class SliceOrientation(enum.Enum):
    """The plane a viewport shows."""

    ACQUISITION = "acquisition"
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


# (row direction = screen right, column direction = screen down) in LPS for each display plane.
_DISPLAY_AXES: dict[
    SliceOrientation, tuple[tuple[float, float, float], tuple[float, float, float]]
] = {
    SliceOrientation.AXIAL: ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    SliceOrientation.CORONAL: ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    SliceOrientation.SAGITTAL: ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}


@dataclass(frozen=True, eq=False)
class Plane:
    """A 2D pixel grid in patient space: pixel (row, column) centre -> LPS millimetres.

    ``row_direction`` is the unit vector along a row (column index increasing, screen right),
    ``column_direction`` the unit vector down a column (row index increasing, screen down);
    ``pixel_spacing`` is (distance between rows, distance between columns) in mm, the order of
    DICOM PixelSpacing.  ``origin`` is the centre of pixel (0, 0).
    """

    origin: FloatArray
    row_direction: FloatArray
    column_direction: FloatArray
    pixel_spacing: tuple[float, float]
    shape: tuple[int, int]

    @property
    def normal(self) -> FloatArray:
        """Unit normal, row x column (for an acquisition plane, DICOM's slice normal)."""
        n = np.cross(self.row_direction, self.column_direction)
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    def pixel_to_patient(self, pixels: npt.ArrayLike) -> FloatArray:
        """Map an (n, 2) array of (row, column) pixel coordinates (fractional allowed) to LPS mm."""
        rc = np.asarray(pixels, dtype=np.float64)
        if rc.ndim != 2 or rc.shape[1] != 2:
            raise ValueError('Argument "pixels" must be a two-dimensional array with shape [n, 2].')
        dr = self.column_direction * self.pixel_spacing[0]
        dc = self.row_direction * self.pixel_spacing[1]
        return np.asarray(
            self.origin + rc[:, :1] * dr[None, :] + rc[:, 1:2] * dc[None, :], dtype=np.float64
        )

    def patient_to_pixel(self, points: npt.ArrayLike) -> FloatArray:
        """Map an (n, 3) array of LPS points to (row, column), projecting onto the plane."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError('Argument "points" must be a two-dimensional array with shape [n, 3].')
        # Least-squares inverse rather than a projection: stored direction cosines are rounded
        # and not exactly orthogonal, and pixel -> patient -> pixel must round trip exactly.
        m = np.stack(
            [
                self.column_direction * self.pixel_spacing[0],
                self.row_direction * self.pixel_spacing[1],
            ],
            axis=1,
        )
        return np.asarray((pts - self.origin) @ np.linalg.pinv(m).T, dtype=np.float64)

    def distance(self, points: npt.ArrayLike) -> FloatArray:
        """Signed distance in mm of (n, 3) LPS points from the plane, along ``normal``."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return np.asarray((pts - self.origin) @ self.normal, dtype=np.float64)

    def intersection_line(self, other: Plane) -> tuple[float, float, float] | None:
        """Where ``other`` cuts this plane, as (a, b, c) with a*row + b*column + c = 0 in pixels.

        ``None`` when the planes are parallel (no cross-reference line to draw).
        """
        n = other.normal
        a = float(self.pixel_spacing[0] * np.dot(self.column_direction, n))
        b = float(self.pixel_spacing[1] * np.dot(self.row_direction, n))
        if math.hypot(a, b) < 1e-6 * max(self.pixel_spacing):
            return None
        c = float(np.dot(self.origin - other.origin, n))
        return (a, b, c)


@dataclass(frozen=True)
class _AlignedAxes:
    """How a display plane maps onto array axes when no interpolation is needed."""

    slice_axis: int
    row_axis: int
    col_axis: int
    slice_flip: bool
    row_flip: bool
    col_flip: bool


@dataclass(frozen=True, eq=False)
class SliceGeometry:
    """The stack of parallel planes a viewport scrolls through for one orientation.

    Plane ``s`` has its pixel (0, 0) at ``origin + s * slice_step``.
    """

    orientation: SliceOrientation
    origin: FloatArray
    row_direction: FloatArray
    column_direction: FloatArray
    slice_step: FloatArray
    pixel_spacing: tuple[float, float]
    shape: tuple[int, int, int]  # slices, rows, columns
    aligned: _AlignedAxes | None

    @property
    def count(self) -> int:
        return self.shape[0]

    @functools.cached_property
    def normal(self) -> FloatArray:
        """The unit normal (read-only: computed once, a frame asks for it several times)."""
        n = np.cross(self.row_direction, self.column_direction)
        out = np.asarray(n / np.linalg.norm(n), dtype=np.float64)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def _position_terms(self) -> tuple[float, float]:
        """(origin, step) along the displayed normal: ``position_mm`` is one multiply-add."""
        n = self.normal
        if n[int(np.argmax(np.abs(n)))] < 0:
            n = -n
        return float(np.dot(self.origin, n)), float(np.dot(self.slice_step, n))

    @property
    def slice_spacing(self) -> float:
        """Distance in mm between neighbouring planes, along the normal."""
        return abs(float(np.dot(self.slice_step, self.normal)))

    def plane(self, index: int) -> Plane:
        return Plane(
            origin=np.asarray(self.origin + index * self.slice_step, dtype=np.float64),
            row_direction=self.row_direction,
            column_direction=self.column_direction,
            pixel_spacing=self.pixel_spacing,
            shape=(self.shape[1], self.shape[2]),
        )

    def fractional_index(self, point: npt.ArrayLike) -> float:
        """Slice coordinate of an LPS point (0 = first plane), along the slice step."""
        p = np.asarray(point, dtype=np.float64).reshape(3)
        n = self.normal
        return float(np.dot(p - self.origin, n) / np.dot(self.slice_step, n))

    def index_of(self, point: npt.ArrayLike) -> int:
        """Nearest slice to an LPS point, clipped to the stack."""
        s = round(self.fractional_index(point))
        return int(min(max(s, 0), self.count - 1))

    def position_mm(self, index: int) -> float:
        """Position of plane ``index`` as shown beside the slice number.

        The coordinate along the normal oriented so that its largest LPS component is positive:
        z for axial planes, y for coronal, x for sagittal (like DICOM SliceLocation on axials).
        """
        origin, step = self._position_terms
        return origin + index * step


@dataclass(frozen=True, eq=False)
class Slice:
    """One displayed 2D image with the plane it lies in."""

    pixels: npt.NDArray[Any]
    plane: Plane
    index: int
    count: int
    position_mm: float
    interpolated: bool


def _unit(v: npt.ArrayLike) -> FloatArray:
    a = np.asarray(v, dtype=np.float64)
    return np.asarray(a / np.linalg.norm(a), dtype=np.float64)


def _finest_step(volume: Volume, direction: FloatArray) -> float:
    """Largest step along ``direction`` that moves no array index by more than one voxel."""
    per_mm = np.abs(np.linalg.inv(volume.affine[:3, :3]) @ direction)
    return float(1.0 / per_mm.max())


def _aligned_axes(volume: Volume, axes: list[FloatArray]) -> _AlignedAxes | None:
    """Match each display axis to one array axis when all are parallel, else ``None``."""
    d = volume.direction
    m = d.T @ np.stack(axes, axis=1)  # m[a, b] = cosine between array axis a and display axis b
    match: list[tuple[int, bool]] = []
    for b in range(3):
        a = int(np.argmax(np.abs(m[:, b])))
        if abs(abs(m[a, b]) - 1.0) > _ALIGNED_TOLERANCE:
            return None
        match.append((a, bool(m[a, b] < 0)))
    if len({a for a, _ in match}) != 3:
        return None
    (ra, rf), (ca, cf), (sa, sf) = match
    return _AlignedAxes(sa, ca, ra, sf, cf, rf)


def _exact_spacing(volume: Volume) -> tuple[float, float, float]:
    # Volume.spacing is rounded for display; planes must reproduce the affine to the last bit.
    n = np.linalg.norm(volume.affine[:3, :3], axis=0)
    return (float(n[0]), float(n[1]), float(n[2]))


def slice_geometry(volume: Volume, orientation: SliceOrientation) -> SliceGeometry:
    """The planes ``orientation`` cuts through ``volume``, covering all of it."""
    aff = volume.affine
    nk, nj, ni = volume.shape
    if orientation is SliceOrientation.ACQUISITION:
        sp = _exact_spacing(volume)
        return SliceGeometry(
            orientation=orientation,
            origin=aff[:3, 3].copy(),
            row_direction=_unit(aff[:3, 2]),
            column_direction=_unit(aff[:3, 1]),
            slice_step=aff[:3, 0].copy(),
            pixel_spacing=(sp[1], sp[2]),
            shape=(nk, nj, ni),
            aligned=_AlignedAxes(0, 1, 2, False, False, False),
        )
    row_dir = np.asarray(_DISPLAY_AXES[orientation][0], dtype=np.float64)
    col_dir = np.asarray(_DISPLAY_AXES[orientation][1], dtype=np.float64)
    # Slices run the way the stored stack runs along its axis nearest the normal, so that an
    # axial view of an axial stack numbers its images like the acquisition (Im 1 = first stored).
    normal = np.cross(row_dir, col_dir)
    nearest = int(np.argmax(np.abs(volume.direction.T @ normal)))
    if float(volume.direction[:, nearest] @ normal) < 0:
        normal = -normal
    aligned = _aligned_axes(volume, [row_dir, col_dir, normal])
    steps = [_finest_step(volume, v) for v in (row_dir, col_dir, normal)]
    if aligned is not None:
        # Exact voxel spacing, no rounding of the step by the inverse.
        sp = _exact_spacing(volume)
        steps = [sp[aligned.col_axis], sp[aligned.row_axis], sp[aligned.slice_axis]]
    corners = np.array(
        [[k, j, i] for k in (0, nk - 1) for j in (0, nj - 1) for i in (0, ni - 1)], dtype=np.float64
    )
    pts = volume.index_to_patient(corners)
    lo = [float((pts @ v).min()) for v in (row_dir, col_dir, normal)]
    hi = [float((pts @ v).max()) for v in (row_dir, col_dir, normal)]
    counts = [math.floor((h - low) / s + 1e-6) + 1 for low, h, s in zip(lo, hi, steps, strict=True)]
    origin = lo[0] * row_dir + lo[1] * col_dir + lo[2] * normal
    return SliceGeometry(
        orientation=orientation,
        origin=np.asarray(origin, dtype=np.float64),
        row_direction=row_dir,
        column_direction=col_dir,
        slice_step=np.asarray(normal * steps[2], dtype=np.float64),
        pixel_spacing=(steps[1], steps[0]),
        shape=(counts[2], counts[1], counts[0]),
        aligned=aligned,
    )


def _aligned_pixels(array: npt.NDArray[Any], ax: _AlignedAxes, index: int) -> npt.NDArray[Any]:
    n = array.shape[ax.slice_axis]
    k = n - 1 - index if ax.slice_flip else index
    picker: list[Any] = [slice(None)] * 3
    picker[ax.slice_axis] = k
    plane: npt.NDArray[Any] = array[tuple(picker)]
    remaining = [a for a in range(3) if a != ax.slice_axis]
    if remaining.index(ax.row_axis) != 0:
        plane = plane.T
    if ax.row_flip:
        plane = plane[::-1, :]
    if ax.col_flip:
        plane = plane[:, ::-1]
    return plane


def sample_trilinear(array: npt.NDArray[Any], indices: FloatArray) -> npt.NDArray[np.float32]:
    """Trilinear samples of ``array`` at fractional (k, j, i) ``indices`` (..., 3); NaN outside."""
    shape = np.asarray(array.shape, dtype=np.float64)
    idx = indices.reshape(-1, 3)
    eps = 1e-6
    inside = np.all((idx >= -eps) & (idx <= shape - 1 + eps), axis=1)
    clipped = np.clip(idx, 0.0, shape - 1)
    base = np.minimum(np.floor(clipped), np.maximum(shape - 2, 0)).astype(np.intp)
    frac = (clipped - base).astype(np.float32)
    out = np.zeros(idx.shape[0], dtype=np.float32)
    upper = np.minimum(base + 1, (shape - 1).astype(np.intp))
    for dk in (0, 1):
        k = upper[:, 0] if dk else base[:, 0]
        wk = frac[:, 0] if dk else 1.0 - frac[:, 0]
        for dj in (0, 1):
            j = upper[:, 1] if dj else base[:, 1]
            wj = frac[:, 1] if dj else 1.0 - frac[:, 1]
            for di in (0, 1):
                i = upper[:, 2] if di else base[:, 2]
                wi = frac[:, 2] if di else 1.0 - frac[:, 2]
                out += wk * wj * wi * array[k, j, i].astype(np.float32)
    out[~inside] = np.nan
    return out.reshape(indices.shape[:-1])


def reslice(
    volume: Volume,
    orientation: SliceOrientation,
    index: int,
    geometry: SliceGeometry | None = None,
) -> Slice:
    """Slice ``index`` of ``volume`` in ``orientation`` (pass ``geometry`` to reuse it)."""
    geo = geometry if geometry is not None else slice_geometry(volume, orientation)
    if not 0 <= index < geo.count:
        raise IndexError(f"Slice {index} is outside 0..{geo.count - 1} for {orientation.value}.")
    plane = geo.plane(index)
    if geo.aligned is not None:
        pixels = _aligned_pixels(volume.array, geo.aligned, index)
        interpolated = False
    else:
        rows, cols = plane.shape
        rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        pts = plane.pixel_to_patient(np.stack([rr.ravel(), cc.ravel()], axis=1))
        idx = volume.patient_to_index(pts)
        pixels = sample_trilinear(volume.array, idx).reshape(rows, cols)
        interpolated = True
    return Slice(
        pixels=pixels,
        plane=plane,
        index=index,
        count=geo.count,
        position_mm=geo.position_mm(index),
        interpolated=interpolated,
    )


def orientation_letters(
    direction: npt.ArrayLike, threshold: float = OBLIQUE_LETTER_THRESHOLD
) -> str:
    """Patient-direction letters of an LPS direction, strongest first ("L", "LA", "HP").

    +x is the patient's Left, +y Posterior, +z Head (DICOM PS3.3 C.7.6.1.1.1).
    """
    v = _unit(direction)
    letters = (("R", "L"), ("A", "P"), ("F", "H"))
    order = np.argsort(-np.abs(v), kind="stable")
    out = ""
    for axis in order:
        comp = float(v[axis])
        if abs(comp) >= threshold:
            out += letters[axis][1 if comp > 0 else 0]
    return out


def edge_letters(plane: Plane) -> dict[str, str]:
    """Letters for the four viewport edges of ``plane`` (screen right = row direction)."""
    return {
        "left": orientation_letters(-plane.row_direction),
        "right": orientation_letters(plane.row_direction),
        "top": orientation_letters(-plane.column_direction),
        "bottom": orientation_letters(plane.column_direction),
    }


# --- Window / level -------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowLevel:
    """A linear grey ramp from ``center - width/2`` (black) to ``center + width/2`` (white)."""

    width: float
    center: float

    def __post_init__(self) -> None:
        if not self.width > 0:
            raise ValueError(f"Window width must be positive, got {self.width}.")

    @property
    def lower(self) -> float:
        return self.center - self.width / 2.0

    @property
    def upper(self) -> float:
        return self.center + self.width / 2.0


@dataclass(frozen=True)
class WindowPreset:
    """A named window a reader picks by menu or key."""

    name: str
    window: WindowLevel | None  # None: computed from the image (MR percentiles, PET SUV range)
    invert: bool = False
    modality: str = "CT"


# Common clinical CT windows (width/level in HU; Radiopaedia "Windowing (CT)", and the NAMECAR
# viewer specification, issue 3, for the contrast-enhanced liver window 150/90).
CT_SOFT_TISSUE = WindowPreset("Soft tissue", WindowLevel(400.0, 40.0))
CT_LUNG = WindowPreset("Lung", WindowLevel(1500.0, -600.0))
CT_BONE = WindowPreset("Bone", WindowLevel(1800.0, 400.0))
CT_LIVER = WindowPreset("Liver", WindowLevel(150.0, 90.0))
CT_MEDIASTINUM = WindowPreset("Mediastinum", WindowLevel(350.0, 50.0))
MR_AUTO = WindowPreset("Auto (1st-99th percentile)", None, modality="MR")
PET_SUV = WindowPreset("PET SUV 0-N inverted", None, invert=True, modality="PT")
PRESETS: tuple[WindowPreset, ...] = (
    CT_SOFT_TISSUE,
    CT_LUNG,
    CT_BONE,
    CT_LIVER,
    CT_MEDIASTINUM,
    MR_AUTO,
    PET_SUV,
)

# Percentiles of the automatic MR window: ignores the empty background and a few hot voxels.
AUTO_WINDOW_PERCENTILES = (1.0, 99.0)
# Upper end of the default PET grey scale in SUV (g/ml); PSMA lesions are often SUV 5-50,
# normal liver around 5: 0-10 shows both.  The reader changes N with the window drag.
PET_SUV_DISPLAY_MAX = 10.0
# Sample at most about this many voxels for percentiles, so a 400-slice CT costs milliseconds.
_PERCENTILE_SAMPLES = 2_000_000


def auto_window(
    array: npt.NDArray[Any], percentiles: tuple[float, float] = AUTO_WINDOW_PERCENTILES
) -> WindowLevel:
    """Window spanning the given percentiles of the finite values (strided subsample)."""
    stride = max(1, round((array.size / _PERCENTILE_SAMPLES) ** (1.0 / 3.0)))
    sample = np.asarray(array[::stride, ::stride, ::stride] if array.ndim == 3 else array)
    sample = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample.ravel()
    if sample.size == 0:
        return WindowLevel(1.0, 0.0)
    lo, hi = (float(x) for x in np.percentile(sample, percentiles))
    if hi <= lo:
        hi = lo + 1.0
    return WindowLevel(hi - lo, (hi + lo) / 2.0)


def pet_window(suv_max: float = PET_SUV_DISPLAY_MAX) -> WindowLevel:
    """Window from 0 to ``suv_max``."""
    return WindowLevel(suv_max, suv_max / 2.0)


def preset_window(preset: WindowPreset, volume: Volume) -> WindowLevel:
    """The window a preset gives on ``volume`` (computed for the image-dependent presets)."""
    if preset.window is not None:
        return preset.window
    if preset is PET_SUV:
        return pet_window()
    return auto_window(volume.array)


def default_display(volume: Volume) -> tuple[WindowLevel, bool]:
    """First window and inversion for a newly shown volume, by modality."""
    if volume.modality == "CT":
        return CT_SOFT_TISSUE.window or WindowLevel(400.0, 40.0), False
    units = str(volume.metadata.get("units") or volume.metadata.get("unit") or "")
    if volume.modality == "PT" and (units.startswith("SUV") or units in ("GML", "g/ml")):
        return pet_window(), True
    return auto_window(volume.array), volume.modality == "PT"


def _lut(wl: WindowLevel, values: npt.NDArray[Any], invert: bool) -> npt.NDArray[np.uint8]:
    scaled = (values.astype(np.float64) - wl.lower) * (255.0 / wl.width)
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return np.asarray(255 - out if invert else out, dtype=np.uint8)


_LUT_CACHE: dict[tuple[str, float, float, bool], npt.NDArray[np.uint8]] = {}


def apply_window(
    pixels: npt.NDArray[Any], wl: WindowLevel, invert: bool = False
) -> npt.NDArray[np.uint8]:
    """Map modality values to a C-contiguous uint8 grey image (NaN -> black).

    Integer images of 8 or 16 bits go through a cached lookup table (one gather per pixel);
    other types are scaled arithmetically.
    """
    kind, size = pixels.dtype.kind, pixels.dtype.itemsize
    if kind in "iu" and size <= 2:
        key = (pixels.dtype.str, wl.width, wl.center, invert)
        lut = _LUT_CACHE.get(key)
        if lut is None:
            if len(_LUT_CACHE) > 32:
                _LUT_CACHE.clear()
            unsigned = np.dtype(f"u{size}")
            codes = np.arange(2 ** (8 * size), dtype=unsigned)
            lut = _lut(wl, codes.view(pixels.dtype), invert)
            _LUT_CACHE[key] = lut
        return np.ascontiguousarray(lut[pixels.view(f"u{size}")])
    scale = np.float32(255.0 / wl.width)
    tmp = np.subtract(pixels, np.float32(wl.lower), dtype=np.float32)
    np.multiply(tmp, scale, out=tmp)
    np.clip(tmp, 0.0, 255.0, out=tmp)
    if invert:
        np.subtract(np.float32(255.0), tmp, out=tmp)
    tmp[np.isnan(tmp)] = 255.0 if invert else 0.0
    out = np.empty(tmp.shape, dtype=np.uint8)
    np.rint(tmp, out=tmp)
    out[...] = tmp
    return out
