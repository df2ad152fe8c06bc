"""ROI/VOI statistics and the semi-automatic diameter, against values worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.geometry.reslice import SliceOrientation, reslice, slice_geometry
from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    PlaneRef,
    SegmentationError,
    ellipse_stats,
    measurement_stats,
    propose_diameters,
    sphere_stats,
)


def _ramp_volume(spacing: tuple[float, float]) -> Volume:
    # value = 100 * row + column on every slice: any pixel's value is known by hand
    j, i = np.mgrid[0:20, 0:20]
    arr = np.broadcast_to(100 * j + i, (3, 20, 20)).astype(np.int16)
    return Volume(arr, affine_from_dicom([1, 0, 0, 0, 1, 0], spacing, (0, 0, 0), (0, 0, 5.0)))


def test_ellipse_stats_on_anisotropic_pixels() -> None:
    # rows 2 mm apart (y), columns 1 mm apart (x).  Ellipse centred on pixel (row 5, col 10):
    # (x, y) = (10, 10), semi-axes 2 mm along x and 2 mm along y.  Pixel centres inside:
    # row 5: columns 8..12 (dx = -2..2, dy = 0); rows 4 and 6: dy = 2 mm -> only dx = 0.
    v = _ramp_volume((2.0, 1.0))
    plane = slice_geometry(v, SliceOrientation.AXIAL).plane(1)
    s = ellipse_stats(v, [(10, 10, 5), (12, 10, 5), (10, 12, 5)], plane, "HU")
    values = [508, 509, 510, 511, 512, 410, 610]
    assert s.n_pixels == 7
    assert s.mean == pytest.approx(np.mean(values))
    assert s.sd == pytest.approx(np.std(values))
    assert (s.minimum, s.maximum) == (410.0, 610.0)
    assert s.area_mm2 == pytest.approx(math.pi * 4.0)
    # the record route gives the same numbers
    m = Measurement.create(
        MeasurementKind.ELLIPSE,
        [(10, 10, 5), (12, 10, 5), (10, 12, 5)],
        plane=PlaneRef.from_plane(plane),
    )
    assert measurement_stats(v, m, "HU") == s


def test_ellipse_stats_on_oblique_plane_uses_plane_pixels() -> None:
    # Constant volume: whatever the interpolation, the mean is the constant; the pixel count is
    # the number of oblique-plane pixel centres inside a 3 mm circle on a 1 mm grid (29: lattice
    # points with i^2 + j^2 <= 9).
    arr = np.full((40, 40, 40), 7, np.int16)
    v = Volume(arr, affine_from_dicom([1, 0, 0, 0, 1, 0], (1, 1), (0, 0, 0), (0, 0, 1)))
    from namecar_viewer.core.geometry.reslice import Plane

    r = np.array([math.cos(0.4), math.sin(0.4), 0.0])
    c = np.array([0.0, 0.0, -1.0])
    plane = Plane(np.array([5.0, 5.0, 35.0]), r, c, (1.0, 1.0), (30, 30))
    centre = plane.pixel_to_patient([[15, 15]])[0]
    s = ellipse_stats(v, [centre, centre + 3 * r, centre + 3 * c], plane)
    assert s.n_pixels == 29  # float32 trilinear blending: 7 within 1e-5
    assert s.mean == pytest.approx(7.0, abs=1e-5) and s.sd == pytest.approx(0.0, abs=1e-5)


def test_sphere_stats() -> None:
    # 1 mm isotropic grid, radius 1 mm around voxel (5, 5, 5): the voxel and its 6 neighbours.
    arr = np.zeros((11, 11, 11), np.float32)
    arr[5, 5, 5] = 14.0
    arr[4, 5, 5] = 7.0
    v = Volume(arr, np.eye(4))
    s = sphere_stats(v, (5, 5, 5), 1.0, "SUV")
    assert s.n_pixels == 7
    assert s.maximum == 14.0 and s.mean == pytest.approx(3.0)  # (14 + 7) / 7
    assert s.volume_ml == pytest.approx(4 / 3 * math.pi / 1000)


def _phantom_slice(root: Path, gt: dict[str, Any], tp: str, lesion: dict[str, Any]):
    from namecar_viewer.core.dicom import load_series

    folder = next(t["folder"] for t in gt["ct_timepoints"] if t["label"] == tp)
    v = load_series(sorted((root / folder).glob("*.dcm")))
    geo = slice_geometry(v, SliceOrientation.AXIAL)
    c = np.asarray(lesion["ct"][tp]["centre_mm"], dtype=np.float64)
    sl = reslice(v, SliceOrientation.AXIAL, geo.index_of(c), geo)
    return sl, sl.plane.patient_to_pixel(c[None])[0]


@pytest.mark.parametrize("tp", ["baseline", "fu09m"])
def test_semi_automatic_diameters_on_demo_lesions(small_demo, ground_truth, tp) -> None:
    for les in ground_truth["lesions"]:
        truth = les["ct"][tp]
        if truth["long_axis_mm"] < 10:  # below the measurable size: measured by hand
            continue
        sl, rc = _phantom_slice(small_demo, ground_truth, tp, les)
        spacing = max(sl.plane.pixel_spacing)
        p = propose_diameters(sl.pixels, sl.plane, (float(rc[0]), float(rc[1])))
        assert abs(p.long_axis_mm - truth["long_axis_mm"]) <= spacing, (les["id"], p)
        assert abs(p.short_axis_mm - truth["short_axis_mm"]) <= spacing, (les["id"], p)
        a, b, c, d = (np.asarray(x) for x in p.points)
        assert abs(float((b - a) @ (d - c))) < 1e-6  # perpendicular
        # the long axis of the phantom's lesions runs along x (ground truth direction)
        u = (b - a) / np.linalg.norm(b - a)
        assert abs(u[0]) > 0.9


def test_semi_automatic_refuses_background(small_demo, ground_truth) -> None:
    les = ground_truth["lesions"][0]
    sl, _ = _phantom_slice(small_demo, ground_truth, "baseline", les)
    with pytest.raises(SegmentationError, match="outside"):
        propose_diameters(sl.pixels, sl.plane, (-5.0, 3.0))
