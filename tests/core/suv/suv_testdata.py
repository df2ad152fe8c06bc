"""Synthetic PET headers for the SUV tests: every tag explicit, so each test states its inputs."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PET_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"
F18_HALF_LIFE_S = 6586.2  # 109.77 min
GA68_HALF_LIFE_S = 4062.6  # 67.71 min = 1 h 07 min 42.6 s

_MISSING = object()


def make_pet(
    series_uid: str = "1.2.826.0.1.3680043.8.498.1",
    sop_uid: str | None = None,
    **tags: Any,
) -> Dataset:
    """A PET header; keyword arguments set tags, ``None`` removes them.

    Radiopharmaceutical tags (RadionuclideTotalDose, RadionuclideHalfLife,
    RadiopharmaceuticalStartTime, RadiopharmaceuticalStartDateTime) go into the sequence item.
    Defaults: BQML, START, 80 kg, 1.75 m, M, 200 MBq Ga-68 injected at 10:00:00 on 2024-03-01,
    series and acquisition at 11:07:42.6 (exactly one Ga-68 half-life later).
    """
    defaults: dict[str, Any] = {
        "Modality": "PT",
        "Units": "BQML",
        "DecayCorrection": "START",
        "CorrectedImage": ["ATTN", "DECY"],
        "SeriesDate": "20240301",
        "SeriesTime": "110742.6",
        "AcquisitionDate": "20240301",
        "AcquisitionTime": "110742.6",
        "PatientWeight": "80",
        "PatientSize": "1.75",
        "PatientSex": "M",
    }
    item_defaults: dict[str, Any] = {
        "RadionuclideTotalDose": "200000000",
        "RadionuclideHalfLife": str(GA68_HALF_LIFE_S),
        "RadiopharmaceuticalStartTime": "100000",
        "RadiopharmaceuticalStartDateTime": "20240301100000",
    }
    ds = Dataset()
    ds.SOPClassUID = PET_SOP_CLASS
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid
    item = Dataset()
    for key, value in {**defaults, **item_defaults, **tags}.items():
        target = item if key in item_defaults else ds
        if value is None:
            continue
        setattr(target, key, value)
    ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    return ds


def add_philips(ds: Dataset, suv_scale: str | None, activity_scale: str | None) -> Dataset:
    """Add the Philips PET private block (7053,0010) with (7053,1000) and/or (7053,1009)."""
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    if suv_scale is not None:
        block.add_new(0x00, "DS", suv_scale)
    if activity_scale is not None:
        block.add_new(0x09, "DS", activity_scale)
    return ds


def as_file(ds: Dataset) -> Dataset:
    """Give a header the file meta it needs to be written with ``save_as``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds
