"""Registration panel: automatic rigid registration in a worker thread, manual nudge, accept.

The candidate transform (base LPS -> PET LPS) is previewed on the fused viewport, labelled as not
accepted, with the mutual-information metric and a checkerboard to judge it.  Accept stores it in
the shared ViewState (``set_transform(base_frame, pet_frame, M)``), which links every viewport;
Reject goes back to the last accepted transform (or to no fusion).

Manual nudge (buttons or keys while the panel has focus): arrows move the PET 1 mm right/left/
up/down on screen axes x/y, Page Up/Down along z; with Shift the same keys rotate 0.5 degree
about z (left/right), x (up/down) and y (Page Up/Down), about the base volume's centre.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.pet import RegistrationRecord
from namecar_viewer.app.view_state import ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.registration import (
    RegistrationCancelled,
    RigidResult,
    euler_angles_deg,
    metric_value,
    register_rigid,
    rigid_matrix,
)
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text, error_text

NUDGE_MM = 1.0
NUDGE_DEG = 0.5
# Optimiser iterations in all pyramid levels, for the progress bar's scale (an estimate).
EXPECTED_ITERATIONS = 250


translate = QCoreApplication.translate


class _Bridge(QObject):
    progress = Signal(int, int, float)
    finished = Signal(object)
    failed = Signal(str)


class RegistrationPanel(QWidget):
    """Buttons and read-outs for registering ``pet`` to ``base`` and accepting the result."""

    candidate_changed = Signal(object)  # 4x4 or None
    accepted = Signal(object)  # 4x4

    def __init__(
        self, base: Volume, pet: Volume, state: ViewState, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.base = base
        self.pet = pet
        self.state = state
        self.candidate: npt.NDArray[np.float64] | None = None
        self.result: RigidResult | None = None
        self.current_metric: float | None = None
        # how the candidate came about: "automatic", "manual" or "automatic+manual"
        self.method = ""
        # Accept hands the record to this (the main window stores it with the read, audited);
        # returning False (the read refused it) leaves the candidate pending.
        self.store: Callable[[RegistrationRecord], bool] | None = None
        self.last_record: RegistrationRecord | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self._bridge.finished.connect(self._on_finished)
        self._bridge.failed.connect(self._on_failed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        box = QGroupBox(
            self.tr("Registration PET -> {base}").format(base=base.modality or self.tr("base")),
            self,
        )
        lay = QVBoxLayout(box)
        self.status = QLabel(self._frame_text(), box)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        # a transform restored from the read (or undone) changes what the status says
        self.state.transforms_changed.connect(self._on_transforms_changed)
        row = QHBoxLayout()
        self.auto_button = QPushButton(self.tr("Automatic rigid registration"), box)
        self.auto_button.clicked.connect(self.start_automatic)
        self.cancel_button = QPushButton(self.tr("Cancel"), box)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel.set)
        row.addWidget(self.auto_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.progress = QProgressBar(box)
        self.progress.setRange(0, EXPECTED_ITERATIONS)
        lay.addWidget(self.progress)
        grid = QGridLayout()
        nudges = [
            ("x -", (0, 0, 0), (-NUDGE_MM, 0, 0)),
            ("x +", (0, 0, 0), (NUDGE_MM, 0, 0)),
            ("y -", (0, 0, 0), (0, -NUDGE_MM, 0)),
            ("y +", (0, 0, 0), (0, NUDGE_MM, 0)),
            ("z -", (0, 0, 0), (0, 0, -NUDGE_MM)),
            ("z +", (0, 0, 0), (0, 0, NUDGE_MM)),
            ("rot z -", (0, 0, -NUDGE_DEG), (0, 0, 0)),
            ("rot z +", (0, 0, NUDGE_DEG), (0, 0, 0)),
            ("rot x -", (-NUDGE_DEG, 0, 0), (0, 0, 0)),
            ("rot x +", (NUDGE_DEG, 0, 0), (0, 0, 0)),
            ("rot y -", (0, -NUDGE_DEG, 0), (0, 0, 0)),
            ("rot y +", (0, NUDGE_DEG, 0), (0, 0, 0)),
        ]
        for n, (text, rot, tr) in enumerate(nudges):
            b = QPushButton(text.replace("rot", self.tr("rot")), box)
            b.setAutoRepeat(True)
            b.clicked.connect(lambda _c=False, r=rot, t=tr: self.nudge(r, t))
            grid.addWidget(b, n // 2, n % 2)
        lay.addWidget(
            QLabel(self.tr("Manual nudge (PET moves; keys: arrows, PgUp/PgDn, Shift rotates)"))
        )
        lay.addLayout(grid)
        self.metric_label = QLabel(self.tr("Metric: -"), box)
        self.transform_label = QLabel("", box)
        self.transform_label.setWordWrap(True)
        lay.addWidget(self.metric_label)
        lay.addWidget(self.transform_label)
        row2 = QHBoxLayout()
        self.accept_button = QPushButton(self.tr("Accept"), box)
        self.reject_button = QPushButton(self.tr("Reject"), box)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)
        row2.addWidget(self.accept_button)
        row2.addWidget(self.reject_button)
        lay.addLayout(row2)
        outer = QVBoxLayout(self)
        outer.addWidget(box)
        outer.addStretch(1)
        self._update_buttons()

    # --- state ------------------------------------------------------------------------------
    def _frames(self) -> tuple[str, str]:
        return (self.base.frame_of_reference_uid or "", self.pet.frame_of_reference_uid or "")

    def accepted_matrix(self) -> npt.NDArray[np.float64] | None:
        a, b = self._frames()
        return self.state.transform(a, b) if a and b else None

    def _on_transforms_changed(self) -> None:
        try:
            self.status.setText(self._frame_text())
        except RuntimeError:  # the panel was closed: stop listening
            self.state.transforms_changed.disconnect(self._on_transforms_changed)

    def _frame_text(self) -> str:
        a, b = self._frames()
        if a and a == b:
            return self.tr("Same frame of reference: fused directly (registration optional).")
        if self.accepted_matrix() is not None:
            return self.tr("Different frames of reference: an accepted transform links them.")
        return self.tr("Different frames of reference: NOT fused until a registration is accepted.")

    def _update_buttons(self) -> None:
        running = self._thread is not None and self._thread.is_alive()
        self.auto_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.accept_button.setEnabled(self.candidate is not None and not running)
        self.reject_button.setEnabled(self.candidate is not None and not running)

    def _show(self) -> None:
        m = self.candidate
        if m is None:
            self.transform_label.setText("")
        else:
            ax, ay, az = euler_angles_deg(m)
            t = m[:3, 3]
            self.transform_label.setText(
                i18n.fmt(
                    self.tr(
                        "Base -> PET: rotation ({ax:.2f}, {ay:.2f}, {az:.2f}) deg, "
                        "translation ({x:.1f}, {y:.1f}, {z:.1f}) mm"
                    ),
                    ax=float(ax),
                    ay=float(ay),
                    az=float(az),
                    x=float(t[0]),
                    y=float(t[1]),
                    z=float(t[2]),
                )
            )
        self.metric_label.setText(
            self.tr("Metric (Mattes MI, lower is better): {value}").format(
                value="-" if self.current_metric is None else i18n.num(self.current_metric, 4)
            )
        )
        self.status.setText(self._frame_text())
        self._update_buttons()

    def set_candidate(self, matrix: npt.ArrayLike | None, compute_metric: bool = True) -> None:
        self.candidate = None if matrix is None else np.asarray(matrix, dtype=np.float64)
        if self.candidate is not None and compute_metric:
            try:
                self.current_metric = metric_value(self.base, self.pet, self.candidate)
            except ValueError as exc:
                self.current_metric = None
                self.status.setText(app_text(str(exc)))
        self._show()
        self.candidate_changed.emit(self.candidate)

    # --- automatic ---------------------------------------------------------------------------
    def start_automatic(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._cancel.clear()
        self.progress.setValue(0)
        self.status.setText(self.tr("Registering (mutual information, 3 resolution levels)..."))
        initial = self.candidate if self.candidate is not None else self.accepted_matrix()
        bridge = self._bridge

        def run() -> None:
            try:
                res = register_rigid(
                    self.base,
                    self.pet,
                    initial=initial,
                    progress=lambda lvl, it, mv: bridge.progress.emit(lvl, it, mv),
                    cancel=self._cancel,
                )
            except RegistrationCancelled:
                bridge.failed.emit(translate("RegistrationPanel", "Registration cancelled."))
            except Exception as exc:  # noqa: BLE001 - reported in the panel, never a traceback
                bridge.failed.emit(
                    translate("RegistrationPanel", "Registration failed: {reason}").format(
                        reason=error_text(exc)
                    )
                )
            else:
                bridge.finished.emit(res)

        self._count = 0
        self._thread = threading.Thread(target=run, name="rigid-registration", daemon=True)
        self._thread.start()
        self._update_buttons()

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the worker ends (tests)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_progress(self, level: int, iteration: int, metric: float) -> None:
        self._count += 1
        self.progress.setValue(min(self._count, EXPECTED_ITERATIONS))
        self.metric_label.setText(
            i18n.fmt(
                self.tr("Level {level}/3, iteration {iteration}: metric {metric:.4f}"),
                level=level + 1,
                iteration=iteration,
                metric=float(metric),
            )
        )

    def _on_finished(self, res: RigidResult) -> None:
        self.result = res
        self.progress.setValue(EXPECTED_ITERATIONS)
        self.current_metric = res.metric_value
        self.method = "automatic"
        self.set_candidate(res.matrix, compute_metric=False)
        self.status.setText(
            i18n.fmt(
                self.tr(
                    "Automatic registration done in {seconds:.1f} s ({iterations} iterations): "
                    "check the overlay, then Accept or Reject."
                ),
                seconds=float(res.elapsed_s),
                iterations=res.iterations,
            )
        )

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        self._update_buttons()

    # --- manual ------------------------------------------------------------------------------
    def current_matrix(self) -> npt.NDArray[np.float64]:
        """Where a manual nudge starts: the candidate, else the accepted transform, else I."""
        start = self.candidate if self.candidate is not None else self.accepted_matrix()
        return np.eye(4) if start is None else np.array(start, dtype=np.float64)

    def _mark_manual(self) -> None:
        if self.candidate is None:
            self.method = "manual"
        elif self.method in ("automatic", "automatic+manual"):
            self.method = "automatic+manual"
        else:
            self.method = "manual"

    def apply_step(
        self, start: npt.ArrayLike, step: npt.ArrayLike, compute_metric: bool = True
    ) -> None:
        """Candidate = ``start`` with the overlay moved by ``step`` (a rigid 4x4 in base LPS):
        the overlay point that sat at p now sits at step(p), so p_pet = M inv(step) p_base.
        The mouse nudge calls this live (no metric) and once more on release (metric)."""
        self._mark_manual()
        m = np.asarray(start, dtype=np.float64) @ np.linalg.inv(np.asarray(step, np.float64))
        self.set_candidate(m, compute_metric=compute_metric)
        if not compute_metric:
            self.metric_label.setText(self.tr("Metric: (updated when the drag ends)"))

    def nudge(self, rotation_deg: Any, translation_mm: Any) -> None:
        """Move the PET overlay on screen by a rigid step in base coordinates."""
        step = rigid_matrix(rotation_deg, translation_mm, self.base.center_of_voxels())
        self.apply_step(self.current_matrix(), step)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        key = event.key()
        table: dict[Any, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
            Qt.Key.Key_Left: ((0, 0, -NUDGE_DEG), (-NUDGE_MM, 0, 0)),
            Qt.Key.Key_Right: ((0, 0, NUDGE_DEG), (NUDGE_MM, 0, 0)),
            Qt.Key.Key_Up: ((-NUDGE_DEG, 0, 0), (0, -NUDGE_MM, 0)),
            Qt.Key.Key_Down: ((NUDGE_DEG, 0, 0), (0, NUDGE_MM, 0)),
            Qt.Key.Key_PageUp: ((0, NUDGE_DEG, 0), (0, 0, NUDGE_MM)),
            Qt.Key.Key_PageDown: ((0, -NUDGE_DEG, 0), (0, 0, -NUDGE_MM)),
        }
        if key in table:
            rot, tr = table[key]
            if shift:
                self.nudge(rot, (0, 0, 0))
            else:
                self.nudge((0, 0, 0), tr)
            event.accept()
            return
        super().keyPressEvent(event)

    # --- decision ---------------------------------------------------------------------------
    def accept(self) -> None:
        if self.candidate is None:
            return
        a, b = self._frames()
        if a and b and a != b:
            record = RegistrationRecord.of(
                a, b, self.candidate, self.current_metric, self.method or "manual"
            )
            if self.store is not None and not self.store(record):
                self.status.setText(self.tr("The transform could not be stored with the read."))
                return
            self.last_record = record
            self.state.set_transform(a, b, self.candidate)
        m = self.candidate
        self.candidate = None
        self._show()
        self.status.setText(self.tr("Transform accepted: every linked view uses it."))
        self.accepted.emit(m)

    def reject(self) -> None:
        self.candidate = None
        self.current_metric = None
        self.method = ""
        self._show()
        self.candidate_changed.emit(None)
