"""The messages of the RECIST reading workflow written below the GUI, in the reader's language.

``core.recist`` (the rules a case breaks), ``core.measure`` (ROI statistics, the semi-automatic
tool) and ``app`` (response, adjudication, read session, PET record) cannot import Qt: their
messages are plain English strings, shown in the response panel, the PDF report, the
adjudication dialog, undo texts and measurement labels.  Each is listed here as its English
template (``{name}`` for a value) in the ``app`` context, so ``pyside6-lupdate`` puts it in the
catalogue and ``gui.i18n.pattern_text`` recognises a message made from it, its values translated
in turn.  Messages assembled from pieces (``timepoint X: <message> [<rule>]``, the joined
disagreements) are matched by their outer template and the pieces listed here.  A message the
lower layers change must change here too.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

READING_PATTERNS = (
    # --- core.recist.validation: the follow-up rules (message and rule of a RuleViolation) ----
    QT_TRANSLATE_NOOP("app", "a case needs a baseline timepoint"),
    QT_TRANSLATE_NOOP("app", "no timepoints"),
    QT_TRANSLATE_NOOP("app", "lesion ids are unique"),
    QT_TRANSLATE_NOOP("app", "declared {n} times"),
    QT_TRANSLATE_NOOP("app", "timepoint labels are unique"),
    # "used {n} times" alone is too short to be told from other sentences: the whole violation
    QT_TRANSLATE_NOOP("app", "timepoint {timepoint}: used {n} times [timepoint labels are unique]"),
    QT_TRANSLATE_NOOP("app", "measurements are given for declared target lesions only"),
    QT_TRANSLATE_NOOP("app", "statuses are given for declared non-target lesions only"),
    QT_TRANSLATE_NOOP("app", "not a declared target"),
    QT_TRANSLATE_NOOP("app", "not a declared non-target"),
    # f"lesion is {kind.value}", for the four kinds it can name
    QT_TRANSLATE_NOOP("app", "lesion is target"),
    QT_TRANSLATE_NOOP("app", "lesion is non_target"),
    QT_TRANSLATE_NOOP("app", "lesion is new_target"),
    QT_TRANSLATE_NOOP("app", "lesion is new_non_target"),
    QT_TRANSLATE_NOOP("app", "every timepoint needs a date (sec. 4.4.3, 4.6)"),
    QT_TRANSLATE_NOOP("app", "date missing"),
    QT_TRANSLATE_NOOP("app", "timepoints are in date order, baseline first"),
    QT_TRANSLATE_NOOP("app", "date {date} is before the previous timepoint"),
    QT_TRANSLATE_NOOP(
        "app",
        "a confirmed new lesion refers to an earlier follow-up where it was equivocal (sec. 4.3.5)",
    ),
    QT_TRANSLATE_NOOP("app", "'{label}' is not an earlier follow-up with an equivocal new lesion"),
    QT_TRANSLATE_NOOP(
        "app",
        "confirmation of an equivocal new lesion needs an unequivocal new lesion (sec. 4.3.5)",
    ),
    # f"new_lesions is '{value}'", for the two values it can name
    QT_TRANSLATE_NOOP("app", "new_lesions is 'none'"),
    QT_TRANSLATE_NOOP("app", "new_lesions is 'equivocal'"),
    QT_TRANSLATE_NOOP("app", "at most 5 new-lesion targets (Seymour 2017)"),
    QT_TRANSLATE_NOOP("app", "new-lesion target number {n} exceeds 5"),
    QT_TRANSLATE_NOOP("app", "at most 2 new-lesion targets per organ (Seymour 2017)"),
    QT_TRANSLATE_NOOP("app", "third or later new-lesion target in organ '{organ}'"),
    QT_TRANSLATE_NOOP("app", "a new lesion cannot be present at baseline (sec. 4.3.5)"),
    QT_TRANSLATE_NOOP("app", "new-lesion target measured at baseline"),
    # the organ of the 2-per-organ rules when the lesion is a node (constants.LYMPH_NODE_ORGAN)
    QT_TRANSLATE_NOOP("app", "lymph nodes"),
    # --- core.recist.model: a diameter refused (after "The read cannot be turned into ...") ---
    QT_TRANSLATE_NOOP("app", "a split lesion needs at least one fragment"),
    # f"{kind.value} measurement takes {n} values", for the four kinds it can name
    QT_TRANSLATE_NOOP("app", "measured measurement takes 1 values"),
    QT_TRANSLATE_NOOP("app", "too_small measurement takes 0 values"),
    QT_TRANSLATE_NOOP("app", "not_evaluated measurement takes 0 values"),
    QT_TRANSLATE_NOOP("app", "coalesced measurement takes 0 values"),
    QT_TRANSLATE_NOOP("app", "diameters cannot be negative"),
    # --- app.response ------------------------------------------------------------------------
    QT_TRANSLATE_NOOP("app", "a re-baseline needs a sum of diameters above 0 mm (sec. 4.3.1)"),
    QT_TRANSLATE_NOOP(
        "app",
        "every target is gone at the inclusion scan: no percent change can be computed from it; "
        "use the pre-treatment baseline",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "RECIST baseline is set to the inclusion scan but no timepoint of the read is marked as "
        "inclusion",
    ),
    # ResponseReport.first_pd_text (the blinded PDF shows it)
    QT_TRANSLATE_NOOP("app", "First PD: undated ({label})"),
    QT_TRANSLATE_NOOP("app", "First PD: {when} ({label})"),
    QT_TRANSLATE_NOOP("app", "No progression"),
    # --- app.adjudication: the disagreements and what an export of a case says -----------------
    QT_TRANSLATE_NOOP("app", "overall response at {label}: {first} vs {second}"),
    QT_TRANSLATE_NOOP("app", "date of progression: {first} vs {second}"),
    QT_TRANSLATE_NOOP("app", "not assessed"),
    QT_TRANSLATE_NOOP("app", "no progression"),
    QT_TRANSLATE_NOOP(
        "app",
        "The two reads disagree ({differences}): the case awaits adjudication and has no result "
        "to report yet.",
    ),
    # {case} is "subject timepoint" ("Subject K7Q2 FU03M" blinded, translated as it is)
    QT_TRANSLATE_NOOP("app", "Cannot export case {case}: {reason}"),
    QT_TRANSLATE_NOOP(
        "app",
        "case {case}: exporting read {uid} (adjudicated); case {others} chose the other read, "
        "the latest case decides",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "case {case}: exporting read {uid} (both reads agree); case {others} chose the other "
        "read, the latest case decides",
    ),
    QT_TRANSLATE_NOOP("app", "case {case}: exporting read {uid} (adjudicated)"),
    QT_TRANSLATE_NOOP("app", "case {case}: exporting read {uid} (both reads agree)"),
    # --- app.read_session: refused edits, a failed save -------------------------------------
    QT_TRANSLATE_NOOP("app", "Timepoint {label} already exists."),
    QT_TRANSLATE_NOOP("app", "Lesion {uid} already exists."),
    QT_TRANSLATE_NOOP("app", "Measurement {uid} already exists."),
    QT_TRANSLATE_NOOP("app", "The lesion {uid} is not in this read (deleted?)."),
    QT_TRANSLATE_NOOP("app", "The timepoint {uid} is not in this read."),
    QT_TRANSLATE_NOOP("app", "The measurement {uid} is not in this read (deleted?)."),
    QT_TRANSLATE_NOOP(
        "app",
        "{error}\nThe edit is kept in this window and not yet saved; it will be saved with the "
        "next edit or when you choose File > Retry saving.",
    ),
    # --- app.pet: undo texts (the offset link, the alignment, the three methods of a
    # registration, the SUV values and the lesion table are in gui/pet_import_texts.py)
    QT_TRANSLATE_NOOP("app", "Accept {method} registration PET -> base"),
    # --- core.measure.stats: why an ellipse or sphere has no statistics ---------------------
    QT_TRANSLATE_NOOP("app", "The ROI holds no pixel of the image."),
    QT_TRANSLATE_NOOP("app", "The ellipse has a zero-length axis."),
    # ("Ellipse {uid} has no plane to sample." is in gui/pet_import_texts.py)
    QT_TRANSLATE_NOOP("app", "A ring needs a diameter measurement."),
    # --- core.measure.semiauto: why a click proposes no lesion ------------------------------
    QT_TRANSLATE_NOOP("app", "The click ({row}, {col}) is outside the {rows}x{cols} slice."),
    QT_TRANSLATE_NOOP("app", "The click is outside the scanned volume."),
    QT_TRANSLATE_NOOP(
        "app",
        "The region grown from the click reaches {mm} mm or is empty: it is not a separate "
        "lesion on this slice (draw the diameter by hand).",
    ),
    QT_TRANSLATE_NOOP("app", "No region grows from the click."),
)


def register() -> None:
    """Let ``gui.i18n.pattern_text`` recognise the messages above."""
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("app", READING_PATTERNS)
