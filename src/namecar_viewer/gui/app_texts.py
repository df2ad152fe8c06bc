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


# --- texts written by the layers below the GUI ---------------------------------------------
# Fixed texts, looked up as they are (``gui.i18n.app_text``) in the ``app`` context.
_APP_EXACT = (
    # response categories, where a sentence of the engine names them
    QT_TRANSLATE_NOOP("app", "CR"),
    QT_TRANSLATE_NOOP("app", "PR"),
    QT_TRANSLATE_NOOP("app", "SD"),
    QT_TRANSLATE_NOOP("app", "PD"),
    QT_TRANSLATE_NOOP("app", "NE"),
    QT_TRANSLATE_NOOP("app", "Non-CR/Non-PD"),
    QT_TRANSLATE_NOOP("app", "Table 1"),
    QT_TRANSLATE_NOOP("app", "Table 2"),
    QT_TRANSLATE_NOOP("app", "baseline"),
    QT_TRANSLATE_NOOP("app", "new-lesion target when first seen"),
    # app.response
    QT_TRANSLATE_NOOP("app", "Eligible"),
    QT_TRANSLATE_NOOP("app", "Not eligible"),
    QT_TRANSLATE_NOOP("app", "Incomplete"),
    QT_TRANSLATE_NOOP("app", "Incomplete: nothing measured yet"),
    QT_TRANSLATE_NOOP(
        "app",
        "Incomplete: no inclusion scan in the read (mark a follow-up timepoint as inclusion)",
    ),
    QT_TRANSLATE_NOOP("app", "Incomplete: no timepoint recorded in the read yet"),
    QT_TRANSLATE_NOOP("app", "Incomplete: no lesion recorded in the read yet"),
    QT_TRANSLATE_NOOP("app", "pre-treatment"),
    QT_TRANSLATE_NOOP("app", "RECIST baseline: pre-treatment"),
    QT_TRANSLATE_NOOP(
        "app",
        "inclusion, re-baselined for the PFS follow-up (eligibility still uses the "
        "pre-treatment baseline)",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "RECIST baseline: inclusion, re-baselined for the PFS follow-up (eligibility still uses "
        "the pre-treatment baseline)",
    ),
    QT_TRANSLATE_NOOP("app", "RECIST baseline: inclusion"),
    # app.hanging_protocols: protocols, slots, titles, reasons, what is missing
    QT_TRANSLATE_NOOP("app", "RECIST read"),
    QT_TRANSLATE_NOOP(
        "app", "The nadir (or a prior you pick) and the previous CT beside the current one, linked."
    ),
    QT_TRANSLATE_NOOP("app", "Eligibility"),
    QT_TRANSLATE_NOOP(
        "app",
        "Pre-treatment baseline CT beside the inclusion CT (NAMECAR eligibility: metastatic "
        "response).",
    ),
    QT_TRANSLATE_NOOP("app", "MRI-PET"),
    QT_TRANSLATE_NOOP(
        "app", "Renal MRI (axial T2) beside the PSMA PET, with fusion and MIP slots."
    ),
    QT_TRANSLATE_NOOP("app", "current"),
    QT_TRANSLATE_NOOP("app", "previous"),
    QT_TRANSLATE_NOOP("app", "prior"),
    QT_TRANSLATE_NOOP("app", "nadir"),
    QT_TRANSLATE_NOOP("app", "inclusion"),
    QT_TRANSLATE_NOOP("app", "mri"),
    QT_TRANSLATE_NOOP("app", "pet"),
    QT_TRANSLATE_NOOP("app", "fusion"),
    QT_TRANSLATE_NOOP("app", "mip"),
    QT_TRANSLATE_NOOP("app", "Baseline"),
    QT_TRANSLATE_NOOP("app", "Current"),
    QT_TRANSLATE_NOOP("app", "Prior"),
    QT_TRANSLATE_NOOP("app", "Nadir"),
    QT_TRANSLATE_NOOP("app", "Previous"),
    QT_TRANSLATE_NOOP("app", "Pre-treatment"),
    QT_TRANSLATE_NOOP("app", "Inclusion"),
    QT_TRANSLATE_NOOP("app", "MRI: none"),
    QT_TRANSLATE_NOOP("app", "PET: none"),
    QT_TRANSLATE_NOOP("app", "Fusion PET on MRI"),
    QT_TRANSLATE_NOOP("app", "PET MIP"),
    QT_TRANSLATE_NOOP("app", "marked as baseline"),
    QT_TRANSLATE_NOOP("app", "first CT by study date"),
    QT_TRANSLATE_NOOP("app", "latest CT by study date"),
    QT_TRANSLATE_NOOP("app", "first CT not fully read yet, in date order"),
    QT_TRANSLATE_NOOP("app", "every CT read: the latest"),
    QT_TRANSLATE_NOOP("app", "the prior you picked"),
    QT_TRANSLATE_NOOP("app", "smallest sum of target diameters so far"),
    QT_TRANSLATE_NOOP("app", "the CT just before the current one"),
    QT_TRANSLATE_NOOP("app", "marked as pre-treatment baseline"),
    QT_TRANSLATE_NOOP("app", "first CT by date"),
    QT_TRANSLATE_NOOP("app", "marked as inclusion scan"),
    QT_TRANSLATE_NOOP("app", "second CT by date"),
    QT_TRANSLATE_NOOP("app", "axial T2 preferred, then dynamic T1, then DWI"),
    QT_TRANSLATE_NOOP("app", "attenuation-corrected PSMA PET"),
    QT_TRANSLATE_NOOP("app", "PET over the MRI once registered (PET/MRI work, issue 6)"),
    QT_TRANSLATE_NOOP("app", "rotating MIP of the PET (PET/MRI work, issue 6)"),
    QT_TRANSLATE_NOOP("app", "no CT study"),
    QT_TRANSLATE_NOOP("app", "no follow-up CT after the baseline"),
    QT_TRANSLATE_NOOP("app", "no pre-treatment baseline CT"),
    QT_TRANSLATE_NOOP("app", "no inclusion CT after the baseline"),
    QT_TRANSLATE_NOOP("app", "no MRI series"),
    QT_TRANSLATE_NOOP("app", "no PET series"),
    # app.blinding
    QT_TRANSLATE_NOOP("app", "Day ?"),
    # errors of the application layer shown as they are
    QT_TRANSLATE_NOOP("app", "Wrong user name or password."),
    QT_TRANSLATE_NOOP("app", "Accounts already exist: log in instead."),
    QT_TRANSLATE_NOOP("app", "The read is not saved yet; it cannot be signed until it is."),
    QT_TRANSLATE_NOOP("app", "This timepoint is not signed."),
    QT_TRANSLATE_NOOP(
        "app", "A signed read can only be changed with a reason: say why it must change."
    ),
    QT_TRANSLATE_NOOP("app", "An adjudicator cannot adjudicate a case they read."),
    QT_TRANSLATE_NOOP("app", "Choose one of the two reads."),
    QT_TRANSLATE_NOOP("app", "An adjudication needs a reason."),
    QT_TRANSLATE_NOOP("app", "A lesion label cannot be empty."),
    # app.pet.SuvField labels
    QT_TRANSLATE_NOOP("app", "Patient weight (kg)"),
    QT_TRANSLATE_NOOP("app", "Injected activity (MBq)"),
    QT_TRANSLATE_NOOP("app", "Injection date and time"),
    QT_TRANSLATE_NOOP("app", "Radionuclide half-life (s)"),
    # values the commands' texts name (kinds, roles, sites, statuses as the session writes them)
    QT_TRANSLATE_NOOP("app", "line"),
    QT_TRANSLATE_NOOP("app", "bidirectional"),
    QT_TRANSLATE_NOOP("app", "ellipse"),
    QT_TRANSLATE_NOOP("app", "point"),
    QT_TRANSLATE_NOOP("app", "arrow"),
    QT_TRANSLATE_NOOP("app", "sphere"),
    QT_TRANSLATE_NOOP("app", "target"),
    QT_TRANSLATE_NOOP("app", "non_target"),
    QT_TRANSLATE_NOOP("app", "new"),
    QT_TRANSLATE_NOOP("app", "ancillary"),
    QT_TRANSLATE_NOOP("app", "lung"),
    QT_TRANSLATE_NOOP("app", "liver"),
    QT_TRANSLATE_NOOP("app", "lymph node"),
    QT_TRANSLATE_NOOP("app", "kidney"),
    QT_TRANSLATE_NOOP("app", "adrenal"),
    QT_TRANSLATE_NOOP("app", "bone"),
    QT_TRANSLATE_NOOP("app", "pancreas"),
    QT_TRANSLATE_NOOP("app", "brain"),
    QT_TRANSLATE_NOOP("app", "peritoneum"),
    QT_TRANSLATE_NOOP("app", "soft tissue"),
    QT_TRANSLATE_NOOP("app", "other"),
    QT_TRANSLATE_NOOP("app", "present"),
    QT_TRANSLATE_NOOP("app", "absent"),
    QT_TRANSLATE_NOOP("app", "unequivocal_progression"),
    QT_TRANSLATE_NOOP("app", "too_small"),
    QT_TRANSLATE_NOOP("app", "not_evaluable"),
    QT_TRANSLATE_NOOP("app", "split"),
    QT_TRANSLATE_NOOP("app", "coalesced"),
    QT_TRANSLATE_NOOP("app", "equivocal"),
    # app.eligibility
    QT_TRANSLATE_NOOP("app", "not answered"),
    QT_TRANSLATE_NOOP("app", "unknown"),
    # core.recist: rules and findings shown beside the lesions
    QT_TRANSLATE_NOOP("app", "Baseline: non-target disease only"),
    QT_TRANSLATE_NOOP("app", "Baseline (inclusion re-baseline): non-target disease only"),
    QT_TRANSLATE_NOOP("app", "New lesions: unequivocal, PD (sec. 4.3.5)"),
    QT_TRANSLATE_NOOP(
        "app",
        "New lesions: equivocal, not progression unless a later scan confirms it (sec. 4.3.5)",
    ),
    QT_TRANSLATE_NOOP("app", "Non-targets CR: every non-target lesion gone"),
    QT_TRANSLATE_NOOP("app", "CR: every non-nodal target gone and every nodal target under 10 mm"),
    QT_TRANSLATE_NOOP("app", "NE: no evaluable follow-up"),
    QT_TRANSLATE_NOOP("app", "Not eligible: no metastatic lesion recorded at baseline"),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: metastatic non-target disease present and no metastatic target to "
        "measure shrinkage",
    ),
    QT_TRANSLATE_NOOP("app", "Eligible: metastatic CR"),
    QT_TRANSLATE_NOOP("app", "Eligible: metastatic CR, primary excluded"),
    QT_TRANSLATE_NOOP("app", "NAMECAR: pre-treatment baseline, no metastatic target"),
    QT_TRANSLATE_NOOP(
        "app", "NAMECAR: pre-treatment baseline, no metastatic target, primary excluded"
    ),
    QT_TRANSLATE_NOOP("app", "baseline disease is required (sec. 4.1)"),
    QT_TRANSLATE_NOOP("app", "no target or non-target lesion recorded"),
    QT_TRANSLATE_NOOP("app", "at most 5 target lesions in total (sec. 4.2)"),
    QT_TRANSLATE_NOOP(
        "app", "at most 2 target lesions per organ, all lymph nodes one organ (sec. 4.2)"
    ),
    QT_TRANSLATE_NOOP("app", "non-target lesions are recorded as present at baseline (sec. 4.2)"),
    QT_TRANSLATE_NOOP("app", "new lesions are judged against the baseline (sec. 4.3.5)"),
    QT_TRANSLATE_NOOP("app", "baseline cannot have new lesions"),
    QT_TRANSLATE_NOOP("app", "nodes < 10 mm short axis are non-pathological (sec. 3.1.1)"),
    QT_TRANSLATE_NOOP("app", "nodes 10-15 mm short axis are non-target only (sec. 3.1.1)"),
    QT_TRANSLATE_NOOP("app", "nodal targets are measured by their short axis (sec. 3.1.1)"),
    QT_TRANSLATE_NOOP("app", "measured with a line: use the bidirectional tool for the short axis"),
    QT_TRANSLATE_NOOP("app", "RECIST diameters are measured in the axial plane (sec. 3.1.1)"),
    QT_TRANSLATE_NOOP("app", "measurements reference images in the store"),
    QT_TRANSLATE_NOOP("app", "10 mm"),
)

