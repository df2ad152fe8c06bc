"""The MRI-PET layout: MRI sequence, PET, fusion and MIP side by side, crosshairs linked.

:func:`build_mri_pet_view` builds the widget from two volumes (the PET already in SUV) and a
shared :class:`ViewState`; the hanging-protocol code calls it with the series its ``mri_pet``
protocol picked.  :func:`open_mri_pet_layout` is the main window's menu entry: it picks the MRI
(T2 first) and PET stacks of the open studies, loads the PET in SUV (asking for a missing value),
and opens the layout in its own window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.pet import SUV_UNIT
from namecar_viewer.app.view_state import ViewportModel, ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.geometry.reslice import SliceOrientation, WindowLevel
from namecar_viewer.gui.fusion.colormaps import ColourMap, colour_map_text
from namecar_viewer.gui.fusion.lesion_dock import PetLesionPanel
from namecar_viewer.gui.fusion.mip_view import MipViewport
from namecar_viewer.gui.fusion.registration_panel import RegistrationPanel
from namecar_viewer.gui.fusion.viewports import FusedViewport, LinkedSliceViewport
from namecar_viewer.gui.viewport import VIEWPORT_COLOURS

translate = QCoreApplication.translate


class MriPetView(QWidget):
    """2x2 grid (MRI, PET, fusion, MIP) with the fusion controls, registration and lesion table."""

    def __init__(
        self,
        mri: Volume,
        pet: Volume,
        state: ViewState | None = None,
        orientation: SliceOrientation = SliceOrientation.AXIAL,
        mri_title: str = "",
        pet_title: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        mri_title = mri_title or self.tr("MRI")
        pet_title = pet_title or self.tr("PET")
        self.state = state if state is not None else ViewState()
        self.mri, self.pet = mri, pet
        self.mri_model = ViewportModel("MRI")
        self.pet_model = ViewportModel("PET")
        self.fused_model = ViewportModel("Fusion")
        self.mri_view = LinkedSliceViewport(self.mri_model, self.state, colour=VIEWPORT_COLOURS[0])
        self.pet_view = LinkedSliceViewport(self.pet_model, self.state, colour=VIEWPORT_COLOURS[1])
        self.fused_view = FusedViewport(self.fused_model, self.state, colour=VIEWPORT_COLOURS[2])
        self.mip_view = MipViewport(self.state)
        self.mri_model.set_volume(mri, orientation, mri_title)
        self.pet_model.set_volume(pet, orientation, pet_title)
        self.fused_model.set_volume(mri, orientation, f"{mri_title} + {pet_title}")
        self.pet_model.set_window(WindowLevel(10.0, 5.0), True)  # SUV 0-10, inverted grey
        self.mip_view.set_volume(pet)

        grid_host = QWidget(self)
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        grid_host.setStyleSheet("background: #202024;")
        grid.addWidget(self.mri_view, 0, 0)
        grid.addWidget(self.pet_view, 0, 1)
        grid.addWidget(self.fused_view, 1, 0)
        grid.addWidget(self.mip_view, 1, 1)

        side = QTabWidget(self)
        self.registration = RegistrationPanel(mri, pet, self.state)
        self.registration.candidate_changed.connect(self._on_candidate)
        self.registration.accepted.connect(lambda _m: self.refresh_fusion())
        self.fused_view.nudge_panel = self.registration
        side.addTab(self._fusion_controls(), self.tr("Fusion"))
        side.addTab(self.registration, self.tr("Registration"))
        self.lesions = PetLesionPanel(pet, self.state)
        side.addTab(self.lesions, self.tr("PET lesions"))
        self.side = side
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(grid_host)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        side.setMaximumWidth(460)
        side.setMinimumWidth(300)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.state.transforms_changed.connect(self.refresh_fusion)
        self.refresh_fusion()

    def _fusion_controls(self) -> QWidget:
        w = QWidget(self)
        lay = QVBoxLayout(w)
        self.cmap = QComboBox(w)
        for c in ColourMap:
            self.cmap.addItem(colour_map_text(c), c)
        self.cmap.currentIndexChanged.connect(
            lambda _i: self.fused_view.set_colour_map(self.cmap.currentData())
        )
        self.opacity = QSlider(Qt.Orientation.Horizontal, w)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.valueChanged.connect(lambda v: self.fused_view.set_opacity(v / 100.0))
        self.suv_lo = QDoubleSpinBox(w)
        self.suv_hi = QDoubleSpinBox(w)
        for sb, v in ((self.suv_lo, 0.0), (self.suv_hi, 10.0)):
            sb.setRange(0.0, 200.0)
            sb.setDecimals(1)
            sb.setValue(v)
            sb.setSuffix(" SUV")
            sb.valueChanged.connect(self._suv_window_changed)
        for text, ed in (
            (self.tr("PET colour map"), self.cmap),
            (self.tr("PET opacity"), self.opacity),
            (self.tr("SUV window low"), self.suv_lo),
            (self.tr("SUV window high"), self.suv_hi),
        ):
            lay.addWidget(QLabel(text, w))
            lay.addWidget(ed)
        self.fusion_status = QLabel("", w)
        self.fusion_status.setWordWrap(True)
        lay.addWidget(self.fusion_status)
        lay.addWidget(
            QLabel(self.tr("PET values and statistics in {unit}.").format(unit=SUV_UNIT), w)
        )
        lay.addStretch(1)
        return w

    def _suv_window_changed(self, *_: Any) -> None:
        lo, hi = self.suv_lo.value(), self.suv_hi.value()
        if hi > lo:
            self.fused_view.set_suv_window(lo, hi)
            self.mip_view.suv_window = (lo, hi)
            self.mip_view._image = None
            self.mip_view.update()

    def accepted_matrix(self) -> npt.NDArray[np.float64] | None:
        a, b = self.mri.frame_of_reference_uid, self.pet.frame_of_reference_uid
        if a and a == b:
            return None
        return self.state.transform(a, b)

    def refresh_fusion(self) -> None:
        """Fuse with the accepted transform (or directly in one frame), else refuse visibly."""
        self.fused_view.set_pet(self.pet, self.accepted_matrix())
        self.fusion_status.setText(self.fused_view.message or self.tr("PET fused over the MRI."))

    def _on_candidate(self, matrix: Any) -> None:
        if matrix is None:
            self.refresh_fusion()
        else:
            self.fused_view.set_pet(self.pet, matrix, candidate=True)


def build_mri_pet_view(
    mri: Volume,
    pet: Volume,
    state: ViewState | None = None,
    accepted: npt.ArrayLike | None = None,
    **kwargs: Any,
) -> MriPetView:
    """The MRI-PET layout widget; ``accepted`` (MRI LPS -> PET LPS) is stored in the state first."""
    st = state if state is not None else ViewState()
    a, b = mri.frame_of_reference_uid, pet.frame_of_reference_uid
    if accepted is not None and a and b and a != b:
        st.set_transform(a, b, accepted)
    return MriPetView(mri, pet, st, **kwargs)


def _pick_stacks(stacks: list[Any]) -> tuple[Any | None, Any | None]:
    def mr_score(s: Any) -> tuple[int, int]:
        d = f"{s.series_description} {s.label}".upper()
        return (2 if "T2" in d else 1 if "DYN" in d or "T1" in d else 0, len(s.instances))

    mrs = [s for s in stacks if s.modality == "MR" and s.loadable and not s.is_localizer]
    pets = [s for s in stacks if s.modality == "PT" and s.loadable]
    mr = max(mrs, key=mr_score) if mrs else None
    pet = (
        max(pets, key=lambda s: ("AC" in s.series_description.upper(), len(s.instances)))
        if pets
        else None
    )
    return mr, pet


def _stacks_of(window: Any) -> tuple[Any | None, Any | None]:
    """The MRI and PET stacks the *MRI-PET* hanging protocol picks for the current patient
    (study index of the reading controller), else a pick among the browser's scanned stacks."""
    reading = getattr(window, "reading", None)
    if reading is not None and hasattr(reading, "current_patient_rows"):
        from namecar_viewer.app.hanging_protocols import apply_protocol

        try:
            result = apply_protocol("mri_pet", reading.current_patient_rows())
            rows = (result.slot("mri").stack, result.slot("pet").stack)
            if rows[0] is None or rows[1] is None:
                return None, None
            return reading.index.stack(int(rows[0].id)), reading.index.stack(int(rows[1].id))
        except Exception:  # noqa: BLE001 - fall back to the scanned stacks below
            pass
    stacks = list(getattr(getattr(window, "browser", None), "stacks", []) or [])
    return _pick_stacks(stacks)


