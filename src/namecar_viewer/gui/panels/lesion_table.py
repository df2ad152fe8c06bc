"""The lesion panel: lesions x timepoints, the checks beside each lesion, navigation to a lesion.

Selecting a cell moves every viewport to that lesion at that timepoint.  When the lesion has no
measurement there yet (a follow-up to re-measure), "Go to lesion" jumps to its last known
location mapped into the follow-up's frame of reference through the view state's transform
between frames (a registration or a manual offset); without one the same patient coordinates
are used and the status line says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.read_session import (
    ChangeRole,
    ChangeSite,
    CreateLesion,
    DeleteLesion,
    RelabelLesion,
    SetLesionFlags,
    SetStatus,
    next_lesion,
)
from namecar_viewer.core.measure import MeasurementKind
from namecar_viewer.core.reads import (
    LesionRole,
    LesionStatus,
    Read,
    ReadTimepoint,
    ReadWarning,
    Site,
    baseline_warnings,
    missing_series_warnings,
)
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import enum_text, kind_text, lesion_role_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.undo import ReadUndoStack

translate = QCoreApplication.translate

FIXED_COLUMNS = (
    QT_TRANSLATE_NOOP("LesionTablePanel", "Lesion"),
    QT_TRANSLATE_NOOP("LesionTablePanel", "Role"),
    QT_TRANSLATE_NOOP("LesionTablePanel", "Site"),
)
_WARN_BG = QColor(90, 60, 20)
_ERROR_BG = QColor(100, 30, 30)


@dataclass(frozen=True)
class LesionLocation:
    """Where to show a lesion: an LPS point in a frame of reference, and where it came from."""

    point: npt.NDArray[np.float64]
    frame_of_reference_uid: str | None
    from_timepoint: str  # label of the timepoint whose measurement gave the point
    exact: bool  # measured at the requested timepoint itself


def status_text(status: LesionStatus | None) -> str:
    """A lesion status as the table writes it (``unequivocal progression``), translated."""
    if status is None:
        return ""
    return enum_text(status).replace("_", " ")


def cell_text(a: Any) -> str:
    """:meth:`Assessment.cell_text` in the reader's language (decimal comma in French)."""
    parts: list[str] = []
    m = a.measurement
    if m is not None:
        if m.short_axis_mm is not None:
            parts.append(
                i18n.fmt(
                    "{long:.1f} x {short:.1f} mm",
                    long=float(m.long_axis_mm),
                    short=float(m.short_axis_mm),
                )
            )
        else:
            parts.append(i18n.fmt("{long:.1f} mm", long=float(m.long_axis_mm)))
    elif a.measurements:
        # marked without a diameter (a non-target shown by a point or an arrow): present
        kinds = sorted({x.kind.value for x in a.measurements})
        parts.append(
            translate("LesionTablePanel", "marked ({kinds})").format(
                kinds=", ".join(kind_text(k) for k in kinds)
            )
        )
    if a.status is not None:
        parts.append(status_text(a.status))
    return " / ".join(parts)


def lesion_location(read: Read, lesion_uid: str, timepoint_uid: str) -> LesionLocation | None:
    """The lesion's measurement at the timepoint, else its latest earlier (or any) location."""
    wanted = read.timepoint(timepoint_uid)
    order = list(read.ordered_timepoints())

    def at(tp: ReadTimepoint) -> LesionLocation | None:
        ms = [
            lm.measurement
            for lm in read.measurements
            if lm.lesion_uid == lesion_uid and lm.timepoint_uid == tp.uid
        ]
        if not ms:
            return None
        m = ms[0]
        return LesionLocation(
            np.asarray(m.centre, dtype=np.float64),
            m.frame_of_reference_uid,
            tp.label,
            tp.uid == wanted.uid,
        )

    own = at(wanted)
    if own is not None:
        return own
    idx = order.index(wanted) if wanted in order else len(order)
    for tp in [*reversed(order[:idx]), *order[idx + 1 :]]:
        loc = at(tp)
        if loc is not None:
            return loc
    return None


