"""DICOMweb with dicomweb-client: QIDO-RS search, WADO-RS retrieve and STOW-RS store (PS3.18)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.pacs.dimse import CancelToken, InstanceResult, TransferOutcome
from namecar_viewer.pacs.errors import PacsError, TransferCancelled
from namecar_viewer.pacs.local_store import LocalStore
from namecar_viewer.pacs.nodes import DicomWebNode, WebAuth
from namecar_viewer.pacs.query import (
    SeriesRecord,
    StudyQuery,
    StudyRecord,
    dataset_from_json,
)


def _session(node: DicomWebNode) -> Any:
    import requests

    s = requests.Session()
    s.verify = node.verify_tls
    if node.auth is WebAuth.BASIC:
        s.auth = (node.username, node.password)
    elif node.auth is WebAuth.BEARER:
        s.headers["Authorization"] = f"Bearer {node.token}"
    return s


def client(node: DicomWebNode) -> Any:
    from dicomweb_client.api import DICOMwebClient

    node.validate()
    return DICOMwebClient(url=node.base_url, session=_session(node))


@contextlib.contextmanager
def _errors(node: DicomWebNode, what: str) -> Iterator[None]:
    """Turn requests/HTTP failures into a message that names the node and the cause."""
    import requests

    try:
        yield
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        hint = {
            401: "authentication failed: check the user name/password or token",
            403: "access denied for these credentials",
            404: "not found: check the base URL (it should end with the DICOMweb root)",
        }.get(code if isinstance(code, int) else 0, "")
        raise PacsError(
            f"{node.name}: {what} at {node.base_url} failed with HTTP {code}"
            + (f" ({hint})" if hint else "")
        ) from None
    except requests.ConnectionError as exc:
        raise PacsError(
            f"{node.name}: cannot connect to {node.base_url} during {what} "
            f"(server down, wrong port or connection lost): {exc.__class__.__name__}"
        ) from None
    except requests.Timeout:
        raise PacsError(
            f"{node.name}: {what} at {node.base_url} timed out after {node.timeout_s:.0f} s"
        ) from None


STUDY_FIELDS = [
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "StudyDate",
    "StudyDescription",
    "AccessionNumber",
    "ModalitiesInStudy",
    "ClinicalTrialSubjectID",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
]
SERIES_FIELDS = [
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
]


def qido(
    node: DicomWebNode,
    path: str,
    filters: dict[str, str] | None = None,
    fields: Sequence[str] = (),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """One QIDO-RS search (PS3.18 10.6).

    The query string is built here rather than by dicomweb-client: that client percent-encodes
    the ``*`` and ``^`` of wildcard and person-name matching, which some servers (Orthanc 1.10's
    DICOMweb plugin) then match literally. Both characters are legal unescaped in a query
    (RFC 3986 sub-delims / PS3.18 8.3.4.1).
    """
    from urllib.parse import quote

    node.validate()
    parts = [f"{quote(k)}={quote(v, safe='*^,-?')}" for k, v in (filters or {}).items()]
    parts += [f"includefield={quote(f)}" for f in fields]
    if limit is not None:
        parts.append(f"limit={int(limit)}")
    url = f"{node.base_url}/{path}" + ("?" + "&".join(parts) if parts else "")
    with _session(node) as s:
        r = s.get(url, headers={"Accept": "application/dicom+json"}, timeout=node.timeout_s)
        r.raise_for_status()
        if r.status_code == 204 or not r.content:
            return []
        data = r.json()
    if not isinstance(data, list):
        raise PacsError(f"{node.name}: QIDO-RS answer from {url} is not a JSON list")
    return data


def test_connection(node: DicomWebNode) -> int:
    """QIDO-RS "test connection": one study search limited to one result; returns the count."""
    with _errors(node, "QIDO-RS study search"):
        return len(qido(node, "studies", limit=1))


def find_studies(node: DicomWebNode, query: StudyQuery) -> list[StudyRecord]:
    filters = query.qido_filters()
    with _errors(node, "QIDO-RS study search"):
        items = qido(node, "studies", filters, STUDY_FIELDS)
    return [StudyRecord.from_dataset(dataset_from_json(i)) for i in items]


def find_series(node: DicomWebNode, study_uid: str) -> list[SeriesRecord]:
    with _errors(node, "QIDO-RS series search"):
        items = qido(node, f"studies/{study_uid}/series", None, SERIES_FIELDS)
    return [SeriesRecord.from_dataset(dataset_from_json(i), study_uid) for i in items]


def find_instances(node: DicomWebNode, study_uid: str, series_uid: str) -> list[str]:
    with _errors(node, "QIDO-RS instance search"):
        items = qido(
            node, f"studies/{study_uid}/series/{series_uid}/instances", None, ["SOPInstanceUID"]
        )
    return [str(dataset_from_json(i).SOPInstanceUID) for i in items]


def wado_series(
    node: DicomWebNode,
    store: LocalStore,
    study_uid: str,
    series_uid: str,
    sop_uids: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
    on_instance: Callable[[str, str], None] | None = None,
) -> TransferOutcome:
    """WADO-RS: the whole series as a stream, or the listed instances one by one (resume)."""
    c = client(node)
    outcome = TransferOutcome()

    def keep(ds: Dataset) -> None:
        if cancel is not None and cancel.cancelled:
            raise TransferCancelled(
                f"WADO-RS cancelled after {len(outcome.received)} instances; they are kept"
            )
        store.write(ds)
        sop = str(ds.SOPInstanceUID)
        outcome.received.append(sop)
        if on_instance is not None:
            on_instance(series_uid, sop)

    with _errors(node, "WADO-RS retrieve"):
        if not sop_uids:
            for ds in c.iter_series(
                study_uid, series_uid, media_types=(("application/dicom", "*"),)
            ):
                keep(ds)
        else:
            for sop in sop_uids:
                if cancel is not None and cancel.cancelled:
                    raise TransferCancelled(
                        f"WADO-RS cancelled after {len(outcome.received)} instances; they are kept"
                    )
                ds = c.retrieve_instance(
                    study_uid, series_uid, sop, media_types=(("application/dicom", "*"),)
                )
                keep(ds)
    return outcome


def stow(
    node: DicomWebNode,
    items: Sequence[tuple[str, Dataset]],
    on_result: Callable[[InstanceResult], None] | None = None,
) -> list[InstanceResult]:
    """STOW-RS all items in one request; the response's Referenced/Failed SOP Sequences give a
    result per instance (PS3.18 10.5.3)."""
    if not items:
        return []
    c = client(node)
    datasets = [ds for _p, ds in items]
    with _errors(node, "STOW-RS store"):
        response = c.store_instances(datasets=datasets)
    ok_uids = {str(i.ReferencedSOPInstanceUID) for i in response.get("ReferencedSOPSequence", [])}
    failed = {
        str(i.ReferencedSOPInstanceUID): int(i.get("FailureReason", 0) or 0)
        for i in response.get("FailedSOPSequence", [])
    }
    results = []
    for path, ds in items:
        sop = str(ds.SOPInstanceUID)
        if sop in ok_uids:
            r = InstanceResult(path, sop, True, "stored")
        elif sop in failed:
            r = InstanceResult(path, sop, False, f"failure reason 0x{failed[sop]:04X}")
        else:
            r = InstanceResult(path, sop, False, "not in the STOW-RS response")
        results.append(r)
        if on_result:
            on_result(r)
    return results
