"""Double read in the app: routing after a signature, and the adjudicator's side-by-side view.

:func:`after_signature` runs when a reader signs the timepoint of a worklist case: their
assignment becomes *signed*; when the other reader of the case has signed too, the two reads are
compared through the RECIST engine (:func:`~namecar_viewer.app.adjudication.compare_reads`) and
the case becomes *needs adjudication* (handed to the adjudicators) when they differ, else
*signed*.

:class:`AdjudicationView` shows both reads side by side (lesion table and per-timepoint
responses of each, the differences highlighted) and records the adjudicator's choice with a
reason (:meth:`~namecar_viewer.app.adjudication.AdjudicationService.decide`); the case then is
*adjudicated* and the chosen read is what reports carry.  Readers are shown as "Read A/B"; their
names only when not blinded.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import and_, select

from namecar_viewer.app.adjudication import AdjudicationError, Disagreement, compare_reads
from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.app.worklist import CaseStatus, Task
from namecar_viewer.core.reads.model import Read
from namecar_viewer.core.recist import Response
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import enum_text, lesion_role_text, response_text
from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.gui.panels.lesion_table import cell_text
from namecar_viewer.persistence.review import assignments_table, cases_table
from namecar_viewer.persistence.users import Role

translate = QCoreApplication.translate

DIFF_BG = QColor("#ffd98a")
_RESPONSE_COLUMNS = (
    QT_TRANSLATE_NOOP("AdjudicationView", "Timepoint"),
    QT_TRANSLATE_NOOP("AdjudicationView", "Sum (mm)"),
    QT_TRANSLATE_NOOP("AdjudicationView", "Change"),
    QT_TRANSLATE_NOOP("AdjudicationView", "Target"),
    QT_TRANSLATE_NOOP("AdjudicationView", "Non-target"),
    QT_TRANSLATE_NOOP("AdjudicationView", "New"),
    QT_TRANSLATE_NOOP("AdjudicationView", "Overall"),
)


def _case(ctx: ReviewContext, case_uid: str) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(cases_table).where(cases_table.c.uid == case_uid)).one()


def _assignments(ctx: ReviewContext, case_uid: str) -> list[Any]:
    a = assignments_table
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(a).where(a.c.case_uid == case_uid).order_by(a.c.uid)))


def case_reads(ctx: ReviewContext, case_uid: str) -> list[Read]:
    """The reads of the case's read assignments that have one (at most two, in assignment
    order)."""
    out: list[Read] = []
    for r in _assignments(ctx, case_uid):
        if r.task == Task.READ.value and r.read_uid and r.read_uid not in {x.uid for x in out}:
            out.append(ctx.db.load_read(r.read_uid))
    return out


def after_signature(ctx: ReviewContext, read: Read, timepoint_label: str) -> str:
    """Update the worklist after ``read``'s timepoint was signed; returns what happened."""
    a = assignments_table
    with ctx.engine.connect() as conn:
        mine = conn.execute(
            select(a, cases_table.c.timepoint_label)
            .join(cases_table, cases_table.c.uid == a.c.case_uid)
            .where(and_(a.c.read_uid == read.uid, a.c.task == Task.READ.value))
        ).all()
    msgs: list[str] = []
    for row in mine:
        if row.timepoint_label.strip().upper() != timepoint_label.strip().upper():
            continue
        if row.status != CaseStatus.SIGNED.value:
            ctx.worklist.set_status(ctx.user.username, row.uid, CaseStatus.SIGNED, read.uid)
        others = [
            r
            for r in _assignments(ctx, row.case_uid)
            if r.task == Task.READ.value and r.uid != row.uid
        ]
        signed = [r for r in others if r.status == CaseStatus.SIGNED.value and r.read_uid]
        if not others:
            ctx.worklist.set_case_status(ctx.user.username, row.case_uid, CaseStatus.SIGNED)
            msgs.append(translate("AdjudicationView", "Case signed."))
            continue
        if not signed:
            msgs.append(translate("AdjudicationView", "Waiting for the second reader."))
            continue
        other = ctx.db.load_read(signed[0].read_uid)
        diffs = compare_reads(other, read)
        if diffs:
            ctx.worklist.set_case_status(
                ctx.user.username, row.case_uid, CaseStatus.NEEDS_ADJUDICATION
            )
            msgs.append(_route_to_adjudicator(ctx, row.case_uid, {read.reader, other.reader}))
        else:
            ctx.worklist.set_case_status(ctx.user.username, row.case_uid, CaseStatus.SIGNED)
            msgs.append(translate("AdjudicationView", "Both reads agree: case signed."))
    return " ".join(msgs)


