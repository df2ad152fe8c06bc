"""``namecar-viewer export``: a read as DICOM SR, KOS, CSV, PDF or the ``recist`` JSON, for batch
use.  ``--format kos`` writes the read's key images (a Key Object Selection document, the file
the window writes beside an SR as ``NAME_kos.dcm``); here each file is asked for by name, so
``--format sr`` writes the SR alone.

Exit codes: 0 written; 1 the export failed (unwritable place, source images not found, a
double-read case whose reads disagree and is not adjudicated yet, the audit trail cannot record
it); 2 bad arguments, no such read, or no reads database at ``--db`` (never created here).
Nothing half-written is ever left at ``--out``.  Files are written with the user's umask
(0644 with the usual 022), like any file the user creates.

Every export is one entry of the database's audit trail (``persistence/audit.py``), as from the
window: action ``export``, the read, format, path, blinding and case, under ``--user NAME`` or
the operating-system user; an export that cannot be recorded is removed again (exit 1).

What is exported (issue 8): when the read (or the patient) belongs to a worklist case with two
reads, the case's effective read (:func:`namecar_viewer.app.adjudication.read_for_export`): the
adjudicator's choice, or the first read when both agree; a single read exports as it is.  The
read's status in every format comes from its signatures (signed by whom, when, which version;
draft otherwise).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

FORMATS = ("sr", "kos", "csv", "pdf", "json")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Export a read: DICOM SR (TID 1500), its key images as a DICOM KOS (TID 2010: each "
        "lesion's measured slice at each timepoint and the reader's flagged images), CSV for "
        "the trial database, PDF response report, or the JSON of the recist command (case + "
        "result)."
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--read", metavar="READ_ID", help="the read's uid")
    which.add_argument(
        "--patient",
        metavar="ID",
        help="the patient's case: the adjudicated (or agreed) read of a double read, else the "
        "patient's latest read",
    )
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--out", required=True, metavar="PATH", help="file to write")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="reads database: file path, sqlite:///FILE or postgresql://... (default: "
        "$NAMECAR_DB, else the user's reads.sqlite); must exist",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="who the audit trail names for this export (default: the operating-system user)",
    )
    parser.add_argument(
        "--images",
        metavar="DIR",
        action="append",
        default=[],
        help="folder with the source images (SR, KOS and PDF; repeatable). The study index and the "
        "demo patient folder are searched too.",
    )
    parser.add_argument(
        "--blinded",
        action="store_true",
        help="hide patient name/ID, birth date, institution, accession and calendar dates",
    )


def _fail(code: int, message: str) -> int:
    print(f"namecar-viewer export: {message}", file=sys.stderr)
    return code


def header_index(images: list[str]) -> Any:
    """Source image headers from ``--images``, the study index and the demo patient folder."""
    from namecar_viewer.core.reports.sources import HeaderIndex

    idx = HeaderIndex.from_folders(images)
    try:
        from sqlalchemy import create_engine, select

        from namecar_viewer.persistence.study_index import default_db_path, instances

        db = default_db_path()
        if db.is_file():
            engine = create_engine(f"sqlite:///{db}")

            def find(uid: str) -> str | None:
                with engine.connect() as conn:
                    row = conn.execute(
                        select(instances.c.path, instances.c.member).where(
                            instances.c.sop_instance_uid == uid
                        )
                    ).first()
                return None if row is None or row.member else str(row.path)

            idx.add_fallback(find)
    except Exception as exc:  # noqa: BLE001 - a broken index must not stop an export
        print(f"namecar-viewer export: study index not used ({exc})", file=sys.stderr)
    from namecar_viewer.phantom.demo import default_demo_dir

    demo = default_demo_dir()
    if demo.is_dir() and not images:
        idx.add_folders([demo])
    return idx


def read_status(engine: Any, read_uid: str, viewer: str | None) -> Any:
    """The read's active (not revoked) signatures as a ``ReadStatus``."""
    from sqlalchemy import and_, select

    from namecar_viewer.core.reports.status import ReadStatus
    from namecar_viewer.persistence.review import signatures_table as t

    with engine.connect() as conn:
        rows = conn.execute(
            select(t).where(and_(t.c.read_uid == read_uid, t.c.revoked_utc.is_(None)))
        ).all()
    return ReadStatus.from_signatures(rows, viewer)


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.cli.common import open_reads_db

    db = open_reads_db(args.db)  # CliError (exit 2) when there is none: nothing is created
    try:
        return _run(args, db)
    finally:
        db.close()


