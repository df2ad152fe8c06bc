"""``namecar-viewer scan PATH... [--json]``: what is in a folder, DICOMDIR or zip, header-only."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List patients, studies, series and display stacks (modality, shape, spacing, orientation, "
        "frame of reference, transfer syntaxes, problems) and unreadable files with their reasons. "
        "Reads headers only."
    )
    parser.add_argument("paths", nargs="+", help="folders, DICOMDIR files or zip archives")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _fmt_spacing(spacing: tuple[float, float, float] | None) -> str:
    if spacing is None:
        return "?"
    return " x ".join(f"{v:g}" for v in spacing)


def run(args: argparse.Namespace) -> int:
    from namecar_viewer.core.dicom import scan
    from namecar_viewer.core.dicom.scan import orientation_name

    report = scan(args.paths)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0 if report.stacks or report.non_image else 1
    by_patient: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))  # type: ignore[type-arg]
    for s in report.stacks:
        by_patient[f"{s.patient_name} ({s.patient_id})"][
            f"{s.study_date} {s.study_description}".strip() + f"  [{s.study_instance_uid}]"
        ].append(s)
    for patient, studies in by_patient.items():
        print(f"Patient {patient}")
        for study, stacks in studies.items():
            print(f"  Study {study}")
            for s in stacks:
                ori = orientation_name(s.orientation) if s.orientation else "no geometry"
                label = f" [{s.label}]" if s.label else ""
                flag = "" if s.loadable else "  NOT LOADABLE"
                print(
                    f"    {s.modality:3} #{s.series_number or '-'} {s.series_description}{label}: "
                    f"{s.shape[0]}x{s.shape[1]}x{s.shape[2]}, "
                    f"spacing {_fmt_spacing(s.spacing_mm)} mm, "
                    f"{ori}, FoR {s.frame_of_reference_uid or '-'}, "
                    f"TS {', '.join(s.transfer_syntaxes) or '-'}{flag}"
                )
                if s.values:  # quantitative maps: which values and unit the viewer shows
                    unit = f" [{s.units}]" if s.units else ""
                    print(f"        values{unit}: {s.values}")
                for p in s.problems:
                    print(f"        {p}")
    if report.non_image:
        print("Non-image objects:")
        for n in report.non_image:
            print(f"  {n.kind.value:8} {n.description or n.sop_class_uid}  {n.path}")
    if report.unreadable:
        print("Unreadable files:")
        for u in report.unreadable:
            print(f"  {u.path}: {u.reason}")
    n_files = sum(len(s.files) for s in report.stacks)
    print(
        f"{len(report.stacks)} stack(s) in {n_files} file(s), {len(report.non_image)} non-image "
        f"object(s), {len(report.unreadable)} unreadable file(s)"
    )
    return 0 if report.stacks or report.non_image else 1
