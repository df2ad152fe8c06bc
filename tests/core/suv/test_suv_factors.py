"""SUV factors against values worked by hand from the tags.

Default synthetic header (suv_testdata.make_pet): 80 kg, 200 MBq (2e8 Bq) of Ga-68
(T½ = 4062.6 s = 1 h 07 min 42.6 s) injected at 10:00:00, series at 11:07:42.6, i.e. exactly one
half-life later, so the dose decayed to the scan is 1e8 Bq and
SUVbw factor = 80 kg * 1000 g/kg / 1e8 Bq = 8e-4 g/Bq.
"""

from __future__ import annotations

import datetime as dt
import math

import pydicom
import pytest
from suv_testdata import F18_HALF_LIFE_S, add_philips, make_pet

from namecar_viewer.core.suv import (
    DecayCorrection,
    LbmFormula,
    PetUnits,
    SuvInputError,
    SuvKind,
    SuvOverrides,
    compute_suv_factors,
)
from testsupport import ACRIN_PET

ACRIN = ACRIN_PET
ONE_HALF_LIFE_BW = 8e-4  # 80000 g / (2e8 Bq / 2)


def test_start_bqml_one_half_life() -> None:
    r = compute_suv_factors([make_pet()])
    assert r.units is PetUnits.BQML
    assert r.decay_correction is DecayCorrection.START
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-12)
    assert r.inputs["decay_time_s"].value == pytest.approx(4062.6, abs=1e-6)
    assert r.inputs["patient_weight_kg"].source == "PatientWeight (0010,1030)"
    assert r.inputs["injected_dose_bq"].source == "RadionuclideTotalDose (0018,1074)"
    assert r.inputs["half_life_s"].source == "RadionuclideHalfLife (0018,1075)"
    assert r.inputs["injection_datetime"].source == "RadiopharmaceuticalStartDateTime (0018,1078)"
    assert r.warnings == []


def test_start_f18_half_life_from_header_differs_from_ga68() -> None:
    # Same times with F-18 (T½ 6586.2 s): 4062.6 s is 0.616835 half-lives,
    # 2^-0.616835 = e^(-0.616835 * 0.693147) = e^-0.427558 = 0.670320 * 0.972818 = 0.652099,
    # decayed dose = 2e8 * 0.652099 = 1.304198e8 Bq,
    # factor = 80000 / 1.304198e8 = 6.13404e-4 (vs 8e-4 for Ga-68).
    r = compute_suv_factors([make_pet(RadionuclideHalfLife=str(F18_HALF_LIFE_S))])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(80000 / (2e8 * 2 ** (-4062.6 / 6586.2)), rel=1e-12)
    assert r.factors.bw == pytest.approx(6.13404e-4, rel=1e-5)


def test_admin_needs_no_decay_nor_time() -> None:
    # ADMIN: values already decay-corrected to the injection; factor = W/D = 80000/2e8 = 4e-4,
    # so the injection time is not needed at all.
    r = compute_suv_factors(
        [
            make_pet(
                DecayCorrection="ADMIN",
                RadiopharmaceuticalStartTime=None,
                RadiopharmaceuticalStartDateTime=None,
            )
        ]
    )
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(4e-4, rel=1e-12)
    assert "injection_datetime" not in r.inputs


