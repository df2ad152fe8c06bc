"""Who is at the workstation: the login dialog at start, and the review context it produces.

Three situations, all through :class:`~namecar_viewer.app.auth.AuthService` (which audits every
login and failed login):

* **first run** (no account in the database): the dialog asks only for a name, which becomes the
  single local user (every role, no password), the default of a local site;
* **single-user site** (accounts not enabled, the one user has no password): that user is logged
  in without a dialog;
* **reading centre** (accounts enabled): user name and password; a wrong one is refused with a
  message and the dialog stays open.

``--user NAME`` (scripted runs, tests) and ``--screenshot`` never open a modal dialog: a name
given on the command line is used as is (first run or a password-less account), and a
screenshot run falls back to the single-user default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.auth import AuthError, AuthService
from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.gui import app_texts
from namecar_viewer.gui.i18n import error_text
from namecar_viewer.persistence.reads_db import ReadsDatabase
from namecar_viewer.persistence.users import Role, User

# review_settings keys: the site's blinded default and each user's own choice.
SITE_BLINDED_SETTING = "blinded_mode"
# log_in's reason when the reader closed the dialog (compare with login_cancelled())
LOGIN_CANCELLED = QT_TRANSLATE_NOOP("LoginDialog", "Login cancelled.")


def login_cancelled() -> str:
    return QCoreApplication.translate("LoginDialog", LOGIN_CANCELLED)


def user_blinded_setting(username: str) -> str:
    return f"blinded_mode:{username}"


def roles_text(user: User) -> str:
    """Roles in a fixed order (reader, adjudicator, site investigator, administrator), in the
    reader's language."""
    return app_texts.roles_text(user)


@dataclass
class ReviewContext:
    """The logged-in user, the reads database and the review services bound to it."""

    db: ReadsDatabase
    auth: AuthService
    user: User
    blinded: bool = False
    _services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_user(cls, db: ReadsDatabase, auth: AuthService, user: User) -> ReviewContext:
        ctx = cls(db, auth, user)
        ctx.blinded = ctx.blinded_setting()
        return ctx

    @property
    def engine(self) -> Any:
        return self.db.engine

    @property
    def single_user(self) -> bool:
        """A local site's single user: no password asked, neither at login nor to sign."""
        return not self.auth.accounts_enabled and not self.user.has_password

    @property
    def policy(self) -> BlindingPolicy:
        return BlindingPolicy.for_mode(self.blinded)

    def _service(self, name: str, make: Any) -> Any:
        if name not in self._services:
            self._services[name] = make()
        return self._services[name]

    @property
    def signing(self) -> Any:
        from namecar_viewer.app.signing import SigningService

        return self._service("signing", lambda: SigningService(self.auth))

    @property
    def worklist(self) -> Any:
        from namecar_viewer.app.worklist import WorklistService

        return self._service("worklist", lambda: WorklistService(self.engine))

    @property
    def adjudication(self) -> Any:
        from namecar_viewer.app.adjudication import AdjudicationService

        return self._service("adjudication", lambda: AdjudicationService(self.engine))

    # --- blinded mode: the user's own choice, else the site's default --------------------
    @property
    def blinding_required(self) -> bool:
        """The site blinds its readers: everyone but an administrator stays blinded."""
        site = self.auth.users.setting(SITE_BLINDED_SETTING) == "true"
        return site and not self.user.has(Role.ADMINISTRATOR)

    def blinded_setting(self) -> bool:
        if self.blinding_required:
            return True
        users = self.auth.users
        own = users.setting(user_blinded_setting(self.user.username))
        if own:
            return own == "true"
        return users.setting(SITE_BLINDED_SETTING) == "true"

    def save_blinded(self, blinded: bool, *, site: bool = False) -> None:
        """Remember blinded mode for this user (or, ``site=True``, as the site's default)."""
        key = SITE_BLINDED_SETTING if site else user_blinded_setting(self.user.username)
        with self.engine.begin() as conn:
            self.auth.users.set_setting(conn, key, "true" if blinded else "false")
        self.blinded = blinded


