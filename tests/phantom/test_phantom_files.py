"""The demo patient's files: layout, UIDs, DWI b-values, dynamic temporal positions, determinism."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import pytest
from phantom_helpers import read_series

from namecar_viewer.phantom.demo import write_demo_patient

# Small size: CT 84 slices x 5 timepoints, MR 30 positions (T2 30, DWI 2 x 30, DYN 6 x 30), PET 56.
EXPECTED_FILES = {
    "CT_2025-01-15_baseline": 84,
    "CT_2025-07-10_inclusion": 84,
    "CT_2025-10-09_fu03m": 84,
    "CT_2026-01-08_fu06m": 84,
    "CT_2026-04-09_fu09m": 84,
    "MR_2025-07-22_T2_TSE_AX": 30,
    "MR_2025-07-22_DWI_b0_b800": 60,
    "MR_2025-07-22_DYN_T1": 180,
    "PT_2025-07-24_PSMA_Ga68": 56,
}


def _headers(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(folder.glob("*.dcm"))]


def test_layout_and_file_counts(small_demo, ground_truth):
    folders = sorted(p.name for p in small_demo.iterdir() if p.is_dir())
    assert folders == sorted(EXPECTED_FILES)
    for name, n in EXPECTED_FILES.items():
        assert len(list((small_demo / name).glob("IMG*.dcm"))) == n, name
    assert {s["folder"]: s["n_files"] for s in ground_truth["series"]} == EXPECTED_FILES
    # Folder names carry no patient data.
    assert not any("NAMECAR" in f or "DEMO" in f for f in folders)


def test_uids_unique_and_studies_separate(small_demo):
    sops, series_uids, study_of_series, frame_of_study = [], set(), {}, defaultdict(set)
    sop_classes = defaultdict(set)
    for folder in sorted(p for p in small_demo.iterdir() if p.is_dir()):
        for ds in _headers(folder):
            sops.append(ds.SOPInstanceUID)
            assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
            series_uids.add(ds.SeriesInstanceUID)
            study_of_series.setdefault(ds.SeriesInstanceUID, set()).add(ds.StudyInstanceUID)
            frame_of_study[ds.StudyInstanceUID].add(ds.FrameOfReferenceUID)
            sop_classes[ds.Modality].add(ds.SOPClassUID)
            assert ds.PatientName == "NAMECAR^DEMO"
            assert ds.ClinicalTrialSubjectID == "NAMECAR-001"
    assert len(sops) == sum(EXPECTED_FILES.values()) == len(set(sops))
    for uid in [*sops, *series_uids]:
        assert pydicom.uid.UID(uid).is_valid
    assert len(series_uids) == 9
    assert all(len(v) == 1 for v in study_of_series.values())
    # 5 CT studies + 1 MR + 1 PET, each with its own frame of reference.
    assert len(frame_of_study) == 7
    frames = [next(iter(v)) for v in frame_of_study.values()]
    assert all(len(v) == 1 for v in frame_of_study.values()) and len(set(frames)) == 7
    assert sop_classes == {
        "CT": {"1.2.840.10008.5.1.4.1.1.2"},
        "MR": {"1.2.840.10008.5.1.4.1.1.4"},
        "PT": {"1.2.840.10008.5.1.4.1.1.128"},
    }


def test_ct_geometry_and_dates(small_demo, ground_truth):
    dates = []
    for tp in ground_truth["ct_timepoints"]:
        hs = _headers(small_demo / tp["folder"])
        z = sorted(float(h.ImagePositionPatient[2]) for h in hs)
        # Contiguous 2.5 mm slices of 2.5 mm thickness.
        assert np.allclose(np.diff(z), 2.5)
        assert {float(h.SliceThickness) for h in hs} == {2.5}
        assert hs[0].StudyDate == tp["date"].replace("-", "")
        dates.append(dt.date.fromisoformat(tp["date"]))
    assert dates == sorted(dates)
    # Inclusion is ~6 months after baseline, follow-ups ~3, 6, 9 months after inclusion.
    assert [(d - dates[1]).days for d in dates[2:]] == [91, 182, 273]


def test_dwi_holds_two_b_values_at_the_same_positions(small_demo):
    hs = _headers(small_demo / "MR_2025-07-22_DWI_b0_b800")
    by_b = defaultdict(list)
    for h in hs:
        by_b[float(h[0x0018, 0x9087].value)].append(tuple(float(v) for v in h.ImagePositionPatient))
    assert sorted(by_b) == [0.0, 800.0]
    assert sorted(by_b[0.0]) == sorted(by_b[800.0])
    assert len(by_b[0.0]) == len(set(by_b[0.0])) == 30


def test_dwi_signal_decays_with_b(small_demo, ground_truth):
    # Kidney tumour: S0 380, ADC 1.1e-3 mm^2/s -> S(800) = 380 * exp(-0.88) = 157.6.
    ds = read_series(small_demo / "MR_2025-07-22_DWI_b0_b800")
    c = ground_truth["lesions"][0]["mri"]["centre_mm"]
    vals = {}
    for d in ds:
        if abs(float(d.ImagePositionPatient[2]) - c[2]) < 1e-3:
            ps = float(d.PixelSpacing[0])
            i = round((c[0] - float(d.ImagePositionPatient[0])) / ps)
            j = round((c[1] - float(d.ImagePositionPatient[1])) / ps)
            vals[float(d.DiffusionBValue)] = float(
                d.pixel_array[j - 1 : j + 2, i - 1 : i + 2].mean()
            )
    assert abs(vals[0.0] - 380) < 15
    assert abs(vals[800.0] - 157.6) < 15


def test_dynamic_series_temporal_positions(small_demo, ground_truth):
    ds = read_series(small_demo / "MR_2025-07-22_DYN_T1")
    by_t = defaultdict(list)
    for d in ds:
        assert int(d.NumberOfTemporalPositions) == 6
        by_t[int(d.TemporalPositionIdentifier)].append(d)
    assert sorted(by_t) == [1, 2, 3, 4, 5, 6]
    positions = [sorted(float(d.ImagePositionPatient[2]) for d in v) for v in by_t.values()]
    assert all(p == positions[0] for p in positions) and len(positions[0]) == 30
    times = [dt.datetime.strptime(by_t[t][0].AcquisitionTime.split(".")[0], "%H%M%S") for t in by_t]
    assert [(t - times[0]).total_seconds() for t in times] == [0, 20, 35, 60, 100, 180]
    # Left kidney cortex, body (92, 50, -60) -> MRI (+2, -3, +10) = (94, 47, -50): pre 220;
    # at 35 s the cortex (peak 28 s, plateau 0.55) is at 0.55 + 0.45 * (35/28)^2 e^(2(1-35/28))
    # = 0.977 of its 600 gain -> 220 + 586 = 806.
    shift = ground_truth["mri"]["patient_shift_mm"]
    p = (92 + shift[0], 50 + shift[1], -60 + shift[2])

    def signal(d):
        ps = float(d.PixelSpacing[0])
        i = round((p[0] - float(d.ImagePositionPatient[0])) / ps)
        j = round((p[1] - float(d.ImagePositionPatient[1])) / ps)
        return float(d.pixel_array[j - 1 : j + 2, i - 1 : i + 2].mean())

    at = {
        t: next(d for d in v if abs(float(d.ImagePositionPatient[2]) - p[2]) < 1e-3)
        for t, v in by_t.items()
    }
    assert abs(signal(at[1]) - 220) < 25
    assert abs(signal(at[3]) - 806) < 40


def test_rerun_writes_identical_uids_and_pixels(small_demo, tmp_path):
    write_demo_patient(tmp_path, size="small")
    for name in ("CT_2025-07-10_inclusion", "PT_2025-07-24_PSMA_Ga68"):
        for f in ("IMG0001.dcm", "IMG0040.dcm"):
            a = pydicom.dcmread(small_demo / name / f)
            b = pydicom.dcmread(tmp_path / name / f)
            assert a.SOPInstanceUID == b.SOPInstanceUID
            assert a.StudyInstanceUID == b.StudyInstanceUID
            assert a.PixelData == b.PixelData


def test_ground_truth_scenario_numbers(ground_truth):
    by_label = {t["label"]: t for t in ground_truth["ct_timepoints"]}
    # Targets (long axis; short axis for the node T5):
    # baseline  T1 60 + T2 30 + T3 20 + T4 40 + T5 18 = 168; metastatic (no T1) 108.
    # inclusion T1 60 + 6 + 4 + 7 + 7 = 84; metastatic 24 -> (24 - 108) / 108 = -77.78 %.
    # fu06m 60 + 5 + 4 + 6 + 6 = 81 (nadir); fu09m 60 + 5 + 4 + 24 + 6 = 99 = +18 mm, +22.2 %.
    assert (
        by_label["baseline"]["sum_mm"] == 168 and by_label["baseline"]["metastatic_sum_mm"] == 108
    )
    assert by_label["inclusion"]["metastatic_sum_mm"] == 24
    assert by_label["inclusion"]["metastatic_pct_change_from_baseline"] == pytest.approx(-77.7778)
    assert by_label["fu06m"]["sum_mm"] == 81 and by_label["fu09m"]["sum_mm"] == 99
    lesions = {les["id"]: les for les in ground_truth["lesions"]}
    assert lesions["T1"]["is_primary_renal"] and not lesions["T2"]["is_primary_renal"]
    assert lesions["T5"]["is_lymph_node"] and lesions["T5"]["ct"]["baseline"]["short_axis_mm"] == 18
    assert lesions["T5"]["ct"]["inclusion"]["short_axis_mm"] < 10
    assert lesions["NT1"]["role"] == "non_target" and lesions["NT1"]["organ"] == "bone"
    # Patient shifts are applied to the centres: study = body + shift.
    base = lesions["T4"]["ct"]["baseline"]["centre_mm"]
    incl = lesions["T4"]["ct"]["inclusion"]["centre_mm"]
    assert np.allclose(np.subtract(incl, base), by_label["inclusion"]["patient_shift_mm"])
    case = ground_truth["recist_case"]
    assert case["timepoints"][1]["target_measurements_mm"] == {
        "T1": 60,
        "T2": 6,
        "T3": 4,
        "T4": 7,
        "T5": 7,
    }
