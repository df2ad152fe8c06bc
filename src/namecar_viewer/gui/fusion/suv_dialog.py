"""Ask the reader for a SUV input the PET header lacks (weight, dose, injection time, half-life).

The entered values become :class:`~namecar_viewer.core.suv.SuvOverrides`; the SUV volume records
them as reader-entered (``metadata["suv_reader_entered"]``).  Never a silent default: Cancel
leaves the PET unloaded with the reason shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from PySide6.QtCore import QCoreApplication, QDateTime
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from namecar_viewer.app.pet import SuvField, SuvInputNeeded, load_pet_suv
from namecar_viewer.core.geometry import Volume
from namecar_viewer.core.suv import SuvOverrides
from namecar_viewer.gui.i18n import app_text, error_text

translate = QCoreApplication.translate

MAX_ROUNDS = 4


class SuvEntryDialog(QDialog):
    """One form row per missing field; the message says which tag is missing."""

    def __init__(
        self, message: str, fields: tuple[SuvField, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SUV: value missing from the PET header"))
        lay = QVBoxLayout(self)
        text = QLabel(
            app_text(message)
            + "\n\n"
            + self.tr("Enter the value from the injection record (recorded as reader-entered)."),
            self,
        )
        text.setWordWrap(True)
        lay.addWidget(text)
        form = QFormLayout()
        self.editors: dict[SuvField, Any] = {}
        for f in fields:
            if f is SuvField.INJECTION_TIME:
                ed: Any = QDateTimeEdit(QDateTime.currentDateTime(), self)
                ed.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            else:
                ed = QDoubleSpinBox(self)
                ed.setDecimals(3)
                ed.setRange(0.0, 1e9)
                ed.setValue(0.0)
            form.addRow(f"{app_text(f.label)} [{f.tag}]", ed)
            self.editors[f] = ed
        lay.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f, ed in self.editors.items():
            if f is SuvField.INJECTION_TIME:
                out[f.value] = dt.datetime.fromisoformat(
                    ed.dateTime().toString("yyyy-MM-ddTHH:mm:ss")
                )
            elif f is SuvField.DOSE:
                if ed.value() > 0:
                    out[f.value] = ed.value() * 1e6  # MBq -> Bq
            elif ed.value() > 0:
                out[f.value] = ed.value()
        return out


def load_pet_with_dialog(parent: QWidget | None, source: Any) -> tuple[Volume | None, str]:
    """Load ``source`` in SUV, asking the reader for missing inputs; (volume, message)."""
    overrides = SuvOverrides()
    for _ in range(MAX_ROUNDS):
        try:
            return load_pet_suv(source, overrides), ""
        except SuvInputNeeded as need:
            if not need.fields:
                return None, app_text(need.message)
            dlg = SuvEntryDialog(need.message, need.fields, parent)
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return None, translate("SuvEntryDialog", "PET not shown in SUV: {reason}").format(
                    reason=app_text(need.message)
                )
            entered = dlg.values()
            if not entered:
                return None, translate("SuvEntryDialog", "PET not shown in SUV: {reason}").format(
                    reason=app_text(need.message)
                )
            overrides = dataclasses.replace(overrides, **entered)
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            return None, translate("SuvEntryDialog", "Cannot load the PET: {reason}").format(
                reason=error_text(exc)
            )
    return None, translate(
        "SuvEntryDialog", "PET not shown in SUV: values still missing after several entries."
    )
