"""Rigid alignment of two CT timepoints of one patient, fast enough to run whenever a study opens.

Two CTs of the same patient months apart share modality and intensities (Hounsfield units) but
not the frame of reference: the patient lies a little differently on the table.  The alignment:

* **binning**: each volume is averaged into blocks of about :data:`FINEST_MM` (integer factors
  per axis, 3 x 3 x 2 for a 0.78 x 0.78 x 1.25 mm CT) before SimpleITK sees it, so a 400-slice
  512 x 512 CT becomes about 200 x 170 x 170 voxels in a quarter of a second, and the noise is
  averaged away; HU are clipped to [-1024, 1500] (metal and dense contrast would dominate) and
  smoothed with a Gaussian of :data:`SMOOTHING_MM` (two reconstructions, a sharp and a soft
  kernel, or a resampled copy and its original, then compare alike);
* **body mask** on the fixed image: voxels above -500 HU, the largest connected component (the
  table and the sheets fall away), holes filled slice by slice (the lungs are inside the body),
  one voxel of margin so the skin edge counts; the metric samples only there;
* **metric**: mean squares (same modality, same units), a fixed share of the masked voxels
  sampled on a regular grid with a fixed seed (the same inputs give the same answer);
* **pyramid**: shrink 4, 2, 1 of the binned image with Gaussian smoothing of 2, 1, 0 voxels;
* **optimiser**: regular-step gradient descent on an Euler 3D transform centred on the fixed
  body's centre, with physical-shift scales (1 mm of step is about 1 mm of motion);
* **start**: the identity (patient coordinates of two CTs of one patient are close) or the
  body centres of mass lined up, whichever the coarsest level's metric prefers.

:func:`refine_locally` then refines the translation in a box around one point (a lesion) at a
finer binning, the global rotation kept; the caller keeps it only when it helps (a lower metric
in the box and a correction smaller than :data:`LOCAL_MAX_SHIFT_MM`).

Every matrix maps *fixed* LPS points to *moving* LPS points (``p_moving = M p_fixed``), like
:mod:`.rigid`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.optimiser import (
    RegistrationCancelled,
    regular_step_descent,
    run_watched,
    watch_iterations,
)
from namecar_viewer.core.registration.rigid import (
    _euler_to_matrix,
    _matrix_to_euler,
)
from namecar_viewer.core.registration.transforms import FloatArray, check_matrix

FINEST_MM = 2.0
LOCAL_FINEST_MM = 1.5
LOCAL_SMOOTHING_MM = 2.0
HU_RANGE = (-1024.0, 1500.0)
BODY_HU = -500.0
SHRINK_FACTORS = (4, 2, 1)
SMOOTHING_MM = 2.0
# samples per level: a regular grid over the masked voxels, at most this many
MAX_SAMPLES = 20000
SAMPLING_SEED = 20250724
LEARNING_RATE_MM = 4.0
MIN_STEP_MM = 0.02
ITERATIONS_PER_LEVEL = 120
LOCAL_BOX_MM = 80.0
LOCAL_ITERATIONS = 60
LOCAL_MAX_SHIFT_MM = 15.0
LOCAL_MIN_SHIFT_MM = 2.0
LOCAL_EXCLUDE_MM = 15.0
LOCAL_SAMPLES = 40000
# a local refinement is kept when it lowers the box's metric by at least this fraction
LOCAL_MIN_GAIN = 0.10

Progress = Callable[[float], None]  # fraction of the pair's work done, 0..1


@dataclass(frozen=True)
class PreparedCt:
    """A CT binned for alignment: the SimpleITK image, its body mask (fixed images only) and
    the coarser pyramid levels, made on first use and kept (one pair after another reuses
    the fixed CT's)."""

    image: Any
    mask: Any | None
    volume: Volume
    factors: tuple[int, int, int]
    body_centre: FloatArray
    body_voxels: int
    seconds: float
    levels: dict[int, tuple[Any, Any | None]] = field(default_factory=dict, compare=False)

    def level(self, shrink: int) -> tuple[Any, Any | None]:
        """(image, mask) averaged in blocks of ``shrink`` voxels (the pyramid's smoothing)."""
        if shrink <= 1:
            return self.image, self.mask
        if shrink not in self.levels:
            sitk = _sitk()
            img = sitk.BinShrink(self.image, [shrink] * 3)
            mask = None if self.mask is None else sitk.BinShrink(self.mask, [shrink] * 3)
            self.levels[shrink] = (img, mask)
        return self.levels[shrink]


@dataclass(frozen=True)
class LocalRefinement:
    """A translation refined in a box around ``centre_mm`` (fixed LPS), on top of the global
    alignment: ``matrix`` is the whole fixed -> moving transform near that point."""

    key: str
    centre_mm: tuple[float, float, float]
    box_mm: float
    matrix: FloatArray
    metric_global: float
    metric_local: float
    shift_mm: float
    accepted: bool
    reason: str

    @property
    def gain(self) -> float:
        """Relative metric decrease in the box (mean squares: lower is better)."""
        if self.metric_global <= 0:
            return 0.0
        return (self.metric_global - self.metric_local) / self.metric_global


@dataclass(frozen=True)
class TimepointAlignment:
    """A CT-CT alignment: fixed LPS -> moving LPS, how the optimiser ended, local refinements."""

    matrix: FloatArray
    metric_value: float
    initial_metric_value: float
    iterations: int
    stop_condition: str
    elapsed_s: float
    start: str
    local: tuple[LocalRefinement, ...] = field(default=())

    def matrix_near(self, point_fixed: npt.ArrayLike) -> FloatArray:
        """The accepted local refinement whose box holds the point, else the global matrix."""
        p = np.asarray(point_fixed, dtype=np.float64).reshape(3)
        best: LocalRefinement | None = None
        best_d = math.inf
        for ref in self.local:
            if not ref.accepted:
                continue
            d = float(np.max(np.abs(p - np.asarray(ref.centre_mm))))
            if d <= ref.box_mm / 2.0 and d < best_d:
                best, best_d = ref, d
        return self.matrix if best is None else best.matrix


def _sitk() -> Any:
    import SimpleITK as sitk

    return sitk


def bin_factors(spacing: Sequence[float], target_mm: float) -> tuple[int, int, int]:
    """Integer block sizes (k, j, i) bringing each spacing closest to ``target_mm`` (>= 1).

    >>> bin_factors((1.25, 0.78125, 0.78125), 2.0)
    (2, 3, 3)
    >>> bin_factors((5.0, 1.875, 1.875), 2.0)
    (1, 1, 1)
    """
    out = [max(1, round(target_mm / float(s))) if s > 0 else 1 for s in spacing]
    return (out[0], out[1], out[2])


def bin_volume(
    volume: Volume, factors: tuple[int, int, int], clip: tuple[float, float] | None = HU_RANGE
) -> Volume:
    """``volume`` averaged in blocks of ``factors`` voxels (float32), with the matching affine.

    The blocks are summed a few slices at a time (strided adds, no large temporaries): a
    400 x 512 x 512 CT in 3 x 3 x 2 blocks takes about a quarter of a second.  Trailing voxels
    that do not fill a block are dropped.
    """
    fk, fj, fi = (int(f) for f in factors)
    a = np.asarray(volume.array)
    nk, nj, ni = (s // f * f for s, f in zip(a.shape, (fk, fj, fi), strict=True))
    if min(nk, nj, ni) < 1:
        raise ValueError(f"Volume {a.shape} is smaller than one block {factors}.")
    ok, oj, oi = nk // fk, nj // fj, ni // fi
    out = np.empty((ok, oj, oi), dtype=np.float32)
    chunk = 8
    acc = np.empty((chunk, oj, oi), dtype=np.float32)
    scale = np.float32(1.0 / (fk * fj * fi))
    for k0 in range(0, ok, chunk):
        k1 = min(k0 + chunk, ok)
        n = k1 - k0
        blk = a[k0 * fk : k1 * fk, :nj, :ni]
        acc[:n] = 0.0
        for x in range(fk):
            for y in range(fj):
                for z in range(fi):
                    acc[:n] += blk[x::fk, y::fj, z::fi]
        out[k0:k1] = acc[:n] * scale
    if clip is not None:
        np.clip(out, clip[0], clip[1], out=out)
    aff = volume.affine.copy()
    step = np.diag([fk, fj, fi]).astype(np.float64)
    aff[:3, :3] = volume.affine[:3, :3] @ step
    aff[:3, 3] = volume.affine[:3, :3] @ (np.array([fk - 1, fj - 1, fi - 1]) / 2.0) + aff[:3, 3]
    return Volume(
        array=out,
        affine=aff,
        frame_of_reference_uid=volume.frame_of_reference_uid,
        modality=volume.modality,
    )


def _fill_slices(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Each axial slice's mask with what lies between its extreme voxels along rows and columns
    filled (closes the lungs, the bowel gas and the spinal canal inside the body)."""
    rows = (
        np.maximum.accumulate(mask, axis=2)
        & np.maximum.accumulate(mask[:, :, ::-1], axis=2)[:, :, ::-1]
    )
    cols = (
        np.maximum.accumulate(mask, axis=1)
        & np.maximum.accumulate(mask[:, ::-1, :], axis=1)[:, ::-1, :]
    )
    out: npt.NDArray[np.bool_] = rows & cols
    return out


def _dilate(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """One voxel of margin in-plane (4-neighbourhood)."""
    out = mask.copy()
    out[:, 1:, :] |= mask[:, :-1, :]
    out[:, :-1, :] |= mask[:, 1:, :]
    out[:, :, 1:] |= mask[:, :, :-1]
    out[:, :, :-1] |= mask[:, :, 1:]
    return out


def body_mask(binned: Volume, threshold_hu: float = BODY_HU) -> npt.NDArray[np.bool_]:
    """The patient's body in a (binned) CT: see the module docstring.  All False when nothing
    is above the threshold."""
    sitk = _sitk()
    above = np.asarray(binned.array) > threshold_hu
    if not above.any():
        return above
    cc = sitk.ConnectedComponent(sitk.GetImageFromArray(above.astype(np.uint8)))
    relabelled = sitk.RelabelComponent(cc, sortByObjectSize=True)
    largest = sitk.GetArrayFromImage(relabelled) == 1
    return _dilate(_fill_slices(largest))


def _to_sitk(binned: Volume) -> Any:
    from namecar_viewer.core.registration.resample import volume_to_sitk

    return volume_to_sitk(binned, dtype=np.float32)


def prepare_ct(volume: Volume, finest_mm: float = FINEST_MM, *, mask: bool = True) -> PreparedCt:
    """Bin ``volume`` to about ``finest_mm`` and find its body (once per volume, reused for
    every pair it takes part in).  The mask is needed on the fixed side only; without it the
    body's centre is the centroid of the voxels above :data:`BODY_HU`.

    Raises
    ------
    ValueError
        For colour, sheared or non-finite volumes, or a volume too small to align.
    """
    start = time.perf_counter()
    if volume.is_colour:
        raise ValueError("Colour volumes cannot be aligned.")
    if volume.is_sheared:
        raise ValueError(
            "The volume's slices are sheared (gantry tilt): resample it to an orthogonal grid "
            "before alignment."
        )
    factors = bin_factors(volume.spacing, finest_mm)
    binned = bin_volume(volume, factors)
    if min(binned.shape) < 8:
        raise ValueError(
            f"The volume is too small to align ({volume.shape} voxels); at least 8 blocks of "
            f"{finest_mm:g} mm along each axis are needed."
        )
    if not np.isfinite(binned.array).all():
        raise ValueError("The volume holds NaN or infinite values; cannot align.")
    above = np.asarray(binned.array) > BODY_HU
    body = body_mask(binned) if mask else above
    n = int(body.sum())
    if n < 1000:  # no body found: sample the whole image
        body = np.ones(binned.shape, dtype=bool)
        n = body.size
    # the centroid of what is above the threshold, defined alike on both sides of a pair
    count = max(1, int(above.sum()))
    kji = (
        np.array(
            [
                np.dot(np.arange(size), above.sum(axis=axes))
                for size, axes in zip(above.shape, ((1, 2), (0, 2), (0, 1)), strict=True)
            ]
        )
        / count
    )
    centre = binned.index_to_patient(kji[None, :])[0]
    sitk = _sitk()
    image = _to_sitk(binned)
    if SMOOTHING_MM > 0:
        image = sitk.SmoothingRecursiveGaussian(image, SMOOTHING_MM)
    mask_img = None
    if mask:
        mask_img = sitk.GetImageFromArray(body.astype(np.uint8))
        mask_img.CopyInformation(image)
    return PreparedCt(
        image=image,
        mask=mask_img,
        volume=volume,
        factors=factors,
        body_centre=np.asarray(centre, dtype=np.float64),
        body_voxels=n,
        seconds=time.perf_counter() - start,
    )


def _method(sampling: float, seed: int = SAMPLING_SEED) -> Any:
    sitk = _sitk()
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMeanSquares()
    # gradients by central differences at the sampled points only: ITK's default filters the
    # whole image for them at every level, which costs more than the optimisation itself
    reg.SetMetricUseFixedImageGradientFilter(False)
    reg.SetMetricUseMovingImageGradientFilter(False)
    reg.SetMetricSamplingStrategy(reg.REGULAR)
    reg.SetMetricSamplingPercentage(min(1.0, max(1e-4, sampling)), seed)
    reg.SetInterpolator(sitk.sitkLinear)
    return reg


def _evaluate(fixed: Any, mask: Any | None, moving: Any, transform: Any, sampling: float) -> float:
    reg = _method(sampling)
    if mask is not None:
        reg.SetMetricFixedMask(mask)
    reg.SetInitialTransform(transform, inPlace=False)
    return float(reg.MetricEvaluate(fixed, moving))


def align_prepared(
    fixed: PreparedCt,
    moving: PreparedCt,
    *,
    initial: npt.ArrayLike | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    iterations_per_level: int = ITERATIONS_PER_LEVEL,
) -> TimepointAlignment:
    """Rigid fixed -> moving alignment of two prepared CTs (see the module docstring).

    The pyramid is run level by level here, each level a one-level SimpleITK registration on
    block-averaged images: ITK's own pyramid smooths the full-resolution image with a Gaussian
    at every level, which on a 400-slice CT costs more than the whole optimisation.

    Raises
    ------
    RegistrationCancelled
        When ``cancel`` was set.
    """
    start = time.perf_counter()
    centre = fixed.body_centre
    # starting point: the caller's, else the identity or the centres of mass lined up,
    # whichever the coarsest level prefers (a cheap evaluation)
    if initial is not None:
        candidates = {"given": check_matrix(initial, "initial")}
    else:
        com = np.eye(4)
        com[:3, 3] = moving.body_centre - fixed.body_centre
        candidates = {"identity": np.eye(4), "centres of mass": com}
    coarse_f, coarse_mask = fixed.level(SHRINK_FACTORS[0])
    coarse_m, _ = moving.level(SHRINK_FACTORS[0])
    scores = {
        name: _evaluate(coarse_f, coarse_mask, coarse_m, _matrix_to_euler(m, centre), 1.0)
        for name, m in candidates.items()
    }
    start_name = min(scores, key=lambda k: scores[k])
    transform = _matrix_to_euler(candidates[start_name], centre)

    # the metric before and after on the middle level (the same samples both times)
    mid = SHRINK_FACTORS[-2] if len(SHRINK_FACTORS) > 1 else SHRINK_FACTORS[0]
    mid_f, mid_mask = fixed.level(mid)
    mid_m, _ = moving.level(mid)
    mid_sampling = MAX_SAMPLES / max(1.0, fixed.body_voxels / float(mid) ** 3)
    metric0 = _evaluate(mid_f, mid_mask, mid_m, transform, mid_sampling)

    levels = len(SHRINK_FACTORS)
    weights = np.array([1.0 / (2.0 ** (levels - 1 - n)) for n in range(levels)])
    weights = weights / weights.sum()
    state = {"total": 0, "cancelled": False}
    stop = ""
    for n, shrink in enumerate(SHRINK_FACTORS):
        f_img, f_mask = fixed.level(shrink)
        m_img, _ = moving.level(shrink)
        sampling = MAX_SAMPLES / max(1.0, fixed.body_voxels / float(shrink) ** 3)
        reg = _method(sampling)
        if f_mask is not None:
            reg.SetMetricFixedMask(f_mask)
        regular_step_descent(reg, LEARNING_RATE_MM / 2.0**n, MIN_STEP_MM, iterations_per_level, 0.5)
        reg.SetInitialTransform(transform, inPlace=False)
        done = float(weights[:n].sum())
        share = float(weights[n])

        def report(reg: Any, done: float = done, share: float = share) -> None:
            if progress is not None:
                it = reg.GetOptimizerIteration()
                progress(min(0.99, done + share * min(1.0, it / 15.0)))

        transform, stop = run_watched(reg, f_img, m_img, state, cancel, report, "alignment")
    metric1 = _evaluate(mid_f, mid_mask, mid_m, transform, mid_sampling)
    if progress is not None:
        progress(1.0)
    return TimepointAlignment(
        matrix=_euler_to_matrix(transform),
        metric_value=metric1,
        initial_metric_value=metric0,
        iterations=int(state["total"]),
        stop_condition=stop,
        elapsed_s=time.perf_counter() - start,
        start=start_name,
    )


def _crop(volume: Volume, centre_mm: npt.ArrayLike, box_mm: float) -> Volume | None:
    """The voxels of ``volume`` within ``box_mm`` / 2 of the point along each axis (or None)."""
    kji = volume.patient_to_index(np.asarray(centre_mm, dtype=np.float64).reshape(1, 3))[0]
    half = np.array([box_mm / 2.0 / s for s in volume.spacing])
    lo = np.maximum(np.floor(kji - half).astype(int), 0)
    hi = np.minimum(np.ceil(kji + half).astype(int) + 1, np.asarray(volume.shape))
    if np.any(hi - lo < 4):
        return None
    sub = np.asarray(volume.array)[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    aff = volume.affine.copy()
    aff[:3, 3] = volume.affine[:3, :3] @ lo.astype(np.float64) + volume.affine[:3, 3]
    return Volume(
        array=sub,
        affine=aff,
        frame_of_reference_uid=volume.frame_of_reference_uid,
        modality=volume.modality,
    )


def _box_mask(image: Any, centre: FloatArray, exclude_mm: float) -> Any:
    """A mask over ``image``: everything but the sphere of ``exclude_mm`` around ``centre``."""
    sitk = _sitk()
    size = image.GetSize()  # (x, y, z)
    idx = np.indices((size[2], size[1], size[0]), dtype=np.float64)  # k, j, i
    origin = np.asarray(image.GetOrigin())
    spacing = np.asarray(image.GetSpacing())
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    xyz = np.stack([idx[2], idx[1], idx[0]], axis=-1) * spacing
    points = xyz @ direction.T + origin
    keep = np.linalg.norm(points - centre, axis=-1) > exclude_mm
    out = sitk.GetImageFromArray(keep.astype(np.uint8))
    out.CopyInformation(image)
    return out


def refine_locally(
    fixed: Volume,
    moving: Volume,
    matrix: npt.ArrayLike,
    centre_mm: npt.ArrayLike,
    *,
    key: str = "",
    box_mm: float = LOCAL_BOX_MM,
    finest_mm: float = LOCAL_FINEST_MM,
    exclude_mm: float = LOCAL_EXCLUDE_MM,
    cancel: threading.Event | None = None,
) -> LocalRefinement:
    """Refine the translation of ``matrix`` (fixed -> moving) in a box around ``centre_mm``.

    Both volumes are cropped around the point (the moving one around where ``matrix`` sends it,
    with room for the search), binned to about ``finest_mm`` and smoothed; the translation is
    optimised on top of the global transform (rotation kept), mean squares over the box less a
    sphere of ``exclude_mm`` around the point: the anatomy around a lesion drives it, never the
    lesion's own growth or shrinkage.  The result is ``accepted`` when it lowers the metric by
    :data:`LOCAL_MIN_GAIN` or more and corrects by :data:`LOCAL_MIN_SHIFT_MM` to
    :data:`LOCAL_MAX_SHIFT_MM` (smaller corrections are within the global alignment's accuracy
    and the images' voxels; larger ones are not believed); ``reason`` says why not otherwise.
    """
    sitk = _sitk()
    m = check_matrix(matrix)
    c = np.asarray(centre_mm, dtype=np.float64).reshape(3)
    cm = (m @ np.append(c, 1.0))[:3]
    ckey = (float(c[0]), float(c[1]), float(c[2]))

    def rejected(reason: str, g: float = math.nan, loc: float = math.nan) -> LocalRefinement:
        return LocalRefinement(key, ckey, box_mm, m, g, loc, 0.0, False, reason)

    f_crop = _crop(fixed, c, box_mm)
    m_crop = _crop(moving, cm, box_mm + 2 * LOCAL_MAX_SHIFT_MM)
    if f_crop is None or m_crop is None:
        return rejected("the box is outside one of the volumes")
    # smoothed, so that noise does not pull the optimum (linear interpolation between noisy
    # voxels lowers the mean squares by averaging noise at half-voxel offsets)
    f_img = sitk.SmoothingRecursiveGaussian(
        _to_sitk(bin_volume(f_crop, bin_factors(f_crop.spacing, finest_mm))), LOCAL_SMOOTHING_MM
    )
    m_img = sitk.SmoothingRecursiveGaussian(
        _to_sitk(bin_volume(m_crop, bin_factors(m_crop.spacing, finest_mm))), LOCAL_SMOOTHING_MM
    )
    mask = _box_mask(f_img, c, exclude_mm)
    global_tx = _matrix_to_euler(m, c)
    sampling = min(1.0, LOCAL_SAMPLES / max(1, f_img.GetNumberOfPixels()))
    reg = _method(sampling)
    reg.SetMetricFixedMask(mask)
    reg.SetMovingInitialTransform(global_tx)
    reg.SetInitialTransform(sitk.TranslationTransform(3), inPlace=False)
    regular_step_descent(reg, 2.0, 0.02, LOCAL_ITERATIONS, 0.5, gradient_tolerance=None)
    reg.SetShrinkFactorsPerLevel([2, 1])
    reg.SetSmoothingSigmasPerLevel([1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    watched: dict[str, Any] = {"cancelled": False}
    watch_iterations(reg, watched, cancel)
    try:
        g = float(reg.MetricEvaluate(f_img, m_img))
        out = reg.Execute(f_img, m_img)
    except RuntimeError as exc:  # too few samples inside the moving crop
        return rejected(f"the optimiser failed: {str(exc).splitlines()[-1][:120]}")
    if watched["cancelled"]:
        raise RegistrationCancelled("alignment cancelled")
    t = np.asarray(sitk.CompositeTransform(out).GetBackTransform().GetParameters(), np.float64)
    local = m.copy()
    local[:3, 3] = m[:3, 3] + m[:3, :3] @ t  # p_moving = M (p + t)
    loc = _evaluate(f_img, mask, m_img, _matrix_to_euler(local, c), sampling)
    shift = float(np.linalg.norm(t))
    ref = LocalRefinement(key, ckey, box_mm, local, g, loc, shift, False, "")
    if shift > LOCAL_MAX_SHIFT_MM:
        return LocalRefinement(
            key, ckey, box_mm, m, g, loc, shift, False, f"correction too large ({shift:.1f} mm)"
        )
    if shift < LOCAL_MIN_SHIFT_MM:
        return LocalRefinement(
            key, ckey, box_mm, m, g, loc, shift, False, f"correction negligible ({shift:.1f} mm)"
        )
    if ref.gain < LOCAL_MIN_GAIN:
        return LocalRefinement(
            key, ckey, box_mm, m, g, loc, shift, False, "no better than the global alignment"
        )
    return LocalRefinement(key, ckey, box_mm, local, g, loc, shift, True, "")


def align_timepoints(
    fixed: Volume,
    moving: Volume,
    *,
    lesions: Sequence[tuple[str, npt.ArrayLike]] = (),
    initial: npt.ArrayLike | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> TimepointAlignment:
    """Prepare both CTs, align them, refine around each ``(key, fixed LPS point)`` of
    ``lesions``: the whole pipeline for one pair (the app prepares the fixed CT once instead)."""
    fp = prepare_ct(fixed)
    mp = prepare_ct(moving, mask=False)
    result = align_prepared(fp, mp, initial=initial, progress=progress, cancel=cancel)
    local = tuple(
        refine_locally(fixed, moving, result.matrix, point, key=key, cancel=cancel)
        for key, point in lesions
    )
    return TimepointAlignment(
        matrix=result.matrix,
        metric_value=result.metric_value,
        initial_metric_value=result.initial_metric_value,
        iterations=result.iterations,
        stop_condition=result.stop_condition,
        elapsed_s=result.elapsed_s + fp.seconds + mp.seconds,
        start=result.start,
        local=local,
    )
