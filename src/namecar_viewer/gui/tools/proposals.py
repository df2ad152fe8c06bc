"""Proposed measurements at a follow-up: the reader confirms each lesion instead of searching it.

Tools > Proposed measurements (G) on a follow-up CT (the RECIST layout's current CT, else the
active viewport's) goes through the lesions the read expects there
(:func:`~namecar_viewer.app.proposals.lesions_to_propose`), one at a time: every viewport is
brought to the lesion (the current CT to the proposed slice, the crosshair on it, each prior to
its own measurement of the lesion), and the proposal of
:mod:`~namecar_viewer.app.proposals` is drawn on the current CT: the semi-automatic diameter
found near the lesion's aligned position, "not found", or for a non-target its previous answer.

Nothing enters the read until the reader acts:

* **Enter** accepts the proposed diameter (or confirms the previous answer) and goes on to the
  next lesion not yet assessed;
* a **handle dragged** edits the proposal before Enter; a **click** on the image proposes the
  lesion under it instead (the same semi-automatic diameter), a **drag** draws a line instead;
  Escape goes back to the proposal;
* **0** absent, **S** too small to measure, **U** not evaluable (one key each);
* **N** / **P** go to the next / previous lesion (P is Pan when no proposals are shown).

An accepted proposal goes through the assignment rules: it attaches to its lesion when it lies
where the lesion is expected and no other lesion is nearer (one undo step, announced with
Undo), otherwise the lesion chooser asks.  Each answer writes the proposal's record in the read
(:func:`~namecar_viewer.app.proposals.record_json`): proposed values, and accepted as proposed,
edited or replaced.  Once the reader chose the tool, the RECIST layout's next CT (Alt+1) is
proposed as soon as it is loaded.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QColor,
    QCursor,
    QFont,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
)

from namecar_viewer.app import proposals as prop
from namecar_viewer.app.lesion_assignment import NewLesionDetails, Option, record_for_study
from namecar_viewer.core.geometry.reslice import Plane, SliceOrientation
from namecar_viewer.core.measure import (
    Measurement,
    MeasurementKind,
    SegmentationError,
    lies_on_plane,
    move_handle,
)
from namecar_viewer.core.reads import LesionStatus, ReadKind, ReadTimepoint
from namecar_viewer.gui.app_texts import enum_text, lesion_role_text
from namecar_viewer.gui.i18n import app_text, error_text, fmt
from namecar_viewer.gui.panels.lesion_table import show_lesion_measurements, status_text
from namecar_viewer.gui.tools.layer import HIT_PX, half_thickness
from namecar_viewer.gui.tools.tools import MIN_DRAG_PX, MeasureTool
from namecar_viewer.gui.viewport import SliceViewport

translate = QCoreApplication.translate

_PROPOSAL = QColor(255, 120, 255)
_EXPECTED = QColor(255, 200, 90)
_BANNER_BG = QColor(20, 20, 24, 200)
# keys of the flow (window shortcuts while proposals are shown); the tool itself is G
NEXT_KEY, PREVIOUS_KEY = "N", "P"
STATUS_KEYS = (
    (LesionStatus.ABSENT, "0"),
    (LesionStatus.TOO_SMALL, "S"),
    (LesionStatus.NOT_EVALUABLE, "U"),
)


@dataclass(frozen=True)
class Candidate:
    """What Enter would store: the proposal, edited or replaced by the reader."""

    kind: MeasurementKind
    points: tuple[tuple[float, float, float], ...]
    plane: Plane
    slice_spacing_mm: float
    contour: tuple[tuple[float, float, float], ...]
    outcome: prop.Outcome


class ProposalTool(MeasureTool):
    """The viewport tool of the proposal flow (G): Enter accepts, a handle drag edits, a click
    proposes the lesion under it, a drag draws a line instead; stored measurements are edited
    as with every measurement tool.  On the other viewports a click places the crosshair."""

    name = "proposals"
    kind = MeasurementKind.BIDIRECTIONAL
    click_creates = True

    def __init__(self, layer: Any) -> None:
        super().__init__(layer)
        self._handle: tuple[int, str] | None = None  # candidate handle dragged

    @property
    def flow(self) -> ProposalFlow | None:
        f = getattr(self.layer, "proposals", None)
        return f if isinstance(f, ProposalFlow) else None

    def mouse_press(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        flow = self.flow
        if flow is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouse_press(vp, event)
        h = flow.candidate_handle(vp, event.position())
        if h is not None:
            self._handle = (h, "")
            return True
        if vp is not flow.vp and self.layer.hit(vp, event.position()) is None:
            vp.place_crosshair(event.position())  # a prior: compare, never draw there
            return True
        return super().mouse_press(vp, event)

    def mouse_move(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        flow = self.flow
        if self._handle is not None and flow is not None:
            if event.buttons() & Qt.MouseButton.LeftButton:
                p = vp.screen_to_patient(event.position())
                if p is not None:
                    flow.move_candidate_handle(self._handle[0], p)
            return True
        return super().mouse_move(vp, event)

    def mouse_release(self, vp: SliceViewport, event: QMouseEvent) -> bool:
        if self._handle is not None and event.button() == Qt.MouseButton.LeftButton:
            self._handle = None
            return True
        return super().mouse_release(vp, event)

    def new_points(self, vp: SliceViewport, start: Any, end: Any) -> tuple[Any, ...] | None:
        flow = self.flow
        if flow is None or vp is not flow.vp:
            return None
        a, b = vp.patient_to_screen(start), vp.patient_to_screen(end)
        click = a is None or b is None or (b - a).manhattanLength() < MIN_DRAG_PX
        if click:
            flow.propose_at(end)
        else:
            flow.draw_line(start, end)
        return None  # nothing stored until Enter

    def key_press(self, vp: SliceViewport, event: QKeyEvent) -> bool:
        flow = self.flow
        key = event.key()
        if flow is not None and flow.active:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.layer.selected is None:
                return flow.accept()
            if key == Qt.Key.Key_Escape and self._start is None and flow.reset_candidate():
                return True
        return super().key_press(vp, event)

    def paint(self, vp: SliceViewport, painter: QPainter) -> None:
        if self._start is None or self._start[0] is not vp or self._current is None:
            return
        try:
            m = Measurement.create(MeasurementKind.LINE, (self._start[1], self._current))
        except ValueError:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.layer._paint_measurement(vp, painter, m, QColor(255, 255, 255), True)


class ProposalFlow(QObject):
    """The proposals of one follow-up, the lesion on screen and the reader's answers."""

    def __init__(self, reads: Any) -> None:
        super().__init__(reads)
        self.reads = reads
        self.window = reads.window
        self.layer = reads.layer
        self.layer.proposals = self
        self.active = False
        self.vp: SliceViewport | None = None
        self.tp: ReadTimepoint | None = None
        self.lesions: list[str] = []
        self.index = 0
        self.proposal: prop.Proposal | None = None
        self.candidate: Candidate | None = None
        self.message = ""
        self.chooser: Any = None
        self._cache: dict[tuple[Any, ...], prop.Proposal] = {}
        self._pan_key: QKeySequence | None = None
        self._font = QFont()
        self._font.setPixelSize(13)
        self._font.setBold(True)
        self.actions: dict[str, QAction] = {}
        self._build_actions()
        for vp in getattr(self.window, "viewports", []):
            vp.overlay_layers.append(self)
            vp.tool_changed.connect(lambda tool, v=vp: self._tool_changed(v, tool))
        reading = getattr(self.window, "reading", None)
        for loader in getattr(reading, "loaders", []):
            loader.finished.connect(lambda _vol, ld=loader: self._loaded(ld.viewport))
        state = getattr(self.window, "state", None)
        if state is not None:
            state.transforms_changed.connect(self._transforms_changed)
        reads.switched.connect(lambda _undo: self.stop())

    # --- actions ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        rows = []
        specs: list[tuple[str, str, str, Any]] = [
            (
                "next",
                self.tr("Proposed measurements: next lesion"),
                NEXT_KEY,
                lambda: self.step(1),
            ),
            (
                "previous",
                self.tr("Proposed measurements: previous lesion"),
                PREVIOUS_KEY,
                lambda: self.step(-1),
            ),
        ]
        names = {
            LesionStatus.ABSENT: self.tr("Proposed measurements: absent"),
            LesionStatus.TOO_SMALL: self.tr("Proposed measurements: too small to measure"),
            LesionStatus.NOT_EVALUABLE: self.tr("Proposed measurements: not evaluable"),
        }
        for status, key in STATUS_KEYS:
            specs.append((status.value, names[status], key, lambda s=status: self.mark(s)))
        for name, text, key, slot in specs:
            a = QAction(text, w)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setEnabled(False)
            a.triggered.connect(lambda _c=False, f=slot: f())
            w.addAction(a)
            self.actions[name] = a
            rows.append((text, key))
        rows.insert(
            2,
            (
                self.tr("Proposed measurements: accept (or confirm the previous answer)"),
                self.tr("Enter"),
            ),
        )
        rows[1] = (rows[1][0], self.tr("P (Pan when no proposals are shown)"))
        self.reads._register_keys("Tools", rows)
        tools: Any = self.window.menuBar()
        for act in tools.actions():
            m = act.menu()
            if m is not None and m.objectName() == "menu_tools":
                m.addSeparator()
                for name in ("next", "previous", *(s.value for s, _k in STATUS_KEYS)):
                    m.addAction(self.actions[name])

    def _enable(self, on: bool) -> None:
        for a in self.actions.values():
            a.setEnabled(on)
        pan = getattr(self.window, "actions_by_name", {}).get("tool_pan")
        if pan is None:
            return
        if on and self._pan_key is None:
            self._pan_key = pan.shortcut()
            pan.setShortcut(QKeySequence())
        elif not on and self._pan_key is not None:
            pan.setShortcut(self._pan_key)
            self._pan_key = None

    # --- starting and stopping -------------------------------------------------------------
    @property
    def session(self) -> Any:
        return self.reads.session

    def _tool_changed(self, vp: SliceViewport, tool: Any) -> None:
        if vp not in self.window.viewports:
            return
        if isinstance(tool, ProposalTool):
            if not self.active:
                QTimer.singleShot(0, self._start_if_tool)
        elif self.active:
            self.stop()

    def _tool_on(self) -> bool:
        return isinstance(getattr(self.reads, "current_tool", None), ProposalTool)

    def _start_if_tool(self) -> None:
        if self._tool_on() and not self.active:
            self.start()

    def _loaded(self, vp: SliceViewport) -> None:
        """A CT finished loading: with the tool chosen, the RECIST layout's current CT is
        proposed at once (Alt+1 brought the next follow-up)."""
        reading = getattr(self.window, "reading", None)
        if not self._tool_on() or getattr(reading, "loading", False):
            return  # the last of the layout's CTs to load starts it
        if self._current_slot_viewport() is not None or vp is self.window.active:
            QTimer.singleShot(0, self.start)

    def _current_slot_viewport(self) -> SliceViewport | None:
        reading = getattr(self.window, "reading", None)
        result = getattr(reading, "protocol", None)
        if result is None:
            return None
        try:
            stack = result.slot("current").stack
        except KeyError:
            return None
        if stack is None:
            return None
        for vp in self.window.visible_viewports():
            vol = vp.model.volume
            if vol is not None and vol.series_instance_uid == stack.series_instance_uid:
                found: SliceViewport = vp
                return found
        return None

    def _loading(self, vp: SliceViewport) -> bool:
        reading = getattr(self.window, "reading", None)
        try:
            return bool(reading.loader_of(vp).busy) if reading is not None else False
        except (ValueError, AttributeError):
            return False

    def _say(self, text: str) -> None:
        self.message = text
        self.window.statusBar().showMessage(text, 15000)
        if self.vp is not None:
            self.vp.update()

    def start(self) -> bool:
        """Propose the lesions of the follow-up on screen; False (and why, in the status bar)
        when there is nothing to propose."""
        self.stop()
        vp = self._current_slot_viewport() or self.window.active
        vol = vp.model.volume if vp is not None else None
        if vp is None or vol is None or self._loading(vp):
            self._say(self.tr("Proposed measurements: waiting for the CT to load."))
            return False
        session = self.session
        if session.read_only:
            self._say(app_text(session.read_only_reason) or self.tr("This read is view only."))
            return False
        read = session.read
        if record_for_study(read, str(vol.modality or ""), vol.study_instance_uid) is not (
            ReadKind.RECIST
        ):
            self._say(
                self.tr(
                    "Proposed measurements are made on the CT of a follow-up of the RECIST read."
                )
            )
            return False
        tp = self.layer.timepoint(vp, read)
        base = read.baseline()
        if tp is None or base is None or base.uid == tp.uid:
            self._say(
                self.tr(
                    "Proposed measurements are made at follow-ups: at the baseline, choose the "
                    "lesions with the measurement tools."
                )
            )
            return False
        lesions = prop.lesions_to_propose(read, tp)
        if not lesions:
            self._say(
                self.tr("No lesion of the read is expected at {label}.").format(label=tp.label)
            )
            return False
        if vp.model.orientation is not SliceOrientation.AXIAL:
            vp.model.set_orientation(SliceOrientation.AXIAL)  # RECIST measures axial slices
        self.vp, self.tp = vp, tp
        self.lesions = [les.uid for les in lesions]
        self.active = True
        self._enable(True)
        session.changed.connect(self._read_changed)
        first = self._next_open(-1)
        self.go(first if first is not None else 0)
        return True

    def stop(self) -> None:
        if self.active:
            with contextlib.suppress(RuntimeError, TypeError):
                self.session.changed.disconnect(self._read_changed)
        self.active = False
        self._enable(False)
        self.proposal = None
        self.candidate = None
        self._close_chooser()
        vp, self.vp = self.vp, None
        if vp is not None:
            vp.update()

    # --- the lesion on screen --------------------------------------------------------------
    @property
    def read(self) -> Any:
        return self.session.read

    def lesion_uid(self) -> str | None:
        return self.lesions[self.index] if self.active and self.lesions else None

    def _answered(self, lesion_uid: str) -> bool:
        return self.tp is not None and prop.answered(self.read, lesion_uid, self.tp.uid)

    def _next_open(self, after: int) -> int | None:
        """The next lesion without an answer at this timepoint (after ``after``, wrapping)."""
        n = len(self.lesions)
        for k in range(1, n + 1):
            i = (after + k) % n
            if not self._answered(self.lesions[i]):
                return i
        return None

    def _proposal_for(self, lesion_uid: str) -> prop.Proposal | None:
        vp, tp = self.vp, self.tp
        if vp is None or tp is None or vp.model.volume is None or vp.model.geometry is None:
            return None
        read = self.read
        try:
            les = read.lesion(lesion_uid)
        except KeyError:
            return None
        vol = vp.model.volume
        ex = prop.expected_location(
            read, lesion_uid, tp, vol.frame_of_reference_uid, vp.state.map_point
        )
        prev = prop.previous_answer(read, lesion_uid, tp)
        key = (
            lesion_uid,
            tp.uid,
            vol.series_instance_uid,
            vp.model.orientation,
            None if ex is None else (tuple(round(x, 2) for x in ex.point), ex.prior.uid),
            prev,
            les.role,
        )
        hit = self._cache.get(key)
        if hit is None:
            QGuiApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
            try:
                hit = prop.make_proposal(
                    read,
                    tp,
                    les,
                    vol,
                    vp.model.geometry,
                    vp.model.orientation,
                    vp.state.map_point,
                    ex,
                )
            finally:
                QGuiApplication.restoreOverrideCursor()
            self._cache[key] = hit
        return hit

    def _candidate_of(self, p: prop.Proposal | None) -> Candidate | None:
        if p is None or p.kind is not prop.ProposalKind.DIAMETER or p.finding is None:
            return None
        f = p.finding
        return Candidate(
            MeasurementKind.BIDIRECTIONAL,
            tuple(f.points),
            f.plane,
            f.slice_spacing_mm,
            tuple(f.contour),
            prop.Outcome.ACCEPTED,
        )

    def step(self, delta: int) -> None:
        """N / P: the next or previous lesion."""
        if self.active and self.lesions:
            self.go((self.index + delta) % len(self.lesions))

    def go(self, index: int) -> None:
        """Show lesion ``index``: its proposal, every viewport brought to it."""
        if not self.active or not self.lesions:
            return
        self._close_chooser()
        self.index = max(0, min(index, len(self.lesions) - 1))
        uid = self.lesions[self.index]
        answered = self._answered(uid)
        self.proposal = self._proposal_for(uid)
        self.candidate = None if answered else self._candidate_of(self.proposal)
        self.layer.active_lesion = uid
        self.layer.selected = None
        self._navigate(uid, answered)
        self.message = self._describe()
        self.window.statusBar().showMessage(self.message, 15000)
        nxt = self._next_open(self.index)
        if nxt is not None and nxt != self.index:
            # the next proposal is ready when the reader gets there
            QTimer.singleShot(0, lambda u=self.lesions[nxt]: self._prefetch(u))

    def _prefetch(self, lesion_uid: str) -> None:
        if self.active and lesion_uid in self.lesions:
            self._proposal_for(lesion_uid)

    def _navigate(self, lesion_uid: str, answered: bool) -> None:
        vp, tp = self.vp, self.tp
        assert vp is not None and tp is not None
        state = vp.state
        point = None
        slice_index = None
        if answered:
            here = [
                lm.measurement
                for lm in self.read.measurements
                if lm.lesion_uid == lesion_uid and lm.timepoint_uid == tp.uid
            ]
            if here:
                point = here[0].centre
        p = self.proposal
        if point is None and p is not None:
            point = p.point
            if p.finding is not None and not answered:
                slice_index = p.finding.slice_index
        if point is None:
            return
        state.set_crosshair(np.asarray(point, dtype=np.float64), vp.model.frame_of_reference_uid)
        if slice_index is not None and vp.model.index != slice_index:
            linked = state.link_scrolling
            state.link_scrolling = False
            try:
                vp.model.set_index(slice_index)
            finally:
                state.link_scrolling = linked
        models = [v.model for v in self.window.visible_viewports()]
        vol = vp.model.volume
        study = vol.study_instance_uid if vol is not None else None
        show_lesion_measurements(self.read, lesion_uid, state, models, study)
        for v in self.window.visible_viewports():
            self._keep_in_view(v, state, point, vp.model.frame_of_reference_uid)
        self.window.set_active(vp)
        vp.setFocus(Qt.FocusReason.OtherFocusReason)
        panel = getattr(self.reads, "panel", None)
        if panel is not None and any(t.uid == tp.uid for t in self.read.timepoints):
            panel.show_selected(lesion_uid, tp.uid)

    @staticmethod
    def _keep_in_view(v: SliceViewport, state: Any, point: Any, frame: str | None) -> None:
        """Pan a zoomed viewport so the lesion is on screen (a margin of a tenth inside)."""
        q = state.map_point(point, frame, v.model.frame_of_reference_uid)
        if q is None or v.model.plane is None:
            return
        s = v.patient_to_screen(q)
        if s is None:
            return
        r = QRectF(v.rect()).adjusted(
            v.width() * 0.1, v.height() * 0.1, -v.width() * 0.1, -v.height() * 0.1
        )
        if not r.contains(s):
            c = QRectF(v.rect()).center()
            v.pan_by(c.x() - s.x(), c.y() - s.y())

    def _transforms_changed(self) -> None:
        if self.active and self.lesions:
            self.go(self.index)  # the expected points moved

    def _read_changed(self, _events: Any) -> None:
        if not self.active or self.tp is None:
            return
        read = self.read
        current = self.lesion_uid()
        wanted = [les.uid for les in prop.lesions_to_propose(read, self.tp)]
        if wanted != self.lesions:
            self.lesions = wanted
            if not wanted:
                self.stop()
                return
            self.index = wanted.index(current) if current in wanted else 0
        if current is not None and current in self.lesions:
            # an undo may have taken the answer back: the proposal shows again
            if not self._answered(current) and self.candidate is None:
                self.proposal = self._proposal_for(current)
                self.candidate = self._candidate_of(self.proposal)
            self.message = self._describe()
        if self.vp is not None:
            self.vp.update()

    # --- the reader's answers --------------------------------------------------------------
    def accept(self) -> bool:
        """Enter: store the candidate (or confirm the previous answer), then the next lesion."""
        if not self.active or self.tp is None or self.vp is None:
            return False
        uid = self.lesion_uid()
        p = self.proposal
        if uid is None or p is None:
            return False
        if self.candidate is None and self._answered(uid):
            self._advance()
            return True
        if self.candidate is not None:
            c = self.candidate
            plane = self.vp.model.plane
            m = Measurement.create(c.kind, c.points)
            if plane is None or not lies_on_plane(m, plane, half_thickness(self.vp)):
                # scrolled away: back to the proposal first, Enter again stores it
                self.vp.model.move_to_point(np.asarray(m.centre, dtype=np.float64))
                self._say(
                    self.tr("{label}: back to the proposal; Enter accepts it.").format(
                        label=p.label
                    )
                )
                return True
            self._store(p, c)
            return True
        if p.kind is prop.ProposalKind.STATUS and p.status is not None:
            self._push(prop.status_command(self.read, self.tp, p, p.status), uid)
            return True
        self._say(
            self.tr(
                "{label}: nothing found near where it is expected. 0 absent, S too small, "
                "U not evaluable, or click the lesion."
            ).format(label=p.label)
        )
        return True

    def mark(self, status: LesionStatus) -> None:
        """0 / S / U: the lesion's status at this timepoint."""
        uid = self.lesion_uid()
        if not self.active or self.tp is None or uid is None or self.proposal is None:
            return
        self._push(prop.status_command(self.read, self.tp, self.proposal, status), uid)

    def _store(self, p: prop.Proposal, c: Candidate) -> None:
        vp, tp = self.vp, self.tp
        assert vp is not None and tp is not None and vp.model.volume is not None
        m = prop.measurement_from(vp.model.volume, c.plane, c.slice_spacing_mm, c.kind, c.points)
        plan = prop.assignment_plan(self.read, tp, p, m, vp.state.map_point)
        if prop.attaches_to_lesion(plan, p):
            cmd = prop.accept_command(self.read, tp, p, m, plan.chosen, c.outcome)
            self._push(cmd, p.lesion_uid, m.uid)
            return
        from namecar_viewer.gui.tools.assign_popup import AssignmentChooser

        def done(option: Option | None, details: NewLesionDetails) -> None:
            if self.chooser is chooser:
                self.chooser = None
            if option is None or not self.active or self.tp is None:
                self._say(self.tr("Nothing stored."))
                return
            cmd = prop.accept_command(self.read, self.tp, p, m, option, c.outcome, details)
            self._push(cmd, p.lesion_uid, m.uid)

        title = self.tr("<b>{label}: {size}</b> (proposed here): which lesion?").format(
            label=p.label, size=_size_text(m)
        )
        chooser = AssignmentChooser(vp, title, plan, self.layer.default_site, done)
        anchor = vp.patient_to_screen(np.asarray(m.centre, dtype=np.float64))
        if anchor is not None:
            chooser.place_near(anchor.toPoint())
        self.chooser = chooser
        chooser.open()

    def _close_chooser(self) -> None:
        chooser, self.chooser = self.chooser, None
        if chooser is not None:
            with contextlib.suppress(RuntimeError):
                chooser.leave()

    def _push(self, cmd: Any, lesion_uid: str, measurement_uid: str | None = None) -> None:
        stack = self.reads.undo
        start = stack.index()
        stack.push_command(cmd)
        end = stack.index()
        if end == start:
            return  # refused: the stack said why
        tp = self.tp
        assert tp is not None and self.vp is not None
        shown = lesion_uid
        read = self.read
        if measurement_uid is not None and read.has_measurement(measurement_uid):
            shown = read.measurement(measurement_uid).lesion_uid or lesion_uid
        text = self._answer_text(shown, tp)

        def undo() -> None:
            if stack.index() != end:
                self._say(self.tr("Other edits came since: use Edit > Undo step by step."))
                return
            stack.undo()
            if self.active and lesion_uid in self.lesions:
                self.go(self.lesions.index(lesion_uid))  # back to the lesion to answer again

        self.layer._announce(self.vp, text, undo)
        if self._answered(lesion_uid):
            self._advance()
        else:
            self.go(self.index)  # the measurement went to another lesion: this one still open

    def _answer_text(self, lesion_uid: str, tp: ReadTimepoint) -> str:
        read = self.read
        try:
            les = read.lesion(lesion_uid)
        except KeyError:
            return ""
        a = read.assessment(lesion_uid, tp.uid)
        if a.measurement is not None:
            answer = _size_text(a.measurement)
        elif a.status is not None:
            answer = status_text(a.status)
        else:
            answer = self.tr("recorded")
        return self.tr("{label} ({role}, {site}) at {timepoint}: {answer}").format(
            label=les.label,
            role=lesion_role_text(les.role),
            site=enum_text(les.site),
            timepoint=tp.label,
            answer=answer,
        )

    def _advance(self) -> None:
        nxt = self._next_open(self.index)
        if nxt is None:
            self.proposal = self._proposal_for(self.lesions[self.index])
            self.candidate = None
            tp = self.tp
            self._say(
                self.tr(
                    "Every lesion expected at {label} is assessed: Ctrl+Shift+G signs it, "
                    "Alt+1 brings the next CT."
                ).format(label=tp.label if tp is not None else "")
            )
            return
        self.go(nxt)

    # --- editing the candidate -------------------------------------------------------------
    def _candidate_measurement(self) -> Measurement | None:
        c = self.candidate
        if c is None:
            return None
        return Measurement.create(c.kind, c.points)

    def candidate_handle(self, vp: SliceViewport, pos: QPointF) -> int | None:
        """The candidate's handle under ``pos`` on the current viewport, if any."""
        c = self.candidate
        if not self.active or vp is not self.vp or c is None:
            return None
        m = self._candidate_measurement()
        plane = vp.model.plane
        if m is None or plane is None or not lies_on_plane(m, plane, half_thickness(vp)):
            return None
        best = None
        for i, q in enumerate(c.points):
            s = vp.patient_to_screen(np.asarray(q, dtype=np.float64))
            if s is None:
                continue
            d = float(np.hypot(s.x() - pos.x(), s.y() - pos.y()))
            if d <= HIT_PX and (best is None or d < best[0]):
                best = (d, i)
        return None if best is None else best[1]

    def move_candidate_handle(self, handle: int, point: Any) -> None:
        c = self.candidate
        if c is None:
            return
        pts = move_handle(c.kind, c.points, handle, point, c.plane.normal)
        outcome = prop.Outcome.EDITED if c.outcome is prop.Outcome.ACCEPTED else c.outcome
        self.candidate = replace(c, points=tuple(pts), contour=(), outcome=outcome)
        if self.vp is not None:
            self.vp.update()

    def propose_at(self, point: Any) -> None:
        """A click on the current CT: the lesion under it proposed instead."""
        vp = self.vp
        sl = vp.model.current_slice() if vp is not None else None
        if not self.active or vp is None or sl is None:
            return
        try:
            d = prop.diameter_at(sl.pixels, sl.plane, point)
        except SegmentationError as exc:
            self._say(error_text(exc))
            return
        geo = vp.model.geometry
        self.candidate = Candidate(
            MeasurementKind.BIDIRECTIONAL,
            tuple(d.points),
            sl.plane,
            geo.slice_spacing if geo is not None else 0.0,
            tuple(d.contour),
            prop.Outcome.REPLACED,
        )
        self.message = self._describe()
        vp.update()

    def draw_line(self, a: Any, b: Any) -> None:
        """A drag on the current CT: a line the reader drew instead of the proposal."""
        vp = self.vp
        plane = vp.model.plane if vp is not None else None
        if not self.active or vp is None or plane is None:
            return
        geo = vp.model.geometry
        self.candidate = Candidate(
            MeasurementKind.LINE,
            (tuple(map(float, a)), tuple(map(float, b))),  # type: ignore[arg-type]
            plane,
            geo.slice_spacing if geo is not None else 0.0,
            (),
            prop.Outcome.REPLACED,
        )
        self.message = self._describe()
        vp.update()

    def reset_candidate(self) -> bool:
        """Escape: back to the proposal (True when something was edited or replaced)."""
        c = self.candidate
        if c is None or c.outcome is prop.Outcome.ACCEPTED:
            return False
        uid = self.lesion_uid()
        self.candidate = (
            None if uid is None or self._answered(uid) else self._candidate_of(self.proposal)
        )
        self.message = self._describe()
        if self.vp is not None:
            self.vp.update()
        return True

    # --- what the reader sees --------------------------------------------------------------
    def _describe(self) -> str:
        uid = self.lesion_uid()
        p, tp = self.proposal, self.tp
        if uid is None or p is None or tp is None:
            return ""
        les = self.read.lesion(uid)
        head = self.tr("{label} {site} ({role}), {n}/{count} at {timepoint}").format(
            label=les.label,
            site=enum_text(les.site),
            role=lesion_role_text(les.role),
            n=self.index + 1,
            count=len(self.lesions),
            timepoint=tp.label,
        )
        c = self.candidate
        if self._answered(uid) and c is None:
            body = self.tr("assessed: {answer}").format(
                answer=self._answer_text(uid, tp).split(": ", 1)[-1]
            )
        elif c is not None:
            size = _size_text(Measurement.create(c.kind, c.points))
            body = {
                prop.Outcome.ACCEPTED: self.tr("proposed {size}: Enter accepts"),
                prop.Outcome.EDITED: self.tr("proposed, edited: {size}; Enter accepts"),
                prop.Outcome.REPLACED: self.tr("yours: {size}; Enter accepts"),
            }[c.outcome].format(size=size)
        elif p.kind is prop.ProposalKind.STATUS and p.status is not None:
            body = (
                self.tr("{status} at {timepoint}? Enter confirms").format(
                    status=status_text(p.status), timepoint=p.status_from
                )
                if p.status_from
                else self.tr("{status}? Enter confirms").format(status=status_text(p.status))
            )
        elif p.expected is None:
            body = self.tr("never located: click it")
        else:
            body = self.tr("not found near where it is expected")
        if p.expected is not None and not p.expected.aligned:
            body += self.tr(" (timepoints not aligned)")
        return f"{head}: {body}"

    def paint(self, vp: SliceViewport, p: QPainter) -> None:
        if not self.active or vp is not self.vp or self.proposal is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        plane = vp.model.plane
        c = self.candidate
        half = half_thickness(vp)
        if c is not None and plane is not None:
            m = Measurement.create(c.kind, c.points)
            if lies_on_plane(m, plane, half):
                if c.contour:
                    p.setPen(QPen(_PROPOSAL, 1.2, Qt.PenStyle.DashLine))
                    poly = [vp.patient_to_screen(np.asarray(q)) for q in c.contour]
                    p.drawPolygon(QPolygonF([q for q in poly if q is not None]))
                self.layer._paint_measurement(
                    vp, p, m, _PROPOSAL, True, suffix=self.tr(" (Enter: accept)")
                )
        elif self.proposal.point is not None:
            self._paint_expected(vp, p)
        self._paint_banner(vp, p)

    def _paint_expected(self, vp: SliceViewport, p: QPainter) -> None:
        """Where the lesion is (found, or expected): a dotted ring, the region found dashed,
        and what is proposed beside it."""
        pr = self.proposal
        assert pr is not None and pr.point is not None
        s = vp.patient_to_screen(np.asarray(pr.point, dtype=np.float64))
        if s is None:
            return
        f = pr.finding
        if f is not None:
            p.setPen(QPen(_PROPOSAL, 1.2, Qt.PenStyle.DashLine))
            poly = [vp.patient_to_screen(np.asarray(q)) for q in f.contour]
            p.drawPolygon(QPolygonF([q for q in poly if q is not None]))
        ex = pr.expected
        mm = f.long_axis_mm if f is not None else (ex.prior_diameter_mm or 0.0) if ex else 0.0
        r = max(14.0, (mm / 2.0 + 4.0) * vp.scale)
        p.setPen(QPen(_EXPECTED, 1.5, Qt.PenStyle.DotLine))
        p.drawEllipse(s, r, r)
        uid = self.lesion_uid()
        if uid is not None and self._answered(uid):
            return
        if pr.kind is prop.ProposalKind.STATUS and pr.status is not None:
            text = self.tr("{label}: {status}? (Enter)").format(
                label=pr.label, status=status_text(pr.status)
            )
        else:
            text = self.tr("{label}: not found here").format(label=pr.label)
        p.setFont(self._font)
        at = QPointF(s.x() + r + 6, s.y() + 5)
        p.setPen(QColor(0, 0, 0, 220))
        p.drawText(at + QPointF(1, 1), text)
        p.setPen(_EXPECTED)
        p.drawText(at, text)

    def _paint_banner(self, vp: SliceViewport, p: QPainter) -> None:
        """What is on screen and the keys, under the viewport's top corner texts."""
        uid = self.lesion_uid()
        done = self._next_open(self.index) is None and uid is not None and self._answered(uid)
        keys = (
            ""
            if done
            else self.tr(
                "Enter accept · drag a handle to edit · click the lesion · 0 absent · "
                "S too small · U not evaluable · N/P next/previous lesion"
            )
        )
        text = "\n".join(t for t in (self.message, keys) if t)
        if not text:
            return
        corners = vp.overlay_texts() if vp.state.show_overlays else {}
        lines = max(
            len(corners.get("top_left", "").split("\n")),
            len(corners.get("top_right", "").split("\n")),
            1,
        )
        p.setFont(self._font)
        line = p.fontMetrics().lineSpacing()
        flags = int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap)
        width = max(min(vp.width() - 40, 900), 100)
        rect = p.boundingRect(QRectF(0, 0, width, 400), flags, text)
        rect.moveTop(14 + lines * max(line - 1, 12))
        rect.moveLeft((vp.width() - rect.width()) / 2)
        p.fillRect(rect.adjusted(-8, -4, 8, 4), _BANNER_BG)
        p.setPen(_PROPOSAL)
        p.drawText(rect, flags, text)


def _size_text(m: Measurement) -> str:
    if m.kind is MeasurementKind.BIDIRECTIONAL and m.short_axis_mm is not None:
        return fmt(
            "{long:.1f} x {short:.1f} mm",
            long=float(m.long_axis_mm or 0.0),
            short=float(m.short_axis_mm),
        )
    return fmt("{long:.1f} mm", long=float(m.long_axis_mm or 0.0))


__all__ = ["Candidate", "ProposalFlow", "ProposalTool"]
