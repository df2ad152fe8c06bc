"""Command line: ``namecar-viewer [--demo] [--screenshot F]`` opens the GUI; the rest is headless.

Each subcommand lives in its own module exposing ``add_parser(parser)`` and ``run(args) -> int``;
modules are imported only when needed so that ``namecar-viewer scan`` never loads Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = {
    "scan": "namecar_viewer.cli.scan",
    "demo": "namecar_viewer.cli.demo",
    "recist": "namecar_viewer.cli.recist",
    "suv": "namecar_viewer.cli.suv",
    "pacs": "namecar_viewer.cli.pacs",
    "deid": "namecar_viewer.cli.deid",
    "export": "namecar_viewer.cli.export",
    "import-sr": "namecar_viewer.cli.import_sr",
    "audit": "namecar_viewer.cli.audit",
}


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="namecar-viewer",
        description="NAMECAR Viewer imaging workstation. Subcommands: " + ", ".join(SUBCOMMANDS),
    )
    p.add_argument("paths", nargs="*", help="folders, DICOMDIR or zip files to open")
    p.add_argument("--demo", action="store_true", help="write the demo patient once and open it")
    p.add_argument(
        "--screenshot", metavar="FILE.png", help="render the window offscreen to a PNG and exit"
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="reads database: file path, sqlite:///FILE or postgresql://user@host/db "
        "(default: $NAMECAR_DB, else reads.sqlite in the user data folder)",
    )
    p.add_argument("--user", metavar="NAME", help="log in as NAME without the dialog (scripts)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        name = args_list[0]
        module = importlib.import_module(SUBCOMMANDS[name])
        parser = argparse.ArgumentParser(prog=f"namecar-viewer {name}")
        module.add_parser(parser)
        args = parser.parse_args(args_list[1:])
        return int(module.run(args))
    args = _gui_parser().parse_args(args_list)
    from namecar_viewer.gui.main import run_gui

    return run_gui(
        paths=args.paths, demo=args.demo, screenshot=args.screenshot, db=args.db, user=args.user
    )
