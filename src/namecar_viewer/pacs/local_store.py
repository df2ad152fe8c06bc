"""Where retrieved instances land: one file per SOP Instance UID, written atomically.

Layout: ``ROOT/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``. A file appears
only once it is complete (written to a temporary name, flushed, then renamed), so an interrupted
transfer leaves whole instances and nothing half-written; a retrieve started again skips every
SOP Instance UID already present, which makes a partial study resumable.

Retrievals write through a :class:`SeriesWriter`: each received instance goes to a temporary
file as its bytes arrive (no per-file fsync), and :meth:`SeriesWriter.commit` makes the batch
durable at once (the files' data flushed, renamed into place, one fsync of the folder). A crash
before the commit loses only that batch's temporary files, which the next retrieve removes and
fetches again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from namecar_viewer.pacs.errors import PacsError

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")

#: Called with every folder of completed instances, to hand them to the study index.
ImportHook = Callable[[list[Path]], Any]


def _safe_uid(uid: str, what: str) -> str:
    u = str(uid).strip().rstrip("\x00")
    if not _UID_RE.match(u) or len(u) > 64:
        raise PacsError(f"received an instance with an invalid {what} {uid!r}")
    return u


@dataclass(frozen=True)
class Part10Meta:
    """What the File Meta Information of a Part 10 file says (PS3.10 7.1)."""

    end: int  # offset of the data set after the meta group
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str


_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV", b"SV"}
_LONG_VRS |= {b"UV"}


class NotPart10(ValueError):
    """The bytes are not a DICOM Part 10 file (no preamble and DICM prefix)."""


def read_part10_meta(head: bytes | bytearray | memoryview) -> Part10Meta | None:
    """Parse the File Meta Information at the start of ``head`` without pydicom; None when more
    bytes are needed, :class:`NotPart10` when it is not a Part 10 file."""
    b = bytes(head[:132]) if len(head) >= 132 else b""
    if not b:
        return None
    if b[128:132] != b"DICM":
        raise NotPart10("no DICM prefix at offset 128")
    values: dict[int, bytes] = {}
    off = 132
    n = len(head)
    while True:
        if off + 8 > n:
            return None
        group, elem = struct.unpack_from("<HH", head, off)
        if group != 0x0002:
            break
        vr = bytes(head[off + 4 : off + 6])
        if vr in _LONG_VRS:
            if off + 12 > n:
                return None
            (length,) = struct.unpack_from("<I", head, off + 8)
            start = off + 12
        else:
            (length,) = struct.unpack_from("<H", head, off + 6)
            start = off + 8
        if length == 0xFFFFFFFF or start + length > n:
            if length == 0xFFFFFFFF:
                raise NotPart10("undefined length in the File Meta Information")
            return None
        values[elem] = bytes(head[start : start + length])
        off = start + length
        if len(values) > 64:
            raise NotPart10("File Meta Information too long")

    def text(e: int) -> str:
        return values.get(e, b"").decode("ascii", "replace").strip(" \x00")

    return Part10Meta(off, text(0x0002), text(0x0003), text(0x0010))


def _element(tag_elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", 2, tag_elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, tag_elem, vr, len(value)) + value


#: our implementation's identity in the File Meta of the files we write
IMPLEMENTATION_CLASS_UID = str(PYDICOM_IMPLEMENTATION_UID)
IMPLEMENTATION_VERSION = b"NAMECAR_VIEWER"


def part10_prefix(sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str) -> bytes:
    """Preamble, DICM prefix and File Meta Information (PS3.10 7.1) for a data set received
    over the network, encoded directly (no pydicom round trip)."""
    body = b"".join(
        (
            _element(0x0001, b"OB", b"\x00\x01"),
            _element(0x0002, b"UI", sop_class_uid.encode("ascii")),
            _element(0x0003, b"UI", sop_instance_uid.encode("ascii")),
            _element(0x0010, b"UI", transfer_syntax_uid.encode("ascii")),
            _element(0x0012, b"UI", IMPLEMENTATION_CLASS_UID.encode("ascii")),
            _element(0x0013, b"SH", IMPLEMENTATION_VERSION),
        )
    )
    return b"\x00" * 128 + b"DICM" + _element(0x0000, b"UL", struct.pack("<I", len(body))) + body


def _flush_data(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        (getattr(os, "fdatasync", None) or os.fsync)(fd)
    finally:
        os.close(fd)


_syncfs_fn: Any = None


def _syncfs(folder: Path) -> bool:
    """Flush the whole file system holding ``folder`` in one call (Linux ``syncfs``): one
    journal commit for a batch of files instead of one per file. False where unavailable."""
    global _syncfs_fn
    if not sys.platform.startswith("linux"):
        return False
    if _syncfs_fn is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.syncfs
            fn.argtypes = [ctypes.c_int]
            fn.restype = ctypes.c_int
            _syncfs_fn = fn
        except (OSError, AttributeError):
            _syncfs_fn = False
    if not _syncfs_fn:
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return bool(_syncfs_fn(fd) == 0)
    finally:
        os.close(fd)


_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writing the range's dirty pages, do not wait
_sync_file_range_fn: Any = None


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing this file's data to disk now, without waiting (Linux
    ``sync_file_range``), keeping it in the page cache for the viewer that reads it next.

    Otherwise a retrieve's data stays dirty in memory (far below the kernel's background
    threshold on a workstation) until ``commit`` flushes the whole series at its end: on
    this machine a 1 GB study waited ~1.6 s for the disk after the last byte had arrived.
    Started file by file, the writing overlaps the transfer. Best effort: a no-op elsewhere.
    """
    global _sync_file_range_fn
    if _sync_file_range_fn is None:
        _sync_file_range_fn = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                fn = libc.sync_file_range
                fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                fn.restype = ctypes.c_int
                _sync_file_range_fn = fn
            except (OSError, AttributeError):
                pass
    if _sync_file_range_fn:
        _sync_file_range_fn(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # an error only loses the head start


def flush_files(paths: list[Path], folder: Path) -> None:
    """Make the data of ``paths`` (all in ``folder``) durable: one ``syncfs`` of the file
    system where available, else an fdatasync per file."""
    if len(paths) > 1 and _syncfs(folder):
        return
    for p in paths:
        _flush_data(p)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries durable (renames, new files); a no-op where folders cannot be
    opened (Windows)."""
    if sys.platform.startswith("win"):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_part_counter = itertools.count()
_PART_RE = re.compile(r"^\.namecar-(\d+)-\d+\.part$")


def _part_name() -> str:
    """A temporary file name that says which process writes it (see clean_partials)."""
    return f".namecar-{os.getpid()}-{next(_part_counter)}.part"


class SeriesWriter:
    """Instances of one series written as they arrive, made durable together by :meth:`commit`.

    ``open_part()`` gives a temporary file (hidden, ``.part``) to write one instance's bytes into;
    ``finish_part(f, sop)`` closes it and records it under its SOP Instance UID. Nothing is
    visible as ``<SOP>.dcm`` before ``commit()``: the recorded files' data are flushed, renamed
    into place, and the folder fsynced once. Thread-safe.
    """

    def __init__(self, store: LocalStore, study_uid: str, series_uid: str) -> None:
        self.store = store
        self.study_uid = _safe_uid(study_uid, "Study Instance UID")
        self.series_uid = _safe_uid(series_uid, "Series Instance UID")
        self.dir = store.series_dir(self.study_uid, self.series_uid)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._done: list[tuple[Path, str]] = []
        self._open: set[Path] = set()
        self.committed: list[str] = []
        self.nbytes = 0

    def open_part(self) -> IO[bytes]:
        tmp = self.dir / _part_name()
        f = tmp.open("wb")
        with self._lock:
            self._open.add(tmp)
        return f

    def finish_part(self, f: IO[bytes], sop_uid: str) -> None:
        tmp = Path(f.name)
        n = f.tell()
        try:
            f.flush()
            start_writeback(f.fileno())
        finally:
            f.close()
        try:
            sop = _safe_uid(sop_uid, "SOP Instance UID")
        except PacsError:
            tmp.unlink(missing_ok=True)
            with self._lock:
                self._open.discard(tmp)
            raise
        with self._lock:
            self._open.discard(tmp)
            self._done.append((tmp, sop))
            self.nbytes += n

    def abort_part(self, f: IO[bytes]) -> None:
        tmp = Path(f.name)
        with contextlib.suppress(OSError):
            f.close()
        tmp.unlink(missing_ok=True)
        with self._lock:
            self._open.discard(tmp)

    def write_instance(self, sop_uid: str, *chunks: bytes | bytearray | memoryview) -> None:
        """One whole instance given as bytes (its Part 10 encoding, in pieces): written with
        plain system calls, the fewest Python steps per instance of a C-GET/C-MOVE."""
        sop = _safe_uid(sop_uid, "SOP Instance UID")
        tmp = self.dir / _part_name()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        n = 0
        try:
            for c in chunks:
                view = memoryview(c)
                while view:
                    k = os.write(fd, view)
                    n += k
                    view = view[k:]
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        try:
            start_writeback(fd)
        finally:
            os.close(fd)
        with self._lock:
            self._done.append((tmp, sop))
            self.nbytes += n

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._done)

    def commit(self) -> list[str]:
        """Make the finished instances durable and visible; returns their SOP Instance UIDs."""
        with self._lock:
            batch, self._done = self._done, []
        if not batch:
            return []
        flush_files([tmp for tmp, _sop in batch], self.dir)
        for tmp, sop in batch:
            os.replace(tmp, self.dir / f"{sop}.dcm")
        fsync_dir(self.dir)
        sops = [sop for _t, sop in batch]
        with self._lock:
            self.committed.extend(sops)
        return sops

    def discard(self) -> None:
        """Remove every temporary file of this writer (finished or not)."""
        with self._lock:
            batch, self._done = self._done, []
            still = list(self._open)
        for tmp, _sop in batch:
            tmp.unlink(missing_ok=True)
        for tmp in still:
            tmp.unlink(missing_ok=True)


class LocalStore:
    """A folder of retrieved studies; thread-safe for concurrent writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._writers: dict[tuple[str, str], SeriesWriter] = {}

    def writer(self, study_uid: str, series_uid: str) -> SeriesWriter:
        """A new batch writer for one series (see :class:`SeriesWriter`)."""
        return SeriesWriter(self, study_uid, series_uid)

    def register_writer(self, w: SeriesWriter) -> None:
        """Route instances of ``w``'s series received by our C-STORE receiver into ``w``."""
        with self._lock:
            self._writers[(w.study_uid, w.series_uid)] = w

    def unregister_writer(self, w: SeriesWriter) -> None:
        with self._lock:
            if self._writers.get((w.study_uid, w.series_uid)) is w:
                del self._writers[(w.study_uid, w.series_uid)]

    def registered_writer(self, study_uid: str, series_uid: str) -> SeriesWriter | None:
        with self._lock:
            return self._writers.get((study_uid, series_uid))

    def series_dir(self, study_uid: str, series_uid: str) -> Path:
        return (
            self.root
            / _safe_uid(study_uid, "Study Instance UID")
            / _safe_uid(series_uid, "Series Instance UID")
        )

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return self.series_dir(study_uid, series_uid) / (
            _safe_uid(sop_uid, "SOP Instance UID") + ".dcm"
        )

    def present(self, study_uid: str, series_uid: str | None = None) -> set[str]:
        """SOP Instance UIDs already stored for a study (or one of its series)."""
        base = self.root / _safe_uid(study_uid, "Study Instance UID")
        if series_uid is not None:
            base = base / _safe_uid(series_uid, "Series Instance UID")
            dirs = [base] if base.is_dir() else []
        else:
            dirs = [d for d in base.iterdir() if d.is_dir()] if base.is_dir() else []
        return {p.stem for d in dirs for p in d.glob("*.dcm")}

    def write(self, ds: Dataset, file_meta: FileMetaDataset | None = None) -> Path:
        """Write one received dataset; returns its final path."""
        study = str(ds.get("StudyInstanceUID", ""))
        series = str(ds.get("SeriesInstanceUID", ""))
        sop = str(ds.get("SOPInstanceUID", ""))
        path = self.path_for(study, series, sop)
        meta = file_meta if file_meta is not None else getattr(ds, "file_meta", None)
        if meta is None or "TransferSyntaxUID" not in meta:
            meta = FileMetaDataset()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = sop
        if "ImplementationClassUID" not in meta:
            meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(_part_name())
        try:
            with tmp.open("wb") as f:
                ds.save_as(f, enforce_file_format=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def write_bytes(self, study: str, series: str, sop: str, data: bytes) -> Path:
        """Write an already encoded Part 10 file (WADO-RS application/dicom)."""
        path = self.path_for(study, series, sop)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(_part_name())
        try:
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def clean_partials(self) -> int:
        """Remove temporary files left by a crash (those of a process still running, this one
        included, are left alone); returns how many."""
        n = 0
        for p in self.root.rglob(".*.part"):
            m = _PART_RE.match(p.name)
            if m and _pid_alive(int(m.group(1))):
                continue
            p.unlink(missing_ok=True)
            n += 1
        return n

    def study_bytes(self, study_uid: str) -> int:
        base = self.root / _safe_uid(study_uid, "Study Instance UID")
        if not base.is_dir():
            return 0
        return sum(p.stat().st_size for p in base.rglob("*.dcm"))

    def studies(self) -> list[str]:
        """Study Instance UIDs with a folder in the store."""
        if not self.root.is_dir():
            return []
        return sorted(d.name for d in self.root.iterdir() if d.is_dir() and _UID_RE.match(d.name))

    def remove_study(self, study_uid: str) -> None:
        import shutil

        base = self.root / _safe_uid(study_uid, "Study Instance UID")
        shutil.rmtree(base, ignore_errors=True)

    def files(self, study_uid: str) -> list[Path]:
        base = self.root / _safe_uid(study_uid, "Study Instance UID")
        return sorted(base.rglob("*.dcm")) if base.is_dir() else []


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform.startswith("win"):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def default_retrieve_dir() -> Path:
    """The managed folder for retrieved studies (user data directory, per platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("namecar-viewer", appauthor=False)) / "pacs-retrieved"


def index_import_hook(index: Any = None) -> ImportHook | None:
    """A hook that indexes retrieved folders in the study index (referenced in place).

    Uses ``namecar_viewer.app.importer.import_paths`` with ``ImportMode.REFERENCE``: the
    retrieved files already live in the managed PACS folder, so they are not copied again.
    Returns None when the study index is not available in this installation.
    """
    try:
        from namecar_viewer.app.importer import ImportMode, import_paths
        from namecar_viewer.persistence.study_index import StudyIndex
    except ImportError:
        return None

    def hook(folders: list[Path]) -> Any:
        idx = index if index is not None else StudyIndex()
        return import_paths(idx, folders, mode=ImportMode.REFERENCE, thumbnails=True)

    return hook


def default_import_hook() -> ImportHook | None:
    """The study index's import (see :func:`index_import_hook`), or None without the index."""
    return index_import_hook()


def hand_to_index(paths: Iterable[Path], hook: ImportHook | None) -> Any:
    folders = sorted({Path(p) for p in paths})
    if hook is None or not folders:
        return None
    return hook(folders)
