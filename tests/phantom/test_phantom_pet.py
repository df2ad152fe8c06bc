"""PSMA PET of the demo: SUV tags, per-slice rescale, SUVmax recovered by hand from the tags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from phantom_helpers import modality_values, read_series

PET = "PT_2025-07-24_PSMA_Ga68"


@pytest.fixture(scope="module")
def pet(small_demo):
    series = read_series(small_demo / PET)
    series.sort(key=lambda d: -float(d.ImagePositionPatient[2]))
    return series


def suv_bw_factor(ds) -> float:
    """SUVbw per Bq/ml, worked from the tags: weight(g) / (dose * 2^(-(t_series - t_inj)/T))."""
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    inj = dt.datetime.strptime(rp.RadiopharmaceuticalStartDateTime[:14], "%Y%m%d%H%M%S")
    ref = dt.datetime.strptime(ds.SeriesDate + ds.SeriesTime[:6], "%Y%m%d%H%M%S")
    decayed = float(rp.RadionuclideTotalDose) * 2.0 ** (
        -(ref - inj).total_seconds() / float(rp.RadionuclideHalfLife)
    )
    return float(ds.PatientWeight) * 1000.0 / decayed


def test_suv_tags(pet):
    d = pet[0]
    assert d.Units == "BQML" and d.DecayCorrection == "START"
    assert {"DECY", "ATTN"} <= set(d.CorrectedImage)
    rp = d.RadiopharmaceuticalInformationSequence[0]
    assert float(rp.RadionuclideHalfLife) == 4062.6
    assert float(rp.RadionuclideTotalDose) == 150e6
    assert rp.RadiopharmaceuticalStartTime == "100200"
    assert rp.RadionuclideCodeSequence[0].CodeMeaning == "^68^Gallium"
    assert float(d.PatientWeight) == 78.0 and float(d.PatientSize) == 1.76 and d.PatientSex == "M"
    assert d.SeriesTime == "110430" and d.AcquisitionDate == d.SeriesDate
    # Every acquisition starts at or after the series start, so SeriesTime is the reference.
    assert min(x.AcquisitionTime for x in pet) == d.SeriesTime
    # Each slice has its own scale (int16 stored values).
    slopes = {float(x.RescaleSlope) for x in pet}
    assert len(slopes) > len(pet) // 2
    assert all(x.pixel_array.dtype == np.int16 for x in pet[:3])


def test_suv_factor_by_hand(pet, ground_truth):
    # 11:04:30 - 10:02:00 = 3750 s; 2^(-3750/4062.6) = 0.52732...;
    # 150e6 * 0.52732 = 7.9098e7 Bq; 78000 g / 7.9098e7 Bq = 9.861e-4 (g/ml per Bq/ml).
    f = suv_bw_factor(pet[0])
    assert f == pytest.approx(78000.0 / (150e6 * 2.0 ** (-3750.0 / 4062.6)), rel=1e-12)
    assert f == pytest.approx(9.861e-4, rel=1e-3)
    assert 1.0 / f == pytest.approx(ground_truth["pet"]["suv_arithmetic"]["bq_per_ml_per_suv"])


def test_lesion_suvmax_recovered(pet, ground_truth):
    f = suv_bw_factor(pet[0])
    suv = np.stack([modality_values(d) for d in pet]) * f
    first = np.array([float(v) for v in pet[0].ImagePositionPatient])
    ps = float(pet[0].PixelSpacing[0])
    dz = float(pet[1].ImagePositionPatient[2]) - first[2]
    k, j, i = np.meshgrid(
        np.arange(suv.shape[0]), np.arange(suv.shape[1]), np.arange(suv.shape[2]), indexing="ij"
    )
    x, y, z = first[0] + i * ps, first[1] + j * ps, first[2] + k * dz
    for les in ground_truth["lesions"]:
        p = les["pet"]
        c = np.array(p["centre_mm"])
        u = np.array(p["long_axis_direction"])  # in-plane long axis; v perpendicular in-plane
        v = np.array([-u[1], u[0], 0.0])
        d = np.stack([x - c[0], y - c[1], z - c[2]], axis=-1)
        a, b = p["long_axis_mm"] / 2.0, p["short_axis_mm"] / 2.0
        inside = (d @ u / a) ** 2 + (d @ v / b) ** 2 + (d[..., 2] / b) ** 2 <= 1.0
        kk, jj, ii = p["peak_voxel_kji"]
        inside[kk, jj, ii] = True  # the generator always paints the voxel nearest the centre
        assert np.linalg.norm(
            [x[kk, jj, ii] - c[0], y[kk, jj, ii] - c[1], z[kk, jj, ii] - c[2]]
        ) <= (np.sqrt(3) * ps / 2 + 1e-6)
        assert suv[inside].max() == pytest.approx(p["suv_max"], rel=0.02), les["id"]
        assert suv[kk, jj, ii] == pytest.approx(p["suv_max"], rel=0.02), les["id"]


def test_transform_mri_to_pet_matches_images(small_demo, pet, ground_truth):
    """The primary tumour's centroid on DWI b800 (MRI frame), mapped with the ground-truth
    transform, lands on its centroid in the PET (within 2 mm)."""
    t = np.array(ground_truth["pet"]["transform_mri_to_pet"])
    les = ground_truth["lesions"][0]
    assert les["id"] == "T1"
    # PET: voxels holding the tumour's exact uptake (11.5 +- 1 %), within 45 mm of its centre.
    f = suv_bw_factor(pet[0])
    pts = []
    for d in pet:
        s = modality_values(d) * f
        jj, ii = np.nonzero(np.abs(s - 11.5) < 0.115)
        ps = float(d.PixelSpacing[0])
        o = [float(v) for v in d.ImagePositionPatient]
        pts += [(o[0] + i * ps, o[1] + j * ps, o[2]) for j, i in zip(jj, ii, strict=True)]
    pts = np.array(pts)
    near = np.linalg.norm(pts - les["pet"]["centre_mm"], axis=1) < 45
    pet_centroid = pts[near].mean(axis=0)
    # MRI DWI b800: tumour 380 e^-0.88 = 158 vs kidney cortex 420 e^-1.68 = 78, fat ~30.
    mri_pts = []
    for d in read_series(small_demo / "MR_2025-07-22_DWI_b0_b800"):
        if float(d.DiffusionBValue) != 800:
            continue
        img = d.pixel_array.astype(float)
        jj, ii = np.nonzero((img > 120) & (img < 200))
        ps = float(d.PixelSpacing[0])
        o = [float(v) for v in d.ImagePositionPatient]
        mri_pts += [(o[0] + i * ps, o[1] + j * ps, o[2]) for j, i in zip(jj, ii, strict=True)]
    mri_pts = np.array(mri_pts)
    near = np.linalg.norm(mri_pts - les["mri"]["centre_mm"], axis=1) < 45
    mri_centroid = mri_pts[near].mean(axis=0)
    mapped = t[:3, :3] @ mri_centroid + t[:3, 3]
    assert np.linalg.norm(mapped - pet_centroid) < 2.0, (mapped, pet_centroid)
    # And the transform is the documented one: 3 degrees about z, then (12, -8, 20) mm.
    c, s = np.cos(np.deg2rad(3.0)), np.sin(np.deg2rad(3.0))
    assert np.allclose(t, [[c, -s, 0, 12], [s, c, 0, -8], [0, 0, 1, 20], [0, 0, 0, 1]])
