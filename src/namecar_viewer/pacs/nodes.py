"""Remote PACS nodes and our own AE, kept as JSON in the user configuration directory.

A DIMSE node is an AE title, a host and a port (optionally TLS); a DICOMweb node is a base URL
with no, basic or bearer authentication. Our own AE has a title and the port of the C-STORE
receiver used as C-MOVE destination.
"""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from namecar_viewer.pacs.errors import NodeConfigError

APP_NAME = "namecar-viewer"
SETTINGS_FILE = "pacs_nodes.json"
# PS3.5 6.2 / PS3.8 9.3.1: AE titles are 1-16 characters of the default repertoire without
# backslash or control characters; leading/trailing spaces are not significant.
AE_TITLE_MAX = 16
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
#: Lossless compressed transfer syntaxes a WADO-RS retrieve may ask for (decoded on load)
COMPRESSED_SYNTAXES = {
    "jpeg-ls-lossless": "1.2.840.10008.1.2.4.80",
    "jpeg2000-lossless": "1.2.840.10008.1.2.4.90",
    "htj2k-lossless": "1.2.840.10008.1.2.4.201",
    "jpeg-lossless": "1.2.840.10008.1.2.4.70",
    "rle": "1.2.840.10008.1.2.5",
}


def default_settings_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / SETTINGS_FILE


def check_ae_title(title: str, what: str = "AE title") -> str:
    t = title.strip()
    if not t or not _AE_RE.match(t):
        raise NodeConfigError(
            f"{what} {title!r} is invalid: 1-16 printable ASCII characters without backslash"
        )
    return t


def check_port(port: int, what: str = "port") -> int:
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise NodeConfigError(f"{what} {port!r} is invalid: expected an integer 1-65535")
    return port


def check_host(host: str, what: str = "host") -> str:
    h = host.strip()
    if not h or any(c.isspace() for c in h):
        raise NodeConfigError(f"{what} {host!r} is invalid: expected a host name or IP address")
    return h


class WebAuth(enum.Enum):
    NONE = "none"
    BASIC = "basic"
    BEARER = "bearer"


@dataclass
class TlsSettings:
    """TLS for a DIMSE association (PS3.15 B.1 Basic TLS Secure Transport Connection Profile)."""

    enabled: bool = False
    ca_file: str = ""  # trusted CA bundle to verify the peer; empty = system default
    cert_file: str = ""  # our certificate for mutual TLS (optional)
    key_file: str = ""
    verify_hostname: bool = True

    def ssl_context(self) -> Any:
        import ssl

        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file or None)
        ctx.check_hostname = self.verify_hostname
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file or None)
        return ctx


@dataclass
class DimseNode:
    """A remote DICOM application entity reached over DIMSE."""

    name: str
    ae_title: str
    host: str
    port: int
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeout_s: float = 30.0

    def validate(self) -> DimseNode:
        if not self.name.strip():
            raise NodeConfigError("a DIMSE node needs a name")
        self.ae_title = check_ae_title(self.ae_title, f"node {self.name!r}: called AE title")
        self.host = check_host(self.host, f"node {self.name!r}: host")
        check_port(self.port, f"node {self.name!r}: port")
        if self.timeout_s <= 0:
            raise NodeConfigError(f"node {self.name!r}: timeout must be positive")
        return self

    @property
    def address(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}" + (" (TLS)" if self.tls.enabled else "")


@dataclass
class DicomWebNode:
    """A DICOMweb service (QIDO-RS, WADO-RS, STOW-RS) under one base URL."""

    name: str
    base_url: str
    auth: WebAuth = WebAuth.NONE
    username: str = ""
    password: str = ""
    token: str = ""
    verify_tls: bool = True
    timeout_s: float = 60.0
    # WADO-RS transfer syntax asked for: "*" = as stored (no transcoding by the server), or a
    # UID or a name of COMPRESSED_SYNTAXES (e.g. "jpeg-ls-lossless"); when the server cannot
    # provide it the retrieve falls back to "*"
    transfer_syntax: str = "*"

    def validate(self) -> DicomWebNode:
        if not self.name.strip():
            raise NodeConfigError("a DICOMweb node needs a name")
        u = urlparse(self.base_url.strip())
        if u.scheme not in ("http", "https") or not u.netloc:
            raise NodeConfigError(
                f"node {self.name!r}: base URL {self.base_url!r} is invalid: "
                "expected http(s)://host[:port]/path"
            )
        self.base_url = self.base_url.strip().rstrip("/")
        if self.auth is WebAuth.BASIC and not self.username:
            raise NodeConfigError(f"node {self.name!r}: basic authentication needs a user name")
        if self.auth is WebAuth.BEARER and not self.token:
            raise NodeConfigError(f"node {self.name!r}: bearer authentication needs a token")
        ts = (self.transfer_syntax or "*").strip()
        if ts != "*" and ts.lower() not in COMPRESSED_SYNTAXES and not _UID_RE.match(ts):
            raise NodeConfigError(
                f"node {self.name!r}: transfer syntax {self.transfer_syntax!r} is invalid: "
                f"'*', a UID or one of {sorted(COMPRESSED_SYNTAXES)}"
            )
        self.transfer_syntax = ts
        return self

    @property
    def transfer_syntax_uid(self) -> str:
        """The transfer syntax to ask WADO-RS for ("*" = as stored)."""
        ts = self.transfer_syntax or "*"
        return COMPRESSED_SYNTAXES.get(ts.lower(), ts)


