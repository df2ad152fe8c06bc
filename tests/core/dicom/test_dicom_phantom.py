"""The demo phantom loaded through ``load_series``: lesion diameters and series splitting.

Ground truth comes from the generator's analytic lesion definitions (ground_truth.json); here
it is recovered from the loaded Volume alone, through its affine, in patient millimetres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.core.dicom import load_series, load_stack, scan


def _axial_extent_mm(
    volume: Any, centre_mm: list[float], hu: int, axis: np.ndarray, radius_mm: float
) -> float:
    """Extent along ``axis`` between the outermost lesion voxel centres, plus one voxel.

    Voxels are taken on the axial slice through the centre, within ``radius_mm`` of it and
    within 30 HU of the lesion's CT number; positions come from the volume's affine.
    """
    k = round(float(volume.patient_to_index([centre_mm])[0][0]))
    plane = volume.array[k].astype(np.int32)
    jj, ii = np.nonzero(np.abs(plane - hu) <= 30)
    pts = volume.index_to_patient(np.stack([np.full(jj.shape, k), jj, ii], axis=1))
    near = np.linalg.norm(pts - np.asarray(centre_mm), axis=1) <= radius_mm
    proj = (pts[near] - np.asarray(centre_mm)) @ axis
    return float(proj.max() - proj.min()) + volume.spacing[2]


def test_ct_lesion_diameters_from_loaded_volume(
    small_demo: Path, ground_truth: dict[str, Any]
) -> None:
    for tp in ("baseline", "inclusion"):
        folder = next(
            p for p in small_demo.iterdir() if p.name.startswith("CT_") and p.name.endswith(tp)
        )
        v = load_series([folder])
        assert v.shape[0] == 84 and v.array.dtype == np.int16
        pixel = v.spacing[1]
        for lesion in ground_truth["lesions"]:
            truth = lesion["ct"][tp]
            axis = np.asarray(lesion["long_axis_direction"], dtype=float)
            long_mm = _axial_extent_mm(
                v, truth["centre_mm"], lesion["ct_hu"], axis, truth["long_axis_mm"] / 2 + pixel
            )
            # voxels are painted where their centre is inside the ellipsoid: the extent from
            # voxel edge to voxel edge is the diameter within one pixel spacing
            assert abs(long_mm - truth["long_axis_mm"]) <= pixel, (lesion["id"], tp, long_mm)


def test_dwi_series_splits_into_two_b_value_stacks(small_demo: Path) -> None:
    report = scan([small_demo / "MR_2025-07-22_DWI_b0_b800"])
    assert sorted(s.label for s in report.stacks) == ["b=0", "b=800"]
    b0, b800 = sorted(report.stacks, key=lambda s: s.label)
    assert b0.series_instance_uid == b800.series_instance_uid
    v0, v800 = load_stack(b0), load_stack(b800)
    np.testing.assert_allclose(v0.affine, v800.affine)
    assert v800.array.mean() < v0.array.mean()  # diffusion weighting attenuates signal


def test_dynamic_series_splits_by_temporal_position(small_demo: Path) -> None:
    report = scan([small_demo / "MR_2025-07-22_DYN_T1"])
    assert [s.label for s in report.stacks] == [f"phase {n}" for n in range(1, 7)]
    assert {s.shape for s in report.stacks} == {report.stacks[0].shape}


def test_pet_is_float_with_per_slice_rescale(
    small_demo: Path, ground_truth: dict[str, Any]
) -> None:
    v = load_series([small_demo / "PT_2025-07-24_PSMA_Ga68"])
    assert v.modality == "PT" and v.array.dtype == np.float32
    t1 = next(les for les in ground_truth["lesions"] if les["id"] == "T1")
    # the hottest kidney-tumour voxel holds the activity concentration of its SUVmax, Bq/ml
    k, j, i = np.round(v.patient_to_index([t1["pet"]["peak_voxel_centre_mm"]])[0]).astype(int)
    assert float(v.array[k, j, i]) == pytest.approx(t1["pet"]["activity_bq_per_ml"], rel=1e-3)
