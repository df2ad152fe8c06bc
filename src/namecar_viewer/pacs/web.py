"""DICOMweb with dicomweb-client: QIDO-RS search, WADO-RS retrieve and STOW-RS store (PS3.18)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.pacs.dimse import CancelToken, InstanceResult, TransferOutcome
from namecar_viewer.pacs.errors import PacsError, TransferCancelled
from namecar_viewer.pacs.local_store import LocalStore, NotPart10, read_part10_meta
from namecar_viewer.pacs.local_store import SeriesWriter as LocalStoreWriter
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
    import http.client

    import requests
    import urllib3

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
    except (
        urllib3.exceptions.HTTPError,
        requests.RequestException,
        http.client.HTTPException,
        ConnectionError,
        TimeoutError,
    ) as exc:
        raise PacsError(
            f"{node.name}: connection to {node.base_url} lost during {what}: "
            f"{exc.__class__.__name__}; what arrived is kept and a new retrieve fetches the rest"
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


WADO_CHUNK = 1 << 20  # bytes read from the response at a time
WADO_INSTANCE_THREADS = 4  # concurrent single-instance requests when resuming
_MAX_PART_HEADERS = 16384
_MAX_META = 1 << 16


def _boundary(content_type: str) -> bytes:
    """The multipart boundary of a Content-Type header value (PS3.18 8.6.1.2, RFC 2046)."""
    for param in content_type.split(";")[1:]:
        k, _, v = param.strip().partition("=")
        if k.strip().lower() == "boundary":
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = v[1:-1]
            if v:
                return v.encode("latin-1")
    raise PacsError(f"WADO-RS answer is not multipart (Content-Type {content_type!r})")


def _accept(ts: str) -> str:
    return f'multipart/related; type="application/dicom"; transfer-syntax={ts}'


class _Reader:
    """A response body read in large chunks with a small look-ahead buffer."""

    def __init__(self, raw: Any, cancel: CancelToken | None, what: str) -> None:
        self.raw = raw
        self.buf = bytearray()
        self.eof = False
        self.cancel = cancel
        self.what = what
        # the body read straight from the socket into one reused buffer when the HTTP
        # response underneath allows it (http.client's readinto; identity encoding asked):
        # no allocation and no extra copy per chunk
        fp = getattr(raw, "_fp", None)
        self._readinto = getattr(fp, "readinto", None) if fp is not None else None
        self._chunk = bytearray(WADO_CHUNK)

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise TransferCancelled(f"{self.what} cancelled")

    def read_chunk(self, n: int = WADO_CHUNK) -> bytes:
        self._check_cancel()
        if self._readinto is not None:  # every read from the same layer
            data: bytes = self.raw._fp.read(n)
        else:
            data = self.raw.read(n, decode_content=True)
        if not data:
            self.eof = True
        return data

    def read_view(self, n: int = WADO_CHUNK) -> bytes | memoryview:
        """Up to ``n`` bytes of the body, valid until the next read (empty at its end)."""
        if self._readinto is None:
            return self.read_chunk(n)
        self._check_cancel()
        mv = memoryview(self._chunk)[: min(n, len(self._chunk))]
        k = self._readinto(mv)
        if not k:
            self.eof = True
            return b""
        return mv[:k]

    def fill(self, n: int = 1 << 16) -> bool:
        """More bytes into the buffer (small reads: the bodies are read by read_chunk, straight
        to their files); False at the end of the body."""
        if self.eof:
            return False
        data = self.read_chunk(n)
        if not data:
            return False
        self.buf += data
        return True

    def find(self, needle: bytes, start: int = 0, limit: int | None = None) -> int:
        """Index of ``needle`` in the buffer, reading as needed; -1 at the end of the body."""
        while True:
            i = self.buf.find(needle, start)
            if i >= 0:
                return i
            if limit is not None and len(self.buf) > limit:
                raise PacsError(f"{self.what}: malformed multipart answer (no {needle!r})")
            start = max(0, len(self.buf) - len(needle) + 1)
            if not self.fill():
                return -1


def _part_headers(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip().lower()] = v.strip()
    return out


def _finish_non_part10(writer: LocalStoreWriter, f: Any, ts: str) -> str:
    """A part that is a bare data set (no File Meta Information): add one; returns its SOP."""
    from pydicom import dcmread
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    f.flush()
    f.seek(0)
    fm = FileMetaDataset()
    fm.TransferSyntaxUID = ts if ts and ts != "*" else ExplicitVRLittleEndian
    ds = dcmread(f, force=True)
    ds.file_meta = fm
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    f.seek(0)
    f.truncate()
    ds.save_as(f, enforce_file_format=True)
    return str(ds.SOPInstanceUID)


class _PartSink:
    """One part's bytes to its file; the first bytes parsed for the File Meta Information."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.head = bytearray()
        self.meta: Any = None
        self.not_part10 = False
        self.size = 0

    def take(self, data: bytes | bytearray | memoryview) -> None:
        if self.meta is None and not self.not_part10:
            self.head.extend(data[: _MAX_META - len(self.head)])
            try:
                self.meta = read_part10_meta(self.head)
            except NotPart10:
                self.not_part10 = True
            if self.meta is None and len(self.head) >= _MAX_META:
                self.not_part10 = True
        self.f.write(data)
        self.size += len(data)


