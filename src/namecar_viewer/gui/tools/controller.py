"""Wires lesion marking into the main window: the read of the patient on screen, its undo stack,
the measurement layer on every viewport, the Tools menu and toolbar, Edit > Undo/Redo and the
lesion panel dock.

The read of a patient opens as soon as one of their series is shown: the last read of this
reader for that patient is reopened from the reads database exactly as committed, or a new one
starts.  The database file is created with the first edit, so merely viewing images writes
nothing.  Location: ``$NAMECAR_READS_DB`` or ``reads.sqlite`` in the user data directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QToolBar

from namecar_viewer.app.read_session import ReadSaveError, ReadSession
from namecar_viewer.core.reads import Read, TimepointRole
from namecar_viewer.gui.panels.lesion_table import LesionTablePanel
from namecar_viewer.gui.tools.layer import MeasurementLayer
from namecar_viewer.gui.tools.tools import (
    ArrowTool,
    BidirectionalTool,
    CircleTool,
    EllipseTool,
    LineTool,
    MeasureTool,
    PointTool,
    SemiAutoTool,
    SphereTool,
)
from namecar_viewer.gui.undo import ReadUndoStack
from namecar_viewer.persistence.reads_db import (
    ReadsDatabase,
    ReadsDatabaseError,
    default_database_path,
)

READS_DB_ENV = "NAMECAR_READS_DB"
READER_ENV = "NAMECAR_READER"

# (tool class, menu text, key)
TOOL_ACTIONS: tuple[tuple[type[MeasureTool], str, str], ...] = (
    (LineTool, "&Line (length)", "D"),
    (BidirectionalTool, "&Bidirectional (long and short axis)", "B"),
    (SemiAutoTool, "Semi-&automatic diameter (click a lesion, Enter accepts)", "A"),
    (EllipseTool, "&Ellipse ROI", "E"),
    (CircleTool, "C&ircle ROI", "Shift+E"),
    (PointTool, "P&oint", "Shift+P"),
    (ArrowTool, "A&rrow", "Shift+R"),
    (SphereTool, "&Sphere VOI (3D)", "Shift+V"),
)

_TIMEPOINT_ROLES = {
    "BASELINE": TimepointRole.PRE_TREATMENT_BASELINE,
    "PRE-TREATMENT": TimepointRole.PRE_TREATMENT_BASELINE,
    "INCLUSION": TimepointRole.INCLUSION,
}


def reads_database_path() -> Path:
    env = os.environ.get(READS_DB_ENV)
    return Path(env) if env else default_database_path()


def reader_name() -> str:
    env = os.environ.get(READER_ENV)
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local reader"


def study_info(volume: Any) -> dict[str, Any]:
    """Patient ID, study date and timepoint label of a volume, from its first file's header."""
    cache = volume.metadata.get("_read_info")
    if isinstance(cache, dict):
        return cache
    info: dict[str, Any] = {}
    files = [f for f in getattr(volume, "files", ()) if f]
    if files:
        name = files[0].split(" (frame ")[0]
        if "!" not in name:
            try:
                import pydicom

                ds = pydicom.dcmread(
                    name,
                    stop_before_pixels=True,
                    specific_tags=["PatientID", "StudyDate", "ClinicalTrialTimePointID"],
                )
                info["patient_id"] = str(ds.get("PatientID", "") or "")
                date = str(ds.get("StudyDate", "") or "")
                if len(date) == 8 and date.isdigit():
                    info["date"] = dt.date(int(date[:4]), int(date[4:6]), int(date[6:]))
                tp = str(ds.get("ClinicalTrialTimePointID", "") or "").strip()
                info["label"] = (
                    tp.lower() if tp else (info["date"].isoformat() if "date" in info else "")
                )
                info["role"] = _TIMEPOINT_ROLES.get(tp.upper())
            except Exception:  # noqa: BLE001 - header problems were reported by the scan
                pass
    volume.metadata["_read_info"] = info
    return info


