"""NAMECAR eligibility checklist (app/eligibility.py) on the demo read.

The demo patient's RECIST part (pre-treatment baseline vs inclusion) is eligible: metastatic sum
108 -> 24 mm, (24 - 108) / 108 = -77.8 % (more than 75 % shrinkage), primary T1 excluded.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_response_demo_read import demo_read

from namecar_viewer.app.eligibility import (
    Answer,
    CriteriaError,
    CriterionKind,
    Decision,
    EligibilityModel,
    answer_command,
    answers,
    decide,
    is_answer_command,
    load_criteria,
)
from namecar_viewer.app.read_session import ReadSession, SetReadSetting, SetStatus
from namecar_viewer.core.reads import LesionStatus
from namecar_viewer.persistence.reads_db import SCHEMA_VERSION, ReadsDatabase

WHEN = dt.datetime(2025, 7, 15, 10, 30, tzinfo=dt.UTC)


def answer_all(session: ReadSession, criteria: Any, by: str = "Dr Local") -> None:
    for c in criteria.criteria:
        if c.auto is None:
            session.execute(answer_command(c, c.required, by, WHEN))


def test_shipped_criteria_are_7_inclusion_10_exclusion_and_marked_draft() -> None:
    crit = load_criteria()
    assert [c.id for c in crit.inclusion] == [f"I{n}" for n in range(1, 8)]
    assert [c.id for c in crit.exclusion] == [f"E{n}" for n in range(1, 11)]
    assert "to be checked against the approved protocol version" in crit.wording_status
    assert "NOT the official protocol text" in crit.wording_status
    auto = [c for c in crit.criteria if c.auto]
    assert [c.id for c in auto] == ["I4"] and "75%" in auto[0].text


def test_bad_criteria_file_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "crit.json"
    p.write_text(json.dumps({"wording_status": "draft", "inclusion": [], "exclusion": []}))
    with pytest.raises(CriteriaError, match=r"crit\.json.*\"inclusion\" must list 7 criteria"):
        load_criteria(p)
    p.write_text("{not json")
    with pytest.raises(CriteriaError, match="not valid JSON"):
        load_criteria(p)


def test_decision_incomplete_then_eligible_then_not(ground_truth: dict[str, Any]) -> None:
    crit = load_criteria()
    session = ReadSession(demo_read(ground_truth))
    d = decide(session.read, crit)
    # RECIST part filled automatically, 16 typed criteria unanswered
    assert d.item("I4").automatic and d.item("I4").answer is Answer.YES
    assert d.item("I4").detail.startswith("Eligible: metastatic PR -77.8%, primary excluded")
    assert d.decision is Decision.INCOMPLETE
    assert len(d.reasons) == 16 and d.reasons[0] == "Inclusion 1 (I1) not answered"
    answer_all(session, crit)
    d = decide(session.read, crit)
    assert d.decision is Decision.ELIGIBLE, d.reasons
    assert d.item("E3").answer is Answer.NO and d.item("E3").by == "Dr Local"
    assert d.item("E3").at == WHEN
    assert d.reasons[0].startswith("All 7 inclusion criteria met and none of the 10 exclusion")
    # one unknown -> incomplete
    session.execute(answer_command(crit.get("I6"), Answer.UNKNOWN, "Dr Local", WHEN))
    d = decide(session.read, crit)
    assert d.decision is Decision.INCOMPLETE
    assert d.reasons == ("Inclusion 6 (I6) unknown",)
    # brain metastases: exclusion answered yes -> not eligible, even with I6 unknown
    session.execute(answer_command(crit.get("E3"), Answer.YES, "Dr Other", WHEN))
    d = decide(session.read, crit)
    assert d.decision is Decision.NOT_ELIGIBLE
    assert d.reasons[0].startswith("Exclusion 3 (E3) answered yes by Dr Other: Brain metastases")
    # undo restores the previous answer
    session.undo()
    assert answers(session.read)["E3"].answer is Answer.NO


def test_recist_part_follows_the_read(ground_truth: dict[str, Any]) -> None:
    crit = load_criteria()
    session = ReadSession(demo_read(ground_truth))
    answer_all(session, crit)
    model = EligibilityModel(session, crit)
    seen: list[Any] = []
    model.changed.connect(seen.append)
    assert model.decision.decision is Decision.ELIGIBLE
    # the bone non-target unequivocally progressing at inclusion -> RECIST criterion not met
    session.execute(SetStatus("L-NT1", "TP-inclusion", LesionStatus.UNEQUIVOCAL_PROGRESSION))
    assert len(seen) == 1
    d = model.decision
    assert d.decision is Decision.NOT_ELIGIBLE and d.item("I4").answer is Answer.NO
    assert "metastatic non-target progression of NT1" in d.reasons[0]
    # not evaluated at inclusion -> incomplete
    session.execute(SetStatus("L-NT1", "TP-inclusion", LesionStatus.NOT_EVALUABLE))
    assert model.decision.decision is Decision.INCOMPLETE
    assert "Incomplete: metastatic NT1 not evaluated" in model.decision.reasons[0]


def test_auto_criterion_and_anonymous_answers_refused() -> None:
    crit = load_criteria()
    with pytest.raises(ValueError, match="filled from the read"):
        answer_command(crit.get("I4"), Answer.YES, "Dr Local")
    with pytest.raises(ValueError, match="needs the name"):
        answer_command(crit.get("I1"), Answer.YES, "  ")
    assert crit.get("E1").kind is CriterionKind.EXCLUSION


def test_answers_persist_and_reopen(ground_truth: dict[str, Any], tmp_path: Path) -> None:
    crit = load_criteria()
    path = tmp_path / "reads.sqlite"
    db = ReadsDatabase(path)
    session = ReadSession(demo_read(ground_truth), db)
    answer_all(session, crit)
    session.execute(
        answer_command(crit.get("E5"), Answer.UNKNOWN, "Dr Nurse", WHEN, "awaiting test")
    )
    db.close()
    again = ReadsDatabase(path)
    reopened = ReadSession.open(again, "READ-DEMO")
    assert reopened.read == session.read
    rec = answers(reopened.read)
    assert len(rec) == 16
    assert rec["E5"].answer is Answer.UNKNOWN and rec["E5"].by == "Dr Nurse"
    assert rec["E5"].note == "awaiting test" and rec["E5"].at == WHEN
    d = decide(reopened.read, crit)
    assert d.decision is Decision.INCOMPLETE and d.reasons == ("Exclusion 5 (E5) unknown",)
    # a later edit in the reopened session is committed at once
    reopened.execute(answer_command(crit.get("E5"), Answer.NO, "Dr Nurse", WHEN))
    again.close()
    assert decide(ReadsDatabase(path).load_read("READ-DEMO"), crit).decision is Decision.ELIGIBLE
    with sqlite3.connect(path) as con:
        n = con.execute(
            "SELECT count(*) FROM read_settings WHERE read_uid = 'READ-DEMO'"
        ).fetchone()[0]
    assert n == 16


def test_version_1_database_gains_the_settings_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    ReadsDatabase(path).close()
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE read_settings")
        con.execute("UPDATE schema_version SET version = 1")
    db = ReadsDatabase(path)
    assert db.schema_version() == SCHEMA_VERSION == 3
    with sqlite3.connect(path) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "read_settings" in names


def test_is_answer_command_tells_answers_from_other_edits() -> None:
    """The eligibility window undoes answers only (gui/eligibility.py, Ctrl+Z)."""
    i1 = load_criteria().get("I1")
    assert is_answer_command(answer_command(i1, Answer.YES, "dr.site", WHEN))
    assert is_answer_command(answer_command(i1, None, "dr.site"))  # clearing is an answer too
    assert not is_answer_command(SetReadSetting("recist/baseline", '"x"'))
    assert not is_answer_command(None)
