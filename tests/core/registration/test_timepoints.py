"""CT-CT alignment of timepoints (issue 16): the demo patient's lesions found again at every
timepoint within 3 mm, a known rigid motion recovered within 2 mm and 1 degree, a local
displacement around a lesion corrected by the per-lesion refinement, and cancel.

The demo patient lies shifted by a known translation at each CT (``ground_truth.json``:
``patient_shift_mm``), so the true fixed -> moving map of two timepoints carries every lesion
centre at one timepoint onto its centre at the other; errors are measured there.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration import (
    RegistrationCancelled,
    resample_volume,
    rigid_matrix,
    rotation_angle_deg,
    transform_points,
)
from namecar_viewer.core.registration.timepoints import (
    align_prepared,
    align_timepoints,
    bin_volume,
    body_mask,
    prepare_ct,
    refine_locally,
)

MAX_LESION_ERROR_MM = 3.0
MAX_KNOWN_MOTION_ERROR_MM = 2.0
MAX_ROTATION_ERROR_DEG = 1.0
TIMEPOINTS = ("baseline", "inclusion", "fu03m", "fu06m", "fu09m")


@pytest.fixture(scope="module")
def cts(small_demo: Path, ground_truth: dict[str, Any]) -> dict[str, Volume]:
    out = {}
    for tp in ground_truth["ct_timepoints"]:
        (stack,) = scan([str(small_demo / tp["folder"])]).stacks
        out[tp["label"]] = load_stack(stack)
    return out


def _centres(ground_truth: dict[str, Any], label: str) -> np.ndarray:
    return np.array([les["ct"][label]["centre_mm"] for les in ground_truth["lesions"]])


def test_bin_volume_keeps_the_geometry() -> None:
    a = np.arange(4 * 6 * 6, dtype=np.int16).reshape(4, 6, 6)
    aff = np.eye(4)
    aff[:3, 0] = (0.0, 0.0, 2.5)  # k along z
    aff[:3, 1] = (0.0, 0.8, 0.0)  # j along y
    aff[:3, 2] = (0.8, 0.0, 0.0)  # i along x
    aff[:3, 3] = (10.0, 20.0, 30.0)
    v = Volume(a, aff, modality="CT")
    b = bin_volume(v, (2, 3, 3), clip=None)
    assert b.shape == (2, 2, 2)
    assert b.array[0, 0, 0] == pytest.approx(a[0:2, 0:3, 0:3].mean())
    # the centre of a block is where the block's voxels are on average
    centre = v.index_to_patient([[0.5, 1.0, 1.0]])[0]
    assert np.allclose(b.index_to_patient([[0, 0, 0]])[0], centre)
    assert b.spacing == pytest.approx((5.0, 2.4, 2.4))


def test_body_mask_holds_the_lungs_not_the_air(cts: dict[str, Volume]) -> None:
    v = cts["baseline"]
    mask = body_mask(bin_volume(v, (1, 1, 1)))
    air = np.asarray(v.array) < -950
    lung = (np.asarray(v.array) < -700) & (np.asarray(v.array) > -950)
    assert mask[lung].mean() > 0.99  # the lungs are inside the body
    assert mask[air].mean() < 0.05  # the air around it is not
    assert mask.sum() > 0.2 * mask.size


@pytest.mark.parametrize("fixed", TIMEPOINTS)
def test_demo_lesions_within_3_mm_at_every_timepoint(
    cts: dict[str, Volume], ground_truth: dict[str, Any], fixed: str
) -> None:
    """The study opened is ``fixed``; every other timepoint is aligned to it and each lesion's
    centre there is carried to the other timepoint (global transform, then with the lesion's
    local refinement as the app applies it)."""
    fp = prepare_ct(cts[fixed])
    ids = [les["id"] for les in ground_truth["lesions"]]
    worst = 0.0
    for moving in TIMEPOINTS:
        if moving == fixed:
            continue
        result = align_prepared(fp, prepare_ct(cts[moving], mask=False))
        a, b = _centres(ground_truth, fixed), _centres(ground_truth, moving)
        glob = np.linalg.norm(transform_points(result.matrix, a) - b, axis=1)
        local = []
        for n, point in enumerate(a):
            ref = refine_locally(cts[fixed], cts[moving], result.matrix, point, key=ids[n])
            local.append(float(np.linalg.norm(transform_points(ref.matrix, point[None])[0] - b[n])))
        print(
            f"{fixed:>9} -> {moving:<9} "
            + " ".join(f"{i} {g:.2f}/{lo:.2f}" for i, g, lo in zip(ids, glob, local, strict=True))
            + f" mm (global/with local); rotation {rotation_angle_deg(result.matrix):.2f} deg, "
            f"metric {result.initial_metric_value:.0f} -> {result.metric_value:.0f}, "
            f"{result.elapsed_s:.2f} s"
        )
        assert glob.max() <= MAX_LESION_ERROR_MM
        assert max(local) <= MAX_LESION_ERROR_MM
        assert result.metric_value < result.initial_metric_value or glob.max() < 0.5
        worst = max(worst, glob.max(), max(local))
    print(f"worst lesion error with {fixed} opened: {worst:.2f} mm")


def moved_copy(volume: Volume, motion: np.ndarray) -> Volume:
    """What a scanner would have recorded of ``volume``'s patient moved by ``motion``: at q the
    value of ``volume`` at ``motion @ q`` (a resample with SimpleITK), cut to the slices that
    are whole (a scan's field of view ends where it ends; no made-up air beyond it), the
    corners outside the old field of view as air, in a frame of reference of its own."""
    mv = resample_volume(volume, volume, motion, default_value=np.nan)
    a = np.asarray(mv.array)
    centre = np.isfinite(a[:, a.shape[1] // 2, a.shape[2] // 2])
    k0, k1 = int(np.argmax(centre)), int(len(centre) - np.argmax(centre[::-1]))
    affine = mv.affine.copy()
    affine[:3, 3] = mv.affine[:3, :3] @ np.array([k0, 0.0, 0.0]) + mv.affine[:3, 3]
    return dataclasses.replace(
        mv,
        array=np.nan_to_num(a[k0:k1], nan=-1024.0),
        affine=affine,
        frame_of_reference_uid="1.2.826.0.1.3680043.10.1234.moved",
    )


def test_known_rigid_motion_recovered(cts: dict[str, Volume], ground_truth: dict[str, Any]) -> None:
    """A follow-up rotated by 4 degrees about z and shifted by (6, -4, 9) mm (a resampled copy
    written with SimpleITK): the transform found is the known one within 2 mm over the body
    and 1 degree."""
    fixed, follow = cts["baseline"], cts["fu06m"]
    shift = {t["label"]: np.asarray(t["patient_shift_mm"]) for t in ground_truth["ct_timepoints"]}
    patient = np.eye(4)
    patient[:3, 3] = shift["fu06m"] - shift["baseline"]  # baseline -> fu06m, the phantom's truth
    motion = rigid_matrix((0.0, 0.0, 4.0), (6.0, -4.0, 9.0), follow.center_of_voxels())
    moved = moved_copy(follow, motion)  # shows at q what the follow-up shows at motion @ q
    truth = np.linalg.inv(motion) @ patient
    result = align_timepoints(fixed, moved)
    lesions = _centres(ground_truth, "baseline")
    rng = np.random.default_rng(7)
    dirs = rng.normal(size=(300, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    body = fixed.center_of_voxels() + dirs * np.array([140.0, 90.0, 90.0])
    lesion_err = np.linalg.norm(
        transform_points(result.matrix, lesions) - transform_points(truth, lesions), axis=1
    )
    body_err = np.linalg.norm(
        transform_points(result.matrix, body) - transform_points(truth, body), axis=1
    )
    rot_err = rotation_angle_deg(np.linalg.inv(truth) @ result.matrix)
    print(
        f"known motion: lesion error max {lesion_err.max():.2f} mm, body max "
        f"{body_err.max():.2f} mean {body_err.mean():.2f} mm, rotation error {rot_err:.3f} deg "
        f"(found {rotation_angle_deg(result.matrix):.2f}), {result.elapsed_s:.2f} s"
    )
    assert lesion_err.max() <= MAX_KNOWN_MOTION_ERROR_MM
    assert body_err.max() <= MAX_KNOWN_MOTION_ERROR_MM
    assert rot_err <= MAX_ROTATION_ERROR_DEG


def test_local_refinement_corrects_a_lesion_that_moved_alone(
    cts: dict[str, Volume], ground_truth: dict[str, Any]
) -> None:
    """Breathing moves the liver, not the spine: a block around the liver metastasis T4 of a
    follow-up is displaced by 3 slices and 3 rows (7.5 mm and 5.6 mm).  The global alignment
    follows the body; the refinement around T4 finds the lesion again, the others keep the
    global transform."""
    fixed, follow = cts["baseline"], cts["fu03m"]
    lesions = {les["id"]: les for les in ground_truth["lesions"]}
    c = np.asarray(lesions["T4"]["ct"]["fu03m"]["centre_mm"])
    k, j, i = np.rint(follow.patient_to_index(c[None])[0]).astype(int)
    dk, dj = 3, 3
    a = np.asarray(follow.array).copy()
    block = np.s_[k - 18 : k + 18, j - 32 : j + 32, i - 32 : i + 32]
    moved = np.s_[k - 18 + dk : k + 18 + dk, j - 32 + dj : j + 32 + dj, i - 32 : i + 32]
    a[moved] = np.asarray(follow.array)[block]
    displaced = dataclasses.replace(follow, array=a)
    local_shift = follow.affine[:3, :3] @ np.array([dk, dj, 0.0])
    fp, mp = prepare_ct(fixed), prepare_ct(displaced, mask=False)
    result = align_prepared(fp, mp)
    for lid in ("T4", "T1", "T5"):
        p = np.asarray(lesions[lid]["ct"]["baseline"]["centre_mm"])
        q = np.asarray(lesions[lid]["ct"]["fu03m"]["centre_mm"])
        if lid == "T4":
            q = q + local_shift
        ref = refine_locally(fixed, displaced, result.matrix, p, key=lid)
        g = float(np.linalg.norm(transform_points(result.matrix, p[None])[0] - q))
        loc = float(np.linalg.norm(transform_points(ref.matrix, p[None])[0] - q))
        print(
            f"{lid}: global {g:.2f} mm, refined {loc:.2f} mm, accepted {ref.accepted} "
            f"(shift {ref.shift_mm:.2f} mm, metric gain {ref.gain:.0%}) {ref.reason}"
        )
        if lid == "T4":
            assert g > 5.0  # the global alignment cannot follow the block
            assert ref.accepted
            assert loc <= MAX_KNOWN_MOTION_ERROR_MM
        else:
            assert loc <= MAX_LESION_ERROR_MM


def test_alignment_can_be_cancelled(cts: dict[str, Volume]) -> None:
    stop = threading.Event()
    seen: list[float] = []

    def progress(f: float) -> None:
        seen.append(f)
        if len(seen) == 3:
            stop.set()

    fp = prepare_ct(cts["baseline"])
    with pytest.raises(RegistrationCancelled):
        align_prepared(fp, prepare_ct(cts["fu03m"], mask=False), progress=progress, cancel=stop)
    assert len(seen) == 3
    assert all(0.0 <= f < 1.0 for f in seen)
