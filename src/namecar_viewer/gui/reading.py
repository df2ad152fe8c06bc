"""What connects the study index to the viewports of the main window: import, background loading,
drag and drop of a series onto a viewport, hanging protocols and the timepoint offset.

Kept apart from ``main_window`` (which owns menus, layout and view actions) so each stays small;
the window creates one :class:`ReadingController` and delegates to it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, QPointF
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMenuBar, QProgressBar, QPushButton

from namecar_viewer.app.hanging_protocols import (
    PROTOCOLS,
    ProtocolResult,
    SlotKind,
    StudyRole,
    ViewportAssignment,
    apply_protocol,
)
from namecar_viewer.app.importer import ImportMode, ImportSummary, import_paths
from namecar_viewer.app.pet import (
    ALIGNMENT_PREFIX,
    REGISTRATION_PREFIX,
    TIMEPOINT_OFFSET,
    RegistrationRecord,
    pet_display_volume,
    registrations_in,
    timepoint_offsets_in,
)
from namecar_viewer.app.read_session import SetReadSetting
from namecar_viewer.core.dicom import LoadCancelled, Stack, load_stack
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation
from namecar_viewer.gui import i18n
from namecar_viewer.gui.app_texts import study_role_text
from namecar_viewer.gui.i18n import app_text, problem_text, reason_text
from namecar_viewer.gui.linking import OffsetPicker, OffsetTool
from namecar_viewer.gui.loading import ViewportLoader
from namecar_viewer.gui.series_volumes import SeriesVolumes
from namecar_viewer.gui.study_browser import (
    STACK_MIME,
    ImportDialog,
    display_date,
    skipped_text,
)
from namecar_viewer.gui.viewport import CrosshairTool, SliceViewport
from namecar_viewer.persistence.study_index import StackRow

if TYPE_CHECKING:
    from namecar_viewer.gui.main_window import MainWindow

EMPTY_TEXT = QT_TRANSLATE_NOOP(
    "ReadingController",
    "No series loaded.\nDouble-click a series in the study browser, or drag it here.",
)
# Renders a derived slot (fusion, MIP) into a viewport; the PET/MRI work registers these.
SlotRenderer = Callable[[SliceViewport, ViewportAssignment, ProtocolResult], None]


def stack_title(stack: Stack) -> str:
    return f"{stack.series_description} {stack.label}".strip() or stack.modality


def patient_lines(stack: Stack) -> list[str]:
    lines = [
        stack.patient_name.replace("^", " ").strip(),
        stack.patient_id,
        f"{display_date(stack.study_date)} {stack.study_description}".strip(),
    ]
    return [t for t in lines if t]


def empty_text() -> str:
    """What an empty viewport says, in the reader's language."""
    return QCoreApplication.translate("ReadingController", EMPTY_TEXT)


