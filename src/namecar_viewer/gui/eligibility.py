"""View > Eligibility: the NAMECAR checklist for local sites, saved with the read.

Each inclusion (1-7) and exclusion (1-10) criterion is answered yes / no / unknown; the answer
records who and when.  *Who* is the logged-in user (the review context's user, else the read
controller's reader), shown read-only as *Answering as*: never typed, never the read's reader.
The RECIST criterion is filled from the read (pre-treatment baseline vs the inclusion scan) and
cannot be typed.

One committed answer is one command on the read's undo stack (one audit entry), committed to the
reads database at once.  Browsing a closed answer box with the arrow keys (or typing a letter)
only shows a pending choice, marked in the box; Enter, a pick from the open list or leaving the
box records it when it differs from the stored answer; Escape puts the stored answer back.  The
mouse wheel over a box scrolls the table and never changes an answer.  Ctrl+Z undoes the last
answer (a pending choice is put back first), Ctrl+Shift+Z and Ctrl+Y redo, through the same
undo stack as Edit > Undo in the main window; a step that is not an answer (a lesion edit) is
left to the main window, with a message.

The criteria wording ships with the application and is marked, in a banner, as to be checked
against the approved protocol version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFocusEvent, QKeyEvent, QKeySequence, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.app.eligibility import (
    Answer,
    ChecklistItem,
    CriteriaSet,
    Decision,
    EligibilityDecision,
    EligibilityModel,
    answer_command,
    is_answer_command,
)
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import enum_text
from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.panels.charts import RESPONSE_COLOURS
from namecar_viewer.gui.undo import ReadUndoStack

translate = QCoreApplication.translate

COLUMNS = (
    QT_TRANSLATE_NOOP("EligibilityView", "Criterion"),
    QT_TRANSLATE_NOOP("EligibilityView", "Text"),
    QT_TRANSLATE_NOOP("EligibilityView", "Answer"),
    QT_TRANSLATE_NOOP("EligibilityView", "By"),
    QT_TRANSLATE_NOOP("EligibilityView", "When"),
    QT_TRANSLATE_NOOP("EligibilityView", "Detail"),
)
CHOICES: tuple[tuple[str, Answer | None], ...] = (
    (QT_TRANSLATE_NOOP("EligibilityView", "not answered"), None),
    (QT_TRANSLATE_NOOP("EligibilityView", "yes"), Answer.YES),
    (QT_TRANSLATE_NOOP("EligibilityView", "no"), Answer.NO),
    (QT_TRANSLATE_NOOP("EligibilityView", "unknown"), Answer.UNKNOWN),
)
DECISION_COLOURS = {
    Decision.ELIGIBLE: RESPONSE_COLOURS["CR"],
    Decision.NOT_ELIGIBLE: RESPONSE_COLOURS["PD"],
    Decision.INCOMPLETE: "#8a6d00",
}


PENDING_STYLE = "QComboBox { background: #fff3cd; font-style: italic; }"
UNDO_KEYS = ("Ctrl+Z",)
REDO_KEYS = ("Ctrl+Shift+Z", "Ctrl+Y")


def _when(at: dt.datetime | None) -> str:
    if at is None:
        return ""
    return i18n.datetime_text(at.astimezone(dt.UTC)) + " UTC"


def criterion_title(criterion: Any) -> str:
    """``Inclusion 4`` / ``Exclusion 2`` in the reader's language."""
    if getattr(getattr(criterion, "kind", None), "value", "") == "exclusion":
        return translate("EligibilityView", "Exclusion {n}").format(n=criterion.number)
    return translate("EligibilityView", "Inclusion {n}").format(n=criterion.number)


def logged_in_user(window: Any) -> tuple[str, str] | None:
    """``(username, shown name)`` of who uses ``window``: the review context's user when central
    review is installed, else the read controller's reader; None when neither is known."""
    review = getattr(window, "review", None)
    user = getattr(getattr(review, "ctx", None), "user", None)
    name = str(getattr(user, "username", "") or "").strip()
    if name:
        display = str(getattr(user, "display_name", "") or "").strip()
        return name, (f"{display} ({name})" if display and display != name else name)
    reader = str(getattr(getattr(window, "reads", None), "reader", "") or "").strip()
    if reader:
        return reader, reader
    return None


