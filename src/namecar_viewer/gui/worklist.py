"""The worklist dock: the logged-in reader's cases, and the administrator's assignment dialog.

A case is a trial subject at a timepoint; each row shows it (the subject as its pseudonym in
blinded mode), the task (read or adjudicate) and the status (not started, in progress, signed,
needs adjudication, adjudicated).  Only the user's own assignments are listed
(:meth:`~namecar_viewer.app.worklist.WorklistService.work_of`).  A double-click opens the case:
its read (created on first opening) and its studies from the study index; an adjudication task
opens the side-by-side adjudication view.

With a PACS node configured (``NodeSettings.prefetch``), the studies of the next unsigned cases
are retrieved in the background (:mod:`namecar_viewer.app.prefetch`, within a disk budget,
never evicting a study of an open or unsigned read) and the status bar says what is fetched;
opening a case whose studies are not local fetches them first with a progress dialog, the
first study that arrives opening at once.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressDialog,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from namecar_viewer.app.blinding import BlindingPolicy, IdentifierKind, Redactor, parse_date
from namecar_viewer.app.worklist import CaseStatus, Task, WorkItem
from namecar_viewer.gui.app_texts import enum_text, enum_value_text
from namecar_viewer.gui.i18n import app_text
from namecar_viewer.gui.login import ReviewContext
from namecar_viewer.persistence.review import assignments_table, cases_table

STATUS_COLOURS = {
    CaseStatus.NOT_STARTED: "#5a5a5a",
    CaseStatus.IN_PROGRESS: "#2f6db5",
    CaseStatus.SIGNED: "#2e8b57",
    CaseStatus.NEEDS_ADJUDICATION: "#c0392b",
    CaseStatus.ADJUDICATED: "#7d3c98",
}
COLUMNS = (
    QT_TRANSLATE_NOOP("WorklistPanel", "Subject"),
    QT_TRANSLATE_NOOP("WorklistPanel", "Timepoint"),
    QT_TRANSLATE_NOOP("WorklistPanel", "Task"),
    QT_TRANSLATE_NOOP("WorklistPanel", "Status"),
)
_ITEM_ROLE = Qt.ItemDataRole.UserRole


def redactor_for_index(
    index: Any, policy: BlindingPolicy, patient_id: str | None = None
) -> Redactor:
    """A redactor knowing every identifying value of the indexed patients (from one header of
    each study: name, ID, birth date, institution, accession, dates), baseline = first study."""
    import pydicom

    studies = list(index.search())
    if patient_id:
        studies = [s for s in studies if s.patient_id == patient_id] or studies
    dates = [d for s in studies if (d := parse_date(s.study_date)) is not None]
    red = Redactor(policy=policy, baseline_date=min(dates) if dates else None)
    for st in studies:
        red.add(IdentifierKind.PATIENT_NAME, st.patient_name)
        red.add(IdentifierKind.PATIENT_ID, st.patient_id)
        red.add(IdentifierKind.ACCESSION, st.accession_number)
        red.add(IdentifierKind.DATE, st.study_date)
        for stack in st.stacks[:1]:
            with contextlib.suppress(Exception):
                files = index.files_of_stack(stack.id)
                name = files[0].split(" (frame ")[0] if files else ""
                if name and "!" not in name:
                    ds = pydicom.dcmread(name, stop_before_pixels=True)
                    more = Redactor.from_dataset(ds, policy)
                    red._values.update(more._values)
                    red._dates.update(more._dates)
    return red


def redactor_for_read(read: Any, policy: BlindingPolicy) -> Redactor:
    """A redactor for text about one read: its patient ID and its timepoints' dates (shown as
    days from the read's baseline)."""
    base = read.baseline()
    red = Redactor(policy=policy, baseline_date=base.date if base is not None else None)
    red.add(IdentifierKind.PATIENT_ID, read.patient_id)
    for tp in read.timepoints:
        red.add(IdentifierKind.DATE, tp.date)
    return red


def set_read_status(ctx: ReviewContext, read_uid: str, status: CaseStatus) -> None:
    """Set the status of the user's assignments that hold ``read_uid``."""
    for item in ctx.worklist.work_of(ctx.user.username):
        if item.read_uid == read_uid and item.task is Task.READ:
            raw = _assignment_status(ctx, item.assignment_uid)
            if raw != status.value:
                ctx.worklist.set_status(ctx.user.username, item.assignment_uid, status)


