"""Builders for RECIST test cases, written as the issue-5 case JSON so parsing is exercised too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from namecar_viewer.core.recist import Case, case_from_json

BASELINE_DATE = dt.date(2024, 1, 8)


def lesion(spec: str) -> dict[str, Any]:
    """'T1' target liver; 'T1:lung'; 'N1:node' nodal target; 'NT1:nt' non-target; ':primary'."""
    parts = spec.split(":")
    lid = parts[0]
    flags = set(parts[1:])
    organs = [p for p in parts[1:] if p not in {"node", "nt", "primary", "new", "newnt"}]
    kind = "target"
    if "nt" in flags:
        kind = "non_target"
    if "new" in flags:
        kind = "new_target"
    if "newnt" in flags:
        kind = "new_non_target"
    return {
        "id": lid,
        "kind": kind,
        "organ": organs[0] if organs else ("kidney" if "primary" in flags else "liver"),
        "is_lymph_node": "node" in flags,
        "is_primary_renal": "primary" in flags,
    }


def build(
    lesions: list[str],
    timepoints: list[dict[str, Any]],
    *,
    protocol: dict[str, Any] | None = None,
    slice_thickness_mm: float | None = None,
    step_days: int = 56,
) -> Case:
    """Case from lesion specs and timepoint dicts; labels/dates default to baseline, TP1.. every
    ``step_days`` days. Each timepoint dict may hold 'm' (measurements), 'nt', 'new', 'date',
    'label', 'confirms'."""
    tps = []
    for i, t in enumerate(timepoints):
        row: dict[str, Any] = {
            "label": t.get("label", "baseline" if i == 0 else f"TP{i}"),
            "date": t.get("date", (BASELINE_DATE + dt.timedelta(days=step_days * i)).isoformat()),
            "target_measurements_mm": t.get("m", {}),
            "non_target_status": t.get("nt", {}),
            "new_lesions": t.get("new", "none"),
        }
        if "confirms" in t:
            row["new_lesion_confirms_equivocal_from"] = t["confirms"]
        tps.append(row)
    data: dict[str, Any] = {"lesions": [lesion(s) for s in lesions], "timepoints": tps}
    if protocol is not None:
        data["protocol"] = protocol
    if slice_thickness_mm is not None:
        data["imaging"] = {"slice_thickness_mm": slice_thickness_mm}
    return case_from_json(data)
