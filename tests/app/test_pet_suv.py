"""PET in SUV: the phantom's lesion SUVmax and SUVpeak from the loaded, converted volume; a missing
tag names itself and reader-entered values are recorded; fused-view statistics are in SUV."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from namecar_viewer.app.pet import (
    SUV_UNIT,
    PetFusion,
    SuvField,
    SuvInputNeeded,
    load_pet_suv,
    value_unit,
)
from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.registration import FrameOfReferenceMismatch
from namecar_viewer.core.suv import SuvOverrides, suv_peak, voi_stats

PET = "PT_2025-07-24_PSMA_Ga68"
T2 = "MR_2025-07-22_T2_TSE_AX"
# Stored values are int16 with a per-slice slope of (slice max)/32767; the largest slice maximum
# is the bladder/kidney SUV of 45: rounding error <= 0.5 * 45 / 32767 = 0.0007 SUV.
SUV_TOL = 0.001


@pytest.fixture(scope="module")
def pet_suv(small_demo: Path) -> Any:
    return load_pet_suv([str(small_demo / PET)])


@pytest.fixture(scope="module")
def mri(small_demo: Path) -> Any:
    (stack,) = scan([str(small_demo / T2)]).stacks
    return load_stack(stack)


def test_lesion_suvmax_and_suvpeak_from_loaded_volume(
    pet_suv: Any, ground_truth: dict[str, Any]
) -> None:
    assert pet_suv.metadata["unit"] == SUV_UNIT and value_unit(pet_suv) == SUV_UNIT
    assert pet_suv.metadata["suv_reader_entered"] == {}
    # factor by hand: 78000 g / (150e6 Bq * 2^(-3750/4062.6))
    #   = 78000 / (150e6 * 0.527391) = 9.8598e-4
    arith = ground_truth["pet"]["suv_arithmetic"]
    factor = arith["weight_g"] / (arith["injected_dose_bq"] * arith["decay_factor"])
    assert factor == pytest.approx(9.8598e-4, rel=1e-4)
    assert pet_suv.metadata["suv_slice_factors"] == pytest.approx([factor] * pet_suv.shape[0])
    for les in ground_truth["lesions"]:
        truth = les["pet"]
        sphere = (*truth["centre_mm"],)
        # a sphere inside the lesion (semi-axis minus 4 mm), at least reaching the peak voxel
        radius = max(truth["short_axis_mm"] / 2.0 - 4.0, 3.0)
        from namecar_viewer.core.suv import SphereVoi

        stats = voi_stats(pet_suv, SphereVoi(sphere, radius))
        assert stats.suv_max == pytest.approx(truth["suv_max"], abs=SUV_TOL), les["id"]
        # the phantom's peak voxel, found by its centre (the loader orders slices by position)
        kji = pet_suv.patient_to_index([truth["peak_voxel_centre_mm"]])[0]
        assert kji == pytest.approx(np.rint(kji), abs=1e-6)
        k, j, i = (int(v) for v in np.rint(kji))
        assert float(pet_suv.array[k, j, i]) == pytest.approx(truth["suv_max"], abs=SUV_TOL)
        if truth["suv_peak"] is not None:
            peak = suv_peak(pet_suv, SphereVoi(sphere, 10.0))
            assert peak.value == pytest.approx(truth["suv_peak"], abs=SUV_TOL), les["id"]


def test_missing_weight_names_the_tag_and_reader_value_is_recorded(
    small_demo: Path, tmp_path: Path, pet_suv: Any
) -> None:
    folder = tmp_path / "pet"
    shutil.copytree(small_demo / PET, folder)
    for f in folder.iterdir():
        ds = pydicom.dcmread(f)
        del ds.PatientWeight
        ds.save_as(f)
    with pytest.raises(SuvInputNeeded) as info:
        load_pet_suv([str(folder)])
    assert "PatientWeight (0010,1030)" in info.value.message
    assert info.value.fields == (SuvField.WEIGHT,)
    entered = load_pet_suv([str(folder)], SuvOverrides(patient_weight_kg=78.0))
    assert entered.metadata["suv_reader_entered"] == {"patient_weight_kg": 78.0}
    assert entered.metadata["suv_inputs"]["patient_weight_kg"]["source"] == "reader"
    np.testing.assert_allclose(entered.array, pet_suv.array, rtol=1e-6)


def test_missing_injection_time_asks_for_it(small_demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pet2"
    shutil.copytree(small_demo / PET, folder)
    for f in folder.iterdir():
        ds = pydicom.dcmread(f)
        item = ds.RadiopharmaceuticalInformationSequence[0]
        for kw in ("RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime"):
            if kw in item:
                delattr(item, kw)
        ds.save_as(f)
    with pytest.raises(SuvInputNeeded) as info:
        load_pet_suv([str(folder)])
    assert SuvField.INJECTION_TIME in info.value.fields
    assert "RadiopharmaceuticalStartTime" in info.value.message


def test_fused_view_statistics_are_in_suv(
    pet_suv: Any, mri: Any, ground_truth: dict[str, Any]
) -> None:
    with pytest.raises(FrameOfReferenceMismatch):
        PetFusion(mri, pet_suv)
    truth = np.asarray(ground_truth["pet"]["transform_mri_to_pet"])
    fusion = PetFusion(mri, pet_suv, truth)
    assert fusion.unit == SUV_UNIT and fusion.overlay.metadata["unit"] == SUV_UNIT
    t1 = next(les for les in ground_truth["lesions"] if les["id"] == "T1")
    centre_mri = t1["mri"]["centre_mm"]
    # a sphere drawn at the lesion on the MRI lands on the PET lesion: SUVmax 11.5
    stats = fusion.sphere_stats(centre_mri, 10.0)
    assert stats.suv_max == pytest.approx(11.5, abs=SUV_TOL)
    assert fusion.suv_at(centre_mri) == pytest.approx(11.5, abs=SUV_TOL)
    # planar ROI on the resampled PET slice through the lesion centre (uniform 60 x 48 mm
    # lesion, ROI radius 8 mm well inside): mean 11.5 SUV
    k, j, i = (int(v) for v in np.rint(mri.patient_to_index([centre_mri])[0]))
    sl = fusion.overlay.array[k]
    rr, cc = np.mgrid[: sl.shape[0], : sl.shape[1]]
    sp = mri.spacing[1]
    mask = ((rr - j) * sp) ** 2 + ((cc - i) * sp) ** 2 <= 8.0**2
    roi = fusion.plane_roi_stats(sl, mask)
    assert roi.unit == SUV_UNIT
    assert roi.mean == pytest.approx(11.5, abs=0.05)
