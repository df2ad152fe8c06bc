"""Synthetic CT with known geometry for the GUI tests (values worked into their expectations)."""

from __future__ import annotations

import numpy as np

from namecar_viewer.core.geometry import Volume, affine_from_dicom

# Geometry of the synthetic CT used by the GUI tests (worked into the expected values).
CT_SHAPE = (60, 256, 256)  # slices, rows, columns
CT_ORIGIN = (-100.0, -120.0, 50.0)  # LPS of voxel (0, 0, 0)
CT_PIXEL_SPACING = (0.8, 0.6)  # between rows (y), between columns (x)
CT_SLICE_STEP = 2.5  # along +z


def synthetic_ct() -> Volume:
    """A body ellipse of soft tissue with lungs, a spine and an enhancing sphere (HU, int16)."""
    nk, nj, ni = CT_SHAPE
    aff = affine_from_dicom(
        [1, 0, 0, 0, 1, 0], CT_PIXEL_SPACING, CT_ORIGIN, (0.0, 0.0, CT_SLICE_STEP)
    )
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij", sparse=True)
    x = CT_ORIGIN[0] + i * CT_PIXEL_SPACING[1]
    y = CT_ORIGIN[1] + j * CT_PIXEL_SPACING[0]
    z = CT_ORIGIN[2] + k * CT_SLICE_STEP
    arr = np.full(CT_SHAPE, -1000, np.int16)
    body = ((x - (-23.5)) / 70.0) ** 2 + ((y - (-18.0)) / 85.0) ** 2 <= 1.0
    arr[np.broadcast_to(body, CT_SHAPE)] = 40
    for cx in (-55.0, 8.0):
        lung = ((x - cx) / 25.0) ** 2 + ((y + 30.0) / 45.0) ** 2 + ((z - 170.0) / 60.0) ** 2 <= 1
        arr[np.broadcast_to(lung, CT_SHAPE)] = -850
    spine = ((x + 23.5) / 12.0) ** 2 + ((y - 45.0) / 12.0) ** 2 <= 1.0
    arr[np.broadcast_to(spine, CT_SHAPE)] = 700
    sphere = (x - 10.0) ** 2 + (y + 10.0) ** 2 + (z - 110.0) ** 2 <= 15.0**2
    arr[sphere] = 180
    return Volume(
        arr,
        aff,
        frame_of_reference_uid="1.2.826.0.1.3680043.9.7133.1",
        modality="CT",
        series_instance_uid="1.2.826.0.1.3680043.9.7133.2",
    )