def stream_multipart(
    raw: Any,
    content_type: str,
    writer: LocalStoreWriter,
    on_instance: Callable[[str, int], None] | None = None,
    cancel: CancelToken | None = None,
    what: str = "WADO-RS",
) -> int:
    """Write each part of a multipart/related application/dicom body to its own file in
    ``writer`` as the bytes arrive (the Part 10 bytes as sent, never decoded; only the File
    Meta Information is parsed, for the SOP Instance UID). Returns the number of parts."""
    boundary = _boundary(content_type)
    ts_default = ""
    for param in content_type.split(";")[1:]:
        k, _, v = param.strip().partition("=")
        if k.strip().lower() == "transfer-syntax":
            ts_default = v.strip().strip('"')
    r = _Reader(raw, cancel, what)
    delim = b"--" + boundary
    crlf_delim = b"\r\n" + delim
    i = r.find(delim, 0, limit=_MAX_PART_HEADERS)
    if i < 0:
        raise PacsError(f"{what}: empty or malformed multipart answer")
    del r.buf[: i + len(delim)]
    n = 0
    while True:
        while len(r.buf) < 2 and r.fill():
            pass
        if r.buf[:2] == b"--" or (not r.buf and r.eof):
            return n  # close delimiter (or a body cut right after a delimiter)
        h = r.find(b"\r\n\r\n", 0, limit=_MAX_PART_HEADERS)
        if h < 0:
            raise PacsError(f"{what}: the answer ended inside the headers of part {n + 1}")
        headers = _part_headers(bytes(r.buf[:h]))
        del r.buf[: h + 4]
        part_ts = ts_default
        for param in headers.get("content-type", "").split(";")[1:]:
            k, _, v = param.strip().partition("=")
            if k.strip().lower() == "transfer-syntax":
                part_ts = v.strip().strip('"')
        length = headers.get("content-length")
        sink = _PartSink(writer.open_part())
        take = sink.take
        f = sink.f
        try:
            if length is not None and length.isdigit():
                remaining = int(length)
                if r.buf:
                    k = min(len(r.buf), remaining)
                    with memoryview(r.buf) as mv:
                        take(mv[:k])
                    del r.buf[:k]
                    remaining -= k
                while remaining:
                    data = r.read_view(min(WADO_CHUNK, remaining))
                    if not data:
                        raise PacsError(
                            f"{what}: the connection closed inside part {n + 1} "
                            f"({remaining} bytes missing)"
                        )
                    take(data)
                    remaining -= len(data)
                j = r.find(delim, 0, limit=_MAX_PART_HEADERS)
                if j < 0:
                    raise PacsError(f"{what}: no boundary after part {n + 1}")
                del r.buf[: j + len(delim)]
            else:
                while True:
                    j = r.buf.find(crlf_delim)
                    if j >= 0:
                        with memoryview(r.buf) as mv:
                            take(mv[:j])
                        del r.buf[: j + len(crlf_delim)]
                        break
                    keep = len(crlf_delim)
                    if len(r.buf) > keep:
                        with memoryview(r.buf) as mv:
                            take(mv[: len(r.buf) - keep])
                        del r.buf[: len(r.buf) - keep]
                    if not r.fill():
                        raise PacsError(f"{what}: the answer ended inside part {n + 1}")
            if sink.not_part10:
                sop = _finish_non_part10(writer, f, part_ts)
            elif sink.meta is None:
                raise PacsError(f"{what}: part {n + 1} is too short to be a DICOM file")
            else:
                sop = sink.meta.sop_instance_uid
        except BaseException:
            writer.abort_part(f)
            raise
        writer.finish_part(f, sop)
        n += 1
        if on_instance is not None:
            on_instance(sop, sink.size)


