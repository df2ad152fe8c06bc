"""Reslicing gives exact voxel values and an exact pixel <-> patient mapping."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.geometry.reslice import (
    CT_LUNG,
    SliceOrientation,
    WindowLevel,
    apply_window,
    auto_window,
    edge_letters,
    orientation_letters,
    reslice,
    slice_geometry,
)

AX, COR, SAG, ACQ = (
    SliceOrientation.AXIAL,
    SliceOrientation.CORONAL,
    SliceOrientation.SAGITTAL,
    SliceOrientation.ACQUISITION,
)


def _axial_volume() -> Volume:
    """4 slices x 5 rows x 6 columns, value = 100*k + 10*j + i, spacing 2.5 / 0.8 / 0.6 mm."""
    k, j, i = np.meshgrid(np.arange(4), np.arange(5), np.arange(6), indexing="ij")
    arr = (100 * k + 10 * j + i).astype(np.int16)
    aff = affine_from_dicom([1, 0, 0, 0, 1, 0], (0.8, 0.6), (-10.0, 20.0, 30.0), (0, 0, 2.5))
    return Volume(arr, aff, frame_of_reference_uid="1.2.3", modality="CT")


def test_axial_of_axial_stack_is_the_stored_slice_as_a_view() -> None:
    v = _axial_volume()
    s = reslice(v, AX, 2)
    assert np.shares_memory(s.pixels, v.array)
    assert s.pixels.tolist() == v.array[2].tolist()
    # slice 2 lies at z = 30 + 2 * 2.5 = 35 mm
    assert s.position_mm == pytest.approx(35.0)
    assert s.plane.pixel_spacing == (0.8, 0.6)
    # pixel (row 3, col 4): x = -10 + 4*0.6 = -7.6, y = 20 + 3*0.8 = 22.4, z = 35
    assert s.plane.pixel_to_patient([[3, 4]])[0] == pytest.approx([-7.6, 22.4, 35.0])


def test_coronal_and_sagittal_values_by_hand() -> None:
    v = _axial_volume()
    cor = slice_geometry(v, COR)
    # coronal planes step along +y (posterior) by the row spacing; 5 planes, 4 rows (z), 6 cols
    assert cor.shape == (5, 4, 6)
    s = reslice(v, COR, 3, cor)  # y = 20 + 3*0.8 = 22.4 -> j = 3
    # top row is the head end: k = 3, so row 0 = 300 + 30 + i
    assert s.pixels[0].tolist() == [330, 331, 332, 333, 334, 335]
    assert s.pixels[3].tolist() == [30, 31, 32, 33, 34, 35]
    assert s.plane.pixel_spacing == (2.5, 0.6)
    # pixel (row 1, col 5) is voxel k=2, j=3, i=5 -> (-10 + 3.0, 22.4, 30 + 5.0)
    assert s.plane.pixel_to_patient([[1, 5]])[0] == pytest.approx([-7.0, 22.4, 35.0])
    assert s.pixels[1, 5] == 200 + 30 + 5

    sag = slice_geometry(v, SAG)
    # sagittal planes are numbered like the columns they cut: plane 0 is i = 0 (x = -10)
    assert sag.shape == (6, 4, 5)
    s = reslice(v, SAG, 0, sag)
    # screen right = posterior (j increasing), top = head (k=3)
    assert s.pixels[0].tolist() == [300, 310, 320, 330, 340]
    assert s.plane.pixel_to_patient([[0, 0]])[0] == pytest.approx([-10.0, 20.0, 37.5])
    # shown position is the x coordinate
    assert s.position_mm == pytest.approx(-10.0)
    s = reslice(v, SAG, 5, sag)
    assert s.pixels[3].tolist() == [5, 15, 25, 35, 45]
    # x = -10 + 5 * 0.6 = -7.0
    assert s.plane.pixel_to_patient([[3, 0]])[0] == pytest.approx([-7.0, 20.0, 30.0])
    assert edge_letters(s.plane) == {"left": "A", "right": "P", "top": "H", "bottom": "F"}


def test_flipped_stack_is_shown_in_radiological_orientation() -> None:
    # rows run to the patient's right (-x), columns to anterior (-y), slices to the feet.
    arr = np.arange(3 * 2 * 4, dtype=np.int16).reshape(3, 2, 4)
    aff = affine_from_dicom([-1, 0, 0, 0, -1, 0], (1.0, 1.0), (0, 0, 0), (0, 0, -2.0))
    v = Volume(arr, aff)
    s = reslice(v, AX, 0)
    # axial planes follow the stored order: plane 0 is k = 0 (z = 0, the head end);
    # screen right = +x = the i = 0 end; screen down = +y = the j = 0 end
    expected = arr[0, ::-1, ::-1]
    assert s.pixels.tolist() == expected.tolist()
    assert edge_letters(s.plane)["right"] == "L"
    # pixel (0, 0) is voxel (k=0, j=1, i=3): x = -3, y = -1, z = 0
    assert s.plane.pixel_to_patient([[0, 0]])[0] == pytest.approx([-3.0, -1.0, 0.0])
    # plane 2 is k = 2 at z = -4
    assert reslice(v, AX, 2).pixels.tolist() == arr[2, ::-1, ::-1].tolist()
    assert reslice(v, AX, 2).position_mm == pytest.approx(-4.0)


def test_interpolated_path_equals_view_path_on_aligned_volume() -> None:
    v = _axial_volume()
    for o in (AX, COR, SAG):
        geo = slice_geometry(v, o)
        slow = dataclasses.replace(geo, aligned=None)
        for idx in range(geo.count):
            fast = reslice(v, o, idx, geo)
            interp = reslice(v, o, idx, slow)
            assert interp.interpolated and not fast.interpolated
            np.testing.assert_allclose(interp.pixels, fast.pixels, atol=1e-3)


def _oblique_linear_volume() -> tuple[Volume, np.ndarray]:
    """Stack rotated 30 degrees about z and tilted 20 degrees, values linear in patient mm."""
    a, b = math.radians(30), math.radians(20)
    row = np.array([math.cos(a), math.sin(a), 0.0])
    col = np.array([-math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), math.sin(b)])
    normal = np.cross(row, col)
    aff = affine_from_dicom([*row, *col], (1.1, 0.9), (5.0, -7.0, 12.0), normal * 3.0)
    shape = (12, 30, 30)
    idx = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), -1).reshape(-1, 3)
    v = Volume(np.zeros(shape, np.float32), aff, frame_of_reference_uid="9.9")
    pts = v.index_to_patient(idx)
    coef = np.array([2.0, -3.0, 0.5])
    v.array[...] = (pts @ coef + 7.0).reshape(shape)
    return v, coef


def test_oblique_reformat_reproduces_linear_field_at_patient_points() -> None:
    # Trilinear interpolation is exact for a field linear in the indices, hence in patient mm.
    v, coef = _oblique_linear_volume()
    for o in (AX, COR, SAG):
        geo = slice_geometry(v, o)
        assert geo.aligned is None
        s = reslice(v, o, geo.count // 2, geo)
        rr, cc = np.nonzero(np.isfinite(s.pixels))
        assert rr.size > 50
        pts = s.plane.pixel_to_patient(np.stack([rr, cc], 1))
        np.testing.assert_allclose(s.pixels[rr, cc], pts @ coef + 7.0, rtol=1e-4, atol=1e-2)
        # every finite sample lies inside the volume's voxel-centre hull
        ijk = v.patient_to_index(pts)
        assert (ijk > -1e-3).all() and (ijk < np.array(v.shape) - 1 + 1e-3).all()


def test_plane_mapping_round_trips() -> None:
    v, _ = _oblique_linear_volume()
    rng = np.random.default_rng(4)
    for o in (ACQ, AX, COR, SAG):
        geo = slice_geometry(v, o)
        plane = geo.plane(3)
        rc = rng.uniform(-5, 40, size=(50, 2))
        back = plane.patient_to_pixel(plane.pixel_to_patient(rc))
        np.testing.assert_allclose(back, rc, atol=1e-9)
        assert np.abs(plane.distance(plane.pixel_to_patient(rc))).max() < 1e-9
        # slice index of a point on plane 3 is 3
        assert geo.index_of(plane.pixel_to_patient([[2.0, 2.0]])[0]) == 3


def test_acquisition_plane_of_oblique_stack_by_hand() -> None:
    v, _ = _oblique_linear_volume()
    s = reslice(v, ACQ, 2)
    # origin of slice 2 = IPP + 2 * 3 mm along the normal; pixel (1, 1) adds col*1.1 + row*0.9
    a, b = math.radians(30), math.radians(20)
    row = np.array([math.cos(a), math.sin(a), 0.0])
    col = np.array([-math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), math.sin(b)])
    expect = np.array([5.0, -7.0, 12.0]) + 6.0 * np.cross(row, col) + 1.1 * col + 0.9 * row
    assert s.plane.pixel_to_patient([[1, 1]])[0] == pytest.approx(expect)
    assert s.pixels.tolist() == v.array[2].tolist()


def test_orientation_letters() -> None:
    assert orientation_letters([1, 0, 0]) == "L"
    assert orientation_letters([-1, 0, 0]) == "R"
    assert orientation_letters([0, 1, 0]) == "P"
    assert orientation_letters([0, -1, 0]) == "A"
    assert orientation_letters([0, 0, 1]) == "H"
    assert orientation_letters([0, 0, -1]) == "F"
    # 45 degrees between Left and Anterior: both letters, equal weight keeps x first
    assert orientation_letters([1, -1, 0]) == "LA"
    # strongest first: (0.3, 0, -0.95) -> F then L; 0.1 is below the 0.25 threshold
    assert orientation_letters([0.3, 0.1, -0.95]) == "FL"


def test_cross_reference_line_between_axial_and_coronal() -> None:
    v = _axial_volume()
    ax = reslice(v, AX, 1).plane
    cor = reslice(v, COR, 2).plane  # y = 20 + 2 * 0.8 = 21.6
    a, b, c = ax.intersection_line(cor) or (0, 0, 0)
    # on the axial plane the coronal plane is the row where y = 21.6: row = (21.6 - 20) / 0.8 = 2
    assert b == pytest.approx(0.0)
    assert -c / a == pytest.approx(2.0)
    assert ax.intersection_line(reslice(v, AX, 3).plane) is None


def test_window_mapping_int16_and_float() -> None:
    wl = WindowLevel(400.0, 40.0)  # -160 .. 240 HU
    px = np.array([[-1000, -160, 41, 240, 3000]], dtype=np.int16)
    # 41 HU: (41 + 160) * 255 / 400 = 128.14 -> 128; inverted 255 - 128 = 127
    assert apply_window(px, wl).tolist() == [[0, 0, 128, 255, 255]]
    assert apply_window(px, wl, invert=True).tolist() == [[255, 255, 127, 0, 0]]
    f = np.array([[np.nan, -160.0, 140.0, 240.0]], dtype=np.float32)
    # 140: 300 * 255 / 400 = 191.25 -> 191
    assert apply_window(f, wl).tolist() == [[0, 0, 191, 255]]
    # a strided (non contiguous) view still maps correctly
    big = np.full((4, 6), 240, np.int16)[:, ::-1].T
    assert apply_window(big, wl).flags.c_contiguous
    assert CT_LUNG.window == WindowLevel(1500.0, -600.0)


def test_auto_window_percentiles() -> None:
    arr = np.arange(10000, dtype=np.float32).reshape(1, 100, 100)
    wl = auto_window(arr)
    # linear percentiles of 0..9999: 1st = 0.01 * 9999 = 99.99, 99th = 0.99 * 9999 = 9899.01
    assert wl.lower == pytest.approx(99.99, abs=1e-3)
    assert wl.upper == pytest.approx(9899.01, abs=1e-3)
