"""Reader accounts and review settings in the reads database (tables made by migration 0003)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Connection, Engine

users_metadata = MetaData()

users_table = Table(
    "users",
    users_metadata,
    Column("username", String(128), primary_key=True),
    Column("display_name", String(256), nullable=False),
    Column("roles", String(256), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_utc", DateTime(timezone=True), nullable=False),
    Column("row_version", Integer, nullable=False),
)

settings_table = Table(
    "review_settings",
    users_metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


class Role(enum.Enum):
    READER = "reader"
    ADJUDICATOR = "adjudicator"
    SITE_INVESTIGATOR = "site investigator"
    ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    roles: frozenset[Role]
    active: bool = True
    has_password: bool = False

    def has(self, role: Role) -> bool:
        return role in self.roles


def _roles_text(roles: frozenset[Role] | set[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def _user(r: object) -> User:
    roles = frozenset(Role(x) for x in str(r.roles).split(",") if x)  # type: ignore[attr-defined]
    return User(
        r.username,  # type: ignore[attr-defined]
        r.display_name,  # type: ignore[attr-defined]
        roles,
        bool(r.active),  # type: ignore[attr-defined]
        r.password_hash is not None,  # type: ignore[attr-defined]
    )


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(users_table).where(users_table.c.username == username)).first()
        return None if r is None else _user(r)

    def password_hash(self, username: str) -> str | None:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(users_table.c.password_hash).where(users_table.c.username == username)
            ).first()
        return None if r is None else r[0]

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(users_table).order_by("username"))]

    def add(
        self,
        conn: Connection,
        username: str,
        display_name: str,
        roles: set[Role] | frozenset[Role],
        password_hash: str | None,
    ) -> None:
        conn.execute(
            users_table.insert().values(
                username=username,
                display_name=display_name,
                roles=_roles_text(roles),
                password_hash=password_hash,
                active=True,
                created_utc=dt.datetime.now(dt.UTC),
                row_version=1,
            )
        )

    def set_password_hash(self, conn: Connection, username: str, password_hash: str) -> None:
        conn.execute(
            users_table.update()
            .where(users_table.c.username == username)
            .values(password_hash=password_hash, row_version=users_table.c.row_version + 1)
        )

    def setting(self, key: str, default: str = "") -> str:
        with self.engine.connect() as conn:
            r = conn.execute(
                select(settings_table.c.value).where(settings_table.c.key == key)
            ).first()
        return default if r is None else str(r[0])

    def set_setting(self, conn: Connection, key: str, value: str) -> None:
        res = conn.execute(
            settings_table.update().where(settings_table.c.key == key).values(value=value)
        )
        if res.rowcount == 0:
            conn.execute(settings_table.insert().values(key=key, value=value))
