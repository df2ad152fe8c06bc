"""Node settings, query building and the Qt-free rule, without a server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    NodeConfigError,
    NodeSettings,
    PacsError,
    StudyQuery,
    TlsSettings,
    WebAuth,
)


def test_settings_round_trip_and_permissions(tmp_path: Path) -> None:
    s = NodeSettings(
        LocalAe("WS1", 11113),
        [
            DimseNode(
                "pacs", "ARCHIVE", "10.0.0.5", 104, TlsSettings(enabled=True, ca_file="/ca.pem")
            )
        ],
        [DicomWebNode("web", "https://pacs.example/dicom-web/", WebAuth.BEARER, token="tok")],
    )
    p = s.save(tmp_path / "n.json")
    assert oct(p.stat().st_mode & 0o777) == "0o600"
    back = NodeSettings.load(p)
    assert back.dimse[0].tls.enabled and back.dimse[0].tls.ca_file == "/ca.pem"
    assert back.dicomweb[0].base_url == "https://pacs.example/dicom-web"  # trailing / dropped
    assert back.dicomweb[0].auth is WebAuth.BEARER and back.dicomweb[0].token == "tok"
    assert json.loads(p.read_text())["version"] == 1
    assert NodeSettings.load(tmp_path / "missing.json").dimse == []


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (DimseNode("a", "", "h", 104), "called AE title '' is invalid"),
        (DimseNode("a", "X" * 17, "h", 104), "is invalid: 1-16 printable ASCII"),
        (DimseNode("a", "BAD\\AE", "h", 104), "without backslash"),
        (DimseNode("a", "AE", "h", 0), "port 0 is invalid"),
        (DimseNode("a", "AE", "h", 70000), "port 70000 is invalid"),
        (DimseNode("a", "AE", "", 104), "host '' is invalid"),
        (DicomWebNode("w", "ftp://x"), "base URL 'ftp://x' is invalid"),
        (DicomWebNode("w", "http://x", WebAuth.BASIC), "basic authentication needs a user"),
        (DicomWebNode("w", "http://x", WebAuth.BEARER), "bearer authentication needs a token"),
    ],
)
def test_invalid_nodes_are_named(node: DimseNode | DicomWebNode, message: str) -> None:
    with pytest.raises(NodeConfigError, match=message.replace("\\", "\\\\").replace("(", "\\(")):
        node.validate()


def test_corrupt_settings_file_is_a_message(tmp_path: Path) -> None:
    p = tmp_path / "n.json"
    p.write_text("{not json")
    with pytest.raises(NodeConfigError, match=f"{p}: cannot read PACS node settings"):
        NodeSettings.load(p)
    p.write_text(
        json.dumps({"dimse": [{"name": "x", "ae_title": "A", "host": "h", "port": "104"}]})
    )
    with pytest.raises(NodeConfigError, match="port '104' is invalid"):
        NodeSettings.load(p)


def test_query_identifier_and_qido_filters() -> None:
    q = StudyQuery(
        patient_name="DOE",
        date_from="2025-07-01",
        date_to="2025-07-31",
        modality="pt",
        subject_id="NC-1",
    )
    ds = q.identifier()
    assert ds.QueryRetrieveLevel == "STUDY"
    assert ds.PatientName == "DOE*" and ds.StudyDate == "20250701-20250731"
    assert ds.ModalitiesInStudy == "PT" and ds.ClinicalTrialSubjectID == "NC-1"
    assert ds.StudyInstanceUID == "" and ds.PatientID == ""  # return keys
    assert q.qido_filters() == {
        "PatientName": "DOE*",
        "StudyDate": "20250701-20250731",
        "ModalitiesInStudy": "PT",
        "ClinicalTrialSubjectID": "NC-1",
    }
    assert StudyQuery(date_from="2025-01-02").date_range() == "20250102-"
    assert StudyQuery(date_to="20250102").date_range() == "-20250102"
    assert StudyQuery(date_from="2025-01-02", date_to="2025-01-02").date_range() == "20250102"
    with pytest.raises(PacsError, match="start date '2025-13-01' is not a valid calendar date"):
        StudyQuery(date_from="2025-13-01").date_range()
    with pytest.raises(PacsError, match="after end date"):
        StudyQuery(date_from="2025-02-01", date_to="2025-01-01").date_range()
    with pytest.raises(PacsError, match="is not a date"):
        StudyQuery(date_to="yesterday").date_range()


def test_pacs_and_deid_import_without_qt() -> None:
    code = """
