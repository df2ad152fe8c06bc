"""Write the synthetic NAMECAR demo patient (CT x5, renal MRI, PSMA PET) and its ground truth.

Entry point: ``write_demo_patient(out_dir, size="full"|"small") -> DemoManifest``.  Everything is
deterministic: the same call writes the same pixels and the same UIDs.  ``ensure_demo_patient``
writes it only when the folder does not already hold a complete demo of that size (a marker
beside the folder, the one the app's ``--demo`` uses, says it was finished).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from namecar_viewer.core.dicom.sources import DEMO_GENERATOR, DEMO_GROUND_TRUTH_NAME
from namecar_viewer.phantom import scenario as sc
from namecar_viewer.phantom import writers as w
from namecar_viewer.phantom.anatomy import (
    LESION_LABEL_BASE,
    TISSUES,
    FloatArray,
    Grid,
    TissueProperties,
    body_structures,
    rasterise,
)

# Recognised by the scan (core.dicom.sources) by this name and the "generator" key first in the
# file, so opening the demo folder reports no skipped file.
GROUND_TRUTH_FILE = DEMO_GROUND_TRUTH_NAME
# Written beside (not inside, where a scan would list it) the demo folder once it is complete,
# so a half-written demo patient is written again; gui/main.py uses the same suffix.
COMPLETE_SUFFIX = ".complete"
CT_SLICE_MM = 2.5
MR_SLICE_MM = 5.0
PET_VOXEL_MM = 4.0
DWI_B_VALUES = (0.0, 800.0)
DYN_TIMES_S = (0.0, 20.0, 35.0, 60.0, 100.0, 180.0)
MR_NOISE_SD = 10.0
PET_NOISE_REL_SD = 0.12


@dataclass(frozen=True)
class SizeSpec:
    """Matrix and coverage of every series for one demo size."""

    ct_matrix: int
    ct_spacing: float
    ct_z_top: float
    ct_slices: int
    t2_matrix: int
    dwi_matrix: int
    dyn_matrix: int
    mr_fov: float
    mr_z_top: float
    mr_slices: int
    pet_matrix: int
    pet_z_top: float
    pet_slices: int


SIZES = {
    # 512 x 512 at 0.78 mm over 400 mm (160 slices of 2.5 mm): a clinical CAP CT.
    "full": SizeSpec(512, 0.78125, 100.0, 160, 256, 128, 192, 360.0, 15.0, 30, 144, 130.0, 105),
    # For tests: coarser pixels, chest to kidneys only (every lesion is covered).
    "small": SizeSpec(192, 1.875, 80.0, 84, 128, 64, 96, 360.0, 15.0, 30, 96, 110.0, 56),
}


# progress(files written, files in all, series folder being written)
DemoProgress = Callable[[int, int, str], None]
Tick = Callable[[str], None]  # one file of this series folder written


def expected_files(size: str) -> int:
    """How many DICOM files the demo of ``size`` has (5 CT, T2 + DWI + dynamic MR, PET)."""
    spec = SIZES[size]
    mr = spec.mr_slices * (1 + len(DWI_B_VALUES) + len(DYN_TIMES_S))
    return len(sc.CT_TIMEPOINTS) * spec.ct_slices + mr + spec.pet_slices


@dataclass(frozen=True)
class SeriesRecord:
    """One written series: where it is and what it is."""

    folder: str
    modality: str
    description: str
    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    n_files: int
    timepoint: str | None


@dataclass(frozen=True)
class DemoManifest:
    """What ``write_demo_patient`` wrote."""

    out_dir: Path
    ground_truth_path: Path
    series: tuple[SeriesRecord, ...]
    size: str
    seconds: float

    def folder(self, name_part: str) -> Path:
        """The first series folder whose name contains ``name_part``."""
        for s in self.series:
            if name_part in s.folder:
                return self.out_dir / s.folder
        raise KeyError(name_part)


def default_demo_dir() -> Path:
    """Where the app and ``namecar-viewer demo`` put the demo patient by default."""
    import platformdirs

    return Path(platformdirs.user_data_dir("namecar-viewer", appauthor=False)) / "demo-patient"


def _lut(attr: str | Callable[[TissueProperties], float]) -> npt.NDArray[np.float32]:
    """Label -> value table over all tissues and lesions (256 entries)."""
    get = attr if callable(attr) else (lambda tp: float(getattr(tp, attr)))
    out = np.zeros(256, dtype=np.float32)
    for label, props in TISSUES.items():
        out[int(label)] = get(props)
    for n, les in enumerate(sc.LESIONS):
        out[LESION_LABEL_BASE + n] = get(les.tissue)
    return out


def _ct_grid(spec: SizeSpec) -> Grid:
    z = spec.ct_z_top - CT_SLICE_MM * np.arange(spec.ct_slices)
    return Grid.axial(spec.ct_matrix, spec.ct_matrix, spec.ct_spacing, z)


def _mr_grid(spec: SizeSpec, matrix: int) -> Grid:
    z = spec.mr_z_top - MR_SLICE_MM * np.arange(spec.mr_slices)
    return Grid.axial(matrix, matrix, spec.mr_fov / matrix, z)


def _pet_grid(spec: SizeSpec) -> Grid:
    z = spec.pet_z_top - PET_VOXEL_MM * np.arange(spec.pet_slices)
    return Grid.axial(spec.pet_matrix, spec.pet_matrix, PET_VOXEL_MM, z, centre_xy=(14.0, -11.0))


def _labels(
    grid: Grid, study_from_body: FloatArray, timepoint: str, slices: Sequence[int] | None = None
) -> npt.NDArray[np.uint8]:
    shapes = [*body_structures(), *sc.lesion_shapes(timepoint)]
    return rasterise(shapes, grid, study_from_body, slices=slices)


def _folder(modality: str, date: dt.date, name: str) -> str:
    return f"{modality}_{date.isoformat()}_{name}"


def _clean(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _write_ct(out: Path, spec: SizeSpec, index: int, tp: sc.Timepoint, tick: Tick) -> SeriesRecord:
    grid = _ct_grid(spec)
    study = w.StudyInfo(
        key=f"ct-{tp.label}",
        date=tp.date,
        time=tp.time,
        description="CT CHEST ABDOMEN PELVIS WITH CONTRAST",
        accession=f"NCDEMO{index + 1:04d}",
        study_id=f"CT{index + 1}",
        timepoint_id=tp.label.upper(),
        timepoint_description=tp.description,
    )
    series = w.SeriesInfo(
        key=f"ct-{tp.label}-portal",
        number=2,
        description="CAP portal venous 2.5mm",
        modality="CT",
        time=tp.time,
        extra={"recon_diameter": spec.ct_matrix * spec.ct_spacing},
    )
    folder = _folder("CT", tp.date, tp.label)
    _clean(out / folder)
    ds = w.ct_template(study, series)
    hu_lut, sd_lut = _lut("ct_hu"), _lut("noise_hu")
    rng = np.random.default_rng(1000 + index)
    chunk = 16
    nk = grid.shape[0]
    spacing = (spec.ct_spacing, spec.ct_spacing)
    for k0 in range(0, nk, chunk):
        ks = list(range(k0, min(nk, k0 + chunk)))
        lab = _labels(grid, tp.study_from_body, tp.label, slices=ks)
        noise = rng.standard_normal(lab.shape, dtype=np.float32)
        hu = hu_lut[lab] + sd_lut[lab] * noise
        stored = np.clip(np.rint(hu + 1024.0), 0, 4095).astype(np.uint16)
        for n, k in enumerate(ks):
            w.set_plane(ds, grid.position(k), spacing, CT_SLICE_MM)
            w.set_pixels(ds, stored[n])
            sop = w.demo_uid("sop", series.key, k)
            w.write_instance(ds, out / folder / f"IMG{k + 1:04d}.dcm", sop, k + 1)
            tick(folder)
    return SeriesRecord(
        folder,
        "CT",
        series.description,
        study.study_uid,
        series.series_uid,
        study.frame_uid,
        nk,
        tp.label,
    )


def _rician(signal: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.uint16]:
    """Magnitude of the signal plus complex Gaussian noise, as 12-bit stored values."""
    n1 = rng.standard_normal(signal.shape, dtype=np.float32) * MR_NOISE_SD
    n2 = rng.standard_normal(signal.shape, dtype=np.float32) * MR_NOISE_SD
    mag = np.sqrt((signal + n1) ** 2 + n2**2)
    out: npt.NDArray[np.uint16] = np.clip(np.rint(mag), 0, 4095).astype(np.uint16)
    return out


def enhancement(t: float, peak_s: float, plateau: float) -> float:
    """Relative contrast enhancement (0 before, 1 at the peak, ``plateau`` long after)."""
    if t <= 0 or peak_s <= 0:
        return 0.0
    g = (t / peak_s) ** 2 * np.exp(2.0 * (1.0 - t / peak_s))
    return float(g if t <= peak_s else plateau + (1.0 - plateau) * g)


def _mr_study() -> w.StudyInfo:
    return w.StudyInfo(
        key="mr-renal",
        date=sc.MRI_DATE,
        time=sc.MRI_TIME,
        description="MR KIDNEYS WITH AND WITHOUT CONTRAST",
        accession="NCDEMO0101",
        study_id="MR1",
        timepoint_id="PRE-NEPHRECTOMY",
        timepoint_description="renal MRI before nephrectomy",
    )


def _write_mr(out: Path, spec: SizeSpec, tick: Tick) -> list[SeriesRecord]:
    study = _mr_study()
    s2b = sc.study_from_body_mri()
    tpl = sc.MRI_LESION_TIMEPOINT
    records = []
    base = dt.datetime.combine(sc.MRI_DATE, sc.MRI_TIME)

    def series_time(minutes: int) -> dt.time:
        return (base + dt.timedelta(minutes=minutes)).time()

    # Axial T2 TSE
    grid = _mr_grid(spec, spec.t2_matrix)
    ser = w.SeriesInfo("mr-t2", 3, "T2 TSE AX", "MR", series_time(4))
    folder = _folder("MR", sc.MRI_DATE, "T2_TSE_AX")
    _clean(out / folder)
    ds = w.mr_template(study, ser, kind="t2")
    img = _rician(_lut("t2")[_labels(grid, s2b, tpl)], np.random.default_rng(2001))
    sp = spec.mr_fov / spec.t2_matrix
    ds.SpacingBetweenSlices = MR_SLICE_MM
    for k in range(grid.shape[0]):
        w.set_plane(ds, grid.position(k), (sp, sp), MR_SLICE_MM)
        w.set_pixels(ds, img[k])
        w.write_instance(
            ds, out / folder / f"IMG{k + 1:04d}.dcm", w.demo_uid("sop", ser.key, k), k + 1
        )
        tick(folder)
    records.append(
        SeriesRecord(
            folder,
            "MR",
            ser.description,
            study.study_uid,
            ser.series_uid,
            study.frame_uid,
            grid.shape[0],
            None,
        )
    )

    # DWI, b=0 and b=800 in one series
    grid = _mr_grid(spec, spec.dwi_matrix)
    ser = w.SeriesInfo("mr-dwi", 5, "DWI b0 b800 AX", "MR", series_time(9))
    folder = _folder("MR", sc.MRI_DATE, "DWI_b0_b800")
    _clean(out / folder)
    ds = w.mr_template(study, ser, kind="dwi")
    lab = _labels(grid, s2b, tpl)
    s0, adc = _lut("dwi_s0")[lab], _lut("adc")[lab]
    rng = np.random.default_rng(2002)
    sp = spec.mr_fov / spec.dwi_matrix
    ds.SpacingBetweenSlices = MR_SLICE_MM
    n = 0
    for b in DWI_B_VALUES:
        img = _rician(s0 * np.exp(-b * adc * 1e-3).astype(np.float32), rng)
        ds.DiffusionBValue = b
        ds.SequenceName = f"ep_b{int(b)}"
        for k in range(grid.shape[0]):
            n += 1
            w.set_plane(ds, grid.position(k), (sp, sp), MR_SLICE_MM)
            w.set_pixels(ds, img[k])
            w.write_instance(
                ds, out / folder / f"IMG{n:04d}.dcm", w.demo_uid("sop", ser.key, b, k), n
            )
            tick(folder)
    records.append(
        SeriesRecord(
            folder, "MR", ser.description, study.study_uid, ser.series_uid, study.frame_uid, n, None
        )
    )

    # Dynamic contrast-enhanced T1 (fat-suppressed), several temporal positions
    grid = _mr_grid(spec, spec.dyn_matrix)
    start = base + dt.timedelta(minutes=15)
    ser = w.SeriesInfo("mr-dyn", 7, "T1 DYN FS AX", "MR", start.time())
    folder = _folder("MR", sc.MRI_DATE, "DYN_T1")
    _clean(out / folder)
    ds = w.mr_template(study, ser, kind="dyn")
    lab = _labels(grid, s2b, tpl)
    pre, gain = _lut("t1_pre")[lab], _lut("t1_gain")[lab]
    peak, plateau = _lut("t1_peak_s"), _lut("t1_plateau")
    rng = np.random.default_rng(2003)
    sp = spec.mr_fov / spec.dyn_matrix
    ds.SpacingBetweenSlices = MR_SLICE_MM
    ds.NumberOfTemporalPositions = len(DYN_TIMES_S)
    ds.TemporalResolution = 15000
    n = 0
    for tpos, t in enumerate(DYN_TIMES_S, start=1):
        enh = np.array(
            [enhancement(t, float(peak[i]), float(plateau[i])) for i in range(256)],
            dtype=np.float32,
        )
        img = _rician(pre + gain * enh[lab], rng)
        acq = start + dt.timedelta(seconds=t)
        ds.TemporalPositionIdentifier = tpos
        # TriggerTime is reserved for cardiac gating in the MR Image module (dciodvfy rejects
        # it otherwise); the phase time is AcquisitionTime, TemporalPositionIdentifier the index.
        ds.AcquisitionTime = acq.strftime("%H%M%S.%f")[:13]
        ds.ContentTime = ds.AcquisitionTime
        ds.AcquisitionNumber = tpos
        for k in range(grid.shape[0]):
            n += 1
            w.set_plane(ds, grid.position(k), (sp, sp), MR_SLICE_MM)
            w.set_pixels(ds, img[k])
            w.write_instance(
                ds, out / folder / f"IMG{n:04d}.dcm", w.demo_uid("sop", ser.key, tpos, k), n
            )
            tick(folder)
    records.append(
        SeriesRecord(
            folder, "MR", ser.description, study.study_uid, ser.series_uid, study.frame_uid, n, None
        )
    )
    return records


def _pet_study() -> w.StudyInfo:
    return w.StudyInfo(
        key="pet-psma",
        date=sc.PET_DATE,
        time=sc.INJECTION_TIME,
        description="PET PSMA Ga-68 WHOLE BODY",
        accession="NCDEMO0201",
        study_id="PT1",
        timepoint_id="PRE-NEPHRECTOMY",
        timepoint_description="PSMA PET before nephrectomy",
    )


def pet_lesion_peaks(spec: SizeSpec) -> list[tuple[int, int, int]]:
    """Voxel (k, j, i) nearest each lesion centre; it is always painted with the lesion's uptake.

    Small lesions (4-7 mm after response) could otherwise contain no 4 mm voxel centre at all.
    """
    grid = _pet_grid(spec)
    inv = np.linalg.inv(grid.affine)
    m = sc.study_from_body_pet()
    out = []
    for les in sc.LESIONS:
        p = m @ np.array([*les.centre_body, 1.0])
        kji = np.rint(inv @ p)[:3].astype(int)
        out.append((int(kji[0]), int(kji[1]), int(kji[2])))
    return out


def _smooth_noise(shape: tuple[int, ...], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Unit-variance Gaussian noise with [1,2,1] correlation along each axis (PET-like grain)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    for ax in range(3):
        x = 0.5 * x + 0.25 * (np.roll(x, 1, axis=ax) + np.roll(x, -1, axis=ax))
    return x / np.float32(np.sqrt(6.0 / 16.0) ** 3)


def _write_pet(out: Path, spec: SizeSpec, tick: Tick) -> SeriesRecord:
    study = _pet_study()
    grid = _pet_grid(spec)
    ser = w.SeriesInfo("pet-psma-ac", 4, "PET PSMA AC", "PT", sc.PET_SERIES_TIME)
    folder = _folder("PT", sc.PET_DATE, "PSMA_Ga68")
    _clean(out / folder)
    lab = _labels(grid, sc.study_from_body_pet(), sc.MRI_LESION_TIMEPOINT)
    for n, (k, j, i) in enumerate(pet_lesion_peaks(spec)):
        lab[k, j, i] = LESION_LABEL_BASE + n
    suv = _lut("suv")[lab]
    noise = _smooth_noise(lab.shape, np.random.default_rng(3001))
    lesion = lab >= LESION_LABEL_BASE
    # Lesions keep their exact uptake so that their SUVmax is known; tissue gets PET grain.
    suv = np.where(lesion, suv, np.maximum(suv * (1.0 + PET_NOISE_REL_SD * noise), 0.0))
    bqml = suv.astype(np.float64) * sc.bqml_per_suv()
    ds = w.pet_template(study, ser, grid.shape[0])
    series_start = dt.datetime.combine(sc.PET_DATE, sc.PET_SERIES_TIME)
    lam = np.log(2.0) / sc.GA68_HALF_LIFE_S
    dur = sc.PET_BED_DURATION_S
    for k in range(grid.shape[0]):
        z = grid.position(k)[2]
        bed = int((spec.pet_z_top - z) // sc.PET_BED_LENGTH_MM)
        offset = bed * dur
        acq = series_start + dt.timedelta(seconds=offset)
        ds.AcquisitionTime = tm_f(acq)
        ds.ContentTime = ds.AcquisitionTime
        ds.FrameReferenceTime = (offset + dur / 2.0) * 1000.0
        # Decay during the frame and since the series start (reported, values already corrected)
        ds.DecayFactor = f"{np.exp(lam * offset) * lam * dur / (1.0 - np.exp(-lam * dur)):.6f}"
        ds.ImageIndex = k + 1
        sl = bqml[k]
        vmax = float(sl.max())
        slope = vmax / 32767.0 if vmax > 0 else 1.0
        ds.RescaleSlope = f"{slope:.10g}"
        slope = float(ds.RescaleSlope)
        stored = np.clip(np.rint(sl / slope), 0, 32767).astype(np.int16)
        w.set_plane(ds, grid.position(k), (PET_VOXEL_MM, PET_VOXEL_MM), PET_VOXEL_MM)
        w.set_pixels(ds, stored)
        w.write_instance(
            ds, out / folder / f"IMG{k + 1:04d}.dcm", w.demo_uid("sop", ser.key, k), k + 1
        )
        tick(folder)
    return SeriesRecord(
        folder,
        "PT",
        ser.description,
        study.study_uid,
        ser.series_uid,
        study.frame_uid,
        grid.shape[0],
        None,
    )


def tm_f(t: dt.datetime) -> str:
    return t.strftime("%H%M%S")


def _r(v: Sequence[float] | FloatArray, nd: int = 4) -> list[float]:
    return [round(float(x), nd) for x in v]


def _ground_truth(spec: SizeSpec, size: str, records: Sequence[SeriesRecord]) -> dict[str, Any]:
    ct_grid = _ct_grid(spec)
    ct_z0, ct_dz = ct_grid.affine[2, 3], ct_grid.affine[2, 0]
    pet_grid = _pet_grid(spec)
    peaks = pet_lesion_peaks(spec)
    mri = sc.study_from_body_mri()
    pet = sc.study_from_body_pet()
    rot = sc.pet_from_mri()[:3, :3]
    sums = sc.recist_sums()
    lesions = []
    for n, les in enumerate(sc.LESIONS):
        c = np.array([*les.centre_body, 1.0])
        tps = {}
        for tp in sc.CT_TIMEPOINTS:
            p = tp.study_from_body @ c
            long, short = les.sizes[tp.label]
            tps[tp.label] = {
                "centre_mm": _r(p[:3]),
                "long_axis_mm": long,
                "short_axis_mm": short,
                "recist_diameter_mm": short if les.is_lymph_node else long,
                "craniocaudal_mm": short,
                "slice_index": round((p[2] - ct_z0) / ct_dz),
                "instance_number": round((p[2] - ct_z0) / ct_dz) + 1,
            }
        long_i, short_i = les.sizes[sc.MRI_LESION_TIMEPOINT]
        pm = mri @ c
        pp = pet @ c
        d = np.array(les.long_axis_direction())
        k, j, i = peaks[n]
        suv = les.tissue.suv
        lesions.append(
            {
                "id": les.id,
                "organ": les.organ,
                "role": les.role,
                "is_lymph_node": les.is_lymph_node,
                "is_primary_renal": les.is_primary_renal,
                "description": les.description,
                "ct_hu": les.tissue.ct_hu,
                "long_axis_direction": _r(d, 6),
                "ct": tps,
                "mri": {
                    "centre_mm": _r(pm[:3]),
                    "long_axis_mm": long_i,
                    "short_axis_mm": short_i,
                    "long_axis_direction": _r(d, 6),
                },
                "pet": {
                    "centre_mm": _r(pp[:3]),
                    "long_axis_mm": long_i,
                    "short_axis_mm": short_i,
                    "long_axis_direction": _r(rot @ d, 6),
                    "suv_max": suv,
                    "activity_bq_per_ml": round(suv * sc.bqml_per_suv(), 3),
                    "peak_voxel_kji": [k, j, i],
                    "peak_voxel_centre_mm": _r(pet_grid.affine @ np.array([k, j, i, 1.0]))[:3],
                    "suv_peak": suv if les.id == "T1" else None,
                },
            }
        )
    uptake = sc.pet_uptake_seconds()
    decay = 2.0 ** (-uptake / sc.GA68_HALF_LIFE_S)
    return {
        "generator": DEMO_GENERATOR,
        "size": size,
        "coordinates": "DICOM patient LPS, millimetres, in each study's own frame of reference",
        "patient": {
            "name": sc.PATIENT_NAME,
            "id": sc.PATIENT_ID,
            "trial_subject_id": sc.TRIAL_SUBJECT_ID,
            "sex": sc.PATIENT_SEX,
            "weight_kg": sc.PATIENT_WEIGHT_KG,
            "size_m": sc.PATIENT_SIZE_M,
        },
        "scenario": (
            "Metastatic clear-cell RCC, primary in place. Immunotherapy between the pre-treatment "
            "baseline and the inclusion scan: lung, liver and nodal metastases shrink by about "
            "80 % "
            "(metastatic sum -77.8 %, eligible mPR, primary excluded). Stable at 3 and 6 months; "
            "at 9 months the liver metastasis T4 regrows to 24 mm: sum 99 mm vs nadir 81 mm "
            "(+18 mm, +22.2 %) = progression. The bone lesion NT1 is a non-target, present "
            "throughout. Renal MRI and PSMA PET show the lesions at their inclusion sizes."
        ),
        "measurement_definition": (
            "Lesions are ellipsoids. long_axis_mm and short_axis_mm are the axial diameters of the "
            "largest axial section (the slice through the centre), the long axis along "
            "long_axis_direction; the cranio-caudal diameter equals the short axis. Painted "
            "voxels are those whose centre lies inside the ellipsoid."
        ),
        "ct_timepoints": [
            {
                "label": tp.label,
                "description": tp.description,
                "date": tp.date.isoformat(),
                "patient_shift_mm": list(tp.shift_mm),
                "study_from_body": tp.study_from_body.tolist(),
                "folder": _folder("CT", tp.date, tp.label),
                **sums[tp.label],
            }
            for tp in sc.CT_TIMEPOINTS
        ],
        "lesions": lesions,
        "mri": {
            "date": sc.MRI_DATE.isoformat(),
            "patient_shift_mm": list(sc.MRI_SHIFT_MM),
            "lesion_sizes_from_timepoint": sc.MRI_LESION_TIMEPOINT,
            "dwi_b_values": list(DWI_B_VALUES),
            "dynamic_times_s": list(DYN_TIMES_S),
        },
        "pet": {
            "date": sc.PET_DATE.isoformat(),
            "transform_mri_to_pet": sc.pet_from_mri().tolist(),
            "transform_description": (
                f"p_pet = R p_mri + t, R = rotation of {sc.PET_ROTATION_Z_DEG} degrees about the "
                f"z axis (x towards y), t = {list(sc.PET_TRANSLATION_MM)} mm"
            ),
            "rotation_z_deg": sc.PET_ROTATION_Z_DEG,
            "translation_mm": list(sc.PET_TRANSLATION_MM),
            "suv_max_definition": (
                "every voxel whose centre is inside the lesion, and always the voxel nearest the "
                "centre (peak_voxel_kji), holds exactly the lesion's uptake (no noise); suv_peak "
                "given only where a 1 cm3 sphere fits inside the uniform lesion"
            ),
            "suv_arithmetic": {
                "formula": (
                    "SUVbw = C(Bq/ml) * weight(g) / "
                    "(dose(Bq) * 2^(-(series_time - injection_time)/half_life))"
                ),
                "weight_g": sc.PATIENT_WEIGHT_KG * 1000.0,
                "injected_dose_bq": sc.INJECTED_ACTIVITY_BQ,
                "injection_datetime": dt.datetime.combine(
                    sc.PET_DATE, sc.INJECTION_TIME
                ).isoformat(),
                "series_datetime": dt.datetime.combine(sc.PET_DATE, sc.PET_SERIES_TIME).isoformat(),
                "uptake_seconds": uptake,
                "half_life_s": sc.GA68_HALF_LIFE_S,
                "decay_factor": decay,
                "bq_per_ml_per_suv": sc.bqml_per_suv(),
                "decay_correction": "START",
            },
        },
        "recist_case": _recist_case(),
        "series": [
            {
                "folder": r.folder,
                "modality": r.modality,
                "description": r.description,
                "study_instance_uid": r.study_instance_uid,
                "series_instance_uid": r.series_instance_uid,
                "frame_of_reference_uid": r.frame_of_reference_uid,
                "n_files": r.n_files,
                "timepoint": r.timepoint,
            }
            for r in records
        ],
    }


def _recist_case() -> dict[str, Any]:
    """The true measurements in the input format of ``namecar-viewer recist`` (issue 5)."""
    return {
        "lesions": [
            {
                "id": les.id,
                "kind": les.role,
                "organ": les.organ,
                "is_lymph_node": les.is_lymph_node,
                "is_primary_renal": les.is_primary_renal,
            }
            for les in sc.LESIONS
        ],
        "imaging": {"slice_thickness_mm": CT_SLICE_MM},
        "timepoints": [
            {
                "label": tp.label,
                "date": tp.date.isoformat(),
                "target_measurements_mm": {
                    les.id: les.sizes[tp.label][1 if les.is_lymph_node else 0]
                    for les in sc.LESIONS
                    if les.role == "target"
                },
                "non_target_status": {
                    les.id: "present" for les in sc.LESIONS if les.role != "target"
                },
                "new_lesions": "none",
            }
            for tp in sc.CT_TIMEPOINTS
        ],
    }


def _dump_json(obj: Any) -> str:
    """Indented JSON with arrays of numbers kept on one line (centres, transform rows)."""
    text = json.dumps(obj, indent=1)

    def one_line(m: re.Match[str]) -> str:
        return "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]"

    return re.sub(r"\[\s+([-+0-9.eE,\s]+?)\s+\]", one_line, text) + "\n"


def write_demo_patient(
    out_dir: str | Path, *, size: str = "full", progress: DemoProgress | None = None
) -> DemoManifest:
    """Write the demo patient's DICOM series and ``ground_truth.json`` into ``out_dir``.

    Series folders this generator owns are replaced; other files in ``out_dir`` are left alone.
    ``progress`` is called after each file written.  The completeness marker beside the folder
    is removed first (see ``ensure_demo_patient``), so a demo interrupted here is not complete.
    """
    if size not in SIZES:
        raise ValueError(f'Argument "size" must be one of {sorted(SIZES)}, got {size!r}.')
    spec = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    complete_marker(out).unlink(missing_ok=True)
    t0 = time.perf_counter()
    total = expected_files(size)
    done = 0

    def tick(folder: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, folder)

    records = [_write_ct(out, spec, n, tp, tick) for n, tp in enumerate(sc.CT_TIMEPOINTS)]
    records += _write_mr(out, spec, tick)
    records.append(_write_pet(out, spec, tick))
    gt = _ground_truth(spec, size, records)
    gt_path = out / GROUND_TRUTH_FILE
    tmp = gt_path.with_suffix(".json.tmp")
    tmp.write_text(_dump_json(gt), encoding="utf-8")
    tmp.replace(gt_path)
    return DemoManifest(out, gt_path, tuple(records), size, time.perf_counter() - t0)


def complete_marker(out_dir: str | Path) -> Path:
    """The file beside the demo folder that says the demo in it was written to the end."""
    out = Path(out_dir)
    return out.with_name(out.name + COMPLETE_SUFFIX)


def read_demo_manifest(out_dir: str | Path) -> DemoManifest | None:
    """What the complete demo patient in ``out_dir`` holds, or None when it is not complete.

    Complete: the marker beside the folder (written by ``ensure_demo_patient`` and by the app's
    ``--demo``), ``ground_truth.json``, and every series folder it lists with all its files.
    """
    out = Path(out_dir)
    gt_path = out / GROUND_TRUTH_FILE
    if not complete_marker(out).is_file() or not gt_path.is_file():
        return None
    try:
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
        records = tuple(
            SeriesRecord(
                s["folder"],
                s["modality"],
                s["description"],
                s["study_instance_uid"],
                s["series_instance_uid"],
                s["frame_of_reference_uid"],
                int(s["n_files"]),
                s["timepoint"],
            )
            for s in gt["series"]
        )
        size = str(gt["size"])
        for r in records:
            if sum(1 for p in (out / r.folder).iterdir() if p.suffix == ".dcm") != r.n_files:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if size not in SIZES or sum(r.n_files for r in records) != expected_files(size):
        return None
    return DemoManifest(out, gt_path, records, size, 0.0)


def ensure_demo_patient(
    out_dir: str | Path,
    *,
    size: str = "full",
    force: bool = False,
    progress: DemoProgress | None = None,
) -> tuple[DemoManifest, bool]:
    """Write the demo patient into ``out_dir`` unless a complete one of ``size`` is there.

    Returns the manifest and whether it was written (False: the existing demo was kept).
    ``force`` writes it again in any case.
    """
    if not force:
        kept = read_demo_manifest(out_dir)
        if kept is not None and kept.size == size:
            return kept, False
    manifest = write_demo_patient(out_dir, size=size, progress=progress)
    complete_marker(manifest.out_dir).write_text(f"ok\nsize {size}\n", encoding="utf-8")
    return manifest, True
