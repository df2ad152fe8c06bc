"""Issue 17 against the real Orthanc: resume asks only for what is missing (WADO-RS, C-GET,
C-MOVE), Ctrl+C of ``pacs get`` gives the JSON report and exit 130 with every reported instance
durable, sends hold a bounded amount of memory, a compressed transfer syntax is decoded on
load, and the multipart reader copes with parts without lengths."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc import HTTP_PASSWORD, HTTP_USER, OrthancServer
from synthetic_study import SyntheticStudy

from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    Method,
    Retriever,
    send,
    web,
)
from namecar_viewer.pacs.local_store import read_part10_meta


def _node(
    method: Method, dimse_node: DimseNode, web_node: DicomWebNode
) -> DimseNode | DicomWebNode:
    return web_node if method is Method.WADO_RS else dimse_node


@pytest.mark.parametrize("method", [Method.WADO_RS, Method.C_GET, Method.C_MOVE])
def test_resume_asks_only_for_the_missing_instances(
    method: Method,
    tmp_path: Path,
    ct_study: SyntheticStudy,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = _node(method, dimse_node, web_node)
    store = LocalStore(tmp_path / "store")
    retriever = Retriever(local_ae, store)
    try:
        rep = retriever.retrieve(method, node, ct_study.study_instance_uid)
        assert rep.ok, rep.error
        assert rep.received == 300 and rep.nbytes >= ct_study.nbytes
        files = store.files(ct_study.study_instance_uid)
        assert len(files) == 300 and not list(store.root.rglob("*.part"))
        # the bytes are the stored file's, as sent: same pixels and headers as the original
        by_sop = {p.stem: p for p in files}
        orig = pydicom.dcmread(ct_study.files[7])
        got = pydicom.dcmread(by_sop[orig.SOPInstanceUID])
        assert np.array_equal(got.pixel_array, orig.pixel_array)
        assert got.get((0x0043, 0x1040)) is not None  # the private block came along

        before = {f: f.stat().st_mtime_ns for f in files}
        gone = files[::4]  # 75 of 300, in both series
        for f in gone:
            f.unlink()
        # count what is asked for: WADO-RS requests, DIMSE identifiers' SOP Instance UIDs
        asked: list[str] = []
        if method is Method.WADO_RS:
            real = web._wado_get

            def counting(s, node, url, *a, **k):  # type: ignore[no-untyped-def]
                asked.append(url)
                return real(s, node, url, *a, **k)

            monkeypatch.setattr(web, "_wado_get", counting)
        else:
            from namecar_viewer.pacs import dimse

            real_ident = dimse._retrieve_identifier

            def ident(study, series, sops):  # type: ignore[no-untyped-def]
                asked.extend(sops or ["<whole series>"])
                return real_ident(study, series, sops)

            monkeypatch.setattr(dimse, "_retrieve_identifier", ident)
        rep = retriever.retrieve(method, node, ct_study.study_instance_uid)
    finally:
        retriever.shutdown()
    assert rep.ok, rep.error
    assert rep.received == len(gone) == 75
    assert sum(s.skipped for s in rep.series) == 225
    assert len(asked) == 75 and "<whole series>" not in asked
    if method is Method.WADO_RS:
        assert all("/instances/" in u for u in asked)
        assert {u.rsplit("/", 1)[1] for u in asked} == {f.stem for f in gone}
    else:
        assert set(asked) == {f.stem for f in gone}
    now = store.files(ct_study.study_instance_uid)
    assert len(now) == 300
    for f in set(files) - set(gone):
        assert f.stat().st_mtime_ns == before[f]  # kept files not rewritten


def test_ctrl_c_gives_the_json_report_and_exit_130_then_resume(
    tmp_path: Path, ct_study: SyntheticStudy, orthanc: OrthancServer
) -> None:
    out = tmp_path / "store"
    cmd = [
        sys.executable,
        "-m",
        "namecar_viewer",
        "pacs",
        "get",
        "--url",
        orthanc.dicomweb_url,
        "--user",
        HTTP_USER,
        "--password",
        HTTP_PASSWORD,
        ct_study.study_instance_uid,
        "--out",
        str(out),
        "--no-index",
        "--json",
        "--parallel",
        "1",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert p.stderr is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "1/2 series" in line:  # the first series is in: interrupt the second
            break
    assert any("1/2 series" in x for x in lines), lines
    # plain progress lines (not a terminal): instances done/total and MB/s
    assert "instances" in lines[-1] and "MB/s" in lines[-1]
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    stdout, stderr = p.communicate(timeout=60)
    stopped_in = time.monotonic() - t0
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stopped_in < 10
    rep = json.loads(stdout)
    assert rep["interrupted"] is True
    first, second = rep["series"]
    assert first["status"] == "done" and first["done"] == 150
    assert second["status"] in ("cancelled", "done")
    got = rep["received"]
    # every instance the report counts is durable on disk, nothing half-written left
    store = LocalStore(out)
    assert len(store.files(ct_study.study_instance_uid)) == got
    assert not list(out.rglob("*.part"))

    # resume: only what is missing
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    rep2 = json.loads(r.stdout)
    assert rep2["ok"] and rep2["received"] == 300 - got
    assert sum(s["skipped"] for s in rep2["series"]) == got
    assert len(store.files(ct_study.study_instance_uid)) == 300


@pytest.mark.parametrize("via", ["c-store", "stow-rs", "c-store-deid"])
def test_send_memory_is_bounded(
    via: str,
    tmp_path: Path,
    ct_study: SyntheticStudy,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
) -> None:
    node = web_node if via == "stow-rs" else dimse_node
    deidentify = None
    if via == "c-store-deid":
        from namecar_viewer.deid import Deidentifier, DeidMapping, DeidOptions

        deid = Deidentifier(DeidMapping(tmp_path / "map.sqlite"), DeidOptions())

        def deidentify(ds: pydicom.Dataset) -> object:
            return deid.deidentify(ds, "NC-MEM-1")

    # modules imported on first use are not the transfer's memory: one file first, untraced
    assert send(node, local_ae, ct_study.files[:1], deidentify=deidentify)[0].ok
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        results = send(node, local_ae, [ct_study.files[0].parents[1]], deidentify=deidentify)
        dt = time.monotonic() - t0
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(results) == 300 and all(r.ok for r in results), [r for r in results if not r.ok][:3]
    # in the order of the files
    assert [Path(r.path) for r in results] == sorted(ct_study.files)
    size = ct_study.nbytes
    limit = 0.12 * size if via == "c-store-deid" else 0.05 * size
    assert peak < limit, (
        f"{via}: peak {peak / 2**20:.1f} MiB for {size / 2**20:.0f} MiB in {dt:.1f} s"
    )
    if via == "c-store-deid":
        assert results[0].sop_instance_uid.startswith("2.25.")


def test_wado_rs_compressed_transfer_syntax_is_decoded_on_load(
    tmp_path: Path, demo_on_server: list[Path], web_node: DicomWebNode, local_ae: LocalAe
) -> None:
    """JPEG-LS lossless asked for: Orthanc transcodes, the files hold JPEG-LS, the pixels are
    those of the original once decoded; a transfer syntax the server refuses falls back to the
    stored one."""
    from dataclasses import replace

    from namecar_viewer.pacs import StudyQuery, find_studies

    (pet,) = find_studies(web_node, local_ae, StudyQuery(patient_id="NAMECAR-001", modality="PT"))
    originals = {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in demo_on_server)}
    node = replace(web_node, transfer_syntax="jpeg-ls-lossless").validate()
    store = LocalStore(tmp_path / "ls")
    rep = Retriever(local_ae, store).retrieve(Method.WADO_RS, node, pet.study_instance_uid)
    assert rep.ok, rep.error
    files = store.files(pet.study_instance_uid)
    assert len(files) == 56
    syntaxes = set()
    for f in files[:5]:
        ds = pydicom.dcmread(f)
        syntaxes.add(str(ds.file_meta.TransferSyntaxUID))
        assert np.array_equal(ds.pixel_array, originals[f.stem].pixel_array)
    assert syntaxes == {"1.2.840.10008.1.2.4.80"}

    # a syntax the server cannot produce: the stored one instead
    node = replace(web_node, transfer_syntax="1.2.840.10008.1.2.4.999").validate()
    store = LocalStore(tmp_path / "fallback")
    rep = Retriever(local_ae, store).retrieve(Method.WADO_RS, node, pet.study_instance_uid)
    assert rep.ok, rep.error and len(store.files(pet.study_instance_uid)) == 56


class _Raw:
    def __init__(self, data: bytes, step: int) -> None:
        self.f = io.BytesIO(data)
        self.step = step

    def read(self, n: int, decode_content: bool = True) -> bytes:
        return self.f.read(min(n, self.step))


def _part10(sop: str) -> bytes:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.3.4"
    ds.Rows = ds.Columns = 10
    ds.BitsAllocated = 8
    ds.SamplesPerPixel = 1
    ds.PixelData = b"\0" * 100
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


@pytest.mark.parametrize("with_length", [True, False])
@pytest.mark.parametrize("step", [7, 1 << 20])
def test_multipart_reader(tmp_path: Path, with_length: bool, step: int) -> None:
    parts = [_part10(f"1.2.3.4.{i}") for i in range(3)]
    b = "b0undary"
    body = b"preamble\r\n"
    for data in parts:
        body += f"--{b}\r\nContent-Type: application/dicom\r\n".encode()
        if with_length:
            body += f"Content-Length: {len(data)}\r\n".encode()
        body += b"\r\n" + data + b"\r\n"
    body += f"--{b}--\r\n".encode()
    store = LocalStore(tmp_path)
    w = store.writer("1.2.3", "1.2.3.4")
    seen: list[tuple[str, int]] = []
    n = web.stream_multipart(
        _Raw(body, step),
        f'multipart/related; type="application/dicom"; boundary="{b}"',
        w,
        lambda sop, k: seen.append((sop, k)),
    )
    assert n == 3 and [s for s, _k in seen] == [f"1.2.3.4.{i}" for i in range(3)]
    assert store.present("1.2.3") == set()  # nothing visible before the commit
    w.commit()
    for i, data in enumerate(parts):
        p = store.path_for("1.2.3", "1.2.3.4", f"1.2.3.4.{i}")
        assert p.read_bytes() == data
        meta = read_part10_meta(data)
        assert meta is not None and meta.sop_instance_uid == f"1.2.3.4.{i}"


def test_each_finished_instance_starts_its_writeback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every instance written (by a multipart part or whole) asks the kernel to start writing it
    to disk, with its bytes complete at that moment; the data read back are the bytes sent."""
    from namecar_viewer.pacs import local_store

    started: list[int] = []
    real = local_store.start_writeback

    def spy(fd: int) -> None:
        started.append(os.fstat(fd).st_size)  # every byte is in the file when it is handed over
        real(fd)  # the real call must accept the descriptor (a no-op off Linux)

    monkeypatch.setattr(local_store, "start_writeback", spy)
    store = LocalStore(tmp_path)
    w = store.writer("1.2.3", "1.2.3.4")
    a, b = _part10("1.2.3.4.1"), _part10("1.2.3.4.2")
    f = w.open_part()
    f.write(a[:100])
    f.write(a[100:])
    w.finish_part(f, "1.2.3.4.1")
    w.write_instance("1.2.3.4.2", b[:50], b[50:])
    assert started == [len(a), len(b)]
    w.commit()
    assert store.path_for("1.2.3", "1.2.3.4", "1.2.3.4.1").read_bytes() == a
    assert store.path_for("1.2.3", "1.2.3.4", "1.2.3.4.2").read_bytes() == b