# Texts made from a template (``{name}`` for a value), recognised by ``gui.i18n.pattern_text``
# (which tries the templates with the most fixed text first).
_APP_PATTERNS = (
    # app.blinding
    QT_TRANSLATE_NOOP("app", "Day {n}"),
    QT_TRANSLATE_NOOP("app", "Subject {code}"),
    # app.response
    QT_TRANSLATE_NOOP("app", "RECIST baseline: pre-treatment ({when})"),
    QT_TRANSLATE_NOOP("app", "pre-treatment ({when})"),
    QT_TRANSLATE_NOOP(
        "app",
        "RECIST baseline: inclusion ({when}), re-baselined for the PFS follow-up (eligibility "
        "still uses the pre-treatment baseline)",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "inclusion ({when}), re-baselined for the PFS follow-up (eligibility still uses the "
        "pre-treatment baseline)",
    ),
    QT_TRANSLATE_NOOP("app", "{text} (pre-treatment baseline vs inclusion scan of {date})"),
    QT_TRANSLATE_NOOP("app", "{text} (pre-treatment baseline vs inclusion scan {label})"),
    QT_TRANSLATE_NOOP("app", "Incomplete: the read cannot be evaluated ({violations})"),
    QT_TRANSLATE_NOOP("app", "The read cannot be turned into a RECIST case: {reason}"),
    QT_TRANSLATE_NOOP(
        "app",
        "{lesion}: {message} at the inclusion re-baseline; kept as a target (selected at the "
        "pre-treatment baseline)",
    ),
    # app.reading_order
    QT_TRANSLATE_NOOP(
        "app",
        "{before} is not read: the nadir (and every response after it) may be wrong; still to "
        "read: {after}",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{before} are not read: the nadir (and every response after it) may be wrong; still to "
        "read: {after}",
    ),
    QT_TRANSLATE_NOOP(
        "app", "{before} is not read: the nadir (and every response after it) may be wrong"
    ),
    QT_TRANSLATE_NOOP(
        "app", "{before} are not read: the nadir (and every response after it) may be wrong"
    ),
    QT_TRANSLATE_NOOP("app", "still to read: {after}"),
    # app.hanging_protocols
    QT_TRANSLATE_NOOP("app", "{label} CT {date}"),
    QT_TRANSLATE_NOOP("app", "{label}: none"),
    # app.eligibility
    QT_TRANSLATE_NOOP("app", "RECIST, read by {reader}"),
    QT_TRANSLATE_NOOP("app", "Inclusion {n} ({id}) not met: {detail}"),
    QT_TRANSLATE_NOOP("app", "Exclusion {n} ({id}) not met: {detail}"),
    QT_TRANSLATE_NOOP("app", "Inclusion {n} ({id}) answered no by {by}: {text}"),
    QT_TRANSLATE_NOOP("app", "Exclusion {n} ({id}) answered yes by {by}: {text}"),
    QT_TRANSLATE_NOOP("app", "Inclusion {n} ({id}) unknown"),
    QT_TRANSLATE_NOOP("app", "Exclusion {n} ({id}) unknown"),
    QT_TRANSLATE_NOOP("app", "Inclusion {n} ({id}) not answered"),
    QT_TRANSLATE_NOOP("app", "Exclusion {n} ({id}) not answered"),
    QT_TRANSLATE_NOOP("app", "Inclusion {n} ({id}) {detail}"),
    QT_TRANSLATE_NOOP(
        "app",
        "All {n} inclusion criteria met and none of the {m} exclusion criteria; {text}",
    ),
    QT_TRANSLATE_NOOP("app", "Inclusion {n}: {answer}"),
    QT_TRANSLATE_NOOP("app", "Exclusion {n}: {answer}"),
    QT_TRANSLATE_NOOP("app", "Clear answer to Inclusion {n}"),
    QT_TRANSLATE_NOOP("app", "Clear answer to Exclusion {n}"),
    # app.response, app.read_session: undo texts
    QT_TRANSLATE_NOOP("app", "RECIST baseline: {choice}"),
    # app.signing, app.read_session, app.auth, app.adjudication: refusals
    QT_TRANSLATE_NOOP(
        "app",
        "The {labels} read is signed by {user} ({when} UTC) and locked. To change it, unlock it "
        "with a reason (Review > Unlock signed timepoint); a new version is kept.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "This read belongs to {owner}; {user} can view it but not change it. File > Start my "
        "read opens your own read of this patient.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{labels} (before {label}) is not read, so the nadir may be wrong: read them first, or "
        "say why you sign anyway.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{labels} (before {label}) are not read, so the nadir may be wrong: read them first, "
        "or say why you sign anyway.",
    ),
    QT_TRANSLATE_NOOP("app", "Only the read's reader ({reader}) can sign it; {user} cannot."),
    QT_TRANSLATE_NOOP("app", "The {label} read is already signed."),
    QT_TRANSLATE_NOOP("app", "Only {user} (who signed) or an administrator can unlock it."),
    QT_TRANSLATE_NOOP("app", "{user} has no password yet: an administrator must set one."),
    QT_TRANSLATE_NOOP("app", "A password needs at least {n} characters."),
    QT_TRANSLATE_NOOP("app", "{user} is not an adjudicator."),
    QT_TRANSLATE_NOOP("app", "The label {label} is already used by another lesion."),
    # core.reports.status
    QT_TRANSLATE_NOOP("app", "{label}: signed by {user} on {date} {time} UTC, version {version}"),
    QT_TRANSLATE_NOOP("app", "{label}: draft"),
    # core.recist.engine: the reasons of each response
    QT_TRANSLATE_NOOP("app", "PD: target disease after CR ({lesions}), {words}"),
    QT_TRANSLATE_NOOP(
        "app",
        "NE: no target evaluated ({lesions} not evaluated), no sum of diameters (sec. 4.4.2)",
    ),
    QT_TRANSLATE_NOOP(
        "app", "PD: measured targets alone reach PD ({lesions} not evaluated), {words}"
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "NE: {lesions} not evaluated and the measured targets (sum {sum}) do not reach PD "
        "(sec. 4.4.2)",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "CR: every non-nodal target gone and every nodal target under 10 mm (sum {sum} of nodes)",
    ),
    QT_TRANSLATE_NOOP("app", "PR: sum {sum}, {pct} from baseline {base}"),
    QT_TRANSLATE_NOOP(
        "app", "SD: sum {sum}, {pct} from baseline {base}, {pct_nadir} from nadir {nadir} ({inc})"
    ),
    QT_TRANSLATE_NOOP("app", "SD: sum {sum}, {pct} from baseline {base}"),
    QT_TRANSLATE_NOOP(
        "app", "sum {sum}, {inc} from nadir {nadir} (no percent change from a 0 nadir)"
    ),
    QT_TRANSLATE_NOOP("app", "sum {sum}, {pct} from nadir {nadir}, {inc}"),
    QT_TRANSLATE_NOOP("app", "PD: {words}"),
    QT_TRANSLATE_NOOP("app", "Non-targets PD: unequivocal progression of {lesions}"),
    QT_TRANSLATE_NOOP("app", "Non-targets PD: {lesions} reappeared after CR"),
    QT_TRANSLATE_NOOP("app", "Non-targets NE: {lesions} not evaluated"),
    QT_TRANSLATE_NOOP("app", "Non-targets Non-CR/Non-PD: {lesions} present"),
    QT_TRANSLATE_NOOP("app", "Baseline (inclusion re-baseline): sum {sum} of {n} targets"),
    QT_TRANSLATE_NOOP("app", "Baseline (inclusion re-baseline): sum {sum} of {n} target"),
    QT_TRANSLATE_NOOP("app", "Baseline: sum {sum} of {n} targets"),
    QT_TRANSLATE_NOOP("app", "Baseline: sum {sum} of {n} target"),
    QT_TRANSLATE_NOOP(
        "app",
        "Overall revised to PD: the equivocal new lesion first seen at {first} was confirmed at "
        "{label}, so progression dates from {first} (sec. 4.3.5)",
    ),
    QT_TRANSLATE_NOOP("app", "Overall {response} (RECIST 1.1 {table})"),
    QT_TRANSLATE_NOOP("app", "After first progression at {label}: not used for best response"),
    QT_TRANSLATE_NOOP("app", "NE: no response and stable disease shorter than {days} days"),
    QT_TRANSLATE_NOOP("app", "{response} {first} confirmed at {second} ({days} days later)"),
    QT_TRANSLATE_NOOP("app", "{response} at {label} (confirmation not required)"),
    QT_TRANSLATE_NOOP("app", "{response}: {label} {days} days after baseline (minimum {min})"),
    QT_TRANSLATE_NOOP("app", "{response} at {label}, never confirmed"),
    QT_TRANSLATE_NOOP("app", "{response} at {label}"),
    # core.recist.eligibility: the NAMECAR decision
    QT_TRANSLATE_NOOP(
        "app", "NAMECAR: pre-treatment baseline, metastatic sum {sum}, primary excluded"
    ),
    QT_TRANSLATE_NOOP("app", "NAMECAR: pre-treatment baseline, metastatic sum {sum}"),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): progression "
        "(PD), {why}",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): metastatic "
        "non-target disease present ({present}) and no metastatic target to measure shrinkage",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: whatever the unevaluated lesions ({lesions} not evaluated): measured "
        "metastatic sum already {share} of baseline, so shrinkage cannot exceed 75%, and "
        "{present} still present, so no metastatic CR",
    ),
    QT_TRANSLATE_NOOP("app", "unequivocal new lesion since {label}"),
    QT_TRANSLATE_NOOP("app", "metastatic non-target progression of {lesions}"),
    QT_TRANSLATE_NOOP("app", "Not eligible: {why}"),
    QT_TRANSLATE_NOOP(
        "app",
        "Eligible: metastatic PR {pct}, primary excluded (metastatic non-targets present, not "
        "progressing)",
    ),
    QT_TRANSLATE_NOOP("app", "Eligible: metastatic PR {pct}, primary excluded"),
    QT_TRANSLATE_NOOP(
        "app", "Eligible: metastatic PR {pct} (metastatic non-targets present, not progressing)"
    ),
    QT_TRANSLATE_NOOP("app", "Eligible: metastatic PR {pct}"),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: metastatic sum {pct} from baseline, needs more than 75% shrinkage or CR, "
        "primary excluded",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Not eligible: metastatic sum {pct} from baseline, needs more than 75% shrinkage or CR",
    ),
    QT_TRANSLATE_NOOP("app", "Incomplete: metastatic {lesions} not evaluated"),
    # core.recist.validation and core.reads.checks: rules and findings
    QT_TRANSLATE_NOOP("app", "{where}: a target must be measured when selected (sec. 3.1.1, 4.2)"),
    QT_TRANSLATE_NOOP("app", "target recorded as {kind}, a single diameter in mm is required"),
    QT_TRANSLATE_NOOP("app", "{where}: nodal target needs short axis >= 15 mm (sec. 3.1.1)"),
    QT_TRANSLATE_NOOP("app", "nodal target short axis {mm} is below 15 mm"),
    QT_TRANSLATE_NOOP(
        "app",
        "{where}: non-nodal target needs long axis >= 10 mm and >= twice a slice thickness "
        "over 5 mm (sec. 3.1.1)",
    ),
    QT_TRANSLATE_NOOP("app", "long axis {mm} is below {minimum} ({why})"),
    QT_TRANSLATE_NOOP("app", "twice the slice thickness of {mm}"),
    QT_TRANSLATE_NOOP("app", "target number {n} exceeds the maximum of 5"),
    QT_TRANSLATE_NOOP("app", "third or later target in organ '{organ}'"),
    QT_TRANSLATE_NOOP("app", "non-target is '{status}' at baseline"),
    QT_TRANSLATE_NOOP("app", "node short axis {mm} is below 10 mm: not a lesion"),
    QT_TRANSLATE_NOOP(
        "app", "node short axis {mm} is pathological but not measurable: record it as a non-target"
    ),
    QT_TRANSLATE_NOOP("app", "measured on a plane {deg} degrees from axial"),
    QT_TRANSLATE_NOOP(
        "app",
        "series {uid} is no longer in the store; the measurement ({what}) is kept but its "
        "images cannot be shown",
    ),
    QT_TRANSLATE_NOOP("app", "lesion {lesion}, timepoint {timepoint}: {finding} [{rule}]"),
    QT_TRANSLATE_NOOP("app", "lesion {lesion}: {finding} [{rule}]"),
    QT_TRANSLATE_NOOP("app", "timepoint {timepoint}: {finding} [{rule}]"),
    QT_TRANSLATE_NOOP("app", "{finding} [{rule}]"),
    # core.suv: a header value SUV needs
    QT_TRANSLATE_NOOP("app", "{tag} is missing in file {file}; {why}; the reader can enter it"),
    QT_TRANSLATE_NOOP(
        "app", "{tag} is not positive ({value}) in file {file}; {why}; the reader can enter it"
    ),
    QT_TRANSLATE_NOOP("app", "{tag} is missing in file {file}; {why}"),
    QT_TRANSLATE_NOOP("app", "{tag} is missing in file {file}"),
    QT_TRANSLATE_NOOP("app", "SUVbw needs the body weight"),
    QT_TRANSLATE_NOOP("app", "SUV needs the injected activity"),
    QT_TRANSLATE_NOOP("app", "decay correction needs the radionuclide half-life"),
    QT_TRANSLATE_NOOP("app", "SUL, SUVbsa and SUVibw need it"),
    # app.pet_lesions
    QT_TRANSLATE_NOOP("app", "{value} % of SUVmax"),
    QT_TRANSLATE_NOOP("app", "SUV >= {value}"),
)


