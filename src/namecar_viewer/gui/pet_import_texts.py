"""What the import, the PET/SUV layer and the registration say, in the reader's language.

``app.importer``, ``app.pet``, ``app.pet_lesions``, ``core.suv`` and ``core.registration``
cannot import Qt: the progress texts, import warnings, SUV refusals and registration errors
they write are plain English.  Each is listed here as its English template (``{name}`` for a
value) in the ``app`` context, so ``pyside6-lupdate`` puts it in the catalogue and
``gui.i18n.pattern_text`` recognises a message made from it (its values translated in turn, so
a reason nested in a prefix is translated too).  DICOM keywords and tags stay as they are: where
the core writes ``tag_label(keyword)`` ("Units (0054,1001)") the template has a ``{tag}`` slot.
A message the lower layers change must change here too.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

PET_IMPORT_PATTERNS = (
    # --- app.importer: progress (status line) and the import summary
    QT_TRANSLATE_NOOP("app", "Reading headers: {what}"),
    QT_TRANSLATE_NOOP("app", "Indexing {what}"),
    # a CR stack without a description: "CR" alone would be read as the RECIST response
    QT_TRANSLATE_NOOP("app", "Indexing CR"),
    QT_TRANSLATE_NOOP("app", "done"),
    # a non-image object (ObjectKind value, else "non-image object"), with its description or
    # modality and its SOP class; a presentation state (PR) is written out, not taken as a slot
    # that the RECIST "PR" would translate
    QT_TRANSLATE_NOOP("app", "{what} ({detail}): no image to show, not indexed as a stack"),
    QT_TRANSLATE_NOOP("app", "PR ({detail}): no image to show, not indexed as a stack"),
    QT_TRANSLATE_NOOP("app", "non-image object"),
    QT_TRANSLATE_NOOP("app", "{description}, SOP class {uid}"),
    QT_TRANSLATE_NOOP("app", "PR, SOP class {uid}"),
    QT_TRANSLATE_NOOP("app", "{description}, no SOP Class UID"),
    QT_TRANSLATE_NOOP("app", "no SOP Class UID"),
    # the problems after it are str(Problem) joined by "; " (dicom "error: {message} [{files}]")
    QT_TRANSLATE_NOOP("app", "{what} ({file}): indexed but not loadable: {problems}"),
    QT_TRANSLATE_NOOP("app", "{what}: no thumbnail ({reason})"),
    # the loader's usual reason written out: else "{file}: cannot be read: {why}" (dicom), with
    # more fixed text, would take the whole line as its {file}
    QT_TRANSLATE_NOOP(
        "app", "{what}: no thumbnail (no image of stack {stack} could be decoded: {reason})"
    ),
    QT_TRANSLATE_NOOP("app", "could not be copied into the store: {reason}"),
    # --- core.suv.factors: why SUV cannot be computed (SuvInputError)
    QT_TRANSLATE_NOOP("app", "instance {uid} is not in PET series {series}"),
    QT_TRANSLATE_NOOP("app", "SUV{kind} is unavailable for series {series}: {warnings}"),
    QT_TRANSLATE_NOOP("app", "{tag} has the non-numeric value {value} in file {file}"),
    QT_TRANSLATE_NOOP(
        "app", "Philips private tag {tag} has the unreadable value {value} in file {file}"
    ),
    QT_TRANSLATE_NOOP(
        "app", "Philips private tag {tag} has the non-numeric value {value} in file {file}"
    ),
    # {tag}: one tag, or "SeriesDate (0008,0021)/SeriesTime (0008,0031)"
    QT_TRANSLATE_NOOP("app", "{tag} unreadable in file {file}: {why}"),
    QT_TRANSLATE_NOOP(
        "app",
        "{tag} differs within the series: {value} in file {file} but {other} in file {other_file}",
    ),
    QT_TRANSLATE_NOOP("app", "{tag} is {value}, not PT, in file {file}"),
    QT_TRANSLATE_NOOP(
        "app",
        "{tag} is {value} in file {file}; SUV is computed only from BQML, CNTS (Philips) or GML",
    ),
    QT_TRANSLATE_NOOP("app", "{tag} is {value} in file {file}; expected START, ADMIN or NONE"),
    QT_TRANSLATE_NOOP(
        "app",
        "Units CNTS in file {file} but neither Philips SUV Scale Factor (7053,1000) nor Activity "
        "Concentration Scale Factor (7053,1009) is present in every instance; counts cannot be "
        "converted to SUV",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{tag} is missing in file {file}; SUV needs the injected dose and time; the reader can "
        "enter them",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{tags} and {other_tags} are missing in file {file}; the reference time for decay is "
        "unknown",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{tag} and {other_tag} are missing in file {file}; DecayCorrection NONE needs the frame "
        "time",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "{tag} and {other_tag} are missing in file {file}; SUV needs the injection time; the "
        "reader can enter it",
    ),
    # core.suv.dicom_time: why a date or time is unreadable (after "unreadable in file ...: ")
    QT_TRANSLATE_NOOP("app", "UTC offset {text} is not of the form +HHMM or -HHMM"),
    QT_TRANSLATE_NOOP("app", "UTC offset {text} is out of range"),
    QT_TRANSLATE_NOOP("app", "date {text} is not of the form YYYYMMDD"),
    QT_TRANSLATE_NOOP("app", "time {text} is not of the form HHMMSS.FFFFFF"),
    QT_TRANSLATE_NOOP("app", "date-time {text} is not of the form YYYYMMDDHHMMSS.FFFFFF&ZZXX"),
    # --- app.pet: SUV, the raw label, fusion
    QT_TRANSLATE_NOOP(
        "app", "The PET volume does not list its files, so its SUV tags cannot be read."
    ),
    QT_TRANSLATE_NOOP("app", "Cannot read the PET header of {file}: {reason}"),
    QT_TRANSLATE_NOOP("app", "Series is {modality}, not PET: no SUV."),
    QT_TRANSLATE_NOOP(
        "app",
        "a slice without its instance (gap) in a series whose SUV factors differ per instance",
    ),
    QT_TRANSLATE_NOOP("app", "{units} (raw, not SUV)"),
    QT_TRANSLATE_NOOP("app", "stored values (raw, not SUV)"),
    QT_TRANSLATE_NOOP("app", "Stored SUV values are not valid JSON: {text}"),
    QT_TRANSLATE_NOOP("app", "Stored SUV values are not an object: {text}"),
    QT_TRANSLATE_NOOP(
        "app", "The PET overlay is not in SUV: convert it with load_pet_suv/to_suv first."
    ),
    QT_TRANSLATE_NOOP("app", "Ellipse {uid} has no plane to sample."),
    QT_TRANSLATE_NOOP("app", "The ROI holds no PET pixel."),
    # app.pet: the commands' texts (Edit > Undo, the audit trail)
    QT_TRANSLATE_NOOP("app", "Withdraw reader-entered SUV values"),
    QT_TRANSLATE_NOOP("app", "Reader-entered SUV values ({names})"),
    QT_TRANSLATE_NOOP("app", "Link timepoints by offset ({x}, {y}, {z}) mm"),
    QT_TRANSLATE_NOOP("app", "Align timepoints automatically"),
    QT_TRANSLATE_NOOP("app", "Accept automatic registration PET -> base"),
    QT_TRANSLATE_NOOP("app", "Accept manual registration PET -> base"),
    QT_TRANSLATE_NOOP("app", "Accept automatic+manual registration PET -> base"),
    # --- app.pet_lesions, core.suv.quantify: the lesion table
    QT_TRANSLATE_NOOP("app", "The {region} reference region has mean SUV {mean}."),
    QT_TRANSLATE_NOOP("app", "The {region} reference region has mean SUV {mean} <= 0."),
    QT_TRANSLATE_NOOP("app", "blood_pool"),  # ReferenceRegion values ("liver" is listed already)
    QT_TRANSLATE_NOOP("app", "parotid"),
    QT_TRANSLATE_NOOP("app", "Lesion uptake is computed on a PET converted to SUV (load_pet_suv)."),
    QT_TRANSLATE_NOOP("app", "The stored MRI-PET lesion table cannot be read: {reason}"),
    QT_TRANSLATE_NOOP("app", "The VOI holds no voxel of the volume."),
    QT_TRANSLATE_NOOP("app", "Save the MRI-PET lesion table"),
    # --- core.registration: timepoint alignment (timepoints), PET registration (rigid, resample)
    QT_TRANSLATE_NOOP("app", "Volume {shape} is smaller than one block {factors}."),
    QT_TRANSLATE_NOOP("app", "Colour volumes cannot be aligned."),
    QT_TRANSLATE_NOOP(
        "app",
        "The volume's slices are sheared (gantry tilt): resample it to an orthogonal grid "
        "before alignment.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "The volume is too small to align ({shape} voxels); at least 8 blocks of {mm} mm along "
        "each axis are needed.",
    ),
    QT_TRANSLATE_NOOP("app", "The volume holds NaN or infinite values; cannot align."),
    QT_TRANSLATE_NOOP("app", "Colour volumes cannot be registered."),
    # "fixed" and "moving" written out: a slot would take any word
    QT_TRANSLATE_NOOP(
        "app",
        "The fixed volume is too thin to register ({shape}); at least 4 voxels along each axis "
        "are needed.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "The moving volume is too thin to register ({shape}); at least 4 voxels along each axis "
        "are needed.",
    ),
    QT_TRANSLATE_NOOP("app", "The volume holds NaN or infinite values; cannot register."),
    QT_TRANSLATE_NOOP("app", "Colour volumes cannot be resampled for fusion."),
    QT_TRANSLATE_NOOP(
        "app",
        "The volume's slices are sheared (gantry tilt): resample it to an orthogonal grid "
        "before registration.",
    ),
)


def register() -> None:
    """Let ``gui.i18n.pattern_text`` recognise these messages."""
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("app", PET_IMPORT_PATTERNS)
