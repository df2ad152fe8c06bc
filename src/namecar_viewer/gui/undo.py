"""Edit > Undo/Redo for a read: a QUndoStack mirroring the ReadSession's own stack.

The session is the single source of truth (it applies, commits and undoes); each QUndoCommand
forwards to it, so Qt's Undo/Redo actions, their texts and the clean state follow the session.
A handle drag is merged into one step on both sides: the session merges commands with the same
``merge_id`` in a row, and the QUndoCommand reports the same decision through ``mergeWith``.

A failed save never raises out of Qt's redo/undo: the session keeps the edit pending and the
stack emits ``error(message)`` for the window to show in a message box.  An undo or redo that
would change a signed timepoint (:class:`ReadLockedError`) is refused the same way and the Qt
stack stays where the session is; a signature clears both histories (:meth:`clear_history`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from namecar_viewer.app.read_session import (
    Command,
    CommandError,
    ReadLockedError,
    ReadSaveError,
    ReadSession,
)
from namecar_viewer.gui.i18n import app_text, error_text

_MERGE_IDS: dict[str, int] = {}


def _qt_id(merge_id: str | None) -> int:
    """A stable small integer for a session merge id (-1: never merge)."""
    if merge_id is None:
        return -1
    return _MERGE_IDS.setdefault(merge_id, len(_MERGE_IDS) + 1)


class SessionCommand(QUndoCommand):
    """One session command as a QUndoCommand."""

    def __init__(self, stack: ReadUndoStack, command: Command) -> None:
        super().__init__(app_text(command.text))  # shown in Edit > Undo
        self.stack = stack
        self.command = command
        self._done_once = False
        self.merged = False

    def id(self) -> int:
        return _qt_id(self.command.merge_id)

    def redo(self) -> None:
        session = self.stack.session
        if not self._done_once:
            self._done_once = True
            try:
                result = session.execute(self.command)
            except CommandError as exc:
                self.setObsolete(True)
                self.stack.report(error_text(exc))
                return
            except ReadSaveError as exc:
                result = session.last_result
                self.stack.report(error_text(exc))
            self.merged = result.merged
            if not result.changed:
                self.setObsolete(True)
            return
        if self.stack.syncing:
            return
        try:
            session.redo()
        except ReadLockedError as exc:
            self.stack.refused = error_text(exc)
        except ReadSaveError as exc:
            self.stack.report(error_text(exc))

    def undo(self) -> None:
        if self.stack.syncing:
            return
        try:
            self.stack.session.undo()
        except ReadLockedError as exc:
            self.stack.refused = error_text(exc)
        except ReadSaveError as exc:
            self.stack.report(error_text(exc))

    def mergeWith(self, other: QUndoCommand) -> bool:
        if isinstance(other, SessionCommand) and other.merged:
            self.command = other.command
            return True
        return False


class _Signals(QObject):
    error = Signal(str)


class ReadUndoStack(QUndoStack):
    """The undo stack of one read; ``push_command`` is the only way the GUI edits a read."""

    def __init__(self, session: ReadSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._signals = _Signals()
        self.error = self._signals.error
        # set by a command whose undo/redo the session refused (signed timepoint)
        self.refused: str | None = None
        self.syncing = False

    def push_command(self, command: Command) -> None:
        self.push(SessionCommand(self, command))

    def end_merge(self) -> None:
        """End of a drag: the next command is a new step."""
        self.session.end_merge()

    def report(self, message: str) -> None:
        self.error.emit(message)

    def undo(self) -> None:
        self._step(super().undo, +1)

    def redo(self) -> None:
        self._step(super().redo, -1)

    def _step(self, step: Callable[[], None], back: int) -> None:
        """Undo or redo; when the session refuses (a signed timepoint) put Qt's index back
        without touching the session, and tell the reader why."""
        self.refused = None
        step()
        if self.refused is not None:
            why, self.refused = self.refused, None
            self.syncing = True
            try:
                self.setIndex(self.index() + back)
            finally:
                self.syncing = False
            self.report(why)

    def clear_history(self) -> None:
        """Forget every step on both sides (after a signature: undo never crosses it)."""
        self.session.clear_history()
        self.clear()
