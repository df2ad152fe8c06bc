"""Import a folder, DICOMDIR or zip into the study index, copied into the managed store or
referenced where it lies (the reader chooses), with progress, cancel and a summary of what was
skipped and why.

Qt-free: the GUI runs :func:`import_paths` in a worker thread.  Discovery is the header-only
``namecar_viewer.core.dicom.scan``; each stack is then indexed in its own transaction (a batch),
after its files were copied when the store is managed, so cancelling between two stacks leaves
only whole stacks in the index and no stray copies in the store.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from namecar_viewer.core.dicom import LoadCancelled, ObjectKind, Stack, load_stack, scan
from namecar_viewer.core.geometry.reslice import apply_window, default_display
from namecar_viewer.core.problems import DicomInputError
from namecar_viewer.persistence.study_index import StudyIndex, Thumbnail, default_data_dir

THUMBNAIL_SIZE = 64  # pixels along the longer side
STORE_DIR_NAME = "store"

ImportProgress = Callable[[int, int, str], None]  # (done, total, what)


class ImportMode(enum.Enum):
    """Where the indexed files live: copied into the managed store, or left where they are."""

    COPY = "copy"
    REFERENCE = "reference"


@dataclass(frozen=True)
class SkippedItem:
    """A file (or a whole stack) not imported, with the reason in words."""

    path: str
    reason: str


@dataclass
class ImportSummary:
    """What an import did; ``skipped`` lists every file left out and why."""

    mode: ImportMode
    stacks_added: int = 0
    stacks_updated: int = 0
    stacks_unchanged: int = 0
    instances_added: int = 0
    instances_existing: int = 0
    files_copied: int = 0
    patients: set[str] = field(default_factory=set)
    study_uids: set[str] = field(default_factory=set)
    stack_ids: list[int] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    def text(self) -> str:
        """A summary a reader can act on (shown by the import dialog)."""
        head = "Import cancelled" if self.cancelled else "Import finished"
        lines = [
            f"{head}: {self.stacks_added} new stacks, {self.stacks_updated} extended, "
            f"{self.stacks_unchanged} already in the index; {self.instances_added} images added, "
            f"{self.instances_existing} already indexed"
            + (f"; {self.files_copied} files copied to the store" if self.files_copied else "")
            + "."
        ]
        if self.skipped:
            lines.append(f"Skipped ({len(self.skipped)}):")
            lines.extend(f"  {s.path}: {s.reason}" for s in self.skipped)
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  {w}" for w in self.warnings)
        return "\n".join(lines)


def managed_store_dir(data_dir: Path | None = None) -> Path:
    return (data_dir if data_dir is not None else default_data_dir()) / STORE_DIR_NAME


def _safe(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    return keep[:64] or "_"


def _copy_stack_files(
    stack: Stack, store: Path, existing: set[tuple[str, int]]
) -> tuple[Stack, list[Path]]:
    """Copy the stack's not-yet-indexed files into the store; return the stack pointing at them.

    Zip members are extracted to files of their own (byte for byte, so the pixel offsets read by
    the scan stay valid).  Files are named by SOP instance UID, so a second copy of the same
    instance lands on the same name.
    """
    folder = store / _safe(stack.patient_id) / stack.study_instance_uid / stack.series_instance_uid
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    new_path: dict[tuple[str, str | None], str] = {}
    refs = []
    for inst in stack.instances:
        src_key = (inst.path, inst.member)
        if (inst.sop_instance_uid, inst.frame or 0) in existing:
            refs.append(inst)  # not written to the index again; its row keeps its own path
            continue
        dest = new_path.get(src_key)
        if dest is None:
            name = _safe(inst.sop_instance_uid)
            if len(name) >= 64:  # keep names unique even when a UID was cut
                name = hashlib.sha1(inst.sop_instance_uid.encode()).hexdigest()
            target = folder / f"{name}.dcm"
            if not target.exists():
                tmp = target.with_suffix(".part")
                if inst.member is None:
                    shutil.copyfile(inst.path, tmp)
                else:
                    with (
                        zipfile.ZipFile(inst.path) as zf,
                        zf.open(inst.member) as fin,
                        open(tmp, "wb") as fout,
                    ):
                        shutil.copyfileobj(fin, fout)
                os.replace(tmp, target)
                written.append(target)
            dest = str(target)
            new_path[src_key] = dest
        refs.append(replace(inst, path=dest, member=None))
    return replace(stack, instances=refs), written


def make_thumbnail(stack: Stack, size: int = THUMBNAIL_SIZE) -> Thumbnail:
    """The middle image of ``stack``, windowed as it first shows, downsampled to ``size``."""
    mid = stack.instances[len(stack.instances) // 2]
    one = replace(stack, instances=[mid], problems=[])
    vol = load_stack(one)
    img = np.asarray(vol.array[0])
    if img.ndim == 3:  # colour: luminance
        img = img[..., :3].mean(axis=2)
    wl, invert = default_display(vol)
    rows, cols = img.shape
    step = max(1, int(np.ceil(max(rows, cols) / size)))
    # box average over step x step blocks (edges cropped), then the display window
    r2, c2 = (rows // step) * step, (cols // step) * step
    if r2 == 0 or c2 == 0:
        small = img.astype(np.float32)
    else:
        small = (
            img[:r2, :c2]
            .astype(np.float32)
            .reshape(r2 // step, step, c2 // step, step)
            .mean((1, 3))
        )
    grey = np.ascontiguousarray(apply_window(small, wl, invert), dtype=np.uint8)
    return Thumbnail(grey.shape[0], grey.shape[1], grey.tobytes())


def import_paths(
    index: StudyIndex,
    paths: Iterable[str | os.PathLike[str]],
    mode: ImportMode = ImportMode.REFERENCE,
    store_dir: Path | None = None,
    progress: ImportProgress | None = None,
    cancel: threading.Event | None = None,
    thumbnails: bool = True,
) -> ImportSummary:
    """Scan ``paths`` and index every stack found; see the module docstring.

    Progress goes from 0 to 100: the scan is the first half, indexing the second.
    """
    summary = ImportSummary(mode)
    plist = [str(p) for p in paths]

    def report(done: int, total: int, what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    def scan_progress(n: int, total: int | None, what: str) -> None:
        report(int(50 * n / max(total or n, 1)), 100, f"Reading headers: {what}")

    rep = scan(plist, progress=scan_progress, cancel=cancel)
    for u in rep.unreadable:
        summary.skipped.append(SkippedItem(u.path, u.reason))
    for obj in rep.non_image:
        what = obj.kind.value if obj.kind is not ObjectKind.OTHER else "non-image object"
        detail = ", ".join(
            x
            for x in (
                obj.description or obj.modality,
                f"SOP class {obj.sop_class_uid}" if obj.sop_class_uid else "no SOP Class UID",
            )
            if x
        )
        summary.skipped.append(
            SkippedItem(obj.path, f"{what} ({detail}): no image to show, not indexed as a stack")
        )
    if rep.cancelled:
        summary.cancelled = True
        return summary
    store = store_dir if store_dir is not None else managed_store_dir()
    total = len(rep.stacks)
    for n, stack in enumerate(rep.stacks):
        if cancel is not None and cancel.is_set():
            summary.cancelled = True
            break
        what = f"{stack.series_description or stack.modality} {stack.label}".strip()
        report(50 + int(50 * n / max(total, 1)), 100, f"Indexing {what}")
        if not stack.loadable:
            summary.warnings.append(
                f"{what} ({stack.files[0] if stack.files else stack.key}): indexed but not "
                "loadable: " + "; ".join(str(p) for p in stack.problems)
            )
        written: list[Path] = []
        try:
            to_index = stack
            managed = False
            if mode is ImportMode.COPY:
                existing = index.existing_instances(
                    (i.sop_instance_uid, i.frame or 0) for i in stack.instances
                )
                to_index, written = _copy_stack_files(stack, store, existing)
                managed = True
            result = index.add_stack(to_index, managed=managed)
        except (OSError, zipfile.BadZipFile) as exc:
            for w in written:  # the batch did not reach the index: leave no stray copies
                w.unlink(missing_ok=True)
            for f in stack.files:
                summary.skipped.append(SkippedItem(f, f"could not be copied into the store: {exc}"))
            continue
        summary.files_copied += len(written)
        summary.instances_added += result.instances_added
        summary.instances_existing += result.instances_existing
        summary.patients.add(stack.patient_id)
        summary.study_uids.add(stack.study_instance_uid)
        summary.stack_ids.append(result.stack_id)
        if result.new_stack:
            summary.stacks_added += 1
        elif result.instances_added:
            summary.stacks_updated += 1
        else:
            summary.stacks_unchanged += 1
        if thumbnails and stack.loadable and (result.instances_added or result.new_stack):
            try:
                index.set_thumbnail(result.stack_id, make_thumbnail(to_index))
            except (DicomInputError, OSError, ValueError, LoadCancelled) as exc:
                summary.warnings.append(f"{what}: no thumbnail ({exc})")
    report(100, 100, "done")
    return summary
