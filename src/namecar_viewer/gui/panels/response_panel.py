"""Response panel beside the lesion table: RECIST 1.1 per timepoint, live as the reader measures.

One row per timepoint (sum, change from baseline, nadir, change from the nadir, target /
non-target / new-lesion / overall response in colour, the reason), the NAMECAR eligibility line,
best overall response and first progression, the reasons in full (tooltip and an expandable
text), and two charts (:mod:`.charts`).  The panel listens to the read session through
:class:`~namecar_viewer.app.response.ResponseModel`: an edit, undo or redo redraws it with no
refresh call.  The baseline choice (pre-treatment / inclusion) is a read setting changed
through the undo stack.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSize, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.app.response import (
    EligibilityStatus,
    RecistBaseline,
    ResponseModel,
    ResponseReport,
    ResponseRow,
    set_baseline_command,
)
from namecar_viewer.core.recist import NewLesions, Response
from namecar_viewer.gui import i18n, theme
from namecar_viewer.gui.app_texts import response_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.panels.charts import RESPONSE_COLOURS, SpiderPlot, SumPlot
from namecar_viewer.gui.undo import ReadUndoStack

translate = QCoreApplication.translate

# column titles (English keys of :meth:`ResponsePanel.cell`, translated when shown)
COLUMNS = (
    QT_TRANSLATE_NOOP("ResponsePanel", "Timepoint"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Date"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Sum"),
    QT_TRANSLATE_NOOP("ResponsePanel", "vs baseline"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Nadir"),
    QT_TRANSLATE_NOOP("ResponsePanel", "vs nadir"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Target"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Non-target"),
    QT_TRANSLATE_NOOP("ResponsePanel", "New lesions"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Overall"),
    QT_TRANSLATE_NOOP("ResponsePanel", "Reason"),
)
ELIGIBILITY_COLOURS = {
    EligibilityStatus.ELIGIBLE: RESPONSE_COLOURS["CR"],
    EligibilityStatus.NOT_ELIGIBLE: RESPONSE_COLOURS["PD"],
    EligibilityStatus.INCOMPLETE: RESPONSE_COLOURS["NE"],
}
_NEW = {
    NewLesions.NONE: QT_TRANSLATE_NOOP("ResponsePanel", "none"),
    NewLesions.EQUIVOCAL: QT_TRANSLATE_NOOP("ResponsePanel", "equivocal"),
    NewLesions.UNEQUIVOCAL: QT_TRANSLATE_NOOP("ResponsePanel", "yes"),
}


def row_texts(row: ResponseRow) -> dict[str, str]:
    """The sum, change and nadir cells of a row in the reader's language."""

    def num(text: str) -> str:
        return i18n.localise_number_text(text)

    sum_text = "-"
    if row.sum_mm is not None:
        from namecar_viewer.core.recist.sums import fmt_mm

        sum_text = num(fmt_mm(row.sum_mm))
        if row.targets_not_evaluated:
            sum_text = translate("ResponsePanel", "{sum} (incomplete)").format(sum=sum_text)
    pct_base = (
        translate("ResponsePanel", "baseline") if row.is_baseline else num(row.pct_baseline_text)
    )
    return {
        "sum": sum_text,
        "pct_baseline": pct_base,
        "nadir": num(row.nadir_text),
        "pct_nadir": num(row.pct_nadir_text),
    }


def _response_item(r: Response | None) -> QTableWidgetItem:
    item = QTableWidgetItem("" if r is None else response_text(r))
    if r is not None:
        colour = RESPONSE_COLOURS.get(r.value)
        if colour is not None:
            item.setBackground(QColor(colour))
            item.setForeground(QColor("#ffffff" if r.value in ("CR", "PR", "PD", "NE") else "#000"))
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    return item


RESPONSE_DOCK_HEIGHT = 290  # px, initial height of the bottom dock row