def test_none_per_instance_with_frame_decay() -> None:
    # NONE: frame 1 starts one half-life after injection, frame 2 two half-lives; each lasts one
    # half-life (4062600 ms).  Activity at frame start = mean * x/(1-e^-x) with x = ln 2, i.e.
    # mean * ln2/(1/2) = mean * 2 ln 2 = mean * 1.386294.
    # Frame 1: 80000/(2e8/2) * 2 ln 2 = 8e-4 * 1.386294 = 1.109035e-3.
    # Frame 2: 80000/(2e8/4) * 2 ln 2 = 1.6e-3 * 1.386294 = 2.218071e-3.
    a = make_pet(
        sop_uid="1.2.3.1",
        DecayCorrection="NONE",
        CorrectedImage=["ATTN"],
        SeriesTime="110742.6",
        AcquisitionTime="110742.6",
        ActualFrameDuration="4062600",
    )
    b = make_pet(
        sop_uid="1.2.3.2",
        DecayCorrection="NONE",
        CorrectedImage=["ATTN"],
        SeriesTime="110742.6",
        AcquisitionTime="121525.2",  # 10:00:00 + 2 * 4062.6 s = 12:15:25.2
        ActualFrameDuration="4062600",
    )
    r = compute_suv_factors([a, b])
    assert not r.is_uniform
    assert r.factors is None
    assert r.factor_for("1.2.3.1") == pytest.approx(8e-4 * 2 * math.log(2), rel=1e-9)
    assert r.factor_for("1.2.3.2") == pytest.approx(1.6e-3 * 2 * math.log(2), rel=1e-9)
    assert r.factor_for("1.2.3.1") == pytest.approx(1.109035e-3, rel=1e-6)
    j = r.to_json()
    assert j["suv_bw_factor"] == {
        "1.2.3.1": r.factor_for("1.2.3.1"),
        "1.2.3.2": r.factor_for("1.2.3.2"),
    }
    assert r.slice_factors(["1.2.3.2", "1.2.3.1"]) == [
        r.factor_for("1.2.3.2"),
        r.factor_for("1.2.3.1"),
    ]


def test_none_falls_back_to_frame_reference_time() -> None:
    # No AcquisitionTime: the pixel values occurred at series time + FrameReferenceTime.
    # Series at the injection (10:00:00) + 4062600 ms = one half-life -> 8e-4, no frame term.
    ds = make_pet(
        DecayCorrection="NONE",
        SeriesTime="100000",
        AcquisitionDate=None,
        AcquisitionTime=None,
        FrameReferenceTime="4062600",
    )
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)


def test_post_processed_series_uses_earliest_acquisition() -> None:
    # SeriesTime 14:00 is after the acquisitions (11:07:42.6 and 11:12:00): the reference is the
    # earliest acquisition, one half-life after injection -> 8e-4.  Using 14:00 would give
    # 80000 / (2e8 * 2^-(14400/4062.6)) = 80000 / (2e8 * 0.0858) = 4.66e-3, about 6x too high.
    a = make_pet(sop_uid="1.2.4.1", SeriesTime="140000", AcquisitionTime="111200")
    b = make_pet(sop_uid="1.2.4.2", SeriesTime="140000", AcquisitionTime="110742.6")
    r = compute_suv_factors([a, b])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)
    assert r.inputs["reference_datetime"].value == dt.datetime(2024, 3, 1, 11, 7, 42, 600000)
    assert any("post-processed" in w for w in r.warnings)


def test_start_time_with_series_date_when_datetime_missing() -> None:
    r = compute_suv_factors([make_pet(RadiopharmaceuticalStartDateTime=None)])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)
    assert r.inputs["injection_datetime"].value == dt.datetime(2024, 3, 1, 10, 0, 0)
    assert "RadiopharmaceuticalStartTime (0018,1072)" in r.inputs["injection_datetime"].source


def test_midnight_crossing() -> None:
    # Injection 23:30:00 (time only), series 00:37:42.6 on 2024-03-02: the injection was on
    # 2024-03-01, 1 h 07 min 42.6 s = one Ga-68 half-life before -> 8e-4.
    ds = make_pet(
        SeriesDate="20240302",
        SeriesTime="003742.6",
        AcquisitionDate="20240302",
        AcquisitionTime="003742.6",
        RadiopharmaceuticalStartDateTime=None,
        RadiopharmaceuticalStartTime="233000",
    )
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)
    assert r.inputs["injection_datetime"].value == dt.datetime(2024, 3, 1, 23, 30)
    assert any("midnight" in w for w in r.warnings)


def test_timezone_offsets_honoured() -> None:
    # Injection 11:00:00+0100 = 10:00:00 UTC; series 11:07:42.6 in UTC (TimezoneOffsetFromUTC
    # +0000): one half-life -> 8e-4.  Comparing the clocks naively would give 7.6 s of decay,
    # 80000 / (2e8 * 2^-(7.6/4062.6)) = 4.0052e-4.
    ds = make_pet(
        TimezoneOffsetFromUTC="+0000",
        RadiopharmaceuticalStartDateTime="20240301110000+0100",
    )
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)


