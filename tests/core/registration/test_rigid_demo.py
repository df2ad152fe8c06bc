"""The demo's known MRI->PET rigid offset (3 degrees about z, (12, -8, 20) mm) is recovered.

Fixed = axial T2 MRI, moving = PSMA PET.  The matrix found maps MRI LPS to PET LPS, the ground
truth's ``transform_mri_to_pet``.  Errors are measured where they matter to a reader: at every
lesion centre (MRI coordinates) and on an ellipsoid of points spanning the abdomen covered by
the MRI, plus the residual rotation angle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.registration import (
    metric_value,
    point_error_mm,
    register_rigid,
    rotation_angle_deg,
)

MAX_ERROR_MM = 2.0
MAX_ROTATION_ERROR_DEG = 1.0


@pytest.fixture(scope="module")
def mri_pet(small_demo: Path) -> tuple[Any, Any]:
    report = scan(
        [str(small_demo / "MR_2025-07-22_T2_TSE_AX"), str(small_demo / "PT_2025-07-24_PSMA_Ga68")]
    )
    by_mod = {s.modality: s for s in report.stacks}
    return load_stack(by_mod["MR"]), load_stack(by_mod["PT"])


def test_known_mri_to_pet_offset_recovered(
    mri_pet: tuple[Any, Any], ground_truth: dict[str, Any]
) -> None:
    mri, pet = mri_pet
    assert mri.frame_of_reference_uid != pet.frame_of_reference_uid
    truth = np.asarray(ground_truth["pet"]["transform_mri_to_pet"])
    assert rotation_angle_deg(truth) == pytest.approx(3.0)
    result = register_rigid(mri, pet)
    lesions = np.array([les["mri"]["centre_mm"] for les in ground_truth["lesions"]])
    centre = mri.center_of_voxels()
    rng = np.random.default_rng(1)
    dirs = rng.normal(size=(200, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    abdomen = centre + dirs * np.array([150.0, 100.0, 70.0])  # ellipsoid inside the MRI FOV
    lesion_err = point_error_mm(result.matrix, truth, lesions)
    body_err = point_error_mm(result.matrix, truth, abdomen)
    rot_err = rotation_angle_deg(np.linalg.inv(truth) @ result.matrix)
    print(
        f"lesion error max {lesion_err.max():.2f} mm, abdomen error max {body_err.max():.2f} "
        f"mean {body_err.mean():.2f} mm, rotation error {rot_err:.3f} deg, metric "
        f"{result.initial_metric_value:.4f} -> {result.metric_value:.4f}, {result.elapsed_s:.2f} s"
    )
    assert lesion_err.max() <= MAX_ERROR_MM
    assert body_err.max() <= MAX_ERROR_MM
    assert rot_err <= MAX_ROTATION_ERROR_DEG
    assert result.metric_value < result.initial_metric_value
    # the metric at the truth is as good as the optimiser's (within noise), far better than
    # at the identity
    at_truth = metric_value(mri, pet, truth)
    at_identity = metric_value(mri, pet, np.eye(4))
    assert at_truth < at_identity
    assert at_truth == pytest.approx(result.metric_value, abs=0.02)


def test_registration_can_be_cancelled(mri_pet: tuple[Any, Any]) -> None:
    import threading

    from namecar_viewer.core.registration import RegistrationCancelled

    mri, pet = mri_pet
    stop = threading.Event()
    seen: list[int] = []

    def progress(level: int, iteration: int, metric: float) -> None:
        seen.append(iteration)
        if len(seen) == 3:
            stop.set()

    with pytest.raises(RegistrationCancelled):
        register_rigid(mri, pet, progress=progress, cancel=stop)
    assert len(seen) == 3
