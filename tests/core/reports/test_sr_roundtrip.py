"""TID 1500 SR export of a read: round trip, dciodvfy, dsrdump, highdicom, blinding, bad input.

Expected values come from the phantom's ground truth (sizes, centres) and the RECIST sums it
states (baseline 168 mm, fu09m 99 mm, +22.2 % from the nadir 81 mm), not from the exporter.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest

from namecar_viewer.core.measure.record import ImageRef, Measurement, MeasurementKind
from namecar_viewer.core.reads import LesionMeasurement, LesionStatus, Read
from namecar_viewer.core.reports.sources import HeaderIndex
from namecar_viewer.core.reports.sr_export import (
    PetUptake,
    SrExportError,
    read_to_sr,
    tracking_uid,
    write_sr,
)
from namecar_viewer.core.reports.sr_import import import_sr_file, sr_to_read
from testsupport import require_tool


class _Blinded:
    enabled = True

    def subject(self, subject_id: str) -> str:
        return "Subject XYZ123"


def _assert_same_read(a: Read, b: Read) -> None:
    assert b.uid == a.uid
    assert b.patient_id == a.patient_id
    assert b.reader == a.reader
    assert b.lesions == a.lesions
    assert b.timepoints == a.timepoints
    assert dict(b.statuses) == dict(a.statuses)
    assert len(b.measurements) == len(a.measurements)
    got = {lm.uid: lm for lm in b.measurements}
    for lm in a.measurements:
        other = got[lm.uid]
        assert (other.lesion_uid, other.timepoint_uid) == (lm.lesion_uid, lm.timepoint_uid)
        # Points to 1e-4 mm (SCOORD3D is FL: float32 of values ~100 mm is ~1e-5 mm).
        assert np.max(np.abs(other.measurement.array - lm.measurement.array)) < 1e-4
        assert (
            dataclasses.replace(other.measurement, points=lm.measurement.points) == lm.measurement
        )


@pytest.fixture(scope="module")
def demo_sr(
    tmp_path_factory: pytest.TempPathFactory, demo_read: Read, demo_headers: HeaderIndex
) -> Path:
    export = read_to_sr(demo_read, demo_headers)
    assert export.warnings == []
    out = tmp_path_factory.mktemp("sr") / "demo_read_sr.dcm"
    write_sr(export, out)
    return out


def test_round_trip_gives_the_same_read(demo_sr: Path, demo_read: Read) -> None:
    imported = import_sr_file(demo_sr)
    _assert_same_read(demo_read, imported.read)
    assert imported.not_imported == []


def test_demo_read_geometry_matches_ground_truth(
    demo_read: Read, ground_truth: dict[str, Any]
) -> None:
    gt = {les["id"]: les for les in ground_truth["lesions"]}
    tps = {tp.uid: tp.label for tp in demo_read.timepoints}
    labels = {les.uid: les.label for les in demo_read.lesions}
    assert len(demo_read.measurements) == 5 * 5  # T1-T5 at 5 CT timepoints
    for lm in demo_read.measurements:
        want = gt[labels[lm.lesion_uid or ""]]["ct"][tps[lm.timepoint_uid or ""]]
        m = lm.measurement
        assert m.long_axis_mm == pytest.approx(want["long_axis_mm"], abs=1e-9)
        assert m.short_axis_mm == pytest.approx(want["short_axis_mm"], abs=1e-9)
        assert np.allclose(m.array[:2].mean(axis=0), want["centre_mm"], atol=1e-9)


def test_dciodvfy_reports_no_error(demo_sr: Path) -> None:
    exe = require_tool("dciodvfy", "dicom3tools")
    proc = subprocess.run([exe, str(demo_sr)], capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    errors = [ln for ln in out.splitlines() if ln.startswith("Error")]
    assert errors == [], out
    # The only warning is dciodvfy not knowing our private scheme, which the SR declares.
    others = [ln for ln in out.splitlines() if ln.startswith("Warning") and "99NAMECAR" not in ln]
    assert others == [], out


def test_dsrdump_reads_it(demo_sr: Path) -> None:
    exe = require_tool("dsrdump", "dcmtk")
    proc = subprocess.run([exe, str(demo_sr)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "Imaging Measurement Report" in text
    assert text.count('"Measurement Group"') == 25 + 5 + 5  # T1-T5 x 5, NT1 x 5, 5 responses
    assert '(126081,DCM,"RECIST 1.1")' in text
    assert '(112074,DCM,"Target Lesion at Baseline")' in text
    assert '(112075,DCM,"Non-Target Lesion at Baseline")' in text
    assert '(64033007,SCT,"Kidney")' in text and '(10200004,SCT,"Liver")' in text


def test_highdicom_parses_it(demo_sr: Path, demo_read: Read) -> None:
    sr = hd.sr.srread(demo_sr)
    t1 = next(les for les in demo_read.lesions if les.label == "T1")
    groups = sr.content.get_image_measurement_groups(tracking_uid=tracking_uid(t1.uid))
    # One group per timepoint, the same tracking UID on each.
    assert len(groups) == 5
    assert {g.tracking_identifier for g in groups} == {"T1"}
    names = [m.name.meaning for m in groups[0].get_measurements()]
    assert "Long axis" in names and "Short axis" in names
    long_axis = next(m for m in groups[0].get_measurements() if m.name.meaning == "Long axis")
    assert long_axis.value == pytest.approx(60.0)  # T1 baseline long axis (ground truth)
    assert long_axis.unit.value == "mm"


def test_responses_in_the_sr(demo_sr: Path) -> None:
    responses = import_sr_file(demo_sr).responses
    # Ground truth scenario: PR at inclusion (metastatic -77.8 %, eligible), PD at 9 months with
    # sum 99 mm, +22.2 % from the nadir 81 mm.
    assert responses["inclusion"]["Response Evaluation"] == "PR"
    assert responses["inclusion"]["NAMECAR eligibility (CR or metastatic PR > 75%)"] == "yes"
    assert responses["fu09m"]["Response Evaluation"] == "PD"
    assert responses["fu09m"]["Target lesion response"] == "PD"
    assert responses["fu09m"]["Sum of diameters"] == pytest.approx(99.0)
    assert responses["fu09m"]["Percent change from nadir"] == pytest.approx((99 - 81) / 81 * 100)


def test_scoord_on_the_source_image_is_right(
    demo_sr: Path, demo_read: Read, demo_headers: HeaderIndex
) -> None:
    """The 2D coordinates put the long axis where the pixel grid says (PS3.3 C.18.6.1.1)."""
    ds = pydicom.dcmread(demo_sr)
    lm = demo_read.measurements[0]
    h = demo_headers(lm.measurement.images[0].sop_instance_uid)
    assert h is not None
    found = []

    def walk(items: Any) -> None:
        for it in items:
            if it.ValueType == "SCOORD":
                img = it.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID
                if img == h.SOPInstanceUID:
                    found.append(np.asarray(it.GraphicData, dtype=float).reshape(-1, 2))
            if "ContentSequence" in it:
                walk(it.ContentSequence)

    walk(ds.ContentSequence)
    # Long axis endpoint: LPS x = centre - 30 mm; column = (x - x0)/spacing + 0.5.
    p0 = lm.measurement.points[0]
    x0, y0 = float(h.ImagePositionPatient[0]), float(h.ImagePositionPatient[1])
    sp = float(h.PixelSpacing[0])
    want = ((p0[0] - x0) / sp + 0.5, (p0[1] - y0) / sp + 0.5)
    assert any(np.allclose(f[0], want, atol=1e-4) for f in found)


def test_blinded_sr_hides_identifiers(
    demo_read: Read, demo_headers: HeaderIndex, tmp_path: Path
) -> None:
    export = read_to_sr(demo_read, demo_headers, blinding=_Blinded())
    out = tmp_path / "blinded.dcm"
    write_sr(export, out)
    raw = out.read_bytes()
    for value in (b"NAMECAR^DEMO", b"19630412", b"NCDEMO0001", b"NCDEMO0005", b"Demo site"):
        assert value not in raw, value
    for tp in demo_read.timepoints:
        assert tp.date is not None
        assert tp.date.strftime("%Y%m%d").encode() not in raw
    ds = pydicom.dcmread(out)
    assert str(ds.PatientName) == "Subject XYZ123" and ds.PatientID == "Subject XYZ123"
    kws = {e.keyword for e in ds.iterall()}
    assert "InstitutionName" not in kws and "SeriesDate" not in kws
    assert ds.get("PatientBirthDate", "") == "" and ds.get("StudyDate", "") == ""
    # Timepoints survive as labels and days from baseline; dates are unknown after import.
    back = sr_to_read(ds).read
    assert [tp.label for tp in back.timepoints] == [
        tp.label for tp in demo_read.ordered_timepoints()
    ]
    assert all(tp.date is None for tp in back.timepoints)
    dciodvfy = require_tool("dciodvfy", "dicom3tools")
    proc = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True, check=False)
    assert not [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("Error")]


def test_lesion_statuses_splits_and_pet_round_trip(
    demo_read: Read, demo_headers: HeaderIndex, tmp_path: Path
) -> None:
    """Statuses, a split lesion's two fragments, a PET sphere VOI with SUVbw values."""
    t2 = next(les for les in demo_read.lesions if les.label == "T2")
    tps = {tp.label: tp for tp in demo_read.timepoints}
    fu06 = tps["fu06m"]
    read = demo_read.with_status(t2.uid, fu06.uid, LesionStatus.SPLIT)
    base = next(
        lm for lm in read.measurements if lm.lesion_uid == t2.uid and lm.timepoint_uid == fu06.uid
    )
    p = base.measurement.array
    fragment = Measurement.create(
        MeasurementKind.LINE,
        [p[0] + [0, 10, 0], p[1] + [0, 10, 0]],
        images=base.measurement.images,
        frame_of_reference_uid=base.measurement.frame_of_reference_uid,
        series_instance_uid=base.measurement.series_instance_uid,
        study_instance_uid=base.measurement.study_instance_uid,
        plane=base.measurement.plane,
        label="T2b",
    )
    read = read.with_measurement(LesionMeasurement(fragment, t2.uid, fu06.uid))
    sphere = Measurement.create(
        MeasurementKind.SPHERE,
        [(10.0, 20.0, 30.0), (13.0, 24.0, 30.0)],  # radius 5 mm
        images=(ImageRef(base.measurement.images[0].sop_instance_uid),),
        frame_of_reference_uid=base.measurement.frame_of_reference_uid,
        series_instance_uid=base.measurement.series_instance_uid,
        study_instance_uid=base.measurement.study_instance_uid,
        plane=base.measurement.plane,
    )
    read = read.with_measurement(LesionMeasurement(sphere, t2.uid, tps["inclusion"].uid))
    uptake = [PetUptake(t2.uid, tps["inclusion"].uid, suv_max=11.5, suv_mean=8.25, suv_peak=10.0)]
    export = read_to_sr(read, demo_headers, pet_uptake=uptake)
    out = tmp_path / "sr.dcm"
    write_sr(export, out)
    imported = import_sr_file(out)
    _assert_same_read(read, imported.read)
    assert imported.pet_uptake == uptake
    dsrdump = require_tool("dsrdump", "dcmtk")
    text = subprocess.run([dsrdump, str(out)], capture_output=True, text=True, check=True).stdout
    assert '({SUVbw}g/ml,UCUM,"Standardized Uptake Value body weight")' in text
    assert '(126031,DCM,"Peak Value Within ROI")' in text
    # 4/3 pi 5^3 mm3 = 523.599 mm3 = 0.523599 ml
    assert 'NUM:(,,"Volume")="0.523598' in text


