"""``namecar-viewer import-sr FILE``: a TID 1500 SR into the reads database, what was left listed.

Exit codes: 0 imported (items the read cannot hold are listed, never dropped silently); 1 the read
is already in the database or cannot be saved; 2 the file is not an SR we can read (one line
naming the file and the content item at fault), or no reads database at ``--db``: a new one is
made only with ``--create-db`` (the workstation's own default file is made when missing).

The read is saved before anything is printed, so a closed output pipe cannot lose it; its rows
go to the audit trail in the same transaction (action ``create``, under ``--user NAME`` or the
operating-system user), as an edit in the window does.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = "Import a DICOM SR measurement report (TID 1500) as a read."
    parser.add_argument("file", metavar="FILE", help="the SR file")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="reads database: file path, sqlite:///FILE or postgresql://... (default: "
        "$NAMECAR_DB, else the user's reads.sqlite)",
    )
    parser.add_argument(
        "--create-db",
        action="store_true",
        help="make the SQLite file given by --db when it does not exist (never made otherwise)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="who the audit trail names for this import (default: the operating-system user)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be imported, save nothing"
    )


def _summary(args: argparse.Namespace, imp: Any) -> list[str]:
    read = imp.read
    lines = [
        f"{args.file}: {imp.title or 'SR'}",
        f"  read {read.uid}, patient {read.patient_id or '?'}, reader {read.reader or '?'}",
        f"  {len(read.lesions)} lesions, {len(read.timepoints)} timepoints, "
        f"{len(read.measurements)} measurements, {len(read.statuses)} statuses",
    ]
    for g in imp.groups:
        where = f"{g.tracking_identifier or '(no id)'} @ {g.time_point or '-'}"
        extra = f" [{g.finding}; {g.finding_site}]" if g.finding or g.finding_site else ""
        lines.append(f"  group {where}{extra}")
        for v in g.values:
            d = f" ({v.derivation})" if v.derivation else ""
            lines.append(f"    {v.name}{d} = {v.value:g} {v.unit}")
        for name, value in g.qualitative:
            lines.append(f"    {name}: {value}")
    for u in imp.pet_uptake:
        lines.append(
            f"  PET uptake of {u.lesion_uid}: SUVmax {u.suv_max:g}, SUVmean {u.suv_mean}, "
            f"SUVpeak {u.suv_peak}"
        )
    if imp.not_imported:
        lines.append(f"  Not imported into the read ({len(imp.not_imported)}):")
        lines.extend(f"    - {line}" for line in imp.not_imported)
    return lines


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.cli.common import CliError, cli_user, open_reads_db
    from namecar_viewer.core.reports.sr_import import SrImportError, import_sr_file
    from namecar_viewer.persistence.reads_db import ReadsDatabaseError

    try:
        imp = import_sr_file(args.file)
    except SrImportError as exc:
        raise CliError(str(exc)) from None
    lines = _summary(args, imp)
    if args.dry_run:
        print("\n".join(lines))
        return 0
    read = imp.read
    db = open_reads_db(args.db, create=args.create_db, create_default=True, migrate=True)
    try:
        try:
            db.load_read(read.uid)
        except KeyError:
            _save(db, read, cli_user(args.user), args.file)
        else:
            print("\n".join(lines))
            print(
                f"namecar-viewer import-sr: read {read.uid} is already in {db.where}; "
                "nothing changed.",
                file=sys.stderr,
            )
            return 1
    except ReadsDatabaseError as exc:
        print(f"namecar-viewer import-sr: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print("\n".join(lines))
    print(f"Saved read {read.uid} to {db.where}")
    return 0


def _save(db: Any, read: Any, user: str, source: str) -> None:
    """The new read and its audit entries (one per row, action create) in one transaction."""
    from namecar_viewer.core.reads.diff import diff_reads
    from namecar_viewer.persistence.audit import append, entries_for_diff

    diff = diff_reads(None, read)
    entries = entries_for_diff(user, read.uid, diff, f"Import SR {source}")
    db.apply(read.uid, diff, on_commit=lambda conn: append(conn, entries))
