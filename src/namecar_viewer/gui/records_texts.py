"""What the records say below the GUI (reads database, exports, audit trail, login), in the
reader's language.

``persistence`` (the reads database, its migrations and URLs, the study index, the audit hash
chain), ``core.reports`` (atomic writes, DICOM SR and KOS, the PDF's key images), ``app.auth``
and the demo read cannot import Qt: their failures and warnings are plain English, shown through
``error_text``/``app_text`` by the undo and save path, start-up, the export dialog, the audit
trail and the login dialog.  Each is listed here as its English template (``{name}`` for a value)
in the ``app`` context, so ``pyside6-lupdate`` puts it in the catalogue and
``gui.i18n.pattern_text`` recognises a message made from it, its values translated in turn.  A
message built from a short piece ("entry 3" / "entries 3-5", the kind of a row, where a warning
is) is listed once per piece, so the whole sentence agrees in French.  Paths, UIDs, URLs, table
keys and operating-system reasons stay as written.  A message the lower layers change must
change here too.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP

RECORDS_PATTERNS = (
    # --- persistence.reads_db: a write refused (_describe: "Cannot write ... {where}: {why}.") ---
    QT_TRANSLATE_NOOP(
        "app",
        "Cannot write to the reads database {where}: it is read-only (check the file and folder "
        "permissions).",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Cannot write to the reads database {where}: it is locked by another program or another "
        "NAMECAR Viewer window.",
    ),
    QT_TRANSLATE_NOOP(
        "app", "Cannot write to the reads database {where}: the disk is full or failing."
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Cannot write to the reads database {where}: the file cannot be opened (missing folder or "
        "no permission).",
    ),
    QT_TRANSLATE_NOOP(
        "app", "Cannot write to the reads database {where}: the database reported: {error}."
    ),
    # --- persistence.reads_db and persistence.migrations: a database of a newer version ---------
    QT_TRANSLATE_NOOP(
        "app",
        "The reads database {where} has schema version {version}, newer than this NAMECAR Viewer "
        "(version {current}): update the application. The database was not changed.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "The reads database {where} has schema revision {revision}, newer than this NAMECAR "
        "Viewer (newest known: {head}): update the application. The database was not changed.",
    ),
    # --- persistence.reads_db: another session wrote first (f"{change.table[:-1]} {key} ...",
    # one template per table; a read's own row is changed, never removed, by an edit) ---------
    QT_TRANSLATE_NOOP(
        "app",
        "timepoint {key} was changed or removed by another session in {where}; reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "lesion {key} was changed or removed by another session in {where}; reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "measurement {key} was changed or removed by another session in {where}; reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "status {key} was changed or removed by another session in {where}; reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "setting {key} was changed or removed by another session in {where}; reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "read {key} was changed by another session in {where} (row version {version} is out of "
        "date); reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "timepoint {key} was changed by another session in {where} (row version {version} is out "
        "of date); reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "lesion {key} was changed by another session in {where} (row version {version} is out of "
        "date); reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "measurement {key} was changed by another session in {where} (row version {version} is "
        "out of date); reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "status {key} was changed by another session in {where} (row version {version} is out "
        "of date); reload the read.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "setting {key} was changed by another session in {where} (row version {version} is out "
        "of date); reload the read.",
    ),
    # --- persistence.study_index (start-up: "The study index cannot be opened ({reason}); ...") --
    QT_TRANSLATE_NOOP(
        "app",
        "The study index {path} has schema version {version}, newer than this program's "
        "{current}; use a newer NAMECAR Viewer.",
    ),
    # --- persistence.engine: --db, $NAMECAR_DB ----------------------------------------------------
    QT_TRANSLATE_NOOP("app", "No database given (use --db URL or set NAMECAR_DB)."),
    QT_TRANSLATE_NOOP("app", "Not a database URL: {url} ({error})."),
    QT_TRANSLATE_NOOP(
        "app",
        "Unsupported database {url}: use a file path, sqlite:///FILE or "
        "postgresql://user:password@host:port/database.",
    ),
    # --- phantom.demo_read: the demo read at start-up (--demo) ----------------------------------
    QT_TRANSLATE_NOOP("app", "the demo read could not be saved: {error}"),
    QT_TRANSLATE_NOOP("app", "{path} is missing: write the demo patient first."),
    QT_TRANSLATE_NOOP("app", "{path} is missing: the demo patient is incomplete."),
    # --- core.reports.atomic: an export not written ("Cannot write {path}: {reason}.") ----------
    QT_TRANSLATE_NOOP("app", "Cannot write {path}: it is a folder; give a file name."),
    QT_TRANSLATE_NOOP(
        "app", "Cannot write {path}: permission denied (the folder is not writable)."
    ),
    QT_TRANSLATE_NOOP("app", "Cannot write {path}: the folder does not exist."),
    QT_TRANSLATE_NOOP("app", "Cannot write {path}: it is a folder."),
    # any other reason: the operating system's (strerror), kept as written
    QT_TRANSLATE_NOOP("app", "Cannot write {path}: {reason}."),
    # --- core.reports.kos_export: the key images (KOS) --------------------------------------------
    QT_TRANSLATE_NOOP("app", "No key images (KOS) written: {error}"),
    QT_TRANSLATE_NOOP(
        "app",
        "Read {uid} has no key image: no lesion is measured or marked on an image and no image "
        "is flagged.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Read {uid}: none of its key images was found; the KOS needs their headers (give the "
        "folder of the images or import them into the study browser).",
    ),
    QT_TRANSLATE_NOOP("app", "Key image {uid} not found; not in the KOS."),
    # --- core.reports.sr_export: the DICOM SR ({where} is "{lesion} at {timepoint}" or
    # "annotation {label}", each written out) ----------------------------------------------------
    QT_TRANSLATE_NOOP(
        "app",
        "Read {uid}: none of its measurements' source images was found; the SR needs their "
        "headers (give the folder of the images or import them into the study browser).",
    ),
    QT_TRANSLATE_NOOP("app", "No RECIST response exported: {why}"),
    QT_TRANSLATE_NOOP(
        "app",
        "{lesion} at {timepoint}: source image {uid} not found; referenced by its patient "
        "coordinates only.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "annotation {label}: source image {uid} not found; referenced by its patient coordinates "
        "only.",
    ),
    QT_TRANSLATE_NOOP(
        "app", "{lesion} at {timepoint}: no frame of reference; {measure} has no coordinates."
    ),
    QT_TRANSLATE_NOOP(
        "app", "annotation {label}: no frame of reference; {measure} has no coordinates."
    ),
    # {kind}: point or arrow (MeasurementKind, translated in the app context)
    QT_TRANSLATE_NOOP(
        "app", "{lesion} at {timepoint}: {kind} annotation {uid} has no value; not exported."
    ),
    QT_TRANSLATE_NOOP(
        "app", "annotation {label}: {kind} annotation {uid} has no value; not exported."
    ),
    # {measure}: the concept meaning of the SR's NUM item
    QT_TRANSLATE_NOOP("app", "Long axis"),
    QT_TRANSLATE_NOOP("app", "Short axis"),
    QT_TRANSLATE_NOOP("app", "Length"),
    QT_TRANSLATE_NOOP("app", "Volume"),
    QT_TRANSLATE_NOOP("app", "Area"),
    # --- core.reports.layout: the PDF's key images ({where} is "{lesion} {timepoint}" or
    # "flagged {label}"; an unreadable file, "{where}: {path}: {error}", is left as written) ----
    QT_TRANSLATE_NOOP("app", "{lesion} {timepoint}: image {uid} not found"),
    QT_TRANSLATE_NOOP("app", "flagged {label}: image {uid} not found"),
    QT_TRANSLATE_NOOP("app", "flagged: image {uid} not found"),
    QT_TRANSLATE_NOOP("app", "{lesion} {timepoint}: no image plane in the header ({error})"),
    # --- persistence.audit.verify: the hash chain (Review > Audit trail > Verify chain) --------
    QT_TRANSLATE_NOOP("app", "Audit entry {seq} deleted (the chain jumps to entry {next})."),
    QT_TRANSLATE_NOOP(
        "app", "Audit entries {first}-{last} deleted (the chain jumps to entry {next})."
    ),
    QT_TRANSLATE_NOOP("app", "Audit entry {seq} is duplicated or out of order."),
    QT_TRANSLATE_NOOP(
        "app",
        "Audit entry {seq} ({when}, {user}, {action} {entity}) was edited: its content does not "
        "match its stored hash.",
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Audit entry {seq} does not follow entry {previous}: the previous entry was edited or "
        "replaced (its hash changed).",
    ),
    QT_TRANSLATE_NOOP("app", "Audit entry {seq} deleted (the chain head records {n} entries)."),
    QT_TRANSLATE_NOOP(
        "app", "Audit entries {first}-{last} deleted (the chain head records {n} entries)."
    ),
    QT_TRANSLATE_NOOP(
        "app", "Audit entry {seq} does not match the chain head (edited and re-hashed)."
    ),
    QT_TRANSLATE_NOOP(
        "app",
        "Audit entries {first}-{last} were inserted outside the application (the chain head "
        "does not know them).",
    ),
    # --- app.auth: refusals (login dialog, first run) ------------------------------------------
    QT_TRANSLATE_NOOP(
        "app",
        "A user name is 1-128 letters, digits, spaces or . _ @ - and starts with a letter or "
        "digit.",
    ),
    QT_TRANSLATE_NOOP("app", "The user name {user} is already taken."),
    # f"Only an {role.value} may {what}; ...", for the two uses
    QT_TRANSLATE_NOOP("app", "Only an administrator may create accounts; {user} is not one."),
    QT_TRANSLATE_NOOP("app", "Only an administrator may enable accounts; {user} is not one."),
    # --- app.auth: the details of login and account entries (audit trail's "Reason / detail") --
    QT_TRANSLATE_NOOP("app", "first run"),
    QT_TRANSLATE_NOOP("app", "single-user site"),
    QT_TRANSLATE_NOOP("app", "created"),
    QT_TRANSLATE_NOOP("app", "password set"),
    QT_TRANSLATE_NOOP("app", "accounts enabled"),
    QT_TRANSLATE_NOOP("app", "unknown or inactive user"),
    QT_TRANSLATE_NOOP("app", "wrong password"),
    QT_TRANSLATE_NOOP("app", "wrong password at signature"),
)


def register() -> None:
    """Let ``gui.i18n.pattern_text`` recognise the messages above."""
    from namecar_viewer.gui.i18n import register_patterns

    register_patterns("app", RECORDS_PATTERNS)
