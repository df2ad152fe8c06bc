"""Where retrieved instances land: one file per SOP Instance UID, written atomically.

Layout: ``ROOT/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``. A file appears
only once it is complete (written to a temporary name, flushed, then renamed), so an interrupted
transfer leaves whole instances and nothing half-written; a retrieve started again skips every
SOP Instance UID already present, which makes a partial study resumable.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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


class LocalStore:
    """A folder of retrieved studies; thread-safe for concurrent writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

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
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.part")
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
        tmp = path.with_name(f".{path.name}.{threading.get_ident()}.part")
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
        """Remove temporary files left by a crash; returns how many."""
        n = 0
        for p in self.root.rglob(".*.part"):
            p.unlink(missing_ok=True)
            n += 1
        return n

    def files(self, study_uid: str) -> list[Path]:
        base = self.root / _safe_uid(study_uid, "Study Instance UID")
        return sorted(base.rglob("*.dcm")) if base.is_dir() else []


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
