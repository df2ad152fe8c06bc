"""pydicom dataset builders for the demo CT, MR and PET series (one file per slice).

Each series is built once as a template holding the patient, study, series, frame of reference,
equipment and modality modules; the per-slice attributes (SOP Instance UID, position, pixels,
rescale, times) are set on the same object before each write, which keeps writing fast.
UIDs are derived deterministically from names, so a rerun writes identical UIDs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    PositronEmissionTomographyImageStorage,
    generate_uid,
)

from namecar_viewer.phantom import scenario as sc

UID_SEED = "NAMECAR-demo-phantom-v1"
IMPLEMENTATION_VERSION = "NAMECAR_PHANTOM1"
MANUFACTURER = "NAMECAR Viewer phantom"


def demo_uid(*parts: object) -> str:
    """A valid UID that depends only on ``parts`` (same inputs, same UID on every run)."""
    return str(generate_uid(entropy_srcs=[UID_SEED, *(str(p) for p in parts)]))


def da(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def tm(t: dt.time | dt.datetime) -> str:
    return t.strftime("%H%M%S")


@dataclass
class StudyInfo:
    """Identity of one study (all its series share these)."""

    key: str
    date: dt.date
    time: dt.time
    description: str
    accession: str
    study_id: str
    timepoint_id: str
    timepoint_description: str
    study_uid: str = ""
    frame_uid: str = ""

    def __post_init__(self) -> None:
        self.study_uid = self.study_uid or demo_uid("study", self.key)
        self.frame_uid = self.frame_uid or demo_uid("frame", self.key)


@dataclass
class SeriesInfo:
    """Identity and acquisition time of one series."""

    key: str
    number: int
    description: str
    modality: str
    time: dt.time
    series_uid: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.series_uid = self.series_uid or demo_uid("series", self.key)


def base_dataset(study: StudyInfo, series: SeriesInfo, sop_class: str) -> Dataset:
    """Patient, clinical trial, study, series, frame of reference and equipment modules."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(demo_uid("implementation"))
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.InstanceCreationDate = da(study.date)
    ds.InstanceCreationTime = tm(series.time)
    # Patient
    ds.PatientName = sc.PATIENT_NAME
    ds.PatientID = sc.PATIENT_ID
    ds.IssuerOfPatientID = "NAMECAR"
    ds.PatientBirthDate = sc.PATIENT_BIRTH_DATE
    ds.PatientSex = sc.PATIENT_SEX
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Synthetic phantom patient, no real person"
    # Clinical Trial Subject / Study
    ds.ClinicalTrialSponsorName = sc.TRIAL_SPONSOR
    ds.ClinicalTrialProtocolID = sc.TRIAL_PROTOCOL_ID
    ds.ClinicalTrialProtocolName = "NAMECAR"
    ds.ClinicalTrialSiteID = "DEMO"
    ds.ClinicalTrialSiteName = "Demo site"
    ds.ClinicalTrialSubjectID = sc.TRIAL_SUBJECT_ID
    ds.ClinicalTrialTimePointID = study.timepoint_id
    ds.ClinicalTrialTimePointDescription = study.timepoint_description
    # General Study / Patient Study
    ds.StudyInstanceUID = study.study_uid
    ds.StudyDate = da(study.date)
    ds.StudyTime = tm(study.time)
    ds.ReferringPhysicianName = ""
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession
    ds.StudyDescription = study.description
    age = study.date.year - int(sc.PATIENT_BIRTH_DATE[:4])
    if (study.date.month, study.date.day) < (
        int(sc.PATIENT_BIRTH_DATE[4:6]),
        int(sc.PATIENT_BIRTH_DATE[6:]),
    ):
        age -= 1
    ds.PatientAge = f"{age:03d}Y"
    ds.PatientSize = sc.PATIENT_SIZE_M
    ds.PatientWeight = sc.PATIENT_WEIGHT_KG
    # General Series
    ds.Modality = series.modality
    ds.SeriesInstanceUID = series.series_uid
    ds.SeriesNumber = series.number
    ds.SeriesDescription = series.description
    ds.SeriesDate = da(study.date)
    ds.SeriesTime = tm(series.time)
    ds.PatientPosition = "FFS" if series.modality == "PT" else "HFS"
    # KIDNEY would make Laterality mandatory; the MRI covers both kidneys.
    ds.BodyPartExamined = {"CT": "CHESTABDPELVIS", "PT": "WHOLEBODY"}.get(
        series.modality, "ABDOMEN"
    )
    # Frame of Reference
    ds.FrameOfReferenceUID = study.frame_uid
    ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = "NAMECAR demo"
    ds.StationName = "PHANTOM"
    ds.ManufacturerModelName = "namecar-viewer demo"
    ds.SoftwareVersions = "1"
    # General Image / Image Plane / Image Pixel (common parts)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BurnedInAnnotation = "NO"
    ds.ContentDate = da(study.date)
    ds.ContentTime = tm(series.time)
    ds.AcquisitionDate = da(study.date)
    ds.AcquisitionTime = tm(series.time)
    return ds


