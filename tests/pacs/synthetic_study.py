"""A generated CT study with vendor-like headers, for transfer tests and the PACS benchmark.

Each slice is 512x512 int16 (configurable) of a body-like phantom with noise, so compressed
transfer syntaxes compress it as they would a real CT; the headers carry what a scanner writes
(equipment, acquisition, dose, a private block of a few hundred bytes), about 3 KB per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


@dataclass(frozen=True)
class SyntheticStudy:
    study_instance_uid: str
    series_instance_uids: list[str]
    files: list[Path]
    patient_id: str

    @property
    def nbytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)


def _phantom(size: int, z: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    r = np.hypot((xx - c) / (0.45 * size), (yy - c) / (0.35 * size))
    img = np.full((size, size), -1000.0, dtype=np.float32)  # air
    img[r < 1.0] = 40.0  # soft tissue
    img[np.hypot(xx - c * 0.7, yy - c) < size * (0.06 + 0.01 * np.sin(z / 9))] = 60.0  # liver
    img[np.hypot(xx - c, yy - c * 1.3) < size * 0.04] = 700.0  # spine
    img[(r < 1.0) & (r > 0.95)] = -100.0  # fat rim
    img += rng.normal(0, 12, img.shape).astype(np.float32)
    return (img + 1024).clip(0, 4095).astype(np.int16)


def make_study(
    out: Path,
    n_series: int = 5,
    n_slices: int = 400,
    size: int = 512,
    patient_id: str = "BENCH-001",
    seed: int = 17,
) -> SyntheticStudy:
    """Write ``n_series`` x ``n_slices`` CT files under ``out`` (Part 10, explicit VR LE)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    frame = generate_uid()
    series_uids: list[str] = []
    files: list[Path] = []
    base_slices = [_phantom(size, z, rng) for z in range(8)]
    for s in range(n_series):
        series = generate_uid()
        series_uids.append(series)
        sdir = out / f"series{s + 1:02d}"
        sdir.mkdir(exist_ok=True)
        for i in range(n_slices):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
            sop = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = sop
            ds.StudyDate = "20250115"
            ds.SeriesDate = "20250115"
            ds.AcquisitionDate = "20250115"
            ds.ContentDate = "20250115"
            ds.StudyTime = "101500"
            ds.SeriesTime = f"1016{s:02d}"
            ds.AcquisitionTime = f"1016{s:02d}.{i:06d}"
            ds.ContentTime = ds.AcquisitionTime
            ds.AccessionNumber = "ACC0001"
            ds.Modality = "CT"
            ds.Manufacturer = "GE MEDICAL SYSTEMS"
            ds.InstitutionName = "Institut Paoli-Calmettes"
            ds.InstitutionAddress = "232 boulevard de Sainte-Marguerite, Marseille"
            ds.ReferringPhysicianName = "REFERRING^DOCTOR"
            ds.StationName = "CTAWP00001"
            ds.StudyDescription = "CT THORAX ABDOMEN PELVIS"
            ds.SeriesDescription = f"Series {s + 1} 1.25mm STND"
            ds.ManufacturerModelName = "Revolution CT"
            ds.PatientName = "BENCH^PATIENT"
            ds.PatientID = patient_id
            ds.PatientBirthDate = "19600101"
            ds.PatientSex = "M"
            ds.PatientAge = "065Y"
            ds.ClinicalTrialSubjectID = patient_id
            ds.ClinicalTrialTimePointID = "BASELINE"
            ds.BodyPartExamined = "CHEST"
            ds.ScanOptions = "HELICAL MODE"
            ds.SliceThickness = "1.25"
            ds.KVP = "120"
            ds.DataCollectionDiameter = "500"
            ds.SoftwareVersions = "revo_ct_22bc.50"
            ds.ProtocolName = "5.1 CAP WITH CONTRAST"
            ds.ReconstructionDiameter = "400"
            ds.DistanceSourceToDetector = "1097.5"
            ds.DistanceSourceToPatient = "625.6"
            ds.GantryDetectorTilt = "0"
            ds.TableHeight = "160"
            ds.RotationDirection = "CW"
            ds.ExposureTime = "600"
            ds.XRayTubeCurrent = "210"
            ds.Exposure = "7"
            ds.FilterType = "BODY FILTER"
            ds.GeneratorPower = "25200"
            ds.FocalSpots = "1.2"
            ds.ConvolutionKernel = "STANDARD"
            ds.PatientPosition = "FFS"
            ds.RevolutionTime = 0.5
            ds.SingleCollimationWidth = 0.625
            ds.TotalCollimationWidth = 80.0
            ds.TableSpeed = 158.75
            ds.TableFeedPerRotation = 79.375
            ds.SpiralPitchFactor = 0.992
            ds.CTDIvol = 8.41
            ds.StudyInstanceUID = study
            ds.SeriesInstanceUID = series
            ds.StudyID = "1001"
            ds.SeriesNumber = s + 1
            ds.AcquisitionNumber = 1
            ds.InstanceNumber = i + 1
            ds.ImagePositionPatient = ["-200.0", "-200.0", f"{-1.25 * i:.2f}"]
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.FrameOfReferenceUID = frame
            ds.PositionReferenceIndicator = "SN"
            ds.SliceLocation = f"{-1.25 * i:.2f}"
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = size
            ds.Columns = size
            ds.PixelSpacing = ["0.78125", "0.78125"]
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 1
            ds.WindowCenter = "40"
            ds.WindowWidth = "400"
            ds.RescaleIntercept = "-1024"
            ds.RescaleSlope = "1"
            ds.RescaleType = "HU"
            # a vendor's private block (GE-like group 0043), a few hundred bytes
            block = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
            block.add_new(0x10, "SS", 1)
            block.add_new(0x12, "SS", [14, 0, 0])
            block.add_new(0x1E, "DS", "0.5")
            block.add_new(0x27, "SH", "/1.0:1")
            block.add_new(0x39, "IS", ["200", "0", "0", "0"])
            block.add_new(0x40, "OB", bytes(range(256)))
            pixels = base_slices[i % len(base_slices)]
            if size != pixels.shape[0]:
                pixels = pixels[:size, :size]
            ds.PixelData = np.roll(pixels, i % 7, axis=0).tobytes()
            path = sdir / f"IM{i + 1:05d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    return SyntheticStudy(study, series_uids, files, patient_id)
