"""What a blinded central reader may see, in one place for the GUI, the reports and the exports.

Central review in a trial is blinded: the reader must not learn who the patient is, where or when
they were scanned, which arm they are in, or what the other reader concluded. Every layer that
shows or writes text goes through this module so that the rule is written once:

- :class:`BlindingPolicy` says which :class:`IdentifierKind` are hidden (all of them by default);
- :func:`blind_text` replaces an identifying value by a neutral placeholder;
- :func:`blind_date` turns a calendar date into days from the baseline (``"Day 182"``);
- :func:`blinded_subject_label` gives a stable pseudonym for the trial subject ID;
- :class:`Redactor` removes known identifying values from free text (descriptions, file names,
  report paragraphs) before it is shown or exported.

Qt-free (``app/`` layer).

Examples
--------
>>> import datetime as dt
>>> blind_date(dt.date(2025, 7, 16), dt.date(2025, 1, 15))
'Day 182'
>>> blind_date("20250115", "2025-01-15")
'Day 0'
>>> blind_text("NAMECAR^DEMO", IdentifierKind.PATIENT_NAME)
'(blinded)'
>>> blind_text("NAMECAR^DEMO", IdentifierKind.PATIENT_NAME, BlindingPolicy.open())
'NAMECAR^DEMO'
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

BLINDED = "(blinded)"
"""Placeholder shown instead of a hidden value."""

DEFAULT_PSEUDONYM_KEY = "namecar-central-review"
"""Key of the subject pseudonym when the reading centre sets none (settings may override it)."""


class IdentifierKind(Enum):
    """Kinds of values a blinded reader must not see."""

    PATIENT_NAME = "patient name"
    PATIENT_ID = "patient ID"
    BIRTH_DATE = "birth date"
    INSTITUTION = "institution"
    ACCESSION = "accession number"
    DATE = "calendar date"
    TREATMENT_ARM = "treatment arm"
    OTHER_READER = "other reader's result"
    SUBJECT_ID = "trial subject ID"


ALL_KINDS: frozenset[IdentifierKind] = frozenset(IdentifierKind)

# DICOM attributes holding each kind of value (keywords, for Redactor.from_dataset).
DICOM_KEYWORDS: dict[IdentifierKind, tuple[str, ...]] = {
    IdentifierKind.PATIENT_NAME: ("PatientName", "OtherPatientNames", "PatientMotherBirthName"),
    IdentifierKind.PATIENT_ID: ("PatientID", "OtherPatientIDs", "IssuerOfPatientID"),
    IdentifierKind.BIRTH_DATE: ("PatientBirthDate",),
    IdentifierKind.INSTITUTION: (
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "StationName",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
    ),
    IdentifierKind.ACCESSION: ("AccessionNumber", "StudyID"),
    IdentifierKind.DATE: (
        "StudyDate",
        "SeriesDate",
        "AcquisitionDate",
        "ContentDate",
        "InstanceCreationDate",
    ),
    IdentifierKind.SUBJECT_ID: ("ClinicalTrialSubjectID",),
}


def parse_date(value: Any) -> dt.date | None:
    """A calendar date from a date, datetime, DICOM DA/DT (``20250115``) or ISO text.

    Returns None for empty or unparseable input (the caller shows "Day ?").
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    digits = text.replace("-", "").replace(".", "").replace("/", "")
    if len(digits) >= 8 and digits[:8].isdigit():
        try:
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            return None
    return None


def days_from_baseline(date: Any, baseline_date: Any) -> int | None:
    """Whole days from the baseline (baseline itself is day 0), or None if either is unknown."""
    d, b = parse_date(date), parse_date(baseline_date)
    if d is None or b is None:
        return None
    return (d - b).days


def day_label(days: int | None) -> str:
    """``"Day 182"``; ``"Day ?"`` when unknown."""
    return "Day ?" if days is None else f"Day {days}"


def blinded_subject_label(subject_id: str, key: str = DEFAULT_PSEUDONYM_KEY) -> str:
    """Stable pseudonym of a trial subject ID: the same subject always gets the same label.

    A keyed hash (HMAC-SHA256) so the label cannot be reversed by hashing guessed subject IDs
    without the reading centre's key.

    >>> blinded_subject_label("NAMECAR-001") == blinded_subject_label("NAMECAR-001")
    True
    >>> blinded_subject_label("NAMECAR-001").startswith("Subject ")
    True
    """
    digest = hmac.new(key.encode(), subject_id.strip().encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:6]
    return f"Subject {code}"


@dataclass(frozen=True)
class BlindingPolicy:
    """Which kinds of value are hidden.

    ``BlindingPolicy()`` hides everything (the central-review default); :meth:`open` hides nothing
    (a local site reading its own patients).
    """

    hidden: frozenset[IdentifierKind] = ALL_KINDS
    pseudonym_key: str = DEFAULT_PSEUDONYM_KEY

    @classmethod
    def open(cls) -> BlindingPolicy:
        return cls(hidden=frozenset())

    @classmethod
    def for_mode(cls, blinded: bool) -> BlindingPolicy:
        return cls() if blinded else cls.open()

    @property
    def enabled(self) -> bool:
        return bool(self.hidden)

    def hides(self, kind: IdentifierKind) -> bool:
        return kind in self.hidden

    def text(self, value: Any, kind: IdentifierKind) -> str:
        return blind_text(value, kind, self)

    def date(self, date: Any, baseline_date: Any) -> str:
        """Calendar date as shown: ``Day N`` when dates are hidden, ISO ``YYYY-MM-DD`` otherwise."""
        if self.hides(IdentifierKind.DATE):
            return blind_date(date, baseline_date)
        d = parse_date(date)
        return d.isoformat() if d is not None else ("" if date is None else str(date))

    def subject(self, subject_id: str) -> str:
        """The subject as shown: the pseudonym when subject IDs are hidden."""
        if self.hides(IdentifierKind.SUBJECT_ID):
            return blinded_subject_label(subject_id, self.pseudonym_key)
        return subject_id

    def may_see_reader_result(self, viewer: str, owner: str, *, adjudicating: bool = False) -> bool:
        """A reader sees only their own results; the adjudicator sees both while adjudicating."""
        if not self.hides(IdentifierKind.OTHER_READER):
            return True
        return adjudicating or viewer == owner