# app.read_session: the commands' texts (Edit > Undo, the audit trail's detail)
_COMMAND_EXACT = (
    QT_TRANSLATE_NOOP("app", "Move measurement"),
    QT_TRANSLATE_NOOP("app", "Assign measurement"),
    QT_TRANSLATE_NOOP("app", "Delete measurement"),
    QT_TRANSLATE_NOOP("app", "Change lesion flags"),
    QT_TRANSLATE_NOOP("app", "Set status"),
    QT_TRANSLATE_NOOP("app", "Delete lesion"),
    QT_TRANSLATE_NOOP("app", "Create read"),
)
_COMMAND_PATTERNS = (
    QT_TRANSLATE_NOOP("app", "Add timepoint {label}"),
    QT_TRANSLATE_NOOP("app", "Edit timepoint {label}"),
    QT_TRANSLATE_NOOP("app", "Create lesion {label}"),
    QT_TRANSLATE_NOOP("app", "Add {kind}"),
    QT_TRANSLATE_NOOP("app", "Relabel lesion {label}"),
    QT_TRANSLATE_NOOP("app", "Change role to {role}"),
    QT_TRANSLATE_NOOP("app", "Change site to {site}"),
    QT_TRANSLATE_NOOP("app", "Set status {status}"),
    QT_TRANSLATE_NOOP("app", "Measure {label}"),
    QT_TRANSLATE_NOOP("app", "Re-measure {label}"),
    QT_TRANSLATE_NOOP("app", "Undo {action}"),
    QT_TRANSLATE_NOOP("app", "Redo {action}"),
    QT_TRANSLATE_NOOP("app", "{first}; {rest}"),
)


def _register() -> None:
    from namecar_viewer.gui import (
        dicom_texts,
        pacs_texts,
        pet_import_texts,
        reading_texts,
        records_texts,
    )
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("app", (*_APP_PATTERNS, *_COMMAND_PATTERNS))
    dicom_texts.register()  # what the scan and the loader say of the input
    pet_import_texts.register()  # the import, SUV, PET and registration messages
    reading_texts.register()  # RECIST rules, adjudication, read edits, measurements
    pacs_texts.register()  # query/retrieve, node tests, prefetch
    records_texts.register()  # saving reads, exports, the audit trail, user names


_register()