def show_lesion_measurements(
    read: Read,
    lesion_uid: str,
    state: Any,
    viewport_models: list[Any],
    except_study: str | None = None,
) -> int:
    """Each viewport showing a timepoint where the lesion is measured goes to the slice of that
    measurement (the priors' calipers drawn beside the current CT), without moving the others
    (linked scrolling held meanwhile); returns how many moved."""
    by_study: dict[str, Any] = {}
    for lm in read.measurements:
        if lm.lesion_uid != lesion_uid or lm.timepoint_uid is None:
            continue
        try:
            tp = read.timepoint(lm.timepoint_uid)
        except KeyError:
            continue
        if tp.study_instance_uid is None or tp.study_instance_uid == except_study:
            continue
        have = by_study.get(tp.study_instance_uid)
        if have is None or have.kind not in (MeasurementKind.LINE, MeasurementKind.BIDIRECTIONAL):
            by_study[tp.study_instance_uid] = lm.measurement
    moved = 0
    linked = getattr(state, "link_scrolling", False)
    if hasattr(state, "link_scrolling"):
        state.link_scrolling = False
    try:
        for model in viewport_models:
            vol = model.volume
            m = by_study.get(vol.study_instance_uid) if vol is not None else None
            if m is None or (
                m.frame_of_reference_uid
                and model.frame_of_reference_uid
                and m.frame_of_reference_uid != model.frame_of_reference_uid
            ):
                continue
            model.move_to_point(np.asarray(m.centre, dtype=np.float64))
            moved += 1
    finally:
        if hasattr(state, "link_scrolling"):
            state.link_scrolling = linked
    return moved


def navigate_to_lesion(
    read: Read,
    lesion_uid: str,
    timepoint_uid: str,
    state: Any,
    viewport_models: list[Any],
) -> str:
    """Move the viewports to the lesion at the timepoint; returns the status-line text."""
    les = read.lesion(lesion_uid)
    tp = read.timepoint(timepoint_uid)
    loc = lesion_location(read, lesion_uid, timepoint_uid)
    if loc is None:
        return translate(
            "LesionTablePanel", "{label} has no measurement yet: nothing to go to."
        ).format(label=les.label)
    targets = [
        m
        for m in viewport_models
        if m.volume is not None
        and tp.study_instance_uid is not None
        and m.volume.study_instance_uid == tp.study_instance_uid
    ]
    dest_for = targets[0].frame_of_reference_uid if targets else loc.frame_of_reference_uid
    point = loc.point
    note = ""
    if not loc.exact and dest_for != loc.frame_of_reference_uid:
        mapped = None
        if hasattr(state, "map_point"):
            mapped = state.map_point(point, loc.frame_of_reference_uid, dest_for)
        if mapped is None:
            note = translate(
                "LesionTablePanel",
                " (no transform between the {a} and {b} frames of reference: same patient "
                "coordinates used; set an offset to link them)",
            ).format(a=loc.from_timepoint, b=tp.label)
        else:
            point = np.asarray(mapped, dtype=np.float64)
            note = translate("LesionTablePanel", " (mapped from {label})").format(
                label=loc.from_timepoint
            )
    state.set_crosshair(point, dest_for)
    # every other timepoint on screen shows its own measurement of the lesion
    show_lesion_measurements(read, lesion_uid, state, viewport_models, tp.study_instance_uid)
    where = (
        ""
        if targets
        else translate("LesionTablePanel", "; the {label} study is not on screen").format(
            label=tp.label
        )
    )
    if loc.exact:
        return translate("LesionTablePanel", "{label} at {timepoint}{where}.").format(
            label=les.label, timepoint=tp.label, where=where
        )
    return translate("LesionTablePanel", "{label}: last seen at {timepoint}{note}{where}.").format(
        label=les.label, timepoint=loc.from_timepoint, note=note, where=where
    )