BLINDED_POLICY = BlindingPolicy()
OPEN_POLICY = BlindingPolicy.open()


def blind_text(value: Any, kind: IdentifierKind, policy: BlindingPolicy = BLINDED_POLICY) -> str:
    """The value as a blinded reader may see it.

    Dates become ``Day ?`` (use :func:`blind_date` when the baseline is known), subject IDs their
    pseudonym, everything else :data:`BLINDED`. Empty values stay empty.
    """
    text = "" if value is None else str(value)
    if not policy.hides(kind) or not text.strip():
        return text
    if kind is IdentifierKind.DATE:
        return "Day ?"
    if kind is IdentifierKind.SUBJECT_ID:
        return blinded_subject_label(text, policy.pseudonym_key)
    return BLINDED


def blind_date(date: Any, baseline_date: Any) -> str:
    """A calendar date as days from the baseline (2025-07-16 from 2025-01-15 is ``"Day 182"``)."""
    return day_label(days_from_baseline(date, baseline_date))


def _date_spellings(d: dt.date) -> set[str]:
    return {
        d.strftime("%Y%m%d"),
        d.isoformat(),
        d.strftime("%d.%m.%Y"),
        d.strftime("%d/%m/%Y"),
        d.strftime("%m/%d/%Y"),
        d.strftime("%d %b %Y"),
        d.strftime("%d %B %Y"),
        d.strftime("%b %d, %Y"),
        d.strftime("%B %d, %Y"),
    }


@dataclass
class Redactor:
    """Removes known identifying values from free text.

    Built from the values of the loaded patient (:meth:`from_dataset` or :meth:`add`); dates are
    replaced by days from ``baseline_date`` and every spelling of them is caught (``20250115``,
    ``2025-01-15``, ``15.01.2025``, ``15 Jan 2025``...). Person names are also removed part by
    part (``DEMO`` of ``NAMECAR^DEMO``) when the part is at least 3 characters and is not in
    ``keep`` (words such as the trial's own name that must stay readable).
    """

    policy: BlindingPolicy = field(default_factory=BlindingPolicy)
    baseline_date: dt.date | None = None
    keep: frozenset[str] = frozenset({"NAMECAR"})
    _values: dict[str, str] = field(default_factory=dict)
    _dates: set[dt.date] = field(default_factory=set)

    def add(self, kind: IdentifierKind, value: Any) -> None:
        """Register one identifying value of the given kind."""
        if not self.policy.hides(kind) or value is None:
            return
        if kind in (IdentifierKind.DATE, IdentifierKind.BIRTH_DATE):
            d = parse_date(value)
            if d is not None:
                if kind is IdentifierKind.DATE:
                    self._dates.add(d)
                else:
                    for s in _date_spellings(d):
                        self._values[s] = BLINDED
            return
        text = str(value).strip()
        if not text:
            return
        repl = blind_text(text, kind, self.policy)
        self._values[text] = repl
        if kind is IdentifierKind.PATIENT_NAME:
            parts = [p.strip() for p in re.split(r"[\^,\s]+", text) if p.strip()]
            self._values[" ".join(parts)] = repl
            self._values[", ".join(parts)] = repl
            for p in parts:
                if len(p) >= 3 and p.upper() not in {k.upper() for k in self.keep}:
                    self._values[p] = repl

    def add_many(self, kind: IdentifierKind, values: Iterable[Any]) -> None:
        for v in values:
            self.add(kind, v)

    @classmethod
    def from_dataset(
        cls,
        datasets: Iterable[Any] | Any,
        policy: BlindingPolicy | None = None,
        baseline_date: Any = None,
    ) -> Redactor:
        """A redactor knowing the identifying attributes of pydicom datasets (or mappings)."""
        red = cls(policy=policy or BlindingPolicy(), baseline_date=parse_date(baseline_date))
        items = datasets if isinstance(datasets, (list, tuple, set)) else [datasets]
        for ds in items:
            for kind, keywords in DICOM_KEYWORDS.items():
                for kw in keywords:
                    v = ds.get(kw) if isinstance(ds, Mapping) else getattr(ds, kw, None)
                    if v is None or v == "":
                        continue
                    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
                        red.add_many(kind, [str(x) for x in v])
                    else:
                        red.add(kind, str(v))
        return red

    def __call__(self, text: Any) -> str:
        return self.redact(text)

    def redact(self, text: Any) -> str:
        """``text`` with every registered value replaced (longest first)."""
        out = "" if text is None else str(text)
        if not out:
            return out
        for d in sorted(self._dates):
            label = blind_date(d, self.baseline_date) if self.baseline_date else "Day ?"
            for s in sorted(_date_spellings(d), key=len, reverse=True):
                if s in out:
                    out = out.replace(s, label)
        for value in sorted(self._values, key=len, reverse=True):
            if value and value in out:
                # Whole words only, so "DEMO" does not eat "DEMOGRAPHICS".
                pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
                repl = self._values[value]
                out = re.sub(pattern, lambda _m: repl, out)  # noqa: B023 - used at once
        return out

    @property
    def values(self) -> list[str]:
        """The registered literal values (the things that must not leak)."""
        return sorted(self._values) + [s for d in self._dates for s in sorted(_date_spellings(d))]
