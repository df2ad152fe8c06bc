"""End to end against a real Orthanc: echo, C-FIND/QIDO, C-GET/C-MOVE/WADO-RS retrieve of the
demo patient with pixel comparison, resume, and sending an SR and a PDF by C-STORE and STOW-RS."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc import OrthancServer
from pydicom.uid import generate_uid

from namecar_viewer.pacs import (
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    Method,
    Retriever,
    StudyQuery,
    find_studies,
    send,
    test_connection,
)
from namecar_viewer.pacs.local_store import index_import_hook
from namecar_viewer.persistence.study_index import StudyIndex
from testsupport import DCMQI

SR_EXAMPLE = DCMQI / "sr-example" / "sr.dcm"


def headers(paths: list[Path]) -> dict[str, pydicom.Dataset]:
    return {
        str(ds.SOPInstanceUID): ds
        for ds in (pydicom.dcmread(p, stop_before_pixels=True) for p in paths)
    }


@pytest.fixture(scope="module")
def originals(demo_on_server: list[Path]) -> dict[str, tuple[Path, pydicom.Dataset]]:
    return {
        str(ds.SOPInstanceUID): (p, ds)
        for p, ds in ((p, pydicom.dcmread(p, stop_before_pixels=True)) for p in demo_on_server)
    }


def test_test_connection_dimse_and_dicomweb(
    dimse_node: DimseNode, web_node: DicomWebNode, local_ae: LocalAe, orthanc: OrthancServer
) -> None:
    assert "C-ECHO" in test_connection(dimse_node, local_ae)
    assert "QIDO-RS answered" in test_connection(web_node, local_ae)


@pytest.mark.parametrize("protocol", ["dimse", "dicomweb"])
def test_find_demo_patient_studies(
    protocol: str,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
    originals: dict[str, tuple[Path, pydicom.Dataset]],
) -> None:
    node = dimse_node if protocol == "dimse" else web_node
    # expected, from the files' own headers
    per_study = Counter(str(ds.StudyInstanceUID) for _p, ds in originals.values())
    modality = {str(ds.StudyInstanceUID): str(ds.Modality) for _p, ds in originals.values()}
    date = {str(ds.StudyInstanceUID): str(ds.StudyDate) for _p, ds in originals.values()}

    found = find_studies(node, local_ae, StudyQuery(patient_id="NAMECAR-001"))
    assert {s.study_instance_uid: s.n_instances for s in found} == dict(per_study)
    assert len(found) == 7  # 5 CT timepoints, 1 MRI study, 1 PET study

    by_name = find_studies(node, local_ae, StudyQuery(patient_name="namecar"))
    by_name_exact = find_studies(node, local_ae, StudyQuery(patient_name="NAMECAR"))
    assert len(by_name_exact) == 7
    assert len(by_name) in (0, 7)  # PN case sensitivity is the server's choice (PS3.4 C.2.2.2.1)

    # other tests send de-identified PET copies under other patient IDs: filter by patient
    pet = find_studies(node, local_ae, StudyQuery(patient_id="NAMECAR-001", modality="PT"))
    assert [s.study_instance_uid for s in pet] == [u for u, m in modality.items() if m == "PT"]

    subject = find_studies(node, local_ae, StudyQuery(subject_id="NAMECAR-001"))
    assert len(subject) == 7
    assert find_studies(node, local_ae, StudyQuery(subject_id="NOBODY")) == []

    july = find_studies(
        node,
        local_ae,
        StudyQuery(patient_id="NAMECAR-001", date_from="2025-07-01", date_to="2025-07-31"),
    )
    assert sorted(s.study_instance_uid for s in july) == sorted(
        u for u, d in date.items() if "20250701" <= d <= "20250731"
    )
    assert len(july) == 3  # inclusion CT 2025-07-10, MRI 2025-07-22, PET 2025-07-24

    accession = next(iter(originals.values()))[1].AccessionNumber
    acc = find_studies(node, local_ae, StudyQuery(accession_number=str(accession)))
    assert len(acc) == 1


def _compare_with_originals(
    store: LocalStore, originals: dict[str, tuple[Path, pydicom.Dataset]]
) -> int:
    got = {p.stem: p for p in store.root.rglob("*.dcm")}
    assert set(got) == set(originals)
    n = 0
    for sop, path in got.items():
        a = pydicom.dcmread(path)
        b = pydicom.dcmread(originals[sop][0])
        assert (
            a.StudyInstanceUID == b.StudyInstanceUID and a.SeriesInstanceUID == b.SeriesInstanceUID
        )
        np.testing.assert_array_equal(a.pixel_array, b.pixel_array, err_msg=sop)
        assert a.get("RescaleSlope") == b.get("RescaleSlope")
        n += 1
    return n


@pytest.mark.parametrize("method", [Method.C_GET, Method.C_MOVE, Method.WADO_RS])
def test_retrieve_demo_patient_into_empty_store(
    method: Method,
    tmp_path: Path,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
    originals: dict[str, tuple[Path, pydicom.Dataset]],
) -> None:
    node = web_node if method is Method.WADO_RS else dimse_node
    store = LocalStore(tmp_path / "store")
    imported: list[list[Path]] = []
    index = StudyIndex(tmp_path / "index.sqlite")
    index_hook = index_import_hook(index)
    assert index_hook is not None

    def hook(folders: list[Path]) -> object:
        imported.append(folders)
        return index_hook(folders)

    retriever = Retriever(local_ae, store, import_hook=hook)
    progress: list[tuple[str, int, int | None]] = []
    try:
        studies = find_studies(node, local_ae, StudyQuery(patient_id="NAMECAR-001"))
        for st in studies:
            rep = retriever.retrieve(
                method,
                node,
                st.study_instance_uid,
                on_progress=lambda p: progress.append((p.series_instance_uid, p.done, p.total)),
            )
            assert rep.ok, rep.error
            assert sum(s.received for s in rep.series) == st.n_instances
    finally:
        retriever.shutdown()
    assert _compare_with_originals(store, originals) == len(originals) == 746
    # progress was reported per series, counting up to each series' total
    finals = {}
    for series, done, total in progress:
        finals[series] = (done, total)
    series_sizes = Counter(str(ds.SeriesInstanceUID) for _p, ds in originals.values())
    assert {s: d for s, (d, _t) in finals.items()} == dict(series_sizes)
    assert len(imported) == 7 and sum(len(f) for f in imported) == len(series_sizes)
    # handed to the study index: every instance indexed, every study there
    counts = index.counts()
    index.close()
    assert counts["instances"] == 746 and counts["studies"] == 7, counts


def test_resume_fetches_only_missing_instances(
    tmp_path: Path,
    dimse_node: DimseNode,
    local_ae: LocalAe,
    originals: dict[str, tuple[Path, pydicom.Dataset]],
) -> None:
    (pet,) = find_studies(dimse_node, local_ae, StudyQuery(patient_id="NAMECAR-001", modality="PT"))
    store = LocalStore(tmp_path / "store")
    retriever = Retriever(local_ae, store)
    assert retriever.retrieve(Method.C_GET, dimse_node, pet.study_instance_uid).ok
    files = store.files(pet.study_instance_uid)
    assert len(files) == 56
    before = {f: f.stat().st_mtime_ns for f in files}
    for f in files[:7]:
        f.unlink()
    rep = retriever.retrieve(Method.C_GET, dimse_node, pet.study_instance_uid)
    assert rep.ok
    (s,) = rep.series
    assert (s.received, s.skipped, s.done, s.total) == (7, 49, 56, 56)
    # the 49 kept files were not rewritten
    for f in files[7:]:
        assert f.stat().st_mtime_ns == before[f]


def _encapsulated_pdf(ref: pydicom.Dataset) -> pydicom.Dataset:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for kw in (
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "StudyID",
        "ReferringPhysicianName",
    ):
        setattr(ds, kw, ref.get(kw, ""))
    ds.PatientID = "REPORTS-TEST"
    ds.PatientName = "REPORTS^TEST"
    ds.AccessionNumber = ""
    ds.StudyInstanceUID = generate_uid()
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 900
    ds.InstanceNumber = 1
    ds.ContentDate = "20250801"
    ds.ContentTime = "120000"
    ds.AcquisitionDateTime = "20250801120000"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "NAMECAR response report"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf
    ds.EncapsulatedDocumentLength = len(pdf)
    return ds


def test_send_sr_and_pdf_by_cstore_and_stow(
    tmp_path: Path,
    orthanc: OrthancServer,
    dimse_node: DimseNode,
    web_node: DicomWebNode,
    local_ae: LocalAe,
    originals: dict[str, tuple[Path, pydicom.Dataset]],
) -> None:
    assert SR_EXAMPLE.exists(), SR_EXAMPLE
    sr = pydicom.dcmread(SR_EXAMPLE)
    ref = next(iter(originals.values()))[1]
    pdf_path = tmp_path / "report.dcm"
    _encapsulated_pdf(ref).save_as(pdf_path, enforce_file_format=True)

    # C-STORE: the dcmqi SR and the PDF
    results = send(dimse_node, local_ae, [SR_EXAMPLE, pdf_path])
    assert [r.ok for r in results] == [True, True], results
    assert results[0].sop_instance_uid == sr.SOPInstanceUID
    assert len(orthanc.find_instance(str(sr.SOPInstanceUID))) == 1
    assert len(orthanc.find_instance(results[1].sop_instance_uid)) == 1

    # STOW-RS: a copy of the SR under a new SOP Instance UID, and a new PDF
    sr2 = pydicom.dcmread(SR_EXAMPLE)
    sr2.SOPInstanceUID = generate_uid()
    sr2.file_meta.MediaStorageSOPInstanceUID = sr2.SOPInstanceUID
    sr2_path = tmp_path / "sr2.dcm"
    sr2.save_as(sr2_path)
    pdf2_path = tmp_path / "report2.dcm"
    _encapsulated_pdf(ref).save_as(pdf2_path, enforce_file_format=True)
    results = send(web_node, local_ae, [sr2_path, pdf2_path])
    assert [r.ok for r in results] == [True, True], results
    assert len(orthanc.find_instance(str(sr2.SOPInstanceUID))) == 1
    # and it is found by QIDO-RS as an SR series of its study
    from namecar_viewer.pacs.retrieve import list_series

    series = list_series(web_node, local_ae, str(sr2.StudyInstanceUID))
    assert str(sr2.SeriesInstanceUID) in {s.series_instance_uid for s in series}
    assert "SR" in {s.modality for s in series}
