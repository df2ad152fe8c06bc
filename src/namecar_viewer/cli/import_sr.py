"""``namecar-viewer import-sr FILE``: a TID 1500 SR into the reads database, what was left listed.

Exit codes: 0 imported (items the read cannot hold are listed, never dropped silently); 1 the read
is already in the database or cannot be saved; 2 the file is not an SR we can read.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = "Import a DICOM SR measurement report (TID 1500) as a read."
    parser.add_argument("file", metavar="FILE", help="the SR file")
    parser.add_argument("--db", metavar="PATH", help="reads database (default: the user's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be imported, save nothing"
    )


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.core.reports.sr_import import SrImportError, import_sr_file
    from namecar_viewer.persistence.reads_db import ReadsDatabase, ReadsDatabaseError

    try:
        imp = import_sr_file(args.file)
    except SrImportError as exc:
        print(f"namecar-viewer import-sr: {exc}", file=sys.stderr)
        return 2
    read = imp.read
    print(f"{args.file}: {imp.title or 'SR'}")
    print(f"  read {read.uid}, patient {read.patient_id or '?'}, reader {read.reader or '?'}")
    print(
        f"  {len(read.lesions)} lesions, {len(read.timepoints)} timepoints, "
        f"{len(read.measurements)} measurements, {len(read.statuses)} statuses"
    )
    for g in imp.groups:
        where = f"{g.tracking_identifier or '(no id)'} @ {g.time_point or '-'}"
        extra = f" [{g.finding}; {g.finding_site}]" if g.finding or g.finding_site else ""
        print(f"  group {where}{extra}")
        for v in g.values:
            d = f" ({v.derivation})" if v.derivation else ""
            print(f"    {v.name}{d} = {v.value:g} {v.unit}")
        for name, value in g.qualitative:
            print(f"    {name}: {value}")
    for u in imp.pet_uptake:
        print(
            f"  PET uptake of {u.lesion_uid}: SUVmax {u.suv_max:g}, SUVmean {u.suv_mean}, "
            f"SUVpeak {u.suv_peak}"
        )
    if imp.not_imported:
        print(f"  Not imported into the read ({len(imp.not_imported)}):")
        for line in imp.not_imported:
            print(f"    - {line}")
    if args.dry_run:
        return 0
    try:
        db = ReadsDatabase(args.db) if args.db else ReadsDatabase()
        try:
            try:
                db.load_read(read.uid)
                print(
                    f"namecar-viewer import-sr: read {read.uid} is already in {db.where}; "
                    "nothing changed.",
                    file=sys.stderr,
                )
                return 1
            except KeyError:
                db.save_new_read(read)
        finally:
            db.close()
    except ReadsDatabaseError as exc:
        print(f"namecar-viewer import-sr: {exc}", file=sys.stderr)
        return 1
    print(f"Saved read {read.uid} to {db.where}")
    return 0
