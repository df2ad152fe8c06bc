"""Lesion uptake on synthetic SUV volumes whose answers are known analytically.

Kernel sizes: the PERCIST sphere (r = 6.2 mm) on an isotropic 2 mm grid holds the voxels with
dk² + dj² + di² <= 6.2²/2² = 9.61, i.e. <= 9.  Integer points by squared norm n (r3(n)):
n=0:1, 1:6, 2:12, 3:8, 4:6, 5:24, 6:24, 7:0, 8:12, 9:30 -> 123 voxels in all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.suv import (
    ReferenceRegion,
    SphereVoi,
    ThresholdKind,
    apply_suv_factors,
    metabolic_volume,
    suv_peak,
    tumour_to_background,
    voi_stats,
)
from namecar_viewer.core.suv.quantify import sphere_kernel_offsets


def _volume(array: np.ndarray, spacing: tuple[float, float, float] = (2.0, 2.0, 2.0)) -> Volume:
    return Volume(array.astype(np.float64), np.diag([*spacing, 1.0]), modality="PT")


def _ball(shape: tuple[int, int, int], centre: tuple[int, int, int], r_vox: float) -> np.ndarray:
    k, j, i = np.indices(shape)
    return np.asarray(
        (k - centre[0]) ** 2 + (j - centre[1]) ** 2 + (i - centre[2]) ** 2 <= r_vox**2
    )


def test_kernel_counts_by_hand() -> None:
    assert len(sphere_kernel_offsets(np.diag([2.0, 2.0, 2.0, 1.0]), 6.2)) == 123
    # Anisotropic 5 x 2 x 2 mm: dk=0: dj²+di² <= 9.61 -> 2-D lattice points with norm <= 9:
    # 1+4+4+4+8+4+4 = 29; dk=±1: 4(dj²+di²) <= 38.44-25 -> dj²+di² <= 3.36 -> <= 2: 9 each;
    # dk=±2: 100 > 38.44.  Total 29 + 18 = 47.
    assert len(sphere_kernel_offsets(np.diag([5.0, 2.0, 2.0, 1.0]), 6.2)) == 47


def test_uniform_sphere_bigger_than_1ml_gives_peak_equal_to_its_value() -> None:
    # A ball of radius 8 voxels = 16 mm (about 17 ml) of SUV 10 in a zero background: the 6.2 mm
    # sphere at its centre lies wholly inside, so SUVpeak = 10 = SUVmax = SUVmean.
    a = np.where(_ball((31, 31, 31), (15, 15, 15), 8), 10.0, 0.0)
    v = _volume(a)
    voi = a > 0
    assert suv_peak(v, voi).value == pytest.approx(10.0, abs=1e-12)
    s = voi_stats(v, voi)
    assert s.suv_max == 10.0 and s.suv_mean == 10.0 and s.suv_sd == 0.0


def test_single_hot_voxel_peak_is_value_over_kernel_size() -> None:
    a = np.zeros((21, 21, 21))
    a[10, 10, 10] = 123.0 * 5.0
    v = _volume(a)
    p = suv_peak(v, a > 0)
    assert p.kernel_voxels == 123
    assert p.value == pytest.approx(5.0, abs=1e-12)  # 615 / 123
    assert p.center_index == (10, 10, 10)
    # With a VOI grown around the voxel every centre whose sphere holds it gives 5, none more.
    assert suv_peak(v, _ball(a.shape, (10, 10, 10), 2)).value == pytest.approx(5.0, abs=1e-12)


def test_anisotropic_hot_voxel() -> None:
    a = np.zeros((9, 21, 21))
    a[4, 10, 10] = 47.0
    p = suv_peak(_volume(a, (5.0, 2.0, 2.0)), a > 0)
    assert p.kernel_voxels == 47
    assert p.value == pytest.approx(1.0, abs=1e-12)  # 47 / 47


def test_sphere_cut_by_the_image_corner_averages_existing_voxels() -> None:
    # Hot voxel at the corner (0,0,0), 2 mm grid: the sphere keeps the offsets with
    # dk, dj, di >= 0 and norm <= 9.  Count per dk: dk=0: 4+3+3+1 = 11; dk=1 (dj²+di² <= 8):
    # 3+3+3 = 9; dk=2 (<= 5): 3+3+2 = 8; dk=3 (<= 0): 1 -> 29 voxels, peak = 29/29 = 1.
    a = np.zeros((10, 10, 10))
    a[0, 0, 0] = 29.0
    voi = np.zeros(a.shape, dtype=bool)
    voi[0, 0, 0] = True
    assert suv_peak(_volume(a), voi).value == pytest.approx(1.0, abs=1e-12)


def test_rotated_grid_gives_the_same_kernel_and_peak() -> None:
    # Rotating the voxel axes by 30° about the patient z axis keeps every distance: 123 voxels.
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([2.0, 2.0, 2.0])
    affine[:3, 3] = (-100.0, 50.0, 20.0)
    a = np.zeros((21, 21, 21))
    a[10, 10, 10] = 246.0
    v = Volume(a, affine, modality="PT")
    p = suv_peak(v, a > 0)
    assert p.kernel_voxels == 123
    assert p.value == pytest.approx(2.0, abs=1e-12)  # 246 / 123
    assert p.center_lps == pytest.approx(tuple(v.index_to_patient([[10, 10, 10]])[0]))


def test_peak_finds_the_hot_corner_of_a_lesion() -> None:
    # A lesion of SUV 4 (ball radius 10 vox) with a ball of SUV 12 (radius 5 vox = 10 mm) off
    # centre: the best 1 ml sphere sits wholly inside the hot ball -> peak 12; max 12.
    a = np.where(_ball((41, 41, 41), (20, 20, 20), 10), 4.0, 0.0)
    a[_ball(a.shape, (20, 20, 26), 5)] = 12.0
    v = _volume(a)
    voi = a > 0
    p = suv_peak(v, voi)
    assert p.value == pytest.approx(12.0, abs=1e-12)
    # Several centres tie (the lattice sphere fits in the hot ball up to 2 voxels off centre);
    # the reported one must have its whole kernel in the hot ball.
    kernel = sphere_kernel_offsets(v.affine, 6.2) + np.array(p.center_index)
    assert np.all(a[kernel[:, 0], kernel[:, 1], kernel[:, 2]] == 12.0)


def test_sphere_voi_by_centre_and_radius() -> None:
    a = np.zeros((21, 21, 21))
    a[10, 10, 10] = 3.0
    v = _volume(a)
    centre = tuple(float(x) for x in v.index_to_patient([[10, 10, 10]])[0])
    s = voi_stats(v, SphereVoi(centre, 6.2))  # same lattice count as the PERCIST kernel
    assert s.n_voxels == 123
    assert s.volume_ml == pytest.approx(123 * 8 / 1000)  # 8 mm³ voxels -> 0.984 ml
    assert s.suv_max == 3.0
    assert s.suv_max_lps == pytest.approx(centre)
    assert s.suv_mean == pytest.approx(3.0 / 123)


def test_metabolic_volume_and_total_lesion_uptake() -> None:
    # Cube 10^3 voxels of 2 mm (8 ml): inner 4^3 at SUV 10, the rest at SUV 3.
    a = np.zeros((14, 14, 14))
    a[2:12, 2:12, 2:12] = 3.0
    a[5:9, 5:9, 5:9] = 10.0
    voi = np.zeros(a.shape, dtype=bool)
    voi[2:12, 2:12, 2:12] = True
    v = _volume(a)
    # 41 % of SUVmax 10 = 4.1 -> the 64 hot voxels: 64 * 8 mm³ = 0.512 ml, mean 10, TLU 5.12.
    m = metabolic_volume(v, voi, 41.0, ThresholdKind.PERCENT_OF_MAX)
    assert m.threshold_suv == pytest.approx(4.1)
    assert m.n_voxels == 64
    assert m.mtv_ml == pytest.approx(0.512)
    assert m.suv_mean == pytest.approx(10.0)
    assert m.total_lesion_uptake == pytest.approx(5.12)
    # Absolute SUV 2.5 -> all 1000 voxels: 8 ml, mean (64*10 + 936*3)/1000 = 3.448, TLU 27.584.
    m = metabolic_volume(v, voi, 2.5, ThresholdKind.ABSOLUTE)
    assert m.n_voxels == 1000
    assert m.mtv_ml == pytest.approx(8.0)
    assert m.suv_mean == pytest.approx(3.448)
    assert m.total_lesion_uptake == pytest.approx(27.584)


def test_tumour_to_background_against_liver() -> None:
    # Lesion max 10; liver region half 1.0 and half 3.0 -> mean 2, SD 1; TBR = 10/2 = 5.
    a = np.zeros((10, 10, 10))
    a[1, 1, 1] = 10.0
    a[5:7, 5:9, 5:9] = 1.0
    a[7:9, 5:9, 5:9] = 3.0
    lesion = np.zeros(a.shape, dtype=bool)
    lesion[0:3, 0:3, 0:3] = True
    liver = np.zeros(a.shape, dtype=bool)
    liver[5:9, 5:9, 5:9] = True
    t = tumour_to_background(_volume(a), lesion, liver, ReferenceRegion.LIVER)
    assert t.background_mean == pytest.approx(2.0)
    assert t.background_sd == pytest.approx(1.0)
    assert t.ratio == pytest.approx(5.0)


def test_apply_factors_per_slice_and_shape_check() -> None:
    v = _volume(np.ones((3, 2, 2)) * 1000.0)
    out = apply_suv_factors(v, [1e-3, 2e-3, 3e-3])
    assert out.array[:, 0, 0].tolist() == pytest.approx([1.0, 2.0, 3.0])
    assert v.array[0, 0, 0] == 1000.0  # input untouched
    with pytest.raises(ValueError, match="one value per slice"):
        apply_suv_factors(v, [1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        voi_stats(v, np.ones((2, 2, 2), dtype=bool))
