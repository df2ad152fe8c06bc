"""RECIST 1.1 response of the read being edited, per timepoint, re-evaluated after every edit.

The response panel shows what :func:`evaluate_read` returns: one :class:`ResponseRow` per
timepoint (sum, change from baseline and from the nadir, target / non-target / new-lesion /
overall response and the reasons in words), best overall response, date of first progression,
each target's diameter over time (spider plot) and the NAMECAR eligibility line.  Numbers come
from :mod:`namecar_viewer.core.recist` through
:func:`~namecar_viewer.core.reads.read_to_recist_case`; nothing here decides a category.

Baseline (a per-read setting stored with the read, :data:`BASELINE_SETTING`):

* ``pre_treatment`` (default): the pre-treatment baseline is the RECIST baseline; this is also
  what NAMECAR eligibility always uses (pre-treatment baseline vs the inclusion scan).
* ``inclusion``: for the PFS follow-up the trial may re-baseline at the inclusion
  (randomisation) scan.  The targets stay those selected at the pre-treatment baseline (where
  RECIST 1.1 sec. 3.1.1 measurability is checked); their inclusion diameters give the new
  reference sum even when they have shrunk below the measurable size, which is reported as a
  note, not refused.  Eligibility still comes from the pre-treatment evaluation.

An input the engine refuses (:class:`~namecar_viewer.core.recist.RecistInputError`) becomes
``ResponseReport.errors``, messages naming lesion, timepoint and rule; never an exception.

Qt-free: :class:`ResponseModel` subscribes to a
:class:`~namecar_viewer.app.read_session.ReadSession` and emits ``changed(report)``.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass, replace
from fractions import Fraction

from namecar_viewer.app.read_follower import ReadFollower
from namecar_viewer.app.read_session import ReadSession, SetReadSetting
from namecar_viewer.core.reads.model import Read, TimepointRole
from namecar_viewer.core.reads.recist_bridge import read_to_recist_case
from namecar_viewer.core.recist import (
    Case,
    LesionKind,
    MeasurementKind,
    NewLesions,
    Protocol,
    RecistInputError,
    Response,
    RuleViolation,
    evaluate,
    validate_case,
)
from namecar_viewer.core.recist.constants import (
    PD_MIN_ABSOLUTE_MM,
    PD_THRESHOLD_PCT,
    PR_THRESHOLD_PCT,
)
from namecar_viewer.core.recist.engine import best_overall_response, recist11_timepoints
from namecar_viewer.core.recist.sums import (
    fmt_mm,
    fmt_pct,
    lesion_value_mm,
    measurement_of,
    pct_change,
)

BASELINE_SETTING = "recist/baseline"

# Reasons the engine adds for the NAMECAR decision (kept apart from the RECIST reasons).
ELIGIBILITY_PREFIXES = ("NAMECAR:", "Eligible:", "Not eligible:", "Incomplete:")


class RecistBaseline(enum.Enum):
    """Which scan is the RECIST baseline of the read's response rows."""

    PRE_TREATMENT = "pre_treatment"
    INCLUSION = "inclusion"

    @property
    def title(self) -> str:
        return {
            RecistBaseline.PRE_TREATMENT: "pre-treatment",
            RecistBaseline.INCLUSION: "inclusion",
        }[self]


def baseline_choice(read: Read) -> RecistBaseline:
    """The read's RECIST baseline setting (pre-treatment when unset or unreadable)."""
    raw = read.settings.get(BASELINE_SETTING)
    if raw is None:
        return RecistBaseline.PRE_TREATMENT
    try:
        return RecistBaseline(json.loads(raw))
    except (ValueError, TypeError):
        return RecistBaseline.PRE_TREATMENT


def set_baseline_command(choice: RecistBaseline) -> SetReadSetting:
    """The undoable command storing the baseline choice with the read."""
    return SetReadSetting(
        BASELINE_SETTING,
        json.dumps(choice.value),
        f"RECIST baseline: {choice.title}",
    )