def test_tracking_uid_is_stable_and_valid() -> None:
    assert tracking_uid("2.25.42") == "2.25.42"
    derived = tracking_uid("lesion one")
    assert derived == tracking_uid("lesion one")
    assert derived.startswith("2.25.") and len(derived) <= 64


def test_no_headers_is_a_clear_error(demo_read: Read) -> None:
    with pytest.raises(SrExportError, match="source images"):
        read_to_sr(demo_read, lambda uid: None)


def test_dcmqi_pet_report_is_imported_as_far_as_it_goes(real_data: Path) -> None:
    """dcmqi's QIN-HEADNECK report: one lesion "primary tumor", SUVbw values read by hand with
    dsrdump: mean 6.01529, max 10.3814, peak 9.45534; Volume 33.5824 ml; TLG 202.008 g."""
    imported = import_sr_file(real_data / "dcmqi" / "sr-example" / "sr.dcm")
    (lesion,) = imported.read.lesions
    assert lesion.label == "primary tumor"
    assert lesion.uid == "2.25.318774060119084600392715520575818119084"  # its Tracking UID
    assert [tp.label for tp in imported.read.timepoints] == ["1"]
    (u,) = imported.pet_uptake
    assert (u.suv_max, u.suv_mean, u.suv_peak) == (10.3814, 6.01529, 9.45534)
    (g,) = imported.groups
    assert g.finding == "Neoplasm, Primary"
    assert g.finding_site == "pharyngeal tonsil (adenoid)"
    values = {(v.name, v.derivation): v.value for v in g.values}
    assert values[("Volume", "")] == 33.5824
    assert values[("Total Lesion Glycolysis", "")] == 202.008
    assert values[("SUVbw", "Minimum")] == 2.91136
    assert len(g.values) == 22  # every NUM of the group (counted in the dsrdump listing)
    listed = "\n".join(imported.not_imported)
    # What the read cannot hold is listed, not dropped.
    for text in (
        "pharyngeal tonsil",
        "Referenced Segment",
        "Real World Value Map",
        "Volume = 33.5824 ml",
        "Total Lesion Glycolysis = 202.008 g",
        "SUVbw (Minimum) = 2.91136",
        "Activity Session",
    ):
        assert text in listed, text
