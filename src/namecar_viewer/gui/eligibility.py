"""View > Eligibility: the NAMECAR checklist for local sites, saved with the read.

Each inclusion (1-7) and exclusion (1-10) criterion is answered yes / no / unknown; the answer
records who (the name in *Answer as*) and when.  The RECIST criterion is filled from the read
(pre-treatment baseline vs the inclusion scan) and cannot be typed.  Every answer is a command
on the read's undo stack (Edit > Undo reverts it) committed to the reads database at once.  The
criteria wording ships with the application and is marked, in a banner, as to be checked
against the approved protocol version.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
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
)
from namecar_viewer.gui.panels.charts import RESPONSE_COLOURS
from namecar_viewer.gui.undo import ReadUndoStack

COLUMNS = ("Criterion", "Text", "Answer", "By", "When", "Detail")
CHOICES: tuple[tuple[str, Answer | None], ...] = (
    ("not answered", None),
    ("yes", Answer.YES),
    ("no", Answer.NO),
    ("unknown", Answer.UNKNOWN),
)
DECISION_COLOURS = {
    Decision.ELIGIBLE: RESPONSE_COLOURS["CR"],
    Decision.NOT_ELIGIBLE: RESPONSE_COLOURS["PD"],
    Decision.INCOMPLETE: "#8a6d00",
}


def _when(at: dt.datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class EligibilityView(QDialog):
    """The checklist, the RECIST part from the read and the decision with its reasons."""

    def __init__(
        self,
        undo: ReadUndoStack,
        criteria: CriteriaSet | None = None,
        user: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("NAMECAR eligibility")
        self.setModal(False)
        self.resize(1000, 720)
        self.undo = undo
        self.model = EligibilityModel(undo.session, criteria)
        # blinded mode: the subject's pseudonym instead of the patient ID, dates as days
        self.policy = BlindingPolicy.open()
        crit = self.model.criteria
        self.patient_label = QLabel(self)
        self.banner = QLabel(
            f"<b>Criteria wording: {crit.wording_status}</b><br>"
            f"<small>{crit.trial}. {crit.source}<br>File: {crit.path}</small>",
            self,
        )
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "QLabel { background: #fff3cd; color: #5c4400; border: 1px solid #e0b400; "
            "padding: 6px; }"
        )
        self.user_edit = QLineEdit(user or undo.session.read.reader or "", self)
        self.user_edit.setPlaceholderText("name of who answers (required)")
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
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(5, QHeaderView.ResizeMode.Interactive)
        self.combos: dict[str, QComboBox] = {}
        for r, c in enumerate(crit.criteria):
            if c.auto is None:
                box = QComboBox(self.table)
                for text, ans in CHOICES:
                    box.addItem(text, ans)
                box.currentIndexChanged.connect(lambda _i, cid=c.id: self._on_choice(cid))
                self.combos[c.id] = box
                self.table.setCellWidget(r, 2, box)
        who = QHBoxLayout()
        who.addWidget(QLabel("Answer as:", self))
        who.addWidget(self.user_edit, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.patient_label)
        lay.addWidget(self.banner)
        lay.addLayout(who)
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
        self.model.set_session(undo.session)

    def set_blinding(self, policy: BlindingPolicy) -> None:
        self.policy = policy
        self._show(self.decision)

    def _blind(self, text: str) -> str:
        if not self.policy.enabled:
            return text
        from namecar_viewer.gui.worklist import redactor_for_read

        return redactor_for_read(self.undo.session.read, self.policy).redact(text)

    @property
    def decision(self) -> EligibilityDecision:
        return self.model.decision

    # --- answering -------------------------------------------------------------------------
    def set_answer(self, criterion_id: str, answer: Answer | None) -> None:
        """What choosing in the criterion's box does."""
        box = self.combos[criterion_id]
        box.setCurrentIndex(box.findData(answer))

    def _on_choice(self, cid: str) -> None:
        answer = self.combos[cid].currentData()
        crit = self.model.criteria.get(cid)
        current = next(it for it in self.decision.items if it.criterion.id == cid)
        if answer is None and not current.by:
            return
        if answer is not None and current.by and answer is current.answer:
            return
        try:
            cmd = answer_command(crit, answer, self.user_edit.text())
        except ValueError as exc:
            self.error_label.setText(str(exc))
            self._show(self.decision)  # put the box back
            self.user_edit.setFocus()
            return
        self.error_label.setText("")
        self.undo.push_command(cmd)

    # --- display ---------------------------------------------------------------------------
    def _show(self, d: EligibilityDecision) -> None:
        read = self.undo.session.read
        self.patient_label.setText(
            f"Patient {self.policy.subject(read.patient_id) if read.patient_id else '(none)'}, "
            f"read by {read.reader or '(unknown)'}"
        )
        for r, it in enumerate(d.items):
            self._fill_row(r, it)
        self.table.resizeRowsToContents()
        colour = DECISION_COLOURS[d.decision]
        self.decision_label.setText(f"Decision: {d.headline}")
        self.decision_label.setStyleSheet(f"QLabel {{ color: {colour}; }}")
        self.decision_label.setText(self._blind(self.decision_label.text()))
        self.reasons.setPlainText(self._blind("\n".join(d.reasons)))

    def _fill_row(self, r: int, it: ChecklistItem) -> None:
        c = it.criterion
        first = QTableWidgetItem(f"{c.title}\n({c.id})")
        text = QTableWidgetItem(c.text)
        text.setToolTip(c.text)
        by = QTableWidgetItem(it.by)
        when = QTableWidgetItem("live from the read" if it.automatic else _when(it.at))
        detail = QTableWidgetItem(self._blind(it.detail if it.automatic else it.note))
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
            auto = QTableWidgetItem(f"{it.answer.value} (from the read)")
            auto.setBackground(QColor(mark))
            auto.setToolTip(self._blind(it.detail))
            self.table.setItem(r, 2, auto)
            return
        box = self.combos[c.id]
        box.blockSignals(True)
        box.setCurrentIndex(box.findData(it.answer if it.by else None))
        box.blockSignals(False)

    def text(self) -> str:
        """Everything the view says, as text (tests)."""
        lines = [self.patient_label.text(), self.banner.text()]
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


__all__ = ["EligibilityView"]
