"""Measurement geometry in patient mm, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.geometry.reslice import SliceOrientation, slice_geometry
from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    PlaneRef,
    angle_to_axial_deg,
    bidirectional_from_long_axis,
    ellipse_from_corners,
    images_for_points,
    lies_on_plane,
    move_handle,
)
from namecar_viewer.core.measure.record import ImageRef


def _perp(pts) -> float:
    a, b, c, d = (np.asarray(p) for p in pts)
    u, v = b - a, d - c
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def test_line_length_and_json_round_trip() -> None:
    m = Measurement.create(
        MeasurementKind.BIDIRECTIONAL,
        [(0, 0, 0), (30, 40, 0), (19, 16, 0), (11, 22, 0)],
        label="T1",
        series_instance_uid="1.2.3",
        images=[ImageRef("1.2.3.4", None), ImageRef("1.2.3.5", 2)],
        frame_of_reference_uid="1.2.9",
        plane=PlaneRef((0, 0, 0), (1, 0, 0), (0, 1, 0), (0.8, 0.5), (512, 512), 2.5),
    )
    assert m.long_axis_mm == 50.0  # 3-4-5 triangle times 10
    assert m.short_axis_mm == 10.0  # (8, -6) -> 10
    assert Measurement.from_json(m.to_json()) == m
    assert m.summary() == "T1 50.0 x 10.0 mm"
    with pytest.raises(ValueError, match="takes 2 points"):
        Measurement.create(MeasurementKind.LINE, [(0, 0, 0)])
    with pytest.raises(ValueError, match="3 finite"):
        Measurement.create(MeasurementKind.LINE, [(0, 0, 0), (0, float("nan"), 0)])


def test_bidirectional_on_anisotropic_pixels_matches_hand_computation() -> None:
    # Axial stack, rows 0.8 mm apart (y), columns 0.5 mm apart (x), first pixel at (-100, -50, 20).
    v = Volume(
        np.zeros((3, 200, 300), np.int16),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (0.8, 0.5), (-100, -50, 20), (0, 0, 3.0)),
    )
    plane = slice_geometry(v, SliceOrientation.AXIAL).plane(1)
    # Long axis from pixel (row 10, col 20) to (row 40, col 60): 30 rows x 0.8 = 24 mm in y,
    # 40 columns x 0.5 = 20 mm in x -> sqrt(24^2 + 20^2) = sqrt(976) = 31.2410 mm.
    a, b = plane.pixel_to_patient([[10, 20], [40, 60]])
    assert a.tolist() == [-90.0, -42.0, 23.0]  # -100 + 20*0.5, -50 + 10*0.8, 20 + 3
    pts = bidirectional_from_long_axis(a, b, plane.normal, short_mm=12.0)
    m = Measurement.create(MeasurementKind.BIDIRECTIONAL, pts)
    assert m.long_axis_mm == pytest.approx(math.sqrt(976.0), abs=1e-9)
    assert m.short_axis_mm == pytest.approx(12.0, abs=1e-9)
    assert abs(_perp(pts)) < 1e-12
    # b = (-100 + 60*0.5, -50 + 40*0.8) = (-70, -18): the short axis crosses the middle (-80, -30).
    mid = np.mean(np.asarray(pts[2:]), axis=0)
    assert mid.tolist() == pytest.approx([-80.0, -30.0, 23.0])


def test_bidirectional_on_oblique_stack_matches_hand_computation() -> None:
    # Oblique plane: row direction rotated 30 degrees about z, column direction tilted 20
    # degrees out of the axial plane.  Pixel spacing 0.7 (rows) x 0.9 (columns).
    c30, s30 = math.cos(math.radians(30)), math.sin(math.radians(30))
    c20, s20 = math.cos(math.radians(20)), math.sin(math.radians(20))
    row = (c30, s30, 0.0)
    col = (-s30 * c20, c30 * c20, s20)
    ipp = (10.0, -20.0, 5.0)
    v = Volume(
        np.zeros((2, 64, 64), np.int16),
        affine_from_dicom([*row, *col], (0.7, 0.9), ipp, np.cross(row, col) * 4.0),
    )
    plane = slice_geometry(v, SliceOrientation.ACQUISITION).plane(0)

    # Hand: pixel (r, c) -> IPP + c * 0.9 * row + r * 0.7 * col (DICOM PS3.3 C.7.6.2.1.1)
    def by_hand(r: float, c: float) -> np.ndarray:
        return np.asarray(ipp) + c * 0.9 * np.asarray(row) + r * 0.7 * np.asarray(col)

    a, b = plane.pixel_to_patient([[5, 8], [25, 23]])
    assert a.tolist() == pytest.approx(by_hand(5, 8).tolist(), abs=1e-12)
    assert b.tolist() == pytest.approx(by_hand(25, 23).tolist(), abs=1e-12)
    # 20 rows x 0.7 = 14 mm, 15 columns x 0.9 = 13.5 mm, orthonormal directions:
    # long axis = sqrt(14^2 + 13.5^2) = sqrt(378.25) = 19.4486 mm
    pts = bidirectional_from_long_axis(a, b, plane.normal, short_mm=7.5)
    m = Measurement.create(MeasurementKind.BIDIRECTIONAL, pts)
    assert m.long_axis_mm == pytest.approx(math.sqrt(378.25), abs=1e-9)
    assert m.short_axis_mm == pytest.approx(7.5, abs=1e-9)
    # every point stays in the oblique plane
    assert np.abs(plane.distance(np.asarray(pts))).max() < 1e-9
    # dragging the long-axis end keeps the short axis perpendicular and in the plane
    moved = move_handle(MeasurementKind.BIDIRECTIONAL, pts, 1, by_hand(40, 10), plane.normal)
    assert abs(_perp(moved)) < 1e-12
    assert np.abs(plane.distance(np.asarray(moved))).max() < 1e-9
    assert Measurement.create(MeasurementKind.BIDIRECTIONAL, moved).short_axis_mm == (
        pytest.approx(7.5, abs=1e-9)
    )
    # angle of this plane to axial: normal = row x col has z-component cos(20 deg) -> 20 degrees
    assert angle_to_axial_deg(plane.normal) == pytest.approx(20.0, abs=1e-9)


coord = st.floats(-80, 80, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 3), coord, coord)
def test_handle_moves_keep_axes_perpendicular(handle: int, x: float, y: float) -> None:
    pts = bidirectional_from_long_axis((0, 0, 5), (40, 10, 5), (0, 0, 1), short_mm=15)
    moved = move_handle(MeasurementKind.BIDIRECTIONAL, pts, handle, (x, y, 9.0), (0, 0, 1))
    assert all(p[2] == pytest.approx(5.0) for p in moved)  # projected back onto the plane
    a, b, c, d = (np.asarray(p) for p in moved)
    if np.linalg.norm(b - a) > 1e-6 and np.linalg.norm(d - c) > 1e-6:
        assert abs(_perp(moved)) < 1e-9
    if handle >= 2:  # short-axis drag never moves the long axis
        assert np.allclose(moved[:2], pts[:2])


def test_short_axis_handle_slides_along_perpendicular() -> None:
    pts = bidirectional_from_long_axis((0, 0, 0), (20, 0, 0), (0, 0, 1), short_mm=6)
    # c = (10, -3, 0), d = (10, 3, 0); drag c to (14, -8): only its distance counts -> (10, -8)
    moved = move_handle(MeasurementKind.BIDIRECTIONAL, pts, 2, (14, -8, 0), (0, 0, 1))
    assert moved[2] == pytest.approx((10.0, -8.0, 0.0))
    assert moved[3] == pytest.approx((10.0, 3.0, 0.0))


def test_ellipse_from_corners_and_plane_membership() -> None:
    v = Volume(
        np.zeros((10, 50, 50), np.int16),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (1.0, 1.0), (0, 0, 0), (0, 0, 2.0)),
    )
    geo = slice_geometry(v, SliceOrientation.AXIAL)
    plane = geo.plane(4)  # z = 8
    pts = ellipse_from_corners((10, 20, 8), (30, 26, 8), plane)
    assert pts == ((20.0, 23.0, 8.0), (30.0, 23.0, 8.0), (20.0, 26.0, 8.0))
    m = Measurement.create(MeasurementKind.ELLIPSE, pts)
    assert m.area_mm2 == pytest.approx(math.pi * 10 * 3)
    assert lies_on_plane(m, plane, 1.0)  # half of the 2 mm slice spacing
    assert not lies_on_plane(m, geo.plane(5), 1.0)  # 2 mm away
    # a sphere of radius 5 centred at z = 8 shows on z = 10 (radius sqrt(25 - 4) = 4.58)
    s = Measurement.create(MeasurementKind.SPHERE, [(20, 20, 8), (25, 20, 8)])
    assert lies_on_plane(s, geo.plane(5), 1.0) and not lies_on_plane(s, geo.plane(7), 1.0)


def test_images_for_points_cite_the_slices() -> None:
    uids = tuple(f"1.2.{k}" for k in range(5))
    v = Volume(
        np.zeros((5, 10, 10), np.int16),
        affine_from_dicom([1, 0, 0, 0, 1, 0], (1.0, 1.0), (0, 0, 0), (0, 0, 2.5)),
        sop_instance_uids=uids,
    )
    # z = 5.0 -> slice 2; a coronal line from z = 0 to z = 7.4 crosses slices 0 and 3
    assert images_for_points(v, [(1, 1, 5.0), (3, 3, 5.0)]) == (ImageRef("1.2.2"),)
    assert [i.sop_instance_uid for i in images_for_points(v, [(1, 1, 0), (1, 1, 7.4)])] == [
        "1.2.0",
        "1.2.3",
    ]
