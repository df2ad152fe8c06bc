"""Helpers shared by the phantom tests (reading series back with plain pydicom)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom


def read_series(folder: Path) -> list[pydicom.Dataset]:
    """Every file of a series folder, with pixels."""
    return [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]


def slice_at_z(datasets: list[pydicom.Dataset], z: float) -> pydicom.Dataset:
    """The axial slice whose ImagePositionPatient z equals ``z`` (to 1 micrometre)."""
    hits = [d for d in datasets if abs(float(d.ImagePositionPatient[2]) - z) < 1e-3]
    assert len(hits) == 1, f"expected one slice at z={z}, found {len(hits)}"
    return hits[0]


def modality_values(ds: pydicom.Dataset) -> np.ndarray:
    """Pixels after RescaleSlope/Intercept (float64)."""
    slope = float(ds.get("RescaleSlope", 1.0))
    inter = float(ds.get("RescaleIntercept", 0.0))
    return ds.pixel_array.astype(np.float64) * slope + inter