@dataclass
class LocalAe:
    """Our own application entity: the calling AE title and the C-STORE receiver."""

    ae_title: str = "NAMECAR_VIEWER"
    receiver_port: int = 11113
    receiver_host: str = "127.0.0.1"  # bind address of the C-STORE receiver

    def validate(self) -> LocalAe:
        self.ae_title = check_ae_title(self.ae_title, "our AE title")
        check_port(self.receiver_port, "C-STORE receiver port")
        self.receiver_host = check_host(self.receiver_host, "C-STORE receiver address")
        return self


@dataclass
class PrefetchSettings:
    """Worklist prefetch: which node, how many cases ahead, how much disk at most."""

    enabled: bool = True
    node: str = ""  # a node's name; empty: the first DICOMweb node, else the first DIMSE node
    cases_ahead: int = 3
    budget_gb: float = 50.0

    def validate(self) -> PrefetchSettings:
        if self.cases_ahead < 0 or self.budget_gb <= 0:
            raise NodeConfigError("prefetch: cases ahead must be >= 0 and the budget positive")
        return self


@dataclass
class NodeSettings:
    """Every configured node and our own AE; ``load``/``save`` use a JSON file."""

    local: LocalAe = field(default_factory=LocalAe)
    dimse: list[DimseNode] = field(default_factory=list)
    dicomweb: list[DicomWebNode] = field(default_factory=list)
    prefetch: PrefetchSettings = field(default_factory=PrefetchSettings)

    def prefetch_node(self) -> DimseNode | DicomWebNode | None:
        """The node the worklist prefetches from, or None (prefetch off or no node)."""
        if not self.prefetch.enabled:
            return None
        if self.prefetch.node:
            for n in [*self.dicomweb, *self.dimse]:
                if n.name == self.prefetch.node:
                    return n
            return None
        return (self.dicomweb or self.dimse or [None])[0]

    def validate(self) -> NodeSettings:
        self.local.validate()
        for kind, nodes in (("DIMSE", self.dimse), ("DICOMweb", self.dicomweb)):
            names = [n.validate().name for n in nodes]
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise NodeConfigError(f"{kind} node names must be unique: {sorted(dup)}")
        self.prefetch.validate()
        return self

    def dimse_node(self, name: str) -> DimseNode:
        for n in self.dimse:
            if n.name == name:
                return n
        raise NodeConfigError(
            f"no DIMSE node named {name!r}; configured: {[n.name for n in self.dimse]}"
        )

    def web_node(self, name: str) -> DicomWebNode:
        for n in self.dicomweb:
            if n.name == name:
                return n
        raise NodeConfigError(
            f"no DICOMweb node named {name!r}; configured: {[n.name for n in self.dicomweb]}"
        )

    def to_json(self) -> dict[str, Any]:
        def web(n: DicomWebNode) -> dict[str, Any]:
            d = asdict(n)
            d["auth"] = n.auth.value
            return d

        return {
            "version": 1,
            "local": asdict(self.local),
            "dimse": [asdict(n) for n in self.dimse],
            "dicomweb": [web(n) for n in self.dicomweb],
            "prefetch": asdict(self.prefetch),
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "settings") -> NodeSettings:
        try:
            local = LocalAe(**data.get("local", {}))
            dimse = [
                DimseNode(**{**d, "tls": TlsSettings(**d.get("tls", {}))})
                for d in data.get("dimse", [])
            ]
            web = [
                DicomWebNode(**{**d, "auth": WebAuth(d.get("auth", "none"))})
                for d in data.get("dicomweb", [])
            ]
            prefetch = PrefetchSettings(**data.get("prefetch", {}))
        except (TypeError, ValueError, AttributeError) as exc:
            raise NodeConfigError(f"{source}: invalid PACS node settings: {exc}") from None
        return cls(local=local, dimse=dimse, dicomweb=web, prefetch=prefetch).validate()

    @classmethod
    def load(cls, path: Path | None = None) -> NodeSettings:
        """Read the settings; a missing file gives the defaults (no node)."""
        p = path or default_settings_path()
        if not p.exists():
            return cls()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise NodeConfigError(f"{p}: cannot read PACS node settings: {exc}") from None
        return cls.from_json(data, str(p))

    def save(self, path: Path | None = None) -> Path:
        """Validate and write atomically; readable by the user only (it may hold passwords)."""
        self.validate()
        p = path or default_settings_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2)
        os.replace(tmp, p)
        return p
