"""Automatic rigid registration of two volumes: Euler 3D, Mattes mutual information, pyramid.

Mutual information suits MRI against PET: the two images share anatomy, not intensities.
The method (SimpleITK's ImageRegistrationMethod):

* transform: :class:`SimpleITK.Euler3DTransform` (3 rotations, 3 translations) centred on the
  fixed image's centre, initialised by geometry (image centres) or by intensity moments;
* metric: Mattes mutual information, 24 histogram bins, a regular sample of the fixed voxels
  with a fixed seed for its jitter, so the same inputs give the same answer (on the demo
  MRI/PET, 24 bins with regular sampling gave the smallest and steadiest error; random sampling
  moved the result by about 1 mm from one seed to the next): 25 % of a level's voxels, at most
  :data:`COARSE_SAMPLES` at the coarser levels and :data:`FINEST_SAMPLES` at the finest (a
  25 % sample there, 500 000 points of the demo T2, was most of the time taken; fewer than
  100 000 moved the result further from the truth); image gradients by central differences at
  the sampled points (ITK's default first filters every level's whole image for them);
* optimiser: regular-step gradient descent with physical-shift scales (a 1 mm step means about
  1 mm of motion for rotations and translations alike);
* pyramid: shrink 4, 2, 1 with Gaussian smoothing 2, 1, 0 voxels, run level by level, each level
  a one-level SimpleITK registration on images made for it: at the coarser levels the fixed
  image averaged in blocks of the level's shrink factor and the moving image in blocks of
  :data:`MOVING_BIN` voxels, a small Gaussian adding the rest of the level's smoothing (ITK's own
  pyramid smoothed both full-resolution images at every level: a quarter of the time on the
  demo); at the finest level the fixed image averaged in blocks no larger than the moving
  voxels (2 x 2 x 1 for the demo's 1.4 mm T2 against its 4 mm PET: the result as close to the
  truth as before, from a quarter of the fixed voxels); see ``benchmarks/bench_pet.py``.

The metric reported before and after, and :func:`metric_value`, are evaluated on every voxel of a
fixed grid thinned in-plane to at most about :data:`METRIC_VOXELS` voxels (within 0.003 of the
value on every voxel on the demo, in a third of the time).

The returned matrix maps fixed LPS points to moving LPS points (``p_moving = M p_fixed``), which
is ITK's registration transform; with fixed = MRI and moving = PET it is the demo ground truth's
"MRI->PET" transform.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.optimiser import (
    RegistrationCancelled,
    regular_step_descent,
    run_watched,
)
from namecar_viewer.core.registration.resample import volume_to_sitk
from namecar_viewer.core.registration.transforms import FloatArray, check_matrix

HISTOGRAM_BINS = 24
# share of a level's fixed voxels sampled (at most: COARSE_SAMPLES or FINEST_SAMPLES of them in a
# large image)
SAMPLING_FRACTION = 0.25
COARSE_SAMPLES = 25_000
FINEST_SAMPLES = 100_000
SAMPLING_SEED = 20250724
SHRINK_FACTORS = (4, 2, 1)
SMOOTHING_SIGMAS = (2.0, 1.0, 0.0)
LEARNING_RATE_MM = 4.0
# block size (voxels) the moving image is averaged in at the coarser levels
MOVING_BIN = 2
MIN_STEP_MM = 0.01
ITERATIONS_PER_LEVEL = 200
# the fixed grid of the metric evaluations is thinned in-plane to at most about this many voxels
METRIC_VOXELS = 500_000


class Initialisation(enum.Enum):
    """Where the moving image starts: image centres aligned, or intensity centres of mass."""

    GEOMETRY = "geometry"
    MOMENTS = "moments"
    NONE = "none"


@dataclass(frozen=True)
class RigidResult:
    """A registration's outcome: fixed LPS -> moving LPS matrix and how the optimiser ended."""

    matrix: FloatArray
    metric_value: float
    initial_metric_value: float
    iterations: int
    stop_condition: str
    elapsed_s: float
    initialisation: Initialisation

    @property
    def improvement(self) -> float:
        """Metric decrease from the start (Mattes MI is negative: lower is better)."""
        return self.initial_metric_value - self.metric_value


Progress = Callable[[int, int, float], None]  # (level, iteration, metric value)


def _sitk() -> Any:
    import SimpleITK as sitk

    return sitk


def _euler_to_matrix(transform: Any) -> FloatArray:
    m = np.eye(4)
    r = np.asarray(transform.GetMatrix(), dtype=np.float64).reshape(3, 3)
    c = np.asarray(transform.GetCenter(), dtype=np.float64)
    t = np.asarray(transform.GetTranslation(), dtype=np.float64)
    m[:3, :3] = r
    m[:3, 3] = c + t - r @ c
    return m


