"""Blinding policy: placeholders, days from baseline, pseudonyms, free-text redaction."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest

from namecar_viewer.app import blinding
from namecar_viewer.app.blinding import (
    BLINDED,
    BlindingPolicy,
    IdentifierKind,
    Redactor,
    blind_date,
    blind_text,
    blinded_subject_label,
)


def test_doctests() -> None:
    assert doctest.testmod(blinding).failed == 0


@pytest.mark.parametrize(
    ("date", "baseline", "expected"),
    [
        # 2025-01-15 -> 2025-07-16: 16 (rest of Jan) + 28 + 31 + 30 + 31 + 30 + 16 = 182
        (dt.date(2025, 7, 16), dt.date(2025, 1, 15), "Day 182"),
        ("20250115", "20250115", "Day 0"),
        # demo inclusion 2025-07-10: 16 + 28 + 31 + 30 + 31 + 30 + 10 = 176
        ("2025-07-10", "20250115", "Day 176"),
        # before baseline is negative
        (dt.date(2025, 1, 1), dt.date(2025, 1, 15), "Day -14"),
        (dt.datetime(2026, 1, 15, 9, 30), dt.date(2025, 1, 15), "Day 365"),
        (None, dt.date(2025, 1, 15), "Day ?"),
        ("garbage", dt.date(2025, 1, 15), "Day ?"),
    ],
)
def test_blind_date(date: object, baseline: object, expected: str) -> None:
    assert blind_date(date, baseline) == expected


def test_blind_text_per_kind_and_open_policy() -> None:
    for kind in (
        IdentifierKind.PATIENT_NAME,
        IdentifierKind.PATIENT_ID,
        IdentifierKind.BIRTH_DATE,
        IdentifierKind.INSTITUTION,
        IdentifierKind.ACCESSION,
        IdentifierKind.TREATMENT_ARM,
        IdentifierKind.OTHER_READER,
    ):
        assert blind_text("secret", kind) == BLINDED
        assert blind_text("secret", kind, BlindingPolicy.open()) == "secret"
    assert blind_text("", IdentifierKind.PATIENT_NAME) == ""
    assert blind_text("20250115", IdentifierKind.DATE) == "Day ?"
    label = blind_text("NAMECAR-001", IdentifierKind.SUBJECT_ID)
    assert label.startswith("Subject ") and "001" not in label


def test_subject_pseudonym_stable_keyed_and_distinct() -> None:
    a = blinded_subject_label("NAMECAR-001")
    assert a == blinded_subject_label(" NAMECAR-001 ")
    assert a != blinded_subject_label("NAMECAR-002")
    assert a != blinded_subject_label("NAMECAR-001", key="other centre")
    assert len(a) == len("Subject ") + 6


def test_policy_dates_and_other_readers() -> None:
    base = dt.date(2025, 1, 15)
    assert BlindingPolicy().date("20251009", base) == "Day 267"  # 16+28+31+30+31+30+31+31+30+9
    assert BlindingPolicy.open().date("20251009", base) == "2025-10-09"
    pol = BlindingPolicy()
    assert pol.may_see_reader_result("alice", "alice")
    assert not pol.may_see_reader_result("alice", "bob")
    assert pol.may_see_reader_result("carol", "bob", adjudicating=True)
    assert BlindingPolicy.open().may_see_reader_result("alice", "bob")


def test_redactor_catches_every_spelling() -> None:
    ds = {
        "PatientName": "NAMECAR^DEMO",
        "PatientID": "NAMECAR-001",
        "PatientBirthDate": "19630412",
        "InstitutionName": "NAMECAR demo",
        "AccessionNumber": "NCDEMO0001",
        "StudyDate": "20250115",
        "ClinicalTrialSubjectID": "NAMECAR-001",
    }
    red = Redactor.from_dataset(ds, baseline_date="20250115")
    text = (
        "Patient NAMECAR^DEMO (NAMECAR DEMO, id NAMECAR-001) born 1963-04-12 at NAMECAR demo,"
        " accession NCDEMO0001, scanned 2025-01-15 / 20250115 / 15.01.2025; DEMO again."
        " Trial NAMECAR, DEMOGRAPHICS stays."
    )
    out = red(text)
    for leaked in (
        "NAMECAR^DEMO",
        "NAMECAR DEMO",
        "NAMECAR-001",
        "1963-04-12",
        "NAMECAR demo",
        "NCDEMO0001",
        "2025-01-15",
        "20250115",
        "15.01.2025",
        " DEMO ",
    ):
        assert leaked not in out, (leaked, out)
    assert "Day 0" in out
    assert "Trial NAMECAR" in out  # the trial's own name is kept
    assert "DEMOGRAPHICS" in out  # whole words only for short name parts
    # open policy changes nothing
    assert Redactor.from_dataset(ds, policy=BlindingPolicy.open())(text) == text
