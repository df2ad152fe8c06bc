"""A throwaway certificate authority with a server and a client certificate (openssl CLI)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from testsupport import require_tool


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _run(*args: str, cwd: Path) -> None:
    openssl = require_tool("openssl", "openssl")
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True)


def _signed(folder: Path, name: str, cn: str, ext: str, ca: str) -> None:
    _run(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
        "-subj", f"/CN={cn}", cwd=folder,
    )  # fmt: skip
    (folder / f"{name}.ext").write_text(ext, encoding="ascii")
    _run(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-sha256",
        "-extfile", f"{name}.ext", cwd=folder,
    )  # fmt: skip


def make_pki(folder: Path, ca_name: str = "ca") -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    _run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca_name}.key",
        "-out", f"{ca_name}.crt", "-days", "2", "-sha256", "-subj", f"/CN=NAMECAR test {ca_name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder,
    )  # fmt: skip
    server_ext = (
        "basicConstraints=CA:FALSE\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _signed(folder, f"{ca_name}-server", "127.0.0.1", server_ext, ca_name)
    client_ext = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
    _signed(folder, f"{ca_name}-client", "NAMECAR_TEST", client_ext, ca_name)
    return Pki(
        folder / f"{ca_name}.crt",
        folder / f"{ca_name}-server.crt",
        folder / f"{ca_name}-server.key",
        folder / f"{ca_name}-client.crt",
        folder / f"{ca_name}-client.key",
    )
