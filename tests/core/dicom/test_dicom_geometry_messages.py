"""Geometry messages (issue 15 part 3): unit normals before any angle, resampling that says what
it did and does not inflate a series without saying why, a non-positive pixel spacing named."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from dicom_series_factory import write_ct_series

from namecar_viewer.core.dicom import load_series


def _problems(vol, code: str) -> list:  # type: ignore[no-untyped-def]
    return [p for p in vol.metadata["problems"] if p.code == code]


def test_straight_oblique_stack_written_to_6_digits_has_no_tilt(tmp_path: Path) -> None:
    # rows along (cos 8, sin 8, 0), columns tilted 9 degrees; the factory writes the cosines
    # with 6 decimals, so they are not unit vectors to 1e-6: the old, unnormalised normal
    # (length 1 - 3.3e-7 here) read that as a tilt of 0.046 degrees.  Slices stacked exactly
    # along the normal.
    a, b = math.radians(8), math.radians(9)
    row = np.array([math.cos(a), math.sin(a), 0.0])
    col = np.array([-math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), math.sin(b)])
    normal = np.cross(row, col)
    pos = [tuple(k * 3.0 * normal) for k in range(6)]
    written = [float(f"{v:.6f}") for v in (*row, *col)]
    old_normal = np.cross(written[:3], written[3:])
    assert math.degrees(math.acos(float(np.linalg.norm(old_normal)))) > 0.04  # the old reading
    write_ct_series(tmp_path, pos, orientation=(*row, *col))
    vol = load_series([tmp_path])
    assert vol.shape[0] == 6
    assert _problems(vol, "gantry-tilt") == []
    step = vol.affine[:3, 0]
    assert abs(float(np.linalg.norm(step)) - 3.0) < 1e-3


def test_irregular_spacing_names_its_gaps_and_is_not_inflated(tmp_path: Path) -> None:
    # 4 mm then 7 mm steps, and one lone 1.08 mm gap: resampling at 1.08 mm would make 45
    # slices of 10 images; the smallest usual gap (4 mm) makes floor(48 / 4) + 1 = 13
    z = [0.0, 4.0, 8.0, 12.0, 19.0, 26.0, 33.0, 40.0, 41.08, 48.0]
    write_ct_series(tmp_path, [(0.0, 0.0, v) for v in z], thickness=4.0)
    vol = load_series([tmp_path])
    assert vol.shape[0] == 13
    assert abs(vol.affine[2, 0] - 4.0) < 1e-6
    (p,) = _problems(vol, "non-uniform-spacing")
    assert "4 mm x 3" in p.message and "7 mm x 4" in p.message and "1.08 mm x 1" in p.message
    assert "every 4.000 mm" in p.message and "lone 1.080 mm gap left out" in p.message
    assert "10 images became 13 slices" in p.message


def test_non_positive_pixel_spacing_is_named_and_1_mm_assumed(tmp_path: Path) -> None:
    write_ct_series(tmp_path, [(0.0, 0.0, z) for z in (0.0, 2.0, 4.0)], pixel_spacing=(0, 0))
    vol = load_series([tmp_path])
    (p,) = _problems(vol, "missing-pixel-spacing")
    assert "0/0, not positive: 1 mm assumed" in p.message
    assert vol.spacing[1:] == (1.0, 1.0)
