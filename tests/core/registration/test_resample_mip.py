"""Resampling through LPS transforms and MIP picking, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.mip import mip
from namecar_viewer.core.registration import (
    FrameOfReferenceMismatch,
    checkerboard,
    euler_angles_deg,
    fusion_geometry,
    resample_volume,
    rigid_matrix,
    rotation_angle_deg,
)


def _ramp_volume(frame: str = "1.2.3") -> Volume:
    """Values linear in patient x, y, z: v = 2x + 3y - z (exact under trilinear interpolation)."""
    shape = (20, 30, 40)
    aff = affine_from_dicom([1, 0, 0, 0, 1, 0], (1.5, 2.0), (-40.0, -30.0, 10.0), (0, 0, 2.5))
    v = Volume(np.zeros(shape, np.float32), aff, frame_of_reference_uid=frame, modality="PT")
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    p = v.index_to_patient(np.stack([k.ravel(), j.ravel(), i.ravel()], axis=1))
    v.array[...] = (2 * p[:, 0] + 3 * p[:, 1] - p[:, 2]).reshape(shape)
    return v


def test_translation_resample_matches_analytic_values() -> None:
    moving = _ramp_volume()
    # fixed grid: 3 mm isotropic, inside the moving volume after the shift
    fixed = Volume(
        np.zeros((5, 6, 7), np.float32),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (3.0, 3.0), (-20.0, -10.0, 20.0), (0, 0, 3.0)),
        frame_of_reference_uid="9.9",
    )
    t = np.array([4.5, -3.0, 7.5])
    m = rigid_matrix(translation_mm=t)
    out = resample_volume(moving, fixed, m)
    assert out.shape == fixed.shape and out.frame_of_reference_uid == "9.9"
    k, j, i = np.meshgrid(*(np.arange(n) for n in fixed.shape), indexing="ij")
    p = fixed.index_to_patient(np.stack([k.ravel(), j.ravel(), i.ravel()], axis=1)) + t
    expected = (2 * p[:, 0] + 3 * p[:, 1] - p[:, 2]).reshape(fixed.shape)
    # e.g. voxel (0,0,0): p = (-20+4.5, -10-3, 20+7.5) -> 2(-15.5) + 3(-13) - 27.5 = -97.5
    assert out.array[0, 0, 0] == pytest.approx(-97.5, abs=1e-3)
    np.testing.assert_allclose(out.array, expected, atol=2e-3)


def test_rotation_about_z_resample_and_outside_value() -> None:
    moving = _ramp_volume()
    fixed = Volume(
        np.zeros((3, 3, 3), np.float32),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (2.0, 2.0), (-2.0, -2.0, 30.0), (0, 0, 2.0)),
    )
    m = rigid_matrix((0.0, 0.0, 90.0))  # (x, y) -> (-y, x)
    out = resample_volume(moving, fixed, m, default_value=-1e6)
    p = fixed.index_to_patient([[1, 0, 2]])[0]  # (2, -2, 32) -> (2, 2, 32)
    assert out.array[1, 0, 2] == pytest.approx(2 * 2 + 3 * 2 - 32, abs=1e-3)
    assert p.tolist() == [2.0, -2.0, 32.0]
    far = resample_volume(
        moving, fixed, rigid_matrix(translation_mm=(500.0, 0, 0)), default_value=-7
    )
    assert np.all(far.array == -7)


def test_rigid_matrix_decomposition() -> None:
    m = rigid_matrix((4.0, -2.0, 3.0), (1.0, 2.0, 3.0))
    assert euler_angles_deg(m) == pytest.approx((4.0, -2.0, 3.0))
    z3 = rigid_matrix((0.0, 0.0, 3.0))
    assert rotation_angle_deg(z3) == pytest.approx(3.0)
    # rotation about a centre keeps the centre fixed
    c = (10.0, -5.0, 7.0)
    mc = rigid_matrix((0.0, 0.0, 30.0), centre_mm=c)
    assert (mc @ [*c, 1.0])[:3] == pytest.approx(c)


def test_fusion_refuses_different_frames_without_accepted_transform() -> None:
    a, b = _ramp_volume("1.1"), _ramp_volume("2.2")
    with pytest.raises(FrameOfReferenceMismatch, match="not registered"):
        fusion_geometry(a, b)
    assert fusion_geometry(a, _ramp_volume("1.1")).same_frame
    m = rigid_matrix(translation_mm=(1.0, 0.0, 0.0))
    g = fusion_geometry(a, b, m)
    assert not g.same_frame and np.array_equal(g.matrix, m)
    nofor = _ramp_volume("")
    with pytest.raises(FrameOfReferenceMismatch):
        fusion_geometry(nofor, _ramp_volume(""))


def test_checkerboard_alternates() -> None:
    cb = checkerboard(np.zeros((4, 6)), np.ones((4, 6)), squares=2)
    assert cb[:2, :3].max() == 0 and cb[:2, 3:].min() == 1 and cb[2:, :3].min() == 1


def _hot_spots_volume() -> Volume:
    aff = affine_from_dicom([1, 0, 0, 0, 1, 0], (4.0, 4.0), (-100.0, -80.0, -50.0), (0, 0, 4.0))
    v = Volume(np.full((25, 40, 50), 1.0, np.float32), aff, frame_of_reference_uid="7.7")
    return v


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 215.0])
def test_mip_click_finds_hottest_voxel_along_ray(angle: float) -> None:
    v = _hot_spots_volume()
    hot = (12, 20, 30)  # LPS: (-100 + 30*4, -80 + 20*4, -50 + 12*4) = (20, 0, -2)
    v.array[hot] = 9.0
    p = v.index_to_patient([hot])[0]
    assert p.tolist() == [20.0, 0.0, -2.0]
    m = mip(v, angle)
    row, col = m.project(p)
    # The projection of the hot voxel is where the MIP peaks (trilinear: exact at the centre
    # only when a grid sample lands on it, so compare with the brightest pixel's position).
    r_max, c_max = np.unravel_index(int(np.argmax(m.image)), m.image.shape)
    assert abs(r_max - row) <= 1.0 and abs(c_max - col) <= 1.0
    hit = m.hottest_along_ray(v, row, col)
    assert hit is not None and hit.index == hot and hit.value == 9.0
    assert hit.point_lps == pytest.approx((20.0, 0.0, -2.0))


def test_mip_ray_prefers_hotter_of_two_voxels_on_one_ray() -> None:
    v = _hot_spots_volume()
    # Angle 0 looks along +y (anterior -> posterior): both voxels share x and z.
    near, far = (10, 5, 25), (10, 35, 25)
    v.array[near] = 4.0
    v.array[far] = 6.5
    m = mip(v, 0.0)
    row, col = m.project(v.index_to_patient([near])[0])
    assert m.project(v.index_to_patient([far])[0]) == pytest.approx((row, col))
    hit = m.hottest_along_ray(v, row, col)
    assert hit is not None and hit.index == far
    # the image's rows go down towards the feet and columns towards the patient's left
    r_head, _ = m.project([0.0, 0.0, 40.0])
    r_feet, _ = m.project([0.0, 0.0, -40.0])
    _, c_right = m.project([-50.0, 0.0, 0.0])
    _, c_left = m.project([50.0, 0.0, 0.0])
    assert r_head < r_feet and c_right < c_left
    assert m.hottest_along_ray(v, -500.0, -500.0) is None
