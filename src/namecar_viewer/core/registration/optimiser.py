"""The SimpleITK optimiser set-up shared by the MRI-PET and the CT-CT registrations.

Both use a regular-step gradient descent scaled by physical shift, count the iterations over
their pyramid levels, stop at once when the reader cancels, and read the optimised rigid
transform back out of the composite that ``Execute`` returns; one place for those steps keeps
the two registrations' cancel and progress behaviour the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

GRADIENT_TOLERANCE = 1e-8


class RegistrationCancelled(Exception):
    """The caller's cancel event was set while the optimiser ran."""


def _sitk() -> Any:
    import SimpleITK as sitk

    return sitk


def regular_step_descent(
    reg: Any,
    learning_rate: float,
    min_step: float,
    iterations: int,
    relaxation: float,
    gradient_tolerance: float | None = GRADIENT_TOLERANCE,
) -> None:
    """Regular-step gradient descent on ``reg``, its scales from the physical shift of each
    parameter (a millimetre of translation weighs like the rotation moving a voxel as far).
    ``gradient_tolerance`` None keeps SimpleITK's default."""
    kwargs: dict[str, Any] = {
        "learningRate": float(learning_rate),
        "minStep": float(min_step),
        "numberOfIterations": int(iterations),
        "relaxationFactor": float(relaxation),
    }
    if gradient_tolerance is not None:
        kwargs["gradientMagnitudeTolerance"] = float(gradient_tolerance)
    reg.SetOptimizerAsRegularStepGradientDescent(**kwargs)
    reg.SetOptimizerScalesFromPhysicalShift()


def watch_iterations(
    reg: Any,
    state: dict[str, Any],
    cancel: threading.Event | None,
    each: Callable[[Any], None] | None = None,
) -> None:
    """After every iteration of ``reg``: count it in ``state["total"]`` (when present), stop
    the optimiser and set ``state["cancelled"]`` once ``cancel`` is set, else call ``each(reg)``
    (progress)."""
    sitk = _sitk()

    def on_iteration() -> None:
        if "total" in state:
            state["total"] += 1
        if cancel is not None and cancel.is_set():
            state["cancelled"] = True
            reg.StopRegistration()
            return
        if each is not None:
            each(reg)

    reg.AddCommand(sitk.sitkIterationEvent, on_iteration)


def optimised_euler(final: Any) -> Any:
    """The optimised Euler transform inside the composite ``Execute`` returns (the initial
    transform not in place)."""
    sitk = _sitk()
    return sitk.Euler3DTransform(sitk.CompositeTransform(final).GetBackTransform())


def run_watched(
    reg: Any,
    fixed: Any,
    moving: Any,
    state: dict[str, Any],
    cancel: threading.Event | None,
    each: Callable[[Any], None] | None,
    what: str,
) -> tuple[Any, str]:
    """One pyramid level: ``reg`` run on the images under ``watch_iterations``; the optimised
    Euler transform and the optimiser's stop condition. Raises RegistrationCancelled ("``what``
    cancelled") when the reader cancelled."""
    watch_iterations(reg, state, cancel, each)
    final = reg.Execute(fixed, moving)
    if state.get("cancelled"):
        raise RegistrationCancelled(f"{what} cancelled")
    return optimised_euler(final), str(reg.GetOptimizerStopConditionDescription())
