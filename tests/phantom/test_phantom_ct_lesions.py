"""Lesion diameters measured on the written CT slices match the ground truth within one pixel.

The measurement is independent of the generator: read the slice through the lesion centre with
pydicom, apply the rescale, keep the 4-connected region of pixels within 30 HU (3.75 noise SD) of
the lesion's CT number around the centre pixel, and take its extent along the rows (x, the long
axis direction) and columns (y) times the pixel spacing.
"""

from __future__ import annotations

import numpy as np
import pytest
from phantom_helpers import modality_values, read_series, slice_at_z

BAND_HU = 30.0


def connected_region(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """4-connected component of ``mask`` containing ``seed`` (iterative dilation)."""
    assert mask[seed], "the centre pixel is not lesion"
    region = np.zeros_like(mask)
    region[seed] = True
    while True:
        grown = region.copy()
        grown[1:, :] |= region[:-1, :]
        grown[:-1, :] |= region[1:, :]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= mask
        if np.array_equal(grown, region):
            return region
        region = grown


def measure(ds, centre, hu):
    """(extent along x, extent along y) in mm of the lesion region around ``centre``."""
    values = modality_values(ds)
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    x0, y0 = float(ds.ImagePositionPatient[0]), float(ds.ImagePositionPatient[1])
    seed = (round((centre[1] - y0) / row_mm), round((centre[0] - x0) / col_mm))
    region = connected_region(np.abs(values - hu) <= BAND_HU, seed)
    jj, ii = np.nonzero(region)
    return (ii.max() - ii.min() + 1) * col_mm, (jj.max() - jj.min() + 1) * row_mm, col_mm


TIMEPOINTS = ["baseline", "inclusion", "fu03m", "fu06m", "fu09m"]


@pytest.mark.parametrize("tp", TIMEPOINTS)
def test_lesion_diameters_within_one_pixel(small_demo, ground_truth, tp):
    folder = next(t["folder"] for t in ground_truth["ct_timepoints"] if t["label"] == tp)
    series = read_series(small_demo / folder)
    for les in ground_truth["lesions"]:
        truth = les["ct"][tp]
        assert les["long_axis_direction"] == [1.0, 0.0, 0.0]
        ds = slice_at_z(series, truth["centre_mm"][2])
        long_mm, short_mm, spacing = measure(ds, truth["centre_mm"], les["ct_hu"])
        assert abs(long_mm - truth["long_axis_mm"]) <= spacing, (les["id"], long_mm, truth)
        assert abs(short_mm - truth["short_axis_mm"]) <= spacing, (les["id"], short_mm, truth)


def test_scenario_shrinkage_seen_in_the_images(small_demo, ground_truth):
    # Liver metastasis T4: 40 mm at baseline, 7 mm at inclusion (-82.5 %), 24 mm at 9 months.
    sizes = {}
    les = next(x for x in ground_truth["lesions"] if x["id"] == "T4")
    for tp in ("baseline", "inclusion", "fu09m"):
        folder = next(t["folder"] for t in ground_truth["ct_timepoints"] if t["label"] == tp)
        c = les["ct"][tp]["centre_mm"]
        ds = slice_at_z(read_series(small_demo / folder), c[2])
        sizes[tp] = measure(ds, c, les["ct_hu"])[0]
    assert sizes["baseline"] > 35 and sizes["inclusion"] < 10 and 20 < sizes["fu09m"] < 28


def test_tissue_numbers_realistic(small_demo, ground_truth):
    # Body-coordinate sample points of the model, moved by the baseline shift (0, 0, 0).
    folder = ground_truth["ct_timepoints"][0]["folder"]
    series = read_series(small_demo / folder)
    expected = {  # point (x, y, z) -> (HU, tolerance for the mean of a 3x3 patch)
        (-150.0, -150.0, 50.0): (-1000, 10),  # air outside the body
        (-110.0, -20.0, 30.0): (-850, 30),  # right lung
        (-60.0, -30.0, -60.0): (105, 12),  # liver, portal venous phase
        (92.0, 50.0, -60.0): (170, 12),  # left kidney cortex
        (12.0, 15.0, -60.0): (180, 12),  # aorta
        (0.0, 45.0, -32.5): (80, 12),  # disc: vertebral bodies span -300 + 30 n .. + 25
        (0.0, 45.0, -80.0): (250, 15),  # vertebral marrow (body -90..-65)
        (0.0, -108.0, -60.0): (-100, 12),  # subcutaneous fat
    }
    for (x, y, z), (hu, tol) in expected.items():
        ds = slice_at_z(series, z)
        v = modality_values(ds)
        ps = float(ds.PixelSpacing[0])
        i = round((x - float(ds.ImagePositionPatient[0])) / ps)
        j = round((y - float(ds.ImagePositionPatient[1])) / ps)
        assert abs(v[j - 1 : j + 2, i - 1 : i + 2].mean() - hu) <= tol, (x, y, z, hu)
