"""``namecar-viewer audit verify|list [--db URL]``: check the audit trail's hash chain, list it."""

from __future__ import annotations

import argparse
import sys


def add_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("verify", "recompute the hash chain; exit 1 naming every edited or deleted entry"),
        ("list", "print the entries (filters: --user, --action, --read)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--db",
            help="reads database: file path, sqlite:///FILE or postgresql://user@host/db "
            "(default: $NAMECAR_DB, else reads.sqlite in the user data folder); must exist",
        )
        if name == "list":
            p.add_argument("--user")
            p.add_argument("--action", dest="action_name", help="e.g. create, change, sign, login")
            p.add_argument("--read")
            p.add_argument("--limit", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.cli.common import open_reads_db
    from namecar_viewer.persistence.audit import AuditAction, AuditFilter, AuditLog

    db = open_reads_db(args.db)  # CliError (exit 2) when there is none: nothing is created
    log = AuditLog(db.engine)
    try:
        if args.command == "verify":
            rep = log.verify()
            if rep.ok:
                print(f"Audit trail of {db.where}: {rep.entries} entries, hash chain intact.")
                return 0
            print(
                f"Audit trail of {db.where}: {len(rep.problems)} problem(s) in {rep.entries} "
                "entries:"
            )
            for p in rep.problems:
                print(f"  {p}")
            return 1
        try:
            action = AuditAction(args.action_name) if args.action_name else None
        except ValueError:
            names = ", ".join(a.value for a in AuditAction)
            print(f"audit: unknown action {args.action_name!r} (one of: {names})", file=sys.stderr)
            return 2
        flt = AuditFilter(username=args.user, read_uid=args.read, limit=args.limit, action=action)
        for e in log.entries(flt):
            print(
                f"{e.seq:6d}  {e.ts_utc}  {e.username:<16} {e.action:<12} {e.entity} "
                f"{e.entity_key}  {e.reason or e.detail}"
            )
        return 0
    finally:
        db.close()
