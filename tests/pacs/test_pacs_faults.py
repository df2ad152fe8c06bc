"""Faults: a server that is down, one that refuses the association, bad credentials, and an
archive that dies in the middle of a transfer (partial study kept, resumable, nothing corrupt)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc import ORTHANC_AET, OUR_AET, OrthancServer, free_port

from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    Method,
    PacsError,
    Retriever,
    SeriesStatus,
    StudyQuery,
    WebAuth,
    echo,
    find_studies,
    test_connection,
)


def test_server_down_gives_a_clear_message(local_ae: LocalAe, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    node = DimseNode("archive", "ANY", "127.0.0.1", port)
    with pytest.raises(PacsError, match=rf"archive: nothing listens at 127.0.0.1:{port}"):
        echo(node, local_ae)
    with pytest.raises(PacsError, match="connection refused"):
        find_studies(node, local_ae, StudyQuery())
    rep = Retriever(local_ae, LocalStore(tmp_path)).retrieve(Method.C_GET, node, "1.2.3")
    assert not rep.ok and "nothing listens" in rep.error
    web = DicomWebNode("web", f"http://127.0.0.1:{port}/dicom-web")
    with pytest.raises(PacsError, match=r"web: cannot connect to http://127.0.0.1:\d+/dicom-web"):
        test_connection(web, local_ae)


def test_refused_association_names_the_reason(
    orthanc: OrthancServer, local_ae: LocalAe, dimse_node: DimseNode
) -> None:
    wrong = DimseNode("archive", "NOT_ORTHANC", "127.0.0.1", dimse_node.port)
    with pytest.raises(PacsError, match=r"association refused .*Called AE title not recognised"):
        echo(wrong, local_ae)


def test_bad_dicomweb_credentials(orthanc: OrthancServer, local_ae: LocalAe) -> None:
    web = DicomWebNode("web", orthanc.dicomweb_url, WebAuth.BASIC, "namecar", "wrong")
    with pytest.raises(PacsError, match=r"HTTP 401 \(authentication failed"):
        test_connection(web, local_ae)


def test_archive_dies_mid_transfer_then_resume(
    tmp_path: Path, small_demo: Path, receiver_port: int
) -> None:
    ct = sorted(next(small_demo.glob("CT_2025-01-15*")).glob("*.dcm"))
    assert len(ct) == 84
    server = OrthancServer(tmp_path / "orthanc", receiver_port)
    server.start()
    try:
        server.upload(ct)
        local = LocalAe(OUR_AET, receiver_port)
        node = DimseNode("archive", ORTHANC_AET, "127.0.0.1", server.dicom_port, timeout_s=10)
        (study,) = find_studies(node, local, StudyQuery())
        store = LocalStore(tmp_path / "store")
        retriever = Retriever(local, store)
        killed = threading.Event()

        def on_progress(p: object) -> None:
            if getattr(p, "received", 0) >= 20 and not killed.is_set():
                killed.set()
                server.kill()  # SIGKILL: the archive is gone mid C-GET

        rep = retriever.retrieve(
            Method.C_GET, node, study.study_instance_uid, on_progress=on_progress
        )
        assert killed.is_set()
        assert not rep.ok
        (s,) = rep.series
        assert s.status is SeriesStatus.FAILED
        assert "lost during C-GET" in rep.error and "they are kept" in rep.error, rep.error
        kept = store.files(study.study_instance_uid)
        assert 20 <= len(kept) < 84
        assert list(store.root.rglob("*.part")) == []  # no half-written file
        originals = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in ct}
        for f in kept:  # every kept file is whole: pixels equal the original's
            a = pydicom.dcmread(f)
            np.testing.assert_array_equal(
                a.pixel_array, pydicom.dcmread(originals[f.stem]).pixel_array
            )

        server.start()  # the archive is back (same storage)
        rep2 = retriever.retrieve(Method.C_GET, node, study.study_instance_uid)
        assert rep2.ok, rep2.error
        (s2,) = rep2.series
        assert (s2.skipped, s2.received, s2.done) == (len(kept), 84 - len(kept), 84)
        assert {f.stem for f in store.files(study.study_instance_uid)} == set(originals)
    finally:
        server.stop()
