"""Send SR, encapsulated PDF and image series by C-STORE or STOW-RS, optionally de-identified.

When a de-identifier is given, each file is read, de-identified in memory and the copy is sent;
the files on disk are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.pacs import dimse, web
from namecar_viewer.pacs.dimse import CancelToken, InstanceResult
from namecar_viewer.pacs.errors import PacsError
from namecar_viewer.pacs.nodes import DicomWebNode, DimseNode, LocalAe


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, folders recursively (hidden and DICOMDIR files left out)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and not f.name.startswith(".")
                and f.name != "DICOMDIR"
                and f.suffix.lower() not in (".json", ".txt", ".md")
            )
        elif p.is_file():
            out.append(p)
        else:
            raise PacsError(f"{p}: no such file or folder to send")
    return out


def send(
    node: DimseNode | DicomWebNode,
    local: LocalAe,
    paths: Sequence[Path],
    deidentify: Callable[[Dataset], Any] | None = None,
    cancel: CancelToken | None = None,
    on_result: Callable[[InstanceResult], None] | None = None,
) -> list[InstanceResult]:
    """Send files (and folders) to a node; returns one result per instance.

    ``deidentify(ds)`` receives each dataset read from disk and returns the dataset to send
    (or an object with a ``dataset`` attribute, as :class:`namecar_viewer.deid.DeidResult`).
    """
    items = dimse.read_for_send(expand_paths(paths))
    if deidentify is not None:
        cleaned: list[tuple[str, Dataset]] = []
        for p, ds in items:
            out = deidentify(ds)
            cleaned.append((p, getattr(out, "dataset", out)))
        items = cleaned
    if isinstance(node, DicomWebNode):
        return web.stow(node, items, on_result)
    return dimse.c_store(node, local, items, cancel, on_result)
