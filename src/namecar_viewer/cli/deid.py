"""``namecar-viewer deid IN OUT --subject-id ID``: a de-identified copy for central review.

DICOM PS3.15 Basic Application Level Confidentiality Profile with Retain Longitudinal Temporal
Information with Modified Dates, Retain Patient Characteristics and Clean Descriptors by default;
the mapping (subject IDs, date offsets, UIDs) stays in a local database. IN is only read.

Every file is tried: one that cannot be de-identified (cut short, damaged, no patient identity,
a mapping conflict) is named with its problem and the others are still written; files that are
not DICOM are listed as skipped.  The summary at the end counts each.

Exit status: 0 every DICOM file was de-identified (files that are not DICOM are skipped);
1 some files could not be de-identified (each named on stderr; the others were written), or the
mapping database cannot be opened; 2 bad arguments, or no DICOM file in IN.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_BAD_INPUT = 2


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else ""
    parser.epilog = (
        "Exit status: 0 every DICOM file de-identified; 1 some files could not be (each is "
        "named, the others were written) or the mapping cannot be opened; 2 bad arguments or "
        "no DICOM file in IN."
    )
    parser.add_argument("input", type=Path, help="a DICOM file or a folder (recursive)")
    parser.add_argument("out", type=Path, help="output folder (Study/Series/SOP UID layout)")
    parser.add_argument("--subject-id", help="trial subject ID (required for a new patient)")
    parser.add_argument("--mapping", type=Path, help="mapping database (default: user data dir)")
    parser.add_argument(
        "--no-modified-dates",
        action="store_true",
        help="remove dates instead of shifting them (SUV will be lost)",
    )
    parser.add_argument(
        "--no-patient-characteristics",
        action="store_true",
        help="remove sex, age, size, weight (SUV will be lost)",
    )
    parser.add_argument(
        "--no-clean-descriptors",
        action="store_true",
        help="remove descriptions instead of cleaning them",
    )
    parser.add_argument(
        "--keep-philips-suv",
        action="store_true",
        help="keep the Philips PET private group 7053 (SUV scale factors)",
    )
    parser.add_argument("--protocol-id", help="set ClinicalTrialProtocolID in the copy")
    parser.add_argument("--json", action="store_true")


def _print_failures(failed: list[Any], shown: int = 5) -> None:
    """One line per file; a problem shared by many files (a mapping conflict) is named once
    after its first few files."""
    by_reason: dict[str, list[Any]] = {}
    for f in failed:
        by_reason.setdefault(f.reason, []).append(f)
    for reason, files in by_reason.items():
        for f in files[:shown]:
            print(f"error: {f.path}: {reason}", file=sys.stderr)
        if len(files) > shown:
            print(f"error: and {len(files) - shown} more files: {reason}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.deid import (
        Deidentifier,
        DeidMapping,
        DeidOptions,
        MappingError,
        deidentify_files,
    )
    from namecar_viewer.pacs.send import expand_paths

    if not args.input.exists():
        print(f"error: {args.input}: no such file or folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    if (
        args.out.resolve() == args.input.resolve()
        or args.input.resolve() in args.out.resolve().parents
    ):
        print(f"error: {args.out}: the output must not be inside the input", file=sys.stderr)
        return EXIT_BAD_INPUT
    opts = DeidOptions(
        retain_modified_dates=not args.no_modified_dates,
        retain_patient_characteristics=not args.no_patient_characteristics,
        clean_descriptors=not args.no_clean_descriptors,
        keep_philips_suv_private=args.keep_philips_suv,
        trial_attributes={"ClinicalTrialProtocolID": args.protocol_id} if args.protocol_id else {},
    )
    try:
        mapping = DeidMapping(args.mapping)
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    try:
        batch = deidentify_files(
            expand_paths([args.input]), args.out, Deidentifier(mapping, opts), args.subject_id
        )
    finally:
        mapping.close()
    n_dicom = len(batch.written) + len(batch.failed)
    if args.json:
        json.dump(
            {
                "written": [str(p) for p in batch.written],
                "warnings": batch.warnings,
                "failed": [{"path": str(f.path), "reason": f.reason} for f in batch.failed],
                "skipped": [{"path": str(f.path), "reason": f.reason} for f in batch.skipped],
                "mapping": str(mapping.path),
            },
            sys.stdout,
            indent=2,
        )
        print()
    else:
        for w in batch.warnings:
            print(f"warning: {w}", file=sys.stderr)
        for f in batch.skipped:
            print(f"skipped: {f}", file=sys.stderr)
        _print_failures(batch.failed)
        summary = (
            f"{len(batch.written)} of {n_dicom} DICOM files de-identified into {args.out} "
            f"(mapping kept in {mapping.path})"
        )
        if batch.failed:
            summary += f"; {len(batch.failed)} could not be (listed above): not sent"
        if batch.skipped:
            summary += f"; {len(batch.skipped)} files skipped (not DICOM)"
        print(summary)
    if n_dicom == 0:
        print(f"error: {args.input}: no DICOM file to de-identify", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_SOME_FAILED if batch.failed else EXIT_OK