def _route_to_adjudicator(ctx: ReviewContext, case_uid: str, readers: set[str]) -> str:
    have = [r for r in _assignments(ctx, case_uid) if r.task == Task.ADJUDICATE.value]
    if have:
        return translate("AdjudicationView", "The reads differ: the case goes to adjudication.")
    candidates = [
        u.username
        for u in ctx.auth.users.list()
        if u.active and u.has(Role.ADJUDICATOR) and u.username not in readers
    ]
    if not candidates:
        return translate(
            "AdjudicationView",
            "The reads differ: the case needs adjudication, but no adjudicator other than the "
            "readers exists; an administrator must assign one.",
        )
    ctx.worklist.assign(ctx.user.username, case_uid, candidates[0], Task.ADJUDICATE)
    return translate(
        "AdjudicationView", "The reads differ: the case goes to adjudication ({user})."
    ).format(user=candidates[0])


def _blind_dates(text: str, reads: tuple[Read, ...], policy: BlindingPolicy) -> str:
    """``text`` with the reads' timepoint dates as days from baseline when dates are hidden."""
    from namecar_viewer.app.blinding import IdentifierKind, Redactor

    if not policy.hides(IdentifierKind.DATE):
        return text
    base = reads[0].baseline()
    red = Redactor(policy=policy, baseline_date=base.date if base else None)
    for read in reads:
        for tp in read.timepoints:
            red.add(IdentifierKind.DATE, tp.date)
    return i18n.days_text(red.redact(text))


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, Response):
        return response_text(value)
    if hasattr(value, "value"):
        return enum_text(value)
    try:
        return i18n.fmt("{v:.1f}", v=float(value)) + suffix
    except (TypeError, ValueError):
        return str(value)


def response_cells(read: Read) -> tuple[dict[str, list[str]], list[str]]:
    """Per timepoint label: the response row as texts; plus errors of the evaluation."""
    from namecar_viewer.app.response import evaluate_read

    report = evaluate_read(read)
    rows: dict[str, list[str]] = {}
    for row in report.rows:
        rows[row.label] = [
            row.label,
            _fmt(row.sum_mm),
            "" if row.is_baseline else _fmt(row.pct_from_baseline, " %"),
            _fmt(row.target_response),
            _fmt(row.non_target_response),
            _fmt(row.new_lesions),
            translate("AdjudicationView", "baseline")
            if row.is_baseline
            else _fmt(row.overall_response),
        ]
    return rows, [app_text(e) for e in report.errors]


def lesion_cells(read: Read) -> tuple[list[str], dict[str, list[str]]]:
    """Timepoint labels, and per lesion label: role, site, then one cell per timepoint."""
    tps = list(read.ordered_timepoints())
    out: dict[str, list[str]] = {}
    for les in read.lesions:
        cells = [lesion_role_text(les.role), enum_text(les.site)]
        cells += [cell_text(read.assessment(les.uid, tp.uid)) for tp in tps]
        out[les.label] = cells
    return [tp.label for tp in tps], out


