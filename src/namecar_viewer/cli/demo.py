"""``namecar-viewer demo [DIR] [--small]``: write the synthetic demo patient and ground truth."""

from __future__ import annotations

import argparse


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write the synthetic NAMECAR demo patient (5 CT timepoints, renal MRI, PSMA PET) as DICOM, "
        "with ground_truth.json (lesion centres, diameters, SUVmax, MRI->PET transform) beside it."
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


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from namecar_viewer.phantom.demo import default_demo_dir, write_demo_patient

    out = Path(args.dir) if args.dir else default_demo_dir()
    try:
        manifest = write_demo_patient(out, size="small" if args.small else "full")
    except OSError as exc:
        print(f"namecar-viewer demo: cannot write to {out}: {exc}")
        return 1
    n_files = sum(s.n_files for s in manifest.series)
    print(f"Demo patient written to {manifest.out_dir.resolve()}")
    print(f"  {len(manifest.series)} series, {n_files} files, {manifest.seconds:.1f} s")
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
