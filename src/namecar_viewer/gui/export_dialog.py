"""Review > Export read: the save dialog where the file name decides the format.

The format follows the extension typed: ``.csv`` (trial database CSV), ``.json`` (RECIST JSON),
``.dcm`` (DICOM SR TID 1500; the read's key images are written beside it as ``NAME_kos.dcm``,
a DICOM Key Object Selection document, without a choice to make: an SR and its key images
travel together) or ``.pdf`` (response report), whatever file type is chosen in the
dialog; a name without extension gets the extension of the chosen file type; any other
extension is refused with a message in the dialog, which stays open, and nothing is written.

The proposed name says subject, reader and date, ``NAMECAR-001_reader1_2025-10-09.csv``: the
subject is the read's patient ID, or its pseudonym in blinded mode
(:meth:`BlindingPolicy.subject`); the reader is hidden (``blinded``) when blinding does not let
the logged-in user see that reader's result, as in the export itself; the date is today's.
Characters a file system may refuse become ``-``.

The dialog is Qt's own (``DontUseNativeDialog``) so that it behaves the same on every platform
and a test can type into it; :func:`open_export_dialog` opens it without blocking and runs the
export (:meth:`ReviewController.export_read`) when it is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QLineEdit, QWidget

from namecar_viewer.app.blinding import BlindingPolicy
from namecar_viewer.gui.i18n import app_text, error_text

translate = QCoreApplication.translate


@dataclass(frozen=True)
class ExportFormat:
    """One export format: ``fmt`` as :meth:`ReviewController.export_read` names it."""

    fmt: str
    extension: str  # with the dot, lower case
    label: str  # untranslated; see :meth:`name_filter`

    def name_filter(self) -> str:
        return f"{translate('ExportDialog', self.label)} (*{self.extension})"


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("csv", ".csv", QT_TRANSLATE_NOOP("ExportDialog", "CSV for the trial database")),
    ExportFormat("json", ".json", QT_TRANSLATE_NOOP("ExportDialog", "RECIST JSON")),
    ExportFormat(
        "sr",
        ".dcm",
        QT_TRANSLATE_NOOP("ExportDialog", "DICOM SR TID 1500, key images beside it (KOS)"),
    ),
    ExportFormat("pdf", ".pdf", QT_TRANSLATE_NOOP("ExportDialog", "PDF response report")),
)
BY_EXTENSION = {f.extension: f for f in FORMATS}


class ExportNameError(ValueError):
    """The file name typed cannot be exported to (the message says why and what to type)."""


def export_target(name: str, chosen: ExportFormat) -> tuple[Path, ExportFormat]:
    """The file to write and its format for the ``name`` typed with file type ``chosen``.

    The extension typed decides (case-insensitive); without one, ``chosen``'s is added.
    Raises :class:`ExportNameError` for an empty name or an unknown extension.
    """
    text = name.strip()
    path = Path(text)
    if not text or not path.name.strip(". "):
        raise ExportNameError(translate("ExportDialog", "Type a file name to export to."))
    stem = path.name.rstrip(".")
    suffix = Path(stem).suffix.lower()
    if not suffix:
        return path.with_name(stem + chosen.extension), chosen
    fmt = BY_EXTENSION.get(suffix)
    if fmt is None:
        known = ", ".join(f.extension for f in FORMATS)
        raise ExportNameError(
            translate(
                "ExportDialog",
                "Cannot export to {name}: the extension {ext} is not an export format. "
                "Use {known} (the format follows the extension), or no extension for the "
                "chosen file type.",
            ).format(name=path.name, ext=suffix, known=known)
        )
    return path, fmt


_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def safe_part(text: str, fallback: str) -> str:
    """``text`` as one part of a file name: letters, digits and ``-`` only."""
    part = _UNSAFE.sub("-", text).strip("-")
    return part or fallback


def default_export_name(
    read: Any,
    policy: BlindingPolicy,
    viewer: str,
    *,
    adjudicating: bool = False,
    today: dt.date | None = None,
    extension: str = ".csv",
) -> str:
    """``<subject>_<reader>_<YYYY-MM-DD><extension>`` for ``read`` as ``viewer`` may see it."""
    pid = str(getattr(read, "patient_id", "") or "")
    subject = safe_part(policy.subject(pid), "no-subject") if pid else "no-subject"
    owner = str(getattr(read, "reader", "") or "")
    if owner and not policy.may_see_reader_result(viewer, owner, adjudicating=adjudicating):
        reader = "blinded"
    else:
        reader = safe_part(owner, "reader")
    day = (today or dt.date.today()).isoformat()
    return f"{subject}_{reader}_{day}{extension}"


class ExportDialog(QFileDialog):
    """Save dialog of Review > Export read; ``target`` is ``(path, format)`` once accepted."""

    def __init__(self, parent: QWidget | None, default_name: str) -> None:
        super().__init__(parent, translate("ExportDialog", "Export read"))
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.setNameFilters([f.name_filter() for f in FORMATS])
        self.selectNameFilter(FORMATS[0].name_filter())
        self.setDefaultSuffix(FORMATS[0].extension.lstrip("."))
        self.filterSelected.connect(self._on_filter)
        self.target: tuple[Path, ExportFormat] | None = None
        self.message = QLabel(self)
        self.message.setObjectName("export_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c03030;")
        self.message.hide()
        lay = self.layout()
        if isinstance(lay, QGridLayout):
            lay.addWidget(self.message, lay.rowCount(), 0, 1, -1)
        hint = QLabel(
            translate(
                "ExportDialog",
                "The format follows the extension: .csv, .json, .dcm (DICOM SR; its key images "
                "are written beside it as NAME_kos.dcm, a DICOM KOS) or .pdf.",
            ),
            self,
        )
        hint.setWordWrap(True)
        if isinstance(lay, QGridLayout):
            lay.addWidget(hint, lay.rowCount(), 0, 1, -1)
        self.selectFile(default_name)

    @property
    def name_edit(self) -> QLineEdit:
        """The file name line edit of Qt's dialog."""
        edit = self.findChild(QLineEdit, "fileNameEdit")
        assert edit is not None, "Qt's file dialog has no fileNameEdit"
        return edit

    def chosen_format(self) -> ExportFormat:
        selected = self.selectedNameFilter()
        return next((f for f in FORMATS if f.name_filter() == selected), FORMATS[0])

    def _on_filter(self, _name_filter: str) -> None:
        # Qt adds this to a name typed without extension (also for its overwrite question)
        self.setDefaultSuffix(self.chosen_format().extension.lstrip("."))

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def accept(self) -> None:
        files = self.selectedFiles()
        if not files or Path(files[0]).is_dir():
            super().accept()  # Qt opens the folder
            return
        try:
            self.target = export_target(files[0], self.chosen_format())
        except ExportNameError as exc:
            self.target = None
            self.say(error_text(exc))
            return
        self.say("")
        super().accept()


