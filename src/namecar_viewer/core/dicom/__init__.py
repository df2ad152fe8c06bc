"""DICOM input: header-only discovery of stacks, and loading a stack as a Volume.

Public entry points: ``scan(paths) -> ScanReport`` and ``load_series(paths) -> Volume``;
``load_stack(stack) -> Volume`` loads one stack of a scan.
"""

from namecar_viewer.core.dicom.loader import LoadCancelled, load_series, load_stack
from namecar_viewer.core.dicom.model import (
    InstanceRef,
    NonImageObject,
    ObjectKind,
    ScanReport,
    Stack,
    UnreadableFile,
)
from namecar_viewer.core.dicom.scan import scan

__all__ = [
    "InstanceRef",
    "LoadCancelled",
    "NonImageObject",
    "ObjectKind",
    "ScanReport",
    "Stack",
    "UnreadableFile",
    "load_series",
    "load_stack",
    "scan",
]
