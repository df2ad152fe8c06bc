"""Writes small synthetic CT series from pydicom's real CT_small.dcm with chosen geometry."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid


def write_ct_series(
    folder: Path,
    positions: Sequence[Sequence[float]],
    *,
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    pixel_spacing: Sequence[float] = (0.5, 0.5),
    thickness: float = 2.0,
    series_uid: str | None = None,
    instance_numbers: Sequence[int] | None = None,
    values: Sequence[int] | None = None,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """One file per position; slice n is filled with ``values[n]`` stored (HU = stored - 1024)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = dcmread(get_testdata_file("CT_small.dcm"))
    series_uid = series_uid or generate_uid()
    study_uid = generate_uid()
    frame_uid = generate_uid()
    paths = []
    for n, pos in enumerate(positions):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID = series_uid
        ds.StudyInstanceUID = study_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImagePositionPatient = [f"{v:.4f}" for v in pos]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = [f"{v:g}" for v in pixel_spacing]
        ds.SliceThickness = f"{thickness:g}"
        ds.InstanceNumber = instance_numbers[n] if instance_numbers else n + 1
        ds.RescaleSlope = 1
        ds.RescaleIntercept = -1024
        ds.PixelRepresentation = 0
        v = values[n] if values else 1024 + 10 * n
        ds.PixelData = np.full((ds.Rows, ds.Columns), v, dtype="<u2").tobytes()
        name = names[n] if names else f"IM{n:04d}.dcm"
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