def make_export_dialog(controller: Any) -> ExportDialog:
    """The export dialog for the read on the controller's screen, not shown yet."""
    from namecar_viewer.persistence.users import Role

    read = controller.session.read
    policy = controller.policy
    user = controller.ctx.user
    try:  # the file is named after what is exported: the adjudicated read of a double read
        from namecar_viewer.app.adjudication import read_for_export

        choice = read_for_export(
            controller.ctx.engine,
            controller.ctx.db.load_read,
            read_uid=read.uid,
            name_subject=policy.subject,
        )
        if choice is not None:
            read = choice.read
    except Exception:  # noqa: BLE001 - the export says why it cannot run; the name stays useful
        pass
    adjudicating = user.has(Role.ADJUDICATOR) or user.has(Role.ADMINISTRATOR)
    name = default_export_name(read, policy, user.username, adjudicating=adjudicating)
    return ExportDialog(controller.window, name)


def run_export(controller: Any, dialog: ExportDialog) -> list[str] | None:
    """Export to the dialog's target; the outcome goes to the status bar (None: not written)."""
    if dialog.target is None:
        return None
    path, fmt = dialog.target
    bar = controller.window.statusBar()
    try:
        warnings = controller.export_read(path, fmt.fmt)
    except Exception as exc:  # noqa: BLE001 - shown to the reader, never a traceback
        bar.showMessage(
            translate("ExportDialog", "Export failed: {error}").format(error=error_text(exc)),
            15000,
        )
        return None
    if warnings:
        bar.showMessage(
            translate("ExportDialog", "Exported with warnings: {warnings}").format(
                warnings="; ".join(app_text(w) for w in warnings)
            ),
            15000,
        )
    return list(warnings)


def open_export_dialog(controller: Any) -> ExportDialog:
    """Review > Export read: open the dialog (it does not block); accepted, it exports."""
    dialog = make_export_dialog(controller)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.accepted.connect(lambda: run_export(controller, dialog))
    dialog.open()
    return dialog


__all__ = [
    "BY_EXTENSION",
    "FORMATS",
    "ExportDialog",
    "ExportFormat",
    "ExportNameError",
    "default_export_name",
    "export_target",
    "make_export_dialog",
    "open_export_dialog",
    "run_export",
    "safe_part",
]
