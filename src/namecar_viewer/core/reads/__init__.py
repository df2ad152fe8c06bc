"""The read model: lesions tracked across timepoints, RECIST case mapping, checks (Qt-free)."""

from namecar_viewer.core.reads.checks import (
    ReadWarning,
    Severity,
    baseline_warnings,
    missing_series_warnings,
    plane_warnings,
    warnings_by_lesion,
)
from namecar_viewer.core.reads.diff import Change, ChangeOp, ReadDiff, diff_reads
from namecar_viewer.core.reads.json_io import read_from_json, read_to_json
from namecar_viewer.core.reads.model import (
    Assessment,
    Lesion,
    LesionMeasurement,
    LesionRole,
    LesionStatus,
    Read,
    ReadKind,
    ReadTimepoint,
    Site,
    TimepointRole,
)
from namecar_viewer.core.reads.recist_bridge import read_to_recist_case

__all__ = [
    "Assessment",
    "Change",
    "ChangeOp",
    "Lesion",
    "LesionMeasurement",
    "LesionRole",
    "LesionStatus",
    "Read",
    "ReadDiff",
    "ReadKind",
    "ReadTimepoint",
    "ReadWarning",
    "Severity",
    "Site",
    "TimepointRole",
    "baseline_warnings",
    "diff_reads",
    "missing_series_warnings",
    "plane_warnings",
    "read_from_json",
    "read_to_json",
    "read_to_recist_case",
    "warnings_by_lesion",
]
