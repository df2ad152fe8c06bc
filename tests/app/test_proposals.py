"""Proposed measurements (app/proposals.py) on the small demo patient: where each lesion is
expected, the semi-automatic diameter found near it (within one pixel spacing of the phantom's
truth, also when the alignment is a few millimetres off), "not found", the non-targets'
previous answer, and the one-step commands that record what was proposed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from namecar_viewer.app import proposals as P
from namecar_viewer.app.lesion_assignment import Choice
from namecar_viewer.app.read_session import (
    AddMeasurement,
    AddTimepoint,
    CreateLesion,
    ReadSession,
    SetStatus,
)
from namecar_viewer.app.view_state import ViewState, translation
from namecar_viewer.core.dicom import load_stack, scan
from namecar_viewer.core.geometry.reslice import SliceOrientation, slice_geometry
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.reads.model import (
    Lesion,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
)

AXIAL = SliceOrientation.AXIAL
SITES = {
    "kidney": Site.KIDNEY,
    "lung": Site.LUNG,
    "liver": Site.LIVER,
    "lymph node": Site.LYMPH_NODE,
    "bone": Site.BONE,
}


@pytest.fixture(scope="module")
def ct(small_demo: Path, ground_truth: dict[str, Any]) -> dict[str, Any]:
    """The demo patient's CT volumes by timepoint label."""
    tps = {s["series_instance_uid"]: s["timepoint"] for s in ground_truth["series"]}
    out = {}
    for st in scan([str(small_demo)]).stacks:
        if st.modality == "CT" and st.series_instance_uid in tps:
            out[tps[st.series_instance_uid]] = load_stack(st)
    assert len(out) == 5
    return out


def aligned_state(ct: dict[str, Any], gt: dict[str, Any], error_mm: Any = (0, 0, 0)) -> ViewState:
    """The timepoints related by the phantom's true shifts (plus ``error_mm``): what the
    automatic alignment stores, restored into the view state."""
    state = ViewState()
    shift = {t["label"]: np.asarray(t["patient_shift_mm"], float) for t in gt["ct_timepoints"]}
    for tp, vol in ct.items():
        if tp != "baseline":
            m = translation(shift[tp] - shift["baseline"] + np.asarray(error_mm, float))
            state.set_transform(
                ct["baseline"].frame_of_reference_uid, vol.frame_of_reference_uid, m
            )
    return state


def timepoints(ct: dict[str, Any], gt: dict[str, Any]) -> dict[str, ReadTimepoint]:
    return {
        t["label"]: ReadTimepoint(
            f"tp-{t['label']}",
            t["label"],
            dt.date.fromisoformat(t["date"]),
            ct[t["label"]].study_instance_uid,
            TimepointRole.PRE_TREATMENT_BASELINE
            if t["label"] == "baseline"
            else TimepointRole.FOLLOW_UP,
        )
        for t in gt["ct_timepoints"]
    }


def truth_line(les: dict[str, Any], tp: str) -> tuple[np.ndarray, np.ndarray]:
    at = les["ct"][tp]
    c = np.asarray(at["centre_mm"], float)
    d = np.asarray(les["long_axis_direction"], float)
    if les["is_lymph_node"]:
        d, half = np.cross([0.0, 0.0, 1.0], d), at["short_axis_mm"] / 2
    else:
        half = at["long_axis_mm"] / 2
    return c - half * d, c + half * d


def truth_mm(les: dict[str, Any], tp: str) -> float:
    at = les["ct"][tp]
    return float(at["short_axis_mm"] if les["is_lymph_node"] else at["long_axis_mm"])


def baseline_session(ct: dict[str, Any], gt: dict[str, Any]) -> ReadSession:
    """A read with the baseline measured as a reader does: lines on the targets (the node's
    short axis), a point on the bone non-target."""
    tps = timepoints(ct, gt)
    s = ReadSession(Read.new(patient_id="NAMECAR-001", reader="r"))
    s.execute(AddTimepoint(tps["baseline"]))
    frame = ct["baseline"].frame_of_reference_uid
    for les in gt["lesions"]:
        target = les["role"] == "target"
        lesion = Lesion(
            f"L{les['id']}",
            les["id"],
            LesionRole.TARGET if target else LesionRole.NON_TARGET,
            SITES[les["organ"]],
            is_lymph_node=les["is_lymph_node"],
        )
        if target:
            m = Measurement.create(
                MeasurementKind.LINE, truth_line(les, "baseline"), frame_of_reference_uid=frame
            )
        else:
            c = les["ct"]["baseline"]["centre_mm"]
            m = Measurement.create(MeasurementKind.POINT, (c,), frame_of_reference_uid=frame)
        s.execute(CreateLesion(lesion, m, tps["baseline"]))
    return s


