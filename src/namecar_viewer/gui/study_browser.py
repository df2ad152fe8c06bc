"""The study browser: patients > studies > stacks of the local index, with thumbnails and search,
and the import dialog (progress, cancel, what was skipped and why).

Stacks are dragged from here onto a viewport (MIME type :data:`STACK_MIME`, the index's stack
id) or double-clicked.  In blinded mode names are hidden and dates become days from the patient's
first study.
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QObject, QSize, Qt, QThread, Signal
from PySide6.QtGui import QIcon, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.blinding import blinded_subject_label
from namecar_viewer.app.importer import ImportMode, ImportSummary, import_paths
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text, problem_text
from namecar_viewer.persistence.study_index import StackRow, StudyIndex, StudyRow, Thumbnail

STACK_MIME = "application/x-namecar-stack-id"
ICON_SIZE = 48
MODALITIES = ("", "CT", "MR", "PT", "US", "CR", "DX", "NM", "OT")
_STACK_ROLE = Qt.ItemDataRole.UserRole
# on the row of a series of several volumes (phases, b-values, echoes): the volume it opens
_SERIES_ROLE = Qt.ItemDataRole.UserRole + 1
# a series of more volumes than this starts folded (a dynamic study of 40 phases)
FOLDED_VOLUMES = 12


def _opens(item: QTreeWidgetItem) -> Any:
    """The stack id a row opens (double-click, drag): its own, or its series' first volume."""
    sid = item.data(0, _STACK_ROLE)
    return sid if sid is not None else item.data(0, _SERIES_ROLE)


_D = r"(\d{4}(?:\d{2}(?:\d{2})?)?)"  # YYYY, YYYYMM or YYYYMMDD
_DATE_RE = re.compile(rf"^\s*{_D}?\s*(?:(-)\s*{_D}?)?\s*$")


def parse_date_filter(text: str) -> tuple[str, str] | None:
    """``YYYY``, ``YYYYMM``, ``YYYYMMDD`` or a range ``A-B`` (either end open) as (from, to)
    in ``YYYYMMDD``; ``None`` when the text is not a date filter.

    >>> parse_date_filter("2025")
    ('20250101', '20251231')
    >>> parse_date_filter("202507-")
    ('20250701', '')
    """
    t = text.replace("/", "").replace(".", "").strip()
    if not t:
        return ("", "")
    m = _DATE_RE.match(t)
    if m is None:
        return None
    a, dash, b = m.group(1) or "", m.group(2), m.group(3) or ""
    lo = (a + "0101"[len(a) - 4 :]) if a else ""
    if len(a) == 6:
        lo = a + "01"
    hi_src = b if dash else a
    hi = ""
    if hi_src:
        hi = hi_src + "1231"[len(hi_src) - 4 :] if len(hi_src) < 8 else hi_src
        if len(hi_src) == 6:
            hi = hi_src + "31"
    return (lo, hi)


def _date(d: str) -> _dt.date | None:
    try:
        return _dt.date(int(d[:4]), int(d[4:6]), int(d[6:8]))
    except (ValueError, IndexError):
        return None


def display_date(d: str) -> str:
    """A DICOM date as the reader's language writes it (``2025-01-15``, ``15/01/2025``)."""
    dd = _date(d)
    return i18n.date_text(dd) if dd else d


def summary_text(summary: ImportSummary) -> str:
    """:meth:`ImportSummary.text` in the reader's language."""
    head = (
        QCoreApplication.translate("ImportSummary", "Import cancelled")
        if summary.cancelled
        else QCoreApplication.translate("ImportSummary", "Import finished")
    )
    line = QCoreApplication.translate(
        "ImportSummary",
        "{head}: {added} new stacks, {extended} extended, {unchanged} already in the index; "
        "{images} images added, {existing} already indexed",
    ).format(
        head=head,
        added=summary.stacks_added,
        extended=summary.stacks_updated,
        unchanged=summary.stacks_unchanged,
        images=summary.instances_added,
        existing=summary.instances_existing,
    )
    if summary.files_copied:
        line += QCoreApplication.translate(
            "ImportSummary", "; {n} files copied to the store"
        ).format(n=summary.files_copied)
    lines = [line + "."]
    if summary.skipped:
        lines.append(
            QCoreApplication.translate("ImportSummary", "Skipped ({n}):").format(
                n=len(summary.skipped)
            )
        )
        lines.extend("  " + skipped_text(s.path, s.reason) for s in summary.skipped)
    if summary.warnings:
        lines.append(QCoreApplication.translate("ImportSummary", "Warnings:"))
        lines.extend(f"  {app_text(w)}" for w in summary.warnings)
    return "\n".join(lines)