class AnswerBox(QComboBox):
    """The answer box of one criterion: browsing never records, a deliberate choice does.

    Arrow keys and letters on the closed box change the shown choice only (``pending``);
    ``commit_requested`` is emitted by Enter, by a pick from the open list and when the box loses
    the focus with a pending choice (not to its own list); ``revert_requested`` by Escape while a
    choice is pending.  The mouse wheel over the closed box is passed on to the table (it
    scrolls).
    """

    commit_requested = Signal()
    revert_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._browsing = False
        self.pending = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.activated.connect(self._on_activated)

    def _on_activated(self, _index: int) -> None:
        if not self._browsing:  # picked from the open list (mouse or Enter there)
            self.commit_requested.emit()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key = e.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            e.accept()
            self.commit_requested.emit()
            return
        if key == Qt.Key.Key_Escape and self.pending:
            e.accept()
            self.revert_requested.emit()
            return
        self._browsing = True
        try:
            super().keyPressEvent(e)
        finally:
            self._browsing = False

    def wheelEvent(self, e: QWheelEvent) -> None:
        e.ignore()  # the table scrolls; an answer is never changed by scrolling past it

    def focusOutEvent(self, e: QFocusEvent) -> None:
        super().focusOutEvent(e)
        if self.pending and e.reason() != Qt.FocusReason.PopupFocusReason:
            self.commit_requested.emit()


