"""Worklist prefetch: the studies of a reader's next cases retrieved in the background into the
managed PACS folder, within a disk budget (issue 17).

:class:`StudyCache` keeps a ledger of the studies in the folder (patient, bytes, last use) and
makes room for a new study by evicting the least recently used first, never a protected one:
a study of a patient with an open or unsigned read. :class:`Prefetcher` works through a queue of
patients in a thread of its own (their studies found by C-FIND/QIDO-RS, each retrieved by C-GET
or WADO-RS; a study already complete is only touched) and reports what it is doing through
``on_status``; :meth:`Prefetcher.fetch_now` fetches one patient at once, pausing the background
work (a study it interrupted resumes later with only its missing instances).

Qt-free: the worklist dock (``gui/worklist.py``) shows the status and drives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from namecar_viewer.pacs import (
    CancelToken,
    DicomWebNode,
    DimseNode,
    LocalAe,
    LocalStore,
    Method,
    PacsError,
    Retriever,
    RetrieveReport,
    SeriesProgress,
    StudyQuery,
    StudyRecord,
    find_studies,
)

LEDGER = ".prefetch-ledger.json"
#: bytes assumed per instance before a study's real size is known (a 512x512 CT slice)
BYTES_PER_INSTANCE_GUESS = 540_000


@dataclass
class CachedStudy:
    study_uid: str
    patient_id: str = ""
    nbytes: int = 0
    last_used: float = 0.0
    complete: bool = False
    n_instances: int | None = None


class StudyCache:
    """The managed PACS folder as a disk cache with a budget; thread-safe."""

    def __init__(
        self,
        store: LocalStore,
        budget_bytes: int,
        on_evict: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.budget = int(budget_bytes)
        self.on_evict = on_evict
        self.path = store.root / LEDGER
        self._lock = threading.RLock()
        self.studies: dict[str, CachedStudy] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            for d in data.get("studies", []):
                s = CachedStudy(**d)
                self.studies[s.study_uid] = s
        except (OSError, ValueError, TypeError):
            pass
        on_disk = set(self.store.studies())
        for uid in list(self.studies):
            if uid not in on_disk:
                del self.studies[uid]
        for uid in on_disk - set(self.studies):
            # retrieved some other way (Query/Retrieve): known by its size and age only
            d = self.store.root / uid
            self.studies[uid] = CachedStudy(
                uid, "", self.store.study_bytes(uid), d.stat().st_mtime, False
            )

    def save(self) -> None:
        with self._lock:
            data = {"studies": [asdict(s) for s in self.studies.values()]}
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def touch(
        self,
        study_uid: str,
        patient_id: str | None = None,
        complete: bool | None = None,
        n_instances: int | None = None,
    ) -> CachedStudy:
        """Mark a study used now (and record what is known of it)."""
        with self._lock:
            s = self.studies.get(study_uid) or CachedStudy(study_uid)
            if patient_id:
                s.patient_id = patient_id
            if complete is not None:
                s.complete = complete
            if n_instances is not None:
                s.n_instances = n_instances
            s.nbytes = self.store.study_bytes(study_uid)
            s.last_used = time.time()
            self.studies[study_uid] = s
        self.save()
        return s

    def used(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self.studies.values())

    def of_patient(self, patient_id: str) -> list[CachedStudy]:
        with self._lock:
            return [s for s in self.studies.values() if s.patient_id == patient_id]

    def is_complete(self, study_uid: str, n_instances: int | None) -> bool:
        with self._lock:
            s = self.studies.get(study_uid)
        if s is None or not s.complete:
            return False
        return n_instances is None or len(self.store.present(study_uid)) >= n_instances

    def make_room(
        self,
        need: int,
        protected_patients: set[str],
        protected_studies: set[str] = frozenset(),  # type: ignore[assignment]
        keep: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> tuple[bool, list[str]]:
        """Evict the least recently used studies until ``need`` more bytes fit in the budget;
        a study of a protected patient, a protected study and one in ``keep`` are never
        evicted. Returns (whether it fits now, the evicted Study Instance UIDs)."""
        evicted: list[str] = []
        with self._lock:
            used = sum(s.nbytes for s in self.studies.values())
            candidates = sorted(
                (
                    s
                    for s in self.studies.values()
                    if s.patient_id not in protected_patients
                    and s.study_uid not in protected_studies
                    and s.study_uid not in keep
                ),
                key=lambda s: s.last_used,
            )
            for s in candidates:
                if used + need <= self.budget:
                    break
                self.store.remove_study(s.study_uid)
                del self.studies[s.study_uid]
                used -= s.nbytes
                evicted.append(s.study_uid)
            fits = used + need <= self.budget
        if evicted:
            self.save()
            for uid in evicted:
                if self.on_evict is not None:
                    with contextlib.suppress(Exception):  # the files are gone; the index lags
                        self.on_evict(uid)
        return fits, evicted


@dataclass
class PrefetchStatus:
    """What the prefetcher is doing, for the status bar."""

    state: str = "idle"  # idle, fetching, done, budget full, error, stopped
    patient_id: str = ""
    study_uid: str = ""
    studies_done: int = 0
    studies_total: int = 0
    done: int = 0  # instances of the current study
    total: int = 0
    mb_per_s: float = 0.0
    seconds_left: float | None = None
    used_bytes: int = 0
    budget_bytes: int = 0
    message: str = ""
    queue: list[str] = field(default_factory=list)  # patients still to prefetch


def retrieve_method(node: DimseNode | DicomWebNode) -> Method:
    return Method.WADO_RS if isinstance(node, DicomWebNode) else Method.C_GET


class Prefetcher:
    """Background retrieval of patients' studies into a :class:`StudyCache`.

    ``protected()`` returns (patient IDs, Study Instance UIDs) that must never be evicted: the
    patients of open and unsigned reads. ``find(patient_id)`` lists a patient's studies on the
    node (default: C-FIND/QIDO-RS by Patient ID).
    """

    def __init__(
        self,
        node: DimseNode | DicomWebNode,
        local: LocalAe,
        cache: StudyCache,
        protected: Callable[[], tuple[set[str], set[str]]] = lambda: (set(), set()),
        on_status: Callable[[PrefetchStatus], None] | None = None,
        find: Callable[[str], list[StudyRecord]] | None = None,
        parallel: int = 2,
    ) -> None:
        self.node = node
        self.local = local
        self.cache = cache
        self.protected = protected
        self.on_status = on_status
        self.find = find or (lambda pid: find_studies(node, local, StudyQuery(patient_id=pid)))
        self.parallel = parallel
        self.method = retrieve_method(node)
        self.retriever = Retriever(local, cache.store)
        self._queue: list[str] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._bg_cancel = CancelToken()
        self._priority = 0  # fetch_now calls running: the background waits
        self._busy = threading.Lock()  # one retrieve at a time into the store
        self.status = PrefetchStatus(budget_bytes=cache.budget)
        self.fetched: list[str] = []  # Study Instance UIDs retrieved in the background

    # -- queue
    def set_queue(self, patient_ids: Sequence[str]) -> None:
        """Prefetch these patients in this order (replaces what was still queued)."""
        q = [p for p in dict.fromkeys(patient_ids) if p]
        with self._cv:
            self._queue = q
            self._stop = False
            self._cv.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
                self._thread.start()

    def stop(self, wait: float = 10.0) -> None:
        with self._cv:
            self._stop = True
            self._queue = []
            self._cv.notify_all()
        self._bg_cancel.cancel()
        t = self._thread
        if t is not None:
            t.join(wait)
        self.retriever.shutdown()
        self._emit(state="stopped")

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the queue is worked through (tests, the command line)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._queue or self.status.state == "fetching":
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.2))
        return True

    # -- status
    def _emit(self, **changes: Any) -> None:
        for k, v in changes.items():
            setattr(self.status, k, v)
        self.status.used_bytes = self.cache.used()
        with self._cv:
            self.status.queue = list(self._queue)
            self._cv.notify_all()
        if self.on_status is not None:
            self.on_status(PrefetchStatus(**asdict(self.status)))

    # -- work
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._queue or self._priority):
                    if not self._queue and self.status.state == "fetching":
                        break
                    self._cv.wait(0.5)
                if self._stop:
                    return
                pid = self._queue.pop(0) if self._queue else ""
            if not pid:
                self._emit(state="done", message="")
                with self._cv:
                    while not self._stop and not self._queue:
                        self._cv.wait(0.5)
                continue
            try:
                ok = self._fetch_patient(pid, self._bg_cancel, None, background=True)
            except PacsError as exc:
                self._emit(state="error", patient_id=pid, message=str(exc))
                continue
            if not ok:
                with self._cv:
                    if self._bg_cancel.cancelled and not self._stop:
                        # paused by fetch_now: this patient again once it is done
                        self._queue.insert(0, pid)
                        self._bg_cancel.reset()
                    elif self.status.state == "budget full":
                        self._queue.insert(0, pid)
                        self._cv.wait(5.0)  # a study may have been signed or closed since

    def _fetch_patient(
        self,
        pid: str,
        cancel: CancelToken,
        on_progress: Callable[[SeriesProgress], None] | None,
        background: bool,
        on_study: Callable[[RetrieveReport], None] | None = None,
    ) -> bool:
        """Every study of one patient; False when stopped early (cancel or budget)."""
        studies = self.find(pid)
        self._emit(
            state="fetching",
            patient_id=pid,
            studies_total=len(studies),
            studies_done=0,
            done=0,
            total=0,
            message="",
        )
        for i, st in enumerate(studies):
            if cancel.cancelled:
                return False
            uid = st.study_instance_uid
            if self.cache.is_complete(uid, st.n_instances):
                self.cache.touch(uid, pid)
                self._emit(studies_done=i + 1)
                if on_study is not None:
                    rep = RetrieveReport(self.method, [])
                    rep.folders = sorted(
                        p for p in (self.cache.store.root / uid).iterdir() if p.is_dir()
                    )
                    on_study(rep)
                continue
            need = max(0, (st.n_instances or 0) * BYTES_PER_INSTANCE_GUESS)
            need -= self.cache.store.study_bytes(uid)
            pats, studs = self.protected()
            fits, _evicted = self.cache.make_room(need, pats | {pid}, studs, keep={uid})
            if not fits:
                self._emit(
                    state="budget full",
                    study_uid=uid,
                    message=(
                        f"disk budget of {self.cache.budget / 1e9:.1f} GB full: what is kept "
                        "belongs to open or unsigned reads"
                    ),
                )
                return False
            t0 = time.monotonic()
            series: dict[str, SeriesProgress] = {}

            def progress(
                p: SeriesProgress,
                t0: float = t0,
                series: dict[str, SeriesProgress] = series,
                uid: str = uid,
            ) -> None:
                series[p.series_instance_uid] = p
                done = sum(s.done for s in series.values())
                total = sum(s.total or 0 for s in series.values())
                got = sum(s.received for s in series.values())
                dt = max(time.monotonic() - t0, 1e-6)
                left = dt / got * (total - done) if got and total > done else None
                self._emit(
                    study_uid=uid,
                    done=done,
                    total=total,
                    mb_per_s=sum(s.nbytes for s in series.values()) / dt / 1e6,
                    seconds_left=left,
                )
                if on_progress is not None:
                    on_progress(p)

            with self._busy:
                self.cache.touch(uid, pid, complete=False, n_instances=st.n_instances)
                rep = self.retriever.retrieve(
                    self.method,
                    self.node,
                    uid,
                    cancel=cancel,
                    on_progress=progress,
                    parallel=self.parallel,
                )
            self.cache.touch(uid, pid, complete=rep.ok, n_instances=st.n_instances)
            if background and rep.received:
                self.fetched.append(uid)
            if on_study is not None:
                on_study(rep)
            if not rep.ok:
                if cancel.cancelled:
                    return False
                raise PacsError(rep.error or f"study {uid} incomplete")
            self._emit(studies_done=i + 1)
            # over budget now that the real size is known: make room again (never this one)
            pats, studs = self.protected()
            self.cache.make_room(0, pats | {pid}, studs, keep={uid})
        return True

    def fetch_now(
        self,
        patient_id: str,
        on_progress: Callable[[SeriesProgress], None] | None = None,
        cancel: CancelToken | None = None,
        on_study: Callable[[RetrieveReport], None] | None = None,
    ) -> bool:
        """Fetch one patient's studies now (the reader opens the case): the background pauses
        (its current study resumes later) and this runs in the caller's thread."""
        with self._cv:
            self._priority += 1
            self._queue = [p for p in self._queue if p != patient_id]
        self._bg_cancel.cancel()
        try:
            return self._fetch_patient(
                patient_id, cancel or CancelToken(), on_progress, False, on_study
            )
        finally:
            with self._cv:
                self._priority -= 1
                self._cv.notify_all()

    def local_folders(self, patient_id: str) -> list[Path]:
        """Series folders of a patient's complete studies in the cache."""
        out: list[Path] = []
        for s in self.cache.of_patient(patient_id):
            if s.complete:
                d = self.cache.store.root / s.study_uid
                out.extend(sorted(p for p in d.iterdir() if p.is_dir()) if d.is_dir() else [])
        return out
