"""SUVpeak of an ROI drawn on the PET or on a view fused with it (issue 16, part 6)."""

from __future__ import annotations

import numpy as np
import pytest

from namecar_viewer.app.pet import SUV_UNIT
from namecar_viewer.app.pet_lesions import measurement_suv_peak
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.measure import Measurement, MeasurementKind, PlaneRef


def _pet() -> Volume:
    """A 4 mm PET, SUV 1 everywhere, a 24 mm cube of SUV 8 with one hot voxel of SUV 30."""
    a = np.ones((20, 20, 20), dtype=np.float32)
    a[7:13, 7:13, 7:13] = 8.0
    a[10, 10, 10] = 30.0
    return Volume(
        a,
        np.diag([4.0, 4.0, 4.0, 1.0]),
        modality="PT",
        frame_of_reference_uid="1.2.3.pet",
        metadata={"unit": SUV_UNIT},
    )


def test_peak_is_the_best_1cc_sphere_mean_not_the_max() -> None:
    pet = _pet()
    centre = (40.0, 40.0, 40.0)  # voxel (10, 10, 10)
    sphere = Measurement.create(MeasurementKind.SPHERE, [centre, (52.0, 40.0, 40.0)])
    peak = measurement_suv_peak(pet, sphere)
    # the 6.2 mm sphere on a 4 mm grid holds 19 voxels: the hot one and 18 of SUV 8
    assert peak == pytest.approx((30.0 + 18 * 8.0) / 19, abs=1e-6)
    assert peak < 30.0


def test_ellipse_and_a_fused_view_through_the_accepted_transform() -> None:
    pet = _pet()
    shift = np.eye(4)
    shift[:3, 3] = (100.0, -50.0, 20.0)  # base (MRI) LPS -> PET LPS
    base_centre = np.array([40.0, 40.0, 40.0]) - shift[:3, 3]
    plane = PlaneRef(
        origin=tuple(base_centre - (20.0, 20.0, 0.0)),
        row_direction=(1.0, 0.0, 0.0),
        column_direction=(0.0, 1.0, 0.0),
        pixel_spacing=(1.0, 1.0),
        shape=(41, 41),
    )
    ellipse = Measurement.create(
        MeasurementKind.ELLIPSE,
        [base_centre, base_centre + np.array([6.0, 0, 0]), base_centre + np.array([0, 5.0, 0])],
        plane=plane,
    )
    assert measurement_suv_peak(pet, ellipse, shift) == pytest.approx(
        (30.0 + 18 * 8.0) / 19, abs=1e-6
    )
    # without the transform the ellipse lies outside the PET: no peak
    assert measurement_suv_peak(pet, ellipse) is None


def test_no_peak_without_suv_or_for_a_line() -> None:
    raw = _pet()
    raw.metadata.clear()
    sphere = Measurement.create(MeasurementKind.SPHERE, [(40.0, 40.0, 40.0), (50.0, 40.0, 40.0)])
    assert measurement_suv_peak(raw, sphere) is None
    line = Measurement.create(MeasurementKind.LINE, [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0)])
    assert measurement_suv_peak(_pet(), line) is None
