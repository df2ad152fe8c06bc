"""Retrieve studies series by series with progress, cancel, resume and retry.

A bounded number of series are retrieved at once (``parallel``, each on its own connection or
association). A series of which nothing is local yet is asked for whole, its count checked
against the series query's; when some of it is already local, the remote instance list is
queried (C-FIND at IMAGE level or QIDO-RS) and compared with what the store holds by SOP
Instance UID: only missing instances are requested, so a retrieve interrupted by a cancel, a
crash or a lost connection resumes where it stopped, and "retry" is simply a new retrieve of the
series that did not complete. Instances become durable and visible at the end of their series
(or of the interrupted part of it), see :class:`~namecar_viewer.pacs.local_store.SeriesWriter`.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from namecar_viewer.pacs import dimse, web
from namecar_viewer.pacs.dimse import CancelToken, StoreReceiver, TransferOutcome
from namecar_viewer.pacs.errors import PacsError, TransferCancelled
from namecar_viewer.pacs.local_store import ImportHook, LocalStore, hand_to_index
from namecar_viewer.pacs.nodes import DicomWebNode, DimseNode, LocalAe
from namecar_viewer.pacs.query import SeriesRecord, instance_identifier, series_identifier


class Method(enum.Enum):
    C_GET = "C-GET"
    C_MOVE = "C-MOVE"
    WADO_RS = "WADO-RS"


class SeriesStatus(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class SeriesProgress:
    """Progress of one series; ``done`` counts instances present locally (received or kept)."""

    study_instance_uid: str
    series_instance_uid: str
    description: str = ""
    total: int | None = None
    done: int = 0
    received: int = 0
    skipped: int = 0
    missing: list[str] = field(default_factory=list)
    status: SeriesStatus = SeriesStatus.PENDING
    message: str = ""
    nbytes: int = 0  # bytes received
    started: float | None = None  # time.monotonic() when the transfer started
    finished: float | None = None

    @property
    def complete(self) -> bool:
        return self.status is SeriesStatus.DONE


@dataclass
class RetrieveReport:
    method: Method
    series: list[SeriesProgress]
    error: str = ""
    folders: list[Path] = field(default_factory=list)
    indexed: Any = None
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def received(self) -> int:
        return sum(s.received for s in self.series)

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.series)

    @property
    def ok(self) -> bool:
        return not self.error and all(s.complete for s in self.series)

    def failed_series(self) -> list[SeriesProgress]:
        return [s for s in self.series if not s.complete]


ProgressCallback = Callable[[SeriesProgress], None]
#: Series retrieved at once by default (each on its own connection or association)
PARALLEL_SERIES = 3


def list_series(
    node: DimseNode | DicomWebNode, local: LocalAe, study_uid: str
) -> list[SeriesRecord]:
    if isinstance(node, DicomWebNode):
        return web.find_series(node, study_uid)
    return [
        SeriesRecord.from_dataset(d, study_uid)
        for d in dimse.find(node, local, series_identifier(study_uid))
    ]


def list_instances(
    node: DimseNode | DicomWebNode, local: LocalAe, study_uid: str, series_uid: str
) -> list[str]:
    if isinstance(node, DicomWebNode):
        return web.find_instances(node, study_uid, series_uid)
    return [
        str(d.SOPInstanceUID)
        for d in dimse.find(node, local, instance_identifier(study_uid, series_uid))
        if "SOPInstanceUID" in d
    ]


class Retriever:
    """Runs retrieves into one local store; thread-safe progress callbacks, one cancel token."""

    def __init__(
        self,
        local: LocalAe,
        store: LocalStore,
        import_hook: ImportHook | None = None,
        receiver: StoreReceiver | None = None,
    ) -> None:
        self.local = local
        self.store = store
        self.import_hook = import_hook
        self._receiver = receiver
        self._lock = threading.Lock()

    @property
    def receiver(self) -> StoreReceiver:
        with self._lock:
            if self._receiver is None:
                self._receiver = StoreReceiver(self.local, self.store)
            self._receiver.store = self.store
            return self._receiver

    def shutdown(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()

    def _transfer(
        self,
        method: Method,
        node: DimseNode | DicomWebNode,
        p: SeriesProgress,
        sops: list[str] | None,
        cancel: CancelToken | None,
        on_instance: Callable[[str, str, int], None],
    ) -> TransferOutcome:
        args = (p.study_instance_uid, p.series_instance_uid)
        if method is Method.WADO_RS:
            if not isinstance(node, DicomWebNode):
                raise PacsError(f"WADO-RS needs a DICOMweb node, {node.name!r} is a DIMSE node")
            return web.wado_series(node, self.store, *args, sops, cancel, on_instance)
        if not isinstance(node, DimseNode):
            raise PacsError(f"{method.value} needs a DIMSE node, {node.name!r} is a DICOMweb node")
        if method is Method.C_GET:
            return dimse.c_get(node, self.local, self.store, *args, sops, cancel, on_instance)
        return dimse.c_move(node, self.local, self.receiver, *args, sops, cancel, on_instance)

    def _one_series(
        self,
        method: Method,
        node: DimseNode | DicomWebNode,
        p: SeriesProgress,
        cancel: CancelToken | None,
        notify: Callable[[SeriesProgress], None],
    ) -> None:
        """Retrieve one series (what is missing of it); raises TransferCancelled/PacsError."""
        study_uid, series_uid = p.study_instance_uid, p.series_instance_uid
        p.status = SeriesStatus.RUNNING
        p.started = time.monotonic()
        notify(p)
        present = self.store.present(study_uid, series_uid)
        remote: list[str] | None = None
        if present or not p.total:
            # something is here already (or the count is unknown): ask only for the rest
            remote = list_instances(node, self.local, study_uid, series_uid)
            p.total = len(remote)
            wanted = [u for u in remote if u not in present]
        else:
            wanted = []
        p.skipped = len(present) if remote is None else (p.total or 0) - len(wanted)
        p.done = p.skipped
        notify(p)
        lock = threading.Lock()

        def on_instance(_series: str, _sop: str, nbytes: int) -> None:
            with lock:
                p.received += 1
                p.nbytes += nbytes
                p.done = min(p.total or 0, p.skipped + p.received) if p.total else p.received
            notify(p)

        if remote is None or wanted:
            # the whole series when nothing is here yet, else only what is missing
            sops = None if remote is None or len(wanted) == len(remote) else wanted
            self._transfer(method, node, p, sops, cancel, on_instance)
        now = self.store.present(study_uid, series_uid)
        if remote is None and p.total is not None and len(now) < p.total:
            # fewer than the series query said: which ones is worth a query now
            remote = list_instances(node, self.local, study_uid, series_uid)
            p.total = len(remote)
        if remote is None:
            p.missing = []
            p.total = max(p.total or 0, len(now))
        else:
            p.missing = [u for u in remote if u not in now]
        p.done = (p.total or 0) - len(p.missing)
        p.finished = time.monotonic()
        if p.missing:
            p.status = SeriesStatus.FAILED
            p.message = (
                f"{len(p.missing)} of {p.total} instances did not arrive; retry fetches only those"
            )
        else:
            p.status = SeriesStatus.DONE
            p.message = (
                f"{p.received} received, {p.skipped} already present"
                if p.skipped
                else f"{p.received} received"
            )

    def retrieve(
        self,
        method: Method,
        node: DimseNode | DicomWebNode,
        study_uid: str,
        series: Sequence[SeriesRecord] | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
        parallel: int | None = None,
    ) -> RetrieveReport:
        """Retrieve the given series of a study (all series when None), ``parallel`` series at
        a time; never raises for a network fault: the report carries the message and which
        series are incomplete."""
        t0 = time.monotonic()
        self.store.clean_partials()
        report = RetrieveReport(method, [])
        try:
            records = (
                list(series) if series is not None else list_series(node, self.local, study_uid)
            )
        except PacsError as exc:
            report.error = str(exc)
            return report
        report.series = [
            SeriesProgress(study_uid, r.series_instance_uid, r.series_description, r.n_instances)
            for r in records
        ]
        n_par = max(1, parallel if parallel is not None else PARALLEL_SERIES)
        stop = threading.Event()  # after an error or a cancel: start no further series
        errors: list[tuple[int, BaseException]] = []
        err_lock = threading.Lock()

        def notify(p: SeriesProgress) -> None:
            if on_progress is not None:
                on_progress(p)

        def run(i: int, p: SeriesProgress) -> None:
            if stop.is_set() or (cancel is not None and cancel.cancelled):
                return
            try:
                self._one_series(method, node, p, cancel, notify)
            except TransferCancelled as exc:
                p.status = SeriesStatus.CANCELLED
                p.message = str(exc)
                stop.set()
                with err_lock:
                    errors.append((i, exc))
            except PacsError as exc:
                p.status = SeriesStatus.FAILED
                p.message = str(exc)
                stop.set()
                with err_lock:
                    errors.append((i, exc))
            if p.status in (SeriesStatus.CANCELLED, SeriesStatus.FAILED):
                p.finished = time.monotonic()
                p.done = len(self.store.present(study_uid, p.series_instance_uid))
            notify(p)

        for p in report.series:
            notify(p)  # every series known (pending) before the first starts
        if n_par == 1 or len(report.series) == 1:
            for i, p in enumerate(report.series):
                run(i, p)
        else:
            with ThreadPoolExecutor(max_workers=n_par, thread_name_prefix="retrieve") as pool:
                for f in [pool.submit(run, i, p) for i, p in enumerate(report.series)]:
                    f.result()

        cancelled = (cancel is not None and cancel.cancelled) or any(
            isinstance(e, TransferCancelled) for _i, e in errors
        )
        report.cancelled = cancelled
        failures = sorted((i, e) for i, e in errors if not isinstance(e, TransferCancelled))
        for p in report.series:
            if p.status is SeriesStatus.PENDING:
                if cancelled:
                    p.status = SeriesStatus.CANCELLED
                    p.message = "cancelled before start"
                else:
                    p.status = SeriesStatus.FAILED
                    p.message = "not attempted after the error above"
                notify(p)
        if failures:
            report.error = str(failures[0][1])
        elif cancelled:
            report.error = "retrieve cancelled; received instances are kept"

        report.folders = sorted(
            {
                self.store.series_dir(study_uid, p.series_instance_uid)
                for p in report.series
                if p.done
            }
        )
        report.seconds = time.monotonic() - t0
        try:
            report.indexed = hand_to_index(report.folders, self.import_hook)
        except Exception as exc:  # noqa: BLE001 - the files are safe; say the index failed
            report.error = (report.error + "; " if report.error else "") + (
                f"retrieved files are in {self.store.root} but the study index refused them: {exc}"
            )
        return report
