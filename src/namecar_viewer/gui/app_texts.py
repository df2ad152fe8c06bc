"""Fixed texts of the core and application layers, shown in the reader's language.

The layers below the GUI stay language-neutral (their enum values are stored, exported and
compared); they are translated here, when shown: each enum's values are listed with
``QT_TRANSLATE_NOOP`` in a context named after the enum, so ``pyside6-lupdate`` puts them in the
catalogue, and :func:`enum_text` looks a member up.  The marked messages of ``app`` (see
``namecar_viewer.app.i18n``) are translated by ``gui.i18n.app_text``.
"""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

# Every enum value below is listed so lupdate extracts it; the tuples are not used otherwise.
_ENUM_VALUES = (
    # persistence.users.Role
    QT_TRANSLATE_NOOP("Role", "reader"),
    QT_TRANSLATE_NOOP("Role", "adjudicator"),
    QT_TRANSLATE_NOOP("Role", "site investigator"),
    QT_TRANSLATE_NOOP("Role", "administrator"),
    # app.hanging_protocols.StudyRole
    QT_TRANSLATE_NOOP("StudyRole", "pre-treatment baseline"),
    QT_TRANSLATE_NOOP("StudyRole", "inclusion"),
    QT_TRANSLATE_NOOP("StudyRole", "follow-up"),
    # core.reads.model.Site
    QT_TRANSLATE_NOOP("Site", "lung"),
    QT_TRANSLATE_NOOP("Site", "liver"),
    QT_TRANSLATE_NOOP("Site", "lymph node"),
    QT_TRANSLATE_NOOP("Site", "kidney"),
    QT_TRANSLATE_NOOP("Site", "adrenal"),
    QT_TRANSLATE_NOOP("Site", "bone"),
    QT_TRANSLATE_NOOP("Site", "pancreas"),
    QT_TRANSLATE_NOOP("Site", "brain"),
    QT_TRANSLATE_NOOP("Site", "peritoneum"),
    QT_TRANSLATE_NOOP("Site", "soft tissue"),
    QT_TRANSLATE_NOOP("Site", "other"),
    # core.reads.model.LesionRole (shown with a hyphen: lesion_role_text)
    QT_TRANSLATE_NOOP("LesionRole", "target"),
    QT_TRANSLATE_NOOP("LesionRole", "non-target"),
    QT_TRANSLATE_NOOP("LesionRole", "new"),
    QT_TRANSLATE_NOOP("LesionRole", "ancillary"),
    # core.measure.MeasurementKind
    QT_TRANSLATE_NOOP("MeasurementKind", "line"),
    QT_TRANSLATE_NOOP("MeasurementKind", "bidirectional"),
    QT_TRANSLATE_NOOP("MeasurementKind", "ellipse"),
    QT_TRANSLATE_NOOP("MeasurementKind", "point"),
    QT_TRANSLATE_NOOP("MeasurementKind", "arrow"),
    QT_TRANSLATE_NOOP("MeasurementKind", "sphere"),
    # core.reads.model.TimepointRole (shown with spaces: timepoint_role_text)
    QT_TRANSLATE_NOOP("TimepointRole", "pre treatment baseline"),
    QT_TRANSLATE_NOOP("TimepointRole", "inclusion"),
    QT_TRANSLATE_NOOP("TimepointRole", "follow up"),
    # core.reads.model.LesionStatus
    QT_TRANSLATE_NOOP("LesionStatus", "present"),
    QT_TRANSLATE_NOOP("LesionStatus", "absent"),
    QT_TRANSLATE_NOOP("LesionStatus", "unequivocal_progression"),
    QT_TRANSLATE_NOOP("LesionStatus", "too_small"),
    QT_TRANSLATE_NOOP("LesionStatus", "not_evaluable"),
    QT_TRANSLATE_NOOP("LesionStatus", "split"),
    QT_TRANSLATE_NOOP("LesionStatus", "coalesced"),
    QT_TRANSLATE_NOOP("LesionStatus", "equivocal"),
    # core.recist.model.NonTargetStatus
    QT_TRANSLATE_NOOP("NonTargetStatus", "present"),
    QT_TRANSLATE_NOOP("NonTargetStatus", "absent"),
    QT_TRANSLATE_NOOP("NonTargetStatus", "unequivocal_progression"),
    QT_TRANSLATE_NOOP("NonTargetStatus", "not_evaluated"),
    # core.recist.model.NewLesions
    QT_TRANSLATE_NOOP("NewLesions", "none"),
    QT_TRANSLATE_NOOP("NewLesions", "equivocal"),
    QT_TRANSLATE_NOOP("NewLesions", "unequivocal"),
    # core.recist.model.Response (the abbreviations French trial reports use)
    QT_TRANSLATE_NOOP("Response", "CR"),
    QT_TRANSLATE_NOOP("Response", "PR"),
    QT_TRANSLATE_NOOP("Response", "SD"),
    QT_TRANSLATE_NOOP("Response", "PD"),
    QT_TRANSLATE_NOOP("Response", "NE"),
    QT_TRANSLATE_NOOP("Response", "Non-CR/Non-PD"),
    QT_TRANSLATE_NOOP("Response", "NA"),
    QT_TRANSLATE_NOOP("Response", "iCR"),
    QT_TRANSLATE_NOOP("Response", "iPR"),
    QT_TRANSLATE_NOOP("Response", "iSD"),
    QT_TRANSLATE_NOOP("Response", "iUPD"),
    QT_TRANSLATE_NOOP("Response", "iCPD"),
    QT_TRANSLATE_NOOP("Response", "Non-iCR/Non-iUPD"),
    # app.worklist.CaseStatus and Task
    QT_TRANSLATE_NOOP("CaseStatus", "not started"),
    QT_TRANSLATE_NOOP("CaseStatus", "in progress"),
    QT_TRANSLATE_NOOP("CaseStatus", "signed"),
    QT_TRANSLATE_NOOP("CaseStatus", "needs adjudication"),
    QT_TRANSLATE_NOOP("CaseStatus", "adjudicated"),
    QT_TRANSLATE_NOOP("Task", "read"),
    QT_TRANSLATE_NOOP("Task", "adjudicate"),
    # persistence.audit.AuditAction
    QT_TRANSLATE_NOOP("AuditAction", "create"),
    QT_TRANSLATE_NOOP("AuditAction", "change"),
    QT_TRANSLATE_NOOP("AuditAction", "delete"),
    QT_TRANSLATE_NOOP("AuditAction", "sign"),
    QT_TRANSLATE_NOOP("AuditAction", "unlock"),
    QT_TRANSLATE_NOOP("AuditAction", "export"),
    QT_TRANSLATE_NOOP("AuditAction", "login"),
    QT_TRANSLATE_NOOP("AuditAction", "login failed"),
    QT_TRANSLATE_NOOP("AuditAction", "logout"),
    QT_TRANSLATE_NOOP("AuditAction", "assign"),
    QT_TRANSLATE_NOOP("AuditAction", "adjudicate"),
    QT_TRANSLATE_NOOP("AuditAction", "account"),
    # app.eligibility.CriterionKind, Answer and Decision
    QT_TRANSLATE_NOOP("CriterionKind", "inclusion"),
    QT_TRANSLATE_NOOP("CriterionKind", "exclusion"),
    QT_TRANSLATE_NOOP("Answer", "yes"),
    QT_TRANSLATE_NOOP("Answer", "no"),
    QT_TRANSLATE_NOOP("Answer", "unknown"),
    QT_TRANSLATE_NOOP("Decision", "eligible"),
    QT_TRANSLATE_NOOP("Decision", "not eligible"),
    QT_TRANSLATE_NOOP("Decision", "incomplete"),
    # core.geometry.reslice.SliceOrientation
    QT_TRANSLATE_NOOP("SliceOrientation", "acquisition"),
    QT_TRANSLATE_NOOP("SliceOrientation", "axial"),
    QT_TRANSLATE_NOOP("SliceOrientation", "coronal"),
    QT_TRANSLATE_NOOP("SliceOrientation", "sagittal"),
)