class ResponsePanel(QWidget):
    """RECIST response of the read in the undo stack's session."""

    def __init__(self, undo: ReadUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo = undo
        self.model = ResponseModel(undo.session)
        # blinded mode: patient ID and calendar dates hidden (dates as days from baseline)
        self.policy = BlindingPolicy.open()
        self.baseline_combo = QComboBox(self)
        self.baseline_combo.addItem(self.tr("Pre-treatment"), RecistBaseline.PRE_TREATMENT)
        self.baseline_combo.addItem(self.tr("Inclusion (re-baseline)"), RecistBaseline.INCLUSION)
        self.baseline_combo.setToolTip(
            self.tr(
                "RECIST baseline of the rows below, stored with the read. NAMECAR eligibility "
                "always compares the pre-treatment baseline with the inclusion scan; the PFS "
                "follow-up may be re-baselined at the inclusion (randomisation) scan."
            )
        )
        self.baseline_combo.currentIndexChanged.connect(self._on_baseline_chosen)
        self.baseline_label = QLabel(self)
        self.baseline_label.setWordWrap(True)
        self.eligibility_label = QLabel(self)
        self.eligibility_label.setWordWrap(True)
        self.eligibility_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # CT studies of the patient the read has not assessed (the nadir may be wrong)
        self.studies: Any = lambda: []
        self.unread_label = QLabel(self)
        self.unread_label.setObjectName("unread_timepoints")
        self.unread_label.setWordWrap(True)
        self.unread_label.hide()
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setMinimumHeight(60)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        self.reasons_button = QToolButton(self)
        self.reasons_button.setText(self.tr("Reasons"))
        self.reasons_button.setCheckable(True)
        self.reasons_button.setArrowType(Qt.ArrowType.RightArrow)
        self.reasons_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasons_button.toggled.connect(self._toggle_reasons)
        self.reasons_text = QPlainTextEdit(self)
        self.reasons_text.setReadOnly(True)
        self.reasons_text.setVisible(False)
        self.reasons_text.setMaximumHeight(160)
        self.sum_chart = SumPlot(self)
        self.spider_chart = SpiderPlot(self)
        charts = QSplitter(Qt.Orientation.Horizontal, self)
        charts.addWidget(self.sum_chart)
        charts.addWidget(self.spider_chart)
        charts.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("RECIST baseline:"), self))
        top.addWidget(self.baseline_combo)
        top.addWidget(self.baseline_label, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.eligibility_label)
        lay.addWidget(self.unread_label)
        lay.addWidget(self.message_label)
        upper = QWidget(self)
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(self.table, 1)
        line = QHBoxLayout()
        line.addWidget(self.reasons_button)
        line.addWidget(self.summary_label, 1)
        ul.addLayout(line)
        ul.addWidget(self.reasons_text)
        # timepoints and charts as tabs: each gets the dock's full height beside the lesion
        # table, so the viewports keep their room
        self.tabs = QTabWidget(self)
        self.tabs.addTab(upper, self.tr("Timepoints"))
        self.tabs.addTab(charts, self.tr("Charts (sum, spider)"))
        lay.addWidget(self.tabs, 1)
        self.model.changed.connect(self._show)
        self._show(self.model.report)

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    # --- binding ---------------------------------------------------------------------------
    def set_undo(self, undo: ReadUndoStack) -> None:
        """Follow another read's undo stack (another patient opened)."""
        self.undo = undo
        self.model.set_session(undo.session)

    @property
    def report(self) -> ResponseReport:
        return self.model.report

    def _on_baseline_chosen(self, index: int) -> None:
        choice = self.baseline_combo.itemData(index)
        if isinstance(choice, RecistBaseline) and choice is not self.model.baseline:
            self.undo.push_command(set_baseline_command(choice))

    def set_baseline(self, choice: RecistBaseline) -> None:
        """What choosing in the combo box does (undoable, stored with the read)."""
        self.baseline_combo.setCurrentIndex(self.baseline_combo.findData(choice))

    def set_blinding(self, policy: BlindingPolicy) -> None:
        """Show dates as days from baseline and no patient ID when ``policy`` hides them."""
        self.policy = policy
        self._show(self.model.report)

    def _blind(self, text: str) -> str:
        if not self.policy.enabled:
            return text
        from namecar_viewer.gui.worklist import redactor_for_read

        return i18n.days_text(redactor_for_read(self.undo.session.read, self.policy).redact(text))

    def _date_text(self, date: Any) -> str:
        base = self.undo.session.read.baseline()
        return app_text(self.policy.date(date, base.date if base is not None else None))

    def _toggle_reasons(self, on: bool) -> None:
        self.reasons_text.setVisible(on)
        self.reasons_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    # --- display ---------------------------------------------------------------------------
    def unread_text(self) -> str:
        """The CT studies of the patient this read has not assessed ("" when none)."""
        from namecar_viewer.app.reading_order import unread_message, unread_studies

        try:
            studies = list(self.studies())
        except Exception:  # noqa: BLE001 - the store being unavailable only hides the warning
            studies = []
        read = self.undo.session.read
        if not read.patient_id:
            return ""
        return unread_message(unread_studies(read, studies))

    def _show_unread(self) -> None:
        text = self.unread_text()
        self.unread_label.setText(
            self._blind(self.tr("Timepoints: {text}").format(text=app_text(text))) if text else ""
        )
        self.unread_label.setVisible(bool(text))
        # red when a response may be wrong (an unread CT before a read one), else a reminder
        doubt = "not read" in text
        colour = RESPONSE_COLOURS["PD"] if doubt else theme.colour("warning")
        self.unread_label.setStyleSheet(
            f"QLabel {{ color: {colour}; font-weight: {'bold' if doubt else 'normal'}; }}"
        )

    def _show(self, rep: ResponseReport) -> None:
        self._show_unread()
        self.baseline_combo.blockSignals(True)
        self.baseline_combo.setCurrentIndex(self.baseline_combo.findData(rep.baseline))
        self.baseline_combo.blockSignals(False)
        self.baseline_label.setText(
            self._blind(app_text(rep.baseline_text.removeprefix("RECIST baseline: ")))
        )
        colour = ELIGIBILITY_COLOURS[rep.eligibility.status]
        self.eligibility_label.setText(
            self._blind(
                self.tr("NAMECAR eligibility: {text}").format(text=app_text(rep.eligibility.text))
            )
        )
        self.eligibility_label.setStyleSheet(f"QLabel {{ color: {colour}; font-weight: bold; }}")
        msgs = [
            self.tr("Cannot evaluate: {error}").format(error=app_text(e)) for e in rep.errors
        ] + [self.tr("Note: {note}").format(note=app_text(n)) for n in rep.notes]
        self.message_label.setText(self._blind("\n".join(msgs)))
        self.message_label.setVisible(bool(msgs))
        tone = RESPONSE_COLOURS["PD"] if rep.errors else theme.colour("warning")
        self.message_label.setStyleSheet(f"QLabel {{ color: {tone}; }}")
        self.table.setRowCount(len(rep.rows))
        for n, row in enumerate(rep.rows):
            self._fill_row(n, row)
        self._fit_rows()
        if rep.rows:
            best = best_text(rep)
            if rep.best_overall_reason:
                best += f" ({app_text(rep.best_overall_reason)})"
            self.summary_label.setText(self._blind(f"{best}. {first_pd_text(rep)}."))
        else:
            self.summary_label.setText("")
        self.reasons_text.setPlainText(self._blind(self._reasons_text(rep)))
        for chart in (self.sum_chart, self.spider_chart):
            chart.date_label = self._date_text if self.policy.enabled else None
        self.sum_chart.set_report(rep)
        self.spider_chart.set_report(rep)

    def rows_height(self) -> int:
        """Height the table needs to show every timepoint row (header, frame and, when the
        columns are wider than the table, the horizontal scroll bar)."""
        t = self.table
        rows = sum(t.rowHeight(r) for r in range(t.rowCount()))
        height = t.horizontalHeader().height() + rows + 2 * t.frameWidth()
        hh = t.horizontalHeader()
        if hh.length() > t.viewport().width():
            height += t.horizontalScrollBar().sizeHint().height()
        return height

    def _fit_rows(self) -> None:
        """Every row shown: the table asks for the height of its rows (up to 12 of them, the
        most a NAMECAR read has), and the latest timepoint, the one that may be PD, is scrolled
        into view whatever room is left."""
        t = self.table
        n = t.rowCount()
        if n == 0:
            t.setMinimumHeight(60)
            return
        per_row = t.rowHeight(0) or t.verticalHeader().defaultSectionSize()
        need = self.rows_height() - sum(t.rowHeight(r) for r in range(n)) + min(n, 12) * per_row
        t.setMinimumHeight(max(60, need))
        t.scrollToBottom()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.table.rowCount():
            self._fit_rows()

    def _fill_row(self, n: int, row: ResponseRow) -> None:
        tip = self._blind("\n".join(app_text(r) for r in row.reasons))
        texts = row_texts(row)
        cells: list[QTableWidgetItem] = [
            QTableWidgetItem(row.label + (self.tr(" (baseline)") if row.is_baseline else "")),
            QTableWidgetItem(self._date_text(row.date) if row.date else self.tr("undated")),
            QTableWidgetItem(texts["sum"]),
            QTableWidgetItem(texts["pct_baseline"]),
            QTableWidgetItem(texts["nadir"]),
            QTableWidgetItem(texts["pct_nadir"]),
            _response_item(row.target_response),
            _response_item(row.non_target_response),
            QTableWidgetItem("" if row.is_baseline else self.tr(_NEW[row.new_lesions])),
            _response_item(row.overall_response),
            QTableWidgetItem(self._blind(app_text(row.main_reason))),
        ]
        if row.is_baseline:
            f = QFont(cells[0].font())
            f.setBold(True)
            cells[0].setFont(f)
        for c, item in enumerate(cells):
            item.setToolTip(tip)
            if 2 <= c <= 5:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(n, c, item)

    def _reasons_text(self, rep: ResponseReport) -> str:
        lines = [
            app_text(rep.baseline_text),
            self.tr("NAMECAR: {text}").format(text=app_text(rep.eligibility.text)),
        ]
        lines += [self.tr("Cannot evaluate: {error}").format(error=app_text(e)) for e in rep.errors]
        lines += [self.tr("Note: {note}").format(note=app_text(n)) for n in rep.notes]
        for row in rep.rows:
            lines.append("")
            when = i18n.date_text(row.date) if row.date else self.tr("undated")
            lines.append(f"{row.label} ({when}):")
            lines += [f"  {app_text(r)}" for r in row.reasons]
        if rep.rows:
            lines += [
                "",
                f"{best_text(rep)}: {app_text(rep.best_overall_reason)}",
                first_pd_text(rep),
            ]
        return "\n".join(lines)

    def text(self) -> str:
        """Everything the panel shows as text (for tests, copy and accessibility)."""
        parts = [
            self.baseline_combo.currentText(),
            self.baseline_label.text(),
            self.eligibility_label.text(),
            self.unread_label.text() if self.unread_label.isVisibleTo(self) else "",
            self.message_label.text() if self.message_label.isVisibleTo(self) else "",
        ]
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(self.table.columnCount())]
            parts.append(" | ".join(i.text() if i is not None else "" for i in cells))
        parts.append(self.summary_label.text())
        return "\n".join(p for p in parts if p)

    def cell(self, label: str, column: str) -> QTableWidgetItem:
        """The table item of a timepoint (label) and a column title."""
        c = COLUMNS.index(column)
        for r, row in enumerate(self.report.rows):
            if row.label == label:
                item = self.table.item(r, c)
                assert item is not None
                return item
        raise KeyError(label)


