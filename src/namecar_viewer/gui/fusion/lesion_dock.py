"""PET lesion table dock: add a lesion or a reference region at the crosshair, see the uptake."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.pet_lesions import (
    PetLesion,
    PetLesionRow,
    ReferenceVoi,
    Threshold,
    lesion_table,
)
from namecar_viewer.app.view_state import ViewState
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.suv import ReferenceRegion, SphereVoi, ThresholdKind

COLUMNS = (
    "Lesion id",
    "Label",
    "SUVmax",
    "SUVpeak",
    "SUVmean",
    "MTV (ml)",
    "TLU",
    "TBR",
    "MRI/CT size (mm)",
)


class PetLesionPanel(QWidget):
    """The lesion table; VOIs are spheres at the crosshair (mapped into the PET frame)."""

    def __init__(self, pet: Volume, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pet = pet
        self.state = state
        self.lesions: list[PetLesion] = []
        self.reference: ReferenceVoi | None = None
        self.rows: list[PetLesionRow] = []
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.id_edit = QLineEdit(self)
        self.id_edit.setPlaceholderText("lesion id (from the read, e.g. T1)")
        self.radius = QDoubleSpinBox(self)
        self.radius.setRange(3.0, 60.0)
        self.radius.setValue(15.0)
        self.radius.setSuffix(" mm")
        add = QPushButton("Add lesion at crosshair", self)
        add.clicked.connect(self.add_at_crosshair)
        top.addWidget(self.id_edit)
        top.addWidget(self.radius)
        top.addWidget(add)
        lay.addLayout(top)
        ref = QHBoxLayout()
        self.region = QComboBox(self)
        for r in ReferenceRegion:
            self.region.addItem(r.value.replace("_", " "), r)
        set_ref = QPushButton("Set reference at crosshair", self)
        set_ref.clicked.connect(self.reference_at_crosshair)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(1.0, 100.0)
        self.threshold.setValue(41.0)
        self.threshold_kind = QComboBox(self)
        self.threshold_kind.addItem("% of SUVmax", ThresholdKind.PERCENT_OF_MAX)
        self.threshold_kind.addItem("SUV absolute", ThresholdKind.ABSOLUTE)
        self.threshold.valueChanged.connect(lambda _v: self.refresh())
        self.threshold_kind.currentIndexChanged.connect(lambda _i: self.refresh())
        ref.addWidget(QLabel("Reference:"))
        ref.addWidget(self.region)
        ref.addWidget(set_ref)
        ref.addWidget(QLabel("MTV threshold:"))
        ref.addWidget(self.threshold)
        ref.addWidget(self.threshold_kind)
        lay.addLayout(ref)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        lay.addWidget(self.table)
        self.message = QLabel(
            "SUV in g/ml (SUVbw); MTV inside the threshold; TBR = SUVmax / reference mean.", self
        )
        self.message.setWordWrap(True)
        lay.addWidget(self.message)

    def _crosshair_in_pet(self) -> tuple[float, float, float] | None:
        p = self.state.crosshair_in(self.pet.frame_of_reference_uid)
        if p is None:
            self.message.setText("Place the crosshair on the PET or a linked view first.")
            return None
        return (float(p[0]), float(p[1]), float(p[2]))

    def add_lesion(self, lesion: PetLesion) -> None:
        self.lesions.append(lesion)
        self.refresh()

    def add_at_crosshair(self) -> None:
        c = self._crosshair_in_pet()
        if c is None:
            return
        n = len(self.lesions) + 1
        lid = self.id_edit.text().strip() or f"PET{n}"
        self.add_lesion(PetLesion(lid, lid, SphereVoi(c, self.radius.value())))

    def reference_at_crosshair(self) -> None:
        c = self._crosshair_in_pet()
        if c is None:
            return
        self.reference = ReferenceVoi(self.region.currentData(), SphereVoi(c, 10.0))
        self.refresh()

    def refresh(self) -> None:
        threshold = Threshold(self.threshold.value(), self.threshold_kind.currentData())
        try:
            self.rows = lesion_table(self.pet, self.lesions, threshold, self.reference)
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            size = ""
            if row.anatomical_long_axis_mm is not None:
                size = f"{row.anatomical_long_axis_mm:.0f}"
                if row.anatomical_short_axis_mm is not None:
                    size += f" x {row.anatomical_short_axis_mm:.0f}"
            values = (
                row.lesion_id,
                row.label,
                f"{row.suv_max:.2f}",
                f"{row.suv_peak:.2f}",
                f"{row.suv_mean:.2f}",
                f"{row.mtv_ml:.2f}",
                f"{row.tlu:.1f}",
                "" if row.tbr is None else f"{row.tbr:.2f} ({row.reference_region})",
                size,
            )
            for c, v in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        if self.rows:
            self.message.setText(f"Values in {self.rows[0].unit}; MTV at {self.rows[0].threshold}.")
