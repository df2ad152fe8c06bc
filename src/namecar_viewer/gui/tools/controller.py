"""Wires lesion marking into the main window: the read of the patient on screen, its undo stack,
the measurement layer on every viewport, the Tools menu and toolbar, Edit > Undo/Redo and the
lesion panel dock.

A read belongs to its reader.  As soon as a series of a patient is shown, the logged-in reader's
*own* read of that patient opens (reopened from the reads database exactly as committed, or a
new one started), never another reader's: File > Open another reader's read shows one view only,
with a banner, and every edit of it is refused by the session itself.  Beside the RECIST read
the reader's ancillary MRI-PET record of the same patient opens too: measurements on the renal
MRI and the PSMA PET go there (see ``app/lesion_assignment.py``).  Edit > Undo undoes the last
edit of whichever of the two was edited last.  The database file is created with the first
edit, so merely viewing images writes nothing.  Location: ``$NAMECAR_READS_DB`` or
``reads.sqlite`` in the user data directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QToolBar,
)

from namecar_viewer.app.read_session import ReadSaveError, ReadSession
from namecar_viewer.core.reads import Read, ReadKind, TimepointRole
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text, error_text
from namecar_viewer.gui.panels.lesion_table import LesionTablePanel
from namecar_viewer.gui.tools.layer import MeasurementLayer
from namecar_viewer.gui.tools.proposals import ProposalFlow, ProposalTool
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

# (tool class, menu text, key); the texts are translated when the actions are made
TOOL_ACTIONS: tuple[tuple[type[MeasureTool], str, str], ...] = (
    (LineTool, QT_TRANSLATE_NOOP("ReadController", "&Line (length)"), "D"),
    (
        BidirectionalTool,
        QT_TRANSLATE_NOOP("ReadController", "&Bidirectional (long and short axis)"),
        "B",
    ),
    (
        SemiAutoTool,
        QT_TRANSLATE_NOOP(
            "ReadController", "Semi-&automatic diameter (click a lesion, Enter accepts)"
        ),
        "A",
    ),
    (EllipseTool, QT_TRANSLATE_NOOP("ReadController", "&Ellipse ROI"), "E"),
    (CircleTool, QT_TRANSLATE_NOOP("ReadController", "C&ircle ROI"), "Shift+E"),
    (PointTool, QT_TRANSLATE_NOOP("ReadController", "P&oint"), "Shift+P"),
    (ArrowTool, QT_TRANSLATE_NOOP("ReadController", "A&rrow"), "Shift+R"),
    (SphereTool, QT_TRANSLATE_NOOP("ReadController", "&Sphere VOI (3D)"), "Shift+V"),
    (
        ProposalTool,
        QT_TRANSLATE_NOOP(
            "ReadController",
            "Proposed &measurements at a follow-up (each lesion found again, Enter accepts)",
        ),
        "G",
    ),
)
# the toolbar's short names of the tools
TOOL_NAMES = {
    "line": QT_TRANSLATE_NOOP("ReadController", "Line"),
    "bidirectional": QT_TRANSLATE_NOOP("ReadController", "Bidirectional"),
    "semi-auto": QT_TRANSLATE_NOOP("ReadController", "Semi-auto"),
    "ellipse": QT_TRANSLATE_NOOP("ReadController", "Ellipse"),
    "circle": QT_TRANSLATE_NOOP("ReadController", "Circle"),
    "point": QT_TRANSLATE_NOOP("ReadController", "Point"),
    "arrow": QT_TRANSLATE_NOOP("ReadController", "Arrow"),
    "sphere": QT_TRANSLATE_NOOP("ReadController", "Sphere"),
    "proposals": QT_TRANSLATE_NOOP("ReadController", "Proposals"),
}

_TIMEPOINT_ROLES = {
    "BASELINE": TimepointRole.PRE_TREATMENT_BASELINE,
    "PRE-TREATMENT": TimepointRole.PRE_TREATMENT_BASELINE,
    "INCLUSION": TimepointRole.INCLUSION,
}


_BANNER_STYLE = "background: #24466e; color: #eef4ff; padding: 4px 10px; font-weight: bold;"


def _menu(menu_bar: Any, name: str) -> Any:
    """The menu of the menu bar with this object name (``menu_edit``...), or None."""
    for act in menu_bar.actions():
        m = act.menu()
        if m is not None and m.objectName() == name:
            return m
    return None


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


def _trial_timepoint(index: Any, stack_id: int) -> str:
    """ClinicalTrialTimePointID of a stack (lower case, as read timepoints are labelled)."""
    try:
        files = index.files_of_stack(stack_id)
        name = files[0].split(" (frame ")[0]
        import pydicom

        ds = pydicom.dcmread(
            name, stop_before_pixels=True, specific_tags=["ClinicalTrialTimePointID"]
        )
        return str(ds.get("ClinicalTrialTimePointID", "") or "").strip().lower()
    except Exception:  # noqa: BLE001 - an unreadable header only means no label
        return ""


class ReadController(QObject):
    """Lesion marking for one main window (duck-typed: viewports, state, menus, status bar)."""

    def __init__(self, window: QMainWindow, db_path: str | Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.db_path = Path(db_path) if db_path is not None else reads_database_path()
        self.db: ReadsDatabase | None = None
        self.reader = reader_name()
        self.session = ReadSession(Read.new(reader=self.reader))
        self.ancillary_session = ReadSession(
            Read.new(reader=self.reader, kind=ReadKind.ANCILLARY_MRI_PET)
        )
        # switched(undo_stack): another read opened; views bound to the read rebind (response).
        from namecar_viewer.app.view_state import Event

        self.switched = Event()
        self.undo = ReadUndoStack(self.session, self)
        self.undo.error.connect(self._show_error)
        self.ancillary_undo = ReadUndoStack(self.ancillary_session, self)
        self.ancillary_undo.error.connect(self._show_error)
        self.edit_stack: ReadUndoStack = self.undo  # Edit > Undo acts on the last edited record
        self.layer = MeasurementLayer(self.undo, stack_info=study_info)
        self.layer.ancillary_undo = self.ancillary_undo
        self.layer.on_message = lambda t: window.statusBar().showMessage(t, 10000)
        self.layer.link_labels = self._recist_labels
        self.layer.on_assigned = lambda les, tp: self.panel.show_selected(les, tp)
        self.session.changed.connect(self._on_first_edit)
        self.ancillary_session.changed.connect(self._on_first_edit)
        self.panel = LesionTablePanel(
            self.undo,
            window.state,  # type: ignore[attr-defined]
            lambda: [vp.model for vp in self.viewports],
            self._available_series,
        )
        self.panel.lesion_selected = self._lesion_selected  # type: ignore[method-assign]
        self.panel.navigated.connect(lambda t: window.statusBar().showMessage(t, 8000))
        self.dock = QDockWidget(self.tr("Lesions"), window)
        self.dock.setObjectName("lesions_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        for vp in self.viewports:
            self.layer.attach(vp)
            vp.model.volume_changed.connect(lambda m=vp.model: self._on_volume(m))
        self.tool_actions: dict[str, QAction] = {}
        self.current_tool: MeasureTool | None = None
        self._study_labels: dict[str, str] = {}
        self._build_actions()
        self._build_banner()
        self._error_shown = False
        # follow-ups: each lesion proposed where it is expected (Tools > Proposed measurements)
        self.proposals = ProposalFlow(self)

    @property
    def viewports(self) -> list[Any]:
        return list(getattr(self.window, "viewports", []))

    # --- menus and toolbar -----------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        mb = w.menuBar()
        edit: Any = _menu(mb, "menu_edit")
        if edit is None:
            from PySide6.QtWidgets import QMenu

            edit = QMenu(self.tr("&Edit"), w)
            edit.setObjectName("menu_edit")
            acts = mb.actions()
            if len(acts) > 1:
                mb.insertMenu(acts[1], edit)  # after File
            else:
                mb.addMenu(edit)
        # Own actions bound to whichever read's stack is current (a new patient, a new stack).
        self.undo_action = QAction(self.tr("&Undo"), w)
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(lambda: self.edit_stack.undo())
        self.redo_action = QAction(self.tr("&Redo"), w)
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.redo_action.triggered.connect(lambda: self.edit_stack.redo())
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            edit.addAction(a)
            w.addAction(a)
        self._bind_undo_actions()
        retry = QAction(self.tr("Retry saving the read"), w)
        retry.triggered.connect(self.retry_save)
        file_menu: Any = _menu(mb, "menu_file") or edit
        before = file_menu.actions()[-1] if file_menu.actions() else None
        file_menu.insertAction(before, retry)
        self.retry_action = retry
        # reads belong to readers: one click to one's own read, others' reads view only
        self.my_read_action = QAction(self.tr("Start &my read of this patient"), w)
        self.my_read_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.my_read_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.my_read_action.triggered.connect(lambda _c=False: self.open_my_read())
        self.other_read_action = QAction(self.tr("Open another reader's read (view only)..."), w)
        self.other_read_action.triggered.connect(lambda _c=False: self.choose_other_read())
        self.add_timepoint_action = QAction(
            self.tr("Add the active study to the RECIST read as a timepoint"), w
        )
        self.add_timepoint_action.triggered.connect(lambda _c=False: self.add_active_timepoint())
        for a in (self.my_read_action, self.other_read_action, self.add_timepoint_action):
            file_menu.insertAction(before, a)
            w.addAction(a)
        file_menu.insertSeparator(before)
        self._register_keys(
            "File", [(self.tr("Start &my read of this patient").replace("&", ""), "Ctrl+Shift+N")]
        )
        self._register_keys(
            "Edit",
            [
                (self.tr("&Undo").replace("&", ""), "Ctrl+Z"),
                (self.tr("&Redo").replace("&", ""), "Ctrl+Shift+Z"),
            ],
        )

        tools_menu: Any = _menu(mb, "menu_tools")
        if tools_menu is None:
            tools_menu = mb.addMenu(self.tr("&Tools"))
            tools_menu.setObjectName("menu_tools")
        tools_menu.addSeparator()
        group = None
        for act in tools_menu.actions():
            if act.actionGroup() is not None:
                group = act.actionGroup()
        if group is None:
            group = QActionGroup(w)
        bar = QToolBar(self.tr("Measurement tools"), w)
        bar.setObjectName("measurement_toolbar")
        w.addToolBar(bar)
        keys = []
        for cls, source, key in TOOL_ACTIONS:
            text = self.tr(source)
            a = QAction(text, w)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setCheckable(True)
            group.addAction(a)
            a.triggered.connect(lambda _c=False, c=cls: self.set_tool(c))
            tools_menu.addAction(a)
            w.addAction(a)
            bar.addAction(a)
            a.setIconText(self.tr(TOOL_NAMES.get(cls.name, cls.name.capitalize())))
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
        """Open this reader's own read of the patient (a new one when there is none yet) and
        their ancillary MRI-PET record; another reader's read is never opened for editing."""
        if self.session.pending or self.ancillary_session.pending:
            self.retry_save()
        self._switch(*self._own_sessions(patient_id))
        others = self.other_reads(patient_id)
        if others:
            names = ", ".join(sorted({i.reader for i in others}))
            self._banner_text(
                self.tr("Your read of this patient ({reader}). Other reads: {names}.").format(
                    reader=self.reader, names=names
                ),
                self.tr("View another reader's read..."),
                self.choose_other_read,
            )
        else:
            self._hide_banner()

    def _own_sessions(self, patient_id: str) -> tuple[ReadSession, ReadSession]:
        db = self._database(create=False)
        out = []
        for kind in (ReadKind.RECIST, ReadKind.ANCILLARY_MRI_PET):
            read: Read | None = None
            if db is not None:
                mine = db.list_reads(patient_id, kind=kind, reader=self.reader)
                if mine:
                    read = db.load_read(mine[-1].uid)
            if read is not None and db is not None:
                out.append(ReadSession(read, db, stored=True, user=self.reader))
            else:
                fresh = Read.new(patient_id=patient_id, reader=self.reader, kind=kind)
                out.append(ReadSession(fresh, user=self.reader))
        return out[0], out[1]

    def other_reads(self, patient_id: str) -> list[Any]:
        """RECIST reads of the patient by other readers (newest last)."""
        db = self._database(create=False)
        if db is None or not patient_id:
            return []
        return [i for i in db.list_reads(patient_id) if i.reader != self.reader]

    def open_my_read(self) -> ReadSession | None:
        """File > Start my read: the reader's own read of the patient on screen, one click."""
        pid = self.session.read.patient_id or self._patient_on_screen()
        if not pid:
            self.window.statusBar().showMessage(
                self.tr(
                    "Open a series of the patient first (double-click it in the study browser)."
                ),
                10000,
            )
            return None
        self.open_patient(pid)
        self.window.statusBar().showMessage(
            self.tr("Your read of {pid}: every edit is yours ({reader}).").format(
                pid=pid, reader=self.reader
            ),
            10000,
        )
        return self.session

    def _patient_on_screen(self) -> str:
        for vp in self.viewports:
            vol = vp.model.volume
            if vol is not None:
                pid = str(study_info(vol).get("patient_id", ""))
                if pid:
                    return pid
        return ""

    def choose_other_read(self) -> ReadSession | None:
        pid = self.session.read.patient_id or self._patient_on_screen()
        others = self.other_reads(pid)
        if not others:
            self.window.statusBar().showMessage(
                self.tr("No other reader has a read of this patient."), 10000
            )
            return None
        readers = {i.reader for i in others}
        if len(readers) == 1:
            return self.view_read(others[-1].uid)  # one other read: nothing to choose
        labels = [f"{i.reader} ({i18n.datetime_text(i.updated_utc)})" for i in others]
        label, ok = QInputDialog.getItem(
            self.window,
            self.tr("Another reader's read"),
            self.tr("Read (view only):"),
            labels,
            0,
            False,
        )
        if not ok:
            return None
        return self.view_read(others[labels.index(label)].uid)

    def view_read(self, uid: str) -> ReadSession:
        """Show another reader's read, view only (the session refuses every edit)."""
        session = self.open_read(uid)
        if session.read_only:
            self._banner_text(
                self.tr("Viewing {reader}'s read: view only, nothing you do changes it.").format(
                    reader=session.read.reader
                ),
                self.tr("Back to my read"),
                self.open_my_read,
            )
        return session

    def add_active_timepoint(self) -> bool:
        """Make the active viewport's study a timepoint of the RECIST read (an MRI read by
        RECIST, when the reader decides so); its measurements then count in the read."""
        from namecar_viewer.app.read_session import AddTimepoint

        vp = getattr(self.window, "active", None)
        vol = getattr(getattr(vp, "model", None), "volume", None)
        if vol is None or vp is None:
            self.window.statusBar().showMessage(self.tr("No study in the active viewport."), 8000)
            return False
        if self.session.read.timepoint_for_study(vol.study_instance_uid) is not None:
            self.window.statusBar().showMessage(
                self.tr("This study is already a timepoint of the RECIST read."), 8000
            )
            return False
        tp = self.layer.timepoint(vp, self.session.read)
        if tp is None:
            return False
        self.undo.push_command(AddTimepoint(tp))
        ok = self.session.read.timepoint_for_study(vol.study_instance_uid) is not None
        if ok:
            self.window.statusBar().showMessage(
                self.tr("{label} ({modality}) is now a timepoint of the RECIST read.").format(
                    label=tp.label, modality=vol.modality
                ),
                10000,
            )
        return ok

    def use_database(self, db: ReadsDatabase, reader: str) -> None:
        """Central review: reads live in ``db`` (SQLite or PostgreSQL) and belong to the
        logged-in ``reader``, who is the user of every audited edit."""
        self.db = db
        if db.is_sqlite:
            self.db_path = Path(db.where)
        self.reader = reader
        pid = self.session.read.patient_id
        if pid:
            self._switch(*self._own_sessions(pid))
        else:
            self._switch(
                ReadSession(Read.new(reader=reader), user=reader),
                ReadSession(Read.new(reader=reader, kind=ReadKind.ANCILLARY_MRI_PET), user=reader),
            )

    def open_read(self, uid: str) -> ReadSession:
        """Open a stored read (a worklist case) as the current read; another reader's read
        opens view only."""
        if self.session.pending:
            self.retry_save()
        db = self._database(create=True)
        if db is None:
            raise ReadsDatabaseError(f"No reads database to open the read {uid} from.")
        session = ReadSession(db.load_read(uid), db, stored=True, user=self.reader)
        if session.read.kind is not ReadKind.RECIST:
            raise ReadsDatabaseError(f"{uid} is an ancillary MRI-PET record, not a RECIST read.")
        ancillary = self._own_sessions(session.read.patient_id)[1]
        self._switch(session, ancillary)
        if not session.read_only:
            self._hide_banner()
        return session

    def _switch(self, session: ReadSession, ancillary: ReadSession | None = None) -> None:
        self.session = session
        self.undo = ReadUndoStack(session, self)
        self.undo.error.connect(self._show_error)
        if ancillary is None:
            ancillary = ReadSession(
                Read.new(
                    patient_id=session.read.patient_id,
                    reader=self.reader,
                    kind=ReadKind.ANCILLARY_MRI_PET,
                ),
                user=self.reader,
            )
        self.ancillary_session = ancillary
        self.ancillary_undo = ReadUndoStack(ancillary, self)
        self.ancillary_undo.error.connect(self._show_error)
        self.edit_stack = self.undo
        self.layer.set_undo(self.undo, self.ancillary_undo)
        self.panel.set_undo(self.undo)
        session.changed.connect(self._on_first_edit)
        ancillary.changed.connect(self._on_first_edit)
        self._bind_undo_actions()
        self.switched.emit(self.undo)

    def _bind_undo_actions(self) -> None:
        for st in (self.undo, self.ancillary_undo):
            self._bind_stack(st)

    def _bind_stack(self, stack: ReadUndoStack) -> None:
        def touched() -> None:
            if stack in (self.undo, self.ancillary_undo):
                self.edit_stack = stack  # the record edited (or undone) last
                self._update_undo_actions()

        stack.indexChanged.connect(lambda _i: touched())
        stack.cleanChanged.connect(lambda _c: self._update_undo_actions())
        self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        # QUndoStack emits while it is destroyed with its window: nothing left to update.
        with contextlib.suppress(RuntimeError):
            stack = self.edit_stack
            if not stack.canUndo() and not stack.canRedo():
                # nothing to undo there: fall back on the other record if it has history
                for other in (self.undo, self.ancillary_undo):
                    if other.canUndo() or other.canRedo():
                        stack = self.edit_stack = other
                        break
            self.undo_action.setEnabled(stack.canUndo())
            self.redo_action.setEnabled(stack.canRedo())
            u, r = app_text(stack.undoText()), app_text(stack.redoText())
            self.undo_action.setText(
                self.tr("&Undo {what}").format(what=u).strip() if u else self.tr("&Undo")
            )
            self.redo_action.setText(
                self.tr("&Redo {what}").format(what=r).strip() if r else self.tr("&Redo")
            )

    def _database(self, create: bool) -> ReadsDatabase | None:
        if self.db is not None:
            return self.db
        if not create and not self.db_path.exists():
            return None
        try:
            self.db = ReadsDatabase(self.db_path)
        except ReadsDatabaseError as exc:
            self._show_error(error_text(exc))
            return None
        return self.db

    def _on_first_edit(self, _events: Any) -> None:
        for session in (self.session, self.ancillary_session):
            if session.db is not None or session.read == Read.new(
                uid=session.read.uid,
                patient_id=session.read.patient_id,
                reader=session.read.reader,
                kind=session.read.kind,
            ):
                continue
            db = self._database(create=True)
            if db is None:
                return
            try:
                session.attach_database(db)
            except ReadSaveError as exc:
                self._show_error(error_text(exc))

    def retry_save(self) -> bool:
        ok = self.session.retry_save() and self.ancillary_session.retry_save()
        if ok:
            self.window.statusBar().showMessage(self.tr("Read saved."), 5000)
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

    def patient_studies(self, patient_id: str) -> list[Any]:
        """The patient's CT studies in the study store, with their trial timepoint labels."""
        from namecar_viewer.app.reading_order import PatientStudy, parse_dicom_date

        index = getattr(self.window, "index", None)
        if index is None or not patient_id:
            return []
        out: dict[str, PatientStudy] = {}
        for row in index.stack_rows(patient_id):
            if row.modality != "CT" or not row.loadable or row.is_localizer:
                continue
            if row.study_instance_uid in out:
                continue
            label = self._study_labels.get(row.study_instance_uid)
            if label is None:
                label = _trial_timepoint(index, row.id) or (
                    row.study_date[:4] + "-" + row.study_date[4:6] + "-" + row.study_date[6:]
                    if len(row.study_date) == 8
                    else row.study_instance_uid
                )
                self._study_labels[row.study_instance_uid] = label
            out[row.study_instance_uid] = PatientStudy(
                row.study_instance_uid, parse_dicom_date(row.study_date), label
            )
        return list(out.values())

    def _recist_labels(self) -> list[str]:
        """RECIST lesions an ancillary lesion can be linked to ("T1 kidney"): the reader's own
        read's, else those of the patient's latest RECIST read (the central reader's)."""
        lesions = self.session.read.lesions
        if not lesions and self.db is not None:
            others = self.other_reads(self.session.read.patient_id)
            if others:
                with contextlib.suppress(KeyError, ReadsDatabaseError):
                    lesions = self.db.load_read(others[-1].uid).lesions
        return [f"{les.label} {les.site.value}" for les in lesions]

    # --- banner: whose read is on screen ---------------------------------------------------
    def _build_banner(self) -> None:
        w = self.window
        self.banner = QLabel("")
        self.banner.setObjectName("read_owner_banner")
        self.banner.setStyleSheet(_BANNER_STYLE)
        self.banner_button = QPushButton("")
        self.banner_button.setObjectName("read_owner_banner_button")
        self._banner_slot: Any = None
        self.banner_button.clicked.connect(lambda _c=False: self._banner_clicked())
        self.banner_bar = QToolBar(self.tr("Read owner"), w)
        self.banner_bar.setObjectName("read_owner_bar")
        self.banner_bar.setMovable(False)
        self.banner_bar.addWidget(self.banner)
        self.banner_bar.addWidget(self.banner_button)
        w.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.banner_bar)
        self.banner_bar.hide()

    def _banner_text(self, text: str, button: str, slot: Any) -> None:
        self.banner.setText(text)
        self.banner_button.setText(button)
        self._banner_slot = slot
        self.banner_bar.show()

    def _hide_banner(self) -> None:
        self.banner_bar.hide()
        self._banner_slot = None

    def _banner_clicked(self) -> None:
        if self._banner_slot is not None:
            self._banner_slot()

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
        box.setWindowTitle(self.tr("Read not saved"))
        box.setText(message)
        box.setModal(False)
        box.show()
        self.message_box = box
