"""Lesion table values on an analytic PET: a 1 ml cube lesion and a uniform reference region."""

from __future__ import annotations

import numpy as np
import pytest

from namecar_viewer.app.pet import SUV_UNIT
from namecar_viewer.app.pet_lesions import (
    PetLesion,
    ReferenceVoi,
    Threshold,
    lesion_table,
    quantify,
)
from namecar_viewer.core.geometry import Volume, affine_from_dicom
from namecar_viewer.core.suv import ReferenceRegion, SphereVoi, ThresholdKind


def _pet() -> Volume:
    # 2 mm isotropic grid, origin (0, 0, 0): voxel (k, j, i) centre = (2i, 2j, 2k) mm
    aff = affine_from_dicom([1, 0, 0, 0, 1, 0], (2.0, 2.0), (0.0, 0.0, 0.0), (0, 0, 2.0))
    a = np.full((40, 40, 40), 1.0, np.float32)
    a[10:15, 10:15, 10:15] = 8.0  # 125 voxels x 8 mm3 = 1.0 ml, centre voxel (12,12,12) = 24 mm
    a[12, 12, 12] = 10.0
    a[28:36, 28:36, 28:36] = 2.0  # reference region, centre (31.5 * 2) = 63 mm
    return Volume(a, aff, frame_of_reference_uid="1", modality="PT", metadata={"unit": SUV_UNIT})


def test_row_values_worked_by_hand() -> None:
    pet = _pet()
    lesion = PetLesion("uid-T1", "T1", SphereVoi((24.0, 24.0, 24.0), 12.0), 60.0, 48.0, "MRI T2")
    ref = ReferenceVoi(ReferenceRegion.LIVER, SphereVoi((63.0, 63.0, 63.0), 6.0))
    row = quantify(pet, lesion, Threshold(), ref)
    assert row.suv_max == 10.0
    # 41 % of 10 = 4.1: the 125 cube voxels; mean (124 * 8 + 10) / 125 = 8.016
    assert row.suv_mean == pytest.approx(8.016)
    assert row.mtv_ml == pytest.approx(1.0)
    assert row.tlu == pytest.approx(8.016)
    assert row.reference_mean == pytest.approx(2.0)
    assert row.tbr == pytest.approx(5.0)  # 10 / 2
    assert 1.0 < row.suv_peak <= 10.0
    assert row.unit == SUV_UNIT and row.lesion_id == "uid-T1"
    assert row.anatomical_long_axis_mm == 60.0
    # absolute threshold 9: only the 10-voxel, 8 mm3 = 0.008 ml
    row_abs = quantify(pet, lesion, Threshold(9.0, ThresholdKind.ABSOLUTE))
    assert row_abs.mtv_ml == pytest.approx(0.008) and row_abs.tbr is None
    assert row_abs.threshold == "SUV >= 9"


def test_table_refuses_pet_not_in_suv() -> None:
    pet = _pet()
    pet.metadata.pop("unit")
    with pytest.raises(ValueError, match="SUV"):
        lesion_table(pet, [PetLesion("x", "x", SphereVoi((24.0, 24.0, 24.0), 5.0))])