def open_mri_pet_layout(window: Any) -> QMainWindow | None:
    """Menu entry: the MRI-PET layout of the open studies, in its own window."""
    from namecar_viewer.core.dicom import load_stack
    from namecar_viewer.gui.fusion.suv_dialog import load_pet_with_dialog

    mr_stack, pet_stack = _stacks_of(window)
    if mr_stack is None or pet_stack is None:
        window.statusBar().showMessage(
            translate(
                "MriPetView", "MRI-PET layout needs an MRI and a PET series among the open studies."
            )
        )
        return None
    try:
        mri = load_stack(mr_stack)
    except Exception as exc:  # noqa: BLE001 - shown, never a traceback
        window.statusBar().showMessage(
            translate("MriPetView", "Cannot load the MRI: {reason}").format(reason=exc)
        )
        return None
    pet, message = load_pet_with_dialog(window, pet_stack)
    if pet is None:
        window.statusBar().showMessage(message)
        return None
    view = build_mri_pet_view(
        mri,
        pet,
        getattr(window, "state", None),
        mri_title=f"{mr_stack.series_description} {mr_stack.label}".strip(),
        pet_title=pet_stack.series_description or translate("MriPetView", "PET"),
    )
    pet_grid = getattr(getattr(window, "reading", None), "pet", None)
    if pet_grid is not None:  # Accept stores the transform with the read (audited)
        view.registration.store = pet_grid.store_registration
    reads = getattr(window, "reads", None)
    if reads is not None:  # the lesion table is kept with the ancillary MRI-PET record
        view.lesions.bind_record(reads)
    host = QMainWindow(window)
    host.setWindowTitle(translate("MriPetView", "NAMECAR Viewer - MRI-PET"))
    host.setCentralWidget(view)
    host.resize(1500, 950)
    host.show()
    window.mri_pet_window = host
    return host