def accept_all(
    s: ReadSession, ct: dict[str, Any], gt: dict[str, Any], tp: str, state: ViewState
) -> dict[str, P.Proposal]:
    """Every lesion's proposal at ``tp`` accepted as proposed (what Enter does)."""
    rtp = timepoints(ct, gt)[tp]
    vol = ct[tp]
    geo = slice_geometry(vol, AXIAL)
    out = {}
    for les in P.lesions_to_propose(s.read, rtp):
        p = P.make_proposal(s.read, rtp, les, vol, geo, AXIAL, state.map_point)
        out[les.label] = p
        if p.kind is P.ProposalKind.STATUS:
            assert p.status is not None
            s.execute(P.status_command(s.read, rtp, p, p.status))
            continue
        assert p.kind is P.ProposalKind.DIAMETER, (tp, les.label, p.kind)
        f = p.finding
        assert f is not None
        m = P.measurement_from(
            vol, f.plane, f.slice_spacing_mm, MeasurementKind.BIDIRECTIONAL, f.points
        )
        plan = P.assignment_plan(s.read, rtp, p, m, state.map_point)
        assert P.attaches_to_lesion(plan, p), plan.reason
        s.execute(P.accept_command(s.read, rtp, p, m, plan.chosen, P.Outcome.ACCEPTED))
    return out


def test_which_lesions_are_proposed(ct: dict[str, Any], ground_truth: dict[str, Any]) -> None:
    s = baseline_session(ct, ground_truth)
    tps = timepoints(ct, ground_truth)
    assert P.lesions_to_propose(s.read, tps["baseline"]) == []  # the baseline chooses them
    labels = [les.label for les in P.lesions_to_propose(s.read, tps["inclusion"])]
    assert labels == ["T1", "T2", "T3", "T4", "T5", "NT1"]
    # a new lesion found at fu03m is proposed from the timepoint after it: fu06m
    s.execute(AddTimepoint(tps["fu03m"]))
    new = Lesion("LN1", "N1", LesionRole.NEW, Site.LIVER)
    s.execute(CreateLesion(new))
    s.execute(SetStatus("LN1", "tp-fu03m", LesionStatus.PRESENT))
    assert "N1" not in [les.label for les in P.lesions_to_propose(s.read, tps["fu03m"])]
    assert [les.label for les in P.lesions_to_propose(s.read, tps["fu06m"])][-1] == "N1"
    # a new lesion recorded by its status only: its previous answer is proposed
    p = P.make_proposal(
        s.read, tps["fu06m"], new, ct["fu06m"], slice_geometry(ct["fu06m"], AXIAL), AXIAL
    )
    assert (p.kind, p.status, p.status_from, p.expected) == (
        P.ProposalKind.STATUS,
        LesionStatus.PRESENT,
        "fu03m",
        None,
    )
    # the ancillary MRI-PET record has no follow-up proposals
    anc = Read.new(kind=ReadKind.ANCILLARY_MRI_PET)
    assert P.lesions_to_propose(anc, tps["inclusion"]) == []


