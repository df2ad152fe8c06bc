"""De-identification: the PS3.15 Basic Profile table, options, stored mapping, SUV kept."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from checks import leaked, private_tags, walk
from pydicom.dataset import Dataset

from namecar_viewer.core.suv import compute_suv_factors
from namecar_viewer.deid import (
    PATIENT_CHARACTERISTICS,
    PROFILE,
    Deidentifier,
    DeidError,
    DeidMapping,
    DeidOptions,
    deidentify_files,
)
from namecar_viewer.deid.engine import clean_text, shift_da_tm, shift_dt, shift_tm


def _series(small_demo: Path, prefix: str) -> list[Path]:
    (d,) = [p for p in small_demo.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    return sorted(d.glob("*.dcm"))


@pytest.fixture
def mapping(tmp_path: Path) -> DeidMapping:
    m = DeidMapping(tmp_path / "map.sqlite")
    yield m
    m.close()


def test_profile_table_holds_the_standard_actions() -> None:
    from pydicom.datadict import tag_for_keyword as t

    # a sample of Table E.1-1 rows, read from PS3.15 (2024b)
    expected = {
        "PatientName": "Z",
        "PatientID": "Z/D",
        "PatientBirthDate": "Z",
        "PatientSex": "Z",
        "PatientAge": "X",
        "PatientWeight": "X",
        "PatientSize": "X",
        "AccessionNumber": "Z",
        "StudyInstanceUID": "U",
        "SeriesInstanceUID": "U",
        "SOPInstanceUID": "U",
        "FrameOfReferenceUID": "U",
        "ReferencedSOPInstanceUID": "U",
        "InstitutionName": "X/Z/D",
        "ReferringPhysicianName": "Z",
        "StudyDate": "Z",
        "SeriesDate": "X/D",
        "AcquisitionDate": "X/Z",
        "ContentDate": "Z/D",
        "RadiopharmaceuticalStartDateTime": "X",
        "ClinicalTrialSubjectID": "D",
        "SeriesDescription": "X",
        "ReferencedImageSequence": "X/Z/U*",
        "OtherPatientIDsSequence": "X",
    }
    assert {k: PROFILE[t(k)] for k in expected} == expected
    assert len(PROFILE) > 600


def test_time_shifting_by_hand() -> None:
    off = dt.timedelta(days=-400, seconds=-3 * 3600 - 61)  # -400 d -3 h -1 min -1 s
    # 2025-07-24 10:02:00 - 400 d = 2024-06-19 10:02:00; -3:01:01 -> 07:00:59
    assert shift_da_tm("20250724", "100200", off) == ("20240619", "070059")
    assert shift_dt("20250724100200", off) == "20240619070059"
    assert shift_dt("20250724100200.123+0200", off) == "20240619070059.123+0200"
    # across midnight: 01:00 - 3:01:01 = 21:58:59 the day before (time alone wraps)
    assert shift_da_tm("20250724", "0100", off) == ("20240618", "2158")
    assert shift_tm("010000.5", off) == "215859.5"


def test_demo_pet_profile_applied(small_demo: Path, mapping: DeidMapping) -> None:
    opts = DeidOptions(clean_descriptors=False)
    deid = Deidentifier(mapping, opts)
    for path in _series(small_demo, "PT_")[:3]:
        orig = pydicom.dcmread(path)
        res = deid.deidentify(orig, "NC-0042")
        out = res.dataset
        problems = leaked(orig, out, set(PATIENT_CHARACTERISTICS))
        assert problems == []
        for kw in PATIENT_CHARACTERISTICS:  # kept by Retain Patient Characteristics
            assert out[kw].value == orig[kw].value
        assert out.PatientName == "NC-0042" and out.PatientID == "NC-0042"
        assert out.ClinicalTrialSubjectID == "NC-0042"
        assert out.PatientIdentityRemoved == "YES"
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = [c.CodeValue for c in out.DeidentificationMethodCodeSequence]
        assert codes[0] == "113100" and {"113107", "113108"} <= set(codes)
        assert all(
            c.CodingSchemeDesignator == "DCM" for c in out.DeidentificationMethodCodeSequence
        )
        assert "PatientBirthDate" not in out or out.PatientBirthDate == ""
        assert "InstitutionName" not in out or out.InstitutionName == ""
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        assert out.SOPInstanceUID.startswith("2.25.")
        np.testing.assert_array_equal(out.pixel_array, orig.pixel_array)


def test_suv_unchanged_after_date_shift(small_demo: Path, mapping: DeidMapping) -> None:
    paths = _series(small_demo, "PT_")
    originals = [pydicom.dcmread(p) for p in paths]
    deid = Deidentifier(mapping)
    copies = [deid.deidentify(ds, "NC-0042").dataset for ds in originals]
    a = compute_suv_factors(originals)
    b = compute_suv_factors(copies)
    assert a.warnings == b.warnings
    fa = [a.instance_factors[str(ds.SOPInstanceUID)].bw for ds in originals]
    fb = [b.instance_factors[str(ds.SOPInstanceUID)].bw for ds in copies]
    assert fa == pytest.approx(fb, rel=1e-12)
    # the inputs moved by the offset but the uptake interval did not
    ra = originals[0].RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime
    rb = copies[0].RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime
    assert ra != rb

    def uptake(ds: Dataset) -> float:
        inj = dt.datetime.strptime(
            ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime[:14],
            "%Y%m%d%H%M%S",
        )
        ser = dt.datetime.strptime(ds.SeriesDate + ds.SeriesTime[:6], "%Y%m%d%H%M%S")
        return (ser - inj).total_seconds()

    assert uptake(originals[0]) == uptake(copies[0]) == 3750.0  # 10:02:00 -> 11:04:30
    # SUVmax of the series (stored value x slope x factor) is the same
    suv_a = max(
        float(ds.pixel_array.max()) * float(ds.RescaleSlope) * f
        for ds, f in zip(originals, fa, strict=True)
    )
    suv_b = max(
        float(ds.pixel_array.max()) * float(ds.RescaleSlope) * f
        for ds, f in zip(copies, fb, strict=True)
    )
    assert suv_a == pytest.approx(suv_b, rel=1e-12)


def test_mapping_is_consistent_across_studies_and_runs(small_demo: Path, tmp_path: Path) -> None:
    base = pydicom.dcmread(_series(small_demo, "CT_2025-01-15")[0])
    fu = pydicom.dcmread(_series(small_demo, "CT_2026-04-09")[0])
    db = tmp_path / "map.sqlite"
    m1 = DeidMapping(db)
    d1 = Deidentifier(m1)
    b1, f1 = d1.deidentify(base, "NC-7").dataset, d1.deidentify(fu, None).dataset
    m1.close()
    m2 = DeidMapping(db)  # a later session: same key
    b2 = Deidentifier(m2).deidentify(base).dataset
    m2.close()
    assert b1.StudyInstanceUID == b2.StudyInstanceUID != base.StudyInstanceUID
    assert b1.SOPInstanceUID == b2.SOPInstanceUID
    assert f1.PatientID == "NC-7"  # the follow-up found the subject by PatientID
    assert b1.StudyDate == b2.StudyDate != base.StudyDate
    days = lambda s: dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))  # noqa: E731
    # 2025-01-15 -> 2026-04-09 is 449 days, before and after
    assert (days(fu.StudyDate) - days(base.StudyDate)).days == 449
    assert (days(f1.StudyDate) - days(b1.StudyDate)).days == 449
    # the same frame of reference UID maps to the same new UID in both studies when shared
    assert b1.FrameOfReferenceUID == b2.FrameOfReferenceUID


def test_subject_id_conflicts_are_refused(small_demo: Path, mapping: DeidMapping) -> None:
    ds = pydicom.dcmread(_series(small_demo, "PT_")[0], stop_before_pixels=True)
    d = Deidentifier(mapping)
    with pytest.raises(DeidError, match="no trial subject ID"):
        d.deidentify(ds)
    d.deidentify(ds, "NC-1")
    with pytest.raises(DeidError, match="already mapped to trial subject ID 'NC-1'"):
        d.deidentify(ds, "NC-2")
    other = pydicom.dcmread(_series(small_demo, "PT_")[0], stop_before_pixels=True)
    other.PatientID = "SOMEONE-ELSE"
    with pytest.raises(DeidError, match="already belongs to another patient"):
        d.deidentify(other, "NC-1")


def test_clean_descriptors_removes_identifiers_and_dates(
    small_demo: Path, mapping: DeidMapping
) -> None:
    ds = pydicom.dcmread(_series(small_demo, "PT_")[0], stop_before_pixels=True)
    ds.SeriesDescription = "PET PSMA NAMECAR DEMO 24.07.2025 id NAMECAR-001"
    out = Deidentifier(mapping).deidentify(ds, "NC-3").dataset
    # "NAMECAR DEMO" is the institution name (one *), the date and the patient ID follow
    assert out.SeriesDescription == "PET PSMA * * id *"
    assert out.StudyDescription == "PET PSMA Ga-68 WHOLE BODY"  # nothing identifying in it
    plain = Deidentifier(mapping, DeidOptions(clean_descriptors=False)).deidentify(ds).dataset
    assert "SeriesDescription" not in plain  # Basic Profile: X
    assert clean_text("CT 2025-01-15 abdomen", []) == "CT * abdomen"


def _with_private(ds: Dataset) -> Dataset:
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    block.add_new(0x00, "DS", "0.000123")  # SUV scale factor
    block.add_new(0x09, "DS", "1.5")  # activity concentration scale factor
    other = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    other.add_new(0x10, "OB", b"secret")
    return ds


def test_private_tags_removed_except_philips_suv_on_request(
    small_demo: Path, mapping: DeidMapping
) -> None:
    ds = _with_private(pydicom.dcmread(_series(small_demo, "PT_")[0], stop_before_pixels=True))
    out = Deidentifier(mapping).deidentify(ds, "NC-4").dataset
    assert private_tags(out) == []
    kept = Deidentifier(mapping, DeidOptions(keep_philips_suv_private=True)).deidentify(ds).dataset
    assert sorted(p for p in private_tags(kept)) == ["(7053,0010)", "(7053,1000)", "(7053,1009)"]
    assert kept[0x70531000].value == "0.000123"
    codes = [c.CodeValue for c in kept.DeidentificationMethodCodeSequence]
    assert "113111" in codes


def test_burned_in_annotation_warns(small_demo: Path, mapping: DeidMapping) -> None:
    ds = pydicom.dcmread(_series(small_demo, "PT_")[0], stop_before_pixels=True)
    assert Deidentifier(mapping).deidentify(ds, "NC-5").warnings == []
    ds.BurnedInAnnotation = "YES"
    (w,) = Deidentifier(mapping).deidentify(ds).warnings
    assert "BurnedInAnnotation is YES" in w
    ds.BurnedInAnnotation = "NO"
    ds.Modality = "US"
    (w,) = Deidentifier(mapping).deidentify(ds).warnings
    assert "modality US often has burned-in text" in w


def test_deidentify_files_leaves_originals_untouched(small_demo: Path, tmp_path: Path) -> None:
    paths = _series(small_demo, "PT_")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    m = DeidMapping(tmp_path / "m.sqlite")
    batch = deidentify_files(paths, tmp_path / "out", Deidentifier(m), "NC-9")
    m.close()
    written = batch.written
    assert batch.warnings == batch.failed == batch.skipped == []
    assert len(written) == len(paths) == 56
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths} == before
    got = pydicom.dcmread(written[0], stop_before_pixels=True)
    assert got.PatientID == "NC-9"
    assert all(e.keyword != "PatientBirthDate" or e.value == "" for _p, e, _d in walk(got))


@pytest.mark.parametrize("legacy_seconds", [None, 15 * 3600, 23 * 3600 + 59 * 60])
def test_days_between_studies_are_exact_whatever_the_times(
    small_demo: Path, tmp_path: Path, legacy_seconds: int | None
) -> None:
    """Baseline at 01:00, follow-up at 23:00: 449 days apart, and still 449 days de-identified.

    ``legacy_seconds``: a mapping stored with a part of a day (the first rule) keeps its whole
    days; a new mapping is whole days."""
    base = pydicom.dcmread(_series(small_demo, "CT_2025-01-15")[0], stop_before_pixels=True)
    fu = pydicom.dcmread(_series(small_demo, "CT_2026-04-09")[0], stop_before_pixels=True)
    base.StudyTime, fu.StudyTime = "010000", "230000"
    m = DeidMapping(tmp_path / "map.sqlite")
    if legacy_seconds is not None:
        m._con.execute(
            "INSERT INTO subjects VALUES (?, ?, ?, ?)",
            (
                f"{base.IssuerOfPatientID}|{base.PatientID}",
                "NC-9",
                -(400 * 86400 + legacy_seconds),
                "2026-01-01",
            ),
        )
    d = Deidentifier(m)
    b, f = d.deidentify(base, "NC-9").dataset, d.deidentify(fu, "NC-9").dataset
    m.close()
    days = lambda s: dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))  # noqa: E731
    assert (days(f.StudyDate) - days(b.StudyDate)).days == 449
    assert b.StudyDate != base.StudyDate
    assert (b.StudyTime, f.StudyTime) == ("010000", "230000")  # times of day kept
    if legacy_seconds is not None:  # the stored whole days: 400 back
        assert (days(base.StudyDate) - days(b.StudyDate)).days == 400
