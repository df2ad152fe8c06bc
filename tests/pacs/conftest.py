"""A real Orthanc on loopback for the session, and the demo patient uploaded to it once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orthanc import (
    HTTP_PASSWORD,
    HTTP_USER,
    ORTHANC_AET,
    OUR_AET,
    OrthancServer,
    free_port,
    require_orthanc,
)
from synthetic_study import SyntheticStudy, make_study

from namecar_viewer.pacs import DicomWebNode, DimseNode, LocalAe, WebAuth
from testsupport import missing


def _need_orthanc() -> None:
    reason = require_orthanc()
    if reason is None:
        return
    missing(
        f"PACS tests need a real Orthanc: {reason} (Debian packages orthanc and "
        "orthanc-dicomweb; scripts/setup.sh installs them when run as root)"
    )


@pytest.fixture(scope="session")
def receiver_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def orthanc(
    tmp_path_factory: pytest.TempPathFactory, receiver_port: int
) -> Iterator[OrthancServer]:
    _need_orthanc()
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"), receiver_port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_ae(receiver_port: int) -> LocalAe:
    return LocalAe(OUR_AET, receiver_port)


@pytest.fixture(scope="session")
def dimse_node(orthanc: OrthancServer) -> DimseNode:
    return DimseNode("test-orthanc", ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)


@pytest.fixture(scope="session")
def web_node(orthanc: OrthancServer) -> DicomWebNode:
    return DicomWebNode(
        "test-orthanc-web", orthanc.dicomweb_url, WebAuth.BASIC, HTTP_USER, HTTP_PASSWORD
    )


@pytest.fixture(scope="session")
def demo_files(small_demo: Path) -> list[Path]:
    return sorted(small_demo.rglob("*.dcm"))


@pytest.fixture(scope="session")
def demo_on_server(orthanc: OrthancServer, demo_files: list[Path]) -> list[Path]:
    """The small demo patient uploaded through Orthanc's REST API (not our own send code)."""
    orthanc.upload(demo_files)
    return demo_files


@pytest.fixture(scope="session")
def ct_study(tmp_path_factory: pytest.TempPathFactory, orthanc: OrthancServer) -> SyntheticStudy:
    """A generated CT study (2 series x 150 slices of 512x512, 158 MB) on the server: large
    enough for a transfer to be interrupted in its middle."""
    study = make_study(tmp_path_factory.mktemp("ct"), n_series=2, n_slices=150, patient_id="BIG-1")
    orthanc.upload(study.files)
    return study
