"""Review > Sign / Unlock, the locked banner, and the wiring of the central-review screens.

:class:`ReviewController` binds one main window to a :class:`~namecar_viewer.gui.login.
ReviewContext` (the logged-in user and the reads database): the read controller edits as that
user, the Review menu opens the worklist, the signature and unlock dialogs, the audit trail and
the adjudication view, the status bar shows who is logged in with their roles, and a banner says
when the timepoints of the read on screen are signed and locked.

Signing goes through :class:`~namecar_viewer.app.signing.SigningService` (password again unless
single-user, the meaning "I confirm this assessment" shown and ticked); edits of a signed
timepoint are then refused by the session with :class:`ReadLockedError`'s message.  Unlocking
needs a reason; signing again keeps the old version and writes the next one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.auth import AuthError
from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.app.signing import SIGNATURE_MEANING, Signature, SigningError
from namecar_viewer.core.reads.model import Read, ReadTimepoint
from namecar_viewer.gui.app_texts import roles_text, signature_meaning
from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.login import ReviewContext

translate = QCoreApplication.translate

_BANNER_STYLE = "background: #7a5a10; color: #fff4d0; padding: 4px 10px; font-weight: bold;"


def timepoint_text(tp: ReadTimepoint, read: Read, policy: BlindingPolicy) -> str:
    """``FU03M (Day 267)`` blinded, ``FU03M (2025-10-09)`` open, the label alone when undated."""
    if tp.date is None:
        return tp.label
    base = read.baseline()
    return f"{tp.label} ({app_text(policy.date(tp.date, base.date if base else None))})"


class SignDialog(QDialog):
    """Sign one timepoint: the meaning shown and ticked, the password again unless single-user."""

    def __init__(
        self,
        read: Read,
        unsigned: list[ReadTimepoint],
        policy: BlindingPolicy,
        ask_password: bool,
        parent: QWidget | None = None,
        preselect: str | None = None,
        unread_for: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Sign timepoint read"))
        # labels of the earlier CT timepoints the read has not assessed, per timepoint uid
        self.unread_for = unread_for or (lambda _uid: [])
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.timepoint_combo = QComboBox(self)
        for tp in unsigned:
            self.timepoint_combo.addItem(timepoint_text(tp, read, policy), tp.uid)
        if preselect is not None:
            i = self.timepoint_combo.findData(preselect)
            if i >= 0:
                self.timepoint_combo.setCurrentIndex(i)
        form.addRow(self.tr("Timepoint:"), self.timepoint_combo)
        form.addRow(self.tr("Reader:"), QLabel(read.reader or self.tr("(unknown)"), self))
        lay.addLayout(form)
        meaning = QLabel(
            self.tr(
                "Meaning of this electronic signature:<br><b>&ldquo;{meaning}&rdquo;</b><br>"
                "The signed timepoint is locked; changing it later needs a reason and keeps "
                "this version."
            ).format(meaning=signature_meaning(SIGNATURE_MEANING)),
            self,
        )
        meaning.setWordWrap(True)
        lay.addWidget(meaning)
        self.confirm = QCheckBox(signature_meaning(SIGNATURE_MEANING), self)
        lay.addWidget(self.confirm)
        self.unread_label = QLabel(self)
        self.unread_label.setObjectName("sign_unread")
        self.unread_label.setWordWrap(True)
        self.unread_label.setStyleSheet("color: #c03030; font-weight: bold;")
        lay.addWidget(self.unread_label)
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setPlaceholderText(
            self.tr("Why you sign although earlier timepoints are not read (required)")
        )
        self.reason_edit.setFixedHeight(60)
        lay.addWidget(self.reason_edit)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(self.tr("Your password, again"))
        if ask_password:
            pw = QFormLayout()
            pw.addRow(self.tr("Password:"), self.password_edit)
            lay.addLayout(pw)
        else:
            self.password_edit.hide()
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c03030;")
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.sign_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_button.setText(self.tr("Sign"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.sign_button.setEnabled(False)
        self.confirm.toggled.connect(lambda _c: self._update())
        self.reason_edit.textChanged.connect(self._update)
        self.timepoint_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self._update()

    @property
    def timepoint_uid(self) -> str:
        return str(self.timepoint_combo.currentData() or "")

    @property
    def unread(self) -> list[str]:
        return list(self.unread_for(self.timepoint_uid))

    @property
    def reason(self) -> str:
        return self.reason_edit.toPlainText().strip()

    def _update(self) -> None:
        unread = self.unread
        if unread:
            self.unread_label.setText(
                (
                    self.tr(
                        "{labels} is not read: the nadir this timepoint is compared with may be "
                        "wrong. Read it first, or say why you sign anyway (kept in the audit "
                        "trail)."
                    )
                    if len(unread) == 1
                    else self.tr(
                        "{labels} are not read: the nadir this timepoint is compared with may be "
                        "wrong. Read them first, or say why you sign anyway (kept in the audit "
                        "trail)."
                    )
                ).format(labels=", ".join(unread))
            )
        self.unread_label.setVisible(bool(unread))
        self.reason_edit.setVisible(bool(unread))
        self.sign_button.setEnabled(self.confirm.isChecked() and (not unread or bool(self.reason)))


class UnlockDialog(QDialog):
    """Unlock a signed timepoint: the reason is required (it is kept in the audit trail)."""

    def __init__(
        self,
        read: Read,
        signed: list[tuple[ReadTimepoint, Signature]],
        policy: BlindingPolicy,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Unlock signed timepoint (new version)"))
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.timepoint_combo = QComboBox(self)
        for tp, s in signed:
            self.timepoint_combo.addItem(
                self.tr("{timepoint}, signed by {user}, version {version}").format(
                    timepoint=timepoint_text(tp, read, policy), user=s.username, version=s.version
                ),
                tp.uid,
            )
        form.addRow(self.tr("Timepoint:"), self.timepoint_combo)
        lay.addLayout(form)
        note = QLabel(
            self.tr(
                "The signed version is kept. Your changes become the next version when the "
                "timepoint is signed again. Say why it must change:"
            ),
            self,
        )
        note.setWordWrap(True)
        lay.addWidget(note)
        self.reason_edit = QPlainTextEdit(self)
        self.reason_edit.setPlaceholderText(self.tr("Reason (required)"))
        self.reason_edit.setFixedHeight(80)
        lay.addWidget(self.reason_edit)
        self.message = QLabel(self)
        self.message.setStyleSheet("color: #c03030;")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.unlock_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.unlock_button.setText(self.tr("Unlock"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.unlock_button.setEnabled(False)
        self.reason_edit.textChanged.connect(
            lambda: self.unlock_button.setEnabled(bool(self.reason.strip()))
        )
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    @property
    def reason(self) -> str:
        return self.reason_edit.toPlainText()

    @property
    def timepoint_uid(self) -> str:
        return str(self.timepoint_combo.currentData() or "")


class ReviewController:
    """Central review in one main window (duck-typed: ``reads``, ``state``, ``browser``...)."""

    def __init__(self, window: QMainWindow, context: ReviewContext) -> None:
        self.window: Any = cast(Any, window)  # duck-typed main window (reads, state...)
        self.ctx = context
        self.worklist_dock: Any = None
        self.audit_view: Any = None
        self.adjudication_view: Any = None
        self.sign_dialog: SignDialog | None = None
        self.unlock_dialog: UnlockDialog | None = None
        reads = self.window.reads
        reads.use_database(context.db, context.user.username)
        reads.switched.connect(lambda _undo: self.on_read_switched())
        # status bar: who is logged in, and the lock state of the read on screen
        self.user_label = QLabel(self.user_text())
        self.user_label.setObjectName("review_user_label")
        self.user_label.setMinimumWidth(
            self.user_label.fontMetrics().horizontalAdvance(self.user_label.text()) + 16
        )
        self.lock_label = QLabel("")
        self.lock_label.setObjectName("review_lock_label")
        sb = self.window.statusBar()
        sb.addPermanentWidget(self.lock_label)
        sb.addPermanentWidget(self.user_label)
        self.banner = QLabel("")
        self.banner.setStyleSheet(_BANNER_STYLE)
        self.banner_bar = QToolBar(translate("ReviewController", "Signed read"), self.window)
        self.banner_bar.setObjectName("signed_banner")
        self.banner_bar.setMovable(False)
        self.banner_bar.addWidget(self.banner)
        self.window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.banner_bar)
        self.banner_bar.hide()
        self.actions: dict[str, QAction] = {}
        self._build_menu()
        # blinded mode: the user's (or site's) setting at login; the View toggle is remembered
        self.window.state.display_changed.connect(self._on_display_changed)
        self._blinded_seen = bool(self.window.state.blinded)
        if context.blinded != self.window.state.blinded:
            self.set_blinded(context.blinded, remember=False)
        self.on_read_switched()
        self.update_title()

    # --- menu ------------------------------------------------------------------------------
    def _build_menu(self) -> None:
        w = self.window
        mb = w.menuBar()
        menu = QMenu(translate("ReviewController", "&Review"), w)
        menu.setObjectName("menu_review")
        help_action = next(
            (
                a
                for a in mb.actions()
                if a.menu() is not None and a.menu().objectName() == "menu_help"
            ),
            None,
        )
        if help_action is not None:
            mb.insertMenu(help_action, menu)
        else:
            mb.addMenu(menu)
        self.menu = menu
        items: list[tuple[str, str, Any, str | None]] = [
            (
                "worklist",
                translate("ReviewController", "&Worklist"),
                self.show_worklist,
                "Ctrl+Shift+W",
            ),
            (
                "sign",
                translate("ReviewController", "&Sign timepoint read..."),
                self.show_sign_dialog,
                "Ctrl+Shift+G",
            ),
            (
                "unlock",
                translate("ReviewController", "&Unlock signed timepoint (new version)..."),
                self.show_unlock_dialog,
                None,
            ),
            (
                "audit",
                translate("ReviewController", "&Audit trail..."),
                self.show_audit_view,
                "Ctrl+Shift+L",
            ),
            (
                "adjudicate",
                translate("ReviewController", "A&djudicate case..."),
                self.show_adjudication,
                None,
            ),
            (
                "export",
                translate("ReviewController", "&Export read (CSV, JSON, SR, PDF)..."),
                self.show_export_dialog,
                None,
            ),
        ]
        from namecar_viewer.persistence.users import Role

        if self.ctx.user.has(Role.ADMINISTRATOR):
            items.append(
                (
                    "assign",
                    translate("ReviewController", "Assign &cases (administrator)..."),
                    self.show_assign,
                    None,
                )
            )
            items.append(
                (
                    "site_blinded",
                    translate("ReviewController", "Site default: blinded mode"),
                    self.toggle_site_blinded,
                    None,
                )
            )
        for name, text, slot, key in items:
            act = QAction(text, w)
            if key:
                act.setShortcut(QKeySequence(key))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                self._register_key(text.replace("&", "").rstrip("."), key)
            act.triggered.connect(lambda _c=False, s=slot: s())
            menu.addAction(act)
            w.addAction(act)
            self.actions[name] = act
            with contextlib.suppress(AttributeError):
                w.actions_by_name[f"review_{name}"] = act
        if "site_blinded" in self.actions:
            a = self.actions["site_blinded"]
            a.setCheckable(True)
            a.setChecked(self.ctx.auth.users.setting("blinded_mode") == "true")

    def _register_key(self, text: str, key: str) -> None:
        rows = getattr(self.window, "shortcut_rows", None)
        if rows is None:
            return
        from namecar_viewer.gui.main_window import ShortcutEntry

        rows.append(ShortcutEntry("Review", text, key))

    # --- user, title, blinding -------------------------------------------------------------
    def user_text(self) -> str:
        u = self.ctx.user
        text = translate("ReviewController", "User: {name} ({roles})").format(
            name=u.display_name or u.username, roles=roles_text(u)
        )
        if self.ctx.single_user:
            text += translate("ReviewController", " - single-user site")
        return text

    @property
    def policy(self) -> BlindingPolicy:
        return BlindingPolicy.for_mode(bool(self.window.state.blinded))

    def update_title(self) -> None:
        read = self.window.reads.session.read
        parts = [translate("MainWindow", "NAMECAR Viewer")]
        if read.patient_id:
            parts.append(app_text(self.policy.subject(read.patient_id)))
        if self.policy.enabled:
            parts.append(translate("ReviewController", "blinded"))
        parts.append(self.ctx.user.username)
        self.window.setWindowTitle(" - ".join(parts))

    def set_blinded(self, blinded: bool, remember: bool = True) -> None:
        st = self.window.state
        if bool(st.blinded) != blinded:
            self.window._toggle_blinded()
            act = getattr(self.window, "actions_by_name", {}).get("blinded")
            if act is not None:
                act.setChecked(blinded)
        if remember:
            self.ctx.save_blinded(blinded)

    def _on_display_changed(self) -> None:
        blinded = bool(self.window.state.blinded)
        if blinded == self._blinded_seen:
            return
        if not blinded and self.ctx.blinding_required:
            # the reading centre blinds its readers: only an administrator turns it off
            self.window._toggle_blinded()
            act = getattr(self.window, "actions_by_name", {}).get("blinded")
            if act is not None:
                act.setChecked(True)
            self._say(
                translate(
                    "ReviewController",
                    "Blinded mode is required at this reading centre; only an administrator "
                    "can turn it off.",
                )
            )
            return
        self._blinded_seen = blinded
        self.ctx.save_blinded(blinded)
        self.update_title()
        self.update_lock_state()
        for view in (self.worklist_dock, self.audit_view):
            if view is not None:
                with contextlib.suppress(RuntimeError):
                    view.set_policy(self.policy, self.redactor())

    def toggle_site_blinded(self) -> None:
        act = self.actions["site_blinded"]
        self.ctx.save_blinded(act.isChecked(), site=True)
        self.ctx.blinded = bool(self.window.state.blinded)

    def redactor(self) -> Any:
        """Identifying values of the patients in the study index (for free text, the audit)."""
        from namecar_viewer.gui.worklist import redactor_for_index

        return redactor_for_index(self.window.index, self.policy)

    # --- the read on screen ----------------------------------------------------------------
    @property
    def session(self) -> Any:
        return self.window.reads.session

    def on_read_switched(self) -> None:
        """Protect the new read's signed timepoints, show its lock state, retitle."""
        self.ctx.signing.protect(self.session)
        self.session.changed.connect(self._on_read_changed)
        self.update_lock_state()
        self.update_title()

    def _on_read_changed(self, _events: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the window may be closing
            self.update_lock_state()

    def signed_timepoints(self) -> list[tuple[ReadTimepoint, Signature]]:
        read = self.session.read
        out = []
        for s in self.ctx.signing.active_signatures(read.uid):
            try:
                out.append((read.timepoint(s.timepoint_uid), s))
            except KeyError:
                continue
        return out

    def update_lock_state(self) -> None:
        signed = self.signed_timepoints()
        read = self.session.read
        if not signed:
            self.banner_bar.hide()
            unread = self._unread()
            self.lock_label.setText(self._draft_text() if read.timepoints else "")
            self.lock_label.setToolTip(app_text(unread))
            self.lock_label.setStyleSheet("color: #c03030;" if "not read" in unread else "")
            return
        labels = ", ".join(tp.label for tp, _s in signed)
        who = sorted({s.username for _tp, s in signed})
        self.banner.setText(
            translate(
                "ReviewController",
                "Signed and locked: {labels} (by {who}). Edits of these timepoints are refused; "
                "Review > Unlock asks for a reason and keeps this version.",
            ).format(labels=labels, who=", ".join(who))
        )
        self.banner_bar.show()
        text = translate("ReviewController", "Locked: {labels}").format(labels=labels)
        self.lock_label.setText(text)
        self.lock_label.setStyleSheet("color: #b07800;")
        self.lock_label.setMinimumWidth(self.lock_label.fontMetrics().horizontalAdvance(text) + 16)

    def _unread(self) -> str:
        from namecar_viewer.app.reading_order import unread_message, unread_studies

        read = self.session.read
        studies = getattr(self.window.reads, "patient_studies", None)
        if studies is None or not read.patient_id:
            return ""
        return unread_message(unread_studies(read, studies(read.patient_id)))

    def _draft_text(self) -> str:
        """ "Draft", and the earlier CTs not read (the whole sentence is the tooltip)."""
        from namecar_viewer.app.reading_order import unread_before_read_labels

        read = self.session.read
        studies = getattr(self.window.reads, "patient_studies", None)
        if studies is None or not read.patient_id:
            return translate("ReviewController", "Draft")
        labels = unread_before_read_labels(read, studies(read.patient_id))
        if labels:
            return translate("ReviewController", "Draft; not read: {labels}").format(
                labels=", ".join(labels)
            )
        return translate("ReviewController", "Draft")

    # --- signing ---------------------------------------------------------------------------
    def show_sign_dialog(self) -> SignDialog | None:
        read = self.session.read
        signed = {tp.uid for tp, _s in self.signed_timepoints()}
        unsigned = [tp for tp in read.ordered_timepoints() if tp.uid not in signed]
        if not unsigned:
            self._say(
                translate("ReviewController", "Nothing to sign: this read has no timepoint yet.")
                if not read.timepoints
                else translate(
                    "ReviewController", "Every timepoint of this read is already signed."
                )
            )
            return None
        dlg = SignDialog(
            read,
            unsigned,
            self.policy,
            ask_password=not self.ctx.single_user,
            parent=self.window,
            preselect=self._current_timepoint_uid(),
            unread_for=self.unread_before,
        )
        dlg.buttons.accepted.connect(lambda: self._sign_from(dlg))
        self.sign_dialog = dlg
        dlg.show()
        return dlg

    def _current_timepoint_uid(self) -> str | None:
        from namecar_viewer.gui.tools.controller import study_info

        vol = getattr(getattr(self.window, "active", None), "model", None)
        vol = getattr(vol, "volume", None)
        if vol is None:
            return None
        uid = vol.metadata.get("study_instance_uid") if hasattr(vol, "metadata") else None
        tp = self.session.read.timepoint_for_study(uid) if uid else None
        if tp is None:
            label = study_info(vol).get("label")
            tp = next((t for t in self.session.read.timepoints if t.label == label), None)
        return tp.uid if tp is not None else None

    def _sign_from(self, dlg: SignDialog) -> None:
        if not dlg.confirm.isChecked():
            dlg.message.setText(
                translate("ReviewController", 'Tick "{meaning}" to sign.').format(
                    meaning=signature_meaning(SIGNATURE_MEANING)
                )
            )
            return
        try:
            self.sign(dlg.timepoint_uid, dlg.password_edit.text(), dlg.reason)
        except (AuthError, SigningError) as exc:
            dlg.message.setText(error_text(exc))
            dlg.password_edit.clear()
            return
        dlg.accept()

    def unread_before(self, timepoint_uid: str) -> list[str]:
        """Labels of the patient's CT timepoints before this one that the read has not
        assessed (signing it then needs a reason)."""
        from namecar_viewer.app.reading_order import unread_before

        read = self.session.read
        studies = getattr(self.window.reads, "patient_studies", None)
        if not timepoint_uid or studies is None:
            return []
        try:
            return [s.label for s in unread_before(read, timepoint_uid, studies(read.patient_id))]
        except KeyError:
            return []

    def sign(self, timepoint_uid: str, password: str | None = None, reason: str = "") -> Signature:
        """Sign a timepoint of the read on screen; clears both undo histories, routes the case.

        When earlier CT timepoints of the patient are not read, ``reason`` is required."""
        sig: Signature = self.ctx.signing.sign(
            self.session,
            timepoint_uid,
            self.ctx.user,
            password,
            unread_earlier=self.unread_before(timepoint_uid),
            reason=reason,
        )
        self.window.reads.undo.clear_history()
        self.update_lock_state()
        tp = self.session.read.timepoint(timepoint_uid)
        msg = translate(
            "ReviewController", "Signed {label} (version {version}): {meaning}."
        ).format(label=tp.label, version=sig.version, meaning=signature_meaning(SIGNATURE_MEANING))
        from namecar_viewer.gui.adjudication import after_signature

        routed = after_signature(self.ctx, self.session.read, tp.label)
        if routed:
            msg += " " + app_text(routed)
        self._say(msg)
        if self.worklist_dock is not None:
            self.worklist_dock.refresh()
        return sig

    def show_unlock_dialog(self) -> UnlockDialog | None:
        signed = self.signed_timepoints()
        if not signed:
            self._say(translate("ReviewController", "No timepoint of this read is signed."))
            return None
        dlg = UnlockDialog(self.session.read, signed, self.policy, self.window)
        dlg.buttons.accepted.connect(lambda: self._unlock_from(dlg))
        self.unlock_dialog = dlg
        dlg.show()
        return dlg

    def _unlock_from(self, dlg: UnlockDialog) -> None:
        try:
            self.unlock(dlg.timepoint_uid, dlg.reason)
        except SigningError as exc:
            dlg.message.setText(error_text(exc))
            return
        dlg.accept()

    def unlock(self, timepoint_uid: str, reason: str) -> None:
        self.ctx.signing.unlock(self.session, timepoint_uid, self.ctx.user, reason)
        tp = self.session.read.timepoint(timepoint_uid)
        versions = self.ctx.signing.versions(self.session.read.uid)
        nxt = (versions[-1][0] + 1) if versions else 1
        self.update_lock_state()
        from namecar_viewer.app.worklist import CaseStatus
        from namecar_viewer.gui.worklist import set_read_status

        set_read_status(self.ctx, self.session.read.uid, CaseStatus.IN_PROGRESS)
        if self.worklist_dock is not None:
            self.worklist_dock.refresh()
        self._say(
            translate(
                "ReviewController",
                "Unlocked {label}: the signed version is kept; signing again writes version "
                "{version}.",
            ).format(label=tp.label, version=nxt)
        )

    # --- exports ---------------------------------------------------------------------------
    def export_read(self, path: str | Path, fmt: str) -> list[str]:
        """Write the read on screen as ``fmt`` (csv, json, sr, kos, pdf) under the current
        blinding policy; audited (who, what, where, blinded or not).  Returns the export's
        warnings.  An SR brings its key images beside it, ``NAME_kos.dcm`` (a DICOM KOS,
        :mod:`namecar_viewer.core.reports.kos_export`), named in the same audit entry
        (``kos_path``); ``kos`` writes the KOS alone.

        A read of a double-read case exports the case's effective read (the adjudicated or
        agreed one); an undecided disagreement raises ``AdjudicationError`` naming the case.
        The status (signed by whom, when, version; draft) comes from the read's signatures;
        blinded, another reader's name is hidden (``BlindingPolicy.may_see_reader_result``).
        """
        import dataclasses
        import json

        from namecar_viewer.app.adjudication import read_for_export
        from namecar_viewer.core.reports.atomic import atomic_write_text
        from namecar_viewer.core.reports.status import HIDDEN_NAME, ReadStatus
        from namecar_viewer.persistence.audit import AuditAction, AuditLog, NewEntry
        from namecar_viewer.persistence.users import Role

        read = self.session.read
        policy = self.policy
        choice = read_for_export(
            self.ctx.engine, self.ctx.db.load_read, read_uid=read.uid, name_subject=policy.subject
        )
        if choice is not None and choice.read.uid != read.uid:
            read = choice.read
        viewer = self.ctx.user.username
        status = ReadStatus.from_signatures(self.ctx.signing.active_signatures(read.uid), viewer)
        adjudicating = self.ctx.user.has(Role.ADJUDICATOR) or self.ctx.user.has(Role.ADMINISTRATOR)
        exported_uid = read.uid
        if read.reader and not policy.may_see_reader_result(
            viewer, read.reader, adjudicating=adjudicating
        ):
            read = dataclasses.replace(read, reader=HIDDEN_NAME)
        out = Path(path)
        warnings: list[str] = []
        kos_out: Path | None = None  # the key images written beside an SR
        if fmt == "csv":
            from namecar_viewer.core.reports.csv_export import read_to_csv

            atomic_write_text(out, read_to_csv(read, blinding=policy, status=status))
        elif fmt == "json":
            from namecar_viewer.core.reports.csv_export import read_to_case_json

            data = read_to_case_json(read, blinding=policy, status=status)
            atomic_write_text(out, json.dumps(data, indent=2) + "\n")
        elif fmt == "sr":
            from namecar_viewer.core.reports.kos_export import write_kos_beside
            from namecar_viewer.core.reports.sr_export import read_to_sr, write_sr

            headers = self._headers()
            export = read_to_sr(read, headers, blinding=policy, status=status)
            write_sr(export, out)
            warnings = list(export.warnings)
            # the key images beside it as NAME_kos.dcm (issue 16), in the same audit entry
            kos_out, kos_warnings = write_kos_beside(read, out, headers, blinding=policy)
            warnings += kos_warnings
        elif fmt == "kos":
            from namecar_viewer.core.reports.kos_export import read_to_kos, write_kos

            kos = read_to_kos(read, self._headers(), blinding=policy)
            write_kos(kos, out)
            warnings = list(kos.warnings)
        elif fmt == "pdf":
            from namecar_viewer.gui.reports.pdf_report import write_pdf_report

            warnings = list(
                write_pdf_report(read, out, headers=self._headers(), blinding=policy, status=status)
                or []
            )
        else:
            raise ValueError(f"Unknown export format {fmt!r}: csv, json, sr, kos or pdf.")
        AuditLog(self.ctx.engine).record(
            NewEntry(
                self.ctx.user.username,
                AuditAction.EXPORT,
                "read",
                exported_uid,
                None,
                {
                    "format": fmt,
                    "path": str(out),
                    "blinded": policy.enabled,
                    "case": None if choice is None else choice.case,
                    **({"kos_path": str(kos_out)} if kos_out is not None else {}),
                },
                read_uid=exported_uid,
            )
        )
        note = f" ({app_text(choice.note)})" if choice is not None else ""
        self._say(
            translate("ReviewController", "Exported {format} to {path}").format(
                format=fmt.upper(), path=out
            )
            + (
                translate("ReviewController", ", key images to {path}").format(path=kos_out)
                if kos_out is not None
                else ""
            )
            + (translate("ReviewController", " (blinded)") if policy.enabled else "")
            + note
        )
        return warnings

    def _headers(self) -> Any:
        """Source image headers by SOP instance UID, from the window's study index."""
        from sqlalchemy import select

        from namecar_viewer.core.reports.sources import HeaderIndex
        from namecar_viewer.persistence.study_index import instances

        idx = HeaderIndex()
        engine = self.window.index.engine

        def find(uid: str) -> str | None:
            with engine.connect() as conn:
                row = conn.execute(
                    select(instances.c.path, instances.c.member).where(
                        instances.c.sop_instance_uid == uid
                    )
                ).first()
            return None if row is None or row.member else str(row.path)

        idx.add_fallback(find)
        return idx

    def show_export_dialog(self) -> Any:
        from namecar_viewer.gui.export_dialog import open_export_dialog

        return open_export_dialog(self)

    # --- other screens ---------------------------------------------------------------------
    def show_worklist(self) -> Any:
        from namecar_viewer.gui.worklist import install_worklist_dock

        if self.worklist_dock is None:
            self.worklist_dock = install_worklist_dock(self.window, self)
        self.worklist_dock.refresh()
        self.worklist_dock.dock.show()
        self.worklist_dock.dock.raise_()
        return self.worklist_dock

    def show_assign(self) -> Any:
        from namecar_viewer.gui.worklist import AssignDialog

        dlg = AssignDialog(self.ctx, self.window, self.policy)
        dlg.changed.connect(lambda: self.worklist_dock and self.worklist_dock.refresh())
        dlg.show()
        return dlg

    def show_audit_view(self) -> Any:
        from namecar_viewer.gui.audit_view import AuditView

        self.audit_view = AuditView(self.ctx, self.policy, self.redactor(), self.window)
        self.audit_view.show()
        return self.audit_view

    def show_adjudication(self, case_uid: str | None = None) -> Any:
        from namecar_viewer.gui.adjudication import open_adjudication

        self.adjudication_view = open_adjudication(self, case_uid)
        return self.adjudication_view

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15000)


def install_review(window: QMainWindow, context: ReviewContext) -> ReviewController:
    """Bind ``window`` to the logged-in user and the reads database."""
    return ReviewController(window, context)