def best_text(rep: ResponseReport) -> str:
    """``Best overall response: PR`` in the reader's language."""
    value = response_text(rep.best_overall_response) if rep.best_overall_response else "-"
    return translate("ResponsePanel", "Best overall response: {response}").format(response=value)


def first_pd_text(rep: ResponseReport) -> str:
    """``First PD: 2026-04-09 (fu09m)`` (or ``No progression``) in the reader's language."""
    if rep.first_pd_label is None:
        return translate("ResponsePanel", "No progression")
    when = (
        i18n.date_text(rep.first_pd_date)
        if rep.first_pd_date
        else translate("ResponsePanel", "undated")
    )
    return translate("ResponsePanel", "First PD: {when} ({label})").format(
        when=when, label=rep.first_pd_label
    )


def install_response_dock(window: Any) -> Any:
    """Add the Response dock beside the lesion dock and View > Eligibility to ``window``.

    ``window`` is the main window (``reads`` its ReadController, ``_act`` its action maker);
    returns the :class:`ResponseDock` holding panel, dock and eligibility view.
    """
    return ResponseDock(window)


class ResponseDock:
    """The response dock and the eligibility view of a main window, following its read."""

    def __init__(self, window: Any) -> None:
        from PySide6.QtWidgets import QDockWidget

        self.window = window
        reads = window.reads
        self.panel = ResponsePanel(reads.undo)
        studies = getattr(reads, "patient_studies", None)
        if studies is not None:
            self.panel.studies = lambda: studies(reads.session.read.patient_id)
            self.panel._show_unread()
        self.dock = QDockWidget(translate("ResponseDock", "Response (RECIST 1.1)"), window)
        self.dock.setObjectName("response_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        window.splitDockWidget(reads.dock, self.dock, Qt.Orientation.Horizontal)
        window.resizeDocks([reads.dock, self.dock], [1, 1], Qt.Orientation.Horizontal)
        # room for the lesion rows and several timepoints; the viewports keep about 2/3
        window.resizeDocks([reads.dock], [RESPONSE_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.eligibility: Any = None
        switched = getattr(reads, "switched", None)
        if switched is not None:
            switched.connect(self._on_switched)
        # View > Blinded mode: no patient ID, dates as days from baseline, here and in the view
        state = getattr(window, "state", None)
        if state is not None:
            state.display_changed.connect(self._on_display_changed)
        view_menu = None
        for act in window.menuBar().actions():
            if act.menu() is not None and act.menu().objectName() == "menu_view":
                view_menu = act.menu()
        if view_menu is not None:
            view_menu.addSeparator()
            window._act(
                view_menu,
                "View",
                "eligibility",
                translate("ResponseDock", "&Eligibility (NAMECAR checklist)..."),
                self.show_eligibility,
                "Ctrl+Shift+E",
            )
            window._act(
                view_menu,
                "View",
                "response_panel",
                translate("ResponseDock", "Show &response panel (RECIST)"),
                self.toggle_dock,
                "F3",
            )

    def _on_switched(self, undo: ReadUndoStack) -> None:
        self.panel.set_undo(undo)
        if self.eligibility is not None:
            self.eligibility.set_undo(undo)

    def _on_display_changed(self) -> None:
        policy = BlindingPolicy.for_mode(bool(self.window.state.blinded))
        if policy != self.panel.policy:
            self.panel.set_blinding(policy)
            if self.eligibility is not None:
                self.eligibility.set_blinding(policy)

    def toggle_dock(self) -> None:
        self.dock.setVisible(not self.dock.isVisible())

    def show_eligibility(self) -> Any:
        from namecar_viewer.gui.eligibility import EligibilityView

        if self.eligibility is None:
            self.eligibility = EligibilityView(self.window.reads.undo, parent=self.window)
            self.eligibility.set_blinding(self.panel.policy)
        self.eligibility.show()
        self.eligibility.raise_()
        return self.eligibility


__all__ = ["COLUMNS", "ResponseDock", "ResponsePanel", "install_response_dock"]
