"""``namecar-viewer suv PATH... [--json]``: SUV factors of every PET series, with their sources.

Reads headers only (no pixel data) from files, folders (recursive), DICOMDIRs and zip archives,
the way ``scan`` does, groups PET instances by SeriesInstanceUID and prints, per series, the
factors that turn stored values after rescale into SUV, every input with the tag it came from,
and the warnings.  Exit status: 0 every series computed, 1 some series could not be (the reason
is printed), 2 no PET instance found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import struct
import sys
from collections.abc import Iterable
from typing import Any

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_NO_PET = 2


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print SUV factors (SUVbw, SUL, SUVbsa, SUVibw) of each PET series: factor x stored value "
        "after rescale = SUV."
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="DICOM files, folders, DICOMDIRs or zip archives"
    )
    parser.add_argument("--json", action="store_true", help='print {"series": [...]} as JSON')
    parser.add_argument(
        "--lbm",
        choices=["janmahasatian", "james"],
        default="janmahasatian",
        help="lean body mass formula for SUL (default: janmahasatian, as PERCIST)",
    )
    entered = parser.add_argument_group(
        "reader-entered values (applied to every series found; recorded as source 'reader')"
    )
    entered.add_argument("--weight", type=float, metavar="KG", help="patient weight in kg")
    entered.add_argument("--height", type=float, metavar="M", help="patient height in metres")
    entered.add_argument("--sex", choices=["M", "F"], help="patient sex")
    entered.add_argument("--dose", type=float, metavar="BQ", help="injected activity in Bq")
    entered.add_argument(
        "--injection",
        metavar="ISO",
        help="injection date-time, ISO 8601 (e.g. 2024-03-01T10:00:00 or with +01:00)",
    )
    entered.add_argument("--half-life", type=float, metavar="S", help="half-life in seconds")


def _read_pet_headers(paths: Iterable[str]) -> dict[str, list[Any]]:
    """PET headers grouped by SeriesInstanceUID, in file order; other files are skipped.

    Files, folders, DICOMDIRs and zip members come from the scanner's own source discovery
    (:func:`namecar_viewer.core.dicom.sources.iter_sources`), so ``suv`` reads what ``scan``
    lists; a zip member is read in memory, never extracted.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    from namecar_viewer.core.dicom.model import UnreadableFile
    from namecar_viewer.core.dicom.sources import iter_sources

    series: dict[str, list[Any]] = {}
    for src in iter_sources(paths):
        if isinstance(src, UnreadableFile):  # a missing path, a broken zip or DICOMDIR
            print(f"warning: {src.path}: {src.reason}", file=sys.stderr)
            continue
        try:
            fp: Any = src.path if src.member is None else io.BytesIO(src.read_all())
            ds = pydicom.dcmread(fp, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, struct.error, KeyError):
            continue
        if str(ds.get("Modality", "")).strip() != "PT":
            continue
        uid = (
            str(ds.get("SeriesInstanceUID", "")).strip() or f"<no SeriesInstanceUID: {src.display}>"
        )
        series.setdefault(uid, []).append(ds)
    return series


def _overrides(args: argparse.Namespace) -> Any:
    from namecar_viewer.core.suv import SuvOverrides

    injection = None
    if args.injection:
        try:
            injection = dt.datetime.fromisoformat(args.injection)
        except ValueError:
            raise SystemExit(
                f"--injection {args.injection!r} is not an ISO 8601 date-time"
            ) from None
    return SuvOverrides(
        patient_weight_kg=args.weight,
        patient_height_m=args.height,
        patient_sex=args.sex,
        injected_dose_bq=args.dose,
        injection_datetime=injection,
        half_life_s=args.half_life,
    )


def _failed_record(uid: str, units: str, message: str) -> dict[str, Any]:
    return {
        "series_instance_uid": uid,
        "units": units,
        "suv_bw_factor": None,
        "suv_lbm_factor": None,
        "suv_bsa_factor": None,
        "suv_ibw_factor": None,
        "inputs": {},
        "warnings": [f"ERROR: {message}"],
    }


def compute_records(
    paths: Iterable[str], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], bool]:
    """One JSON record per PET series, and whether every series was computed."""
    from namecar_viewer.core.suv import LbmFormula, SuvInputError, compute_suv_factors

    overrides = _overrides(args)
    formula = LbmFormula(args.lbm)
    records: list[dict[str, Any]] = []
    all_ok = True
    for uid, datasets in _read_pet_headers(paths).items():
        try:
            result = compute_suv_factors(datasets, overrides=overrides, lbm_formula=formula)
        except SuvInputError as exc:
            all_ok = False
            records.append(_failed_record(uid, str(datasets[0].get("Units", "")), str(exc)))
            continue
        records.append(result.to_json())
    return records, all_ok


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        numbers = [v for v in value.values() if v is not None]
        if not numbers:
            return "-"
        return f"{min(numbers):.6g}..{max(numbers):.6g} ({len(value)} inst.)"
    return f"{value:.6g}"


def _print_table(records: list[dict[str, Any]]) -> None:
    header = ("SeriesInstanceUID", "Units", "SUVbw", "SUL", "SUVbsa", "SUVibw")
    rows = [
        (
            r["series_instance_uid"],
            r["units"],
            _fmt(r["suv_bw_factor"]),
            _fmt(r["suv_lbm_factor"]),
            _fmt(r["suv_bsa_factor"]),
            _fmt(r["suv_ibw_factor"]),
        )
        for r in records
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    for r in records:
        if not r["inputs"] and not r["warnings"]:
            continue
        print(f"\n{r['series_instance_uid']}:")
        for name, item in r["inputs"].items():
            value = item["value"]
            if isinstance(value, dict):
                value = f"{len(value)} per-instance values"
            print(f"  {name} = {value}  [{item['source']}]")
        for w in r["warnings"]:
            print(f"  warning: {w}")


def run(args: argparse.Namespace) -> int:
    records, all_ok = compute_records(args.paths, args)
    if args.json:
        print(json.dumps({"series": records}, indent=2))
    elif records:
        _print_table(records)
    if not records:
        if not args.json:
            print("no PET (Modality PT) instance found", file=sys.stderr)
        return EXIT_NO_PET
    return EXIT_OK if all_ok else EXIT_SOME_FAILED
