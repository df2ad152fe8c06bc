"""``namecar-viewer deid IN OUT --subject-id ID``: a de-identified copy for central review.

DICOM PS3.15 Basic Application Level Confidentiality Profile with Retain Longitudinal Temporal
Information with Modified Dates, Retain Patient Characteristics and Clean Descriptors by default;
the mapping (subject IDs, date offsets, UIDs) stays in a local database. IN is only read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else ""
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


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.deid import (
        Deidentifier,
        DeidError,
        DeidMapping,
        DeidOptions,
        MappingError,
        deidentify_files,
    )
    from namecar_viewer.pacs.send import expand_paths

    if not args.input.exists():
        print(f"error: {args.input}: no such file or folder", file=sys.stderr)
        return 2
    if (
        args.out.resolve() == args.input.resolve()
        or args.input.resolve() in args.out.resolve().parents
    ):
        print(f"error: {args.out}: the output must not be inside the input", file=sys.stderr)
        return 2
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
        return 1
    try:
        written, warnings = deidentify_files(
            expand_paths([args.input]), args.out, Deidentifier(mapping, opts), args.subject_id
        )
    except DeidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        mapping.close()
    if args.json:
        json.dump(
            {
                "written": [str(p) for p in written],
                "warnings": warnings,
                "mapping": str(mapping.path),
            },
            sys.stdout,
            indent=2,
        )
        print()
    else:
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(
            f"{len(written)} files de-identified into {args.out} (mapping kept in {mapping.path})"
        )
    return 0 if written else 1