def _matrix_to_euler(matrix: FloatArray, centre: npt.ArrayLike) -> Any:
    sitk = _sitk()
    tx = sitk.Euler3DTransform()
    c = np.asarray(centre, dtype=np.float64)
    tx.SetCenter([float(v) for v in c])
    r = matrix[:3, :3]
    tx.SetMatrix([float(v) for v in r.ravel()], 1e-5)
    # p' = R (p - c) + c + t' with t' = M_t - c + R c
    tx.SetTranslation([float(v) for v in matrix[:3, 3] - c + r @ c])
    return tx


def _metric_method(fixed_img: Any, moving_img: Any) -> Any:
    sitk = _sitk()
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=HISTOGRAM_BINS)
    reg.SetMetricSamplingStrategy(reg.REGULAR)
    reg.SetMetricSamplingPercentage(_sampling(fixed_img.GetNumberOfPixels(), True), SAMPLING_SEED)
    reg.SetInterpolator(sitk.sitkLinear)
    # central differences at the sampled points instead of a gradient image of every level
    reg.SetMetricUseFixedImageGradientFilter(False)
    reg.SetMetricUseMovingImageGradientFilter(False)
    return reg


def _sampling(voxels: int, finest: bool) -> float:
    """Sampled share of a level's fixed voxels: :data:`SAMPLING_FRACTION`, but at most
    :data:`COARSE_SAMPLES` voxels at a coarser level and :data:`FINEST_SAMPLES` (never under
    3 %) at the finest.

    >>> round(_sampling(2_000_000, True), 3), round(_sampling(250_000, False), 3)
    (0.05, 0.1)
    """
    if finest:
        return min(SAMPLING_FRACTION, max(0.03, FINEST_SAMPLES / max(1, voxels)))
    return min(SAMPLING_FRACTION, COARSE_SAMPLES / max(1, voxels))