class LoginDialog(QDialog):
    """Name (first run) or user name and password; ``user`` is set when accepted."""

    def __init__(
        self, auth: AuthService, parent: QWidget | None = None, username: str = ""
    ) -> None:
        super().__init__(parent)
        self.auth = auth
        self.user: User | None = None
        self.first_run = auth.needs_first_run()
        self.setWindowTitle(
            self.tr("NAMECAR Viewer - first run")
            if self.first_run
            else self.tr("NAMECAR Viewer - log in")
        )
        self.setMinimumWidth(420)
        lay = QVBoxLayout(self)
        intro = QLabel(self)
        intro.setWordWrap(True)
        if self.first_run:
            intro.setText(
                self.tr(
                    "<b>Welcome.</b> This workstation has no reader accounts yet.<br>Enter your "
                    "name: you become its single local user (every role, no password). An "
                    "administrator can add accounts with passwords for a reading centre later."
                )
            )
        else:
            intro.setText(
                self.tr(
                    "<b>Log in</b> to read, sign and adjudicate. Every edit and signature "
                    "carries your name."
                )
            )
        lay.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(username, self)
        self.name_edit.setPlaceholderText(
            self.tr("Your name") if self.first_run else self.tr("User name")
        )
        form.addRow(self.tr("Name:") if self.first_run else self.tr("User:"), self.name_edit)
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(self.tr("Password"))
        if not self.first_run:
            form.addRow(self.tr("Password:"), self.password_edit)
        else:
            self.password_edit.hide()
        lay.addLayout(form)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c03030;")
        lay.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("Start") if self.first_run else self.tr("Log in"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay.addWidget(buttons)
        if username and not self.first_run:
            self.password_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def try_accept(self) -> bool:
        """Log in (or create the first user); a refusal is shown and the dialog stays open."""
        name = self.name_edit.text().strip()
        if not name:
            self.message.setText(
                self.tr("Enter a name.") if self.first_run else self.tr("Enter your user name.")
            )
            return False
        try:
            if self.first_run:
                self.user = self.auth.first_run(name)
            else:
                self.user = self.auth.login(name, self.password_edit.text())
        except AuthError as exc:
            self.message.setText(error_text(exc))
            self.password_edit.clear()
            return False
        self.accept()
        return True


def single_user_default(auth: AuthService, fallback_name: str) -> User | None:
    """The user of a single-user site without a dialog: the first run's name, or the one
    password-less account; None when accounts need a password."""
    if auth.needs_first_run():
        return auth.first_run(fallback_name)
    if auth.accounts_enabled:
        return None
    users = [u for u in auth.users.list() if u.active and not u.has_password]
    if len(users) == 1:
        return auth.login(users[0].username)
    return None


def log_in(
    db: ReadsDatabase,
    *,
    username: str | None = None,
    interactive: bool = True,
    fallback_name: str = "local reader",
    parent: QWidget | None = None,
) -> tuple[ReviewContext | None, str]:
    """The review context of whoever is at the workstation, or None with the reason.

    ``username`` (``--user``): used without a dialog when no password is needed; otherwise the
    dialog opens with the name filled in (or, not ``interactive``, the login is refused).
    """
    auth = AuthService(db.engine)
    try:
        if username:
            if auth.needs_first_run():
                user: User | None = auth.first_run(username)
            else:
                known = auth.users.get(username.strip())
                needs_password = auth.accounts_enabled or (known is not None and known.has_password)
                user = None if needs_password else auth.login(username)
            if user is not None:
                return ReviewContext.for_user(db, auth, user), ""
            if not interactive:
                return None, QCoreApplication.translate(
                    "LoginDialog", "{user} needs a password: log in from the dialog."
                ).format(user=username)
        elif not interactive or not auth.accounts_enabled:
            user = single_user_default(auth, fallback_name)
            if user is not None:
                return ReviewContext.for_user(db, auth, user), ""
            if not interactive:
                return None, QCoreApplication.translate(
                    "LoginDialog", "Accounts need a password: no one is logged in."
                )
    except AuthError as exc:
        return None, error_text(exc)
    dlg = LoginDialog(auth, parent, username or "")
    if dlg.exec() != QDialog.DialogCode.Accepted or dlg.user is None:
        return None, login_cancelled()
    return ReviewContext.for_user(db, auth, dlg.user), ""


__all__ = [
    "SITE_BLINDED_SETTING",
    "LoginDialog",
    "ReviewContext",
    "log_in",
    "login_cancelled",
    "roles_text",
    "single_user_default",
    "user_blinded_setting",
]
