"""The audit trail in the app: entries with filters, and "Verify chain" naming every bad entry.

Filters (user, action, date range in UTC, read) go to :class:`~namecar_viewer.persistence.audit.
AuditFilter`; "Verify chain" recomputes the hash chain (:func:`~namecar_viewer.persistence.
audit.verify`) and lists each edited, deleted or inserted entry, the rows concerned in red.

In blinded mode values are passed through the :class:`~namecar_viewer.app.blinding.Redactor`
(patient identifiers, dates as days from baseline), and a user who is not an administrator
sees only their own entries: other readers' results stay hidden.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.blinding import BlindingPolicy, IdentifierKind, Redactor, parse_date
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import enum_text, enum_value_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.persistence.audit import (
    AuditAction,
    AuditEntry,
    AuditFilter,
    AuditLog,
    VerifyReport,
)
from namecar_viewer.persistence.users import Role

COLUMNS = (
    "#",
    QT_TRANSLATE_NOOP("AuditView", "When (UTC)"),
    QT_TRANSLATE_NOOP("AuditView", "User"),
    QT_TRANSLATE_NOOP("AuditView", "Action"),
    QT_TRANSLATE_NOOP("AuditView", "Entity"),
    QT_TRANSLATE_NOOP("AuditView", "Key"),
    QT_TRANSLATE_NOOP("AuditView", "Old value"),
    QT_TRANSLATE_NOOP("AuditView", "New value"),
    QT_TRANSLATE_NOOP("AuditView", "Reason / detail"),
)
# what an entry is about (AuditEntry.entity: the read's tables, review records), as shown
_ENTITIES = (
    QT_TRANSLATE_NOOP("AuditEntity", "reads"),
    QT_TRANSLATE_NOOP("AuditEntity", "read"),
    QT_TRANSLATE_NOOP("AuditEntity", "timepoints"),
    QT_TRANSLATE_NOOP("AuditEntity", "timepoint"),
    QT_TRANSLATE_NOOP("AuditEntity", "lesions"),
    QT_TRANSLATE_NOOP("AuditEntity", "measurements"),
    QT_TRANSLATE_NOOP("AuditEntity", "statuses"),
    QT_TRANSLATE_NOOP("AuditEntity", "settings"),
    QT_TRANSLATE_NOOP("AuditEntity", "user"),
    QT_TRANSLATE_NOOP("AuditEntity", "case"),
    QT_TRANSLATE_NOOP("AuditEntity", "assignment"),
)
_BAD_BG = QColor("#f3c6c6")
ANY = QT_TRANSLATE_NOOP("AuditView", "(any)")


def _short(text: str | None, n: int = 80) -> str:
    t = (text or "").replace("\n", " ")
    return t if len(t) <= n else t[: n - 1] + "..."


def _when(ts_utc: str) -> str:
    """An entry's UTC time as the reader's language writes it (``2025-01-15 09:05:02``)."""
    try:
        return i18n.datetime_text(dt.datetime.fromisoformat(ts_utc), seconds=True)
    except ValueError:
        return ts_utc.replace("T", " ")[:19]


def _date_bound(text: str, end: bool) -> str | None:
    """``YYYY-MM-DD`` (or ``YYYYMMDD``) as an ISO UTC bound; None when empty.

    Raises ValueError naming the text when it is not a date.
    """
    text = text.strip()
    if not text:
        return None
    d = parse_date(text)
    if d is None:
        raise ValueError(
            QCoreApplication.translate("AuditView", "{text} is not a date (YYYY-MM-DD).").format(
                text=repr(text)
            )
        )
    if end:
        d = d + dt.timedelta(days=1)
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).isoformat(timespec="microseconds")


class AuditView(QDialog):
    """Review > Audit trail."""

    def __init__(
        self,
        ctx: ReviewContext,
        policy: BlindingPolicy | None = None,
        redactor: Redactor | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.log = AuditLog(ctx.engine)
        self.policy = policy or BlindingPolicy.open()
        self.redactor = redactor or Redactor(policy=self.policy)
        self.entries: list[AuditEntry] = []
        self.report: VerifyReport | None = None
        self.setWindowTitle(self.tr("Audit trail"))
        self.resize(1200, 640)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.user_combo = QComboBox(self)
        self.action_combo = QComboBox(self)
        self.action_combo.addItem(self.tr(ANY), None)
        for a in AuditAction:
            self.action_combo.addItem(enum_text(a), a)
        self.since_edit = QLineEdit(self)
        self.since_edit.setPlaceholderText(self.tr("From YYYY-MM-DD"))
        self.until_edit = QLineEdit(self)
        self.until_edit.setPlaceholderText(self.tr("To YYYY-MM-DD"))
        self.read_edit = QLineEdit(self)
        self.read_edit.setPlaceholderText(self.tr("Read UID"))
        self.apply_button = QPushButton(self.tr("Apply filters"), self)
        self.verify_button = QPushButton(self.tr("Verify chain"), self)
        for label, w in (
            (self.tr("User"), self.user_combo),
            (self.tr("Action"), self.action_combo),
            (self.tr("Dates"), self.since_edit),
            ("", self.until_edit),
            (self.tr("Read"), self.read_edit),
        ):
            if label:
                row.addWidget(QLabel(label, self))
            row.addWidget(w)
        row.addWidget(self.apply_button)
        row.addStretch(1)
        row.addWidget(self.verify_button)
        lay.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical, self)
        self.table = QTableWidget(0, len(COLUMNS), split)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = QPlainTextEdit(split)
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText(
            self.tr("Select an entry to see its old and new values in full.")
        )
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay.addWidget(split, 1)
        self.count_label = QLabel(self)
        self.verify_label = QLabel(self)
        self.verify_label.setWordWrap(True)
        self.verify_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.count_label)
        lay.addWidget(self.verify_label)
        self.apply_button.clicked.connect(lambda _c=False: self.refresh())
        self.verify_button.clicked.connect(lambda _c=False: self.verify())
        self.table.currentCellChanged.connect(lambda r, *_: self._show_detail(r))
        self._fill_users()
        self.refresh()

    # --- who may see what ------------------------------------------------------------------
    @property
    def own_only(self) -> bool:
        """Blinded and not an administrator: only the user's own entries."""
        return self.policy.hides(IdentifierKind.OTHER_READER) and not self.ctx.user.has(
            Role.ADMINISTRATOR
        )

    def set_policy(self, policy: BlindingPolicy, redactor: Redactor | None = None) -> None:
        self.policy = policy
        self.redactor = redactor or Redactor(policy=policy)
        self._fill_users()
        self.refresh()

    def _fill_users(self) -> None:
        current = self.user_combo.currentData()
        self.user_combo.clear()
        if self.own_only:
            self.user_combo.addItem(self.ctx.user.username, self.ctx.user.username)
            return
        self.user_combo.addItem(self.tr(ANY), None)
        for u in self.log.users():
            self.user_combo.addItem(u, u)
        if current is not None:
            i = self.user_combo.findData(current)
            if i >= 0:
                self.user_combo.setCurrentIndex(i)

    def _text(self, value: Any) -> str:
        text = "" if value is None else str(value)
        return i18n.days_text(self.redactor.redact(text)) if self.policy.enabled else text

    # --- content ---------------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        user = self.user_combo.currentData()
        if self.own_only:
            user = self.ctx.user.username
        return AuditFilter(
            username=user or None,
            action=self.action_combo.currentData(),
            read_uid=self.read_edit.text().strip() or None,
            since_utc=_date_bound(self.since_edit.text(), end=False),
            until_utc=_date_bound(self.until_edit.text(), end=True),
        )

    def refresh(self) -> None:
        try:
            flt = self.current_filter()
        except ValueError as exc:
            self.count_label.setText(self.tr("Filter: {problem}").format(problem=exc))
            return
        self.entries = self.log.entries(flt)
        bad = set(self.report.bad_seqs) if self.report is not None else set()
        t = self.table
        t.setRowCount(len(self.entries))
        for r, e in enumerate(self.entries):
            values = (
                str(e.seq),
                _when(e.ts_utc),
                e.username,
                enum_value_text("AuditAction", e.action),
                enum_value_text("AuditEntity", e.entity),
                _short(self._text(e.entity_key), 40),
                _short(self._text(e.old_value)),
                _short(self._text(e.new_value)),
                _short(self._text(app_text(e.reason or e.detail))),
            )
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if e.seq in bad:
                    item.setBackground(QBrush(_BAD_BG))
                t.setItem(r, c, item)
        t.resizeColumnsToContents()
        for c in (6, 7):
            t.setColumnWidth(c, min(t.columnWidth(c), 260))
        scope = self.tr(" (your own entries: blinded mode)") if self.own_only else ""
        self.count_label.setText(
            self.tr("{n} entries{scope}").format(n=len(self.entries), scope=scope)
        )

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            self.detail.clear()
            return
        e = self.entries[row]
        self.detail.setPlainText(
            "\n".join(
                [
                    self.tr("Entry {seq}  {when}  {user}  {action} {entity}").format(
                        seq=e.seq,
                        when=_when(e.ts_utc),
                        user=e.username,
                        action=enum_value_text("AuditAction", e.action),
                        entity=enum_value_text("AuditEntity", e.entity),
                    ),
                    self.tr("Key: {value}").format(value=self._text(e.entity_key)),
                    self.tr("Read: {value}").format(value=e.read_uid or "-"),
                    self.tr("Old: {value}").format(value=self._text(e.old_value) or "-"),
                    self.tr("New: {value}").format(value=self._text(e.new_value) or "-"),
                    self.tr("Reason: {value}").format(value=self._text(e.reason) or "-"),
                    self.tr("Detail: {value}").format(value=self._text(app_text(e.detail)) or "-"),
                    self.tr("Hash: {hash}  (previous {previous})").format(
                        hash=e.hash, previous=e.prev_hash
                    ),
                ]
            )
        )

    def verify(self) -> VerifyReport:
        rep = self.log.verify()
        self.report = rep
        if rep.ok:
            self.verify_label.setStyleSheet("color: #1e7a3c; font-weight: bold;")
            self.verify_label.setText(
                self.tr("Hash chain intact: {n} entries, none edited, deleted or inserted.").format(
                    n=rep.entries
                )
            )
        else:
            self.verify_label.setStyleSheet("color: #b02020; font-weight: bold;")
            self.verify_label.setText(
                self.tr("Hash chain BROKEN: {problems} problem(s) in {n} entries:").format(
                    problems=len(rep.problems), n=rep.entries
                )
                + "\n"
                + "\n".join(app_text(p) for p in rep.problems)
            )
        self.refresh()
        return rep
