"""A real Orthanc server on loopback for the PACS tests: temporary configuration and storage.

Orthanc (Debian packages ``orthanc`` and ``orthanc-dicomweb``) is started with free ports, its
own storage directory, the DICOMweb plugin, HTTP basic authentication, called-AE checking, and
our test AE registered as a modality (C-FIND, C-GET, C-MOVE to our receiver, C-STORE).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ORTHANC_AET = "ORTHANC_TEST"
OUR_AET = "NAMECAR_TEST"
HTTP_USER = "namecar"
HTTP_PASSWORD = "s3cret-test"  # local test server only
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def orthanc_binary() -> str | None:
    return shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
    )


def dicomweb_plugin() -> Path | None:
    for d in PLUGIN_DIRS:
        for p in sorted(Path(d).glob("libOrthancDicomWeb.so*")) if Path(d).is_dir() else []:
            return p
    return None


@dataclass
class OrthancServer:
    """One Orthanc process; ``start()`` waits until its REST API answers."""

    workdir: Path
    receiver_port: int
    http_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # DICOM TLS on the DIMSE port (certificate, key, trusted CA file), clients must present a
    # certificate the CA signed (Orthanc's DicomTlsRemoteCertificateRequired)
    tls: tuple[Path, Path, Path] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.base_url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return (HTTP_USER, HTTP_PASSWORD)

    def config(self) -> dict[str, object]:
        plugin = dicomweb_plugin()
        return {
            "Name": "NAMECAR test archive",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": ORTHANC_AET,
            "DicomCheckCalledAet": True,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {HTTP_USER: HTTP_PASSWORD},
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomCheckModalityHost": False,
            "DicomModalities": {
                "namecar": {
                    "AET": OUR_AET,
                    "Host": "127.0.0.1",
                    "Port": self.receiver_port,
                    "AllowEcho": True,
                    "AllowFind": True,
                    "AllowGet": True,
                    "AllowMove": True,
                    "AllowStore": True,
                }
            },
            "Plugins": [str(plugin)] if plugin else [],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
            "SaveJobs": False,
            "HttpDescribeErrors": True,
            "StorageCompression": False,
            **(
                {
                    "DicomTlsEnabled": True,
                    "DicomTlsCertificate": str(self.tls[0]),
                    "DicomTlsPrivateKey": str(self.tls[1]),
                    "DicomTlsTrustedCertificates": str(self.tls[2]),
                    "DicomTlsRemoteCertificateRequired": True,
                }
                if self.tls
                else {}
            ),
        }

    def start(self, timeout_s: float = 30.0) -> None:
        binary = orthanc_binary()
        assert binary, "Orthanc is not installed"
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "orthanc.json"
        cfg.write_text(json.dumps(self.config(), indent=1), encoding="utf-8")
        log = (self.workdir / "orthanc.log").open("ab")
        self.process = subprocess.Popen(
            [binary, str(cfg)], stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited with code {self.process.returncode}; log:\n"
                    + (self.workdir / "orthanc.log").read_text(errors="replace")[-3000:]
                )
            try:
                r = requests.get(f"{self.base_url}/system", auth=self.auth, timeout=1)
                if r.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer on {self.base_url} within {timeout_s} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crashed archive would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def upload(self, paths: list[Path]) -> None:
        """Upload files through the REST API (independent of our own C-STORE/STOW code)."""
        with requests.Session() as s:
            s.auth = self.auth
            for p in paths:
                r = s.post(f"{self.base_url}/instances", data=p.read_bytes(), timeout=30)
                assert r.ok, f"upload of {p} failed: {r.status_code} {r.text[:200]}"

    def get_json(self, path: str) -> object:
        r = requests.get(f"{self.base_url}{path}", auth=self.auth, timeout=30)
        r.raise_for_status()
        return r.json()

    def post_json(self, path: str, body: object) -> object:
        r = requests.post(f"{self.base_url}{path}", json=body, auth=self.auth, timeout=30)
        r.raise_for_status()
        return r.json()

    def find_instance(self, sop_instance_uid: str) -> list[str]:
        """Orthanc IDs of instances with this SOP Instance UID (via /tools/find)."""
        return list(
            self.post_json(  # type: ignore[arg-type]
                "/tools/find",
                {"Level": "Instance", "Query": {"SOPInstanceUID": sop_instance_uid}},
            )
        )


def require_orthanc() -> str | None:
    """None when Orthanc and its DICOMweb plugin are present, else the reason."""
    if orthanc_binary() is None:
        return "the Orthanc binary is not installed (Debian package 'orthanc')"
    if dicomweb_plugin() is None:
        return "the Orthanc DICOMweb plugin is not installed (Debian package 'orthanc-dicomweb')"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
