"""Persistence tests run against SQLite and a throwaway PostgreSQL server on loopback.

The ``postgres_server`` session fixture starts a private cluster (Debian package ``postgresql``:
initdb/pg_ctl under /usr/lib/postgresql/*/bin) in a temporary directory on a free port, as the
``postgres`` OS user when run as root (PostgreSQL refuses root), and stops it after the session.
Without PostgreSQL the PostgreSQL variants skip with the reason, except in CI (``CI=true``),
where a missing server fails the run.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from testsupport import missing

_counter = itertools.count()


@dataclass
class PostgresServer:
    port: int
    data_dir: Path
    bin_dir: Path
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "fast", "-w", check=False)

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data_dir}"
        self.pg_ctl("start", "-w", "-o", opts, "-l", str(self.data_dir / "server.log"))


def _missing(reason: str) -> NoReturn:
    missing(
        f"PostgreSQL is not available: {reason} (Debian package postgresql; scripts/setup.sh "
        "installs it when run as root)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        _missing("no initdb under /usr/lib/postgresql/*/bin")
    bin_dir = Path(bins[-1]).parent
    as_user: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="namecar-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            _missing("running as root and runuser is not available to switch to postgres")
        as_user = [str(runuser), "-u", "postgres", "--"]
        shutil.chown(tmp, "postgres")
    data = tmp / "data"
    init = subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        _missing(f"initdb failed: {init.stderr.strip()[-400:]}")
    server = PostgresServer(_free_port(), data, bin_dir, as_user)
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        log = (
            (data / "server.log").read_text(errors="replace")[-400:]
            if (data / "server.log").exists()
            else ""
        )
        _missing(f"pg_ctl start failed: {exc.stderr} {log}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def create_database(server: PostgresServer) -> str:
    """A fresh empty database on the server; returns its URL."""
    import psycopg

    name = f"t{next(_counter)}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "reads.sqlite")
    server = request.getfixturevalue("postgres_server")
    return create_database(server)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the throwaway PostgreSQL server."""
    return create_database(postgres_server)