def skipped_text(path: str, reason: str) -> str:
    """A file the import left out, with why, in the reader's language."""
    return QCoreApplication.translate("ImportSummary", "{path}: {reason}").format(
        path=path, reason=app_text(reason)
    )


def thumbnail_icon(thumb: Thumbnail | None) -> QIcon:
    if thumb is None:
        return QIcon()
    img = QImage(
        thumb.pixels, thumb.columns, thumb.rows, thumb.columns, QImage.Format.Format_Grayscale8
    ).copy()
    return QIcon(QPixmap.fromImage(img))


class StudyTree(QTreeWidget):
    """The tree; stack rows drag their index id."""

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        for it in items:
            sid = _opens(it)
            if sid is not None:
                data.setData(STACK_MIME, str(int(sid)).encode())
                data.setText(it.text(0))
                break
        return data

    def mimeTypes(self) -> list[str]:
        return [STACK_MIME]


class StudyBrowser(QWidget):
    """Search fields over a patients > studies > stacks tree of the study index.

    Signals: ``stack_activated(stack_id)`` (double-click or Enter), ``import_requested()``.
    """

    stack_activated = Signal(int)
    import_requested = Signal()
    # Escape or Enter in a search field: the reader is done typing (focus back to the images)
    done_typing = Signal()

    def __init__(self, index: StudyIndex, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.blinded = False
        self.studies: list[StudyRow] = []
        self._thumbs: dict[int, QIcon] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.patient_edit = QLineEdit(self)
        self.patient_edit.setPlaceholderText(self.tr("Patient name or ID"))
        self.patient_edit.setClearButtonEnabled(True)
        self.date_edit = QLineEdit(self)
        self.date_edit.setPlaceholderText(self.tr("Date: 2025, 202507, A-B"))
        self.date_edit.setToolTip(
            self.tr("Study date: YYYY, YYYYMM, YYYYMMDD, or a range such as 20250101-20250630")
        )
        self.modality_combo = QComboBox(self)
        for m in MODALITIES:
            self.modality_combo.addItem(m or self.tr("Any"), m)
        self.import_button = QPushButton(self.tr("Import..."), self)
        self.import_button.setToolTip(self.tr("Import a folder, DICOMDIR or zip (Ctrl+I)"))
        row.addWidget(self.patient_edit, 3)
        row.addWidget(self.date_edit, 2)
        row.addWidget(self.modality_combo, 1)
        row.addWidget(self.import_button)
        lay.addLayout(row)
        self.tree = StudyTree(self)
        self.tree.setHeaderLabels(
            [self.tr("Patient / study / series"), self.tr("Mod"), self.tr("Images")]
        )
        # the names take the room the panel has and the counts what they need, so that a
        # narrow panel shows every column; a name's end says what sets it apart ("... b 800",
        # "... (not loadable)"): elided, it keeps the series number and that end
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setExpandsOnDoubleClick(False)  # a double-click opens, the arrow folds
        self.tree.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        lay.addWidget(self.tree, 1)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.patient_edit.textChanged.connect(lambda _t: self.refresh())
        self.date_edit.textChanged.connect(lambda _t: self.refresh())
        self.modality_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.import_button.clicked.connect(lambda _c=False: self.import_requested.emit())
        # the search fields take the keyboard only when clicked: never at start or by Tab, so
        # single-key shortcuts (D line, X crosshair...) are never typed into them by surprise
        for edit in (self.patient_edit, self.date_edit):
            edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            edit.returnPressed.connect(self.done_typing.emit)
            edit.installEventFilter(self)
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.itemDoubleClicked.connect(self._on_activated)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            obj in (self.patient_edit, self.date_edit)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self.done_typing.emit()
            return True
        return False

    # --- content ---------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def set_blinded(self, blinded: bool) -> None:
        self.blinded = blinded
        self.refresh()

    def refresh(self) -> None:
        """Re-read the index with the current filters."""
        dates = parse_date_filter(self.date_edit.text())
        if dates is None:
            self.date_edit.setStyleSheet("color: #d04040;")
            self.status.setText(self.tr("Date filter: YYYY, YYYYMM, YYYYMMDD or A-B"))
            return
        self.date_edit.setStyleSheet("")
        self.studies = self.index.search(
            patient=self.patient_edit.text().strip(),
            date_from=dates[0],
            date_to=dates[1],
            modality=str(self.modality_combo.currentData() or ""),
        )
        self._fill()

    def stack_rows(self) -> list[StackRow]:
        return [s for st in self.studies for s in st.stacks]

    def item_of_stack(self, stack_id: int) -> QTreeWidgetItem | None:
        it = self.tree.invisibleRootItem()
        stack = [it]
        while stack:
            node = stack.pop()
            if node.data(0, _STACK_ROLE) == stack_id:
                return node
            stack.extend(c for i in range(node.childCount()) if (c := node.child(i)) is not None)
        return None

    def _icon(self, stack_id: int) -> QIcon:
        icon = self._thumbs.get(stack_id)
        if icon is None:
            icon = thumbnail_icon(self.index.thumbnail(stack_id))
            self._thumbs[stack_id] = icon
        return icon

    def _fill(self) -> None:
        self.tree.clear()
        patients: dict[str, QTreeWidgetItem] = {}
        first_date: dict[str, _dt.date | None] = {}
        for st in self.studies:
            first_date.setdefault(st.patient_id, _date(st.study_date))
        n_series = 0
        folded: list[QTreeWidgetItem] = []  # series rows of many volumes, folded once filled
        for st in self.studies:
            pitem = patients.get(st.patient_id)
            if pitem is None:
                # blinded: the subject's stable pseudonym, the same as in the worklist
                label = (
                    self.tr("{subject} (blinded)").format(
                        subject=app_text(blinded_subject_label(st.patient_id))
                    )
                    if self.blinded
                    else f"{st.patient_name.replace('^', ' ').strip()} [{st.patient_id}]"
                )
                pitem = QTreeWidgetItem([label])
                self.tree.addTopLevelItem(pitem)
                patients[st.patient_id] = pitem
            if self.blinded:
                d0, d = first_date.get(st.patient_id), _date(st.study_date)
                when = self.tr("Day {n}").format(n=(d - d0).days) if d0 and d else self.tr("Day ?")
            else:
                when = display_date(st.study_date)
            sitem = QTreeWidgetItem(
                [f"{when}  {st.description}".strip(), "/".join(st.modalities), ""]
            )
            sitem.setToolTip(
                0,
                self.tr("{description}\nModalities: {modalities}").format(
                    description=st.description, modalities=", ".join(st.modalities)
                ),
            )
            pitem.addChild(sitem)
            by_series: dict[str, list[StackRow]] = {}
            for s in st.stacks:
                by_series.setdefault(s.series_instance_uid, []).append(s)
            for volumes in by_series.values():
                n_series += 1
                if len(volumes) == 1:
                    sitem.addChild(self._stack_item(volumes[0], child=False))
                else:
                    item = self._series_item(volumes)
                    sitem.addChild(item)
                    if len(volumes) > FOLDED_VOLUMES:
                        folded.append(item)
        self.tree.expandAll()
        for item in folded:
            item.setExpanded(False)
        if self.studies:
            n_pat, n_st = len(patients), len(self.studies)
            self.status.setText(
                self.tr("{patients}, {studies}, {series} series").format(
                    patients=self.tr("1 patient")
                    if n_pat == 1
                    else self.tr("{n} patients").format(n=n_pat),
                    studies=self.tr("1 study")
                    if n_st == 1
                    else self.tr("{n} studies").format(n=n_st),
                    series=n_series,
                )
            )
        else:
            self.status.setText(
                self.tr("No studies match. Import a folder, DICOMDIR or zip (Ctrl+I).")
            )

    def _stack_item(self, s: StackRow, child: bool) -> QTreeWidgetItem:
        """The row of one stack: named in full, or by its label under its series' row."""
        text = f"{s.series_number or ''} {s.series_description} {s.label}".strip()
        shown = (s.label or text) if child else text
        suffix = ""
        if s.is_localizer:
            suffix += self.tr(" (localizer)")
        if not s.loadable:
            suffix += self.tr(" (not loadable)")
        item = QTreeWidgetItem(
            [(shown or s.series_instance_uid) + suffix, s.modality, str(s.n_images)]
        )
        item.setData(0, _STACK_ROLE, s.id)
        if not child:
            item.setIcon(0, self._icon(s.id))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        tips = [
            text + suffix,  # whole, where the panel shows it elided or by its label
            f"{s.rows} x {s.columns} x {s.n_images}",
            *(problem_text(p) for p in s.problems),
        ]
        item.setToolTip(0, "\n".join(tips))
        return item

    def _series_item(self, volumes: list[StackRow]) -> QTreeWidgetItem:
        """One row for a series of several volumes, its volumes under it by their labels."""
        first = volumes[0]
        text = f"{first.series_number or ''} {first.series_description}".strip()
        counts = {v.n_images for v in volumes}
        images = (
            f"{len(volumes)} x {first.n_images}"
            if len(counts) == 1
            else str(sum(v.n_images for v in volumes))
        )
        item = QTreeWidgetItem([text or first.series_instance_uid, first.modality, images])
        item.setData(0, _SERIES_ROLE, first.id)
        item.setIcon(0, self._icon(first.id))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        item.setToolTip(
            0,
            self.tr(
                "{series}: {n} volumes ({labels})\nDouble-click opens the first; "
                "Ctrl+Right / Ctrl+Left step through them at the same slice"
            ).format(
                series=text,
                n=len(volumes),
                labels=", ".join(v.label for v in volumes[:6] if v.label)
                + (", ..." if len(volumes) > 6 else ""),
            ),
        )
        for v in volumes:
            item.addChild(self._stack_item(v, child=True))
        return item

    def _on_activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        sid = _opens(item)
        if sid is not None:
            self.stack_activated.emit(int(sid))


class ImportWorker(QThread):
    """Runs :func:`import_paths` off the GUI thread."""

    progress = Signal(int, int, object)  # object: the app's marked message survives the queue
    done = Signal(object)

    def __init__(
        self,
        index: StudyIndex,
        paths: Sequence[str],
        mode: ImportMode,
        store_dir: Path | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.index = index
        self.paths = list(paths)
        self.mode = mode
        self.store_dir = store_dir
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            summary = import_paths(
                self.index,
                self.paths,
                self.mode,
                store_dir=self.store_dir,
                progress=self.progress.emit,
                cancel=self.cancel_event,
            )
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a traceback
            summary = ImportSummary(self.mode, cancelled=True)
            summary.warnings.append(
                QCoreApplication.translate("ImportSummary", "import failed: {reason}").format(
                    reason=exc
                )
            )
        self.done.emit(summary)


class ImportDialog(QDialog):
    """Choose folders, DICOMDIRs or zips, copy or reference, then watch progress and the summary.

    Signal ``imported(summary)`` when an import ends (finished or cancelled).
    """

    imported = Signal(object)

    def __init__(
        self, index: StudyIndex, parent: QWidget | None = None, store_dir: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import studies"))
        self.resize(720, 520)
        self.index = index
        self.store_dir = store_dir
        self.worker: ImportWorker | None = None
        self.summary: ImportSummary | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(self.tr("Folders, DICOMDIR files or zip archives to import:")))
        self.path_list = QListWidget(self)
        lay.addWidget(self.path_list, 1)
        row = QHBoxLayout()
        self.add_folder = QPushButton(self.tr("Add folder..."), self)
        self.add_file = QPushButton(self.tr("Add DICOMDIR or zip..."), self)
        self.clear_paths = QPushButton(self.tr("Clear"), self)
        for b in (self.add_folder, self.add_file, self.clear_paths):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        mode_row = QHBoxLayout()
        self.copy_radio = QRadioButton(self.tr("Copy into the managed store"), self)
        self.ref_radio = QRadioButton(
            self.tr("Reference in place (files stay where they are)"), self
        )
        self.ref_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.copy_radio)
        group.addButton(self.ref_radio)
        mode_row.addWidget(self.copy_radio)
        mode_row.addWidget(self.ref_radio)
        lay.addLayout(mode_row)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 100)
        self.progress_label = QLabel("", self)
        self.progress_label.setWordWrap(True)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.progress_label)
        self.summary_text = QPlainTextEdit(self)
        self.summary_text.setReadOnly(True)
        self.summary_text.setPlaceholderText(
            self.tr("What was imported, and what was skipped and why.")
        )
        lay.addWidget(self.summary_text, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton(self.tr("Import"), self)
        self.cancel_button = QPushButton(self.tr("Cancel import"), self)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.add_folder.clicked.connect(lambda _c=False: self._add_folder())
        self.add_file.clicked.connect(lambda _c=False: self._add_file())
        self.clear_paths.clicked.connect(lambda _c=False: self.path_list.clear())
        self.start_button.clicked.connect(lambda _c=False: self.start())
        self.cancel_button.clicked.connect(lambda _c=False: self.cancel())
        self.close_button.clicked.connect(lambda _c=False: self.close())

    def paths(self) -> list[str]:
        return [self.path_list.item(i).text() for i in range(self.path_list.count())]

    def add_paths(self, paths: Sequence[str]) -> None:
        for p in paths:
            self.path_list.addItem(str(p))

    def _add_folder(self) -> None:
        p = QFileDialog.getExistingDirectory(self, self.tr("Folder to import"))
        if p:
            self.add_paths([p])

    def _add_file(self) -> None:
        p, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("DICOMDIR or zip to import"),
            "",
            self.tr("DICOMDIR or zip (DICOMDIR *.zip);;All files (*)"),
        )
        if p:
            self.add_paths([p])

    @property
    def mode(self) -> ImportMode:
        return ImportMode.COPY if self.copy_radio.isChecked() else ImportMode.REFERENCE

    def start(self, paths: Sequence[str] | None = None, mode: ImportMode | None = None) -> bool:
        """Start importing (the listed paths, or ``paths``); False when there is nothing to do."""
        if paths is not None:
            self.path_list.clear()
            self.add_paths(paths)
        if mode is not None:
            (self.copy_radio if mode is ImportMode.COPY else self.ref_radio).setChecked(True)
        todo = self.paths()
        if not todo or self.worker is not None:
            if not todo:
                self.progress_label.setText(self.tr("Add a folder, DICOMDIR or zip first."))
            return False
        self.summary = None
        self.summary_text.clear()
        self.progress_bar.setValue(0)
        self.worker = ImportWorker(self.index, todo, self.mode, self.store_dir, self)
        self.worker.progress.connect(self._on_progress)
        self.worker.done.connect(self._on_done)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel_event.set()
            self.progress_label.setText(self.tr("Cancelling after the current series..."))

    @property
    def running(self) -> bool:
        return self.worker is not None

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))
        self.progress_label.setText(app_text(what))

    def _on_done(self, summary: ImportSummary) -> None:
        w = self.worker
        self.worker = None
        if w is not None:
            w.wait()
            w.deleteLater()
        self.summary = summary
        self.progress_bar.setValue(100 if not summary.cancelled else self.progress_bar.value())
        text = summary_text(summary)
        self.progress_label.setText(text.splitlines()[0])
        self.summary_text.setPlainText(text)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.imported.emit(summary)

    def closeEvent(self, event: Any) -> None:
        if self.worker is not None:
            self.worker.cancel_event.set()
            self.worker.wait()
        super().closeEvent(event)
