"""Automatic alignment of the patient's CT timepoints in the main window (issue 16, part 1).

When a CT of a patient finishes loading in a viewport, :class:`AlignmentController` aligns every
other CT timepoint of the patient to it in a worker thread (``app.alignment.AlignmentJob``:
rigid, multi-resolution, body-masked, refined around the read's lesions), with a progress bar
and a *Cancel alignment* button in the status bar; the window keeps running meanwhile.  Each
pair is put into the view state as soon as it is aligned (linked scrolling, the crosshair,
"go to lesion", the nadir and prior views follow it) and the status bar says what was aligned
and the metric.  When the job ends (or is cancelled), the pairs aligned are kept with the read in
one audited, undoable edit (``link/alignment/...`` read settings, restored by the PET grid's
``sync_from_read`` like an offset); a read of another reader is view only, so there they stay in
this session's view state only.  A manual offset (Ctrl+K) of the same two timepoints wins over
the automatic alignment; *Forget timepoint links* brings the alignment back.

Protocols > *Align timepoints automatically* turns the automatic start off or on (kept in the
settings; ``NAMECAR_AUTO_ALIGN=0`` or ``1`` overrides); *Align the other timepoints to the active
study* starts it by hand; *Timepoint alignment...* lists what is aligned, how well, and by what.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.alignment import (
    AlignmentFailure,
    AlignmentJob,
    AlignmentRecord,
    CtTimepoint,
    alignment_command,
    alignment_records_in,
    choose_ct_stacks,
    lesion_points,
    targets_to_align,
)
from namecar_viewer.app.pet import ALIGNMENT_PREFIX, TIMEPOINT_ALIGNMENT, frame_links_in
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration.optimiser import RegistrationCancelled
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text

if TYPE_CHECKING:
    from namecar_viewer.gui.reading import ReadingController

AUTO_ALIGN_ENV = "NAMECAR_AUTO_ALIGN"
SETTING_KEY = "alignment/automatic"
POLL_MS = 100


def automatic_alignment_enabled() -> bool:
    """Whether a CT opening starts the alignment: ``NAMECAR_AUTO_ALIGN`` (0/1), else the
    setting (on by default)."""
    env = os.environ.get(AUTO_ALIGN_ENV, "").strip().lower()
    if env in ("0", "no", "off", "false"):
        return False
    if env in ("1", "yes", "on", "true"):
        return True
    value = i18n.settings().value(SETTING_KEY, True)
    return str(value).lower() not in ("false", "0")


class AlignmentWorker(QThread):
    """Runs one :class:`AlignmentJob`: ``result(record or failure)`` per pair, then
    ``ended(status)`` with "done", "cancelled" or the reason it stopped."""

    result = Signal(object)
    ended = Signal(str)

    def __init__(self, job: AlignmentJob, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job

    def run(self) -> None:
        try:
            self.job.run(self.result.emit)
        except RegistrationCancelled:
            self.ended.emit("cancelled")
            return
        except Exception as exc:  # noqa: BLE001 - said in the status bar, never a traceback
            self.ended.emit(str(exc) or type(exc).__name__)
            return
        self.ended.emit("done")


class AlignmentController(QObject):
    """The automatic alignment of one main window (see the module docstring)."""

    def __init__(self, reading: ReadingController) -> None:
        super().__init__(reading)
        self.reading = reading
        self.w = reading.w
        self.worker: AlignmentWorker | None = None
        self.job: AlignmentJob | None = None
        self.job_patient = ""
        self.queue: list[tuple[CtTimepoint, list[CtTimepoint], str, bool]] = []
        # every pair aligned in this window, and those kept in this session only
        self.aligned: dict[frozenset[str], AlignmentRecord] = {}
        self.session_only: set[frozenset[str]] = set()
        self.stored_jobs: set[int] = set()
        self.last_message = ""
        self.panel: AlignmentPanel | None = None
        self.progress = QProgressBar()
        self.progress.setObjectName("alignment_progress")
        self.progress.setMaximumWidth(300)
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton(self.tr("Cancel alignment"))
        self.cancel_button.setObjectName("alignment_cancel")
        self.cancel_button.clicked.connect(lambda _c=False: self.cancel())
        sb = self.w.statusBar()
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        for vp, loader in zip(self.w.viewports, reading.loaders, strict=True):
            loader.finished.connect(functools.partial(self._on_loaded, vp))
        self.w.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # --- menu -----------------------------------------------------------------------------
    def add_menu_actions(self, menu: Any) -> None:
        w = self.w
        act = w._act(
            menu,
            "Protocols",
            "align_automatically",
            self.tr("Align timepoints automatically when a CT opens"),
            self.toggle_automatic,
            None,
            True,
        )
        act.setChecked(automatic_alignment_enabled())
        w._act(
            menu,
            "Protocols",
            "align_now",
            self.tr("Align the other timepoints to the active CT now"),
            lambda: self.align_active(),
        )
        w._act(
            menu,
            "Protocols",
            "alignment_review",
            self.tr("Timepoint alignment..."),
            self.show_panel,
        )

    def toggle_automatic(self) -> None:
        on = not automatic_alignment_enabled()
        i18n.settings().setValue(SETTING_KEY, on)
        act = self.w.actions_by_name.get("align_automatically")
        if act is not None:
            act.setChecked(on)
        self._say(
            self.tr("Timepoints are aligned automatically when a CT opens.")
            if on
            else self.tr("Automatic alignment off: Protocols > Align the other timepoints.")
        )

    # --- the read -------------------------------------------------------------------------
    def _reads(self) -> Any:
        return getattr(self.w, "reads", None)

    def _settings(self) -> dict[str, str]:
        reads = self._reads()
        return dict(reads.session.read.settings) if reads is not None else {}

    def _patient_of(self, volume: Volume) -> str:
        from namecar_viewer.gui.tools.controller import study_info

        return str(study_info(volume).get("patient_id", "") or "")

    def _labels(self, patient_id: str) -> dict[str, str]:
        """Study UID -> the label the reader knows the timepoint by (the read's, else the trial
        timepoint or the study date)."""
        reads = self._reads()
        out: dict[str, str] = {}
        if reads is not None:
            for ps in reads.patient_studies(patient_id):
                out[ps.study_instance_uid] = ps.label
            read = reads.session.read
            if read.patient_id == patient_id:
                for tp in read.timepoints:
                    if tp.study_instance_uid:
                        out[tp.study_instance_uid] = tp.label
        return out

    def _shown(self, text: str) -> str:
        """``text`` as the window may show it (study dates as days when blinded)."""
        if not getattr(self.w.state, "blinded", False):
            return text
        return self.reading._blinded(text, self.reading.current_patient_rows())

    # --- starting -------------------------------------------------------------------------
    def _on_loaded(self, vp: Any, volume: Volume) -> None:
        if automatic_alignment_enabled() and volume is vp.model.volume:
            self.request(volume)

    def align_active(self, force: bool = False) -> bool:
        """Protocols > Align the other timepoints to the active CT (``force``: again)."""
        vol = self.w.active.model.volume
        if vol is None or vol.modality != "CT" or vol.shape[0] < 8:
            self._say(self.tr("Open a CT of the patient in the active viewport first."))
            return False
        if not self.request(vol, force=force):
            self._say(self.tr("Every other CT timepoint is already aligned to this one or linked."))
            return False
        return True

    def request(self, volume: Volume, force: bool = False) -> bool:
        """Queue the alignment of every other CT timepoint of the patient to ``volume``'s
        study; False when there is nothing to align."""
        if volume.modality != "CT" or volume.shape[0] < 8 or not volume.frame_of_reference_uid:
            return False
        pid = self._patient_of(volume)
        index = getattr(self.w, "index", None)
        if not pid or index is None:
            return False
        labels = self._labels(pid)
        study = volume.study_instance_uid or ""
        fixed = CtTimepoint(
            study, volume.frame_of_reference_uid, labels.get(study, study[-8:]), volume
        )
        rows = choose_ct_stacks(
            index.stack_rows(pid), str(volume.metadata.get("series_description", ""))
        )
        others = [
            CtTimepoint(s, r.frame_of_reference_uid, labels.get(s, s[-8:]), r)
            for s, r in sorted(rows.items(), key=lambda kv: kv[1].study_date)
            if s != study
        ]
        settings = self._settings()
        if force:  # again: only the reader's links (offsets, registrations) count
            settings = {k: v for k, v in settings.items() if not k.startswith(ALIGNMENT_PREFIX)}
            done: set[frozenset[str]] = set()
        else:
            done = set(self.aligned) | self._pending_pairs()
        targets = targets_to_align(fixed, others, settings, done)
        if not targets:
            return False
        self.queue.append((fixed, targets, pid, force))
        if self.worker is None:
            self._next()
        return True

    def _pending_pairs(self) -> set[frozenset[str]]:
        out = set()
        for fixed, targets, _pid, _force in self.queue:
            out |= {
                frozenset((fixed.frame_of_reference_uid, t.frame_of_reference_uid)) for t in targets
            }
        if self.job is not None:
            f = self.job.fixed.frame_of_reference_uid
            out |= {frozenset((f, t.frame_of_reference_uid)) for t in self.job.targets}
        return out

    def _source(self, tp: CtTimepoint) -> CtTimepoint:
        """The timepoint with what to load it from: the volume on screen, else its stack."""
        for vp in self.w.viewports:
            v = vp.model.volume
            if (
                v is not None
                and v.frame_of_reference_uid == tp.frame_of_reference_uid
                and v.modality == "CT"
                and v.shape[0] >= 8
                and not self.reading.loader_of(vp).busy
            ):
                return CtTimepoint(tp.study_instance_uid, tp.frame_of_reference_uid, tp.label, v)
        stack = self.w.index.stack(int(tp.source.id))
        return CtTimepoint(tp.study_instance_uid, tp.frame_of_reference_uid, tp.label, stack)

    def _next(self) -> None:
        while self.queue:
            fixed, targets, pid, force = self.queue.pop(0)
            if not force:
                done = set(self.aligned)
                targets = [
                    t
                    for t in targets
                    if frozenset((fixed.frame_of_reference_uid, t.frame_of_reference_uid))
                    not in done
                ]
            if not targets:
                continue
            try:
                sources = [self._source(t) for t in targets]
            except Exception as exc:  # noqa: BLE001 - the study index cannot give a stack
                self._say(self.tr("Cannot align: {reason}").format(reason=app_text(str(exc))))
                continue
            reads = self._reads()
            read = reads.session.read if reads is not None else None
            lesions = lesion_points(read) if read is not None and read.patient_id == pid else []
            self.job = AlignmentJob(fixed, sources, lesions)
            self.job_patient = pid
            self.worker = AlignmentWorker(self.job, self)
            self.worker.result.connect(self._on_result)
            self.worker.ended.connect(functools.partial(self._on_ended, self.worker))
            self.progress.setValue(0)
            self.progress.setFormat(self.tr("Aligning timepoints %p%"))
            self.progress.show()
            self.cancel_button.show()
            self._timer.start()
            self.worker.start()
            return
        self._idle()

    # --- running --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def wait(self, ms: int = 120000) -> bool:
        """Wait (processing events) until every queued alignment has ended."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop

        deadline = QDeadlineTimer(ms)
        while self.running and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if self.worker is not None:
                self.worker.wait(20)
        QCoreApplication.processEvents()
        return not self.running

    def _poll(self) -> None:
        job = self.job
        if job is None:
            return
        self.progress.setValue(int(1000 * job.overall))
        cur = job.current
        if cur is not None:
            self.progress.setFormat(
                self._shown(
                    self.tr("Aligning {moving} to {fixed} ({n}/{total}) %p%").format(
                        moving=cur.label,
                        fixed=job.fixed.label,
                        n=min(job.done + 1, job.total),
                        total=job.total,
                    )
                )
            )

    def _on_result(self, item: AlignmentRecord | AlignmentFailure) -> None:
        if isinstance(item, AlignmentFailure):
            self._say(
                self._shown(
                    self.tr("Cannot align {moving} to {fixed}: {reason}").format(
                        moving=item.moving.label,
                        fixed=item.fixed.label,
                        reason=app_text(item.reason),
                    )
                )
            )
            return
        self.aligned[item.pair] = item
        if not self._overridden(item):
            self.w.state.set_transform(item.fixed_frame, item.moving_frame, item.array)
        self._say(self._shown(self.summary(item)))
        if self.panel is not None:
            self.panel.refresh()

    def summary(self, rec: AlignmentRecord) -> str:
        """What was aligned and how well, in a sentence."""
        t = rec.translation_mm
        return i18n.fmt(
            self.tr(
                "Aligned {moving} to {fixed}: rotation {rotation:.1f} degrees, shift ({x:.1f}, "
                "{y:.1f}, {z:.1f}) mm, mean squared difference {before:.0f} -> {after:.0f} HU²; "
                "{refined} of {lesions} lesions refined locally."
            ),
            moving=rec.moving_label,
            fixed=rec.fixed_label,
            rotation=rec.rotation_deg,
            x=t[0],
            y=t[1],
            z=t[2],
            before=rec.initial_metric,
            after=rec.metric,
            refined=len(rec.refined),
            lesions=len(rec.local),
        )

    def _overridden(self, rec: AlignmentRecord) -> bool:
        """A manual offset or a registration of the same two frames is in the read."""
        return any(
            r.method != TIMEPOINT_ALIGNMENT
            and frozenset((r.fixed_frame, r.moving_frame)) == rec.pair
            for r in frame_links_in(self._settings())
        )

    def _on_ended(self, worker: AlignmentWorker, status: str) -> None:
        job = worker.job
        worker.wait()
        worker.deleteLater()
        if worker is self.worker:
            self.worker = None
            self.job = None
        kept = self._store(job)
        if status == "done":
            text = self.tr("Timepoints aligned to {fixed}: {n} of {total}.").format(
                fixed=job.fixed.label, n=len(job.records), total=job.total
            )
        elif status == "cancelled":
            text = self.tr("Alignment cancelled: {n} of {total} timepoints aligned.").format(
                n=len(job.records), total=job.total
            )
        else:
            text = self.tr("Alignment stopped: {reason}").format(reason=app_text(status))
        if job.records:
            text += " " + kept
        self._say(self._shown(text))
        self._next()

    def _store(self, job: AlignmentJob) -> str:
        """Keep a job's alignments with the read (once); says where they are kept."""
        if id(job) in self.stored_jobs or not job.records:
            return ""
        self.stored_jobs.add(id(job))
        reads = self._reads()
        session = reads.session if reads is not None else None
        if (
            session is None
            or session.read_only
            or session.read.patient_id not in ("", self.job_patient)
        ):
            for rec in job.records:
                self.session_only.add(rec.pair)
            return self.tr("Kept for this session only: the read on screen is not yours.")
        settings = session.read.settings
        old = [
            r
            for r in alignment_records_in(settings)
            if any(r.pair == n.pair and r.key != n.key for n in job.records)
        ]
        from namecar_viewer.app.read_session import Batch, SetReadSetting

        command = alignment_command(job.records, job.fixed.label)
        if old:  # aligned again the other way round: the older record goes
            command = Batch(
                (*(SetReadSetting(r.key, None, "") for r in old), command),
                command.text,
            )
        reads.undo.push_command(command)
        if all(session.read.settings.get(r.key) == r.to_json() for r in job.records):
            return self.tr("Kept with the read (Edit > Undo removes them).")
        for rec in job.records:
            self.session_only.add(rec.pair)
        return self.tr("Kept for this session only: the read did not take them.")

    def cancel(self) -> None:
        """Stop the running alignment and forget the queued ones."""
        self.queue.clear()
        if self.job is not None:
            self.job.cancel.set()

    def shutdown(self) -> None:
        """The window closes: stop, wait for the thread, keep what was aligned."""
        self.cancel()
        worker = self.worker
        if worker is not None:
            worker.wait(30000)
            self.worker = None
            self.job = None
            self._store(worker.job)
        self._idle()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.w and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def _idle(self) -> None:
        if self.worker is None and not self.queue:
            self._timer.stop()
            self.progress.hide()
            self.cancel_button.hide()

    # --- links ----------------------------------------------------------------------------
    def reapply(self) -> None:
        """Put this session's alignments not kept in the read back into the view state (after
        the timepoint links were forgotten)."""
        for pair in self.session_only:
            rec = self.aligned.get(pair)
            if rec is not None and not self._overridden(rec):
                self.w.state.set_transform(rec.fixed_frame, rec.moving_frame, rec.array)

    def records(self) -> list[tuple[AlignmentRecord, str]]:
        """Every alignment of the read and of this session, with how it is kept."""
        out: list[tuple[AlignmentRecord, str]] = []
        seen = set()
        stored = alignment_records_in(self._settings())
        for rec in stored:
            seen.add(rec.pair)
            out.append((rec, "read"))
        for pair, rec in self.aligned.items():
            if pair not in seen and pair in self.session_only:
                out.append((rec, "session"))
        return out

    def show_panel(self) -> AlignmentPanel:
        if self.panel is None:
            self.panel = AlignmentPanel(self, self.w)
        self.panel.refresh()
        self.panel.show()
        self.panel.raise_()
        return self.panel

    def _say(self, text: str) -> None:
        self.last_message = text
        self.w.statusBar().showMessage(text, 20000)