class ReadColumn(QGroupBox):
    """One read: its lesion table and its responses, cells differing from the other read
    highlighted."""

    def __init__(self, title: str, read: Read, other: Read, parent: QWidget | None = None):
        super().__init__(title, parent)
        lay = QVBoxLayout(self)
        labels, mine = lesion_cells(read)
        o_labels, theirs = lesion_cells(other)
        self.lesions = QTableWidget(len(mine), 3 + len(labels), self)
        self.lesions.setHorizontalHeaderLabels(
            [self.tr("Lesion"), self.tr("Role"), self.tr("Site"), *labels]
        )
        self.lesions.verticalHeader().setVisible(False)
        self.lesions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.differing_cells = 0
        for r, (label, cells) in enumerate(mine.items()):
            self.lesions.setItem(r, 0, QTableWidgetItem(label))
            other_cells = theirs.get(label)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                theirs_text = None
                if other_cells is not None:
                    if c < 2:
                        theirs_text = other_cells[c]
                    elif labels[c - 2] in o_labels:
                        theirs_text = other_cells[2 + o_labels.index(labels[c - 2])]
                if other_cells is None or theirs_text != text:
                    item.setBackground(QBrush(DIFF_BG))
                    self.differing_cells += 1
                self.lesions.setItem(r, c + 1, item)
            first = self.lesions.item(r, 0)
            if other_cells is None and first is not None:
                first.setBackground(QBrush(DIFF_BG))
        self.lesions.resizeColumnsToContents()
        lay.addWidget(QLabel(self.tr("Lesions (diameters in mm)"), self))
        lay.addWidget(self.lesions, 1)
        rows, errors = response_cells(read)
        other_rows, _ = response_cells(other)
        self.responses = QTableWidget(len(rows), len(_RESPONSE_COLUMNS), self)
        self.responses.setHorizontalHeaderLabels(
            [translate("AdjudicationView", c) for c in _RESPONSE_COLUMNS]
        )
        self.responses.verticalHeader().setVisible(False)
        self.responses.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.differing_responses = 0
        for r, (label, cells) in enumerate(rows.items()):
            o = other_rows.get(label)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == len(cells) - 1 and (o is None or o[c] != text):
                    item.setBackground(QBrush(DIFF_BG))
                    self.differing_responses += 1
                self.responses.setItem(r, c, item)
        self.responses.resizeColumnsToContents()
        lay.addWidget(QLabel(self.tr("RECIST 1.1 response per timepoint"), self))
        lay.addWidget(self.responses, 1)
        if errors:
            err = QLabel("; ".join(errors), self)
            err.setWordWrap(True)
            err.setStyleSheet("color: #b02020;")
            lay.addWidget(err)


