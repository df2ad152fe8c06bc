"""Automatic rigid registration of two volumes: Euler 3D, Mattes mutual information, pyramid.

Mutual information suits MRI against PET: the two images share anatomy, not intensities.
The method (SimpleITK's ImageRegistrationMethod):

* transform: :class:`SimpleITK.Euler3DTransform` (3 rotations, 3 translations) centred on the
  fixed image's centre, initialised by geometry (image centres) or by intensity moments;
* metric: Mattes mutual information, 24 histogram bins, a regular sample of the fixed voxels
  with a fixed seed for its jitter, so the same inputs give the same answer (on the demo
  MRI/PET, 24 bins with regular sampling gave the smallest and steadiest error; random sampling
  moved the result by about 1 mm from one seed to the next): 25 % of the voxels at the coarser
  levels, at most :data:`FINEST_SAMPLES` at the finest (which has 64 times the voxels of the
  coarsest: a 25 % sample there, 500 000 points of the demo T2, was most of the time taken;
  see ``benchmarks/bench_pet.py``); image gradients by central differences at the sampled points
  (ITK's default first filters every level's whole image for them);
* optimiser: regular-step gradient descent with physical-shift scales (a 1 mm step means about
  1 mm of motion for rotations and translations alike);
* pyramid: shrink 4, 2, 1 with Gaussian smoothing 2, 1, 0 voxels (physical sigmas off).

The returned matrix maps fixed LPS points to moving LPS points (``p_moving = M p_fixed``), which
is ITK's registration transform; with fixed = MRI and moving = PET it is the demo ground truth's
"MRI->PET" transform.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.resample import volume_to_sitk
from namecar_viewer.core.registration.transforms import FloatArray, check_matrix

HISTOGRAM_BINS = 24
SAMPLING_FRACTION = 0.25
# voxels sampled at the finest level (at most; SAMPLING_FRACTION of them in a small image), and
# by metric_value and the metrics reported before and after
FINEST_SAMPLES = 100_000
SAMPLING_SEED = 20250724
SHRINK_FACTORS = (4, 2, 1)
SMOOTHING_SIGMAS = (2.0, 1.0, 0.0)
LEARNING_RATE_MM = 4.0
MIN_STEP_MM = 0.01
ITERATIONS_PER_LEVEL = 200


class Initialisation(enum.Enum):
    """Where the moving image starts: image centres aligned, or intensity centres of mass."""

    GEOMETRY = "geometry"
    MOMENTS = "moments"
    NONE = "none"


class RegistrationCancelled(Exception):
    """The caller's cancel event was set while the optimiser ran."""


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
    reg.SetMetricSamplingPercentage(
        _level_sampling(fixed_img.GetNumberOfPixels())[-1], SAMPLING_SEED
    )
    reg.SetInterpolator(sitk.sitkLinear)
    # central differences at the sampled points instead of a gradient image of every level
    reg.SetMetricUseFixedImageGradientFilter(False)
    reg.SetMetricUseMovingImageGradientFilter(False)
    return reg


def _level_sampling(voxels: int) -> list[float]:
    """Sampled share of the fixed voxels at each level: :data:`SAMPLING_FRACTION` of the
    coarser levels, at most :data:`FINEST_SAMPLES` voxels (never under 3 %) at the finest.

    >>> [round(f, 3) for f in _level_sampling(2_000_000)]
    [0.25, 0.25, 0.05]
    """
    out = [SAMPLING_FRACTION] * len(SHRINK_FACTORS)
    out[-1] = min(SAMPLING_FRACTION, max(0.03, FINEST_SAMPLES / max(1, voxels)))
    return out


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

    The same metric settings as :func:`register_rigid`, at full resolution, so a reader nudging
    the transform by hand sees a number comparable with the automatic result.
    """
    m = check_matrix(matrix)
    fixed_img, moving_img = _prepare(fixed, moving)
    reg = _metric_method(fixed_img, moving_img)
    reg.SetInitialTransform(_matrix_to_euler(m, fixed.center_of_voxels()), inPlace=False)
    return float(reg.MetricEvaluate(fixed_img, moving_img))


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

    reg = _metric_method(fixed_img, moving_img)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=LEARNING_RATE_MM,
        minStep=MIN_STEP_MM,
        numberOfIterations=int(iterations_per_level),
        relaxationFactor=0.6,
        gradientMagnitudeTolerance=1e-8,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetMetricSamplingPercentagePerLevel(
        _level_sampling(fixed_img.GetNumberOfPixels()), SAMPLING_SEED
    )
    reg.SetShrinkFactorsPerLevel(list(SHRINK_FACTORS))
    reg.SetSmoothingSigmasPerLevel(list(SMOOTHING_SIGMAS))
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetInitialTransform(init_tx, inPlace=False)

    initial_metric = _metric_method(fixed_img, moving_img)
    initial_metric.SetInitialTransform(init_tx, inPlace=False)
    metric0 = float(initial_metric.MetricEvaluate(fixed_img, moving_img))

    counter = {"level": 0, "total": 0}
    cancelled = {"flag": False}

    def on_iteration() -> None:
        counter["total"] += 1
        if cancel is not None and cancel.is_set():
            cancelled["flag"] = True
            reg.StopRegistration()
            return
        if progress is not None:
            progress(counter["level"], int(reg.GetOptimizerIteration()), reg.GetMetricValue())

    def on_level() -> None:
        counter["level"] = int(reg.GetCurrentLevel())

    reg.AddCommand(sitk.sitkIterationEvent, on_iteration)
    reg.AddCommand(sitk.sitkMultiResolutionIterationEvent, on_level)
    final = reg.Execute(fixed_img, moving_img)
    if cancelled["flag"]:
        raise RegistrationCancelled("registration cancelled")
    # Execute returns a composite holding the optimised Euler transform.
    euler = sitk.Euler3DTransform(sitk.CompositeTransform(final).GetBackTransform())
    matrix = _euler_to_matrix(euler)
    final_metric = _metric_method(fixed_img, moving_img)
    final_metric.SetInitialTransform(euler, inPlace=False)
    metric1 = float(final_metric.MetricEvaluate(fixed_img, moving_img))
    return RigidResult(
        matrix=matrix,
        metric_value=metric1,
        initial_metric_value=metric0,
        iterations=counter["total"],
        stop_condition=str(reg.GetOptimizerStopConditionDescription()),
        elapsed_s=time.perf_counter() - start,
        initialisation=init_kind,
    )
