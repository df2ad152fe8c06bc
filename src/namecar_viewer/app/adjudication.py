"""Double read and adjudication: two independent reads of a subject are compared through the
RECIST engine; a different overall response at any timepoint, or a different date of
progression, sends the case to the adjudicator, who chooses one read with a reason.  The chosen
read is the case's :func:`effective_read` that reports and exports carry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from namecar_viewer.core.reads.model import Read
from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
from namecar_viewer.core.recist import CaseResult, evaluate
from namecar_viewer.persistence.audit import AuditAction, NewEntry, append
from namecar_viewer.persistence.review import adjudications_table
from namecar_viewer.persistence.users import Role, User


class AdjudicationError(ValueError):
    """An adjudication refused, with the reason to show."""


@dataclass(frozen=True)
class Disagreement:
    """One difference between the two reads: ``what`` is "overall response" or "PD date"."""

    what: str
    timepoint: str
    first: str
    second: str

    def __str__(self) -> str:
        where = f" at {self.timepoint}" if self.timepoint else ""
        return f"{self.what}{where}: {self.first} vs {self.second}"


def _result(read: Read) -> CaseResult:
    return evaluate(read_to_recist_case(read))


def compare_reads(first: Read, second: Read) -> list[Disagreement]:
    """Differences in overall response per timepoint (matched by label) and in PD date."""
    a, b = _result(first), _result(second)
    out: list[Disagreement] = []
    rb = {t.label: t for t in b.timepoints}
    labels = [t.label for t in a.timepoints] + [
        t.label for t in b.timepoints if t.label not in {x.label for x in a.timepoints}
    ]
    ra = {t.label: t for t in a.timepoints}
    for label in labels:
        ta, tb = ra.get(label), rb.get(label)
        va = ta.overall_response.value if ta and ta.overall_response else "not assessed"
        vb = tb.overall_response.value if tb and tb.overall_response else "not assessed"
        if va != vb:
            out.append(Disagreement("overall response", label, va, vb))
    if a.first_pd_date != b.first_pd_date or a.first_pd_label != b.first_pd_label:
        out.append(
            Disagreement(
                "date of progression",
                "",
                _pd(a.first_pd_date, a.first_pd_label),
                _pd(b.first_pd_date, b.first_pd_label),
            )
        )
    return out


def _pd(date: dt.date | None, label: str | None) -> str:
    if label is None:
        return "no progression"
    return f"{label} ({date.isoformat()})" if date else label


def needs_adjudication(first: Read, second: Read) -> bool:
    return bool(compare_reads(first, second))


@dataclass(frozen=True)
class Decision:
    case_uid: str
    adjudicator: str
    chosen_read_uid: str
    reason: str
    decided_utc: dt.datetime


class AdjudicationService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def decide(
        self,
        case_uid: str,
        adjudicator: User,
        first: Read,
        second: Read,
        chosen: str,
        reason: str,
    ) -> Decision:
        if not adjudicator.has(Role.ADJUDICATOR):
            raise AdjudicationError(f"{adjudicator.username} is not an adjudicator.")
        if adjudicator.username in (first.reader, second.reader):
            raise AdjudicationError("An adjudicator cannot adjudicate a case they read.")
        if chosen not in (first.uid, second.uid):
            raise AdjudicationError("Choose one of the two reads.")
        if not reason.strip():
            raise AdjudicationError("An adjudication needs a reason.")
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(
                adjudications_table.insert().values(
                    case_uid=case_uid,
                    adjudicator=adjudicator.username,
                    chosen_read_uid=chosen,
                    reason=reason.strip(),
                    decided_utc=now,
                    row_version=1,
                )
            )
            append(
                conn,
                [
                    NewEntry(
                        adjudicator.username,
                        AuditAction.ADJUDICATE,
                        "case",
                        case_uid,
                        None,
                        {
                            "chosen_read": chosen,
                            "differences": [str(d) for d in compare_reads(first, second)],
                        },
                        reason=reason.strip(),
                        read_uid=chosen,
                    )
                ],
            )
        return Decision(case_uid, adjudicator.username, chosen, reason.strip(), now)

    def decision(self, case_uid: str) -> Decision | None:
        t = adjudications_table
        with self.engine.connect() as conn:
            r = conn.execute(select(t).where(t.c.case_uid == case_uid)).first()
        if r is None:
            return None
        return Decision(r.case_uid, r.adjudicator, r.chosen_read_uid, r.reason, r.decided_utc)

    def effective_read(self, case_uid: str, first: Read, second: Read | None = None) -> Read:
        """What reports and exports carry: the single read, the agreed first read, or the
        adjudicator's choice.  Raises AdjudicationError while a disagreement is undecided."""
        if second is None:
            return first
        d = self.decision(case_uid)
        if d is not None:
            return first if d.chosen_read_uid == first.uid else second
        diffs = compare_reads(first, second)
        if diffs:
            raise AdjudicationError(
                "The two reads disagree (" + "; ".join(map(str, diffs)) + "): the case awaits "
                "adjudication and has no result to report yet."
            )
        return first