def test_expected_location_goes_through_the_alignment(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    s = baseline_session(ct, ground_truth)
    tps = timepoints(ct, ground_truth)
    t4 = next(les for les in ground_truth["lesions"] if les["id"] == "T4")
    state = aligned_state(ct, ground_truth)
    frame = ct["fu06m"].frame_of_reference_uid
    ex = P.expected_location(s.read, "LT4", tps["fu06m"], frame, state.map_point)
    assert ex is not None and ex.aligned and ex.from_label == "baseline"
    assert np.allclose(ex.point, t4["ct"]["fu06m"]["centre_mm"], atol=1e-6)
    assert ex.tolerance_mm == pytest.approx(20.0)  # half the 40 mm baseline diameter
    # no transform between the studies: the same patient coordinates, said not aligned
    raw = P.expected_location(s.read, "LT4", tps["fu06m"], frame, ViewState().map_point)
    assert raw is not None and not raw.aligned
    assert np.allclose(raw.point, t4["ct"]["baseline"]["centre_mm"])
    assert raw.tolerance_mm == pytest.approx(30.0)


@pytest.mark.parametrize("error_mm", [(0.0, 0.0, 0.0), (1.8, -1.8, 1.6), (-3.0, 2.0, -2.5)])
def test_every_lesion_found_within_a_pixel_at_every_follow_up(
    ct: dict[str, Any], ground_truth: dict[str, Any], error_mm: tuple[float, float, float]
) -> None:
    """Accepted as proposed from inclusion to fu09m (each follow-up's proposal starts from the
    previous one's answer): every RECIST diameter within one pixel spacing of the truth, with
    the alignment exact or off by 3-4 mm."""
    s = baseline_session(ct, ground_truth)
    state = aligned_state(ct, ground_truth, error_mm)
    lesions = {les["id"]: les for les in ground_truth["lesions"]}
    for tp in ("inclusion", "fu03m", "fu06m", "fu09m"):
        spacing = min(slice_geometry(ct[tp], AXIAL).pixel_spacing)
        got = accept_all(s, ct, ground_truth, tp, state)
        assert got["NT1"].status is LesionStatus.PRESENT
        for lid in ("T1", "T2", "T3", "T4", "T5"):
            p = got[lid]
            assert p.recist_diameter_mm is not None
            assert abs(p.recist_diameter_mm - truth_mm(lesions[lid], tp)) <= spacing, (
                tp,
                lid,
                p.recist_diameter_mm,
            )
            # on the lesion's largest section: its centre slice, or the next one where the
            # pixels give the same diameter (the nearer the expected point, the misaligned one)
            f = p.finding
            assert f is not None
            c = np.asarray(lesions[lid]["ct"][tp]["centre_mm"], float)
            assert abs(float(f.plane.distance([c])[0])) <= f.slice_spacing_mm + 1e-6
    recs = P.records_in(s.read.settings)
    assert len(recs) == 24 and {r["outcome"] for r in recs.values()} == {"accepted"}


def test_nothing_near_the_expected_point_is_not_found(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    vol = ct["fu06m"]
    geo = slice_geometry(vol, AXIAL)
    t2 = next(les for les in ground_truth["lesions"] if les["id"] == "T2")
    c = np.asarray(t2["ct"]["fu06m"]["centre_mm"], float)
    # in the lung 25 mm from the nodule: air only, no region stands out
    assert P.find_lesion(vol, geo, AXIAL, c + np.array([0.0, 25.0, 0.0]), 5.0) is None
    # above the scanned range
    top = geo.plane(geo.count - 1).origin
    assert P.find_lesion(vol, geo, AXIAL, (c[0], c[1], float(top[2]) + 40.0), 5.0) is None
    # the nodule itself
    f = P.find_lesion(vol, geo, AXIAL, c, 5.0)
    assert f is not None and f.magnified  # two pixels across: found on the magnified slice


def test_accepting_is_one_undo_step_and_records_the_proposal(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    s = baseline_session(ct, ground_truth)
    tps = timepoints(ct, ground_truth)
    tp = tps["inclusion"]  # not in the read yet: added with the first answer
    state = aligned_state(ct, ground_truth)
    vol, geo = ct["inclusion"], slice_geometry(ct["inclusion"], AXIAL)
    t1 = s.read.lesion("LT1")
    p = P.make_proposal(s.read, tp, t1, vol, geo, AXIAL, state.map_point)
    assert p.kind is P.ProposalKind.DIAMETER and p.finding is not None
    f = p.finding
    before = s.read
    # the reader moved a handle: the edited points are stored, the proposal kept beside them
    pts = list(f.points)
    pts[0] = tuple(np.asarray(pts[0]) + np.asarray(pts[0] - np.asarray(pts[1])) * 0.02)
    m = P.measurement_from(vol, f.plane, f.slice_spacing_mm, MeasurementKind.BIDIRECTIONAL, pts)
    plan = P.assignment_plan(s.read, tp, p, m, state.map_point)
    assert P.attaches_to_lesion(plan, p)
    s.execute(P.accept_command(s.read, tp, p, m, plan.chosen, P.Outcome.EDITED))
    read = s.read
    lm = read.measurement(m.uid)
    assert (lm.lesion_uid, lm.timepoint_uid) == ("LT1", tp.uid)
    assert lm.measurement.label == "T1"
    rec = json.loads(read.settings[P.record_key("LT1", tp.uid)])
    assert rec["outcome"] == "edited" and rec["lesion"] == "T1"
    assert rec["proposed"]["long_axis_mm"] == pytest.approx(f.long_axis_mm, abs=0.01)
    assert rec["answer"]["long_axis_mm"] == pytest.approx(m.long_axis_mm, abs=0.01)
    assert rec["answer"]["long_axis_mm"] > rec["proposed"]["long_axis_mm"]
    assert rec["expected"]["aligned"] and rec["expected"]["from"] == "baseline"
    assert [les.label for les in read.lesions] == ["T1", "T2", "T3", "T4", "T5", "NT1"]
    assert s.undo() and s.read == before  # one step: measurement, timepoint and record


def test_a_proposal_never_attaches_where_another_lesion_is_expected(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    """The assignment rules decide: T1's proposal replaced by a measurement drawn on T5 is not
    given to T1 without asking, and the chooser offers no new target."""
    s = baseline_session(ct, ground_truth)
    tp = timepoints(ct, ground_truth)["inclusion"]
    state = aligned_state(ct, ground_truth)
    vol, geo = ct["inclusion"], slice_geometry(ct["inclusion"], AXIAL)
    p = P.make_proposal(s.read, tp, s.read.lesion("LT1"), vol, geo, AXIAL, state.map_point)
    t5 = next(les for les in ground_truth["lesions"] if les["id"] == "T5")
    a, b = truth_line(t5, "inclusion")
    assert p.finding is not None
    m = P.measurement_from(vol, p.finding.plane, 2.5, MeasurementKind.LINE, (a, b))
    plan = P.assignment_plan(s.read, tp, p, m, state.map_point)
    assert not P.attaches_to_lesion(plan, p)
    assert Choice.NEW_TARGET not in {o.choice for o in plan.options}
    # the reader picks T5 in the chooser: stored as T5's, no record for T1's proposal
    t5_option = next(o for o in plan.options if o.lesion_uid == "LT5")
    s.execute(P.accept_command(s.read, tp, p, m, t5_option, P.Outcome.REPLACED))
    assert s.read.measurement(m.uid).lesion_uid == "LT5"
    assert P.records_in(s.read.settings) == {}


def test_non_target_statuses_carry_the_previous_answer(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    s = baseline_session(ct, ground_truth)
    tps = timepoints(ct, ground_truth)
    state = aligned_state(ct, ground_truth)
    nt1 = s.read.lesion("LNT1")
    vol, geo = ct["inclusion"], slice_geometry(ct["inclusion"], AXIAL)
    p = P.make_proposal(s.read, tps["inclusion"], nt1, vol, geo, AXIAL, state.map_point)
    assert (p.kind, p.status, p.status_from) == (
        P.ProposalKind.STATUS,
        LesionStatus.PRESENT,
        "baseline",
    )
    assert p.finding is not None  # found where expected, shown to the reader
    s.execute(P.status_command(s.read, tps["inclusion"], p, LesionStatus.PRESENT))
    rec = P.records_in(s.read.settings)[("LNT1", "tp-inclusion")]
    assert rec["outcome"] == "accepted" and rec["answer"] == {"status": "present"}
    # at fu03m the previous answer is inclusion's; the reader says absent instead
    s.execute(SetStatus("LNT1", "tp-inclusion", LesionStatus.ABSENT))
    vol, geo = ct["fu03m"], slice_geometry(ct["fu03m"], AXIAL)
    p = P.make_proposal(s.read, tps["fu03m"], nt1, vol, geo, AXIAL, state.map_point)
    assert (p.status, p.status_from) == (LesionStatus.ABSENT, "inclusion")
    s.execute(P.status_command(s.read, tps["fu03m"], p, LesionStatus.NOT_EVALUABLE))
    assert s.read.statuses[("LNT1", "tp-fu03m")] is LesionStatus.NOT_EVALUABLE
    assert P.records_in(s.read.settings)[("LNT1", "tp-fu03m")]["outcome"] == "replaced"


def test_a_status_replaces_the_diameter_measured_there(
    ct: dict[str, Any], ground_truth: dict[str, Any]
) -> None:
    s = baseline_session(ct, ground_truth)
    tp = timepoints(ct, ground_truth)["inclusion"]
    state = aligned_state(ct, ground_truth)
    vol, geo = ct["inclusion"], slice_geometry(ct["inclusion"], AXIAL)
    p = P.make_proposal(s.read, tp, s.read.lesion("LT3"), vol, geo, AXIAL, state.map_point)
    assert p.finding is not None
    m = P.measurement_from(vol, p.finding.plane, 2.5, MeasurementKind.LINE, p.finding.points[:2])
    s.execute(AddMeasurement(m, "LT3", tp))
    s.execute(P.status_command(s.read, tp, p, LesionStatus.TOO_SMALL))
    a = s.read.assessment("LT3", tp.uid)
    assert a.status is LesionStatus.TOO_SMALL and a.measurement is None
    rec = P.records_in(s.read.settings)[("LT3", tp.uid)]
    assert rec["outcome"] == "replaced" and rec["proposed"]["kind"] == "diameter"
    assert s.undo()  # one step back: the measurement again, no status, no record
    a = s.read.assessment("LT3", tp.uid)
    assert a.status is None and a.measurement is not None
    assert P.records_in(s.read.settings) == {}