def _wado_get(
    s: Any,
    node: DicomWebNode,
    url: str,
    writer: LocalStoreWriter,
    on_instance: Callable[[str, int], None] | None,
    cancel: CancelToken | None,
) -> int:
    """One WADO-RS GET streamed into ``writer``; asks for the node's transfer syntax and falls
    back to the stored one when the server cannot provide it (400/406/415)."""
    wanted = node.transfer_syntax_uid
    for ts in (wanted, "*") if wanted != "*" else ("*",):
        r = s.get(
            url,
            headers={"Accept": _accept(ts), "Accept-Encoding": "identity"},
            stream=True,
            timeout=(min(node.timeout_s, 10), node.timeout_s),
        )
        try:
            if r.status_code in (400, 406, 415) and ts != "*":
                continue
            r.raise_for_status()
            return stream_multipart(
                r.raw, r.headers.get("Content-Type", ""), writer, on_instance, cancel
            )
        finally:
            r.close()
    return 0


def wado_series(
    node: DicomWebNode,
    store: LocalStore,
    study_uid: str,
    series_uid: str,
    sop_uids: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
    on_instance: Callable[[str, str, int], None] | None = None,
    threads: int = WADO_INSTANCE_THREADS,
) -> TransferOutcome:
    """WADO-RS: the whole series as one multipart stream, or only the listed instances (a
    resume: one request each, ``threads`` at a time), each instance written to its file as it
    arrives; what arrived is made durable at the end (also after a cancel or an error)."""
    node.validate()
    outcome = TransferOutcome()
    writer = store.writer(study_uid, series_uid)
    lock = threading.Lock()

    def got(sop: str, nbytes: int) -> None:
        with lock:
            outcome.received.append(sop)
            outcome.nbytes += nbytes
        if on_instance is not None:
            on_instance(series_uid, sop, nbytes)

    base = f"{node.base_url}/studies/{study_uid}/series/{series_uid}"
    try:
        with _errors(node, "WADO-RS retrieve"), _session(node) as s:
            if not sop_uids:
                _wado_get(s, node, base, writer, got, cancel)
            else:
                import requests

                adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(threads, 1))
                s.mount("http://", adapter)
                s.mount("https://", adapter)
                todo = list(sop_uids)
                errors: list[BaseException] = []

                def work() -> None:
                    while not errors:
                        with lock:
                            if not todo:
                                return
                            sop = todo.pop(0)
                        try:
                            _wado_get(s, node, f"{base}/instances/{sop}", writer, got, cancel)
                        except BaseException as exc:  # noqa: BLE001 - re-raised below
                            errors.append(exc)
                            return

                workers = [threading.Thread(target=work) for _ in range(max(1, threads))]
                for t in workers:
                    t.start()
                for t in workers:
                    t.join()
                if errors:
                    raise errors[0]
    finally:
        writer.commit()
        writer.discard()
    return outcome


DEID_BATCH_BYTES = 8 << 20  # a STOW-RS batch of de-identified copies (encoded in memory)


class _StowBody:
    """A STOW-RS multipart body of known length, produced chunk by chunk: files are read from
    disk as the request is sent, de-identified copies are encoded one at a time."""

    def __init__(self, parts: list[tuple[Any, bytes | None]], boundary: str) -> None:
        self.parts = parts  # (item, encoded bytes or None = the file itself)
        self.boundary = boundary.encode("ascii")
        self.head = b"--" + self.boundary + b"\r\nContent-Type: application/dicom\r\n\r\n"
        self.tail = b"--" + self.boundary + b"--\r\n"
        self.length = sum(
            len(self.head) + (len(b) if b is not None else it.size) + 2 for it, b in parts
        ) + len(self.tail)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        for it, encoded in self.parts:
            yield self.head
            if encoded is not None:
                yield encoded
            else:
                with open(it.path, "rb") as f:
                    while chunk := f.read(WADO_CHUNK):
                        yield chunk
            yield b"\r\n"
        yield self.tail


