"""NAMECAR eligibility checklist for local sites: the protocol's criteria, answers, decision.

Inclusion criteria 1-7 and exclusion criteria 1-10 are answered yes / no / unknown, each answer
stored with who gave it and when, as a read setting (``eligibility/I1`` ...) through the
:class:`~namecar_viewer.app.read_session.ReadSession` command path: undoable and committed at
once with the read.  The RECIST criterion (CR or metastatic PR > 75 %, pre-treatment baseline
vs the inclusion scan, primary excluded) is filled from the read by the RECIST engine
(:mod:`namecar_viewer.app.response`), never typed.

Decision: *not eligible* when an inclusion criterion is answered no or an exclusion criterion
yes; otherwise *incomplete* while any answer is unknown or missing; otherwise *eligible*.

The criteria texts ship in ``resources/namecar_eligibility_criteria.json`` (found through
:mod:`namecar_viewer.resources`): short wording
derived from the public trial summary, marked as to be checked against the approved protocol
version (the view shows that mark).  Qt-free.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from namecar_viewer import resources
from namecar_viewer.app.read_follower import ReadFollower
from namecar_viewer.app.read_session import ReadSession, SetReadSetting
from namecar_viewer.app.response import (
    EligibilityStatus,
    ResponseReport,
    evaluate_read,
)
from namecar_viewer.core.reads.model import Read

CRITERIA_RESOURCE = resources.ELIGIBILITY_CRITERIA
ANSWER_PREFIX = "eligibility/"
AUTO_RECIST = "recist_cr_or_mpr"
N_INCLUSION = 7  # NAMECAR protocol: inclusion criteria 1-7
N_EXCLUSION = 10  # NAMECAR protocol: exclusion criteria 1-10


class CriteriaError(ValueError):
    """The criteria file is missing or malformed (the message names file and field)."""


class CriterionKind(enum.Enum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


class Answer(enum.Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Decision(enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not eligible"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Criterion:
    """One protocol criterion; ``auto`` names what fills it from the read (else typed)."""

    id: str
    kind: CriterionKind
    number: int
    text: str
    auto: str | None = None

    @property
    def required(self) -> Answer:
        """The answer that keeps the patient eligible."""
        return Answer.YES if self.kind is CriterionKind.INCLUSION else Answer.NO

    @property
    def title(self) -> str:
        return f"{self.kind.value.capitalize()} {self.number}"


@dataclass(frozen=True)
class CriteriaSet:
    trial: str
    wording_status: str
    source: str
    criteria: tuple[Criterion, ...]
    path: str

    @property
    def inclusion(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind is CriterionKind.INCLUSION)

    @property
    def exclusion(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind is CriterionKind.EXCLUSION)

    def get(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(f"No criterion {cid} in {self.path}.")


def load_criteria(path: str | Path | None = None) -> CriteriaSet:
    """The shipped criteria (or ``path``); :class:`CriteriaError` names the file and field."""
    if path is None:
        try:
            path = resources.resource_path(CRITERIA_RESOURCE)
        except FileNotFoundError as exc:
            raise CriteriaError(f"Cannot read the eligibility criteria: {exc}") from exc
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CriteriaError(f"Cannot read the eligibility criteria {where}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CriteriaError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CriteriaError(f"{where}: expected a JSON object at the top level.")
    status = data.get("wording_status")
    if not isinstance(status, str) or not status.strip():
        raise CriteriaError(
            f'{where}: "wording_status" must say how the wording relates to the approved protocol.'
        )
    out: list[Criterion] = []
    for kind, count in (
        (CriterionKind.INCLUSION, N_INCLUSION),
        (CriterionKind.EXCLUSION, N_EXCLUSION),
    ):
        items = data.get(kind.value)
        if not isinstance(items, list) or len(items) != count:
            raise CriteriaError(
                f'{where}: "{kind.value}" must list {count} criteria, '
                f"found {len(items) if isinstance(items, list) else 'none'}."
            )
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict) or not str(item.get("text", "")).strip():
                raise CriteriaError(f'{where}: {kind.value} criterion {n} needs a "text".')
            cid = str(item.get("id") or f"{kind.value[0].upper()}{n}")
            auto = item.get("auto")
            if auto is not None and auto != AUTO_RECIST:
                raise CriteriaError(
                    f'{where}: {cid} "auto" must be "{AUTO_RECIST}" or absent, got {auto!r}.'
                )
            out.append(Criterion(cid, kind, n, str(item["text"]).strip(), auto))
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise CriteriaError(f"{where}: criterion ids must be unique, repeated: {', '.join(dup)}.")
    return CriteriaSet(
        str(data.get("trial", "NAMECAR")),
        status.strip(),
        str(data.get("source", "")),
        tuple(out),
        where,
    )


# --- answers stored with the read ------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRecord:
    """One typed answer: what, who, when (UTC), optional note."""

    answer: Answer
    by: str
    at: dt.datetime
    note: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "answer": self.answer.value,
                "by": self.by,
                "at": self.at.isoformat(),
                "note": self.note,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AnswerRecord:
        d: dict[str, Any] = json.loads(text)
        return cls(
            Answer(d["answer"]),
            str(d.get("by", "")),
            dt.datetime.fromisoformat(d["at"]),
            str(d.get("note", "")),
        )


def answers(read: Read) -> dict[str, AnswerRecord]:
    """Answers stored with the read, by criterion id (unreadable entries skipped)."""
    out: dict[str, AnswerRecord] = {}
    for key, raw in read.settings.items():
        if not key.startswith(ANSWER_PREFIX):
            continue
        try:
            out[key[len(ANSWER_PREFIX) :]] = AnswerRecord.from_json(raw)
        except (ValueError, KeyError, TypeError):
            continue
    return out


def answer_command(
    criterion: Criterion,
    answer: Answer | None,
    by: str,
    at: dt.datetime | None = None,
    note: str = "",
) -> SetReadSetting:
    """The undoable command recording (or with ``None`` clearing) one answer."""
    if criterion.auto is not None:
        raise ValueError(f"{criterion.id} is filled from the read, not answered by hand.")
    if answer is not None and not by.strip():
        raise ValueError(f"An answer to {criterion.id} needs the name of who gives it.")
    key = ANSWER_PREFIX + criterion.id
    if answer is None:
        return SetReadSetting(key, None, f"Clear answer to {criterion.title}")
    when = at if at is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
    rec = AnswerRecord(answer, by.strip(), when, note)
    return SetReadSetting(key, rec.to_json(), f"{criterion.title}: {answer.value}")


def is_answer_command(command: object) -> bool:
    """True for a command of :func:`answer_command` (what the eligibility window may undo)."""
    return isinstance(command, SetReadSetting) and command.key.startswith(ANSWER_PREFIX)


# --- decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    criterion: Criterion
    answer: Answer
    by: str
    at: dt.datetime | None
    automatic: bool
    detail: str = ""
    note: str = ""

    @property
    def answered(self) -> bool:
        return self.answer is not Answer.UNKNOWN

    @property
    def satisfied(self) -> bool | None:
        """True when the answer keeps the patient eligible, None when unknown."""
        if self.answer is Answer.UNKNOWN:
            return None
        return self.answer is self.criterion.required


@dataclass(frozen=True)
class EligibilityDecision:
    decision: Decision
    reasons: tuple[str, ...]
    items: tuple[ChecklistItem, ...]
    recist_line: str

    @property
    def headline(self) -> str:
        return {
            Decision.ELIGIBLE: "Eligible",
            Decision.NOT_ELIGIBLE: "Not eligible",
            Decision.INCOMPLETE: "Incomplete",
        }[self.decision]

    def item(self, cid: str) -> ChecklistItem:
        for it in self.items:
            if it.criterion.id == cid:
                return it
        raise KeyError(cid)


_RECIST_ANSWER = {
    EligibilityStatus.ELIGIBLE: Answer.YES,
    EligibilityStatus.NOT_ELIGIBLE: Answer.NO,
    EligibilityStatus.INCOMPLETE: Answer.UNKNOWN,
}


def decide(
    read: Read, criteria: CriteriaSet, report: ResponseReport | None = None
) -> EligibilityDecision:
    """The checklist with the RECIST criterion filled from the read, and the decision."""
    rep = report if report is not None else evaluate_read(read)
    recorded = answers(read)
    items: list[ChecklistItem] = []
    reader = read.reader or "the reader"
    for c in criteria.criteria:
        if c.auto == AUTO_RECIST:
            items.append(
                ChecklistItem(
                    c,
                    _RECIST_ANSWER[rep.eligibility.status],
                    f"RECIST, read by {reader}",
                    None,
                    True,
                    rep.eligibility.text,
                )
            )
            continue
        rec = recorded.get(c.id)
        if rec is None:
            items.append(ChecklistItem(c, Answer.UNKNOWN, "", None, False, "not answered"))
        else:
            items.append(ChecklistItem(c, rec.answer, rec.by, rec.at, False, "", rec.note))
    failing = [it for it in items if it.satisfied is False]
    open_ = [it for it in items if it.satisfied is None]
    reasons: list[str] = []
    for it in failing:
        if it.automatic:
            reasons.append(f"{it.criterion.title} ({it.criterion.id}) not met: {it.detail}")
        else:
            verb = "no" if it.criterion.kind is CriterionKind.INCLUSION else "yes"
            reasons.append(
                f"{it.criterion.title} ({it.criterion.id}) answered {verb} by {it.by}: "
                f"{it.criterion.text}"
            )
    if failing:
        decision = Decision.NOT_ELIGIBLE
    elif open_:
        decision = Decision.INCOMPLETE
        for it in open_:
            what = it.detail if it.automatic else ("unknown" if it.by else "not answered")
            reasons.append(f"{it.criterion.title} ({it.criterion.id}) {what}")
    else:
        decision = Decision.ELIGIBLE
        reasons.append(
            f"All {len(criteria.inclusion)} inclusion criteria met and none of the "
            f"{len(criteria.exclusion)} exclusion criteria; {rep.eligibility.text}"
        )
    return EligibilityDecision(decision, tuple(reasons), tuple(items), rep.eligibility.text)


class EligibilityModel(ReadFollower):
    """The checklist of a session's read, recomputed after every edit.

    Events: ``changed(EligibilityDecision)``.  Answers are :func:`answer_command` commands run
    through the session (the GUI pushes them on its undo stack).
    """

    def __init__(self, session: ReadSession, criteria: CriteriaSet | None = None) -> None:
        self.criteria = criteria if criteria is not None else load_criteria()
        self.decision: EligibilityDecision
        super().__init__(session)

    def recompute(self) -> EligibilityDecision:
        self.decision = decide(self.session.read, self.criteria)
        return self.decision


__all__ = [
    "Answer",
    "AnswerRecord",
    "ChecklistItem",
    "CriteriaError",
    "CriteriaSet",
    "Criterion",
    "CriterionKind",
    "Decision",
    "EligibilityDecision",
    "EligibilityModel",
    "answer_command",
    "answers",
    "decide",
    "is_answer_command",
    "load_criteria",
]
