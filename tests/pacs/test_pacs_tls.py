"""DIMSE over TLS against a real Orthanc with DICOM TLS (PS3.15 B.1), mutual certificates.

A throwaway CA signs Orthanc's certificate (127.0.0.1) and ours; Orthanc requires a client
certificate.  Echo, store and find go through TLS; an untrusted server certificate, a missing
client certificate and a plain connection to the TLS port each fail with the reason named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from orthanc import ORTHANC_AET, OUR_AET, OrthancServer, free_port
from tls_certs import Pki, make_pki

from namecar_viewer.pacs import (
    DimseNode,
    LocalAe,
    PacsError,
    StudyQuery,
    TlsSettings,
    find_studies,
    send,
    test_connection,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_orthanc(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, orthanc: OrthancServer
) -> Iterator[OrthancServer]:
    """A second Orthanc whose DIMSE port speaks TLS only (``orthanc`` proves it is installed)."""
    server = OrthancServer(
        tmp_path_factory.mktemp("orthanc-tls"),
        free_port(),
        tls=(pki.server_cert, pki.server_key, pki.ca_cert),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _node(server: OrthancServer, pki: Pki, **tls: object) -> DimseNode:
    settings = TlsSettings(
        enabled=True,
        ca_file=str(pki.ca_cert),
        cert_file=str(pki.client_cert),
        key_file=str(pki.client_key),
    )
    return DimseNode(
        "tls-orthanc", ORTHANC_AET, "127.0.0.1", server.dicom_port, replace(settings, **tls)
    )


def test_echo_store_and_find_over_tls(
    tls_orthanc: OrthancServer, pki: Pki, small_demo: Path
) -> None:
    node = _node(tls_orthanc, pki)
    local = LocalAe(OUR_AET, free_port())
    assert "C-ECHO" in test_connection(node, local) and "(TLS)" in node.address
    pet = sorted((small_demo / "PT_2025-07-24_PSMA_Ga68").glob("*.dcm"))[:3]
    results = send(node, local, pet)
    assert [r.ok for r in results] == [True, True, True], [r.message for r in results]
    # the server holds them: asked through its REST API, and found over TLS by C-FIND
    sop = str(pydicom.dcmread(pet[0], stop_before_pixels=True).SOPInstanceUID)
    assert tls_orthanc.find_instance(sop)
    (study,) = find_studies(node, local, StudyQuery(patient_id="NAMECAR-001"))
    assert study.n_instances == 3


def test_untrusted_server_certificate_is_named(
    tls_orthanc: OrthancServer, pki: Pki, tmp_path: Path
) -> None:
    other = make_pki(tmp_path / "other", "other-ca")  # a CA that did not sign the server
    node = _node(tls_orthanc, pki, ca_file=str(other.ca_cert))
    with pytest.raises(PacsError, match=r"certificate of 127\.0\.0\.1:.* is not trusted"):
        test_connection(node, LocalAe(OUR_AET, free_port()))


def test_missing_client_certificate_is_named(tls_orthanc: OrthancServer, pki: Pki) -> None:
    node = _node(tls_orthanc, pki, cert_file="", key_file="")
    with pytest.raises(PacsError, match=r"TLS with 127\.0\.0\.1:.* failed.*client certificate"):
        test_connection(node, LocalAe(OUR_AET, free_port()))


def test_plain_association_to_a_tls_port_fails_clearly(
    tls_orthanc: OrthancServer, pki: Pki
) -> None:
    node = replace(_node(tls_orthanc, pki), tls=TlsSettings(enabled=False))
    with pytest.raises(PacsError, match=r"association with .* failed"):
        test_connection(node, LocalAe(OUR_AET, free_port()))
