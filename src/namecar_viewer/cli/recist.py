"""``namecar-viewer recist CASE.json``: evaluate a case (or an exported read) and print the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of the recist subcommand."""
    parser.description = "RECIST 1.1 / iRECIST response with the NAMECAR eligibility rule."
    parser.add_argument("case", metavar="CASE.json", help="case JSON (issue 5 format)")
    parser.add_argument(
        "--criteria",
        choices=["recist1.1", "irecist"],
        default="recist1.1",
        help="response criteria (default recist1.1)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the result JSON; 2 with a message naming lesion, timepoint and rule on bad input."""
    from namecar_viewer.core.recist import (
        Criteria,
        RecistInputError,
        case_from_json,
        evaluate,
        result_to_json,
    )

    try:
        with open(args.case, encoding="utf-8") as fh:
            # Decimal keeps the reader's numbers exact (no binary floating point).
            data = json.load(fh, parse_float=Decimal)
    except OSError as exc:
        print(f"namecar-viewer recist: cannot read {args.case}: {exc}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"namecar-viewer recist: {args.case} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        result = evaluate(case_from_json(data), Criteria(args.criteria))
    except RecistInputError as exc:
        print(f"namecar-viewer recist: invalid case {args.case}:", file=sys.stderr)
        for v in exc.violations:
            print(f"  {v}", file=sys.stderr)
        return 2
    print(json.dumps(result_to_json(result), indent=2))
    return 0