def _encode(ds: Dataset) -> bytes:
    import io

    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def stow_items(
    node: DicomWebNode,
    items: Sequence[Any],
    stream: Iterator[tuple[Any, Dataset | None]],
    cancel: CancelToken | None = None,
    on_result: Callable[[InstanceResult], None] | None = None,
    requests_at_once: int = 3,
    batch_files: int = 50,
    batch_bytes: int = 32 << 20,
) -> list[InstanceResult]:
    """STOW-RS in batches of at most ``batch_files`` instances / ``batch_bytes`` bytes,
    ``requests_at_once`` requests in flight; the response's Referenced/Failed SOP Sequences give
    a result per instance (PS3.18 10.5.3). Results come back in the order of ``items``."""
    import uuid

    if not items:
        return []
    node.validate()
    results: list[tuple[int, InstanceResult]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    slots = threading.Semaphore(max(1, requests_at_once))
    threads: list[threading.Thread] = []
    url = f"{node.base_url}/studies"

    def post(batch: list[tuple[Any, bytes | None]]) -> None:
        try:
            boundary = uuid.uuid4().hex
            body = _StowBody(batch, boundary)
            with _errors(node, "STOW-RS store"), _session(node) as s:
                r = s.post(
                    url,
                    data=body,
                    headers={
                        "Content-Type": (
                            f'multipart/related; type="application/dicom"; boundary={boundary}'
                        ),
                        "Accept": "application/dicom+json",
                        "Content-Length": str(len(body)),
                    },
                    timeout=(min(node.timeout_s, 10), node.timeout_s),
                )
                if r.status_code not in (200, 202, 409):
                    r.raise_for_status()
                data = r.json() if r.content else {}
            response = Dataset.from_json(data) if isinstance(data, dict) else Dataset()
            ok_uids = {
                str(i.ReferencedSOPInstanceUID) for i in response.get("ReferencedSOPSequence", [])
            }
            failed = {
                str(i.ReferencedSOPInstanceUID): int(i.get("FailureReason", 0) or 0)
                for i in response.get("FailedSOPSequence", [])
            }
            for it, _b in batch:
                sop = it.sop_instance_uid if _b is None else _sop_of(_b, it)
                if sop in ok_uids:
                    res = InstanceResult(it.path, sop, True, "stored")
                elif sop in failed:
                    res = InstanceResult(it.path, sop, False, f"failure reason 0x{failed[sop]:04X}")
                else:
                    res = InstanceResult(it.path, sop, False, "not in the STOW-RS response")
                with lock:
                    results.append((it.index, res))
                if on_result:
                    on_result(res)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            with lock:
                errors.append(exc)
        finally:
            slots.release()

    def submit(batch: list[tuple[Any, bytes | None]]) -> None:
        slots.acquire()
        t = threading.Thread(target=post, args=(batch,), name="stow", daemon=True)
        threads.append(t)
        t.start()

    batch: list[tuple[Any, bytes | None]] = []
    size = 0
    for it, ds in stream:
        if errors or (cancel is not None and cancel.cancelled):
            break
        encoded = _encode(ds) if ds is not None else None
        n = len(encoded) if encoded is not None else it.size
        # de-identified copies are held in memory until their request is sent: smaller batches
        limit = batch_bytes if encoded is None else min(batch_bytes, DEID_BATCH_BYTES)
        if batch and (len(batch) >= batch_files or size + n > limit):
            submit(batch)
            batch, size = [], 0
        batch.append((it, encoded))
        size += n
    if batch and not errors and not (cancel is not None and cancel.cancelled):
        submit(batch)
    for t in threads:
        t.join()
    done = [r for _i, r in sorted(results, key=lambda x: x[0])]
    if errors:
        errors[0].results = done  # type: ignore[attr-defined]
        raise errors[0]
    if cancel is not None and cancel.cancelled:
        exc = TransferCancelled(f"send cancelled after {sum(r.ok for r in done)} instances")
        exc.results = done  # type: ignore[attr-defined]
        raise exc
    return done


def _sop_of(encoded: bytes, it: Any) -> str:
    """The SOP Instance UID of an encoded (de-identified) copy, from its File Meta."""
    try:
        meta = read_part10_meta(encoded[:65536])
    except NotPart10:
        meta = None
    return meta.sop_instance_uid if meta is not None else str(it.sop_instance_uid)
