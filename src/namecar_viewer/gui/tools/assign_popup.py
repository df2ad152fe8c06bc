"""The inline chooser that asks where a new measurement belongs, and the undo announcement.

:class:`AssignmentChooser` opens over the viewport beside the measurement just drawn (already
stored, unassigned): the options of :func:`~namecar_viewer.app.lesion_assignment.
plan_assignment` (lesions ranked by distance from where they are expected, a new lesion with
its role, or "not part of the RECIST read"), the site of a new lesion, and for the ancillary
record the RECIST lesion it is the same as.  Up/Down and Enter choose, a click or a double
click too; Escape leaves the measurement as an annotation.  It is not modal: the reader may
scroll, and drawing the next measurement closes it.

:class:`UndoToast` announces what was done ("T1 at fu09m: 62.3 mm") with an Undo button.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.lesion_assignment import (
    Choice,
    NewLesionDetails,
    Option,
    Plan,
    new_lesion_role,
)
from namecar_viewer.core.reads.model import Site
from namecar_viewer.gui.app_texts import enum_text
from namecar_viewer.gui.i18n import app_text

_STYLE = (
    "QFrame#assign_chooser { background: #26262c; border: 1px solid #d0a030; }"
    "QLabel { color: #f0f0f0; } QListWidget { background: #1c1c20; color: #f0f0f0; }"
    "QListWidget::item:selected { background: #5a4a18; }"
    "QComboBox, QCheckBox { color: #f0f0f0; }"
    "QComboBox { background: #1c1c20; border: 1px solid #707070; padding: 1px 6px; }"
    "QComboBox QAbstractItemView { background: #1c1c20; color: #f0f0f0; }"
)


class AssignmentChooser(QFrame):
    """Where does this measurement belong?  ``on_done(option, details)`` once chosen,
    ``on_done(None, details)`` when the reader leaves it as it is (Escape)."""

    def __init__(
        self,
        parent: QWidget,
        title: str,
        plan: Plan,
        site: Site,
        on_done: Callable[[Option | None, NewLesionDetails], None],
        link_labels: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("assign_chooser")
        self.setStyleSheet(_STYLE)
        self.setFrameShape(QFrame.Shape.Box)
        self.plan = plan
        self.on_done = on_done
        self._finished = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.title = QLabel(title, self)
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        self.reason = QLabel(f"<small>{app_text(plan.reason)}</small>", self)
        self.reason.setWordWrap(True)
        lay.addWidget(self.reason)
        self.list = QListWidget(self)
        for opt in plan.options:
            item = QListWidgetItem(app_text(opt.text))
            if opt.near:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            self.list.addItem(item)
        self.list.setCurrentRow(plan.default)
        rows = min(len(plan.options), 8)
        self.list.setFixedHeight(rows * (self.list.sizeHintForRow(0) + 2) + 6)
        # every option readable in full, no horizontal scrolling
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumWidth(min(self.list.sizeHintForColumn(0) + 28, 560))
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        self.list.currentRowChanged.connect(lambda _r: self._update_site())
        self.list.installEventFilter(self)
        lay.addWidget(self.list)
        form = QHBoxLayout()
        self.site_label = QLabel(self.tr("Site:"), self)
        self.site_combo = QComboBox(self)
        for s in Site:
            self.site_combo.addItem(enum_text(s), s)
        self.site_combo.setCurrentIndex(self.site_combo.findData(site))
        form.addWidget(self.site_label)
        form.addWidget(self.site_combo, 1)
        lay.addLayout(form)
        self.primary_check = QCheckBox(self.tr("Primary renal tumour (not a metastasis)"), self)
        lay.addWidget(self.primary_check)
        self.site_combo.currentIndexChanged.connect(lambda _i: self._update_site())
        link = QHBoxLayout()
        self.link_label = QLabel(self.tr("Same lesion as:"), self)
        self.link_combo = QComboBox(self)
        self.link_combo.addItem(self.tr("(not linked)"), "")
        for label in link_labels:
            self.link_combo.addItem(label, label)
        link.addWidget(self.link_label)
        link.addWidget(self.link_combo, 1)
        lay.addLayout(link)
        buttons = QHBoxLayout()
        self.ok_button = QPushButton(self.tr("OK (Enter)"), self)
        self.ok_button.clicked.connect(lambda _c=False: self.accept())
        self.leave_button = QPushButton(self.tr("Leave unassigned (Esc)"), self)
        self.leave_button.clicked.connect(lambda _c=False: self.leave())
        buttons.addWidget(self.ok_button)
        buttons.addWidget(self.leave_button)
        lay.addLayout(buttons)
        self._has_links = bool(link_labels)
        for w in (
            self.list,
            self.site_combo,
            self.primary_check,
            self.link_combo,
            self.ok_button,
            self.leave_button,
        ):
            w.installEventFilter(self)
        self._update_site()
        self.adjustSize()

    @property
    def option(self) -> Option:
        return self.plan.options[max(0, self.list.currentRow())]

    def choose(self, choice: Choice, lesion_uid: str | None = None) -> None:
        """Select the option (tests, keyboard handlers)."""
        for i, o in enumerate(self.plan.options):
            if o.choice is choice and (lesion_uid is None or o.lesion_uid == lesion_uid):
                self.list.setCurrentRow(i)
                return
        raise KeyError(f"No option {choice.value} {lesion_uid or ''}".strip())

    def _update_site(self) -> None:
        creates = new_lesion_role(self.option.choice) is not None
        for w in (self.site_label, self.site_combo):
            w.setVisible(creates)
        kidney = self.site_combo.currentData() is Site.KIDNEY
        self.primary_check.setVisible(
            creates and kidney and self.option.choice is not (Choice.NEW_ANCILLARY)
        )
        ancillary = self.option.choice is Choice.NEW_ANCILLARY and self._has_links
        for w in (self.link_label, self.link_combo):
            w.setVisible(ancillary)
        self.adjustSize()

    def place_near(self, anchor: QPoint) -> None:
        """Beside the measurement (right of it, else left), inside the viewport."""
        parent = self.parentWidget()
        self.adjustSize()
        x, y = anchor.x() + 16, anchor.y() - 10
        if parent is not None and x + self.width() > parent.width() - 4:
            x = anchor.x() - self.width() - 80  # left of the measurement, not over it
        if parent is not None:
            x = max(4, min(x, parent.width() - self.width() - 4))
            y = max(4, min(y, parent.height() - self.height() - 4))
        self.move(x, y)

    def open(self) -> None:
        self.show()
        self.raise_()
        self.list.setFocus()

    def eventFilter(self, obj: object, event: object) -> bool:
        if not isinstance(event, QKeyEvent):
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            # typing in the chooser (Tab, letters to pick a site) is for the chooser: the
            # window's single-key shortcuts (D line, E ellipse, Tab next viewport) wait
            mods = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
            )
            if not mods:
                event.accept()
                return True
            return False
        if obj is self.list and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.accept()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.leave()
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.leave()
            return
        super().keyPressEvent(event)

    def accept(self) -> None:
        if self._finished:
            return
        self._finished = True
        site = self.site_combo.currentData()
        details = NewLesionDetails(
            site=site if isinstance(site, Site) else Site.OTHER,
            link_label=str(self.link_combo.currentData() or "") if self._has_links else "",
            primary_renal=self.primary_check.isVisible() and self.primary_check.isChecked(),
        )
        self._close()
        self._call(self.option, details)

    def leave(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._close()
        self._call(None, NewLesionDetails())

    def _call(self, option: Option | None, details: NewLesionDetails) -> None:
        # called from a key or mouse handler: an exception escaping into Qt would end the
        # application; it is printed and the measurement stays stored, unassigned
        try:
            self.on_done(option, details)
        except Exception:  # noqa: BLE001 - never let a handler take the workstation down
            import traceback

            traceback.print_exc()

    def _close(self) -> None:
        # the keyboard goes back to the viewport before the chooser hides: hiding the focused
        # widget first would hand the focus to the next one in the chain (the lesion table,
        # which would then select its first row)
        parent = self.parentWidget()
        if parent is not None:
            parent.setFocus()
        self.hide()
        self.deleteLater()


class UndoToast(QFrame):
    """A short announcement with an Undo button, at the bottom of the viewport."""

    TIMEOUT_MS = 8000

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("undo_toast")
        self.setStyleSheet(
            "QFrame#undo_toast { background: #2d3a2d; border: 1px solid #7ac070; }"
            "QLabel { color: #f0fff0; }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel(self)
        self.button = QPushButton(self.tr("Undo"), self)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self._undo: Callable[[], None] | None = None
        self.button.clicked.connect(lambda _c=False: self._on_undo())
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)
        self.hide()

    def announce(self, text: str, undo: Callable[[], None] | None) -> None:
        self.label.setText(text)
        self._undo = undo
        self.button.setVisible(undo is not None)
        self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            w = min(max(self.sizeHint().width(), 260), parent.width() - 16)
            self.resize(w, self.sizeHint().height())
            self.move(8, parent.height() - self.height() - 28)
        self.show()
        self.raise_()
        self.timer.start(self.TIMEOUT_MS)

    def _on_undo(self) -> None:
        undo, self._undo = self._undo, None
        self.hide()
        if undo is not None:
            undo()


__all__ = ["AssignmentChooser", "UndoToast"]