class ReadingController(QObject):
    """Import, load, drop, protocols and offsets for one :class:`MainWindow`."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.index = window.index
        self.loaders = [ViewportLoader(vp, self) for vp in window.viewports]
        self.marks: dict[str, StudyRole] = {}
        self.slot_renderers: dict[SlotKind, SlotRenderer] = {}
        self.protocol: ProtocolResult | None = None
        self.prior_pick: str | None = None  # study the reader compares with instead of the nadir
        self.import_dialog: ImportDialog | None = None
        self.picker = OffsetPicker(window.state, self._say, self._offset_done)
        # the timepoints side by side zoom and pan together (prior comparison)
        self.view_sync = ViewSync(window)
        self.volumes = SeriesVolumes(self)  # the phases, b-values, echoes of a 4D series
        for vp, loader in zip(window.viewports, self.loaders, strict=True):
            vp.setAcceptDrops(True)
            vp.installEventFilter(self)
            loader.progress.connect(self._on_progress)
            loader.finished.connect(lambda _v: self._idle_check())
            loader.failed.connect(lambda r, vp=vp: self._on_failed(vp, r))
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setFormat(self.tr("Loading %p%"))
        self.cancel_button = QPushButton(self.tr("Cancel loading"))
        self.cancel_button.clicked.connect(lambda _c=False: self.cancel_loads())
        sb = window.statusBar()
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.cancel_button)
        self.progress_bar.hide()
        self.cancel_button.hide()
        window.browser.stack_activated.connect(self.open_in_active)
        window.browser.import_requested.connect(self.show_import_dialog)
        for vp in window.viewports:
            vp.empty_text = empty_text()
        # PET in SUV in the grid, reader-entered SUV values, the FUSION and MIP slots (issue 6)
        from namecar_viewer.gui.fusion.grid import PetGrid

        self.pet = PetGrid(self)
        # every other CT timepoint aligned to a CT when it opens, in the background (issue 16)
        from namecar_viewer.gui.alignment import AlignmentController

        self.alignment = AlignmentController(self)

    # --- menus -----------------------------------------------------------------------------
    def add_menus(self, mb: QMenuBar) -> None:
        w = self.w
        p = mb.addMenu(self.tr("&Protocols"))
        p.setObjectName("menu_protocols")
        for proto in PROTOCOLS:
            w._act(
                p,
                "Protocols",
                f"protocol_{proto.key}",
                self.tr("{name}: {description}").format(
                    name=app_text(proto.name), description=app_text(proto.description)
                ),
                functools.partial(self.apply_protocol, proto.key),
                proto.shortcut,
            )
        w._act(
            p,
            "Protocols",
            "pick_prior",
            self.tr("Compare the current CT with another prior..."),
            self.choose_prior,
        )
        p.addSeparator()
        w._act(
            p,
            "Protocols",
            "mark_baseline",
            self.tr("Mark the active viewport's study as pre-treatment baseline"),
            lambda: self.mark_active_study(StudyRole.PRE_TREATMENT_BASELINE),
        )
        w._act(
            p,
            "Protocols",
            "mark_inclusion",
            self.tr("Mark the active viewport's study as inclusion scan"),
            lambda: self.mark_active_study(StudyRole.INCLUSION),
        )
        p.addSeparator()
        w._act(
            p,
            "Protocols",
            "link_offset",
            self.tr("Link timepoints: click the same anatomy in two viewports"),
            self.start_offset_picking,
            "Ctrl+K",
        )
        w._act(p, "Protocols", "unlink", self.tr("Forget timepoint links"), self.clear_links)
        self.alignment.add_menu_actions(p)
        a = w._act(
            p,
            "Protocols",
            "link_scrolling",
            self.tr("Linked scrolling (same frame of reference or linked timepoints)"),
            self.toggle_link_scrolling,
            "Ctrl+L",
            True,
        )
        a.setChecked(w.state.link_scrolling)

    # --- import ----------------------------------------------------------------------------
    def show_import_dialog(self) -> ImportDialog:
        if self.import_dialog is None:
            self.import_dialog = ImportDialog(self.index, self.w)
            self.import_dialog.imported.connect(self._on_imported)
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    def _on_imported(self, summary: ImportSummary) -> None:
        self.w.browser.refresh()
        from namecar_viewer.gui.study_browser import summary_text

        self._say(summary_text(summary).splitlines()[0])

    def open_paths(self, paths: Sequence[str]) -> ImportSummary | None:
        """Index ``paths`` in place (reference), list them and show the first series as MPR."""
        if not paths:
            return None
        try:
            summary = import_paths(self.index, list(paths), ImportMode.REFERENCE)
        except Exception as exc:  # noqa: BLE001 - never a traceback in the window
            self.w.browser.show_message(self.tr("Import failed: {reason}").format(reason=exc))
            return None
        self.w.browser.refresh()
        if summary.skipped:
            self.w.browser.show_message(
                (
                    self.tr("1 file skipped: ")
                    if len(summary.skipped) == 1
                    else self.tr("{n} files skipped: ").format(n=len(summary.skipped))
                )
                + "; ".join(skipped_text(s.path, s.reason) for s in summary.skipped[:3])
                + (" ..." if len(summary.skipped) > 3 else "")
            )
        wanted = set(summary.stack_ids)
        for row in self.w.browser.stack_rows():
            if row.id in wanted and row.loadable and not row.is_localizer:
                self.load_mpr_now(row.id)
                break
        return summary

    # --- loading ---------------------------------------------------------------------------
    def _stack(self, stack_id: int, vp: SliceViewport) -> Stack | None:
        try:
            return self.index.stack(stack_id)
        except Exception as exc:  # noqa: BLE001 - shown in the viewport
            vp.model.set_error(
                self.tr("the study index cannot give this series: {reason}").format(reason=exc)
            )
            return None

    def load_mpr_now(self, stack_id: int) -> Volume | None:
        """Load in the foreground and show as MPR in every viewport (opening a folder)."""
        vp = self.w.active
        st = self._stack(stack_id, vp)
        if st is None:
            return None
        title = stack_title(st)
        if not st.loadable:
            self.w.show_error(
                "\n".join(problem_text(p) for p in st.problems) or self.tr("not loadable"), title
            )
            return None
        try:
            vol = load_stack(st)
            if vol.modality == "PT":
                vol = pet_display_volume(vol, self.pet.overrides_for(st.series_instance_uid))
        except (LoadCancelled, Exception) as exc:  # noqa: BLE001 - reason in the viewport
            self.w.show_error(reason_text(str(exc)) or type(exc).__name__, title)
            return None
        self.w.show_volume(vol, title, patient_lines(st))
        self._say(self.tr("Loaded {title}: {n} images").format(title=title, n=vol.shape[0]))
        return vol

    def open_in_active(self, stack_id: int) -> None:
        """Double-click in the browser: load into the active viewport (M makes it MPR); the
        keyboard goes to the images."""
        self.load_into(self.w.active, stack_id)
        self.w.focus_images()

    def loader_of(self, vp: SliceViewport) -> ViewportLoader:
        return self.loaders[self.w.viewports.index(vp)]

    def load_into(
        self,
        vp: SliceViewport,
        stack_id: int,
        orientation: SliceOrientation = SliceOrientation.AXIAL,
    ) -> ViewportLoader | None:
        """Load a stack of the index into one viewport in the background."""
        st = self._stack(stack_id, vp)
        if st is None:
            return None
        vp.empty_text = empty_text()
        self.pet.clear_slot(vp)
        loader = self.loader_of(vp)
        loader.load(st, orientation, stack_title(st), patient_lines(st))
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_button.show()
        return loader

    @property
    def loading(self) -> bool:
        return any(ld.busy for ld in self.loaders)

    def wait_loads(self, ms: int = 30000) -> None:
        for ld in self.loaders:
            ld.wait(ms)

    def cancel_loads(self) -> None:
        for ld in self.loaders:
            ld.cancel()
        self._idle_check()
        self._say(self.tr("Loading cancelled"))

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setValue(int(100 * done / max(total, 1)))

    def _on_failed(self, vp: SliceViewport, reason: str) -> None:
        self._say(
            self.tr("Cannot load {title}: {reason}").format(
                title=vp.model.title, reason=reason_text(reason)
            )
        )
        self._idle_check()

    def _idle_check(self) -> None:
        if not self.loading:
            self.progress_bar.hide()
            self.cancel_button.hide()

    # --- drag and drop ---------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        et = event.type()
        if isinstance(obj, SliceViewport) and et in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            ev: Any = event
            if isinstance(ev, QDragEnterEvent | QDropEvent) and ev.mimeData().hasFormat(STACK_MIME):
                ev.acceptProposedAction()
                return True
        if isinstance(obj, SliceViewport) and et == QEvent.Type.Drop:
            drop: Any = event
            data = drop.mimeData()
            if data.hasFormat(STACK_MIME):
                sid = int(bytes(data.data(STACK_MIME).data()).decode())
                self.drop_stack(obj, sid)
                drop.acceptProposedAction()
                return True
        return False

    def drop_stack(self, vp: SliceViewport, stack_id: int) -> None:
        """A series dropped on a viewport replaces whatever a protocol put there."""
        self.w.set_active(vp)
        orientation = (
            vp.model.orientation
            if vp.model.volume is not None
            and vp.model.orientation is not SliceOrientation.ACQUISITION
            else SliceOrientation.AXIAL
        )
        self.load_into(vp, stack_id, orientation)

    # --- hanging protocols -----------------------------------------------------------------
    def current_patient_rows(self) -> list[StackRow]:
        """Stacks of the patient the reader is on: the selected browser item's patient, else the
        active viewport's, else the only patient of the index."""
        rows = self.index.stack_rows()
        item = self.w.browser.tree.currentItem()
        pid: str | None = None
        if item is not None:
            node = item
            while (parent := node.parent()) is not None:
                node = parent
            text = node.text(0)
            for r in rows:
                if text.endswith(f"[{r.patient_id}]"):
                    pid = r.patient_id
                    break
        if pid is None:
            vol = self.w.active.model.volume
            if vol is not None:
                for r in rows:
                    if r.series_instance_uid == vol.series_instance_uid:
                        pid = r.patient_id
                        break
        if pid is None:
            ids = {r.patient_id for r in rows}
            if len(ids) == 1:
                pid = ids.pop()
        return [r for r in rows if r.patient_id == pid] if pid is not None else []

    def apply_protocol(self, key: str) -> ProtocolResult:
        rows = self.current_patient_rows()
        reads = getattr(self.w, "reads", None)
        read = reads.session.read if reads is not None and key == "recist" else None
        if read is not None and rows and read.patient_id not in ("", rows[0].patient_id):
            read = None  # the read on screen is another patient's
        result = apply_protocol(key, rows, self.marks, read, self.prior_pick)
        self.protocol = result
        self.w.set_layout(result.layout)
        for vp, a in zip(self.w.visible_viewports(), result.assignments, strict=False):
            self._assign(vp, a, result)
        msg = self.tr("{protocol}: {slots}").format(
            protocol=app_text(result.name),
            slots=", ".join(
                f"{app_text(a.slot)} = {app_text(a.title)}"
                for a in result.assignments
                if a.kind is SlotKind.SERIES
            ),
        )
        if result.missing:
            msg += self.tr(" (missing: {what})").format(
                what="; ".join(app_text(m) for m in result.missing)
            )
        elif result.link_timepoints and not self._series_linked(result):
            from namecar_viewer.gui.alignment import automatic_alignment_enabled

            msg += (
                self.tr(
                    ". They are aligned automatically once loaded (Ctrl+K links two by hand "
                    "instead)."
                )
                if automatic_alignment_enabled()
                else self.tr(
                    ". Their frames of reference are not linked yet: Ctrl+K, then click the "
                    "same anatomy in both (or register them)."
                )
            )
        self._say(self._blinded(msg, rows))
        return result

    def _blinded(self, text: str, rows: Sequence[StackRow]) -> str:
        """``text`` with the patient's study dates as days from the first study when the window
        is blinded (the protocol's slots name their CT by date)."""
        if not getattr(self.w.state, "blinded", False):
            return text
        from namecar_viewer.app.blinding import BlindingPolicy
        from namecar_viewer.gui.worklist import redactor_for_index

        pid = rows[0].patient_id if rows else None
        red = redactor_for_index(self.index, BlindingPolicy.for_mode(True), pid)
        return i18n.days_text(red.redact(text))

    def _series_linked(self, result: ProtocolResult) -> bool:
        fors = [
            a.stack.frame_of_reference_uid
            for a in result.assignments
            if a.kind is SlotKind.SERIES and a.stack is not None
        ]
        if len(fors) < 2:
            return True
        return all(self.w.state.transform(fors[0], f) is not None for f in fors[1:])

    def _assign(self, vp: SliceViewport, a: ViewportAssignment, result: ProtocolResult) -> None:
        loader = self.loader_of(vp)
        loader.cancel()
        self.pet.clear_slot(vp)
        if a.kind is not SlotKind.SERIES:
            renderer = self.slot_renderers.get(a.kind)
            if renderer is not None:
                renderer(vp, a, result)
                return
            vp.empty_text = self.tr("{reason}\n(this view comes with the PET/MRI work)").format(
                reason=app_text(a.reason)
            )
            vp.model.set_volume(None, a.orientation, app_text(a.title))
            return
        if a.stack is None:
            vp.empty_text = "\n".join(app_text(m) for m in result.missing) or self.tr(
                "No series for this slot"
            )
            vp.model.set_volume(None, a.orientation, a.title)
            return
        self.load_into(vp, int(a.stack.id), a.orientation)

    def choose_prior(self, study_uid: str | None = None) -> ProtocolResult | None:
        """Protocols > Compare with another prior: the left slot of the RECIST read shows the
        picked CT instead of the nadir (until the patient changes)."""
        rows = [r for r in self.current_patient_rows() if r.modality == "CT"]
        studies: dict[str, str] = {}
        for r in sorted(rows, key=lambda r: r.study_date):
            studies.setdefault(r.study_instance_uid, f"{display_date(r.study_date)} {r.title}")
        if not studies:
            self._say(self.tr("No CT of this patient in the study store."))
            return None
        if study_uid is None:
            from PySide6.QtWidgets import QInputDialog

            labels = [self._blinded(label, rows) for label in studies.values()]
            label, ok = QInputDialog.getItem(
                self.w, self.tr("Compare with a prior"), self.tr("Prior CT:"), labels, 0, False
            )
            if not ok:
                return None
            study_uid = list(studies)[labels.index(label)]
        self.prior_pick = study_uid
        return self.apply_protocol("recist")

    def mark_active_study(self, role: StudyRole) -> None:
        vol = self.w.active.model.volume
        if vol is None or not vol.study_instance_uid:
            self._say(self.tr("Load a series of the study first."))
            return
        for uid, r in list(self.marks.items()):
            if r is role:
                del self.marks[uid]
        self.marks[vol.study_instance_uid] = role
        self._say(self.tr("Study marked as {role}.").format(role=study_role_text(role)))

    # --- timepoint offset ------------------------------------------------------------------
    def start_offset_picking(self) -> None:
        self.picker.first = None
        for vp in self.w.viewports:
            vp.set_tool(OffsetTool(self.picker))
        self._say(
            self.tr("Offset: click a landmark in one timepoint, then the same one in the other.")
        )

    def _offset_done(self, for_a: str, for_b: str, m: npt.NDArray[np.float64]) -> None:
        self.w.set_tool(CrosshairTool)
        act = self.w.actions_by_name.get("tool_crosshair")
        if act is not None:
            act.setChecked(True)
        reads = getattr(self.w, "reads", None)
        if reads is None:
            self._say(
                self.w.statusBar().currentMessage()
                + self.tr(" For this session only: no read open.")
            )
            return
        record = RegistrationRecord.of(for_a, for_b, m, None, TIMEPOINT_OFFSET)
        reads.undo.push_command(record.command())
        if reads.session.read.settings.get(record.key) == record.to_json():
            t = m[:3, 3]
            self._say(
                i18n.fmt(
                    self.tr(
                        "Timepoints linked: offset ({x:.1f}, {y:.1f}, {z:.1f}) mm LPS, kept "
                        "with the read (undo removes it)."
                    ),
                    x=float(t[0]),
                    y=float(t[1]),
                    z=float(t[2]),
                )
            )

    def clear_links(self) -> None:
        state = self.w.state
        fors = {v.frame_of_reference_uid for v in state.viewports if v.frame_of_reference_uid}
        reads = getattr(self.w, "reads", None)
        stored = timepoint_offsets_in(reads.session.read.settings) if reads is not None else []
        for rec in stored:
            reads.undo.push_command(
                SetReadSetting(rec.key, None, self.tr("Forget a timepoint link"))
            )
        for a in fors:
            for b in fors:
                if a < b and not self._registered(a, b):
                    state.clear_transform(a, b)
        self.alignment.reapply()  # the automatic alignment comes back where it was
        self._say(
            self.tr("Timepoint links forgotten.")
            if fors or stored
            else self.tr("No timepoint links.")
        )

    def _registered(self, a: str, b: str) -> bool:
        """An accepted PET registration or an automatic alignment between ``a`` and ``b``
        stays (neither is a link made by hand)."""
        reads = getattr(self.w, "reads", None)
        if reads is None:
            return False
        settings = {**reads.session.read.settings, **reads.ancillary_session.read.settings}
        kept = registrations_in(settings, (REGISTRATION_PREFIX, ALIGNMENT_PREFIX))
        return any({r.fixed_frame, r.moving_frame} == {a, b} for r in kept)

    def toggle_link_scrolling(self) -> None:
        st = self.w.state
        st.set_link_scrolling(not st.link_scrolling)
        self._say(
            self.tr("Linked scrolling on") if st.link_scrolling else self.tr("Linked scrolling off")
        )

    def _say(self, text: str) -> None:
        self.w.statusBar().showMessage(text)


