"""``namecar-viewer recist CASE.json``: evaluate a case (or an exported read) and print the JSON."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK = 0
EXIT_BAD_INPUT = 2

EXAMPLE = """\
{
  "lesions": [
    {"id": "T1", "kind": "target", "organ": "liver"},
    {"id": "N1", "kind": "target", "organ": "mediastinum", "is_lymph_node": true},
    {"id": "K1", "kind": "target", "organ": "kidney", "is_primary_renal": true},
    {"id": "NT1", "kind": "non_target", "organ": "bone"}
  ],
  "imaging": {"slice_thickness_mm": 2.5},
  "protocol": {"confirmation_required": false},
  "timepoints": [
    {"label": "baseline", "date": "2024-01-08",
     "target_measurements_mm": {"T1": 30.0, "N1": 18.0, "K1": 42.0},
     "non_target_status": {"NT1": "present"}, "new_lesions": "none"},
    {"label": "TP1", "date": "2024-03-04",
     "target_measurements_mm": {"T1": [14.0, 6.0], "N1": 9.0, "K1": "too_small"},
     "non_target_status": {"NT1": "present"}, "new_lesions": "none"}
  ]
}"""

EPILOG = f"""\
Input: one patient's case as UTF-8 JSON; its JSON Schema (draft 2020-12) is
  {{schema}}
Example:

{EXAMPLE}

  lesions[]          id (unique), kind: target | non_target | new_target | new_non_target
                     (the new_* kinds are iRECIST new lesions), organ (2 targets per organ; all
                     lymph nodes are one organ), is_lymph_node (short axis, >= 15 mm at
                     baseline), is_primary_renal (left out of the metastatic sum); flags
                     default to false.
  timepoints[]       baseline first, in date order: label (unique), date YYYY-MM-DD,
    target_measurements_mm
                     lesion id -> a diameter in mm, a list of the fragments of a split lesion,
                     "too_small" (counted as 5 mm), "coalesced", "not_evaluated" or null;
                     a target left out is not evaluated.
    non_target_status
                     lesion id -> present | absent | unequivocal_progression | not_evaluated
    new_lesions      none | equivocal | unequivocal (default none);
                     new_lesion_confirms_equivocal_from: label of the follow-up it confirms
  imaging            slice_thickness_mm (optional): targets must be >= twice a slice over 5 mm
  protocol           (optional) confirmation_required (default false),
                     min_confirmation_interval_days (28), min_sd_duration_days (42)

A read exported with 'namecar-viewer export --format json' is a valid case as it is (its
"result" and "read_status" are ignored).  Numbers are kept exact (no binary rounding).

Output: the result JSON on stdout (per timepoint: sums, changes from baseline and nadir,
responses and their reasons; the best overall response).
Exit status: 0 result printed; 2 the file cannot be read or the case is invalid: one line per
problem on stderr, naming the file and the key (or the lesion, timepoint and rule).
"""


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of the recist subcommand."""
    from namecar_viewer.core.recist.case_schema import schema_location

    parser.description = "RECIST 1.1 / iRECIST response with the NAMECAR eligibility rule."
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG.replace("{schema}", schema_location())
    parser.add_argument("case", metavar="CASE.json", help="the case (see below)")
    parser.add_argument(
        "--criteria",
        choices=["recist1.1", "irecist"],
        default="recist1.1",
        help="response criteria (default recist1.1)",
    )


def _say(case: str, problem: str) -> None:
    print(f"namecar-viewer recist: {case}: {problem}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Print the result JSON; 2 with a message naming the key, or lesion, timepoint and rule."""
    from namecar_viewer.cli.common import CliError
    from namecar_viewer.core.recist import (
        Criteria,
        RecistInputError,
        case_from_json,
        evaluate,
        result_to_json,
    )
    from namecar_viewer.core.recist.case_json import CaseFileError, read_case_file
    from namecar_viewer.core.recist.case_schema import SchemaMissingError

    try:
        # Numbers are read as Decimal: the reader's values stay exact (no binary floating point).
        data = read_case_file(args.case)
    except CaseFileError as exc:
        for problem in exc.problems:
            _say(args.case, problem)
        return EXIT_BAD_INPUT
    except SchemaMissingError as exc:
        raise CliError(f"cannot check {args.case}: {exc}") from None
    try:
        result = evaluate(case_from_json(data), Criteria(args.criteria))
    except RecistInputError as exc:
        for v in exc.violations:
            _say(args.case, str(v))
        return EXIT_BAD_INPUT
    print(json.dumps(result_to_json(result), indent=2))
    return EXIT_OK
