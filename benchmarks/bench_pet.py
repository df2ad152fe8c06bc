"""Benchmark: rigid registration of the demo MRI (T2) and PET, and resampling of the PET onto the
MRI grid, with SimpleITK's own physical-space resample as the reference in the same process.

Usage: ``python benchmarks/bench_pet.py [--size small|full] [--repeat N]``.
Goals (issue 6): registration <= 10 s, resampling <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REGISTRATION_GOAL_S = 10.0
RESAMPLE_GOAL_S = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", choices=["small", "full"], default="full")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import SimpleITK as sitk

    from namecar_viewer.app.pet import load_pet_suv
    from namecar_viewer.core.dicom import load_stack, scan
    from namecar_viewer.core.registration import (
        point_error_mm,
        register_rigid,
        resample_volume,
        rotation_angle_deg,
        volume_to_sitk,
    )
    from namecar_viewer.core.registration.rigid import _matrix_to_euler
    from namecar_viewer.phantom.demo import write_demo_patient

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        t0 = time.perf_counter()
        write_demo_patient(out, size=args.size)
        print(f"demo patient ({args.size}) written in {time.perf_counter() - t0:.1f} s")
        truth = np.asarray(
            json.loads((out / "ground_truth.json").read_text())["pet"]["transform_mri_to_pet"]
        )
        lesions = [
            les["mri"]["centre_mm"]
            for les in json.loads((out / "ground_truth.json").read_text())["lesions"]
        ]
        (mr_stack,) = scan([str(out / "MR_2025-07-22_T2_TSE_AX")]).stacks
        mri = load_stack(mr_stack)
        pet = load_pet_suv([str(out / "PT_2025-07-24_PSMA_Ga68")])
    print(f"MRI T2 {mri.shape} spacing {mri.spacing} mm; PET {pet.shape} spacing {pet.spacing} mm")

    reg_times, errors, rot_errors = [], [], []
    result = None
    for _ in range(max(1, args.repeat // 2)):
        result = register_rigid(mri, pet)
        reg_times.append(result.elapsed_s)
        errors.append(float(point_error_mm(result.matrix, truth, lesions).max()))
        rot_errors.append(rotation_angle_deg(np.linalg.inv(truth) @ result.matrix))
    assert result is not None
    reg = statistics.median(reg_times)
    print(
        f"registration: median {reg:.2f} s over {len(reg_times)} runs ({result.iterations} "
        f"iterations), metric {result.initial_metric_value:.4f} -> {result.metric_value:.4f}; "
        f"max lesion error {max(errors):.2f} mm, rotation error {max(rot_errors):.3f} deg; "
        f"goal <= {REGISTRATION_GOAL_S:g} s: {'OK' if reg <= REGISTRATION_GOAL_S else 'MISSED'}"
    )

    ours, ref = [], []
    fixed_img = volume_to_sitk(mri)
    moving_img = volume_to_sitk(pet)
    tx = _matrix_to_euler(truth, mri.center_of_voxels())
    ours_vol = ref_arr = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        ours_vol = resample_volume(pet, mri, truth)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref_img = sitk.Resample(moving_img, fixed_img, tx, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        ref_arr = sitk.GetArrayFromImage(ref_img)
        ref.append(time.perf_counter() - t)
    assert ours_vol is not None and ref_arr is not None
    diff = float(np.max(np.abs(ours_vol.array - ref_arr)))
    o, r = statistics.median(ours), statistics.median(ref)
    print(
        f"resample PET -> MRI grid {mri.shape}: ours median {o * 1000:.1f} ms, SimpleITK "
        f"physical-space Resample {r * 1000:.1f} ms (ratio {o / r:.2f}), max |difference| "
        f"{diff:.2e} SUV; goal <= {RESAMPLE_GOAL_S:g} s: "
        f"{'OK' if o <= RESAMPLE_GOAL_S else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