def _run(args: argparse.Namespace, db: Any) -> int:
    from namecar_viewer.app.adjudication import AdjudicationError, read_for_export
    from namecar_viewer.app.blinding import BlindingPolicy
    from namecar_viewer.core.reports.atomic import ExportError, atomic_write_text

    policy = BlindingPolicy.for_mode(args.blinded)
    uid = args.read
    if uid is None:
        infos = db.list_reads(args.patient)
        if not infos:
            return _fail(2, f"no read of patient {args.patient} in {db.where}.")
    else:
        try:
            db.load_read(uid)
        except KeyError:
            return _fail(2, f"no read {uid} in {db.where}.")
    try:
        choice = read_for_export(
            db.engine,
            db.load_read,
            read_uid=uid,
            patient_id=None if uid else args.patient,
            name_subject=policy.subject,
        )
    except AdjudicationError as exc:
        return _fail(1, str(exc))
    if choice is not None:
        read = choice.read
        uid = read.uid
        print(choice.note)
    else:
        if uid is None:
            uid = infos[-1].uid
            if len(infos) > 1:
                print(
                    f"Patient {args.patient} has {len(infos)} reads and no double-read case; "
                    f"exporting the latest, {uid}"
                )
        read = db.load_read(uid)
    # the CLI has no login: it exports on behalf of the read's own reader
    status = read_status(db.engine, read.uid, viewer=read.reader)
    out = Path(args.out)
    from namecar_viewer.core.reads.model import ReadKind

    if read.kind is ReadKind.ANCILLARY_MRI_PET:
        code = _export_ancillary(read, args.format, out, policy)
        if code == 0:
            code = _audit(db, args, read.uid, out, policy, None)
            if code == 0:
                print(f"Wrote {args.format.upper()} of the MRI-PET record {read.uid} to {out}")
        return code
    try:
        if args.format == "csv":
            from namecar_viewer.core.reports.csv_export import read_to_csv

            atomic_write_text(out, read_to_csv(read, blinding=policy, status=status))
        elif args.format == "json":
            import json

            from namecar_viewer.core.recist import RecistInputError
            from namecar_viewer.core.reports.csv_export import read_to_case_json

            try:
                data = read_to_case_json(read, blinding=policy, status=status)
            except RecistInputError as exc:
                return _fail(1, f"read {uid} cannot be evaluated: {exc}")
            atomic_write_text(out, json.dumps(data, indent=2) + "\n")
        elif args.format == "kos":
            from namecar_viewer.core.reports.kos_export import (
                KosExportError,
                read_to_kos,
                write_kos,
            )

            try:
                kos = read_to_kos(read, header_index(args.images), blinding=policy)
            except KosExportError as exc:
                return _fail(1, str(exc))
            write_kos(kos, out)
            for w in kos.warnings:
                print(f"warning: {w}", file=sys.stderr)
        elif args.format == "sr":
            from namecar_viewer.core.reports.sr_export import SrExportError, read_to_sr, write_sr

            try:
                export = read_to_sr(read, header_index(args.images), blinding=policy, status=status)
            except SrExportError as exc:
                return _fail(1, str(exc))
            write_sr(export, out)
            for w in export.warnings:
                print(f"warning: {w}", file=sys.stderr)
        else:
            from namecar_viewer.gui.reports.pdf_report import write_pdf_report

            warnings = write_pdf_report(
                read, out, headers=header_index(args.images), blinding=policy, status=status
            )
            for w in warnings:
                print(f"warning: {w}", file=sys.stderr)
    except ExportError as exc:
        return _fail(1, str(exc))
    code = _audit(db, args, read.uid, out, policy, None if choice is None else choice.case)
    if code == 0:
        print(f"Wrote {args.format.upper()} of read {uid} to {out}")
    return code


def _audit(db: Any, args: argparse.Namespace, uid: str, out: Path, policy: Any, case: Any) -> int:
    """Record the export in the audit trail (as the window does); undo the export if it fails."""
    from namecar_viewer.cli.common import cli_user
    from namecar_viewer.persistence.audit import AuditAction, AuditLog, NewEntry

    try:
        AuditLog(db.engine).record(
            NewEntry(
                cli_user(args.user),
                AuditAction.EXPORT,
                "read",
                uid,
                None,
                {
                    "format": args.format,
                    "path": str(out.resolve()),
                    "blinded": policy.enabled,
                    "case": case,
                },
                detail="command line: namecar-viewer export",
                read_uid=uid,
            )
        )
    except Exception as exc:  # noqa: BLE001 - any database failure: the export is undone
        try:
            out.unlink()
        except OSError:
            return _fail(
                1,
                f"the export could not be recorded in the audit trail of {db.where} ({exc}) "
                f"and {out} could not be removed: delete it by hand",
            )
        return _fail(
            1,
            f"the export could not be recorded in the audit trail of {db.where} ({exc}); "
            f"{out} was removed",
        )
    return 0


def _export_ancillary(read: Any, fmt: str, out: Path, policy: Any) -> int:
    """The ancillary MRI-PET record: JSON or CSV of its lesions and measurements (no RECIST)."""
    import json

    from namecar_viewer.core.reports.ancillary_export import ancillary_to_csv, ancillary_to_json
    from namecar_viewer.core.reports.atomic import ExportError, atomic_write_text

    if fmt not in ("json", "csv"):
        return _fail(
            2,
            f"read {read.uid} is the ancillary MRI-PET record, not a RECIST read: it exports as "
            "json or csv only",
        )
    try:
        if fmt == "json":
            text = json.dumps(ancillary_to_json(read, policy), indent=2) + "\n"
        else:
            text = ancillary_to_csv(read, policy)
        atomic_write_text(out, text)
    except ExportError as exc:
        return _fail(1, str(exc))
    return 0