import importlib, importlib.abc, pkgutil, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError("Qt blocked")
sys.meta_path.insert(0, BlockQt())
import namecar_viewer.pacs as p, namecar_viewer.deid as d
n = 0
for pkg in (p, d):
    for m in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{m.name}"); n += 1
import namecar_viewer.cli.pacs, namecar_viewer.cli.deid
print("ok", n)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ") and int(out.stdout.split()[1]) >= 10


def test_study_progress_line_in_place_on_a_terminal_plain_otherwise() -> None:
    import io

    from namecar_viewer.cli.pacs import StudyProgress
    from namecar_viewer.pacs import SeriesProgress, SeriesStatus

    for tty in (True, False):
        a = SeriesProgress("1.2", "1.2.1", total=100)
        b = SeriesProgress("1.2", "1.2.2", total=100)
        out = io.StringIO()
        pr = StudyProgress("1.2", out, tty=tty, plain_every=3600)
        pr(a)
        pr(b)
        a.status, a.done, a.received, a.nbytes = SeriesStatus.RUNNING, 50, 50, 25_000_000
        pr(a)
        a.status, a.done, a.received = SeriesStatus.DONE, 100, 100
        pr(a)
        pr.finish()
        text = out.getvalue()
        if tty:
            assert text.count("\n") == 1 and text.endswith("\n") and "\r" in text
            last = text.rsplit("\r", 1)[1]
        else:
            assert "\r" not in text
            lines = text.splitlines()
            # the first line, the end of a series, the final line: not one per instance
            assert len(lines) == 3, lines
            last = lines[-1]
        assert "100/200 instances" in last and "1/2 series" in last and "MB/s" in last
        assert "left" in last


@pytest.mark.parametrize("implicit_vr", [True, False])
@pytest.mark.parametrize("sequence_first", [False, True])
def test_receiver_reads_study_and_series_of_the_bytes_as_sent(
    implicit_vr: bool, sequence_first: bool
) -> None:
    """Our C-STORE receiver (C-MOVE) routes an instance by the Study and Series Instance UIDs
    stepped to in the received bytes; a sequence of undefined length before them is read by
    pydicom instead."""
    import io
    from types import SimpleNamespace

    from pydicom.dataset import Dataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    from namecar_viewer.pacs import dimse

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.PatientName = "Test^Patient"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = "1.2.3.4.1"  # odd length: padded with a NUL
    ds.InstanceNumber = 1
    if sequence_first:
        item = Dataset()
        item.ReferencedSOPInstanceUID = "1.2.3.9"
        ds.ReferencedImageSequence = Sequence([item])
        ds["ReferencedImageSequence"].is_undefined_length = True
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = implicit_vr
    write_dataset(fp, ds)
    data = fp.getvalue()
    scanned = dimse._scan_study_series(memoryview(data), implicit_vr)
    assert scanned == (None if sequence_first else ("1.2.3.4", "1.2.3.4.1"))
    ts = ImplicitVRLittleEndian if implicit_vr else ExplicitVRLittleEndian
    event = SimpleNamespace(
        request=SimpleNamespace(DataSet=io.BytesIO(data)),
        context=SimpleNamespace(transfer_syntax=ts),
    )
    assert dimse._study_series(event) == ("1.2.3.4", "1.2.3.4.1")
