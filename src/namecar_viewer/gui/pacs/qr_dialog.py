"""Query/Retrieve: search a node, pick studies and series, retrieve with per-series progress.

C-FIND/QIDO-RS searches run off the GUI thread; a retrieve shows a progress bar per series and
can be cancelled (what arrived is kept) and retried (only missing instances are fetched). When
a retrieve ends, ``retrieved`` is emitted with the series folders so the main window indexes
and opens them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.gui import i18n
from namecar_viewer.gui.pacs.worker import Task, start
from namecar_viewer.pacs import (
    CancelToken,
    DicomWebNode,
    LocalStore,
    Method,
    NodeSettings,
    Retriever,
    SeriesProgress,
    SeriesRecord,
    SeriesStatus,
    StudyQuery,
    StudyRecord,
    find_studies,
    list_series,
)

STUDY_COLS = [
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Date"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Patient ID"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Name"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Subject ID"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Modalities"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Description"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Accession"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Images"),
]
SERIES_COLS = [
    "#",
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Modality"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Description"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Images"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Progress"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "Status"),
]
# pacs.retrieve.SeriesStatus values, as shown
_SERIES_STATUS = (
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "pending"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "running"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "done"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "failed"),
    QT_TRANSLATE_NOOP("QueryRetrieveDialog", "cancelled"),
)


class QueryRetrieveDialog(QDialog):
    retrieved = Signal(list)  # list[Path] of series folders

    def __init__(
        self,
        settings: NodeSettings,
        store: LocalStore,
        parent: QWidget | None = None,
        import_hook: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Query / Retrieve"))
        self.settings = settings
        self.store = store
        self.retriever = Retriever(settings.local, store, import_hook=import_hook)
        self.studies: list[StudyRecord] = []
        self.series: list[SeriesRecord] = []
        self.progress: dict[str, SeriesProgress] = {}
        self.cancel_token: CancelToken | None = None
        self._tasks: list[Task] = []
        self.last_report: Any = None

        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Node")))
        self.node_box = QComboBox()
        for n in settings.dimse:
            self.node_box.addItem(f"{n.name}  (DIMSE {n.address})", n)
        for w in settings.dicomweb:
            self.node_box.addItem(f"{w.name}  (DICOMweb {w.base_url})", w)
        self.node_box.currentIndexChanged.connect(self._node_changed)
        top.addWidget(self.node_box, 1)
        lay.addLayout(top)

        form_box = QGroupBox(self.tr("Search"))
        grid = QGridLayout(form_box)
        self.fields: dict[str, QLineEdit] = {}
        for i, (key, label, hint) in enumerate(
            (
                ("patient_id", self.tr("Patient ID"), ""),
                ("patient_name", self.tr("Patient name"), self.tr("DOE^J  (a * is added)")),
                ("subject_id", self.tr("Trial subject ID"), "ClinicalTrialSubjectID"),
                ("accession_number", self.tr("Accession"), ""),
                ("date_from", self.tr("Study date from"), self.tr("YYYY-MM-DD")),
                ("date_to", self.tr("to"), self.tr("YYYY-MM-DD")),
                ("modality", self.tr("Modality"), "CT, MR, PT, SR..."),
            )
        ):
            edit = QLineEdit()
            edit.setPlaceholderText(hint)
            edit.returnPressed.connect(self.search)
            self.fields[key] = edit
            f = QFormLayout()
            f.addRow(label, edit)
            grid.addLayout(f, i // 4, i % 4)
        self.search_btn = QPushButton(self.tr("Search"))
        self.search_btn.setDefault(True)
        self.search_btn.clicked.connect(self.search)
        grid.addWidget(self.search_btn, 1, 3, Qt.AlignmentFlag.AlignRight)
        lay.addWidget(form_box)

        split = QSplitter(Qt.Orientation.Vertical)
        self.study_table = QTableWidget(0, len(STUDY_COLS))
        self.study_table.setHorizontalHeaderLabels([self.tr(c) for c in STUDY_COLS])
        self.study_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.study_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.study_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.study_table.horizontalHeader().setStretchLastSection(True)
        self.study_table.itemSelectionChanged.connect(self._study_selected)
        self.series_table = QTableWidget(0, len(SERIES_COLS))
        self.series_table.setHorizontalHeaderLabels([self.tr(c) for c in SERIES_COLS])
        self.series_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.series_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.series_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.series_table.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.study_table)
        split.addWidget(self.series_table)
        lay.addWidget(split, 1)

        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Retrieve by")))
        self.method_box = QComboBox()
        row.addWidget(self.method_box)
        self.retrieve_btn = QPushButton(self.tr("Retrieve selected series"))
        self.retrieve_btn.clicked.connect(lambda: self.retrieve(selected_only=True))
        self.retrieve_all_btn = QPushButton(self.tr("Retrieve study"))
        self.retrieve_all_btn.clicked.connect(lambda: self.retrieve(selected_only=False))
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        self.retry_btn = QPushButton(self.tr("Retry failed"))
        self.retry_btn.setEnabled(False)
        self.retry_btn.clicked.connect(self.retry)
        for btn in (self.retrieve_btn, self.retrieve_all_btn, self.cancel_btn, self.retry_btn):
            row.addWidget(btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel(
            self.tr("Choose a node and search.")
            if self.node_box.count()
            else self.tr("No PACS node configured: File > PACS nodes...")
        )
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(44)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.status)
        self._node_changed()
        self.resize(1000, 680)

    # -- helpers
    @property
    def node(self) -> Any:
        return self.node_box.currentData()

    def _node_changed(self) -> None:
        self.method_box.clear()
        if isinstance(self.node, DicomWebNode):
            self.method_box.addItem(Method.WADO_RS.value, Method.WADO_RS)
        elif self.node is not None:
            self.method_box.addItem(Method.C_GET.value, Method.C_GET)
            self.method_box.addItem(
                self.tr("{method} to {aet}").format(
                    method=Method.C_MOVE.value, aet=self.settings.local.ae_title
                ),
                Method.C_MOVE,
            )

    def query(self) -> StudyQuery:
        return StudyQuery(**{k: e.text() for k, e in self.fields.items()})

    def _run(self, fn: Any, done: Any, progress: Any = None) -> Task:
        task = Task(fn)
        task.signals.done.connect(done)
        task.signals.failed.connect(self._failed)
        if progress is not None:
            task.signals.progress.connect(progress)
        self._tasks.append(task)  # keep the runnable (and its signals) alive
        return start(task)

    def _failed(self, msg: str) -> None:
        self.status.setText(self.tr("Error: {message}").format(message=i18n.app_text(msg)))
        self._busy(False)

    def _busy(self, busy: bool) -> None:
        for w in (self.search_btn, self.retrieve_btn, self.retrieve_all_btn):
            w.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)

    # -- search
    def search(self) -> None:
        node = self.node
        if node is None:
            self.status.setText(self.tr("No PACS node configured: File > PACS nodes..."))
            return
        q = self.query()
        try:
            q.date_range()
        except Exception as exc:  # noqa: BLE001 - PacsError with the field named
            self.status.setText(self.tr("Error: {message}").format(message=i18n.error_text(exc)))
            return
        self.status.setText(self.tr("Searching {node}...").format(node=node.name))
        local = self.settings.local
        self._run(lambda _p: find_studies(node, local, q), self.show_studies)

    def show_studies(self, studies: list[StudyRecord]) -> None:
        self.studies = sorted(studies, key=lambda s: (s.study_date, s.study_description))
        t = self.study_table
        t.setRowCount(len(studies))
        for r, s in enumerate(self.studies):
            date = i18n.date_text(s.study_date) if len(s.study_date) == 8 else s.study_date
            vals = [
                date,
                s.patient_id,
                s.patient_name,
                s.subject_id,
                s.modalities,
                s.study_description,
                s.accession_number,
                "" if s.n_instances is None else str(s.n_instances),
            ]
            for c, v in enumerate(vals):
                t.setItem(r, c, QTableWidgetItem(v))
        t.resizeColumnsToContents()
        self.status.setText(
            self.tr("{n} studies found on {node}.").format(n=len(studies), node=self.node.name)
        )
        self.series_table.setRowCount(0)
        if studies:
            t.selectRow(0)

    def _study_selected(self) -> None:
        r = self.study_table.currentRow()
        if not 0 <= r < len(self.studies):
            return
        study = self.studies[r]
        node, local = self.node, self.settings.local
        uid = study.study_instance_uid
        self._run(
            lambda _p: list_series(node, local, uid), lambda rows: self.show_series(rows, uid)
        )

    def current_study(self) -> StudyRecord | None:
        r = self.study_table.currentRow()
        return self.studies[r] if 0 <= r < len(self.studies) else None

    def show_series(self, series: list[SeriesRecord], study_uid: str | None = None) -> None:
        current = self.current_study()
        if study_uid is not None and (current is None or current.study_instance_uid != study_uid):
            return  # an answer for a study that is no longer selected
        self.series = sorted(series, key=lambda s: (s.series_number or 0, s.series_description))
        self.progress = {}
        t = self.series_table
        t.setRowCount(len(self.series))
        for r, s in enumerate(self.series):
            present = len(self.store.present(s.study_instance_uid, s.series_instance_uid))
            vals = [
                "" if s.series_number is None else str(s.series_number),
                s.modality,
                s.series_description,
                "" if s.n_instances is None else str(s.n_instances),
            ]
            for c, v in enumerate(vals):
                t.setItem(r, c, QTableWidgetItem(v))
            bar = QProgressBar()
            bar.setRange(0, max(s.n_instances or 1, 1))
            bar.setValue(min(present, s.n_instances or present))
            bar.setFormat("%v / %m")
            t.setCellWidget(r, 4, bar)
            status = (
                self.tr("local")
                if s.n_instances and present >= s.n_instances
                else (self.tr("{n} local").format(n=present) if present else "")
            )
            t.setItem(r, 5, QTableWidgetItem(status))
        t.resizeColumnsToContents()
        t.setColumnWidth(4, 150)
        t.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)

    # -- retrieve
    def retrieve(self, selected_only: bool = True, only: list[str] | None = None) -> None:
        r = self.study_table.currentRow()
        if not 0 <= r < len(self.studies):
            self.status.setText(self.tr("Select a study first."))
            return
        study = self.studies[r]
        rows = sorted({i.row() for i in self.series_table.selectedIndexes()})
        if only is not None:
            chosen = [s for s in self.series if s.series_instance_uid in set(only)]
        elif selected_only and rows:
            chosen = [self.series[i] for i in rows if i < len(self.series)]
        else:
            chosen = list(self.series)
        if not chosen:
            self.status.setText(self.tr("No series to retrieve."))
            return
        method = self.method_box.currentData()
        node = self.node
        self.cancel_token = CancelToken()
        token = self.cancel_token
        self._busy(True)
        self.retry_btn.setEnabled(False)
        self.status.setText(
            self.tr("Retrieving {n} series by {method}...").format(
                n=len(chosen), method=method.value
            )
        )
        self._run(
            lambda report: self.retriever.retrieve(
                method, node, study.study_instance_uid, chosen, token, report
            ),
            self._retrieve_done,
            self.update_progress,
        )

    def _row_of(self, series_uid: str) -> int:
        for r, s in enumerate(self.series):
            if s.series_instance_uid == series_uid:
                return r
        return -1

    def update_progress(self, p: SeriesProgress) -> None:
        self.progress[p.series_instance_uid] = p
        r = self._row_of(p.series_instance_uid)
        if r < 0:
            return
        bar = self.series_table.cellWidget(r, 4)
        if isinstance(bar, QProgressBar):
            if p.total:
                bar.setRange(0, p.total)
            bar.setValue(p.done)
        text = self.tr(p.status.value)
        if p.message and p.status is not SeriesStatus.RUNNING:
            cell = f"{p.status.value}: {p.message}"
            # a done series' message is recognised with its status ("done: 12 received"):
            # "12 received" alone would be too short a template
            whole = i18n.app_text(cell) if p.status is SeriesStatus.DONE else cell
            text = (
                whole
                if whole != cell
                else self.tr("{status}: {message}").format(
                    status=text, message=i18n.app_text(p.message)
                )
            )
        self.series_table.setItem(r, 5, QTableWidgetItem(text))

    def _retrieve_done(self, report: Any) -> None:
        self.last_report = report
        self._busy(False)
        for p in report.series:
            self.update_progress(p)
        failed = report.failed_series()
        self.retry_btn.setEnabled(bool(failed))
        n = sum(p.done for p in report.series)
        if report.ok:
            self.status.setText(
                self.tr("Retrieved {n} instances into {folder}.").format(
                    n=n, folder=self.store.root
                )
            )
        else:
            cancelled = any(p.status is SeriesStatus.CANCELLED for p in report.series)
            head = (
                self.tr("Retrieve cancelled")
                if cancelled
                else (i18n.app_text(report.error) or self.tr("Some instances did not arrive"))
            )
            self.status.setText(
                self.tr(
                    "{head}. {n} instances are kept in {folder}; Retry fetches only what is "
                    "missing."
                ).format(head=head, n=n, folder=self.store.root)
            )
        if report.folders:
            self.retrieved.emit(list(report.folders))

    def cancel(self) -> None:
        if self.cancel_token is not None:
            self.cancel_token.cancel()
            self.status.setText(self.tr("Cancelling after the current instance..."))

    def retry(self) -> None:
        if self.last_report is None:
            return
        self.retrieve(only=[p.series_instance_uid for p in self.last_report.failed_series()])

    def done(self, result: int) -> None:
        self.cancel()
        self.retriever.shutdown()
        super().done(result)


def default_store() -> LocalStore:
    from namecar_viewer.pacs.local_store import default_retrieve_dir

    return LocalStore(default_retrieve_dir())
