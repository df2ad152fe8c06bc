"""Retrieve studies series by series with progress, cancel, resume and retry.

Before each series the remote instance list is queried (C-FIND at IMAGE level or QIDO-RS) and
compared with what the local store already holds by SOP Instance UID: only missing instances are
requested, so a retrieve interrupted by a cancel, a crash or a lost connection resumes where it
stopped, and "retry" is simply a new retrieve of the series that did not complete.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
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

    @property
    def ok(self) -> bool:
        return not self.error and all(s.complete for s in self.series)

    def failed_series(self) -> list[SeriesProgress]:
        return [s for s in self.series if not s.complete]


ProgressCallback = Callable[[SeriesProgress], None]


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
        on_instance: Callable[[str, str], None],
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

    def retrieve(
        self,
        method: Method,
        node: DimseNode | DicomWebNode,
        study_uid: str,
        series: Sequence[SeriesRecord] | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RetrieveReport:
        """Retrieve the given series of a study (all series when None); never raises for a
        network fault: the report carries the message and which series are incomplete."""
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

        def notify(p: SeriesProgress) -> None:
            if on_progress is not None:
                on_progress(p)

        for i, p in enumerate(report.series):
            if cancel is not None and cancel.cancelled:
                for q in report.series[i:]:
                    q.status = SeriesStatus.CANCELLED
                    q.message = "cancelled before start"
                    notify(q)
                report.error = "retrieve cancelled"
                break
            p.status = SeriesStatus.RUNNING
            notify(p)
            try:
                remote = list_instances(node, self.local, study_uid, p.series_instance_uid)
                present = self.store.present(study_uid, p.series_instance_uid)
                p.total = len(remote)
                wanted = [u for u in remote if u not in present]
                p.skipped = p.total - len(wanted)
                p.done = p.skipped
                notify(p)
                if wanted:
                    lock = threading.Lock()

                    def on_instance(
                        _series: str,
                        _sop: str,
                        p: SeriesProgress = p,
                        lock: threading.Lock = lock,
                    ) -> None:
                        with lock:
                            p.received += 1
                            p.done = min(p.total or 0, p.skipped + p.received)
                        notify(p)

                    # the whole series when nothing is here yet, else only what is missing
                    sops = None if len(wanted) == len(remote) else wanted
                    outcome = self._transfer(method, node, p, sops, cancel, on_instance)
                    del outcome
                now = self.store.present(study_uid, p.series_instance_uid)
                p.missing = [u for u in remote if u not in now]
                p.done = (p.total or 0) - len(p.missing)
                if p.missing:
                    p.status = SeriesStatus.FAILED
                    p.message = (
                        f"{len(p.missing)} of {p.total} instances did not arrive; retry fetches "
                        "only those"
                    )
                else:
                    p.status = SeriesStatus.DONE
                    p.message = (
                        f"{p.received} received, {p.skipped} already present"
                        if p.skipped
                        else f"{p.received} received"
                    )
            except TransferCancelled as exc:
                p.status = SeriesStatus.CANCELLED
                p.message = str(exc)
                report.error = "retrieve cancelled; received instances are kept"
                notify(p)
                for q in report.series[i + 1 :]:
                    q.status = SeriesStatus.CANCELLED
                    q.message = "cancelled before start"
                    notify(q)
                break
            except PacsError as exc:
                p.status = SeriesStatus.FAILED
                p.message = str(exc)
                p.done = len(self.store.present(study_uid, p.series_instance_uid))
                report.error = str(exc)
                notify(p)
                for q in report.series[i + 1 :]:
                    q.status = SeriesStatus.FAILED
                    q.message = "not attempted after the error above"
                    notify(q)
                break
            notify(p)

        report.folders = sorted(
            {
                self.store.series_dir(study_uid, p.series_instance_uid)
                for p in report.series
                if p.done
            }
        )
        try:
            report.indexed = hand_to_index(report.folders, self.import_hook)
        except Exception as exc:  # noqa: BLE001 - the files are safe; say the index failed
            report.error = (report.error + "; " if report.error else "") + (
                f"retrieved files are in {self.store.root} but the study index refused them: {exc}"
            )
        return report
