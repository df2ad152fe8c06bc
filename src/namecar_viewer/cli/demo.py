"""``namecar-viewer demo [DIR] [--small] [--force]``: write the synthetic demo patient and ground
truth once; a complete demo already in DIR is kept (``--force`` writes it again)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write the synthetic NAMECAR demo patient (5 CT timepoints, renal MRI, PSMA PET) as DICOM, "
        "with ground_truth.json (lesion centres, diameters, SUVmax, MRI->PET transform) beside it. "
        "Written once: a complete demo of the same size already in DIR is kept. "
        "Progress goes to stderr (one updating line on a terminal)."
    )
    parser.add_argument(
        "dir",
        nargs="?",
        default=None,
        help="output folder (default: the demo folder in the user data directory)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="reads database for the finished demo read (default: the user's)",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="coarse, quick version for tests (192x192 CT, fewer slices)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write the demo again even if a complete one is already in DIR",
    )


class ProgressLine:
    """Progress of the demo writer: one line updated in place on a terminal (at most ten times a
    second), otherwise a plain line as each series starts and one at the end."""

    def __init__(self, stream: TextIO, interval_s: float = 0.1) -> None:
        self.stream = stream
        try:
            self.tty = stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.interval_s = interval_s
        self.folder: str | None = None
        self.shown_at = 0.0
        self.open_line = False  # a terminal line is being updated (no newline yet)

    def __call__(self, done: int, total: int, folder: str) -> None:
        new_folder = folder != self.folder
        self.folder = folder
        pct = 100 * done // max(total, 1)
        if self.tty:
            now = time.monotonic()
            if done < total and not new_folder and now - self.shown_at < self.interval_s:
                return
            self.shown_at = now
            text = f"\rWriting the demo patient: {pct:3d}%  {done}/{total} files  {folder}"
            self.stream.write(text + "\x1b[K")  # erase the rest of a longer previous line
            self.open_line = done < total
            if not self.open_line:
                self.stream.write("\n")
        else:
            if new_folder:
                self.stream.write(
                    f"Writing the demo patient: {pct}%, {done - 1}/{total} files, now {folder}\n"
                )
            if done >= total:
                self.stream.write(f"Writing the demo patient: 100%, {total}/{total} files\n")
        self.stream.flush()

    def end(self) -> None:
        """Finish a line left open (the writer stopped with an error)."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from namecar_viewer.phantom.demo import default_demo_dir, ensure_demo_patient

    out = Path(args.dir) if args.dir else default_demo_dir()
    size = "small" if args.small else "full"
    progress = ProgressLine(sys.stderr)
    try:
        manifest, written = ensure_demo_patient(out, size=size, force=args.force, progress=progress)
    except OSError as exc:
        progress.end()
        print(f"namecar-viewer demo: cannot write to {out}: {exc}", file=sys.stderr)
        return 1
    n_files = sum(s.n_files for s in manifest.series)
    if written:
        print(f"Demo patient written to {manifest.out_dir.resolve()}")
        print(f"  {len(manifest.series)} series, {n_files} files, {manifest.seconds:.1f} s")
    else:
        print(f"Demo patient already complete in {manifest.out_dir.resolve()}: kept")
        print(f"  {len(manifest.series)} series, {n_files} files ({size}); --force writes it again")
    for s in manifest.series:
        print(f"  {s.folder:<32} {s.modality}  {s.n_files:4d} files  {s.description}")
    print(f"Ground truth: {manifest.ground_truth_path.resolve()}")
    from namecar_viewer.phantom.demo_read import ensure_demo_read

    if args.db is None and args.dir and out.resolve() != default_demo_dir().resolve():
        # A demo written elsewhere (tests, a scratch folder) does not touch the user's reads.
        print("Demo read: not saved for a custom folder; add --db PATH to save it there")
        return 0
    uid, problem = ensure_demo_read(manifest.out_dir, args.db)
    if uid is None:
        print(f"Demo read: {problem}")
    else:
        print(f"Demo read: {uid}  (namecar-viewer export --read {uid} --format pdf --out F)")
    return 0