def set_plane(
    ds: Dataset, position: npt.ArrayLike, spacing: Sequence[float], thickness: float
) -> None:
    """Image Plane module for an axial slice; ``spacing`` is (row spacing, column spacing)."""
    pos = np.asarray(position, dtype=np.float64)
    ds.ImagePositionPatient = [f"{float(v):.4f}".rstrip("0").rstrip(".") or "0" for v in pos]
    ds.PixelSpacing = [f"{float(v):.6g}" for v in spacing]
    ds.SliceThickness = f"{thickness:g}"
    ds.SliceLocation = f"{float(pos[2]):.4f}".rstrip("0").rstrip(".") or "0"


def set_pixels(ds: Dataset, arr: npt.NDArray[np.integer]) -> None:
    """Image Pixel module from a 2D integer array (uint16 or int16)."""
    ds.Rows, ds.Columns = int(arr.shape[0]), int(arr.shape[1])
    signed = arr.dtype == np.int16
    ds.PixelRepresentation = 1 if signed else 0
    if not ds.get("BitsStored"):
        ds.BitsStored = 16
    ds.HighBit = int(ds.BitsStored) - 1
    a = np.ascontiguousarray(arr, dtype=np.int16 if signed else np.uint16)
    if a.size:
        ds.SmallestImagePixelValue = int(a.min())
        ds.LargestImagePixelValue = int(a.max())
    ds.PixelData = a.tobytes()


def write_instance(ds: Dataset, path: Path, sop_uid: str, instance_number: int) -> None:
    ds.SOPInstanceUID = sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    ds.InstanceNumber = instance_number
    ds.save_as(path, enforce_file_format=True)


# ----------------------------------------------------------------------------- CT


def ct_template(study: StudyInfo, series: SeriesInfo) -> Dataset:
    """CT Image Storage with the CT Image and Contrast/Bolus modules (portal venous phase)."""
    ds = base_dataset(study, series, CTImageStorage)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.BitsStored = 12
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.KVP = 120
    ds.AcquisitionNumber = 1
    ds.ScanOptions = "HELICAL MODE"
    ds.DataCollectionDiameter = 500
    ds.ReconstructionDiameter = float(str(series.extra.get("recon_diameter", 400)))
    ds.DistanceSourceToDetector = 1085.6
    ds.DistanceSourceToPatient = 595
    ds.GantryDetectorTilt = 0
    ds.TableHeight = 160
    ds.RotationDirection = "CW"
    ds.ExposureTime = 500
    ds.XRayTubeCurrent = 220
    ds.Exposure = 110
    ds.FilterType = "BODY FILTER"
    ds.GeneratorPower = 26
    ds.FocalSpots = 1.2
    ds.ConvolutionKernel = "STANDARD"
    ds.PatientPosition = "HFS"
    ds.SpiralPitchFactor = 0.984
    ds.CTDIvol = 9.8
    phantom = Dataset()
    phantom.CodeValue = "113691"
    phantom.CodingSchemeDesignator = "DCM"
    phantom.CodeMeaning = "IEC Body Dosimetry Phantom"
    ds.CTDIPhantomTypeCodeSequence = DicomSequence([phantom])
    ds.ContrastBolusAgent = "Iohexol 350 mgI/ml"
    ds.ContrastBolusRoute = "IV"
    ds.ContrastBolusVolume = 100
    ds.ContrastBolusStartTime = tm(
        (dt.datetime.combine(study.date, series.time) - dt.timedelta(seconds=70)).time()
    )
    ds.ContrastBolusIngredient = "IODINE"
    ds.ContrastBolusIngredientConcentration = 350
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.WindowCenterWidthExplanation = "SOFT TISSUE"
    return ds


# ----------------------------------------------------------------------------- MR


