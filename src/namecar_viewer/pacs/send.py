"""Send SR, encapsulated PDF and image series by C-STORE or STOW-RS, optionally de-identified.

Memory stays bounded whatever the number of files: the files are listed first from their File
Meta Information only (no pixel data read), then streamed. Without de-identification a C-STORE
sends each file's bytes in PDU-sized chunks straight from disk and a STOW-RS batch streams its
files into the request body; several associations (or STOW-RS requests) run at once. With a
de-identifier, each file is read, de-identified in memory and the copy sent, a few at a time
through a bounded queue; the files on disk are never written.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from namecar_viewer.pacs import dimse, web
from namecar_viewer.pacs.dimse import CancelToken, InstanceResult
from namecar_viewer.pacs.errors import PacsError
from namecar_viewer.pacs.local_store import NotPart10, read_part10_meta
from namecar_viewer.pacs.nodes import DicomWebNode, DimseNode, LocalAe

#: Associations (C-STORE) or requests (STOW-RS) in flight at once
SEND_STREAMS = 3
#: A STOW-RS request carries at most this many instances / bytes
STOW_BATCH_FILES = 50
STOW_BATCH_BYTES = 32 << 20


@dataclass(frozen=True)
class SendItem:
    """One file to send, as its File Meta Information describes it."""

    index: int
    path: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    size: int
    part10: bool = True  # False: a bare data set (read and re-encoded to send)


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


def scan(paths: Sequence[Path]) -> list[SendItem]:
    """Describe each file from its first bytes; a file that is not DICOM raises a PacsError
    naming it. Nothing beyond the File Meta Information is read for a Part 10 file."""
    items: list[SendItem] = []
    for i, p in enumerate(paths):
        try:
            size = p.stat().st_size
            with p.open("rb") as f:
                head = f.read(1 << 14)
                meta = read_part10_meta(head)
                if meta is None and len(head) == 1 << 14:
                    head += f.read(1 << 16)
                    meta = read_part10_meta(head)
        except NotPart10:
            meta = None
        except OSError as exc:
            raise PacsError(f"{p}: cannot be sent, not readable: {exc}") from None
        if meta is not None and meta.sop_class_uid and meta.sop_instance_uid:
            items.append(
                SendItem(
                    i,
                    str(p),
                    meta.sop_class_uid,
                    meta.sop_instance_uid,
                    meta.transfer_syntax_uid,
                    size,
                )
            )
            continue
        ds = _read(p, stop_before_pixels=True)
        ts = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "") or "")
        items.append(
            SendItem(
                i,
                str(p),
                str(ds.SOPClassUID),
                str(ds.SOPInstanceUID),
                ts or "1.2.840.10008.1.2",
                size,
                part10=False,
            )
        )
    return items


def _read(p: Path | str, stop_before_pixels: bool = False) -> Dataset:
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        ds = dcmread(p, stop_before_pixels=stop_before_pixels)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise PacsError(f"{p}: cannot be sent, not a readable DICOM file: {exc}") from None
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise PacsError(f"{p}: cannot be sent, SOP Class/Instance UID missing")
    return ds


Deidentify = Callable[[Dataset], Any]


def prepared(
    items: Sequence[SendItem],
    deidentify: Deidentify | None,
    cancel: CancelToken | None = None,
    depth: int = SEND_STREAMS * 2,
) -> Iterator[tuple[SendItem, Dataset | None]]:
    """The items in order with, when a de-identifier is given, the de-identified copy of each
    (read and de-identified in a thread of its own, at most ``depth`` ahead of the senders: the
    memory held is a few instances whatever the number of files)."""
    if deidentify is None:
        for it in items:
            yield it, None
        return
    q: queue.Queue[tuple[SendItem, Dataset] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for it in items:
                if stop.is_set() or (cancel is not None and cancel.cancelled):
                    break
                out = deidentify(_read(it.path))
                q.put((it, getattr(out, "dataset", out)))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)
            return
        q.put(None)

    t = threading.Thread(target=produce, name="deidentify", daemon=True)
    t.start()
    try:
        while True:
            got = q.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        while t.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)


def send(
    node: DimseNode | DicomWebNode,
    local: LocalAe,
    paths: Sequence[Path],
    deidentify: Deidentify | None = None,
    cancel: CancelToken | None = None,
    on_result: Callable[[InstanceResult], None] | None = None,
    streams: int = SEND_STREAMS,
) -> list[InstanceResult]:
    """Send files (and folders) to a node; returns one result per instance, in the order of
    the files.

    ``deidentify(ds)`` receives each dataset read from disk and returns the dataset to send
    (or an object with a ``dataset`` attribute, as :class:`namecar_viewer.deid.DeidResult`).
    """
    items = scan(expand_paths(paths))
    stream = prepared(items, deidentify, cancel)
    try:
        if isinstance(node, DicomWebNode):
            return web.stow_items(node, items, stream, cancel, on_result, streams)
        return dimse.c_store_items(node, local, items, stream, cancel, on_result, streams)
    finally:
        if hasattr(stream, "close"):
            stream.close()