class AdjudicationView(QDialog):
    """Both reads of a case side by side; the adjudicator chooses one with a reason."""

    def __init__(
        self,
        ctx: ReviewContext,
        case_uid: str,
        first: Read,
        second: Read,
        policy: BlindingPolicy,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_uid = case_uid
        self.first, self.second = first, second
        self.decision: Any = None
        case = _case(ctx, case_uid)
        subject = app_text(policy.subject(case.subject_id))
        self.setWindowTitle(
            self.tr("Adjudication - {subject} {timepoint}").format(
                subject=subject, timepoint=case.timepoint_label
            )
        )
        self.resize(1400, 760)
        lay = QVBoxLayout(self)
        self.differences: list[Disagreement] = compare_reads(first, second)
        head = QLabel(self)
        head.setWordWrap(True)
        if self.differences:
            said = "; ".join(app_text(str(d)) for d in self.differences)
            head.setText(
                self.tr("<b>The reads differ:</b> ") + _blind_dates(said, (first, second), policy)
            )
            head.setStyleSheet("color: #8a4b00;")
        else:
            head.setText(
                self.tr("<b>The reads agree</b> on every overall response and the PD date.")
            )
        lay.addWidget(head)
        self.header = head
        names = (self.tr("Read A"), self.tr("Read B"))
        if not policy.enabled:
            names = (
                self.tr("Read A ({reader})").format(reader=first.reader),
                self.tr("Read B ({reader})").format(reader=second.reader),
            )
        cols = QHBoxLayout()
        self.columns = (
            ReadColumn(names[0], first, second, self),
            ReadColumn(names[1], second, first, self),
        )
        for c in self.columns:
            cols.addWidget(c, 1)
        lay.addLayout(cols, 1)
        choose = QHBoxLayout()
        self.group = QButtonGroup(self)
        self.choice_a = QRadioButton(self.tr("Choose {read}").format(read=names[0]), self)
        self.choice_b = QRadioButton(self.tr("Choose {read}").format(read=names[1]), self)
        for i, b in enumerate((self.choice_a, self.choice_b)):
            self.group.addButton(b, i)
            choose.addWidget(b)
        choose.addStretch(1)
        lay.addLayout(choose)
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("Reason for the choice (required)"))
        self.reason_edit.setFixedHeight(70)
        lay.addWidget(self.reason_edit)
        bottom = QHBoxLayout()
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.decide_button = QPushButton(self.tr("Adjudicate"), self)
        self.decide_button.clicked.connect(lambda _c=False: self.decide())
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.decide_button)
        lay.addLayout(bottom)
        existing = ctx.adjudication.decision(case_uid)
        if existing is not None:
            which = "A" if existing.chosen_read_uid == first.uid else "B"
            self.message.setText(
                self.tr("Already adjudicated: read {which} ({reason}).").format(
                    which=which, reason=existing.reason
                )
            )
            self.decide_button.setEnabled(False)

    def decide(self) -> bool:
        chosen = {0: self.first.uid, 1: self.second.uid}.get(self.group.checkedId())
        if chosen is None:
            self.message.setText(self.tr("Choose one of the two reads."))
            return False
        try:
            self.decision = self.ctx.adjudication.decide(
                self.case_uid,
                self.ctx.user,
                self.first,
                self.second,
                chosen,
                self.reason_edit.toPlainText(),
            )
        except AdjudicationError as exc:
            self.message.setStyleSheet("color: #b02020;")
            self.message.setText(error_text(exc))
            return False
        user = self.ctx.user.username
        self.ctx.worklist.set_case_status(user, self.case_uid, CaseStatus.ADJUDICATED)
        for r in _assignments(self.ctx, self.case_uid):
            if r.task == Task.ADJUDICATE.value and r.username == user:
                self.ctx.worklist.set_status(user, r.uid, CaseStatus.ADJUDICATED)
        self.message.setStyleSheet("color: #1e7a3c;")
        self.message.setText(self.tr("Adjudicated: the chosen read is the case's result."))
        self.decide_button.setEnabled(False)
        return True


def open_adjudication(review: Any, case_uid: str | None = None) -> AdjudicationView | None:
    """Review > Adjudicate: the given case, else the user's first case needing adjudication."""
    ctx: ReviewContext = review.ctx
    if case_uid is None:
        todo = [
            w
            for w in ctx.worklist.work_of(ctx.user.username)
            if w.task is Task.ADJUDICATE and w.status is CaseStatus.NEEDS_ADJUDICATION
        ]
        if not todo:
            review._say(translate("AdjudicationView", "No case awaits your adjudication."))
            return None
        case_uid = todo[0].case_uid
    if not ctx.user.has(Role.ADJUDICATOR):
        review._say(
            translate("AdjudicationView", "{user} is not an adjudicator.").format(
                user=ctx.user.username
            )
        )
        return None
    reads = case_reads(ctx, case_uid)
    if len(reads) < 2:
        review._say(translate("AdjudicationView", "This case does not have two reads yet."))
        return None
    view = AdjudicationView(ctx, case_uid, reads[0], reads[1], review.policy, review.window)
    view.accepted.connect(lambda: None)
    view.show()
    return view
