"""PET lesion table dock: add a lesion or a reference region at the crosshair, see the uptake.

Bound to the reader's ancillary MRI-PET record (:meth:`PetLesionPanel.bind_record`), the table
(lesion spheres, reference region, MTV threshold) is stored with that record as a read setting
through its undo stack, so it is audited, undoable and reopened with the record; its "MRI/CT
size" column comes from the lesion itself: an ancillary lesion's own MRI diameter, else the
RECIST lesion it is the same as ("same lesion as T1 kidney").
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.pet_lesions import (
    LESION_TABLE_KEY,
    AnatomicalSize,
    LesionTableState,
    PetLesion,
    PetLesionRow,
    ReferenceVoi,
    Threshold,
    anatomical_size,
    lesion_table,
    lesion_table_command,
    lesion_table_in,
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
    QT_TRANSLATE_NOOP("PetLesionPanel", "MRI/CT size"),
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
        self.reads: Any = None  # the ReadController once bound: the table is kept in its record
        self._watched: Any = None
        self._restoring = False
        lay = QVBoxLayout(self)
        # short rows: every control whole in the side panel's width
        grid = QGridLayout()
        self.id_edit = QLineEdit(self)
        self.id_edit.setPlaceholderText(self.tr("lesion id (from the read, e.g. T1)"))
        self.radius = QDoubleSpinBox(self)
        self.radius.setRange(3.0, 60.0)
        self.radius.setValue(15.0)
        self.radius.setSuffix(" mm")
        self.add_button = QPushButton(self.tr("Add lesion at crosshair"), self)
        self.add_button.clicked.connect(self.add_at_crosshair)
        grid.addWidget(self.id_edit, 0, 0, 1, 2)
        grid.addWidget(self.radius, 0, 2)
        grid.addWidget(self.add_button, 1, 0, 1, 3)
        self.region = QComboBox(self)
        for r in ReferenceRegion:
            self.region.addItem(self.tr(r.value.replace("_", " ")), r)
        self.reference_button = QPushButton(self.tr("Set reference at crosshair"), self)
        self.reference_button.clicked.connect(self.reference_at_crosshair)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(1.0, 100.0)
        self.threshold.setValue(41.0)
        self.threshold_kind = QComboBox(self)
        self.threshold_kind.addItem(self.tr("% of SUVmax"), ThresholdKind.PERCENT_OF_MAX)
        self.threshold_kind.addItem(self.tr("SUV absolute"), ThresholdKind.ABSOLUTE)
        self.threshold.valueChanged.connect(lambda _v: self._changed())
        self.threshold_kind.currentIndexChanged.connect(lambda _i: self._changed())
        grid.addWidget(QLabel(self.tr("Reference:")), 2, 0)
        grid.addWidget(self.region, 2, 1, 1, 2)
        grid.addWidget(self.reference_button, 3, 0, 1, 3)
        grid.addWidget(QLabel(self.tr("MTV threshold:")), 4, 0)
        grid.addWidget(self.threshold, 4, 1)
        grid.addWidget(self.threshold_kind, 4, 2)
        grid.setColumnStretch(1, 1)
        for w in (self.add_button, self.reference_button):
            w.setSizePolicy(QSizePolicy.Policy.MinimumExpanding, QSizePolicy.Policy.Fixed)
        lay.addLayout(grid)
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

    # --- the ancillary MRI-PET record ------------------------------------------------------
    def bind_record(self, reads: Any) -> None:
        """Keep the table in the reader's ancillary MRI-PET record (``reads``: the window's
        ReadController) and show the table that record holds."""
        self.reads = reads
        switched = getattr(reads, "switched", None)
        if switched is not None:
            switched.connect(lambda _undo: self._watch())
        self._watch()

    def _watch(self) -> None:
        session = self.reads.ancillary_session
        if session is not self._watched:
            self._watched = session
            session.changed.connect(lambda events, s=session: self._on_record_changed(s, events))
        self.restore()

    def _on_record_changed(self, session: Any, events: Any) -> None:
        if session is self._watched and any(getattr(e, "entity", "") == "settings" for e in events):
            self.restore()  # an undo, a redo, or this panel's own save

    def state_now(self) -> LesionTableState:
        return LesionTableState(
            tuple(self.lesions),
            self.reference,
            Threshold(self.threshold.value(), self.threshold_kind.currentData()),
        )

    def restore(self) -> None:
        """Show the table the record holds (after binding, reopening, undo or redo)."""
        if self.reads is None:
            return
        try:
            stored = lesion_table_in(self.reads.ancillary_session.read.settings)
        except ValueError as exc:
            self.message.setText(app_text(str(exc)))
            return
        stored = stored or LesionTableState()
        if stored == self.state_now() and self.rows:
            return
        self._restoring = True
        try:
            self.lesions = list(stored.lesions)
            self.reference = stored.reference
            self.threshold.setValue(stored.threshold.value)
            self.threshold_kind.setCurrentIndex(
                max(0, self.threshold_kind.findData(stored.threshold.kind))
            )
        finally:
            self._restoring = False
        self.refresh()

    def save(self) -> bool:
        """Store the table with the ancillary record (one undoable, audited edit); False when
        there is no record or nothing changed."""
        if self.reads is None or self._restoring:
            return False
        record = self.reads.ancillary_session.read
        state = self.state_now()
        if record.settings.get(LESION_TABLE_KEY) == state.to_json():
            return False
        self.reads.ancillary_undo.push_command(lesion_table_command(state))
        return bool(self.reads.ancillary_session.read.settings.get(LESION_TABLE_KEY))

    def _changed(self) -> None:
        self.refresh()
        self.save()

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
        self._changed()

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
        self._changed()

    def anatomical(self, lesion: PetLesion) -> AnatomicalSize | None:
        """The MRI or CT size of the lesion from the open records (None without them)."""
        if self.reads is None:
            return None
        return anatomical_size(
            lesion.lesion_id, self.reads.ancillary_session.read, self.reads.session.read
        )

    def size_text(self, size: AnatomicalSize | None) -> tuple[str, str]:
        """The size cell ("60.0 x 48.0 mm") and its tooltip (where it was measured)."""
        if size is None:
            return "", ""
        text = i18n.num(size.long_axis_mm, 1)
        if size.short_axis_mm is not None:
            text += " x " + i18n.num(size.short_axis_mm, 1)
        text += " mm"
        where = (
            self.tr("MRI-PET record, lesion {label} {timepoint}")
            if size.record == "ancillary"
            else self.tr("RECIST read, lesion {label} at {timepoint}")
        )
        return text, where.format(label=size.lesion_label, timepoint=size.timepoint_label).strip()

    def refresh(self) -> None:
        threshold = Threshold(self.threshold.value(), self.threshold_kind.currentData())
        sizes = [self.anatomical(les) for les in self.lesions]
        lesions = [
            les
            if size is None
            else dataclasses.replace(
                les,
                anatomical_long_axis_mm=size.long_axis_mm,
                anatomical_short_axis_mm=size.short_axis_mm,
            )
            for les, size in zip(self.lesions, sizes, strict=True)
        ]
        try:
            self.rows = lesion_table(self.pet, lesions, threshold, self.reference)
        except ValueError as exc:
            self.message.setText(app_text(str(exc)))
            return
        self.table.setRowCount(len(self.rows))
        for r, (row, size) in enumerate(zip(self.rows, sizes, strict=True)):
            size_text, size_tip = self.size_text(size)
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
                size_text,
            )
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if c == len(values) - 1 and size_tip:
                    item.setToolTip(size_tip)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        if self.rows:
            self.message.setText(
                self.tr("Values in {unit}; MTV at {threshold}.").format(
                    unit=self.rows[0].unit,
                    threshold=i18n.localise_number_text(app_text(str(self.rows[0].threshold))),
                )
            )
