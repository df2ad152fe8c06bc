"""Who is reading: login, accounts with roles, passwords (Argon2id), re-authentication to sign.

A local site starts in single-user mode: the first run asks only for a name, which becomes an
account with every role and no password.  When an administrator sets a password and enables
accounts (:meth:`AuthService.enable_accounts`), every login and every signature needs the
password.  Logins, failed logins and account changes are audited.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from namecar_viewer.persistence.audit import AuditAction, AuditLog, NewEntry, append
from namecar_viewer.persistence.users import Role, User, UserStore

ACCOUNTS_SETTING = "accounts_enabled"
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,127}$")


class AuthError(ValueError):
    """Login or re-authentication refused, with the reason to show."""


class AuthService:
    def __init__(self, engine: object, hasher: PasswordHasher | None = None) -> None:
        from sqlalchemy.engine import Engine

        assert isinstance(engine, Engine)
        self.engine = engine
        self.users = UserStore(engine)
        self.audit = AuditLog(engine)
        self.hasher = hasher or PasswordHasher()

    # --- state -----------------------------------------------------------------------------
    @property
    def accounts_enabled(self) -> bool:
        return self.users.setting(ACCOUNTS_SETTING) == "true"

    def needs_first_run(self) -> bool:
        return not self.users.list()

    # --- accounts --------------------------------------------------------------------------
    def first_run(self, name: str) -> User:
        """Single-user default for a local site: the name is all; every role, no password."""
        name = self._check_name(name)
        if not self.needs_first_run():
            raise AuthError("Accounts already exist: log in instead.")
        with self.engine.begin() as conn:
            self.users.add(conn, name, name, set(Role), None)
            append(
                conn,
                [
                    NewEntry(
                        name,
                        AuditAction.ACCOUNT,
                        "user",
                        name,
                        None,
                        {"roles": sorted(r.value for r in Role)},
                        detail="first run",
                    ),
                    NewEntry(name, AuditAction.LOGIN, "user", name, detail="single-user site"),
                ],
            )
        user = self.users.get(name)
        assert user is not None
        return user

    def create_user(
        self, admin: User, username: str, roles: set[Role], password: str, display_name: str = ""
    ) -> User:
        self._require(admin, Role.ADMINISTRATOR, "create accounts")
        username = self._check_name(username)
        if self.users.get(username) is not None:
            raise AuthError(f"The user name {username} is already taken.")
        self._check_password(password)
        with self.engine.begin() as conn:
            self.users.add(
                conn, username, display_name or username, roles, self.hasher.hash(password)
            )
            append(
                conn,
                [
                    NewEntry(
                        admin.username,
                        AuditAction.ACCOUNT,
                        "user",
                        username,
                        None,
                        {"roles": sorted(r.value for r in roles)},
                        detail="created",
                    )
                ],
            )
        user = self.users.get(username)
        assert user is not None
        return user

    def set_password(self, user: User, new_password: str, old_password: str | None = None) -> None:
        if user.has_password:
            self._verify(user.username, old_password or "")
        self._check_password(new_password)
        with self.engine.begin() as conn:
            self.users.set_password_hash(conn, user.username, self.hasher.hash(new_password))
            append(
                conn,
                [
                    NewEntry(
                        user.username,
                        AuditAction.ACCOUNT,
                        "user",
                        user.username,
                        detail="password set",
                    )
                ],
            )

    def enable_accounts(self, admin: User, password: str) -> None:
        """From now on every login and signature needs a password."""
        self._require(admin, Role.ADMINISTRATOR, "enable accounts")
        self._verify(admin.username, password)
        with self.engine.begin() as conn:
            self.users.set_setting(conn, ACCOUNTS_SETTING, "true")
            append(
                conn,
                [
                    NewEntry(
                        admin.username,
                        AuditAction.ACCOUNT,
                        "settings",
                        ACCOUNTS_SETTING,
                        "false",
                        "true",
                        detail="accounts enabled",
                    )
                ],
            )

    # --- login -----------------------------------------------------------------------------
    def login(self, username: str, password: str | None = None) -> User:
        """The user, audited; a wrong name or password raises :class:`AuthError` (audited too)."""
        user = self.users.get(username.strip())
        if user is None or not user.active:
            self._failed(username, "unknown or inactive user")
            raise AuthError("Wrong user name or password.")
        if self.accounts_enabled or user.has_password:
            try:
                self._verify(user.username, password or "")
            except AuthError:
                self._failed(user.username, "wrong password")
                raise
        self.audit.record(NewEntry(user.username, AuditAction.LOGIN, "user", user.username))
        return user

    def reauthenticate(self, user: User, password: str | None) -> None:
        """Password again before a signature (nothing to check for a password-less local user)."""
        if self.accounts_enabled or user.has_password:
            try:
                self._verify(user.username, password or "")
            except AuthError:
                self._failed(user.username, "wrong password at signature")
                raise

    # --- helpers ---------------------------------------------------------------------------
    def _verify(self, username: str, password: str) -> None:
        h = self.users.password_hash(username)
        if h is None:
            raise AuthError(f"{username} has no password yet: an administrator must set one.")
        try:
            self.hasher.verify(h, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
            raise AuthError("Wrong user name or password.") from exc

    def _failed(self, username: str, why: str) -> None:
        self.audit.record(
            NewEntry(
                username.strip() or "(empty)",
                AuditAction.LOGIN_FAILED,
                "user",
                username.strip(),
                detail=why,
            )
        )

    @staticmethod
    def _check_name(name: str) -> str:
        name = name.strip()
        if not _NAME.match(name):
            raise AuthError(
                "A user name is 1-128 letters, digits, spaces or . _ @ - and starts with a "
                "letter or digit."
            )
        return name

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")

    @staticmethod
    def _require(user: User, role: Role, what: str) -> None:
        if not user.has(role):
            raise AuthError(f"Only an {role.value} may {what}; {user.username} is not one.")
