"""Loading stacks in the background: the first image at once, the whole volume when it is ready.

A :class:`StackLoadWorker` (a ``QThread``) first loads the middle image of the stack alone (one
file, a few milliseconds) and emits it as a one-slice :class:`Volume` (``preview``), then loads
the whole stack with progress and cancel (``core.dicom.load_stack``) and emits ``loaded``.
:class:`ViewportLoader` drives one viewport: it shows the preview, replaces it by the volume at
the same patient position, shows the percentage meanwhile, and puts the reason in the viewport
when the stack cannot be loaded.  Starting a new load in a viewport cancels the previous one.
A stack of the frame of reference already shown (another phase, b-value or echo of the series,
another series of the exam) replaces it where the reader is, with no preview in between.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from namecar_viewer.app.pet import pet_display_volume
from namecar_viewer.core.dicom import LoadCancelled, Stack, load_stack
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.gui.i18n import reason_text
from namecar_viewer.gui.viewport import SliceViewport

PROGRESS_POLL_MS = 50


def middle_instance_stack(stack: Stack) -> Stack:
    """The stack cut to its middle image (stack instances are in slice order)."""
    mid = stack.instances[len(stack.instances) // 2]
    return replace(stack, instances=[mid])


class StackLoadWorker(QThread):
    """Loads one stack off the GUI thread: ``preview`` (middle slice), then ``loaded`` or
    ``failed`` (the reason in words) or ``cancelled``.

    Progress is read from ``done`` and ``total`` (polled by the GUI): the loader reports it from
    its pool threads, and emitting Qt signals from plain Python threads corrupts reference
    counts in PySide6, so those threads only store two integers.
    """

    preview = Signal(object)
    loaded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self, stack: Stack, parent: QObject | None = None, suv_overrides: Any = None
    ) -> None:
        super().__init__(parent)
        self.stack = stack
        # PET: converted to SUVbw here, off the GUI thread (reader-entered values of the read)
        self.suv_overrides = suv_overrides
        self._cancel = threading.Event()
        self.done = 0
        self.total = len(stack.instances)

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        st = self.stack
        if not st.instances:
            self.failed.emit(self.tr("the stack has no images"))
            return
        if not st.loadable:
            self.failed.emit("\n".join(str(p) for p in st.problems) or self.tr("not loadable"))
            return
        if len(st.instances) > 1:
            # a failing preview is not reported: the full load below gives the reason
            with contextlib.suppress(Exception):
                self.preview.emit(self._display(load_stack(middle_instance_stack(st))))
        try:
            vol = self._display(load_stack(st, progress=self._progress, cancel=self._cancel))
        except LoadCancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - shown in the viewport, never a traceback
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        if self._cancel.is_set():
            self.cancelled.emit()
            return
        self.loaded.emit(vol)

    def _display(self, vol: Volume) -> Volume:
        """PET in SUVbw, or its stored values labelled raw with the missing tag named."""
        return pet_display_volume(vol, self.suv_overrides) if vol.modality == "PT" else vol


class ViewportLoader(QObject):
    """Loads stacks into one viewport in the background (see the module docstring).

    Signals: ``first_image(volume)`` when something is on screen (the preview, or the volume of a
    one-image stack), ``progress(done, total)``, ``finished(volume)``, ``failed(reason)``.
    """

    first_image = Signal(object)
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, viewport: SliceViewport, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.worker: StackLoadWorker | None = None
        self._orientation = SliceOrientation.ACQUISITION
        self._title = ""
        self._patient_text: list[str] = []
        self._shown_first = False
        self._preview_centre: Any = None
        self._same_frame = False  # the stack loading shares the shown volume's frame of reference
        self.on_finished: Callable[[Volume], None] | None = None
        # series UID -> reader-entered SUV values of the open read (set by the PET grid hooks)
        self.suv_overrides: Callable[[str], Any] | None = None
        self._old: list[StackLoadWorker] = []
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def load(
        self,
        stack: Stack,
        orientation: SliceOrientation = SliceOrientation.AXIAL,
        title: str = "",
        patient_text: Sequence[str] = (),
    ) -> StackLoadWorker:
        self.cancel()
        self._orientation = orientation
        self._title = title
        self._patient_text = list(patient_text)
        self._shown_first = False
        self._preview_centre = None
        shown = self.viewport.model.frame_of_reference_uid
        self._same_frame = bool(shown) and shown == stack.frame_of_reference_uid
        overrides = (
            self.suv_overrides(stack.series_instance_uid)
            if self.suv_overrides is not None and stack.modality == "PT"
            else None
        )
        w = StackLoadWorker(stack, self, overrides)
        w.preview.connect(lambda v, w=w: self._on_preview(w, v))
        w.loaded.connect(lambda v, w=w: self._on_loaded(w, v))
        w.failed.connect(lambda r, w=w: self._on_failed(w, r))
        w.cancelled.connect(lambda w=w: self._on_cancelled(w))
        w.finished.connect(lambda w=w: self._reap(w))
        self.worker = w
        self._timer.start()
        vp = self.viewport
        vp.busy_text = (
            self.tr("Loading {title}...").format(title=title) if title else self.tr("Loading...")
        )
        vp.update()
        w.start()
        return w

    def cancel(self) -> None:
        """Stop the running load (its results are ignored)."""
        if self.worker is not None:
            self.worker.cancel()
            self._old.append(self.worker)
            self.worker = None
            self.viewport.busy_text = None
            self.viewport.update()

    def wait(self, ms: int = 30000) -> None:
        for w in [*self._old, *([self.worker] if self.worker else [])]:
            w.wait(ms)

    def _reap(self, w: StackLoadWorker) -> None:
        if w in self._old:
            self._old.remove(w)
        w.deleteLater()

    def _current(self, w: StackLoadWorker) -> bool:
        return w is self.worker and not w.is_cancelled

    def _on_preview(self, w: StackLoadWorker, vol: Volume) -> None:
        if not self._current(w) or self._shown_first:
            return
        vp = self.viewport
        if self._same_frame and vp.model.volume is not None:
            return  # the image shown stays until the volume replaces it where the reader is
        vp.patient_text = self._patient_text
        vp.model.set_volume(vol, SliceOrientation.ACQUISITION, self._title)
        self._preview_centre = vp.model.slice_centre()
        self._shown_first = True
        self.first_image.emit(vol)

    def _poll(self) -> None:
        w = self.worker
        if w is None:
            self._timer.stop()
            return
        self._on_progress(w, w.done, w.total)

    def _on_progress(self, w: StackLoadWorker, done: int, total: int) -> None:
        if not self._current(w):
            return
        self.viewport.busy_text = (
            self.tr("Loading {title}: {done}/{total} images")
            .format(title=self._title, done=done, total=total)
            .replace("  ", " ")
        )
        self.viewport.update()
        self.progress.emit(done, total)

    def _on_loaded(self, w: StackLoadWorker, vol: Volume) -> None:
        if not self._current(w):
            return
        self.worker = None
        vp = self.viewport
        vp.busy_text = None
        model = vp.model
        shown = model.volume
        keep_window = model.window if self._shown_first and vol.modality == "CT" else None
        keep_invert = model.invert
        stay_at = None
        if (
            not self._shown_first
            and shown is not None
            and vol.frame_of_reference_uid
            and shown.frame_of_reference_uid == vol.frame_of_reference_uid
        ):
            # the same patient space: stay where the reader is (and in the CT window in use)
            stay_at = model.slice_centre()
            if shown.modality == vol.modality == "CT":
                keep_window = model.window
        vp.patient_text = self._patient_text
        model.set_volume(vol, self._orientation, self._title)
        geometry = model.geometry
        if stay_at is not None and geometry is not None:
            if -0.5 <= geometry.fractional_index(stay_at) <= geometry.count - 0.5:
                model.move_to_point(stay_at)  # else the volume does not reach it: its middle
        elif self._preview_centre is not None and self._orientation in (
            SliceOrientation.ACQUISITION,
            SliceOrientation.AXIAL,
        ):
            # stay on the slice the reader has been looking at
            model.move_to_point(np.asarray(self._preview_centre))
        if keep_window is not None:
            vp.model.set_window(keep_window, keep_invert)
        if not self._shown_first:
            self._shown_first = True
            self.first_image.emit(vol)
        self.finished.emit(vol)
        if self.on_finished is not None:
            self.on_finished(vol)

    def _on_failed(self, w: StackLoadWorker, reason: str) -> None:
        if not self._current(w):
            return
        self.worker = None
        self.viewport.busy_text = None
        self.viewport.model.set_error(reason_text(reason), self._title)
        self.failed.emit(reason)

    def _on_cancelled(self, w: StackLoadWorker) -> None:
        if w is self.worker:
            self.worker = None
            self.viewport.busy_text = None
            self.viewport.update()