def test_timezone_offset_applies_to_naive_series_time() -> None:
    # Series 12:07:42.6 local with TimezoneOffsetFromUTC +0100 = 11:07:42.6 UTC; injection
    # 10:00:00Z given with an explicit +0000 offset: one half-life -> 8e-4.
    ds = make_pet(
        TimezoneOffsetFromUTC="+0100",
        SeriesTime="120742.6",
        AcquisitionTime="120742.6",
        RadiopharmaceuticalStartDateTime="20240301100000+0000",
    )
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)


def test_offset_on_one_side_only_is_warned() -> None:
    ds = make_pet(RadiopharmaceuticalStartDateTime="20240301100000+0100")
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)
    assert any("UTC offset" in w for w in r.warnings)


def test_cnts_philips_suv_scale_factor() -> None:
    # CNTS: SUVbw = rescaled counts * (7053,1000) = 0.000384.  (7053,1009) = 0.48 Bq/ml per
    # count agrees: 0.48 * 8e-4 = 3.84e-4, so no warning.
    ds = add_philips(make_pet(Units="CNTS"), "0.000384", "0.48")
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(3.84e-4, rel=1e-12)
    assert r.inputs["philips_suv_scale_factor"].value == pytest.approx(3.84e-4)
    assert "(7053,1000)" in r.inputs["philips_suv_scale_factor"].source
    assert not any("7053" in w for w in r.warnings)


def test_cnts_philips_activity_concentration_only() -> None:
    # Only (7053,1009) = 0.5: counts * 0.5 = Bq/ml, then the BQML rule: 0.5 * 8e-4 = 4e-4.
    ds = add_philips(make_pet(Units="CNTS"), None, "0.5")
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(4e-4, rel=1e-12)


def test_cnts_philips_factors_disagree_warns() -> None:
    # (7053,1000) = 0.001 but 0.48 * 8e-4 = 3.84e-4: 2.6x apart -> warned, (7053,1000) used.
    ds = add_philips(make_pet(Units="CNTS"), "0.001", "0.48")
    r = compute_suv_factors([ds])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(1e-3)
    assert any("(7053,1000)" in w and "(7053,1009)" in w for w in r.warnings)


def test_cnts_without_philips_tags_is_an_error() -> None:
    with pytest.raises(SuvInputError, match=r"7053,1000.*7053,1009"):
        compute_suv_factors([make_pet(Units="CNTS")])


def test_gml_is_suvbw_and_body_size_factors() -> None:
    # GML: SUVbw factor 1.  70 kg, 1.75 m, male:
    #  BMI = 70 / 1.75^2 = 22.857143; LBM (Janmahasatian) = 9270*70 / (6680 + 216*22.857143)
    #      = 648900 / 11617.142857 = 55.857108 kg -> SUL factor 55.857108/70 = 0.797959
    #  BSA (Du Bois) = 0.007184 * 70^0.425 * 175^0.725 = 1.848143 m^2 = 18481.43 cm^2
    #      -> SUVbsa factor 18481.43 / 70000 g = 0.264021
    #  IBW (Devine) = 50 + 2.3 * (175/2.54 - 60) = 50 + 2.3 * 8.897638 = 70.464567 kg
    #      -> SUVibw factor 70.464567 / 70 = 1.006637
    r = compute_suv_factors([make_pet(Units="GML", PatientWeight="70")])
    f = r.factors
    assert f is not None
    assert f.bw == 1.0
    assert f.lbm == pytest.approx(9270 * 70 / (6680 + 216 * 70 / 1.75**2) / 70, rel=1e-12)
    assert f.lbm == pytest.approx(0.797959, rel=1e-6)
    assert f.bsa == pytest.approx(0.264021, rel=1e-5)
    assert f.ibw == pytest.approx((50 + 2.3 * (175 / 2.54 - 60)) / 70, rel=1e-12)
    assert f.ibw == pytest.approx(1.006637, rel=1e-6)
    assert any("GML" in w for w in r.warnings)


