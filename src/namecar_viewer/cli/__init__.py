"""Command line: ``namecar-viewer [--demo] [--screenshot F]`` opens the GUI; the rest is headless.

Each subcommand lives in its own module exposing ``add_parser(parser)`` and ``run(args) -> int``;
modules are imported only when needed so that ``namecar-viewer scan`` never loads Qt.

Like a Unix tool: failures are one line on stderr naming the file and what is wrong, with the
command's documented exit code (2 for input that cannot be used), never a traceback.  When the
reader of the output goes away (``namecar-viewer recist CASE.json | head -1``) the command stops
quietly with exit status 141, what a shell reports for a program ended by SIGPIPE (128 + 13), as
``cat`` or ``grep`` do; nothing is printed to stderr.  Interrupted by Ctrl+C: exit status 130.
``--version`` works on the top-level command and after any subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from namecar_viewer.cli.common import CliError, version_text

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports `cat big | head -1`
EXIT_INTERRUPTED = 130  # 128 + SIGINT

SUBCOMMANDS = {
    "scan": "namecar_viewer.cli.scan",
    "demo": "namecar_viewer.cli.demo",
    "recist": "namecar_viewer.cli.recist",
    "suv": "namecar_viewer.cli.suv",
    "pacs": "namecar_viewer.cli.pacs",
    "deid": "namecar_viewer.cli.deid",
    "export": "namecar_viewer.cli.export",
    "import-sr": "namecar_viewer.cli.import_sr",
    "import-kos": "namecar_viewer.cli.import_kos",
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
    p.add_argument("--version", action="version", version=version_text())
    p.epilog = (
        "A closed output pipe ends a command quietly with exit status 141 (128 + SIGPIPE); "
        "see 'namecar-viewer SUBCOMMAND --help' for each command's exit codes."
    )
    return p


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives to the exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("namecar-viewer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        name = args_list[0]
        module = importlib.import_module(SUBCOMMANDS[name])
        parser = argparse.ArgumentParser(prog=f"namecar-viewer {name}")
        module.add_parser(parser)
        parser.add_argument("--version", action="version", version=version_text())
        args = parser.parse_args(args_list[1:])
        try:
            return int(module.run(args))
        except CliError as exc:
            print(f"namecar-viewer {name}: {exc}", file=sys.stderr)
            return exc.code
    args = _gui_parser().parse_args(args_list)
    from namecar_viewer.gui.main import run_gui

    return run_gui(
        paths=args.paths, demo=args.demo, screenshot=args.screenshot, db=args.db, user=args.user
    )