class EligibilityView(QDialog):
    """The checklist, the RECIST part from the read and the decision with its reasons."""

    def __init__(
        self,
        undo: ReadUndoStack,
        criteria: CriteriaSet | None = None,
        user: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``user``: who answers (a username); by default the logged-in user of ``parent``, the
        main window (:func:`logged_in_user`), looked up at every answer."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("NAMECAR eligibility"))
        self.setModal(False)
        self.resize(1000, 720)
        self.undo = undo
        self.model = EligibilityModel(undo.session, criteria)
        # blinded mode: the subject's pseudonym instead of the patient ID, dates as days
        self.policy = BlindingPolicy.open()
        crit = self.model.criteria
        self.patient_label = QLabel(self)
        self.banner = QLabel(
            self.tr(
                "<b>Criteria wording: {status}</b><br><small>{trial}. {source}<br>"
                "File: {path}</small>"
            ).format(
                status=app_text(crit.wording_status),
                trial=app_text(crit.trial),
                source=app_text(crit.source),
                path=crit.path,
            ),
            self,
        )
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "QLabel { background: #fff3cd; color: #5c4400; border: 1px solid #e0b400; "
            "padding: 6px; }"
        )
        self._user = user.strip() if user and user.strip() else None
        self.user_label = QLabel(self)
        self.user_label.setObjectName("eligibility_user_label")
        self.user_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.decision_label = QLabel(self)
        f = self.decision_label.font()
        f.setPointSizeF(f.pointSizeF() + 3)
        f.setBold(True)
        self.decision_label.setFont(f)
        self.reasons = QPlainTextEdit(self)
        self.reasons.setReadOnly(True)
        self.reasons.setMaximumHeight(90)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet(f"QLabel {{ color: {RESPONSE_COLOURS['PD']}; }}")
        self.error_label.setWordWrap(True)
        self.table = QTableWidget(len(crit.criteria), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(5, QHeaderView.ResizeMode.Interactive)
        self.combos: dict[str, AnswerBox] = {}
        for r, c in enumerate(crit.criteria):
            if c.auto is None:
                box = AnswerBox(self.table)
                for text, ans in CHOICES:
                    box.addItem(self.tr(text), ans)
                box.currentIndexChanged.connect(lambda _i, cid=c.id: self._on_browse(cid))
                box.commit_requested.connect(lambda cid=c.id: self._on_choice(cid))
                box.revert_requested.connect(self._revert)
                self.combos[c.id] = box
                self.table.setCellWidget(r, 2, box)
        # Undo/redo of answers from this window (the main window's Edit actions do not reach it)
        self.undo_action = QAction(self.tr("Undo answer"), self)
        self.undo_action.setShortcuts([QKeySequence(k) for k in UNDO_KEYS])
        self.undo_action.triggered.connect(self.undo_last)
        self.redo_action = QAction(self.tr("Redo answer"), self)
        self.redo_action.setShortcuts([QKeySequence(k) for k in REDO_KEYS])
        self.redo_action.triggered.connect(self.redo_last)
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(a)
        self._error_source: ReadUndoStack | None = None
        self._follow_errors(undo)
        lay = QVBoxLayout(self)
        lay.addWidget(self.patient_label)
        lay.addWidget(self.banner)
        lay.addWidget(self.user_label)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.error_label)
        lay.addWidget(self.decision_label)
        lay.addWidget(self.reasons)
        self.model.changed.connect(self._show)
        self._show(self.model.decision)
        self.table.setColumnWidth(3, 150)
        self.table.setColumnWidth(5, 220)

    def set_undo(self, undo: ReadUndoStack) -> None:
        self.undo = undo
        self._follow_errors(undo)
        self.model.set_session(undo.session)

    def _follow_errors(self, undo: ReadUndoStack) -> None:
        """Show here why a save, an undo or a redo of the read failed (e.g. a signed timepoint)."""
        if self._error_source is undo:
            return
        if self._error_source is not None:
            # the old stack may be gone with its read
            with contextlib.suppress(RuntimeError, TypeError):
                self._error_source.error.disconnect(self._on_error)
        undo.error.connect(self._on_error)
        self._error_source = undo

    def _on_error(self, message: str) -> None:
        self.error_label.setText(app_text(message))

    # --- who answers -----------------------------------------------------------------------
    def answering_user(self) -> tuple[str, str] | None:
        """``(username, shown name)`` of who answers, or None when nobody is logged in."""
        if self._user is not None:
            return self._user, self._user
        return logged_in_user(self.parent())

    def _show_user(self) -> None:
        who = self.answering_user()
        if who is None:
            self.user_label.setText(
                self.tr("Answering as: nobody is logged in; answers cannot be recorded.")
            )
        else:
            self.user_label.setText(self.tr("Answering as: {name}").format(name=who[1]))
        for box in self.combos.values():
            box.setEnabled(who is not None)

    def set_blinding(self, policy: BlindingPolicy) -> None:
        self.policy = policy
        self._show(self.decision)

    def _blind(self, text: str) -> str:
        if not self.policy.enabled:
            return text
        from namecar_viewer.gui.worklist import redactor_for_read

        return i18n.days_text(redactor_for_read(self.undo.session.read, self.policy).redact(text))

    @property
    def decision(self) -> EligibilityDecision:
        return self.model.decision

    # --- answering -------------------------------------------------------------------------
    def set_answer(self, criterion_id: str, answer: Answer | None) -> None:
        """What choosing ``answer`` in the criterion's box and pressing Enter does."""
        box = self.combos[criterion_id]
        box.setCurrentIndex(box.findData(answer))
        self._on_choice(criterion_id)

    def _stored(self, cid: str) -> Answer | None:
        it = self.decision.item(cid)
        return it.answer if it.by else None

    def _on_browse(self, cid: str) -> None:
        """The shown choice changed (arrow keys, a letter): pending until committed."""
        box = self.combos[cid]
        pending = box.currentData() is not self._stored(cid)
        self._mark(box, pending)
        if pending:
            self.error_label.setText(
                self.tr(
                    "{criterion}: '{choice}' is not recorded yet. Press Enter or leave the box "
                    "to record it, Esc to put back the recorded answer."
                ).format(
                    criterion=criterion_title(self.model.criteria.get(cid)),
                    choice=box.currentText(),
                )
            )

    def _mark(self, box: AnswerBox, pending: bool) -> None:
        box.pending = pending
        box.setStyleSheet(PENDING_STYLE if pending else "")
        box.setToolTip(self.tr("Not recorded yet") if pending else "")

    def _revert(self) -> None:
        """Put the stored answers back in the boxes (nothing recorded)."""
        self.error_label.setText("")
        self._show(self.decision)

    def _on_choice(self, cid: str) -> None:
        """Record the box's choice when it differs from the stored answer (one command)."""
        box = self.combos[cid]
        answer = box.currentData()
        if answer is self._stored(cid):
            if box.pending:
                self._mark(box, False)
                self.error_label.setText("")
            return
        who = self.answering_user()
        if who is None:
            self.error_label.setText(
                self.tr("Nobody is logged in: the answer to {criterion} is not recorded.").format(
                    criterion=cid
                )
            )
            self._show(self.decision)  # put the box back
            return
        try:
            cmd = answer_command(self.model.criteria.get(cid), answer, who[0])
        except ValueError as exc:
            self.error_label.setText(error_text(exc))
            self._show(self.decision)  # put the box back
            return
        self.error_label.setText("")
        self.undo.push_command(cmd)
        self._show(self.decision)  # a refused command leaves the stored answer in the box

    # --- undo / redo in this window --------------------------------------------------------
    def _pending_box(self) -> AnswerBox | None:
        focus = QApplication.focusWidget()
        if focus is None:
            return None
        for box in self.combos.values():
            if box.pending and (box is focus or box.isAncestorOf(focus)):
                return box
        return None

    def _step_is_answer(self, index: int) -> bool | None:
        """Whether step ``index`` of the read's undo stack is an answer (None: no such step)."""
        if not 0 <= index < self.undo.count():
            return None
        return is_answer_command(getattr(self.undo.command(index), "command", None))

    def undo_last(self) -> None:
        """Ctrl+Z: put back a pending choice, else undo the last recorded answer.

        Only an answer is undone here: when the read's last step is another edit (a lesion, a
        measurement), the reader is told to undo it in the main window (Edit > Undo).
        """
        if self._pending_box() is not None:
            self._revert()
            return
        last = self._step_is_answer(self.undo.index() - 1)
        if last is None:
            self.error_label.setText(self.tr("Nothing to undo."))
            return
        if not last:
            self.error_label.setText(
                self.tr(
                    "The last change of the read is not an eligibility answer ({what}): undo it "
                    "in the main window (Edit > Undo)."
                ).format(what=app_text(self.undo.undoText()))
            )
            return
        self.error_label.setText("")
        self.undo.undo()
        self._show(self.decision)

    def redo_last(self) -> None:
        """Ctrl+Shift+Z / Ctrl+Y: redo the last undone answer (answers only, as for undo)."""
        nxt = self._step_is_answer(self.undo.index())
        if nxt is None:
            self.error_label.setText(self.tr("Nothing to redo."))
            return
        if not nxt:
            self.error_label.setText(
                self.tr(
                    "The next change to redo is not an eligibility answer ({what}): redo it in "
                    "the main window (Edit > Redo)."
                ).format(what=app_text(self.undo.redoText()))
            )
            return
        self.error_label.setText("")
        self.undo.redo()
        self._show(self.decision)

    # --- display ---------------------------------------------------------------------------
    def _show(self, d: EligibilityDecision) -> None:
        read = self.undo.session.read
        self._show_user()
        self.patient_label.setText(
            self.tr("Patient {subject}, read by {reader}").format(
                subject=app_text(self.policy.subject(read.patient_id))
                if read.patient_id
                else self.tr("(none)"),
                reader=read.reader or self.tr("(unknown)"),
            )
        )
        for r, it in enumerate(d.items):
            self._fill_row(r, it)
        self.table.resizeRowsToContents()
        colour = DECISION_COLOURS[d.decision]
        self.decision_label.setText(
            self.tr("Decision: {headline}").format(headline=app_text(d.headline))
        )
        self.decision_label.setStyleSheet(f"QLabel {{ color: {colour}; }}")
        self.decision_label.setText(self._blind(self.decision_label.text()))
        self.reasons.setPlainText(self._blind("\n".join(app_text(r) for r in d.reasons)))

    def _fill_row(self, r: int, it: ChecklistItem) -> None:
        c = it.criterion
        first = QTableWidgetItem(f"{criterion_title(c)}\n({c.id})")
        text = QTableWidgetItem(app_text(c.text))
        text.setToolTip(text.text())
        by = QTableWidgetItem(app_text(it.by))
        when = QTableWidgetItem(self.tr("live from the read") if it.automatic else _when(it.at))
        detail = QTableWidgetItem(self._blind(app_text(it.detail) if it.automatic else it.note))
        detail.setToolTip(detail.text())
        mark = {True: "#dff3e4", False: "#fbe0de", None: "#f1f1f1"}[it.satisfied]
        for item in (first, text, by, when, detail):
            item.setBackground(QColor(mark))
        self.table.setItem(r, 0, first)
        self.table.setItem(r, 1, text)
        self.table.setItem(r, 3, by)
        self.table.setItem(r, 4, when)
        self.table.setItem(r, 5, detail)
        if it.automatic:
            auto = QTableWidgetItem(
                self.tr("{answer} (from the read)").format(answer=enum_text(it.answer))
            )
            auto.setBackground(QColor(mark))
            auto.setToolTip(self._blind(app_text(it.detail)))
            self.table.setItem(r, 2, auto)
            return
        box = self.combos[c.id]
        box.blockSignals(True)
        box.setCurrentIndex(box.findData(it.answer if it.by else None))
        box.blockSignals(False)
        self._mark(box, False)

    def text(self) -> str:
        """Everything the view says, as text (tests)."""
        lines = [self.patient_label.text(), self.banner.text(), self.user_label.text()]
        for r in range(self.table.rowCount()):
            cells = []
            for col in range(self.table.columnCount()):
                w = self.table.cellWidget(r, col)
                if isinstance(w, QComboBox):
                    cells.append(w.currentText())
                else:
                    item = self.table.item(r, col)
                    cells.append(item.text().replace("\n", " ") if item is not None else "")
            lines.append(" | ".join(cells))
        lines += [self.error_label.text(), self.decision_label.text(), self.reasons.toPlainText()]
        return "\n".join(x for x in lines if x)


__all__ = ["AnswerBox", "EligibilityView", "logged_in_user"]