def _binned(image: Any, factor: int | Sequence[int], sigma: float = 0.0) -> Any:
    """``image`` averaged in blocks of ``factor`` voxels (one per axis, or the same along all;
    fewer along an axis that would keep under 4 voxels), then smoothed so that the whole blur
    is about a Gaussian of ``sigma`` original voxels (a block of f voxels already blurs with a
    variance of (f^2 - 1) / 12)."""
    sitk = _sitk()
    wanted = [factor] * 3 if isinstance(factor, int) else list(factor)
    factors = [max(1, min(f, n // 4)) for f, n in zip(wanted, image.GetSize(), strict=True)]
    out = sitk.BinShrink(image, factors) if max(factors) > 1 else image
    variances = [max(0.0, sigma**2 - (f * f - 1) / 12.0) / (f * f) for f in factors]
    if max(variances) > 1e-6:
        out = sitk.DiscreteGaussian(out, variances, 32, 0.01, False)
    return out


def _finest_blocks(fixed_img: Any, moving_img: Any) -> list[int]:
    """Blocks the fixed image is averaged in at the finest level: as many of its voxels as fit
    in the moving image's smallest spacing, along each axis (1 x 1 x 1 unless the moving voxels
    are the larger, like PET's: finer fixed voxels than that add noise to the metric, not
    detail).

    >>> sitk = _sitk()
    >>> t2, pet = sitk.Image([8, 8, 8], sitk.sitkFloat32), sitk.Image([4, 4, 4], sitk.sitkFloat32)
    >>> t2.SetSpacing([1.40625, 1.40625, 5.0]); pet.SetSpacing([4.0, 4.0, 4.0])
    >>> _finest_blocks(t2, pet), _finest_blocks(pet, t2)
    ([2, 2, 1], [1, 1, 1])
    """
    step = min(moving_img.GetSpacing())
    return [max(1, int(step // sp)) for sp in fixed_img.GetSpacing()]


def _evaluation_grid(fixed_img: Any) -> Any:
    """The fixed image on every s-th column and row (s the smallest keeping at most about
    :data:`METRIC_VOXELS` voxels): where the reported metric is evaluated."""
    s = math.ceil(math.sqrt(fixed_img.GetNumberOfPixels() / METRIC_VOXELS))
    if s <= 1:
        return fixed_img
    nx, ny, _ = fixed_img.GetSize()
    return _sitk().Shrink(fixed_img, [min(s, max(1, nx // 4)), min(s, max(1, ny // 4)), 1])


def _evaluate(grid: Any, moving_img: Any, transform: Any) -> float:
    reg = _metric_method(grid, moving_img)
    reg.SetInitialTransform(transform, inPlace=False)
    return float(reg.MetricEvaluate(grid, moving_img))


def _prepare(fixed: Volume, moving: Volume) -> tuple[Any, Any]:
    if fixed.is_colour or moving.is_colour:
        raise ValueError("Colour volumes cannot be registered.")
    for name, v in (("fixed", fixed), ("moving", moving)):
        if min(v.shape) < 4:
            raise ValueError(
                f"The {name} volume is too thin to register ({v.shape}); at least 4 voxels "
                "along each axis are needed."
            )
    fixed_img = volume_to_sitk(fixed)
    moving_img = volume_to_sitk(moving)
    # Registration must not see NaN (voxels outside an oblique reformat).
    sitk = _sitk()
    for img in (fixed_img, moving_img):
        arr = sitk.GetArrayViewFromImage(img)
        if not np.isfinite(arr).all():
            raise ValueError("The volume holds NaN or infinite values; cannot register.")
    return fixed_img, moving_img


def metric_value(fixed: Volume, moving: Volume, matrix: npt.ArrayLike) -> float:
    """Mattes mutual information of ``moving`` seen through ``matrix`` (lower = better aligned).

    Evaluated like the values :func:`register_rigid` reports (every voxel of the fixed grid
    thinned in-plane, see the module docstring), so a reader nudging the transform by hand sees
    a number comparable with the automatic result.
    """
    m = check_matrix(matrix)
    fixed_img, moving_img = _prepare(fixed, moving)
    return _evaluate(
        _evaluation_grid(fixed_img), moving_img, _matrix_to_euler(m, fixed.center_of_voxels())
    )


def register_rigid(
    fixed: Volume,
    moving: Volume,
    *,
    initial: npt.ArrayLike | None = None,
    initialisation: Initialisation = Initialisation.GEOMETRY,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    iterations_per_level: int = ITERATIONS_PER_LEVEL,
) -> RigidResult:
    """Find the rigid matrix mapping ``fixed`` LPS to ``moving`` LPS by mutual information.

    Parameters
    ----------
    initial
        A starting 4x4 (fixed -> moving), e.g. the reader's manual alignment; when given,
        ``initialisation`` is ignored.
    progress
        Called with (level, iteration, metric) at every optimiser iteration (from the calling
        thread); keep it cheap.
    cancel
        When set, the optimiser stops at its next iteration and :class:`RegistrationCancelled`
        is raised.

    Raises
    ------
    ValueError
        For colour, sheared, too thin or non-finite volumes.
    RegistrationCancelled
        When ``cancel`` was set.
    """
    sitk = _sitk()
    start = time.perf_counter()
    fixed_img, moving_img = _prepare(fixed, moving)
    centre = fixed.center_of_voxels()
    if initial is not None:
        init_tx = _matrix_to_euler(check_matrix(initial, "initial"), centre)
        init_kind = Initialisation.NONE
    elif initialisation is Initialisation.NONE:
        init_tx = sitk.Euler3DTransform()
        init_tx.SetCenter([float(v) for v in centre])
        init_kind = Initialisation.NONE
    else:
        mode = (
            sitk.CenteredTransformInitializerFilter.GEOMETRY
            if initialisation is Initialisation.GEOMETRY
            else sitk.CenteredTransformInitializerFilter.MOMENTS
        )
        init_tx = sitk.CenteredTransformInitializer(
            fixed_img, moving_img, sitk.Euler3DTransform(), mode
        )
        init_kind = initialisation

    grid = _evaluation_grid(fixed_img)
    metric0 = _evaluate(grid, moving_img, init_tx)

    state = {"level": 0, "total": 0, "cancelled": False}
    transform = init_tx
    stop = ""
    for level, (shrink, sigma) in enumerate(zip(SHRINK_FACTORS, SMOOTHING_SIGMAS, strict=True)):
        if cancel is not None and cancel.is_set():
            raise RegistrationCancelled("registration cancelled")
        state["level"] = level
        finest = level == len(SHRINK_FACTORS) - 1
        if finest:
            f_img = _binned(fixed_img, _finest_blocks(fixed_img, moving_img), sigma)
            m_img = _binned(moving_img, 1, sigma)
        else:
            f_img = _binned(fixed_img, shrink, sigma)
            m_img = _binned(moving_img, MOVING_BIN, sigma)
        reg = _metric_method(f_img, m_img)
        reg.SetMetricSamplingPercentage(_sampling(f_img.GetNumberOfPixels(), finest), SAMPLING_SEED)
        regular_step_descent(reg, LEARNING_RATE_MM, MIN_STEP_MM, iterations_per_level, 0.6)
        reg.SetInitialTransform(transform, inPlace=False)

        def report(reg: Any) -> None:
            if progress is not None:
                progress(state["level"], int(reg.GetOptimizerIteration()), reg.GetMetricValue())

        transform, stop = run_watched(reg, f_img, m_img, state, cancel, report, "registration")
    metric1 = _evaluate(grid, moving_img, transform)
    return RigidResult(
        matrix=_euler_to_matrix(transform),
        metric_value=metric1,
        initial_metric_value=metric0,
        iterations=int(state["total"]),
        stop_condition=stop,
        elapsed_s=time.perf_counter() - start,
        initialisation=init_kind,
    )
