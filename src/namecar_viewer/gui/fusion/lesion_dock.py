"""PET lesion table dock: add a lesion or a reference region at the crosshair, see the uptake."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
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
from namecar_viewer.gui import i18n
from namecar_viewer.gui.i18n import app_text

COLUMNS = (
    QT_TRANSLATE_NOOP("PetLesionPanel", "Lesion id"),
    QT_TRANSLATE_NOOP("PetLesionPanel", "Label"),
    "SUVmax",
    "SUVpeak",
    "SUVmean",
    QT_TRANSLATE_NOOP("PetLesionPanel", "MTV (ml)"),
    "TLU",
    "TBR",
    QT_TRANSLATE_NOOP("PetLesionPanel", "MRI/CT size (mm)"),
)
# core.suv.ReferenceRegion values, shown with spaces
_REGIONS = (
    QT_TRANSLATE_NOOP("PetLesionPanel", "liver"),
    QT_TRANSLATE_NOOP("PetLesionPanel", "blood pool"),
    QT_TRANSLATE_NOOP("PetLesionPanel", "parotid"),
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
        self.id_edit.setPlaceholderText(self.tr("lesion id (from the read, e.g. T1)"))
        self.radius = QDoubleSpinBox(self)
        self.radius.setRange(3.0, 60.0)
        self.radius.setValue(15.0)
        self.radius.setSuffix(" mm")
        add = QPushButton(self.tr("Add lesion at crosshair"), self)
        add.clicked.connect(self.add_at_crosshair)
        top.addWidget(self.id_edit)
        top.addWidget(self.radius)
        top.addWidget(add)
        lay.addLayout(top)
        ref = QHBoxLayout()
        self.region = QComboBox(self)
        for r in ReferenceRegion:
            self.region.addItem(self.tr(r.value.replace("_", " ")), r)
        set_ref = QPushButton(self.tr("Set reference at crosshair"), self)
        set_ref.clicked.connect(self.reference_at_crosshair)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(1.0, 100.0)
        self.threshold.setValue(41.0)
        self.threshold_kind = QComboBox(self)
        self.threshold_kind.addItem(self.tr("% of SUVmax"), ThresholdKind.PERCENT_OF_MAX)
        self.threshold_kind.addItem(self.tr("SUV absolute"), ThresholdKind.ABSOLUTE)
        self.threshold.valueChanged.connect(lambda _v: self.refresh())
        self.threshold_kind.currentIndexChanged.connect(lambda _i: self.refresh())
        ref.addWidget(QLabel(self.tr("Reference:")))
        ref.addWidget(self.region)
        ref.addWidget(set_ref)
        ref.addWidget(QLabel(self.tr("MTV threshold:")))
        ref.addWidget(self.threshold)
        ref.addWidget(self.threshold_kind)
        lay.addLayout(ref)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        lay.addWidget(self.table)
        self.message = QLabel(
            self.tr(
                "SUV in g/ml (SUVbw); MTV inside the threshold; TBR = SUVmax / reference mean."
            ),
            self,
        )
        self.message.setWordWrap(True)
        lay.addWidget(self.message)

    def _region_text(self, region: str | None) -> str:
        return self.tr(str(region or "").replace("_", " "))

    def _crosshair_in_pet(self) -> tuple[float, float, float] | None:
        p = self.state.crosshair_in(self.pet.frame_of_reference_uid)
        if p is None:
            self.message.setText(self.tr("Place the crosshair on the PET or a linked view first."))
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
            self.message.setText(app_text(str(exc)))
            return
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            size = ""
            if row.anatomical_long_axis_mm is not None:
                size = i18n.num(row.anatomical_long_axis_mm, 0)
                if row.anatomical_short_axis_mm is not None:
                    size += " x " + i18n.num(row.anatomical_short_axis_mm, 0)
            values = (
                row.lesion_id,
                row.label,
                i18n.num(row.suv_max, 2),
                i18n.num(row.suv_peak, 2),
                i18n.num(row.suv_mean, 2),
                i18n.num(row.mtv_ml, 2),
                i18n.num(row.tlu, 1),
                ""
                if row.tbr is None
                else f"{i18n.num(row.tbr, 2)} ({self._region_text(row.reference_region)})",
                size,
            )
            for c, v in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        if self.rows:
            self.message.setText(
                self.tr("Values in {unit}; MTV at {threshold}.").format(
                    unit=self.rows[0].unit,
                    threshold=i18n.localise_number_text(app_text(str(self.rows[0].threshold))),
                )
            )