# Long names of the response categories (legends, the PDF).
_RESPONSE_NAMES = {
    "CR": QT_TRANSLATE_NOOP("ResponseName", "complete response"),
    "PR": QT_TRANSLATE_NOOP("ResponseName", "partial response"),
    "SD": QT_TRANSLATE_NOOP("ResponseName", "stable disease"),
    "PD": QT_TRANSLATE_NOOP("ResponseName", "progressive disease"),
    "NE": QT_TRANSLATE_NOOP("ResponseName", "not evaluable"),
    "Non-CR/Non-PD": QT_TRANSLATE_NOOP("ResponseName", "non-CR/non-PD"),
    "NA": QT_TRANSLATE_NOOP("ResponseName", "not applicable"),
}

# Window presets of core.geometry.reslice (their names).
_PRESETS = (
    QT_TRANSLATE_NOOP("WindowPreset", "Soft tissue"),
    QT_TRANSLATE_NOOP("WindowPreset", "Lung"),
    QT_TRANSLATE_NOOP("WindowPreset", "Bone"),
    QT_TRANSLATE_NOOP("WindowPreset", "Liver"),
    QT_TRANSLATE_NOOP("WindowPreset", "Mediastinum"),
    QT_TRANSLATE_NOOP("WindowPreset", "Auto (1st-99th percentile)"),
    QT_TRANSLATE_NOOP("WindowPreset", "PET SUV 0-N inverted"),
)