def test_james_lbm_option() -> None:
    # James, male 70 kg 1.75 m: 1.10*70 - 128*(70/175)^2 = 77 - 20.48 = 56.52 kg.
    # BQML default header but 70 kg: SUVbw = 70000 / 1e8 = 7e-4; SUL = 7e-4 * 56.52/70 = 5.652e-4.
    r = compute_suv_factors([make_pet(PatientWeight="70")], lbm_formula=LbmFormula.JAMES)
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(7e-4, rel=1e-12)
    assert r.factors.lbm == pytest.approx(5.652e-4, rel=1e-12)
    assert r.inputs["lbm_kg"].value == pytest.approx(56.52, rel=1e-12)


def test_female_janmahasatian() -> None:
    # Female 60 kg 1.60 m: BMI 23.4375; LBM = 9270*60 / (8780 + 244*23.4375)
    #   = 556200 / 14498.75 = 38.362 kg; SUVbw = 60000/1e8 = 6e-4; SUL = 6e-4 * 38.362/60.
    r = compute_suv_factors([make_pet(PatientWeight="60", PatientSize="1.60", PatientSex="F")])
    assert r.factors is not None
    assert r.inputs["lbm_kg"].value == pytest.approx(556200 / 14498.75, rel=1e-12)
    assert r.factors.lbm == pytest.approx(6e-4 * (556200 / 14498.75) / 60, rel=1e-12)


def test_missing_height_gives_bw_only_with_warning() -> None:
    r = compute_suv_factors([make_pet(PatientSize=None)])
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW)
    assert r.factors.lbm is None and r.factors.bsa is None and r.factors.ibw is None
    assert any("PatientSize (0010,1020)" in w for w in r.warnings)
    with pytest.raises(SuvInputError, match="SUVlbm is unavailable"):
        r.slice_factors(list(r.instance_factors), SuvKind.LBM)


def test_missing_weight_names_the_tag_and_file() -> None:
    ds = make_pet(PatientWeight=None)
    ds.filename = "/data/pet/IM0001.dcm"
    with pytest.raises(SuvInputError) as info:
        compute_suv_factors([ds])
    msg = str(info.value)
    assert "PatientWeight (0010,1030)" in msg
    assert "/data/pet/IM0001.dcm" in msg


def test_zero_weight_is_not_used() -> None:
    with pytest.raises(SuvInputError, match=r"PatientWeight \(0010,1030\) is not positive"):
        compute_suv_factors([make_pet(PatientWeight="0")])


def test_missing_dose_and_time_name_their_tags() -> None:
    with pytest.raises(SuvInputError, match=r"RadionuclideTotalDose \(0018,1074\)"):
        compute_suv_factors([make_pet(RadionuclideTotalDose=None)])
    with pytest.raises(SuvInputError, match=r"RadiopharmaceuticalStartTime \(0018,1072\)"):
        compute_suv_factors(
            [make_pet(RadiopharmaceuticalStartDateTime=None, RadiopharmaceuticalStartTime=None)]
        )
    with pytest.raises(SuvInputError, match=r"RadionuclideHalfLife \(0018,1075\)"):
        compute_suv_factors([make_pet(RadionuclideHalfLife=None)])


def test_reader_overrides_are_recorded() -> None:
    # The reader enters 80 kg and the injection time: same numbers as the tags -> 8e-4,
    # but the provenance says "reader".
    ds = make_pet(
        PatientWeight=None, RadiopharmaceuticalStartDateTime=None, RadiopharmaceuticalStartTime=None
    )
    ov = SuvOverrides(patient_weight_kg=80.0, injection_datetime=dt.datetime(2024, 3, 1, 10, 0))
    r = compute_suv_factors([ds], overrides=ov)
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(ONE_HALF_LIFE_BW, rel=1e-9)
    assert r.inputs["patient_weight_kg"].source == "reader"
    assert r.inputs["injection_datetime"].source == "reader"


def test_reader_override_replaces_a_tag_with_warning() -> None:
    # Reader corrects the dose to 4e8 Bq: 80000 / (4e8 / 2) = 4e-4.
    r = compute_suv_factors([make_pet()], overrides=SuvOverrides(injected_dose_bq=4e8))
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(4e-4, rel=1e-12)
    assert r.inputs["injected_dose_bq"].source == "reader"
    assert any("replaces RadionuclideTotalDose" in w for w in r.warnings)


