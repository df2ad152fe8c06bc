"""Where a new measurement belongs (issue 13): record by modality, lesion by explicit choice, and
reads that belong to their reader.  Qt-free: the rules the GUI chooser shows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from namecar_viewer.app.lesion_assignment import (
    NEAR_MIN_MM,
    Choice,
    assignment_command,
    guess_site,
    plan_assignment,
    record_for_study,
)
from namecar_viewer.app.read_session import (
    AddMeasurement,
    CreateLesion,
    NotYourReadError,
    ReadSession,
    SetStatus,
    next_lesion,
)
from namecar_viewer.core.measure import Measurement, MeasurementKind
from namecar_viewer.core.reads import (
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
    read_from_json,
    read_to_json,
    read_to_recist_case,
)

BASE = ReadTimepoint(
    "tp0", "baseline", dt.date(2025, 1, 15), "S0", TimepointRole.PRE_TREATMENT_BASELINE
)
FU = ReadTimepoint("tp1", "fu03m", dt.date(2025, 4, 15), "S1", TimepointRole.FOLLOW_UP)


def line(centre: tuple[float, float, float], length: float, for_uid: str = "F0") -> Measurement:
    c = np.asarray(centre)
    d = np.array([length / 2, 0.0, 0.0])
    return Measurement.create(MeasurementKind.LINE, (c - d, c + d), frame_of_reference_uid=for_uid)


def two_lesion_read() -> Read:
    """T1 at (0, 0, 0), T2 at (60, 0, 0), both 30 mm at baseline (frame F0)."""
    r = Read.new(patient_id="P", reader="dr_a", uid="R").with_timepoint(BASE)
    for uid, label, x in (("L1", "T1", 0.0), ("L2", "T2", 60.0)):
        r = r.with_lesion(Lesion(uid, label, LesionRole.TARGET, Site.LIVER))
        r = r.with_measurement(LesionMeasurement(line((x, 0, 0), 30.0), uid, BASE.uid))
    return r.with_timepoint(FU)


def test_record_follows_the_modality_unless_the_reader_added_the_study() -> None:
    r = Read.new(patient_id="P", reader="dr_a")
    assert record_for_study(r, "CT", "S0") is ReadKind.RECIST
    assert record_for_study(r, "MR", "S9") is ReadKind.ANCILLARY_MRI_PET
    assert record_for_study(r, "PT", "S9") is ReadKind.ANCILLARY_MRI_PET
    assert record_for_study(r, "", None) is ReadKind.ANCILLARY_MRI_PET  # unknown: not RECIST
    mri = ReadTimepoint("tpm", "mri", None, "S9", TimepointRole.FOLLOW_UP)
    assert record_for_study(r.with_timepoint(mri), "MR", "S9") is ReadKind.RECIST


def test_baseline_proposes_a_new_lesion_by_kind() -> None:
    r = Read.new(patient_id="P", reader="dr_a")
    plan = plan_assignment(r, BASE, line((0, 0, 0), 30.0))
    assert plan.is_baseline and not plan.automatic
    assert plan.chosen.choice is Choice.NEW_TARGET
    point = Measurement.create(MeasurementKind.POINT, ((0.0, 0.0, 0.0),))
    assert plan_assignment(r, BASE, point).chosen.choice is Choice.NEW_NON_TARGET
    ellipse = Measurement.create(MeasurementKind.ELLIPSE, ((0, 0, 0), (10, 0, 0), (0, 5, 0)))
    assert plan_assignment(r, BASE, ellipse).chosen.choice is Choice.ANNOTATION


def test_baseline_proposes_a_non_target_once_recist_allows_no_more_targets() -> None:
    r = Read.new(patient_id="P", reader="dr_a").with_timepoint(BASE)
    for _n in range(2):
        r = r.with_lesion(next_lesion(r, LesionRole.TARGET, Site.LIVER))
    plan = plan_assignment(r, BASE, line((0, 0, 0), 30.0), site=Site.LIVER)
    # RECIST 1.1 sec. 4.2: two targets per organ at most
    assert plan.chosen.choice is Choice.NEW_NON_TARGET and "2 per organ" in plan.reason
    assert plan_assignment(r, BASE, line((0, 0, 0), 30.0), site=Site.LUNG).chosen.choice is (
        Choice.NEW_TARGET
    )


def test_follow_up_never_creates_targets_and_asks_without_a_selection() -> None:
    r = two_lesion_read()
    plan = plan_assignment(r, FU, line((58.0, 3.0, 0.0), 20.0))
    choices = {o.choice for o in plan.options}
    assert Choice.NEW_TARGET not in choices and Choice.NEW_NON_TARGET not in choices
    assert Choice.NEW_LESION in choices and Choice.ANNOTATION in choices
    assert not plan.automatic
    # nearest first, marked as expected here: T2 (3.6 mm from its baseline centre)
    assert plan.chosen.lesion_uid == "L2" and plan.chosen.near
    assert plan.options[0].lesion_uid == "L2" and plan.options[1].lesion_uid == "L1"


def test_follow_up_selected_lesion_attaches_only_when_near_and_nearest() -> None:
    r = two_lesion_read()
    m = line((2.0, 1.0, 0.0), 20.0)
    plan = plan_assignment(r, FU, m, selected_lesion_uid="L1")
    assert plan.automatic and plan.chosen.lesion_uid == "L1"
    # the wrong row selected (T5 case of the issue): T2 is selected but T1 is where it is drawn
    plan = plan_assignment(r, FU, m, selected_lesion_uid="L2")
    assert not plan.automatic
    assert plan.chosen.lesion_uid == "L1"  # the chooser proposes the lesion expected there
    # far from every lesion: the chooser proposes a new lesion
    far = plan_assignment(r, FU, line((200.0, 0, 0), 20.0), selected_lesion_uid="L1")
    assert not far.automatic and far.chosen.choice is Choice.NEW_LESION


def test_expected_location_goes_through_the_timepoint_alignment() -> None:
    r = two_lesion_read()
    # the follow-up is in frame F1, the patient 40 mm further along x
    m = line((42.0, 0.0, 0.0), 20.0, for_uid="F1")

    def shift(p, a, b):  # type: ignore[no-untyped-def]
        return None if (a, b) != ("F0", "F1") else np.asarray(p) + np.array([40.0, 0, 0])

    plan = plan_assignment(r, FU, m, selected_lesion_uid="L1", mapper=shift)
    assert plan.automatic and plan.chosen.lesion_uid == "L1"
    # without the alignment T1 is 42 mm away, beyond the unaligned tolerance (15 + 10 mm)
    plan = plan_assignment(r, FU, m, selected_lesion_uid="L1")
    assert not plan.automatic
    assert NEAR_MIN_MM <= 30.0


def test_a_lesion_measured_here_is_replaced_explicitly_in_one_step() -> None:
    r = two_lesion_read()
    first = line((1.0, 0.0, 0.0), 20.0)
    r = r.with_measurement(LesionMeasurement(first, "L1", FU.uid))
    second = line((0.0, 1.0, 0.0), 22.0)
    plan = plan_assignment(r, FU, second, selected_lesion_uid="L1")
    assert not plan.automatic and plan.chosen.replaces == first.uid
    s = ReadSession(r, user="dr_a")
    s.execute(AddMeasurement(second, None, FU))
    cmd = assignment_command(s.read, plan.chosen, second.uid, FU.uid)
    assert cmd is not None
    s.execute(cmd)
    assert [lm.uid for lm in s.read.measurements if lm.timepoint_uid == FU.uid] == [second.uid]
    assert s.read.measurement(second.uid).lesion_uid == "L1"
    s.undo()  # one step back: the first measurement is T1's again, the new one unassigned
    assert s.read.measurement(first.uid).lesion_uid == "L1"
    assert s.read.measurement(second.uid).lesion_uid is None


def test_new_lesion_at_follow_up_is_a_recist_new_lesion() -> None:
    r = two_lesion_read()
    m = line((200.0, 0.0, 0.0), 12.0)
    s = ReadSession(r, user="dr_a")
    s.execute(AddMeasurement(m, None, FU))
    plan = plan_assignment(s.read, FU, m)
    cmd = assignment_command(s.read, plan.chosen, m.uid, FU.uid, Site.BONE)
    assert cmd is not None
    s.execute(cmd)
    les = s.read.lesion(s.read.measurement(m.uid).lesion_uid or "")
    assert (les.label, les.role, les.site) == ("N1", LesionRole.NEW, Site.BONE)


def test_ancillary_record_and_recist_read_never_mix() -> None:
    anc = Read.new(patient_id="P", reader="imager", kind=ReadKind.ANCILLARY_MRI_PET)
    with pytest.raises(ValueError, match="never mix"):
        anc.with_lesion(Lesion("X", "T1", LesionRole.TARGET, Site.KIDNEY))
    recist = Read.new(patient_id="P", reader="dr_a")
    with pytest.raises(ValueError, match="never mix"):
        recist.with_lesion(Lesion("X", "A1", LesionRole.ANCILLARY, Site.KIDNEY))
    with pytest.raises(ValueError, match="not a RECIST read"):
        read_to_recist_case(anc)
    a = anc.with_lesion(Lesion("X", "A1", LesionRole.ANCILLARY, Site.KIDNEY))
    assert read_from_json(read_to_json(a)) == a
    assert "kind" not in read_to_json(recist)  # RECIST exports keep their format
    m = line((0, 0, 0), 40.0)
    plan = plan_assignment(a, None, m)
    assert {o.choice for o in plan.options} >= {Choice.NEW_ANCILLARY, Choice.ANNOTATION}
    assert Choice.NEW_TARGET not in {o.choice for o in plan.options}


def test_a_read_belongs_to_its_reader() -> None:
    r = two_lesion_read()
    mine = ReadSession(r, user="dr_a")
    assert not mine.read_only
    mine.execute(SetStatus("L1", FU.uid, LesionStatus.ABSENT))
    theirs = ReadSession(mine.read, user="dr_b")
    assert theirs.read_only and "belongs to dr_a" in (theirs.read_only_reason or "")
    before = theirs.read
    with pytest.raises(NotYourReadError):
        theirs.execute(SetStatus("L1", FU.uid, LesionStatus.PRESENT))
    with pytest.raises(NotYourReadError):
        theirs.execute(CreateLesion(next_lesion(before, LesionRole.TARGET, Site.LUNG)))
    assert theirs.read is before


def test_site_guess_only_says_lung_when_air_surrounds_the_lesion() -> None:
    assert guess_site(np.full(50, -850.0), "CT") is Site.LUNG
    assert guess_site(np.full(50, 60.0), "CT") is None
    assert guess_site(np.full(50, -850.0), "MR") is None
    assert guess_site(np.full(3, -850.0), "CT") is None  # too few samples to say