class EligibilityStatus(enum.Enum):
    """NAMECAR decision of the RECIST criterion (the checklist adds the others)."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not eligible"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class EligibilityLine:
    """The RECIST part of NAMECAR eligibility: pre-treatment baseline vs the inclusion scan."""

    status: EligibilityStatus
    text: str
    metastatic_sum_mm: Fraction | None = None
    metastatic_pct_change: Fraction | None = None
    inclusion_label: str | None = None


@dataclass(frozen=True)
class ResponseRow:
    """One timepoint as the panel shows it; percentages exact, rounded only in ``*_text``."""

    label: str
    date: dt.date | None
    is_baseline: bool
    sum_mm: Fraction | None
    pct_from_baseline: Fraction | None
    pct_from_nadir: Fraction | None
    nadir_mm: Fraction | None
    target_response: Response | None
    non_target_response: Response | None
    new_lesions: NewLesions
    overall_response: Response | None
    targets_not_evaluated: tuple[str, ...]
    reasons: tuple[str, ...]
    eligibility: str | None = None

    @property
    def pd_threshold_mm(self) -> Fraction | None:
        """Smallest sum that is PD at this follow-up: nadir + max(20 %, 5 mm) (sec. 4.3.1)."""
        if self.is_baseline or self.nadir_mm is None:
            return None
        return self.nadir_mm + max(PD_MIN_ABSOLUTE_MM, self.nadir_mm * PD_THRESHOLD_PCT / 100)

    @property
    def sum_text(self) -> str:
        if self.sum_mm is None:
            return "-"
        text = fmt_mm(self.sum_mm)
        return f"{text} (incomplete)" if self.targets_not_evaluated else text

    @property
    def pct_baseline_text(self) -> str:
        if self.is_baseline:
            return "baseline"
        return "-" if self.pct_from_baseline is None else fmt_pct(self.pct_from_baseline)

    @property
    def pct_nadir_text(self) -> str:
        if self.is_baseline:
            return ""
        return "-" if self.pct_from_nadir is None else fmt_pct(self.pct_from_nadir)

    @property
    def nadir_text(self) -> str:
        return "" if self.nadir_mm is None else fmt_mm(self.nadir_mm)

    @property
    def main_reason(self) -> str:
        """The reason behind the overall response, for the table cell."""
        words = [r for r in self.reasons if not r.startswith(ELIGIBILITY_PREFIXES)]
        if self.overall_response is not None:
            key = self.overall_response.value + ":"
            hits = [r for r in words if r.startswith(key)]
            if hits:
                return hits[0]
        return words[0] if words else ""


@dataclass(frozen=True)
class TargetTrace:
    """One target's diameter per row (None: not evaluated) and % change from its baseline."""

    label: str
    is_primary_renal: bool
    nodal: bool
    values_mm: tuple[Fraction | None, ...]
    pct_from_baseline: tuple[Fraction | None, ...]


@dataclass(frozen=True)
class ResponseReport:
    """Everything the response panel shows for one state of the read."""

    baseline: RecistBaseline
    baseline_text: str
    rows: tuple[ResponseRow, ...] = ()
    targets: tuple[TargetTrace, ...] = ()
    best_overall_response: Response | None = None
    best_overall_reason: str = ""
    first_pd_label: str | None = None
    first_pd_date: dt.date | None = None
    eligibility: EligibilityLine = EligibilityLine(
        EligibilityStatus.INCOMPLETE, "Incomplete: nothing measured yet"
    )
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def pr_threshold_mm(self) -> Fraction | None:
        """Sum at or below which targets are PR: baseline - 30 % (sec. 4.3.1)."""
        if not self.rows or self.rows[0].sum_mm is None:
            return None
        return self.rows[0].sum_mm * (100 + PR_THRESHOLD_PCT) / 100

    @property
    def best_text(self) -> str:
        if self.best_overall_response is None:
            return "Best overall response: -"
        return f"Best overall response: {self.best_overall_response.value}"

    @property
    def first_pd_text(self) -> str:
        if self.first_pd_label is None:
            return "No progression"
        when = self.first_pd_date.isoformat() if self.first_pd_date else "undated"
        return f"First PD: {when} ({self.first_pd_label})"

    def row(self, label: str) -> ResponseRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"No timepoint {label} in the response rows.")

    def text(self) -> str:
        """Plain-text summary (what the panel says, for the clipboard and tests)."""
        lines = [self.baseline_text, self.eligibility.text]
        lines += [f"Error: {e}" for e in self.errors]
        lines += [f"Note: {n}" for n in self.notes]
        for r in self.rows:
            resp = "/".join(
                "-" if x is None else x.value
                for x in (r.target_response, r.non_target_response, r.overall_response)
            )
            lines.append(
                f"{r.label} {r.date or ''} sum {r.sum_text} {r.pct_baseline_text} "
                f"nadir {r.nadir_text or '-'} {r.pct_nadir_text} {resp} {r.main_reason}".strip()
            )
        if self.rows:
            lines += [f"{self.best_text} ({self.best_overall_reason})", self.first_pd_text]
        return "\n".join(lines)


def violation_text(v: RuleViolation) -> str:
    """A refused input in words: lesion, timepoint, problem and rule."""
    return str(v)


# --- evaluation ------------------------------------------------------------------------------


def _inclusion_label(read: Read, case: Case) -> str | None:
    labels = {tp.label for tp in case.timepoints[1:]}
    for tp in read.ordered_timepoints():
        if tp.role is TimepointRole.INCLUSION and tp.label in labels:
            return tp.label
    return None


