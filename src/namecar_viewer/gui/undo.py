"""Edit > Undo/Redo for a read: a QUndoStack mirroring the ReadSession's own stack.

The session is the single source of truth (it applies, commits and undoes); each QUndoCommand
forwards to it, so Qt's Undo/Redo actions, their texts and the clean state follow the session.
A handle drag is merged into one step on both sides: the session merges commands with the same
``merge_id`` in a row, and the QUndoCommand reports the same decision through ``mergeWith``.

A failed save never raises out of Qt's redo/undo: the session keeps the edit pending and the
stack emits ``error(message)`` for the window to show in a message box.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from namecar_viewer.app.read_session import Command, CommandError, ReadSaveError, ReadSession

_MERGE_IDS: dict[str, int] = {}


def _qt_id(merge_id: str | None) -> int:
    """A stable small integer for a session merge id (-1: never merge)."""
    if merge_id is None:
        return -1
    return _MERGE_IDS.setdefault(merge_id, len(_MERGE_IDS) + 1)


class SessionCommand(QUndoCommand):
    """One session command as a QUndoCommand."""

    def __init__(self, stack: ReadUndoStack, command: Command) -> None:
        super().__init__(command.text)
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
                self.stack.report(str(exc))
                return
            except ReadSaveError as exc:
                result = session.last_result
                self.stack.report(str(exc))
            self.merged = result.merged
            if not result.changed:
                self.setObsolete(True)
            return
        try:
            session.redo()
        except ReadSaveError as exc:
            self.stack.report(str(exc))

    def undo(self) -> None:
        try:
            self.stack.session.undo()
        except ReadSaveError as exc:
            self.stack.report(str(exc))

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

    def push_command(self, command: Command) -> None:
        self.push(SessionCommand(self, command))

    def end_merge(self) -> None:
        """End of a drag: the next command is a new step."""
        self.session.end_merge()

    def report(self, message: str) -> None:
        self.error.emit(message)