def _assignment_status(ctx: ReviewContext, assignment_uid: str) -> str:
    t = assignments_table
    with ctx.engine.connect() as conn:
        return str(conn.execute(select(t.c.status).where(t.c.uid == assignment_uid)).scalar())


class WorklistPanel(QWidget):
    """The reader's own cases; ``open_requested(WorkItem)`` on double-click or Enter."""

    def __init__(self, ctx: ReviewContext, policy: BlindingPolicy, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.policy = policy
        self.items: list[WorkItem] = []
        self.open_handler: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.header = QLabel(self)
        lay.addWidget(self.header)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.open_row(r))
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.open_button = QPushButton(self.tr("Open case"), self)
        self.open_button.clicked.connect(lambda _c=False: self.open_row(self.table.currentRow()))
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(lambda _c=False: self.refresh())
        row.addWidget(self.open_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        lay.addWidget(self.message)

    def set_policy(self, policy: BlindingPolicy, _redactor: Any = None) -> None:
        self.policy = policy
        self.refresh()

    def refresh(self) -> None:
        self.items = self.ctx.worklist.work_of(self.ctx.user.username)
        t = self.table
        t.setRowCount(len(self.items))
        for r, it in enumerate(self.items):
            texts = (
                app_text(self.policy.subject(it.subject_id)),
                it.timepoint_label,
                enum_text(it.task),
                enum_text(it.status),
            )
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setData(_ITEM_ROLE, r)
                if c == 3:
                    item.setForeground(QBrush(QColor("#ffffff")))
                    item.setBackground(QBrush(QColor(STATUS_COLOURS[it.status])))
                t.setItem(r, c, item)
        t.resizeColumnsToContents()
        n_open = sum(
            it.status not in (CaseStatus.SIGNED, CaseStatus.ADJUDICATED) for it in self.items
        )
        self.header.setText(
            self.tr("<b>{user}</b>: {n} case(s), {todo} to do").format(
                user=self.ctx.user.username, n=len(self.items), todo=n_open
            )
        )

    def open_row(self, row: int) -> None:
        if not 0 <= row < len(self.items):
            self.message.setText(self.tr("Select a case first."))
            return
        if self.open_handler is not None:
            self.open_handler(self.items[row])


class _PrefetchBridge(QObject):
    """Prefetch events from its thread to the GUI thread."""

    status = Signal(object)
    evicted = Signal(str)


class WorklistDock(QObject):
    """The dock and what opening a case does in the main window."""

    def __init__(self, window: QMainWindow, review: Any) -> None:
        super().__init__(window)
        self.window: Any = window
        self.review = review
        self.ctx: ReviewContext = review.ctx
        self.panel = WorklistPanel(self.ctx, review.policy)
        self.panel.open_handler = self.open_case
        self.dock = QDockWidget(self.tr("Worklist"), window)
        self.dock.setObjectName("worklist_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        browser_dock = getattr(window, "browser_dock", None)
        if browser_dock is not None:
            window.tabifyDockWidget(browser_dock, self.dock)
        self.dock.raise_()
        self.prefetcher: Any = None
        self._protected_patients: set[str] = set()
        self._open_patient = ""
        self._fetch_task: Any = None
        self._setup_prefetch()

    # -- prefetch (issue 17)
    def _setup_prefetch(self, settings: Any = None, store: Any = None) -> None:
        """Start the background prefetch when a PACS node is configured for it."""
        from namecar_viewer.pacs import LocalStore, NodeSettings, PacsError

        self.prefetch_label = QLabel(self.window)
        self.window.statusBar().addPermanentWidget(self.prefetch_label)
        self._bridge = _PrefetchBridge(self)
        self._bridge.status.connect(self._show_prefetch_status)
        self._bridge.evicted.connect(self._forget_study)
        try:
            settings = settings or NodeSettings.load()
        except PacsError:
            return
        node = settings.prefetch_node()
        if node is None:
            return
        from namecar_viewer.app.prefetch import Prefetcher, StudyCache
        from namecar_viewer.pacs.local_store import default_retrieve_dir

        cache = StudyCache(
            store or LocalStore(default_retrieve_dir()),
            int(settings.prefetch.budget_gb * 1e9),
            on_evict=self._bridge.evicted.emit,
        )
        self.cases_ahead = settings.prefetch.cases_ahead
        self.prefetcher = Prefetcher(
            node,
            settings.local,
            cache,
            protected=lambda: (set(self._protected_patients), set()),
            on_status=self._bridge.status.emit,
        )
        self.window.destroyed.connect(lambda *_: self.prefetcher and self.prefetcher.stop(1.0))
        self._plan_prefetch()

    def _plan_prefetch(self) -> None:
        """The next unsigned cases' patients to prefetch; every unsigned or open read's patient
        protected from eviction."""
        todo = [
            it
            for it in self.panel.items
            if it.task is Task.READ and it.status not in (CaseStatus.SIGNED, CaseStatus.ADJUDICATED)
        ]
        self._protected_patients = {it.patient_id for it in todo} | (
            {self._open_patient} if self._open_patient else set()
        )
        if self.prefetcher is None:
            return
        ahead = [it.patient_id for it in todo if it.patient_id != self._open_patient]
        self.prefetcher.set_queue(list(dict.fromkeys(ahead))[: getattr(self, "cases_ahead", 3)])

    def _show_prefetch_status(self, st: Any) -> None:
        if st.state == "fetching" and st.total:
            left = (
                self.tr(", {s:.0f} s left").format(s=st.seconds_left)
                if st.seconds_left is not None
                else ""
            )
            text = self.tr(
                "Prefetching {patient}: study {i} of {n}, {done}/{total} images, "
                "{rate:.0f} MB/s{left}"
            ).format(
                patient=app_text(self.review.policy.subject(st.patient_id)),
                i=min(st.studies_done + 1, st.studies_total),
                n=st.studies_total,
                done=st.done,
                total=st.total,
                rate=st.mb_per_s,
                left=left,
            )
        elif st.state == "budget full":
            text = self.tr(
                "Prefetch paused: disk budget full ({used:.1f} of {budget:.1f} GB)"
            ).format(used=st.used_bytes / 1e9, budget=st.budget_bytes / 1e9)
        elif st.state == "error":
            text = self.tr("Prefetch failed: {reason}").format(reason=app_text(st.message))
        elif st.state == "done":
            text = self.tr("Next cases prefetched ({used:.1f} GB local)").format(
                used=st.used_bytes / 1e9
            )
        else:
            text = ""
        self.prefetch_label.setText(text)

    def _forget_study(self, study_uid: str) -> None:
        """An evicted study leaves the study index too (its files are gone)."""
        with contextlib.suppress(Exception):
            self.window.index.remove_study(study_uid)

    def _indexed(self, patient_id: str) -> bool:
        return any(r.loadable for r in self.window.index.stack_rows(patient_id))

    def _fetch_then_open(self, item: WorkItem) -> None:
        """Studies not local: fetch them with a progress dialog; each study is indexed as it
        arrives and the first one opens at once."""
        from namecar_viewer.app.importer import ImportMode, import_paths
        from namecar_viewer.gui.pacs.worker import Task as PacsTask
        from namecar_viewer.gui.pacs.worker import start
        from namecar_viewer.pacs import CancelToken

        prefetcher = self.prefetcher
        cancel = CancelToken()
        dlg = QProgressDialog(
            self.tr("Fetching the studies of this case..."), self.tr("Cancel"), 0, 0, self.window
        )
        dlg.setWindowTitle(self.tr("Fetching images"))
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)  # one bar per study: open until every study is in
        dlg.setAutoReset(False)
        dlg.canceled.connect(cancel.cancel)
        self.fetch_dialog = dlg
        opened = [False]
        series: dict[str, Any] = {}
        t0 = [0.0]

        def on_event(ev: Any) -> None:
            import time

            kind, payload = ev
            if kind == "series":
                if not t0[0]:
                    t0[0] = time.monotonic()
                series[payload.series_instance_uid] = payload
                done = sum(p.done for p in series.values())
                total = sum(p.total or 0 for p in series.values())
                got = sum(p.received for p in series.values())
                dt = max(time.monotonic() - t0[0], 1e-6)
                rate = sum(p.nbytes for p in series.values()) / dt / 1e6
                left = dt / got * (total - done) if got and total > done else 0.0
                dlg.setMaximum(max(total, 1))
                dlg.setValue(min(done, max(total, 1)))
                dlg.setLabelText(
                    self.tr("{done} of {total} images, {rate:.0f} MB/s, {left:.0f} s left").format(
                        done=done, total=total, rate=rate, left=left
                    )
                )
            elif kind in ("ready", "study") and payload:
                # a series (then its study) is in: indexed now, the first one opened at once
                folders = [payload] if kind == "ready" else payload
                import_paths(self.window.index, [str(p) for p in folders], ImportMode.REFERENCE)
                if not opened[0] and self._indexed(item.patient_id):
                    opened[0] = True
                    self._open_studies(item)

        def on_series(p: Any, report: Any) -> None:
            report(("series", p))
            if p.status.value == "done":
                report(
                    (
                        "ready",
                        prefetcher.cache.store.series_dir(
                            p.study_instance_uid, p.series_instance_uid
                        ),
                    )
                )

        def work(report: Any) -> bool:
            return bool(
                prefetcher.fetch_now(
                    item.patient_id,
                    on_progress=lambda p: on_series(p, report),
                    cancel=cancel,
                    on_study=lambda rep: report(("study", list(rep.folders))),
                )
            )

        def finished(ok: Any) -> None:
            dlg.close()
            if not opened[0]:
                self._open_studies(item)
            if not ok:
                self.panel.message.setText(
                    self.tr("Not every study of this case arrived; open it again to resume.")
                )

        def failed(msg: str) -> None:
            dlg.close()
            self.panel.message.setText(
                self.tr("Fetching failed: {reason}").format(reason=app_text(msg))
            )

        task = PacsTask(work)
        task.signals.progress.connect(on_event)
        task.signals.done.connect(finished)
        task.signals.failed.connect(failed)
        self._fetch_task = start(task)
        dlg.show()

    def refresh(self) -> None:
        self.panel.refresh()
        self._plan_prefetch()

    def set_policy(self, policy: BlindingPolicy, redactor: Any = None) -> None:
        self.panel.set_policy(policy, redactor)

    def open_case(self, item: WorkItem) -> str | None:
        """Open the case's read (created on first opening) and its studies; returns the read uid."""
        if item.task is Task.ADJUDICATE:
            self.review.show_adjudication(item.case_uid)
            return None
        ctx = self.ctx
        reads = self.window.reads
        read_uid = item.read_uid
        if read_uid is None:
            mine = [i for i in ctx.db.list_reads(item.patient_id) if i.reader == ctx.user.username]
            if mine:
                read_uid = mine[-1].uid
            else:
                from namecar_viewer.app.read_session import ReadSession
                from namecar_viewer.core.reads import Read

                session = ReadSession(
                    Read.new(patient_id=item.patient_id, reader=ctx.user.username),
                    ctx.db,
                    user=ctx.user.username,
                )
                read_uid = session.read.uid
        reads.open_read(read_uid)
        if item.status is CaseStatus.NOT_STARTED or item.read_uid is None:
            ctx.worklist.set_status(
                ctx.user.username,
                item.assignment_uid,
                CaseStatus.IN_PROGRESS if item.status is CaseStatus.NOT_STARTED else item.status,
                read_uid,
            )
        self._open_patient = item.patient_id
        if self.prefetcher is not None and not self._indexed(item.patient_id):
            folders = self.prefetcher.local_folders(item.patient_id)
            if folders:  # prefetched: indexed from the local disk, no network wait
                from namecar_viewer.app.importer import ImportMode, import_paths

                import_paths(self.window.index, [str(p) for p in folders], ImportMode.REFERENCE)
                self._open_studies(item)
            else:
                self._fetch_then_open(item)
        else:
            self._open_studies(item)
        self.review.on_read_switched()
        self.refresh()
        subject = app_text(self.review.policy.subject(item.subject_id))
        self.window.statusBar().showMessage(
            self.tr("Opened {subject} {timepoint}").format(
                subject=subject, timepoint=item.timepoint_label
            ),
            10000,
        )
        return read_uid

    def _open_studies(self, item: WorkItem) -> None:
        """Show the case timepoint's CT (else the patient's first loadable series)."""
        index = self.window.index
        rows = [r for r in index.stack_rows(item.patient_id) if r.loadable and not r.is_localizer]
        if not rows:
            self.panel.message.setText(
                self.tr("No images of this case in the study index: import them (File > Import).")
            )
            return
        self.window.browser.refresh()
        chosen = next(
            (r for r in rows if _timepoint_of(index, r) == item.timepoint_label.upper()), None
        )
        if chosen is None:
            cts = [r for r in rows if r.modality == "CT"]
            chosen = (cts or rows)[0]
        self.window.reading.load_mpr_now(chosen.id)


def _timepoint_of(index: Any, row: Any) -> str:
    """ClinicalTrialTimePointID of a stack (upper case), from its first file's header."""
    import pydicom

    try:
        files = index.files_of_stack(row.id)
        name = files[0].split(" (frame ")[0]
        ds = pydicom.dcmread(
            name, stop_before_pixels=True, specific_tags=["ClinicalTrialTimePointID"]
        )
        return str(ds.get("ClinicalTrialTimePointID", "") or "").strip().upper()
    except Exception:  # noqa: BLE001 - an unreadable header only means no match
        return ""


def install_worklist_dock(window: QMainWindow, review: Any) -> WorklistDock:
    return WorklistDock(window, review)


class AssignDialog(QDialog):
    """Administrator: create cases (subject + timepoint) and assign them to readers."""

    changed = Signal()

    def __init__(
        self,
        ctx: ReviewContext,
        parent: QWidget | None = None,
        policy: BlindingPolicy | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # blinded: subjects by their pseudonym (the administrator unblinds to see the IDs)
        self.policy = policy or BlindingPolicy.open()
        self.setWindowTitle(self.tr("Assign cases"))
        self.resize(760, 480)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Subject"), self.tr("Timepoint"), self.tr("Case status"), self.tr("Readers")]
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        create = QFormLayout()
        self.subject_edit = QLineEdit(self)
        self.subject_edit.setPlaceholderText(self.tr("Trial subject ID"))
        self.timepoint_edit = QLineEdit(self)
        self.timepoint_edit.setPlaceholderText(self.tr("Timepoint (e.g. FU03M)"))
        self.patient_edit = QLineEdit(self)
        self.patient_edit.setPlaceholderText(self.tr("DICOM patient ID of the images"))
        self.create_button = QPushButton(self.tr("Create case"), self)
        self.create_button.clicked.connect(lambda _c=False: self.create_case())
        create.addRow(self.tr("Subject:"), self.subject_edit)
        create.addRow(self.tr("Timepoint:"), self.timepoint_edit)
        create.addRow(self.tr("Patient ID:"), self.patient_edit)
        create.addRow("", self.create_button)
        lay.addLayout(create)
        assign = QHBoxLayout()
        self.user_combo = QComboBox(self)
        for u in ctx.auth.users.list():
            self.user_combo.addItem(u.username, u.username)
        self.task_combo = QComboBox(self)
        for t in Task:
            self.task_combo.addItem(enum_text(t), t)
        self.assign_button = QPushButton(self.tr("Assign selected case"), self)
        self.assign_button.clicked.connect(lambda _c=False: self.assign_selected())
        assign.addWidget(QLabel(self.tr("To:"), self))
        assign.addWidget(self.user_combo, 1)
        assign.addWidget(self.task_combo)
        assign.addWidget(self.assign_button)
        lay.addLayout(assign)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.case_uids: list[str] = []
        self.refresh()

    def refresh(self) -> None:
        c, a = cases_table, assignments_table
        with self.ctx.engine.connect() as conn:
            cases = conn.execute(select(c).order_by(c.c.subject_id, c.c.timepoint_label)).all()
            assigns = conn.execute(select(a)).all()
        self.case_uids = [r.uid for r in cases]
        self.table.setRowCount(len(cases))
        for r, case in enumerate(cases):
            who = [
                f"{x.username} ({enum_value_text('Task', x.task)}: "
                f"{enum_value_text('CaseStatus', x.status)})"
                for x in assigns
                if x.case_uid == case.uid
            ]
            for col, text in enumerate(
                (
                    app_text(self.policy.subject(case.subject_id)),
                    case.timepoint_label,
                    enum_value_text("CaseStatus", case.status),
                    "; ".join(who) or "-",
                )
            ):
                self.table.setItem(r, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def create_case(self) -> str | None:
        subject = self.subject_edit.text().strip()
        tp = self.timepoint_edit.text().strip()
        pid = self.patient_edit.text().strip() or subject
        if not subject or not tp:
            self.message.setText(self.tr("A case needs a subject ID and a timepoint."))
            return None
        uid: str = self.ctx.worklist.create_case(self.ctx.user.username, subject, tp, pid)
        self.message.setText(
            self.tr("Case {subject} {timepoint} created.").format(
                subject=app_text(self.policy.subject(subject)), timepoint=tp
            )
        )
        self.refresh()
        self.table.selectRow(self.case_uids.index(uid))
        self.changed.emit()
        return uid

    def assign_selected(self) -> str | None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.case_uids):
            self.message.setText(self.tr("Select a case to assign."))
            return None
        user = str(self.user_combo.currentData() or "")
        task = self.task_combo.currentData()
        uid: str = self.ctx.worklist.assign(self.ctx.user.username, self.case_uids[row], user, task)
        self.message.setText(
            self.tr("Assigned to {user} ({task}).").format(user=user, task=enum_text(task))
        )
        self.refresh()
        self.table.selectRow(row)
        self.changed.emit()
        return uid