def test_inconsistent_series_is_refused() -> None:
    a = make_pet(sop_uid="1.1", PatientWeight="80")
    b = make_pet(sop_uid="1.2", PatientWeight="81")
    with pytest.raises(SuvInputError, match=r"PatientWeight .* differs within the series"):
        compute_suv_factors([a, b])


def test_unsupported_units_is_refused() -> None:
    with pytest.raises(SuvInputError, match=r"Units .*PROPCNTS"):
        compute_suv_factors([make_pet(Units="PROPCNTS")])


def test_to_json_has_exactly_the_issue_keys() -> None:
    j = compute_suv_factors([make_pet()]).to_json()
    assert set(j) == {
        "series_instance_uid",
        "units",
        "suv_bw_factor",
        "suv_lbm_factor",
        "suv_bsa_factor",
        "suv_ibw_factor",
        "inputs",
        "warnings",
    }
    assert j["inputs"]["patient_weight_kg"] == {
        "value": 80.0,
        "source": "PatientWeight (0010,1030)",
    }
    assert j["inputs"]["reference_datetime"]["value"] == "2024-03-01T11:07:42.600000"


def test_acrin_slice_1_factor_from_printed_tags() -> None:
    # acrin_flt_breast_PT_1.dcm: BQML, START, PatientWeight 69.7344 kg, RadionuclideTotalDose
    # 178340011.59668 Bq, RadionuclideHalfLife 6586.2 s (F-18), RadiopharmaceuticalStartTime
    # 14:17:00 (no StartDateTime), SeriesDate 19600614, SeriesTime = AcquisitionTime
    # 15:23:16.921 -> decay time 1 h 06 min 16.921 s = 3976.921 s.
    # 3976.921 / 6586.2 = 0.603827 half-lives; 2^-0.603827 = 0.658011;
    # decayed dose = 1.173497e8 Bq; factor = 69734.4 / 1.173497e8 = 5.9425e-4 g/Bq.
    ds = pydicom.dcmread(ACRIN / "acrin_flt_breast_PT_1.dcm", stop_before_pixels=True)
    r = compute_suv_factors([ds])
    expected = 69734.4 / (178340011.59668 * 2 ** (-3976.921 / 6586.2))
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(expected, rel=1e-9)
    assert r.factors.bw == pytest.approx(5.9425e-4, rel=1e-4)
    assert r.inputs["decay_time_s"].value == pytest.approx(3976.921, abs=1e-6)


def test_acrin_slice_2_dynamic_series_injection_at_series_start() -> None:
    # acrin_flt_breast_PT_2.dcm (DYNAMIC): 82.174 kg, 173529998.7793 Bq, T½ 6586.2 s,
    # injection 11:19:59.000, SeriesTime 11:19:59.109 (earlier than AcquisitionTime
    # 11:35:59.109, so the series time is the reference): decay time 0.109 s,
    # factor = 82174 / (173529998.7793 * 2^(-0.109/6586.2)) = 4.73549e-4.
    ds = pydicom.dcmread(ACRIN / "acrin_flt_breast_PT_2.dcm", stop_before_pixels=True)
    r = compute_suv_factors([ds])
    expected = 82174 / (173529998.7793 * 2 ** (-0.109 / 6586.2))
    assert r.factors is not None
    assert r.factors.bw == pytest.approx(expected, rel=1e-9)
    assert r.factors.bw == pytest.approx(4.73549e-4, rel=1e-5)
    assert "SeriesTime" in r.inputs["reference_datetime"].source


def test_acrin_slice_1_suv_values_plausible() -> None:
    # With pixels: stored * RescaleSlope (9.12329) * factor gives SUV; an FLT body slice has a
    # background around 0-3 and no value above ~40.
    ds = pydicom.dcmread(ACRIN / "acrin_flt_breast_PT_1.dcm")
    r = compute_suv_factors([ds])
    assert r.factors is not None
    suv = ds.pixel_array.astype(float) * float(ds.RescaleSlope) * r.factors.bw
    assert 0.5 < float(suv.max()) < 40.0
    assert float(suv.min()) >= 0.0
