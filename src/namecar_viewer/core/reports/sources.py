"""Where the exports find the source images' headers: folders on disk, or any file finder.

A :data:`~namecar_viewer.core.reports.sr_export.HeaderLookup` maps a SOP instance UID to the
image's header.  Headers are read on demand (pixel data never) and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydicom.dataset import Dataset


class HeaderIndex:
    """SOP instance UID -> file, from scanned folders and/or a study index; headers on demand."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}
        self._cache: dict[str, Dataset | None] = {}
        self._fallbacks: list[Callable[[str], str | None]] = []

    @classmethod
    def from_folders(cls, paths: Iterable[str | Path]) -> HeaderIndex:
        idx = cls()
        idx.add_folders(paths)
        return idx

    def add_folders(self, paths: Iterable[str | Path]) -> None:
        """Scan folders (header-only) and remember every image instance's file."""
        from namecar_viewer.core.dicom import scan

        existing = [str(p) for p in paths if Path(p).exists()]
        if not existing:
            return
        report = scan(existing)
        for stack in report.stacks:
            for inst in stack.instances:
                if inst.member is None:
                    self._paths.setdefault(inst.sop_instance_uid, inst.path)

    def add_fallback(self, find: Callable[[str], str | None]) -> None:
        """Another place to look a file up by SOP instance UID (the study index, in ``cli``)."""
        self._fallbacks.append(find)

    def add(self, uid: str, path: str | Path) -> None:
        self._paths[uid] = str(path)

    def __len__(self) -> int:
        return len(self._paths)

    def path(self, uid: str) -> str | None:
        p = self._paths.get(uid)
        if p is None:
            for f in self._fallbacks:
                p = f(uid)
                if p is not None:
                    self._paths[uid] = p
                    break
        return p

    def __call__(self, uid: str) -> Dataset | None:
        if uid in self._cache:
            return self._cache[uid]
        import pydicom

        p = self.path(uid)
        ds: Dataset | None = None
        if p is not None:
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True)
            except (OSError, ValueError):
                ds = None
        self._cache[uid] = ds
        return ds


def header_lookup(datasets: Sequence[Dataset]) -> Callable[[str], Dataset | None]:
    """A lookup over headers already in memory (tests, the GUI's loaded series)."""
    table = {str(ds.SOPInstanceUID): ds for ds in datasets}
    return table.get
