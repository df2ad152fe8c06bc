"""Run a PACS call off the GUI thread and deliver its result, progress or error as signals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str)
    progress = Signal(object)


class Task(QRunnable):
    """``fn(report_progress)`` in the thread pool; signals arrive queued in the GUI thread."""

    def __init__(self, fn: Callable[[Callable[[Any], None]], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.signals = _Signals()
        self.setAutoDelete(False)

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            from namecar_viewer.pacs import PacsError

            msg = str(exc) if isinstance(exc, PacsError) else f"{type(exc).__name__}: {exc}"
            self.signals.failed.emit(msg)
        else:
            self.signals.done.emit(result)


def start(task: Task) -> Task:
    QThreadPool.globalInstance().start(task)
    return task