def _traces(case: Case) -> tuple[TargetTrace, ...]:
    out = []
    for les in case.lesions:
        if les.kind is not LesionKind.TARGET:
            continue
        values = tuple(lesion_value_mm(measurement_of(tp, les.id)) for tp in case.timepoints)
        base = values[0] if values else None
        pcts = tuple(None if v is None or base is None else pct_change(v, base) for v in values)
        out.append(TargetTrace(les.id, les.is_primary_renal, les.is_lymph_node, values, pcts))
    return tuple(out)


def _eligibility_line(read: Read, case: Case) -> EligibilityLine:
    """NAMECAR decision at the inclusion scan against the pre-treatment baseline."""
    label = _inclusion_label(read, case)
    if label is None:
        return EligibilityLine(
            EligibilityStatus.INCOMPLETE,
            "Incomplete: no inclusion scan in the read (mark a follow-up timepoint as inclusion)",
        )
    try:
        result = evaluate(case)
    except RecistInputError as exc:
        return EligibilityLine(
            EligibilityStatus.INCOMPLETE,
            "Incomplete: the read cannot be evaluated ("
            + "; ".join(violation_text(v) for v in exc.violations)
            + ")",
            inclusion_label=label,
        )
    tr = next(t for t in result.timepoints if t.label == label)
    words = [r for r in tr.reasons if r.startswith(ELIGIBILITY_PREFIXES[1:])]
    status = {
        True: EligibilityStatus.ELIGIBLE,
        False: EligibilityStatus.NOT_ELIGIBLE,
        None: EligibilityStatus.INCOMPLETE,
    }[tr.eligible_cr_or_mpr]
    text = words[0] if words else f"{status.value.capitalize()}"
    when = f" of {tr.date.isoformat()}" if tr.date else f" {label}"
    return EligibilityLine(
        status,
        f"{text} (pre-treatment baseline vs inclusion scan{when})",
        tr.metastatic_sum_mm,
        tr.metastatic_pct_change_from_baseline,
        label,
    )


def _pre_treatment_rows(case: Case) -> ResponseReport:
    result = evaluate(case)
    rows = []
    for i, t in enumerate(result.timepoints):
        elig = [r for r in t.reasons if r.startswith(ELIGIBILITY_PREFIXES)]
        rows.append(
            ResponseRow(
                label=t.label,
                date=t.date,
                is_baseline=i == 0,
                sum_mm=t.sum_mm,
                pct_from_baseline=t.pct_change_from_baseline,
                pct_from_nadir=t.pct_change_from_nadir,
                nadir_mm=t.nadir_mm,
                target_response=t.target_response,
                non_target_response=t.non_target_response,
                new_lesions=t.new_lesions,
                overall_response=t.overall_response,
                targets_not_evaluated=t.targets_not_evaluated,
                reasons=t.reasons,
                eligibility=elig[0] if elig else None,
            )
        )
    return ResponseReport(
        baseline=RecistBaseline.PRE_TREATMENT,
        baseline_text="",
        rows=tuple(rows),
        targets=_traces(case),
        best_overall_response=result.best_overall_response,
        best_overall_reason=result.best_overall_reason,
        first_pd_label=result.first_pd_label,
        first_pd_date=result.first_pd_date,
    )


def _is_rebaseline_measurability(v: RuleViolation, case: Case) -> bool:
    """A target selected at the pre-treatment baseline, too small at the inclusion re-baseline."""
    if not v.rule.startswith("baseline:") or v.lesion is None:
        return False
    m = measurement_of(case.timepoints[0], v.lesion)
    return m.kind is not MeasurementKind.NOT_EVALUATED


