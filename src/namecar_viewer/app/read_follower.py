"""Base of the Qt-free models that show something computed from the read on screen."""

from __future__ import annotations

from namecar_viewer.app.read_session import ReadSession
from namecar_viewer.app.view_state import Event


class ReadFollower:
    """Recomputes after every edit, undo and redo of its session's read, and follows the reader
    to another read (another patient opened).

    Subclasses implement :meth:`recompute`, which stores its result and returns it;
    ``changed`` is emitted with that result.
    """

    def __init__(self, session: ReadSession) -> None:
        self.changed = Event()
        self._session: ReadSession | None = None
        self.set_session(session)

    @property
    def session(self) -> ReadSession:
        assert self._session is not None
        return self._session

    def set_session(self, session: ReadSession) -> None:
        if self._session is session:
            return
        if self._session is not None:
            self._session.changed.disconnect(self._on_changed)
        self._session = session
        session.changed.connect(self._on_changed)
        self.refresh()

    def _on_changed(self, _events: object) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.changed.emit(self.recompute())

    def recompute(self) -> object:
        raise NotImplementedError