class LesionTablePanel(QWidget):
    """Lesions x timepoints with the measurements, statuses and checks of the read."""

    navigated = Signal(str)  # status text after a navigation

    def __init__(
        self,
        undo: ReadUndoStack,
        state: Any = None,
        viewport_models: Callable[[], list[Any]] | None = None,
        available_series: Callable[[], set[str] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.undo = undo
        self.state = state
        self.viewport_models = viewport_models or (lambda: [])
        self.available_series = available_series or (lambda: None)
        self.warnings: list[ReadWarning] = []
        self._rows: list[str] = []
        self._cols: list[str] = []
        self._building = False
        self.table = QTableWidget(self)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.currentCellChanged.connect(self._on_current)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.go_button = QPushButton(self.tr("Go to lesion"), self)
        self.go_button.clicked.connect(self.go_to_current)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.go_button)
        top.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        self._connect()
        self.rebuild()

    def _connect(self) -> None:
        self.undo.session.changed.connect(self._on_changed)

    def set_undo(self, undo: ReadUndoStack) -> None:
        self.undo = undo
        self._connect()
        self.rebuild()

    def _on_changed(self, _events: Any) -> None:
        self.rebuild()

    @property
    def read(self) -> Read:
        r: Read = self.undo.session.read
        return r

    # --- content ---------------------------------------------------------------------------
    def timepoint_header(self, tp: ReadTimepoint) -> str:
        blinded = bool(getattr(self.state, "blinded", False))
        base = self.read.baseline()
        if tp.date is None:
            return tp.label
        if blinded:
            if base is not None and base.date is not None:
                return self.tr("{label}\nday {n}").format(
                    label=tp.label, n=(tp.date - base.date).days
                )
            return tp.label
        return f"{tp.label}\n{i18n.date_text(tp.date)}"

    def rebuild(self) -> None:
        read = self.read
        self._building = True
        try:
            current = self.current_cell()
            tps = list(read.ordered_timepoints())
            self._rows = [les.uid for les in read.lesions]
            self._cols = [tp.uid for tp in tps]
            self.warnings = baseline_warnings(read)
            avail = self.available_series()
            gone: dict[tuple[str, str], list[str]] = {}  # (lesion, timepoint) -> series gone
            if avail is not None:
                self.warnings += missing_series_warnings(read, avail)
                for lm in read.measurements:
                    suid = lm.measurement.series_instance_uid
                    if suid and suid not in avail and lm.lesion_uid and lm.timepoint_uid:
                        gone.setdefault((lm.lesion_uid, lm.timepoint_uid), []).append(suid)
            t = self.table
            t.clear()
            t.setRowCount(len(read.lesions))
            headers = [
                *(self.tr(c) for c in FIXED_COLUMNS),
                *(self.timepoint_header(tp) for tp in tps),
                self.tr("Checks"),
            ]
            t.setColumnCount(len(headers))
            t.setHorizontalHeaderLabels(headers)
            for r, les in enumerate(read.lesions):
                site = enum_text(les.site) + (f" {les.station}" if les.station else "")
                flags = []
                if les.nodal:
                    flags.append(self.tr("node"))
                if les.is_primary_renal:
                    flags.append(self.tr("primary"))
                if flags:
                    site += f" ({', '.join(flags)})"
                for c, text in enumerate((les.label, lesion_role_text(les.role), site)):
                    t.setItem(r, c, QTableWidgetItem(text))
                for c, tp in enumerate(tps):
                    a = read.assessment(les.uid, tp.uid)
                    item = QTableWidgetItem(cell_text(a))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    missing = gone.get((les.uid, tp.uid))
                    if missing:
                        # kept with its numbers, flagged: its images are no longer in the store
                        item.setBackground(QBrush(_ERROR_BG))
                        item.setForeground(QBrush(QColor(255, 235, 235)))
                        item.setToolTip(
                            self.tr(
                                "Series no longer in the store: {series}. The measurement is "
                                "kept; its images cannot be shown."
                            ).format(series=", ".join(sorted(set(missing))))
                        )
                    t.setItem(r, len(FIXED_COLUMNS) + c, item)
                mine = [w for w in self.warnings if w.lesion_uid == les.uid]
                item = QTableWidgetItem("; ".join(app_text(w.message) for w in mine))
                if mine:
                    item.setToolTip("\n".join(warning_text(w) for w in mine))
                    bg = _ERROR_BG if any(w.severity.value == "error" for w in mine) else _WARN_BG
                    item.setBackground(QBrush(bg))
                    first = t.item(r, 0)
                    if first is not None:
                        first.setBackground(QBrush(bg))
                t.setItem(r, len(headers) - 1, item)
            hh = t.horizontalHeader()
            for c in range(len(headers) - 1):
                hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
            hh.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
            t.resizeRowsToContents()
            general = [w for w in self.warnings if w.lesion_uid is None]
            self.status.setText("\n".join(warning_text(w) for w in general))
            if current is not None and current[0] in self._rows:
                r = self._rows.index(current[0])
                c = (
                    len(FIXED_COLUMNS) + self._cols.index(current[1])
                    if current[1] in self._cols
                    else 0
                )
                t.setCurrentCell(r, c)
        finally:
            self._building = False

    def warnings_for(self, label: str) -> list[ReadWarning]:
        return [w for w in self.warnings if w.lesion_label == label]

    # --- selection and navigation ----------------------------------------------------------
    def current_cell(self) -> tuple[str, str | None] | None:
        r, c = self.table.currentRow(), self.table.currentColumn()
        if not 0 <= r < len(self._rows):
            return None
        tc = c - len(FIXED_COLUMNS)
        return self._rows[r], self._cols[tc] if 0 <= tc < len(self._cols) else None

    def select_cell(self, lesion_uid: str, timepoint_uid: str) -> None:
        r = self._rows.index(lesion_uid)
        c = len(FIXED_COLUMNS) + self._cols.index(timepoint_uid)
        self.table.setCurrentCell(r, c)

    def show_selected(self, lesion_uid: str, timepoint_uid: str) -> None:
        """Select a cell without navigating (the lesion just measured is the selected one)."""
        if lesion_uid not in self._rows or timepoint_uid not in self._cols:
            return
        building, self._building = self._building, True
        try:
            self.select_cell(lesion_uid, timepoint_uid)
        finally:
            self._building = building

    def _on_current(self, *_: Any) -> None:
        if self._building:
            return
        cell = self.current_cell()
        if cell is not None:
            self.lesion_selected(cell[0])
            if cell[1] is not None:
                self.go_to(cell[0], cell[1])

    def lesion_selected(self, lesion_uid: str) -> None:
        """Hook: the measurement layer makes this the active lesion."""
        return None

    def go_to_current(self) -> None:
        cell = self.current_cell()
        if cell is None:
            return
        tp = cell[1]
        if tp is None and self._cols:
            tp = self._cols[-1]
        if tp is not None:
            self.go_to(cell[0], tp)

    def go_to(self, lesion_uid: str, timepoint_uid: str) -> str:
        if self.state is None:
            return ""
        text = navigate_to_lesion(
            self.read, lesion_uid, timepoint_uid, self.state, self.viewport_models()
        )
        self.navigated.emit(text)
        return text

    # --- editing by context menu -----------------------------------------------------------
    def _context_menu(self, pos: Any) -> None:
        menu = self.build_menu()
        if menu is not None:
            menu.exec(self.table.viewport().mapToGlobal(pos))

    def build_menu(self) -> QMenu | None:
        cell = self.current_cell()
        if cell is None:
            return None
        lesion_uid, tp_uid = cell
        les = self.read.lesion(lesion_uid)
        push = self.undo.push_command
        menu = QMenu(self)
        roles = menu.addMenu(self.tr("Role"))
        for role in LesionRole:
            a = QAction(lesion_role_text(role), menu)
            a.setCheckable(True)
            a.setChecked(role is les.role)
            a.triggered.connect(lambda _c=False, r=role: push(ChangeRole(lesion_uid, r)))
            roles.addAction(a)
        sites = menu.addMenu(self.tr("Site"))
        for site in Site:
            a = QAction(enum_text(site), menu)
            a.setCheckable(True)
            a.setChecked(site is les.site)
            a.triggered.connect(lambda _c=False, s=site: self._set_site(lesion_uid, s))
            sites.addAction(a)
        if tp_uid is not None:
            statuses = menu.addMenu(self.tr("Status at this timepoint"))
            cur = self.read.statuses.get((lesion_uid, tp_uid))
            for st in [*LesionStatus, None]:
                text = self.tr("(none)") if st is None else status_text(st)
                a = QAction(text, menu)
                a.setCheckable(True)
                a.setChecked(st is cur)
                a.triggered.connect(lambda _c=False, s=st: push(SetStatus(lesion_uid, tp_uid, s)))
                statuses.addAction(a)
        a = menu.addAction(self.tr("Relabel..."))
        a.triggered.connect(lambda: self._relabel(lesion_uid))
        a = menu.addAction(self.tr("Lymph node"))
        a.setCheckable(True)
        a.setChecked(les.is_lymph_node)
        a.triggered.connect(lambda c: push(SetLesionFlags(lesion_uid, is_lymph_node=bool(c))))
        a = menu.addAction(self.tr("Primary renal tumour"))
        a.setCheckable(True)
        a.setChecked(les.is_primary_renal)
        a.triggered.connect(lambda c: push(SetLesionFlags(lesion_uid, is_primary_renal=bool(c))))
        if tp_uid is not None:
            menu.addSeparator()
            for role, text in (
                (LesionRole.NON_TARGET, self.tr("New non-target lesion, present here")),
                (LesionRole.NEW, self.tr("New new lesion, present here")),
            ):
                a = menu.addAction(text)
                a.triggered.connect(lambda _c=False, r=role: self.new_lesion_here(r, tp_uid))
        menu.addSeparator()
        a = menu.addAction(self.tr("Delete lesion"))
        a.triggered.connect(lambda: push(DeleteLesion(lesion_uid)))
        return menu

    def new_lesion_here(self, role: LesionRole, timepoint_uid: str) -> str:
        """A lesion recorded by status (present) at a timepoint, to mark or measure next."""
        les = next_lesion(self.read, role, Site.OTHER)
        self.undo.push_command(CreateLesion(les))
        self.undo.push_command(SetStatus(les.uid, timepoint_uid, LesionStatus.PRESENT))
        self.select_cell(les.uid, timepoint_uid)
        return les.uid

    def _set_site(self, lesion_uid: str, site: Site) -> None:
        station = ""
        if site is Site.LYMPH_NODE:
            station, ok = QInputDialog.getText(
                self, self.tr("Lymph-node station"), self.tr("Station (optional):")
            )
            station = station.strip() if ok else ""
        self.undo.push_command(ChangeSite(lesion_uid, site, station))

    def _relabel(self, lesion_uid: str) -> None:
        les = self.read.lesion(lesion_uid)
        text, ok = QInputDialog.getText(
            self, self.tr("Relabel lesion"), self.tr("Label:"), text=les.label
        )
        if ok and text.strip():
            self.undo.push_command(RelabelLesion(lesion_uid, text.strip()))


def warning_text(w: ReadWarning) -> str:
    """``str(w)`` (``T1 baseline: message [rule]``) in the reader's language."""
    where = " ".join(x for x in (w.lesion_label, w.timepoint_label) if x)
    text = f"{app_text(w.message)} [{app_text(w.rule)}]"
    return f"{where}: {text}" if where else text


def days_between(a: dt.date | None, b: dt.date | None) -> int | None:
    return None if a is None or b is None else (b - a).days