class AlignmentPanel(QDialog):
    """Protocols > Timepoint alignment...: each aligned pair, how it is linked, the metric."""

    def __init__(self, controller: AlignmentController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle(self.tr("Timepoint alignment"))
        self.setObjectName("alignment_panel")
        lay = QVBoxLayout(self)
        self.note = QLabel(
            self.tr(
                "Each other CT timepoint is aligned to the CT opened (rigid registration, then "
                "a box around each lesion where it helps). A manual offset (Ctrl+K) of the same "
                "two timepoints is used instead while it exists."
            )
        )
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Timepoints"),
                self.tr("Link used"),
                self.tr("Rotation (degrees)"),
                self.tr("Shift (mm)"),
                self.tr("Mean squared difference (HU²)"),
                self.tr("Lesions refined"),
                self.tr("Time (s)"),
            ]
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.again = buttons.addButton(
            self.tr("Align again to the active CT"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.again.clicked.connect(lambda _c=False: self.controller.align_active(force=True))
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(900, 320)

    def refresh(self) -> None:
        rows = self.controller.records()
        self.table.setRowCount(len(rows))
        overridden = {
            frozenset((r.fixed_frame, r.moving_frame))
            for r in frame_links_in(self.controller._settings())
            if r.method != TIMEPOINT_ALIGNMENT
        }
        for n, (rec, kept) in enumerate(rows):
            if rec.pair in overridden:
                link = self.tr("manual offset (the alignment is not used)")
            elif kept == "read":
                link = self.tr("automatic, kept with the read")
            else:
                link = self.tr("automatic, this session only")
            t = rec.translation_mm
            refined = ", ".join(
                i18n.fmt("{label} {shift:.1f} mm", label=x.label, shift=x.shift_mm)
                for x in rec.refined
            )
            cells: Sequence[str] = (
                self.controller._shown(f"{rec.moving_label} -> {rec.fixed_label}"),
                link,
                i18n.num(rec.rotation_deg, 2),
                f"{i18n.num(t[0])}, {i18n.num(t[1])}, {i18n.num(t[2])}",
                f"{i18n.num(rec.initial_metric, 0)} -> {i18n.num(rec.metric, 0)}",
                self.tr("{n} of {total}").format(n=len(rec.refined), total=len(rec.local))
                + (f" ({refined})" if refined else ""),
                i18n.num(rec.seconds, 1),
            )
            for col, text in enumerate(cells):
                self.table.setItem(n, col, QTableWidgetItem(text))
