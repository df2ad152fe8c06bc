"""Double read and adjudication: two independent reads of a subject are compared through the
RECIST engine; a different overall response at any timepoint, or a different date of
progression, sends the case to the adjudicator, who chooses one read with a reason.  The chosen
read is the case's :func:`effective_read` that reports and exports carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# --- what an export of a case carries ---------------------------------------------------------


@dataclass(frozen=True)
class ExportChoice:
    """The read an export carries: ``read``; ``case`` names the double-read case it came from
    (None for a read outside any double read); ``note`` says what was chosen (empty when the
    read is simply the one asked for)."""

    read: Read
    case: str | None = None
    note: str = ""


def _double_read_cases(
    engine: Engine, *, read_uid: str | None, patient_id: str | None
) -> list[tuple[Any, list[str]]]:
    """(case row, read uids of its read assignments in assignment order) of the cases with two
    reads that involve ``read_uid`` or belong to ``patient_id`` (patient or trial subject ID)."""
    from sqlalchemy import and_, or_

    from namecar_viewer.persistence.review import assignments_table as a
    from namecar_viewer.persistence.review import cases_table as c

    with engine.connect() as conn:
        if read_uid is not None:
            mine = select(a.c.case_uid).where(and_(a.c.read_uid == read_uid, a.c.task == "read"))
            cases = conn.execute(select(c).where(c.c.uid.in_(mine))).all()
        else:
            cases = conn.execute(
                select(c).where(or_(c.c.patient_id == patient_id, c.c.subject_id == patient_id))
            ).all()
        out = []
        for case in cases:
            rows = conn.execute(
                select(a.c.read_uid)
                .where(
                    and_(a.c.case_uid == case.uid, a.c.task == "read", a.c.read_uid.is_not(None))
                )
                .order_by(a.c.uid)
            ).all()
            uids = list(dict.fromkeys(str(r.read_uid) for r in rows))
            if len(uids) >= 2:
                out.append((case, uids[:2]))
    return out


def read_for_export(
    engine: Engine,
    load_read: Callable[[str], Read],
    *,
    read_uid: str | None = None,
    patient_id: str | None = None,
    name_subject: Callable[[str], str] = str,
) -> ExportChoice | None:
    """What an export of ``read_uid`` (or of patient ``patient_id``) must carry (issue 8:
    "the adjudicated result is what the reports and exports carry").

    The double-read cases (worklist case with two reads) involving the read or the patient are
    resolved through :meth:`AdjudicationService.effective_read`: the adjudicator's choice, or
    the first read when both agree.  The latest case in timepoint order decides.  Returns None
    when no double-read case is involved (a single read exports as it is).  Raises
    :class:`AdjudicationError` naming the case (``name_subject`` shows the subject, a pseudonym
    when blinded) while a disagreement is undecided.
    """
    if (read_uid is None) == (patient_id is None):
        raise ValueError("Give exactly one of read_uid and patient_id.")
    cases = _double_read_cases(engine, read_uid=read_uid, patient_id=patient_id)
    if not cases:
        return None
    service = AdjudicationService(engine)
    loaded: dict[str, Read] = {}

    def load(uid: str) -> Read:
        if uid not in loaded:
            loaded[uid] = load_read(uid)
        return loaded[uid]

    def order(item: tuple[Any, list[str]]) -> int:
        case, uids = item
        labels = [tp.label.upper() for tp in load(uids[0]).ordered_timepoints()]
        label = str(case.timepoint_label).upper()
        return labels.index(label) if label in labels else -1

    cases.sort(key=order)
    chosen: list[tuple[str, Read]] = []
    for case, (first, second) in cases:
        name = f"case {name_subject(str(case.subject_id))} {case.timepoint_label}"
        try:
            eff = service.effective_read(case.uid, load(first), load(second))
        except AdjudicationError as exc:
            raise AdjudicationError(f"Cannot export {name}: {exc}") from exc
        chosen.append((name, eff))
    name, read = chosen[-1]
    decided = service.decision(cases[-1][0].uid)
    how = "adjudicated" if decided is not None else "both reads agree"
    note = f"{name}: exporting read {read.uid} ({how})"
    others = [n for n, r in chosen[:-1] if r.uid != read.uid]
    if others:
        note += f"; {', '.join(others)} chose the other read, the latest case decides"
    return ExportChoice(read, name, note)