def _inclusion_rows(case: Case, label: str) -> ResponseReport:
    start = [tp.label for tp in case.timepoints].index(label)
    kept = case.timepoints[start:]
    labels = {tp.label for tp in kept}
    kept = tuple(
        replace(tp, new_lesion_confirms_equivocal_from=None)
        if tp.new_lesion_confirms_equivocal_from not in (None, *labels)
        else tp
        for tp in kept
    )
    sub = replace(case, timepoints=kept)
    notes = []
    errors = []
    for v in validate_case(sub):
        if _is_rebaseline_measurability(v, sub):
            notes.append(
                f"{v.lesion}: {v.message} at the inclusion re-baseline; kept as a target "
                "(selected at the pre-treatment baseline)"
            )
        else:
            errors.append(v)
    if errors:
        raise RecistInputError(errors)
    works = recist11_timepoints(sub)
    base = works[0].targets
    if base is not None and base.sum_mm == 0:
        raise RecistInputError(
            RuleViolation(
                "a re-baseline needs a sum of diameters above 0 mm (sec. 4.3.1)",
                "every target is gone at the inclusion scan: no percent change can be "
                "computed from it; use the pre-treatment baseline",
                None,
                label,
            )
        )
    best, why = best_overall_response(works, sub.protocol)
    pd = next((w for w in works[1:] if w.overall is Response.PD), None)
    rows = [
        ResponseRow(
            label=w.label,
            date=w.date,
            is_baseline=i == 0,
            sum_mm=w.targets.measured_sum_mm if w.targets is not None else None,
            pct_from_baseline=w.pct_base,
            pct_from_nadir=w.pct_nadir,
            nadir_mm=w.nadir,
            target_response=w.target_response,
            non_target_response=w.non_target_response,
            new_lesions=w.new_lesions,
            overall_response=w.overall,
            targets_not_evaluated=w.targets.missing if w.targets is not None else (),
            reasons=tuple(
                r.replace("Baseline:", "Baseline (inclusion re-baseline):", 1) for r in w.reasons
            ),
        )
        for i, w in enumerate(works)
    ]
    return ResponseReport(
        baseline=RecistBaseline.INCLUSION,
        baseline_text="",
        rows=tuple(rows),
        targets=_traces(sub),
        best_overall_response=best,
        best_overall_reason=why,
        first_pd_label=pd.label if pd is not None else None,
        first_pd_date=pd.date if pd is not None else None,
        notes=tuple(notes),
    )


def _baseline_text(choice: RecistBaseline, label: str | None, date: dt.date | None) -> str:
    parts = [p for p in (label, date.isoformat() if date else None) if p]
    when = f" ({', '.join(parts)})" if parts else ""
    if choice is RecistBaseline.PRE_TREATMENT:
        return f"RECIST baseline: pre-treatment{when}"
    return (
        f"RECIST baseline: inclusion{when}, re-baselined for the PFS follow-up "
        "(eligibility still uses the pre-treatment baseline)"
    )


def evaluate_read(
    read: Read, protocol: Protocol | None = None, baseline: RecistBaseline | None = None
) -> ResponseReport:
    """The response report of ``read`` (never raises on a read the engine refuses)."""
    choice = baseline if baseline is not None else baseline_choice(read)
    if not read.timepoints or not read.lesions:
        what = "no timepoint" if not read.timepoints else "no lesion"
        return ResponseReport(
            choice,
            _baseline_text(choice, None, None),
            eligibility=EligibilityLine(
                EligibilityStatus.INCOMPLETE, f"Incomplete: {what} recorded in the read yet"
            ),
        )
    try:
        case = read_to_recist_case(read, protocol)
    except ValueError as exc:  # a malformed measurement (negative, no fragment...)
        return ResponseReport(
            choice,
            _baseline_text(choice, None, None),
            errors=(f"The read cannot be turned into a RECIST case: {exc}",),
        )
    elig = _eligibility_line(read, case)
    base_tp = case.timepoints[0]
    try:
        if choice is RecistBaseline.INCLUSION:
            label = _inclusion_label(read, case)
            if label is None:
                return ResponseReport(
                    choice,
                    _baseline_text(choice, None, None),
                    eligibility=elig,
                    errors=(
                        "RECIST baseline is set to the inclusion scan but no timepoint of the "
                        "read is marked as inclusion",
                    ),
                )
            report = _inclusion_rows(case, label)
            tp = next(t for t in case.timepoints if t.label == label)
            text = _baseline_text(choice, label, tp.date)
        else:
            report = _pre_treatment_rows(case)
            text = _baseline_text(choice, base_tp.label, base_tp.date)
    except RecistInputError as exc:
        return ResponseReport(
            choice,
            _baseline_text(choice, None, None),
            eligibility=elig,
            errors=tuple(violation_text(v) for v in exc.violations),
        )
    return replace(report, baseline_text=text, eligibility=elig)


class ResponseModel(ReadFollower):
    """The response of a session's read, recomputed after every edit, undo and redo.

    Events: ``changed(ResponseReport)``.
    """

    def __init__(self, session: ReadSession, protocol: Protocol | None = None) -> None:
        self.protocol = protocol
        self.report: ResponseReport
        super().__init__(session)

    def recompute(self) -> ResponseReport:
        self.report = evaluate_read(self.session.read, self.protocol)
        return self.report

    @property
    def baseline(self) -> RecistBaseline:
        return baseline_choice(self.session.read)


__all__ = [
    "BASELINE_SETTING",
    "EligibilityLine",
    "EligibilityStatus",
    "RecistBaseline",
    "ResponseModel",
    "ResponseReport",
    "ResponseRow",
    "TargetTrace",
    "baseline_choice",
    "evaluate_read",
    "set_baseline_command",
]