class ViewSync(QObject):
    """Synchronised zoom and pan of the viewports side by side (the current CT, the previous
    one, the nadir or a prior): when the reader zooms or pans one (wheel, menu, middle drag,
    Zoom to fit), every other visible viewport whose planes are parallel to it and whose frame
    of reference is linked to it (the same, or through the timepoint alignment) takes the same
    scale and centres the same anatomy, mapped through the transform.  Scrolling is linked by
    the view state; both follow Protocols > Linked scrolling (Ctrl+L).

    A viewport's zoom and pan are its widget's: they are read when it paints (whatever changed
    them), and a change of series, plane orientation or widget size is not the reader's zoom.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self._seen: dict[int, tuple[Any, ...]] = {}
        for vp in window.viewports:
            vp.installEventFilter(self)

    @staticmethod
    def view_of(vp: SliceViewport) -> tuple[Any, ...] | None:
        """(what is shown, widget size) and (scale, image pixel at the centre)."""
        m = vp.model
        if m.plane is None or m.volume is None:
            return None
        rc = vp.screen_to_pixel(QPointF(vp.width() / 2.0, vp.height() / 2.0))
        if rc is None:
            return None
        content = (id(m.volume), m.orientation, vp.width(), vp.height())
        return content, (round(vp.scale, 6), round(rc[0], 3), round(rc[1], 3))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(obj, SliceViewport):
            view = self.view_of(obj)
            last = self._seen.get(id(obj))
            self._seen[id(obj)] = view  # type: ignore[assignment]
            if (
                view is not None
                and last is not None
                and last[0] == view[0]
                and last[1] != view[1]
                and self.w.state.link_scrolling
            ):
                self.follow(obj)
        return False

    def follow(self, source: SliceViewport) -> list[SliceViewport]:
        """Give the linked viewports ``source``'s zoom and centre; returns those that moved."""
        state = self.w.state
        src = source.model
        if src.plane is None or src.geometry is None:
            return []
        centre = source.screen_to_patient(QPointF(source.width() / 2.0, source.height() / 2.0))
        if centre is None:
            return []
        moved = []
        for vp in self.w.visible_viewports():
            m = vp.model
            if vp is source or m.plane is None or m.geometry is None or not m.shown:
                continue
            t = state.transform(src.frame_of_reference_uid, m.frame_of_reference_uid)
            if t is None:
                continue
            normal = t[:3, :3] @ src.geometry.normal
            if abs(float(np.dot(normal, m.geometry.normal))) < 0.999 * float(
                np.linalg.norm(normal)
            ):
                continue
            if abs(vp.scale - source.scale) > 1e-9:
                vp.zoom_by(source.scale / vp.scale)
            q = state.map_point(centre, src.frame_of_reference_uid, m.frame_of_reference_uid)
            s = vp.patient_to_screen(q) if q is not None else None
            if s is not None:
                vp.pan_by(vp.width() / 2.0 - s.x(), vp.height() / 2.0 - s.y())
            self._seen[id(vp)] = self.view_of(vp)  # type: ignore[assignment]
            moved.append(vp)
        return moved
