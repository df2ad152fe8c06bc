"""The workstation window: study browser dock, a grid of MPR viewports, menus and shortcuts.

Every action lives in a menu and, when frequent, has a PACS-style key; the list shown by
Help > Keyboard shortcuts is built from the same table that creates the actions, so it cannot
drift from what the keys do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import (
    CT_BONE,
    CT_LIVER,
    CT_LUNG,
    CT_MEDIASTINUM,
    CT_SOFT_TISSUE,
    MR_AUTO,
    PET_SUV,
    SliceOrientation,
    WindowPreset,
)
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import preset_text
from namecar_viewer.gui.reading import ReadingController
from namecar_viewer.gui.study_browser import StudyBrowser
from namecar_viewer.gui.viewport import (
    VIEWPORT_COLOURS,
    CrosshairTool,
    PanTool,
    SliceViewport,
    ViewportTool,
    WindowLevelTool,
)
from namecar_viewer.persistence.study_index import StudyIndex

# (rows, columns) of each layout
LAYOUTS: dict[str, tuple[int, int]] = {"1x1": (1, 1), "1x2": (1, 2), "2x2": (2, 2), "1x3": (1, 3)}
# Planes given to the viewports when one volume fills a layout (MPR).
MPR_ORDER = (
    SliceOrientation.AXIAL,
    SliceOrientation.CORONAL,
    SliceOrientation.SAGITTAL,
    SliceOrientation.ACQUISITION,
)


@dataclass(frozen=True)
class ShortcutEntry:
    """One row of the shortcut list: menu (its English name, a key of :data:`MENU_NAMES`),
    action text (as shown, or English marked in the ``Shortcuts`` context) and key."""

    menu: str
    text: str
    key: str


# The menus' names in the shortcut list (translated when shown).
MENU_NAMES = (
    QT_TRANSLATE_NOOP("Shortcuts", "File"),
    QT_TRANSLATE_NOOP("Shortcuts", "Edit"),
    QT_TRANSLATE_NOOP("Shortcuts", "View"),
    QT_TRANSLATE_NOOP("Shortcuts", "Window"),
    QT_TRANSLATE_NOOP("Shortcuts", "Navigate"),
    QT_TRANSLATE_NOOP("Shortcuts", "Tools"),
    QT_TRANSLATE_NOOP("Shortcuts", "Protocols"),
    QT_TRANSLATE_NOOP("Shortcuts", "Review"),
    QT_TRANSLATE_NOOP("Shortcuts", "Help"),
)

# Keys a viewport handles itself (so they do not steal arrows from the study browser).
VIEWPORT_KEYS = (
    ShortcutEntry(
        "Navigate",
        QT_TRANSLATE_NOOP("Shortcuts", "Next slice"),
        QT_TRANSLATE_NOOP("Shortcuts", "Down / Right / wheel down"),
    ),
    ShortcutEntry(
        "Navigate",
        QT_TRANSLATE_NOOP("Shortcuts", "Previous slice"),
        QT_TRANSLATE_NOOP("Shortcuts", "Up / Left / wheel up"),
    ),
    ShortcutEntry(
        "Navigate",
        QT_TRANSLATE_NOOP("Shortcuts", "10 slices forward / back"),
        QT_TRANSLATE_NOOP("Shortcuts", "Page Down / Page Up"),
    ),
    ShortcutEntry(
        "Navigate",
        QT_TRANSLATE_NOOP("Shortcuts", "First / last slice"),
        QT_TRANSLATE_NOOP("Shortcuts", "Home / End"),
    ),
    ShortcutEntry(
        "View",
        QT_TRANSLATE_NOOP("Shortcuts", "Zoom at cursor"),
        QT_TRANSLATE_NOOP("Shortcuts", "Ctrl + wheel"),
    ),
    ShortcutEntry(
        "View", QT_TRANSLATE_NOOP("Shortcuts", "Pan"), QT_TRANSLATE_NOOP("Shortcuts", "Middle drag")
    ),
    ShortcutEntry(
        "Window",
        QT_TRANSLATE_NOOP("Shortcuts", "Window / level"),
        QT_TRANSLATE_NOOP("Shortcuts", "Right drag (horizontal: width, vertical: level)"),
    ),
    ShortcutEntry(
        "Tools",
        QT_TRANSLATE_NOOP("Shortcuts", "Place crosshair"),
        QT_TRANSLATE_NOOP("Shortcuts", "Left click (crosshair tool)"),
    ),
)


def shortcut_text(text: str) -> str:
    """A cell of the shortcut list in the reader's language (texts already translated, such
    as the actions', are returned as they are)."""
    return QCoreApplication.translate("Shortcuts", text)


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: every key of the window, from the action table."""

    def __init__(self, rows: Sequence[ShortcutEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        table = QTableWidget(len(rows), 3, self)
        table.setHorizontalHeaderLabels([self.tr("Menu"), self.tr("Action"), self.tr("Key")])
        for r, e in enumerate(rows):
            for c, v in enumerate((e.menu, e.text, e.key)):
                table.setItem(r, c, QTableWidgetItem(shortcut_text(v)))
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.resizeColumnsToContents()
        self.table = table
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        self._fit(parent)

    def _fit(self, parent: QWidget | None) -> None:
        """Wide enough for every column (the keys are never cut), as tall as the rows or the
        window allows: the dialog fits the main window on any screen."""
        t = self.table
        margins = self.layout().contentsMargins()
        width = (
            t.horizontalHeader().length()
            + t.verticalScrollBar().sizeHint().width()
            + 2 * t.frameWidth()
            + margins.left()
            + margins.right()
            + 4
        )
        height = (
            t.horizontalHeader().sizeHint().height()
            + t.verticalHeader().length()
            + 2 * t.frameWidth()
            + margins.top()
            + margins.bottom()
            + 4
        )
        bound = parent.window().size() if parent is not None else None
        if bound is None or bound.width() < 200:
            screen = self.screen()
            bound = screen.availableGeometry().size() if screen is not None else None
        if bound is not None:
            width = min(width, bound.width() - 40)
            height = min(height, bound.height() - 60)
        self.resize(max(width, 360), max(height, 240))


class MainWindow(QMainWindow):
    """Viewport grid, study browser and every action of the reading viewer."""

    def __init__(self, parent: QWidget | None = None, index: StudyIndex | None = None) -> None:
        super().__init__(parent)
        from namecar_viewer.gui import theme

        theme.ensure_applied()  # dark for the reading room unless View > Theme chose light
        self.setWindowTitle(self.tr("NAMECAR Viewer"))
        # the application passes the persistent index; without one (tests, tools) it is in memory
        self.index = index if index is not None else StudyIndex(":memory:")
        self.state = ViewState()
        self.models = [ViewportModel(name=f"viewport {i + 1}") for i in range(4)]
        self.viewports: list[SliceViewport] = []
        for i, m in enumerate(self.models):
            vp = SliceViewport(m, self.state, colour=VIEWPORT_COLOURS[i])
            vp.activated.connect(self.set_active)
            self.viewports.append(vp)
        # viewports shown inside a grid cell (the fused MRI/PET view): tools reach them too
        self.embedded_viewports: list[SliceViewport] = []
        self.active: SliceViewport = self.viewports[0]
        self.active.active = True
        self.layout_name = "1x3"
        self.volume: Volume | None = None
        self.patient_text: list[str] = []
        self._grid_host = QWidget(self)
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self._grid_host.setStyleSheet("background: #202024;")
        self.setCentralWidget(self._grid_host)
        self.browser = StudyBrowser(self.index, self)
        self.browser.done_typing.connect(self.focus_images)
        self.browser.refresh()
        if not self.browser.studies:
            self.browser.show_message(
                self.tr("No studies yet. File > Import (Ctrl+I) or Open folder.")
            )
        dock = QDockWidget(self.tr("Studies"), self)
        dock.setObjectName("studies_dock")
        dock.setWidget(self.browser)
        dock.setMinimumWidth(320)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.browser_dock = dock
        self.shortcut_rows: list[ShortcutEntry] = []
        self.actions_by_name: dict[str, QAction] = {}
        self.reading = ReadingController(self)
        self._build_menus()
        self.set_layout("1x3")
        # Lesion marking: measurement tools and toolbar, Edit > Undo/Redo, the lesion panel.
        from namecar_viewer.gui.tools.controller import ReadController

        self.reads = ReadController(self)
        self.reading.pet.bind_reads(self.reads)  # SUV values and registration kept with the read
        # Tools > Flag key image (K): more key images than the measured slices (issue 16)
        from namecar_viewer.gui.key_images import install_key_images

        self.key_images = install_key_images(self)
        # RECIST response dock beside the lesion panel, View > Eligibility (issue 5).
        from namecar_viewer.gui.panels.response_panel import install_response_dock

        self.response = install_response_dock(self)
        # Central review (login, worklist, signing, audit, adjudication): set_review after login.
        self.review: Any = None
        self.statusBar().showMessage(self.tr("Ready"))

    def focus_images(self) -> None:
        """Give the keyboard to the active viewport (where single-key shortcuts belong)."""
        self.active.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # focus starts on the images, never in a search field
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self.focus_images)

    def set_review(self, context: Any) -> Any:
        """Bind the window to the logged-in user and the reads database (gui/login.py):
        Review menu, user and role in the status bar, signed-read banner."""
        from namecar_viewer.gui.signing import install_review

        self.review = install_review(self, context)
        return self.review

    # --- actions ---------------------------------------------------------------------------
    def _act(
        self,
        menu: Any,
        menu_name: str,
        name: str,
        text: str,
        slot: Callable[[], Any],
        key: str | QKeySequence.StandardKey | None = None,
        checkable: bool = False,
        group: QActionGroup | None = None,
    ) -> QAction:
        act = QAction(text, self)
        if key is not None:
            seq = QKeySequence(key)
            act.setShortcut(seq)
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.shortcut_rows.append(
                ShortcutEntry(
                    menu_name,
                    text.replace("&", ""),
                    seq.toString(QKeySequence.SequenceFormat.NativeText),
                )
            )
        act.setCheckable(checkable)
        if group is not None:
            group.addAction(act)
        act.triggered.connect(lambda _checked=False: slot())
        menu.addAction(act)
        self.addAction(act)
        self.actions_by_name[name] = act
        return act

    def menu_named(self, name: str) -> Any:
        """The menu bar's menu of this object name (``menu_file``, ``menu_edit``...), or None."""
        for act in self.menuBar().actions():
            m = act.menu()
            if m is not None and m.objectName() == name:
                return m
        return None

    def _menu(self, name: str, title: str) -> Any:
        m = self.menuBar().addMenu(title)
        m.setObjectName(name)
        return m

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = self._menu("menu_file", self.tr("&File"))
        self._act(f, "File", "open", self.tr("&Open folder..."), self._open_dialog, "Ctrl+O")
        self._act(
            f,
            "File",
            "import",
            self.tr("&Import studies (folder, DICOMDIR, zip)..."),
            self.reading.show_import_dialog,
            "Ctrl+I",
        )
        self._act(
            f,
            "File",
            "save_screenshot",
            self.tr("Save &screenshot..."),
            self._save_screenshot_dialog,
            "Ctrl+Shift+S",
        )
        f.addSeparator()
        self._act(
            f,
            "File",
            "pacs_qr",
            self.tr("Query/&Retrieve from PACS..."),
            self.show_pacs_dialog,
            "Ctrl+Shift+R",
        )
        self._act(f, "File", "pacs_nodes", self.tr("PACS &nodes..."), self.show_pacs_nodes, None)
        f.addSeparator()
        self._act(f, "File", "quit", self.tr("&Quit"), self.close, "Ctrl+Q")

        v = self._menu("menu_view", self.tr("&View"))
        lay_group = QActionGroup(self)
        for n, name in enumerate(LAYOUTS):
            a = self._act(
                v,
                "View",
                f"layout_{name}",
                self.tr("Layout {name}").format(name=name),
                lambda nm=name: self.set_layout(nm),
                f"Ctrl+{n + 1}",
                True,
                lay_group,
            )
            a.setChecked(name == self.layout_name)
        v.addSeparator()
        or_group = QActionGroup(self)
        for o, key in (
            (SliceOrientation.AXIAL, "Shift+A"),
            (SliceOrientation.CORONAL, "Shift+C"),
            (SliceOrientation.SAGITTAL, "Shift+S"),
            (SliceOrientation.ACQUISITION, "Shift+N"),
        ):
            label = {
                SliceOrientation.ACQUISITION: self.tr("Acquisition plane (native)"),
                SliceOrientation.AXIAL: self.tr("Axial"),
                SliceOrientation.CORONAL: self.tr("Coronal"),
                SliceOrientation.SAGITTAL: self.tr("Sagittal"),
            }[o]
            self._act(
                v,
                "View",
                f"plane_{o.value}",
                label,
                lambda o=o: self._set_orientation(o),
                key,
                True,
                or_group,
            )
        self._act(
            v,
            "View",
            "mpr",
            self.tr("Load active series as &MPR in all viewports"),
            self._mpr_from_active,
            "M",
        )
        v.addSeparator()
        self._act(v, "View", "fit", self.tr("Zoom to &fit"), lambda: self.active.fit(), "F")
        self._act(
            v,
            "View",
            "one_to_one",
            self.tr("Zoom 1:1 (one screen pixel per image pixel)"),
            lambda: self.active.one_to_one(),
            "Ctrl+0",
        )
        self._act(
            v, "View", "zoom_in", self.tr("Zoom in"), lambda: self.active.zoom_by(1.25), "Ctrl+="
        )
        self._act(
            v, "View", "zoom_out", self.tr("Zoom out"), lambda: self.active.zoom_by(0.8), "Ctrl+-"
        )
        self._act(
            v,
            "View",
            "reset",
            self.tr("&Reset view (fit and default window)"),
            self._reset_view,
            "R",
        )
        v.addSeparator()
        a = self._act(
            v, "View", "overlays", self.tr("Show text &overlays"), self._toggle_overlays, "O", True
        )
        a.setChecked(True)
        a = self._act(
            v,
            "View",
            "reference_lines",
            self.tr("Show cross-reference &lines"),
            self._toggle_reference_lines,
            "L",
            True,
        )
        a.setChecked(True)
        a = self._act(
            v,
            "View",
            "crosshair_visible",
            self.tr("Show crosshair"),
            self._toggle_crosshair,
            "Shift+X",
            True,
        )
        a.setChecked(True)
        self._act(
            v,
            "View",
            "blinded",
            self.tr("&Blinded mode (hide patient and study text)"),
            self._toggle_blinded,
            "Ctrl+B",
            True,
        )
        self._act(v, "View", "browser", self.tr("Show study &browser"), self._toggle_browser, "F2")
        self._build_theme_menu(v)
        self._act(
            v,
            "View",
            "mri_pet_layout",
            self.tr("MRI-&PET layout (MRI, PET in SUV, fusion, MIP)"),
            self._open_mri_pet_layout,
        )

        w = self._menu("menu_window", self.tr("&Window"))
        presets: list[tuple[WindowPreset, str]] = [
            (CT_SOFT_TISSUE, "1"),
            (CT_LUNG, "2"),
            (CT_BONE, "3"),
            (CT_LIVER, "4"),
            (CT_MEDIASTINUM, "5"),
            (MR_AUTO, "6"),
            (PET_SUV, "7"),
        ]
        for preset, key in presets:
            label = preset_text(preset.name)
            if preset.window is not None:
                label += self.tr(" (W {width} / L {level})").format(
                    width=i18n.num(preset.window.width, 0), level=i18n.num(preset.window.center, 0)
                )
            self._act(
                w, "Window", f"preset_{key}", label, lambda p=preset: self._apply_preset(p), key
            )
        w.addSeparator()
        self._act(w, "Window", "invert", self.tr("&Invert grey scale"), self._invert, "I")
        for e in VIEWPORT_KEYS:
            if e.menu == "Window":
                self._hint(w, e)

        n = self._menu("menu_navigate", self.tr("&Navigate"))
        self._act(
            n,
            "Navigate",
            "next",
            self.tr("Next slice") + "\t" + self.tr("Down"),
            lambda: self.active.model.scroll(1),
        )
        self._act(
            n,
            "Navigate",
            "prev",
            self.tr("Previous slice") + "\t" + self.tr("Up"),
            lambda: self.active.model.scroll(-1),
        )
        self._act(
            n,
            "Navigate",
            "page_down",
            self.tr("10 slices forward") + "\t" + self.tr("Page Down"),
            lambda: self.active.model.scroll(10),
        )
        self._act(
            n,
            "Navigate",
            "page_up",
            self.tr("10 slices back") + "\t" + self.tr("Page Up"),
            lambda: self.active.model.scroll(-10),
        )
        self._act(
            n,
            "Navigate",
            "first",
            self.tr("First slice") + "\t" + self.tr("Home"),
            lambda: self.active.model.set_index(0),
        )
        self._act(
            n,
            "Navigate",
            "last",
            self.tr("Last slice") + "\t" + self.tr("End"),
            lambda: self.active.model.set_index(self.active.model.count - 1),
        )
        self._act(
            n,
            "Navigate",
            "cine",
            self.tr("&Cine play / pause"),
            lambda: self.active.toggle_cine(),
            "C",
        )
        self._act(
            n, "Navigate", "next_viewport", self.tr("Next viewport"), self._next_viewport, "Tab"
        )
        # the phases, b-values or echoes of a 4D series, at the slice the reader is on
        self._act(
            n,
            "Navigate",
            "next_volume",
            self.tr("Next volume of the series"),
            lambda: self.reading.volumes.step(self.active, 1),
            "Ctrl+Right",
        )
        self._act(
            n,
            "Navigate",
            "prev_volume",
            self.tr("Previous volume of the series"),
            lambda: self.reading.volumes.step(self.active, -1),
            "Ctrl+Left",
        )
        self._act(
            n,
            "Navigate",
            "play_volumes",
            self.tr("Play the volumes of the series / stop"),
            lambda: self.reading.volumes.toggle_play(self.active),
            "Ctrl+Shift+C",
        )
        for e in VIEWPORT_KEYS:
            if e.menu == "Navigate":
                self.shortcut_rows.append(e)

        t = self._menu("menu_tools", self.tr("&Tools"))
        tg = QActionGroup(self)
        a = self._act(
            t,
            "Tools",
            "tool_crosshair",
            self.tr("&Crosshair (click places the linked point)"),
            lambda: self.set_tool(CrosshairTool),
            "X",
            True,
            tg,
        )
        a.setChecked(True)
        self._act(
            t,
            "Tools",
            "tool_pan",
            self.tr("&Pan (left drag)"),
            lambda: self.set_tool(PanTool),
            "P",
            True,
            tg,
        )
        self._act(
            t,
            "Tools",
            "tool_window",
            self.tr("&Window/level (left drag)"),
            lambda: self.set_tool(WindowLevelTool),
            "W",
            True,
            tg,
        )
        for e in VIEWPORT_KEYS:
            if e.menu in ("Tools", "View"):
                self.shortcut_rows.append(e)

        self.reading.add_menus(mb)
        h = self._menu("menu_help", self.tr("&Help"))
        self._act(
            h,
            "Help",
            "shortcuts",
            self.tr("&Keyboard shortcuts"),
            self.show_shortcuts,
            "F1",
        )
        self._build_language_menu(h)
        self._act(h, "Help", "about", self.tr("&About"), self._about)

    def _build_language_menu(self, help_menu: Any) -> None:
        """Help > Language: the system's, English or French; remembered, used at next start."""
        menu = help_menu.addMenu(self.tr("&Language"))
        menu.setObjectName("menu_language")
        group = QActionGroup(self)
        saved = i18n.saved_language()
        choices = [("", self.tr("System default"))] + [
            (code, name) for code, name in i18n.LANGUAGES.items()
        ]
        for code, label in choices:
            act = self._act(
                menu,
                "Help",
                f"language_{code or 'system'}",
                label,
                lambda c=code: self.choose_language(c),
                None,
                True,
                group,
            )
            act.setChecked(code == saved)

    def _build_theme_menu(self, view_menu: Any) -> None:
        """View > Theme: dark (reading room, the default) or light; applied at once, remembered."""
        from namecar_viewer.gui import theme

        menu = view_menu.addMenu(self.tr("&Theme"))
        menu.setObjectName("menu_theme")
        group = QActionGroup(self)
        for name, label in theme.THEMES.items():
            act = self._act(
                menu,
                "View",
                f"theme_{name}",
                QCoreApplication.translate("Theme", label),
                lambda n=name: self.choose_theme(n),
                None,
                True,
                group,
            )
            act.setChecked(name == theme.current())

    def choose_theme(self, name: str) -> None:
        """Apply the dark or light theme now and remember it for the next start."""
        from namecar_viewer.gui import theme

        theme.save_theme(name)
        theme.apply(name)
        act = self.actions_by_name.get(f"theme_{name}")
        if act is not None:
            act.setChecked(True)

    def choose_language(self, code: str) -> str:
        """Remember the language (``""``: the system's) for the next start; returns the note
        shown in the status bar."""
        i18n.save_language(code)
        lang = code or i18n.system_language()
        name = i18n.LANGUAGES.get(lang, lang)
        if lang == i18n.language():
            note = self.tr("Language: {name}.").format(name=name)
        else:
            note = self.tr("Language: {name}, from the next start of the workstation.").format(
                name=name
            )
        self.statusBar().showMessage(note, 15000)
        return note

    def _hint(self, menu: Any, e: ShortcutEntry) -> None:
        act = QAction(f"{shortcut_text(e.text)}\t{shortcut_text(e.key)}", self)
        act.setEnabled(False)
        menu.addAction(act)
        self.shortcut_rows.append(e)

    # --- layout and viewports --------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        """Arrange the viewport grid (1x1, 1x2, 2x2, 1x3)."""
        rows, cols = LAYOUTS[name]
        self.layout_name = name
        for vp in self.viewports:
            self._grid.removeWidget(vp)
            vp.hide()
            vp.model.shown = False
        for n in range(rows * cols):
            vp = self.viewports[n]
            self._grid.addWidget(vp, n // cols, n % cols)
            vp.model.shown = True
            vp.show()
        self.state.planes_changed.emit()
        for r in range(2):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(3):
            self._grid.setColumnStretch(c, 1 if c < cols else 0)
        act = self.actions_by_name.get(f"layout_{name}")
        if act is not None:
            act.setChecked(True)
        if self.active not in self.visible_viewports():
            self.set_active(self.viewports[0])
        if self.volume is not None:
            self._fill_empty_viewports()

    def visible_viewports(self) -> list[SliceViewport]:
        rows, cols = LAYOUTS[self.layout_name]
        return self.viewports[: rows * cols]

    def set_active(self, vp: SliceViewport) -> None:
        for other in self.viewports:
            other.active = other is vp
            other.update()
        self.active = vp
        act = self.actions_by_name.get(f"plane_{vp.model.orientation.value}")
        if act is not None:
            act.setChecked(True)

    def _next_viewport(self) -> None:
        vis = self.visible_viewports()
        i = vis.index(self.active) if self.active in vis else -1
        nxt = vis[(i + 1) % len(vis)]
        self.set_active(nxt)
        nxt.setFocus()

    def tool_hosts(self) -> list[SliceViewport]:
        """Every viewport a tool is installed on: the grid's and those embedded in a cell."""
        return self.viewports + [v for v in self.embedded_viewports if v not in self.viewports]

    def set_tool(self, tool_type: type[ViewportTool]) -> None:
        for vp in self.tool_hosts():
            vp.set_tool(tool_type())

    def show_volume(
        self, volume: Volume, title: str = "", patient_text: Sequence[str] = ()
    ) -> None:
        """Show ``volume`` as MPR in the viewports (axial, coronal, sagittal, native)."""
        self.volume = volume
        self.volume_title = title
        self.patient_text = list(patient_text)
        for i, vp in enumerate(self.viewports):
            vp.patient_text = self.patient_text
            vp.model.set_volume(volume, MPR_ORDER[i], title)
        self.set_active(self.active)

    def _fill_empty_viewports(self) -> None:
        for i, vp in enumerate(self.visible_viewports()):
            if vp.model.volume is None and vp.model.error is None and self.volume is not None:
                vp.patient_text = self.patient_text
                vp.model.set_volume(self.volume, MPR_ORDER[i], getattr(self, "volume_title", ""))

    def show_error(self, message: str, title: str = "") -> None:
        """Put a load failure's reason in the active viewport (never an empty black square)."""
        self.active.model.set_error(message, title)
        self.statusBar().showMessage(
            self.tr("Cannot load {title}: {reason}").format(title=title, reason=message)
        )

    def _set_orientation(self, o: SliceOrientation) -> None:
        self.active.model.set_orientation(o)

    def _mpr_from_active(self) -> None:
        vol = self.active.model.volume
        if vol is not None:
            self.show_volume(vol, self.active.model.title, self.active.patient_text)

    def _reset_view(self) -> None:
        m = self.active.model
        if m.volume is not None:
            from namecar_viewer.core.geometry.reslice import default_display

            wl, inv = default_display(m.volume)
            m.set_window(wl, inv)
        self.active.fit()

    def _apply_preset(self, preset: WindowPreset) -> None:
        self.active.model.apply_preset(preset)

    def _invert(self) -> None:
        m = self.active.model
        m.set_invert(not m.invert)

    def _toggle_overlays(self) -> None:
        self.state.set_flags(overlays=not self.state.show_overlays)

    def _toggle_reference_lines(self) -> None:
        self.state.set_flags(reference_lines=not self.state.show_reference_lines)

    def _toggle_crosshair(self) -> None:
        self.state.set_flags(crosshair=not self.state.show_crosshair)

    def _toggle_blinded(self) -> None:
        self.state.set_blinded(not self.state.blinded)
        self.browser.set_blinded(self.state.blinded)

    def _open_mri_pet_layout(self) -> None:
        from namecar_viewer.gui.fusion import open_mri_pet_layout

        open_mri_pet_layout(self)

    def _toggle_browser(self) -> None:
        self.browser_dock.setVisible(not self.browser_dock.isVisible())

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self.shortcut_rows, self)
        dlg.show()
        return dlg

    def _about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("NAMECAR Viewer"),
            self.tr("NAMECAR Viewer: imaging review workstation for the NAMECAR trial."),
        )

    # --- studies ---------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Open folder"))
        if path:
            self.open_paths([path])

    def show_pacs_dialog(self) -> Any:
        """File > Query/Retrieve: what arrives is indexed and opened like an opened folder."""
        from namecar_viewer.gui.pacs import QueryRetrieveDialog
        from namecar_viewer.gui.pacs.qr_dialog import default_store
        from namecar_viewer.pacs import NodeSettings, PacsError

        try:
            settings = NodeSettings.load()
        except PacsError as exc:
            self.show_error(i18n.error_text(exc), self.tr("PACS nodes"))
            return None
        dlg = QueryRetrieveDialog(settings, default_store(), self)
        dlg.retrieved.connect(lambda folders: self.open_paths([str(p) for p in folders]))
        dlg.show()
        return dlg

    def show_pacs_nodes(self) -> Any:
        from namecar_viewer.gui.pacs import NodesDialog
        from namecar_viewer.pacs import NodeSettings, PacsError

        try:
            settings = NodeSettings.load()
        except PacsError as exc:
            self.show_error(
                self.tr("{reason}; starting from empty settings").format(
                    reason=i18n.error_text(exc)
                ),
                self.tr("PACS nodes"),
            )
            settings = NodeSettings()
        dlg = NodesDialog(settings, None, self)
        dlg.show()
        return dlg

    def _save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save screenshot"), "namecar.png", self.tr("PNG image (*.png)")
        )
        if path:
            self.grab().save(path, "PNG")

    def open_paths(self, paths: Sequence[str]) -> None:
        """Index ``paths`` in place, list them and show the first loadable series as MPR."""
        self.reading.open_paths(paths)

    def load_stack_id(self, stack_id: int, vp: SliceViewport | None = None) -> None:
        """Load a stack of the study index into a viewport (the active one) in the background."""
        self.reading.load_into(vp if vp is not None else self.active, stack_id)
