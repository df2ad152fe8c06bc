"""Lesion uptake on a PET volume in SUV: max, mean, PERCIST peak, metabolic volume, TLU, TBR.

Every distance is physical (mm through the volume's affine), so anisotropic, sheared or oblique
grids give the same answer as an isotropic one for the same anatomy.

SUVpeak definition used here (PERCIST 1.0, Wahl RL et al., J Nucl Med 2009;50 Suppl 1:122S-150S,
"a 1.2-cm diameter volume of interest (1 cm³) ... positioned to give the highest mean"):

* the sphere is the set of voxels whose *centres* lie within ``PERCIST_PEAK_RADIUS_MM`` of the
  sphere's centre, the distance measured in patient mm through the affine;
* the sphere's centre is a voxel centre inside the lesion VOI (sub-voxel positions are not
  searched); the mean includes every voxel in the sphere, in or out of the VOI, as PERCIST lets
  the sphere reach past the lesion edge;
* at the image border the sphere is cut and the mean is over the voxels that exist;
* SUVpeak is the largest such mean.

Examples
--------
>>> import numpy as np
>>> from namecar_viewer.core.geometry import Volume
>>> a = np.zeros((5, 5, 5)); a[2, 2, 2] = 7.0
>>> v = Volume(a, np.diag([4.0, 4.0, 4.0, 1.0]))
>>> voi_stats(v, a > 0).suv_max
7.0
>>> p = suv_peak(v, a > 0)  # a 6.2 mm sphere on a 4 mm grid: centre, 6 faces, 12 edges
>>> p.kernel_voxels, round(p.value * 19, 9)
(19, 7.0)
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume

# PERCIST 1.0 (Wahl 2009): a 1 cm³ sphere, radius (3 / (4 pi))^(1/3) cm = 6.2 mm.
PERCIST_PEAK_VOLUME_ML = 1.0
PERCIST_PEAK_RADIUS_MM = 6.2
# EANM procedure guidelines for tumour imaging v2.0 (Boellaard R et al., EJNMMI 2015;42:328):
# 41 % of SUVmax is the usual percentage isocontour for metabolic volume.
EANM_MTV_PERCENT_OF_MAX = 41.0
# PERCIST 1.0: absolute SUV 2.5 is a common fixed threshold for metabolic volume.
ABSOLUTE_MTV_SUV = 2.5

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SphereVoi:
    """A spherical VOI: centre in patient LPS mm and radius in mm."""

    center_lps: tuple[float, float, float]
    radius_mm: float


Voi = BoolArray | SphereVoi


class ThresholdKind(enum.Enum):
    """How a metabolic-volume threshold is given."""

    PERCENT_OF_MAX = "percent_of_max"
    ABSOLUTE = "absolute"


class ReferenceRegion(enum.Enum):
    """Background regions a reader places for the tumour-to-background ratio."""

    LIVER = "liver"
    BLOOD_POOL = "blood_pool"
    PAROTID = "parotid"


@dataclass(frozen=True)
class VoiStats:
    """Uptake statistics of one VOI (SUV units; volume in ml)."""

    n_voxels: int
    volume_ml: float
    suv_max: float
    suv_max_index: tuple[int, int, int]
    suv_max_lps: tuple[float, float, float]
    suv_mean: float
    suv_sd: float
    suv_min: float


@dataclass(frozen=True)
class SuvPeak:
    """PERCIST SUVpeak and where its sphere sits."""

    value: float
    center_index: tuple[int, int, int]
    center_lps: tuple[float, float, float]
    kernel_voxels: int
    radius_mm: float


@dataclass(frozen=True)
class MetabolicVolume:
    """Voxels of the VOI at or above a threshold: MTV (ml), their mean, TLU = mean x MTV."""

    threshold_suv: float
    n_voxels: int
    mtv_ml: float
    suv_mean: float
    total_lesion_uptake: float


@dataclass(frozen=True)
class TumourToBackground:
    """Lesion uptake divided by the mean of a reference region."""

    region: ReferenceRegion
    statistic: str
    lesion_value: float
    background_mean: float
    background_sd: float
    ratio: float


def voxel_volume_mm3(volume: Volume) -> float:
    """Volume of one voxel from the affine (exact for sheared grids)."""
    return float(abs(np.linalg.det(volume.affine[:3, :3])))


def sphere_mask(volume: Volume, sphere: SphereVoi) -> BoolArray:
    """Voxels whose centres lie within the sphere (distance in patient mm)."""
    if sphere.radius_mm <= 0:
        raise ValueError('Argument "sphere.radius_mm" must be positive.')
    m = volume.affine[:3, :3]
    inv = np.linalg.inv(m)
    centre_idx = volume.patient_to_index(np.asarray([sphere.center_lps], dtype=np.float64))[0]
    # Extent of a physical sphere along index axis a is r * |row a of inv(M)|.
    half = sphere.radius_mm * np.linalg.norm(inv, axis=1)
    lo = np.maximum(np.floor(centre_idx - half).astype(int), 0)
    hi = np.minimum(np.ceil(centre_idx + half).astype(int) + 1, np.asarray(volume.shape))
    mask = np.zeros(volume.shape, dtype=bool)
    if np.any(hi <= lo):
        return mask
    kk, jj, ii = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in range(3)), indexing="ij")
    idx = np.stack([kk, jj, ii], axis=-1).astype(np.float64)
    pts = idx @ m.T + volume.affine[:3, 3]
    d2 = np.sum((pts - np.asarray(sphere.center_lps, dtype=np.float64)) ** 2, axis=-1)
    mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = d2 <= sphere.radius_mm**2
    return mask


def voi_mask(volume: Volume, voi: Voi) -> BoolArray:
    """Boolean mask of a VOI given as a mask or a sphere; checks the shape."""
    if isinstance(voi, SphereVoi):
        return sphere_mask(volume, voi)
    mask = np.asarray(voi)
    if mask.shape != volume.shape:
        raise ValueError(
            f'Argument "voi" must have the volume\'s shape {volume.shape}, got {mask.shape}.'
        )
    return mask.astype(bool, copy=False)


def sphere_kernel_offsets(affine: npt.ArrayLike, radius_mm: float) -> npt.NDArray[np.int64]:
    """Integer (dk, dj, di) offsets whose physical displacement is within ``radius_mm``."""
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    half = np.ceil(radius_mm * np.linalg.norm(np.linalg.inv(m), axis=1)).astype(int)
    grids = np.meshgrid(*(np.arange(-h, h + 1) for h in half), indexing="ij")
    offsets = np.stack([g.ravel() for g in grids], axis=1)
    d2 = np.sum((offsets @ m.T) ** 2, axis=1)
    # A tiny tolerance keeps voxels lying exactly on the sphere (e.g. 6.2 mm on a 3.1 mm grid).
    keep = d2 <= radius_mm**2 * (1.0 + 1e-12)
    return np.asarray(offsets[keep], dtype=np.int64)


def _nonempty(mask: BoolArray) -> None:
    if not mask.any():
        raise ValueError("The VOI holds no voxel of the volume.")


def voi_stats(volume: Volume, voi: Voi) -> VoiStats:
    """SUVmax (with its position), mean, SD (population), min and volume of a VOI."""
    mask = voi_mask(volume, voi)
    _nonempty(mask)
    values = np.asarray(volume.array[mask], dtype=np.float64)
    flat = np.flatnonzero(mask)
    arg = int(np.argmax(values))
    k, j, i = (int(x) for x in np.unravel_index(flat[arg], volume.shape))
    lps = volume.index_to_patient([[k, j, i]])[0]
    return VoiStats(
        n_voxels=int(values.size),
        volume_ml=values.size * voxel_volume_mm3(volume) / 1000.0,
        suv_max=float(values[arg]),
        suv_max_index=(k, j, i),
        suv_max_lps=(float(lps[0]), float(lps[1]), float(lps[2])),
        suv_mean=float(values.mean()),
        suv_sd=float(values.std()),
        suv_min=float(values.min()),
    )


def suv_peak(volume: Volume, voi: Voi, radius_mm: float = PERCIST_PEAK_RADIUS_MM) -> SuvPeak:
    """PERCIST SUVpeak: the highest mean of a 1 cm³ sphere centred on a voxel of the VOI."""
    mask = voi_mask(volume, voi)
    _nonempty(mask)
    offsets = sphere_kernel_offsets(volume.affine, radius_mm)
    half = np.abs(offsets).max(axis=0)
    nz = np.nonzero(mask)
    lo = np.asarray([int(a.min()) for a in nz])
    hi = np.asarray([int(a.max()) + 1 for a in nz])
    # Region of the image the spheres can touch, and zero padding where it leaves the image.
    r_lo = np.maximum(lo - half, 0)
    r_hi = np.minimum(hi + half, np.asarray(volume.shape))
    pad_lo = r_lo - (lo - half)
    pad_hi = (hi + half) - r_hi
    region = tuple(slice(int(a), int(b)) for a, b in zip(r_lo, r_hi, strict=True))
    pad = [(int(a), int(b)) for a, b in zip(pad_lo, pad_hi, strict=True)]
    values = np.pad(np.asarray(volume.array[region], dtype=np.float64), pad)
    present = np.pad(np.ones(tuple(int(b - a) for a, b in zip(r_lo, r_hi, strict=True))), pad)
    box = tuple(int(b - a) for a, b in zip(lo, hi, strict=True))
    total = np.zeros(box)
    count = np.zeros(box)
    for dk, dj, di in offsets:
        window = (
            slice(half[0] + dk, half[0] + dk + box[0]),
            slice(half[1] + dj, half[1] + dj + box[1]),
            slice(half[2] + di, half[2] + di + box[2]),
        )
        total += values[window]
        count += present[window]
    inside = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    means = np.where(inside, total / np.maximum(count, 1.0), -np.inf)
    best = np.unravel_index(int(np.argmax(means)), box)
    centre = (int(best[0] + lo[0]), int(best[1] + lo[1]), int(best[2] + lo[2]))
    lps = volume.index_to_patient([list(centre)])[0]
    return SuvPeak(
        value=float(means[best]),
        center_index=centre,
        center_lps=(float(lps[0]), float(lps[1]), float(lps[2])),
        kernel_voxels=int(offsets.shape[0]),
        radius_mm=float(radius_mm),
    )


def metabolic_volume(
    volume: Volume,
    voi: Voi,
    threshold: float,
    kind: ThresholdKind = ThresholdKind.PERCENT_OF_MAX,
) -> MetabolicVolume:
    """MTV: VOI voxels with SUV >= threshold (percent of the VOI's SUVmax, or absolute SUV).

    Total lesion uptake (TLU, TLG for FDG) is the mean SUV of those voxels times the MTV in ml.
    """
    mask = voi_mask(volume, voi)
    _nonempty(mask)
    values = np.asarray(volume.array[mask], dtype=np.float64)
    if kind is ThresholdKind.PERCENT_OF_MAX:
        if not 0.0 < threshold <= 100.0:
            raise ValueError('Argument "threshold" must be a percentage in (0, 100].')
        level = float(values.max()) * threshold / 100.0
    else:
        level = float(threshold)
    selected = values[values >= level]
    n = int(selected.size)
    mtv_ml = n * voxel_volume_mm3(volume) / 1000.0
    mean = float(selected.mean()) if n else math.nan
    return MetabolicVolume(
        threshold_suv=level,
        n_voxels=n,
        mtv_ml=mtv_ml,
        suv_mean=mean,
        total_lesion_uptake=mean * mtv_ml if n else 0.0,
    )


def tumour_to_background(
    volume: Volume,
    lesion: Voi,
    reference: Voi,
    region: ReferenceRegion,
    statistic: Literal["max", "peak", "mean"] = "max",
) -> TumourToBackground:
    """Lesion SUVmax (or peak, or mean) divided by the reference region's SUVmean."""
    ref = voi_stats(volume, reference)
    if statistic == "max":
        value = voi_stats(volume, lesion).suv_max
    elif statistic == "peak":
        value = suv_peak(volume, lesion).value
    elif statistic == "mean":
        value = voi_stats(volume, lesion).suv_mean
    else:
        raise ValueError('Argument "statistic" must be "max", "peak" or "mean".')
    if ref.suv_mean <= 0.0:
        raise ValueError(f"The {region.value} reference region has mean SUV {ref.suv_mean:g} <= 0.")
    return TumourToBackground(
        region=region,
        statistic=statistic,
        lesion_value=value,
        background_mean=ref.suv_mean,
        background_sd=ref.suv_sd,
        ratio=value / ref.suv_mean,
    )


def apply_suv_factors(volume: Volume, factors: npt.ArrayLike) -> Volume:
    """A new volume in SUV: slice k multiplied by ``factors[k]`` (one factor or one per slice)."""
    f = np.asarray(factors, dtype=np.float64)
    if f.ndim == 0:
        f = np.full(volume.shape[0], float(f))
    if f.shape != (volume.shape[0],):
        raise ValueError(
            f'Argument "factors" must be a scalar or have one value per slice ({volume.shape[0]}).'
        )
    array = np.asarray(volume.array, dtype=np.float64) * f[:, None, None]
    return Volume(
        array=array,
        affine=volume.affine.copy(),
        frame_of_reference_uid=volume.frame_of_reference_uid,
        modality=volume.modality,
        sop_instance_uids=volume.sop_instance_uids,
        series_instance_uid=volume.series_instance_uid,
        study_instance_uid=volume.study_instance_uid,
        frame_numbers=volume.frame_numbers,
        files=volume.files,
        metadata={**volume.metadata, "units": "SUV g/ml"},
    )