def mr_template(study: StudyInfo, series: SeriesInfo, *, kind: str) -> Dataset:
    """MR Image Storage; ``kind`` is "t2", "dwi" or "dyn" and sets the sequence attributes."""
    ds = base_dataset(study, series, MRImageStorage)
    ds.BitsStored = 12
    ds.ImagedNucleus = "1H"
    ds.MagneticFieldStrength = 1.5
    ds.MRAcquisitionType = "2D"
    ds.AngioFlag = "N"
    ds.NumberOfAverages = 1
    ds.ImagingFrequency = 63.68
    ds.PercentSampling = 100
    ds.PercentPhaseFieldOfView = 100
    ds.ReceiveCoilName = "Body 18"
    ds.TransmitCoilName = "Body"
    ds.InPlanePhaseEncodingDirection = "COL"
    ds.FlipAngle = 90
    ds.PatientPosition = "HFS"
    if kind == "t2":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = ["SK", "SP"]
        ds.ScanOptions = ""
        ds.SequenceName = "tse2d1_17"
        ds.RepetitionTime = 4200
        ds.EchoTime = 98
        ds.EchoTrainLength = 17
        ds.FlipAngle = 150
    elif kind == "dwi":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence = "EP"
        ds.SequenceVariant = ["SK", "SP"]
        ds.ScanOptions = ["FS"]
        ds.SequenceName = "ep_b0_800"
        ds.RepetitionTime = 5200
        ds.EchoTime = 62
        ds.EchoTrainLength = 1
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = ["SP", "OSP"]
        ds.ScanOptions = ["FS"]
        ds.MRAcquisitionType = "3D"
        ds.SequenceName = "fl3d1"
        ds.RepetitionTime = 3.9
        ds.EchoTime = 1.8
        ds.EchoTrainLength = 1
        ds.FlipAngle = 12
        ds.ContrastBolusAgent = "Gadoterate meglumine 0.5 mmol/ml"
        ds.ContrastBolusRoute = "IV"
        ds.ContrastBolusVolume = 15
        ds.ContrastBolusStartTime = tm(series.time)
        ds.ContrastBolusIngredient = "GADOLINIUM"
    return ds


# ----------------------------------------------------------------------------- PET


def pet_template(study: StudyInfo, series: SeriesInfo, n_slices: int) -> Dataset:
    """PET Image Storage: PET Series, PET Isotope (Ga-68 PSMA-11), orientation, PET Image."""
    ds = base_dataset(study, series, PositronEmissionTomographyImageStorage)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BitsStored = 16
    ds.RescaleIntercept = 0
    ds.Units = "BQML"
    ds.CountsSource = "EMISSION"
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    ds.NumberOfSlices = n_slices
    ds.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    ds.DecayCorrection = "START"
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "CT-based"
    ds.ScatterCorrectionMethod = "Model-based"
    ds.ReconstructionMethod = "OSEM 3i21s"
    ds.CollimatorType = "NONE"
    ds.AxialAcceptance = 27
    ds.AxialMash = [5, 6]
    ds.TransverseMash = 1
    ds.CoincidenceWindowWidth = 4.5
    # NM/PET Patient Orientation replaces PatientPosition (which must then be absent).
    del ds.PatientPosition
    inj = dt.datetime.combine(sc.PET_DATE, sc.INJECTION_TIME)
    rp = Dataset()
    rp.Radiopharmaceutical = "Ga-68 PSMA-11"
    rp.RadiopharmaceuticalRoute = "Intravenous route"
    rp.RadiopharmaceuticalStartTime = tm(inj)
    rp.RadiopharmaceuticalStartDateTime = inj.strftime("%Y%m%d%H%M%S")
    rp.RadionuclideTotalDose = sc.INJECTED_ACTIVITY_BQ
    rp.RadionuclideHalfLife = sc.GA68_HALF_LIFE_S
    rp.RadionuclidePositronFraction = 0.8911
    code = Dataset()
    code.CodeValue = "35337001"
    code.CodingSchemeDesignator = "SCT"
    code.CodeMeaning = "^68^Gallium"
    rp.RadionuclideCodeSequence = DicomSequence([code])
    drug = Dataset()
    drug.CodeValue = "C118961"
    drug.CodingSchemeDesignator = "NCIt"
    drug.CodeMeaning = "PSMA-11 Ga^68^"
    rp.RadiopharmaceuticalCodeSequence = DicomSequence([drug])
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])
    orient = Dataset()
    orient.CodeValue = "102538003"
    orient.CodingSchemeDesignator = "SCT"
    orient.CodeMeaning = "recumbent"
    mod = Dataset()
    mod.CodeValue = "40199007"
    mod.CodingSchemeDesignator = "SCT"
    mod.CodeMeaning = "supine"
    orient.PatientOrientationModifierCodeSequence = DicomSequence([mod])
    ds.PatientOrientationCodeSequence = DicomSequence([orient])
    gantry = Dataset()
    gantry.CodeValue = "102541007"
    gantry.CodingSchemeDesignator = "SCT"
    gantry.CodeMeaning = "feet-first"
    ds.PatientGantryRelationshipCodeSequence = DicomSequence([gantry])
    ds.FrameReferenceTime = 0
    ds.ActualFrameDuration = sc.PET_BED_DURATION_S * 1000
    ds.DoseCalibrationFactor = 1.0
    return ds
