"""``namecar-viewer import-kos FILE``: the key images of a DICOM KOS (TID 2010) back into a read.

The images of the KOS that are not the read's measured key images (each lesion's measured slice
at each timepoint) become the read's flagged key images, as if the reader had flagged them with
K: added to the flags the read has (none removed), saved and audited as an edit of the read
(``--user NAME``, else the operating-system user, who must be the read's reader: a read belongs
to its reader).  Images of a study that is not a timepoint of the read are listed, not flagged.

The read is ``--read UID``, else the one the KOS names (a KOS written by ``export --format kos``
or beside an SR by the window says which read it comes from).

The flags are saved before anything is printed, so a closed output pipe cannot lose them.

Exit codes: 0 imported, or nothing to add; 1 the read cannot be changed (another reader's read,
the database refuses the write); 2 the file is not a KOS that can be read, no such read, or no
reads database at ``--db`` (never created here).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Import the key images of a DICOM Key Object Selection document (KOS) into a read: "
        "those that are not the read's measured slices become its flagged key images."
    )
    parser.add_argument("file", metavar="FILE", help="the KOS file")
    parser.add_argument(
        "--read",
        metavar="READ_ID",
        help="the read to give the flags to (default: the read the KOS names)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="reads database: file path, sqlite:///FILE or postgresql://... (default: "
        "$NAMECAR_DB, else the user's reads.sqlite); must exist",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="who flags the images, for the audit trail: the read's reader (default: the "
        "operating-system user)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be flagged, change nothing"
    )


def _summary(args: argparse.Namespace, kos: Any, read: Any, match: Any) -> list[str]:
    from namecar_viewer.core.reports.kos_import import describe_image

    lines = [
        f"{args.file}: KOS {kos.title or '(untitled)'}, {len(kos.images)} images",
        f"  read {read.uid}, patient {read.patient_id or '?'}, reader {read.reader or '?'}",
        f"  {len(match.measured)} measured key images of the read, {len(match.added)} to flag, "
        f"{len(match.already)} flagged already, {len(match.outside)} outside the read",
    ]
    lines += [
        f"  + flag {describe_image(read, f.image, f.study_instance_uid)}" for f in match.added
    ]
    lines += [
        f"  - not a timepoint of the read: image {i.image.sop_instance_uid} "
        f"(study {i.study_instance_uid or '?'})"
        for i in match.outside
    ]
    if match.not_in_kos:
        lines.append(f"  {len(match.not_in_kos)} measured key images of the read are not in it")
    lines += [f"  problem: {p}" for p in kos.problems]
    return lines


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.cli.common import CliError, cli_user, open_reads_db
    from namecar_viewer.core.reports.kos_import import (
        KosImportError,
        flags_for_read,
        import_kos_file,
    )

    try:
        kos = import_kos_file(args.file)
    except KosImportError as exc:
        raise CliError(str(exc)) from None
    uid = args.read or kos.read_uid
    db = open_reads_db(args.db, migrate=not args.dry_run)
    try:
        if uid is None:
            raise CliError(
                f"{args.file} does not name a read (not exported by NAMECAR Viewer): give "
                "--read READ_ID"
            )
        try:
            read = db.load_read(uid)
        except KeyError:
            raise CliError(f"no read {uid} in {db.where}") from None
        match = flags_for_read(read, kos)
        lines = _summary(args, kos, read, match)
        if args.dry_run or not match.changed:
            if not match.changed:
                lines.append("Nothing to flag: the read has every image of the KOS already")
            print("\n".join(lines))
            return 0
        # saved before anything is printed: a closed output pipe cannot lose the import
        code = _save(db, read, match, cli_user(args.user), args.file)
        if code == 0:
            lines.append(f"Flagged {len(match.added)} key images in read {read.uid} ({db.where})")
        print("\n".join(lines))
        return code
    finally:
        db.close()


def _save(db: Any, read: Any, match: Any, user: str, source: str) -> int:
    """The flags as one edit of the read through the command path (audited, refused for
    another reader's read)."""
    import sys

    from namecar_viewer.app.read_session import (
        CommandError,
        ReadSaveError,
        ReadSession,
        SetReadSetting,
    )
    from namecar_viewer.core.reports.key_images import FLAGGED_SETTING

    session = ReadSession(read, db, stored=True, user=user)
    try:
        session.execute(
            SetReadSetting(FLAGGED_SETTING, match.value, f"Import key images from {source}")
        )
    except (CommandError, ReadSaveError) as exc:
        print(f"namecar-viewer import-kos: {exc}", file=sys.stderr)
        return 1
    return 0