class ReadController(QObject):
    """Lesion marking for one main window (duck-typed: viewports, state, menus, status bar)."""

    def __init__(self, window: QMainWindow, db_path: str | Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.db_path = Path(db_path) if db_path is not None else reads_database_path()
        self.db: ReadsDatabase | None = None
        self.reader = reader_name()
        self.session = ReadSession(Read.new(reader=self.reader))
        # switched(undo_stack): another read opened; views bound to the read rebind (response).
        from namecar_viewer.app.view_state import Event

        self.switched = Event()
        self.undo = ReadUndoStack(self.session, self)
        self.undo.error.connect(self._show_error)
        self.layer = MeasurementLayer(self.undo, stack_info=study_info)
        self.session.changed.connect(self._on_first_edit)
        self.panel = LesionTablePanel(
            self.undo,
            window.state,  # type: ignore[attr-defined]
            lambda: [vp.model for vp in self.viewports],
            self._available_series,
        )
        self.panel.lesion_selected = self._lesion_selected  # type: ignore[method-assign]
        self.panel.navigated.connect(lambda t: window.statusBar().showMessage(t, 8000))
        self.dock = QDockWidget("Lesions", window)
        self.dock.setObjectName("lesions_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        for vp in self.viewports:
            self.layer.attach(vp)
            vp.model.volume_changed.connect(lambda m=vp.model: self._on_volume(m))
        self.tool_actions: dict[str, QAction] = {}
        self.current_tool: MeasureTool | None = None
        self._build_actions()
        self._error_shown = False

    @property
    def viewports(self) -> list[Any]:
        return list(getattr(self.window, "viewports", []))

    # --- menus and toolbar -----------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        mb = w.menuBar()
        edit: Any = None
        for act in mb.actions():
            if act.text().replace("&", "") == "Edit" and act.menu() is not None:
                edit = act.menu()
        if edit is None:
            from PySide6.QtWidgets import QMenu

            edit = QMenu("&Edit", w)
            acts = mb.actions()
            if len(acts) > 1:
                mb.insertMenu(acts[1], edit)  # after File
            else:
                mb.addMenu(edit)
        # Own actions bound to whichever read's stack is current (a new patient, a new stack).
        self.undo_action = QAction("&Undo", w)
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(lambda: self.undo.undo())
        self.redo_action = QAction("&Redo", w)
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.redo_action.triggered.connect(lambda: self.undo.redo())
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            edit.addAction(a)
            w.addAction(a)
        self._bind_undo_actions()
        retry = QAction("Retry saving the read", w)
        retry.triggered.connect(self.retry_save)
        file_menu: Any = next(
            (
                a.menu()
                for a in mb.actions()
                if a.text().replace("&", "") == "File" and a.menu() is not None
            ),
            edit,
        )
        file_menu.insertAction(file_menu.actions()[-1] if file_menu.actions() else None, retry)
        self.retry_action = retry
        self._register_keys("Edit", [("Undo", "Ctrl+Z"), ("Redo", "Ctrl+Shift+Z")])

        tools_menu: Any = None
        for act in mb.actions():
            if act.text().replace("&", "") == "Tools" and act.menu() is not None:
                tools_menu = act.menu()
        if tools_menu is None:
            tools_menu = mb.addMenu("&Tools")
        tools_menu.addSeparator()
        group = None
        for act in tools_menu.actions():
            if act.actionGroup() is not None:
                group = act.actionGroup()
        if group is None:
            group = QActionGroup(w)
        bar = QToolBar("Measurement tools", w)
        bar.setObjectName("measurement_toolbar")
        w.addToolBar(bar)
        keys = []
        for cls, text, key in TOOL_ACTIONS:
            a = QAction(text, w)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setCheckable(True)
            group.addAction(a)
            a.triggered.connect(lambda _c=False, c=cls: self.set_tool(c))
            tools_menu.addAction(a)
            w.addAction(a)
            bar.addAction(a)
            a.setIconText(cls.name.capitalize())
            self.tool_actions[cls.name] = a
            keys.append((text.replace("&", ""), key))
        self._register_keys("Tools", keys)
        self.toolbar = bar

    def _register_keys(self, menu: str, rows: list[tuple[str, str]]) -> None:
        table = getattr(self.window, "shortcut_rows", None)
        if table is None:
            return
        try:
            from namecar_viewer.gui.main_window import ShortcutEntry
        except ImportError:
            return
        for text, key in rows:
            table.append(ShortcutEntry(menu, text, key))

    def set_tool(self, cls: type[MeasureTool]) -> MeasureTool:
        """Install a measurement tool on every viewport (they share the layer)."""
        tool = cls(self.layer)
        hosts = getattr(self.window, "tool_hosts", None)
        for vp in hosts() if hosts is not None else self.viewports:
            vp.set_tool(tool)
        self.current_tool = tool
        act = self.tool_actions.get(cls.name)
        if act is not None:
            act.setChecked(True)
        return tool

    def host(self, vp: Any) -> None:
        """A viewport shown inside a grid cell takes part: measurements drawn and edited there."""
        self.layer.attach(vp)
        if self.current_tool is not None:
            vp.set_tool(self.current_tool)

    # --- the read of the patient on screen -------------------------------------------------
    def _on_volume(self, model: Any) -> None:
        vol = model.volume
        if vol is None:
            return
        pid = study_info(vol).get("patient_id", "")
        if pid and pid != self.session.read.patient_id:
            self.open_patient(pid)
        self.panel.rebuild()

    def open_patient(self, patient_id: str) -> None:
        """Reopen this reader's read of the patient, or start a new one."""
        if self.session.pending:
            self.retry_save()
        read: Read | None = None
        db = self._database(create=False)
        if db is not None:
            all_reads = db.list_reads(patient_id)
            infos = [i for i in all_reads if i.reader == self.reader]
            if not infos:
                # The demo patient ships with a finished example read: open it until this reader
                # has a read of their own (it is an example, not another reader's result).
                from namecar_viewer.phantom.demo_read import DEMO_READER

                infos = [i for i in all_reads if i.reader == DEMO_READER]
            if infos:
                read = db.load_read(infos[-1].uid)
        if read is not None and db is not None:
            session = ReadSession(read, db, stored=True, user=self.reader)
        else:
            session = ReadSession(
                Read.new(patient_id=patient_id, reader=self.reader), user=self.reader
            )
        self._switch(session)

    def use_database(self, db: ReadsDatabase, reader: str) -> None:
        """Central review: reads live in ``db`` (SQLite or PostgreSQL) and belong to the
        logged-in ``reader``, who is the user of every audited edit."""
        self.db = db
        if db.is_sqlite:
            self.db_path = Path(db.where)
        self.reader = reader
        self._switch(ReadSession(Read.new(reader=reader), user=reader))

    def open_read(self, uid: str) -> ReadSession:
        """Open a stored read (a worklist case) as the current read."""
        if self.session.pending:
            self.retry_save()
        db = self._database(create=True)
        if db is None:
            raise ReadsDatabaseError(f"No reads database to open the read {uid} from.")
        session = ReadSession(db.load_read(uid), db, stored=True, user=self.reader)
        self._switch(session)
        return session

    def _switch(self, session: ReadSession) -> None:
        self.session = session
        self.undo = ReadUndoStack(session, self)
        self.undo.error.connect(self._show_error)
        self.layer.set_undo(self.undo)
        self.panel.set_undo(self.undo)
        session.changed.connect(self._on_first_edit)
        self._bind_undo_actions()
        self.switched.emit(self.undo)

    def _bind_undo_actions(self) -> None:
        stack = self.undo

        def update() -> None:
            if stack is not self.undo:
                return
            # QUndoStack emits while it is destroyed with its window: nothing left to update.
            with contextlib.suppress(RuntimeError):
                self.undo_action.setEnabled(stack.canUndo())
                self.redo_action.setEnabled(stack.canRedo())
                u, r = stack.undoText(), stack.redoText()
                self.undo_action.setText(f"&Undo {u}".strip())
                self.redo_action.setText(f"&Redo {r}".strip())

        stack.indexChanged.connect(lambda _i: update())
        stack.cleanChanged.connect(lambda _c: update())
        update()

    def _database(self, create: bool) -> ReadsDatabase | None:
        if self.db is not None:
            return self.db
        if not create and not self.db_path.exists():
            return None
        try:
            self.db = ReadsDatabase(self.db_path)
        except ReadsDatabaseError as exc:
            self._show_error(str(exc))
            return None
        return self.db

    def _on_first_edit(self, _events: Any) -> None:
        if self.session.db is not None:
            return
        db = self._database(create=True)
        if db is None:
            return
        try:
            self.session.attach_database(db)
        except ReadSaveError as exc:
            self._show_error(str(exc))

    def retry_save(self) -> bool:
        ok = self.session.retry_save()
        if ok:
            self.window.statusBar().showMessage("Read saved.", 5000)
        return ok

    def _lesion_selected(self, lesion_uid: str) -> None:
        self.layer.active_lesion = lesion_uid

    def _available_series(self) -> set[str] | None:
        """Series UIDs in the study store, when the window has one (else not checked)."""
        index = getattr(self.window, "index", None) or getattr(self.window, "study_index", None)
        fn = getattr(index, "series_instance_uids", None)
        if callable(fn):
            try:
                return set(fn())
            except Exception:  # noqa: BLE001 - the store being unavailable is not fatal here
                return None
        return None

    # --- errors ----------------------------------------------------------------------------
    def _show_error(self, message: str) -> None:
        self.window.statusBar().showMessage(message.splitlines()[0], 15000)
        self.last_error = message
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen" and os.environ.get(
            "NAMECAR_NO_DIALOGS"
        ):
            return
        # queued: never open a modal dialog from inside a mouse handler or an undo command
        QTimer.singleShot(0, lambda: self._message_box(message))

    def _message_box(self, message: str) -> None:
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Read not saved")
        box.setText(message)
        box.setModal(False)
        box.show()
        self.message_box = box
