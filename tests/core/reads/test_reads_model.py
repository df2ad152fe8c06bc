"""Read model: RECIST case mapping, baseline checks (each rule), diffs and JSON round trip."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from namecar_viewer.core.measure import Measurement, MeasurementKind, PlaneRef
from namecar_viewer.core.reads import (
    ChangeOp,
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    Site,
    TimepointRole,
    baseline_warnings,
    diff_reads,
    missing_series_warnings,
    read_from_json,
    read_to_json,
    read_to_recist_case,
)
from namecar_viewer.core.recist import (
    MeasurementKind as RK,
)
from namecar_viewer.core.recist import (
    NewLesions,
    NonTargetStatus,
    Response,
    evaluate,
)

AXIAL = PlaneRef((0, 0, 0), (1, 0, 0), (0, 1, 0), (0.7, 0.7), (512, 512), 2.5)
CORONAL = PlaneRef((0, 0, 0), (1, 0, 0), (0, 0, -1), (0.7, 2.5), (84, 512), 0.7)


def line(uid: str, mm: float, plane: PlaneRef = AXIAL, series: str = "S1") -> Measurement:
    return Measurement.create(
        MeasurementKind.LINE,
        [(0, 0, 0), (mm, 0, 0)],
        uid=uid,
        plane=plane,
        series_instance_uid=series,
    )


def bidi(uid: str, long: float, short: float) -> Measurement:
    return Measurement.create(
        MeasurementKind.BIDIRECTIONAL,
        [(0, 0, 0), (long, 0, 0), (long / 2, -short / 2, 0), (long / 2, short / 2, 0)],
        uid=uid,
        plane=AXIAL,
        series_instance_uid="S1",
    )


def two_timepoint_read() -> Read:
    r = Read.new(patient_id="P1", uid="R1")
    r = r.with_timepoint(
        ReadTimepoint(
            "B", "baseline", dt.date(2025, 1, 15), "ST1", TimepointRole.PRE_TREATMENT_BASELINE, 2.5
        )
    )
    r = r.with_timepoint(
        ReadTimepoint("F", "fu03m", dt.date(2025, 4, 15), "ST2", TimepointRole.FOLLOW_UP)
    )
    return r


def add(r: Read, les: Lesion, m: Measurement, tp: str = "B") -> Read:
    return r.with_lesion(les).with_measurement(LesionMeasurement(m, les.uid, tp))


def test_read_to_recist_case_maps_axes_and_statuses() -> None:
    r = two_timepoint_read()
    t1 = Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)
    t2 = Lesion(
        "L2", "T2", LesionRole.TARGET, Site.LYMPH_NODE, station="paraaortic", is_lymph_node=True
    )
    t3 = Lesion("L3", "T3", LesionRole.TARGET, Site.KIDNEY, is_primary_renal=True)
    nt = Lesion("L4", "NT1", LesionRole.NON_TARGET, Site.BONE)
    new = Lesion("L5", "N1", LesionRole.NEW, Site.LUNG)
    r = add(r, t1, line("m1", 40.0))
    r = add(r, t2, bidi("m2", 25.0, 18.0))
    r = add(r, t3, line("m3", 60.04))
    r = r.with_lesion(nt).with_status("L4", "B", LesionStatus.PRESENT)
    r = r.with_status("L1", "F", LesionStatus.ABSENT)
    r = add(r, t2, bidi("m4", 12.0, 9.0), "F")
    r = r.with_status("L3", "F", LesionStatus.TOO_SMALL)
    r = r.with_status("L4", "F", LesionStatus.NOT_EVALUABLE)
    r = r.with_lesion(new).with_status("L5", "F", LesionStatus.EQUIVOCAL)
    case = read_to_recist_case(r)
    assert [les.id for les in case.lesions] == ["T1", "T2", "T3", "NT1"]
    assert case.lesions[1].is_lymph_node and case.lesions[2].is_primary_renal
    assert case.slice_thickness_mm == Fraction(5, 2)
    b, f = case.timepoints
    assert b.label == "baseline"
    # liver: long axis 40; node: short axis 18 (not its 25 mm long axis); 60.04 shown as 60.0
    assert b.target_measurements["T1"].fragments_mm == (Fraction(40),)
    assert b.target_measurements["T2"].fragments_mm == (Fraction(18),)
    assert b.target_measurements["T3"].fragments_mm == (Fraction(60),)
    assert b.non_target_status == {"NT1": NonTargetStatus.PRESENT}
    assert f.target_measurements["T1"].fragments_mm == (Fraction(0),)  # absent -> 0 mm
    assert f.target_measurements["T2"].fragments_mm == (Fraction(9),)
    assert f.target_measurements["T3"].kind is RK.TOO_SMALL
    assert f.non_target_status == {"NT1": NonTargetStatus.NOT_EVALUATED}
    assert f.new_lesions is NewLesions.EQUIVOCAL
    # the engine evaluates it: sum 118 -> 0 + 9 + 5 = 14 (-88.1 %) = PR, non-target NE -> PR
    res = evaluate(case)
    assert res.timepoints[1].sum_mm == Fraction(14)
    assert res.timepoints[1].target_response is Response.PR


def test_split_coalesced_and_confirmed_new_lesion() -> None:
    r = two_timepoint_read()
    r = r.with_timepoint(
        ReadTimepoint("G", "fu06m", dt.date(2025, 7, 15), "ST3", TimepointRole.FOLLOW_UP)
    )
    t1 = Lesion("L1", "T1", LesionRole.TARGET, Site.LIVER)
    t2 = Lesion("L2", "T2", LesionRole.TARGET, Site.LUNG)
    new = Lesion("L5", "N1", LesionRole.NEW, Site.LUNG)
    r = add(r, t1, line("a", 30.0))
    r = add(r, t2, line("b", 20.0))
    r = r.with_status("L1", "F", LesionStatus.SPLIT)
    r = r.with_measurement(LesionMeasurement(line("c", 12.0), "L1", "F"))
    r = r.with_measurement(LesionMeasurement(line("d", 8.0), "L1", "F"))
    r = r.with_status("L2", "F", LesionStatus.COALESCED)
    r = r.with_lesion(new).with_status("L5", "F", LesionStatus.EQUIVOCAL)
    r = r.with_measurement(LesionMeasurement(line("e", 11.0), "L5", "G"))
    case = read_to_recist_case(r)
    f, g = case.timepoints[1:]
    assert f.target_measurements["T1"].fragments_mm == (Fraction(12), Fraction(8))
    assert f.target_measurements["T2"].kind is RK.COALESCED
    assert g.new_lesions is NewLesions.UNEQUIVOCAL
    assert g.new_lesion_confirms_equivocal_from == "fu03m"


def rules(r: Read) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for w in baseline_warnings(r):
        out.setdefault(w.lesion_label or "", []).append(w.rule)
    return out


def test_baseline_checks_flag_each_rule() -> None:
    r = two_timepoint_read()
    r = r.with_timepoint(
        ReadTimepoint(
            "B", "baseline", dt.date(2025, 1, 15), "ST1", TimepointRole.PRE_TREATMENT_BASELINE, 6.0
        )
    )
    lesions = [
        (Lesion("a", "T1", LesionRole.TARGET, Site.LIVER), line("m1", 9.9)),  # < 10 mm
        (Lesion("b", "T2", LesionRole.TARGET, Site.LIVER), line("m2", 11.0)),  # < 2 x 6 mm
        (Lesion("c", "T3", LesionRole.TARGET, Site.LIVER), line("m3", 30.0)),  # 3rd liver
        (
            Lesion("d", "T4", LesionRole.TARGET, Site.LYMPH_NODE, is_lymph_node=True),
            bidi("m4", 20.0, 12.0),
        ),  # node 10-15 mm short axis as target
        (Lesion("e", "T5", LesionRole.TARGET, Site.LUNG), line("m5", 25.0, plane=CORONAL)),
        (Lesion("f", "T6", LesionRole.TARGET, Site.BONE), line("m6", 30.0)),  # 6th target
        (
            Lesion("g", "NT1", LesionRole.NON_TARGET, Site.LYMPH_NODE, is_lymph_node=True),
            bidi("m7", 12.0, 8.0),
        ),  # node < 10 mm: not a lesion
    ]
    for les, m in lesions:
        r = add(r, les, m)
    r = r.with_status("g", "B", LesionStatus.PRESENT)
    got = rules(r)
    assert any("10 mm" in x for x in got["T1"])
    assert any("twice" in x for x in got["T2"])  # 11 mm < 12 mm (2 x 6 mm slice)
    assert any("2 target lesions per organ" in x for x in got["T3"])
    assert any("short axis >= 15 mm" in x for x in got["T4"])
    assert any("10-15 mm short axis are non-target only" in x for x in got["T4"])
    assert any("axial plane" in x for x in got["T5"])
    assert any("at most 5 target" in x for x in got["T6"])
    assert any("< 10 mm short axis are non-pathological" in x for x in got["NT1"])
    # a clean baseline has no warning
    ok = two_timepoint_read()
    ok = add(ok, Lesion("a", "T1", LesionRole.TARGET, Site.LIVER), line("m1", 10.0))
    ok = add(
        ok,
        Lesion("d", "T2", LesionRole.TARGET, Site.LYMPH_NODE, is_lymph_node=True),
        bidi("m4", 20.0, 15.0),
    )
    assert baseline_warnings(ok) == []


def test_missing_series_is_flagged_with_numbers_kept() -> None:
    r = add(
        two_timepoint_read(),
        Lesion("a", "T1", LesionRole.TARGET, Site.LIVER),
        line("m1", 23.4, series="GONE"),
    )
    w = missing_series_warnings(r, {"S1"})
    assert len(w) == 1 and w[0].lesion_label == "T1" and "GONE" in w[0].message
    assert "23.4 mm" in w[0].message
    assert read_to_recist_case(r).timepoints[0].target_measurements["T1"].fragments_mm == (
        Fraction("23.4"),
    )


def test_diff_and_json_round_trip() -> None:
    a = two_timepoint_read()
    b = add(a, Lesion("x", "T1", LesionRole.TARGET, Site.LUNG), line("m1", 12.0))
    changes = {(c.table, c.key, c.op) for c in diff_reads(a, b).changes}
    assert changes == {("lesions", "x", ChangeOp.ADDED), ("measurements", "m1", ChangeOp.ADDED)}
    c = b.without_lesion("x")
    d = diff_reads(b, c).changes
    assert [(x.table, x.op) for x in d] == [
        ("measurements", ChangeOp.REMOVED),
        ("lesions", ChangeOp.REMOVED),
    ]
    assert read_from_json(read_to_json(b)) == b
    assert b.next_label(LesionRole.TARGET) == "T2"
    with pytest.raises(KeyError):
        b.with_measurement(LesionMeasurement(line("m9", 1.0), "nope", "B"))