# app.signing.SIGNATURE_MEANING: the meaning the signer ticks, shown in their language (the
# audit trail keeps the English meaning the service records).
_MEANING = QT_TRANSLATE_NOOP("Signature", "I confirm this assessment")


def enum_text(member: enum.Enum | None) -> str:
    """An enum member of a lower layer as the reader's language names it (its value, when the
    catalogue has none)."""
    if member is None:
        return ""
    value = member.value
    if not isinstance(value, str):
        return str(value)
    return QCoreApplication.translate(type(member).__name__, value)


def enum_value_text(enum_name: str, value: str) -> str:
    """:func:`enum_text` from the enum's class name and a stored value."""
    return QCoreApplication.translate(enum_name, value)


def response_text(response: Any) -> str:
    """A response category's abbreviation (``PR``; ``RP`` in French); ``""`` for None."""
    if response is None:
        return ""
    value = getattr(response, "value", response)
    return QCoreApplication.translate("Response", str(value))


def response_name(response: Any) -> str:
    """A response category in words (``partial response``, ``réponse partielle``)."""
    value = str(getattr(response, "value", response))
    source = _RESPONSE_NAMES.get(value)
    return QCoreApplication.translate("ResponseName", source) if source else response_text(value)


def preset_text(name: str) -> str:
    return QCoreApplication.translate("WindowPreset", name)


def study_role_text(role: Any) -> str:
    return enum_text(role)


def signature_meaning(meaning: str | None = None) -> str:
    """The signature's meaning in the reader's language."""
    return QCoreApplication.translate("Signature", meaning or _MEANING)


def roles_text(user: Any) -> str:
    """A user's roles in a fixed order, in the reader's language."""
    from namecar_viewer.persistence.users import Role

    return ", ".join(enum_text(r) for r in Role if user.has(r))


def lesion_role_text(role: Any) -> str:
    """``target``, ``non-target``, ``new``, ``ancillary`` in the reader's language."""
    value = str(getattr(role, "value", role)).replace("_", "-")
    return QCoreApplication.translate("LesionRole", value)


def kind_text(kind: Any) -> str:
    """A measurement kind (``line``, ``bidirectional``...) in the reader's language."""
    return QCoreApplication.translate("MeasurementKind", str(getattr(kind, "value", kind)))


def summary_text(measurement: Any) -> str:
    """A measurement's summary (``T1 60.0 x 48.0 mm``) with the locale's decimal mark."""
    from namecar_viewer.gui.i18n import localise_number_text

    return localise_number_text(measurement.summary())


def orientation_text(orientation: Any) -> str:
    """``Axial``, ``Coronal``, ``Sagittal``, ``Acquisition`` in the reader's language."""
    value = str(getattr(orientation, "value", orientation))
    text = QCoreApplication.translate("SliceOrientation", value)
    return text[:1].upper() + text[1:]


def timepoint_role_text(role: Any) -> str:
    """``pre treatment baseline``, ``inclusion``, ``follow up`` in the reader's language."""
    value = str(getattr(role, "value", role)).replace("_", " ")
    return QCoreApplication.translate("TimepointRole", value)
